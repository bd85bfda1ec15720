//! DataShard's local database: its rows, and per `(OperationId, IncrIdx)` the
//! restore progress, committed atomically with each batch of rows.

use super::rows::ShardRows;
use crate::batch::ChangeBatch;
use crate::ids::{IncrIdx, Key, OperationId, Stamp};
use crate::msg::TEvIncrementalRestoreResponse;
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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DataShardCommit {
    pub op: OperationId,
    pub incr: IncrIdx,
    /// The batch, as a range of the incremental (`crate::batch`).
    pub changes: ChangeBatch,
    pub progress: IncrementalProgress,
    /// The answer to send once this is durable. Boxed: a commit waits in
    /// the engine's queue until it completes, and inline this answer would
    /// make every queued event (of any kind) 88 bytes larger — a scale
    /// run queues millions of them. (A box hashes as its content, so the
    /// trace hash is the same.)
    pub reply: Option<Box<TEvIncrementalRestoreResponse>>,
    /// After this commit, read the next batch.
    pub continue_scan: bool,
}

impl DataShardCommit {
    pub fn apply(&self, db: &mut DataShardDb) {
        // The delta's merge reads the batch forwards and back from the
        // incremental's packed pairs: nothing decoded or collected.
        db.rows.apply_batch(&self.changes);
        db.restores.insert((self.op, self.incr), self.progress);
    }
}
