//! Seeded workload generation (docs/design.md §3): the full backup, then each
//! incremental as a set of changes over the table as it stands after the
//! previous one (erases and partial updates of existing rows, new keys, empty
//! incrementals, skewed keys). All draws come from the workload stream.

use std::collections::BTreeMap;

use restoresim_model::data::{BackupChain, COLUMNS, Cell, Change, Incremental, Row, Value};
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
    let mut full = BTreeMap::new();
    let mut attempts = 0;
    while (full.len() as u64) < spec.rows && attempts < spec.rows * 20 {
        attempts += 1;
        let key = draw_key(spec, rng);
        full.insert(key, random_row(rng));
    }
    // Only the keys of the table as it stands are needed to draw the next
    // incremental (its rows are not): a sorted key list, merged with each
    // incremental, instead of a second copy of the whole table.
    let mut existing: Vec<Key> = full.keys().copied().collect();
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
    use super::*;

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
