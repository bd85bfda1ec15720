//! A timer table (quinn-proto's `TimerTable`): one slot per timer a model
//! may have armed, kept in the model's volatile state. A handler acts on a
//! fired timer only while its slot still holds it, so handlers need no "is
//! this timer still mine?" guards (cookies, rounds, "is it due?"): whatever a
//! timer guards cancels the timer when it ends (a shard answered, a stage
//! ended, the operation ended).
//!
//! The engine does not take a cancelled timer out of its queue: the event
//! still fires and `take_fired` — the one place a stale firing is dropped —
//! drops it. A fired timer is identified by what the engine hands back, its
//! `Timer` value and the instant it fires, which is the instant it was armed
//! for (the engine fires a timer exactly at `now + after`). So the token of
//! an arming is `(timer, due instant)`: re-arming a slot replaces its token
//! and the older firing, still queued, finds its slot holding another one.
//! The queue stays bounded: a slot holds one timer, and each stale event
//! leaves the queue at its due instant, so at most one stale event per
//! arming within the longest timer delay is ever queued. (Timers armed by
//! the thousand, one per shard, do not take this path: an operation's
//! shard timers share one engine timer for the earliest of them,
//! `schemeshard/op_timers.rs`.)
//!
//! A crash drops the table with the rest of the volatile state; the engine
//! never fires a timer into a later generation, and the rebooted model
//! re-arms what it needs from its durable rows.

use std::collections::BTreeMap;
use std::fmt::Debug;

use crate::ids::Micros;
use crate::outbox::{Outbox, Timer};

/// One armed timer: the `Timer` the engine will hand back and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Armed {
    pub timer: Timer,
    pub at: Micros,
}

/// The armed timers of one model (or one operation), one per slot `S`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerTable<S: Ord + Copy + Debug> {
    armed: BTreeMap<S, Armed>,
}

impl<S: Ord + Copy + Debug> Default for TimerTable<S> {
    fn default() -> Self {
        TimerTable { armed: BTreeMap::new() }
    }
}

impl<S: Ord + Copy + Debug> TimerTable<S> {
    /// Arms `slot` to fire `timer` after `after`, replacing (cancelling)
    /// whatever the slot held. Returns the due instant, the arming's token.
    pub fn arm(&mut self, out: &mut Outbox, now: Micros, after: Micros, slot: S, timer: Timer) -> Micros {
        let at = now + after;
        self.armed.insert(slot, Armed { timer, at });
        out.set_timer(after, timer);
        at
    }

    /// Cancels `slot`'s timer; its event, if still queued, will be dropped.
    /// Returns whether one was armed.
    pub fn cancel(&mut self, slot: S) -> bool {
        self.armed.remove(&slot).is_some()
    }

    /// Cancels every timer whose slot `cancel` names.
    pub fn cancel_where(&mut self, mut cancel: impl FnMut(&S) -> bool) {
        self.armed.retain(|slot, _| !cancel(slot));
    }

    /// Cancels every timer (the owner ended).
    pub fn clear(&mut self) {
        self.armed.clear();
    }

    pub fn is_armed(&self, slot: S) -> bool {
        self.armed.contains_key(&slot)
    }

    pub fn armed(&self, slot: S) -> Option<&Armed> {
        self.armed.get(&slot)
    }

    pub fn len(&self) -> usize {
        self.armed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.armed.is_empty()
    }

    /// Whether `timer`, due at `at`, is the one `slot` holds: it would act
    /// if it fired. (Liveness diagnosis asks this of pending events.)
    pub fn would_act(&self, slot: S, timer: &Timer, at: Micros) -> bool {
        self.armed.get(&slot).is_some_and(|a| a.timer == *timer && a.at == at)
    }

    /// The one place a fired timer is judged: `true` (and the slot is
    /// disarmed) if it is still armed, `false` for a stale firing, which
    /// the caller drops without running any handler.
    pub fn take_fired(&mut self, slot: S, timer: &Timer, now: Micros) -> bool {
        if !self.would_act(slot, timer, now) {
            return false;
        }
        self.armed.remove(&slot);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OperationId;

    fn stage_retry() -> Timer {
        Timer::StageRetry { op: OperationId(1) }
    }

    /// A timer acts once, only while armed, and only the latest arming of a
    /// slot acts; the table asks the outbox to schedule every arming.
    #[test]
    fn only_the_armed_timer_acts() {
        let mut out = Outbox::default();
        let mut t = TimerTable::<u8>::default();
        let first = t.arm(&mut out, 10, 5, 0, stage_retry());
        assert_eq!(first, 15);
        let second = t.arm(&mut out, 12, 10, 0, stage_retry());
        assert_eq!(out.commands.len(), 2, "both armings reach the engine");
        assert!(!t.take_fired(0, &stage_retry(), first), "a replaced arming is stale");
        assert!(t.take_fired(0, &stage_retry(), second));
        assert!(!t.take_fired(0, &stage_retry(), second), "a timer acts once");
        assert!(t.is_empty());
    }

    /// A cancelled timer never acts; cancelling one slot leaves the others.
    #[test]
    fn cancel_drops_the_firing() {
        let mut out = Outbox::default();
        let mut t = TimerTable::<u8>::default();
        let a = t.arm(&mut out, 0, 5, 1, stage_retry());
        let b = t.arm(&mut out, 0, 7, 2, stage_retry());
        assert!(t.cancel(1));
        assert!(!t.cancel(1));
        assert!(!t.would_act(1, &stage_retry(), a));
        assert!(t.would_act(2, &stage_retry(), b));
        t.cancel_where(|s| *s == 2);
        assert!(!t.take_fired(2, &stage_retry(), b));
    }
}
