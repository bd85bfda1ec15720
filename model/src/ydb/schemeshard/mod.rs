//! YDB's SchemeShard side of an incremental restore: the orchestrator
//! `TTxProgressIncrementalRestore` over `TIncrementalRestoreState`. One stage
//! per incremental across every table of the backup collection; per table a
//! sub-operation with its own TxId, sent to every source shard; per shard
//! the first terminal report wins and is kept in memory; a stage with a
//! failed shard is re-run whole, with fresh TxIds, after a 2/4/8 s backoff.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::path_state::{self, PathRow};
use super::schema::{OperationRow, ShardReport, StateRow, YdbSchemeShardCommit, YdbSchemeShardDb, YdbState, YdbWrite};
use super::{EndStatus, ShardProgress, SrcCreateRequest, YdbLayout};
use crate::ids::{Generation, IncrIdx, Micros, OperationId, RequestKey, ShardIdx, TableId, TxId};
use crate::knobs::{Bug, ProtocolKnobs};
use crate::msg::{Actor, DropStatus, ForgetStatus, Msg, RejectStatus};
use crate::note::Note;
use crate::outbox::{Commit, Outbox, Timer};
use crate::progress::{FinalStatus, OpState};
use crate::workload::Workload;

mod drop;
mod progress;
mod run;
pub use progress::ydb_percent_bp;
use run::{Run, SubOp};

/// Empty TxAllocator answer: ask again after this long (YDB: 500 ms).
const ALLOCATE_RETRY: Micros = 500_000;

/// Volatile: the YDB flavour's SchemeShard; a crash drops it.
pub struct YdbSchemeShard {
    workload: Arc<Workload>,
    layout: Arc<YdbLayout>,
    knobs: Arc<ProtocolKnobs>,
    pub generation: Generation,
    runs: BTreeMap<OperationId, Run>,
    /// Operations accepted but whose operation row is not durable yet.
    accepting: BTreeMap<RequestKey, OperationId>,
    next_op: u64,
    next_cookie: u64,
    drops: drop::Drops,
}

/// Without the workload, layout and knobs (the same for every run of a scenario).
impl std::fmt::Debug for YdbSchemeShard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "YdbSchemeShard({:?} {:?} {:?} {} {} {:?})",
            self.generation, self.runs, self.accepting, self.next_op, self.next_cookie, self.drops
        )
    }
}

impl YdbSchemeShard {
    /// TTxInit: reload every restore; resume the running ones, re-run an
    /// orphaned operation row (no state row yet), resume finalizing.
    pub fn boot(
        workload: Arc<Workload>,
        layout: Arc<YdbLayout>,
        knobs: Arc<ProtocolKnobs>,
        db: &YdbSchemeShardDb,
        generation: Generation,
        now: Micros,
        out: &mut Outbox,
    ) -> YdbSchemeShard {
        let mut ss = YdbSchemeShard {
            workload,
            layout,
            knobs,
            generation,
            runs: BTreeMap::new(),
            accepting: BTreeMap::new(),
            next_op: db.next_op.max(1),
            next_cookie: 1,
            drops: drop::Drops::default(),
        };
        out.note(Note::Booted { actor: Actor::SchemeShard });
        // RestoreIncrementalRestoreOpPathStates (before #41268: every
        // restore row, on dropped paths too).
        let pre_fix = ss.knobs.bugs.has(Bug::Ydb41268);
        let relock = path_state::relock(&db.paths, &db.operations, &db.states, pre_fix);
        if !relock.is_empty() {
            let writes = relock.into_iter().map(|(p, r)| YdbWrite::Path(p, r)).collect();
            out.commit(Commit::YdbSchemeShard(YdbSchemeShardCommit {
                writes,
                next_op: None,
                replies: Vec::new(),
                run: None,
                resume: None,
                report: None,
            }));
        }
        ss.boot_drops(db, out);
        for (op, row) in &db.operations {
            let state = db.states.get(op).cloned();
            let mut run = Run::new(row.clone(), state.clone());
            if let Some(s) = &state
                && s.state == YdbState::Running
            {
                // Sub-operations not in CompletedOperations start over
                // (YDB re-dispatches them with the new generation).
                run.failed = s.failed.clone();
                run.retry_needed = s.retry_needed;
                let open = |t: &&TableId| !s.completed.contains(t) && !s.dispatched.contains_key(t);
                run.pending = row.tables.iter().filter(open).copied().collect();
            }
            ss.runs.insert(*op, run);
        }
        let ops: Vec<OperationId> = ss.runs.keys().copied().collect();
        for op in &ops {
            ss.redispatch(*op, out);
        }
        for op in ops {
            let state = ss.runs[&op].state.as_ref().map(|s| s.state);
            match state {
                None => ss.start(op, now, out),
                Some(YdbState::Running) => ss.progress(op, now, out),
                Some(YdbState::Finalizing) => ss.finalize(op, out),
                Some(_) => {}
            }
        }
        ss
    }

    pub fn on_message(&mut self, db: &YdbSchemeShardDb, now: Micros, from: Actor, msg: Msg, out: &mut Outbox) {
        match msg {
            Msg::MultiIncrementalRestore { key, table, backups } => self.on_restore(db, key, &table, &backups, out),
            Msg::GetProgress { op, .. } => {
                let report = self.report(db, op).map(Box::new);
                out.send(Actor::Client, Msg::Progress { op, report });
            }
            Msg::Forget { op } => self.on_forget(db, op, out),
            Msg::TxIdAllocated { op, cookie, tx } => self.on_allocated(op, cookie, tx, now, out),
            Msg::IncrementalRestoreShardProgress(p) => self.on_shard_progress(p, now, out),
            Msg::DropPath { path } => self.on_drop(db, path, out),
            Msg::SchemaChanged { shard } => self.on_schema_changed(db, shard, out),
            _ => debug_assert!(false, "YDB SchemeShard got {} from {from}", msg.kind()),
        }
    }

    /// `ESchemeOpRestoreBackupCollection`: validate, then write the
    /// operation row; the state row comes later (`start`).
    fn on_restore(
        &mut self,
        db: &YdbSchemeShardDb,
        key: RequestKey,
        table: &str,
        backups: &[IncrIdx],
        out: &mut Outbox,
    ) {
        if let Some(op) = db.keys.get(&key) {
            out.send(Actor::Client, Msg::RestoreAccepted { key, op: *op });
            return;
        }
        if self.accepting.contains_key(&key) {
            return; // Answered once the row is durable.
        }
        let reject = |status, issues: &str, out: &mut Outbox| {
            out.note(Note::Rejected { status });
            out.send(Actor::Client, Msg::RestoreRejected { key, status, issues: issues.to_string() });
        };
        let Some(spec) = self.workload.topology.table_by_name(table) else {
            return reject(RejectStatus::PathDoesNotExist, "no such backup collection", out);
        };
        let incrementals = self.workload.chain(spec.id).len();
        if !backups.iter().enumerate().all(|(i, b)| b.0 == i as u32 + 1) || backups.len() as u32 != incrementals {
            return reject(RejectStatus::BadRequest, "a collection restores its whole chain, in order", out);
        }
        let busy = self.runs.values().any(|r| !r.state.as_ref().is_some_and(|s| s.state.is_terminal()));
        if busy || !self.accepting.is_empty() {
            return reject(RejectStatus::MultipleModifications, "the backup collection is under operation", out);
        }
        let op = OperationId(self.next_op);
        // The named table first; every other table of the workload is part
        // of the collection (its index tables).
        let mut tables = vec![spec.id];
        tables.extend(self.workload.topology.tables.iter().map(|t| t.id).filter(|t| *t != spec.id));
        let row = OperationRow { key, tables, incrementals };
        let locks = path_state::restore_paths(op, &row);
        match locks.iter().find_map(|(path, _)| self.path_free(db, *path).err()) {
            Some(DropStatus::PathDoesNotExist) => {
                return reject(RejectStatus::PathDoesNotExist, "a path of the backup collection was dropped", out);
            }
            Some(_) => {
                return reject(RejectStatus::MultipleModifications, "a path of the collection is under operation", out);
            }
            None => {}
        }
        self.next_op += 1;
        self.accepting.insert(key, op);
        // The restore's schema operation locks its paths (until its terminal state).
        let mut writes = vec![YdbWrite::Operation(op, row)];
        writes.extend(locks.into_iter().map(|(path, state)| YdbWrite::Path(path, PathRow { state, dropped: false })));
        out.commit(Commit::YdbSchemeShard(YdbSchemeShardCommit {
            writes,
            next_op: Some(self.next_op),
            replies: vec![Msg::RestoreAccepted { key, op }],
            run: Some(op),
            resume: None,
            report: None,
        }));
    }

    /// `TTxForget` as YDB ships it (@03dca1ec): refused only while Running;
    /// granted in Completed, Failed **and Finalizing** (its own comment says
    /// Finalizing blocks Forget; the condition lets it through). Granted in
    /// Finalizing, it erases both rows while the finalize step waits for
    /// its TxId, whose answer is then dropped as an orphan: the restore
    /// never ends (docs/ydb-flavour.md, `scenarios/findings/ydb-forget-finalizing.ron`).
    fn on_forget(&mut self, db: &YdbSchemeShardDb, op: OperationId, out: &mut Outbox) {
        let status = match db.states.get(&op) {
            _ if !db.operations.contains_key(&op) => ForgetStatus::NotFound,
            Some(s) if s.state.is_terminal() || s.state == YdbState::Finalizing => {
                out.commit(Commit::YdbSchemeShard(YdbSchemeShardCommit {
                    writes: vec![YdbWrite::Erase(op)],
                    next_op: None,
                    replies: vec![Msg::ForgetResult { op, status: ForgetStatus::Forgotten }],
                    run: None,
                    resume: None,
                    report: None,
                }));
                return;
            }
            _ => ForgetStatus::StillRunning,
        };
        out.send(Actor::Client, Msg::ForgetResult { op, status });
    }

    /// A commit of this incarnation is durable.
    pub fn on_committed(&mut self, now: Micros, commit: YdbSchemeShardCommit, out: &mut Outbox) {
        for reply in commit.replies {
            out.send(Actor::Client, reply);
        }
        for w in &commit.writes {
            match w {
                YdbWrite::Operation(op, row) => {
                    self.accepting.remove(&row.key);
                    self.runs.insert(*op, Run::new(row.clone(), None));
                }
                YdbWrite::Erase(op) => {
                    self.runs.remove(op);
                }
                YdbWrite::State(..) => {}
                w => self.on_drop_committed(w, out),
            }
        }
        if let Some(op) = commit.run {
            self.start(op, now, out);
        }
        if let Some(op) = commit.resume {
            self.resume(op, now, out);
        }
    }

    /// After a state row that changes the stage is durable: go on.
    fn resume(&mut self, op: OperationId, now: Micros, out: &mut Outbox) {
        let Some(run) = self.runs.get_mut(&op) else { return };
        run.resuming = false;
        match run.state.as_ref().map(|s| s.state) {
            Some(YdbState::Running) => self.progress(op, now, out),
            Some(YdbState::Finalizing) if run.finalizing.is_none() => self.finalize(op, out),
            _ => {}
        }
    }

    /// `TEvRunIncrementalRestore`: the state row, then the first stage.
    fn start(&mut self, op: OperationId, now: Micros, out: &mut Outbox) {
        let Some(run) = self.runs.get_mut(&op) else { return };
        let state = StateRow::running(now);
        run.pending = run.row.tables.iter().copied().collect();
        run.state = Some(state);
        self.persist(op, out, true);
        let table = self.runs[&op].row.tables[0];
        out.note(Note::OpState { op, table, incr: IncrIdx(1), state: OpState::Applying });
    }

    /// Writes the state row from memory. Before the fix of #40685 the
    /// failed shards and `RetryNeeded` were not part of it.
    fn persist(&mut self, op: OperationId, out: &mut Outbox, resume: bool) {
        self.commit_state(op, None, out, resume);
    }

    /// The state row as memory has it, in a transaction that took in
    /// `report` (if any). A shard-report transaction writes nothing before
    /// the fix of #40685 (`Bug::Ydb40685`): it only commits.
    fn commit_state(&mut self, op: OperationId, report: Option<ShardReport>, out: &mut Outbox, resume: bool) {
        let bug = self.knobs.bugs.has(Bug::Ydb40685);
        let run = self.runs.get_mut(&op).expect("persisting a known restore");
        run.resuming |= resume;
        let state = run.state.as_mut().expect("a state row to persist");
        state.failed = run.failed.clone();
        state.retry_needed = run.retry_needed;
        state.failed_shards = run
            .subops
            .iter()
            .filter(|(_, sub)| !sub.failed.is_empty())
            .map(|(table, sub)| (*table, (sub.failed.clone(), sub.fatal)))
            .collect();
        let mut row = state.clone();
        if bug {
            row.failed.clear();
            row.retry_needed = false;
            row.failed_shards.clear();
        }
        // The terminal state and the release of the restore's paths in one
        // transaction (`PerformFinalCleanup`).
        let release = if row.state.is_terminal() { path_state::restore_paths(op, &run.row) } else { Vec::new() };
        let mut writes = if bug && report.is_some() { Vec::new() } else { vec![YdbWrite::State(op, row)] };
        writes.extend(release.into_iter().map(|(path, _)| YdbWrite::Path(path, PathRow::FREE)));
        out.commit(Commit::YdbSchemeShard(YdbSchemeShardCommit {
            writes,
            next_op: None,
            replies: Vec::new(),
            run: None,
            resume: resume.then_some(op),
            report,
        }));
    }

    /// `ReDispatchPathAIncrementalRestoreOnInit`: every sub-operation the
    /// state row says was dispatched and did not complete is sent again,
    /// same TxId, this generation.
    fn redispatch(&mut self, op: OperationId, out: &mut Outbox) {
        let run = &self.runs[&op];
        let Some(state) = run.state.as_ref().filter(|s| s.state == YdbState::Running) else { return };
        let incr = IncrIdx(state.idx + 1);
        let open: Vec<(TableId, Option<TxId>)> =
            state.dispatched.iter().filter(|(t, _)| !state.completed.contains(t)).map(|(t, x)| (*t, *x)).collect();
        let failed_shards = state.failed_shards.clone();
        for (table, tx) in open {
            let Some(tx) = tx else {
                let cookie = self.next_cookie;
                self.next_cookie += 1;
                self.runs.get_mut(&op).expect("known").allocating.insert(cookie, table);
                out.send(Actor::TxAllocator, Msg::AllocateTxId { op, cookie });
                continue;
            };
            // Shards whose failure is durable (since the fix of #40685)
            // keep it: their result stands, they are not asked again.
            let (failed, fatal) = failed_shards.get(&table).cloned().unwrap_or_default();
            let expected = self.layout.src_of_table[table.0 as usize].clone();
            for shard in expected.iter().filter(|s| !failed.contains(s)) {
                self.send_request(op, tx, table, incr, *shard, out);
            }
            let sub = SubOp { tx, expected, completed: BTreeSet::new(), failed, fatal, finished: false };
            self.runs.get_mut(&op).expect("known").subops.insert(table, sub);
        }
    }

    fn cap(&self) -> usize {
        self.knobs.ydb.tables_in_flight.map_or(usize::MAX, |c| c.max(1) as usize)
    }

    /// Refill the window: allocate TxIds for pending tables up to the cap.
    fn dispatch(&mut self, op: OperationId, out: &mut Outbox) {
        let cap = self.cap();
        let run = self.runs.get_mut(&op).expect("known restore");
        let mut enqueued = false;
        loop {
            let in_flight = run.allocating.len() + run.subops.values().filter(|s| !s.finished).count();
            if in_flight >= cap {
                break;
            }
            let Some(table) = run.pending.pop_front() else { break };
            let cookie = self.next_cookie;
            self.next_cookie += 1;
            run.allocating.insert(cookie, table);
            run.state.as_mut().expect("running").dispatched.insert(table, None);
            enqueued = true;
            out.send(Actor::TxAllocator, Msg::AllocateTxId { op, cookie });
        }
        if enqueued {
            self.persist(op, out, false);
        }
    }

    fn deadline_passed(&self, state: &StateRow, now: Micros) -> bool {
        let overall = self.knobs.deadline_overall.is_some_and(|d| now >= state.started_at.saturating_add(d));
        let stage = self.knobs.deadline_stage.is_some_and(|d| now >= state.stage_started_at.saturating_add(d));
        overall || stage
    }

    /// `TTxProgressIncrementalRestore`.
    fn progress(&mut self, op: OperationId, now: Micros, out: &mut Outbox) {
        let Some(run) = self.runs.get_mut(&op) else { return };
        let Some(state) = run.state.as_mut() else { return };
        if state.state != YdbState::Running || run.resuming {
            return;
        }
        // CheckForCompletedOperations.
        let mut dirty = false;
        for (table, sub) in run.subops.iter_mut() {
            if !sub.finished && sub.reported() >= sub.expected.len() {
                sub.finished = true;
                state.completed.insert(*table);
                if !sub.failed.is_empty() {
                    run.failed.insert(*table, sub.fatal);
                    run.retry_needed = true;
                }
                dirty = true;
            }
        }
        if !run.retry_needed {
            self.dispatch(op, out);
        }
        let run = self.runs.get_mut(&op).expect("known restore");
        let all_done = run.pending.is_empty() && run.allocating.is_empty() && run.subops.values().all(|s| s.finished);
        let retry_needed = run.retry_needed;
        if dirty {
            self.persist(op, out, false);
        }
        if !all_done {
            let run = &self.runs[&op];
            if self.deadline_passed(run.state.as_ref().expect("running"), now) {
                return self.fail(op, FinalStatus::Timeout, "Restore deadline exceeded", out);
            }
            let run = self.runs.get_mut(&op).expect("known restore");
            if !run.heartbeat_armed {
                run.heartbeat_armed = true;
                out.set_timer(self.knobs.ydb.heartbeat, Timer::YdbHeartbeat { op });
            }
            return;
        }
        if retry_needed {
            return self.retry_path(op, now, out);
        }
        self.advance(op, now, out);
    }

    /// `HandleAllOperationsComplete`: the stage barrier passed.
    fn advance(&mut self, op: OperationId, now: Micros, out: &mut Outbox) {
        let run = self.runs.get_mut(&op).expect("known restore");
        let state = run.state.as_mut().expect("running");
        state.idx += 1;
        state.stage_started_at = now;
        state.completed.clear();
        state.dispatched.clear();
        state.retries = 0;
        run.subops.clear();
        run.failed.clear();
        let table = run.row.tables[0];
        if state.idx >= run.row.incrementals {
            state.state = YdbState::Finalizing;
            self.persist(op, out, true);
            out.note(Note::OpState {
                op,
                table,
                incr: IncrIdx(self.runs[&op].row.incrementals),
                state: OpState::Waiting,
            });
            return;
        }
        run.pending = run.row.tables.iter().copied().collect();
        let incr = IncrIdx(state.idx + 1);
        self.persist(op, out, true);
        out.note(Note::OpState { op, table, incr, state: OpState::Applying });
        let _ = now;
    }

    /// `HandleRetryPath`.
    fn retry_path(&mut self, op: OperationId, now: Micros, out: &mut Outbox) {
        let run = &self.runs[&op];
        if run.failed.values().any(|fatal| *fatal) {
            return self.fail(op, FinalStatus::BackupUnreadable, "Non-retriable failure of a source shard's scan", out);
        }
        if self.deadline_passed(run.state.as_ref().expect("running"), now) {
            return self.fail(op, FinalStatus::Timeout, "Restore deadline exceeded", out);
        }
        let run = self.runs.get_mut(&op).expect("known restore");
        let state = run.state.as_mut().expect("running");
        match state.retry_at {
            None => {
                let delay = self.knobs.ydb.retry_delay(now.saturating_sub(state.stage_started_at));
                state.retry_at = Some(now + delay);
                run.retry_armed = true;
                out.set_timer(delay, Timer::YdbStageRetry { op });
                self.persist(op, out, false);
            }
            Some(at) if now < at => {
                if !run.retry_armed {
                    run.retry_armed = true;
                    out.set_timer(at - now, Timer::YdbStageRetry { op });
                }
            }
            Some(_) => {
                // Re-run the whole stage: every table, fresh TxIds.
                state.retry_at = None;
                state.retries += 1;
                state.completed.clear();
                state.dispatched.clear();
                run.failed.clear();
                run.retry_needed = false;
                run.subops.clear();
                run.pending = run.row.tables.iter().copied().collect();
                out.note(Note::BackoffRetry { op });
                self.persist(op, out, true);
            }
        }
    }

    fn fail(&mut self, op: OperationId, status: FinalStatus, issues: &str, out: &mut Outbox) {
        let run = self.runs.get_mut(&op).expect("known restore");
        let state = run.state.as_mut().expect("running");
        state.state = YdbState::Failed;
        state.final_status = Some(status);
        state.issues = issues.to_string();
        run.pending.clear();
        run.allocating.clear();
        run.subops.clear();
        run.finalizing = None;
        self.persist(op, out, false);
        out.note(Note::OpFinished { op, status, issues: issues.to_string() });
    }

    /// The finalize step (`ESchemeOpIncrementalRestoreFinalize`): a TxId
    /// from the TxAllocator, then Completed in one transaction.
    fn finalize(&mut self, op: OperationId, out: &mut Outbox) {
        let cookie = self.next_cookie;
        self.next_cookie += 1;
        self.runs.get_mut(&op).expect("known restore").finalizing = Some(cookie);
        out.send(Actor::TxAllocator, Msg::AllocateTxId { op, cookie });
    }

    fn on_allocated(&mut self, op: OperationId, cookie: u64, tx: Option<TxId>, now: Micros, out: &mut Outbox) {
        let Some(run) = self.runs.get_mut(&op) else { return }; // OrphanAllocateResultAfterForgetIsIgnored
        let finalize = run.finalizing == Some(cookie);
        if !finalize && !run.allocating.contains_key(&cookie) {
            return;
        }
        let Some(tx) = tx else {
            out.set_timer(ALLOCATE_RETRY, Timer::YdbAllocateRetry { op, cookie });
            return;
        };
        if finalize {
            run.finalizing = None;
            let state = run.state.as_mut().expect("finalizing");
            state.state = YdbState::Completed;
            state.final_status = Some(FinalStatus::Success);
            self.persist(op, out, false);
            out.note(Note::OpFinished { op, status: FinalStatus::Success, issues: String::new() });
            return;
        }
        let table = run.allocating.remove(&cookie).expect("checked");
        let state = run.state.as_mut().expect("running");
        state.dispatched.insert(table, Some(tx));
        let incr = IncrIdx(state.idx + 1);
        let expected = self.layout.src_of_table[table.0 as usize].clone();
        for shard in &expected {
            self.send_request(op, tx, table, incr, *shard, out);
        }
        let sub =
            SubOp { tx, expected, completed: BTreeSet::new(), failed: BTreeSet::new(), fatal: false, finished: false };
        self.runs.get_mut(&op).expect("known").subops.insert(table, sub);
        self.persist(op, out, false);
        self.progress(op, now, out);
    }

    fn send_request(
        &self,
        op: OperationId,
        sub_tx: TxId,
        table: TableId,
        incr: IncrIdx,
        shard: ShardIdx,
        out: &mut Outbox,
    ) {
        let req = SrcCreateRequest { op, sub_tx, table, incr, shard, generation: self.generation };
        out.send(Actor::DataShard(shard), Msg::IncrementalRestoreSrcCreateRequest(req));
        if let Some(after) = self.knobs.shard_timeout {
            out.set_timer(after, Timer::YdbShardTimeout { op, sub_tx, shard });
        }
    }

    /// `TTxIncrementalRestoreShardProgress`: filters, then first terminal
    /// report wins; nothing is written here.
    fn on_shard_progress(&mut self, p: ShardProgress, now: Micros, out: &mut Outbox) {
        if p.generation != self.generation {
            out.note(Note::StaleDropped {
                at: Actor::SchemeShard,
                stamp: crate::ids::Stamp { generation: p.generation, round: crate::ids::Round(0) },
            });
            return;
        }
        let Some(run) = self.runs.get_mut(&p.op) else { return };
        let incr = IncrIdx(run.state.as_ref().map_or(0, |s| s.idx) + 1);
        let Some((table, sub)) = run.subops.iter_mut().find(|(_, s)| s.tx == p.sub_tx) else { return };
        if !sub.expected.contains(&p.shard) || sub.terminal(p.shard) {
            return;
        }
        let table = *table;
        match p.end {
            EndStatus::Success => {
                sub.completed.insert(p.shard);
            }
            EndStatus::TransientFailure | EndStatus::FatalFailure => {
                sub.failed.insert(p.shard);
                sub.fatal |= p.end == EndStatus::FatalFailure;
                let report = ShardReport { op: p.op, table, incr, shard: p.shard, end: p.end };
                self.commit_state(p.op, Some(report), out, false);
            }
        }
        self.progress(p.op, now, out);
    }

    pub fn on_timer(&mut self, now: Micros, timer: Timer, out: &mut Outbox) {
        match timer {
            Timer::YdbHeartbeat { op } => {
                if let Some(run) = self.runs.get_mut(&op) {
                    run.heartbeat_armed = false;
                    self.progress(op, now, out);
                }
            }
            Timer::YdbStageRetry { op } => {
                if let Some(run) = self.runs.get_mut(&op) {
                    run.retry_armed = false;
                    self.progress(op, now, out);
                }
            }
            Timer::YdbAllocateRetry { op, cookie } => {
                let Some(run) = self.runs.get(&op) else { return };
                if run.finalizing == Some(cookie) || run.allocating.contains_key(&cookie) {
                    out.send(Actor::TxAllocator, Msg::AllocateTxId { op, cookie });
                }
            }
            Timer::YdbShardTimeout { op, sub_tx, shard } => {
                let Some(run) = self.runs.get(&op) else { return };
                let Some((table, sub)) = run.subops.iter().find(|(_, s)| s.tx == sub_tx) else { return };
                if !sub.terminal(shard) {
                    let incr = IncrIdx(run.state.as_ref().map_or(0, |s| s.idx) + 1);
                    let table = *table;
                    out.note(Note::Resent { op, shard, round: crate::ids::Round(0) });
                    self.send_request(op, sub_tx, table, incr, shard, out);
                }
            }
            _ => debug_assert!(false, "YDB SchemeShard got timer {}", timer.kind()),
        }
    }

    /// `RetryIncrementalRestorePipe`: a source shard's pipe broke; re-send
    /// every non-terminal request to it (same TxId, same generation). A
    /// broken TxAllocator pipe re-sends the allocations waiting on it.
    pub fn on_pipe_reset(&mut self, db: &YdbSchemeShardDb, peer: Actor, out: &mut Outbox) {
        if let Actor::DataShard(shard) = peer
            && self.layout.is_source(shard)
        {
            self.drop_pipe_reset(db, shard, out);
        }
        let mut resend = Vec::new();
        for (op, run) in &self.runs {
            match peer {
                Actor::DataShard(shard) => {
                    let incr = IncrIdx(run.state.as_ref().map_or(0, |s| s.idx) + 1);
                    for (table, sub) in &run.subops {
                        if sub.expected.contains(&shard) && !sub.terminal(shard) {
                            resend.push((*op, sub.tx, *table, incr, shard));
                        }
                    }
                }
                Actor::TxAllocator => {
                    for cookie in run.allocating.keys().chain(run.finalizing.iter()) {
                        out.send(Actor::TxAllocator, Msg::AllocateTxId { op: *op, cookie: *cookie });
                    }
                }
                _ => {}
            }
        }
        for (op, tx, table, incr, shard) in resend {
            out.note(Note::Resent { op, shard, round: crate::ids::Round(0) });
            self.send_request(op, tx, table, incr, shard, out);
        }
    }
}
