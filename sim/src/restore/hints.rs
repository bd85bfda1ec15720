//! The restore system's prefetch hooks (`System::prefetch` and
//! `prefetch_deep`): which lines of a DataShard's or the coordinator's
//! state an event a few places ahead will read, named through the model's
//! address helpers (`restoresim_model::prefetch`) and hinted into the
//! caches. A hint reads no value a handler sees, so no trace depends on it.

use restoresim_model::Commit;
use restoresim_model::ids::ShardIdx;
use restoresim_model::msg::Msg;
use restoresim_model::prefetch as lines;

use super::{FIRST_DATASHARD, RestoreSystem, SCHEMESHARD};
use crate::engine::prefetch;
use crate::engine::{NodeId, Payload};

impl RestoreSystem {
    /// The first stage: a DataShard's tablet (its database's and its
    /// actor's inline fields), the lines every one of its handlers reads
    /// first; and the shard's lines in the vectors by shard that its event
    /// reads next (its spec in the topology, which the checker's and a
    /// backup read's span lookups compare; its spans in the checker's
    /// index; its verified prefix). At a million shards those vectors are
    /// past the last-level cache, at 100,000 they mostly fit, so unhinted
    /// they cost the large run more per event than the small one.
    #[inline]
    pub(super) fn hint_first(&self, node: NodeId) {
        let Some(index) = node.checked_sub(FIRST_DATASHARD) else { return };
        if let Some(tablet) = self.datashards.get(index as usize) {
            prefetch::lines(tablet);
            for (start, len) in lines::datashard_index(&self.workload, &self.checker, ShardIdx(index)) {
                prefetch::bytes(start, len);
            }
        }
    }

    /// The second stage: behind the tablet's pointers (its progress
    /// records, its delta, its rows in the backup, its scans in flight),
    /// read from the tablet the first stage brought in; a commit's or a
    /// read's changes in the workload's incremental (their digests and the
    /// merge read them first). A commit's durable point is summed from the
    /// progress records hinted here, so the tracker needs no hint. Behind
    /// the spans the first stage hinted: a commit's changed keys in the
    /// oracle and their first versions, and its whole delta (its merge and
    /// checks walk them), and a request's changes in the incremental (the
    /// read it starts searches them). For the coordinator, see
    /// `coordinator_lines`.
    #[inline]
    pub(super) fn hint_deep(&self, node: NodeId, payload: Payload<'_, Self>) {
        if node == SCHEMESHARD {
            return self.coordinator_lines(payload);
        }
        let Some(index) = node.checked_sub(FIRST_DATASHARD) else { return };
        let Some(tablet) = self.datashards.get(index as usize) else { return };
        match payload {
            Payload::Commit(Commit::DataShard(c)) => {
                prefetch::line(lines::batch(&c.changes));
                for (start, len) in lines::datashard_commit_checks(&self.workload, &self.checker, ShardIdx(index), c) {
                    prefetch::bytes(start, len);
                }
                let (start, len) = lines::datashard_delta(&tablet.db);
                prefetch::bytes(start, len);
            }
            Payload::Reply(reply) => {
                if let Some(line) = lines::reply(reply) {
                    prefetch::line(line);
                }
            }
            Payload::Message(Msg::IncrementalRestoreRequest(req)) => {
                prefetch::line(lines::datashard_request(&self.workload, &self.checker, req));
            }
            _ => {}
        }
        for line in lines::datashard_db(&tablet.db) {
            prefetch::line(line);
        }
        if let Some(live) = &tablet.live {
            prefetch::line(lines::datashard(live));
        }
    }

    /// The second stage for the coordinator, whose own state the caches
    /// hold: a DataShard's answer reads (and writes) the operation's row
    /// and timer slots of that shard, a Done's commit writes its durable
    /// row. At a million shards each is a random line of a vector of
    /// 48-64 MB, where at 100,000 shards the vectors mostly fit in the
    /// last-level cache.
    #[inline]
    fn coordinator_lines(&self, payload: Payload<'_, Self>) {
        match payload {
            Payload::Message(Msg::IncrementalRestoreResponse(resp)) => {
                if let Some(ss) = &self.schemeshard.live {
                    for (start, len) in lines::schemeshard_response(ss, resp) {
                        prefetch::bytes(start, len);
                    }
                }
            }
            Payload::Commit(Commit::SchemeShard(c)) => {
                let (start, len) = lines::schemeshard_commit(&self.schemeshard.db, c);
                prefetch::bytes(start, len);
            }
            _ => {}
        }
    }
}
