//! Durable state of the YDB flavour: SchemeShard's `IncrementalRestoreOperations`
//! (the operation row) and `IncrementalRestoreState` (the state row, with
//! `SerializedData`'s completed sub-operations), and a destination
//! DataShard's `ChangeSenders` table (per source: generation, last order);
//! path states and drops (`path_state.rs`).
//! Source shards persist nothing about a restore.

use std::collections::{BTreeMap, BTreeSet};

use crate::data::{Change, apply_change};
use crate::datashard::DataShardDb;
use crate::ids::{Generation, IncrIdx, Key, Micros, OperationId, RequestKey, ShardIdx, TableId, TxId};
use crate::msg::Msg;
use crate::progress::FinalStatus;
use crate::ydb::EndStatus;
use crate::ydb::path_state::{DropRow, PathRow, SchemePath};

/// `TIncrementalRestoreState::EState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum YdbState {
    Running,
    Finalizing,
    Completed,
    Failed,
}

impl YdbState {
    pub fn is_terminal(self) -> bool {
        matches!(self, YdbState::Completed | YdbState::Failed)
    }
}

/// `IncrementalRestoreOperations`: written when the restore is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OperationRow {
    pub key: RequestKey,
    /// The backup collection's tables (the first is the one the Client named).
    pub tables: Vec<TableId>,
    pub incrementals: u32,
}

/// `IncrementalRestoreState`: written by the orchestrator, later than the
/// operation row (a crash between them leaves an orphaned operation).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StateRow {
    pub state: YdbState,
    /// `CurrentIncrementalIdx`: incrementals fully restored (0-based stage).
    pub idx: u32,
    pub started_at: Micros,
    pub stage_started_at: Micros,
    /// `CompletedOperations` of the stage (from `SerializedData`): tables
    /// whose sub-operation heard from every source shard, success or not.
    pub completed: BTreeSet<TableId>,
    /// The stage's `IncrementalRestoreItem` rows (with `ShardDispatchByOp`):
    /// tables taken from the pending queue, with their sub-operation's TxId
    /// once allocated (`WaitTxId`, `None` = 0). After a restart an item
    /// without a TxId asks the TxAllocator again, one with a TxId not
    /// completed is sent again.
    pub dispatched: BTreeMap<TableId, Option<TxId>>,
    /// Tables whose sub-operation had `FailedShards` (true: non-retriable).
    /// Not persisted before the fix of #40685 (`Bug::Ydb40685`).
    pub failed: BTreeMap<TableId, bool>,
    /// `FailedShards` of the stage's sub-operations, per table: the source
    /// shards whose scan failed, and whether a failure was non-retriable.
    /// The fix of #40685 writes them in the shard-report transaction, so a
    /// restart re-sends only to the shards that did not fail and the
    /// failure still decides the stage; before it (`Bug::Ydb40685`) they
    /// are never written and a restart forgets them.
    pub failed_shards: BTreeMap<TableId, (BTreeSet<ShardIdx>, bool)>,
    pub retry_needed: bool,
    /// `NextRetryAttemptAt` of a scheduled stage retry.
    pub retry_at: Option<Micros>,
    pub retries: u32,
    pub final_status: Option<FinalStatus>,
    pub issues: String,
}

impl StateRow {
    /// The row `TEvRunIncrementalRestore` writes: Running the first stage,
    /// started `now`, nothing completed, failed or retried yet.
    pub fn running(now: Micros) -> StateRow {
        StateRow {
            state: YdbState::Running,
            idx: 0,
            started_at: now,
            stage_started_at: now,
            completed: BTreeSet::new(),
            dispatched: BTreeMap::new(),
            failed: BTreeMap::new(),
            failed_shards: BTreeMap::new(),
            retry_needed: false,
            retry_at: None,
            retries: 0,
            final_status: None,
            issues: String::new(),
        }
    }
}

/// Durable: YDB SchemeShard's restore tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct YdbSchemeShardDb {
    pub next_op: u64,
    pub keys: BTreeMap<RequestKey, OperationId>,
    pub operations: BTreeMap<OperationId, OperationRow>,
    pub states: BTreeMap<OperationId, StateRow>,
    /// Path states and dropped paths (`path_state.rs`); absent = free.
    pub paths: BTreeMap<SchemePath, PathRow>,
    /// DROP BACKUP COLLECTION operations in progress.
    pub drops: BTreeMap<SchemePath, DropRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum YdbWrite {
    Operation(OperationId, OperationRow),
    State(OperationId, StateRow),
    /// FORGET: both rows and the key go.
    Erase(OperationId),
    /// A path's state (a restore's lock or its release, a drop).
    Path(SchemePath, PathRow),
    /// A drop in progress and the shards whose part is durably dropped.
    Drop(SchemePath, DropRow),
    /// The drop finished: its row goes.
    DropDone(SchemePath),
}

/// One SchemeShard transaction, and what to send once it is durable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct YdbSchemeShardCommit {
    pub writes: Vec<YdbWrite>,
    pub next_op: Option<u64>,
    pub replies: Vec<Msg>,
    /// Start the orchestrator for this operation once durable
    /// (`TEvRunIncrementalRestore` after the operation row).
    pub run: Option<OperationId>,
    /// Go on with this operation once durable (a transaction's `Complete`:
    /// YDB sends what a transaction decided only after it committed).
    pub resume: Option<OperationId>,
    /// The failure report this transaction processed
    /// (`TTxIncrementalRestoreShardProgress`): its input, not a write. The
    /// checks keep a ghost record of every failure SchemeShard took in
    /// (`invariants::ydb`), which a restart must not make it forget.
    pub report: Option<ShardReport>,
}

/// A source shard's failure report as SchemeShard took it in: which
/// restore, table (sub-operation), incremental and shard, and its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShardReport {
    pub op: OperationId,
    pub table: TableId,
    pub incr: IncrIdx,
    pub shard: ShardIdx,
    pub end: EndStatus,
}

impl YdbSchemeShardCommit {
    pub fn apply(&self, db: &mut YdbSchemeShardDb) {
        if let Some(n) = self.next_op {
            db.next_op = n;
        }
        for w in &self.writes {
            match w {
                YdbWrite::Operation(op, row) => {
                    db.keys.insert(row.key, *op);
                    db.operations.insert(*op, row.clone());
                }
                YdbWrite::State(op, row) => {
                    db.states.insert(*op, row.clone());
                }
                YdbWrite::Erase(op) => {
                    if let Some(row) = db.operations.remove(op) {
                        db.keys.remove(&row.key);
                    }
                    db.states.remove(op);
                }
                YdbWrite::Path(path, row) => {
                    db.paths.insert(*path, *row);
                }
                YdbWrite::Drop(path, row) => {
                    db.drops.insert(*path, row.clone());
                }
                YdbWrite::DropDone(path) => {
                    db.drops.remove(path);
                }
            }
        }
    }
}

/// Durable: a destination shard's `ChangeSenders` table, per
/// `(restore, origin, incremental)`: the newest origin generation seen and
/// the last record order applied. (YDB restores into a fresh copy of the
/// table each time, so its receivers start empty per restore.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiverDb {
    pub senders: BTreeMap<(OperationId, ShardIdx, IncrIdx), (Generation, u64)>,
}

/// Applying change records (`TTxApplyChangeRecords`): records at or below
/// the durable last order are skipped at apply time, so two scans of one
/// source racing each other apply each record once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct YdbReceiverCommit {
    pub op: OperationId,
    pub table: TableId,
    pub origin: ShardIdx,
    pub incr: IncrIdx,
    pub origin_generation: Generation,
    pub records: Vec<(u64, Key, Change)>,
    /// The status to send back once durable.
    pub reply: Msg,
    pub reply_to: ShardIdx,
}

impl YdbReceiverCommit {
    /// Applies the records above the durable last order; returns how many.
    pub fn apply(&self, receiver: &mut ReceiverDb, data: &mut DataShardDb) -> usize {
        let entry = receiver.senders.entry((self.op, self.origin, self.incr)).or_insert((self.origin_generation, 0));
        entry.0 = entry.0.max(self.origin_generation);
        let mut applied = 0;
        for (order, key, change) in &self.records {
            if *order > entry.1 {
                apply_change(&mut data.rows, *key, change);
                entry.1 = *order;
                applied += 1;
            }
        }
        applied
    }
}
