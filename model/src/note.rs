//! Notes: what a model tells the harness happened, for the short log,
//! coverage goals and fault triggers. Notes never drive safety checks, which
//! read durable state and messages instead (a buggy model could lie in notes).

use crate::ids::{IncrIdx, Key, OperationId, Round, ShardIdx, Stamp, TableId};
use crate::msg::{Actor, RejectStatus};
use crate::progress::{FinalStatus, OpState};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Note {
    /// The coordinator moved an operation to a new state.
    OpState { op: OperationId, table: TableId, incr: IncrIdx, state: OpState },
    /// An operation ended.
    OpFinished { op: OperationId, status: FinalStatus, issues: String },
    /// MultiIncrementalRestore was refused.
    Rejected { status: RejectStatus },
    /// A duplicate MultiIncrementalRestore got the existing OperationId.
    DuplicateRequestAnswered { op: OperationId },
    /// A message with an old generation or round was dropped.
    StaleDropped { at: Actor, stamp: Stamp },
    /// A DataShard committed a batch (`batches` counts them for this incremental).
    BatchApplied { shard: ShardIdx, op: OperationId, incr: IncrIdx, batches: u32, last_key: Option<Key> },
    /// A DataShard started applying after a key it had durably applied before.
    ResumedFromLastKey { shard: ShardIdx, key: Key },
    /// A DataShard answered Done again for an incremental it had finished.
    DoneAgain { shard: ShardIdx, incr: IncrIdx },
    /// The coordinator re-sent a request (`round` is the new one).
    Resent { op: OperationId, shard: ShardIdx, round: Round },
    /// A retry after backoff fired.
    BackoffRetry { op: OperationId },
    /// A tablet finished booting and rebuilt its volatile state.
    Booted { actor: Actor },
    /// A YDB DataShard sent into a dead pipe to SchemeShard (`ydb::pipe`): lost.
    LostInDeadPipe { shard: ShardIdx, what: &'static str },
    /// The Client got an answer to its DROP (YDB flavour).
    DropAnswered { path: crate::ydb::path_state::SchemePath, status: crate::msg::DropStatus },
}
