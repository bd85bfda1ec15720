//! Capacity studies (`restoresim study`): one scenario over a grid of
//! parameter values, many seeds per point, with tables, confidence
//! intervals and plots.
//!
//! A study is a sweep per point: each point's scenario is written to
//! `points/NAME.ron` and swept into `points/NAME/` by the sweep machinery
//! (parallel seeds, `results.jsonl` streamed to disk, capsules of failing
//! runs, `--resume`, `--shard`), so each run is exactly
//! `restoresim run points/NAME.ron --seed N`. The study folder adds:
//! - `study-spec.json` — what was asked (study file, its digest with the
//!   base scenario's, seeds, shard, the points), so `--resume` and `merge`
//!   refuse to mix studies;
//! - `study.csv` — one row per (point, seed): axes and metrics as columns;
//! - `study.json` — per point and metric: n, mean with a 95 % CI,
//!   percentiles, extremes; failures by kind; the best point per metric;
//!   wall-clock timing apart;
//! - `plots/METRIC.png`/`.svg` and `REPORT.md`.

pub mod axes;
pub mod file;
pub mod merge;
pub mod metrics;
pub mod profiles;
pub mod report;
pub mod stats;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use file::{Study, is_study, load, parse};

use crate::sweep::{self, Progress, SeedRange, SeedResult, Shard, Sweep, SweepError, SweepSpec};

pub const STUDY_SPEC_FILE: &str = "study-spec.json";
pub const POINTS_DIR: &str = "points";

/// What a study was asked to do; equal specs mean "the same study".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudySpec {
    pub study: String,
    pub study_file: String,
    /// Digest of the study file's text and its base scenario's.
    pub digest: String,
    pub seeds: SeedRange,
    pub shard: Option<Shard>,
    pub max_capsules: Option<u64>,
    /// Point names in grid order.
    pub points: Vec<String>,
}

impl StudySpec {
    pub fn new(study: &Study, shard: Option<Shard>, max_capsules: Option<u64>) -> StudySpec {
        StudySpec {
            study: study.name.clone(),
            study_file: study.file.display().to_string(),
            digest: study.digest.clone(),
            seeds: study.seeds,
            shard,
            max_capsules,
            points: study.points.iter().map(|p| p.name.clone()).collect(),
        }
    }

    pub fn whole(&self) -> StudySpec {
        StudySpec { shard: None, ..self.clone() }
    }
}

/// Reads a study folder's `study-spec.json`.
pub fn read_spec(dir: &Path) -> Result<StudySpec, SweepError> {
    let path = dir.join(STUDY_SPEC_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| SweepError::BadFile {
        path: path.clone(),
        message: format!("cannot read it ({e}): is {} a study's output folder?", dir.display()),
    })?;
    serde_json::from_str(&text).map_err(|e| SweepError::BadFile { path, message: e.to_string() })
}

/// A point's sweep folder and scenario file, relative to the study folder.
pub fn point_dir(name: &str) -> String {
    format!("{POINTS_DIR}/{name}")
}
pub fn point_file(name: &str) -> String {
    format!("{POINTS_DIR}/{name}.ron")
}

/// Hears about the study as it goes. Called from worker threads.
pub trait StudyProgress: Sync {
    /// `to_run` runs are about to run over `points` points; `done_before` were found done.
    fn start(&self, _points: usize, _to_run: u64, _done_before: u64) {}
    fn point_start(&self, _index: usize, _name: &str) {}
    fn run_done(&self, _point: &str, _result: &SeedResult) {}
    fn finish(&self) {}
}

/// Reports nothing.
pub struct QuietStudy;
impl StudyProgress for QuietStudy {}

/// A point's seeds, as the sweep machinery's progress.
struct PointProgress<'a> {
    inner: &'a dyn StudyProgress,
    point: &'a str,
}

impl Progress for PointProgress<'_> {
    fn seed_done(&self, result: &SeedResult) {
        self.inner.run_done(self.point, result);
    }
}

/// One study to run.
pub struct StudyJob<'a> {
    pub study: &'a Study,
    pub spec: StudySpec,
    pub out: PathBuf,
    pub jobs: usize,
    pub resume: bool,
    pub runner: sweep::Runner,
}

/// One point's results, sorted by seed, and its sweep's wall time.
pub struct PointResults {
    pub name: String,
    pub results: Vec<SeedResult>,
    pub wall_ms: u64,
}

/// A finished study.
pub struct StudyDone {
    pub report: report::StudyReport,
    pub points: Vec<PointResults>,
}

/// Runs every point's sweep in grid order, then writes the study's reports.
pub fn run_study(job: &StudyJob, progress: &dyn StudyProgress) -> Result<StudyDone, SweepError> {
    let out = &job.out;
    prepare(job)?;
    let specs: Vec<SweepSpec> = job.study.points.iter().map(|p| point_spec(&job.spec, p)).collect();
    let mut done_before = 0;
    for (p, spec) in job.study.points.iter().zip(&specs) {
        let results = out.join(point_dir(&p.name)).join(sweep::RESULTS_FILE);
        if results.exists() {
            done_before +=
                sweep::results::read(&results, false)?.iter().filter(|r| spec.own_seeds().contains(r.seed)).count()
                    as u64;
        }
    }
    let total: u64 = specs.iter().map(|s| s.own_seeds().len()).sum();
    progress.start(job.study.points.len(), total.saturating_sub(done_before), done_before);
    let mut points = Vec::new();
    for (index, (point, spec)) in job.study.points.iter().zip(specs).enumerate() {
        progress.point_start(index, &point.name);
        let dir = out.join(point_dir(&point.name));
        let resume = dir.join(sweep::SPEC_FILE).exists();
        let sweep = Sweep {
            spec,
            scenario: &point.scenario,
            scenario_text: &point.text,
            bugs: Vec::new(),
            out: dir,
            jobs: job.jobs,
            resume,
            runner: job.runner,
        };
        let done = sweep::run_sweep(&sweep, &PointProgress { inner: progress, point: &point.name })?;
        // Wall time of this session's runs of the point (kept apart from the results).
        let wall_ms = done.summary.timing.wall_ms;
        points.push(PointResults { name: point.name.clone(), results: done.results, wall_ms });
    }
    progress.finish();
    let report = report::write(out, job.study, &job.spec, &points)?;
    Ok(StudyDone { report, points })
}

/// The sweep of one point: its scenario file, the study's seeds and shard.
pub fn point_spec(spec: &StudySpec, point: &file::Point) -> SweepSpec {
    SweepSpec {
        scenario: point.scenario.name.clone(),
        // Relative to the study folder, so the shards of a study agree on it.
        scenario_file: point_file(&point.name),
        scenario_digest: sweep::digest_text(&point.text),
        bugs: Vec::new(),
        seeds: spec.seeds,
        shard: spec.shard,
        check_determinism: None,
        max_capsules: spec.max_capsules,
        required_goals: point.scenario.coverage.require.clone(),
    }
}

/// Creates the folder, `study-spec.json` and the point files, or, resuming,
/// checks the folder holds this study.
fn prepare(job: &StudyJob) -> Result<(), SweepError> {
    let out = &job.out;
    let spec_path = out.join(STUDY_SPEC_FILE);
    if job.resume {
        if !spec_path.exists() {
            return Err(SweepError::Usage(format!(
                "--resume: {} holds no study to resume (no {STUDY_SPEC_FILE}); drop --resume to start one",
                out.display()
            )));
        }
        let found = read_spec(out)?;
        if found != job.spec {
            return Err(SweepError::Usage(format!(
                "--resume: {} holds another study ({} digest {}{}); resume it with the same study file, --shard \
                 and --max-capsules",
                out.display(),
                found.study_file,
                found.digest,
                found.shard.map_or(String::new(), |s| format!(" shard {s}")),
            )));
        }
    } else {
        if spec_path.exists() {
            return Err(SweepError::Usage(format!(
                "{} already holds a study; add --resume to go on with it, or choose another --out",
                out.display()
            )));
        }
        std::fs::create_dir_all(out.join(POINTS_DIR)).map_err(SweepError::io(out))?;
        sweep::write_json(&spec_path, &job.spec)?;
    }
    for p in &job.study.points {
        let path = out.join(point_file(&p.name));
        std::fs::write(&path, &p.text).map_err(SweepError::io(&path))?;
    }
    Ok(())
}

/// The exit code of a study (as a sweep's, DESIGN.md §8): a restore the
/// protocol failed by its deadline is a result of the study, not a failure.
pub fn exit_code(points: &[PointResults]) -> u8 {
    let counted: Vec<SeedResult> = points
        .iter()
        .flat_map(|p| &p.results)
        .filter(|r| metrics::outcome(r) != "failed_by_deadline")
        .cloned()
        .collect();
    sweep::exit_code(&counted, &[])
}
