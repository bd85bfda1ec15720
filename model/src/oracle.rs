//! The oracle (docs/design.md §3): what the table must hold, computed from the
//! backups alone, without the protocol. Every safety check of data compares
//! against it.
//!
//! Representation: the full backup is shared with the workload (never
//! copied), and every key some incremental changes has a version list
//! `[(k, row after incremental k)]`. "Key at incremental k" is then a binary
//! search in the changed keys and in the key's few versions, and a range is
//! a merge walk of the full backup's range with the changed keys in it:
//! O(log n + range). The earlier form kept the whole table after every
//! incremental, K + 1 copies, which was 64 % of a 100,000-shard run's memory.

use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use crate::data::{BackupChain, Row};
use crate::full_backup::FullBackup;
use crate::ids::{IncrIdx, Key, TableId};
use crate::packed::{Packed, Unpacked};
use crate::shard_spans::Spans;
use crate::workload::Workload;

/// `fold(full, inc_1..inc_k)`: the whole table after incrementals `1..=k`.
pub fn fold(chain: &BackupChain, k: IncrIdx) -> BTreeMap<Key, Row> {
    let mut rows: BTreeMap<Key, Row> = chain.full.iter().collect();
    for inc in chain.incrementals.iter().take(k.0 as usize) {
        for (key, change) in inc.changes() {
            crate::data::apply_change(&mut rows, key, &change);
        }
    }
    rows
}

/// `fold` restricted to the keys `[start, end)`: what one shard must hold
/// after incrementals `1..=k`. O(changes in range), not O(table).
pub fn fold_range(chain: &BackupChain, start: Key, end: Key, k: IncrIdx) -> BTreeMap<Key, Row> {
    let mut rows: BTreeMap<Key, Row> = chain.full.range(start..end).collect();
    for inc in chain.incrementals.iter().take(k.0 as usize) {
        for (key, change) in inc.range_after(start, end, None, usize::MAX) {
            crate::data::apply_change(&mut rows, key, &change);
        }
    }
    rows
}

/// One key's expected row after incrementals `1..=k`: O(k log n), no fold of
/// the whole table, so per-commit checks stay proportional to the commit.
pub fn row_after(chain: &BackupChain, key: Key, k: IncrIdx) -> Option<Row> {
    let mut row = chain.full.get(key);
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

/// What one table must hold after each prefix of its chain, answered per
/// key in O(log n) and per range in O(log n + range), from the full backup
/// (shared with the workload) plus one version per changed key and
/// incremental. Memory: the changes, not (K + 1) copies of the table; a
/// changed key is 24 bytes with its first version, a later version 16.
///
/// Layout: a compared key is found in `changed` (which a walk or a search
/// has in cache already) and then costs one more cache line, its
/// [`FirstVersion`] at the same index, when one incremental changes it —
/// most keys. The versions were four parallel vectors (keys, starts,
/// incrementals, rows), up to four misses a key at scale.
#[derive(Clone, Debug)]
pub struct Oracle {
    workload: Arc<Workload>,
    table: TableId,
    /// Every key some incremental changes, sorted, unique.
    changed: Vec<Key>,
    /// Per changed key (same index): its first version, and where its
    /// later ones are.
    first: Vec<FirstVersion>,
    /// The versions after a key's first, each key's together, ascending by
    /// incremental.
    later: Vec<Version>,
    /// The versions too wide to pack, by `version_id` (none in generated
    /// workloads).
    wide: BTreeMap<usize, Row>,
}

/// A changed key's first version and the place of its later ones: one
/// 16-byte record, so a key changed once is answered from one cache line.
#[derive(Clone, Copy, Debug)]
struct FirstVersion {
    /// The key's row after incremental `incr`, packed.
    row: Packed,
    /// `later[start..start + count - 1]` are the key's later versions.
    start: u32,
    /// The incremental `k` (1-based) that made this version.
    incr: u16,
    /// The key's versions, this one included.
    count: u16,
}

/// A later version: the key's row after incremental `incr`, packed.
#[derive(Clone, Copy, Debug)]
struct Version {
    row: Packed,
    incr: u16,
}

/// A version's identity, for the side map of wide rows: the changed key's
/// index and the incremental that made it.
pub(crate) fn version_id(i: usize, incr: u16) -> usize {
    i << 16 | usize::from(incr)
}

impl Oracle {
    /// An oracle over one chain, for tests that build a chain by hand.
    pub fn for_chain(chain: BackupChain) -> Oracle {
        let workload = Workload { backups: vec![chain], ..Workload::default() };
        Oracle::new(Arc::new(workload), TableId(0))
    }

    /// The full backup the versions are on (shared with the workload).
    pub(crate) fn full(&self) -> &FullBackup {
        &self.workload.chain(self.table).full
    }

    /// Every key some incremental changes, sorted: the vector
    /// [`crate::shard_spans::ShardSpans`] indexes per shard.
    pub fn changed_keys(&self) -> &[Key] {
        &self.changed
    }

    /// Where `changed[lo..hi]` and their first versions lie, as addresses
    /// and lengths, not read: the engine's prefetch pipeline hints them
    /// ahead of a commit's checks (`crate::prefetch`).
    #[inline]
    pub(crate) fn changed_addrs(&self, lo: usize, hi: usize) -> [(*const u8, usize); 2] {
        let n = hi.saturating_sub(lo);
        [
            (self.changed.as_ptr().wrapping_add(lo).cast(), n * std::mem::size_of::<Key>()),
            (self.first.as_ptr().wrapping_add(lo).cast(), n * std::mem::size_of::<FirstVersion>()),
        ]
    }

    /// The version of `changed[i]` in force after incremental `k`, as its
    /// index and packed row: `None` when no incremental `1..=k` changes it
    /// (the full backup holds).
    /// The version is named by an id for [`Oracle::version_row`].
    ///
    /// Versions ascend by incremental, so a key whose first version is
    /// after `k` has none in force, and a key changed once (most) is
    /// answered from its first version alone, before any look at the
    /// later ones: the checks' walks call this for every changed key they
    /// pass.
    #[inline(always)]
    pub(crate) fn version_packed(&self, i: usize, k: IncrIdx) -> Option<(usize, Packed)> {
        self.version_in_force(i, k).map(|(incr, row)| (version_id(i, incr), row))
    }

    /// [`Oracle::version_packed`] with the version's incremental in place
    /// of its id: what a walk that compares packed words needs, returned
    /// in two registers, the id (for a row too wide to pack) made only by
    /// the caller that needs it.
    #[inline(always)]
    pub(crate) fn version_in_force(&self, i: usize, k: IncrIdx) -> Option<(u16, Packed)> {
        let first = self.first[i];
        if u32::from(first.incr) > k.0 {
            return None;
        }
        if first.count > 1 {
            let from = first.start as usize;
            let later = &self.later[from..from + usize::from(first.count) - 1];
            // A key has one version per incremental that changes it,
            // usually one or two: a scan from the newest beats a binary
            // search there, and a long chain's keys keep the O(log) search.
            let n = if later.len() <= 8 {
                later.iter().rposition(|v| u32::from(v.incr) <= k.0).map(|n| n + 1)
            } else {
                Some(later.partition_point(|v| u32::from(v.incr) <= k.0)).filter(|n| *n > 0)
            };
            if let Some(n) = n {
                let v = later[n - 1];
                return Some((v.incr, v.row));
            }
        }
        (u32::from(first.incr) <= k.0).then_some((first.incr, first.row))
    }

    /// Version `v`'s row, given its packed form.
    pub(crate) fn version_row(&self, v: usize, packed: Packed) -> Option<Row> {
        match packed.get() {
            Unpacked::Row(row) => row,
            Unpacked::Wide => Some(self.wide[&v]),
        }
    }

    /// The version of `changed[i]` in force after incremental `k`: `None`
    /// when no incremental `1..=k` changes it (the full backup holds).
    fn version(&self, i: usize, k: IncrIdx) -> Option<Option<Row>> {
        self.version_packed(i, k).map(|(v, packed)| self.version_row(v, packed))
    }

    /// One key's row after incrementals `1..=k`.
    pub fn row_after(&self, key: Key, k: IncrIdx) -> Option<Row> {
        self.row_after_in(None, key, k)
    }

    /// [`Oracle::row_after`] of a key of the shard whose spans are given
    /// (the key must be the shard's): searched within them, not over the
    /// whole table.
    pub fn row_after_in(&self, spans: Option<Spans<'_>>, key: Key, k: IncrIdx) -> Option<Row> {
        let ((clo, chi), (flo, fhi)) =
            spans.map_or(((0, self.changed.len()), (0, self.full().len())), |s| (s.changed(), s.full()));
        let version = self.changed[clo..chi].binary_search(&key).ok().and_then(|i| self.version(clo + i, k));
        version.unwrap_or_else(|| self.full().get_in(flo, fhi, key))
    }

    /// Same as [`row_in_prefix`], in O(log n).
    pub fn row_in_prefix(&self, key: Key, i: IncrIdx, last_key: Option<Key>) -> Option<Row> {
        self.row_in_prefix_in(None, key, i, last_key)
    }

    /// [`Oracle::row_in_prefix`] of a key of the shard whose spans are given.
    pub fn row_in_prefix_in(
        &self,
        spans: Option<Spans<'_>>,
        key: Key,
        i: IncrIdx,
        last_key: Option<Key>,
    ) -> Option<Row> {
        let applied_i = last_key.is_some_and(|last| key <= last);
        let k = if applied_i { i } else { IncrIdx(i.0 - 1) };
        self.row_after_in(spans, key, k)
    }

    /// The rows with keys in `range` after incrementals `1..=k`, in key
    /// order: a merge walk of the full backup with the changed keys.
    pub fn rows_after(&self, k: IncrIdx, range: impl RangeBounds<Key>) -> RowsAfter<'_> {
        self.rows_after_in(None, k, range)
    }

    /// [`Oracle::rows_after`] of a range within the shard whose spans are
    /// given (`crate::shard_spans`): where the walk starts is searched for
    /// within the shard's rows and changed keys only. The range must lie
    /// within the shard's keys: the walk sees no row outside its spans.
    pub fn rows_after_in(&self, spans: Option<Spans<'_>>, k: IncrIdx, range: impl RangeBounds<Key>) -> RowsAfter<'_> {
        let (lo, hi) = (range.start_bound().cloned(), range.end_bound().cloned());
        let ((clo, chi), (flo, fhi)) =
            spans.map_or(((0, self.changed.len()), (0, self.full().len())), |s| (s.changed(), s.full()));
        let changed = &self.changed[clo..chi];
        let from = match lo {
            Bound::Included(s) => changed.partition_point(|c| *c < s),
            Bound::Excluded(s) => changed.partition_point(|c| *c <= s),
            Bound::Unbounded => 0,
        };
        let to = match hi {
            Bound::Included(e) => changed.partition_point(|c| *c <= e),
            Bound::Excluded(e) => changed.partition_point(|c| *c < e),
            Bound::Unbounded => changed.len(),
        };
        // An empty or inverted range gives nothing (`FullBackup::span`
        // never panics).
        let (full, full_end) = self.full().span_in(flo, fhi, (lo, hi));
        RowsAfter { oracle: self, backup: self.full(), k, full, full_end, next: clo + from, end: clo + to.max(from) }
    }
}

/// The iterator of [`Oracle::rows_after`].
#[derive(Clone, Debug)]
pub struct RowsAfter<'a> {
    oracle: &'a Oracle,
    /// The oracle's full backup, looked up once, not per step.
    backup: &'a FullBackup,
    k: IncrIdx,
    /// The next full backup row's index, and the end of the range's rows:
    /// indices rather than an iterator, so a row a changed key overrides is
    /// stepped over without unpacking it.
    full: usize,
    full_end: usize,
    /// The next changed key's index, and the end of the range's changed keys.
    next: usize,
    end: usize,
}

impl Iterator for RowsAfter<'_> {
    type Item = (Key, Row);

    fn next(&mut self) -> Option<(Key, Row)> {
        loop {
            let full = (self.full < self.full_end).then(|| self.backup.key_at(self.full));
            if self.next >= self.end {
                // No changed key left: the backup's rows as they are.
                full?;
                self.full += 1;
                return Some(self.backup.row_at(self.full - 1));
            }
            let c = self.oracle.changed[self.next];
            if let Some(f) = full.filter(|f| *f < c) {
                self.full += 1;
                return Some((f, self.backup.row_at(self.full - 1).1));
            }
            let version = self.oracle.version_packed(self.next, self.k);
            self.next += 1;
            let row = match version {
                Some((v, packed)) => self.oracle.version_row(v, packed),
                // No incremental up to `k` changed the key: the backup's
                // row, if it has one.
                None => (full == Some(c)).then(|| self.backup.row_at(self.full).1),
            };
            if full == Some(c) {
                self.full += 1;
            }
            if let Some(row) = row {
                return Some((c, row));
            }
        }
    }
}

mod build;
#[cfg(test)]
mod tests;
