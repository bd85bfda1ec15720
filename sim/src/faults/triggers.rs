//! Triggered restarts (docs/design.md §5): "restart DataShard 3 when the op
//! enters Applying of incremental 2" is one `RestartSpec`. Timed restarts
//! and kills at a commit number are scheduled up front; the rest wait here
//! and are checked after every event, on the event's notes and the
//! tablets' event and commit counts. Triggers fire only inside the fault
//! window: after it, no fault happens.
//!
//! A replay installs none of this: the restarts it caused are on the tape.

use std::collections::BTreeMap;

use restoresim_model::note::Note;
use restoresim_model::progress::OpState;

use super::plan::tablet_node;
use crate::engine::{Engine, Micros, NodeId, Step};
use crate::restore::RestoreSystem;
use crate::scenario::{OpStateName, RestartKind, Scenario, Trigger};

struct Pending {
    node: NodeId,
    kind: RestartKind,
    down: Micros,
}

/// The restarts still waiting for their trigger, indexed by what can fire
/// them, so an event costs O(log n) in the number of triggers (plus the
/// ones it fires), not a scan of them all: counts change only for the
/// event's own node, notes name their operation state or shard.
#[derive(Default)]
pub struct Triggers {
    /// By position in `faults.restarts`: when several fire at one event
    /// they fire in this order.
    pending: Vec<Pending>,
    waiting: usize,
    /// `At(t)` kills, latest first (popped from the end).
    by_time: Vec<(Micros, usize)>,
    /// `AtEvent(k)` / `AtCommit(k)` per node, largest `k` first.
    by_event: BTreeMap<NodeId, Vec<(u64, usize)>>,
    by_commit: BTreeMap<NodeId, Vec<(u64, usize)>>,
    /// `OpEnters` by (state, incremental).
    by_op_state: BTreeMap<(u8, u32), Vec<usize>>,
    /// `AfterBatches` per shard, largest `batches` first.
    by_batches: BTreeMap<u32, Vec<(u32, usize)>>,
    /// The first event inside the fault window was seen (counts reached
    /// before it fire then, all at once).
    entered: bool,
}

impl Triggers {
    /// Schedules timed restarts and kills at a commit number on `engine`,
    /// and keeps the triggers that depend on what happens.
    pub fn install(scenario: &Scenario, engine: &mut Engine<RestoreSystem>) -> Triggers {
        let window = engine.config().window;
        let mut t = Triggers::default();
        for r in &scenario.faults.restarts {
            let (node, down) = (tablet_node(r.tablet), r.down.us());
            let index = t.pending.len();
            match (r.when, r.kind) {
                (Trigger::At(at), RestartKind::Restart) => {
                    if window.contains(at.us()) {
                        engine.restart_at(node, at.us(), down);
                    }
                    continue;
                }
                // The engine honours the window for kills it was asked for.
                (Trigger::AtCommit(k), RestartKind::KillOnCommit) => {
                    engine.kill_on_commit(node, k, down);
                    continue;
                }
                (Trigger::At(at), _) => t.by_time.push((at.us(), index)),
                (Trigger::AtEvent(k), _) => t.by_event.entry(node).or_default().push((k, index)),
                (Trigger::AtCommit(k), _) => t.by_commit.entry(node).or_default().push((k, index)),
                (Trigger::OpEnters { state, incr }, _) => {
                    t.by_op_state.entry((state as u8, incr)).or_default().push(index)
                }
                (Trigger::AfterBatches { shard, batches }, _) => {
                    t.by_batches.entry(shard).or_default().push((batches, index))
                }
            }
            t.pending.push(Pending { node, kind: r.kind, down });
        }
        t.waiting = t.pending.len();
        // Largest first, so the next to fire is at the end; ties by position.
        t.by_time.sort_unstable_by(|a, b| b.cmp(a));
        for list in t.by_event.values_mut().chain(t.by_commit.values_mut()) {
            list.sort_unstable_by(|a, b| b.cmp(a));
        }
        for list in t.by_batches.values_mut() {
            list.sort_unstable_by(|a, b| b.cmp(a));
        }
        t
    }

    /// After each event: fire the triggers `step` and its `notes` satisfy.
    pub fn after_step(&mut self, engine: &mut Engine<RestoreSystem>, step: &Step, notes: &[Note]) {
        if self.waiting == 0 {
            return;
        }
        let window = engine.config().window;
        if step.time >= window.until {
            *self = Triggers::default();
            return;
        }
        if !window.contains(step.time) {
            return;
        }
        let mut fire = Vec::new();
        pop_reached(&mut self.by_time, step.time, &mut fire);
        if self.entered {
            if let Some(list) = self.by_event.get_mut(&step.node) {
                pop_reached(list, engine.node_events(step.node), &mut fire);
            }
            if let Some(list) = self.by_commit.get_mut(&step.node) {
                pop_reached(list, engine.node_commits(step.node), &mut fire);
            }
        } else {
            self.entered = true;
            for (node, list) in &mut self.by_event {
                pop_reached(list, engine.node_events(*node), &mut fire);
            }
            for (node, list) in &mut self.by_commit {
                pop_reached(list, engine.node_commits(*node), &mut fire);
            }
        }
        for note in notes {
            match note {
                Note::OpState { state, incr, .. } => {
                    if let Some(list) = self.by_op_state.remove(&(state_name(*state) as u8, incr.0)) {
                        fire.extend(list);
                    }
                }
                Note::BatchApplied { shard, batches, .. } => {
                    if let Some(list) = self.by_batches.get_mut(&shard.0) {
                        pop_reached(list, *batches, &mut fire);
                    }
                }
                _ => {}
            }
        }
        fire.sort_unstable();
        for index in fire {
            let p = &self.pending[index];
            self.waiting -= 1;
            match p.kind {
                RestartKind::Restart => engine.restart(p.node, p.down),
                RestartKind::KillOnCommit => engine.kill_next_commit(p.node, p.down),
            }
        }
    }
}

/// Moves the entries of `list` (sorted largest first) whose threshold is
/// reached by `value` into `fire`.
fn pop_reached<T: Copy + Ord>(list: &mut Vec<(T, usize)>, value: T, fire: &mut Vec<usize>) {
    while let Some(&(threshold, index)) = list.last() {
        if threshold > value {
            break;
        }
        list.pop();
        fire.push(index);
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
