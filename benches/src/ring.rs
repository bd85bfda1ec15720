//! The token ring through the public engine API, the shape of madsim's and
//! turmoil's ring examples: `nodes` processes pass `tokens` tokens round the
//! ring; each hop is one network message with a random latency. Nothing but
//! deliveries: what is measured is the engine's cost per message.

use restoresim::engine::{
    Effects, Engine, EngineConfig, EventKind, FaultWindow, Latency, Micros, NetworkConfig, NodeId, NodeKind, System,
};

/// The ring's nodes. Node `i` serves tokens `i, i + nodes, ...` at its boot.
pub struct Ring {
    pub nodes: u32,
    pub tokens: u32,
    /// Tokens received, over all nodes.
    pub deliveries: u64,
}

impl System for Ring {
    type Msg = u32;
    type Timer = ();
    type Commit = ();
    type Io = ();
    type IoReply = ();

    fn boot(&mut self, node: NodeId, _generation: u32, _now: Micros, fx: &mut Effects<Self>) {
        // Serve from a timer: nodes boot in id order at time 0, and a token
        // sent now to a node not yet up would be lost.
        fx.timer(1, ());
        let _ = node;
    }

    fn crash(&mut self, _node: NodeId) {}

    fn on_message(&mut self, node: NodeId, _now: Micros, _from: NodeId, token: u32, fx: &mut Effects<Self>) {
        self.deliveries += 1;
        fx.send((node + 1) % self.nodes, token);
    }

    fn on_timer(&mut self, node: NodeId, _now: Micros, _timer: (), fx: &mut Effects<Self>) {
        for token in (node..self.tokens).step_by(self.nodes as usize) {
            fx.send((node + 1) % self.nodes, token);
        }
    }

    fn on_pipe_reset(&mut self, _node: NodeId, _now: Micros, _peer: NodeId, _fx: &mut Effects<Self>) {}
    fn apply_commit(&mut self, _node: NodeId, _now: Micros, _commit: &()) {}
    fn on_committed(&mut self, _node: NodeId, _now: Micros, _commit: (), _fx: &mut Effects<Self>) {}
    fn serve_io(&mut self, _node: NodeId, _io: (), _fault: Option<restoresim::engine::IoFault>) {}
    fn on_io(&mut self, _node: NodeId, _now: Micros, _reply: (), _fx: &mut Effects<Self>) {}
}

/// A ring engine with uniform latency `min..=max` µs and no faults, run
/// until every token is in flight (boots and serves done), so that from
/// then on every step is a delivery.
pub fn ring_engine(nodes: u32, tokens: u32, (min, max): (u64, u64), seed: u64) -> Engine<Ring> {
    assert!(nodes >= 2 && tokens >= 1, "a ring needs two nodes and a token");
    let config = EngineConfig {
        network: NetworkConfig { latency: Latency::Uniform { min, max }, ..NetworkConfig::default() },
        window: FaultWindow { from: 0, until: 0 },
        ..EngineConfig::default()
    };
    let kinds = vec![NodeKind::Process; nodes as usize];
    let mut engine = Engine::new(Ring { nodes, tokens, deliveries: 0 }, &kinds, config, seed);
    // Boots, then the serving timers (at 1 µs, before any token lands).
    for _ in 0..2 * nodes {
        engine.step().expect("the ring has just booted");
    }
    engine
}

/// Runs `deliveries` steps, checking each is a delivery: a ring that drops
/// or stalls would otherwise look fast.
pub fn run_ring(engine: &mut Engine<Ring>, deliveries: u64) {
    for _ in 0..deliveries {
        let step = engine.step().expect("tokens never vanish");
        debug_assert_eq!(step.kind, EventKind::Deliver);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_keeps_going_round() {
        let mut engine = ring_engine(10, 25, (50, 500), 3);
        for _ in 0..10_000 {
            assert_eq!(engine.step().expect("tokens never vanish").kind, EventKind::Deliver);
        }
        assert_eq!(engine.system.deliveries, 10_000);
        assert_eq!(engine.stats().messages_sent, 25 + 10_000);
    }
}
