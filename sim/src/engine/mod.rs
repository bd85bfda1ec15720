//! The deterministic discrete-event engine (docs/design.md §2). Generic over a
//! [`System`] of nodes; it owns virtual time, the event queue, the network,
//! pipes, partitions, tablet lifecycles (crash, boot with generation + 1,
//! commits with latency) and fault injection. It knows nothing of restores:
//! `crate::restore` plugs the model in.
//!
//! Architecture invariants:
//! - time only jumps to the next event; nothing reads a wall clock;
//! - ties at one instant are broken by a global sequence number, or — with
//!   `permute_ties` — by a draw from the ties stream first, except that a
//!   tablet's commits still complete in issue order;
//! - every random decision comes from a seeded [`prng::Stream`], every fault
//!   decision through the injector (`inject.rs`), which logs it with a
//!   logical anchor so a replay can take it from the tape instead;
//! - a crash drops the node's volatile state and every commit not yet
//!   durable; events addressed to an older generation are discarded.

mod dispatch;
mod fingerprint;
pub mod inject;
mod links;
pub mod network;
mod partition;
mod pending;
pub mod pingpong;
pub mod prng;
pub mod trace;

mod queue;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

pub use inject::{Anchor, InjectedFault, Partition, Probe, TabletFaults};
use inject::{Injector, TapeIndex};
use links::Links;
pub use network::{FaultWindow, Latency, LinkLatency, NetworkConfig};
use partition::Partitions;
pub use partition::RandomPartitions;
pub use pending::{Pending, PendingEvent};
pub use prng::{Ratio, Stream, Subsystem};
use queue::EventQueue;
pub use trace::TraceHash;

/// Virtual time in microseconds.
pub type Micros = u64;
/// A node's index in the system.
pub type NodeId = u32;

/// How an I/O request (a backup read) fails, when the engine injects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoFault {
    Transient,
    Fatal,
}

/// The nodes of a simulated system. Handlers get `now` and write effects;
/// the engine decides when anything happens.
pub trait System {
    type Msg: Clone + Hash + Debug;
    type Timer: Clone + Hash + Debug;
    type Commit: Hash + Debug;
    type Io: Hash + Debug;
    type IoReply: Hash + Debug;

    fn boot(&mut self, node: NodeId, generation: u32, now: Micros, fx: &mut Effects<Self>);
    /// Drop the node's volatile state.
    fn crash(&mut self, node: NodeId);
    fn on_message(&mut self, node: NodeId, now: Micros, from: NodeId, msg: Self::Msg, fx: &mut Effects<Self>);
    fn on_timer(&mut self, node: NodeId, now: Micros, timer: Self::Timer, fx: &mut Effects<Self>);
    fn on_pipe_reset(&mut self, node: NodeId, now: Micros, peer: NodeId, fx: &mut Effects<Self>);
    /// Make the commit durable (the engine calls this at commit completion).
    fn apply_commit(&mut self, node: NodeId, now: Micros, commit: &Self::Commit);
    /// The commit is durable; the node may answer now.
    fn on_committed(&mut self, node: NodeId, now: Micros, commit: Self::Commit, fx: &mut Effects<Self>);
    /// Serve an I/O request (the world outside the tablets: backup storage).
    fn serve_io(&mut self, node: NodeId, io: Self::Io, fault: Option<IoFault>) -> Self::IoReply;
    fn on_io(&mut self, node: NodeId, now: Micros, reply: Self::IoReply, fx: &mut Effects<Self>);

    /// Whether `msg` is a request `node` may refuse ("nothing now, ask
    /// again"): a fault point. The engine decides; `on_refused` answers.
    fn refusable(&self, _node: NodeId, _msg: &Self::Msg) -> bool {
        false
    }
    /// Answer `msg` with a refusal instead of handling it.
    fn on_refused(&mut self, _node: NodeId, _now: Micros, _from: NodeId, _msg: Self::Msg, _fx: &mut Effects<Self>) {}
    /// Short names of messages and timers, for coverage and the trace.
    fn msg_label(_msg: &Self::Msg) -> &'static str {
        "message"
    }
    fn timer_label(_timer: &Self::Timer) -> &'static str {
        "timer"
    }
}

/// What a handler asked for, drained by the engine after each handler.
pub enum Effect<S: System + ?Sized> {
    Send { to: NodeId, msg: S::Msg },
    Timer { after: Micros, timer: S::Timer },
    Commit(S::Commit),
    Io(S::Io),
}

pub struct Effects<S: System + ?Sized> {
    items: Vec<Effect<S>>,
}

impl<S: System + ?Sized> Effects<S> {
    pub fn send(&mut self, to: NodeId, msg: S::Msg) {
        self.items.push(Effect::Send { to, msg });
    }
    pub fn timer(&mut self, after: Micros, timer: S::Timer) {
        self.items.push(Effect::Timer { after, timer });
    }
    pub fn commit(&mut self, commit: S::Commit) {
        self.items.push(Effect::Commit(commit));
    }
    pub fn io(&mut self, io: S::Io) {
        self.items.push(Effect::Io(io));
    }
}

/// Whether a node can crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A tablet: crashes, restarts with generation + 1, durable commits.
    Tablet,
    /// An outside process (the client): never crashes.
    Process,
}

#[derive(Debug)]
struct Node {
    kind: NodeKind,
    up: bool,
    generation: u32,
    /// Commits of a tablet complete in the order issued.
    last_commit_at: Micros,
    /// The tiebreak of the commit due at `last_commit_at` (ties permuted).
    last_commit_tiebreak: u64,
    /// This node's side of its links to every peer: one table, so a send
    /// costs one lookup.
    links: Links,
    /// Events handled over the node's life, boots included (the anchor of
    /// "at its k-th event" triggers and restarts).
    events: u64,
    commits: u64,
    /// Kill at these commit numbers (1-based, over its life), down for the value.
    kill_at: BTreeMap<u64, Micros>,
    /// Kill at the next commit to complete, down for the value (kept across
    /// a crash in between: "the first commit from the trigger on").
    kill_next: Option<Micros>,
}

pub(crate) enum Event<S: System + ?Sized> {
    Boot { node: NodeId },
    Crash { node: NodeId, down_for: Micros },
    Deliver { from: NodeId, to: NodeId, to_gen: u32, sent: Sent, msg: S::Msg },
    Timer { node: NodeId, generation: u32, timer: S::Timer },
    CommitDone { node: NodeId, generation: u32, commit: S::Commit },
    IoDone { node: NodeId, generation: u32, reply: S::IoReply },
    PipeReset { node: NodeId, generation: u32, peer: NodeId },
    PartitionStart { id: usize },
    PartitionEnd { id: usize },
}

/// What kind of event was processed, for the trace and the harness. The
/// discriminants go into the trace hash: append, never reorder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Boot,
    Crash,
    Deliver,
    Timer,
    CommitDone,
    KillOnCommit,
    IoDone,
    PipeReset,
    /// Addressed to a node that is down or to an older generation, or lost
    /// on the wire to a partition.
    Discarded,
    PartitionStart,
    PartitionEnd,
    /// A refusable request delivered and refused (the TxAllocator's empty answer).
    Refused,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Boot => "boot",
            EventKind::Crash => "crash",
            EventKind::Deliver => "deliver",
            EventKind::Timer => "timer",
            EventKind::CommitDone => "commit",
            EventKind::KillOnCommit => "kill_on_commit",
            EventKind::IoDone => "io",
            EventKind::PipeReset => "pipe_reset",
            EventKind::Discarded => "discarded",
            EventKind::PartitionStart => "partition_start",
            EventKind::PartitionEnd => "partition_end",
            EventKind::Refused => "refused",
        }
    }
}

/// One processed event, as the harness and the trace see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub index: u64,
    pub time: Micros,
    pub kind: EventKind,
    pub node: NodeId,
    pub peer: NodeId,
    pub payload: u64,
    /// The node's event count after this event if it handled it (1-based),
    /// else 0 (a discarded message, a crash, a partition edge).
    pub node_event: u64,
    /// The message's or timer's short name ("" for other events).
    pub label: &'static str,
}

impl Step {
    pub const NONE: Step =
        Step { index: 0, time: 0, kind: EventKind::Boot, node: 0, peer: 0, payload: 0, node_event: 0, label: "" };
}

/// When a message left and its number on its directed link (the anchor
/// of message faults): pairs a delivery with its send on the trace. Not
/// hashed, so tracing adds nothing to the trace hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub at: Micros,
    pub nth: u64,
}

/// A message sent during the last event (kept only while tracing), whatever
/// became of it: delivered, duplicated, dropped or lost to a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracedSend {
    pub to: NodeId,
    pub nth: u64,
    pub label: &'static str,
}

/// Counts of what the network and lifecycle did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub messages_sent: u64,
    /// Messages lost to random loss.
    pub drops: u64,
    pub duplicates: u64,
    pub reordered: u64,
    pub partitions: u64,
    /// Messages lost because they crossed an active partition.
    pub partition_drops: u64,
    /// Every time a tablet went down, whatever the cause.
    pub crashes: u64,
    /// Of those: crashes with a down time, and restarts with none (neither
    /// counts kills on commit).
    pub down_crashes: u64,
    pub restarts: u64,
    pub commits: u64,
    pub kill_on_commit: u64,
    pub slow_commits: u64,
    pub refusals: u64,
    pub read_errors: u64,
}

/// Latencies of everything that is not the network, and the fault plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub network: NetworkConfig,
    pub commit_latency: Latency,
    pub io_latency: Latency,
    pub window: FaultWindow,
    /// Probability that a backup read fails transiently / fatally (in the window).
    pub io_transient: Ratio,
    pub io_fatal: Ratio,
    pub tablets: TabletFaults,
    /// Order events due at one instant by a draw from the ties stream
    /// (docs/design.md §2), not by scheduling order. Off: no draw at all,
    /// so no trace hash of a scenario without it moves.
    pub permute_ties: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            network: NetworkConfig::default(),
            commit_latency: Latency::Uniform { min: 300, max: 1_500 },
            io_latency: Latency::Uniform { min: 100, max: 800 },
            window: FaultWindow { from: 0, until: 0 },
            io_transient: Ratio::NEVER,
            io_fatal: Ratio::NEVER,
            tablets: TabletFaults::default(),
            permute_ties: false,
        }
    }
}

pub struct Engine<S: System> {
    pub system: S,
    config: EngineConfig,
    now: Micros,
    queue: EventQueue<Event<S>>,
    /// The ties stream, when ties are permuted.
    ties: Option<Stream>,
    nodes: Vec<Node>,
    latency_rng: Stream,
    injector: Injector,
    partitions: Partitions,
    trace: TraceHash,
    steps: u64,
    stats: EngineStats,
    fx: Effects<S>,
    /// Where a restart asked for between events is anchored: after the last
    /// event (`None` before the first).
    last_anchor: Option<Anchor>,
    /// With tracing on, the payload of the last event in Debug form.
    tracing: bool,
    detail: String,
    /// With tracing on, what the last event sent, and the send it delivered.
    sends: Vec<TracedSend>,
    delivered: Option<Sent>,
}

impl<S: System> Engine<S> {
    /// Nodes boot at time 0, in id order; the configured partitions (fixed,
    /// then random) are scheduled.
    pub fn new(system: S, kinds: &[NodeKind], config: EngineConfig, seed: u64) -> Engine<S> {
        let mut engine = Engine::build(system, kinds, config, seed);
        let mut partitions = engine.config.network.partitions.clone();
        let random = engine.config.network.random_partitions;
        let window = engine.config.window;
        partitions.extend(random.draw(engine.injector.fault_rng(), kinds.len() as NodeId, window));
        for p in partitions {
            engine.schedule_partition(p);
        }
        engine
    }

    /// A replay: no random fault at all; every fault comes from `tape` (the
    /// `take_faults` log of an earlier run of the same system, config and seed).
    pub fn replay(system: S, kinds: &[NodeKind], config: EngineConfig, seed: u64, tape: &[InjectedFault]) -> Self {
        let mut engine = Engine::build(system, kinds, config, seed);
        let (index, start) = TapeIndex::new(tape);
        engine.injector.set_tape(index);
        // Scheduled in tape order: the order the original run scheduled them.
        for fault in start {
            match fault {
                InjectedFault::Restart { node, down, anchor: Anchor::At(at) } => engine.restart_at(node, at, down),
                InjectedFault::Partition(p) => engine.schedule_partition(p),
                _ => unreachable!("TapeIndex::new returns only timed restarts and partitions"),
            }
        }
        engine
    }

    fn build(system: S, kinds: &[NodeKind], config: EngineConfig, seed: u64) -> Engine<S> {
        let nodes = kinds
            .iter()
            .map(|&kind| Node {
                kind,
                up: false,
                generation: 0,
                last_commit_at: 0,
                last_commit_tiebreak: 0,
                links: Links::new(kinds.len()),
                events: 0,
                commits: 0,
                kill_at: BTreeMap::new(),
                kill_next: None,
            })
            .collect();
        let injector = Injector::new(
            kinds.len(),
            config.window,
            config.tablets.clone(),
            &config.network,
            [Stream::new(seed, Subsystem::Network), Stream::new(seed, Subsystem::Faults)],
        );
        let ties = config.permute_ties.then(|| Stream::new(seed, Subsystem::Ties));
        let mut engine = Engine {
            system,
            config,
            now: 0,
            queue: EventQueue::default(),
            ties,
            nodes,
            latency_rng: Stream::new(seed, Subsystem::Latency),
            injector,
            partitions: Partitions::default(),
            trace: TraceHash::default(),
            steps: 0,
            stats: EngineStats::default(),
            fx: Effects { items: Vec::new() },
            last_anchor: None,
            tracing: false,
            detail: String::new(),
            sends: Vec::new(),
            delivered: None,
        };
        for node in 0..kinds.len() as NodeId {
            engine.schedule(0, Event::Boot { node });
        }
        engine
    }

    /// Queues `event` at `at`: behind the events already due then, or, with
    /// ties permuted, at a drawn place among them.
    #[inline(always)]
    fn schedule(&mut self, at: Micros, event: Event<S>) {
        self.schedule_at_least(at, 0, event);
    }

    /// As `schedule`, with a tiebreak of at least `floor` (so the event
    /// runs after one due at `at` with tiebreak `floor`); returns it.
    #[inline(always)]
    fn schedule_at_least(&mut self, at: Micros, floor: u64, event: Event<S>) -> u64 {
        match &mut self.ties {
            None => {
                self.queue.push(at, event);
                0
            }
            Some(rng) => {
                let tiebreak = (rng.next_u64() >> (64 - queue::TIEBREAK_BITS)).max(floor);
                self.queue.push_tied(at, tiebreak, event);
                tiebreak
            }
        }
    }

    pub fn now(&self) -> Micros {
        self.now
    }

    pub fn trace_hash(&self) -> u64 {
        self.trace.value()
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Whether this run takes its faults from a tape.
    pub fn replaying(&self) -> bool {
        self.injector.replaying()
    }

    pub fn generation(&self, node: NodeId) -> u32 {
        self.nodes[node as usize].generation
    }

    pub fn is_up(&self, node: NodeId) -> bool {
        self.nodes[node as usize].up
    }

    /// Events handled by `node` so far, boots included (for "at its k-th
    /// event" triggers).
    pub fn node_events(&self, node: NodeId) -> u64 {
        self.nodes[node as usize].events
    }

    pub fn node_commits(&self, node: NodeId) -> u64 {
        self.nodes[node as usize].commits
    }

    /// Keep a Debug rendering of each event's payload (for `--trace`).
    pub fn set_tracing(&mut self, on: bool) {
        self.tracing = on;
    }

    /// The payload of the last processed event (empty unless tracing).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The messages the last processed event sent (empty unless tracing).
    pub fn traced_sends(&self) -> &[TracedSend] {
        &self.sends
    }

    /// The send the last processed event delivered, refused or discarded
    /// (`None` unless tracing, or if it was no delivery).
    pub fn delivered(&self) -> Option<Sent> {
        self.delivered
    }

    /// Faults injected since the last call, in the order they were decided:
    /// concatenated over a run, the run's fault tape.
    pub fn take_faults(&mut self) -> Vec<(Micros, InjectedFault)> {
        std::mem::take(&mut self.injector.log)
    }

    /// Record every fault point met from now on (see [`Probe`]).
    pub fn set_probing(&mut self, on: bool) {
        self.injector.probing = on;
    }

    /// Fault points met since the last call, in the order met.
    pub fn take_probes(&mut self, into: &mut Vec<Probe>) {
        into.append(&mut self.injector.probes);
    }

    /// Schedule a restart of a tablet at a future time. Call it before the
    /// first event: a replay schedules timed restarts there.
    pub fn restart_at(&mut self, node: NodeId, at: Micros, down_for: Micros) {
        assert_eq!(self.nodes[node as usize].kind, NodeKind::Tablet, "only tablets restart");
        debug_assert_eq!(self.steps, 0, "timed restarts are scheduled before the first event");
        let at = at.max(self.now);
        self.injector.record(self.now, InjectedFault::Restart { node, down: down_for, anchor: Anchor::At(at) });
        self.schedule(at, Event::Crash { node, down_for });
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Micros> {
        self.queue.peek_time()
    }

    /// Restart a tablet now: it crashes, stays down `down_for`, then boots.
    /// Anchored after the last event, so a replay schedules it there.
    pub fn restart(&mut self, node: NodeId, down_for: Micros) {
        assert_eq!(self.nodes[node as usize].kind, NodeKind::Tablet, "only tablets restart");
        let anchor = self.last_anchor.unwrap_or(Anchor::At(self.now));
        self.push_restart(node, down_for, anchor);
    }

    fn push_restart(&mut self, node: NodeId, down_for: Micros, anchor: Anchor) {
        self.injector.record(self.now, InjectedFault::Restart { node, down: down_for, anchor });
        self.schedule(self.now, Event::Crash { node, down_for });
    }

    /// Make the tablet's `nth` commit (1-based, counted over its life)
    /// durable but drop its completion and crash it instead, down `down_for`.
    pub fn kill_on_commit(&mut self, node: NodeId, nth: u64, down_for: Micros) {
        assert_eq!(self.nodes[node as usize].kind, NodeKind::Tablet, "only tablets restart");
        self.nodes[node as usize].kill_at.insert(nth, down_for);
    }

    /// Kill the tablet at the next commit to complete (see `kill_on_commit`).
    pub fn kill_next_commit(&mut self, node: NodeId, down_for: Micros) {
        assert_eq!(self.nodes[node as usize].kind, NodeKind::Tablet, "only tablets restart");
        self.nodes[node as usize].kill_next = Some(down_for);
    }

    /// Cut `p.nodes` off from the rest in `[p.from, p.until)`.
    pub fn schedule_partition(&mut self, p: Partition) {
        assert!(p.from < p.until, "a partition lasts: {p:?}");
        self.injector.record(self.now, InjectedFault::Partition(p.clone()));
        let (from, until) = (p.from.max(self.now), p.until.max(self.now));
        let id = self.partitions.add(p);
        self.schedule(from, Event::PartitionStart { id });
        self.schedule(until, Event::PartitionEnd { id });
    }

    /// Processes the next event; `None` when nothing is left to happen.
    pub fn step(&mut self) -> Option<Step> {
        let (time, event) = self.queue.pop()?;
        if self.tracing {
            self.detail.clear();
            self.sends.clear();
            self.delivered = None;
        }
        debug_assert!(time >= self.now, "time never goes back");
        self.now = time;
        self.steps += 1;
        let step = self.dispatch(event);
        if !self.fx.items.is_empty() {
            // Only a handler writes effects, and it ran for `step.node`.
            self.perform(step.node);
        }
        let step = Step { index: self.steps, time, ..step };
        self.after(&step);
        self.trace.record(time, step.kind as u8, step.node, step.peer, step.payload);
        Some(step)
    }

    /// Restarts due right after `step` (random, or the tape's), and the
    /// anchor of any restart the harness asks for before the next event.
    #[inline]
    fn after(&mut self, step: &Step) {
        if step.node_event == 0 {
            let anchor = Anchor::AfterStep { step: step.index };
            if self.injector.replaying() {
                for (node, down) in self.injector.after_step(step.index) {
                    self.push_restart(node, down, anchor);
                }
            }
            self.last_anchor = Some(anchor);
            return;
        }
        let anchor = Anchor::AfterEvent { node: step.node, event: step.node_event };
        if self.injector.may_restart_after_event(self.now) {
            let n = &self.nodes[step.node as usize];
            let tablet = n.kind == NodeKind::Tablet && n.up;
            for (node, down) in self.injector.after_event(self.now, step.node, step.node_event, tablet) {
                self.push_restart(node, down, anchor);
            }
        }
        self.last_anchor = Some(anchor);
    }
}
