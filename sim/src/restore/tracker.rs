//! The true durable progress of every operation, computed from the
//! DataShards' own databases with the percent formula of
//! `restoresim_model::progress`, updated in O(1) per commit.
//! Feeds invariant 8 (reported ≤ durable) and the run plot.

use std::collections::BTreeMap;

use restoresim_model::datashard::IncrementalProgress;
use restoresim_model::ids::{Micros, OperationId};
use restoresim_model::progress::{FULL_BP, shard_bp};
use restoresim_model::schemeshard::OperationRow;
use restoresim_model::topology::ShardSpec;
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
    first_shard: u32,
    incrementals: u32,
    /// Per shard: Σ over incrementals of its basis points (not divided, so
    /// the sum matches SchemeShard's formula exactly, with no rounding).
    shard_raw: Vec<u64>,
    sum_raw: u64,
    points: Vec<ShardPoint>,
}

impl OpTrack {
    fn percent_bp(&self) -> u64 {
        let total = u64::from(self.incrementals) * self.shard_raw.len() as u64;
        self.sum_raw.checked_div(total).unwrap_or(FULL_BP)
    }
}

pub struct DurableTracker {
    ops: BTreeMap<OperationId, OpTrack>,
    table_first_shard: Vec<(u32, usize)>,
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
            .field("table_first_shard", &self.table_first_shard)
            .field("shard_points", &Series(&self.shard_series()))
            .finish()
    }
}

impl DurableTracker {
    pub fn new(workload: &Workload) -> DurableTracker {
        DurableTracker {
            ops: BTreeMap::new(),
            table_first_shard: workload.topology.tables.iter().map(|t| (t.shards[0].0, t.shards.len())).collect(),
            point_shards: Vec::new(),
            shard_points: Vec::new(),
            shards: workload.topology.shards.len(),
        }
    }

    /// Every shard's points, grouped by shard: a counting sort of the
    /// points made, O(points + shards).
    pub fn shard_series(&self) -> GroupedPoints {
        let mut starts = vec![0usize; self.shards + 1];
        for shard in &self.point_shards {
            starts[*shard as usize + 1] += 1;
        }
        for s in 0..self.shards {
            starts[s + 1] += starts[s];
        }
        let mut next = starts.clone();
        let mut points = vec![ShardPoint(0); self.shard_points.len()];
        for (shard, point) in self.point_shards.iter().zip(&self.shard_points) {
            let slot = &mut next[*shard as usize];
            points[*slot] = *point;
            *slot += 1;
        }
        GroupedPoints { starts, points }
    }

    /// The time of the last point any shard made.
    pub fn last_shard_point_at(&self) -> Option<Micros> {
        self.shard_points.iter().map(|p| p.at()).max()
    }

    /// A new operation's record became durable.
    pub fn on_operation(&mut self, op: OperationId, row: &OperationRow) {
        let (first_shard, shards) = self.table_first_shard[row.table.0 as usize];
        self.ops.entry(op).or_insert(OpTrack {
            first_shard,
            incrementals: row.backups.len() as u32,
            shard_raw: vec![0; shards],
            sum_raw: 0,
            points: vec![],
        });
    }

    /// A commit replaced `before` with `after`, the record of one
    /// incremental of `op`: the shard's sum changes by that record's basis
    /// points alone, so this is O(1), not a pass over every incremental.
    /// Exact because every record of `op` is written by a commit that comes
    /// here after `op`'s own record is durable (the SchemeShard makes it
    /// durable before any DataShard hears of `op`).
    pub fn on_datashard_commit(
        &mut self,
        now: Micros,
        spec: &ShardSpec,
        op: OperationId,
        before: Option<IncrementalProgress>,
        after: IncrementalProgress,
    ) {
        let Some(track) = self.ops.get_mut(&op) else { return };
        let bp = |p: Option<IncrementalProgress>| p.map_or(0, |p| shard_bp(p.done, p.rows_applied, p.rows_total));
        let pos = (spec.idx.0 - track.first_shard) as usize;
        let raw = (track.shard_raw[pos] + bp(Some(after)))
            .checked_sub(bp(before))
            .expect("a progress record of an operation is written only after the operation's own record is durable");
        let old = std::mem::replace(&mut track.shard_raw[pos], raw);
        if old == raw {
            return;
        }
        track.sum_raw = track.sum_raw - old + raw;
        let pct = track.percent_bp();
        track.points.push(ShardPoint::new(now, pct));
        let point = ShardPoint::new(now, raw / u64::from(track.incrementals.max(1)));
        self.point_shards.push(spec.idx.0);
        self.shard_points.push(point);
    }

    /// The address of `shard`'s progress sum in the first operation that
    /// tracks it, not read (the engine's prefetch pipeline hints it: a
    /// commit's point reads it at a random index).
    #[inline]
    pub(super) fn shard_addr(&self, shard: u32) -> Option<*const u8> {
        self.ops.values().find_map(|track| {
            let pos = shard.checked_sub(track.first_shard)? as usize;
            (pos < track.shard_raw.len()).then(|| track.shard_raw.as_ptr().wrapping_add(pos).cast())
        })
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

    /// Points grouped by shard come in the order each shard made them,
    /// every shard present (empty when it made none), and print as the
    /// per-shard vectors did.
    #[test]
    fn series_are_grouped_by_shard_in_order() {
        let mut t = DurableTracker {
            ops: BTreeMap::new(),
            table_first_shard: Vec::new(),
            point_shards: Vec::new(),
            shard_points: Vec::new(),
            shards: 4,
        };
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
