//! What the coordinator holds of one operation besides its state row: each
//! shard's durable row with what only memory knows of it, and the
//! operation's volatile part (counters, slot queue, timers), which a crash
//! loses and TTxInit derives from the rows.

use std::collections::VecDeque;

use super::op_timers::OpTimers;
use super::schema::{PersistedShardStatus, ShardProgressRow};
use crate::ids::{IncrIdx, Micros, Round};
use crate::progress::ShardStatus;

/// The coordinator's view of one shard in the current incremental: its
/// durable row, and what only memory knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardProgress {
    /// Its `IncrementalRestoreShardProgress` row as the next commit
    /// persists it, verbatim (`persist.rs`): Done or not, LastKey, round,
    /// row counts. Its `status` changes only through `set_status`.
    pub row: ShardProgressRow,
    /// Volatile: Pending, Requested or Accepted while the row is not Done.
    /// Changed only through `LongIncrementalRestoreOp::set_status`, which
    /// keeps the counters with it.
    request: ShardStatus,
    /// When the shard last answered (for `shard_timeout`).
    pub last_heard: Micros,
    /// Failures since the shard last made progress (backoff exponent).
    pub retries: u32,
}

impl ShardProgress {
    /// A shard not yet asked for incremental `incr` (its round carries on).
    pub fn pending(incr: IncrIdx, round: Round) -> ShardProgress {
        let row = ShardProgressRow {
            incr,
            status: PersistedShardStatus::InProgress,
            last_key: None,
            round,
            rows_applied: 0,
            rows_total: 0,
        };
        ShardProgress { row, request: ShardStatus::Pending, last_heard: 0, retries: 0 }
    }

    /// Done from the row, otherwise where its request stands.
    pub fn status(&self) -> ShardStatus {
        match self.row.status {
            PersistedShardStatus::Done => ShardStatus::Done,
            PersistedShardStatus::InProgress => self.request,
        }
    }

    /// Only `LongIncrementalRestoreOp::set_status` calls this, moving the
    /// counters with it.
    pub(super) fn set_status(&mut self, status: ShardStatus) {
        if status == ShardStatus::Done {
            self.row.status = PersistedShardStatus::Done;
        } else {
            self.row.status = PersistedShardStatus::InProgress;
            self.request = status;
        }
    }

    pub(super) fn outstanding(&self) -> bool {
        matches!(self.status(), ShardStatus::Requested | ShardStatus::Accepted)
    }
}

/// The coordinator's state of one restore. Its durable part *is* its rows
/// (`schema.rs`): `row` is the `IncrementalRestoreState` row as the next
/// commit persists it, verbatim (`persist.rs`), and each shard's durable
/// fields are those of its `IncrementalRestoreShardProgress` row. What a
/// crash loses is in `volatile`, which TTxInit (`recovery.rs`) derives from
/// the rows alone.
/// What the coordinator knows of an operation only in memory: rebuilt at
/// boot, never persisted.
#[derive(Debug, Default)]
pub struct OpVolatile {
    /// The shard statuses counted, kept by `set_status` alone.
    pub counters: Counters,
    /// Shards waiting for an in-flight slot, in order.
    pub queue: VecDeque<u32>,
    /// The armed timers (`op_timers.rs`): a fired timer acts only while
    /// armed here. The allocation the op waits for is its `Allocate` slot.
    pub timers: OpTimers,
}

/// Shards per status in the current incremental: `done` those Done,
/// `accepted` those that answered this round (Accepted or Done), `in_flight`
/// those with a request outstanding (Requested or Accepted; counted against
/// `max_shards_in_flight`). Changed only in `set_status`, with the status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub done: u32,
    pub accepted: u32,
    pub in_flight: u32,
}

impl Counters {
    fn of(status: ShardStatus) -> Counters {
        let (done, accepted, in_flight) = match status {
            ShardStatus::Done => (1, 1, 0),
            ShardStatus::Accepted => (0, 1, 1),
            ShardStatus::Requested => (0, 0, 1),
            ShardStatus::Pending => (0, 0, 0),
        };
        Counters { done, accepted, in_flight }
    }

    pub(super) fn moved(self, from: ShardStatus, to: ShardStatus) -> Counters {
        let (a, b) = (Counters::of(from), Counters::of(to));
        Counters {
            done: self.done - a.done + b.done,
            accepted: self.accepted - a.accepted + b.accepted,
            in_flight: self.in_flight - a.in_flight + b.in_flight,
        }
    }
}
