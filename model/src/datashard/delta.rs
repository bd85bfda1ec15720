//! A DataShard's delta over the full backup: the keys whose row differs
//! from the backup's, as one sorted vector of `(key, packed row)`, with a
//! commit's batch merged in at once.
//!
//! Why a vector and not a `BTreeMap`: a commit's changes arrive sorted (a
//! batch is one key-ordered slice of one incremental), so applying them is
//! a merge of two sorted runs, not a tree search and insert per change
//! (~290 instructions each, the largest item of a ci-smoke seed). The
//! merge runs from the back: counting the batch's keys the delta lacks
//! tells how far each entry moves, so the merged entries are written in
//! place, each once, the entries above the batch moving up as one block;
//! an incremental's first pass over a shard is an append. A vector also
//! holds 16 bytes an entry where a tree holds ~2-3 times that in half-full
//! nodes, and a range read is a slice.
//!
//! A commit's batch that is not sorted (hand-written tests) is applied a
//! change at a time, with the same result.

use std::collections::BTreeMap;
use std::ops::RangeBounds;

use crate::data::{Change, Incremental, PackedRun, Row};
use crate::full_backup::FullBackup;
use crate::ids::Key;
use crate::packed::{Packed, PackedChange, Unpacked};

/// The changed keys in key order, each with its row packed (an erased key
/// as the absent marker). Canonical: exactly the keys whose row differs
/// from the backup's, so two deltas over one backup with the same rows
/// are equal field by field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Delta {
    entries: Vec<(Key, Packed)>,
    /// The rows of entries too wide to pack (none in generated workloads).
    wide: BTreeMap<Key, Row>,
}

/// How many backup rows below the previous key's a batch's key is looked
/// for at once (`Base::seek_back`).
const NEAR: usize = 4;

/// Where a shard's rows lie in the shared backup: its index span.
#[derive(Clone, Copy)]
pub(super) struct Base<'a> {
    pub backup: &'a FullBackup,
    pub lo: usize,
    pub hi: usize,
}

impl Base<'_> {
    /// `key`'s backup row, packed (absent if the backup lacks it), and its
    /// index if present.
    fn at(&self, i: usize, key: Key) -> (Packed, Option<usize>) {
        if i < self.hi && self.backup.key_at(i) == key {
            (self.backup.packed_at(i), Some(i))
        } else {
            (Packed::new(None), None)
        }
    }

    /// The row at index `i`, unpacked (a wide one from the backup's side map).
    fn row(&self, i: Option<usize>) -> Option<Row> {
        i.map(|i| self.backup.row_at(i).1)
    }

    /// The first index in `self.lo..end` whose key is at least `key`
    /// (`end` if none), for walks that look up descending keys (each
    /// search's answer is the next one's `end`).
    ///
    /// Most of a batch's keys are backup keys a row or two below the
    /// previous one, so the [`NEAR`] rows below `end` are looked at first
    /// and counted at once, with no branch on what each holds: a galloping
    /// search branched on each probe, and which row a key is was
    /// mispredicted about once a key. A key further down is galloped to.
    fn seek_back(&self, end: usize, key: Key) -> usize {
        let near = end.saturating_sub(NEAR).max(self.lo);
        if near == self.lo || self.backup.key_at(near) < key {
            // The answer is in `near..=end`: past the rows below `key`.
            return near + (near..end).map(|i| usize::from(self.backup.key_at(i) < key)).sum::<usize>();
        }
        // The row at `near` is at least `key`: the answer is at or below it.
        let (mut lower, mut upper) = (self.lo, near);
        let mut step = 1;
        while upper > lower {
            let probe = upper.saturating_sub(step).max(lower);
            let probed = self.backup.key_at(probe);
            if probed < key {
                lower = probe + 1;
                break;
            }
            if probed == key {
                // Keys are unique: found (most of a batch's keys are
                // backup keys, a row or two below the previous one).
                return probe;
            }
            upper = probe;
            step *= 2;
        }
        // The answer is in `lower..=upper`: a binary search between.
        while lower < upper {
            let mid = lower + (upper - lower) / 2;
            if self.backup.key_at(mid) < key {
                lower = mid + 1;
            } else {
                upper = mid;
            }
        }
        lower
    }
}

impl Delta {
    /// Room for `keys` entries in all, without growing.
    pub fn reserve_room(&mut self, keys: usize) {
        self.entries.reserve_exact(keys.saturating_sub(self.entries.len()));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `key`'s entry, if its row differs from the backup's.
    pub fn get(&self, key: Key) -> Option<Packed> {
        let i = self.entries.binary_search_by_key(&key, |(k, _)| *k).ok()?;
        Some(self.entries[i].1)
    }

    /// An entry's row (a wide one from the side map).
    pub fn row(&self, key: Key, packed: Packed) -> Option<Row> {
        match packed.get() {
            Unpacked::Row(row) => row,
            Unpacked::Wide => Some(self.wide[&key]),
        }
    }

    /// The entries with keys in `range`, in key order.
    pub fn range(&self, range: impl RangeBounds<Key>) -> &[(Key, Packed)] {
        let from = match range.start_bound() {
            std::ops::Bound::Included(s) => self.entries.partition_point(|(k, _)| k < s),
            std::ops::Bound::Excluded(s) => self.entries.partition_point(|(k, _)| k <= s),
            std::ops::Bound::Unbounded => 0,
        };
        let to = match range.end_bound() {
            std::ops::Bound::Included(e) => self.entries.partition_point(|(k, _)| k <= e),
            std::ops::Bound::Excluded(e) => self.entries.partition_point(|(k, _)| k < e),
            std::ops::Bound::Unbounded => self.entries.len(),
        };
        &self.entries[from..to.max(from)]
    }

    /// Sets `key`'s row to `row` given its backup row `base`: no entry
    /// when they are equal, so the delta stays minimal.
    pub fn set(&mut self, key: Key, row: Option<Row>, base: Option<Row>) {
        self.wide.remove(&key);
        let found = self.entries.binary_search_by_key(&key, |(k, _)| *k);
        if row == base {
            if let Ok(i) = found {
                self.entries.remove(i);
            }
            return;
        }
        let packed = Packed::new(row);
        if let (true, Some(row)) = (packed.is_wide(), row) {
            self.wide.insert(key, row);
        }
        match found {
            Ok(i) => self.entries[i].1 = packed,
            Err(i) => self.entries.insert(i, (key, packed)),
        }
    }

    /// Applies one change at `key`: one search of the delta and one of
    /// the shard's backup span.
    pub fn apply(&mut self, base: Base<'_>, key: Key, change: &Change) {
        let (base_packed, base_at) = base.at(base.backup.seek(base.lo, key).min(base.hi), key);
        let found = self.entries.binary_search_by_key(&key, |(k, _)| *k);
        let before = found.ok().map(|i| self.entries[i].1);
        let packed = PackedChange::new(change);
        let after = after(&mut self.wide, key, before, base_packed, || base.row(base_at), packed, || *change);
        match (found, after) {
            (Ok(i), Some(after)) => self.entries[i].1 = after,
            (Ok(i), None) => {
                self.entries.remove(i);
            }
            (Err(i), Some(after)) => self.entries.insert(i, (key, after)),
            (Err(_), None) => {}
        }
    }

    /// Applies a commit's changes in order: what [`Delta::apply`] does
    /// change by change, as one merge when the keys ascend strictly (a
    /// batch always does: see [`Delta::apply_run`]).
    pub fn apply_all(&mut self, base: Base<'_>, changes: &[(Key, Change)]) {
        if changes.windows(2).all(|w| w[0].0 < w[1].0) {
            // Packed as an incremental stores them (the keys are unique,
            // so nothing is dropped or reordered).
            let inc = Incremental::from_changes(changes.iter().copied());
            self.apply_run(base, inc.packed_run(0, inc.len()));
        } else {
            for (key, change) in changes {
                self.apply(base, *key, change);
            }
        }
    }

    /// Merges a run of an incremental (ascending, unique keys: a commit's
    /// batch) into the entries, reading the changes packed where the
    /// incremental keeps them. Why: the merge walks the batch forwards
    /// (counting) and back (applying), so it was handed a decoded copy,
    /// a vector collected per commit; the packed pairs are already a
    /// slice, and the packed change is what `Packed::apply` takes, so
    /// nothing is decoded but a change too wide to pack.
    ///
    /// From the back: the batch's keys the delta lacks are counted first
    /// (a walk of keys only); the vector grows by that many, the entries
    /// above the batch move up as one block, and then, from the batch's
    /// last key down, each entry is written once at its final place: an
    /// old entry moved up past the new keys below it, or a changed key's
    /// new entry. The write position never falls below the read position
    /// (it is ahead by the lacking keys not yet reached), so no entry is
    /// overwritten before it is read. A change that leaves its key's
    /// backup row leaves no entry, and the slots it frees close up at the
    /// end.
    pub fn apply_run(&mut self, base: Base<'_>, run: PackedRun<'_>) {
        let changes = run.pairs();
        let Some(first) = changes.first() else { return };
        debug_assert!(changes.windows(2).all(|w| w[0].0 < w[1].0), "a run's keys ascend strictly");
        let entries = &mut self.entries;
        let old = entries.len();
        let start = entries.partition_point(|(k, _)| *k < first.0);
        // Count the batch's keys the delta has, by a merge walk of the two
        // ascending key runs in which each step's moves are computed, not
        // branched on: which side is behind is the data's coin flip, and
        // as a branch it was mispredicted about once a key.
        let (mut i, mut b, mut found) = (start, 0, 0);
        while i < old && b < changes.len() {
            let (entry, key) = (entries[i].0, changes[b].0);
            i += usize::from(entry <= key);
            b += usize::from(key <= entry);
            found += usize::from(entry == key);
        }
        let lacking = changes.len() - found;
        // The walk stops at the first entry above the batch: it ends when
        // the batch's last key is passed (the entry it stopped at is above
        // it) or the entries run out.
        let above = i;
        debug_assert!(entries[start..above].iter().all(|(k, _)| *k <= changes[changes.len() - 1].0));
        debug_assert!(entries[above..old].iter().all(|(k, _)| *k > changes[changes.len() - 1].0));
        if lacking > 0 {
            entries.resize(old + lacking, (0, Packed::new(None)));
            entries.copy_within(above..old, above + lacking);
        }
        let (mut read, mut write) = (above, above + lacking);
        let mut base_end = base.hi;
        for &(key, change) in changes.iter().rev() {
            while read > start && entries[read - 1].0 > key {
                read -= 1;
                write -= 1;
                entries[write] = entries[read];
            }
            let before = if read > start && entries[read - 1].0 == key {
                read -= 1;
                Some(entries[read].1)
            } else {
                None
            };
            base_end = base.seek_back(base_end, key);
            let (base_packed, base_at) = base.at(base_end, key);
            let unpacked = || run.change(key, change);
            if let Some(after) = after(&mut self.wide, key, before, base_packed, || base.row(base_at), change, unpacked)
            {
                write -= 1;
                entries[write] = (key, after);
            }
        }
        assert_eq!(read, start, "every entry within the batch's keys was read");
        if write > start {
            let end = entries.len();
            entries.copy_within(write..end, start);
            entries.truncate(end - (write - start));
        }
    }
}

/// `key`'s entry after `change`, given its entry before (`None`: its row
/// is the backup's) and its backup row, packed and (for a wide side)
/// unpacked, and the change packed and (for a wide side) unpacked:
/// `None` when the row is the backup's again. Applied on the packed bits
/// (`Packed::apply`, what the oracle does): nothing is unpacked and
/// packed again, and "is it the backup's row?" compares two words
/// (packing is canonical). A wide row or change takes the `Row`
/// path, keeping a wide result's row in `wide`.
///
/// The packed case is the whole of a generated workload's merge, so it
/// alone is inlined into the merge's loop; the row path is out of line
/// (inlined, its closures and map updates kept the loop's values off the
/// registers).
#[inline(always)]
fn after(
    wide: &mut BTreeMap<Key, Row>,
    key: Key,
    before: Option<Packed>,
    base: Packed,
    base_row: impl Fn() -> Option<Row>,
    change: PackedChange,
    unpacked: impl FnOnce() -> Change,
) -> Option<Packed> {
    if let Some(after) = before.unwrap_or(base).apply(change) {
        return (after != base).then_some(after);
    }
    after_wide(wide, key, before, base_row, unpacked)
}

/// [`after`] where the row before or the change is too wide to pack.
#[cold]
#[inline(never)]
fn after_wide(
    wide: &mut BTreeMap<Key, Row>,
    key: Key,
    before: Option<Packed>,
    base_row: impl Fn() -> Option<Row>,
    unpacked: impl FnOnce() -> Change,
) -> Option<Packed> {
    let change = unpacked();
    let before = match before.map(Packed::get) {
        Some(Unpacked::Wide) => Some(wide.remove(&key).expect("a wide delta entry has its row")),
        Some(Unpacked::Row(row)) => row,
        None => base_row(),
    };
    let after = change.apply(before);
    if after == base_row() {
        return None;
    }
    let packed = Packed::new(after);
    if let (true, Some(row)) = (packed.is_wide(), after) {
        wide.insert(key, row);
    }
    Some(packed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `seek_back` finds what a binary search of `lo..end` does, for every
    /// span, end and key: near `end` (the rows counted at once), further
    /// down (galloped to), between rows, past either side.
    #[test]
    fn seek_back_is_a_search_of_the_rows_below_end() {
        let backup: FullBackup = (0..40u64).map(|k| (k * 3 + 1, Row::default())).collect();
        for lo in [0, 1, 5, 39] {
            for hi in lo..=40 {
                let base = Base { backup: &backup, lo, hi };
                for end in lo..=hi {
                    for key in 0..125 {
                        let expected = lo + (lo..end).filter(|&i| backup.key_at(i) < key).count();
                        assert_eq!(base.seek_back(end, key), expected, "span {lo}..{hi}, end {end}, key {key}");
                    }
                }
            }
        }
    }
}
