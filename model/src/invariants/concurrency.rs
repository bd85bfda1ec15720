//! Invariant 9: at most one running restore per table, and never more than
//! `max_shards_in_flight` shards with an outstanding request per operation.
//!
//! "Outstanding" is read off the messages, not the coordinator's counters: a
//! request sent to a shard stays outstanding until a Done or an error from
//! that shard reaches the coordinator. A new TxId request (a new attempt of
//! the stage) abandons the earlier requests, and a coordinator crash
//! abandons all of them.

use super::{Check, Checker, Invariant, Violation};
use crate::ids::{OperationId, ShardIdx, TableId};
use crate::msg::{Msg, ResponseStatus};
use crate::progress::OpState;

impl Checker {
    /// A message SchemeShard sent: an allocation request (a new attempt of
    /// the stage) or a request to a shard (9), or a progress answer (10).
    pub fn on_coordinator_sent(&mut self, msg: &Msg, cap: Option<u32>) -> Check {
        match msg {
            Msg::AllocateTxId { op, .. } => {
                self.on_allocate_sent(*op);
                Ok(())
            }
            Msg::IncrementalRestoreRequest(req) => self.on_request_sent(req.op, req.shard, cap),
            Msg::Progress { op, report } => self.on_progress_sent(*op, report.as_ref().map(|r| r.state)),
            _ => Ok(()),
        }
    }

    /// A message reached SchemeShard: a shard's Done or error ends its
    /// request (Accepted and Progress leave it outstanding).
    pub fn on_coordinator_received(&mut self, msg: &Msg) {
        if let Msg::IncrementalRestoreResponse(resp) = msg
            && matches!(resp.status, ResponseStatus::Done | ResponseStatus::Error { .. })
        {
            self.on_shard_answered(resp.op, resp.shard);
        }
    }

    pub fn on_request_sent(&mut self, op: OperationId, shard: ShardIdx, cap: Option<u32>) -> Check {
        let set = self.outstanding.entry(op).or_default();
        set.insert(shard);
        match cap {
            Some(cap) if set.len() > cap as usize => Err(Violation::new(
                Invariant::Concurrency,
                format!(
                    "op {} has requests outstanding at {} DataShards ({:?}...), above max_shards_in_flight = {cap}.",
                    op.0,
                    set.len(),
                    set.iter().take(4).map(|s| s.0).collect::<Vec<_>>()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The coordinator asked for a new TxId: earlier requests of `op` are abandoned.
    pub fn on_allocate_sent(&mut self, op: OperationId) {
        self.outstanding.remove(&op);
    }

    /// A Done or an error from `shard` reached the coordinator.
    pub fn on_shard_answered(&mut self, op: OperationId, shard: ShardIdx) {
        if let Some(set) = self.outstanding.get_mut(&op) {
            set.remove(shard);
        }
    }

    pub fn on_coordinator_crash(&mut self) {
        self.outstanding.clear();
    }

    /// A state row of `op` (table `table`) became durable.
    pub(super) fn check_one_per_table(&mut self, op: OperationId, table: TableId, state: OpState) -> Check {
        match self.running.get(&table) {
            Some(&other) if other != op && !state.is_terminal() => {
                return Err(Violation::new(
                    Invariant::Concurrency,
                    format!(
                        "op {} of table {} is running while op {} of the same table has not ended: at most one \
                         restore may run per table.",
                        op.0, table.0, other.0
                    ),
                ));
            }
            _ => {}
        }
        if state.is_terminal() {
            if self.running.get(&table) == Some(&op) {
                self.running.remove(&table);
            }
        } else {
            self.running.insert(table, op);
        }
        Ok(())
    }
}
