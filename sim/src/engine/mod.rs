//! The deterministic discrete-event engine (DESIGN.md §2). Generic over a
//! [`System`] of nodes; it owns virtual time, the event queue, the network,
//! pipes, and tablet lifecycles (crash, boot with generation + 1, commits
//! with latency). It knows nothing of restores: `crate::restore` plugs the
//! model in.
//!
//! Architecture invariants:
//! - time only jumps to the next event; nothing reads a wall clock;
//! - ties at one instant are broken by a global sequence number;
//! - every random decision comes from a seeded [`prng::Stream`];
//! - a crash drops the node's volatile state and every commit not yet
//!   durable; events addressed to an older generation are discarded.

pub mod network;
pub mod pingpong;
pub mod prng;
pub mod trace;

mod queue;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::Hash;

pub use network::{FaultWindow, Latency, NetworkConfig};
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
    /// Peers with an open pipe to or from this node.
    pipes: BTreeSet<NodeId>,
    events: u64,
    commits: u64,
    /// Crash instead of delivering the completion of this commit number.
    kill_on_commit: Option<u64>,
}

pub(crate) enum Event<S: System + ?Sized> {
    Boot { node: NodeId },
    Crash { node: NodeId, down_for: Micros },
    Deliver { from: NodeId, to: NodeId, to_gen: u32, msg: S::Msg },
    Timer { node: NodeId, generation: u32, timer: S::Timer },
    CommitDone { node: NodeId, generation: u32, commit: S::Commit },
    IoDone { node: NodeId, generation: u32, reply: S::IoReply },
    PipeReset { node: NodeId, generation: u32, peer: NodeId },
}

/// What kind of event was processed, for the trace and the harness.
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
    /// Addressed to a node that is down or to an older generation.
    Discarded,
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
}

/// Counts of what the network and lifecycle did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub messages_sent: u64,
    pub drops: u64,
    pub duplicates: u64,
    pub crashes: u64,
    pub commits: u64,
    pub kill_on_commit: u64,
    pub read_errors: u64,
}

/// A fault the engine injected at random, for plots, counts and the tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedFault {
    Drop { from: NodeId, to: NodeId },
    Duplicate { from: NodeId, to: NodeId },
    ReadError { node: NodeId, fatal: bool },
}

/// Latencies of everything that is not the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub network: NetworkConfig,
    pub commit_latency: Latency,
    pub io_latency: Latency,
    pub window: FaultWindow,
    /// Probability that a backup read fails transiently / fatally (in the window).
    pub io_transient: Ratio,
    pub io_fatal: Ratio,
}

pub struct Engine<S: System> {
    pub system: S,
    config: EngineConfig,
    now: Micros,
    queue: EventQueue<Event<S>>,
    nodes: Vec<Node>,
    network_rng: Stream,
    latency_rng: Stream,
    fault_rng: Stream,
    trace: TraceHash,
    steps: u64,
    stats: EngineStats,
    fx: Effects<S>,
    /// Faults injected since the harness last took them.
    faults: Vec<(Micros, InjectedFault)>,
    /// With tracing on, the payload of the last event in Debug form.
    tracing: bool,
    detail: String,
}

impl<S: System> Engine<S> {
    /// Nodes boot at time 0, in id order.
    pub fn new(system: S, kinds: &[NodeKind], config: EngineConfig, seed: u64) -> Engine<S> {
        let nodes = kinds
            .iter()
            .map(|&kind| Node {
                kind,
                up: false,
                generation: 0,
                last_commit_at: 0,
                pipes: BTreeSet::new(),
                events: 0,
                commits: 0,
                kill_on_commit: None,
            })
            .collect();
        let mut engine = Engine {
            system,
            config,
            now: 0,
            queue: EventQueue::default(),
            nodes,
            network_rng: Stream::new(seed, Subsystem::Network),
            latency_rng: Stream::new(seed, Subsystem::Latency),
            fault_rng: Stream::new(seed, Subsystem::Faults),
            trace: TraceHash::default(),
            steps: 0,
            stats: EngineStats::default(),
            fx: Effects { items: Vec::new() },
            faults: Vec::new(),
            tracing: false,
            detail: String::new(),
        };
        for node in 0..kinds.len() as NodeId {
            engine.queue.push(0, Event::Boot { node });
        }
        engine
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

    pub fn generation(&self, node: NodeId) -> u32 {
        self.nodes[node as usize].generation
    }

    pub fn is_up(&self, node: NodeId) -> bool {
        self.nodes[node as usize].up
    }

    /// Events processed by `node` so far (for "at its k-th event" triggers).
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

    /// Faults injected since the last call.
    pub fn take_faults(&mut self) -> Vec<(Micros, InjectedFault)> {
        std::mem::take(&mut self.faults)
    }

    /// Schedule a restart of a tablet at a future time.
    pub fn restart_at(&mut self, node: NodeId, at: Micros, down_for: Micros) {
        assert_eq!(self.nodes[node as usize].kind, NodeKind::Tablet, "only tablets restart");
        self.queue.push(at.max(self.now), Event::Crash { node, down_for });
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Micros> {
        self.queue.peek_time()
    }

    /// Restart a tablet now: it crashes, stays down `down_for`, then boots.
    pub fn restart(&mut self, node: NodeId, down_for: Micros) {
        assert_eq!(self.nodes[node as usize].kind, NodeKind::Tablet, "only tablets restart");
        self.queue.push(self.now, Event::Crash { node, down_for });
    }

    /// Make the tablet's `nth` commit (1-based, counted over its life)
    /// durable but drop its completion and crash it instead.
    pub fn kill_on_commit(&mut self, node: NodeId, nth: u64) {
        self.nodes[node as usize].kill_on_commit = Some(nth);
    }

    /// Processes the next event; `None` when nothing is left to happen.
    pub fn step(&mut self) -> Option<Step> {
        let (time, event) = self.queue.pop()?;
        if self.tracing {
            self.detail.clear();
        }
        debug_assert!(time >= self.now, "time never goes back");
        self.now = time;
        self.steps += 1;
        let step = self.dispatch(event);
        let step = Step { index: self.steps, time, ..step };
        self.trace.record(time, step.kind as u8, step.node, step.peer, step.payload);
        Some(step)
    }

    fn dispatch(&mut self, event: Event<S>) -> Step {
        let now = self.now;
        let mut step = Step { index: 0, time: now, kind: EventKind::Discarded, node: 0, peer: 0, payload: 0 };
        match event {
            Event::Boot { node } => {
                let n = &mut self.nodes[node as usize];
                debug_assert!(!n.up);
                n.up = true;
                n.generation += 1;
                let generation = n.generation;
                step = Step { kind: EventKind::Boot, node, payload: u64::from(generation), ..step };
                self.system.boot(node, generation, now, &mut self.fx);
                self.perform(node);
            }
            Event::Crash { node, down_for } => {
                step.node = node;
                if self.nodes[node as usize].up {
                    step.kind = EventKind::Crash;
                    step.payload = down_for;
                    self.crash(node, down_for);
                }
            }
            Event::Deliver { from, to, to_gen, msg } => {
                step.node = to;
                step.peer = from;
                if self.alive(to, to_gen) {
                    step.kind = EventKind::Deliver;
                    step.payload = trace::digest(&msg);
                    self.describe(&msg);
                    self.nodes[to as usize].events += 1;
                    self.system.on_message(to, now, from, msg, &mut self.fx);
                    self.perform(to);
                }
            }
            Event::Timer { node, generation, timer } => {
                step.node = node;
                if self.alive(node, generation) {
                    step.kind = EventKind::Timer;
                    step.payload = trace::digest(&timer);
                    self.describe(&timer);
                    self.nodes[node as usize].events += 1;
                    self.system.on_timer(node, now, timer, &mut self.fx);
                    self.perform(node);
                }
            }
            Event::CommitDone { node, generation, commit } => {
                step.node = node;
                if self.alive(node, generation) {
                    step.payload = trace::digest(&commit);
                    self.describe(&commit);
                    let n = &mut self.nodes[node as usize];
                    n.commits += 1;
                    n.events += 1;
                    self.stats.commits += 1;
                    self.system.apply_commit(node, now, &commit);
                    if n.kill_on_commit == Some(n.commits) {
                        n.kill_on_commit = None;
                        step.kind = EventKind::KillOnCommit;
                        self.stats.kill_on_commit += 1;
                        self.queue.push(now, Event::Crash { node, down_for: 0 });
                    } else {
                        step.kind = EventKind::CommitDone;
                        self.system.on_committed(node, now, commit, &mut self.fx);
                        self.perform(node);
                    }
                }
            }
            Event::IoDone { node, generation, reply } => {
                step.node = node;
                if self.alive(node, generation) {
                    step.kind = EventKind::IoDone;
                    step.payload = trace::digest(&reply);
                    self.describe(&reply);
                    self.nodes[node as usize].events += 1;
                    self.system.on_io(node, now, reply, &mut self.fx);
                    self.perform(node);
                }
            }
            Event::PipeReset { node, generation, peer } => {
                step.node = node;
                step.peer = peer;
                if self.alive(node, generation) {
                    step.kind = EventKind::PipeReset;
                    self.nodes[node as usize].events += 1;
                    self.system.on_pipe_reset(node, now, peer, &mut self.fx);
                    self.perform(node);
                }
            }
        }
        step
    }

    fn describe(&mut self, payload: &impl Debug) {
        if self.tracing {
            use std::fmt::Write;
            self.detail.clear();
            let _ = write!(self.detail, "{payload:?}");
        }
    }

    fn alive(&self, node: NodeId, generation: u32) -> bool {
        let n = &self.nodes[node as usize];
        n.up && n.generation == generation
    }

    fn crash(&mut self, node: NodeId, down_for: Micros) {
        self.stats.crashes += 1;
        let n = &mut self.nodes[node as usize];
        n.up = false;
        n.last_commit_at = 0;
        let peers = std::mem::take(&mut n.pipes);
        self.system.crash(node);
        for peer in peers {
            self.break_pipe_end(peer, node);
        }
        self.queue.push(self.now + down_for, Event::Boot { node });
    }

    /// `node` learns that its pipe to `peer` broke.
    fn break_pipe_end(&mut self, node: NodeId, peer: NodeId) {
        let n = &mut self.nodes[node as usize];
        n.pipes.remove(&peer);
        if n.up {
            let generation = n.generation;
            let at = self.now + self.config.network.reset_notify;
            self.queue.push(at, Event::PipeReset { node, generation, peer });
        }
    }

    /// Carries out what the last handler of `node` asked for.
    fn perform(&mut self, node: NodeId) {
        let mut items = std::mem::take(&mut self.fx.items);
        for effect in items.drain(..) {
            match effect {
                Effect::Send { to, msg } => self.send(node, to, msg),
                Effect::Timer { after, timer } => {
                    let generation = self.nodes[node as usize].generation;
                    self.queue.push(self.now + after, Event::Timer { node, generation, timer });
                }
                Effect::Commit(commit) => {
                    let latency = self.config.commit_latency.sample(&mut self.latency_rng);
                    let n = &mut self.nodes[node as usize];
                    // A tablet's log is written in order: commits complete in issue order.
                    let at = (self.now + latency).max(n.last_commit_at);
                    n.last_commit_at = at;
                    let generation = n.generation;
                    self.queue.push(at, Event::CommitDone { node, generation, commit });
                }
                Effect::Io(io) => {
                    let fault = if self.config.window.contains(self.now) {
                        if self.fault_rng.chance(self.config.io_fatal) {
                            Some(IoFault::Fatal)
                        } else if self.fault_rng.chance(self.config.io_transient) {
                            Some(IoFault::Transient)
                        } else {
                            None
                        }
                    } else {
                        None
                    };
                    if let Some(f) = fault {
                        self.stats.read_errors += 1;
                        let fatal = f == IoFault::Fatal;
                        self.faults.push((self.now, InjectedFault::ReadError { node, fatal }));
                    }
                    let reply = self.system.serve_io(node, io, fault);
                    let latency = self.config.io_latency.sample(&mut self.latency_rng);
                    let generation = self.nodes[node as usize].generation;
                    self.queue.push(self.now + latency, Event::IoDone { node, generation, reply });
                }
            }
        }
        // Give the (now empty) buffer back so its capacity is reused.
        self.fx.items = items;
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: S::Msg) {
        self.stats.messages_sent += 1;
        let now = self.now;
        if !self.nodes[to as usize].up {
            // The pipe cannot connect: the sender hears of it, nothing is delivered.
            let generation = self.nodes[from as usize].generation;
            let at = now + self.config.network.reset_notify;
            self.queue.push(at, Event::PipeReset { node: from, generation, peer: to });
            return;
        }
        if self.nodes[from as usize].pipes.insert(to) {
            self.nodes[to as usize].pipes.insert(from);
        }
        let to_gen = self.nodes[to as usize].generation;
        let in_window = self.config.window.contains(now);
        if in_window && self.network_rng.chance(self.config.network.loss) {
            self.stats.drops += 1;
            self.faults.push((now, InjectedFault::Drop { from, to }));
            if self.config.network.loss_detected {
                self.break_pipe_end(from, to);
                self.break_pipe_end(to, from);
            }
            return;
        }
        let copies = if in_window && self.network_rng.chance(self.config.network.duplicate) {
            self.stats.duplicates += 1;
            self.faults.push((now, InjectedFault::Duplicate { from, to }));
            2
        } else {
            1
        };
        for _ in 1..copies {
            let latency = self.config.network.latency.sample(&mut self.latency_rng);
            self.queue.push(now + latency, Event::Deliver { from, to, to_gen, msg: msg.clone() });
        }
        let latency = self.config.network.latency.sample(&mut self.latency_rng);
        self.queue.push(now + latency, Event::Deliver { from, to, to_gen, msg });
    }
}
