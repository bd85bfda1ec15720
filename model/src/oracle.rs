//! The oracle (docs/design.md §3): what the table must hold, computed from the
//! backups alone, without the protocol. Every safety check of data compares
//! against it.

use std::collections::BTreeMap;

use crate::data::{BackupChain, Row};
use crate::ids::{IncrIdx, Key};

/// `fold(full, inc_1..inc_k)`: the whole table after incrementals `1..=k`.
pub fn fold(chain: &BackupChain, k: IncrIdx) -> BTreeMap<Key, Row> {
    let mut rows = chain.full.clone();
    for inc in chain.incrementals.iter().take(k.0 as usize) {
        for (key, change) in inc.changes() {
            crate::data::apply_change(&mut rows, *key, change);
        }
    }
    rows
}

/// `fold` restricted to the keys `[start, end)`: what one shard must hold
/// after incrementals `1..=k`. O(changes in range), not O(table).
pub fn fold_range(chain: &BackupChain, start: Key, end: Key, k: IncrIdx) -> BTreeMap<Key, Row> {
    let mut rows: BTreeMap<Key, Row> = chain.full.range(start..end).map(|(k, r)| (*k, *r)).collect();
    for inc in chain.incrementals.iter().take(k.0 as usize) {
        for (key, change) in inc.range_after(start, end, None, usize::MAX) {
            crate::data::apply_change(&mut rows, *key, change);
        }
    }
    rows
}

/// One key's expected row after incrementals `1..=k`: O(k log n), no fold of
/// the whole table, so per-commit checks stay proportional to the commit.
pub fn row_after(chain: &BackupChain, key: Key, k: IncrIdx) -> Option<Row> {
    let mut row = chain.full.get(&key).copied();
    for inc in chain.incrementals.iter().take(k.0 as usize) {
        if let Some(change) = inc.get(key) {
            row = change.apply(row);
        }
    }
    row
}

/// The expected row of a key on a shard that has finished incrementals
/// `1..i-1` and applied incremental `i` up to `last_key` (inclusive).
pub fn row_in_prefix(chain: &BackupChain, key: Key, i: IncrIdx, last_key: Option<Key>) -> Option<Row> {
    let applied_i = last_key.is_some_and(|last| key <= last);
    let k = if applied_i { i } else { IncrIdx(i.0 - 1) };
    row_after(chain, key, k)
}

/// The table after each prefix of the chain, computed once: `states[k]` is
/// `fold(full, inc_1..inc_k)`. Per-commit checks then cost a map lookup per
/// changed key instead of a replay of the chain. Memory: (K + 1) copies of
/// the table, which is what a checker needs to answer "what must this shard
/// hold now" in O(log n).
#[derive(Clone, Debug)]
pub struct Oracle {
    states: Vec<BTreeMap<Key, Row>>,
}

impl Oracle {
    pub fn new(chain: &BackupChain) -> Oracle {
        let mut states = Vec::with_capacity(chain.incrementals.len() + 1);
        let mut rows = chain.full.clone();
        states.push(rows.clone());
        for inc in &chain.incrementals {
            for (key, change) in inc.changes() {
                crate::data::apply_change(&mut rows, *key, change);
            }
            states.push(rows.clone());
        }
        Oracle { states }
    }

    /// The table after incrementals `1..=k`.
    pub fn after(&self, k: IncrIdx) -> &BTreeMap<Key, Row> {
        &self.states[(k.0 as usize).min(self.states.len() - 1)]
    }

    /// Same as [`row_in_prefix`], from the precomputed states.
    pub fn row_in_prefix(&self, key: Key, i: IncrIdx, last_key: Option<Key>) -> Option<Row> {
        let applied_i = last_key.is_some_and(|last| key <= last);
        let k = if applied_i { i } else { IncrIdx(i.0 - 1) };
        self.after(k).get(&key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Cell, Change, Incremental};

    fn set(v: u64) -> Change {
        Change::Upsert { cells: [Cell::Set(Some(v)), Cell::Keep, Cell::Keep] }
    }

    #[test]
    fn incrementals_apply_in_order_and_do_not_commute() {
        let mut chain = BackupChain::default();
        chain.full.insert(1, Row { cols: [Some(0), Some(1), None] });
        chain.incrementals.push(Incremental::from_changes([(1, set(10)), (2, set(20))]));
        chain.incrementals.push(Incremental::from_changes([(1, Change::Erase), (2, set(21))]));
        let end = fold(&chain, IncrIdx(2));
        assert_eq!(end.get(&1), None);
        assert_eq!(end[&2].cols[0], Some(21));
        assert_eq!(row_after(&chain, 1, IncrIdx(1)), Some(Row { cols: [Some(10), Some(1), None] }));
        assert_eq!(row_in_prefix(&chain, 2, IncrIdx(2), Some(1)), Some(Row { cols: [Some(20), None, None] }));
        assert_eq!(row_in_prefix(&chain, 2, IncrIdx(2), Some(2)), Some(Row { cols: [Some(21), None, None] }));
        let oracle = Oracle::new(&chain);
        assert_eq!(oracle.after(IncrIdx(2)), &end);
        for key in 0..4 {
            for (i, last) in [(1, None), (1, Some(1)), (2, Some(1)), (2, Some(2))] {
                assert_eq!(oracle.row_in_prefix(key, IncrIdx(i), last), row_in_prefix(&chain, key, IncrIdx(i), last));
            }
        }
        assert_eq!(
            fold_range(&chain, 2, 100, IncrIdx(1)),
            oracle.after(IncrIdx(1)).range(2..100).map(|(k, r)| (*k, *r)).collect()
        );
    }
}
