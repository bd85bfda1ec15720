//! The coordinator's timers per operation: the slots of its `TimerTable`
//! and which slot a fired `Timer` belongs to. What cancels each slot:
//!
//! | slot | armed | cancelled |
//! |---|---|---|
//! | `Allocate` | a TxId is asked for | the answer, a TxAllocator pipe reset, a stage retry, the op's end |
//! | `StageRetry` | a stage retry's backoff (or TTxInit from `NextRetryAt`) | a TxId is asked for, the op's end |
//! | `ShardRetry(s)` | a shard's failure (`retry_scope: Shard`) | its re-send, its Done, the stage's end or retry, the op's end |
//! | `ShardTimeout(s)` | a request to the shard (`shard_timeout`) | its Done, a retry armed for it, the stage's end or retry, the op's end |
//! | `DeadlineOverall` | the op starts (or TTxInit) | the op's end |
//! | `DeadlineStage` | a stage starts (or TTxInit) | the stage's end, the op's end |

use crate::ids::{OperationId, ShardIdx};
use crate::outbox::Timer;
use crate::timers::TimerTable;

/// One timer slot of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpTimer {
    /// `AllocateTimeout`: the TxAllocator has not answered; its cookie is
    /// the allocation the operation waits for.
    Allocate,
    StageRetry,
    ShardRetry(ShardIdx),
    ShardTimeout(ShardIdx),
    DeadlineOverall,
    DeadlineStage,
}

impl OpTimer {
    /// The operation and slot a coordinator timer belongs to; `None` for
    /// the other actors' timers.
    pub fn of(timer: &Timer) -> Option<(OperationId, OpTimer)> {
        Some(match *timer {
            Timer::AllocateTimeout { op, .. } => (op, OpTimer::Allocate),
            Timer::StageRetry { op } => (op, OpTimer::StageRetry),
            Timer::ShardRetry { op, shard, .. } => (op, OpTimer::ShardRetry(shard)),
            Timer::ShardTimeout { op, shard, .. } => (op, OpTimer::ShardTimeout(shard)),
            Timer::Deadline { op, stage: None } => (op, OpTimer::DeadlineOverall),
            Timer::Deadline { op, stage: Some(_) } => (op, OpTimer::DeadlineStage),
            Timer::ClientStart { .. }
            | Timer::ClientRetry { .. }
            | Timer::ClientPoll { .. }
            | Timer::ClientForget { .. }
            | Timer::ClientDrop { .. }
            | Timer::ReadRetry { .. }
            // The YDB flavour's timers (`crate::ydb`) are not the design coordinator's.
            | Timer::YdbHeartbeat { .. }
            | Timer::YdbStageRetry { .. }
            | Timer::YdbAllocateRetry { .. }
            | Timer::YdbShardTimeout { .. }
            | Timer::YdbSenderRetry { .. } => return None,
        })
    }

    fn shard(self) -> Option<ShardIdx> {
        match self {
            OpTimer::ShardRetry(s) | OpTimer::ShardTimeout(s) => Some(s),
            _ => None,
        }
    }
}

/// An operation's timers.
pub type OpTimers = TimerTable<OpTimer>;

/// Cancels both per-shard timers of `shard`.
pub fn cancel_shard(timers: &mut OpTimers, shard: ShardIdx) {
    timers.cancel(OpTimer::ShardRetry(shard));
    timers.cancel(OpTimer::ShardTimeout(shard));
}

/// Cancels every per-shard timer (the stage ended or is retried whole).
pub fn cancel_all_shards(timers: &mut OpTimers) {
    timers.cancel_where(|slot| slot.shard().is_some());
}
