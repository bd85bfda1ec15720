//! The data plane (docs/design.md §3): rows with a few nullable value columns, and
//! incremental changes that erase a row or upsert only its changed columns.
//!
//! The same `apply_change` is used by DataShards when they commit a batch and
//! by the oracle, so "what a change means" is written exactly once.

use std::collections::BTreeMap;

use crate::full_backup::FullBackup;
use crate::ids::Key;

/// Value columns per row. Small and fixed so rows are `Copy`.
pub const COLUMNS: usize = 3;

/// A column value: `None` is SQL NULL.
pub type Value = Option<u64>;

/// One row's value columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Row {
    pub cols: [Value; COLUMNS],
}

/// What an upsert does to one column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Cell {
    /// The column was not written by this change (partial update).
    #[default]
    Keep,
    /// The column was written, possibly with NULL.
    Set(Value),
}

/// One key's change in one incremental backup. The last change in the
/// backup's interval wins, so there is at most one per key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    Erase,
    Upsert { cells: [Cell; COLUMNS] },
}

impl Change {
    /// The row after applying this change to `before` (None = absent).
    /// Upserting a missing row creates it with unwritten columns NULL.
    pub fn apply(&self, before: Option<Row>) -> Option<Row> {
        match self {
            Change::Erase => None,
            Change::Upsert { cells } => {
                let mut row = before.unwrap_or_default();
                for (col, cell) in row.cols.iter_mut().zip(cells) {
                    if let Cell::Set(value) = cell {
                        *col = *value;
                    }
                }
                Some(row)
            }
        }
    }
}

/// A table a change can be applied to: a plain map (the oracle's folds,
/// tests) or a DataShard's overlay on the full backup.
pub trait RowStore {
    fn row(&self, key: Key) -> Option<Row>;
    /// Sets `key`'s row; `None` erases it.
    fn set_row(&mut self, key: Key, row: Option<Row>);
}

impl RowStore for BTreeMap<Key, Row> {
    fn row(&self, key: Key) -> Option<Row> {
        self.get(&key).copied()
    }

    fn set_row(&mut self, key: Key, row: Option<Row>) {
        match row {
            Some(row) => {
                self.insert(key, row);
            }
            None => {
                self.remove(&key);
            }
        }
    }
}

/// Applies one change to a sorted table.
pub fn apply_change(rows: &mut impl RowStore, key: Key, change: &Change) {
    let after = change.apply(rows.row(key));
    rows.set_row(key, after);
}

/// One incremental backup of one table: changes sorted by key, unique keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Incremental {
    changes: Vec<(Key, Change)>,
}

impl Incremental {
    /// Builds an incremental from changes in any order; for a repeated key the
    /// last one wins, as in a backup interval.
    ///
    /// What collecting into a map did, without a tree insert per change
    /// (building the map was a tenth of a ci-smoke seed's CPU): the
    /// `(key, position)` pairs are sorted (16 bytes each, not the whole
    /// change), and of a run of equal keys the last position wins.
    pub fn from_changes(changes: impl IntoIterator<Item = (Key, Change)>) -> Self {
        let drawn: Vec<(Key, Change)> = changes.into_iter().collect();
        let mut order: Vec<(Key, usize)> = drawn.iter().enumerate().map(|(i, (key, _))| (*key, i)).collect();
        // Pairs are unique, so an unstable sort is exact.
        order.sort_unstable();
        let mut changes: Vec<(Key, Change)> = Vec::with_capacity(order.len());
        for (n, &(key, i)) in order.iter().enumerate() {
            if order.get(n + 1).is_none_or(|(next, _)| *next != key) {
                changes.push((key, drawn[i].1));
            }
        }
        Incremental { changes }
    }

    pub fn changes(&self) -> &[(Key, Change)] {
        &self.changes
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn get(&self, key: Key) -> Option<&Change> {
        self.changes.binary_search_by_key(&key, |(k, _)| *k).ok().map(|i| &self.changes[i].1)
    }

    /// The changes with `after < key < end` (exclusive `after`, `None` = from
    /// the start of the range), at most `limit` of them.
    pub fn range_after(&self, start: Key, end: Key, after: Option<Key>, limit: usize) -> &[(Key, Change)] {
        let lo = match after {
            Some(k) => k.saturating_add(1).max(start),
            None => start,
        };
        let from = self.changes.partition_point(|(k, _)| *k < lo);
        let to = self.changes.partition_point(|(k, _)| *k < end);
        let to = to.max(from);
        &self.changes[from..to.min(from.saturating_add(limit))]
    }

    /// Number of changes with `start <= key < end`.
    pub fn count_in(&self, start: Key, end: Key) -> u64 {
        let from = self.changes.partition_point(|(k, _)| *k < start);
        let to = self.changes.partition_point(|(k, _)| *k < end);
        to.saturating_sub(from) as u64
    }
}

/// A table's backup chain: the full backup and incrementals 1..=K.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupChain {
    /// Shared: the oracle and every DataShard's rows read this one copy.
    pub full: FullBackup,
    pub incrementals: Vec<Incremental>,
}

impl BackupChain {
    /// Incremental `i` (1-based), as the protocol numbers them.
    pub fn incremental(&self, i: crate::ids::IncrIdx) -> Option<&Incremental> {
        (i.0 as usize).checked_sub(1).and_then(|j| self.incrementals.get(j))
    }

    pub fn len(&self) -> u32 {
        self.incrementals.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.incrementals.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(c0: Cell, c1: Cell, c2: Cell) -> Change {
        Change::Upsert { cells: [c0, c1, c2] }
    }

    #[test]
    fn partial_upsert_keeps_unwritten_columns() {
        let before = Row { cols: [Some(1), Some(2), Some(3)] };
        let after = upsert(Cell::Keep, Cell::Set(None), Cell::Set(Some(9))).apply(Some(before));
        assert_eq!(after, Some(Row { cols: [Some(1), None, Some(9)] }));
    }

    #[test]
    fn upsert_of_a_new_key_leaves_unwritten_columns_null() {
        let after = upsert(Cell::Set(Some(5)), Cell::Keep, Cell::Keep).apply(None);
        assert_eq!(after, Some(Row { cols: [Some(5), None, None] }));
    }

    #[test]
    fn reapplying_the_same_change_is_idempotent() {
        let change = upsert(Cell::Set(Some(7)), Cell::Keep, Cell::Set(None));
        let once = change.apply(Some(Row::default()));
        assert_eq!(change.apply(once), once);
        assert_eq!(Change::Erase.apply(Change::Erase.apply(once)), None);
    }

    /// The last change of a repeated key wins, whatever the order drawn,
    /// exactly as a map built change by change keeps it.
    #[test]
    fn from_changes_keeps_the_last_change_of_a_key() {
        let drawn: Vec<(Key, Change)> =
            (0..200u64).map(|i| ((i * 37) % 23, upsert(Cell::Set(Some(i)), Cell::Keep, Cell::Keep))).collect();
        let mut drawn = drawn;
        drawn.extend([(5, Change::Erase), (100, Change::Erase), (0, upsert(Cell::Keep, Cell::Keep, Cell::Keep))]);
        let map: BTreeMap<Key, Change> = drawn.iter().copied().collect();
        let inc = Incremental::from_changes(drawn);
        assert_eq!(inc.changes(), map.into_iter().collect::<Vec<_>>().as_slice());
        assert!(Incremental::from_changes([]).is_empty());
    }

    #[test]
    fn range_after_is_exclusive_and_bounded() {
        let inc = Incremental::from_changes((0..10).map(|k| (k * 10, Change::Erase)));
        let keys = |s: &[(Key, Change)]| s.iter().map(|(k, _)| *k).collect::<Vec<_>>();
        assert_eq!(keys(inc.range_after(20, 70, None, 100)), vec![20, 30, 40, 50, 60]);
        assert_eq!(keys(inc.range_after(20, 70, Some(30), 2)), vec![40, 50]);
        assert_eq!(keys(inc.range_after(20, 70, Some(60), 2)), Vec::<Key>::new());
        assert_eq!(keys(inc.range_after(20, 70, Some(5), 1)), vec![20]);
        assert_eq!(inc.count_in(20, 70), 5);
    }
}
