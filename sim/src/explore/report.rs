//! What `explore` leaves on disk: `explore.json` (counts per level,
//! failures with their faults and capsules), `failures.jsonl` (one line per
//! failing placement, streamed in exploration order as the search merges
//! them), and a capsule per failing placement (`capsules/placement-N/`,
//! the first `--max-capsules` in exploration order) that `replay` and
//! `shrink` take like a sweep's: its `scenario.ron` is standalone, the
//! placement's faults written in as `faults: (tape: [...])`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Exploration, ExploreSpec, Failure, FaultKind, LevelCounts, Placement, PointCounts};
use crate::capsule::{self, CapsuleSource, Rerun};
use crate::engine::{Anchor, InjectedFault};
use crate::faults::tape::{self, TapeFault};
use crate::output::OutputError;
use crate::restore::actor_of;
use crate::run::{Outcome, ViolationReport};

/// One failing placement as `explore.json` and `failures.jsonl` write it.
#[derive(Clone, Debug, Serialize)]
pub struct FailureLine {
    pub placement: u64,
    /// `safety_violation`, `liveness_violation` or `internal_error`.
    pub outcome: &'static str,
    pub faults: Vec<TapeFault>,
    /// The faults in words, in the order they fire.
    pub story: String,
    pub violation: Option<ViolationReport>,
    /// The panic's message, for an internal error.
    pub panic: Option<String>,
    /// Its capsule folder, if one was kept.
    pub capsule: Option<String>,
    pub reproduce: Option<String>,
}

impl FailureLine {
    pub fn of(f: &Failure) -> FailureLine {
        let faults: Vec<_> = f.placement.tape.iter().map(|x| (0, x.clone())).collect();
        FailureLine {
            placement: f.placement.id,
            outcome: outcome_name(&f.outcome),
            faults: tape::to_tape(&faults).into_iter().map(|e| e.fault).collect(),
            story: story(&f.placement.tape),
            violation: f.violation.clone(),
            panic: f.outcome.as_ref().err().cloned(),
            capsule: None,
            reproduce: None,
        }
    }
}

pub fn outcome_name(o: &Result<Outcome, String>) -> &'static str {
    match o {
        Ok(Outcome::Pass) => "pass",
        Ok(Outcome::SafetyViolation) => "safety_violation",
        Ok(Outcome::LivenessViolation) => "liveness_violation",
        Err(_) => "internal_error",
    }
}

/// "drop SchemeShard→DataShard1 #3, then restart DataShard0 after its event 12".
pub fn story(tape: &[InjectedFault]) -> String {
    if tape.is_empty() {
        return "no fault".into();
    }
    let one = |f: &InjectedFault| match f {
        InjectedFault::Drop { from, to, nth, .. } => format!("drop {}→{} #{nth}", actor_of(*from), actor_of(*to)),
        InjectedFault::Duplicate { from, to, nth } => {
            format!("duplicate {}→{} #{nth}", actor_of(*from), actor_of(*to))
        }
        InjectedFault::KillOnCommit { node, nth, .. } => format!("kill {} on its commit {nth}", actor_of(*node)),
        InjectedFault::Restart { node, anchor: Anchor::AfterEvent { event, .. }, .. } => {
            format!("restart {} after its event {event}", actor_of(*node))
        }
        other => format!("{other:?}"),
    };
    tape.iter().map(one).collect::<Vec<_>>().join(", then ")
}

/// `explore.json`.
#[derive(Serialize)]
pub struct ExploreJson<'a> {
    pub scenario: &'a str,
    pub scenario_file: String,
    pub seed: u64,
    pub faults: u8,
    pub kinds: &'a [FaultKind],
    pub bugs: Vec<String>,
    pub fault_free_events: u64,
    /// Fault points of the fault-free run.
    pub fault_free_points: PointCounts,
    pub levels: &'a [LevelCounts],
    /// Placements run, and of those stopped at an explored state.
    pub explored: u64,
    pub pruned: u64,
    /// Distinct states recorded.
    pub states: u64,
    /// Placements `--max-runs` cut off (0: the search is exhaustive).
    pub cut_by_bound: u64,
    pub max_runs: u64,
    /// `--no-prune`: every placement ran to its end.
    pub pruning: bool,
    pub failures_total: usize,
    pub failures: Vec<FailureLine>,
    pub exit_code: u8,
    /// Wall clock: the only part that changes between identical explorations.
    pub timing: Timing,
}

#[derive(Serialize)]
pub struct Timing {
    pub wall_ms: u64,
    pub runs_per_sec: u64,
}

/// Exit code: 1 a safety violation, 3 a liveness one, 70 a panic; 70 first,
/// then 1, then 3 (as a sweep).
pub fn exit_code(e: &Exploration) -> u8 {
    let any = |f: fn(&LevelCounts) -> u64| e.levels.iter().map(f).sum::<u64>() > 0;
    if any(|l| l.internal) {
        70
    } else if any(|l| l.safety) {
        1
    } else if any(|l| l.liveness) {
        3
    } else {
        0
    }
}

/// The standalone scenario of a placement, as RON with a header.
fn scenario_text(spec: &ExploreSpec, source: &Path, p: &Placement) -> (crate::scenario::Scenario, String) {
    let standalone = crate::shrink::standalone(spec.scenario, &spec.bugs, &p.tape);
    let config = ron::ser::PrettyConfig::new().struct_names(false).indentor("    ".to_string()).depth_limit(3);
    let body = ron::ser::to_string_pretty(&standalone, config).expect("a scenario always serializes");
    let text = format!(
        "// Placement {} of `restoresim explore {} --faults {}` (seed {}): {}.\n// Standalone: `restoresim run \
         THIS_FILE --seed {}` reproduces it (faults from `faults.tape`, no random fault).\n{body}\n",
        p.id,
        source.display(),
        spec.faults,
        spec.seed,
        story(&p.tape),
        spec.seed
    );
    (standalone, text)
}

/// Writes the capsule of failing placement `f` under `out/capsules/`;
/// returns its folder and reproduce command. The capsule's run is the
/// placement's run again (traced), so it must fail the same way.
pub fn write_capsule(
    out: &Path,
    spec: &ExploreSpec,
    source: &Path,
    f: &Failure,
) -> Result<(PathBuf, String), OutputError> {
    let dir = out.join("capsules").join(format!("placement-{}", f.placement.id));
    let (standalone, text) = scenario_text(spec, source, &f.placement);
    let reproduce = format!("restoresim run {} --seed {}", dir.join("scenario.ron").display(), spec.seed);
    let file = dir.join("scenario.ron");
    let src = CapsuleSource {
        scenario: &standalone,
        scenario_text: &text,
        scenario_file: &file,
        bugs: &[],
        runner: crate::run::run,
    };
    let rerun = capsule::write(&dir, &src, spec.seed, &reproduce, false)?;
    if let (Rerun::Report(r), Ok(o)) = (&rerun, &f.outcome) {
        assert_eq!(
            r.outcome,
            *o,
            "a placement's capsule run fails as its explored run did ({})",
            story(&f.placement.tape)
        );
    }
    Ok((dir, reproduce))
}
