//! `restoresim shrink`: reduce a failing run to its smallest cause. The
//! run is first made *standalone* — its faults written into the scenario as
//! a fault tape (`faults: (tape: [...])`), random faults and triggers off —
//! and then passes take turns until none changes anything:
//!
//! - `faults`: delta debugging (ddmin, Zeller & Hildebrandt 2002) over the
//!   tape, down to a 1-minimal set;
//! - `strength`: each fault in a weaker form (kill on commit → restart, down
//!   time → 0, a shorter or one-way partition, a shorter delay, a fatal read
//!   error → transient);
//! - `workload`: fewer tables, shards, incrementals, rows and changes (the
//!   tape's anchors renumbered, faults on actors that no longer exist dropped);
//! - `knobs`: fewer Client polls, other batch sizes.
//!
//! A candidate is accepted only after it was *run* and seen to fail the
//! same way (`Goal`). Candidates of one step run in parallel, but the one
//! accepted is always the first failing one in a fixed order, and the run
//! budget counts runs as a one-thread search would: the result is the same
//! at any `--jobs`.

mod ddmin;
mod search;
pub mod story;
mod strength;
mod workload;
pub mod write;

use std::time::Instant;

use restoresim_model::knobs::Bug;
use serde::Serialize;

use crate::engine::{InjectedFault, Micros};
use crate::run::{Outcome, RunReport};
use crate::scenario::Scenario;
use crate::scenario::tape::{self, TapeFaultSpec};
pub use search::Search;

/// What "still failing" means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goal {
    pub outcome: Outcome,
    /// The violated invariant (safety); a liveness failure matches any liveness failure.
    pub invariant: String,
    /// Any safety violation will do (`--any-safety`).
    pub any_safety: bool,
}

impl Goal {
    pub fn of(report: &RunReport, any_safety: bool) -> Option<Goal> {
        let v = report.violation.as_ref()?;
        (report.outcome != Outcome::Pass).then(|| Goal {
            outcome: report.outcome,
            invariant: v.invariant.clone(),
            any_safety,
        })
    }

    pub fn holds(&self, r: &RunReport) -> bool {
        match (self.outcome, r.outcome) {
            (Outcome::LivenessViolation, Outcome::LivenessViolation) => true,
            (Outcome::SafetyViolation, Outcome::SafetyViolation) => {
                self.any_safety || r.violation.as_ref().is_some_and(|v| v.invariant == self.invariant)
            }
            _ => false,
        }
    }

    pub fn describe(&self) -> String {
        match self.outcome {
            Outcome::LivenessViolation => "a liveness violation".into(),
            _ if self.any_safety => "any safety violation".into(),
            _ => format!("a safety violation of {}", self.invariant),
        }
    }
}

/// How big a failing run is. Compared in the order of preference:
/// fewer faults, then fewer shards, then fewer events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Size {
    pub faults: usize,
    pub shards: u32,
    pub tables: usize,
    pub incrementals: u32,
    pub events: u64,
    pub virtual_time_us: Micros,
    /// Rows of the full backup and most changes per incremental, per table.
    pub rows: u64,
    pub changes: u64,
}

impl Size {
    pub fn of(scenario: &Scenario, report: &RunReport) -> Size {
        Size {
            faults: report.fault_tape.len(),
            shards: scenario.workload.tables.iter().map(|t| t.shards).sum(),
            tables: scenario.workload.tables.len(),
            incrementals: scenario.workload.incrementals,
            events: report.events,
            virtual_time_us: report.virtual_time_us,
            rows: scenario.workload.rows,
            changes: scenario.workload.changes.max,
        }
    }

    /// The preference order's key: fewer faults, then fewer shards, then
    /// fewer events; at equal events, the smaller workload.
    pub fn key(&self) -> (usize, u32, u64, u32, usize, u64, u64) {
        (self.faults, self.shards, self.events, self.incrementals, self.tables, self.rows, self.changes)
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} faults, {} shards, {} incrementals, {} events",
            self.faults, self.shards, self.incrementals, self.events
        )
    }
}

#[derive(Clone, Copy, Debug)]
pub struct ShrinkOptions {
    /// Stop after this many runs (counted as a one-thread search would).
    pub max_runs: u64,
    pub jobs: usize,
    pub any_safety: bool,
}

impl Default for ShrinkOptions {
    fn default() -> Self {
        ShrinkOptions { max_runs: 2_000, jobs: 1, any_safety: false }
    }
}

/// What a shrink reports as it goes.
pub trait Progress: Sync {
    /// `runs` candidates run so far; `best` the smallest failing run yet.
    fn tried(&self, runs: u64, best: &Size);
}

/// No progress reports (tests).
pub struct Quiet;

impl Progress for Quiet {
    fn tried(&self, _: u64, _: &Size) {}
}

/// The end of a shrink.
pub struct Shrunk {
    pub goal: Goal,
    pub seed: u64,
    pub before: Size,
    pub after: Size,
    /// The minimal standalone scenario: its workload, knobs, planted bugs
    /// and fault tape; `run --seed` of it is the minimal failing run.
    pub scenario: Scenario,
    /// That run.
    pub report: RunReport,
    /// Candidates run, and as a one-thread search counts them.
    pub runs: u64,
    pub runs_counted: u64,
    /// Every accepted step, in order, for a person.
    pub steps: Vec<String>,
    /// Removing any one remaining fault makes the failure go away: checked
    /// by running each such candidate (false if the run budget ran out first).
    pub one_minimal: bool,
    pub budget_exhausted: bool,
    pub wall: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    #[error("nothing to shrink: seed {seed} passes{how}")]
    Passes { seed: u64, how: String },
    #[error(
        "the capsule's run does not fail the same way from its fault tape (it recorded {recorded}, the standalone run \
         gave {got}); it cannot be shrunk"
    )]
    NotReproduced { recorded: String, got: String },
    #[error("the run panicked: {0}")]
    Panicked(String),
}

/// `scenario` as a standalone run of `tape`: the faults in the scenario,
/// no random fault, no trigger, no swarm; `bugs` written in.
pub fn standalone(scenario: &Scenario, bugs: &[Bug], tape: &[InjectedFault]) -> Scenario {
    let mut s = scenario.clone();
    for bug in bugs {
        if !s.bugs.iter().any(|b| b == bug.name()) {
            s.bugs.push(bug.name().to_string());
        }
    }
    s.network.loss = Default::default();
    s.network.duplicate = Default::default();
    s.network.reorder = Default::default();
    s.network.random_partitions.count = 0;
    let t = &mut s.tablets;
    for chance in [
        &mut t.read_transient,
        &mut t.read_fatal,
        &mut t.crash,
        &mut t.restart,
        &mut t.kill_on_commit,
        &mut t.slow_commit,
        &mut t.allocator_empty,
    ] {
        *chance = Default::default();
    }
    s.faults.restarts.clear();
    s.faults.partitions.clear();
    s.faults.swarm = None;
    s.coverage.require.clear();
    s.faults.tape = Some(tape::from_faults(tape));
    s
}

/// What a capsule recorded of its run: the standalone run must match it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `pass`, `safety_violation`, `liveness_violation`.
    pub outcome: String,
    pub invariant: Option<String>,
}

/// Shrinks the failing run of `scenario` (with `bugs` planted) and `seed`
/// whose faults are `tape` (a capsule's recorded tape, or the run's own);
/// `recorded`, from a capsule, is what its run must still show.
pub fn shrink(
    scenario: &Scenario,
    seed: u64,
    bugs: &[Bug],
    tape: &[InjectedFault],
    recorded: Option<&Recorded>,
    options: ShrinkOptions,
    progress: &dyn Progress,
) -> Result<Shrunk, ShrinkError> {
    let wall_started = Instant::now(); // wall clock: shrink.json's wall time only
    // A configuration swarm's seed is the run of its drawn scenario: the
    // passes shrink that one (its workload and knobs, not the swarm's lists).
    let (resolved, _) = crate::swarm::resolve(scenario, seed);
    let start = standalone(&resolved, bugs, tape);
    let first = crate::sweep::guard::catch(|| crate::run::run(&start, seed, Default::default()))
        .map_err(ShrinkError::Panicked)?;
    let got = || {
        let outcome = serde_json::to_value(first.outcome).ok().and_then(|v| v.as_str().map(str::to_string));
        let invariant = first.violation.as_ref().map(|v| v.invariant.clone());
        (outcome.unwrap_or_default(), invariant)
    };
    if let Some(r) = recorded.filter(|r| r.outcome != "pass") {
        let (outcome, invariant) = got();
        if outcome != r.outcome || invariant != r.invariant {
            let show = |o: &str, i: &Option<String>| format!("{o} {}", i.as_deref().unwrap_or(""));
            return Err(ShrinkError::NotReproduced {
                recorded: show(&r.outcome, &r.invariant).trim().to_string(),
                got: show(&outcome, &invariant).trim().to_string(),
            });
        }
    }
    let Some(goal) = Goal::of(&first, options.any_safety) else {
        return Err(ShrinkError::Passes { seed, how: " (from its fault tape, random faults off)".into() });
    };
    let mut search = Search::new(goal, seed, options, progress, start, first);
    let before = search.best_size();
    search.run_passes();
    let one_minimal = search.check_one_minimal();
    Ok(search.finish(before, one_minimal, wall_started.elapsed()))
}

/// The fault tape of the best run as the scenario writes it.
pub(crate) fn fired(report: &RunReport) -> Vec<TapeFaultSpec> {
    let faults: Vec<InjectedFault> = report.fault_tape.iter().map(|(_, f)| f.clone()).collect();
    tape::from_faults(&faults)
}
