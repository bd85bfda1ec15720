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
//!   durable; events addressed to an older generation are discarded;
//! - nothing depends on an address or on timing: the prefetch pipeline
//!   (`prefetch.rs`) hints the caches with the state of the events 8 and 4
//!   places ahead in the instant's due list (the engine's node record and
//!   fault counts, then the system's `prefetch` and `prefetch_deep` hooks),
//!   so a million shards' random-order first touches overlap instead of
//!   stalling one by one; a hint reads no value a handler sees, so no
//!   trace can depend on it.

mod config;
mod dispatch;
mod event;
mod fingerprint;
pub mod inject;
mod links;
pub mod network;
mod node;
mod partition;
mod pending;
pub mod pingpong;
pub(crate) mod prefetch;
#[cfg(test)]
mod prefetch_tests;
pub mod prng;
mod queue;
mod stats;
mod step;
mod system;
pub mod trace;

use std::collections::BTreeMap;

pub use config::EngineConfig;
use event::Event;
pub use inject::{Anchor, InjectedFault, Partition, Probe, TabletFaults};
use inject::{Injector, TapeIndex};
use links::Links;
pub use network::{FaultWindow, Latency, LinkLatency, NetworkConfig};
use node::Node;
pub use node::NodeKind;
use partition::Partitions;
pub use partition::RandomPartitions;
pub use pending::{Pending, PendingEvent};
pub use prng::{Ratio, Stream, Subsystem};
use queue::EventQueue;
pub use stats::EngineStats;
pub use step::{EventKind, Sent, Step, TracedSend};
pub use system::{Effect, Effects, IoFault, Payload, System};
pub use trace::TraceHash;

/// Virtual time in microseconds.
pub type Micros = u64;
/// A node's index in the system.
pub type NodeId = u32;

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
        self.prefetch_ahead();
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

    /// The prefetch pipeline (`prefetch.rs`), run as each event is popped:
    /// the first stage for the event `prefetch::FAR` places ahead (its
    /// engine record, its fault counts, and what the system's `prefetch`
    /// names), the second for the one `prefetch::NEAR` ahead, whose first
    /// stage has landed since (the system's `prefetch_deep`: the lines
    /// behind the pointers the first stage brought in). Reads only the
    /// queue's due list and the vectors' own bounds; writes nothing. Off
    /// in a run of fewer than `prefetch::MIN_NODES` nodes, whose state the
    /// caches hold: there the check is all `step` pays, the pipeline being
    /// out of line so that it does not grow `step`'s own code.
    #[inline(always)]
    fn prefetch_ahead(&self) {
        if self.nodes.len() >= prefetch::MIN_NODES {
            self.prefetch_pipeline();
        }
    }

    #[inline(never)]
    fn prefetch_pipeline(&self) {
        if let Some(node) = self.queue.ahead(prefetch::FAR).and_then(Event::node) {
            if let Some(n) = self.nodes.get(node as usize) {
                prefetch::lines(n);
            }
            self.injector.prefetch(node);
            self.system.prefetch(node);
        }
        match self.queue.ahead(prefetch::NEAR) {
            Some(Event::CommitDone { node, commit, .. }) => self.system.prefetch_deep(*node, Payload::Commit(commit)),
            Some(Event::IoDone { node, reply, .. }) => self.system.prefetch_deep(*node, Payload::Reply(reply)),
            Some(Event::Deliver { to, msg, .. }) => self.system.prefetch_deep(*to, Payload::Message(msg)),
            Some(event) => {
                if let Some(node) = event.node() {
                    self.system.prefetch_deep(node, Payload::Other);
                }
            }
            None => {}
        }
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
