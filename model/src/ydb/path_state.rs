//! Path states of the YDB flavour: SchemeShard's durable view of the scheme
//! paths a restore touches (the restored tables, `EPathStateIncomingIncrementalRestore`,
//! and the backup collection, `EPathStateOutgoingIncrementalRestore`) and of
//! dropped paths (`StepDropped`). A restore locks its paths in the
//! transaction that accepts it and releases them in the one that writes its
//! terminal state; DROP TABLE / DROP BACKUP COLLECTION is refused with
//! `StatusMultipleModifications` while a path is locked
//! (`ut_init_recovery_dropped_invariant.cpp`: `DropTableBlockedDuringActiveIncrementalRestore`).
//!
//! On boot, TTxInit re-locks the paths of the restores it loads
//! (`RestoreIncrementalRestoreOpPathStates`). Before PR #41268 (issue
//! #33764) it did so for every restore row, finished ones too, and for
//! dropped paths: `Bug::Ydb41268`.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{OperationId, ShardIdx, TableId};
use crate::ydb::schema::{OperationRow, StateRow};

/// A scheme path the flavour knows: a restored table, or the backup
/// collection (one per workload: every table's backups are in it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SchemePath {
    Table(TableId),
    BackupCollection,
}

/// `TPathElement::PathState` as far as restores go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathState {
    NoChanges,
    /// A restored table while restore `op` runs.
    IncomingIncrementalRestore(OperationId),
    /// The backup collection while restore `op` runs.
    OutgoingIncrementalRestore(OperationId),
    /// DROP BACKUP COLLECTION in progress (`EPathStateDrop`): its backup
    /// tables' shards are dropping their part.
    Drop,
}

impl PathState {
    /// The restore holding the path, if any.
    pub fn restore_lock(self) -> Option<OperationId> {
        match self {
            PathState::IncomingIncrementalRestore(op) | PathState::OutgoingIncrementalRestore(op) => Some(op),
            PathState::NoChanges | PathState::Drop => None,
        }
    }
}

/// One durable path row (absent = `NoChanges`, not dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PathRow {
    pub state: PathState,
    /// `StepDropped` is set: the path is gone.
    pub dropped: bool,
}

impl PathRow {
    pub const FREE: PathRow = PathRow { state: PathState::NoChanges, dropped: false };
    pub const DROPPED: PathRow = PathRow { state: PathState::NoChanges, dropped: true };
}

/// A DROP BACKUP COLLECTION in progress: the source shards (the backup
/// tables' shards) whose `TEvSchemaChanged` SchemeShard has made durable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DropRow {
    pub acked: BTreeSet<ShardIdx>,
}

/// The paths restore `row` locks, with the state each takes.
pub fn restore_paths(op: OperationId, row: &OperationRow) -> Vec<(SchemePath, PathState)> {
    let mut paths: Vec<_> =
        row.tables.iter().map(|t| (SchemePath::Table(*t), PathState::IncomingIncrementalRestore(op))).collect();
    paths.push((SchemePath::BackupCollection, PathState::OutgoingIncrementalRestore(op)));
    paths
}

/// The row of `path` (absent = free).
pub fn path_row(paths: &BTreeMap<SchemePath, PathRow>, path: SchemePath) -> PathRow {
    paths.get(&path).copied().unwrap_or(PathRow::FREE)
}

/// TTxInit's `RestoreIncrementalRestoreOpPathStates`: the path rows to write
/// so that every restore that still runs holds its paths. Fixed (#41268):
/// only a non-terminal restore (an orphaned operation row, with no state
/// row yet, counts as running) re-locks, and never a dropped path. With
/// `pre_fix` every loaded restore re-locks every path, dropped or not.
/// In this model the accepting transaction already wrote the locks, so the
/// fixed boot finds nothing to write.
pub fn relock(
    paths: &BTreeMap<SchemePath, PathRow>,
    operations: &BTreeMap<OperationId, OperationRow>,
    states: &BTreeMap<OperationId, StateRow>,
    pre_fix: bool,
) -> Vec<(SchemePath, PathRow)> {
    let mut writes = BTreeMap::new();
    for (op, row) in operations {
        let running = states.get(op).is_none_or(|s| !s.state.is_terminal());
        if !running && !pre_fix {
            continue;
        }
        for (path, state) in restore_paths(*op, row) {
            let current = path_row(paths, path);
            if current.dropped && !pre_fix {
                continue;
            }
            if current.state != state {
                writes.insert(path, PathRow { state, dropped: current.dropped });
            }
        }
    }
    writes.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RequestKey;
    use crate::ydb::schema::YdbState;

    fn op_row() -> OperationRow {
        OperationRow { key: RequestKey(1), tables: vec![TableId(0), TableId(1)], incrementals: 2 }
    }

    fn state(s: YdbState) -> StateRow {
        StateRow { state: s, idx: 2, ..StateRow::running(0) }
    }

    #[test]
    fn fixed_boot_relocks_only_running_restores_and_never_dropped_paths() {
        let op = OperationId(1);
        let ops = BTreeMap::from([(op, op_row())]);
        let mut paths = BTreeMap::from([(SchemePath::Table(TableId(0)), PathRow::DROPPED)]);
        let done = BTreeMap::from([(op, state(YdbState::Completed))]);
        assert!(relock(&paths, &ops, &done, false).is_empty());
        let pre_fix = relock(&paths, &ops, &done, true);
        assert_eq!(pre_fix.len(), 3, "the finished restore's two tables and collection re-locked");
        assert!(pre_fix.contains(&(
            SchemePath::Table(TableId(0)),
            PathRow { state: PathState::IncomingIncrementalRestore(op), dropped: true }
        )));
        // A running restore whose lock rows were lost gets them back,
        // except on the dropped path.
        let running = BTreeMap::from([(op, state(YdbState::Running))]);
        let fixed = relock(&paths, &ops, &running, false);
        assert_eq!(fixed.len(), 2);
        assert!(fixed.iter().all(|(p, _)| *p != SchemePath::Table(TableId(0))));
        paths.clear();
        for (p, r) in fixed {
            paths.insert(p, r);
        }
        assert_eq!(relock(&paths, &ops, &BTreeMap::new(), false).len(), 1, "an orphaned row counts as running");
    }
}
