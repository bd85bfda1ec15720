//! YDB's DataShard side: a source shard's `TIncrementalRestoreSrcActor` and
//! scan (`incr_restore_scan.cpp`) pushing change records through the change
//! sender, and a destination shard's change receiver
//! (`datashard_change_receiving.cpp`). A source shard persists nothing about
//! a restore: every request starts a new scan from the beginning (its
//! `LastKey` is never set) and a restart kills every scan silently.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use super::pipe::{self, PipeOwner, SchemeShardPipe};
use super::schema::{ReceiverDb, YdbReceiverCommit};
use super::{ApplyRecords, EndStatus, RecordsStatus, ShardProgress, SrcCreateRequest, SrcShardSpec};
use crate::ids::{Generation, Micros, ShardIdx};
use crate::knobs::{Bug, ProtocolKnobs};
use crate::msg::{Actor, Msg};
use crate::note::Note;
use crate::outbox::{BackupBatch, Commit, Outbox, ReadBackup, ReadError, Timer};
use crate::workload::Workload;

/// One scan of a source shard's part of one backup table.
#[derive(Clone, Debug)]
struct Scan {
    req: SrcCreateRequest,
    /// Exclusive resume point of the next read (within this scan only).
    after: Option<u64>,
    /// Records sent so far (`Order` of the last one).
    order: u64,
    /// Records sent to a destination shard and not acknowledged yet.
    unacked: BTreeMap<ShardIdx, ApplyRecords>,
    more: bool,
}

/// Volatile: a source shard. Nothing durable: a crash drops every scan.
pub struct SrcShard {
    spec: SrcShardSpec,
    workload: Arc<Workload>,
    knobs: Arc<ProtocolKnobs>,
    pub generation: Generation,
    scans: BTreeMap<u64, Scan>,
    next_scan: u64,
    /// Scans waiting for a read; one read runs at a time.
    queue: VecDeque<u64>,
    reading: Option<u64>,
    /// Destination shards with a re-send armed.
    retrying: BTreeSet<ShardIdx>,
    /// The pipe to SchemeShard and its owner (`pipe.rs`).
    ss_pipe: Option<SchemeShardPipe>,
    /// The shard's part of DROP BACKUP COLLECTION is done and its
    /// `TEvSchemaChanged` not acknowledged yet: re-sent when the pipe breaks.
    schema_changed_unacked: bool,
}

/// The change sender's pause before re-sending to a destination whose pipe
/// broke (YDB: 10–50 ms between handshake attempts).
const SENDER_RETRY: Micros = 10_000;

/// Without the workload and knobs (the same for every run of a scenario).
impl std::fmt::Debug for SrcShard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self;
        write!(
            f,
            "SrcShard({:?} {:?} {:?} {} {:?} {:?} {:?} {:?} {})",
            s.spec,
            s.generation,
            s.scans,
            s.next_scan,
            s.queue,
            s.reading,
            s.retrying,
            s.ss_pipe,
            s.schema_changed_unacked
        )
    }
}

impl SrcShard {
    pub fn boot(
        spec: SrcShardSpec,
        workload: Arc<Workload>,
        knobs: Arc<ProtocolKnobs>,
        generation: Generation,
    ) -> SrcShard {
        SrcShard {
            spec,
            workload,
            knobs,
            generation,
            scans: BTreeMap::new(),
            next_scan: 1,
            queue: VecDeque::new(),
            reading: None,
            retrying: BTreeSet::new(),
            ss_pipe: None,
            schema_changed_unacked: false,
        }
    }

    pub fn on_message(&mut self, msg: Msg, out: &mut Outbox) {
        match msg {
            // No de-duplication: every request, a repeat too, is a new scan.
            Msg::IncrementalRestoreSrcCreateRequest(req) => {
                debug_assert_eq!(req.shard, self.spec.idx);
                let id = self.next_scan;
                self.next_scan += 1;
                self.scans.insert(id, Scan { req, after: None, order: 0, unacked: BTreeMap::new(), more: true });
                self.queue.push_back(id);
                self.pump(out);
            }
            Msg::ChangeRecordsStatus(status) => self.on_status(status, out),
            // The drop's schema transaction: this shard's part of the
            // backup tables is gone; tell SchemeShard (again, if asked again).
            Msg::DropBackupTable { .. } => {
                self.schema_changed_unacked = true;
                self.send_schema_changed(out);
            }
            Msg::SchemaChangedResult { .. } => self.schema_changed_unacked = false,
            _ => debug_assert!(false, "a source shard got {}", msg.kind()),
        }
    }

    fn pump(&mut self, out: &mut Outbox) {
        if self.reading.is_some() {
            return;
        }
        while let Some(id) = self.queue.pop_front() {
            let Some(scan) = self.scans.get(&id) else { continue };
            self.reading = Some(id);
            out.read(ReadBackup {
                op: scan.req.op,
                table: scan.req.table,
                incr: scan.req.incr,
                start: self.spec.start,
                end: self.spec.end,
                after: scan.after,
                limit: self.knobs.batch_rows.max(1),
            });
            return;
        }
    }

    /// The scan's read came back: push the batch to the destination shards
    /// owning its keys, or end the scan.
    pub fn on_read(&mut self, _now: Micros, reply: BackupBatch, out: &mut Outbox) {
        let id = self.reading.take().expect("a read was running");
        let scan = self.scans.get_mut(&id).expect("a reading scan stays until its read returns");
        debug_assert_eq!((scan.req.op, scan.req.incr), (reply.op, reply.incr));
        match reply.result {
            // `Term`: the scan was aborted. Before #35663 its Finish
            // reported it finished all the same.
            Err(ReadError::Transient) => {
                let end =
                    if self.knobs.bugs.has(Bug::Ydb35663) { EndStatus::Success } else { EndStatus::TransientFailure };
                self.finish(id, end, out);
            }
            Err(ReadError::Fatal) => self.finish(id, EndStatus::FatalFailure, out),
            Ok(batch) => {
                scan.more = batch.more;
                scan.after = batch.changes.last_key().or(scan.after);
                let topology = &self.workload.topology;
                let dst = &topology.tables[scan.req.table.0 as usize].shards;
                for (key, change) in &batch.changes {
                    scan.order += 1;
                    let shard = *dst
                        .iter()
                        .find(|s| topology.shard(**s).contains(key))
                        .expect("a destination shard owns every key of its table");
                    let part = scan.unacked.entry(shard).or_insert_with(|| ApplyRecords {
                        op: scan.req.op,
                        incr: scan.req.incr,
                        origin: self.spec.idx,
                        origin_generation: self.generation,
                        scan: id,
                        records: Vec::new(),
                    });
                    part.records.push((scan.order, key, change));
                }
                for (shard, part) in &scan.unacked {
                    out.send(Actor::DataShard(*shard), Msg::ApplyChangeRecords(part.clone()));
                }
                self.next_or_finish(id, out);
            }
        }
        self.pump(out);
    }

    /// Every record acknowledged: read on, or report success (the sender's
    /// `TEvFinished` comes only when all records are acknowledged).
    fn next_or_finish(&mut self, id: u64, out: &mut Outbox) {
        let scan = &self.scans[&id];
        if !scan.unacked.is_empty() {
            return;
        }
        if scan.more {
            self.queue.push_back(id);
            self.pump(out);
        } else {
            self.finish(id, EndStatus::Success, out);
        }
    }

    fn on_status(&mut self, status: RecordsStatus, out: &mut Outbox) {
        if status.origin_generation != self.generation {
            return; // For a scan of an earlier incarnation: gone.
        }
        let Some(scan) = self.scans.get_mut(&status.scan) else { return };
        let answers = |part: &ApplyRecords| part.records.last().is_some_and(|(o, _, _)| *o == status.upto);
        if !scan.unacked.get(&status.shard).is_some_and(answers) {
            return;
        }
        scan.unacked.remove(&status.shard);
        if !status.ok {
            return self.finish(status.scan, EndStatus::FatalFailure, out);
        }
        self.next_or_finish(status.scan, out);
    }

    /// `Finish` → `TEvIncrementalRestoreShardProgress` over the DataShard's
    /// pipe to SchemeShard; the actor and its scan are gone.
    /// Before #53201 the actor sends with its own context, so a pipe this
    /// send creates is owned by the actor, which passes away right after.
    fn finish(&mut self, id: u64, end: EndStatus, out: &mut Outbox) {
        let scan = self.scans.remove(&id).expect("finishing a live scan");
        let r = scan.req;
        let sender = if self.knobs.bugs.has(Bug::Ydb53201) { PipeOwner::SrcActor(id) } else { PipeOwner::DataShard };
        let msg = Msg::IncrementalRestoreShardProgress(ShardProgress {
            op: r.op,
            sub_tx: r.sub_tx,
            shard: r.shard,
            generation: r.generation,
            end,
        });
        self.send_to_schemeshard(sender, msg, out);
    }

    fn send_schema_changed(&mut self, out: &mut Outbox) {
        let msg = Msg::SchemaChanged { shard: self.spec.idx };
        self.send_to_schemeshard(PipeOwner::DataShard, msg, out);
    }

    /// `SendViaSchemeshardPipe`: a message into a dead pipe is lost.
    fn send_to_schemeshard(&mut self, sender: PipeOwner, msg: Msg, out: &mut Outbox) {
        match pipe::send(&mut self.ss_pipe, sender) {
            pipe::Sent::Delivered => out.send(Actor::SchemeShard, msg),
            pipe::Sent::Lost => out.note(Note::LostInDeadPipe { shard: self.spec.idx, what: msg.kind() }),
        }
    }

    /// A destination shard's pipe broke: after the change sender's backoff,
    /// send it what it has not acknowledged again (one retry armed per
    /// destination, so a shard that is down is not flooded).
    /// SchemeShard's pipe broke: whether anyone hears depends on who owns
    /// the pipe (`pipe.rs`); the owner re-sends the drop's completion.
    pub fn on_pipe_reset(&mut self, peer: Actor, out: &mut Outbox) {
        if peer == Actor::SchemeShard {
            if pipe::on_reset(&mut self.ss_pipe) && self.schema_changed_unacked {
                self.send_schema_changed(out);
            }
            return;
        }
        let Actor::DataShard(shard) = peer else { return };
        if self.retrying.insert(shard) {
            out.set_timer(SENDER_RETRY, Timer::YdbSenderRetry { shard });
        }
    }

    pub fn on_timer(&mut self, timer: Timer, out: &mut Outbox) {
        let Timer::YdbSenderRetry { shard } = timer else { return };
        self.retrying.remove(&shard);
        for scan in self.scans.values() {
            if let Some(part) = scan.unacked.get(&shard) {
                out.send(Actor::DataShard(shard), Msg::ApplyChangeRecords(part.clone()));
            }
        }
    }
}

/// Volatile: a destination shard's change receiver.
#[derive(Debug)]
pub struct Receiver {
    pub shard: ShardIdx,
    pub generation: Generation,
    table: crate::ids::TableId,
}

impl Receiver {
    pub fn boot(shard: ShardIdx, table: crate::ids::TableId, generation: Generation) -> Receiver {
        Receiver { shard, generation, table }
    }

    /// `TEvApplyRecords`: refuse an older origin generation; skip records at
    /// or below the durable last order; apply the rest in one transaction.
    pub fn on_message(&mut self, db: &ReceiverDb, msg: Msg, out: &mut Outbox) {
        let Msg::ApplyChangeRecords(apply) = msg else {
            debug_assert!(false, "a destination shard got {}", msg.kind());
            return;
        };
        let stored = db.senders.get(&(apply.op, apply.origin, apply.incr)).copied();
        let upto = apply.records.last().map_or(0, |(o, _, _)| *o);
        let status = |ok| RecordsStatus {
            origin_generation: apply.origin_generation,
            scan: apply.scan,
            shard: self.shard,
            ok,
            upto,
        };
        if stored.is_some_and(|(g, _)| g > apply.origin_generation) {
            out.send(Actor::DataShard(apply.origin), Msg::ChangeRecordsStatus(status(false)));
            return;
        }
        let last = stored.map_or(0, |(_, o)| o);
        let new_generation = stored.is_none_or(|(g, _)| g < apply.origin_generation);
        if !new_generation && apply.records.iter().all(|(o, _, _)| *o <= last) {
            out.send(Actor::DataShard(apply.origin), Msg::ChangeRecordsStatus(status(true)));
            return;
        }
        out.commit(Commit::YdbDataShard(Box::new(YdbReceiverCommit {
            op: apply.op,
            table: self.table,
            origin: apply.origin,
            incr: apply.incr,
            origin_generation: apply.origin_generation,
            reply: Msg::ChangeRecordsStatus(status(true)),
            reply_to: apply.origin,
            records: apply.records,
        })));
    }

    pub fn on_committed(&mut self, commit: YdbReceiverCommit, out: &mut Outbox) {
        out.send(Actor::DataShard(commit.reply_to), commit.reply);
    }
}
