//! TTxInit: SchemeShard's boot. Rebuilds every operation's in-memory context
//! from the three durable tables and resumes the non-terminal ones from
//! their persisted state and incremental (docs/design.md §4.5):
//! - Allocating: re-ask the TxAllocator, or re-arm the backoff timer from
//!   `NextRetryAt`;
//! - Proposing, Waiting, Applying: re-send the stage's request, under the new
//!   generation, to every shard not Done, from the LastKey persisted for it;
//! - a stage whose shards are all Done moves on (the crash came between the
//!   last shard's Done and the state change).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::SchemeShard;
use super::long_op::{Ctx, LongIncrementalRestoreOp};
use super::op_state::{OpVolatile, ShardProgress};
use super::op_timers::OpTimer;
use super::schema::{PersistedShardStatus, SchemeShardDb, ShardProgressRow};
use crate::ids::{Generation, Micros, Round};
use crate::knobs::{Bug, ProtocolKnobs};
use crate::msg::Actor;
use crate::note::Note;
use crate::outbox::{Outbox, Timer};
use crate::progress::{OpState, ShardStatus};
use crate::workload::Workload;

impl SchemeShard {
    pub fn boot(
        workload: Arc<Workload>,
        knobs: Arc<ProtocolKnobs>,
        db: &SchemeShardDb,
        generation: Generation,
        now: Micros,
        out: &mut Outbox,
    ) -> SchemeShard {
        let mut ss = SchemeShard {
            generation,
            workload,
            knobs,
            next_op: db.next_operation_id,
            next_cookie: 0,
            ops: BTreeMap::new(),
            running: BTreeMap::new(),
            by_key: BTreeMap::new(),
        };
        for (id, operation) in &db.operations {
            let Some(state) = db.states.get(id) else { continue };
            let spec = ss.workload.topology.table(operation.table).expect("persisted table exists");
            // The op's durable state is its rows, read as they are; the
            // volatile part starts empty and the counters follow the
            // statuses set here.
            let mut op = LongIncrementalRestoreOp {
                id: *id,
                table: operation.table,
                first_shard: spec.shards[0],
                incrementals: operation.backups.len() as u32,
                row: state.clone(),
                shards: vec![ShardProgress::pending(state.incr, Round(0)); spec.shards.len()],
                volatile: OpVolatile::default(),
            };
            for (shard, row) in db.shard_rows(*id) {
                let pos = (shard.0 - spec.shards[0].0) as usize;
                if row.incr != state.incr {
                    // A row of an earlier incremental reads as Pending; its
                    // round carries on.
                    op.shards[pos].row.round = row.round;
                    continue;
                }
                op.shards[pos].row = ShardProgressRow { status: PersistedShardStatus::InProgress, ..*row };
                if row.status == PersistedShardStatus::Done {
                    op.set_status(pos, ShardStatus::Done);
                }
            }
            op.assert_counters();
            ss.by_key.insert(operation.key, *id);
            if !op.row.state.is_terminal() {
                ss.running.insert(op.table, *id);
            }
            ss.ops.insert(*id, op);
        }
        out.note(Note::Booted { actor: Actor::SchemeShard });
        let resume: Vec<_> = ss.running.values().copied().collect();
        for id in resume {
            ss.with_op(now, out, id, |op, ctx| op.resume(ctx));
        }
        ss
    }
}

impl LongIncrementalRestoreOp {
    fn resume(&mut self, ctx: &mut Ctx) {
        let overall = ctx.knobs.deadline_overall.map(|d| self.row.started_at + d);
        let stage_start = if ctx.knobs.bugs.has(Bug::StageDeadlineFromOpStart) {
            self.row.started_at
        } else {
            self.row.stage_started_at
        };
        let stage = ctx.knobs.deadline_stage.map(|d| stage_start + d);
        let (id, now) = (self.id, ctx.now);
        if let Some(at) = overall {
            let timer = Timer::Deadline { op: id, stage: None };
            self.volatile.timers.arm(ctx.out, now, at.saturating_sub(now), OpTimer::DeadlineOverall, timer);
        }
        if let Some(at) = stage {
            let timer = Timer::Deadline { op: id, stage: Some(self.row.incr) };
            self.volatile.timers.arm(ctx.out, now, at.saturating_sub(now), OpTimer::DeadlineStage, timer);
        }
        match (self.row.state, self.row.tx) {
            (OpState::Allocating, _) | (_, None) => match self.row.next_retry_at {
                Some(at) if at > now => {
                    let timer = Timer::StageRetry { op: id };
                    self.volatile.timers.arm(ctx.out, now, at - now, OpTimer::StageRetry, timer);
                }
                _ => self.ask_allocator(ctx),
            },
            _ => self.propose(ctx),
        }
    }
}
