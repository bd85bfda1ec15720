//! DROP TABLE and DROP BACKUP COLLECTION on the YDB SchemeShard. A drop of a
//! path a restore holds is refused with `StatusMultipleModifications`, as
//! YDB does (`DropTableBlockedDuringActiveIncrementalRestore`,
//! `DropBackupCollectionBlockedDuringActiveIncrementalRestore`); the Client
//! asks again later.
//!
//! DROP TABLE is one transaction: the path is marked dropped.
//! DROP BACKUP COLLECTION drops the backup tables, whose shards are the
//! source shards: the collection goes to `EPathStateDrop` with a drop row,
//! each source shard is asked to drop its part and answers
//! `TEvSchemaChanged` over its pipe to SchemeShard; once every answer is
//! durable the collection is dropped. That answer is what #53201 loses.

use std::collections::BTreeSet;

use super::YdbSchemeShard;
use crate::ids::ShardIdx;
use crate::msg::{Actor, DropStatus, Msg};
use crate::outbox::{Commit, Outbox};
use crate::ydb::path_state::{DropRow, PathRow, PathState, SchemePath, path_row};
use crate::ydb::schema::{YdbSchemeShardCommit, YdbSchemeShardDb, YdbWrite};

/// Volatile: what this incarnation has in flight for drops.
#[derive(Clone, Debug, Default)]
pub(super) struct Drops {
    /// Paths whose drop transaction is issued but not durable yet.
    dropping: BTreeSet<SchemePath>,
    /// Source shards asked to drop their part in this incarnation.
    proposed: BTreeSet<ShardIdx>,
    /// Source shards whose `TEvSchemaChanged` is being made durable.
    acking: BTreeSet<ShardIdx>,
}

fn commit(writes: Vec<YdbWrite>, replies: Vec<Msg>) -> Commit {
    Commit::YdbSchemeShard(YdbSchemeShardCommit {
        writes,
        next_op: None,
        replies,
        run: None,
        resume: None,
        report: None,
    })
}

impl YdbSchemeShard {
    /// Is `path` free for a scheme operation (a restore or a drop)? `Err`
    /// is the status to refuse with.
    pub(super) fn path_free(&self, db: &YdbSchemeShardDb, path: SchemePath) -> Result<(), DropStatus> {
        let row = path_row(&db.paths, path);
        if row.dropped {
            return Err(DropStatus::PathDoesNotExist);
        }
        if row.state != PathState::NoChanges || self.drops.dropping.contains(&path) {
            return Err(DropStatus::MultipleModifications);
        }
        Ok(())
    }

    /// DROP TABLE / DROP BACKUP COLLECTION from the Client.
    pub(super) fn on_drop(&mut self, db: &YdbSchemeShardDb, path: SchemePath, out: &mut Outbox) {
        // A restore being accepted is about to lock its paths.
        let refused = self
            .path_free(db, path)
            .err()
            .or((!self.accepting.is_empty()).then_some(DropStatus::MultipleModifications));
        if let Some(status) = refused {
            out.send(Actor::Client, Msg::DropResult { path, status });
            return;
        }
        self.drops.dropping.insert(path);
        let done = Msg::DropResult { path, status: DropStatus::Dropped };
        out.commit(match path {
            SchemePath::Table(_) => commit(vec![YdbWrite::Path(path, PathRow::DROPPED)], vec![done]),
            SchemePath::BackupCollection => commit(
                vec![
                    YdbWrite::Path(path, PathRow { state: PathState::Drop, dropped: false }),
                    YdbWrite::Drop(path, DropRow::default()),
                ],
                Vec::new(),
            ),
        });
    }

    /// A drop's write is durable: go on with it.
    pub(super) fn on_drop_committed(&mut self, write: &YdbWrite, out: &mut Outbox) {
        match write {
            YdbWrite::Path(path, _) => {
                self.drops.dropping.remove(path);
            }
            YdbWrite::Drop(_, row) => {
                for shard in &row.acked {
                    if self.drops.acking.remove(shard) {
                        out.send(Actor::DataShard(*shard), Msg::SchemaChangedResult { shard: *shard });
                    }
                }
                self.propose_drop(row, out);
            }
            YdbWrite::DropDone(_) => {
                for shard in std::mem::take(&mut self.drops.acking) {
                    out.send(Actor::DataShard(shard), Msg::SchemaChangedResult { shard });
                }
            }
            _ => {}
        }
    }

    /// Ask every source shard whose part is not durably dropped, once per
    /// incarnation (a pipe reset asks again).
    pub(super) fn propose_drop(&mut self, row: &DropRow, out: &mut Outbox) {
        for spec in &self.layout.src {
            if !row.acked.contains(&spec.idx) && self.drops.proposed.insert(spec.idx) {
                self.send_drop(spec.idx, out);
            }
        }
    }

    fn send_drop(&self, shard: ShardIdx, out: &mut Outbox) {
        out.send(Actor::DataShard(shard), Msg::DropBackupTable { shard, generation: self.generation });
    }

    /// TTxInit: a drop in progress asks its shards again.
    pub(super) fn boot_drops(&mut self, db: &YdbSchemeShardDb, out: &mut Outbox) {
        for row in db.drops.values() {
            self.propose_drop(row, out);
        }
    }

    /// A source shard's pipe broke: ask it again if its part is not durable.
    pub(super) fn drop_pipe_reset(&mut self, db: &YdbSchemeShardDb, shard: ShardIdx, out: &mut Outbox) {
        let Some(row) = db.drops.get(&SchemePath::BackupCollection) else { return };
        if !row.acked.contains(&shard) && !self.drops.acking.contains(&shard) {
            self.drops.proposed.insert(shard);
            self.send_drop(shard, out);
        }
    }

    /// `TEvSchemaChanged`: make the shard's part durable; the last one
    /// drops the collection and answers the Client.
    pub(super) fn on_schema_changed(&mut self, db: &YdbSchemeShardDb, shard: ShardIdx, out: &mut Outbox) {
        let path = SchemePath::BackupCollection;
        let Some(row) = db.drops.get(&path) else {
            // The drop is over: the shard only missed the acknowledgement.
            if path_row(&db.paths, path).dropped {
                out.send(Actor::DataShard(shard), Msg::SchemaChangedResult { shard });
            }
            return;
        };
        if row.acked.contains(&shard) {
            out.send(Actor::DataShard(shard), Msg::SchemaChangedResult { shard });
            return;
        }
        if !self.drops.acking.insert(shard) {
            return;
        }
        let mut acked = row.acked.clone();
        acked.extend(self.drops.acking.iter().copied());
        // Only source shards are asked to drop their part, so only they
        // answer: a count says whether every one has, without a scan of
        // the layout per answer.
        debug_assert!(acked.iter().all(|a| self.layout.src.iter().any(|s| s.idx == *a)));
        let all = acked.len() == self.layout.src.len();
        let mut writes = vec![YdbWrite::Drop(path, DropRow { acked })];
        let mut replies = Vec::new();
        if all {
            writes.push(YdbWrite::Path(path, PathRow::DROPPED));
            writes.push(YdbWrite::DropDone(path));
            replies.push(Msg::DropResult { path, status: DropStatus::Dropped });
        }
        out.commit(commit(writes, replies));
    }
}
