//! Checks run after every SchemeShard commit: legal transitions and terminal
//! states (6), progress that advances by exactly one incremental and only
//! when every shard is Done (4), and no false success (7).

use super::{Check, Checker, Invariant, OpShape, Violation};
use crate::datashard::DataShardDb;
use crate::ids::{IncrIdx, ShardIdx};
use crate::progress::OpState;
use crate::schemeshard::{SchemeShardCommit, SchemeShardWrite, StateRow};

/// The transitions a LongIncrementalRestoreOp may persist. Rewriting the
/// same state (a retry, a new TxId) is always legal; Done and Failed never
/// change.
pub fn legal_transition(from: OpState, to: OpState) -> bool {
    use OpState::*;
    if from == to {
        return !from.is_terminal();
    }
    match from {
        Done | Failed => false,
        _ if to == Failed => true,
        Allocating => to == Proposing,
        // Back to Allocating: a stage retry (or, from Applying, the next incremental).
        Proposing => matches!(to, Waiting | Allocating),
        Waiting => matches!(to, Applying | Allocating),
        Applying => matches!(to, Allocating | Done),
    }
}

impl Checker {
    /// After `commit` was applied to SchemeShard. `datashard` gives each
    /// shard's durable database, for the final data check at Done.
    pub fn on_schemeshard_commit<'a>(
        &mut self,
        commit: &SchemeShardCommit,
        datashard: impl Fn(ShardIdx) -> &'a DataShardDb,
    ) -> Check {
        for write in &commit.writes {
            match write {
                SchemeShardWrite::Operation(op, row) => {
                    let table = self.workload.topology.table(row.table).expect("operation's table exists");
                    let shape = OpShape {
                        table: row.table,
                        shards: table.shards.len() as u32,
                        incrementals: row.backups.len() as u32,
                    };
                    self.ops.insert(*op, shape);
                    self.first_restore.entry(row.table).or_insert(*op);
                }
                SchemeShardWrite::State(op, row) => self.check_state(*op, row, &datashard)?,
                SchemeShardWrite::Erase(op) => {
                    self.check_erase(*op)?;
                    self.ss_state.remove(op);
                }
                SchemeShardWrite::ShardProgress(..) | SchemeShardWrite::NextOperationId(_) => {}
            }
        }
        Ok(())
    }

    fn check_state<'a>(
        &mut self,
        op: crate::ids::OperationId,
        row: &StateRow,
        datashard: &impl Fn(ShardIdx) -> &'a DataShardDb,
    ) -> Check {
        let shape = *self.ops.get(&op).ok_or_else(|| {
            Violation::new(Invariant::LegalTransitions, format!("op {} has a state row but no operation row", op.0))
        })?;
        let (from, from_incr) = self.ss_state.get(&op).copied().unwrap_or((OpState::Allocating, IncrIdx(1)));
        let fresh = !self.ss_state.contains_key(&op);
        if fresh && (row.state, row.incr) != (OpState::Allocating, IncrIdx(1)) {
            return Err(Violation::new(
                Invariant::LegalTransitions,
                format!(
                    "op {} was first persisted as {:?} of incremental {}, not Allocating of 1",
                    op.0, row.state, row.incr.0
                ),
            ));
        }
        if !fresh && !legal_transition(from, row.state) {
            return Err(Violation::new(
                Invariant::LegalTransitions,
                format!(
                    "op {} persisted the transition {:?} → {:?} (incremental {} → {}), which the \
                     LongIncrementalRestoreOp state machine does not allow{}.",
                    op.0,
                    from,
                    row.state,
                    from_incr.0,
                    row.incr.0,
                    if from.is_terminal() { "; Done and Failed are terminal" } else { "" }
                ),
            ));
        }
        if row.incr != from_incr {
            let done = self.shards_done(op, from_incr);
            if row.incr.0 != from_incr.0 + 1 || row.state != OpState::Allocating || done < shape.shards {
                return Err(Violation::new(
                    Invariant::ProgressMonotonic,
                    format!(
                        "op {} moved CurrentIncrementalIdx from {} to {} ({:?}) while {done} of {} \
                         DataShards had durably finished incremental {}. The index advances by exactly \
                         one, and only when every shard of the stage is Done.",
                        op.0, from_incr.0, row.incr.0, row.state, shape.shards, from_incr.0
                    ),
                ));
            }
        }
        match row.state {
            OpState::Done if from != OpState::Done => self.check_done(op, shape, datashard)?,
            OpState::Failed if row.final_status.is_none() || row.final_issues.is_empty() => {
                return Err(Violation::new(
                    Invariant::NoFalseSuccess,
                    format!("op {} Failed without a status and non-empty issues", op.0),
                ));
            }
            _ => {}
        }
        self.check_one_per_table(op, shape.table, row.state)?;
        self.ss_state.insert(op, (row.state, row.incr));
        Ok(())
    }

    fn check_done<'a>(
        &self,
        op: crate::ids::OperationId,
        shape: OpShape,
        datashard: &impl Fn(ShardIdx) -> &'a DataShardDb,
    ) -> Check {
        for i in 1..=shape.incrementals {
            let done = self.shards_done(op, IncrIdx(i));
            if done < shape.shards {
                return Err(Violation::new(
                    Invariant::NoFalseSuccess,
                    format!(
                        "op {} is Done, but only {done} of {} DataShards durably finished incremental {i}. \
                         A restore may claim success only when every shard finished every incremental.",
                        op.0, shape.shards
                    ),
                ));
            }
        }
        let table = self.workload.topology.table(shape.table).expect("table exists");
        let last = IncrIdx(shape.incrementals);
        for &shard in &table.shards {
            let spec = self.workload.topology.shard(shard);
            // A shard whose own Done check found its rows equal to the
            // final state, unchanged since, is not walked again.
            let from = self.verified.unverified_from(spec, last);
            if !self.rows_equal(spec, datashard(shard), last, from) {
                return Err(Violation::new(
                    Invariant::FinalData,
                    format!(
                        "op {} is Done, but DataShard {}'s rows differ from the oracle (full backup + \
                         incrementals 1..={}).",
                        op.0, shard.0, shape.incrementals
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_never_change() {
        for to in [OpState::Allocating, OpState::Applying, OpState::Done, OpState::Failed] {
            assert!(!legal_transition(OpState::Done, to));
            assert!(!legal_transition(OpState::Failed, to));
        }
        assert!(legal_transition(OpState::Applying, OpState::Done));
        assert!(!legal_transition(OpState::Allocating, OpState::Done));
        assert!(!legal_transition(OpState::Waiting, OpState::Done));
    }
}
