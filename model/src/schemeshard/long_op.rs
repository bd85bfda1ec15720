//! LongIncrementalRestoreOp: the coordinator's in-memory state machine for one
//! restore (docs/design.md §4.3). Per incremental: Allocating → Proposing →
//! Waiting → Applying, then the next incremental or Done; Failed on a
//! non-retriable error or a deadline.
//!
//! Every handler runs inside one local transaction (`Ctx::tx`): what it
//! persists is decided in `persist.rs`, and answers that depend on it leave
//! only once it is durable.

use super::op_state::{Counters, OpVolatile, ShardProgress};
use super::op_timers::{self, OpTimer};
use super::schema::{SchemeShardCommit, StateRow};
use crate::ids::{Generation, IncrIdx, Micros, OperationId, Round, ShardIdx, Stamp, TableId, TxId};
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

#[derive(Debug)]
pub struct LongIncrementalRestoreOp {
    pub id: OperationId,
    /// From the `IncrementalRestoreOperations` row, which never changes.
    pub table: TableId,
    /// The table's shards are `first_shard .. first_shard + shards.len()`.
    pub first_shard: ShardIdx,
    pub incrementals: u32,
    /// `IncrementalRestoreState`: the single copy of the op's durable state.
    pub row: StateRow,
    pub shards: Vec<ShardProgress>,
    pub volatile: OpVolatile,
}

impl LongIncrementalRestoreOp {
    pub fn shard_count(&self) -> u32 {
        self.shards.len() as u32
    }

    pub fn position(&self, shard: ShardIdx) -> Option<usize> {
        let pos = shard.0.checked_sub(self.first_shard.0)? as usize;
        (pos < self.shards.len()).then_some(pos)
    }

    /// The one place a shard's status changes, and with it the counters.
    pub fn set_status(&mut self, pos: usize, status: ShardStatus) {
        let shard = &mut self.shards[pos];
        self.volatile.counters = self.volatile.counters.moved(shard.status(), status);
        shard.set_status(status);
    }

    /// The counters agree with the per-shard statuses (TigerBeetle style:
    /// redundant state asserted). A drift panics — an internal error with a
    /// capsule — instead of miscounting silently. O(shards): `SchemeShard`
    /// calls it after every transaction on operations of up to
    /// `COUNTERS_CHECKED_ALWAYS` shards, and for larger ones where it walks
    /// the shards anyway (a stage's start, a boot).
    pub fn assert_counters(&self) {
        let counted = self.shards.iter().fold(Counters::default(), |c, s| c.moved(ShardStatus::Pending, s.status()));
        let op = self.id.0;
        let kept = self.volatile.counters;
        assert_eq!(kept, counted, "op{op}: the counters ({kept:?}) drifted from the shards' statuses ({counted:?})");
    }

    /// The allocation this op waits for: the cookie of its armed
    /// `AllocateTimeout`, if any.
    pub fn alloc_cookie(&self) -> Option<u64> {
        match self.volatile.timers.armed(OpTimer::Allocate)?.timer {
            Timer::AllocateTimeout { cookie, .. } => Some(cookie),
            other => unreachable!("the Allocate slot holds {other:?}"),
        }
    }

    /// A `ShardRetry` is armed for the shard at `pos`.
    pub fn retry_armed(&self, pos: usize) -> bool {
        self.volatile.timers.is_armed(OpTimer::ShardRetry(self.shard_idx(pos)))
    }

    fn shard_idx(&self, pos: usize) -> ShardIdx {
        ShardIdx(self.first_shard.0 + pos as u32)
    }

    pub fn set_state(&mut self, ctx: &mut Ctx, state: OpState) {
        assert!(!self.row.state.is_terminal(), "Done and Failed are terminal ({:?} → {state:?})", self.row.state);
        self.row.state = state;
        if state.is_terminal() {
            // An ended operation waits for nothing. (An allocation still
            // outstanding after Failed would be retried when the TxAllocator's
            // pipe resets, moving Failed back to Allocating: found by the
            // configuration swarm, a stage deadline passing while Allocating.)
            self.volatile.timers.clear();
        }
        ctx.out.note(Note::OpState { op: self.id, table: self.table, incr: self.row.incr, state });
        self.persist_state(ctx);
    }

    /// Allocating: ask the TxAllocator for this stage's TxId.
    pub fn start_stage(&mut self, ctx: &mut Ctx) {
        self.assert_counters();
        self.row.stage_started_at = ctx.now;
        self.row.tx = None;
        if let Some(after) = ctx.knobs.deadline_stage {
            let timer = Timer::Deadline { op: self.id, stage: Some(self.row.incr) };
            self.volatile.timers.arm(ctx.out, ctx.now, after, OpTimer::DeadlineStage, timer);
        }
        if self.row.state != OpState::Allocating {
            self.set_state(ctx, OpState::Allocating);
        } else {
            self.persist_state(ctx);
        }
        self.ask_allocator(ctx);
    }

    pub fn ask_allocator(&mut self, ctx: &mut Ctx) {
        debug_assert_eq!(self.row.state, OpState::Allocating);
        *ctx.next_cookie += 1;
        let cookie = *ctx.next_cookie;
        self.row.next_retry_at = None;
        self.volatile.timers.cancel(OpTimer::StageRetry);
        ctx.out.send(Actor::TxAllocator, Msg::AllocateTxId { op: self.id, cookie });
        let timer = Timer::AllocateTimeout { op: self.id, cookie };
        self.volatile.timers.arm(ctx.out, ctx.now, ctx.knobs.allocate_timeout, OpTimer::Allocate, timer);
    }

    pub fn on_tx_allocated(&mut self, ctx: &mut Ctx, cookie: u64, tx: Option<TxId>) {
        // A message, not a timer: an answer to an allocation this op no
        // longer waits for (an older cookie, or none armed) changes nothing.
        if self.alloc_cookie() != Some(cookie) {
            return;
        }
        assert_eq!(self.row.state, OpState::Allocating, "an allocation is outstanding only while Allocating");
        self.volatile.timers.cancel(OpTimer::Allocate);
        match tx {
            None => self.schedule_stage_retry(ctx),
            Some(tx) => {
                self.row.tx = Some(tx);
                self.set_state(ctx, OpState::Proposing);
                self.propose(ctx);
            }
        }
    }

    /// Proposing: queue every shard not Done and send as the cap allows.
    pub fn propose(&mut self, ctx: &mut Ctx) {
        self.volatile.queue.clear();
        for pos in 0..self.shards.len() {
            if self.shards[pos].status() != ShardStatus::Done {
                self.set_status(pos, ShardStatus::Pending);
                let shard = self.shard_idx(pos);
                op_timers::cancel_shard(&mut self.volatile.timers, shard);
                self.volatile.queue.push_back(pos as u32);
            }
        }
        self.send_queued(ctx);
    }

    fn send_queued(&mut self, ctx: &mut Ctx) {
        let cap = ctx.knobs.max_shards_in_flight.unwrap_or(u32::MAX);
        // A stage's start sends up to a request per shard from this one
        // handler: room for them at once, not by doubling (at a million
        // shards each doubling copied the commands so far into pages
        // faulted fresh for it).
        let room = cap.saturating_sub(self.volatile.counters.in_flight) as usize;
        ctx.out.commands.reserve(room.min(self.volatile.queue.len()));
        while self.volatile.counters.in_flight < cap {
            let Some(pos) = self.volatile.queue.pop_front() else { break };
            if self.shards[pos as usize].status() == ShardStatus::Pending {
                self.send_request(ctx, pos as usize);
            }
        }
        if self.row.state == OpState::Proposing && self.volatile.queue.is_empty() {
            self.set_state(ctx, OpState::Waiting);
        }
        self.maybe_applying(ctx);
        // Every shard may already be Done (answers that arrived during a stage retry).
        self.maybe_stage_complete(ctx);
    }

    /// Sends (or re-sends, with a new round) the stage's request to one shard.
    fn send_request(&mut self, ctx: &mut Ctx, pos: usize) {
        let tx = self.row.tx.expect("requests are sent only with a TxId");
        let shard_idx = self.shard_idx(pos);
        let resend = self.shards[pos].status() != ShardStatus::Pending;
        self.set_status(pos, ShardStatus::Requested);
        let shard = &mut self.shards[pos];
        shard.row.round = Round(shard.row.round.0 + 1);
        shard.last_heard = ctx.now;
        let round = shard.row.round;
        let stamp_round = if ctx.knobs.request_rounds { round } else { Round(0) };
        let from_key = if ctx.knobs.resume_from_last_key { shard.row.last_key } else { None };
        let req = TEvIncrementalRestoreRequest {
            op: self.id,
            tx,
            incr: self.row.incr,
            shard: shard_idx,
            stamp: Stamp { generation: ctx.generation, round: stamp_round },
            from_key,
        };
        ctx.out.send(Actor::DataShard(shard_idx), Msg::IncrementalRestoreRequest(req));
        self.volatile.timers.cancel(OpTimer::ShardRetry(shard_idx));
        if let Some(after) = ctx.knobs.shard_timeout {
            let timer = Timer::ShardTimeout { op: self.id, shard: shard_idx, round };
            self.volatile.timers.arm(ctx.out, ctx.now, after, OpTimer::ShardTimeout(shard_idx), timer);
        }
        if resend {
            ctx.out.note(Note::Resent { op: self.id, shard: shard_idx, round });
        }
    }

    fn maybe_applying(&mut self, ctx: &mut Ctx) {
        if self.row.state == OpState::Waiting && self.volatile.counters.accepted == self.shard_count() {
            self.set_state(ctx, OpState::Applying);
        }
    }

    /// A DataShard's answer. Stale answers (older generation, other
    /// incremental, older round) change nothing: invariant 5.
    pub fn on_response(&mut self, ctx: &mut Ctx, resp: TEvIncrementalRestoreResponse) {
        let Some(pos) = self.position(resp.shard) else { return };
        let round_ok = !ctx.knobs.request_rounds || resp.stamp.round == self.shards[pos].row.round;
        if resp.stamp.generation != ctx.generation || resp.incr != self.row.incr || !round_ok {
            ctx.out.note(Note::StaleDropped { at: Actor::SchemeShard, stamp: resp.stamp });
            return;
        }
        if self.row.state.is_terminal() || self.shards[pos].status() == ShardStatus::Done {
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
        if shard.status() == ShardStatus::Pending {
            // Answer to a request of this round that a stage retry since reset.
            return;
        }
        if shard.status() == ShardStatus::Requested {
            self.set_status(pos, ShardStatus::Accepted);
        }
        let shard = &mut self.shards[pos];
        if resp.last_key > shard.row.last_key || resp.rows_applied > shard.row.rows_applied {
            shard.retries = 0;
        }
        shard.row.last_key = shard.row.last_key.max(resp.last_key);
        shard.row.rows_applied = shard.row.rows_applied.max(resp.rows_applied);
        shard.row.rows_total = resp.rows_total;
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
        self.set_status(pos, ShardStatus::Done);
        let shard = self.shard_idx(pos);
        op_timers::cancel_shard(&mut self.volatile.timers, shard);
        self.persist_shard(ctx, pos);
        self.send_queued(ctx);
    }

    /// The stage barrier: the next incremental starts only when every shard
    /// is Done with this one.
    pub fn maybe_stage_complete(&mut self, ctx: &mut Ctx) {
        if self.row.state.is_terminal() || self.row.tx.is_none() {
            return;
        }
        let complete = if ctx.knobs.bugs.has(Bug::NoStageBarrier) {
            self.volatile.counters.done >= 1
        } else if ctx.knobs.bugs.has(Bug::CountMissingAsDone) {
            let silent = self.shards.iter().filter(|s| s.status() == ShardStatus::Requested).count() as u32;
            self.volatile.counters.done >= 1 && self.volatile.counters.done + silent >= self.shard_count()
        } else {
            self.volatile.counters.done == self.shard_count()
        };
        if !complete {
            return;
        }
        if self.row.incr.0 == self.incrementals {
            self.row.final_status = Some(FinalStatus::Success);
            self.set_state(ctx, OpState::Done);
            ctx.out.note(Note::OpFinished { op: self.id, status: FinalStatus::Success, issues: String::new() });
            return;
        }
        // The stage is over: so are its shards' timers and its deadline.
        op_timers::cancel_all_shards(&mut self.volatile.timers);
        self.volatile.timers.cancel(OpTimer::DeadlineStage);
        self.row.incr = IncrIdx(self.row.incr.0 + 1);
        for pos in 0..self.shards.len() {
            self.set_status(pos, ShardStatus::Pending);
            self.shards[pos] = ShardProgress::pending(self.row.incr, self.shards[pos].row.round);
        }
        debug_assert_eq!(self.volatile.counters, Counters::default());
        self.volatile.queue.clear();
        self.row.retry_count = 0;
        self.start_stage(ctx);
    }

    /// A shard failed (retriable error, timeout, pipe reset): retry it or the
    /// whole stage after backoff, per `retry_scope`.
    pub fn on_shard_failure(&mut self, ctx: &mut Ctx, pos: usize) {
        if self.row.state.is_terminal() || !self.shards[pos].outstanding() {
            return;
        }
        match ctx.knobs.retry_scope {
            RetryScope::Shard => {
                let shard_idx = self.shard_idx(pos);
                if self.volatile.timers.is_armed(OpTimer::ShardRetry(shard_idx)) {
                    return;
                }
                let shard = &mut self.shards[pos];
                shard.retries += 1;
                let round = shard.row.round;
                let delay = ctx.knobs.backoff.delay(shard.retries);
                // The retry replaces the wait: no timeout of this round acts.
                self.volatile.timers.cancel(OpTimer::ShardTimeout(shard_idx));
                let timer = Timer::ShardRetry { op: self.id, shard: shard_idx, round };
                self.volatile.timers.arm(ctx.out, ctx.now, delay, OpTimer::ShardRetry(shard_idx), timer);
            }
            RetryScope::Stage => self.schedule_stage_retry(ctx),
        }
    }

    /// Back to Allocating for the stage, after backoff (persisted, so a
    /// restarted coordinator waits out the same backoff).
    pub fn schedule_stage_retry(&mut self, ctx: &mut Ctx) {
        self.row.retry_count += 1;
        let delay = ctx.knobs.backoff.delay(self.row.retry_count);
        self.row.next_retry_at = Some(ctx.now + delay);
        self.volatile.timers.cancel(OpTimer::Allocate);
        op_timers::cancel_all_shards(&mut self.volatile.timers);
        self.row.tx = None;
        for pos in 0..self.shards.len() {
            if self.shards[pos].status() != ShardStatus::Done {
                self.set_status(pos, ShardStatus::Pending);
            }
        }
        self.volatile.queue.clear();
        if self.row.state != OpState::Allocating {
            self.set_state(ctx, OpState::Allocating);
        } else {
            self.persist_state(ctx);
        }
        let timer = Timer::StageRetry { op: self.id };
        self.volatile.timers.arm(ctx.out, ctx.now, delay, OpTimer::StageRetry, timer);
    }

    /// The TxAllocator did not answer in time (an armed `AllocateTimeout`).
    pub fn on_allocate_timeout(&mut self, ctx: &mut Ctx) {
        assert_eq!(self.row.state, OpState::Allocating, "an armed AllocateTimeout means Allocating");
        self.schedule_stage_retry(ctx);
    }

    /// The stage's backoff is over (an armed `StageRetry`).
    pub fn on_stage_retry(&mut self, ctx: &mut Ctx) {
        assert!(self.row.state == OpState::Allocating && self.row.next_retry_at.is_some_and(|at| at <= ctx.now));
        ctx.out.note(Note::BackoffRetry { op: self.id });
        self.ask_allocator(ctx);
    }

    /// A shard's backoff is over (an armed `ShardRetry` of its round).
    pub fn on_shard_retry(&mut self, ctx: &mut Ctx, shard: ShardIdx, round: Round) {
        let pos = self.position(shard).expect("a timer is armed for a shard of the op");
        let s = &self.shards[pos];
        assert!(s.row.round == round && s.outstanding(), "an armed ShardRetry is current");
        ctx.out.note(Note::BackoffRetry { op: self.id });
        self.send_request(ctx, pos);
    }

    /// A shard's `shard_timeout` (an armed `ShardTimeout` of its round):
    /// a failure if it has been silent that long, else wait the rest.
    pub fn on_shard_timeout(&mut self, ctx: &mut Ctx, shard: ShardIdx, round: Round) {
        let pos = self.position(shard).expect("a timer is armed for a shard of the op");
        let timeout = ctx.knobs.shard_timeout.expect("armed only with a shard_timeout");
        let s = self.shards[pos];
        assert!(s.row.round == round && s.outstanding(), "an armed ShardTimeout is current");
        let quiet_for = ctx.now.saturating_sub(s.last_heard);
        if quiet_for >= timeout {
            self.on_shard_failure(ctx, pos);
        } else {
            let timer = Timer::ShardTimeout { op: self.id, shard, round };
            self.volatile.timers.arm(ctx.out, ctx.now, timeout - quiet_for, OpTimer::ShardTimeout(shard), timer);
        }
    }

    /// A deadline passed (an armed `Deadline`: the overall one, or the
    /// current stage's).
    pub fn on_deadline(&mut self, ctx: &mut Ctx, stage: Option<IncrIdx>) {
        assert!(stage.is_none_or(|s| s == self.row.incr), "an armed stage deadline is the current stage's");
        let which = match stage {
            None => "deadline_overall".to_string(),
            Some(s) => format!("deadline_stage of incremental {}", s.0),
        };
        self.fail(ctx, FinalStatus::Timeout, format!("{which} passed"));
    }

    pub fn fail(&mut self, ctx: &mut Ctx, status: FinalStatus, issues: String) {
        assert!(!issues.is_empty(), "Failed carries a non-empty error (invariant 7)");
        self.row.final_status = Some(status);
        self.row.final_issues = issues.clone();
        self.set_state(ctx, OpState::Failed);
        ctx.out.note(Note::OpFinished { op: self.id, status, issues });
    }
}
