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

use std::collections::BTreeMap;
use std::collections::btree_map;
use std::ops::{Bound, RangeBounds};

use crate::data::{Change, Row, RowStore};
use crate::full_backup::FullBackup;
use crate::ids::Key;
use crate::packed::{Packed, PackedChange, Unpacked};

/// The rows of one shard: the backup's rows at indices `lo..hi` (its key
/// range) overlaid with `delta`. The delta holds exactly the keys whose row
/// differs from the base, packed (8 bytes; an erased key is packed too);
/// rows too wide to pack sit in `wide`. Two overlays with the same rows
/// are therefore equal field by field as well as row by row.
#[derive(Clone, Default)]
pub struct ShardRows {
    base: FullBackup,
    lo: usize,
    hi: usize,
    delta: BTreeMap<Key, Packed>,
    wide: BTreeMap<Key, Row>,
}

impl ShardRows {
    /// The rows of `full` with `start <= key < end`, unchanged.
    pub fn over(full: FullBackup, start: Key, end: Key) -> ShardRows {
        let (lo, hi) = full.span(start..end);
        ShardRows { base: full, lo, hi, delta: BTreeMap::new(), wide: BTreeMap::new() }
    }

    /// [`ShardRows::over`], given the range's index span in `full` (the
    /// shard's, from `crate::shard_spans`): at a million shards, a search
    /// of the whole backup per shard was ~1 % of a run's setup.
    pub fn over_span(full: FullBackup, start: Key, end: Key, (lo, hi): (usize, usize)) -> ShardRows {
        debug_assert_eq!((lo, hi), full.span(start..end), "the span given is the range's");
        ShardRows { base: full, lo, hi, delta: BTreeMap::new(), wide: BTreeMap::new() }
    }

    fn unpack(&self, key: Key, packed: Packed) -> Option<Row> {
        unpack(&self.wide, key, packed)
    }

    pub fn get(&self, key: Key) -> Option<Row> {
        match self.delta.get(&key) {
            Some(packed) => self.unpack(key, *packed),
            None => self.base.get_in(self.lo, self.hi, key),
        }
    }

    /// Sets `key`'s row (`None` erases it). A row equal to the backup's
    /// leaves no delta entry, so the delta stays minimal.
    pub fn set(&mut self, key: Key, row: Option<Row>) {
        self.wide.remove(&key);
        if self.base.get_in(self.lo, self.hi, key) == row {
            self.delta.remove(&key);
            return;
        }
        let packed = Packed::new(row);
        if let (true, Some(row)) = (packed.is_wide(), row) {
            self.wide.insert(key, row);
        }
        self.delta.insert(key, packed);
    }

    /// Applies one change at `key`: what `data::apply_change` does through
    /// [`ShardRows::get`] and [`ShardRows::set`], with one search of the
    /// delta and one of the backup instead of two of each (applying
    /// commits was an eighth of a ci-smoke seed).
    pub fn apply(&mut self, key: Key, change: &Change) {
        let base = self.base.get_in(self.lo, self.hi, key);
        self.apply_over(key, base, change);
    }

    /// Applies a commit's changes in order, as [`ShardRows::apply`] does
    /// one by one, but finds each key's backup row by stepping on from the
    /// previous key's place: a batch's keys ascend a few backup rows
    /// apart, so a galloping search from there ([`FullBackup::seek`]) takes
    /// a probe or two instead of a binary search of the span. Keys out of
    /// order are still right: the search starts over.
    ///
    /// Each change is applied on the packed bits (`Packed::apply`, what the
    /// oracle does): the backup row and the delta entry are never unpacked
    /// into `Row`s and the result is not packed again, and "is it the
    /// backup's row again?" compares two words (packing is canonical). A
    /// wide row or change takes [`ShardRows::apply_over`], on `Row`s.
    pub fn apply_all(&mut self, changes: impl IntoIterator<Item = (Key, Change)>) {
        let mut cursor = self.lo;
        let mut previous: Option<Key> = None;
        for (key, change) in changes {
            if previous.is_some_and(|p| key <= p) {
                cursor = self.lo;
            }
            previous = Some(key);
            // The backup's galloping search, kept within the shard's span.
            cursor = self.base.seek(cursor, key).min(self.hi);
            let in_backup = cursor < self.hi && self.base.key_at(cursor) == key;
            let base = if in_backup { self.base.packed_at(cursor) } else { Packed::new(None) };
            if !self.apply_packed(key, base, PackedChange::new(&change)) {
                let base = if in_backup { self.base.at(cursor, self.hi).next().map(|(_, row)| row) } else { None };
                self.apply_over(key, base, &change);
            }
        }
    }

    /// [`ShardRows::apply_over`] on packed bits, given `key`'s backup row
    /// packed (absent packs too): `false`, having changed nothing, when the
    /// row before or the change is wide.
    fn apply_packed(&mut self, key: Key, base: Packed, change: PackedChange) -> bool {
        let entry = self.delta.entry(key);
        let before = match &entry {
            btree_map::Entry::Occupied(old) => *old.get(),
            btree_map::Entry::Vacant(_) => base,
        };
        let Some(after) = before.apply(change) else { return false };
        // `before` is not wide, so no side-map row goes with the entry.
        match entry {
            btree_map::Entry::Occupied(old) if after == base => {
                old.remove();
            }
            btree_map::Entry::Occupied(mut old) => {
                old.insert(after);
            }
            btree_map::Entry::Vacant(_) if after == base => {}
            btree_map::Entry::Vacant(slot) => {
                slot.insert(after);
            }
        }
        true
    }

    /// [`ShardRows::apply`] given `key`'s backup row: one search of the
    /// delta, whose entry is read, then removed (the row is the backup's
    /// again) or written.
    fn apply_over(&mut self, key: Key, base: Option<Row>, change: &Change) {
        let entry = self.delta.entry(key);
        let before = match &entry {
            btree_map::Entry::Occupied(old) => {
                let old = *old.get();
                if old.is_wide() {
                    self.wide.remove(&key).map(Some).expect("a wide delta entry has its row")
                } else {
                    unpack(&self.wide, key, old)
                }
            }
            btree_map::Entry::Vacant(_) => base,
        };
        let after = change.apply(before);
        if after == base {
            if let btree_map::Entry::Occupied(old) = entry {
                old.remove();
            }
            return;
        }
        let packed = Packed::new(after);
        if let (true, Some(row)) = (packed.is_wide(), after) {
            self.wide.insert(key, row);
        }
        match entry {
            btree_map::Entry::Occupied(mut old) => {
                old.insert(packed);
            }
            btree_map::Entry::Vacant(slot) => {
                slot.insert(packed);
            }
        }
    }

    /// The backup this overlays and the index span of the shard's rows in
    /// it: what the checks' packed comparison (`invariants::same_rows`)
    /// reads where the delta has no entry.
    pub(crate) fn base_span(&self) -> (&FullBackup, usize, usize) {
        (&self.base, self.lo, self.hi)
    }

    /// The delta's entries with `lo <= key <= hi`, in key order, packed
    /// (an erased key as the absent marker); see [`ShardRows::delta_row`].
    pub(crate) fn delta_in(&self, lo: Key, hi: Key) -> impl Iterator<Item = (Key, Packed)> + '_ {
        let range = if lo <= hi { self.delta.range(lo..=hi) } else { self.delta.range(0..0) };
        range.map(|(k, p)| (*k, *p))
    }

    /// A delta entry's row (a wide one from the side map).
    pub(crate) fn delta_row(&self, key: Key, packed: Packed) -> Option<Row> {
        self.unpack(key, packed)
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
        // `BTreeMap::range` panics on an inverted or empty-excluded range;
        // such a range holds no rows.
        let empty = match (range.start_bound(), range.end_bound()) {
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
            | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
            _ => false,
        };
        let mut delta = if empty { self.delta.range(0..0) } else { self.delta.range(range) };
        let next_delta = delta.next().map(|(k, p)| (*k, *p));
        Range { rows: self, base: lo, base_end: hi, delta, next_delta }
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

/// A delta entry's row: inline, or in the side map of rows too wide to pack.
fn unpack(wide: &BTreeMap<Key, Row>, key: Key, packed: Packed) -> Option<Row> {
    match packed.get() {
        Unpacked::Row(row) => row,
        Unpacked::Wide => Some(wide[&key]),
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
    delta: btree_map::Range<'a, Key, Packed>,
    /// The delta's next entry, taken ahead (what a `Peekable` did, without
    /// its checks on every step).
    next_delta: Option<(Key, Packed)>,
}

impl Iterator for Range<'_> {
    type Item = (Key, Row);

    fn next(&mut self) -> Option<(Key, Row)> {
        loop {
            let mut base = self.rows.base.at(self.base, self.base_end);
            let Some((key, packed)) = self.next_delta else {
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
                    self.next_delta = self.delta.next().map(|(k, p)| (*k, *p));
                    if let Some(row) = self.rows.unpack(key, packed) {
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
        ShardRows { base: full, lo: 0, hi, delta: BTreeMap::new(), wide: BTreeMap::new() }
    }
}

#[cfg(test)]
mod tests {
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
            assert_eq!((&rows.delta, &rows.wide), (&by_set.delta, &by_set.wide), "step {step}");
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
            rows.apply_all(changes.iter().copied());
            assert_eq!((&rows.delta, &rows.wide), (&one_by_one.delta, &one_by_one.wide), "batch {n}");
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
            rows.apply_all(changes.iter().copied());
            assert_eq!((&rows.delta, &rows.wide), (&one_by_one.delta, &one_by_one.wide), "packed batch {n}");
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
