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
//!
//! The shard slots reach the engine through one timer per operation,
//! `ShardTimers`, queued for the earliest of them (`OpTimers`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

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
            // The engine's carrier of the shard slots, not a slot itself.
            | Timer::ShardTimers { .. }
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
///
/// The shard slots do not each arm an engine timer. As quinn-proto's
/// `poll_timeout` does for a connection's timer table, the operation keeps
/// one engine timer, `Timer::ShardTimers`, queued for the earliest due
/// instant of its shard slots: when it fires, every shard timer due then
/// acts (each in its own transaction, as separate firings did), and the
/// engine timer is armed again for the next due instant. A new shard
/// timer arms an engine timer only when it is due before every one
/// already queued. So a stage of 100,000 shards queues one engine event
/// for its timeouts instead of 100,000 that mostly fire for nothing (the
/// shards answer long before), and a shard's answer cancels its timeout
/// without touching the engine's queue.
#[derive(Clone, Debug, Default)]
pub struct OpTimers {
    op: TimerTable<OpTimer>,
    /// Per shard: `[ShardRetry, ShardTimeout]`.
    shards: ShardRange<[Option<ShardArmed>; 2]>,
    /// Every shard arming since the slots were last cleared, earliest due
    /// first, as `(due instant, shard, kind)`. A cancel only empties the
    /// slot: an entry whose slot no longer holds its instant is dropped
    /// when it comes to the top (the order of a heap's pops is total, so
    /// this is deterministic).
    due: BinaryHeap<Reverse<(Micros, u32, u8)>>,
    /// The instants this operation's `Timer::ShardTimers` is queued for in
    /// the engine, latest first (a new one is armed only before all of
    /// them). The engine has no cancel: each of them fires, and one that
    /// finds nothing due arms the next. A crash drops this with the rest of
    /// the volatile state, as the engine drops the timers of that generation.
    queued: Vec<Micros>,
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

/// The shard slot of kind `kind` (0 `ShardRetry`, 1 `ShardTimeout`).
fn shard_slot(shard: ShardIdx, kind: usize) -> OpTimer {
    if kind == 0 { OpTimer::ShardRetry(shard) } else { OpTimer::ShardTimeout(shard) }
}

impl OpTimers {
    /// `TimerTable::arm`, for any slot. A shard slot's timer reaches the
    /// engine as the operation's `ShardTimers` (see the type's doc).
    pub fn arm(&mut self, out: &mut Outbox, now: Micros, after: Micros, slot: OpTimer, timer: Timer) -> Micros {
        let Some((shard, kind)) = slot.shard_kind() else { return self.op.arm(out, now, after, slot, timer) };
        let round = round_of(&timer).unwrap_or_else(|| unreachable!("{slot:?} armed with {timer:?}"));
        let op = match timer {
            Timer::ShardRetry { op, .. } | Timer::ShardTimeout { op, .. } => op,
            _ => unreachable!("{slot:?} armed with {timer:?}"),
        };
        let at = now + after;
        self.shards.entry(shard)[kind] = Some(ShardArmed { round, at });
        self.due.push(Reverse((at, shard.0, kind as u8)));
        self.wake_by(out, now, at, op);
        at
    }

    /// Makes sure a `ShardTimers` of `op` is queued at or before `at`.
    fn wake_by(&mut self, out: &mut Outbox, now: Micros, at: Micros, op: OperationId) {
        if self.queued.last().is_none_or(|&queued| at < queued) {
            out.set_timer(at - now, Timer::ShardTimers { op });
            self.queued.push(at);
        }
    }

    /// A shard's pair of slots, not read (what an answer's Done cancels;
    /// the engine's prefetch pipeline hints it, see `crate::prefetch`).
    #[inline]
    pub(crate) fn shard_addr(&self, shard: ShardIdx) -> (*const u8, usize) {
        (self.shards.addr(shard).cast(), std::mem::size_of::<[Option<ShardArmed>; 2]>())
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
        self.due.clear();
    }

    /// Cancels every timer (the operation ended).
    pub fn clear(&mut self) {
        self.op.clear();
        self.cancel_all_shards();
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

    /// `TimerTable::would_act` for an operation-wide slot: `timer`, due at
    /// `at`, is the one the slot holds. (Shard timers never reach the
    /// engine on their own: see `next_shard_timer`.)
    pub fn would_act(&self, slot: OpTimer, timer: &Timer, at: Micros) -> bool {
        slot.shard_kind().is_none() && self.op.would_act(slot, timer, at)
    }

    /// `TimerTable::take_fired` for an operation-wide slot: the one place
    /// a fired timer is judged.
    pub fn take_fired(&mut self, slot: OpTimer, timer: &Timer, now: Micros) -> bool {
        self.would_act(slot, timer, now) && self.cancel(slot)
    }

    /// The operation's `ShardTimers` fired at `now`: the shard slots due
    /// then, earliest armed first, as `(slot, due instant)`. Each still
    /// has to be taken (`take_shard`) when its turn comes, since an
    /// earlier one's handler may cancel it (a stage retried whole). Then
    /// `rearm`.
    pub fn fire_shards(&mut self, now: Micros) -> Vec<(OpTimer, Micros)> {
        assert_eq!(self.queued.last(), Some(&now), "a ShardTimers fires at an instant it was queued for");
        let mut due = Vec::new();
        while let Some(&Reverse((at, shard, kind))) = self.due.peek()
            && at <= now
        {
            self.due.pop();
            let (shard, kind) = (ShardIdx(shard), usize::from(kind));
            if self.shards.get(shard).and_then(|s| s[kind]).is_some_and(|a| a.at == at) {
                due.push((shard_slot(shard, kind), at));
            }
        }
        due
    }

    /// Disarms shard `slot` and gives its `Timer` if it still holds the
    /// arming due at `at` (the one place a fired shard timer is judged).
    pub fn take_shard(&mut self, op: OperationId, slot: OpTimer, at: Micros) -> Option<Timer> {
        let (shard, kind) = slot.shard_kind().unwrap_or_else(|| unreachable!("{slot:?} is not a shard slot"));
        let cell = &mut self.shards.get_mut(shard)?[kind];
        let armed = cell.filter(|a| a.at == at)?;
        *cell = None;
        let round = armed.round;
        Some(match slot {
            OpTimer::ShardRetry(_) => Timer::ShardRetry { op, shard, round },
            _ => Timer::ShardTimeout { op, shard, round },
        })
    }

    /// After a `ShardTimers` firing at `now` was handled: that engine timer
    /// is gone; queue the next one for the earliest shard timer still
    /// armed (armed by the handlers just run, possibly due now too), unless
    /// one is queued by then.
    pub fn rearm(&mut self, out: &mut Outbox, now: Micros, op: OperationId) {
        assert_eq!(self.queued.pop(), Some(now), "the ShardTimers that fired was queued");
        if let Some(at) = self.next_due() {
            self.wake_by(out, now, at, op);
        }
    }

    /// The earliest due instant of an armed shard slot, dropping the
    /// cancelled and re-armed entries above it.
    fn next_due(&mut self) -> Option<Micros> {
        while let Some(&Reverse((at, shard, kind))) = self.due.peek() {
            if self.shards.get(ShardIdx(shard)).and_then(|s| s[usize::from(kind)]).is_some_and(|a| a.at == at) {
                return Some(at);
            }
            self.due.pop();
        }
        None
    }

    /// The shard timer a queued `ShardTimers` leads to: the earliest armed
    /// shard slot and its `Timer`, due at the instant returned. `None`: a
    /// `ShardTimers` still queued will find nothing to do. (Liveness
    /// diagnosis asks this of pending events; O(shards).)
    pub fn next_shard_timer(&self, op: OperationId) -> Option<(Timer, Micros)> {
        let mut next: Option<(Timer, Micros)> = None;
        for (shard, slots) in self.shards.iter() {
            for (kind, armed) in slots.iter().enumerate() {
                let Some(ShardArmed { round, at }) = *armed else { continue };
                if next.is_none_or(|(_, best)| at < best) {
                    let timer = match kind {
                        0 => Timer::ShardRetry { op, shard, round },
                        _ => Timer::ShardTimeout { op, shard, round },
                    };
                    next = Some((timer, at));
                }
            }
        }
        next
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

    fn engine_timers(out: &Outbox) -> Vec<(Micros, Timer)> {
        out.commands
            .iter()
            .filter_map(|c| match c {
                crate::outbox::Command::SetTimer { after, timer } => Some((*after, *timer)),
                _ => None,
            })
            .collect()
    }

    const CARRIER: Timer = Timer::ShardTimers { op: OperationId(1) };

    /// Shard slots keep the table's rules: only the latest arming of a slot
    /// acts, once; a cancelled one never; shards armed in any order (below
    /// and above the first) stay apart.
    #[test]
    fn shard_slots_act_only_while_armed() {
        let mut out = Outbox::default();
        let mut t = OpTimers::default();
        let slot = |s| OpTimer::ShardTimeout(ShardIdx(s));
        let op = OperationId(1);
        let retry = Timer::ShardRetry { op, shard: ShardIdx(9), round: Round(1) };
        let a = t.arm(&mut out, 0, 10, slot(5), timeout(5, 1));
        let b = t.arm(&mut out, 2, 10, slot(5), timeout(5, 2));
        let c = t.arm(&mut out, 0, 7, slot(3), timeout(3, 1));
        t.arm(&mut out, 0, 7, OpTimer::ShardRetry(ShardIdx(9)), retry);
        assert_eq!(t.take_shard(op, slot(5), a), None, "a replaced arming is stale");
        assert_eq!(t.take_shard(op, slot(5), b), Some(timeout(5, 2)));
        assert_eq!(t.take_shard(op, slot(5), b), None, "a timer acts once");
        assert!(t.is_armed(slot(3)) && !t.is_armed(slot(4)) && !t.is_armed(slot(9)));
        cancel_shard(&mut t, ShardIdx(3));
        assert_eq!(t.take_shard(op, slot(3), c), None);
        assert!(t.is_armed(OpTimer::ShardRetry(ShardIdx(9))));
        assert_eq!(t.next_shard_timer(op), Some((retry, 7)));
        t.cancel_all_shards();
        assert!(!t.is_armed(OpTimer::ShardRetry(ShardIdx(9))));
        assert_eq!(t.next_shard_timer(op), None);
    }

    /// However many shard timers are armed, the engine is asked for one
    /// `ShardTimers` at the earliest due instant, and for another only when
    /// a new timer is due before every one queued. A firing yields the
    /// slots due then (not the cancelled or re-armed ones) and queues the
    /// next firing for the earliest timer left; one that finds nothing
    /// due arms nothing.
    #[test]
    fn one_engine_timer_for_the_earliest_shard_timer() {
        let mut out = Outbox::default();
        let mut t = OpTimers::default();
        let op = OperationId(1);
        for s in 0..100 {
            t.arm(&mut out, s, 500, OpTimer::ShardTimeout(ShardIdx(s as u32)), timeout(s as u32, 1));
        }
        assert_eq!(engine_timers(&out), [(500, CARRIER)], "one engine timer for 100 shard timers");
        out.clear();
        // A retry due earlier than the queued firing queues an earlier one.
        let retry = Timer::ShardRetry { op, shard: ShardIdx(7), round: Round(1) };
        t.cancel(OpTimer::ShardTimeout(ShardIdx(7)));
        t.arm(&mut out, 100, 50, OpTimer::ShardRetry(ShardIdx(7)), retry);
        assert_eq!(engine_timers(&out), [(50, CARRIER)]);
        out.clear();
        assert_eq!(t.fire_shards(150), [(OpTimer::ShardRetry(ShardIdx(7)), 150)]);
        assert_eq!(t.take_shard(op, OpTimer::ShardRetry(ShardIdx(7)), 150), Some(retry));
        t.rearm(&mut out, 150, op);
        assert!(engine_timers(&out).is_empty(), "the firing at 500 is still queued");
        // Shards 0..50 answered; 50 is re-armed later; the firing at 500
        // yields shard 51..., not the cancelled or re-armed ones.
        for s in 0..50 {
            t.cancel(OpTimer::ShardTimeout(ShardIdx(s)));
        }
        t.arm(&mut out, 300, 600, OpTimer::ShardTimeout(ShardIdx(50)), timeout(50, 2));
        assert!(engine_timers(&out).is_empty());
        assert!(t.fire_shards(500).is_empty(), "shard 0 answered: nothing is due at 500");
        t.rearm(&mut out, 500, op);
        assert_eq!(engine_timers(&out), [(51, CARRIER)], "queued for shard 51's timeout at 551");
        out.clear();
        assert_eq!(t.fire_shards(551), [(OpTimer::ShardTimeout(ShardIdx(51)), 551)]);
        t.cancel_all_shards();
        t.rearm(&mut out, 551, op);
        assert!(engine_timers(&out).is_empty(), "nothing armed: no firing queued");
    }
}
