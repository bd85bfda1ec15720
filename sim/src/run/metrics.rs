//! What a run measured, for capacity studies: plain counters the harness
//! collects while it steps the engine (events it sees, notes the models
//! write, commits the adapter applies), never anything that changes what
//! the models do, so collecting them cannot move a trace hash. All of it is
//! virtual: the wall clock stays in the CLI.

use std::collections::BTreeMap;

use restoresim_model::client::Client;
use restoresim_model::ids::{IncrIdx, OperationId};
use restoresim_model::msg::Actor;
use restoresim_model::note::Note;
use restoresim_model::progress::{FinalStatus, OpState};
use serde::{Deserialize, Serialize};

use restoresim_model::workload::Workload;

use crate::engine::{EngineStats, EventKind, Micros, Step};
use crate::restore::{DurableTracker, actor_of};

use super::progress_shape;

/// One run's numbers. Every field is determined by scenario and seed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunMetrics {
    /// Messages handed to the network, and those lost (random loss and partitions).
    pub messages_sent: u64,
    pub messages_lost: u64,
    /// Commits completed, per tablet kind.
    pub commits_schemeshard: u64,
    pub commits_datashard: u64,
    pub commits_txallocator: u64,
    /// Requests the coordinator sent again to a shard within a stage (a new
    /// round after a timeout, a pipe reset or a shard retry); the fresh
    /// requests of a stage retry are not re-sends.
    pub requests_resent: u64,
    /// Times the coordinator went back to Allocating for the incremental it
    /// was already on (a stage-scope retry).
    pub stage_retries: u64,
    /// Retries after a backoff, of a stage or of one shard.
    pub backoff_retries: u64,
    /// Pipe-reset notifications delivered.
    pub pipe_resets: u64,
    /// Changes DataShards durably applied, and of those the ones at keys the
    /// shard had already durably applied for that incremental (wasted work
    /// after a restart or a rescan).
    pub rows_applied: u64,
    pub rows_reapplied: u64,
    /// Restores that ended Failed because a deadline passed, and for another reason.
    pub failed_by_deadline: u64,
    pub failed_other: u64,
    /// Largest gap between the durable percent and what the Client last saw
    /// (basis points: 100 = one percent point), over the whole run.
    pub progress_lag_bp: u64,
    /// Longest time from a durable percent being reached to the Client
    /// seeing at least that much.
    pub progress_lag_us: u64,
    /// Virtual time of the first `GetProgress` answer above 0 %; `None` if none was.
    pub first_progress_us: Option<u64>,
    /// How reported progress behaved (`progress_shape.rs`): answers lower
    /// than the one before, the largest such drop, time the last answer said
    /// 99 %, the longest time without a new high, and time stuck before a
    /// deadline failed a restore.
    pub progress_drops: u64,
    pub progress_drop_max_bp: u64,
    pub time_at_99_us: u64,
    pub progress_stall_us: u64,
    pub hang_until_deadline_us: u64,
    /// Changes the restores that ended Done had to apply at least once (their
    /// incrementals' sizes), and the changes the DataShards handled: applied,
    /// or (YDB's receivers) dropped as already applied. What is handled
    /// beyond the needed ones is work done again, however a flavour repeats it.
    pub rows_needed: u64,
    pub rows_handled: u64,
}

/// Counts what the run loop sees, event by event.
#[derive(Debug, Default)]
pub struct Counters {
    pipe_resets: u64,
    requests_resent: u64,
    backoff_retries: u64,
    stage_retries: u64,
    /// Per operation: the incremental of its last state transition.
    incr_of: BTreeMap<OperationId, IncrIdx>,
}

impl Counters {
    pub fn step(&mut self, step: &Step) {
        if step.kind == EventKind::PipeReset {
            self.pipe_resets += 1;
        }
    }

    pub fn note(&mut self, note: &Note) {
        match note {
            Note::Resent { .. } => self.requests_resent += 1,
            Note::BackoffRetry { .. } => self.backoff_retries += 1,
            Note::OpState { op, incr, state, .. } => {
                let before = self.incr_of.insert(*op, *incr);
                if *state == OpState::Allocating && before == Some(*incr) {
                    self.stage_retries += 1;
                }
            }
            _ => {}
        }
    }
}

/// What the restore adapter counts as it applies DataShard commits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub applied: u64,
    pub reapplied: u64,
}

/// The run's metrics from what the loop counted and the final state.
pub fn finish(
    counters: Counters,
    stats: &EngineStats,
    node_commits: &[u64],
    rows: RowCounts,
    tracker: &DurableTracker,
    client: Option<&Client>,
    restores: &[super::RestoreSummary],
) -> RunMetrics {
    let mut m = RunMetrics {
        messages_sent: stats.messages_sent,
        messages_lost: stats.drops + stats.partition_drops,
        requests_resent: counters.requests_resent,
        stage_retries: counters.stage_retries,
        backoff_retries: counters.backoff_retries,
        pipe_resets: counters.pipe_resets,
        rows_applied: rows.applied,
        rows_reapplied: rows.reapplied,
        ..RunMetrics::default()
    };
    for (node, n) in node_commits.iter().enumerate() {
        match actor_of(node as u32) {
            Actor::SchemeShard => m.commits_schemeshard += n,
            Actor::TxAllocator => m.commits_txallocator += n,
            Actor::DataShard(_) => m.commits_datashard += n,
            Actor::Client => {}
        }
    }
    for r in restores.iter().filter(|r| r.state == super::RestoreState::FAILED) {
        if r.final_status == Some(FinalStatus::Timeout) {
            m.failed_by_deadline += 1;
        } else {
            m.failed_other += 1;
        }
    }
    if let Some(client) = client {
        for (op, durable) in tracker.op_points() {
            // Read in place, not copied: at a million shards the durable
            // series is millions of points, and this runs at the end of a
            // run, with all of its state (and the plot) held: a 16-byte
            // copy of each point there was tens of MB on the peak.
            let durable = durable.iter().map(|p| (p.at(), p.bp()));
            let seen: Vec<(Micros, u64)> = client
                .observations
                .iter()
                .filter(|o| o.report.op == op)
                .map(|o| (o.at, u64::from(o.report.percent_bp)))
                .collect();
            let (gap, late) = lag(durable, &seen);
            m.progress_lag_bp = m.progress_lag_bp.max(gap);
            m.progress_lag_us = m.progress_lag_us.max(late);
        }
        m.first_progress_us = client.observations.iter().find(|o| o.report.percent_bp > 0).map(|o| o.at);
        let ops: std::collections::BTreeSet<OperationId> = client.observations.iter().map(|o| o.report.op).collect();
        let mut shape = progress_shape::Shape::default();
        for op in ops {
            let answers = client.observations.iter().filter(|o| o.report.op == op).map(|o| (o.at, &o.report));
            shape = progress_shape::merge(shape, progress_shape::shape(answers));
        }
        m.progress_drops = shape.drops;
        m.progress_drop_max_bp = shape.drop_max_bp;
        m.time_at_99_us = shape.at_99_us;
        m.progress_stall_us = shape.stall_us;
        m.hang_until_deadline_us = shape.hang_until_deadline_us;
    }
    m
}

/// The changes every restore that ended Done applied at least once: the sum
/// of its chain's incrementals.
pub fn rows_needed(workload: &Workload, restores: &[super::RestoreSummary]) -> u64 {
    restores
        .iter()
        .filter(|r| r.state == super::RestoreState::DONE)
        .filter_map(|r| workload.topology.table_by_name(&r.table))
        .map(|t| workload.chain(t.id).incrementals.iter().map(|i| i.len() as u64).sum::<u64>())
        .sum()
}

/// The largest gap (basis points) between the durable percent and the last
/// one the Client saw, and the longest wait (µs) from a durable percent to a
/// report of at least that much. Both series are in time order; the durable
/// one never decreases (invariant 4); a level never reported waits until
/// the last report. Gaps are measured at the moments either series changes,
/// which is where a step function's difference can change.
/// `durable` is walked twice (hence `Clone`), never collected.
pub fn lag<D>(durable: D, seen: &[(Micros, u64)]) -> (u64, u64)
where
    D: IntoIterator<Item = (Micros, u64)> + Clone,
{
    let mut gap = 0;
    let mut s = 0;
    let mut shown = 0u64;
    for (at, pct) in durable.clone() {
        while s < seen.len() && seen[s].0 <= at {
            shown = seen[s].1;
            s += 1;
        }
        gap = gap.max(pct.saturating_sub(shown));
    }
    // Highest report so far, so "the first report at least p after t" is a
    // search over a non-decreasing sequence.
    let mut best = Vec::with_capacity(seen.len());
    let mut high = 0;
    for &(at, pct) in seen {
        high = high.max(pct);
        best.push((at, high));
    }
    let end = seen.last().map_or(0, |(at, _)| *at);
    let mut late = 0;
    for (at, pct) in durable {
        let from = best.partition_point(|(t, _)| *t < at);
        let rest = &best[from..];
        let reached = rest.get(rest.partition_point(|(_, h)| *h < pct)).map_or(end, |(t, _)| *t);
        late = late.max(reached.saturating_sub(at));
    }
    (gap, late)
}

#[cfg(test)]
mod tests {
    use super::lag;

    #[test]
    fn lag_is_the_largest_gap_and_the_longest_wait() {
        // Durable: 50 % at 10, 100 % at 20. Seen: 0 at 5, 50 at 15, 100 at 40.
        let durable = [(10, 5_000), (20, 10_000)];
        let seen = [(5, 0), (15, 5_000), (40, 10_000)];
        assert_eq!(lag(durable, &seen), (5_000, 20));
        // Reported as soon as durable: no lag.
        assert_eq!(lag([(10, 10_000)], &[(10, 10_000)]), (0, 0));
        // Never reported: the gap is all of it, the wait lasts to the last report.
        assert_eq!(lag([(10, 10_000)], &[(5, 0), (30, 0)]), (10_000, 20));
    }
}
