//! Seeded workload generation (docs/design.md §3): the full backup, then each
//! incremental as a set of changes over the table as it stands after the
//! previous one (erases and partial updates of existing rows, new keys, empty
//! incrementals, skewed keys). All draws come from the workload stream.

use restoresim_model::data::{BackupChain, COLUMNS, Cell, Change, Incremental, Row, Value};
use restoresim_model::full_backup::FullBackup;
use restoresim_model::ids::{IncrIdx, Key, RequestKey};
use restoresim_model::last_wins;
use restoresim_model::packed::{MAX_INLINE_VALUE, Packed, PackedChange};
use restoresim_model::topology::Topology;
use restoresim_model::workload::{RestoreRequestSpec, Workload};

use crate::engine::{Ratio, Stream, Subsystem};
use crate::scenario::{KeyDistribution, Scenario, WorkloadSpec};

pub fn generate(scenario: &Scenario, seed: u64) -> Workload {
    let spec = &scenario.workload;
    let mut rng = Stream::new(seed, Subsystem::Workload);
    let tables: Vec<(String, u32)> = spec.tables.iter().map(|t| (t.name.clone(), t.shards)).collect();
    let topology = Topology::uniform(&tables, spec.key_space);
    let backups = spec.tables.iter().map(|_| chain(spec, &mut rng)).collect();
    let restores = if scenario.restores.is_empty() {
        vec![RestoreRequestSpec {
            key: RequestKey(1),
            table: spec.tables[0].name.clone(),
            backups: (1..=spec.incrementals).map(IncrIdx).collect(),
            at: 0,
        }]
    } else {
        scenario
            .restores
            .iter()
            .enumerate()
            .map(|(i, r)| RestoreRequestSpec {
                key: RequestKey(i as u64 + 1),
                table: r.table.clone(),
                backups: r
                    .backups
                    .clone()
                    .unwrap_or_else(|| (1..=spec.incrementals).collect())
                    .into_iter()
                    .map(IncrIdx)
                    .collect(),
                at: r.at.us(),
            })
            .collect()
    };
    Workload { topology, backups, restores }
}

fn chain(spec: &WorkloadSpec, rng: &mut Stream) -> BackupChain {
    // Only the keys of the table as it stands are needed to draw the next
    // incremental (its rows are not): the full backup's own keys for the
    // first, then a sorted key list merged with each incremental — not a
    // second copy of the whole table, and no list after the last.
    let full = full_backup(spec, rng);
    let mut existing = TableKeys::Backup(&full);
    let mut incrementals = Vec::with_capacity(spec.incrementals as usize);
    for n in 0..spec.incrementals {
        let inc = if rng.chance(spec.empty_incremental.0) {
            Incremental::default()
        } else {
            incremental(spec, &existing, rng)
        };
        if n + 1 < spec.incrementals {
            existing = TableKeys::Listed(keys_after(&existing, &inc));
        }
        incrementals.push(inc);
    }
    drop(existing);
    BackupChain { full, incrementals }
}

/// The keys of the table as it stands between incrementals, in order.
enum TableKeys<'a> {
    /// The full backup's, read in place.
    Backup(&'a FullBackup),
    Listed(Vec<Key>),
}

impl TableKeys<'_> {
    fn len(&self) -> usize {
        match self {
            TableKeys::Backup(full) => full.len(),
            TableKeys::Listed(keys) => keys.len(),
        }
    }

    fn at(&self, i: usize) -> Key {
        match self {
            TableKeys::Backup(full) => full.key_at(i),
            TableKeys::Listed(keys) => keys[i],
        }
    }
}

/// The full backup: `(key, row)` draws until `spec.rows` distinct keys (or
/// `20 * rows` attempts), a repeated key taking its last row — exactly the
/// draws, in the order, and the rows that inserting each into a map would
/// make, built in key order straight into the packed vector the backup
/// keeps. Draws come in rounds of `rows - distinct so far` (each draw adds
/// at most one key, so a round can reach `rows` only on its last draw,
/// where the map would stop too). The first round is drawn packed into
/// that vector and sorted by a radix sort, the last draw of a key winning
/// (`restoresim_model::last_wins`). Later rounds are small (the first
/// round's repeats, then theirs): each is sorted likewise, its new keys
/// counted by a galloping walk, and kept in a side list, the later round
/// winning, that is merged into the table once at the end — one pass over
/// the table, not one a round, and not a second one to count what the
/// rounds counted. The rows never exceed `spec.rows`, so the vector is
/// allocated at its final size: the peak is the packed backup (16 bytes a
/// row) and the sort's scratch copy of it, while the first round sorts.
fn full_backup(spec: &WorkloadSpec, rng: &mut Stream) -> FullBackup {
    let mut rows: Vec<(Key, Packed)> = Vec::with_capacity(spec.rows as usize);
    let mut later: Vec<(Key, Packed)> = Vec::new();
    let mut distinct = 0;
    let mut attempts = 0;
    let max_attempts = spec.rows.saturating_mul(20);
    while distinct < spec.rows && attempts < max_attempts {
        let round = (spec.rows - distinct).min(max_attempts - attempts);
        let first = attempts == 0;
        attempts += round;
        let drawn = if first { &mut rows } else { &mut Vec::with_capacity(round as usize) };
        for _ in 0..round {
            let key = draw_key(spec, rng);
            drawn.push((key, random_row(rng)));
        }
        last_wins::sort_last_wins(drawn);
        if first {
            distinct = rows.len() as u64;
        } else {
            let drawn = std::mem::take(drawn);
            distinct += last_wins::count_new(&rows, &later, &drawn) as u64;
            let n = later.len();
            later.extend(drawn);
            last_wins::merge_newer_wins(&mut later, n);
        }
    }
    let new = distinct as usize - rows.len();
    last_wins::merge_into(&mut rows, &later, new);
    FullBackup::from_sorted_packed(rows)
}

/// An incremental's changes, drawn in order straight into their packed
/// form. A change to an existing key draws the key's index in the table;
/// the key itself is read after every change is drawn, all the reads
/// together: each is a random read of a table too large for the caches
/// (80-160 MB at scale-100k), and reads that depend on nothing but their
/// index overlap, where one per draw waited for each in turn. The draws
/// and their order are unchanged: a key's index was drawn at the same
/// point, and the key read at it does not feed any later draw.
fn incremental(spec: &WorkloadSpec, existing: &TableKeys<'_>, rng: &mut Stream) -> Incremental {
    let count = rng.range(spec.changes.min, spec.changes.max) as usize;
    let mut drawn: Vec<(Key, PackedChange)> = Vec::with_capacity(count);
    // The draws whose key slot holds an index into `existing` for now
    // (`changes.max` is at most 20 M: a position fits a u32).
    let mut indexed: Vec<u32> = Vec::new();
    for _ in 0..count {
        let key = if existing.len() == 0 || rng.chance(spec.new_keys.0) {
            draw_key(spec, rng)
        } else {
            indexed.push(drawn.len() as u32);
            rng.below(existing.len() as u64)
        };
        drawn.push((key, random_change(spec, rng)));
    }
    for &at in &indexed {
        let draw = &mut drawn[at as usize];
        draw.0 = existing.at(draw.0 as usize);
    }
    drop(indexed);
    Incremental::from_packed(drawn)
}

/// One change's draws, in order: erase or upsert, then for an upsert
/// whether it is partial, the column it always writes, and per column
/// whether it writes it (partial only) and the value.
fn random_change(spec: &WorkloadSpec, rng: &mut Stream) -> PackedChange {
    if rng.chance(spec.erase.0) {
        return PackedChange::new(&Change::Erase);
    }
    let partial = rng.chance(spec.partial.0);
    let mut cells = [Cell::Keep; COLUMNS];
    let forced = rng.below(COLUMNS as u64) as usize;
    for (i, cell) in cells.iter_mut().enumerate() {
        if !partial || i == forced || rng.chance(Ratio::new(1, 2)) {
            *cell = Cell::Set(random_value(rng));
        }
    }
    PackedChange::new(&Change::Upsert { cells })
}

/// The table's keys after `inc`, from its keys before: one merge walk.
/// An erase removes a key, an upsert adds or keeps it.
fn keys_after(before: &TableKeys<'_>, inc: &Incremental) -> Vec<Key> {
    let mut after = Vec::with_capacity(before.len() + inc.len());
    let mut old = (0..before.len()).map(|i| before.at(i)).peekable();
    // Keys and erase marks straight from the packed changes: no change is
    // decoded.
    for i in 0..inc.len() {
        let key = inc.key_at(i);
        while let Some(k) = old.next_if(|k| *k < key) {
            after.push(k);
        }
        old.next_if_eq(&key);
        if !inc.packed_at(i).is_erase() {
            after.push(key);
        }
    }
    after.extend(old);
    after
}

fn draw_key(spec: &WorkloadSpec, rng: &mut Stream) -> Key {
    match spec.keys {
        KeyDistribution::Uniform => rng.below(spec.key_space),
        KeyDistribution::Skewed { hot, span } => {
            // In u128: `key_space` may be as large as u64::MAX.
            let hot_keys = (u128::from(spec.key_space) * u128::from(span.0.num) / u128::from(span.0.den)) as u64;
            let hot_keys = hot_keys.max(1);
            if rng.chance(hot.0) { rng.below(hot_keys) } else { rng.below(spec.key_space) }
        }
    }
}

/// Values are drawn below this: small enough that every row and change
/// packs inline (`restoresim_model::packed`), so the full backup needs no
/// side map.
const VALUES: u64 = 1_000_000;
const _: () = assert!(VALUES - 1 <= MAX_INLINE_VALUE, "generated values pack inline");

fn random_value(rng: &mut Stream) -> Value {
    if rng.chance(Ratio::new(1, 10)) { None } else { Some(rng.below(VALUES)) }
}

/// A row's three values, drawn in column order, packed.
fn random_row(rng: &mut Stream) -> Packed {
    let mut row = Row::default();
    for col in &mut row.cols {
        *col = random_value(rng);
    }
    Packed::new(Some(row))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use restoresim_model::packed::Unpacked;

    use super::*;

    /// The packed full backup is exactly what inserting each draw into a
    /// map did (same rows, same draws consumed): with few, many and almost
    /// all keys of the key space, where rounds and the attempt cap both
    /// come into play.
    #[test]
    fn the_full_backup_is_the_map_of_the_same_draws() {
        for (rows, key_space) in [(1, 1), (50, 1000), (500, 600), (900, 1000), (1000, 1000), (40, 10), (3000, 4000)] {
            let spec = &WorkloadSpec { rows, key_space, ..WorkloadSpec::default() };
            let mut a = Stream::new(7, crate::engine::Subsystem::Workload);
            let mut b = a.clone();
            let mut map = BTreeMap::new();
            let mut attempts = 0;
            while (map.len() as u64) < spec.rows && attempts < spec.rows * 20 {
                attempts += 1;
                let key = draw_key(spec, &mut a);
                let Unpacked::Row(Some(row)) = random_row(&mut a).get() else { panic!("a drawn row packs inline") };
                map.insert(key, row);
            }
            let full = full_backup(spec, &mut b);
            assert!(full.iter().eq(map), "{rows} rows of {key_space}");
            assert_eq!(a.next_u64(), b.next_u64(), "the same draws consumed for {rows} rows of {key_space}");
        }
    }

    /// The key list the generator keeps is exactly the keys of the table
    /// folded through the incremental: erases of present and absent keys,
    /// upserts of new and existing ones, keys before, between and after.
    #[test]
    fn keys_after_is_the_key_set_of_the_fold() {
        let upsert = Change::Upsert { cells: [Cell::Set(Some(1)), Cell::Keep, Cell::Keep] };
        let mut table: BTreeMap<Key, Row> = [2, 4, 6, 8].into_iter().map(|k| (k, Row::default())).collect();
        let full: FullBackup = table.iter().map(|(k, r)| (*k, *r)).collect();
        let before = TableKeys::Backup(&full);
        let inc = Incremental::from_changes([
            (1, upsert),
            (2, Change::Erase),
            (3, Change::Erase),
            (4, upsert),
            (5, upsert),
            (8, Change::Erase),
            (9, upsert),
        ]);
        for (key, change) in inc.changes() {
            restoresim_model::data::apply_change(&mut table, key, &change);
        }
        let after = keys_after(&before, &inc);
        assert_eq!(after, table.keys().copied().collect::<Vec<_>>());
        assert_eq!(keys_after(&TableKeys::Listed(after.clone()), &Incremental::default()), after);
        assert_eq!(keys_after(&before, &Incremental::default()), vec![2, 4, 6, 8]);
        assert_eq!(keys_after(&TableKeys::Listed(Vec::new()), &inc), vec![1, 4, 5, 9]);
    }
}
