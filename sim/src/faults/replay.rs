//! Reading what `restoresim replay` replays: a capsule (a run's folder, or
//! its `summary.json`) holds the scenario file (or a copy, `scenario.ron`,
//! beside it), the seed, the planted bugs and the fault tape.

use std::path::{Path, PathBuf};

use restoresim_model::knobs::Bug;
use serde::Deserialize;

use super::tape::{self, TapeEntry};
use crate::engine::InjectedFault;
use crate::scenario::{self, Scenario, ScenarioError};

/// The fields of `summary.json` a replay needs; the rest are ignored.
#[derive(Debug, Deserialize)]
struct CapsuleSummary {
    scenario_file: String,
    seed: u64,
    #[serde(default)]
    bugs: Vec<String>,
    fault_tape: Vec<TapeEntry>,
    trace_hash: String,
}

/// A run to replay.
#[derive(Debug)]
pub struct Capsule {
    pub summary_file: PathBuf,
    pub scenario_file: PathBuf,
    pub scenario: Scenario,
    pub seed: u64,
    pub bugs: Vec<Bug>,
    pub tape: Vec<InjectedFault>,
    /// As recorded (hex).
    pub trace_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CapsuleError {
    #[error("{path}: {message}")]
    Bad { path: PathBuf, message: String },
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

/// Is `path` a capsule (a folder or a `.json` file) rather than a scenario?
pub fn is_capsule(path: &Path) -> bool {
    path.is_dir() || path.extension().is_some_and(|e| e == "json")
}

pub fn load(path: &Path) -> Result<Capsule, CapsuleError> {
    let (dir, summary_file) = if path.is_dir() {
        (path.to_path_buf(), path.join("summary.json"))
    } else {
        (path.parent().map(Path::to_path_buf).unwrap_or_default(), path.to_path_buf())
    };
    let bad = |message: String| CapsuleError::Bad { path: summary_file.clone(), message };
    let text = std::fs::read_to_string(&summary_file).map_err(|e| bad(format!("cannot read the capsule: {e}")))?;
    let summary: CapsuleSummary = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not a run summary with scenario_file, seed and fault_tape: {e}")))?;
    // A copy beside the summary wins: the scenario file may have changed since.
    let candidates =
        [dir.join("scenario.ron"), PathBuf::from(&summary.scenario_file), dir.join(&summary.scenario_file)];
    let scenario_file = candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        bad(format!("the scenario \"{}\" is not found (nor scenario.ron beside the summary)", summary.scenario_file))
    })?;
    let scenario = scenario::load(&scenario_file)?;
    let mut bugs = Vec::new();
    for name in &summary.bugs {
        let bug = Bug::from_name(name).ok_or_else(|| bad(format!("unknown planted bug \"{name}\" in `bugs`")))?;
        if !bugs.contains(&bug) {
            bugs.push(bug);
        }
    }
    let nodes = crate::restore::node_count(scenario.workload.tables.iter().map(|t| t.shards).sum());
    let tape = tape::from_tape(&summary.fault_tape, nodes).map_err(|e| bad(e.to_string()))?;
    Ok(Capsule {
        summary_file,
        scenario_file,
        scenario,
        seed: summary.seed,
        bugs,
        tape,
        trace_hash: summary.trace_hash,
    })
}
