//! LongIncrementalRestoreOp: the coordinator's in-memory state machine for one
//! restore (docs/design.md §4.3). Per incremental: Allocating → Proposing →
//! Waiting → Applying, then the next incremental or Done; Failed on a
//! non-retriable error or a deadline.
//!
//! Every handler runs inside one local transaction (`Ctx::tx`): what it
//! persists is decided in `persist.rs`, and answers that depend on it leave
//! only once it is durable.

use std::collections::VecDeque;

use super::op_timers::{self, OpTimer, OpTimers};
use super::schema::SchemeShardCommit;
use crate::ids::{Generation, IncrIdx, Key, Micros, OperationId, Round, ShardIdx, Stamp, TableId, TxId};
use crate::knobs::{Bug, ProtocolKnobs, RetryScope};
use crate::msg::{Actor, Msg, ResponseStatus, TEvIncrementalRestoreRequest, TEvIncrementalRestoreResponse};
use crate::note::Note;
use crate::outbox::{Outbox, Timer};
use crate::progress::{FinalStatus, OpState, ShardStatus};

/// What a handler needs from its tablet: time, identity, knobs, effects.
pub struct Ctx<'a> {
    pub now: Micros,
    pub generation: Generation,
    pub knobs: &'a ProtocolKnobs,
    pub out: &'a mut Outbox,
    pub tx: &'a mut SchemeShardCommit,
    /// Allocation cookies, unique within a generation.
    pub next_cookie: &'a mut u64,
}

/// The coordinator's view of one shard in the current incremental.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardProgress {
    pub status: ShardStatus,
    pub last_key: Option<Key>,
    pub round: Round,
    pub rows_applied: u64,
    pub rows_total: u64,
    /// When the shard last answered (for `shard_timeout`).
    pub last_heard: Micros,
    /// Failures since the shard last made progress (backoff exponent).
    pub retries: u32,
}

impl ShardProgress {
    pub fn pending(round: Round) -> ShardProgress {
        ShardProgress {
            status: ShardStatus::Pending,
            last_key: None,
            round,
            rows_applied: 0,
            rows_total: 0,
            last_heard: 0,
            retries: 0,
        }
    }

    fn outstanding(&self) -> bool {
        matches!(self.status, ShardStatus::Requested | ShardStatus::Accepted)
    }
}

#[derive(Debug)]
pub struct LongIncrementalRestoreOp {
    pub id: OperationId,
    pub table: TableId,
    /// The table's shards are `first_shard .. first_shard + shards.len()`.
    pub first_shard: ShardIdx,
    pub incrementals: u32,
    pub state: OpState,
    pub incr: IncrIdx,
    pub tx_id: Option<TxId>,
    pub retry_count: u32,
    pub next_retry_at: Option<Micros>,
    pub started_at: Micros,
    pub stage_started_at: Micros,
    pub final_status: Option<FinalStatus>,
    pub final_issues: String,
    pub shards: Vec<ShardProgress>,
    /// Shards Done in the current incremental.
    pub done: u32,
    /// Shards that answered (Accepted or Done) in the current round of requests.
    pub accepted: u32,
    /// Shards with a request outstanding (counts against `max_shards_in_flight`).
    pub in_flight: u32,
    /// Shards waiting for an in-flight slot, in order.
    pub queue: VecDeque<u32>,
    /// The armed timers (`op_timers.rs`): a fired timer acts only while
    /// armed here. The allocation the op waits for is its `Allocate` slot.
    pub timers: OpTimers,
}

impl LongIncrementalRestoreOp {
    pub fn shard_count(&self) -> u32 {
        self.shards.len() as u32
    }

    pub fn position(&self, shard: ShardIdx) -> Option<usize> {
        let pos = shard.0.checked_sub(self.first_shard.0)? as usize;
        (pos < self.shards.len()).then_some(pos)
    }

    /// The redundant counters agree with the per-shard rows (TigerBeetle
    /// style): `done` counts Done shards, `accepted` those that answered
    /// this round (Accepted or Done), `in_flight` those with a request
    /// outstanding (Requested or Accepted). A drift panics — an internal
    /// error with a capsule — instead of wrapping or miscounting silently.
    /// O(shards): `SchemeShard` calls it after every transaction on
    /// operations of up to `COUNTERS_CHECKED_ALWAYS` shards, and for larger
    /// ones where it walks the shards anyway (a stage's start, a boot).
    pub fn assert_counters(&self) {
        let (mut done, mut accepted, mut outstanding) = (0u32, 0u32, 0u32);
        for s in &self.shards {
            match s.status {
                ShardStatus::Done => (done, accepted) = (done + 1, accepted + 1),
                ShardStatus::Accepted => (accepted, outstanding) = (accepted + 1, outstanding + 1),
                ShardStatus::Requested => outstanding += 1,
                ShardStatus::Pending => {}
            }
        }
        let op = self.id.0;
        assert_eq!(self.done, done, "op{op}: `done` ({}) drifted from the shards Done ({done})", self.done);
        assert_eq!(
            self.accepted, accepted,
            "op{op}: `accepted` ({}) drifted from the shards Accepted or Done ({accepted})",
            self.accepted
        );
        assert_eq!(
            self.in_flight, outstanding,
            "op{op}: `in_flight` ({}) drifted from the shards with a request outstanding ({outstanding})",
            self.in_flight
        );
    }

    /// The allocation this op waits for: the cookie of its armed
    /// `AllocateTimeout`, if any.
    pub fn alloc_cookie(&self) -> Option<u64> {
        match self.timers.armed(OpTimer::Allocate)?.timer {
            Timer::AllocateTimeout { cookie, .. } => Some(cookie),
            other => unreachable!("the Allocate slot holds {other:?}"),
        }
    }

    /// A `ShardRetry` is armed for the shard at `pos`.
    pub fn retry_armed(&self, pos: usize) -> bool {
        self.timers.is_armed(OpTimer::ShardRetry(self.shard_idx(pos)))
    }

    fn shard_idx(&self, pos: usize) -> ShardIdx {
        ShardIdx(self.first_shard.0 + pos as u32)
    }

    pub fn set_state(&mut self, ctx: &mut Ctx, state: OpState) {
        assert!(!self.state.is_terminal(), "Done and Failed are terminal ({:?} → {state:?})", self.state);
        self.state = state;
        if state.is_terminal() {
            // An ended operation waits for nothing. (An allocation still
            // outstanding after Failed would be retried when the TxAllocator's
            // pipe resets, moving Failed back to Allocating: found by the
            // configuration swarm, a stage deadline passing while Allocating.)
            self.timers.clear();
        }
        ctx.out.note(Note::OpState { op: self.id, table: self.table, incr: self.incr, state });
        self.persist_state(ctx);
    }

    /// Allocating: ask the TxAllocator for this stage's TxId.
    pub fn start_stage(&mut self, ctx: &mut Ctx) {
        self.assert_counters();
        self.stage_started_at = ctx.now;
        self.tx_id = None;
        if let Some(after) = ctx.knobs.deadline_stage {
            let timer = Timer::Deadline { op: self.id, stage: Some(self.incr) };
            self.timers.arm(ctx.out, ctx.now, after, OpTimer::DeadlineStage, timer);
        }
        if self.state != OpState::Allocating {
            self.set_state(ctx, OpState::Allocating);
        } else {
            self.persist_state(ctx);
        }
        self.ask_allocator(ctx);
    }

    pub fn ask_allocator(&mut self, ctx: &mut Ctx) {
        debug_assert_eq!(self.state, OpState::Allocating);
        *ctx.next_cookie += 1;
        let cookie = *ctx.next_cookie;
        self.next_retry_at = None;
        self.timers.cancel(OpTimer::StageRetry);
        ctx.out.send(Actor::TxAllocator, Msg::AllocateTxId { op: self.id, cookie });
        let timer = Timer::AllocateTimeout { op: self.id, cookie };
        self.timers.arm(ctx.out, ctx.now, ctx.knobs.allocate_timeout, OpTimer::Allocate, timer);
    }

    pub fn on_tx_allocated(&mut self, ctx: &mut Ctx, cookie: u64, tx: Option<TxId>) {
        // A message, not a timer: an answer to an allocation this op no
        // longer waits for (an older cookie, or none armed) changes nothing.
        if self.alloc_cookie() != Some(cookie) {
            return;
        }
        assert_eq!(self.state, OpState::Allocating, "an allocation is outstanding only while Allocating");
        self.timers.cancel(OpTimer::Allocate);
        match tx {
            None => self.schedule_stage_retry(ctx),
            Some(tx) => {
                self.tx_id = Some(tx);
                self.set_state(ctx, OpState::Proposing);
                self.propose(ctx);
            }
        }
    }

    /// Proposing: queue every shard not Done and send as the cap allows.
    pub fn propose(&mut self, ctx: &mut Ctx) {
        self.queue.clear();
        self.in_flight = 0;
        self.accepted = self.done;
        let first = self.first_shard.0;
        for (pos, shard) in self.shards.iter_mut().enumerate() {
            if shard.status != ShardStatus::Done {
                shard.status = ShardStatus::Pending;
                op_timers::cancel_shard(&mut self.timers, ShardIdx(first + pos as u32));
                self.queue.push_back(pos as u32);
            }
        }
        self.send_queued(ctx);
    }

    fn send_queued(&mut self, ctx: &mut Ctx) {
        let cap = ctx.knobs.max_shards_in_flight.unwrap_or(u32::MAX);
        while self.in_flight < cap {
            let Some(pos) = self.queue.pop_front() else { break };
            if self.shards[pos as usize].status == ShardStatus::Pending {
                self.in_flight += 1;
                self.send_request(ctx, pos as usize);
            }
        }
        if self.state == OpState::Proposing && self.queue.is_empty() {
            self.set_state(ctx, OpState::Waiting);
        }
        self.maybe_applying(ctx);
        // Every shard may already be Done (answers that arrived during a stage retry).
        self.maybe_stage_complete(ctx);
    }

    /// Sends (or re-sends, with a new round) the stage's request to one shard.
    fn send_request(&mut self, ctx: &mut Ctx, pos: usize) {
        let tx = self.tx_id.expect("requests are sent only with a TxId");
        let shard_idx = self.shard_idx(pos);
        let shard = &mut self.shards[pos];
        let resend = shard.status != ShardStatus::Pending;
        shard.round = Round(shard.round.0 + 1);
        shard.status = ShardStatus::Requested;
        shard.last_heard = ctx.now;
        let round = shard.round;
        let stamp_round = if ctx.knobs.request_rounds { round } else { Round(0) };
        let from_key = if ctx.knobs.resume_from_last_key { shard.last_key } else { None };
        let req = TEvIncrementalRestoreRequest {
            op: self.id,
            tx,
            incr: self.incr,
            shard: shard_idx,
            stamp: Stamp { generation: ctx.generation, round: stamp_round },
            from_key,
        };
        ctx.out.send(Actor::DataShard(shard_idx), Msg::IncrementalRestoreRequest(req));
        self.timers.cancel(OpTimer::ShardRetry(shard_idx));
        if let Some(after) = ctx.knobs.shard_timeout {
            let timer = Timer::ShardTimeout { op: self.id, shard: shard_idx, round };
            self.timers.arm(ctx.out, ctx.now, after, OpTimer::ShardTimeout(shard_idx), timer);
        }
        if resend {
            ctx.out.note(Note::Resent { op: self.id, shard: shard_idx, round });
        }
    }

    fn maybe_applying(&mut self, ctx: &mut Ctx) {
        if self.state == OpState::Waiting && self.accepted == self.shard_count() {
            self.set_state(ctx, OpState::Applying);
        }
    }

    /// A DataShard's answer. Stale answers (older generation, other
    /// incremental, older round) change nothing: invariant 5.
    pub fn on_response(&mut self, ctx: &mut Ctx, resp: TEvIncrementalRestoreResponse) {
        let Some(pos) = self.position(resp.shard) else { return };
        let round_ok = !ctx.knobs.request_rounds || resp.stamp.round == self.shards[pos].round;
        if resp.stamp.generation != ctx.generation || resp.incr != self.incr || !round_ok {
            ctx.out.note(Note::StaleDropped { at: Actor::SchemeShard, stamp: resp.stamp });
            return;
        }
        if self.state.is_terminal() || self.shards[pos].status == ShardStatus::Done {
            return;
        }
        let shard = &mut self.shards[pos];
        shard.last_heard = ctx.now;
        match resp.status {
            ResponseStatus::Error { retriable: false, issue } => {
                let issues = format!("DataShard {}: {issue}", resp.shard.0);
                self.fail(ctx, FinalStatus::BackupUnreadable, issues);
                return;
            }
            ResponseStatus::Error { retriable: true, .. } => {
                self.on_shard_failure(ctx, pos);
                return;
            }
            ResponseStatus::Accepted | ResponseStatus::Progress | ResponseStatus::Done => {}
        }
        if shard.status == ShardStatus::Pending {
            // Answer to a request of this round that a stage retry since reset.
            return;
        }
        if shard.status == ShardStatus::Requested {
            shard.status = ShardStatus::Accepted;
            self.accepted += 1;
        }
        if resp.last_key > shard.last_key || resp.rows_applied > shard.rows_applied {
            shard.retries = 0;
        }
        shard.last_key = shard.last_key.max(resp.last_key);
        shard.rows_applied = shard.rows_applied.max(resp.rows_applied);
        shard.rows_total = resp.rows_total;
        match resp.status {
            ResponseStatus::Done => self.on_shard_done(ctx, pos),
            ResponseStatus::Progress if ctx.knobs.progress_persist == crate::knobs::ProgressPersist::EveryBatch => {
                self.persist_shard(ctx, pos);
            }
            _ => {}
        }
        self.maybe_applying(ctx);
    }

    fn on_shard_done(&mut self, ctx: &mut Ctx, pos: usize) {
        self.shards[pos].status = ShardStatus::Done;
        let shard = self.shard_idx(pos);
        op_timers::cancel_shard(&mut self.timers, shard);
        self.done += 1;
        self.in_flight -= 1;
        self.persist_shard(ctx, pos);
        self.send_queued(ctx);
    }

    /// The stage barrier: the next incremental starts only when every shard
    /// is Done with this one.
    pub fn maybe_stage_complete(&mut self, ctx: &mut Ctx) {
        if self.state.is_terminal() || self.tx_id.is_none() {
            return;
        }
        let complete = if ctx.knobs.bugs.has(Bug::NoStageBarrier) {
            self.done >= 1
        } else if ctx.knobs.bugs.has(Bug::CountMissingAsDone) {
            let silent = self.shards.iter().filter(|s| s.status == ShardStatus::Requested).count() as u32;
            self.done >= 1 && self.done + silent >= self.shard_count()
        } else {
            self.done == self.shard_count()
        };
        if !complete {
            return;
        }
        if self.incr.0 == self.incrementals {
            self.final_status = Some(FinalStatus::Success);
            self.set_state(ctx, OpState::Done);
            ctx.out.note(Note::OpFinished { op: self.id, status: FinalStatus::Success, issues: String::new() });
            return;
        }
        // The stage is over: so are its shards' timers and its deadline.
        op_timers::cancel_all_shards(&mut self.timers);
        self.timers.cancel(OpTimer::DeadlineStage);
        self.incr = IncrIdx(self.incr.0 + 1);
        for shard in &mut self.shards {
            *shard = ShardProgress::pending(shard.round);
        }
        self.done = 0;
        self.accepted = 0;
        self.in_flight = 0;
        self.queue.clear();
        self.retry_count = 0;
        self.start_stage(ctx);
    }

    /// A shard failed (retriable error, timeout, pipe reset): retry it or the
    /// whole stage after backoff, per `retry_scope`.
    pub fn on_shard_failure(&mut self, ctx: &mut Ctx, pos: usize) {
        if self.state.is_terminal() || !self.shards[pos].outstanding() {
            return;
        }
        match ctx.knobs.retry_scope {
            RetryScope::Shard => {
                let shard_idx = self.shard_idx(pos);
                if self.timers.is_armed(OpTimer::ShardRetry(shard_idx)) {
                    return;
                }
                let shard = &mut self.shards[pos];
                shard.retries += 1;
                let round = shard.round;
                let delay = ctx.knobs.backoff.delay(shard.retries);
                // The retry replaces the wait: no timeout of this round acts.
                self.timers.cancel(OpTimer::ShardTimeout(shard_idx));
                let timer = Timer::ShardRetry { op: self.id, shard: shard_idx, round };
                self.timers.arm(ctx.out, ctx.now, delay, OpTimer::ShardRetry(shard_idx), timer);
            }
            RetryScope::Stage => self.schedule_stage_retry(ctx),
        }
    }

    /// Back to Allocating for the stage, after backoff (persisted, so a
    /// restarted coordinator waits out the same backoff).
    pub fn schedule_stage_retry(&mut self, ctx: &mut Ctx) {
        self.retry_count += 1;
        let delay = ctx.knobs.backoff.delay(self.retry_count);
        self.next_retry_at = Some(ctx.now + delay);
        self.timers.cancel(OpTimer::Allocate);
        op_timers::cancel_all_shards(&mut self.timers);
        self.tx_id = None;
        for shard in &mut self.shards {
            if shard.status != ShardStatus::Done {
                shard.status = ShardStatus::Pending;
            }
        }
        self.in_flight = 0;
        self.accepted = self.done;
        self.queue.clear();
        if self.state != OpState::Allocating {
            self.set_state(ctx, OpState::Allocating);
        } else {
            self.persist_state(ctx);
        }
        let timer = Timer::StageRetry { op: self.id };
        self.timers.arm(ctx.out, ctx.now, delay, OpTimer::StageRetry, timer);
    }

    /// The TxAllocator did not answer in time (an armed `AllocateTimeout`).
    pub fn on_allocate_timeout(&mut self, ctx: &mut Ctx) {
        assert_eq!(self.state, OpState::Allocating, "an armed AllocateTimeout means Allocating");
        self.schedule_stage_retry(ctx);
    }

    /// The stage's backoff is over (an armed `StageRetry`).
    pub fn on_stage_retry(&mut self, ctx: &mut Ctx) {
        assert!(self.state == OpState::Allocating && self.next_retry_at.is_some_and(|at| at <= ctx.now));
        ctx.out.note(Note::BackoffRetry { op: self.id });
        self.ask_allocator(ctx);
    }

    /// A shard's backoff is over (an armed `ShardRetry` of its round).
    pub fn on_shard_retry(&mut self, ctx: &mut Ctx, shard: ShardIdx, round: Round) {
        let pos = self.position(shard).expect("a timer is armed for a shard of the op");
        assert!(self.shards[pos].round == round && self.shards[pos].outstanding(), "an armed ShardRetry is current");
        ctx.out.note(Note::BackoffRetry { op: self.id });
        if self.shards[pos].status == ShardStatus::Accepted {
            self.accepted -= 1;
        }
        self.send_request(ctx, pos);
    }

    /// A shard's `shard_timeout` (an armed `ShardTimeout` of its round):
    /// a failure if it has been silent that long, else wait the rest.
    pub fn on_shard_timeout(&mut self, ctx: &mut Ctx, shard: ShardIdx, round: Round) {
        let pos = self.position(shard).expect("a timer is armed for a shard of the op");
        let timeout = ctx.knobs.shard_timeout.expect("armed only with a shard_timeout");
        let s = self.shards[pos];
        assert!(s.round == round && s.outstanding(), "an armed ShardTimeout is current");
        let quiet_for = ctx.now.saturating_sub(s.last_heard);
        if quiet_for >= timeout {
            self.on_shard_failure(ctx, pos);
        } else {
            let timer = Timer::ShardTimeout { op: self.id, shard, round };
            self.timers.arm(ctx.out, ctx.now, timeout - quiet_for, OpTimer::ShardTimeout(shard), timer);
        }
    }

    /// A deadline passed (an armed `Deadline`: the overall one, or the
    /// current stage's).
    pub fn on_deadline(&mut self, ctx: &mut Ctx, stage: Option<IncrIdx>) {
        assert!(stage.is_none_or(|s| s == self.incr), "an armed stage deadline is the current stage's");
        let which = match stage {
            None => "deadline_overall".to_string(),
            Some(s) => format!("deadline_stage of incremental {}", s.0),
        };
        self.fail(ctx, FinalStatus::Timeout, format!("{which} passed"));
    }

    pub fn fail(&mut self, ctx: &mut Ctx, status: FinalStatus, issues: String) {
        assert!(!issues.is_empty(), "Failed carries a non-empty error (invariant 7)");
        self.final_status = Some(status);
        self.final_issues = issues.clone();
        self.set_state(ctx, OpState::Failed);
        ctx.out.note(Note::OpFinished { op: self.id, status, issues });
    }
}
