//! Whether a DataShard's rows in a key range equal the oracle's, decided
//! by visiting only the keys either side changed, on packed rows.
//!
//! Why: the data checks' walks (invariants 1 and 3) compared every row of
//! a range, decoding both sides, and were the largest part of a seed's
//! checking. Both sides overlay the same shared full backup: the shard's
//! rows are its backup span plus a delta of the keys it changed
//! (`datashard::ShardRows`), the oracle's the same span plus a version per
//! key some incremental changes. A key in neither reads the same backup
//! row on both sides, so it is equal without being looked at; every other
//! key is compared as packed words (packing is canonical: equal rows pack
//! equal), unpacked only when a side is too wide to pack. The verdict is
//! exactly the full walk's; a failing check still walks in full to name
//! the first difference, so a report reads as it always did.

use crate::datashard::ShardRows;
use crate::ids::{IncrIdx, Key};
use crate::oracle::{Oracle, version_id};
use crate::packed::Packed;
use crate::shard_spans::Spans;

/// Whether `rows`' rows with `lo <= key <= hi` are the oracle's after
/// `k`, where `spans` are the shard's and `lo..=hi` lies within the
/// shard's keys. `None` when the shortcut does not apply — the rows
/// overlay another backup, or another span of it — and the caller walks.
#[cfg(test)]
pub(super) fn same_rows(
    rows: &ShardRows,
    oracle: &Oracle,
    k: IncrIdx,
    spans: Spans<'_>,
    lo: Key,
    hi: Key,
) -> Option<bool> {
    same_rows_from(rows, oracle, k, spans, lo, hi, None).map(|(same, _)| same)
}

/// Where each side's keys above a range just found equal start: the
/// index among the shard's changed keys of the first above `hi`, and the
/// shard's delta entries above `hi`.
///
/// Why: after a commit the prefix check compares the keys LastKey moved
/// over and then, right above them, the keys up to the next change
/// (`invariants/datashard.rs`, `check_prefix_range`). The second walk
/// starts where the first stopped, and each walk's start was two binary
/// searches (the shard's changed keys, its delta), about 22,000 pairs a
/// hundred ci-smoke seeds: handed over, the second walk searches nothing.
#[derive(Clone, Copy)]
pub(super) struct Above<'a> {
    /// The last key of the range compared.
    hi: Key,
    c: usize,
    delta: &'a [(Key, Packed)],
}

/// [`same_rows`], and, when the rows are equal, where the keys above `hi`
/// start ([`Above`]). `above` is such a place from a walk of the same
/// shard's rows and spans (unchanged since), used when it ends right
/// below `lo`; else each side's start is searched for.
pub(super) fn same_rows_from<'r>(
    rows: &'r ShardRows,
    oracle: &Oracle,
    k: IncrIdx,
    spans: Spans<'_>,
    lo: Key,
    hi: Key,
    above: Option<Above<'r>>,
) -> Option<(bool, Option<Above<'r>>)> {
    let (base, base_lo, base_hi) = rows.base_span();
    if !base.same(oracle.full()) || (base_lo, base_hi) != spans.full() {
        return None;
    }
    if lo > hi {
        return Some((true, None));
    }
    let (clo, chi) = spans.changed();
    let changed = &oracle.changed_keys()[clo..chi];
    // Only where each side's keys start is searched for: each walk stops
    // at its first key above `hi` instead. Most calls are the check above
    // LastKey, a key or two, where four searches (the end of each side
    // too) were a large part of the cost; that check is handed where the
    // walk below it stopped.
    let (mut c, delta) = match above.filter(|above| above.hi.checked_add(1) == Some(lo)) {
        Some(above) => (above.c, above.delta),
        None => (changed.partition_point(|x| *x < lo), rows.delta_from(lo)),
    };
    debug_assert_eq!(c, changed.partition_point(|x| *x < lo), "handed the changed keys' start");
    debug_assert_eq!(delta, rows.delta_from(lo), "handed the delta's start");
    let mut d = 0;
    let mut walk = Backup { rows, cursor: base_lo, hi: base_hi };
    // Driven by the oracle's changed keys. Most are in the shard's delta
    // too, with a packed version to compare: that case is the loop's body,
    // and the rest (a key only one side changed, a row too wide to pack)
    // is out of line, so the body keeps its values in registers (it spilt
    // them about the closures of every case).
    while let Some(&key) = changed.get(c).filter(|key| **key <= hi) {
        // The shard's own changes below it (keys no incremental changes):
        // the oracle holds the backup's rows there.
        while let Some(&(shard_key, a)) = delta.get(d).filter(|(shard_key, _)| *shard_key < key) {
            if !walk.shard_only(shard_key, a) {
                return Some((false, None));
            }
            d += 1;
        }
        let i = clo + c;
        let version = oracle.version_in_force(i, k);
        c += 1;
        let same = match (delta.get(d), version) {
            (Some(&(shard_key, a)), Some((_, e))) if shard_key == key && !a.is_wide() && !e.is_wide() => {
                d += 1;
                a == e
            }
            (Some(&(shard_key, a)), _) if shard_key == key => {
                d += 1;
                walk.both(oracle, key, a, version.map(|(incr, e)| (version_id(i, incr), e)))
            }
            // Changed by neither up to `k`: the same backup row.
            (_, None) => true,
            (_, Some((incr, e))) => walk.oracle_only(oracle, key, version_id(i, incr), e),
        };
        if !same {
            return Some((false, None));
        }
    }
    // The shard's own changes above the oracle's last in the range.
    while let Some(&(shard_key, a)) = delta.get(d).filter(|(shard_key, _)| *shard_key <= hi) {
        if !walk.shard_only(shard_key, a) {
            return Some((false, None));
        }
        d += 1;
    }
    Some((true, Some(Above { hi, c, delta: &delta[d..] })))
}

/// The shard's side of a walk where it reads the backup: its rows, and
/// where in its backup span the last key looked up was (keys come in
/// order, so each lookup gallops on from there).
struct Backup<'a> {
    rows: &'a ShardRows,
    cursor: usize,
    /// The end of the shard's backup span.
    hi: usize,
}

impl Backup<'_> {
    /// `key`'s backup row, packed, and its index if the backup has it.
    fn row(&mut self, key: Key) -> (Packed, Option<usize>) {
        let (base, _, _) = self.rows.base_span();
        self.cursor = base.seek(self.cursor, key).min(self.hi);
        if self.cursor < self.hi && base.key_at(self.cursor) == key {
            (base.packed_at(self.cursor), Some(self.cursor))
        } else {
            (Packed::new(None), None)
        }
    }

    /// The backup row at `at` (if any) unpacked, for a side too wide to pack.
    fn unpacked(&self, key: Key, at: Option<usize>) -> Option<crate::data::Row> {
        let (base, _, _) = self.rows.base_span();
        at.and_then(|i| base.get_in(i, i + 1, key))
    }

    /// A key only the shard changed: its entry `a` against the backup's row.
    #[inline(never)]
    fn shard_only(&mut self, key: Key, a: Packed) -> bool {
        let (e, at) = self.row(key);
        equal(a, e, || self.rows.delta_row(key, a), || self.unpacked(key, at))
    }

    /// A key both changed, its version in force after `k` given (`None`:
    /// the backup's row holds), where the packed words alone do not
    /// decide: a side too wide to pack, or no version.
    #[inline(never)]
    fn both(&mut self, oracle: &Oracle, key: Key, a: Packed, version: Option<(usize, Packed)>) -> bool {
        match version {
            Some((v, e)) => equal(a, e, || self.rows.delta_row(key, a), || oracle.version_row(v, e)),
            None => {
                let (e, at) = self.row(key);
                equal(a, e, || self.rows.delta_row(key, a), || self.unpacked(key, at))
            }
        }
    }

    /// A key the oracle changed up to `k` (version `v`, packed `e`) and
    /// the shard did not: the backup's row against the version.
    #[inline(never)]
    fn oracle_only(&mut self, oracle: &Oracle, key: Key, v: usize, e: Packed) -> bool {
        let (a, at) = self.row(key);
        equal(a, e, || self.unpacked(key, at), || oracle.version_row(v, e))
    }
}

/// Whether two packed rows (or absences) are the same row: their words,
/// unless one is too wide to pack, then their rows.
fn equal(
    a: Packed,
    b: Packed,
    a_row: impl FnOnce() -> Option<crate::data::Row>,
    b_row: impl FnOnce() -> Option<crate::data::Row>,
) -> bool {
    if a.is_wide() || b.is_wide() { a_row() == b_row() } else { a == b }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::{BackupChain, Cell, Change, Incremental, Row};
    use crate::full_backup::FullBackup;
    use crate::ids::TableId;
    use crate::shard_spans::ShardSpans;
    use crate::topology::Topology;
    use crate::workload::Workload;

    /// A splitmix64 stream: test data only.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) % n
        }

        /// A value, now and then one too wide to pack.
        fn value(&mut self) -> Option<u64> {
            match self.below(10) {
                0 => None,
                1 => Some(u64::MAX - self.below(3)),
                _ => Some(self.below(4)),
            }
        }

        fn change(&mut self) -> Change {
            if self.below(5) == 0 {
                return Change::Erase;
            }
            let mut cells = [Cell::Keep; 3];
            for cell in &mut cells {
                if self.below(2) == 0 {
                    *cell = Cell::Set(self.value());
                }
            }
            Change::Upsert { cells }
        }
    }

    /// The packed comparison gives the full walk's verdict, for random
    /// tables (small values, so rows often coincide; wide ones too), every
    /// prefix of the chain, shard rows that are the oracle's or a few
    /// changes off it, and many ranges of each shard.
    #[test]
    fn the_verdict_is_the_full_walks() {
        let mut rng = Rng(7);
        let (mut equal, mut differ) = (0, 0);
        for round in 0..40 {
            let key_space = 20 + rng.below(300);
            let shards = 1 + rng.below(6) as u32;
            let topology = Topology::uniform(&[("t".into(), shards)], key_space);
            let full: FullBackup = (0..rng.below(key_space))
                .map(|_| (rng.below(key_space), Row { cols: [rng.value(), rng.value(), rng.value()] }))
                .collect();
            let incrementals: Vec<Incremental> = (0..1 + rng.below(3))
                .map(|_| {
                    let n = rng.below(key_space);
                    let changes: Vec<(u64, Change)> = (0..n).map(|_| (rng.below(key_space), rng.change())).collect();
                    Incremental::from_changes(changes)
                })
                .collect();
            let chain = BackupChain { full, incrementals };
            let workload = Arc::new(Workload { topology, backups: vec![chain], ..Workload::default() });
            let oracle = Oracle::new(Arc::clone(&workload), TableId(0));
            let index = ShardSpans::new(Arc::clone(&workload), std::slice::from_ref(&oracle));
            let chain = workload.chain(TableId(0));
            for spec in &workload.topology.shards {
                let spans = index.of(spec).expect("indexed");
                for k in 0..=chain.len() {
                    let k = IncrIdx(k);
                    // The oracle's rows after `k` ...
                    let mut rows = ShardRows::over(chain.full.clone(), spec.start, spec.end);
                    for inc in chain.incrementals.iter().take(k.0 as usize) {
                        rows.apply_all(&inc.range_after(spec.start, spec.end, None, usize::MAX).to_vec());
                    }
                    // ... now and then a few changes off.
                    for _ in 0..rng.below(3) {
                        let span = spec.end.min(key_space + 5) - spec.start;
                        rows.apply(spec.start + rng.below(span), &rng.change());
                    }
                    for _ in 0..8 {
                        let top = spec.end.min(key_space + 5);
                        let lo = spec.start + rng.below(top - spec.start);
                        let hi = lo + rng.below(top - lo);
                        let walk = rows.range(lo..=hi).eq(oracle.rows_after(k, lo..=hi));
                        let fast = same_rows(&rows, &oracle, k, spans, lo, hi);
                        assert_eq!(fast, Some(walk), "round {round} {spec:?} k {} [{lo}, {hi}]", k.0);
                        if walk {
                            equal += 1
                        } else {
                            differ += 1
                        }
                        // The range right above, at any prefix, started
                        // where this walk stopped: the same verdict.
                        let Some((true, above)) = same_rows_from(&rows, &oracle, k, spans, lo, hi, None) else {
                            continue;
                        };
                        if hi + 1 < top {
                            let next = hi + 1 + rng.below(top - hi - 1);
                            let j = IncrIdx(rng.below(u64::from(chain.len()) + 1) as u32);
                            let walk = rows.range(hi + 1..=next).eq(oracle.rows_after(j, hi + 1..=next));
                            let resumed = same_rows_from(&rows, &oracle, j, spans, hi + 1, next, above);
                            assert_eq!(resumed.map(|(same, _)| same), Some(walk), "above [{lo}, {hi}] to {next}");
                        }
                    }
                }
            }
        }
        assert!(equal > 200 && differ > 200, "both verdicts are exercised: {equal} equal, {differ} differ");
        // Rows over another copy of the backup are not compared so.
        let other = ShardRows::over(FullBackup::from_sorted([(1, Row::default())]), 0, 10);
        let workload = Arc::new(Workload {
            topology: Topology::uniform(&[("t".into(), 1)], 10),
            backups: vec![BackupChain { full: FullBackup::from_sorted([(1, Row::default())]), incrementals: vec![] }],
            ..Workload::default()
        });
        let oracle = Oracle::new(Arc::clone(&workload), TableId(0));
        let index = ShardSpans::new(Arc::clone(&workload), std::slice::from_ref(&oracle));
        let spans = index.of(&workload.topology.shards[0]).expect("indexed");
        assert_eq!(same_rows(&other, &oracle, IncrIdx(0), spans, 0, 5), None);
    }
}
