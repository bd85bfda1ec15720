//! SchemeShard, the coordinator tablet: validates MultiIncrementalRestore,
//! runs one LongIncrementalRestoreOp per accepted restore, answers
//! GetProgress and Forget from its durable tables.

mod long_op;
mod op_state;
mod op_timers;
mod persist;
mod recovery;
mod schema;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use long_op::LongIncrementalRestoreOp;
pub use op_state::{Counters, OpVolatile, ShardProgress};
pub use op_timers::{OpTimer, OpTimers};
pub use schema::{
    OpShardRows, OperationRow, PersistedShardStatus, SchemeShardCommit, SchemeShardDb, SchemeShardWrite,
    ShardProgressRow, StateRow,
};

use crate::ids::{Generation, IncrIdx, Micros, OperationId, RequestKey, TableId};
use crate::knobs::{Bug, ProtocolKnobs};
use crate::msg::{Actor, ForgetStatus, Msg, RejectStatus};
use crate::note::Note;
use crate::outbox::{Commit, Outbox, Timer};
use crate::progress::{self, OpState, ProgressReport, ShardReport, ShardStatus};
use crate::workload::Workload;
use long_op::Ctx;

/// Operations of up to this many shards have their redundant counters
/// asserted after every transaction; larger ones at each stage's start
/// (where the shards are walked anyway), so no event scans 100,000 shards.
pub const COUNTERS_CHECKED_ALWAYS: usize = 256;

/// Volatile: the in-memory contexts of every operation. Rebuilt from
/// `SchemeShardDb` at boot (`recovery.rs`); a crash loses it all.
#[derive(Debug)]
pub struct SchemeShard {
    pub generation: Generation,
    workload: Arc<Workload>,
    knobs: Arc<ProtocolKnobs>,
    next_op: u64,
    next_cookie: u64,
    ops: BTreeMap<OperationId, LongIncrementalRestoreOp>,
    /// The one running restore of each table.
    running: BTreeMap<TableId, OperationId>,
    /// Idempotency keys of every known operation.
    by_key: BTreeMap<RequestKey, OperationId>,
}

impl SchemeShard {
    pub fn ops(&self) -> impl Iterator<Item = &LongIncrementalRestoreOp> {
        self.ops.values()
    }

    pub fn op(&self, op: OperationId) -> Option<&LongIncrementalRestoreOp> {
        self.ops.get(&op)
    }

    /// Runs one local transaction: `f` changes memory and collects writes;
    /// the writes (and answers that wait for them) go out as one commit.
    fn transact(&mut self, now: Micros, out: &mut Outbox, f: impl FnOnce(&mut Self, &mut Ctx)) {
        let mut tx = SchemeShardCommit::default();
        let knobs = Arc::clone(&self.knobs);
        let mut next_cookie = self.next_cookie;
        let mut ctx =
            Ctx { now, generation: self.generation, knobs: &knobs, out, tx: &mut tx, next_cookie: &mut next_cookie };
        f(self, &mut ctx);
        self.next_cookie = next_cookie;
        if tx.is_empty() {
            return;
        }
        if self.knobs.bugs.has(Bug::AckBeforePersist) {
            for (to, msg) in tx.replies.drain(..) {
                out.send(to, msg);
            }
        }
        // A commit waits in the engine's queue for its latency: no slack
        // in it (`persist.rs` reserves one write, so this is rarely a copy).
        tx.writes.shrink_to_fit();
        tx.replies.shrink_to_fit();
        out.commit(Commit::SchemeShard(tx));
    }

    pub fn on_message(&mut self, db: &SchemeShardDb, now: Micros, from: Actor, msg: Msg, out: &mut Outbox) {
        match msg {
            Msg::MultiIncrementalRestore { key, table, backups } => {
                self.transact(now, out, |ss, ctx| ss.on_restore(ctx, from, key, &table, backups));
            }
            Msg::GetProgress { op, with_shards } => {
                let report = self.progress(db, op, with_shards).map(Box::new);
                out.send(from, Msg::Progress { op, report });
            }
            Msg::Forget { op } => self.transact(now, out, |ss, ctx| ss.on_forget(ctx.tx, from, op)),
            Msg::TxIdAllocated { op, cookie, tx } => {
                self.with_op(now, out, op, |o, ctx| o.on_tx_allocated(ctx, cookie, tx));
            }
            Msg::IncrementalRestoreResponse(resp) => {
                let op = resp.op;
                self.with_op(now, out, op, |o, ctx| o.on_response(ctx, resp));
            }
            _ => {}
        }
    }

    fn with_op(
        &mut self,
        now: Micros,
        out: &mut Outbox,
        op: OperationId,
        f: impl FnOnce(&mut LongIncrementalRestoreOp, &mut Ctx),
    ) {
        self.transact(now, out, |ss, ctx| {
            let Some(o) = ss.ops.get_mut(&op) else { return };
            let was_terminal = o.row.state.is_terminal();
            f(o, ctx);
            if o.shards.len() <= COUNTERS_CHECKED_ALWAYS {
                o.assert_counters();
            }
            if !was_terminal && o.row.state.is_terminal() {
                ss.running.remove(&o.table);
            }
        });
    }

    /// MultiIncrementalRestore: validate, persist, answer with the
    /// OperationId once durable, then start the LongIncrementalRestoreOp.
    fn on_restore(&mut self, ctx: &mut Ctx, from: Actor, key: RequestKey, table: &str, backups: Vec<IncrIdx>) {
        if let Some(&op) = self.by_key.get(&key) {
            // An empty commit still waits for the earlier ones, so the
            // duplicate is answered only once the operation is durable.
            ctx.out.note(Note::DuplicateRequestAnswered { op });
            ctx.tx.replies.push((from, Msg::RestoreAccepted { key, op }));
            return;
        }
        let reject = |ctx: &mut Ctx, status: RejectStatus, issues: String| {
            ctx.out.note(Note::Rejected { status });
            ctx.out.send(from, Msg::RestoreRejected { key, status, issues });
        };
        let Some(spec) = self.workload.topology.table_by_name(table) else {
            return reject(ctx, RejectStatus::PathDoesNotExist, format!("table '{table}' does not exist"));
        };
        if let Err(issue) = validate_chain(&backups, self.workload.chain(spec.id).len()) {
            return reject(ctx, RejectStatus::BadRequest, issue);
        }
        if let Some(running) = self.running.get(&spec.id) {
            let issue = format!("table '{table}' is being restored by operation {}", running.0);
            return reject(ctx, RejectStatus::MultipleModifications, issue);
        }
        let id = OperationId(self.next_op);
        self.next_op += 1;
        let op = LongIncrementalRestoreOp {
            id,
            table: spec.id,
            first_shard: spec.shards[0],
            incrementals: backups.len() as u32,
            row: StateRow {
                state: OpState::Allocating,
                incr: IncrIdx(1),
                tx: None,
                retry_count: 0,
                next_retry_at: None,
                started_at: ctx.now,
                stage_started_at: ctx.now,
                final_status: None,
                final_issues: String::new(),
            },
            shards: vec![ShardProgress::pending(IncrIdx(1), crate::ids::Round(0)); spec.shards.len()],
            volatile: OpVolatile::default(),
        };
        let tx = &mut *ctx.tx;
        tx.writes.push(SchemeShardWrite::NextOperationId(self.next_op));
        tx.writes.push(SchemeShardWrite::Operation(id, OperationRow { key, table: spec.id, backups }));
        tx.writes.push(SchemeShardWrite::State(id, op.row.clone()));
        tx.replies.push((from, Msg::RestoreAccepted { key, op: id }));
        tx.start_ops.push(id);
        ctx.out.note(Note::OpState { op: id, table: spec.id, incr: op.row.incr, state: op.row.state });
        self.running.insert(spec.id, id);
        self.by_key.insert(key, id);
        self.ops.insert(id, op);
    }

    fn on_forget(&mut self, tx: &mut SchemeShardCommit, from: Actor, op: OperationId) {
        let status = match self.ops.get(&op) {
            None => ForgetStatus::NotFound,
            Some(o) if !o.row.state.is_terminal() => ForgetStatus::StillRunning,
            Some(_) => ForgetStatus::Forgotten,
        };
        if status == ForgetStatus::Forgotten {
            let o = self.ops.remove(&op).expect("checked above");
            self.by_key.retain(|_, v| *v != o.id);
            tx.writes.push(SchemeShardWrite::Erase(op));
        }
        tx.replies.push((from, Msg::ForgetResult { op, status }));
    }

    /// GetProgress reads the durable tables only, so it never claims more than
    /// is persisted (invariant 8). O(shards of the op) per call: it is a
    /// poll, not a per-event cost.
    pub fn progress(&self, db: &SchemeShardDb, op: OperationId, with_shards: bool) -> Option<ProgressReport> {
        let state = db.states.get(&op)?;
        let operation = db.operations.get(&op)?;
        let incrementals = operation.backups.len() as u32;
        let mut report = ProgressReport {
            op,
            state: state.state,
            incr: state.incr,
            incrementals,
            shards_done: 0,
            shards_total: 0,
            rows_applied: 0,
            percent_bp: 0,
            shards: Vec::new(),
            final_status: state.final_status,
            issues: state.final_issues.clone(),
        };
        let mut bp_sum = 0;
        for (shard, row) in db.shard_rows(op) {
            let current = row.incr == state.incr;
            let done = current && row.status == PersistedShardStatus::Done;
            if current {
                report.shards_done += u32::from(done);
                report.rows_applied += row.rows_applied;
                bp_sum += progress::shard_bp(done, row.rows_applied, row.rows_total);
            }
            if with_shards {
                let status = if done { ShardStatus::Done } else { ShardStatus::Pending };
                report.shards.push(ShardReport { shard, status, last_key: row.last_key.filter(|_| current) });
            }
        }
        report.shards_total = self.workload.topology.table(operation.table).map_or(0, |t| t.shards.len() as u32);
        let done_incrementals = if state.state == OpState::Done { incrementals } else { state.incr.0 - 1 };
        report.percent_bp = if state.state == OpState::Done {
            progress::FULL_BP as u32
        } else {
            progress::percent_bp(done_incrementals, incrementals, report.shards_total, bp_sum)
        };
        Some(report)
    }

    /// A timer fired. The one place a stale firing is dropped: a timer
    /// acts only while its operation's table still holds it (`timers.rs`),
    /// so no handler re-checks cookies, rounds or due times.
    pub fn on_timer(&mut self, now: Micros, timer: Timer, out: &mut Outbox) {
        if let Timer::ShardTimers { op } = timer {
            return self.on_shard_timers(now, op, out);
        }
        let Some((op, slot)) = OpTimer::of(&timer) else { return };
        let Some(o) = self.ops.get_mut(&op) else { return };
        if !o.volatile.timers.take_fired(slot, &timer, now) {
            return;
        }
        self.with_op(now, out, op, |o, ctx| match timer {
            Timer::AllocateTimeout { .. } => o.on_allocate_timeout(ctx),
            Timer::StageRetry { .. } => o.on_stage_retry(ctx),
            Timer::Deadline { stage, .. } => o.on_deadline(ctx, stage),
            other => unreachable!("{other:?} is not an operation-wide timer"),
        });
    }

    /// An operation's `ShardTimers` fired: each shard timer due now acts,
    /// in its own transaction (as when each was an engine timer of its
    /// own), if an earlier one's handler did not cancel it; then the next
    /// `ShardTimers` is armed for the earliest shard timer left.
    fn on_shard_timers(&mut self, now: Micros, op: OperationId, out: &mut Outbox) {
        let Some(o) = self.ops.get_mut(&op) else { return };
        for (slot, at) in o.volatile.timers.fire_shards(now) {
            let Some(o) = self.ops.get_mut(&op) else { return };
            let Some(timer) = o.volatile.timers.take_shard(op, slot, at) else { continue };
            self.with_op(now, out, op, |o, ctx| match timer {
                Timer::ShardRetry { shard, round, .. } => o.on_shard_retry(ctx, shard, round),
                Timer::ShardTimeout { shard, round, .. } => o.on_shard_timeout(ctx, shard, round),
                other => unreachable!("{other:?} is not a shard timer"),
            });
        }
        if let Some(o) = self.ops.get_mut(&op) {
            o.volatile.timers.rearm(out, now, op);
        }
    }

    /// A pipe to `peer` broke: whatever we sent there may be lost.
    pub fn on_pipe_reset(&mut self, now: Micros, peer: Actor, out: &mut Outbox) {
        match peer {
            Actor::DataShard(shard) => {
                if self.knobs.bugs.has(Bug::NoRetryOnPipeReset) {
                    return;
                }
                let table = self.workload.topology.shard(shard).table;
                let Some(&op) = self.running.get(&table) else { return };
                self.with_op(now, out, op, |o, ctx| {
                    if let Some(pos) = o.position(shard) {
                        o.on_shard_failure(ctx, pos);
                    }
                });
            }
            Actor::TxAllocator => {
                let waiting: Vec<OperationId> =
                    self.ops.values().filter(|o| o.alloc_cookie().is_some()).map(|o| o.id).collect();
                for op in waiting {
                    // The allocation may be lost: retry the stage (which
                    // cancels its AllocateTimeout).
                    self.with_op(now, out, op, |o, ctx| o.schedule_stage_retry(ctx));
                }
            }
            Actor::Client | Actor::SchemeShard => {}
        }
    }

    pub fn on_committed(&mut self, now: Micros, commit: SchemeShardCommit, out: &mut Outbox) {
        for (to, msg) in commit.replies {
            out.send(to, msg);
        }
        for op in commit.start_ops {
            self.with_op(now, out, op, |o, ctx| {
                if let Some(after) = ctx.knobs.deadline_overall {
                    let timer = Timer::Deadline { op: o.id, stage: None };
                    o.volatile.timers.arm(ctx.out, ctx.now, after, OpTimer::DeadlineOverall, timer);
                }
                o.start_stage(ctx);
            });
        }
    }
}

/// A chain must be non-empty, strictly increasing, start at 1 with no gap,
/// and name only incrementals that exist.
fn validate_chain(backups: &[IncrIdx], available: u32) -> Result<(), String> {
    if backups.is_empty() {
        return Err("the backup chain is empty".into());
    }
    for (pos, b) in backups.iter().enumerate() {
        let expected = pos as u32 + 1;
        if b.0 != expected {
            return Err(format!(
                "the backup chain is unordered or has a gap: position {} holds incremental {}, expected {expected}",
                pos + 1,
                b.0
            ));
        }
        if b.0 > available {
            return Err(format!("incremental {} does not exist (the table has {available})", b.0));
        }
    }
    Ok(())
}
