//! The YDB flavour's half of the adapter (`restoresim_model::ydb`): the same
//! nodes — Client, SchemeShard, TxAllocator, the restored tables'
//! DataShards — plus one source DataShard per destination shard after them
//! (the backup tables' shards). `RestoreSystem` hands every event here when
//! the scenario's flavour is Ydb.
//!
//! Checks: the flavour's own (`invariants::YdbChecker`: 2, 6, 7, 12, 15)
//! after every SchemeShard and DataShard commit and Client delivery; the
//! design's 10, 11 and 14 through the shared `Checker`; 5 for stale answers
//! here. Invariant 8 does not apply (YDB reports shard counts, not rows).

use std::sync::Arc;

use restoresim_model::ids::{Generation, ShardIdx};
use restoresim_model::invariants::{Invariant, Violation, YdbChecker, check_path_states};
use restoresim_model::msg::{Actor, Msg};
use restoresim_model::note::Note;
use restoresim_model::outbox::BackupBatch;
use restoresim_model::ydb::YdbLayout;
use restoresim_model::ydb::datashard::{Receiver, SrcShard};
use restoresim_model::ydb::schema::{ReceiverDb, YdbSchemeShardDb};
use restoresim_model::ydb::schemeshard::YdbSchemeShard;
use restoresim_model::{Command, Commit, Timer};

use super::{FIRST_DATASHARD, RestoreSystem, Tablet, actor_of, node_of};
use crate::engine::{Effects, Micros, NodeId};

/// The YDB flavour's tablets.
#[derive(Debug)]
pub struct YdbSide {
    pub layout: Arc<YdbLayout>,
    pub schemeshard: Tablet<YdbSchemeShardDb, YdbSchemeShard>,
    /// Per destination shard: its `ChangeSenders` table and receiver. Its
    /// rows are the design's `RestoreSystem::datashards[i].db.rows`, so the
    /// final data check reads one place for both flavours.
    pub receivers: Vec<Tablet<ReceiverDb, Receiver>>,
    /// Source shards: volatile only.
    pub sources: Vec<Option<SrcShard>>,
    pub checker: YdbChecker,
}

impl YdbSide {
    pub fn new(layout: YdbLayout, dst: u32) -> YdbSide {
        let sources = (0..layout.src.len()).map(|_| None).collect();
        YdbSide {
            layout: Arc::new(layout),
            schemeshard: Tablet::default(),
            receivers: (0..dst).map(|_| Tablet::default()).collect(),
            sources,
            checker: YdbChecker::default(),
        }
    }

    /// Why a YDB restore is not over, from SchemeShard's durable rows: the
    /// liveness report's text.
    pub fn diagnose(&self, knobs: &restoresim_model::knobs::ProtocolKnobs) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        if self.schemeshard.live.is_none() {
            out.push_str("SchemeShard is down. ");
        }
        for (op, row) in self.schemeshard.db.states.iter().filter(|(_, r)| !r.state.is_terminal()) {
            let total = self.schemeshard.db.operations.get(op).map_or(0, |o| o.incrementals);
            let _ = write!(
                out,
                "op{} is {:?} at stage {}/{total}: tables completed {:?}, items {:?}, failed {:?}, retry needed {}, retry at {:?}. ",
                op.0,
                row.state,
                row.idx + 1,
                row.completed,
                row.dispatched,
                row.failed,
                row.retry_needed,
                row.retry_at
            );
        }
        for (path, row) in &self.schemeshard.db.drops {
            let waiting: Vec<u32> =
                self.layout.src.iter().map(|s| s.idx).filter(|s| !row.acked.contains(s)).map(|s| s.0).collect();
            let _ = write!(
                out,
                "The drop of {path:?} waits for TEvSchemaChanged from source DataShards {waiting:?} (a DataShard \
                 re-sends it only when it hears that its pipe to SchemeShard broke, which it does only if it owns \
                 that pipe). "
            );
        }
        let running = self.schemeshard.db.states.values().any(|r| !r.state.is_terminal());
        if running && knobs.shard_timeout.is_none() {
            out.push_str(
                "YDB has no per-shard timeout: a terminal report lost without a pipe reset is waited for until a deadline (deadline_overall / deadline_stage) ends the restore.",
            );
        }
        out
    }

    /// Source shards (one node each, after the destination shards).
    pub fn source_count(&self) -> u32 {
        self.sources.len() as u32
    }
}

fn ydb(system: &mut RestoreSystem) -> &mut YdbSide {
    system.ydb.as_deref_mut().expect("the YDB flavour")
}

impl RestoreSystem {
    fn shard_index(node: NodeId) -> u32 {
        node - FIRST_DATASHARD
    }

    pub(super) fn ydb_boot(&mut self, node: NodeId, generation: u32, now: Micros, fx: &mut Effects<Self>) {
        let generation = Generation(generation);
        let workload = Arc::clone(&self.workload);
        let knobs = Arc::clone(&self.knobs);
        let side = self.ydb.as_deref_mut().expect("the YDB flavour");
        let out = &mut self.outbox;
        match actor_of(node) {
            Actor::Client => {
                self.client = Some(restoresim_model::client::Client::boot(self.client_config.clone(), now, out))
            }
            Actor::SchemeShard => {
                let layout = Arc::clone(&side.layout);
                let ss = YdbSchemeShard::boot(workload, layout, knobs, &side.schemeshard.db, generation, now, out);
                side.schemeshard.live = Some(ss);
            }
            Actor::TxAllocator => {
                self.allocator.live =
                    Some(restoresim_model::txallocator::TxAllocator::boot(&self.allocator.db, generation));
                out.note(Note::Booted { actor: Actor::TxAllocator });
            }
            Actor::DataShard(shard) if side.layout.is_source(shard) => {
                let spec = side.layout.source(shard).clone();
                let i = (shard.0 - side.layout.dst_count) as usize;
                side.sources[i] = Some(SrcShard::boot(spec, workload, knobs, generation));
                out.note(Note::Booted { actor: Actor::DataShard(shard) });
            }
            Actor::DataShard(shard) => {
                let table = self.workload.topology.shard(shard).table;
                side.receivers[shard.0 as usize].live = Some(Receiver::boot(shard, table, generation));
                out.note(Note::Booted { actor: Actor::DataShard(shard) });
            }
        }
        self.ydb_drain(node, fx);
    }

    pub(super) fn ydb_crash(&mut self, node: NodeId) {
        let side = ydb(self);
        match actor_of(node) {
            Actor::Client => unreachable!("the client never crashes"),
            Actor::SchemeShard => side.schemeshard.live = None,
            Actor::TxAllocator => self.allocator.live = None,
            Actor::DataShard(s) if side.layout.is_source(s) => {
                side.sources[(s.0 - side.layout.dst_count) as usize] = None
            }
            Actor::DataShard(s) => side.receivers[s.0 as usize].live = None,
        }
    }

    /// Invariant 5 for the YDB SchemeShard: an answer stamped with an older
    /// generation must change nothing.
    fn ydb_stale(&self, node: NodeId, msg: &Msg) -> Option<String> {
        let side = self.ydb.as_deref()?;
        match msg {
            Msg::IncrementalRestoreShardProgress(p) if node == super::SCHEMESHARD => {
                let current = side.schemeshard.live.as_ref()?.generation;
                (p.generation != current).then(|| {
                    format!(
                        "a progress report of source shard {} for SchemeShard generation {} reached generation {}",
                        p.shard.0, p.generation.0, current.0
                    )
                })
            }
            _ => None,
        }
    }

    pub(super) fn ydb_message(&mut self, node: NodeId, now: Micros, from: NodeId, msg: Msg, fx: &mut Effects<Self>) {
        let stale = self.ydb_stale(node, &msg);
        let restore_request = matches!(msg, Msg::MultiIncrementalRestore { .. });
        let side = self.ydb.as_deref_mut().expect("the YDB flavour");
        let out = &mut self.outbox;
        match actor_of(node) {
            Actor::Client => {
                let datashards = &self.datashards;
                if let Err(v) = side
                    .checker
                    .on_client_delivered(&mut self.checker, &msg, |s: ShardIdx| &datashards[s.0 as usize].db)
                {
                    self.violation.get_or_insert(v);
                }
                self.client.as_mut().expect("client is up").on_message(now, msg, out)
            }
            Actor::SchemeShard => {
                let ss = side.schemeshard.live.as_mut().expect("engine delivers only to live tablets");
                ss.on_message(&side.schemeshard.db, now, actor_of(from), msg, out);
            }
            Actor::TxAllocator => {
                let alloc = self.allocator.live.as_mut().expect("engine delivers only to live tablets");
                alloc.on_message(now, actor_of(from), msg, out);
            }
            Actor::DataShard(s) if side.layout.is_source(s) => {
                let i = (s.0 - side.layout.dst_count) as usize;
                side.sources[i].as_mut().expect("live").on_message(msg, out);
            }
            Actor::DataShard(s) => {
                let tablet = &mut side.receivers[s.0 as usize];
                tablet.live.as_mut().expect("live").on_message(&tablet.db, msg, out);
            }
        }
        if node == super::SCHEMESHARD && restore_request {
            let refused = self.outbox.commands.iter().find_map(|c| match c {
                Command::Send { msg: Msg::RestoreRejected { status, .. }, .. } => Some(*status),
                _ => None,
            });
            if let Err(v) = self.checker.on_restore_handled(refused, self.outbox.has_commit()) {
                self.violation.get_or_insert(v);
            }
        }
        if let Some(what) = stale
            && self.outbox.has_commit()
        {
            self.violate(Violation::new(
                Invariant::StaleHasNoEffect,
                format!("{what}; the SchemeShard committed a change. A stale answer must change nothing."),
            ));
        }
        self.ydb_drain(node, fx);
    }

    pub(super) fn ydb_timer(&mut self, node: NodeId, now: Micros, timer: Timer, fx: &mut Effects<Self>) {
        let out = &mut self.outbox;
        match actor_of(node) {
            Actor::Client => {
                let draws = &mut self.client_draws;
                self.client.as_mut().expect("client is up").on_timer(now, timer, draws, out)
            }
            Actor::SchemeShard => {
                let side = self.ydb.as_deref_mut().expect("the YDB flavour");
                side.schemeshard.live.as_mut().expect("live").on_timer(now, timer, out);
            }
            Actor::DataShard(s) => {
                let side = self.ydb.as_deref_mut().expect("the YDB flavour");
                if side.layout.is_source(s) {
                    let i = (s.0 - side.layout.dst_count) as usize;
                    side.sources[i].as_mut().expect("live").on_timer(timer, out);
                }
            }
            Actor::TxAllocator => {}
        }
        self.ydb_drain(node, fx);
    }

    pub(super) fn ydb_pipe_reset(&mut self, node: NodeId, peer: NodeId, fx: &mut Effects<Self>) {
        let side = self.ydb.as_deref_mut().expect("the YDB flavour");
        let out = &mut self.outbox;
        match actor_of(node) {
            Actor::SchemeShard => {
                let db = &side.schemeshard.db;
                side.schemeshard.live.as_mut().expect("live").on_pipe_reset(db, actor_of(peer), out)
            }
            Actor::DataShard(s) if side.layout.is_source(s) => {
                let i = (s.0 - side.layout.dst_count) as usize;
                side.sources[i].as_mut().expect("live").on_pipe_reset(actor_of(peer), out);
            }
            _ => {}
        }
        self.ydb_drain(node, fx);
    }

    /// Applies a YDB commit and runs the checks it owes.
    pub(super) fn ydb_apply_commit(&mut self, node: NodeId, commit: &Commit) {
        let side = self.ydb.as_deref_mut().expect("the YDB flavour");
        let result = match commit {
            Commit::YdbSchemeShard(c) => {
                c.apply(&mut side.schemeshard.db);
                if let Err(v) = check_path_states(&side.schemeshard.db, c) {
                    self.violation.get_or_insert(v);
                }
                let datashards = &self.datashards;
                let topology = &self.workload.topology;
                side.checker.on_schemeshard_commit(&mut self.checker, c, |t| {
                    let table = topology.table(t).expect("a collection's table exists");
                    table.shards.iter().flat_map(move |s| {
                        let range = topology.shard(*s);
                        datashards[s.0 as usize].db.rows.range(range.start..range.end)
                    })
                })
            }
            Commit::YdbDataShard(c) => {
                let i = Self::shard_index(node) as usize;
                let applied = c.apply(&mut side.receivers[i].db, &mut self.datashards[i].db);
                self.rows.applied += applied as u64;
                self.rows.reapplied += (c.records.len() - applied) as u64;
                side.checker.on_receiver_commit(c, applied)
            }
            Commit::TxAllocator(c) => {
                c.apply(&mut self.allocator.db);
                Ok(())
            }
            Commit::SchemeShard(_) | Commit::DataShard(_) => unreachable!("a design commit in a YDB run"),
        };
        if let Err(v) = result {
            self.violate(v);
        }
    }

    pub(super) fn ydb_committed(&mut self, node: NodeId, now: Micros, commit: Commit, fx: &mut Effects<Self>) {
        let side = self.ydb.as_deref_mut().expect("the YDB flavour");
        let out = &mut self.outbox;
        match commit {
            Commit::YdbSchemeShard(c) => side.schemeshard.live.as_mut().expect("live").on_committed(now, c, out),
            Commit::YdbDataShard(c) => {
                let i = Self::shard_index(node) as usize;
                side.receivers[i].live.as_mut().expect("live").on_committed(c, out);
            }
            Commit::TxAllocator(c) => self.allocator.live.as_mut().expect("live").on_committed(c, out),
            Commit::SchemeShard(_) | Commit::DataShard(_) => unreachable!("a design commit in a YDB run"),
        }
        self.ydb_drain(node, fx);
    }

    pub(super) fn ydb_io(&mut self, node: NodeId, now: Micros, reply: BackupBatch, fx: &mut Effects<Self>) {
        let side = self.ydb.as_deref_mut().expect("the YDB flavour");
        let i = (Self::shard_index(node) - side.layout.dst_count) as usize;
        side.sources[i].as_mut().expect("live").on_read(now, reply, &mut self.outbox);
        self.ydb_drain(node, fx);
    }

    /// The outbox into engine effects; invariant 10 at each progress answer sent.
    fn ydb_drain(&mut self, node: NodeId, fx: &mut Effects<Self>) {
        for command in self.outbox.commands.drain(..) {
            match command {
                Command::Send { to, msg } => {
                    if let Msg::Progress { op, report } = &msg
                        && let Err(v) = self.checker.on_progress_sent(*op, report.as_ref().map(|r| r.state))
                    {
                        self.violation.get_or_insert(v);
                    }
                    fx.send(node_of(to), msg)
                }
                Command::SetTimer { after, timer } => fx.timer(after, timer),
                Command::Commit(commit) => fx.commit(commit),
                Command::Read(read) => fx.io(read),
            }
        }
        let _ = node;
        self.notes.append(&mut self.outbox.notes);
    }
}
