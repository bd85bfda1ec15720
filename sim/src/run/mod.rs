//! One run: a scenario and a seed, from time 0 until every restore has ended
//! (pass), an invariant breaks (safety), or a bound passes (liveness). The
//! safety phase is the fault window; after it, the liveness bound applies.

pub mod config;
mod diagnose;
pub mod metrics;
pub mod progress_shape;
pub mod record;
mod trace_line;

use std::io::Write;
use std::sync::Arc;

use restoresim_model::client::RestoreOutcome;
use restoresim_model::invariants::Invariant;
use restoresim_model::knobs::Bug;
use restoresim_model::progress::{FinalStatus, OpState};
use restoresim_reports::RunPlot;
use serde::Serialize;

use crate::engine::{Engine, EngineStats, EventKind, InjectedFault, Micros, Step};
use crate::faults::coverage::CoverageTracker;
use crate::faults::{self, Coverage, FaultCounts, SwarmProfile, Triggers};
use crate::restore::{RestoreSystem, SCHEMESHARD, actor_of};
use crate::scenario::{Expect, Scenario};
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
    /// Exit code of `restoresim run` (docs/design.md §8).
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
    /// Done, Failed, Rejected, or the last state seen.
    pub state: RestoreState,
    pub detail: String,
    /// The final status the Client last saw (`None` until one was reported):
    /// metrics tell a deadline from other failures by this enum, never by
    /// reading `detail`.
    #[serde(skip)]
    pub final_status: Option<FinalStatus>,
}

/// Where a restore ended, as the Client saw it: the model's states, so a
/// check compares enums (a renamed state cannot switch a check off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreState {
    /// The Client never got an answer to its request.
    NoAnswer,
    Rejected,
    /// Accepted, never polled.
    Accepted,
    Op(OpState),
}

impl RestoreState {
    pub const DONE: RestoreState = RestoreState::Op(OpState::Done);
    pub const FAILED: RestoreState = RestoreState::Op(OpState::Failed);
}

/// As its name (`"Done"`, `"Rejected"`, ...), as summaries always wrote it.
impl Serialize for RestoreState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for RestoreState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreState::Op(state) => write!(f, "{state:?}"),
            other => write!(f, "{other:?}"),
        }
    }
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
    /// Every injected fault with its logical anchor, in decision order.
    pub fault_tape: Vec<(Micros, InjectedFault)>,
    /// The seed's drawn fault mix, in swarm mode.
    pub swarm_profile: Option<SwarmProfile>,
    /// The seed's drawn configuration, under a configuration swarm.
    pub drawn_config: Option<crate::swarm::DrawnConfig>,
    pub coverage: Coverage,
    /// Per node: events handled (boots included) and commits completed.
    pub node_events: Vec<u64>,
    pub node_commits: Vec<u64>,
    /// The faults came from a tape, not from the seed.
    pub replayed: bool,
    /// Every processed event, only when `RunOptions::record_steps` asked for
    /// it (a determinism check compares two runs' steps to name the first
    /// divergent event); empty otherwise, so passing sweeps keep no trace.
    pub steps: Vec<Step>,
    /// Counters for capacity studies (virtual, seed-determined).
    pub metrics: metrics::RunMetrics,
}

impl RunReport {
    pub fn faults(&self) -> FaultCounts {
        FaultCounts::from_stats(&self.stats)
    }
}

#[derive(Default)]
pub struct RunOptions<'a> {
    /// Planted bugs on top of the scenario's.
    pub bugs: Vec<Bug>,
    /// Where to stream one JSON line per processed event.
    pub trace: Option<&'a mut dyn Write>,
    /// Keep every processed event in `RunReport::steps`.
    pub record_steps: bool,
    /// Hears of every event the run goes on after; may stop the run there
    /// (`explore` stops a run that reached an explored state). A run it
    /// stopped reports `Pass`: the observer knows why it stopped.
    pub observer: Option<&'a mut dyn StepObserver>,
}

/// See `RunOptions::observer`.
pub trait StepObserver {
    /// After `step`, when no invariant broke and no budget ran out: `false`
    /// stops the run here.
    fn after_step(&mut self, engine: &mut Engine<RestoreSystem>, step: &Step) -> bool;
}

/// One run. A scenario with a fault tape (`faults: (tape: [...])`) runs
/// from it, as `replay` does.
pub fn run(scenario: &Scenario, seed: u64, options: RunOptions) -> RunReport {
    match &scenario.faults.tape {
        Some(tape) => run_with(scenario, seed, options, Some(&crate::scenario::tape::to_faults(tape))),
        None => run_with(scenario, seed, options, None),
    }
}

/// Replays a run of `scenario` and `seed` from its fault tape: no random
/// fault and no trigger; every fault comes from `tape`. With the tape of a
/// run, the replay is that run, event for event (same trace hash).
pub fn replay(scenario: &Scenario, seed: u64, options: RunOptions, tape: &[InjectedFault]) -> RunReport {
    run_with(scenario, seed, options, Some(tape))
}

/// A run of the scenario `scenario` resolves to for `seed`: with a
/// configuration swarm, its drawn configuration (`crate::swarm`).
fn run_with(scenario: &Scenario, seed: u64, options: RunOptions, tape: Option<&[InjectedFault]>) -> RunReport {
    let (resolved, drawn_config) = crate::swarm::resolve(scenario, seed);
    if drawn_config.is_some()
        && let Err(e) = crate::scenario::validate::validate(&resolved)
    {
        panic!("seed {seed} drew a configuration that is not a valid scenario: {e:?}");
    }
    let mut report = run_resolved(&resolved, seed, options, tape);
    report.drawn_config = drawn_config;
    report
}

fn run_resolved(scenario: &Scenario, seed: u64, mut options: RunOptions, tape: Option<&[InjectedFault]>) -> RunReport {
    let workload = Arc::new(crate::workload::generate(scenario, seed));
    let knobs = config::knobs(scenario, &options.bugs);
    let client = config::client(scenario, &workload);
    let system = RestoreSystem::new(Arc::clone(&workload), knobs, client).with_seed(seed);
    let kinds = system.node_kinds();
    let swarm_profile = scenario.faults.swarm.as_ref().map(|spec| SwarmProfile::draw(spec, seed));
    let engine_config = faults::engine_config(scenario, swarm_profile.as_ref());
    let window = (engine_config.window.from, engine_config.window.until);
    let mut engine = match tape {
        Some(tape) => Engine::replay(system, &kinds, engine_config, seed, tape),
        None => Engine::new(system, &kinds, engine_config, seed),
    };
    engine.set_tracing(options.trace.is_some());
    engine.set_probing(options.observer.is_some());
    let mut triggers = if tape.is_some() { Triggers::default() } else { Triggers::install(scenario, &mut engine) };
    let liveness_deadline = window.1.saturating_add(scenario.budgets.liveness_bound.us());
    let mut recorder = Recorder::default();
    let mut coverage = CoverageTracker::default();
    let mut counters = metrics::Counters::default();
    let mut fault_tape = Vec::new();
    let mut verdict: Option<(Outcome, ViolationReport)> = None;
    let mut steps = Vec::new();
    let mut last = Step::NONE;
    let tracing = options.trace.is_some();
    let mut traced_notes = Vec::new();
    while verdict.is_none() {
        if engine.system.client.as_ref().is_some_and(|c| c.finished()) {
            verdict = final_data(&engine.system, &last).or_else(|| expectation(scenario, &engine.system, &last));
            break;
        }
        let Some(step) = engine.step() else {
            let why = format!("Nothing is left to happen, yet not every restore ended. {}", diagnose(&engine));
            verdict = Some((Outcome::LivenessViolation, report(Invariant::Liveness, &last, why)));
            break;
        };
        last = step;
        if options.record_steps {
            steps.push(step);
        }
        let violation = engine.system.violation.take();
        if violation.is_none() {
            if matches!(step.kind, EventKind::Crash | EventKind::KillOnCommit) {
                recorder.crash(step.time, step.node, step.kind == EventKind::KillOnCommit);
            }
            if step.kind == EventKind::Boot && step.node == SCHEMESHARD {
                coverage.resync(engine.system.schemeshard.db.states.iter().map(|(op, row)| (*op, row.state)));
            }
            coverage.step(&step);
            counters.step(&step);
            let notes = std::mem::take(&mut engine.system.notes);
            if tracing {
                traced_notes.extend(notes.iter().map(trace_line::note_json));
            }
            for note in &notes {
                recorder.note(step.time, note);
                coverage.note(&step, note);
                counters.note(note);
            }
            triggers.after_step(&mut engine, &step, &notes);
            // Give the buffer back: notes are many, allocations are not free.
            engine.system.notes = notes;
            engine.system.notes.clear();
        }
        // The event's faults, and the restarts its triggers asked for.
        let injected = engine.take_faults();
        if let Some(out) = options.trace.as_deref_mut() {
            let extras = trace_line::LineExtras {
                generation: engine.generation(step.node),
                sends: engine.traced_sends(),
                delivered: engine.delivered(),
                notes: &traced_notes,
                faults: &injected,
            };
            let _ = writeln!(out, "{}", trace_line::trace_line(&step, engine.detail(), &extras));
            traced_notes.clear();
        }
        for (at, fault) in &injected {
            recorder.injected(*at, fault);
        }
        fault_tape.extend(injected);
        if let Some(v) = violation {
            verdict = Some((Outcome::SafetyViolation, report(v.invariant, &step, v.message)));
            break;
        }
        verdict = budgets(scenario, &engine, &step, liveness_deadline);
        if verdict.is_none()
            && let Some(observer) = options.observer.as_deref_mut()
            && !observer.after_step(&mut engine, &step)
        {
            break;
        }
    }
    let (outcome, violation) = match verdict {
        Some((o, v)) => (o, Some(v)),
        None => (Outcome::Pass, None),
    };
    if let Some(v) = &violation {
        recorder.push_line(format!("{} VIOLATION {}: {}", record::fmt_time(v.at_us), v.invariant, v.message));
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
    let liveness = outcome == Outcome::LivenessViolation;
    let marks = record::PlotMarks {
        window,
        faulted: !fault_tape.is_empty(),
        violation: violation.as_ref().map(|v| (v.at_us, v.invariant.clone())),
        deadline: liveness.then_some(liveness_deadline),
        zoom: liveness,
    };
    let plot = recorder.plot(title, end, &engine.system, marks);
    let nodes = kinds.len() as u32;
    let node_commits: Vec<u64> = (0..nodes).map(|n| engine.node_commits(n)).collect();
    let restores = summaries(&engine.system);
    let stats = engine.stats();
    let system = &engine.system;
    let metrics = metrics::finish(
        counters,
        &stats,
        &node_commits,
        system.rows,
        &system.tracker,
        system.client.as_ref(),
        &restores,
    );
    let metrics = metrics::RunMetrics {
        rows_needed: metrics::rows_needed(&system.workload, &restores),
        // YDB's receivers drop records already applied and count them apart.
        rows_handled: match scenario.protocol.flavour {
            crate::scenario::Flavour::Design => metrics.rows_applied,
            crate::scenario::Flavour::Ydb => metrics.rows_applied + metrics.rows_reapplied,
        },
        ..metrics
    };
    RunReport {
        scenario: scenario.name.clone(),
        seed,
        outcome,
        violation,
        trace_hash: engine.trace_hash(),
        events: engine.steps(),
        virtual_time_us: end,
        stats,
        restores,
        log: recorder.take_log(),
        plot,
        fault_tape,
        swarm_profile,
        drawn_config: None,
        coverage: coverage.finish(&scenario.coverage.require),
        node_events: (0..nodes).map(|n| engine.node_events(n)).collect(),
        node_commits,
        replayed: tape.is_some(),
        steps,
        metrics,
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
    let message = format!("{why} {}", diagnose(engine));
    Some((Outcome::LivenessViolation, report(Invariant::Liveness, step, message)))
}

/// The deep check at quiescence: every table whose restore ended Done equals
/// `fold(full, inc_1..inc_K)`, row for row, column for column, compared whole
/// (the per-commit checks compare shard by shard). It is called only once
/// the Client finished, for restores of tables the workload has: a missing
/// Client or table is a bug in restoresim (a panic, an internal error), never
/// "no violation".
fn final_data(system: &RestoreSystem, last: &Step) -> Option<(Outcome, ViolationReport)> {
    let client = system.client.as_ref().expect("the final data check runs only once the Client finished");
    assert_eq!(client.outcomes.len(), system.workload.restores.len(), "one outcome per restore the Client asked for");
    for (outcome, spec) in client.outcomes.iter().zip(&system.workload.restores) {
        let RestoreOutcome::Accepted { terminal: Some(OpState::Done), .. } = outcome else { continue };
        let table = system.workload.topology.table_by_name(&spec.table).unwrap_or_else(|| {
            panic!("restore of table '{}' ended Done, yet the workload has no such table", spec.table)
        });
        let k = restoresim_model::ids::IncrIdx(spec.backups.len() as u32);
        // Each shard's rows against the oracle's, comparing only the keys
        // either side changed (the whole walk's verdict).
        if !system.checker.table_equals_oracle(table, k, |s| &system.datashards[s.0 as usize].db) {
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

/// What a passing run must also show: each deliberately bad request
/// rejected with the status the scenario names, and with `expect:
/// AllDone` every other restore Done.
fn expectation(s: &Scenario, system: &RestoreSystem, last: &Step) -> Option<(Outcome, ViolationReport)> {
    let restores = summaries(system);
    let client = system.client.as_ref().expect("expectations are checked only once the Client finished");
    for (i, (spec, outcome)) in s.restores.iter().zip(&client.outcomes).enumerate() {
        let Some(expected) = spec.expect_rejection else { continue };
        let rejected = matches!(outcome, RestoreOutcome::Rejected { status, .. } if *status == expected.status());
        if !rejected {
            let r = &restores[i];
            let message = format!(
                "Restore {} of table '{}' is a deliberately bad request the coordinator must reject with \
                 {expected:?}, but it ended {} ({}).",
                i + 1,
                spec.table,
                r.state,
                r.detail
            );
            return Some((Outcome::SafetyViolation, report(Invariant::LegalTransitions, last, message)));
        }
    }
    if s.expect != Expect::AllDone {
        return None;
    }
    let deliberate = |i: usize| s.restores.get(i).is_some_and(|r| r.expect_rejection.is_some());
    let not_done: Vec<String> = restores
        .into_iter()
        .enumerate()
        .filter(|(i, r)| r.state != RestoreState::DONE && !deliberate(*i))
        .map(|(_, r)| format!("{} {}: {}", r.table, r.state, r.detail))
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
            let (operation, state, detail, final_status) = match outcome {
                RestoreOutcome::Pending => (None, RestoreState::NoAnswer, String::new(), None),
                RestoreOutcome::Rejected { status, issues } => {
                    (None, RestoreState::Rejected, format!("{status:?}: {issues}"), None)
                }
                RestoreOutcome::Accepted { op, terminal } => {
                    let last = client.observations.iter().rev().find(|o| o.report.op == *op);
                    let state = terminal.or_else(|| last.map(|o| o.report.state)).map(RestoreState::Op);
                    let detail = match last {
                        // The YDB flavour counts shards of the sub-operations it
                        // tracks now, none once it ended: no shard count to show.
                        Some(o)
                            if o.report.final_status == Some(FinalStatus::Success) && o.report.shards_total == 0 =>
                        {
                            format!("{} incrementals", o.report.incrementals)
                        }
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
                    let final_status = last.and_then(|o| o.report.final_status);
                    (Some(op.0), state.unwrap_or(RestoreState::Accepted), detail, final_status)
                }
            };
            RestoreSummary { table: spec.table.clone(), operation, state, detail, final_status }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! The final checks cannot pass by not finding what they check: take
    //! their input away and they panic (an internal error), where they
    //! used to answer "no violation".

    use std::panic::{AssertUnwindSafe, catch_unwind};

    use restoresim_model::client::Client;
    use restoresim_model::ids::OperationId;
    use restoresim_model::outbox::Outbox;

    use super::*;

    fn system(table: &str) -> RestoreSystem {
        let scenario = crate::scenario::parse("(name: \"t\")", std::path::Path::new("t.ron")).expect("parses");
        let mut workload = crate::workload::generate(&scenario, 1);
        workload.restores[0].table = table.to_string();
        let workload = Arc::new(workload);
        let client = config::client(&scenario, &workload);
        let mut system = RestoreSystem::new(Arc::clone(&workload), config::knobs(&scenario, &[]), client.clone());
        let mut c = Client::boot(client, 0, &mut Outbox::default());
        c.outcomes[0] = RestoreOutcome::Accepted { op: OperationId(1), terminal: Some(OpState::Done) };
        system.client = Some(c);
        system
    }

    fn panics(f: impl FnOnce()) -> bool {
        catch_unwind(AssertUnwindSafe(f)).is_err()
    }

    #[test]
    fn final_data_compares_a_done_table_with_the_oracle() {
        // Control: with its inputs present, the check runs (nothing was
        // restored, so the table differs from the oracle).
        let verdict = final_data(&system("table"), &Step::NONE);
        assert_eq!(verdict.map(|(o, v)| (o, v.invariant)), Some((Outcome::SafetyViolation, "1-final-data".into())));
    }

    #[test]
    fn final_data_without_its_inputs_is_an_internal_error() {
        let mut no_client = system("table");
        no_client.client = None;
        assert!(panics(|| drop(final_data(&no_client, &Step::NONE))), "no Client");
        assert!(panics(|| drop(final_data(&system("renamed"), &Step::NONE))), "no such table");
        let mut no_outcomes = system("table");
        no_outcomes.client.as_mut().expect("booted").outcomes.clear();
        assert!(panics(|| drop(final_data(&no_outcomes, &Step::NONE))), "outcomes missing");
    }
}
