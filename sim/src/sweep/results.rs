//! `results.jsonl`: one line per seed, appended and flushed as each seed
//! finishes, so a killed sweep keeps everything it finished. Lines arrive in
//! completion order (which depends on `--jobs`); every reader sorts by seed.
//! A line holds only what the seed determines — no wall-clock time — so the
//! same seed gives the same line at any `--jobs`, on any machine.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::SweepError;
use crate::run::{Outcome, RunReport};

/// What became of one seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedOutcome {
    Pass,
    SafetyViolation,
    LivenessViolation,
    /// The run panicked: a bug in a model or in the harness, not a verdict.
    InternalError,
}

impl SeedOutcome {
    pub const ALL: [SeedOutcome; 4] =
        [SeedOutcome::Pass, SeedOutcome::SafetyViolation, SeedOutcome::LivenessViolation, SeedOutcome::InternalError];

    pub fn name(self) -> &'static str {
        match self {
            SeedOutcome::Pass => "pass",
            SeedOutcome::SafetyViolation => "safety_violation",
            SeedOutcome::LivenessViolation => "liveness_violation",
            SeedOutcome::InternalError => "internal_error",
        }
    }
}

impl From<Outcome> for SeedOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Pass => SeedOutcome::Pass,
            Outcome::SafetyViolation => SeedOutcome::SafetyViolation,
            Outcome::LivenessViolation => SeedOutcome::LivenessViolation,
        }
    }
}

/// Whether the seed's run was repeated and gave the same trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Determinism {
    Same,
    Diverged,
}

/// One line of `results.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedResult {
    pub seed: u64,
    pub outcome: SeedOutcome,
    /// The broken invariant's id (`"4-progress-monotonic"`, `"liveness"`), if any.
    pub invariant: Option<String>,
    /// Hex; null when the run panicked.
    pub trace_hash: Option<String>,
    pub events: u64,
    pub virtual_time_us: u64,
    /// The violation's explanation, or the panic's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Null when the seed was not run twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub determinism: Option<Determinism>,
    /// The first divergent event of both runs, when they diverged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divergence: Option<String>,
    /// Coverage goals this seed reached, with how often.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub goals: BTreeMap<String, u64>,
    /// The run's counters (messages, retries, rows re-applied, progress
    /// lag, ...); what a capacity study tabulates. Null when it panicked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<crate::run::metrics::RunMetrics>,
    /// Configuration swarm: the seed's drawn knobs (what `knob_coverage`
    /// in `summary.json` counts).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub drawn: BTreeMap<String, String>,
}

impl SeedResult {
    pub fn from_report(report: &RunReport) -> Self {
        SeedResult {
            seed: report.seed,
            outcome: report.outcome.into(),
            invariant: report.violation.as_ref().map(|v| v.invariant.clone()),
            trace_hash: Some(format!("{:016x}", report.trace_hash)),
            events: report.events,
            virtual_time_us: report.virtual_time_us,
            message: report.violation.as_ref().map(|v| format!("{} ({}): {}", v.invariant, v.event, v.message)),
            determinism: None,
            divergence: None,
            goals: report.coverage.counts.iter().filter(|(_, n)| **n > 0).map(|(g, n)| (g.clone(), *n)).collect(),
            metrics: Some(report.metrics.clone()),
            drawn: report.drawn_config.clone().unwrap_or_default(),
        }
    }

    pub fn panicked(seed: u64, message: String) -> Self {
        SeedResult {
            seed,
            outcome: SeedOutcome::InternalError,
            invariant: None,
            trace_hash: None,
            events: 0,
            virtual_time_us: 0,
            message: Some(message),
            determinism: None,
            divergence: None,
            goals: BTreeMap::new(),
            metrics: None,
            drawn: BTreeMap::new(),
        }
    }

    /// Anything a CI run should fail on, and keep a capsule of.
    pub fn failed(&self) -> bool {
        self.outcome != SeedOutcome::Pass || self.determinism == Some(Determinism::Diverged)
    }
}

/// Reads `results.jsonl`, sorted by seed. A last line cut short by a kill
/// (no newline at its end) is dropped and cut off the file when
/// `repair` is set, so appending can go on; any other bad line is an error.
pub fn read(path: &Path, repair: bool) -> Result<Vec<SeedResult>, SweepError> {
    let file = File::open(path).map_err(SweepError::io(path))?;
    let mut reader = BufReader::new(file);
    let mut results = Vec::new();
    let (mut line, mut good_len, mut number) = (String::new(), 0u64, 0usize);
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(SweepError::io(path))?;
        if n == 0 {
            break;
        }
        number += 1;
        if !line.ends_with('\n') {
            // Killed in the middle of a write: that seed simply did not finish.
            break;
        }
        let result = serde_json::from_str(line.trim_end())
            .map_err(|e| SweepError::BadFile { path: path.to_path_buf(), message: format!("line {number}: {e}") })?;
        results.push(result);
        good_len += n as u64;
    }
    if repair {
        let file = OpenOptions::new().write(true).open(path).map_err(SweepError::io(path))?;
        if file.metadata().map_err(SweepError::io(path))?.len() != good_len {
            file.set_len(good_len).map_err(SweepError::io(path))?;
        }
    }
    sort_unique(results, path)
}

/// Sorts by seed; a seed twice is an error (two sweeps wrote one file).
pub fn sort_unique(mut results: Vec<SeedResult>, source: &Path) -> Result<Vec<SeedResult>, SweepError> {
    results.sort_by_key(|r| r.seed);
    if let Some(w) = results.windows(2).find(|w| w[0].seed == w[1].seed) {
        return Err(SweepError::BadFile {
            path: source.to_path_buf(),
            message: format!("seed {} appears twice", w[0].seed),
        });
    }
    Ok(results)
}

/// Appends lines and flushes each one: after a kill, every line in the file
/// is a seed that finished.
pub struct ResultsWriter {
    file: File,
    path: PathBuf,
}

impl ResultsWriter {
    pub fn append(path: &Path) -> Result<Self, SweepError> {
        let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(SweepError::io(path))?;
        file.seek(SeekFrom::End(0)).map_err(SweepError::io(path))?;
        Ok(ResultsWriter { file, path: path.to_path_buf() })
    }

    pub fn write(&mut self, result: &SeedResult) -> Result<(), SweepError> {
        let mut line = serde_json::to_string(result).expect("a SeedResult always serializes");
        line.push('\n');
        // One write per line: a kill leaves whole lines and at most one torn tail.
        self.file.write_all(line.as_bytes()).map_err(SweepError::io(&self.path))?;
        self.file.flush().map_err(SweepError::io(&self.path))
    }
}

/// Writes results sorted by seed (a merged sweep's file).
pub fn write_sorted(path: &Path, results: &[SeedResult]) -> Result<(), SweepError> {
    let mut text = String::new();
    for r in results {
        text.push_str(&serde_json::to_string(r).expect("a SeedResult always serializes"));
        text.push('\n');
    }
    std::fs::write(path, text).map_err(SweepError::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(seed: u64) -> SeedResult {
        SeedResult::panicked(seed, "boom".into())
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_cut_off() {
        let path = std::env::temp_dir().join(format!("restoresim-results-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut w = ResultsWriter::append(&path).unwrap();
        w.write(&result(7)).unwrap();
        w.write(&result(3)).unwrap();
        drop(w);
        let whole = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"seed\":9,\"outc").unwrap();
        let read_back = read(&path, true).unwrap();
        assert_eq!(read_back.iter().map(|r| r.seed).collect::<Vec<_>>(), [3, 7], "sorted, torn line gone");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_seed_twice_is_an_error() {
        assert!(sort_unique(vec![result(1), result(2), result(1)], Path::new("r.jsonl")).is_err());
    }
}
