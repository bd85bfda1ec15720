//! What one SchemeShard incarnation knows of a restore: the stage's
//! sub-operations per table and the flags YDB keeps in memory only (failed
//! tables, `RetryNeeded`), which a crash loses — the root of #40685.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::ids::{ShardIdx, TableId, TxId};
use crate::ydb::schema::{OperationRow, StateRow};

/// One table's sub-operation of the current stage attempt
/// (`TTableOperationState`), in memory only.
#[derive(Clone, Debug)]
pub(super) struct SubOp {
    pub(super) tx: TxId,
    pub(super) expected: Vec<ShardIdx>,
    pub(super) completed: BTreeSet<ShardIdx>,
    pub(super) failed: BTreeSet<ShardIdx>,
    pub(super) fatal: bool,
    /// Moved to `CompletedOperations`.
    pub(super) finished: bool,
}

impl SubOp {
    pub(super) fn reported(&self) -> usize {
        self.completed.len() + self.failed.len()
    }

    pub(super) fn terminal(&self, shard: ShardIdx) -> bool {
        self.completed.contains(&shard) || self.failed.contains(&shard)
    }
}

/// What this incarnation knows of one restore.
#[derive(Clone)]
pub(super) struct Run {
    pub(super) row: OperationRow,
    /// The state row as this incarnation last wrote (or read) it.
    pub(super) state: Option<StateRow>,
    /// Tables of the stage not dispatched yet (`PendingTables`).
    pub(super) pending: VecDeque<TableId>,
    /// Allocation cookie → table waiting for its TxId.
    pub(super) allocating: BTreeMap<u64, TableId>,
    /// The finalize step's allocation.
    pub(super) finalizing: Option<u64>,
    pub(super) subops: BTreeMap<TableId, SubOp>,
    /// In memory: which tables failed (true = non-retriable), `RetryNeeded`.
    pub(super) failed: BTreeMap<TableId, bool>,
    pub(super) retry_needed: bool,
    pub(super) heartbeat_armed: bool,
    pub(super) retry_armed: bool,
    /// A state row that changes the stage is on its way to disk: nothing
    /// goes out before it is durable.
    pub(super) resuming: bool,
}

impl Run {
    /// A restore as an incarnation first knows it: its rows, nothing in memory.
    pub(super) fn new(row: OperationRow, state: Option<StateRow>) -> Run {
        Run {
            row,
            state,
            pending: VecDeque::new(),
            allocating: BTreeMap::new(),
            finalizing: None,
            subops: BTreeMap::new(),
            failed: BTreeMap::new(),
            retry_needed: false,
            heartbeat_armed: false,
            retry_armed: false,
            resuming: false,
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Run({:?} {:?} p{:?} a{:?} f{:?} s{:?} x{:?} r{} h{} t{} u{})",
            self.row,
            self.state,
            self.pending,
            self.allocating,
            self.finalizing,
            self.subops
                .iter()
                .map(|(t, s)| (t, s.tx, &s.completed, &s.failed, s.fatal, s.finished))
                .collect::<Vec<_>>(),
            self.failed,
            self.retry_needed,
            self.heartbeat_armed,
            self.retry_armed,
            self.resuming
        )
    }
}
