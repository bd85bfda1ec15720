//! Seeded workload generation (docs/design.md §3): the full backup, then each
//! incremental as a set of changes over the table as it stands after the
//! previous one (erases and partial updates of existing rows, new keys, empty
//! incrementals, skewed keys). All draws come from the workload stream.

use restoresim_model::data::{BackupChain, COLUMNS, Cell, Change, Incremental, Row, Value};
use restoresim_model::full_backup::FullBackup;
use restoresim_model::ids::{IncrIdx, Key, RequestKey};
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
    // incremental (its rows are not): a sorted key list, merged with each
    // incremental, instead of a second copy of the whole table.
    let (full, mut existing) = full_backup(spec, rng);
    let mut incrementals = Vec::with_capacity(spec.incrementals as usize);
    for _ in 0..spec.incrementals {
        let inc = if rng.chance(spec.empty_incremental.0) {
            Incremental::default()
        } else {
            incremental(spec, &existing, rng)
        };
        existing = keys_after(&existing, &inc);
        incrementals.push(inc);
    }
    BackupChain { full, incrementals }
}

/// The full backup: `(key, row)` draws until `spec.rows` distinct keys (or
/// `20 * rows` attempts), a repeated key taking its last row. Built in key
/// order straight into a sorted vector, with exactly the draws, in the
/// order, that inserting each into a map would make: draws come in rounds
/// of `rows - distinct so far` (each draw adds at most one key, so a round
/// can reach `rows` only on its last draw, where the map would stop too);
/// each round is sorted (stable, the last draw of a key wins) and merged
/// into the rows so far, the round winning ties. No random-order tree
/// inserts, which were a quarter of a 100,000-shard run's CPU.
///
/// Returns the backup and its keys. A table of at most [`UNPACKED_ROWS`]
/// rows is built unpacked and packed once at the end (a round's merge then
/// copies plain rows instead of unpacking and repacking the table: a
/// ci-smoke table takes two or three rounds); a larger one in chunks.
fn full_backup(spec: &WorkloadSpec, rng: &mut Stream) -> (FullBackup, Vec<Key>) {
    if spec.rows <= UNPACKED_ROWS {
        let rows = full_backup_unpacked(spec, rng);
        let keys = rows.iter().map(|(key, _)| *key).collect();
        (FullBackup::from_sorted(rows), keys)
    } else {
        let full = full_backup_in_chunks(spec, rng, 1 << 20);
        let keys = full.iter().map(|(key, _)| key).collect();
        (full, keys)
    }
}

/// Up to this many rows a table's draws are held unpacked (32 MiB).
const UNPACKED_ROWS: u64 = 1 << 20;

/// [`full_backup_in_chunks`] in one plain sorted vector: the same rounds,
/// each drawn whole, sorted and merged in, its draws winning.
fn full_backup_unpacked(spec: &WorkloadSpec, rng: &mut Stream) -> Vec<(Key, Row)> {
    let mut rows: Vec<(Key, Row)> = Vec::new();
    let mut attempts = 0;
    let max_attempts = spec.rows.saturating_mul(20);
    while (rows.len() as u64) < spec.rows && attempts < max_attempts {
        let round = (spec.rows - rows.len() as u64).min(max_attempts - attempts);
        attempts += round;
        let mut drawn: Vec<(Key, Row)> = Vec::with_capacity(round as usize);
        for _ in 0..round {
            let key = draw_key(spec, rng);
            drawn.push((key, random_row(rng)));
        }
        let newer = last_of_each_key(drawn);
        rows = if rows.is_empty() { newer } else { merge_sorted_newer_wins(rows, newer) };
    }
    rows
}

/// `drawn` (in draw order) sorted by key, the last draw of a key winning:
/// the `(key, position)` pairs are sorted (16 bytes each, not the row).
fn last_of_each_key(drawn: Vec<(Key, Row)>) -> Vec<(Key, Row)> {
    let mut order: Vec<(Key, usize)> = drawn.iter().enumerate().map(|(i, (key, _))| (*key, i)).collect();
    // Pairs are unique, so an unstable sort is exact.
    order.sort_unstable();
    let mut newer = Vec::with_capacity(order.len());
    for (n, &(key, i)) in order.iter().enumerate() {
        if order.get(n + 1).is_none_or(|(next, _)| *next != key) {
            newer.push(drawn[i]);
        }
    }
    newer
}

/// Two sorted, key-unique row lists merged, `newer` winning a shared key.
fn merge_sorted_newer_wins(older: Vec<(Key, Row)>, newer: Vec<(Key, Row)>) -> Vec<(Key, Row)> {
    let mut merged = Vec::with_capacity(older.len() + newer.len());
    let mut old = older.into_iter().peekable();
    for (key, row) in newer {
        while let Some(kept) = old.next_if(|(k, _)| *k < key) {
            merged.push(kept);
        }
        old.next_if(|(k, _)| *k == key);
        merged.push((key, row));
    }
    merged.extend(old);
    merged
}

/// [`full_backup`] with chunks of at least `min_chunk` draws (small in a
/// test, so chunking is exercised).
fn full_backup_in_chunks(spec: &WorkloadSpec, rng: &mut Stream, min_chunk: u64) -> FullBackup {
    let mut full = FullBackup::default();
    let mut attempts = 0;
    let max_attempts = spec.rows.saturating_mul(20);
    while (full.len() as u64) < spec.rows && attempts < max_attempts {
        let round = (spec.rows - full.len() as u64).min(max_attempts - attempts);
        attempts += round;
        let mut left = round;
        while left > 0 {
            // A round is drawn in chunks merged one by one (in draw order,
            // so still the map's last-wins), so the unpacked draws held at
            // once stay a fraction of the table; chunks grow with it, so
            // the merges copy O(n log n) rows in all.
            let chunk = left.min((full.len() as u64 / 2).max(min_chunk));
            left -= chunk;
            let mut drawn: Vec<(Key, Row)> = Vec::with_capacity(chunk as usize);
            for _ in 0..chunk {
                let key = draw_key(spec, rng);
                drawn.push((key, random_row(rng)));
            }
            full = merge_newer_wins(&full, drawn);
        }
    }
    full
}

/// `older` with `drawn` (in draw order) inserted: a stable sort keeps the
/// draw order within a run of equal keys, the last of a run wins, and a
/// drawn key replaces the older row.
fn merge_newer_wins(older: &FullBackup, drawn: Vec<(Key, Row)>) -> FullBackup {
    let newer = last_of_each_key(drawn);
    // Streamed into the packed backup: no unpacked copy of the table.
    let mut old = older.iter().peekable();
    let mut new = newer.into_iter().peekable();
    FullBackup::from_sorted(std::iter::from_fn(|| match (old.peek(), new.peek()) {
        (Some((o, _)), Some((n, _))) if o < n => old.next(),
        (Some((o, _)), Some((n, _))) if o == n => {
            old.next();
            new.next()
        }
        (_, Some(_)) => new.next(),
        (Some(_), None) => old.next(),
        (None, None) => None,
    }))
}

fn incremental(spec: &WorkloadSpec, existing: &[Key], rng: &mut Stream) -> Incremental {
    let count = rng.range(spec.changes.min, spec.changes.max);
    let mut changes = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let key = if existing.is_empty() || rng.chance(spec.new_keys.0) {
            draw_key(spec, rng)
        } else {
            existing[rng.below(existing.len() as u64) as usize]
        };
        let change = if rng.chance(spec.erase.0) {
            Change::Erase
        } else {
            let partial = rng.chance(spec.partial.0);
            let mut cells = [Cell::Keep; COLUMNS];
            let forced = rng.below(COLUMNS as u64) as usize;
            for (i, cell) in cells.iter_mut().enumerate() {
                if !partial || i == forced || rng.chance(Ratio::new(1, 2)) {
                    *cell = Cell::Set(random_value(rng));
                }
            }
            Change::Upsert { cells }
        };
        changes.push((key, change));
    }
    // For a repeated key the last change of the interval wins.
    Incremental::from_changes(changes)
}

/// The table's keys after `inc`, from its keys before: one merge walk.
/// An erase removes a key, an upsert adds or keeps it.
fn keys_after(before: &[Key], inc: &Incremental) -> Vec<Key> {
    let mut after = Vec::with_capacity(before.len() + inc.len());
    let mut old = before.iter().copied().peekable();
    for (key, change) in inc.changes() {
        while let Some(k) = old.next_if(|k| k < key) {
            after.push(k);
        }
        old.next_if_eq(key);
        if !matches!(change, Change::Erase) {
            after.push(*key);
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

fn random_value(rng: &mut Stream) -> Value {
    if rng.chance(Ratio::new(1, 10)) { None } else { Some(rng.below(1_000_000)) }
}

fn random_row(rng: &mut Stream) -> Row {
    let mut row = Row::default();
    for col in &mut row.cols {
        *col = random_value(rng);
    }
    row
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The sorted-vector full backup is exactly what inserting each draw
    /// into a map did (same rows, same draws consumed): with few, many and
    /// almost all keys of the key space, where rounds and the attempt cap
    /// both come into play.
    #[test]
    fn the_full_backup_is_the_map_of_the_same_draws() {
        for (rows, key_space) in [(1, 1), (50, 1000), (500, 600), (900, 1000), (1000, 1000), (40, 10)] {
            let spec = &WorkloadSpec { rows, key_space, ..WorkloadSpec::default() };
            let mut a = Stream::new(7, crate::engine::Subsystem::Workload);
            let mut b = a.clone();
            let mut map = BTreeMap::new();
            let mut attempts = 0;
            while (map.len() as u64) < spec.rows && attempts < spec.rows * 20 {
                attempts += 1;
                let key = draw_key(spec, &mut a);
                map.insert(key, random_row(&mut a));
            }
            let mut c = b.clone();
            let (full, keys) = full_backup(spec, &mut b);
            assert!(full_backup_in_chunks(spec, &mut c, 7) == full, "chunked: {rows} rows of {key_space}");
            assert_eq!(keys, full.iter().map(|(key, _)| key).collect::<Vec<_>>());
            assert_eq!(b.clone().next_u64(), c.next_u64(), "chunked: the same draws consumed");
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
        let before: Vec<Key> = table.keys().copied().collect();
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
            restoresim_model::data::apply_change(&mut table, *key, change);
        }
        assert_eq!(keys_after(&before, &inc), table.keys().copied().collect::<Vec<_>>());
        assert_eq!(keys_after(&before, &Incremental::default()), before);
        assert_eq!(keys_after(&[], &inc), vec![1, 4, 5, 9]);
    }
}
