//! Seeded workload generation (docs/design.md §3): the full backup, then each
//! incremental as a set of changes over the table as it stands after the
//! previous one (erases and partial updates of existing rows, new keys, empty
//! incrementals, skewed keys). All draws come from the workload stream.

use restoresim_model::data::{BackupChain, COLUMNS, Incremental};
use restoresim_model::full_backup::FullBackup;
use restoresim_model::ids::{IncrIdx, Key, RequestKey};
use restoresim_model::last_wins;
use restoresim_model::packed::{Packed, PackedChange};
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
/// form (`draw_change`). A change to an existing key draws the key's
/// index in the table; the key itself is read after every change is
/// drawn, all the reads together: each is a random read of a table too
/// large for the caches (80-160 MB at scale-100k), and reads that depend
/// on nothing but their index overlap, where one per draw waited for each
/// in turn.
fn incremental(spec: &WorkloadSpec, existing: &TableKeys<'_>, rng: &mut Stream) -> Incremental {
    let count = rng.range(spec.changes.min, spec.changes.max) as usize;
    let mut drawn: Vec<(Key, PackedChange)> = Vec::with_capacity(count);
    // The draws whose key slot holds an index into `existing` for now
    // (`changes.max` is at most 20 M: a position fits a u32).
    let mut indexed: Vec<u32> = Vec::new();
    for _ in 0..count {
        let (target, change) = draw_change(spec, existing.len() as u64, rng);
        let key = match target {
            Target::New(key) => key,
            Target::Existing(index) => {
                indexed.push(drawn.len() as u32);
                index
            }
        };
        drawn.push((key, change));
    }
    for &at in &indexed {
        let draw = &mut drawn[at as usize];
        draw.0 = existing.at(draw.0 as usize);
    }
    drop(indexed);
    Incremental::from_packed(drawn)
}

/// Which key a change goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// A key drawn from the key space (`draw_key`): usually not in the table.
    New(Key),
    /// The key at this index of the table as it stands.
    Existing(u64),
}

/// One change's draws, in order (what a seed means for an incremental):
/// 1. one word, its shape: bits 0..32 the new-key coin (`new_keys`; a new
///    key whatever it says when the table is empty), bits 32..64 the
///    erase coin (`erase`), each through `coin`;
/// 2. the key: a new key's draws (`draw_key`), or an existing key's
///    index, `below(table length)`;
/// 3. for an upsert, one word for the columns it writes: bits 0..32 the
///    partial coin (`partial`), bits 32..64 the columns of a partial one
///    (`partial_columns`); a full upsert writes every column;
/// 4. for an upsert, one word for the values, as a drawn row's
///    (`Packed::drawn`: each column NULL a tenth of the time, else uniform
///    below `DRAWN_VALUES`).
///
/// One word and the key for an erase, three and the key for an upsert
/// (before, a coin per decision and two draws per written column: ~10
/// words a change, and the ChaCha stream was half of generation's cost).
fn draw_change(spec: &WorkloadSpec, table_len: u64, rng: &mut Stream) -> (Target, PackedChange) {
    let shape = rng.next_u64();
    let target = if table_len == 0 || coin(shape as u32, spec.new_keys.0) {
        Target::New(draw_key(spec, rng))
    } else {
        Target::Existing(rng.below(table_len))
    };
    if coin((shape >> 32) as u32, spec.erase.0) {
        return (target, PackedChange::ERASE);
    }
    let kind = rng.next_u64();
    let written = if coin(kind as u32, spec.partial.0) { partial_columns((kind >> 32) as u32) } else { ALL_COLUMNS };
    (target, PackedChange::drawn_upsert(rng.next_u64(), written))
}

/// True with probability `ratio`, from 32 uniform bits: `bits * den / 2^32
/// < num` (Lemire's multiply without its rejection step), so exactly
/// `ceil(num * 2^32 / den)` of the 2^32 values say yes — within 2^-32 of
/// `num / den`, exact for 0 and 1. Two coins share one draw this way.
fn coin(bits: u32, ratio: Ratio) -> bool {
    (u64::from(bits) * u64::from(ratio.den)) >> 32 < u64::from(ratio.num)
}

const ALL_COLUMNS: u8 = (1 << COLUMNS) - 1;
const _: () = assert!(COLUMNS < 8, "a column mask fits a u8");

/// The columns a partial upsert writes, from 32 uniform bits: one column
/// it always writes, uniform, and each other column on a fair coin. The
/// `COLUMNS * 2^(COLUMNS - 1)` outcomes (12 for 3 columns) are equally
/// likely to within 2^-32, picked by `bits * 12 / 2^32`: the forced
/// column is the pick's high part, the other columns' coins its low bits,
/// in column order. A set of `n` columns so comes `n / 12` of the time,
/// as when the forced column and the coins were drawn one by one.
fn partial_columns(bits: u32) -> u8 {
    let others = COLUMNS as u32 - 1;
    let pick = ((u64::from(bits) * COLUMNS as u64) << others) >> 32;
    let forced = (pick >> others) as u32;
    let coins = (pick & ((1 << others) - 1)) as u8;
    let below = coins & ((1 << forced) - 1);
    let above = (coins >> forced) << (forced + 1);
    below | above | 1 << forced
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

/// A row: one word, its columns from disjoint bit fields
/// (`Packed::drawn`: each NULL a tenth of the time, else uniform below
/// `DRAWN_VALUES`), packed as the full backup keeps it.
fn random_row(rng: &mut Stream) -> Packed {
    Packed::drawn(rng.next_u64())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use restoresim_model::data::{Cell, Change, Row};
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

    /// `coin` says yes for exactly the first `ceil(num * 2^32 / den)` of
    /// the 2^32 bit patterns: within 2^-32 of the ratio, never for 0,
    /// always for 1.
    #[test]
    fn a_coin_says_yes_for_its_ratio_of_the_bit_patterns() {
        for (num, den) in [(0, 1), (1, 1), (1, 2), (1, 3), (1, 10), (2, 3), (1, 1_000_000), (999_999, 1_000_000)] {
            let ratio = Ratio::new(num, den);
            let yes = (u64::from(num) << 32).div_ceil(u64::from(den));
            if yes > 0 {
                assert!(coin((yes - 1) as u32, ratio), "{num}/{den}: the last yes");
                assert!(coin(0, ratio));
            }
            if yes < 1 << 32 {
                assert!(!coin(yes as u32, ratio), "{num}/{den}: the first no");
                assert!(!coin(u32::MAX, ratio));
            }
        }
    }

    /// Each of the 12 picks of `partial_columns` covers 2^32 / 12 bit
    /// patterns (to within one), and together they are every (forced
    /// column, coins of the other two) once: a set of `n` columns is
    /// written `n / 12` of the time, the distribution of drawing the forced
    /// column and the coins one by one.
    #[test]
    fn partial_columns_are_a_forced_column_and_fair_coins() {
        let picks = 12u64;
        let mut sets: BTreeMap<u8, u64> = BTreeMap::new();
        for pick in 0..picks {
            // The first and last bit patterns of this pick.
            let first = ((pick << 32).div_ceil(picks)) as u32;
            let last = ((((pick + 1) << 32).div_ceil(picks)) - 1) as u32;
            assert_eq!(partial_columns(first), partial_columns(last), "pick {pick}");
            if pick > 0 {
                assert_ne!(partial_columns(first - 1), partial_columns(first), "pick {pick} starts at {first}");
            }
            *sets.entry(partial_columns(first)).or_default() += 1;
        }
        // Every non-empty set of n columns, n times (once per column of
        // it that could have been the forced one).
        let expected: BTreeMap<u8, u64> = (1..8u8).map(|set| (set, u64::from(set.count_ones()))).collect();
        assert_eq!(sets, expected);
    }

    /// Over many drawn changes the scenario's rates hold: new keys,
    /// erases, partial upserts, and a partial upsert's columns; a full
    /// upsert writes every column; values are NULL a tenth of the time
    /// and otherwise spread evenly below `DRAWN_VALUES`.
    #[test]
    fn drawn_changes_follow_the_scenario_rates() {
        use restoresim_model::data::{Cell, Change};
        use restoresim_model::packed::{DRAWN_VALUES, UnpackedChange};
        let spec = &WorkloadSpec {
            erase: crate::scenario::Chance(Ratio::new(1, 10)),
            partial: crate::scenario::Chance(Ratio::new(1, 2)),
            new_keys: crate::scenario::Chance(Ratio::new(1, 5)),
            ..WorkloadSpec::default()
        };
        let mut rng = Stream::new(3, Subsystem::Workload);
        let n = 200_000u64;
        let (mut new, mut erases, mut partial, mut written, mut nulls) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut sizes = [0u64; 4];
        let mut deciles = [0u64; 10];
        for _ in 0..n {
            let (target, change) = draw_change(spec, 1_000, &mut rng);
            match target {
                Target::New(key) => {
                    new += 1;
                    assert!(key < spec.key_space);
                }
                Target::Existing(index) => assert!(index < 1_000),
            }
            let UnpackedChange::Change(change) = change.get() else { panic!("drawn changes pack inline") };
            let Change::Upsert { cells } = change else {
                erases += 1;
                continue;
            };
            let set = cells.iter().filter(|c| **c != Cell::Keep).count();
            partial += u64::from(set < COLUMNS);
            sizes[set] += 1;
            for cell in cells {
                match cell {
                    Cell::Keep => {}
                    Cell::Set(None) => {
                        written += 1;
                        nulls += 1;
                    }
                    Cell::Set(Some(v)) => {
                        written += 1;
                        assert!(v < DRAWN_VALUES);
                        deciles[(v * 10 / DRAWN_VALUES) as usize] += 1;
                    }
                }
            }
        }
        let near = |count: u64, of: u64, num: u64, den: u64| (count * den).abs_diff(of * num) * 100 < of * den;
        assert!(near(new, n, 1, 5), "new keys {new} of {n}");
        assert!(near(erases, n, 1, 10), "erases {erases} of {n}");
        let upserts = n - erases;
        // A partial upsert that happens to write every column (1/4 of them)
        // counts as full here: 1/2 * 3/4 of the upserts write fewer.
        assert!(near(partial, upserts, 3, 8), "partial {partial} of {upserts}");
        assert_eq!(sizes[0], 0, "an upsert writes a column");
        // Partial upserts write 1 column 3/12 of the time, 2 columns 6/12.
        assert!(near(sizes[1], upserts, 1, 8) && near(sizes[2], upserts, 1, 4), "{sizes:?}");
        assert!(near(nulls, written, 1, 10), "nulls {nulls} of {written}");
        for decile in deciles {
            assert!(near(decile, written - nulls, 1, 10), "{deciles:?}");
        }
        // An empty table: every change goes to a new key.
        assert!(matches!(draw_change(spec, 0, &mut rng).0, Target::New(_)));
    }
}
