//! Safety invariants of docs/design.md §6, checked incrementally: each check
//! looks only at what one commit or one message changed, except the deep
//! data comparisons, which run once per shard per incremental and once per
//! finished operation.
//!
//! Checks read durable state and messages, never the models' notes or
//! volatile state, so a model cannot talk its way past them.

mod concurrency;
mod datashard;
pub use datashard::is_stale_request;
mod deadline;
pub use deadline::timeout_earned;
mod schemeshard;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::ids::{IncrIdx, OperationId};
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
    /// Per table, the table after each prefix of its chain.
    oracles: Vec<crate::oracle::Oracle>,
    /// Shards whose DataShard durably finished `(op, incr)`.
    ds_done: BTreeMap<(OperationId, IncrIdx), u32>,
    /// Last durable coordinator state of each operation.
    ss_state: BTreeMap<OperationId, (OpState, IncrIdx)>,
    /// Operation → its table's shard count and incremental count.
    ops: BTreeMap<OperationId, OpShape>,
    /// Invariant 9: the non-terminal operation of each table.
    running: BTreeMap<crate::ids::TableId, OperationId>,
    /// Invariant 9: shards with a request the coordinator has not seen
    /// answered with Done or an error, per operation.
    outstanding: BTreeMap<OperationId, std::collections::BTreeSet<crate::ids::ShardIdx>>,
}

#[derive(Clone, Copy, Debug)]
struct OpShape {
    table: crate::ids::TableId,
    shards: u32,
    incrementals: u32,
}

impl Checker {
    pub fn new(workload: Arc<Workload>) -> Checker {
        Checker {
            oracles: workload.backups.iter().map(crate::oracle::Oracle::new).collect(),
            workload,
            ds_done: BTreeMap::new(),
            ss_state: BTreeMap::new(),
            ops: BTreeMap::new(),
            running: BTreeMap::new(),
            outstanding: BTreeMap::new(),
        }
    }

    /// The table `table` after each prefix of its chain.
    pub fn oracle(&self, table: crate::ids::TableId) -> &crate::oracle::Oracle {
        &self.oracles[table.0 as usize]
    }

    /// Shards durably Done with `incr` of `op`, per the DataShards themselves.
    pub fn shards_done(&self, op: OperationId, incr: IncrIdx) -> u32 {
        self.ds_done.get(&(op, incr)).copied().unwrap_or(0)
    }
}
