//! The progress API (docs/design.md §4.7): what GetProgress returns, and the one
//! percent formula used both for what SchemeShard reports and for the true
//! durable progress the harness computes from DataShards.
//!
//! Percent formula, in basis points (1/100 of a percent), integer-only so no
//! float sum can depend on order:
//!
//! ```text
//! shard_bp(s, i)  = 10_000                               if s finished incremental i
//!                 = rows_applied * 10_000 / rows_total   if rows_total > 0
//!                 = 0                                    otherwise
//! percent_bp(op)  = (done_incrementals * shards * 10_000 + Σ_s shard_bp(s, current))
//!                   / (incrementals * shards)
//! ```
//!
//! Whether the reported percent can go backwards is a finding of the runs (it
//! can: a shard that rescans from the start after a restart with
//! `resume_from_last_key = false` reports fewer rows), not an assumption.

use crate::ids::{IncrIdx, Key, OperationId, ShardIdx};

/// States of a LongIncrementalRestoreOp. `Done` and `Failed` are terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpState {
    Allocating,
    Proposing,
    Waiting,
    Applying,
    Done,
    Failed,
}

impl OpState {
    pub fn is_terminal(self) -> bool {
        matches!(self, OpState::Done | OpState::Failed)
    }

    pub fn name(self) -> &'static str {
        match self {
            OpState::Allocating => "Allocating",
            OpState::Proposing => "Proposing",
            OpState::Waiting => "Waiting",
            OpState::Applying => "Applying",
            OpState::Done => "Done",
            OpState::Failed => "Failed",
        }
    }
}

/// Status of a finished operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FinalStatus {
    Success,
    /// A DataShard reported a non-retriable error (backup data unreadable).
    BackupUnreadable,
    /// `deadline_overall` or `deadline_stage` passed.
    Timeout,
}

/// Per-shard status as the coordinator tracks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ShardStatus {
    /// No request sent for the current incremental yet.
    Pending,
    /// Request sent, no answer yet.
    Requested,
    /// The shard accepted and is applying.
    Accepted,
    /// The shard finished the current incremental.
    Done,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShardReport {
    pub shard: ShardIdx,
    pub status: ShardStatus,
    pub last_key: Option<Key>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProgressReport {
    pub op: OperationId,
    pub state: OpState,
    /// Current incremental (1-based); equals `incrementals` when Done.
    pub incr: IncrIdx,
    pub incrementals: u32,
    pub shards_done: u32,
    pub shards_total: u32,
    pub rows_applied: u64,
    /// Percent × 100 (see the module doc for the formula).
    pub percent_bp: u32,
    /// Per-shard detail, only when asked for (it is O(shards)).
    pub shards: Vec<ShardReport>,
    pub final_status: Option<FinalStatus>,
    pub issues: String,
}

pub const FULL_BP: u64 = 10_000;

/// One shard's share of its current incremental, in basis points.
pub fn shard_bp(done: bool, rows_applied: u64, rows_total: u64) -> u64 {
    if done {
        return FULL_BP;
    }
    (rows_applied.min(rows_total) * FULL_BP).checked_div(rows_total).unwrap_or(0)
}

/// The operation's percent in basis points.
pub fn percent_bp(done_incrementals: u32, incrementals: u32, shards: u32, shard_bp_sum: u64) -> u32 {
    if incrementals == 0 || shards == 0 {
        return FULL_BP as u32;
    }
    let whole = u64::from(done_incrementals) * u64::from(shards) * FULL_BP;
    let total = u64::from(incrementals) * u64::from(shards);
    (((whole + shard_bp_sum) / total).min(FULL_BP)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_counts_whole_incrementals_and_shard_fractions() {
        assert_eq!(percent_bp(0, 2, 4, 0), 0);
        // One of two incrementals done, and half the shards done with the second.
        assert_eq!(percent_bp(1, 2, 4, 2 * FULL_BP), 7_500);
        assert_eq!(percent_bp(2, 2, 4, 0), 10_000);
        assert_eq!(shard_bp(false, 5, 10), 5_000);
        assert_eq!(shard_bp(false, 5, 0), 0);
        assert_eq!(shard_bp(true, 0, 0), FULL_BP);
    }
}
