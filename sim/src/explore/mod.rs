//! `restoresim explore SCENARIO --faults K`: small-scope exhaustive search
//! (docs/design.md §5, §8). Every placement of up to K faults — drops and
//! duplicates of a message, restarts right after a tablet's event, kills on
//! a tablet's commit — at every fault point of the runs it grows from,
//! with the state-fingerprint pruning of stateright's checkers. It
//! generalises `sweep --crash-points` (one restart or kill, one tablet) to
//! every kind, every tablet and every link, and to K faults.
//!
//! **The search.** A placement is a fault tape: faults at logical anchors
//! (the nth message on a link, a tablet's nth commit, right after its nth
//! event), so every explored run is a replay, and its capsule replays and
//! shrinks like any other. Level 0 is the fault-free run. The children of
//! a placement add one fault at a fault point its run met *after* its last
//! fault (its "window"), so each set of faults is placed once, in the
//! order the faults fire. Levels are explored in order (breadth first):
//! level L is every placement of L faults.
//!
//! **Pruning, and why it is sound.** After the event that applies a
//! placement's last fault, nothing of its tape is left: its future is
//! the fault-free continuation of its state, plus whatever up to `b = K -
//! L` more faults its children place at the fault points ahead. That
//! future is a function of (state, b) alone, because:
//! - the state fingerprint (`fingerprint.rs`, `engine/fingerprint.rs`)
//!   covers everything the engine and the models read from here on: virtual
//!   time, every pending event with its payload in the order it will run,
//!   tablets up and their generations, pipes, the commit log's tail, every
//!   tablet's durable database and volatile actor, the Client, the
//!   checker's and the durable tracker's memory, and how far the latency
//!   and the Client's streams were drawn (a replay draws from no other);
//! - what it leaves out are the fault *anchors* (per-link and per-node
//!   counters): children place their faults relative to the fault points
//!   met from here on, so two runs in the same state have the same fault
//!   points ahead, one for one, and the same futures under them.
//!
//! So when a run reaches a state already reached with a budget `b' >= b`,
//! everything its subtree can do was (or will be, in an earlier chunk)
//! explored from that state: the run stops there ("pruned"), and its
//! window — hence its children — ends at that event. A pruned run's
//! failure, if its future has one, is the failure of the run that reached
//! the state first, reported once. One proviso: the event budget counts
//! events since time 0, which the fingerprint leaves out; an explored run
//! that ran out of it is reported as a liveness failure, so the budget's
//! reach is never silent.
//!
//! **Determinism.** A level's placements are cut into fixed chunks; the
//! runs of a chunk run in parallel against the explored states of earlier
//! chunks (frozen while the chunk runs), then are merged one by one in
//! placement order — so what is pruned, counted and reported is the same
//! at any `--jobs`. States are recorded with the budget left; lookups only.

pub mod fingerprint;
pub mod report;
pub mod run;

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use restoresim_model::knobs::Bug;
use serde::Serialize;

use crate::engine::{Anchor, InjectedFault, Probe};
use crate::run::{Outcome, ViolationReport};
use crate::scenario::Scenario;
pub use run::{Explored, Seen, WindowPoint};

/// Placements run between two merges of the explored states. Fixed (not
/// derived from `--jobs`) so results do not depend on the thread count;
/// small enough that states found by one chunk prune the next.
pub const CHUNK: usize = 64;

/// The fault kinds `explore` places.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A message lost (detected or silent, as the scenario's `loss_detected`).
    Drop,
    /// A message delivered twice.
    Duplicate,
    /// A tablet restarted right after one of its events (down for 0).
    Restart,
    /// A tablet's commit made durable, its completion dropped, the tablet restarted.
    KillOnCommit,
}

impl FaultKind {
    pub const ALL: [FaultKind; 4] =
        [FaultKind::Drop, FaultKind::Duplicate, FaultKind::Restart, FaultKind::KillOnCommit];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Drop => "drop",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Restart => "restart",
            FaultKind::KillOnCommit => "kill_on_commit",
        }
    }

    /// The kinds a scenario enables: a family with a non-zero rate, a
    /// triggered restart, or a swarm (which may draw every family).
    pub fn of_scenario(s: &Scenario) -> Vec<FaultKind> {
        let swarm = s.faults.swarm.is_some();
        let on = |c: &crate::scenario::Chance| !c.0.is_never();
        let t = &s.tablets;
        let enabled = [
            swarm || on(&s.network.loss),
            swarm || on(&s.network.duplicate),
            swarm || on(&t.restart) || on(&t.crash) || !s.faults.restarts.is_empty(),
            swarm || on(&t.kill_on_commit),
        ];
        FaultKind::ALL.into_iter().zip(enabled).filter(|(_, e)| *e).map(|(k, _)| k).collect()
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<FaultKind, String> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name() == s || (s == "kill-on-commit" && *k == FaultKind::KillOnCommit))
            .ok_or_else(|| format!("unknown fault kind \"{s}\"; expected drop, duplicate, restart or kill_on_commit"))
    }
}

/// What to explore.
pub struct ExploreSpec<'a> {
    pub scenario: &'a Scenario,
    /// Planted from the command line, on top of the scenario's.
    pub bugs: Vec<Bug>,
    pub seed: u64,
    /// K: faults per placement, at most.
    pub faults: u8,
    pub kinds: Vec<FaultKind>,
    /// Placements to run at most (the fault-free run included).
    pub max_runs: u64,
    /// Threads; the result does not depend on it.
    pub jobs: usize,
    /// Keep a record of every run in `Exploration::runs` (tests check
    /// pruning against unpruned runs with it).
    pub keep_runs: bool,
    /// Prune by state fingerprint (off: every placement runs to its end,
    /// to measure what pruning saves).
    pub prune: bool,
}

/// One explored run, kept with `ExploreSpec::keep_runs`.
#[derive(Clone, Debug)]
pub struct RunRecord {
    pub placement: Placement,
    pub outcome: Result<Outcome, String>,
    pub invariant: Option<String>,
    pub pruned_into: Option<u64>,
}

/// One placement: its faults in the order they fire, and the fault point
/// (its ordinal in the run) of the last.
#[derive(Clone, Debug)]
pub struct Placement {
    /// 0 is the fault-free run; then in exploration order.
    pub id: u64,
    pub tape: Vec<InjectedFault>,
    pub last_fault: u64,
}

/// A placement whose run broke an invariant, ran out of a bound, or panicked.
#[derive(Clone, Debug)]
pub struct Failure {
    pub placement: Placement,
    /// `Err`: the run panicked.
    pub outcome: Result<Outcome, String>,
    pub violation: Option<ViolationReport>,
}

/// Counts for one level (placements of L faults).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct LevelCounts {
    pub faults: u8,
    /// Placements generated for this level (before any bound).
    pub placements: u64,
    /// Of those, run (the rest were cut by `--max-runs`).
    pub run: u64,
    /// Runs stopped at a state explored before.
    pub pruned: u64,
    pub safety: u64,
    pub liveness: u64,
    pub internal: u64,
    pub events: u64,
}

/// What an exploration found.
#[derive(Debug, Default)]
pub struct Exploration {
    pub levels: Vec<LevelCounts>,
    /// Fault points of the fault-free run, by kind of point.
    pub baseline_points: PointCounts,
    pub baseline_events: u64,
    pub failures: Vec<Failure>,
    /// `--max-runs` cut the search: placements generated but not run.
    pub cut_by_bound: u64,
    /// Distinct states recorded.
    pub states: u64,
    /// Every run, with `ExploreSpec::keep_runs`.
    pub runs: Vec<RunRecord>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PointCounts {
    pub sends: u64,
    pub commits: u64,
    pub tablet_events: u64,
}

impl Exploration {
    pub fn explored(&self) -> u64 {
        self.levels.iter().map(|l| l.run).sum()
    }
    pub fn pruned(&self) -> u64 {
        self.levels.iter().map(|l| l.pruned).sum()
    }
}

/// Hears about the exploration as it goes (called between chunks).
pub trait Progress: Sync {
    fn chunk(&self, _level: u8, _done: u64, _of: u64) {}
    fn failure(&self, _failure: &Failure) {}
}

/// The fault placed at `point`, if `kind` applies to it.
pub fn fault_at(point: Probe, kind: FaultKind, detected: bool) -> Option<InjectedFault> {
    Some(match (point, kind) {
        (Probe::Send { from, to, nth }, FaultKind::Drop) => InjectedFault::Drop { from, to, nth, detected },
        (Probe::Send { from, to, nth }, FaultKind::Duplicate) => InjectedFault::Duplicate { from, to, nth },
        (Probe::CommitDone { node, nth }, FaultKind::KillOnCommit) => {
            InjectedFault::KillOnCommit { node, nth, down: 0 }
        }
        (Probe::AfterEvent { node, event }, FaultKind::Restart) => {
            InjectedFault::Restart { node, down: 0, anchor: Anchor::AfterEvent { node, event } }
        }
        _ => return None,
    })
}

/// Runs the exploration on a pool of `spec.jobs` threads.
pub fn explore(spec: &ExploreSpec, progress: &dyn Progress) -> Exploration {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(spec.jobs.max(1))
        .build()
        .expect("a thread pool of a few threads can be built");
    pool.install(|| search(spec, progress))
}

fn search(spec: &ExploreSpec, progress: &dyn Progress) -> Exploration {
    let k = spec.faults;
    let detected = spec.scenario.network.loss_detected;
    let mut result = Exploration::default();
    let mut seen = Seen::default();
    let mut next_id = 1u64;
    let mut runs_left = spec.max_runs;
    let root = Placement { id: 0, tape: Vec::new(), last_fault: 0 };
    let mut frontier = vec![root];
    for level in 0..=k {
        let budget = k - level;
        let mut counts = LevelCounts { faults: level, placements: frontier.len() as u64, ..LevelCounts::default() };
        if (frontier.len() as u64) > runs_left {
            result.cut_by_bound += frontier.len() as u64 - runs_left;
            frontier.truncate(runs_left as usize);
        }
        runs_left -= frontier.len() as u64;
        let mut children = Vec::new();
        let total = frontier.len() as u64;
        for (c, chunk) in frontier.chunks(CHUNK).enumerate() {
            let empty = Seen::default();
            let frozen = if spec.prune { &seen } else { &empty };
            let explored: Vec<Explored> = chunk
                .par_iter()
                .map(|p| run::explore_one(spec.scenario, &spec.bugs, spec.seed, &p.tape, p.last_fault, budget, frozen))
                .collect();
            for (placement, run) in chunk.iter().zip(explored) {
                if level == 0 {
                    result.baseline_events = run.events;
                    result.baseline_points = points_of(&run.window);
                }
                let keep = if spec.prune { merge(&mut seen, &run, placement.id, budget) } else { run.window.len() };
                let window = &run.window[..keep];
                tally(&mut counts, &run);
                if spec.keep_runs {
                    result.runs.push(RunRecord {
                        placement: placement.clone(),
                        outcome: run.outcome.clone(),
                        invariant: run.violation.as_ref().map(|v| v.invariant.clone()),
                        pruned_into: run.pruned_into,
                    });
                }
                if run.outcome != Ok(Outcome::Pass) {
                    let failure = Failure {
                        placement: placement.clone(),
                        outcome: run.outcome.clone(),
                        violation: run.violation.clone(),
                    };
                    progress.failure(&failure);
                    result.failures.push(failure);
                }
                if budget == 0 {
                    continue;
                }
                for point in window {
                    for &kind in &spec.kinds {
                        if let Some(fault) = fault_at(point.probe, kind, detected) {
                            let mut tape = placement.tape.clone();
                            tape.push(fault);
                            children.push(Placement { id: next_id, tape, last_fault: point.ordinal });
                            next_id += 1;
                        }
                    }
                }
            }
            progress.chunk(level, ((c + 1) * CHUNK).min(total as usize) as u64, total);
        }
        result.levels.push(counts);
        frontier = children;
        if frontier.is_empty() {
            break;
        }
    }
    result.states = seen.len() as u64;
    result
}

/// Records the run's states with the budget left, and returns how much of
/// its window to keep: up to the first state an earlier run of this chunk
/// already reached (the run itself was stopped at states of earlier chunks).
fn merge(seen: &mut Seen, run: &Explored, id: u64, budget: u8) -> usize {
    let mut cut = None;
    for (i, fp) in run.fingerprints.iter().enumerate() {
        if seen.get(fp).is_some_and(|(b, _)| *b >= budget) {
            cut = Some(i);
            break;
        }
        // Absent, or seen with a smaller budget: this run's subtree from
        // here is the larger one.
        seen.insert(*fp, (budget, id));
    }
    match cut {
        Some(i) => run.window.iter().take_while(|p| p.checkpoint <= i).count(),
        None => run.window.len(),
    }
}

fn tally(counts: &mut LevelCounts, run: &Explored) {
    counts.run += 1;
    counts.pruned += u64::from(run.pruned_into.is_some());
    counts.events += run.events;
    match &run.outcome {
        Ok(Outcome::Pass) => {}
        Ok(Outcome::SafetyViolation) => counts.safety += 1,
        Ok(Outcome::LivenessViolation) => counts.liveness += 1,
        Err(_) => counts.internal += 1,
    }
}

fn points_of(window: &[WindowPoint]) -> PointCounts {
    let mut c = PointCounts::default();
    for p in window {
        match p.probe {
            Probe::Send { .. } => c.sends += 1,
            Probe::CommitDone { .. } => c.commits += 1,
            Probe::AfterEvent { .. } => c.tablet_events += 1,
        }
    }
    c
}
