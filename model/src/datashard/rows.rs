//! A DataShard's durable rows as an overlay on the shared full backup.
//!
//! A restored table starts as the full backup and the incrementals change
//! a minority of its keys, so a shard stores only what it changed: the
//! rows of its key range in the (shared, never copied) full backup, plus a
//! sorted delta of the keys whose row now differs from the backup (`None`
//! for an erased key). A read of an unchanged key falls through to the
//! backup. The whole overlay is durable state — it lives in `DataShardDb`,
//! which a crash keeps — so crash semantics are those of a plain table.
//! Before this, every shard held its own `BTreeMap` copy of its rows, which
//! with the workload's copy was two full tables per run.

use std::ops::{Bound, RangeBounds};

use super::delta::{Base, Delta};
use crate::batch::ChangeBatch;
use crate::data::{Change, Row, RowStore};
use crate::full_backup::FullBackup;
use crate::ids::Key;
use crate::packed::Packed;
use crate::shard_spans::Spans;

/// The rows of one shard: the backup's rows at indices `lo..hi` (its key
/// range) overlaid with `delta`. The delta holds exactly the keys whose row
/// differs from the base, packed (8 bytes; an erased key is packed too),
/// in a sorted vector a commit's batch is merged into (see `delta.rs`).
/// Two overlays with the same rows are therefore equal field by field as
/// well as row by row.
#[derive(Clone, Default)]
pub struct ShardRows {
    base: FullBackup,
    lo: usize,
    hi: usize,
    delta: Delta,
    /// Entries the delta is given room for at its first batch (then 0):
    /// every key of the range the chain changes, when known.
    ///
    /// Why: grown as batches arrived, a delta was reallocated a time or
    /// two in the middle of the run, in the random order the shards
    /// commit: a copy, and a free that touches the old block's page
    /// metadata, far from anything hot (at a million shards the
    /// allocator's reallocations and frees took ~30 times their samples at
    /// 100,000). Sized once at the first batch, the buffer is one
    /// allocation, fresh from the allocator's hot free list, and never
    /// copied. (Sized at setup instead, every shard's first batch wrote
    /// into a block cold since setup.) Not part of the rows: equality and
    /// printing ignore it.
    room: u32,
}

impl ShardRows {
    /// The rows of `full` with `start <= key < end`, unchanged.
    pub fn over(full: FullBackup, start: Key, end: Key) -> ShardRows {
        let (lo, hi) = full.span(start..end);
        ShardRows { base: full, lo, hi, delta: Delta::default(), room: 0 }
    }

    /// [`ShardRows::over`], given the shard's spans (`crate::shard_spans`):
    /// its index span in `full` (at a million shards, a search of the whole
    /// backup per shard was ~1 % of a run's setup), and, as the delta's
    /// `room`, how many of the range's keys the chain changes: the most
    /// entries the delta can hold after a restore.
    pub fn over_span(full: FullBackup, start: Key, end: Key, spans: Spans<'_>) -> ShardRows {
        let (lo, hi) = spans.full();
        debug_assert_eq!((lo, hi), full.span(start..end), "the span given is the range's");
        let (changed_lo, changed_hi) = spans.changed();
        let room = u32::try_from(changed_hi - changed_lo).unwrap_or(0);
        ShardRows { base: full, lo, hi, delta: Delta::default(), room }
    }

    pub fn get(&self, key: Key) -> Option<Row> {
        match self.delta.get(key) {
            Some(packed) => self.delta.row(key, packed),
            None => self.base.get_in(self.lo, self.hi, key),
        }
    }

    /// Sets `key`'s row (`None` erases it). A row equal to the backup's
    /// leaves no delta entry, so the delta stays minimal.
    pub fn set(&mut self, key: Key, row: Option<Row>) {
        let base = self.base.get_in(self.lo, self.hi, key);
        self.delta.set(key, row, base);
    }

    /// Applies one change at `key`: what `data::apply_change` does through
    /// [`ShardRows::get`] and [`ShardRows::set`], with one search of the
    /// delta and one of the backup instead of two of each.
    pub fn apply(&mut self, key: Key, change: &Change) {
        let base = Base { backup: &self.base, lo: self.lo, hi: self.hi };
        self.delta.apply(base, key, change);
    }

    /// Applies a commit's changes in order, as [`ShardRows::apply`] does
    /// one by one. A batch's keys ascend, so the delta takes them in one
    /// merge from the back (`Delta::apply_all`): no per-change tree search
    /// or insert, each key's backup row found by looking down from the
    /// previous key's, each change applied on the packed bits. Keys out of
    /// order (hand-written tests) are still right: they are applied one by
    /// one.
    pub fn apply_all(&mut self, changes: &[(Key, Change)]) {
        let base = Base { backup: &self.base, lo: self.lo, hi: self.hi };
        self.delta.apply_all(base, changes);
    }

    /// Applies a commit's batch, as [`ShardRows::apply_all`] does its
    /// pairs, merged straight from the incremental's packed changes
    /// (`Delta::apply_run`): no vector of decoded pairs per commit.
    pub fn apply_batch(&mut self, batch: &ChangeBatch) {
        if self.room > 0 && !batch.is_empty() {
            self.delta.reserve_room(std::mem::take(&mut self.room) as usize);
        }
        let base = Base { backup: &self.base, lo: self.lo, hi: self.hi };
        self.delta.apply_run(base, batch.packed());
    }

    /// The backup this overlays and the index span of the shard's rows in
    /// it: what the checks' packed comparison (`invariants::same_rows`)
    /// reads where the delta has no entry.
    pub(crate) fn base_span(&self) -> (&FullBackup, usize, usize) {
        (&self.base, self.lo, self.hi)
    }

    /// The delta's buffer's address, not read (the engine's prefetch
    /// pipeline hints it; see `crate::prefetch`).
    #[inline]
    pub(crate) fn delta_addr(&self) -> *const u8 {
        self.delta.range(..).as_ptr().cast()
    }

    /// The bytes the delta's entries take (for the same hints).
    #[inline]
    pub(crate) fn delta_bytes(&self) -> usize {
        std::mem::size_of_val(self.delta.range(..))
    }

    /// The delta's entries with `key >= lo`, in key order, packed (an
    /// erased key as the absent marker); see [`ShardRows::delta_row`]. A
    /// walk stops at its own end, so only its start is searched for.
    pub(crate) fn delta_from(&self, lo: Key) -> &[(Key, Packed)] {
        self.delta.range(lo..)
    }

    /// A delta entry's row (a wide one from the side map).
    pub(crate) fn delta_row(&self, key: Key, packed: Packed) -> Option<Row> {
        self.delta.row(key, packed)
    }

    /// The delta itself, for tests that hold two overlays equal field by field.
    #[cfg(test)]
    pub(super) fn delta(&self) -> &Delta {
        &self.delta
    }

    /// Keys whose row differs from the full backup (a measure of the
    /// overlay's memory).
    pub fn changed(&self) -> usize {
        self.delta.len()
    }

    /// The rows with keys in `range`, in key order: a merge walk of the
    /// backup's span with the delta's range, the delta winning.
    pub fn range(&self, range: impl RangeBounds<Key> + Clone) -> Range<'_> {
        let (lo, hi) = self.base.span_in(self.lo, self.hi, range.clone());
        // An inverted or empty-excluded range holds no rows.
        let empty = match (range.start_bound(), range.end_bound()) {
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
            | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
            _ => false,
        };
        let delta = if empty { &[] } else { self.delta.range(range) };
        Range { rows: self, base: lo, base_end: hi, delta, next: 0 }
    }

    pub fn iter(&self) -> Range<'_> {
        self.range(..)
    }
}

impl RowStore for ShardRows {
    fn row(&self, key: Key) -> Option<Row> {
        self.get(key)
    }

    fn set_row(&mut self, key: Key, row: Option<Row>) {
        self.set(key, row);
    }
}

/// The iterator of [`ShardRows::range`]: `(key, row)` in key order.
#[derive(Clone)]
pub struct Range<'a> {
    rows: &'a ShardRows,
    /// The next backup row's index and the end of the range's span:
    /// indices rather than an iterator, so a backup row the delta
    /// overrides is stepped over without unpacking it.
    base: usize,
    base_end: usize,
    /// The range's delta entries and the index of the next one.
    delta: &'a [(Key, Packed)],
    next: usize,
}

impl Iterator for Range<'_> {
    type Item = (Key, Row);

    fn next(&mut self) -> Option<(Key, Row)> {
        loop {
            let mut base = self.rows.base.at(self.base, self.base_end);
            let Some(&(key, packed)) = self.delta.get(self.next) else {
                let row = base.next();
                self.base += usize::from(row.is_some());
                return row;
            };
            match base.peek_key() {
                Some(b) if b < key => {
                    self.base += 1;
                    return base.next();
                }
                b => {
                    if b == Some(key) {
                        self.base += 1;
                    }
                    self.next += 1;
                    if let Some(row) = self.rows.delta.row(key, packed) {
                        return Some((key, row));
                    }
                }
            }
        }
    }
}

impl<'a> IntoIterator for &'a ShardRows {
    type Item = (Key, Row);
    type IntoIter = Range<'a>;

    fn into_iter(self) -> Range<'a> {
        self.iter()
    }
}

impl PartialEq for ShardRows {
    /// Equal rows, whatever the backup they overlay.
    fn eq(&self, other: &ShardRows) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for ShardRows {}

impl std::fmt::Debug for ShardRows {
    /// The rows as a map, as a plain table prints: the explore fingerprint
    /// hashes this, and it must not depend on how the rows are stored.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromIterator<(Key, Row)> for ShardRows {
    /// A shard holding exactly these rows (its own base), for tests.
    fn from_iter<I: IntoIterator<Item = (Key, Row)>>(iter: I) -> ShardRows {
        let full: FullBackup = iter.into_iter().collect();
        let hi = full.len();
        ShardRows { base: full, lo: 0, hi, delta: Delta::default(), room: 0 }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::data::{Cell, Change, apply_change};

    fn row(v: u64) -> Row {
        Row { cols: [Some(v), Some(v), None] }
    }

    /// The overlay against a plain `BTreeMap` table under erases and
    /// upserts of backup keys, new keys and keys outside the shard's range,
    /// including changes that restore a key's backup row and rows too wide
    /// to pack.
    #[test]
    fn the_overlay_reads_exactly_what_a_plain_table_would() {
        let full: FullBackup = (0..60).step_by(3).map(|k| (k, row(k))).collect();
        let mut rows = ShardRows::over(full.clone(), 10, 40);
        let mut plain: BTreeMap<Key, Row> = full.range(10..40).collect();
        assert_eq!(rows.iter().collect::<BTreeMap<_, _>>(), plain);
        let set = |v| Change::Upsert { cells: [Cell::Keep, Cell::Set(Some(v)), Cell::Keep] };
        for step in 0..200u64 {
            let key = 5 + (step * 7) % 40;
            let change = match step % 5 {
                4 => Change::Upsert { cells: [Cell::Set(Some(u64::MAX - step)), Cell::Keep, Cell::Keep] },
                0 => Change::Erase,
                1 => set(step),
                2 => set(key),
                _ => Change::Upsert { cells: [Cell::Set(Some(key)), Cell::Set(Some(key)), Cell::Set(None)] },
            };
            let mut by_set = rows.clone();
            apply_change(&mut by_set, key, &change);
            rows.apply(key, &change);
            apply_change(&mut plain, key, &change);
            // `apply` leaves the overlay field by field what get + set do.
            assert_eq!(rows.delta, by_set.delta, "step {step}");
            assert!(rows.iter().eq(plain.iter().map(|(k, r)| (*k, *r))), "step {step}");
            for (lo, hi) in [(0, 100), (12, 13), (15, 33), (33, 15), (39, 39)] {
                if lo <= hi {
                    let plain_range = |r| plain.range(r).map(|(k, r)| (*k, *r));
                    assert!(rows.range(lo..hi).eq(plain_range((Bound::Included(lo), Bound::Excluded(hi)))));
                    assert!(rows.range(lo..=hi).eq(plain_range((Bound::Included(lo), Bound::Included(hi)))));
                } else {
                    assert_eq!(rows.range(lo..hi).count(), 0);
                    assert_eq!(rows.range(lo..=hi).count(), 0);
                }
            }
            for k in 0..50 {
                assert_eq!(rows.get(k), plain.get(&k).copied(), "key {k} at step {step}");
            }
        }
        // A commit applied whole leaves what applying it change by change
        // does: ascending batches with gaps, a repeated key, keys out of order.
        let batches: [&[Key]; 4] = [&[10, 12, 13, 30, 31, 39], &[5, 9, 10, 10, 41], &[33, 12, 21, 0], &[]];
        for (n, keys) in batches.iter().enumerate() {
            let changes: Vec<(Key, Change)> = keys
                .iter()
                .enumerate()
                .map(|(j, k)| (*k, if j % 3 == 1 { Change::Erase } else { set(*k + 1) }))
                .collect();
            let mut one_by_one = rows.clone();
            for (key, change) in &changes {
                one_by_one.apply(*key, change);
            }
            rows.apply_all(&changes);
            assert_eq!(rows.delta, one_by_one.delta, "batch {n}");
        }
        // On the packed path too: a change back to the backup's row drops
        // the entry; wide changes and wide rows before take the row path.
        let wide = |v| Change::Upsert { cells: [Cell::Set(Some(v)), Cell::Keep, Cell::Keep] };
        let batches: [&[(Key, Change)]; 3] = [
            &[(12, set(99)), (15, wide(u64::MAX)), (18, Change::Erase), (22, set(4))],
            &[(12, set(12)), (15, set(15)), (15, wide(15)), (18, set(18)), (22, Change::Erase), (60, wide(1 << 40))],
            &[(12, Change::Erase), (18, Change::Erase), (21, set(21)), (60, set(1))],
        ];
        for (n, changes) in batches.iter().enumerate() {
            let mut one_by_one = rows.clone();
            for (key, change) in changes.iter() {
                one_by_one.apply(*key, change);
            }
            rows.apply_all(changes);
            assert_eq!(rows.delta, one_by_one.delta, "packed batch {n}");
        }
        // A key changed back to its backup row leaves no delta.
        let mut back = ShardRows::over(full.clone(), 10, 40);
        apply_change(&mut back, 12, &Change::Erase);
        assert_eq!(back.changed(), 1);
        back.set(12, Some(row(12)));
        assert_eq!(back.changed(), 0);
        assert_eq!(back, ShardRows::over(full, 10, 40));
    }
}
