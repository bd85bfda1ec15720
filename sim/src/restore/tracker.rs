//! The true durable progress of every operation, computed from the
//! DataShards' own databases with the percent formula of
//! `restoresim_model::progress`, updated in O(1) per commit.
//! Feeds invariant 8 (reported ≤ durable) and the run plot.
//!
//! Layout: per operation only its sum and its points; nothing per shard.
//! A shard's own percent is summed from the committing DataShard's
//! progress records (its database, which the commit has just written, so
//! they are in the caches), not kept in a vector by shard: at a million
//! shards that vector was 8 MB read at a random index per DataShard
//! commit — a cache miss, and past the huge pages' reach a TLB miss, on
//! every commit, in the random order the shards commit in.

use std::collections::BTreeMap;

use restoresim_model::datashard::{DataShardDb, IncrementalProgress};
use restoresim_model::ids::{IncrIdx, Micros, OperationId, ShardIdx};
use restoresim_model::progress::{FULL_BP, shard_bp};
use restoresim_model::schemeshard::OperationRow;
use restoresim_model::workload::Workload;

/// A durable percent at a time: `at << BP_BITS | basis points` in one
/// word. The tracker keeps a point per DataShard commit, for the op and for
/// the shard (~10 a shard at the scale shape), so a million shards' points
/// were ~440 bytes a shard as `(u64, u64)` pairs; packed, half that.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShardPoint(u64);

/// Basis points are at most `FULL_BP` (10,000 < 2^14); times are below
/// 2^50 µs (35 years: every scenario duration is at most 365 days).
const BP_BITS: u32 = 14;

impl ShardPoint {
    pub fn new(at: Micros, bp: u64) -> ShardPoint {
        assert!(bp <= FULL_BP && at >> (64 - BP_BITS) == 0, "a point ({at} µs, {bp} bp) out of range");
        ShardPoint(at << BP_BITS | bp)
    }

    pub fn at(self) -> Micros {
        self.0 >> BP_BITS
    }

    pub fn bp(self) -> u64 {
        self.0 & ((1 << BP_BITS) - 1)
    }
}

impl std::fmt::Debug for ShardPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.at(), self.bp())
    }
}

#[derive(Debug)]
struct OpTrack {
    incrementals: u32,
    /// The operation's table's shards.
    shards: u32,
    /// Σ over shards and incrementals of their basis points (not divided,
    /// so the sum matches SchemeShard's formula exactly, with no rounding).
    sum_raw: u64,
    points: Vec<ShardPoint>,
}

impl OpTrack {
    fn percent_bp(&self) -> u64 {
        let total = u64::from(self.incrementals) * u64::from(self.shards);
        self.sum_raw.checked_div(total).unwrap_or(FULL_BP)
    }
}

/// A progress record's basis points (`None`: no record yet, 0).
fn record_bp(p: Option<IncrementalProgress>) -> u64 {
    p.map_or(0, |p| shard_bp(p.done, p.rows_applied, p.rows_total))
}

pub struct DurableTracker {
    ops: BTreeMap<OperationId, OpTrack>,
    /// Per table, its shard count.
    table_shards: Vec<u32>,
    /// Every global shard's progress points for the op touching it, each
    /// with its shard, in the order they were made: one vector, not one
    /// per shard. At 100,000 shards the per-shard vectors were 100,000
    /// small allocations, each grown as its points came, and a commit's
    /// point touched the shard's vector header and buffer (two more cache
    /// misses); the series are grouped by shard once, for the plot
    /// ([`DurableTracker::shard_series`]). Shards and points in two
    /// parallel vectors: 12 bytes a point, not a 16-byte padded pair
    /// (~10 points a shard: 40 MB less at a million shards).
    point_shards: Vec<u32>,
    shard_points: Vec<ShardPoint>,
    shards: usize,
}

/// Every shard's points, grouped by shard (in the order they were made).
pub struct GroupedPoints {
    /// `points[starts[s]..starts[s + 1]]` are shard `s`'s.
    starts: Vec<usize>,
    points: Vec<ShardPoint>,
}

impl GroupedPoints {
    /// Shard after shard, from shard 0: its points (none for a shard no
    /// commit moved).
    pub fn iter(&self) -> impl Iterator<Item = &[ShardPoint]> {
        self.starts.windows(2).map(|w| &self.points[w[0]..w[1]])
    }
}

/// As the per-shard vectors printed (explore's fingerprint reads it): the
/// same text for the same per-shard series, whatever order shards made
/// their points in.
impl std::fmt::Debug for DurableTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Series<'a>(&'a GroupedPoints);
        impl std::fmt::Debug for Series<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list().entries(self.0.iter()).finish()
            }
        }
        f.debug_struct("DurableTracker")
            .field("ops", &self.ops)
            .field("table_shards", &self.table_shards)
            .field("shard_points", &Series(&self.shard_series()))
            .finish()
    }
}

impl DurableTracker {
    pub fn new(workload: &Workload) -> DurableTracker {
        DurableTracker {
            ops: BTreeMap::new(),
            table_shards: workload.topology.tables.iter().map(|t| t.shards.len() as u32).collect(),
            point_shards: Vec::new(),
            shard_points: Vec::new(),
            shards: workload.topology.shards.len(),
        }
    }

    /// Every shard's points, grouped by shard: a counting sort of the
    /// points made, O(points + shards). The run plot asks for it at the
    /// end of a run, with all of the run's state still held (at its peak
    /// memory), so it sorts with no cursor array beside `starts`: each
    /// shard's end is counted, then the points are placed from the back,
    /// each shard's end stepping down to its start.
    pub fn shard_series(&self) -> GroupedPoints {
        let mut starts = vec![0usize; self.shards + 1];
        for shard in &self.point_shards {
            starts[*shard as usize + 1] += 1;
        }
        for s in 0..self.shards {
            starts[s + 1] += starts[s];
        }
        let mut points = vec![ShardPoint(0); self.shard_points.len()];
        for (shard, point) in self.point_shards.iter().zip(&self.shard_points).rev() {
            let end = &mut starts[*shard as usize + 1];
            *end -= 1;
            points[*end] = *point;
        }
        // `starts[s + 1]` is now shard `s`'s start: shift down one, and
        // close with the end of the last shard.
        starts.remove(0);
        starts.push(points.len());
        GroupedPoints { starts, points }
    }

    /// The time of the last point any shard made.
    pub fn last_shard_point_at(&self) -> Option<Micros> {
        self.shard_points.iter().map(|p| p.at()).max()
    }

    /// A new operation's record became durable.
    pub fn on_operation(&mut self, op: OperationId, row: &OperationRow) {
        let shards = self.table_shards[row.table.0 as usize];
        let incrementals = row.backups.len() as u32;
        self.ops.entry(op).or_insert(OpTrack { incrementals, shards, sum_raw: 0, points: vec![] });
    }

    /// A commit of `shard` replaced `before` with `after`, the record of
    /// one incremental of `op`, and `db` is the shard's database with the
    /// commit applied: the operation's sum changes by that record's basis
    /// points alone, so this is O(1), not a pass over every shard. Exact
    /// because every record of `op` is written by a commit that comes here
    /// after `op`'s own record is durable (the SchemeShard makes it durable
    /// before any DataShard hears of `op`). The shard's own percent, for
    /// its point, is the sum of its records of `op` in `db` (one or two at
    /// hand, not a per-shard vector: see the module's doc).
    pub fn on_datashard_commit(
        &mut self,
        now: Micros,
        shard: ShardIdx,
        op: OperationId,
        before: Option<IncrementalProgress>,
        after: IncrementalProgress,
        db: &DataShardDb,
    ) {
        let Some(track) = self.ops.get_mut(&op) else { return };
        let (old_bp, new_bp) = (record_bp(before), record_bp(Some(after)));
        if old_bp == new_bp {
            return;
        }
        track.sum_raw = (track.sum_raw + new_bp)
            .checked_sub(old_bp)
            .expect("a progress record of an operation is written only after the operation's own record is durable");
        let pct = track.percent_bp();
        track.points.push(ShardPoint::new(now, pct));
        let raw: u64 =
            db.restores.range((op, IncrIdx(0))..=(op, IncrIdx(u32::MAX))).map(|(_, p)| record_bp(Some(*p))).sum();
        let point = ShardPoint::new(now, raw / u64::from(track.incrementals.max(1)));
        self.point_shards.push(shard.0);
        self.shard_points.push(point);
    }

    /// True durable percent of `op` in basis points.
    pub fn op_percent_bp(&self, op: OperationId) -> Option<u64> {
        self.ops.get(&op).map(OpTrack::percent_bp)
    }

    pub fn op_points(&self) -> impl Iterator<Item = (OperationId, &[ShardPoint])> {
        self.ops.iter().map(|(op, t)| (*op, t.points.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tracker of four shards with no operation and no point yet.
    fn four_shards() -> DurableTracker {
        DurableTracker {
            ops: BTreeMap::new(),
            table_shards: Vec::new(),
            point_shards: Vec::new(),
            shard_points: Vec::new(),
            shards: 4,
        }
    }

    /// Points grouped by shard come in the order each shard made them,
    /// every shard present (empty when it made none), and print as the
    /// per-shard vectors did.
    #[test]
    fn series_are_grouped_by_shard_in_order() {
        let mut t = four_shards();
        for (shard, at) in [(2, 1), (0, 2), (2, 3), (3, 4), (0, 5), (2, 6)] {
            t.point_shards.push(shard);
            t.shard_points.push(ShardPoint::new(at, at * 10));
        }
        let series: Vec<Vec<Micros>> = t.shard_series().iter().map(|s| s.iter().map(|p| p.at()).collect()).collect();
        assert_eq!(series, vec![vec![2, 5], vec![], vec![1, 3, 6], vec![4]]);
        assert_eq!(t.last_shard_point_at(), Some(6));
        let old: Vec<Vec<ShardPoint>> = t.shard_series().iter().map(<[ShardPoint]>::to_vec).collect();
        let text = format!("{t:?}");
        assert!(text.ends_with(&format!("shard_points: {old:?} }}")), "{text}");
    }

    /// A commit's shard point is the shard's percent over all its records
    /// of the operation in its database (here: incremental 1 Done, then
    /// half of incremental 2), and the operation's percent moves by the
    /// committed record's change alone; a commit that moves no basis
    /// point makes no point.
    #[test]
    fn a_commit_moves_its_shard_by_the_records_in_its_database() {
        let op = OperationId(1);
        let mut t = four_shards();
        t.ops.insert(op, OpTrack { incrementals: 2, shards: 4, sum_raw: 0, points: Vec::new() });
        let mut db = DataShardDb::default();
        let record =
            |done, rows_applied| IncrementalProgress { done, rows_applied, rows_total: 10, ..Default::default() };
        let commit = |t: &mut DurableTracker, db: &mut DataShardDb, at, incr, after: IncrementalProgress| {
            let before = db.progress(op, IncrIdx(incr)).copied();
            db.restores.insert((op, IncrIdx(incr)), after);
            t.on_datashard_commit(at, ShardIdx(2), op, before, after, db);
        };
        commit(&mut t, &mut db, 1, 1, record(false, 0));
        assert!(t.shard_points.is_empty(), "0 bp to 0 bp is no point");
        commit(&mut t, &mut db, 2, 1, record(true, 10));
        commit(&mut t, &mut db, 3, 2, record(false, 5));
        let bps: Vec<u64> = t.shard_points.iter().map(|p| p.bp()).collect();
        assert_eq!(bps, [5_000, 7_500], "(10,000 + 0) / 2, then (10,000 + 5,000) / 2");
        assert_eq!(t.point_shards, [2, 2]);
        // 15,000 of 4 shards x 2 incrementals x 10,000.
        assert_eq!(t.op_percent_bp(op), Some(1_875));
    }

    /// A point packs its time and percent losslessly over their whole ranges.
    #[test]
    fn a_point_keeps_its_time_and_percent() {
        let year_us = 366 * 24 * 3_600 * 1_000_000;
        for (at, bp) in [(0, 0), (1, FULL_BP), (year_us, 1), (year_us * 30, 9_999)] {
            let p = ShardPoint::new(at, bp);
            assert_eq!((p.at(), p.bp()), (at, bp));
        }
    }
}
