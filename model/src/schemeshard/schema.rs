//! SchemeShard's local database (docs/design.md §4.4): the three tables of the
//! incremental restore, and the writes a commit may carry.
//!
//! `IncrementalRestoreShardProgress` rows carry the incremental they belong
//! to; a row of an earlier incremental reads as Pending for the current one,
//! so advancing a stage writes one state row, not one row per shard.

use std::collections::BTreeMap;

use crate::ids::{IncrIdx, Key, Micros, OperationId, RequestKey, Round, ShardIdx, TableId, TxId};
use crate::msg::{Actor, Msg};
use crate::progress::{FinalStatus, OpState};
use crate::shard_range::ShardRange;

/// `IncrementalRestoreOperations(OperationId, Table, Backups, ...)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OperationRow {
    pub key: RequestKey,
    pub table: TableId,
    pub backups: Vec<IncrIdx>,
}

/// `IncrementalRestoreState(OperationId, State, CurrentIncrementalIdx, TxId,
/// RetryCount, NextRetryAt, StartedAt, StageStartedAt, FinalStatus, FinalIssues)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StateRow {
    pub state: OpState,
    pub incr: IncrIdx,
    pub tx: Option<TxId>,
    pub retry_count: u32,
    pub next_retry_at: Option<Micros>,
    pub started_at: Micros,
    pub stage_started_at: Micros,
    pub final_status: Option<FinalStatus>,
    pub final_issues: String,
}

/// Persisted shard status: what survives a coordinator restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PersistedShardStatus {
    InProgress,
    Done,
}

/// `IncrementalRestoreShardProgress(OperationId, ShardIdx, Status, LastKey,
/// Round)`, plus the row counts GetProgress needs for its percent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShardProgressRow {
    pub incr: IncrIdx,
    pub status: PersistedShardStatus,
    pub last_key: Option<Key>,
    pub round: Round,
    pub rows_applied: u64,
    pub rows_total: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SchemeShardWrite {
    NextOperationId(u64),
    Operation(OperationId, OperationRow),
    State(OperationId, StateRow),
    ShardProgress(OperationId, ShardIdx, ShardProgressRow),
    /// Forget: erase every row of the operation.
    Erase(OperationId),
}

/// One local transaction's writes, and what to do once they are durable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SchemeShardCommit {
    pub writes: Vec<SchemeShardWrite>,
    /// Answers that must not leave before the writes are durable.
    pub replies: Vec<(Actor, Msg)>,
    /// Operations to start once their records are durable.
    pub start_ops: Vec<OperationId>,
}

impl SchemeShardCommit {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.replies.is_empty() && self.start_ops.is_empty()
    }

    pub fn apply(&self, db: &mut SchemeShardDb) {
        for write in &self.writes {
            db.apply(write);
        }
    }
}

/// Durable: SchemeShard's local database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemeShardDb {
    pub next_operation_id: u64,
    pub operations: BTreeMap<OperationId, OperationRow>,
    pub states: BTreeMap<OperationId, StateRow>,
    /// `IncrementalRestoreShardProgress`, per operation: a dense vector
    /// over its table's (contiguous) shards, not one map entry per
    /// `(operation, shard)` (~100 bytes a shard in a `BTreeMap`).
    pub shard_progress: BTreeMap<OperationId, OpShardRows>,
}

/// One operation's `IncrementalRestoreShardProgress` rows, dense over its
/// table's shards (`None` where no row was written), read back in shard
/// order whatever order they were written in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpShardRows(ShardRange<Option<ShardProgressRow>>);

impl OpShardRows {
    pub fn insert(&mut self, shard: ShardIdx, row: ShardProgressRow) {
        *self.0.entry(shard) = Some(row);
    }

    /// `shard`'s row, not read (a commit's write lands there; the engine's
    /// prefetch pipeline hints it, see `crate::prefetch`).
    #[inline]
    pub(crate) fn addr(&self, shard: ShardIdx) -> *const Option<ShardProgressRow> {
        self.0.addr(shard)
    }

    /// The rows written, in shard order.
    pub fn iter(&self) -> impl Iterator<Item = (ShardIdx, &ShardProgressRow)> {
        self.0.iter().filter_map(|(shard, row)| Some((shard, row.as_ref()?)))
    }
}

impl Default for SchemeShardDb {
    fn default() -> Self {
        SchemeShardDb {
            next_operation_id: 1,
            operations: BTreeMap::new(),
            states: BTreeMap::new(),
            shard_progress: BTreeMap::new(),
        }
    }
}

impl SchemeShardDb {
    pub fn apply(&mut self, write: &SchemeShardWrite) {
        match write {
            SchemeShardWrite::NextOperationId(next) => {
                assert!(*next >= self.next_operation_id, "operation ids only grow");
                self.next_operation_id = *next;
            }
            SchemeShardWrite::Operation(op, row) => {
                self.operations.insert(*op, row.clone());
            }
            SchemeShardWrite::State(op, row) => {
                self.states.insert(*op, row.clone());
            }
            SchemeShardWrite::ShardProgress(op, shard, row) => {
                self.shard_progress.entry(*op).or_default().insert(*shard, *row);
            }
            SchemeShardWrite::Erase(op) => {
                self.operations.remove(op);
                self.states.remove(op);
                self.shard_progress.remove(op);
            }
        }
    }

    /// The shard progress rows of one operation, in shard order.
    pub fn shard_rows(&self, op: OperationId) -> impl Iterator<Item = (ShardIdx, &ShardProgressRow)> {
        self.shard_progress.get(&op).into_iter().flat_map(OpShardRows::iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(round: u32) -> ShardProgressRow {
        ShardProgressRow {
            incr: IncrIdx(1),
            status: PersistedShardStatus::InProgress,
            last_key: None,
            round: Round(round),
            rows_applied: 0,
            rows_total: 0,
        }
    }

    /// Rows written in any order (below, inside and above the range so
    /// far, and over an earlier row) read back in shard order, newest
    /// value per shard, only the shards written.
    #[test]
    fn shard_rows_read_back_in_shard_order() {
        let mut rows = OpShardRows::default();
        for (shard, round) in [(7, 1), (9, 2), (4, 3), (7, 4), (12, 5)] {
            rows.insert(ShardIdx(shard), row(round));
        }
        let read: Vec<(u32, u32)> = rows.iter().map(|(s, r)| (s.0, r.round.0)).collect();
        assert_eq!(read, [(4, 3), (7, 4), (9, 2), (12, 5)]);
    }
}
