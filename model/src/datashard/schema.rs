//! DataShard's local database: its rows, and per `(OperationId, IncrIdx)` the
//! restore progress, committed atomically with each batch of rows.

use super::rows::ShardRows;
use crate::batch::ChangeBatch;
use std::hash::{Hash, Hasher};

use crate::ids::{IncrIdx, Key, OperationId, ShardIdx, Stamp};
use crate::msg::{ResponseStatus, TEvIncrementalRestoreResponse};
use crate::sorted_map::SortedMap;

/// Durable progress of one incremental on one shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct IncrementalProgress {
    pub done: bool,
    /// Last key durably applied; `None` = nothing yet.
    pub last_key: Option<Key>,
    pub rows_applied: u64,
    /// Changes of this incremental in the shard's range (0 until first read).
    pub rows_total: u64,
    /// Newest request stamp accepted. Older stamps are stale.
    pub accepted: Stamp,
    /// Batches committed, for triggers and plots.
    pub batches: u32,
}

/// Durable: the DataShard's local database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataShardDb {
    /// An overlay on the shared full backup: only changed keys are stored.
    pub rows: ShardRows,
    /// One record per (operation, incremental) the shard was asked for: a
    /// sorted vector, not a `BTreeMap`, whose first insert would allocate a
    /// whole tree node per shard (see `SortedMap`).
    pub restores: SortedMap<(OperationId, IncrIdx), IncrementalProgress>,
}

impl DataShardDb {
    /// A shard's database before any restore: `rows`, and room for the
    /// progress records of one restore of a chain of `incrementals` (a
    /// record each). Why: grown a record at a time, the second record was
    /// a reallocation mid-run, in the random order the shards commit: a
    /// copy and a free touching the old block's page metadata, far from
    /// anything hot. Allocated here, in shard order at setup, it is one
    /// allocation and no copy.
    pub fn new(rows: ShardRows, incrementals: usize) -> DataShardDb {
        DataShardDb { rows, restores: SortedMap::with_capacity(incrementals) }
    }

    pub fn progress(&self, op: OperationId, incr: IncrIdx) -> Option<&IncrementalProgress> {
        self.restores.get(&(op, incr))
    }
}

/// One atomic commit: a batch of changes and the progress record written
/// with it. The record is the whole row, written from the shard's volatile
/// mirror, so commits applied in order always leave the newest value.
#[derive(Clone, PartialEq, Eq)]
pub struct DataShardCommit {
    pub op: OperationId,
    pub incr: IncrIdx,
    /// The batch, as a range of the incremental (`crate::batch`).
    pub changes: ChangeBatch,
    pub progress: IncrementalProgress,
    /// The answer to send once this is durable, as what it has that the
    /// commit lacks ([`DataShardCommit::reply`] makes it whole).
    pub reply: Option<Answer>,
    /// After this commit, read the next batch.
    pub continue_scan: bool,
}

/// A DataShard commit's answer, kept as the fields the commit does not
/// already hold: the rest of a `TEvIncrementalRestoreResponse` is the
/// commit's operation and incremental, and its progress record (the
/// stamp accepted, LastKey, row counts), from which every answer a
/// commit carries is written.
///
/// Why not the response itself: inline it made every queued event (of
/// any kind) 88 bytes larger, and boxed it cost an allocation per commit
/// and a free when the commit completed, in the random order the shards
/// commit, touching the freed block's page metadata far from anything
/// hot (the allocator's frees took ~35 times their samples at a million
/// shards that they took at 100,000). It hashes and prints as the boxed
/// response did, so trace hashes are the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub shard: ShardIdx,
    pub status: AnswerStatus,
}

/// The statuses a commit answers with (an error is answered at once,
/// never after a commit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerStatus {
    Accepted,
    Progress,
    Done,
}

impl Answer {
    /// What `reply` keeps of itself, given that the commit it rides with
    /// holds the rest: `None` for an error, which no commit carries (its
    /// one caller, `DataShard`'s commit of a batch, refuses that in every
    /// build).
    pub fn of(reply: &TEvIncrementalRestoreResponse) -> Option<Answer> {
        let status = match reply.status {
            ResponseStatus::Accepted => AnswerStatus::Accepted,
            ResponseStatus::Progress => AnswerStatus::Progress,
            ResponseStatus::Done => AnswerStatus::Done,
            ResponseStatus::Error { .. } => return None,
        };
        Some(Answer { shard: reply.shard, status })
    }
}

impl DataShardCommit {
    /// The response this commit answers with once durable, whole.
    pub fn reply(&self) -> Option<TEvIncrementalRestoreResponse> {
        let answer = self.reply?;
        let status = match answer.status {
            AnswerStatus::Accepted => ResponseStatus::Accepted,
            AnswerStatus::Progress => ResponseStatus::Progress,
            AnswerStatus::Done => ResponseStatus::Done,
        };
        let p = &self.progress;
        Some(TEvIncrementalRestoreResponse {
            op: self.op,
            incr: self.incr,
            shard: answer.shard,
            stamp: p.accepted,
            status,
            last_key: p.last_key,
            rows_applied: p.rows_applied,
            rows_total: p.rows_total,
        })
    }
}

impl Hash for DataShardCommit {
    /// Field by field, the answer whole: what the derived hash of the
    /// commit with its boxed response wrote, so trace hashes stay.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.op.hash(state);
        self.incr.hash(state);
        self.changes.hash(state);
        self.progress.hash(state);
        self.reply().hash(state);
        self.continue_scan.hash(state);
    }
}

impl std::fmt::Debug for DataShardCommit {
    /// As the derived `Debug` printed it with the boxed response.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataShardCommit")
            .field("op", &self.op)
            .field("incr", &self.incr)
            .field("changes", &self.changes)
            .field("progress", &self.progress)
            .field("reply", &self.reply())
            .field("continue_scan", &self.continue_scan)
            .finish()
    }
}

impl DataShardCommit {
    pub fn apply(&self, db: &mut DataShardDb) {
        // The delta's merge reads the batch forwards and back from the
        // incremental's packed pairs: nothing decoded or collected.
        db.rows.apply_batch(&self.changes);
        db.restores.insert((self.op, self.incr), self.progress);
    }
}
