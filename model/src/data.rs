//! The data plane (docs/design.md §3): rows with a few nullable value columns, and
//! incremental changes that erase a row or upsert only its changed columns.
//!
//! The same `apply_change` is used by DataShards when they commit a batch and
//! by the oracle, so "what a change means" is written exactly once.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use crate::full_backup::FullBackup;
use crate::ids::Key;
use crate::packed::{PackedChange, UnpackedChange};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Erase,
    Upsert { cells: [Cell; COLUMNS] },
}

/// A change hashes as its packed word (`PackedChange::word`): one `u64`,
/// an explicit encoding that no compiler's derived `Hash` layout can move.
/// Why: the trace digest hashes every DataShard commit and backup batch
/// whole, and the derived `Hash` walked a change cell by cell — eleven
/// words for a full upsert (discriminants, the array's length, each
/// `Option`) — ~5 % of a ci-smoke run. The word is injective on inline
/// changes; a change too wide to pack hashes as the `WIDE` marker (which
/// no inline change is) followed by each cell as two words, so a stream
/// of hashed changes still decodes to one sequence of changes.
impl Hash for Change {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let packed = PackedChange::new(self);
        state.write_u64(packed.word());
        if let (true, Change::Upsert { cells }) = (packed.is_wide(), self) {
            for cell in cells {
                let (tag, value) = match cell {
                    Cell::Keep => (0, 0),
                    Cell::Set(None) => (1, 0),
                    Cell::Set(Some(v)) => (2, *v),
                };
                state.write_u64(tag);
                state.write_u64(value);
            }
        }
    }
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
///
/// Held packed: `(key, packed change)`, 16 bytes a change (a `(Key, Change)`
/// pair is 64), with the rare change too wide to pack in a side map. Every
/// reader gets `(Key, Change)` pairs decoded on the fly, so the checks and
/// the DataShards see exactly the changes drawn.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Incremental {
    changes: Vec<(Key, PackedChange)>,
    /// The changes too wide to pack (none in generated workloads).
    wide: BTreeMap<Key, Change>,
}

impl Incremental {
    /// Builds an incremental from changes in any order; for a repeated key the
    /// last one wins, as in a backup interval.
    ///
    /// What collecting into a map did, without a tree insert per change
    /// (building the map was a tenth of a ci-smoke seed's CPU): the changes
    /// are packed as they come and sorted, the last draw of a key winning
    /// (`last_wins.rs`).
    pub fn from_changes(changes: impl IntoIterator<Item = (Key, Change)>) -> Self {
        let mut wide = BTreeMap::new();
        let mut packed: Vec<(Key, PackedChange)> = changes
            .into_iter()
            .map(|(key, change)| {
                let p = PackedChange::new(&change);
                if p.is_wide() {
                    wide.insert(key, change);
                }
                (key, p)
            })
            .collect();
        crate::last_wins::sort_last_wins(&mut packed);
        packed.shrink_to_fit();
        let mut inc = Incremental { changes: packed, wide };
        // A key whose last change fits keeps no wide entry of an earlier one.
        let wide_keys: Vec<Key> = inc.wide.keys().copied().collect();
        for key in wide_keys {
            if !inc.packed(key).is_some_and(PackedChange::is_wide) {
                inc.wide.remove(&key);
            }
        }
        inc
    }

    /// From changes drawn already packed, in draw order, none too wide to
    /// pack: what workload generation draws (`sim/src/workload.rs`), sorted
    /// in the vector it was drawn into, the last draw of a key winning.
    /// Panics on a wide change: that is a generator bug.
    pub fn from_packed(mut drawn: Vec<(Key, PackedChange)>) -> Self {
        assert!(!drawn.iter().any(|(_, p)| p.is_wide()), "changes given packed are not wide");
        crate::last_wins::sort_last_wins(&mut drawn);
        drawn.shrink_to_fit();
        Incremental { changes: drawn, wide: BTreeMap::new() }
    }

    fn packed(&self, key: Key) -> Option<PackedChange> {
        self.changes.binary_search_by_key(&key, |(k, _)| *k).ok().map(|i| self.changes[i].1)
    }

    /// All changes in key order.
    pub fn changes(&self) -> Changes<'_> {
        Changes { inc: self, next: 0, end: self.changes.len() }
    }

    /// The changes at indices `from..to`, in key order (a batch in
    /// flight, `crate::batch::ChangeBatch`, reads itself so).
    pub fn changes_at(&self, from: usize, to: usize) -> Changes<'_> {
        assert!(from <= to && to <= self.changes.len(), "a run lies within the incremental");
        Changes { inc: self, next: from, end: to }
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The key of the `i`-th change in key order.
    #[inline]
    pub fn key_at(&self, i: usize) -> Key {
        self.changes[i].0
    }

    /// The `i`-th change in key order.
    #[inline]
    pub fn change_at(&self, i: usize) -> (Key, Change) {
        let (key, packed) = self.changes[i];
        match packed.get() {
            UnpackedChange::Change(change) => (key, change),
            UnpackedChange::Wide => (key, self.wide[&key]),
        }
    }

    /// The `i`-th change, packed (one too wide reads as the marker: see
    /// [`Incremental::change_at`]).
    pub fn packed_at(&self, i: usize) -> PackedChange {
        self.changes[i].1
    }

    /// The changes at indices `from..to` as they are stored, packed, with
    /// what unpacks one too wide: for readers that work on the packed
    /// words (a DataShard's commit, the trace digest) and need no
    /// `(Key, Change)` decoded.
    #[inline]
    pub fn packed_run(&self, from: usize, to: usize) -> PackedRun<'_> {
        PackedRun { pairs: &self.changes[from..to], inc: self }
    }

    pub fn get(&self, key: Key) -> Option<Change> {
        let i = self.changes.binary_search_by_key(&key, |(k, _)| *k).ok()?;
        Some(self.change_at(i).1)
    }

    /// The changes with `after < key < end` (exclusive `after`, `None` = from
    /// the start of the range), at most `limit` of them.
    pub fn range_after(&self, start: Key, end: Key, after: Option<Key>, limit: usize) -> Changes<'_> {
        let lo = match after {
            Some(k) => k.saturating_add(1).max(start),
            None => start,
        };
        let from = self.changes.partition_point(|(k, _)| *k < lo);
        let to = self.changes.partition_point(|(k, _)| *k < end);
        let to = to.max(from);
        Changes { inc: self, next: from, end: to.min(from.saturating_add(limit)) }
    }

    /// The index span of the changes with `start <= key < end` (empty,
    /// never a panic, when the range is inverted): what
    /// [`crate::shard_spans::ShardSpans`] keeps per shard.
    pub fn span(&self, start: Key, end: Key) -> (usize, usize) {
        let from = self.changes.partition_point(|(k, _)| *k < start);
        let to = self.changes.partition_point(|(k, _)| *k < end);
        (from, to.max(from))
    }

    /// The index of the first change at or above `key` among those at
    /// indices `lo..hi`: a search of that span only.
    pub fn position_in(&self, (lo, hi): (usize, usize), key: Key) -> usize {
        lo + self.changes[lo..hi].partition_point(|(k, _)| *k < key)
    }

    /// [`Incremental::range_after`] of `start..end`, given that range's
    /// span (`self.span(start, end)`, or the shard's from the index):
    /// the same changes, found by a search of the span instead of two of
    /// the whole incremental.
    pub fn range_after_in(&self, span: (usize, usize), start: Key, after: Option<Key>, limit: usize) -> Changes<'_> {
        let lo = after.map_or(start, |k| k.saturating_add(1).max(start));
        let from = self.position_in(span, lo);
        Changes { inc: self, next: from, end: span.1.min(from.saturating_add(limit)) }
    }

    /// Number of changes with `start <= key < end`.
    pub fn count_in(&self, start: Key, end: Key) -> u64 {
        let from = self.changes.partition_point(|(k, _)| *k < start);
        let to = self.changes.partition_point(|(k, _)| *k < end);
        to.saturating_sub(from) as u64
    }
}

impl std::fmt::Debug for Incremental {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incremental").field("changes", &self.changes().to_vec()).finish()
    }
}

/// A run of an incremental's changes in key order, decoded as they are
/// read: `(Key, Change)`.
#[derive(Clone, Debug)]
pub struct Changes<'a> {
    inc: &'a Incremental,
    next: usize,
    end: usize,
}

/// What an empty run reads from.
static NO_CHANGES: Incremental = Incremental { changes: Vec::new(), wide: BTreeMap::new() };

impl Changes<'_> {
    /// No changes.
    pub fn none() -> Changes<'static> {
        Changes { inc: &NO_CHANGES, next: 0, end: 0 }
    }

    pub fn to_vec(&self) -> Vec<(Key, Change)> {
        self.clone().collect()
    }

    pub fn first(&self) -> Option<(Key, Change)> {
        self.clone().next()
    }

    pub fn is_empty(&self) -> bool {
        self.next >= self.end
    }

    /// The index in the incremental just past the run's last change.
    pub fn end_index(&self) -> usize {
        self.end.max(self.next)
    }
}

impl Iterator for Changes<'_> {
    type Item = (Key, Change);

    #[inline]
    fn next(&mut self) -> Option<(Key, Change)> {
        if self.next >= self.end {
            return None;
        }
        self.next += 1;
        Some(self.inc.change_at(self.next - 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end.saturating_sub(self.next);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Changes<'_> {
    fn next_back(&mut self) -> Option<(Key, Change)> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        Some(self.inc.change_at(self.end))
    }
}

impl ExactSizeIterator for Changes<'_> {}

/// A run of an incremental's changes as stored: `(key, packed change)`
/// pairs in key order (unique keys), and the incremental's side map that
/// holds a change too wide to pack.
#[derive(Clone, Copy)]
pub struct PackedRun<'a> {
    pairs: &'a [(Key, PackedChange)],
    inc: &'a Incremental,
}

impl<'a> PackedRun<'a> {
    /// The first pair's address, not read (the engine's prefetch pipeline
    /// hints it; see `crate::prefetch`).
    #[inline]
    pub(crate) fn addr(&self) -> *const u8 {
        self.pairs.as_ptr().cast()
    }

    /// No changes.
    pub fn none() -> PackedRun<'static> {
        PackedRun { pairs: &[], inc: &NO_CHANGES }
    }

    /// The pairs, packed (a wide change as the `WIDE` marker).
    #[inline]
    pub fn pairs(&self) -> &'a [(Key, PackedChange)] {
        self.pairs
    }

    /// `key`'s change unpacked, given its packed form from [`PackedRun::pairs`].
    #[inline]
    pub fn change(&self, key: Key, packed: PackedChange) -> Change {
        match packed.get() {
            UnpackedChange::Change(change) => change,
            UnpackedChange::Wide => self.inc.wide[&key],
        }
    }

    /// Feeds each pair to `state` as `(Key, Change)`'s `Hash` does — the
    /// key, then the change's word (and, for a wide one, its cells) — from
    /// the packed words, without decoding a change and packing it again.
    /// Why: the trace digest hashes every backup batch and DataShard
    /// commit whole; decoding each change only to re-pack it for its
    /// `Hash` was most of the digest's cost (`PackedChange::get` and
    /// `::new`, ~4 % of a ci-smoke seed).
    #[inline]
    pub fn hash_pairs<H: Hasher>(&self, state: &mut H) {
        // An incremental with no change too wide to pack (every generated
        // one) holds no wide marker either (each marker has its entry in
        // `wide`): its pairs hash as two words each, with no test per pair.
        if self.inc.wide.is_empty() {
            for &(key, packed) in self.pairs {
                state.write_u64(key);
                state.write_u64(packed.word());
            }
            return;
        }
        for &(key, packed) in self.pairs {
            state.write_u64(key);
            if packed.is_wide() {
                self.change(key, packed).hash(state);
            } else {
                state.write_u64(packed.word());
            }
        }
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
        assert_eq!(inc.changes().to_vec(), map.into_iter().collect::<Vec<_>>());
        assert!(Incremental::from_changes([]).is_empty());
        let packed = Incremental::from_packed(
            (0..200u64)
                .map(|i| ((i * 37) % 23, PackedChange::new(&upsert(Cell::Set(Some(i)), Cell::Keep, Cell::Keep))))
                .collect(),
        );
        let expected: BTreeMap<Key, Change> =
            (0..200u64).map(|i| ((i * 37) % 23, upsert(Cell::Set(Some(i)), Cell::Keep, Cell::Keep))).collect();
        assert_eq!(packed.changes().to_vec(), expected.into_iter().collect::<Vec<_>>(), "drawn packed, the same");
    }

    #[test]
    fn range_after_is_exclusive_and_bounded() {
        let inc = Incremental::from_changes((0..10).map(|k| (k * 10, Change::Erase)));
        let keys = |s: Changes<'_>| s.map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(keys(inc.range_after(20, 70, None, 100)), vec![20, 30, 40, 50, 60]);
        assert_eq!(keys(inc.range_after(20, 70, Some(30), 2)), vec![40, 50]);
        assert_eq!(keys(inc.range_after(20, 70, Some(60), 2)), Vec::<Key>::new());
        assert_eq!(keys(inc.range_after(20, 70, Some(5), 1)), vec![20]);
        assert_eq!(inc.count_in(20, 70), 5);
        assert_eq!(inc.range_after(20, 70, Some(30), 2).len(), 2);
        assert_eq!(inc.range_after(20, 70, Some(30), 2).next_back().map(|(k, _)| k), Some(50));
        assert!(inc.range_after(20, 70, Some(60), 2).is_empty());
    }

    /// `range_after_in` over a range's span gives what `range_after` does,
    /// for every resume point and limit, ranges past either end included.
    #[test]
    fn range_after_in_a_span_equals_the_whole_search() {
        let inc = Incremental::from_changes((0..40).map(|k| (k * 5 + 3, Change::Erase)));
        for (start, end) in [(0, 300), (3, 4), (10, 60), (60, 10), (0, 0), (198, Key::MAX), (250, 400)] {
            let span = inc.span(start, end);
            assert_eq!(span.1 - span.0, inc.count_in(start, end) as usize);
            for after in [None, Some(0), Some(2), Some(3), Some(30), Some(59), Some(199), Some(Key::MAX)] {
                for limit in [0, 1, 3, usize::MAX] {
                    let whole = inc.range_after(start, end, after, limit).to_vec();
                    assert_eq!(
                        inc.range_after_in(span, start, after, limit).to_vec(),
                        whole,
                        "{start}..{end} {after:?}"
                    );
                }
            }
        }
    }

    /// A change too wide to pack reads back whole, and only while it is
    /// its key's last change.
    #[test]
    fn wide_changes_read_back_whole() {
        let wide = |v| upsert(Cell::Set(Some(v)), Cell::Keep, Cell::Set(None));
        let inc = Incremental::from_changes([(1, wide(u64::MAX)), (2, wide(5)), (1, wide(7)), (3, wide(1 << 40))]);
        assert_eq!(inc.changes().to_vec(), vec![(1, wide(7)), (2, wide(5)), (3, wide(1 << 40))]);
        assert_eq!(inc.wide.keys().copied().collect::<Vec<_>>(), vec![3], "key 1's wide change was overwritten");
        assert_eq!(inc.get(3), Some(wide(1 << 40)));
        assert_eq!(format!("{inc:?}"), format!("Incremental {{ changes: {:?} }}", inc.changes().to_vec()));
    }
}
