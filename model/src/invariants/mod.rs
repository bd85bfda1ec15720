//! Safety invariants of docs/design.md §6, checked incrementally: each check
//! looks only at what one commit or one message changed, except the deep
//! data comparisons, which run once per shard per incremental and once per
//! finished operation.
//!
//! Checks read durable state and messages, never the models' notes or
//! volatile state, so a model cannot talk its way past them.

mod client;
mod concurrency;
mod datashard;
pub use datashard::is_stale_request;
mod deadline;
mod final_data;
pub use deadline::{timeout_earned, timeouts_earned};
mod reported;
mod same_rows;
pub use reported::check_reported_not_ahead;
mod schemeshard;
mod shard_set;
mod stale;
mod verified;
pub use stale::{Receiver, check_stale_no_effect, staleness};
#[cfg(test)]
mod tests;
mod ydb;
pub use ydb::YdbChecker;
mod ydb_paths;
pub use ydb_paths::check_path_states;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::ids::{IncrIdx, OperationId, ShardIdx, TableId};
use crate::progress::OpState;
use crate::workload::Workload;

/// The invariants, numbered as in docs/design.md §6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    /// 1. Final data equals the oracle (at Done, and per shard at its Done).
    FinalData,
    /// 2. Changes land in incremental order; the stage barrier holds.
    Order,
    /// 3. After every commit, rows equal the oracle prefix state.
    ExactlyOnce,
    /// 4. Durable progress never regresses.
    ProgressMonotonic,
    /// 5. Stale messages never change state.
    StaleHasNoEffect,
    /// 6. Legal transitions only; Done and Failed are terminal.
    LegalTransitions,
    /// 7. No false success; Failed carries an error.
    NoFalseSuccess,
    /// 8. Reported progress never exceeds durable progress.
    ReportedNotAhead,
    /// 9. At most one running restore per table; in-flight cap respected.
    Concurrency,
    /// Every accepted restore ends within the bound after the fault window.
    Liveness,
    /// 10\. What the Client is told is final: once it saw an operation Done
    /// or Failed, it never sees another status (or "unknown") for it again.
    ToldFinal,
    /// 11\. A repeated request (same idempotency key) is answered with the
    /// same operation, never a new one and never a refusal.
    IdempotentRepeat,
    /// 12\. Forget erases only an operation that ended, and says
    /// "forgotten" only once the erase is durable.
    ForgetOnlyEnded,
    /// 13\. A progress report is consistent in itself and with durable
    /// state: bounds of the percent formula, counts, final status, detail.
    ProgressConsistent,
    /// 14\. A refused MultiIncrementalRestore changes no durable state.
    RejectNoEffect,
    /// 15\. YDB flavour's progress contract: never 100 % before the restore
    /// is Done, 100 % with its final status once it ended.
    YdbProgress,
    /// 16\. YDB flavour's path states: a dropped path never holds a
    /// restore lock, and a path is locked only by a restore that has not
    /// ended (`ydb_paths.rs`).
    YdbPathState,
}

impl Invariant {
    pub fn id(self) -> &'static str {
        match self {
            Invariant::FinalData => "1-final-data",
            Invariant::Order => "2-order",
            Invariant::ExactlyOnce => "3-exactly-once",
            Invariant::ProgressMonotonic => "4-progress-monotonic",
            Invariant::StaleHasNoEffect => "5-stale-no-effect",
            Invariant::LegalTransitions => "6-legal-transitions",
            Invariant::NoFalseSuccess => "7-no-false-success",
            Invariant::ReportedNotAhead => "8-reported-not-ahead",
            Invariant::Concurrency => "9-concurrency",
            Invariant::Liveness => "liveness",
            Invariant::ToldFinal => "10-told-final",
            Invariant::IdempotentRepeat => "11-idempotent-repeat",
            Invariant::ForgetOnlyEnded => "12-forget-only-ended",
            Invariant::ProgressConsistent => "13-progress-consistent",
            Invariant::RejectNoEffect => "14-reject-no-effect",
            Invariant::YdbProgress => "15-ydb-progress",
            Invariant::YdbPathState => "16-ydb-path-state",
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A broken invariant, with a paragraph a human can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: Invariant,
    pub message: String,
}

impl Violation {
    pub fn new(invariant: Invariant, message: impl Into<String>) -> Violation {
        Violation { invariant, message: message.into() }
    }
}

pub type Check = Result<(), Violation>;

/// What the checker remembers between events: only aggregates, so each
/// check is O(what changed).
#[derive(Debug)]
pub struct Checker {
    workload: Arc<Workload>,
    /// Per table, what it must hold after each prefix of its chain.
    oracles: Vec<crate::oracle::Oracle>,
    /// Shards whose DataShard durably finished `(op, incr)`.
    ds_done: BTreeMap<(OperationId, IncrIdx), u32>,
    /// Invariant 2: per operation and DataShard, the highest incremental
    /// whose predecessors the shard was seen to have all finished.
    /// By operation, then dense by the shard's global index (0: none yet):
    /// at 100,000 shards a map keyed by `(operation, shard)` cost every
    /// commit a search of a 100,000-entry tree.
    order_checked: BTreeMap<OperationId, Vec<u32>>,
    /// Last durable coordinator state of each operation.
    ss_state: BTreeMap<OperationId, (OpState, IncrIdx)>,
    /// Operation → its table's shard count and incremental count.
    ops: BTreeMap<OperationId, OpShape>,
    /// The first operation that restored each table. A later restore of
    /// the same table (legal once the first ended) starts from whatever
    /// the first left behind, not from the full backup, so the checks
    /// against the oracle's intermediate states hold for the first only;
    /// a later one is held to the oracle's final state at its last
    /// incremental (re-applying a chain over any of its own intermediate
    /// states gives its final state: each key's fold is idempotent).
    first_restore: BTreeMap<crate::ids::TableId, OperationId>,
    /// Invariant 9: the non-terminal operation of each table.
    running: BTreeMap<crate::ids::TableId, OperationId>,
    /// Invariant 9: shards with a request the coordinator has not seen
    /// answered with Done or an error, per operation (a bit a shard:
    /// `shard_set.rs` says why not a tree).
    outstanding: BTreeMap<OperationId, shard_set::ShardSet>,
    /// Invariant 10: the terminal state the Client was told of, per operation.
    told: BTreeMap<OperationId, OpState>,
    /// Invariant 11: the operation each idempotency key was answered with.
    answered: BTreeMap<crate::ids::RequestKey, OperationId>,
    /// Invariants 11 and 12: operations whose erase (Forget) is durable.
    forgotten: std::collections::BTreeSet<OperationId>,
    /// Invariants 1 and 3: what the data checks found equal to the oracle
    /// and no commit changed since, so a later check need not walk it again.
    verified: verified::VerifiedPrefixes,
    /// Each shard's span in its table's backup, oracle and incrementals,
    /// so a check's walk starts with a search of the shard's rows, not
    /// of the whole table.
    spans: crate::shard_spans::ShardSpans,
}

#[derive(Clone, Copy, Debug)]
struct OpShape {
    table: crate::ids::TableId,
    shards: u32,
    incrementals: u32,
}

impl Checker {
    pub fn new(workload: Arc<Workload>) -> Checker {
        let oracles: Vec<crate::oracle::Oracle> = (0..workload.backups.len() as u32)
            .map(|t| crate::oracle::Oracle::new(workload.clone(), crate::ids::TableId(t)))
            .collect();
        Checker {
            spans: crate::shard_spans::ShardSpans::new(Arc::clone(&workload), &oracles),
            oracles,
            workload,
            ds_done: BTreeMap::new(),
            order_checked: BTreeMap::new(),
            ss_state: BTreeMap::new(),
            ops: BTreeMap::new(),
            first_restore: BTreeMap::new(),
            running: BTreeMap::new(),
            outstanding: BTreeMap::new(),
            told: BTreeMap::new(),
            answered: BTreeMap::new(),
            forgotten: Default::default(),
            verified: Default::default(),
        }
    }

    /// The table `table` after each prefix of its chain.
    pub fn oracle(&self, table: crate::ids::TableId) -> &crate::oracle::Oracle {
        &self.oracles[table.0 as usize]
    }

    /// Every shard's spans in its table's vectors: backup storage reads
    /// with them too (`ReadBackup::serve_in`).
    pub fn shard_spans(&self) -> &crate::shard_spans::ShardSpans {
        &self.spans
    }

    /// The lines of the checker's per-shard vectors a DataShard commit's
    /// checks (and a backup read's search) read first, each as an address
    /// and a length, not read: the shard's spans' boundaries and its
    /// verified prefix, found from the shard's index alone. For the engine's
    /// prefetch pipeline (`crate::prefetch`).
    #[inline]
    pub(crate) fn shard_addrs(&self, shard: ShardIdx) -> [(*const u8, usize); 2] {
        [self.spans.bounds_addr(shard), self.verified.addr(shard.0 as usize)]
    }

    /// The bytes a commit of `op` with changes has its checks read behind
    /// the shard's spans (which `shard_addrs` named, read here): its
    /// changed keys in the oracle and their first versions (every check's
    /// walk searches and walks them), and invariant 2's record of the
    /// shard, as addresses and lengths. Not read.
    #[inline]
    pub(crate) fn commit_addrs(&self, shard: ShardIdx, table: TableId, op: OperationId) -> [(*const u8, usize); 3] {
        let order = self.order_checked.get(&op).map_or((std::ptr::null(), 0), |seen| {
            (seen.as_ptr().wrapping_add((shard.0 as usize).min(seen.len())).cast(), std::mem::size_of::<u32>())
        });
        let [keys, first] = match (self.spans.of_shard_for_hint(shard), self.oracles.get(table.0 as usize)) {
            (Some(spans), Some(oracle)) => oracle.changed_addrs(spans.changed().0, spans.changed().1),
            _ => [(std::ptr::null(), 0); 2],
        };
        [keys, first, order]
    }

    /// Shards durably Done with `incr` of `op`, per the DataShards themselves.
    pub fn shards_done(&self, op: OperationId, incr: IncrIdx) -> u32 {
        self.ds_done.get(&(op, incr)).copied().unwrap_or(0)
    }
}
