//! Triggered restarts (DESIGN.md §5): "restart DataShard 3 when the op
//! enters Applying of incremental 2" is one `RestartSpec`. Timed restarts
//! and kills at a commit number are scheduled up front; the rest wait here
//! and are checked after every event, on the event's notes and the
//! tablets' event and commit counts. Triggers fire only inside the fault
//! window: after it, no fault happens.
//!
//! A replay installs none of this: the restarts it caused are on the tape.

use restoresim_model::note::Note;
use restoresim_model::progress::OpState;

use super::plan::tablet_node;
use crate::engine::{Engine, Micros, NodeId, Step};
use crate::restore::RestoreSystem;
use crate::scenario::{OpStateName, RestartKind, Scenario, Trigger};

struct Pending {
    node: NodeId,
    when: Trigger,
    kind: RestartKind,
    down: Micros,
}

/// The restarts still waiting for their trigger.
#[derive(Default)]
pub struct Triggers {
    pending: Vec<Pending>,
}

impl Triggers {
    /// Schedules timed restarts and kills at a commit number on `engine`,
    /// and keeps the triggers that depend on what happens.
    pub fn install(scenario: &Scenario, engine: &mut Engine<RestoreSystem>) -> Triggers {
        let window = engine.config().window;
        let mut pending = Vec::new();
        for r in &scenario.faults.restarts {
            let (node, down) = (tablet_node(r.tablet), r.down.us());
            match (r.when, r.kind) {
                (Trigger::At(t), RestartKind::Restart) => {
                    if window.contains(t.us()) {
                        engine.restart_at(node, t.us(), down);
                    }
                }
                // The engine honours the window for kills it was asked for.
                (Trigger::AtCommit(k), RestartKind::KillOnCommit) => engine.kill_on_commit(node, k, down),
                (when, kind) => pending.push(Pending { node, when, kind, down }),
            }
        }
        Triggers { pending }
    }

    /// After each event: fire the triggers `step` and its `notes` satisfy.
    pub fn after_step(&mut self, engine: &mut Engine<RestoreSystem>, step: &Step, notes: &[Note]) {
        if self.pending.is_empty() {
            return;
        }
        let window = engine.config().window;
        if step.time >= window.until {
            self.pending.clear();
            return;
        }
        if !window.contains(step.time) {
            return;
        }
        self.pending.retain(|p| {
            let fire = match p.when {
                Trigger::At(t) => step.time >= t.us(),
                Trigger::AtEvent(k) => engine.node_events(p.node) >= k,
                Trigger::AtCommit(k) => engine.node_commits(p.node) >= k,
                when => notes.iter().any(|n| fires(when, n)),
            };
            if fire {
                match p.kind {
                    RestartKind::Restart => engine.restart(p.node, p.down),
                    RestartKind::KillOnCommit => engine.kill_next_commit(p.node, p.down),
                }
            }
            !fire
        });
    }
}

fn fires(when: Trigger, note: &Note) -> bool {
    match (when, note) {
        (Trigger::OpEnters { state, incr }, Note::OpState { state: s, incr: i, .. }) => {
            i.0 == incr && state_name(*s) == state
        }
        (Trigger::AfterBatches { shard, batches }, Note::BatchApplied { shard: s, batches: b, .. }) => {
            s.0 == shard && *b >= batches
        }
        _ => false,
    }
}

fn state_name(s: OpState) -> OpStateName {
    match s {
        OpState::Allocating => OpStateName::Allocating,
        OpState::Proposing => OpStateName::Proposing,
        OpState::Waiting => OpStateName::Waiting,
        OpState::Applying => OpStateName::Applying,
        OpState::Done => OpStateName::Done,
        OpState::Failed => OpStateName::Failed,
    }
}
