//! Messages between actors. Names follow YDB's events where one exists
//! (`TEvIncrementalRestoreRequest`/`Response`).

use crate::ids::{IncrIdx, Key, OperationId, RequestKey, ShardIdx, Stamp, TxId};
use crate::progress::ProgressReport;

/// An actor's address. The engine maps these to its own node ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Actor {
    Client,
    SchemeShard,
    TxAllocator,
    DataShard(ShardIdx),
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Client => f.write_str("Client"),
            Actor::SchemeShard => f.write_str("SchemeShard"),
            Actor::TxAllocator => f.write_str("TxAllocator"),
            Actor::DataShard(s) => write!(f, "DataShard{}", s.0),
        }
    }
}

/// Why MultiIncrementalRestore was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectStatus {
    /// The table does not exist.
    PathDoesNotExist,
    /// Empty chain, unordered chain, a gap, or an incremental that does not exist.
    BadRequest,
    /// A restore of this table is already running.
    MultipleModifications,
}

/// The answer to a DROP (YDB's `StatusSuccess`, `StatusMultipleModifications`,
/// `StatusPathDoesNotExist`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropStatus {
    Dropped,
    /// A restore holds the path, or another operation on it is in flight.
    MultipleModifications,
    /// Dropped already.
    PathDoesNotExist,
}

/// Why Forget was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ForgetStatus {
    Forgotten,
    NotFound,
    StillRunning,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TEvIncrementalRestoreRequest {
    pub op: OperationId,
    pub tx: TxId,
    pub incr: IncrIdx,
    pub shard: ShardIdx,
    /// The coordinator's generation and this shard's request round.
    pub stamp: Stamp,
    /// Last key the coordinator knows as durably applied (exclusive resume
    /// point); `None` = from the start of the shard's range.
    pub from_key: Option<Key>,
}

/// What a DataShard reports about one incremental.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ResponseStatus {
    /// The request is durably accepted; applying starts.
    Accepted,
    /// A batch is durably applied up to `last_key`.
    Progress,
    /// The whole incremental is durably applied on this shard.
    Done,
    /// The shard cannot go on. `retriable` errors are retried by the coordinator.
    Error { retriable: bool, issue: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TEvIncrementalRestoreResponse {
    pub op: OperationId,
    pub incr: IncrIdx,
    pub shard: ShardIdx,
    /// Echo of the request's stamp this answer belongs to.
    pub stamp: Stamp,
    pub status: ResponseStatus,
    pub last_key: Option<Key>,
    pub rows_applied: u64,
    /// Changes of this incremental in the shard's range (0 until known).
    pub rows_total: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    // Client → SchemeShard.
    MultiIncrementalRestore {
        key: RequestKey,
        table: String,
        backups: Vec<IncrIdx>,
    },
    GetProgress {
        op: OperationId,
        with_shards: bool,
    },
    Forget {
        op: OperationId,
    },
    // SchemeShard → Client.
    RestoreAccepted {
        key: RequestKey,
        op: OperationId,
    },
    RestoreRejected {
        key: RequestKey,
        status: RejectStatus,
        issues: String,
    },
    /// `report` is `None` when the operation is unknown (or forgotten).
    Progress {
        op: OperationId,
        report: Option<Box<ProgressReport>>,
    },
    ForgetResult {
        op: OperationId,
        status: ForgetStatus,
    },
    // SchemeShard ↔ TxAllocator.
    AllocateTxId {
        op: OperationId,
        cookie: u64,
    },
    TxIdAllocated {
        op: OperationId,
        cookie: u64,
        /// `None`: the allocator had nothing to give; ask again later.
        tx: Option<TxId>,
    },
    // SchemeShard ↔ DataShard.
    IncrementalRestoreRequest(TEvIncrementalRestoreRequest),
    IncrementalRestoreResponse(TEvIncrementalRestoreResponse),
    // The YDB flavour (`crate::ydb`), last so the derived hash of the
    // variants above, and every golden trace hash, stays.
    /// SchemeShard → source DataShard.
    IncrementalRestoreSrcCreateRequest(crate::ydb::SrcCreateRequest),
    /// Source DataShard → SchemeShard.
    IncrementalRestoreShardProgress(crate::ydb::ShardProgress),
    /// Source DataShard → destination DataShard (change exchange).
    ApplyChangeRecords(crate::ydb::ApplyRecords),
    /// Destination DataShard → source DataShard.
    ChangeRecordsStatus(crate::ydb::RecordsStatus),
    // The YDB flavour's DROP (`crate::ydb::path_state`, `crate::ydb::pipe`).
    /// Client → SchemeShard: DROP TABLE or DROP BACKUP COLLECTION.
    DropPath {
        path: crate::ydb::path_state::SchemePath,
    },
    /// SchemeShard → Client: the drop's outcome.
    DropResult {
        path: crate::ydb::path_state::SchemePath,
        status: DropStatus,
    },
    /// SchemeShard → source DataShard: drop your part of the backup
    /// tables (the drop's `TEvProposeTransaction`).
    DropBackupTable {
        shard: ShardIdx,
        generation: crate::ids::Generation,
    },
    /// Source DataShard → SchemeShard: `TEvSchemaChanged`, the shard's part
    /// of the drop is done; sent over the DataShard's SchemeShard pipe.
    SchemaChanged {
        shard: ShardIdx,
    },
    /// SchemeShard → source DataShard: `TEvSchemaChangedResult`, the
    /// completion is durable; stop re-sending it.
    SchemaChangedResult {
        shard: ShardIdx,
    },
}

impl Msg {
    /// Short name for traces and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::MultiIncrementalRestore { .. } => "MultiIncrementalRestore",
            Msg::GetProgress { .. } => "GetProgress",
            Msg::Forget { .. } => "Forget",
            Msg::RestoreAccepted { .. } => "RestoreAccepted",
            Msg::RestoreRejected { .. } => "RestoreRejected",
            Msg::Progress { .. } => "Progress",
            Msg::ForgetResult { .. } => "ForgetResult",
            Msg::AllocateTxId { .. } => "AllocateTxId",
            Msg::TxIdAllocated { .. } => "TxIdAllocated",
            Msg::IncrementalRestoreRequest(_) => "TEvIncrementalRestoreRequest",
            Msg::IncrementalRestoreResponse(_) => "TEvIncrementalRestoreResponse",
            Msg::IncrementalRestoreSrcCreateRequest(_) => "TEvIncrementalRestoreSrcCreateRequest",
            Msg::IncrementalRestoreShardProgress(_) => "TEvIncrementalRestoreShardProgress",
            Msg::ApplyChangeRecords(_) => "TEvApplyRecords",
            Msg::ChangeRecordsStatus(_) => "TEvStatus",
            Msg::DropPath { .. } => "DropPath",
            Msg::DropResult { .. } => "DropResult",
            Msg::DropBackupTable { .. } => "DropBackupTable",
            Msg::SchemaChanged { .. } => "TEvSchemaChanged",
            Msg::SchemaChangedResult { .. } => "TEvSchemaChangedResult",
        }
    }
}
