//! The prefetch pipeline's contract, tested through a whole engine: each
//! hint names the node of the event exactly `FAR` (first stage) or `NEAR`
//! (second stage) places behind the next one to run, a commit's second
//! stage carries that commit, and the hooks change nothing (the trace is
//! the one a system without them gives).

use std::cell::RefCell;

use super::network::Latency;
use super::pingpong::{self, PingPong, Tick};
use super::{Effect, Effects, Engine, Micros, NodeId, NodeKind, Payload, System, prefetch};

/// One hint: the step index when it was given, its stage's distance, the
/// node named, and the commit handed over with it.
type Hint = (u64, usize, NodeId, Option<u64>);

/// Ping-pong, recording every hint the engine gives it.
struct Hinted {
    inner: PingPong,
    hints: RefCell<Vec<Hint>>,
    steps: u64,
}

impl Hinted {
    /// Runs one of ping-pong's handlers and relays the effects it wrote.
    fn relay(&mut self, fx: &mut Effects<Self>, handler: impl FnOnce(&mut PingPong, &mut Effects<PingPong>)) {
        let mut inner = Effects { items: Vec::new() };
        handler(&mut self.inner, &mut inner);
        fx.items.extend(inner.items.into_iter().map(|effect| match effect {
            Effect::Send { to, msg } => Effect::Send { to, msg },
            Effect::Timer { after, timer } => Effect::Timer { after, timer },
            Effect::Commit(commit) => Effect::Commit(commit),
            Effect::Io(io) => Effect::Io(io),
        }));
    }
}

impl System for Hinted {
    type Msg = u64;
    type Timer = Tick;
    type Commit = u64;
    type Io = ();
    type IoReply = ();

    fn boot(&mut self, node: NodeId, generation: u32, now: Micros, fx: &mut Effects<Self>) {
        self.relay(fx, |p, fx| p.boot(node, generation, now, fx));
    }
    fn crash(&mut self, node: NodeId) {
        self.inner.crash(node);
    }
    fn on_message(&mut self, node: NodeId, now: Micros, from: NodeId, msg: u64, fx: &mut Effects<Self>) {
        self.relay(fx, |p, fx| p.on_message(node, now, from, msg, fx));
    }
    fn on_timer(&mut self, node: NodeId, now: Micros, timer: Tick, fx: &mut Effects<Self>) {
        self.relay(fx, |p, fx| p.on_timer(node, now, timer, fx));
    }
    fn on_pipe_reset(&mut self, node: NodeId, now: Micros, peer: NodeId, fx: &mut Effects<Self>) {
        self.relay(fx, |p, fx| p.on_pipe_reset(node, now, peer, fx));
    }
    fn apply_commit(&mut self, node: NodeId, now: Micros, commit: &u64) {
        self.inner.apply_commit(node, now, commit);
    }
    fn on_committed(&mut self, node: NodeId, now: Micros, commit: u64, fx: &mut Effects<Self>) {
        self.relay(fx, |p, fx| p.on_committed(node, now, commit, fx));
    }
    fn serve_io(&mut self, node: NodeId, io: (), fault: Option<super::IoFault>) {
        self.inner.serve_io(node, io, fault);
    }
    fn on_io(&mut self, node: NodeId, now: Micros, reply: (), fx: &mut Effects<Self>) {
        self.relay(fx, |p, fx| p.on_io(node, now, reply, fx));
    }
    fn prefetch(&self, node: NodeId) {
        self.hints.borrow_mut().push((self.steps, prefetch::FAR, node, None));
    }
    fn prefetch_deep(&self, node: NodeId, payload: Payload<'_, Self>) {
        let commit = match payload {
            Payload::Commit(commit) => Some(*commit),
            Payload::Reply(()) | Payload::Message(_) | Payload::Other => None,
        };
        self.hints.borrow_mut().push((self.steps, prefetch::NEAR, node, commit));
    }
}

/// `nodes` tablets, a ball each, 1-4 µs latencies: at `MIN_NODES`
/// hundreds of events an instant, so most events are hinted (and every
/// boot, all due at 0).
fn busy(nodes: usize) -> (PingPong, super::EngineConfig, Vec<NodeKind>) {
    let pingpong = PingPong::new(u32::try_from(nodes).expect("a test's node count fits a u32"));
    (pingpong, pingpong::config(Latency::Uniform { min: 1, max: 4 }), vec![NodeKind::Tablet; nodes])
}

/// Below `MIN_NODES` the caches hold every node's state: no hint at all.
#[test]
fn a_run_the_caches_hold_is_not_hinted() {
    let (system, config, kinds) = busy(prefetch::MIN_NODES - 1);
    let hinted = Hinted { inner: system, hints: RefCell::new(Vec::new()), steps: 0 };
    let mut engine = Engine::new(hinted, &kinds, config, 9);
    for _ in 0..20_000 {
        engine.step().expect("the balls never stop");
    }
    assert!(engine.system.hints.borrow().is_empty(), "a small run was hinted");
}

#[test]
fn hints_name_the_events_ahead_and_change_nothing() {
    let (system, config, kinds) = busy(prefetch::MIN_NODES);
    let hinted = Hinted { inner: system.clone(), hints: RefCell::new(Vec::new()), steps: 0 };
    let mut engine = Engine::new(hinted, &kinds, config.clone(), 9);
    let mut plain = Engine::new(system, &kinds, config, 9);
    // `steps[i]`: the i-th event run (1-based), its node and, for a
    // commit's completion, its payload digest.
    let mut steps = vec![(0, None)];
    for _ in 0..20_000 {
        // The hint given while popping event i reads `steps` = i - 1.
        let step = engine.step().expect("the balls never stop");
        engine.system.steps = step.index;
        plain.step().expect("the balls never stop");
        let commit = (step.kind == super::EventKind::CommitDone).then_some(step.payload);
        steps.push((step.node, commit));
    }
    assert_eq!(engine.trace_hash(), plain.trace_hash(), "hints changed the run");
    let hints = engine.system.hints.take();
    let (mut far, mut near, mut commits) = (0, 0, 0);
    for (popped, stage, node, commit) in hints {
        // Hinted while event `popped + 1` was being run: `stage` places
        // behind the next one, `popped + 2`.
        let at = popped as usize + 2 + stage;
        let Some(&(ahead, payload)) = steps.get(at) else { continue };
        assert_eq!(node, ahead, "a hint {stage} ahead named another node than event {at}'s");
        if stage == prefetch::FAR {
            far += 1;
        } else {
            near += 1;
            // The commit handed over is the one that event completes (the
            // trace's payload of a commit is its digest).
            let digest = commit.map(|c| super::trace::digest(&c));
            assert_eq!(digest, payload, "the commit hinted for event {at}");
            commits += usize::from(commit.is_some());
        }
    }
    assert!(far > 10_000 && near > 10_000, "most events hinted: {far} far, {near} near");
    assert!(commits > 1_000, "commits hinted with their payload: {commits}");
}
