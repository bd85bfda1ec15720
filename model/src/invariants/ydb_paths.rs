//! Invariant 16, the YDB flavour's path states (`crate::ydb::path_state`),
//! checked over SchemeShard's durable rows after each of its commits:
//! - a dropped path never holds a restore lock — issue #33764, SchemeShard's
//!   `Y_VERIFY` "Non consistent PathState and StepDropped" when TTxInit
//!   re-locked a dropped path;
//! - a path is locked only by a restore that exists and has not ended, and
//!   a restore's terminal state releases its paths in the same transaction
//!   — otherwise a finished restore's tables stay locked forever and DROP
//!   never succeeds (PR #41268's other half).
//!
//! Applies to the YDB flavour only: the design has no path states.
//! O(paths written) per commit, plus the restore's paths when a terminal
//! state row is written.

use super::{Check, Invariant, Violation};
use crate::ydb::path_state::{PathState, SchemePath, restore_paths};
use crate::ydb::schema::{YdbSchemeShardCommit, YdbSchemeShardDb, YdbWrite};

fn violation(message: String) -> Check {
    Err(Violation::new(Invariant::YdbPathState, message))
}

/// Checks `commit`'s path and state writes against `db`, which it was just
/// applied to.
pub fn check_path_states(db: &YdbSchemeShardDb, commit: &YdbSchemeShardCommit) -> Check {
    for w in &commit.writes {
        match w {
            YdbWrite::Path(path, row) => check_path(db, *path, row.state, row.dropped)?,
            YdbWrite::State(op, state) if state.state.is_terminal() => {
                let Some(restore) = db.operations.get(op) else { continue };
                for (path, _) in restore_paths(*op, restore) {
                    let held = db.paths.get(&path).and_then(|r| r.state.restore_lock());
                    if held == Some(*op) {
                        return violation(format!(
                            "Restore {} became {:?} but {path:?} is still locked by it: a finished restore's \
                             paths stay locked forever and DROP never succeeds.",
                            op.0, state.state
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_path(db: &YdbSchemeShardDb, path: SchemePath, state: PathState, dropped: bool) -> Check {
    let Some(op) = state.restore_lock() else { return Ok(()) };
    if dropped {
        return violation(format!(
            "{path:?} is dropped (StepDropped) and locked by restore {} ({state:?}): \"Non consistent \
             PathState and StepDropped\" (issue #33764).",
            op.0
        ));
    }
    if !db.operations.contains_key(&op) {
        return violation(format!("{path:?} is locked by restore {}, which does not exist.", op.0));
    }
    if let Some(s) = db.states.get(&op).filter(|s| s.state.is_terminal()) {
        return violation(format!(
            "{path:?} is locked by restore {}, which is {:?}: a finished restore's paths stay locked \
             forever and DROP never succeeds.",
            op.0, s.state
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OperationId, RequestKey, TableId};
    use crate::ydb::path_state::PathRow;
    use crate::ydb::schema::{OperationRow, StateRow, YdbState};

    fn commit(writes: Vec<YdbWrite>) -> YdbSchemeShardCommit {
        YdbSchemeShardCommit { writes, next_op: None, replies: Vec::new(), run: None, resume: None, report: None }
    }

    fn state(s: YdbState) -> StateRow {
        StateRow { state: s, idx: 1, ..StateRow::running(0) }
    }

    /// Each rule fires on a hand-made history and stays quiet on the legal one.
    #[test]
    fn fires_on_locked_dropped_paths_and_finished_restores() {
        let op = OperationId(1);
        let table = SchemePath::Table(TableId(0));
        let mut db = YdbSchemeShardDb::default();
        db.operations.insert(op, OperationRow { key: RequestKey(1), tables: vec![TableId(0)], incrementals: 1 });
        let lock = PathRow { state: PathState::IncomingIncrementalRestore(op), dropped: false };
        let c = commit(vec![YdbWrite::Path(table, lock)]);
        c.apply(&mut db);
        assert_eq!(check_path_states(&db, &c), Ok(()), "an orphaned (running) restore may hold its path");

        let c = commit(vec![YdbWrite::State(op, state(YdbState::Completed))]);
        c.apply(&mut db);
        let v = check_path_states(&db, &c).unwrap_err();
        assert!(v.message.contains("still locked"), "{}", v.message);

        let c = commit(vec![YdbWrite::Path(table, lock)]);
        c.apply(&mut db);
        let v = check_path_states(&db, &c).unwrap_err();
        assert!(v.message.contains("which is Completed"), "{}", v.message);

        let c = commit(vec![YdbWrite::Path(table, PathRow { dropped: true, ..lock })]);
        c.apply(&mut db);
        let v = check_path_states(&db, &c).unwrap_err();
        assert!(v.message.contains("StepDropped"), "{}", v.message);

        let c = commit(vec![YdbWrite::Path(table, PathRow::DROPPED)]);
        c.apply(&mut db);
        assert_eq!(check_path_states(&db, &c), Ok(()));
    }
}
