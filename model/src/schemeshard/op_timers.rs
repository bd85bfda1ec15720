//! The coordinator's timers per operation: the slots of its timer table
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

use crate::ids::{Micros, OperationId, Round, ShardIdx};
use crate::outbox::{Outbox, Timer};
use crate::shard_range::ShardRange;
use crate::timers::{Armed, TimerTable};

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
        self.shard_kind().map(|(shard, _)| shard)
    }

    /// A shard slot's shard, and its index in that shard's pair.
    fn shard_kind(self) -> Option<(ShardIdx, usize)> {
        match self {
            OpTimer::ShardRetry(s) => Some((s, 0)),
            OpTimer::ShardTimeout(s) => Some((s, 1)),
            _ => None,
        }
    }
}

/// An operation's timers: the operation-wide slots in a `TimerTable`, and
/// each shard's `ShardRetry` and `ShardTimeout` in a dense vector by shard.
/// Every shard of a running stage has a `ShardTimeout` armed; as entries of
/// one map they cost ~60 bytes a shard and a tree search per answer, here
/// 32 bytes and an index. The semantics are the table's (`timers.rs`): a
/// firing acts only while its slot holds it, identified by its round (the
/// rest of a shard timer's value is its slot) and its due instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpTimers {
    op: TimerTable<OpTimer>,
    /// Per shard: `[ShardRetry, ShardTimeout]`.
    shards: ShardRange<[Option<ShardArmed>; 2]>,
}

/// A shard timer as armed: the round its `Timer` carries, and when it is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ShardArmed {
    round: Round,
    at: Micros,
}

/// The round a shard timer carries.
fn round_of(timer: &Timer) -> Option<Round> {
    match *timer {
        Timer::ShardRetry { round, .. } | Timer::ShardTimeout { round, .. } => Some(round),
        _ => None,
    }
}

impl OpTimers {
    /// `TimerTable::arm`, for any slot.
    pub fn arm(&mut self, out: &mut Outbox, now: Micros, after: Micros, slot: OpTimer, timer: Timer) -> Micros {
        let Some((shard, kind)) = slot.shard_kind() else { return self.op.arm(out, now, after, slot, timer) };
        let round = round_of(&timer).unwrap_or_else(|| unreachable!("{slot:?} armed with {timer:?}"));
        let at = now + after;
        self.shards.entry(shard)[kind] = Some(ShardArmed { round, at });
        out.set_timer(after, timer);
        at
    }

    /// `TimerTable::cancel`.
    pub fn cancel(&mut self, slot: OpTimer) -> bool {
        match slot.shard_kind() {
            None => self.op.cancel(slot),
            Some((shard, kind)) => self.shards.get_mut(shard).and_then(|s| s[kind].take()).is_some(),
        }
    }

    /// Cancels every per-shard timer (the stage ended or is retried whole).
    pub fn cancel_all_shards(&mut self) {
        self.shards.clear();
    }

    /// Cancels every timer (the operation ended).
    pub fn clear(&mut self) {
        self.op.clear();
        self.shards.clear();
    }

    pub fn is_armed(&self, slot: OpTimer) -> bool {
        match slot.shard_kind() {
            None => self.op.is_armed(slot),
            Some((shard, kind)) => self.shards.get(shard).is_some_and(|s| s[kind].is_some()),
        }
    }

    /// The armed timer of an operation-wide slot.
    pub fn armed(&self, slot: OpTimer) -> Option<&Armed> {
        assert!(slot.shard().is_none(), "{slot:?} is a shard slot");
        self.op.armed(slot)
    }

    /// `TimerTable::would_act`: `timer` (of `slot`), due at `at`, is the
    /// one the slot holds.
    pub fn would_act(&self, slot: OpTimer, timer: &Timer, at: Micros) -> bool {
        let Some((shard, kind)) = slot.shard_kind() else { return self.op.would_act(slot, timer, at) };
        let Some(round) = round_of(timer) else { return false };
        self.shards.get(shard).and_then(|s| s[kind]) == Some(ShardArmed { round, at })
    }

    /// `TimerTable::take_fired`: the one place a fired timer is judged.
    pub fn take_fired(&mut self, slot: OpTimer, timer: &Timer, now: Micros) -> bool {
        self.would_act(slot, timer, now) && self.cancel(slot)
    }
}

/// Cancels both per-shard timers of `shard`.
pub fn cancel_shard(timers: &mut OpTimers, shard: ShardIdx) {
    timers.cancel(OpTimer::ShardRetry(shard));
    timers.cancel(OpTimer::ShardTimeout(shard));
}

/// Cancels every per-shard timer (the stage ended or is retried whole).
pub fn cancel_all_shards(timers: &mut OpTimers) {
    timers.cancel_all_shards();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(shard: u32, round: u32) -> Timer {
        Timer::ShardTimeout { op: OperationId(1), shard: ShardIdx(shard), round: Round(round) }
    }

    /// Shard slots keep the table's rules: only the latest arming of a slot
    /// acts, once; a cancelled one never; shards armed in any order (below
    /// and above the first) stay apart.
    #[test]
    fn shard_slots_act_only_while_armed() {
        let mut out = Outbox::default();
        let mut t = OpTimers::default();
        let slot = |s| OpTimer::ShardTimeout(ShardIdx(s));
        let retry = Timer::ShardRetry { op: OperationId(1), shard: ShardIdx(9), round: Round(1) };
        let a = t.arm(&mut out, 0, 10, slot(5), timeout(5, 1));
        let b = t.arm(&mut out, 2, 10, slot(5), timeout(5, 2));
        let c = t.arm(&mut out, 0, 7, slot(3), timeout(3, 1));
        t.arm(&mut out, 0, 7, OpTimer::ShardRetry(ShardIdx(9)), retry);
        assert_eq!(out.commands.len(), 4, "every arming reaches the engine");
        assert!(!t.would_act(slot(5), &timeout(5, 1), a), "a replaced arming is stale");
        assert!(!t.would_act(slot(5), &timeout(5, 2), a), "the due instant is part of the token");
        assert!(t.take_fired(slot(5), &timeout(5, 2), b));
        assert!(!t.take_fired(slot(5), &timeout(5, 2), b), "a timer acts once");
        assert!(t.is_armed(slot(3)) && !t.is_armed(slot(4)) && !t.is_armed(slot(9)));
        cancel_shard(&mut t, ShardIdx(3));
        assert!(!t.would_act(slot(3), &timeout(3, 1), c));
        assert!(t.is_armed(OpTimer::ShardRetry(ShardIdx(9))));
        t.cancel_all_shards();
        assert!(!t.is_armed(OpTimer::ShardRetry(ShardIdx(9))));
    }
}
