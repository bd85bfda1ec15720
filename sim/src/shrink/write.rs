//! The minimal capsule: a folder `replay` reproduces with the same trace
//! hash, whose `scenario.ron` alone reproduces the failure with
//! `restoresim run scenario.ron --seed N`. Beside the usual capsule files
//! (`summary.json`, `trace.jsonl`, plots, `log.txt`, `REPRODUCE`) it holds
//! `shrink.json` (before and after, runs, accepted steps, wall time) and
//! `story.txt` (the events that matter, plain text).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::{Shrunk, Size, story};
use crate::output::{self, OutputError, Summary};
use crate::run::{self, RunOptions};
use crate::scenario::{self, ScenarioError};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("the minimal scenario does not read back: {0}")]
    Reload(#[from] ScenarioError),
    #[error(
        "the minimal scenario written to {path} ran differently from the run the shrink accepted (trace hash \
         {accepted:016x}, now {written:016x})"
    )]
    Moved { path: PathBuf, accepted: u64, written: u64 },
}

/// What was written, for the command line and a sweep's JUnit file.
pub struct Written {
    pub reproduce: String,
    pub story: String,
}

/// `shrink.json`.
#[derive(Serialize)]
struct ShrinkJson<'a> {
    /// The capsule (or run folder) that was shrunk.
    source: String,
    scenario: &'a str,
    seed: u64,
    /// What "still failing" meant.
    goal: String,
    invariant: Option<&'a str>,
    before: Size,
    after: Size,
    /// Candidates run, and as a one-thread search counts them (the budget's unit).
    runs: u64,
    runs_counted: u64,
    max_runs: u64,
    budget_exhausted: bool,
    /// Removing any one remaining fault makes the failure go away (each checked by a run).
    one_minimal: bool,
    accepted_steps: &'a [String],
    trace_hash: String,
    reproduce: &'a str,
    wall_ms: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// Writes the minimal capsule of `shrunk` into `dir` (replacing one there).
pub fn capsule(dir: &Path, shrunk: &Shrunk, source: &Path, max_runs: u64) -> Result<Written, WriteError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let scenario_path = dir.join("scenario.ron");
    let text = scenario_text(shrunk, source);
    std::fs::write(&scenario_path, &text).map_err(io(&scenario_path))?;
    // Run what is on disk, not what is in memory: the file is the promise.
    let scenario = scenario::load(&scenario_path)?;
    let trace_path = dir.join("trace.jsonl");
    let mut trace = BufWriter::new(File::create(&trace_path).map_err(io(&trace_path))?);
    let wall_started = Instant::now(); // wall clock: summary.json's wall_ms only
    let report = run::run(&scenario, shrunk.seed, RunOptions { trace: Some(&mut trace), ..Default::default() });
    let wall = wall_started.elapsed();
    trace.flush().map_err(io(&trace_path))?;
    drop(trace);
    if report.trace_hash != shrunk.report.trace_hash {
        return Err(WriteError::Moved {
            path: scenario_path,
            accepted: shrunk.report.trace_hash,
            written: report.trace_hash,
        });
    }
    let reproduce = format!("restoresim run {} --seed {}", scenario_path.display(), shrunk.seed);
    let summary = Summary::new(&report, &scenario_path, scenario.bugs.clone(), wall, reproduce.clone());
    output::write_run(dir, &report, &summary)?;
    crate::timeline::write_html(dir).map_err(OutputError::from)?;
    let path = dir.join("REPRODUCE");
    std::fs::write(&path, format!("{reproduce}\n")).map_err(io(&path))?;
    let lines: Vec<String> = BufReader::new(File::open(&trace_path).map_err(io(&trace_path))?)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(io(&trace_path))?;
    let story = story::tell(&report, &lines, &shrunk.goal.describe());
    let path = dir.join("story.txt");
    std::fs::write(&path, &story).map_err(io(&path))?;
    let json = ShrinkJson {
        source: source.display().to_string(),
        scenario: &scenario.name,
        seed: shrunk.seed,
        goal: shrunk.goal.describe(),
        invariant: (shrunk.goal.outcome == run::Outcome::SafetyViolation && !shrunk.goal.any_safety)
            .then_some(shrunk.goal.invariant.as_str()),
        before: shrunk.before,
        after: shrunk.after,
        runs: shrunk.runs,
        runs_counted: shrunk.runs_counted,
        max_runs,
        budget_exhausted: shrunk.budget_exhausted,
        one_minimal: shrunk.one_minimal,
        accepted_steps: &shrunk.steps,
        trace_hash: format!("{:016x}", report.trace_hash),
        reproduce: &reproduce,
        wall_ms: shrunk.wall.as_millis() as u64,
    };
    let path = dir.join("shrink.json");
    let json = serde_json::to_string_pretty(&json).expect("shrink.json always serializes");
    std::fs::write(&path, json + "\n").map_err(io(&path))?;
    Ok(Written { reproduce, story })
}

/// The minimal scenario as RON, with a header saying where it came from.
fn scenario_text(shrunk: &Shrunk, source: &Path) -> String {
    let config = ron::ser::PrettyConfig::new().struct_names(false).indentor("    ".to_string()).depth_limit(3);
    let body = ron::ser::to_string_pretty(&shrunk.scenario, config).expect("a scenario always serializes");
    format!(
        "// Shrunk by `restoresim shrink` from {} (seed {}): {}.\n// Before: {}.\n// After:  {}.\n// Standalone: \
         `restoresim run THIS_FILE --seed {}` reproduces it (faults from `faults.tape`, no random fault).\n{body}\n",
        source.display(),
        shrunk.seed,
        shrunk.goal.describe(),
        shrunk.before,
        shrunk.after,
        shrunk.seed
    )
}
