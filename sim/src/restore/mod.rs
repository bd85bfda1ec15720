//! The adapter that plugs the restore model into the generic engine: node
//! ids ↔ actors, the model's outbox ↔ engine effects, backup storage as the
//! engine's I/O, and the invariant checks after every commit and delivery.
//!
//! Node layout: 0 Client, 1 SchemeShard, 2 TxAllocator, 3.. DataShards.

mod hints;
mod tracker;
mod ydb;

use std::sync::Arc;

use restoresim_model::client::{Client, ClientConfig, ClientDraw};
use restoresim_model::datashard::{DataShard, DataShardDb, ShardRows};
use restoresim_model::ids::{Generation, ShardIdx};
use restoresim_model::invariants::{self, Checker, Violation};
use restoresim_model::knobs::ProtocolKnobs;
use restoresim_model::msg::{Actor, Msg};
use restoresim_model::note::Note;
use restoresim_model::outbox::{BackupBatch, ReadBackup, ReadError};
use restoresim_model::schemeshard::{SchemeShard, SchemeShardDb, SchemeShardWrite};
use restoresim_model::txallocator::{TxAllocator, TxAllocatorDb};
use restoresim_model::workload::Workload;
use restoresim_model::{Command, Commit, Outbox, Timer};

use crate::engine::{Effects, IoFault, Micros, NodeId, NodeKind, Payload, Ratio, Stream, Subsystem, System};
pub use tracker::{DurableTracker, ShardPoint};
pub use ydb::YdbSide;

pub const CLIENT: NodeId = 0;
pub const SCHEMESHARD: NodeId = 1;
pub const TX_ALLOCATOR: NodeId = 2;
const FIRST_DATASHARD: NodeId = 3;
/// Commands of capacity the outbox keeps between handlers (see `drain`).
const OUTBOX_KEPT: usize = 1024;

/// Nodes of a system with `datashards` DataShards.
pub fn node_count(datashards: u32) -> u32 {
    FIRST_DATASHARD + datashards
}

/// Nodes of a system of `flavour` whose restored tables have `datashards`
/// DataShards: the YDB flavour adds one source shard for each.
pub fn flavour_node_count(datashards: u32, flavour: restoresim_model::knobs::Flavour) -> u32 {
    match flavour {
        restoresim_model::knobs::Flavour::Design => node_count(datashards),
        restoresim_model::knobs::Flavour::Ydb => node_count(2 * datashards),
    }
}

pub fn node_of(actor: Actor) -> NodeId {
    match actor {
        Actor::Client => CLIENT,
        Actor::SchemeShard => SCHEMESHARD,
        Actor::TxAllocator => TX_ALLOCATOR,
        Actor::DataShard(s) => FIRST_DATASHARD + s.0,
    }
}

pub fn actor_of(node: NodeId) -> Actor {
    match node {
        CLIENT => Actor::Client,
        SCHEMESHARD => Actor::SchemeShard,
        TX_ALLOCATOR => Actor::TxAllocator,
        n => Actor::DataShard(ShardIdx(n - FIRST_DATASHARD)),
    }
}

/// A tablet: its durable database, and its volatile actor while it is up.
/// A crash sets `live` to `None`; nothing else survives.
#[derive(Debug)]
pub struct Tablet<D, V> {
    pub db: D,
    pub live: Option<V>,
}

impl<D: Default, V> Default for Tablet<D, V> {
    fn default() -> Self {
        Tablet { db: D::default(), live: None }
    }
}

/// Every actor of one restore world.
pub struct RestoreSystem {
    pub workload: Arc<Workload>,
    knobs: Arc<ProtocolKnobs>,
    client_config: ClientConfig,
    pub client: Option<Client>,
    pub schemeshard: Tablet<SchemeShardDb, SchemeShard>,
    pub allocator: Tablet<TxAllocatorDb, TxAllocator>,
    pub datashards: Vec<Tablet<DataShardDb, DataShard>>,
    pub checker: Checker,
    /// The first broken invariant; the harness stops the run on it.
    pub violation: Option<Violation>,
    /// Notes of the events since the harness last drained them.
    pub notes: Vec<Note>,
    pub tracker: DurableTracker,
    /// Changes applied and re-applied (for study metrics; no model reads it).
    pub rows: crate::run::metrics::RowCounts,
    outbox: Outbox,
    /// The Client's draws (poll intervals, detail coins): its own stream,
    /// so a Client behaviour never shifts the network's or the faults' draws.
    client_draws: ClientStream,
    /// The YDB flavour's tablets (`ydb.rs`); `None` in the design's flavour,
    /// whose tablets are the fields above.
    pub ydb: Option<Box<YdbSide>>,
}

/// The Client's seeded stream, as the model's `ClientDraw`.
struct ClientStream(Stream);

impl ClientDraw for ClientStream {
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0.range(lo, hi)
    }

    fn chance(&mut self, num: u32, den: u32) -> bool {
        self.0.chance(Ratio::new(num, den))
    }
}

impl RestoreSystem {
    /// The Client's draws come from `seed`'s Client stream.
    pub fn with_seed(mut self, seed: u64) -> RestoreSystem {
        self.client_draws = ClientStream(Stream::new(seed, Subsystem::Client));
        self
    }

    pub fn new(workload: Arc<Workload>, knobs: ProtocolKnobs, client_config: ClientConfig) -> RestoreSystem {
        let checker = Checker::new(Arc::clone(&workload));
        let datashards = workload
            .topology
            .shards
            .iter()
            .map(|spec| {
                let full = workload.chain(spec.table).full.clone();
                // The shard's span in the backup from the checker's index,
                // not a search of the whole backup per shard.
                let rows = match checker.shard_spans().of(spec) {
                    Some(spans) => ShardRows::over_span(full, spec.start, spec.end, spans),
                    None => ShardRows::over(full, spec.start, spec.end),
                };
                let incrementals = workload.chain(spec.table).incrementals.len();
                Tablet { db: DataShardDb::new(rows, incrementals), live: None }
            })
            .collect();
        let ydb = (knobs.flavour == restoresim_model::knobs::Flavour::Ydb).then(|| {
            let layout = restoresim_model::ydb::YdbLayout::new(&workload.topology);
            Box::new(YdbSide::new(layout, workload.topology.shards.len() as u32))
        });
        RestoreSystem {
            ydb,
            checker,
            tracker: DurableTracker::new(&workload),
            rows: Default::default(),
            workload,
            knobs: Arc::new(knobs),
            client_config,
            client: None,
            schemeshard: Tablet::default(),
            allocator: Tablet::default(),
            datashards,
            violation: None,
            notes: Vec::new(),
            outbox: Outbox::default(),
            client_draws: ClientStream(Stream::new(0, Subsystem::Client)),
        }
    }

    /// Writes what `explore` fingerprints of the system into `out` (see
    /// `crate::explore::fingerprint`): every tablet's database and live
    /// state, the Client and its stream's position, the checker's and the
    /// tracker's memory, as `Debug`. Destructured without `..`: a field added to this struct does
    /// not compile until it is fingerprinted here or said to be irrelevant
    /// to the future of a run (an unsound prune would go unnoticed).
    pub fn write_state(&self, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
        let RestoreSystem {
            // The same for every run of one exploration.
            workload: _,
            knobs: _,
            client_config: _,
            client,
            schemeshard,
            allocator,
            datashards,
            checker,
            // A run stops at its first violation.
            violation: _,
            // Drained after every event.
            notes: _,
            outbox: _,
            tracker,
            // Study metrics: no decision and no check reads them.
            rows: _,
            client_draws,
            ydb,
        } = self;
        // The Client's next draws (poll intervals, coins) depend on how far
        // its stream has been drawn.
        write!(out, "{}\u{1}", client_draws.0.position())?;
        // \u{1} separates the parts, so one's end cannot run into the next.
        write!(out, "{client:?}\u{1}{:?}\u{1}{:?}\u{1}", schemeshard.db, schemeshard.live)?;
        write!(out, "{:?}\u{1}{:?}\u{1}{}\u{1}", allocator.db, allocator.live, datashards.len())?;
        for shard in datashards {
            write!(out, "{:?}\u{1}{:?}\u{1}", shard.db, shard.live)?;
        }
        write!(out, "{checker:?}\u{1}{tracker:?}")?;
        if let Some(ydb) = ydb {
            write!(out, "\u{1}{ydb:?}")?;
        }
        Ok(())
    }

    /// Node kinds in id order, for `Engine::new`.
    /// The protocol knobs every actor runs with (read by the liveness diagnosis).
    pub fn knobs(&self) -> &ProtocolKnobs {
        &self.knobs
    }

    pub fn node_kinds(&self) -> Vec<NodeKind> {
        let mut kinds = vec![NodeKind::Process, NodeKind::Tablet, NodeKind::Tablet];
        kinds.extend(std::iter::repeat_n(NodeKind::Tablet, self.datashards.len()));
        let sources = self.ydb.as_ref().map_or(0, |y| y.source_count());
        kinds.extend(std::iter::repeat_n(NodeKind::Tablet, sources as usize));
        kinds
    }

    fn violate(&mut self, violation: Violation) {
        if self.violation.is_none() {
            self.violation = Some(violation);
        }
    }

    /// Moves the model's outbox into engine effects; `node` is who wrote it.
    fn drain(&mut self, node: NodeId, fx: &mut Effects<Self>) {
        for command in self.outbox.commands.drain(..) {
            match command {
                Command::Send { to, msg } => {
                    if node == SCHEMESHARD
                        && let Err(v) = self.checker.on_coordinator_sent(&msg, self.knobs.max_shards_in_flight)
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
        self.notes.append(&mut self.outbox.notes);
        // A coordinator stage start writes a request per shard in one
        // handler; do not keep a million commands' worth of capacity for
        // the rest of the run.
        if self.outbox.commands.capacity() > OUTBOX_KEPT {
            self.outbox.commands.shrink_to(OUTBOX_KEPT);
        }
    }

    fn datashard_index(node: NodeId) -> usize {
        (node - FIRST_DATASHARD) as usize
    }

    /// Invariant 5's input (`invariants::staleness`): why `msg` is stale
    /// at its receiver, judged before the handler runs.
    fn staleness(&self, node: NodeId, msg: &Msg) -> Option<String> {
        let receiver = match node {
            SCHEMESHARD => invariants::Receiver::SchemeShard(self.schemeshard.live.as_ref()?.generation),
            n if n >= FIRST_DATASHARD => invariants::Receiver::DataShard(&self.datashards[Self::datashard_index(n)].db),
            _ => return None,
        };
        invariants::staleness(receiver, msg)
    }
}

impl System for RestoreSystem {
    type Msg = Msg;
    type Timer = Timer;
    type Commit = Commit;
    type Io = ReadBackup;
    type IoReply = BackupBatch;

    fn boot(&mut self, node: NodeId, generation: u32, now: Micros, fx: &mut Effects<Self>) {
        if self.ydb.is_some() {
            return self.ydb_boot(node, generation, now, fx);
        }
        let generation = Generation(generation);
        let out = &mut self.outbox;
        match actor_of(node) {
            Actor::Client => {
                self.client = Some(Client::boot(self.client_config.clone(), now, out));
            }
            Actor::SchemeShard => {
                let ss = SchemeShard::boot(
                    Arc::clone(&self.workload),
                    Arc::clone(&self.knobs),
                    &self.schemeshard.db,
                    generation,
                    now,
                    out,
                );
                self.schemeshard.live = Some(ss);
            }
            Actor::TxAllocator => {
                self.allocator.live = Some(TxAllocator::boot(&self.allocator.db, generation));
                out.note(Note::Booted { actor: Actor::TxAllocator });
            }
            Actor::DataShard(shard) => {
                let spec = self.workload.topology.shard(shard).clone();
                let tablet = &mut self.datashards[shard.0 as usize];
                tablet.live = Some(DataShard::boot(spec, Arc::clone(&self.knobs), generation));
                out.note(Note::Booted { actor: Actor::DataShard(shard) });
            }
        }
        self.drain(node, fx);
    }

    fn crash(&mut self, node: NodeId) {
        if self.ydb.is_some() {
            return self.ydb_crash(node);
        }
        match actor_of(node) {
            Actor::Client => unreachable!("the client never crashes"),
            Actor::SchemeShard => {
                self.schemeshard.live = None;
                self.checker.on_coordinator_crash();
            }
            Actor::TxAllocator => self.allocator.live = None,
            Actor::DataShard(s) => self.datashards[s.0 as usize].live = None,
        }
    }

    fn on_message(&mut self, node: NodeId, now: Micros, from: NodeId, msg: Msg, fx: &mut Effects<Self>) {
        if self.ydb.is_some() {
            return self.ydb_message(node, now, from, msg, fx);
        }
        let stale = self.staleness(node, &msg);
        let restore_request = matches!(msg, Msg::MultiIncrementalRestore { .. });
        let out = &mut self.outbox;
        match actor_of(node) {
            Actor::Client => {
                if let Msg::Progress { report: Some(report), .. } = &msg {
                    let truth = self.tracker.op_percent_bp(report.op);
                    if let Err(v) = invariants::check_reported_not_ahead(report, truth) {
                        self.violation.get_or_insert(v);
                    }
                }
                let datashards = &self.datashards;
                if let Err(v) = self.checker.on_client_delivered(&msg, |s: ShardIdx| &datashards[s.0 as usize].db) {
                    self.violation.get_or_insert(v);
                }
                self.client.as_mut().expect("client is up").on_message(now, msg, out)
            }
            Actor::SchemeShard => {
                self.checker.on_coordinator_received(&msg);
                let ss = self.schemeshard.live.as_mut().expect("engine delivers only to live tablets");
                ss.on_message(&self.schemeshard.db, now, actor_of(from), msg, out);
            }
            Actor::TxAllocator => {
                let alloc = self.allocator.live.as_mut().expect("engine delivers only to live tablets");
                alloc.on_message(now, actor_of(from), msg, out);
            }
            Actor::DataShard(s) => {
                let tablet = &mut self.datashards[s.0 as usize];
                let ds = tablet.live.as_mut().expect("engine delivers only to live tablets");
                ds.on_message(&tablet.db, now, msg, out);
            }
        }
        if node == SCHEMESHARD && restore_request {
            let refused = self.outbox.commands.iter().find_map(|c| match c {
                Command::Send { msg: Msg::RestoreRejected { status, .. }, .. } => Some(*status),
                _ => None,
            });
            if let Err(v) = self.checker.on_restore_handled(refused, self.outbox.has_commit()) {
                self.violation.get_or_insert(v);
            }
        }
        if let Err(v) = invariants::check_stale_no_effect(stale.as_deref(), self.outbox.has_commit()) {
            self.violate(v);
        }
        self.drain(node, fx);
    }

    fn on_timer(&mut self, node: NodeId, now: Micros, timer: Timer, fx: &mut Effects<Self>) {
        if self.ydb.is_some() {
            return self.ydb_timer(node, now, timer, fx);
        }
        let out = &mut self.outbox;
        match actor_of(node) {
            Actor::Client => {
                let draws = &mut self.client_draws;
                self.client.as_mut().expect("client is up").on_timer(now, timer, draws, out)
            }
            Actor::SchemeShard => self.schemeshard.live.as_mut().expect("live").on_timer(now, timer, out),
            Actor::TxAllocator => {}
            Actor::DataShard(s) => {
                self.datashards[s.0 as usize].live.as_mut().expect("live").on_timer(now, timer, out);
            }
        }
        self.drain(node, fx);
    }

    fn on_pipe_reset(&mut self, node: NodeId, now: Micros, peer: NodeId, fx: &mut Effects<Self>) {
        if self.ydb.is_some() {
            return self.ydb_pipe_reset(node, peer, fx);
        }
        if node == SCHEMESHARD {
            let ss = self.schemeshard.live.as_mut().expect("live");
            ss.on_pipe_reset(now, actor_of(peer), &mut self.outbox);
        }
        self.drain(node, fx);
    }

    fn apply_commit(&mut self, node: NodeId, now: Micros, commit: &Commit) {
        if self.ydb.is_some() {
            return self.ydb_apply_commit(node, commit);
        }
        let result = match commit {
            Commit::SchemeShard(c) => {
                c.apply(&mut self.schemeshard.db);
                for write in &c.writes {
                    if let SchemeShardWrite::Operation(op, row) = write {
                        self.tracker.on_operation(*op, row);
                    }
                }
                let datashards = &self.datashards;
                self.checker
                    .on_schemeshard_commit(c, |s: ShardIdx| &datashards[s.0 as usize].db)
                    .and_then(|()| invariants::timeouts_earned(c, now, &self.knobs))
            }
            Commit::TxAllocator(c) => {
                c.apply(&mut self.allocator.db);
                Ok(())
            }
            Commit::YdbSchemeShard(_) | Commit::YdbDataShard(_) => unreachable!("a YDB commit in a design run"),
            Commit::DataShard(c) => {
                let index = Self::datashard_index(node);
                let tablet = &mut self.datashards[index];
                let before = tablet.db.progress(c.op, c.incr).copied();
                // Changes come in key order: those at or below the durable
                // LastKey were applied before (a restart or a rescan).
                let done_to = before.and_then(|p| p.last_key);
                let again = done_to.map_or(0, |k| c.changes.count_through(k));
                self.rows.applied += c.changes.len() as u64;
                self.rows.reapplied += again as u64;
                c.apply(&mut tablet.db);
                let shard = ShardIdx(index as u32);
                // The live actor's copy of the shard's spec sits in the
                // tablet this commit has just brought into the caches; the
                // topology's entry, at a million shards, is one more miss
                // (the same value: the actor boots with a clone of it).
                let spec = match &tablet.live {
                    Some(live) => live.spec(),
                    None => self.workload.topology.shard(shard),
                };
                debug_assert_eq!(spec, self.workload.topology.shard(shard));
                self.tracker.on_datashard_commit(now, shard, c.op, before, c.progress, &tablet.db);
                self.checker.on_datashard_commit(spec, before, c, &tablet.db)
            }
        };
        if let Err(v) = result {
            self.violate(v);
        }
    }

    fn on_committed(&mut self, node: NodeId, now: Micros, commit: Commit, fx: &mut Effects<Self>) {
        if self.ydb.is_some() {
            return self.ydb_committed(node, now, commit, fx);
        }
        let out = &mut self.outbox;
        match commit {
            Commit::SchemeShard(c) => self.schemeshard.live.as_mut().expect("live").on_committed(now, c, out),
            Commit::TxAllocator(c) => self.allocator.live.as_mut().expect("live").on_committed(c, out),
            Commit::YdbSchemeShard(_) | Commit::YdbDataShard(_) => unreachable!("a YDB commit in a design run"),
            Commit::DataShard(c) => {
                let index = Self::datashard_index(node);
                self.datashards[index].live.as_mut().expect("live").on_committed(c, out);
            }
        }
        self.drain(node, fx);
    }

    fn serve_io(&mut self, _node: NodeId, io: ReadBackup, fault: Option<IoFault>) -> BackupBatch {
        let result = match fault {
            Some(IoFault::Transient) => Err(ReadError::Transient),
            Some(IoFault::Fatal) => Err(ReadError::Fatal),
            None => {
                // The shard's span in the incremental, from the checker's index (not a search).
                let spans = self.checker.shard_spans().of_range(io.table, io.start, io.end);
                io.serve_in(&self.workload, spans.and_then(|s| s.incremental(io.incr)))
            }
        };
        BackupBatch { op: io.op, incr: io.incr, result }
    }

    fn on_io(&mut self, node: NodeId, now: Micros, reply: BackupBatch, fx: &mut Effects<Self>) {
        if self.ydb.is_some() {
            return self.ydb_io(node, now, reply, fx);
        }
        let index = Self::datashard_index(node);
        self.datashards[index].live.as_mut().expect("live").on_read(now, reply, &mut self.outbox);
        self.drain(node, fx);
    }

    /// The first stage of the prefetch pipeline (`hints.rs`).
    #[inline]
    fn prefetch(&self, node: NodeId) {
        self.hint_first(node);
    }

    /// The second stage (`hints.rs`).
    #[inline]
    fn prefetch_deep(&self, node: NodeId, payload: Payload<'_, Self>) {
        self.hint_deep(node, payload);
    }

    /// The TxAllocator may answer an AllocateTxId empty (a fault point).
    fn refusable(&self, node: NodeId, msg: &Msg) -> bool {
        node == TX_ALLOCATOR && matches!(msg, Msg::AllocateTxId { .. })
    }

    fn on_refused(&mut self, node: NodeId, _now: Micros, from: NodeId, msg: Msg, fx: &mut Effects<Self>) {
        debug_assert_eq!(node, TX_ALLOCATOR);
        let alloc = self.allocator.live.as_mut().expect("engine delivers only to live tablets");
        alloc.answer_empty(actor_of(from), msg, &mut self.outbox);
        self.drain(node, fx);
    }

    fn msg_label(msg: &Msg) -> &'static str {
        msg.kind()
    }

    fn timer_label(timer: &Timer) -> &'static str {
        timer.kind()
    }
}
