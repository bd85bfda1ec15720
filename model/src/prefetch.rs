//! Where a DataShard's next event reads behind its pointers: addresses for
//! the engine's prefetch pipeline (`sim/src/engine/prefetch.rs`) to hint a
//! few events early. No logic and no reads of what the addresses hold:
//! each helper reads only the struct it is given (whose lines the
//! pipeline's first stage hinted), never a heap buffer, so it costs no miss
//! of its own and no value it returns can reach a handler.

use crate::batch::ChangeBatch;
use crate::datashard::{DataShard, DataShardDb};
use crate::outbox::BackupBatch;

/// The heap lines a DataShard's handlers and its commit's checks read
/// first: its progress records (every request, read and commit), its
/// delta's buffer (a commit's merge, the checks' walk) and the first of its
/// rows in the shared full backup (the merge's base, the checks' walk). An
/// empty vector gives a dangling address: hinting it is harmless.
#[inline]
pub fn datashard_db(db: &DataShardDb) -> [*const u8; 3] {
    let restores = db.restores.iter().next().map_or(std::ptr::null(), |(key, _)| std::ptr::from_ref(key).cast());
    let (backup, lo, _) = db.rows.base_span();
    [restores, db.rows.delta_addr(), backup.packed_rows().as_ptr().wrapping_add(lo).cast()]
}

/// The first line of a batch's changes in the workload's incremental: what
/// its commit's digest and merge read first.
#[inline]
pub fn batch(changes: &ChangeBatch) -> *const u8 {
    changes.packed().addr()
}

/// The first of a live DataShard's scans in flight: what a read's reply
/// and a commit's completion look up.
#[inline]
pub fn datashard(live: &DataShard) -> *const u8 {
    live.active_addr()
}

/// The first line of a read's changes, if it read any: what the reply's
/// digest reads first.
#[inline]
pub fn reply(reply: &BackupBatch) -> Option<*const u8> {
    reply.result.as_ref().ok().map(|rows| batch(&rows.changes))
}
