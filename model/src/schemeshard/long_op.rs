//! LongIncrementalRestoreOp: the coordinator's in-memory state machine for one
//! restore (docs/design.md §4.3). Per incremental: Allocating → Proposing →
//! Waiting → Applying, then the next incremental or Done; Failed on a
//! non-retriable error or a deadline.
//!
//! Every handler runs inside one local transaction (`Ctx::tx`): what it
//! persists is decided in `persist.rs`, and answers that depend on it leave
//! only once it is durable.

use std::collections::VecDeque;

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
    /// A `ShardRetry` timer for the current round is armed.
    pub retry_armed: bool,
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
            retry_armed: false,
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
    /// The allocation this op waits for, if any.
    pub alloc_cookie: Option<u64>,
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

    fn shard_idx(&self, pos: usize) -> ShardIdx {
        ShardIdx(self.first_shard.0 + pos as u32)
    }

    pub fn set_state(&mut self, ctx: &mut Ctx, state: OpState) {
        assert!(!self.state.is_terminal(), "Done and Failed are terminal ({:?} → {state:?})", self.state);
        self.state = state;
        ctx.out.note(Note::OpState { op: self.id, table: self.table, incr: self.incr, state });
        self.persist_state(ctx);
    }

    /// Allocating: ask the TxAllocator for this stage's TxId.
    pub fn start_stage(&mut self, ctx: &mut Ctx) {
        self.assert_counters();
        self.stage_started_at = ctx.now;
        self.tx_id = None;
        if let Some(after) = ctx.knobs.deadline_stage {
            ctx.out.set_timer(after, Timer::Deadline { op: self.id, stage: Some(self.incr) });
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
        self.alloc_cookie = Some(cookie);
        self.next_retry_at = None;
        ctx.out.send(Actor::TxAllocator, Msg::AllocateTxId { op: self.id, cookie });
        ctx.out.set_timer(ctx.knobs.allocate_timeout, Timer::AllocateTimeout { op: self.id, cookie });
    }

    pub fn on_tx_allocated(&mut self, ctx: &mut Ctx, cookie: u64, tx: Option<TxId>) {
        if self.state != OpState::Allocating || self.alloc_cookie != Some(cookie) {
            return;
        }
        self.alloc_cookie = None;
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
        for (pos, shard) in self.shards.iter_mut().enumerate() {
            if shard.status != ShardStatus::Done {
                shard.status = ShardStatus::Pending;
                shard.retry_armed = false;
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
        shard.retry_armed = false;
        let round = if ctx.knobs.request_rounds { shard.round } else { Round(0) };
        let from_key = if ctx.knobs.resume_from_last_key { shard.last_key } else { None };
        let req = TEvIncrementalRestoreRequest {
            op: self.id,
            tx,
            incr: self.incr,
            shard: shard_idx,
            stamp: Stamp { generation: ctx.generation, round },
            from_key,
        };
        ctx.out.send(Actor::DataShard(shard_idx), Msg::IncrementalRestoreRequest(req));
        if let Some(after) = ctx.knobs.shard_timeout {
            ctx.out.set_timer(after, Timer::ShardTimeout { op: self.id, shard: shard_idx, round: shard.round });
        }
        if resend {
            ctx.out.note(Note::Resent { op: self.id, shard: shard_idx, round: shard.round });
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
                let shard = &mut self.shards[pos];
                if shard.retry_armed {
                    return;
                }
                shard.retries += 1;
                shard.retry_armed = true;
                let round = shard.round;
                let delay = ctx.knobs.backoff.delay(shard.retries);
                ctx.out.set_timer(delay, Timer::ShardRetry { op: self.id, shard: shard_idx, round });
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
        self.alloc_cookie = None;
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
        ctx.out.set_timer(delay, Timer::StageRetry { op: self.id });
    }

    pub fn on_stage_retry(&mut self, ctx: &mut Ctx) {
        let due = self.next_retry_at.is_some_and(|at| at <= ctx.now);
        if self.state == OpState::Allocating && self.alloc_cookie.is_none() && due {
            ctx.out.note(Note::BackoffRetry { op: self.id });
            self.ask_allocator(ctx);
        }
    }

    pub fn on_shard_retry(&mut self, ctx: &mut Ctx, shard: ShardIdx, round: Round) {
        let Some(pos) = self.position(shard) else { return };
        let s = &self.shards[pos];
        if !self.state.is_terminal() && s.round == round && s.retry_armed && s.outstanding() {
            ctx.out.note(Note::BackoffRetry { op: self.id });
            if self.shards[pos].status == ShardStatus::Accepted {
                self.accepted -= 1;
            }
            self.send_request(ctx, pos);
        }
    }

    pub fn on_shard_timeout(&mut self, ctx: &mut Ctx, shard: ShardIdx, round: Round) {
        let (Some(pos), Some(timeout)) = (self.position(shard), ctx.knobs.shard_timeout) else { return };
        let s = self.shards[pos];
        if self.state.is_terminal() || s.round != round || !s.outstanding() || s.retry_armed {
            return;
        }
        let quiet_for = ctx.now.saturating_sub(s.last_heard);
        if quiet_for >= timeout {
            self.on_shard_failure(ctx, pos);
        } else {
            ctx.out.set_timer(timeout - quiet_for, Timer::ShardTimeout { op: self.id, shard, round });
        }
    }

    pub fn on_deadline(&mut self, ctx: &mut Ctx, stage: Option<IncrIdx>) {
        if self.state.is_terminal() || stage.is_some_and(|s| s != self.incr) {
            return;
        }
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
        // A Failed operation waits for nothing: an allocation still marked
        // outstanding would be retried when the TxAllocator's pipe resets,
        // moving Failed back to Allocating (found by the configuration
        // swarm: a stage deadline passing while Allocating).
        self.alloc_cookie = None;
        self.set_state(ctx, OpState::Failed);
        ctx.out.note(Note::OpFinished { op: self.id, status, issues });
    }
}
