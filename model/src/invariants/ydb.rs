//! The checks of the YDB flavour (`crate::ydb`). Which design invariants
//! apply to it is in docs/design.md's table; these are the flavour's own
//! versions, over its durable rows and messages:
//! - 6: the state row moves Running → Finalizing → Completed, or to Failed;
//!   a terminal row never changes; `CurrentIncrementalIdx` never goes back
//!   and advances by one; a Failed row carries a status and issues;
//! - 7: a stage advances (and a restore completes) only with every table of
//!   the collection equal to the oracle's state after that incremental — the
//!   YDB DataShards persist nothing about a restore, so the data is the only
//!   durable truth there is; and a restore whose SchemeShard took in a
//!   non-retriable shard failure (its report transaction committed) never
//!   leaves that stage nor ends Completed (`ShouldRetryIncrementalRestore`:
//!   only `END_TRANSIENT_FAILURE` is retried), checked against a ghost record
//!   of those failures kept here, not in SchemeShard's state;
//! - 2: a change record of incremental `j` lands only while the restore's
//!   durable stage is `j` (or it failed in stage `j`: its scans run on);
//! - 12: Forget erases only a restore that ended;
//! - 15: the progress contract (never 100 % before Done).

use std::collections::BTreeMap;

use super::{Check, Checker, Invariant, Violation};
use crate::data::Row;
use crate::ids::{IncrIdx, Key, OperationId, TableId};
use crate::msg::Msg;
use crate::progress::{FULL_BP, FinalStatus, OpState};
use crate::ydb::EndStatus;
use crate::ydb::schema::{ShardReport, StateRow, YdbReceiverCommit, YdbSchemeShardCommit, YdbState, YdbWrite};

/// What the YDB checks remember: each restore's last durable state row and
/// its tables, and the first restore (the only one the oracle's intermediate
/// states hold for: a later one starts from what the first left).
#[derive(Debug, Default)]
pub struct YdbChecker {
    states: BTreeMap<OperationId, (YdbState, u32)>,
    tables: BTreeMap<OperationId, Vec<TableId>>,
    first: Option<OperationId>,
    /// Ghost: per restore and incremental, the first non-retriable failure
    /// SchemeShard took in (a durable report transaction). A crash of
    /// SchemeShard does not erase it, whatever SchemeShard remembers.
    fatal: BTreeMap<(OperationId, IncrIdx), ShardReport>,
}

impl YdbChecker {
    /// A YDB SchemeShard commit was applied. `table_rows` gives a restored
    /// table's rows after it, in key order.
    pub fn on_schemeshard_commit<I>(
        &mut self,
        checker: &mut Checker,
        commit: &YdbSchemeShardCommit,
        table_rows: impl Fn(TableId) -> I,
    ) -> Check
    where
        I: Iterator<Item = (Key, Row)>,
    {
        if let Some(r) = commit.report.filter(|r| r.end == EndStatus::FatalFailure) {
            self.fatal.entry((r.op, r.incr)).or_insert(r);
        }
        for w in &commit.writes {
            match w {
                YdbWrite::Operation(op, row) => {
                    self.first.get_or_insert(*op);
                    self.tables.insert(*op, row.tables.clone());
                }
                YdbWrite::State(op, row) => self.on_state(checker, *op, row, &table_rows)?,
                YdbWrite::Erase(op) => {
                    let ended = self.states.get(op).is_some_and(|(s, _)| s.is_terminal());
                    if !ended {
                        return Err(Violation::new(
                            Invariant::ForgetOnlyEnded,
                            format!("Forget erased restore {} whose durable state is {:?}.", op.0, self.states.get(op)),
                        ));
                    }
                    checker.forgotten.insert(*op);
                }
                // Invariant 16 (`ydb_paths.rs`) reads these.
                YdbWrite::Path(..) | YdbWrite::Drop(..) | YdbWrite::DropDone(_) => {}
            }
        }
        Ok(())
    }

    fn on_state<I>(
        &mut self,
        checker: &Checker,
        op: OperationId,
        row: &StateRow,
        table_rows: &impl Fn(TableId) -> I,
    ) -> Check
    where
        I: Iterator<Item = (Key, Row)>,
    {
        let before = self.states.insert(op, (row.state, row.idx));
        let legal = match before {
            None => row.state == YdbState::Running && row.idx == 0,
            Some((s, _)) if s.is_terminal() => false,
            Some((YdbState::Finalizing, i)) => row.state.is_terminal() && row.idx == i,
            Some((YdbState::Running, i)) => row.idx == i || row.idx == i + 1,
            Some(_) => false,
        };
        if !legal {
            return Err(Violation::new(
                Invariant::LegalTransitions,
                format!("Restore {} went from {before:?} to ({:?}, idx {}).", op.0, row.state, row.idx),
            ));
        }
        if row.state == YdbState::Failed && (row.final_status.is_none() || row.issues.is_empty()) {
            return Err(Violation::new(
                Invariant::NoFalseSuccess,
                format!("Restore {} Failed without a status and issues.", op.0),
            ));
        }
        let advanced = before.is_some_and(|(_, i)| row.idx == i + 1);
        let completed = row.state == YdbState::Completed;
        self.check_fatal_kept(op, row, advanced)?;
        let first = self.first == Some(op);
        if !(advanced && first || completed) {
            return Ok(());
        }
        let tables = self.tables.get(&op).expect("a state row follows its operation row");
        for table in tables {
            let expected = checker.oracle(*table).rows_after(IncrIdx(row.idx), ..);
            if !table_rows(*table).eq(expected) {
                let what =
                    if completed { "completed".to_string() } else { format!("advanced to stage {}", row.idx + 1) };
                return Err(Violation::new(
                    Invariant::NoFalseSuccess,
                    format!(
                        "Restore {} {what}, but table {} differs from the oracle after incremental {}: a \
                         shard counted as restored did not push all its changes.",
                        op.0, table.0, row.idx
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Invariant 7, the outcome of #40685: a non-retriable failure taken in
    /// during a stage keeps the restore from leaving that stage and from
    /// ending Completed; it ends Failed (or by a deadline).
    fn check_fatal_kept(&self, op: OperationId, row: &StateRow, advanced: bool) -> Check {
        let left = |incr: IncrIdx| (advanced && incr.0 == row.idx) || row.state == YdbState::Completed;
        let Some(r) =
            self.fatal.range((op, IncrIdx(0))..=(op, IncrIdx(u32::MAX))).map(|(_, r)| r).find(|r| left(r.incr))
        else {
            return Ok(());
        };
        let what = if row.state == YdbState::Completed { "completed with Success" } else { "advanced past that stage" };
        Err(Violation::new(
            Invariant::NoFalseSuccess,
            format!(
                "Restore {} {what}, although source shard {} of table {} reported a non-retriable failure in \
                 incremental {} and SchemeShard took it in (its report transaction committed): the failure \
                 was forgotten (a restart lost it), a re-sent scan succeeded, and the restore must end Failed.",
                op.0, r.shard.0, r.table.0, r.incr.0
            ),
        ))
    }

    /// Invariant 2: `applied` records of `commit` landed; its incremental
    /// must be the restore's durable current stage.
    pub fn on_receiver_commit(&self, commit: &YdbReceiverCommit, applied: usize) -> Check {
        if applied == 0 {
            return Ok(());
        }
        match self.states.get(&commit.op) {
            Some((YdbState::Running, idx)) if commit.incr.0 == idx + 1 => Ok(()),
            // YDB cannot cancel a restore's scans: a restore that failed
            // (a non-retriable failure, a deadline) while other scans of
            // its stage still ran sees them land. Still the stage it
            // failed in, so no later change is overwritten.
            Some((YdbState::Failed, idx)) if commit.incr.0 == idx + 1 => Ok(()),
            other => Err(Violation::new(
                Invariant::Order,
                format!(
                    "{applied} change records of incremental {} from source shard {} landed while restore {} \
                     was durably at {other:?}: the stage barrier let a record through out of order.",
                    commit.incr.0, commit.origin.0, commit.op.0
                ),
            )),
        }
    }

    /// What reached the Client: invariant 15 for progress answers (and
    /// 10's record of what the Client was told), the design's checks for
    /// the rest (11, 12).
    pub fn on_client_delivered<'a>(
        &self,
        checker: &mut Checker,
        msg: &Msg,
        datashard: impl Fn(crate::ids::ShardIdx) -> &'a crate::datashard::DataShardDb,
    ) -> Check {
        let Msg::Progress { op, report: Some(report) } = msg else {
            return checker.on_client_delivered(msg, datashard);
        };
        if report.state.is_terminal() {
            checker.told.entry(*op).or_insert(report.state);
        }
        let full = u64::from(report.percent_bp) >= FULL_BP;
        let fault = match report.state {
            OpState::Done if !full || report.final_status != Some(FinalStatus::Success) => {
                Some("Done must be 100 % with Success")
            }
            OpState::Failed if report.final_status.is_none() || report.issues.is_empty() => {
                Some("Failed must carry a status and issues")
            }
            s if !s.is_terminal() && full => Some("a running restore reported 100 %"),
            _ if report.shards_done > report.shards_total => Some("more shards done than tracked"),
            _ => None,
        };
        match fault {
            Some(what) => Err(Violation::new(
                Invariant::YdbProgress,
                format!("Progress of restore {} ({:?}, {} bp): {what}.", op.0, report.state, report.percent_bp),
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ids::{RequestKey, ShardIdx};
    use crate::ydb::schema::OperationRow;

    fn commit(writes: Vec<YdbWrite>, report: Option<ShardReport>) -> YdbSchemeShardCommit {
        YdbSchemeShardCommit { writes, next_op: None, replies: Vec::new(), run: None, resume: None, report }
    }

    fn state(state: YdbState, idx: u32) -> YdbWrite {
        let final_status = (state == YdbState::Completed).then_some(FinalStatus::Success);
        YdbWrite::State(OperationId(2), StateRow { state, idx, final_status, ..StateRow::running(0) })
    }

    /// Restore 2 (not the first, so no oracle check on advancing) took in a
    /// failure report of incremental 1 ending `end`; then its stage advances.
    fn advance_after(end: EndStatus) -> Check {
        let mut checker = Checker::new(Arc::new(crate::testkit::workload(3)));
        let mut ydb = YdbChecker::default();
        let rows = |_| std::iter::empty();
        for op in [1, 2] {
            let row = OperationRow { key: RequestKey(op), tables: vec![TableId(0)], incrementals: 3 };
            ydb.on_schemeshard_commit(
                &mut checker,
                &commit(vec![YdbWrite::Operation(OperationId(op), row)], None),
                rows,
            )?;
        }
        ydb.on_schemeshard_commit(&mut checker, &commit(vec![state(YdbState::Running, 0)], None), rows)?;
        let report = ShardReport { op: OperationId(2), table: TableId(0), incr: IncrIdx(1), shard: ShardIdx(3), end };
        ydb.on_schemeshard_commit(&mut checker, &commit(Vec::new(), Some(report)), rows)?;
        ydb.on_schemeshard_commit(&mut checker, &commit(vec![state(YdbState::Running, 1)], None), rows)
    }

    #[test]
    fn a_stage_advancing_past_a_non_retriable_failure_is_a_false_success() {
        let v = advance_after(EndStatus::FatalFailure).expect_err("the ghost remembers the failure");
        assert_eq!(v.invariant, Invariant::NoFalseSuccess);
        assert!(v.message.contains("non-retriable"), "{}", v.message);
        assert_eq!(advance_after(EndStatus::TransientFailure), Ok(()), "a transient failure is retried");
    }
}
