//! Artifacts of a run (docs/design.md §8): `summary.json`, `progress.png`,
//! `progress.svg`, `log.txt` (the short log); `trace.jsonl` is streamed by
//! the run itself.

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use crate::faults::FaultCounts;
use crate::faults::{Coverage, SwarmProfile, TapeEntry};
use crate::run::{Outcome, RestoreSummary, RunReport, ViolationReport};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Plot(#[from] restoresim_reports::ReportError),
    #[error(transparent)]
    Timeline(#[from] crate::timeline::TimelineError),
}

/// `summary.json` of one run.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    pub scenario: &'a str,
    pub scenario_file: String,
    /// Digest of the scenario file's text: `replay` refuses a capsule
    /// whose scenario was edited since (`null` when not known).
    pub scenario_digest: Option<String>,
    pub seed: u64,
    pub outcome: Outcome,
    pub violation: &'a Option<ViolationReport>,
    /// Hex, so JSON readers never round it.
    pub trace_hash: String,
    pub events: u64,
    pub virtual_time_us: u64,
    pub wall_ms: u64,
    pub events_per_sec: u64,
    pub bugs: Vec<String>,
    pub restores: &'a [RestoreSummary],
    pub messages: u64,
    pub commits: u64,
    pub faults: FaultCounts,
    pub reproduce: String,
    /// Messages lost to partitions, and held back to be reordered.
    pub partition_drops: u64,
    pub reordered: u64,
    /// Swarm mode: the seed's drawn fault mix (`null` otherwise).
    pub swarm_profile: &'a Option<SwarmProfile>,
    /// Configuration swarm: the seed's drawn knobs and workload shape
    /// (`null` otherwise); a capsule's `drawn.ron` is the whole scenario.
    pub drawn_config: &'a Option<crate::swarm::DrawnConfig>,
    pub coverage: &'a Coverage,
    /// The faults came from a tape (`restoresim replay`), not the seed.
    pub replayed: bool,
    /// Every injected fault with its logical anchor: `restoresim replay` input.
    pub fault_tape: Vec<TapeEntry>,
    /// `faults::tape::digest` of `fault_tape`: `replay` compares it with the
    /// tape it replays to tell an edited tape from a moved run.
    pub fault_tape_digest: String,
}

impl<'a> Summary<'a> {
    pub fn new(
        report: &'a RunReport,
        scenario_file: &Path,
        bugs: Vec<String>,
        wall: std::time::Duration,
        reproduce: String,
    ) -> Self {
        let wall_ms = wall.as_millis() as u64;
        let events_per_sec = (report.events as f64 / wall.as_secs_f64().max(1e-6)) as u64;
        let s = report.stats;
        Summary {
            scenario: &report.scenario,
            scenario_file: scenario_file.display().to_string(),
            scenario_digest: None,
            seed: report.seed,
            outcome: report.outcome,
            violation: &report.violation,
            trace_hash: format!("{:016x}", report.trace_hash),
            events: report.events,
            virtual_time_us: report.virtual_time_us,
            wall_ms,
            events_per_sec,
            bugs,
            restores: &report.restores,
            messages: s.messages_sent,
            commits: s.commits,
            faults: report.faults(),
            reproduce,
            partition_drops: s.partition_drops,
            reordered: s.reordered,
            swarm_profile: &report.swarm_profile,
            drawn_config: &report.drawn_config,
            coverage: &report.coverage,
            replayed: report.replayed,
            fault_tape: crate::faults::tape::to_tape(&report.fault_tape),
            fault_tape_digest: format!("{:016x}", crate::faults::tape::digest(&tape_only(&report.fault_tape))),
        }
    }
}

fn tape_only(tape: &[(u64, crate::engine::InjectedFault)]) -> Vec<crate::engine::InjectedFault> {
    tape.iter().map(|(_, f)| f.clone()).collect()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// Writes everything but the trace into `dir` (created if missing).
pub fn write_run(dir: &Path, report: &RunReport, summary: &Summary) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join("summary.json");
    let json =
        serde_json::to_string_pretty(summary).map_err(|e| OutputError::Io { path: path.clone(), source: e.into() })?;
    std::fs::write(&path, json + "\n").map_err(io(&path))?;
    let path = dir.join("log.txt");
    std::fs::write(&path, report.log.join("\n") + "\n").map_err(io(&path))?;
    restoresim_reports::write_run_plot(&report.plot, &dir.join("progress.png"), &dir.join("progress.svg"))?;
    Ok(())
}

/// `name` as one safe file name: a scenario's `name` must not steer where
/// files go (`"../../x"` or `"/etc/x"` stays under `out/`). Letters,
/// digits, `-`, `_` and inner `.` are kept, anything else becomes `_`;
/// at most 64 characters; never empty, `.` or `..`.
pub fn safe_name(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .take(64)
        .collect();
    safe = safe.trim_start_matches('.').to_string();
    if safe.is_empty() { "scenario".to_string() } else { safe }
}

/// `base`, or `base-2`, `base-3`, ... : the first that does not exist yet.
pub fn fresh_dir(base: &Path) -> PathBuf {
    if !base.exists() {
        return base.to_path_buf();
    }
    (2..).map(|i| PathBuf::from(format!("{}-{i}", base.display()))).find(|p| !p.exists()).expect("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn a_scenario_name_cannot_leave_the_output_folder() {
        for (name, safe) in [
            ("quickstart", "quickstart"),
            ("../../x", "_.._x"),
            ("/etc/passwd", "_etc_passwd"),
            ("..", "scenario"),
            ("", "scenario"),
            (".hidden", "hidden"),
            ("a b/c", "a_b_c"),
        ] {
            assert_eq!(safe_name(name), safe, "{name}");
            assert!(!safe_name(name).contains('/'));
        }
        assert_eq!(safe_name(&"x".repeat(300)).len(), 64);
    }
}
