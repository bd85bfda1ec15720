//! Where a DataShard's or the coordinator's next event reads behind its
//! pointers, or in a vector by shard: addresses for the engine's prefetch
//! pipeline (`sim/src/engine/prefetch.rs`) to hint a few events early. No
//! logic and no reads of what the addresses hold beyond the structs the
//! pipeline's first stage hinted (a helper follows no pointer of a heap
//! buffer it was not given), so it costs no miss of its own and no value
//! it returns can reach a handler.

use crate::batch::ChangeBatch;
use crate::datashard::{DataShard, DataShardCommit, DataShardDb};
use crate::ids::ShardIdx;
use crate::invariants::Checker;
use crate::msg::{TEvIncrementalRestoreRequest, TEvIncrementalRestoreResponse};
use crate::outbox::BackupBatch;
use crate::schemeshard::{
    SchemeShard, SchemeShardCommit, SchemeShardDb, SchemeShardWrite, ShardProgress, ShardProgressRow,
};
use crate::topology::ShardSpec;
use crate::workload::Workload;

/// The heap lines a DataShard's handlers and its commit's checks read
/// first: its progress records (every request, read and commit; their
/// buffer, sized at setup, also before a commit writes the first), its
/// delta's buffer (a commit's merge, the checks' walk) and the first of its
/// rows in the shared full backup (the merge's base, the checks' walk). An
/// empty vector gives a dangling address: hinting it is harmless.
#[inline]
pub fn datashard_db(db: &DataShardDb) -> [*const u8; 3] {
    let restores = db.restores.addr();
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

/// The lines of the per-shard vectors a DataShard's event reads that are
/// found from the shard's index alone (no pointer of the shard's is
/// followed), as addresses and lengths: its spec in the topology (a
/// check's and a backup read's `ShardSpans::of` compare it), its spans'
/// boundaries, and its verified prefix. At a million shards each is a
/// random line of a vector of 16-32 MB, past the last-level cache (at
/// 100,000 shards a tenth of that, which mostly fits): the first stage
/// hints them with the tablet.
#[inline]
pub fn datashard_index(workload: &Workload, checker: &Checker, shard: ShardIdx) -> [(*const u8, usize); 3] {
    let specs = &workload.topology.shards;
    let spec = specs.as_ptr().wrapping_add((shard.0 as usize).min(specs.len()));
    let [spans, verified] = checker.shard_addrs(shard);
    [(spec.cast(), std::mem::size_of::<ShardSpec>()), spans, verified]
}

/// The most bytes of one vector a hint names: a shard's ~30 changed keys'
/// first versions (480 bytes at scale) fit; a hint never floods the
/// caches with a shard of unusual size.
pub const MOST_BYTES: usize = 512;

/// Behind the spans the first stage hinted (read here), what a commit
/// with changes has its checks read first, as addresses and lengths (at
/// most [`MOST_BYTES`] each): the shard's changed keys in the oracle and
/// their first versions (each check searches and walks them), and
/// invariant 2's record of the shard.
#[inline]
pub fn datashard_commit_checks(
    workload: &Workload,
    checker: &Checker,
    shard: ShardIdx,
    commit: &DataShardCommit,
) -> [(*const u8, usize); 3] {
    match workload.topology.shards.get(shard.0 as usize) {
        Some(spec) if !commit.changes.is_empty() => {
            checker.commit_addrs(shard, spec.table, commit.op).map(|(start, len)| (start, len.min(MOST_BYTES)))
        }
        _ => [(std::ptr::null(), 0); 3],
    }
}

/// A commit's merge and its checks walk the shard's whole delta (the
/// merge counts the batch's keys it has; the checks search and walk it):
/// its entries, as an address and a length (at most [`MOST_BYTES`]).
#[inline]
pub fn datashard_delta(db: &DataShardDb) -> (*const u8, usize) {
    (db.rows.delta_addr(), db.rows.delta_bytes().min(MOST_BYTES))
}

/// The first line of the shard's changes in the incremental a request
/// asks for: the read it starts searches them (`ReadBackup::serve_in`).
/// Reads the spans the first stage hinted.
#[inline]
pub fn datashard_request(workload: &Workload, checker: &Checker, req: &TEvIncrementalRestoreRequest) -> *const u8 {
    let span = checker.shard_spans().of_shard_for_hint(req.shard).and_then(|spans| spans.incremental(req.incr));
    let table = workload.topology.shards.get(req.shard.0 as usize).map(|spec| spec.table);
    match (span, table.and_then(|t| workload.backups.get(t.0 as usize)).and_then(|c| c.incremental(req.incr))) {
        (Some((lo, _)), Some(inc)) if lo <= inc.len() => inc.packed_run(lo, lo).addr(),
        _ => std::ptr::null(),
    }
}

/// The lines a coordinator's handler of a DataShard's answer reads behind
/// the operation, as addresses and lengths: the shard's in-memory row (the
/// answer's round is checked against it, then it is written) and its
/// timer slots (its Done cancels them). Each is a random line of a dense
/// vector by shard, 48-64 MB at a million shards.
#[inline]
pub fn schemeshard_response(ss: &SchemeShard, resp: &TEvIncrementalRestoreResponse) -> [(*const u8, usize); 2] {
    let Some(op) = ss.op(resp.op) else { return [(std::ptr::null(), 0); 2] };
    let row = match op.position(resp.shard) {
        Some(pos) => (op.shards.as_ptr().wrapping_add(pos).cast(), std::mem::size_of::<ShardProgress>()),
        None => (std::ptr::null(), 0),
    };
    [row, op.volatile.timers.shard_addr(resp.shard)]
}

/// Where a coordinator commit's shard progress row lands in the durable
/// table (a shard's Done writes one), as an address and a length.
#[inline]
pub fn schemeshard_commit(db: &SchemeShardDb, commit: &SchemeShardCommit) -> (*const u8, usize) {
    match commit.writes.first() {
        Some(SchemeShardWrite::ShardProgress(op, shard, _)) => match db.shard_progress.get(op) {
            Some(rows) => (rows.addr(*shard).cast(), std::mem::size_of::<Option<ShardProgressRow>>()),
            None => (std::ptr::null(), 0),
        },
        _ => (std::ptr::null(), 0),
    }
}
