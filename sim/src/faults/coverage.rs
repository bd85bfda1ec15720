//! Coverage (docs/design.md §6): which transitions `(actor, state, event) →
//! state` a run went through, and which named "sometimes" goals it reached
//! — the interesting moments a fault plan is meant to produce (a restart
//! mid-Applying, a stale reply dropped, a resume from LastKey > 0, ...).
//! A run reports its counts and what it never reached; a scenario may
//! `require` goals; a sweep adds runs up with [`CoverageTotals`] and fails
//! when a required goal was reached by no seed.
//!
//! Coverage reads notes and events, never durable state: it says what
//! happened, not whether it was right (that is the invariants' job).

use std::collections::BTreeMap;

use restoresim_model::ids::OperationId;
use restoresim_model::msg::Actor;
use restoresim_model::note::Note;
use restoresim_model::progress::OpState;
use serde::Serialize;

use crate::engine::{EventKind, Step};
use crate::restore::{SCHEMESHARD, actor_of};

/// The named goals, with what reaching one means.
pub const GOALS: &[(&str, &str)] = &[
    ("restart_mid_applying", "a tablet went down while an operation was Applying"),
    ("datashard_restart_mid_applying", "a DataShard went down while an operation was Applying"),
    ("schemeshard_restart_mid_op", "SchemeShard went down while an operation was running"),
    ("txallocator_restart_mid_allocating", "the TxAllocator went down while an operation was Allocating"),
    ("kill_on_commit", "a tablet was killed on a commit: durable, but its answer never left"),
    ("stale_reply_dropped", "SchemeShard dropped a DataShard reply of an older generation or round"),
    ("stale_request_dropped", "a DataShard dropped a request older than one it had accepted"),
    ("resume_from_last_key", "a DataShard resumed an incremental after a durable LastKey > 0"),
    ("backoff_retry_fired", "a retry after backoff fired"),
    ("request_resent", "SchemeShard re-sent a request to a DataShard under a new round"),
    ("done_again", "a DataShard answered Done again for an incremental it had finished"),
    ("duplicate_request_answered", "a duplicate MultiIncrementalRestore got the existing OperationId"),
    ("allocator_empty_answered", "the TxAllocator answered an AllocateTxId empty"),
    ("read_retried", "a DataShard retried a transiently failed backup read"),
    ("pipe_reset_to_schemeshard", "SchemeShard heard that its pipe to a DataShard broke"),
    ("partition_mid_op", "a network partition started while an operation was running"),
    ("restore_done", "a restore ended Done"),
    ("restore_failed", "a restore ended Failed, with its error"),
];

/// Transitions the protocol and the tablets' lifecycle can take; a run
/// lists the ones it did not take under `never_reached`. Written as
/// `"Actor: From --event--> To"`; `-` is "no operation yet".
pub const TRANSITIONS: &[&str] = &[
    "SchemeShard: - --MultiIncrementalRestore--> Allocating",
    "SchemeShard: Allocating --TxIdAllocated--> Proposing",
    "SchemeShard: Proposing --TxIdAllocated--> Waiting",
    "SchemeShard: Waiting --TEvIncrementalRestoreResponse--> Applying",
    "SchemeShard: Applying --TEvIncrementalRestoreResponse--> Allocating",
    "SchemeShard: Applying --TEvIncrementalRestoreResponse--> Done",
    "SchemeShard: Waiting --TEvIncrementalRestoreResponse--> Failed",
    "SchemeShard: Applying --TEvIncrementalRestoreResponse--> Failed",
    "SchemeShard: Up --crash--> Down",
    "SchemeShard: Up --kill_on_commit--> Down",
    "SchemeShard: Down --boot--> Up",
    "TxAllocator: Up --crash--> Down",
    "TxAllocator: Up --kill_on_commit--> Down",
    "TxAllocator: Down --boot--> Up",
    "DataShard: Up --crash--> Down",
    "DataShard: Up --kill_on_commit--> Down",
    "DataShard: Down --boot--> Up",
];

pub fn is_goal(name: &str) -> bool {
    GOALS.iter().any(|(g, _)| *g == name)
}

/// What one run covered (`summary.json`'s `coverage`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Every goal, with how often it was reached.
    pub counts: BTreeMap<String, u64>,
    /// Every transition taken (catalogued or not), with how often.
    pub transitions: BTreeMap<String, u64>,
    /// Goals and catalogued transitions this run never reached.
    pub never_reached: Vec<String>,
    /// Goals the scenario requires that this run did not reach.
    pub required_missing: Vec<String>,
}

/// Watches a run's events and notes.
#[derive(Debug, Default)]
pub struct CoverageTracker {
    goals: BTreeMap<&'static str, u64>,
    transitions: BTreeMap<String, u64>,
    ops: BTreeMap<OperationId, OpState>,
}

fn kind_name(actor: Actor) -> &'static str {
    match actor {
        Actor::Client => "Client",
        Actor::SchemeShard => "SchemeShard",
        Actor::TxAllocator => "TxAllocator",
        Actor::DataShard(_) => "DataShard",
    }
}

impl CoverageTracker {
    fn hit(&mut self, goal: &'static str) {
        debug_assert!(is_goal(goal), "{goal} is in GOALS");
        *self.goals.entry(goal).or_insert(0) += 1;
    }

    fn took(&mut self, actor: &str, from: &str, event: &str, to: &str) {
        *self.transitions.entry(format!("{actor}: {from} --{event}--> {to}")).or_insert(0) += 1;
    }

    fn any_op(&self, state: OpState) -> bool {
        self.ops.values().any(|s| *s == state)
    }

    /// SchemeShard booted: it resumes each operation from its persisted
    /// state, which may be behind the last one noted (a lost commit).
    pub fn resync(&mut self, ops: impl IntoIterator<Item = (OperationId, OpState)>) {
        self.ops = ops.into_iter().collect();
    }

    /// An event was processed (before its notes are seen).
    pub fn step(&mut self, step: &Step) {
        let actor = actor_of(step.node);
        match step.kind {
            EventKind::Crash | EventKind::KillOnCommit => {
                let event = if step.kind == EventKind::Crash { "crash" } else { "kill_on_commit" };
                self.took(kind_name(actor), "Up", event, "Down");
                if step.kind == EventKind::KillOnCommit {
                    self.hit("kill_on_commit");
                }
                let running = self.ops.values().any(|s| !s.is_terminal());
                if self.any_op(OpState::Applying) {
                    self.hit("restart_mid_applying");
                }
                match actor {
                    Actor::DataShard(_) if self.any_op(OpState::Applying) => self.hit("datashard_restart_mid_applying"),
                    Actor::SchemeShard if running => self.hit("schemeshard_restart_mid_op"),
                    Actor::TxAllocator if self.any_op(OpState::Allocating) => {
                        self.hit("txallocator_restart_mid_allocating")
                    }
                    _ => {}
                }
            }
            EventKind::Boot if step.payload > 1 => self.took(kind_name(actor), "Down", "boot", "Up"),
            EventKind::Refused => self.hit("allocator_empty_answered"),
            EventKind::Timer if step.label == "ReadRetry" => self.hit("read_retried"),
            EventKind::PipeReset if step.node == SCHEMESHARD && matches!(actor_of(step.peer), Actor::DataShard(_)) => {
                self.hit("pipe_reset_to_schemeshard")
            }
            EventKind::PartitionStart if self.ops.values().any(|s| !s.is_terminal()) => self.hit("partition_mid_op"),
            _ => {}
        }
    }

    /// A note of the event `step`.
    pub fn note(&mut self, step: &Step, note: &Note) {
        match note {
            Note::OpState { op, state, .. } => {
                let from = self.ops.insert(*op, *state).map_or("-", OpState::name);
                let event = if step.kind == EventKind::Boot { "boot" } else { step.label };
                self.took("SchemeShard", from, event, state.name());
                match state {
                    OpState::Done => self.hit("restore_done"),
                    OpState::Failed => self.hit("restore_failed"),
                    _ => {}
                }
            }
            Note::StaleDropped { at: Actor::SchemeShard, .. } => self.hit("stale_reply_dropped"),
            Note::StaleDropped { .. } => self.hit("stale_request_dropped"),
            Note::ResumedFromLastKey { key, .. } if *key > 0 => self.hit("resume_from_last_key"),
            Note::BackoffRetry { .. } => self.hit("backoff_retry_fired"),
            Note::Resent { .. } => self.hit("request_resent"),
            Note::DoneAgain { .. } => self.hit("done_again"),
            Note::DuplicateRequestAnswered { .. } => self.hit("duplicate_request_answered"),
            _ => {}
        }
    }

    /// The run's coverage, against the goals the scenario `required`.
    pub fn finish(self, required: &[String]) -> Coverage {
        let counts: BTreeMap<String, u64> =
            GOALS.iter().map(|(g, _)| (g.to_string(), self.goals.get(g).copied().unwrap_or(0))).collect();
        let mut never_reached: Vec<String> = counts.iter().filter(|(_, n)| **n == 0).map(|(g, _)| g.clone()).collect();
        never_reached.extend(TRANSITIONS.iter().filter(|t| !self.transitions.contains_key(**t)).map(|t| t.to_string()));
        let required_missing = required.iter().filter(|g| counts.get(*g).is_none_or(|n| *n == 0)).cloned().collect();
        Coverage { counts, transitions: self.transitions, never_reached, required_missing }
    }
}

/// Coverage added up over the runs of a sweep.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CoverageTotals {
    pub runs: u64,
    pub counts: BTreeMap<String, u64>,
    pub transitions: BTreeMap<String, u64>,
}

impl CoverageTotals {
    pub fn add(&mut self, run: &Coverage) {
        self.runs += 1;
        for (k, v) in &run.counts {
            *self.counts.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &run.transitions {
            *self.transitions.entry(k.clone()).or_insert(0) += v;
        }
    }

    /// Goals and catalogued transitions no run reached.
    pub fn never_reached(&self) -> Vec<String> {
        let goals = GOALS.iter().map(|(g, _)| *g).filter(|g| self.counts.get(*g).is_none_or(|n| *n == 0));
        let transitions = TRANSITIONS.iter().copied().filter(|t| !self.transitions.contains_key(*t));
        goals.chain(transitions).map(str::to_string).collect()
    }

    /// Required goals no run reached: a sweep with any fails.
    pub fn missing_required(&self, required: &[String]) -> Vec<String> {
        required.iter().filter(|g| self.counts.get(*g).is_none_or(|n| *n == 0)).cloned().collect()
    }
}
