//! A table's full backup as one shared, sorted, immutable vector of rows.
//!
//! Why a vector and not a `BTreeMap`: the full backup is written once (by
//! workload generation, in key order) and then only read — by the oracle,
//! by every DataShard's rows (which are an overlay on it, see
//! `datashard::ShardRows`) and by the checks. A sorted vector of
//! `(key, packed row)` is 16 bytes a row with no tree overhead (a
//! `BTreeMap<Key, Row>` filled in random order was ~85), a range is an
//! index span, and it is shared by reference count, so the workload, the oracle and the 1,000,000
//! DataShards of a scale run hold one copy between them.

use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use crate::data::Row;
use crate::ids::Key;
use crate::packed::{Packed, Unpacked};

/// Rows sorted by key, keys unique. Cloning shares the rows.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FullBackup {
    inner: Arc<Inner>,
}

#[derive(Clone, Default, PartialEq, Eq)]
struct Inner {
    /// `(key, row)` with the row packed: 16 bytes a row.
    rows: Vec<(Key, Packed)>,
    /// The rows too wide to pack (none in generated workloads).
    wide: BTreeMap<Key, Row>,
}

impl Inner {
    fn row_at(&self, i: usize) -> (Key, Row) {
        let (key, packed) = self.rows[i];
        match packed.get() {
            Unpacked::Row(Some(row)) => (key, row),
            Unpacked::Wide => (key, self.wide[&key]),
            Unpacked::Row(None) => unreachable!("a full backup holds no erased keys"),
        }
    }
}

impl FullBackup {
    /// From rows already sorted by key with unique keys, as workload
    /// generation produces them. Panics otherwise: that is a generator bug.
    pub fn from_sorted(rows: impl IntoIterator<Item = (Key, Row)>) -> FullBackup {
        let mut inner = Inner::default();
        for (key, row) in rows {
            assert!(inner.rows.last().is_none_or(|(k, _)| *k < key), "a full backup's keys are sorted and unique");
            let packed = Packed::new(Some(row));
            if packed.is_wide() {
                inner.wide.insert(key, row);
            }
            inner.rows.push((key, packed));
        }
        inner.rows.shrink_to_fit();
        FullBackup { inner: Arc::new(inner) }
    }

    /// From packed rows already sorted by key with unique keys, none wide
    /// nor absent: what workload generation draws (`sim/src/workload.rs`),
    /// taken as it is, with no copy. Panics otherwise: a generator bug.
    pub fn from_sorted_packed(mut rows: Vec<(Key, Packed)>) -> FullBackup {
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "a full backup's keys are sorted and unique");
        assert!(
            rows.iter().all(|(_, p)| matches!(p.get(), Unpacked::Row(Some(_)))),
            "packed rows given whole are neither wide nor absent"
        );
        rows.shrink_to_fit();
        FullBackup { inner: Arc::new(Inner { rows, wide: BTreeMap::new() }) }
    }

    pub fn len(&self) -> usize {
        self.inner.rows.len()
    }

    /// The key of the `i`-th row in key order.
    pub fn key_at(&self, i: usize) -> Key {
        self.inner.rows[i].0
    }

    /// The `i`-th row in key order, unpacked.
    pub fn row_at(&self, i: usize) -> (Key, Row) {
        self.inner.row_at(i)
    }

    /// Every row, packed, in key order (a wide one reads as the marker):
    /// for walks that step through many rows and would otherwise reach
    /// the vector through the shared pointer at every step.
    pub(crate) fn packed_rows(&self) -> &[(Key, Packed)] {
        &self.inner.rows
    }

    /// The `i`-th row packed; a wide one reads as the marker (see
    /// [`FullBackup::get_in`] for the row).
    pub fn packed_at(&self, i: usize) -> Packed {
        self.inner.rows[i].1
    }

    /// The index of the first row at or after index `from` whose key is at
    /// least `key`: a galloping search, O(log distance), for walks that
    /// look up ascending keys.
    pub fn seek(&self, from: usize, key: Key) -> usize {
        crate::last_wins::seek(&self.inner.rows, from, key)
    }

    pub fn is_empty(&self) -> bool {
        self.inner.rows.is_empty()
    }

    /// Whether `other` shares these rows (the same copy, not only equal
    /// rows): two readers of one backup may compare their rows as indices.
    pub fn same(&self, other: &FullBackup) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The row of `key` among the rows at indices `lo..hi`.
    pub fn get_in(&self, lo: usize, hi: usize, key: Key) -> Option<Row> {
        let i = self.inner.rows[lo..hi].binary_search_by_key(&key, |(k, _)| *k).ok()?;
        Some(self.inner.row_at(lo + i).1)
    }

    pub fn get(&self, key: Key) -> Option<Row> {
        self.get_in(0, self.len(), key)
    }

    /// All rows in key order.
    pub fn iter(&self) -> Iter<'_> {
        self.at(0, self.len())
    }

    /// The index span of the rows with keys in `range`: empty (never a
    /// panic) when the range is empty or inverted.
    pub fn span(&self, range: impl RangeBounds<Key>) -> (usize, usize) {
        self.span_in(0, self.len(), range)
    }

    /// [`FullBackup::span`] within the rows at indices `lo..hi`. A bound
    /// the span's first (or last) row already meets is not searched for:
    /// a shard's whole range, the common case, costs two comparisons.
    pub fn span_in(&self, lo: usize, hi: usize, range: impl RangeBounds<Key>) -> (usize, usize) {
        let rows = &self.inner.rows[lo..hi];
        let (first, last) = (rows.first().map(|(k, _)| k), rows.last().map(|(k, _)| k));
        let from = match range.start_bound() {
            Bound::Included(s) if first.is_some_and(|f| f < s) => rows.partition_point(|(k, _)| k < s),
            Bound::Excluded(s) if first.is_some_and(|f| f <= s) => rows.partition_point(|(k, _)| k <= s),
            _ => 0,
        };
        let to = match range.end_bound() {
            Bound::Included(e) if last.is_some_and(|l| l > e) => rows.partition_point(|(k, _)| k <= e),
            Bound::Excluded(e) if last.is_some_and(|l| l >= e) => rows.partition_point(|(k, _)| k < e),
            _ => rows.len(),
        };
        (lo + from, lo + to.max(from))
    }

    /// The rows with keys in `range`, in key order.
    pub fn range(&self, range: impl RangeBounds<Key>) -> Iter<'_> {
        let (lo, hi) = self.span(range);
        self.at(lo, hi)
    }

    /// The rows at indices `lo..hi` (a span from [`FullBackup::span`]).
    pub fn at(&self, lo: usize, hi: usize) -> Iter<'_> {
        Iter { inner: &self.inner, next: lo, end: hi }
    }

    /// Inserts or replaces one row: O(n), for tests that build a backup by
    /// hand. Generation uses [`FullBackup::from_sorted`].
    pub fn insert(&mut self, key: Key, row: Row) {
        let mut rows: BTreeMap<Key, Row> = self.iter().collect();
        rows.insert(key, row);
        *self = FullBackup::from_sorted(rows);
    }
}

/// The iterator of [`FullBackup::range`]: `(key, row)` in key order.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    inner: &'a Inner,
    next: usize,
    end: usize,
}

impl Iter<'_> {
    /// The next key, without unpacking its row.
    pub fn peek_key(&self) -> Option<Key> {
        (self.next < self.end).then(|| self.inner.rows[self.next].0)
    }
}

impl Iterator for Iter<'_> {
    type Item = (Key, Row);

    fn next(&mut self) -> Option<(Key, Row)> {
        if self.next >= self.end {
            return None;
        }
        self.next += 1;
        Some(self.inner.row_at(self.next - 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FullBackup")
    }
}

impl std::fmt::Debug for FullBackup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromIterator<(Key, Row)> for FullBackup {
    /// Rows in any order; for a repeated key the last one wins.
    fn from_iter<I: IntoIterator<Item = (Key, Row)>>(iter: I) -> FullBackup {
        let map: BTreeMap<Key, Row> = iter.into_iter().collect();
        FullBackup::from_sorted(map)
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
        let keys = |it: Iter<'_>| it.map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(keys(full.iter()), vec![10, 20, 30]);
        assert_eq!(full.get(10), Some(row(9)), "the last row of a repeated key wins");
        let wide = Row { cols: [Some(u64::MAX), None, Some(1)] };
        let mixed = FullBackup::from_sorted([(1, row(1)), (2, wide), (3, row(3))]);
        assert_eq!(mixed.iter().collect::<Vec<_>>(), vec![(1, row(1)), (2, wide), (3, row(3))]);
        assert_eq!(mixed.get(2), Some(wide), "a row too wide to pack reads back whole");
        assert_eq!(keys(full.range(10..30)), vec![10, 20]);
        assert_eq!(keys(full.range(10..=30)), vec![10, 20, 30]);
        assert_eq!(keys(full.range((Bound::Excluded(10), Bound::Unbounded))), vec![20, 30]);
        assert_eq!(keys(full.range(25..)), vec![30]);
        let (lo, hi) = (30, 10);
        assert_eq!(keys(full.range(lo..hi)), Vec::<Key>::new(), "an inverted range is empty");
        assert_eq!(keys(full.range(lo..=hi)), Vec::<Key>::new());
        for from in 0..=3 {
            for key in [0, 10, 11, 20, 30, 31] {
                let expected = from.max(full.iter().take_while(|(k, _)| *k < key).count());
                assert_eq!(full.seek(from, key), expected, "seek from {from} to {key}");
            }
        }
        // Every bound shape of every range over a span, against the plain
        // partition points (the first and last rows' shortcut included).
        let all: Vec<Key> = full.iter().map(|(k, _)| k).collect();
        for (lo, hi) in [(0, 3), (0, 0), (1, 2), (1, 3), (2, 2)] {
            let span = &all[lo..hi];
            let below = |key: Key| lo + span.partition_point(|k| *k < key);
            let at_or_below = |key: Key| lo + span.partition_point(|k| *k <= key);
            for a in [5, 10, 15, 20, 25, 30, 35] {
                for b in [5, 10, 15, 20, 25, 30, 35] {
                    let fix = |(f, t): (usize, usize)| (f, t.max(f));
                    assert_eq!(full.span_in(lo, hi, a..b), fix((below(a), below(b))), "{lo}..{hi}: {a}..{b}");
                    assert_eq!(full.span_in(lo, hi, a..=b), fix((below(a), at_or_below(b))), "{lo}..{hi}: {a}..={b}");
                    let excluded = (Bound::Excluded(a), Bound::Excluded(b));
                    assert_eq!(
                        full.span_in(lo, hi, excluded),
                        fix((at_or_below(a), below(b))),
                        "{lo}..{hi}: ({a}, {b})"
                    );
                    let open = (Bound::Excluded(a), Bound::Included(b));
                    assert_eq!(
                        full.span_in(lo, hi, open),
                        fix((at_or_below(a), at_or_below(b))),
                        "{lo}..{hi}: ({a}, {b}]"
                    );
                }
                assert_eq!(full.span_in(lo, hi, a..), (below(a), hi), "{lo}..{hi}: {a}..");
                assert_eq!(full.span_in(lo, hi, ..a), (lo, below(a).max(lo)), "{lo}..{hi}: ..{a}");
            }
        }
        let many = FullBackup::from_sorted_packed((0..1000).map(|k| (k * 3, Packed::new(Some(row(k))))).collect());
        for (from, key) in [(0, 0), (0, 2999), (0, 3000), (5, 16), (5, 15), (100, 2000), (999, 2998), (1000, 5)] {
            assert_eq!(many.seek(from, key), from.max(key.div_ceil(3) as usize).min(1000), "seek from {from} to {key}");
        }
        assert_eq!((many.key_at(7), many.packed_at(7).get()), (21, Unpacked::Row(Some(row(7)))));
        let mut copy = full.clone();
        copy.insert(15, row(5));
        assert_eq!(keys(copy.iter()), vec![10, 15, 20, 30]);
        assert_eq!(full.len(), 3, "insert copies on write: the shared backup is unchanged");
    }
}
