//! One run: a scenario and a seed, from time 0 until every restore has ended
//! (pass), an invariant breaks (safety), or a bound passes (liveness). The
//! safety phase is the fault window; after it, the liveness bound applies.

pub mod config;
mod diagnose;
pub mod record;

use std::io::Write;
use std::sync::Arc;

use restoresim_model::client::RestoreOutcome;
use restoresim_model::invariants::Invariant;
use restoresim_model::knobs::Bug;
use restoresim_model::note::Note;
use restoresim_model::progress::{FinalStatus, OpState};
use restoresim_reports::RunPlot;
use serde::Serialize;

use crate::engine::{Engine, EngineStats, EventKind, Micros, Step};
use crate::restore::{self, RestoreSystem, SCHEMESHARD, TX_ALLOCATOR, actor_of};
use crate::scenario::{Expect, OpStateName, Scenario, TabletRef, Trigger};
pub use diagnose::diagnose;
use record::Recorder;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    SafetyViolation,
    LivenessViolation,
}

impl Outcome {
    /// Exit code of `restoresim run` (DESIGN.md §8).
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Pass => 0,
            Outcome::SafetyViolation => 1,
            Outcome::LivenessViolation => 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ViolationReport {
    pub invariant: String,
    pub at_us: Micros,
    pub event_index: u64,
    /// The event during which it broke.
    pub event: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RestoreSummary {
    pub table: String,
    pub operation: Option<u64>,
    /// "Done", "Failed", "Rejected", or the last state seen.
    pub state: String,
    pub detail: String,
}

#[derive(Debug)]
pub struct RunReport {
    pub scenario: String,
    pub seed: u64,
    pub outcome: Outcome,
    pub violation: Option<ViolationReport>,
    pub trace_hash: u64,
    pub events: u64,
    pub virtual_time_us: Micros,
    pub stats: EngineStats,
    pub restores: Vec<RestoreSummary>,
    pub log: Vec<String>,
    pub plot: RunPlot,
    /// Every processed event, only when `RunOptions::record_steps` asked for
    /// it (a determinism check compares two runs' steps to name the first
    /// divergent event); empty otherwise, so passing sweeps keep no trace.
    pub steps: Vec<Step>,
}

#[derive(Default)]
pub struct RunOptions<'a> {
    /// Planted bugs on top of the scenario's.
    pub bugs: Vec<Bug>,
    /// Where to stream one JSON line per processed event.
    pub trace: Option<&'a mut dyn Write>,
    /// Keep every processed event in `RunReport::steps`.
    pub record_steps: bool,
}

/// A restart waiting for its trigger.
struct PendingRestart {
    node: u32,
    when: Trigger,
    down: Micros,
}

pub fn run(scenario: &Scenario, seed: u64, mut options: RunOptions) -> RunReport {
    let workload = Arc::new(crate::workload::generate(scenario, seed));
    let knobs = config::knobs(scenario, &options.bugs);
    let client = config::client(scenario, &workload);
    let system = RestoreSystem::new(Arc::clone(&workload), knobs, client);
    let kinds = system.node_kinds();
    let engine_config = config::engine(scenario);
    let window = (engine_config.window.from, engine_config.window.until);
    let mut engine = Engine::new(system, &kinds, engine_config, seed);
    engine.set_tracing(options.trace.is_some());
    let mut pending = Vec::new();
    for r in &scenario.faults.restarts {
        let node = match r.tablet {
            TabletRef::SchemeShard => SCHEMESHARD,
            TabletRef::TxAllocator => TX_ALLOCATOR,
            TabletRef::DataShard(n) => {
                restore::node_of(restoresim_model::msg::Actor::DataShard(restoresim_model::ids::ShardIdx(n)))
            }
        };
        match r.when {
            Trigger::At(t) => engine.restart_at(node, t.us(), r.down.us()),
            when => pending.push(PendingRestart { node, when, down: r.down.us() }),
        }
    }
    let liveness_deadline = window.1.saturating_add(scenario.budgets.liveness_bound.us());
    let mut recorder = Recorder::default();
    let mut verdict: Option<(Outcome, ViolationReport)> = None;
    let mut steps = Vec::new();
    let mut last = Step { index: 0, time: 0, kind: EventKind::Boot, node: 0, peer: 0, payload: 0 };
    while verdict.is_none() {
        if engine.system.client.as_ref().is_some_and(|c| c.finished()) {
            verdict = final_data(&engine.system, &last).or_else(|| expectation(scenario, &engine.system, &last));
            break;
        }
        let Some(step) = engine.step() else {
            let why = format!(
                "Nothing is left to happen, yet not every restore ended. {}",
                diagnose(&engine.system, engine.now())
            );
            verdict = Some((Outcome::LivenessViolation, report(Invariant::Liveness, &last, why)));
            break;
        };
        last = step;
        if options.record_steps {
            steps.push(step);
        }
        if let Some(out) = options.trace.as_deref_mut() {
            let _ = writeln!(out, "{}", trace_line(&step, engine.detail()));
        }
        if let Some(v) = engine.system.violation.take() {
            verdict = Some((Outcome::SafetyViolation, report(v.invariant, &step, v.message)));
            break;
        }
        if matches!(step.kind, EventKind::Crash | EventKind::KillOnCommit) {
            recorder.crash(step.time, step.node, step.kind == EventKind::KillOnCommit);
        }
        for (at, fault) in engine.take_faults() {
            recorder.injected(at, fault);
        }
        let notes = std::mem::take(&mut engine.system.notes);
        for note in &notes {
            recorder.note(step.time, note);
            pending.retain(|p| {
                let fire = fires(p.when, note);
                if fire {
                    engine.restart(p.node, p.down);
                }
                !fire
            });
        }
        verdict = budgets(scenario, &engine, &step, liveness_deadline);
    }
    let (outcome, violation) = match verdict {
        Some((o, v)) => (o, Some(v)),
        None => (Outcome::Pass, None),
    };
    if let Some(v) = &violation {
        recorder.log.push(format!("{} VIOLATION {}: {}", record::fmt_time(v.at_us), v.invariant, v.message));
    }
    let end = engine.now();
    let title = format!(
        "{}  seed {seed}  {}",
        scenario.name,
        match outcome {
            Outcome::Pass => "pass",
            Outcome::SafetyViolation => "SAFETY VIOLATION",
            Outcome::LivenessViolation => "LIVENESS VIOLATION",
        }
    );
    let plot = recorder.plot(title, end, &engine.system, window);
    RunReport {
        scenario: scenario.name.clone(),
        seed,
        outcome,
        violation,
        trace_hash: engine.trace_hash(),
        events: engine.steps(),
        virtual_time_us: end,
        stats: engine.stats(),
        restores: summaries(&engine.system),
        log: recorder.log,
        plot,
        steps,
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

fn report(invariant: Invariant, step: &Step, message: String) -> ViolationReport {
    ViolationReport {
        invariant: invariant.id().to_string(),
        at_us: step.time,
        event_index: step.index,
        event: describe(step),
        message,
    }
}

fn describe(step: &Step) -> String {
    let node = actor_of(step.node);
    match step.kind {
        EventKind::Deliver => format!("#{} deliver {} → {}", step.index, actor_of(step.peer), node),
        EventKind::PipeReset => format!("#{} pipe reset {} ↔ {}", step.index, node, actor_of(step.peer)),
        kind => format!("#{} {} at {}", step.index, kind.name(), node),
    }
}

fn trace_line(step: &Step, detail: &str) -> String {
    serde_json::json!({
        "i": step.index,
        "t_us": step.time,
        "kind": step.kind.name(),
        "node": actor_of(step.node).to_string(),
        "peer": actor_of(step.peer).to_string(),
        "digest": format!("{:016x}", step.payload),
        "payload": detail,
    })
    .to_string()
}

fn budgets(
    s: &Scenario,
    engine: &Engine<RestoreSystem>,
    step: &Step,
    deadline: Micros,
) -> Option<(Outcome, ViolationReport)> {
    let why = if engine.steps() >= s.budgets.max_events {
        format!("The event budget ({}) ran out.", s.budgets.max_events)
    } else if step.time > s.budgets.max_virtual_time.us() {
        format!("The virtual-time budget ({}) ran out.", record::fmt_time(s.budgets.max_virtual_time.us()))
    } else if step.time > deadline {
        format!(
            "The fault window closed at {} and the liveness bound of {} passed.",
            record::fmt_time(s.faults.window.until.us()),
            record::fmt_time(s.budgets.liveness_bound.us())
        )
    } else {
        return None;
    };
    let message = format!("{why} {}", diagnose(&engine.system, step.time));
    Some((Outcome::LivenessViolation, report(Invariant::Liveness, step, message)))
}

/// The deep check at quiescence: every table whose restore ended Done equals
/// `fold(full, inc_1..inc_K)`, row for row, column for column, compared whole
/// (the per-commit checks compare shard by shard).
fn final_data(system: &RestoreSystem, last: &Step) -> Option<(Outcome, ViolationReport)> {
    let client = system.client.as_ref()?;
    for (outcome, spec) in client.outcomes.iter().zip(&system.workload.restores) {
        let RestoreOutcome::Accepted { terminal: Some(OpState::Done), .. } = outcome else { continue };
        let table = system.workload.topology.table_by_name(&spec.table)?;
        let k = restoresim_model::ids::IncrIdx(spec.backups.len() as u32);
        let expected = system.checker.oracle(table.id).after(k);
        let actual = table.shards.iter().flat_map(|s| {
            let range = system.workload.topology.shard(*s);
            system.datashards[s.0 as usize].db.rows.range(range.start..range.end)
        });
        if !actual.map(|(k, r)| (*k, *r)).eq(expected.iter().map(|(k, r)| (*k, *r))) {
            let message = format!(
                "The restore of table '{}' ended Done, but the table differs from the oracle (full backup + \
                 incrementals 1..={}).",
                spec.table,
                spec.backups.len()
            );
            return Some((Outcome::SafetyViolation, report(Invariant::FinalData, last, message)));
        }
    }
    None
}

/// What a passing run must also show (the scenario's `expect`).
fn expectation(s: &Scenario, system: &RestoreSystem, last: &Step) -> Option<(Outcome, ViolationReport)> {
    if s.expect != Expect::AllDone {
        return None;
    }
    let not_done: Vec<String> = summaries(system)
        .into_iter()
        .filter(|r| r.state != "Done")
        .map(|r| format!("{} {}: {}", r.table, r.state, r.detail))
        .collect();
    if not_done.is_empty() {
        return None;
    }
    let message = format!("The scenario expects every restore to end Done, but: {}.", not_done.join("; "));
    Some((Outcome::LivenessViolation, report(Invariant::Liveness, last, message)))
}

fn summaries(system: &RestoreSystem) -> Vec<RestoreSummary> {
    let Some(client) = &system.client else { return vec![] };
    client
        .outcomes
        .iter()
        .zip(&system.workload.restores)
        .map(|(outcome, spec)| {
            let (operation, state, detail) = match outcome {
                RestoreOutcome::Pending => (None, "NoAnswer".to_string(), String::new()),
                RestoreOutcome::Rejected { status, issues } => {
                    (None, "Rejected".into(), format!("{status:?}: {issues}"))
                }
                RestoreOutcome::Accepted { op, terminal } => {
                    let last = client.observations.iter().rev().find(|o| o.report.op == *op);
                    let state =
                        terminal.map(|t| format!("{t:?}")).or_else(|| last.map(|o| format!("{:?}", o.report.state)));
                    let detail = match last {
                        Some(o) if o.report.final_status == Some(FinalStatus::Success) => {
                            format!("{} incrementals, {} shards", o.report.incrementals, o.report.shards_total)
                        }
                        Some(o) if o.report.final_status.is_some() => {
                            format!("{:?}: {}", o.report.final_status.unwrap_or(FinalStatus::Success), o.report.issues)
                        }
                        Some(o) => format!(
                            "incremental {}/{}, {:.1}%",
                            o.report.incr.0,
                            o.report.incrementals,
                            f64::from(o.report.percent_bp) / 100.0
                        ),
                        None => "accepted, never polled".into(),
                    };
                    (Some(op.0), state.unwrap_or_else(|| "Accepted".into()), detail)
                }
            };
            RestoreSummary { table: spec.table.clone(), operation, state, detail }
        })
        .collect()
}
