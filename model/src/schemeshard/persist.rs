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
use super::schema::SchemeShardWrite;

impl LongIncrementalRestoreOp {
    /// The op's state row is persisted as it is in memory: there is no
    /// second copy to keep in step.
    pub fn persist_state(&self, ctx: &mut Ctx) {
        first_write(ctx);
        ctx.tx.writes.push(SchemeShardWrite::State(self.id, self.row.clone()));
    }

    /// A shard's row is persisted as it is in memory (it belongs to the
    /// current incremental).
    pub fn persist_shard(&self, ctx: &mut Ctx, pos: usize) {
        let row = self.shards[pos].row;
        assert_eq!(row.incr, self.row.incr, "a shard row in memory belongs to the current incremental");
        let shard = crate::ids::ShardIdx(self.first_shard.0 + pos as u32);
        first_write(ctx);
        ctx.tx.writes.push(SchemeShardWrite::ShardProgress(self.id, shard, row));
    }
}

/// Most transactions write one row: room for exactly one, where a first
/// `push` would leave room for four (a commit waits in the engine's queue
/// for its latency; at a million shards the slack was ~300 bytes a shard).
fn first_write(ctx: &mut Ctx) {
    if ctx.tx.writes.capacity() == 0 {
        ctx.tx.writes.reserve_exact(1);
    }
}
