//! Sweeps (docs/design.md §8): one scenario over a range of seeds, in parallel
//! across seeds only, each seed's run exactly what `run --seed N` gives.
//!
//! A sweep folder holds:
//! - `sweep.json` — the [`SweepSpec`]: what was asked (scenario, its text's
//!   digest, planted bugs, seed range, shard, determinism sample). Written
//!   first, so `--resume` and `merge` can refuse to mix different sweeps.
//! - `results.jsonl` — one [`SeedResult`] line per seed, flushed as it ends.
//! - `summary.json`, `junit.xml`, `sweep.png`/`.svg` (completion-time
//!   histogram, outcomes by invariant), `report.html` (all of it on one
//!   page, with each failure's story and links) — written at the end,
//!   from the results sorted by seed.
//! - `capsules/seed-N/` — one capsule per failing seed (see `crate::capsule`),
//!   or per the `--max-capsules` lowest failing seeds.

pub mod glob;
pub mod guard;
mod keep;
pub mod knobs;
pub mod merge;
pub mod report;
pub mod results;
mod runner;
pub mod seeds;
pub mod summary;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use results::{Determinism, SeedOutcome, SeedResult};
pub use runner::{Progress, Quiet, Runner, Sweep, SweepDone, run_sweep};
pub use seeds::{Sample, SeedRange, Shard};
pub use summary::SweepSummary;

pub const SPEC_FILE: &str = "sweep.json";
pub const RESULTS_FILE: &str = "results.jsonl";
pub const SUMMARY_FILE: &str = "summary.json";
pub const JUNIT_FILE: &str = "junit.xml";
pub const CAPSULES_DIR: &str = "capsules";

/// What a sweep was asked to do; equal specs mean "the same sweep".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepSpec {
    pub scenario: String,
    /// The scenario file as given on the command line (reproduce commands use it).
    pub scenario_file: String,
    /// Digest of the file's text: resuming or merging with an edited
    /// scenario would mix two different sweeps.
    pub scenario_digest: String,
    /// Planted bugs from the command line, in the order given.
    pub bugs: Vec<String>,
    /// The whole range, also for a shard.
    pub seeds: SeedRange,
    pub shard: Option<Shard>,
    /// Re-run one seed in N and compare (failing seeds are always re-run).
    pub check_determinism: Option<Sample>,
    /// Keep capsules of only the N lowest failing seeds (None: of all). By
    /// seed, not by finishing order, so the set is the same at any `--jobs`,
    /// resumed or merged.
    #[serde(default)]
    pub max_capsules: Option<u64>,
    /// Coverage goals the scenario requires (`coverage: (require: [...])`):
    /// the sweep fails when no seed reached one of them.
    #[serde(default)]
    pub required_goals: Vec<String>,
}

impl SweepSpec {
    /// The seeds this sweep runs: its shard's part of the range.
    pub fn own_seeds(&self) -> SeedRange {
        match self.shard {
            Some(s) => self.seeds.shard(s),
            None => self.seeds,
        }
    }

    /// The one command that reproduces `seed`.
    pub fn reproduce(&self, seed: u64) -> String {
        let mut cmd = format!("restoresim run {} --seed {seed}", shell_word(&self.scenario_file));
        for b in &self.bugs {
            cmd.push_str(" --bug ");
            cmd.push_str(b);
        }
        cmd
    }

    /// Is `other` the same sweep (bar the shard)? The scenario is compared
    /// by its text's digest, not by how its path was spelled
    /// (`scenarios/a.ron` and `./scenarios/a.ron` are one scenario).
    pub fn same_sweep(&self, other: &SweepSpec) -> bool {
        let plain = |s: &SweepSpec| SweepSpec { shard: None, scenario_file: String::new(), ..s.clone() };
        plain(self) == plain(other)
    }

    /// The same sweep, unsharded (what `merge` produces).
    pub fn whole(&self) -> SweepSpec {
        SweepSpec { shard: None, ..self.clone() }
    }
}

/// `word` as one shell word: as is when plain, else in single quotes, so a
/// reproduce command can be pasted whatever the path.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The digest `SweepSpec::scenario_digest` holds.
pub fn digest_text(text: &str) -> String {
    format!("{:016x}", crate::engine::trace::digest(text))
}

/// The failing seeds that keep a capsule: the `max_capsules` lowest.
pub fn capsuled(spec: &SweepSpec, sorted: &[SeedResult]) -> BTreeSet<u64> {
    let limit = spec.max_capsules.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    sorted.iter().filter(|r| r.failed()).map(|r| r.seed).take(limit).collect()
}

/// A capsule's folder, relative to the sweep's.
pub fn capsule_rel(seed: u64) -> String {
    format!("{CAPSULES_DIR}/seed-{seed}")
}

/// The exit code of a sweep with these results (docs/design.md §8). When several
/// apply, the one that undermines the others most wins: nondeterminism (4:
/// no reproduce command can be trusted), then an internal error (70: a
/// panic), then safety (1), then liveness (3). A sweep whose seeds all passed
/// but never reached a required coverage goal exits 1 too: it did not test
/// what it claims to.
pub fn exit_code(results: &[SeedResult], required_missing: &[String]) -> u8 {
    let any = |f: &dyn Fn(&SeedResult) -> bool| results.iter().any(f);
    if any(&|r| r.determinism == Some(Determinism::Diverged)) {
        4
    } else if any(&|r| r.outcome == SeedOutcome::InternalError) {
        70
    } else if any(&|r| r.outcome == SeedOutcome::SafetyViolation) {
        1
    } else if any(&|r| r.outcome == SeedOutcome::LivenessViolation) {
        3
    } else if !required_missing.is_empty() {
        1
    } else {
        0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file of a sweep folder that cannot be used as it is.
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    /// The command cannot be carried out as asked (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    #[error(transparent)]
    Report(#[from] restoresim_reports::ReportError),
}

impl SweepError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
        move |source| SweepError::Io { path: path.to_path_buf(), source }
    }
}

/// Reads a sweep folder's `sweep.json`.
pub fn read_spec(dir: &Path) -> Result<SweepSpec, SweepError> {
    let path = dir.join(SPEC_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| SweepError::BadFile {
        path: path.clone(),
        message: format!("cannot read it ({e}): is {} a sweep's output folder?", dir.display()),
    })?;
    let spec: SweepSpec =
        serde_json::from_str(&text).map_err(|e| SweepError::BadFile { path: path.clone(), message: e.to_string() })?;
    // Written by us, but read back from disk: what the command line would
    // have refused is refused here too, before any arithmetic trusts it.
    let shard_ok = spec.shard.is_none_or(|s| s.count >= 1 && (1..=s.count).contains(&s.index));
    let message = if spec.seeds.first >= spec.seeds.end {
        Some(format!("holds the seed range {}, which holds no seed", spec.seeds))
    } else if !shard_ok {
        Some("holds a shard K/N outside 1 <= K <= N".to_string())
    } else if spec.check_determinism.is_some_and(|s| s.every == 0) {
        Some("holds a determinism sample 1/0".to_string())
    } else {
        None
    };
    match message {
        Some(message) => Err(SweepError::BadFile { path, message }),
        None => Ok(spec),
    }
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), SweepError> {
    let json = serde_json::to_string_pretty(value).expect("plain data always serializes");
    std::fs::write(path, json + "\n").map_err(SweepError::io(path))
}

/// Writes `summary.json`, `junit.xml`, the sweep plots and `report.html` from results
/// sorted by seed.
pub fn write_reports(
    dir: &Path,
    spec: &SweepSpec,
    results: &[SeedResult],
    timing: summary::Timing,
) -> Result<SweepSummary, SweepError> {
    let summary = summary::summarize(spec, results, timing);
    write_json(&dir.join(SUMMARY_FILE), &summary)?;
    restoresim_reports::write_junit(&summary::junit(spec, results), &dir.join(JUNIT_FILE))?;
    restoresim_reports::write_sweep_plot(&plot(&summary, results), &dir.join("sweep.png"), &dir.join("sweep.svg"))?;
    report::write(dir, &summary)?;
    Ok(summary)
}

/// The sweep plot's numbers: completion times of passing seeds with their
/// percentiles, and a bar per outcome and per broken invariant.
fn plot(s: &SweepSummary, results: &[SeedResult]) -> restoresim_reports::SweepPlot {
    let c = &s.completion_time_us;
    let mut outcomes = vec![("pass".to_string(), s.outcomes.get("pass").copied().unwrap_or(0))];
    outcomes.extend(s.invariants.iter().map(|(i, n)| (format!("invariant {i}"), *n)));
    let extra = [("internal_error", s.outcomes.get("internal_error").copied().unwrap_or(0))];
    let diverged = [("nondeterminism", s.determinism.diverged.len() as u64)];
    outcomes.extend(extra.into_iter().chain(diverged).filter(|(_, n)| *n > 0).map(|(k, n)| (k.to_string(), n)));
    restoresim_reports::SweepPlot {
        title: format!("{}  seeds {}", s.scenario, s.seeds),
        completion_us: results.iter().filter(|r| r.outcome == SeedOutcome::Pass).map(|r| r.virtual_time_us).collect(),
        marks: if c.count == 0 {
            vec![]
        } else {
            vec![("p50".into(), c.p50), ("p90".into(), c.p90), ("p99".into(), c.p99)]
        },
        outcomes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduce_commands_paste_into_a_shell() {
        let spec = SweepSpec {
            scenario: "s".into(),
            scenario_file: "my scenarios/it's.ron".into(),
            scenario_digest: String::new(),
            bugs: vec!["AckBeforePersist".into()],
            seeds: SeedRange { first: 0, end: 1 },
            shard: None,
            check_determinism: None,
            max_capsules: None,
            required_goals: vec![],
        };
        assert_eq!(spec.reproduce(7), "restoresim run 'my scenarios/it'\\''s.ron' --seed 7 --bug AckBeforePersist");
        let plain = SweepSpec { scenario_file: "scenarios/ci-smoke.ron".into(), ..spec };
        assert_eq!(plain.reproduce(7), "restoresim run scenarios/ci-smoke.ron --seed 7 --bug AckBeforePersist");
    }
}
