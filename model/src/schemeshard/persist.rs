//! What SchemeShard persists, in one place (docs/design.md §4.4):
//!
//! | transition                              | writes                                      |
//! |-----------------------------------------|---------------------------------------------|
//! | MultiIncrementalRestore accepted        | NextOperationId, Operation, State(Allocating, incr 1) |
//! | any state change (Allocating, Proposing with its TxId, Waiting, Applying, Done, Failed with status and issues) | State |
//! | stage retry scheduled                   | State (RetryCount, NextRetryAt)             |
//! | shard Progress (`progress_persist = EveryBatch`) | ShardProgress (LastKey, Round, rows) |
//! | shard Done                              | ShardProgress (Done)                        |
//! | next incremental                        | State (CurrentIncrementalIdx + 1, Allocating); old shard rows read as Pending |
//! | Forget                                  | Erase                                       |
//!
//! Not persisted: request rounds between progress writes (a restarted
//! coordinator has a new generation, which outranks every old round), the
//! in-flight queue and timers (rebuilt by `recovery.rs`).

use super::long_op::{Ctx, LongIncrementalRestoreOp};
use super::schema::{PersistedShardStatus, SchemeShardWrite, ShardProgressRow, StateRow};
use crate::progress::ShardStatus;

impl LongIncrementalRestoreOp {
    pub fn state_row(&self) -> StateRow {
        StateRow {
            state: self.state,
            incr: self.incr,
            tx: self.tx_id,
            retry_count: self.retry_count,
            next_retry_at: self.next_retry_at,
            started_at: self.started_at,
            stage_started_at: self.stage_started_at,
            final_status: self.final_status,
            final_issues: self.final_issues.clone(),
        }
    }

    pub fn persist_state(&self, ctx: &mut Ctx) {
        ctx.tx.writes.push(SchemeShardWrite::State(self.id, self.state_row()));
    }

    pub fn persist_shard(&self, ctx: &mut Ctx, pos: usize) {
        let s = &self.shards[pos];
        let status =
            if s.status == ShardStatus::Done { PersistedShardStatus::Done } else { PersistedShardStatus::InProgress };
        let row = ShardProgressRow {
            incr: self.incr,
            status,
            last_key: s.last_key,
            round: s.round,
            rows_applied: s.rows_applied,
            rows_total: s.rows_total,
        };
        let shard = crate::ids::ShardIdx(self.first_shard.0 + pos as u32);
        ctx.tx.writes.push(SchemeShardWrite::ShardProgress(self.id, shard, row));
    }
}
