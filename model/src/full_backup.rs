//! A table's full backup as one shared, sorted, immutable vector of rows.
//!
//! Why a vector and not a `BTreeMap`: the full backup is written once (by
//! workload generation, in key order) and then only read — by the oracle,
//! by every DataShard's rows (which are an overlay on it, see
//! `datashard::ShardRows`) and by the checks. A sorted vector is 56 bytes
//! a row with no tree overhead, a range is a slice, and it is shared by
//! reference count, so the workload, the oracle and the 1,000,000
//! DataShards of a scale run hold one copy between them.

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use crate::data::Row;
use crate::ids::Key;

/// Rows sorted by key, keys unique. Cloning shares the rows.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FullBackup {
    rows: Arc<Vec<(Key, Row)>>,
}

impl FullBackup {
    /// From rows already sorted by key with unique keys, as workload
    /// generation produces them. Panics otherwise: that is a generator bug.
    pub fn from_sorted(rows: Vec<(Key, Row)>) -> FullBackup {
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "a full backup's keys are sorted and unique");
        FullBackup { rows: Arc::new(rows) }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn get(&self, key: &Key) -> Option<&Row> {
        self.rows.binary_search_by_key(key, |(k, _)| *k).ok().map(|i| &self.rows[i].1)
    }

    /// All rows in key order.
    pub fn iter(&self) -> std::slice::Iter<'_, (Key, Row)> {
        self.rows.iter()
    }

    /// The index span of the rows with keys in `range`: empty (never a
    /// panic) when the range is empty or inverted.
    pub fn span(&self, range: impl RangeBounds<Key>) -> (usize, usize) {
        let lo = match range.start_bound() {
            Bound::Included(s) => self.rows.partition_point(|(k, _)| k < s),
            Bound::Excluded(s) => self.rows.partition_point(|(k, _)| k <= s),
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(e) => self.rows.partition_point(|(k, _)| k <= e),
            Bound::Excluded(e) => self.rows.partition_point(|(k, _)| k < e),
            Bound::Unbounded => self.rows.len(),
        };
        (lo, hi.max(lo))
    }

    /// The rows with keys in `range`, in key order.
    pub fn range(&self, range: impl RangeBounds<Key>) -> std::slice::Iter<'_, (Key, Row)> {
        let (lo, hi) = self.span(range);
        self.rows[lo..hi].iter()
    }

    /// The rows at indices `lo..hi` (a span from [`FullBackup::span`]).
    pub fn slice(&self, lo: usize, hi: usize) -> &[(Key, Row)] {
        &self.rows[lo..hi]
    }

    /// Inserts or replaces one row: O(n), for tests that build a backup by
    /// hand. Generation uses [`FullBackup::from_sorted`].
    pub fn insert(&mut self, key: Key, row: Row) {
        let rows = Arc::make_mut(&mut self.rows);
        match rows.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => rows[i].1 = row,
            Err(i) => rows.insert(i, (key, row)),
        }
    }
}

impl std::fmt::Debug for FullBackup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.rows.iter().map(|(k, r)| (k, r))).finish()
    }
}

impl FromIterator<(Key, Row)> for FullBackup {
    /// Rows in any order; for a repeated key the last one wins.
    fn from_iter<I: IntoIterator<Item = (Key, Row)>>(iter: I) -> FullBackup {
        let map: std::collections::BTreeMap<Key, Row> = iter.into_iter().collect();
        FullBackup { rows: Arc::new(map.into_iter().collect()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: u64) -> Row {
        Row { cols: [Some(v), None, None] }
    }

    #[test]
    fn ranges_of_every_bound_shape_and_inverted_ranges() {
        let full: FullBackup = [(30, row(3)), (10, row(1)), (20, row(2)), (10, row(9))].into_iter().collect();
        let keys = |it: std::slice::Iter<'_, (Key, Row)>| it.map(|(k, _)| *k).collect::<Vec<_>>();
        assert_eq!(keys(full.iter()), vec![10, 20, 30]);
        assert_eq!(full.get(&10), Some(&row(9)), "the last row of a repeated key wins");
        assert_eq!(keys(full.range(10..30)), vec![10, 20]);
        assert_eq!(keys(full.range(10..=30)), vec![10, 20, 30]);
        assert_eq!(keys(full.range((Bound::Excluded(10), Bound::Unbounded))), vec![20, 30]);
        assert_eq!(keys(full.range(25..)), vec![30]);
        assert_eq!(keys(full.range(30..10)), Vec::<Key>::new());
        assert_eq!(keys(full.range(20..=19)), Vec::<Key>::new());
        let mut copy = full.clone();
        copy.insert(15, row(5));
        assert_eq!(keys(copy.iter()), vec![10, 15, 20, 30]);
        assert_eq!(full.len(), 3, "insert copies on write: the shared backup is unchanged");
    }
}
