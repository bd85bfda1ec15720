//! A tiny [`System`] for the engine's own tests and for the engine bench
//! (docs/design.md §1, §10): `nodes` tablets in a ring pass balls. On each ball a
//! node bounces the counter, plus one, to the next node; every
//! `commit_every`-th hop it also commits the counter, and every
//! `timer_every`-th hop it arms a timer. So messages, timers, commits, pipes
//! and restarts all go through the engine, with no restore model involved.
//!
//! The system keeps plain counters (hops, commits issued / applied / acked,
//! timers armed / fired, pipe resets heard) so tests can see what the engine
//! delivered and what it dropped.

use super::network::{FaultWindow, Latency, NetworkConfig};
use super::{Effects, Engine, EngineConfig, Micros, NodeId, NodeKind, System};

/// One pipe reset a node heard of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeardReset {
    pub at: Micros,
    pub node: NodeId,
    pub peer: NodeId,
}

/// The ping-pong timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tick {
    /// Put this node's ball in play (armed at the first boot).
    Serve,
    /// Armed on a hop; firing only counts.
    Hop(u64),
}

/// The ping-pong system: a ring of tablets bouncing counters.
#[derive(Clone, Debug)]
pub struct PingPong {
    pub nodes: u32,
    /// How many balls are served at the first boot (node `i < balls` serves
    /// one). More balls keep the event queue as deep as a real run's.
    pub balls: u32,
    /// Commit every k-th hop (0: never).
    pub commit_every: u64,
    /// Arm a timer every k-th hop (0: never).
    pub timer_every: u64,
    pub timer_after: Micros,

    /// Messages handled, over all nodes.
    pub hops: u64,
    /// Per node: commits asked for, made durable, and acknowledged.
    pub commits_issued: Vec<u64>,
    pub commits_applied: Vec<u64>,
    pub commits_acked: Vec<u64>,
    /// Per node, the durable state: the last counter committed.
    pub durable: Vec<u64>,
    /// Per node, volatile: hops handled since the last boot.
    pub volatile_hops: Vec<u64>,
    pub timers_armed: u64,
    pub timers_fired: u64,
    pub boots: u64,
    pub resets: Vec<HeardReset>,
}

impl PingPong {
    /// One ball per node, a commit every 4th hop and a timer every 16th: the
    /// mix the bench measures.
    pub fn new(nodes: u32) -> PingPong {
        assert!(nodes >= 2, "a ring needs two nodes");
        let n = nodes as usize;
        PingPong {
            nodes,
            balls: nodes,
            commit_every: 4,
            timer_every: 16,
            timer_after: 150,
            hops: 0,
            commits_issued: vec![0; n],
            commits_applied: vec![0; n],
            commits_acked: vec![0; n],
            durable: vec![0; n],
            volatile_hops: vec![0; n],
            timers_armed: 0,
            timers_fired: 0,
            boots: 0,
            resets: Vec::new(),
        }
    }

    pub fn issued(&self) -> u64 {
        self.commits_issued.iter().sum()
    }

    pub fn applied(&self) -> u64 {
        self.commits_applied.iter().sum()
    }

    /// The next node round the ring. A compare, not `% nodes`: a division
    /// costs more than the rest of the handler, and the bench measures the
    /// engine, not the model's arithmetic.
    fn next(&self, node: NodeId) -> NodeId {
        if node + 1 == self.nodes { 0 } else { node + 1 }
    }
}

/// Whether `hop` is a multiple of `k` (`k == 0`: never). A mask when `k`
/// is a power of two (the bench's 4 and 16), so the handler divides only
/// for other cadences: same answer, without two 64-bit divisions per hop.
#[inline]
fn every(hop: u64, k: u64) -> bool {
    match k {
        0 => false,
        k if k.is_power_of_two() => hop & (k - 1) == 0,
        k => hop.is_multiple_of(k),
    }
}

impl System for PingPong {
    type Msg = u64;
    type Timer = Tick;
    type Commit = u64;
    type Io = ();
    type IoReply = ();

    fn boot(&mut self, node: NodeId, generation: u32, _now: Micros, fx: &mut Effects<Self>) {
        self.boots += 1;
        // Only the first boot serves: a restarted node must not mint new
        // balls, or restarts would change the load they are meant to test.
        // Serve from a timer, not at boot: nodes boot in id order, and a
        // ball sent now to a node not yet up would be lost. Node i serves at
        // i µs so the balls do not move in lockstep: a queue full of equal
        // times is a degenerate case (a bare heap runs 1.3-1.7x slower on
        // it), and the bench compares against distinct times.
        if generation == 1 && node < self.balls {
            fx.timer(Micros::from(node), Tick::Serve);
        }
    }

    fn crash(&mut self, node: NodeId) {
        self.volatile_hops[node as usize] = 0;
    }

    fn on_message(&mut self, node: NodeId, _now: Micros, _from: NodeId, msg: u64, fx: &mut Effects<Self>) {
        self.hops += 1;
        self.volatile_hops[node as usize] += 1;
        let hop = msg + 1;
        fx.send(self.next(node), hop);
        if every(hop, self.commit_every) {
            self.commits_issued[node as usize] += 1;
            fx.commit(hop);
        }
        if every(hop, self.timer_every) {
            self.timers_armed += 1;
            fx.timer(self.timer_after, Tick::Hop(hop));
        }
    }

    fn on_timer(&mut self, node: NodeId, _now: Micros, timer: Tick, fx: &mut Effects<Self>) {
        match timer {
            // Start each ball at its server's index so commits and timers of
            // different balls do not all fall on the same hop.
            Tick::Serve => fx.send(self.next(node), u64::from(node)),
            Tick::Hop(_) => self.timers_fired += 1,
        }
    }

    fn on_pipe_reset(&mut self, node: NodeId, now: Micros, peer: NodeId, _fx: &mut Effects<Self>) {
        self.resets.push(HeardReset { at: now, node, peer });
    }

    fn apply_commit(&mut self, node: NodeId, _now: Micros, commit: &u64) {
        self.commits_applied[node as usize] += 1;
        self.durable[node as usize] = *commit;
    }

    fn on_committed(&mut self, node: NodeId, _now: Micros, _commit: u64, _fx: &mut Effects<Self>) {
        self.commits_acked[node as usize] += 1;
    }

    fn serve_io(&mut self, _node: NodeId, _io: (), _fault: Option<super::IoFault>) {}

    fn on_io(&mut self, _node: NodeId, _now: Micros, _reply: (), _fx: &mut Effects<Self>) {}
}

/// An engine configuration without faults: the given network latency, a
/// constant 50 µs commit latency, and an empty fault window.
pub fn config(latency: Latency) -> EngineConfig {
    EngineConfig {
        network: NetworkConfig { latency, ..NetworkConfig::default() },
        commit_latency: Latency::Constant(50),
        io_latency: Latency::Constant(100),
        window: FaultWindow { from: 0, until: 0 },
        ..EngineConfig::default()
    }
}

/// A ping-pong ring of `nodes` tablets with one ball each, a constant
/// 100 µs network latency and no faults: the engine bench's workload.
pub fn pingpong_engine(nodes: u32, seed: u64) -> Engine<PingPong> {
    pingpong_engine_with(PingPong::new(nodes), config(Latency::Constant(100)), seed)
}

/// A ping-pong engine from a system and a configuration of one's own.
pub fn pingpong_engine_with(system: PingPong, config: EngineConfig, seed: u64) -> Engine<PingPong> {
    let kinds = vec![NodeKind::Tablet; system.nodes as usize];
    Engine::new(system, &kinds, config, seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EventKind;

    fn hash_after(engine: &mut Engine<PingPong>, steps: u64) -> u64 {
        for _ in 0..steps {
            engine.step().expect("the balls never stop");
        }
        engine.trace_hash()
    }

    fn uniform(seed: u64) -> Engine<PingPong> {
        pingpong_engine_with(PingPong::new(8), config(Latency::Uniform { min: 50, max: 500 }), seed)
    }

    #[test]
    fn every_is_is_multiple_of() {
        for k in 0..40u64 {
            for hop in 0..200u64 {
                assert_eq!(every(hop, k), k > 0 && hop.is_multiple_of(k), "hop {hop}, k {k}");
            }
        }
    }

    #[test]
    fn same_seed_same_trace_different_seed_different_trace() {
        let a = hash_after(&mut pingpong_engine(8, 7), 10_000);
        let b = hash_after(&mut pingpong_engine(8, 7), 10_000);
        assert_eq!(a, b);

        // With a random latency the seed matters, and reproduces.
        let u1 = hash_after(&mut uniform(1), 10_000);
        let u1_again = hash_after(&mut uniform(1), 10_000);
        let u2 = hash_after(&mut uniform(2), 10_000);
        assert_eq!(u1, u1_again);
        assert_ne!(u1, u2);
    }

    #[test]
    fn every_event_kind_flows() {
        let mut engine = pingpong_engine(4, 1);
        let mut seen = Vec::new();
        for _ in 0..2_000 {
            let kind = engine.step().expect("the balls never stop").kind;
            if !seen.contains(&kind) {
                seen.push(kind);
            }
        }
        for kind in [EventKind::Boot, EventKind::Deliver, EventKind::CommitDone, EventKind::Timer] {
            assert!(seen.contains(&kind), "no {kind:?} in {seen:?}");
        }
        let s = &engine.system;
        assert!(s.timers_fired > 0 && s.applied() > 0);
        // A lost ball would have sent a pipe reset to its last holder.
        assert!(s.resets.is_empty(), "every ball is still in play");
        assert_eq!(engine.stats().commits, s.applied());
    }

    /// One ball on a ring of 4, every hop commits. Commits take 50 µs and
    /// hops 100 µs, so when node 2 has just taken the ball, its commit is
    /// the only one pending anywhere.
    fn one_ball_committing_every_hop() -> Engine<PingPong> {
        let mut system = PingPong::new(4);
        system.balls = 1;
        system.commit_every = 1;
        system.timer_every = 0;
        pingpong_engine_with(system, config(Latency::Constant(100)), 1)
    }

    /// Steps until `node` has handled a ball; returns that step's time.
    fn until_delivered_to(engine: &mut Engine<PingPong>, node: NodeId) -> Micros {
        loop {
            let step = engine.step().expect("the ball is still bouncing");
            if step.kind == EventKind::Deliver && step.node == node {
                return step.time;
            }
        }
    }

    #[test]
    fn restart_bumps_generation_and_drops_the_pending_commit() {
        let mut engine = one_ball_committing_every_hop();
        let at = until_delivered_to(&mut engine, 2);
        assert_eq!(engine.generation(2), 1);
        let s = &engine.system;
        assert_eq!(s.commits_issued[2], s.commits_applied[2] + 1, "node 2's commit is in flight");
        assert_eq!(s.issued(), s.applied() + 1, "and it is the only one");

        // Down long enough that the ball, coming round again, finds node 2
        // down and dies: the run then ends, and all counters are final.
        engine.restart(2, 1_000_000);
        while engine.step().is_some() {}

        assert_eq!(engine.generation(2), 2, "one restart, one more generation");
        assert!(engine.is_up(2));
        assert_eq!(engine.stats().crashes, 1);
        assert!(engine.now() >= at + 1_000_000);
        let s = &engine.system;
        assert_eq!(s.commits_issued[2], s.commits_applied[2] + 1, "the pending commit was lost");
        assert_eq!(s.issued(), s.applied() + 1, "and no other commit was");
        assert_eq!(s.commits_acked, s.commits_applied);
        assert_eq!(s.volatile_hops[2], 0, "the crash dropped volatile state");
        assert_eq!(s.boots, 5);
    }

    #[test]
    fn a_restart_resets_the_pipes_of_the_nodes_that_talked_to_it() {
        let mut engine = one_ball_committing_every_hop();
        // The ball went 0 → 1 → 2 → 3 → 0 → 1 → 2: node 2 has pipes to 1
        // (which sent to it) and 3 (which it sent to), none to 0.
        until_delivered_to(&mut engine, 2);
        until_delivered_to(&mut engine, 2);
        assert!(engine.system.resets.is_empty());
        let crash_at = engine.now();
        engine.restart(2, 1_000_000);
        while engine.peek_time().is_some_and(|t| t <= crash_at + 1_000) {
            engine.step();
        }
        let mut heard: Vec<_> =
            engine.system.resets.iter().filter(|r| r.at == crash_at + 1_000).map(|r| (r.node, r.peer)).collect();
        heard.sort_unstable();
        assert_eq!(heard, vec![(1, 2), (3, 2)]);
    }
}
