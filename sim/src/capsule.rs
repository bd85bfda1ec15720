//! Failure capsules: a small folder per failing seed that a CI system can
//! upload and a person can replay anywhere. It holds a copy of the scenario
//! (`scenario.ron`), the run's `summary.json` (seed, planted bugs,
//! trace_hash, violation — and whatever else a run's summary carries, such
//! as a swarm profile or fault tape), `trace.jsonl`, the progress plots,
//! `log.txt`, `timeline.html` (the trace as a space-time diagram), and
//! `REPRODUCE`: the one command that reproduces it.
//! `restoresim replay CAPSULE` re-runs it — with the faults of its fault
//! tape, random faults off — and checks the trace hash. A `run --out`
//! folder (or its `summary.json`) reads as a capsule too.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use restoresim_model::knobs::Bug;
use serde::Serialize;

use crate::engine::InjectedFault;
use crate::faults::tape::{self, TapeEntry};
use crate::output::{self, OutputError, Summary};
use crate::run::{RunOptions, RunReport};
use crate::scenario::{self, Scenario, ScenarioError};

/// What a capsule is written from.
pub struct CapsuleSource<'a> {
    pub scenario: &'a Scenario,
    /// The scenario file's text, copied verbatim (comments and all).
    pub scenario_text: &'a str,
    /// The scenario file as the sweep was given it, for the reproduce command.
    pub scenario_file: &'a Path,
    /// Bugs planted from the command line.
    pub bugs: &'a [Bug],
    /// How the seed is run (`run::run` but in tests).
    pub runner: crate::sweep::Runner,
}

/// The seed's second run, made while writing its capsule.
pub enum Rerun {
    Report(Box<RunReport>),
    Panicked(String),
}

/// `summary.json` of a capsule whose run panicked (no report exists).
#[derive(Serialize)]
struct PanicSummary<'a> {
    scenario: &'a str,
    scenario_file: String,
    seed: u64,
    outcome: &'static str,
    message: &'a str,
    trace_hash: Option<String>,
    bugs: Vec<String>,
    reproduce: &'a str,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

fn drawn_text(resolved: &Scenario, seed: u64) -> String {
    let config = ron::ser::PrettyConfig::new().struct_names(false).indentor("    ".to_string()).depth_limit(3);
    let body = ron::ser::to_string_pretty(resolved, config).expect("a scenario always serializes");
    format!("// The configuration seed {seed} of a configuration swarm drew; run it with --seed {seed}.\n{body}\n")
}

/// Writes the capsule of `seed` into `dir` (replacing an older one) by
/// running the seed again with its trace streamed to `trace.jsonl`; with
/// `record_steps` the rerun keeps its steps for a determinism check.
pub fn write(
    dir: &Path,
    src: &CapsuleSource,
    seed: u64,
    reproduce: &str,
    record_steps: bool,
) -> Result<Rerun, OutputError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join("scenario.ron");
    std::fs::write(&path, src.scenario_text).map_err(io(&path))?;
    if let (resolved, Some(_)) = crate::swarm::resolve(src.scenario, seed) {
        // The seed's drawn configuration as a scenario of its own: `run
        // drawn.ron --seed N` is this run, whatever the draw code becomes.
        let path = dir.join("drawn.ron");
        std::fs::write(&path, drawn_text(&resolved, seed)).map_err(io(&path))?;
    }
    let path = dir.join("REPRODUCE");
    std::fs::write(&path, format!("{reproduce}\n")).map_err(io(&path))?;
    let path = dir.join("trace.jsonl");
    let mut trace = BufWriter::new(File::create(&path).map_err(io(&path))?);
    let wall_started = Instant::now();
    let rerun = crate::sweep::guard::catch(|| {
        // Spelled with `..` on purpose: options added later (a fault tape, ...)
        // keep their defaults here without touching this line.
        #[allow(clippy::needless_update)]
        let options =
            RunOptions { bugs: src.bugs.to_vec(), trace: Some(&mut trace), record_steps, ..Default::default() };
        (src.runner)(src.scenario, seed, options)
    });
    let wall = wall_started.elapsed();
    trace.flush().map_err(io(&path))?;
    let mut bug_names: Vec<String> = src.bugs.iter().map(|b| b.name().to_string()).collect();
    bug_names.extend(src.scenario.bugs.iter().cloned());
    match rerun {
        Ok(report) => {
            let mut summary = Summary::new(&report, src.scenario_file, bug_names, wall, reproduce.to_string());
            summary.scenario_digest = Some(crate::sweep::digest_text(src.scenario_text));
            output::write_run(dir, &report, &summary)?;
            crate::timeline::write_html(dir)?;
            Ok(Rerun::Report(Box::new(report)))
        }
        Err(message) => {
            let summary = PanicSummary {
                scenario: &src.scenario.name,
                scenario_file: src.scenario_file.display().to_string(),
                seed,
                outcome: "internal_error",
                message: &message,
                trace_hash: None,
                bugs: bug_names,
                reproduce,
            };
            let path = dir.join("summary.json");
            let json = serde_json::to_string_pretty(&summary).expect("a summary always serializes");
            std::fs::write(&path, json + "\n").map_err(io(&path))?;
            Ok(Rerun::Panicked(message))
        }
    }
}

/// A capsule read back for `replay`.
#[derive(Debug)]
pub struct Capsule {
    pub dir: PathBuf,
    /// The scenario replayed: the copy beside the summary, else the file the
    /// summary names (a `run --out` folder has no copy).
    pub scenario_file: PathBuf,
    pub scenario: Scenario,
    pub seed: u64,
    pub bugs: Vec<Bug>,
    /// The recorded trace hash; `None` when the recorded run panicked.
    pub trace_hash: Option<u64>,
    pub outcome: String,
    /// The violated invariant the summary records, if any.
    pub invariant: Option<String>,
    /// The fault tape a replay takes its faults from, random faults off:
    /// the scenario's own `faults.tape` if it has one (a shrunk capsule's
    /// scenario is standalone), else the summary's recorded `fault_tape`.
    pub tape: Option<Vec<InjectedFault>>,
    /// The tape differs from the one the recorded run took (its
    /// `fault_tape_digest`): someone edited it, so a replay is a new
    /// experiment, not a check of the recorded run.
    pub tape_changed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CapsuleError {
    #[error("{path}: {message}")]
    Bad { path: PathBuf, message: String },
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenario file is not the one the capsule was recorded with.
    #[error(
        "the capsule's scenario changed: {file} has digest {now}, the capsule recorded {recorded}; a replay of \
         another scenario reproduces nothing (restore the file, or run the new scenario with `restoresim run`)"
    )]
    ScenarioChanged { file: PathBuf, recorded: String, now: String },
}

/// Is `path` a capsule (a folder, or a run's `summary.json`) rather than a
/// scenario file?
pub fn is_capsule(path: &Path) -> bool {
    path.is_dir() || path.extension().is_some_and(|e| e == "json")
}

/// Reads a capsule: a folder holding `summary.json`, or the summary itself.
/// Only the fields replay needs are required, so a capsule whose summary
/// carries more still reads.
pub fn read(path: &Path) -> Result<Capsule, CapsuleError> {
    let (dir, path) = if path.is_dir() {
        (path.to_path_buf(), path.join("summary.json"))
    } else {
        (path.parent().map(Path::to_path_buf).unwrap_or_default(), path.to_path_buf())
    };
    let bad = |message: String| CapsuleError::Bad { path: path.clone(), message };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| bad(format!("cannot read it ({e}); a capsule holds scenario.ron, summary.json and REPRODUCE")))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let seed = json["seed"].as_u64().ok_or_else(|| bad("expected a whole-number `seed`".into()))?;
    let mut bugs = Vec::new();
    for name in json["bugs"].as_array().into_iter().flatten() {
        let name = name.as_str().ok_or_else(|| bad("expected `bugs` to be a list of names".into()))?;
        let bug = Bug::from_name(name).ok_or_else(|| bad(format!("unknown bug '{name}' in `bugs`")))?;
        if !bugs.contains(&bug) {
            bugs.push(bug);
        }
    }
    let trace_hash = match &json["trace_hash"] {
        serde_json::Value::Null => None,
        v => Some(
            v.as_str()
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("expected `trace_hash` as 16 hex digits".into()))?,
        ),
    };
    let named = json["scenario_file"].as_str().map(PathBuf::from);
    let candidates =
        std::iter::once(dir.join("scenario.ron")).chain(named.iter().flat_map(|n| [n.clone(), dir.join(n)]));
    let scenario_file = candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        let named = named.as_ref().map_or(String::new(), |n| format!(" nor the `scenario_file` {}", n.display()));
        bad(format!("no scenario.ron beside it{named}"))
    })?;
    let (scenario, text) = scenario::load_text(&scenario_file)?;
    if let Some(recorded) = json["scenario_digest"].as_str() {
        let now = crate::sweep::digest_text(&text);
        if now != recorded {
            return Err(CapsuleError::ScenarioChanged { file: scenario_file, recorded: recorded.to_string(), now });
        }
    }
    let tape = match json.get("fault_tape") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => {
            let entries: Vec<TapeEntry> =
                serde_json::from_value(v.clone()).map_err(|e| bad(format!("unreadable `fault_tape`: {e}")))?;
            // A configuration swarm's shards are the seed's drawn ones.
            let (drawn, _) = crate::swarm::resolve(&scenario, seed);
            let nodes = crate::restore::node_count(crate::scenario::validate::total_shards(&drawn) as u32);
            Some(tape::from_tape(&entries, nodes).map_err(|e| bad(e.to_string()))?)
        }
    };
    let tape = match &scenario.faults.tape {
        Some(own) => Some(crate::scenario::tape::to_faults(own)),
        None => tape,
    };
    let recorded_digest = match &json["fault_tape_digest"] {
        serde_json::Value::Null => None,
        v => Some(
            v.as_str()
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("expected `fault_tape_digest` as 16 hex digits".into()))?,
        ),
    };
    // Without a recorded digest (an older capsule) the tape counts as the recorded one.
    let tape_changed = match (recorded_digest, &tape) {
        (Some(d), Some(t)) => tape::digest(t) != d,
        _ => false,
    };
    let outcome = json["outcome"].as_str().unwrap_or("unknown").to_string();
    let invariant = json["violation"]["invariant"].as_str().map(str::to_string);
    Ok(Capsule { dir, scenario_file, scenario, seed, bugs, trace_hash, outcome, invariant, tape, tape_changed })
}
