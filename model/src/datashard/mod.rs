//! DataShard: applies incrementals to its key range in key order, in batches,
//! committing rows and `LastKey` atomically, and reports progress to the
//! coordinator. Answers only after the commit is durable (unless the
//! `AckBeforePersist` bug is planted).

mod delta;
#[cfg(test)]
mod delta_proptest;
mod rows;
mod schema;

use std::sync::Arc;

pub use rows::ShardRows;
pub use schema::{Answer, AnswerStatus, DataShardCommit, DataShardDb, IncrementalProgress};

use crate::batch::ChangeBatch;
use crate::ids::{Generation, IncrIdx, Key, Micros, OperationId, Stamp};
use crate::knobs::{Bug, ProtocolKnobs};
use crate::msg::{Actor, Msg, ResponseStatus, TEvIncrementalRestoreRequest, TEvIncrementalRestoreResponse};
use crate::note::Note;
use crate::outbox::{BackupBatch, Commit, Outbox, ReadBackup, ReadError, Timer};
use crate::sorted_map::SortedMap;
use crate::topology::ShardSpec;

/// Where the scan of one incremental is. At most one read or batch commit is
/// outstanding per incremental, so batches land in key order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    Idle,
    Reading,
    RetryWait,
    Committing,
}

/// Volatile state of one incremental being applied.
#[derive(Debug)]
struct Apply {
    /// The durable record plus every commit issued but not yet durable.
    mirror: IncrementalProgress,
    scan: Scan,
    /// Exclusive key the scan continues after (volatile: a rescan may start
    /// below the durable `LastKey`).
    scan_after: Option<Key>,
    read_failures: u32,
}

/// Volatile: everything a restart loses. Rebuilt empty at boot; the durable
/// progress records tell the shard where to resume when asked again.
#[derive(Debug)]
pub struct DataShard {
    pub generation: Generation,
    spec: ShardSpec,
    knobs: Arc<ProtocolKnobs>,
    /// The scans in flight: at most one per (operation, incremental), and
    /// usually none (a sorted vector, not a map: see `SortedMap`).
    active: SortedMap<(OperationId, IncrIdx), Apply>,
}

impl DataShard {
    pub fn boot(spec: ShardSpec, knobs: Arc<ProtocolKnobs>, generation: Generation) -> DataShard {
        DataShard { generation, spec, knobs, active: SortedMap::new() }
    }

    /// Its first scan's address, not read (the engine's prefetch pipeline
    /// hints it; see `crate::prefetch`).
    #[inline]
    pub(crate) fn active_addr(&self) -> *const u8 {
        self.active.iter().next().map_or(std::ptr::null(), |(key, _)| std::ptr::from_ref(key).cast())
    }

    pub fn spec(&self) -> &ShardSpec {
        &self.spec
    }

    pub fn on_message(&mut self, db: &DataShardDb, _now: Micros, msg: Msg, out: &mut Outbox) {
        if let Msg::IncrementalRestoreRequest(req) = msg {
            self.on_request(db, req, out);
        }
    }

    fn on_request(&mut self, db: &DataShardDb, req: TEvIncrementalRestoreRequest, out: &mut Outbox) {
        debug_assert_eq!(req.shard, self.spec.idx);
        let key = (req.op, req.incr);
        let known = match self.active.get(&key) {
            Some(apply) => apply.mirror,
            None => db.progress(req.op, req.incr).copied().unwrap_or_default(),
        };
        // Invariant 5: a request older than one already accepted changes nothing.
        if req.stamp < known.accepted && !self.knobs.bugs.has(Bug::NoGenerationCheck) {
            out.note(Note::StaleDropped { at: Actor::DataShard(self.spec.idx), stamp: req.stamp });
            return;
        }
        // Done again only once Done is durable: a Done still committing will
        // answer by itself, under this request's stamp.
        let durable_done = db.progress(req.op, req.incr).is_some_and(|p| p.done);
        if durable_done && !self.knobs.bugs.has(Bug::SkipDoneCheck) {
            out.note(Note::DoneAgain { shard: self.spec.idx, incr: req.incr });
            let reply = self.response(&req.op, req.incr, req.stamp, ResponseStatus::Done, &known);
            out.send(Actor::SchemeShard, Msg::IncrementalRestoreResponse(reply));
            return;
        }
        let apply = self.active.get_or_insert_with(key, || Apply {
            mirror: known,
            scan: Scan::Idle,
            scan_after: None,
            read_failures: 0,
        });
        apply.mirror.accepted = req.stamp;
        if durable_done {
            // Only reachable with SkipDoneCheck: start the incremental over.
            apply.mirror = IncrementalProgress { accepted: req.stamp, ..Default::default() };
            apply.scan = Scan::Idle;
        }
        if self.knobs.bugs.has(Bug::LastKeyRegress) {
            apply.mirror.last_key = req.from_key;
        }
        if apply.scan == Scan::Idle {
            apply.scan_after =
                if self.knobs.resume_from_last_key { apply.mirror.last_key.max(req.from_key) } else { None };
            if let Some(k) = apply.scan_after.filter(|_| apply.mirror.last_key.is_some()) {
                out.note(Note::ResumedFromLastKey { shard: self.spec.idx, key: k });
            }
        }
        let mirror = apply.mirror;
        let accepted = self.response(&req.op, req.incr, req.stamp, ResponseStatus::Accepted, &mirror);
        self.commit(req.op, req.incr, ChangeBatch::empty(), accepted, false, out);
        if !mirror.done {
            self.read_if_idle(req.op, req.incr, out);
        }
    }

    fn response(
        &self,
        op: &OperationId,
        incr: IncrIdx,
        stamp: Stamp,
        status: ResponseStatus,
        progress: &IncrementalProgress,
    ) -> TEvIncrementalRestoreResponse {
        TEvIncrementalRestoreResponse {
            op: *op,
            incr,
            shard: self.spec.idx,
            stamp,
            status,
            last_key: progress.last_key,
            rows_applied: progress.rows_applied,
            rows_total: progress.rows_total,
        }
    }

    /// Commits the mirror (with `changes`) and answers once durable.
    fn commit(
        &mut self,
        op: OperationId,
        incr: IncrIdx,
        changes: ChangeBatch,
        reply: TEvIncrementalRestoreResponse,
        continue_scan: bool,
        out: &mut Outbox,
    ) {
        let progress = self.active.get(&(op, incr)).expect("a commit belongs to a scan in flight").mirror;
        let reply = if self.knobs.bugs.has(Bug::AckBeforePersist) {
            out.send(Actor::SchemeShard, Msg::IncrementalRestoreResponse(reply));
            None
        } else {
            Some(reply)
        };
        // Everything else of the reply is the commit's own (its operation,
        // incremental, and the mirror it was written from): what could
        // differ is checked in every build, so an answer is never lost or
        // changed by being carried this way.
        let answer = reply.as_ref().map(|reply| {
            assert_eq!(reply.stamp, progress.accepted, "a commit answers under the stamp its record accepted");
            Answer::of(reply).expect("a commit answers Accepted, Progress or Done (an error is answered at once)")
        });
        let commit = DataShardCommit { op, incr, changes, progress, reply: answer, continue_scan };
        debug_assert_eq!(commit.reply(), reply, "a commit's answer is written from the commit");
        out.commit(Commit::DataShard(commit));
    }

    fn read_if_idle(&mut self, op: OperationId, incr: IncrIdx, out: &mut Outbox) {
        let Some(apply) = self.active.get_mut(&(op, incr)) else {
            return;
        };
        if matches!(apply.scan, Scan::Idle | Scan::RetryWait) {
            apply.scan = Scan::Reading;
            out.read(ReadBackup {
                op,
                table: self.spec.table,
                incr,
                start: self.spec.start,
                end: self.spec.end,
                after: apply.scan_after,
                limit: self.knobs.batch_rows,
            });
        }
    }

    pub fn on_read(&mut self, _now: Micros, batch: BackupBatch, out: &mut Outbox) {
        let key = (batch.op, batch.incr);
        let Some(apply) = self.active.get_mut(&key) else {
            return;
        };
        if apply.scan != Scan::Reading {
            // A read answer for a scan that was started over (SkipDoneCheck):
            // the new scan has its own read in flight.
            debug_assert!(self.knobs.bugs.has(Bug::SkipDoneCheck), "one read in flight per scan");
            return;
        }
        let rows = match batch.result {
            Ok(rows) => rows,
            Err(ReadError::Transient) if apply.read_failures < self.knobs.read_retries => {
                apply.read_failures += 1;
                apply.scan = Scan::RetryWait;
                let delay = self.knobs.backoff.delay(apply.read_failures);
                out.set_timer(delay, Timer::ReadRetry { op: batch.op, incr: batch.incr });
                return;
            }
            Err(error) => {
                apply.scan = Scan::Idle;
                apply.read_failures = 0;
                let (retriable, issue) = match error {
                    ReadError::Transient => (true, "backup storage unavailable"),
                    ReadError::Fatal => (false, "backup data unreadable"),
                };
                let status =
                    ResponseStatus::Error { retriable, issue: format!("{issue}: incremental {}", batch.incr.0) };
                let stamp = apply.mirror.accepted;
                let mirror = apply.mirror;
                let reply = self.response(&batch.op, batch.incr, stamp, status, &mirror);
                out.send(Actor::SchemeShard, Msg::IncrementalRestoreResponse(reply));
                return;
            }
        };
        apply.read_failures = 0;
        let batch_last = rows.changes.last_key();
        if batch_last.is_some() {
            apply.scan_after = batch_last;
        }
        let m = &mut apply.mirror;
        m.last_key = m.last_key.max(batch_last);
        m.rows_total = rows.rows_total;
        m.rows_applied = m.rows_applied.max(rows.rows_through);
        m.done = !rows.more;
        m.batches += 1;
        apply.scan = Scan::Committing;
        let status = if m.done { ResponseStatus::Done } else { ResponseStatus::Progress };
        let (stamp, mirror) = (m.accepted, *m);
        let reply = self.response(&batch.op, batch.incr, stamp, status, &mirror);
        self.commit(batch.op, batch.incr, rows.changes, reply, !mirror.done, out);
    }

    pub fn on_timer(&mut self, _now: Micros, timer: Timer, out: &mut Outbox) {
        if let Timer::ReadRetry { op, incr } = timer
            && self.active.get(&(op, incr)).is_some_and(|a| a.scan == Scan::RetryWait)
        {
            self.read_if_idle(op, incr, out);
        }
    }

    pub fn on_committed(&mut self, commit: DataShardCommit, out: &mut Outbox) {
        let key = (commit.op, commit.incr);
        if !commit.changes.is_empty() || commit.progress.done {
            out.note(Note::BatchApplied {
                shard: self.spec.idx,
                op: commit.op,
                incr: commit.incr,
                batches: commit.progress.batches,
                last_key: commit.progress.last_key,
            });
        }
        if let Some(mut reply) = commit.reply() {
            // Answer under the newest accepted stamp: a request re-sent while
            // this batch was committing is answered by it.
            if let Some(apply) = self.active.get(&key) {
                reply.stamp = reply.stamp.max(apply.mirror.accepted);
            }
            out.send(Actor::SchemeShard, Msg::IncrementalRestoreResponse(reply));
        }
        let Some(apply) = self.active.get_mut(&key) else {
            return;
        };
        if commit.continue_scan && apply.scan == Scan::Committing {
            apply.scan = Scan::Idle;
            self.read_if_idle(commit.op, commit.incr, out);
        } else if commit.progress.done && apply.scan == Scan::Committing {
            self.active.remove(&key);
        }
    }
}
