//! The sweep loop: seeds in parallel on a rayon pool of `--jobs` threads
//! (the only place threads exist; each seed's run is single-threaded and
//! owns all its state, so its result cannot depend on the pool), one result
//! line appended per finished seed, a capsule per failure, a second run
//! for sampled and failing seeds, and the reports at the end.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use restoresim_model::knobs::Bug;

use super::guard::{self, first_divergence};
use super::keep::{self, Keeper};
use super::results::{self, Determinism, ResultsWriter, SeedResult};
use super::summary::Timing;
use super::{RESULTS_FILE, SPEC_FILE, SweepError, SweepSpec, capsule_rel, read_spec, write_json};
use crate::capsule::{self, CapsuleSource, Rerun};
use crate::run::{RunOptions, RunReport};
use crate::scenario::Scenario;

/// How one seed is run: `run::run`, or a stand-in in tests.
pub type Runner = fn(&Scenario, u64, RunOptions) -> RunReport;

/// Hears about the sweep as it goes (a progress bar, plain lines, nothing).
/// Called from the worker threads.
pub trait Progress: Sync {
    /// `to_run` seeds are about to run; `done_before` were found done (resume).
    fn start(&self, _to_run: u64, _done_before: u64) {}
    fn seed_done(&self, _result: &SeedResult) {}
    fn finish(&self) {}
}

/// Reports nothing.
pub struct Quiet;
impl Progress for Quiet {}

/// One sweep to run.
pub struct Sweep<'a> {
    pub spec: SweepSpec,
    pub scenario: &'a Scenario,
    /// The scenario file's text, copied into capsules.
    pub scenario_text: &'a str,
    pub bugs: Vec<Bug>,
    pub out: PathBuf,
    /// Threads; results do not depend on it.
    pub jobs: usize,
    /// Go on with the sweep already in `out`, skipping the seeds it finished.
    pub resume: bool,
    pub runner: Runner,
}

/// A finished sweep.
pub struct SweepDone {
    pub summary: super::SweepSummary,
    /// Every seed's result, sorted by seed.
    pub results: Vec<SeedResult>,
}

/// Runs the sweep and writes its folder.
pub fn run_sweep(sweep: &Sweep, progress: &dyn Progress) -> Result<SweepDone, SweepError> {
    let out = &sweep.out;
    let done = prepare(sweep)?;
    let done_seeds: BTreeSet<u64> = done.iter().map(|r| r.seed).collect();
    let keeper = Keeper::new(&sweep.spec, out, &done);
    let todo: Vec<u64> = sweep.spec.own_seeds().iter().filter(|s| !done_seeds.contains(s)).collect();
    let writer = Mutex::new(ResultsWriter::append(&out.join(RESULTS_FILE))?);
    let failure: Mutex<Option<SweepError>> = Mutex::new(None);
    let stop = AtomicBool::new(false);
    let ran = Mutex::new(Vec::new());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(sweep.jobs.max(1))
        .thread_name(|i| format!("sweep-{i}"))
        .build()
        .map_err(|e| SweepError::Usage(format!("cannot start {} threads: {e}", sweep.jobs)))?;
    progress.start(todo.len() as u64, done.len() as u64);
    let wall_started = Instant::now();
    pool.install(|| {
        // One seed per task: seeds differ a lot in cost, and a failing one
        // also writes a capsule.
        todo.par_iter().with_max_len(1).for_each(|&seed| {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            // A panic outside the runs (drawing a capsule's plot, say) is
            // still this seed's internal error, not the sweep's end.
            let guarded = guard::catch(|| run_seed(sweep, &keeper, seed));
            let seed_result = guarded.unwrap_or_else(|m| Ok(SeedResult::panicked(seed, format!("harness {m}"))));
            let outcome = seed_result.and_then(|r| {
                writer.lock().expect("no panic holds the lock").write(&r)?;
                Ok(r)
            });
            match outcome {
                Ok(r) => {
                    progress.seed_done(&r);
                    ran.lock().expect("no panic holds the lock").push(r);
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    failure.lock().expect("no panic holds the lock").get_or_insert(e);
                }
            }
        });
    });
    let wall_ms = wall_started.elapsed().as_millis() as u64;
    progress.finish();
    if let Some(e) = failure.into_inner().expect("no panic holds the lock") {
        return Err(e);
    }
    let results = results::read(&out.join(RESULTS_FILE), false)?;
    let expected = sweep.spec.own_seeds();
    if results.len() as u64 != expected.len() || results.iter().any(|r| !expected.contains(r.seed)) {
        return Err(SweepError::BadFile {
            path: out.join(RESULTS_FILE),
            message: format!("holds {} results, expected exactly the seeds {expected}", results.len()),
        });
    }
    for seed in keep::reconcile(&sweep.spec, out, &results)? {
        // Only after a kill at an unlucky moment: a kept seed without its capsule.
        let _rerun = write_capsule(sweep, seed)?;
    }
    let ran = ran.into_inner().expect("no panic holds the lock");
    let timing = Timing::new(wall_ms, &ran.iter().collect::<Vec<_>>(), sweep.jobs as u64);
    let summary = super::write_reports(out, &sweep.spec, &results, timing)?;
    Ok(SweepDone { summary, results })
}

/// Creates the folder and `sweep.json`, or, resuming, checks the folder is
/// this sweep's and returns the results it already has.
fn prepare(sweep: &Sweep) -> Result<Vec<SeedResult>, SweepError> {
    let out = &sweep.out;
    let results_path = out.join(RESULTS_FILE);
    if sweep.resume {
        if !out.join(SPEC_FILE).exists() {
            return Err(SweepError::Usage(format!(
                "--resume: {} holds no sweep to resume (no {SPEC_FILE}); drop --resume to start one",
                out.display()
            )));
        }
        let found = read_spec(out)?;
        if !found.same_sweep(&sweep.spec) || found.shard != sweep.spec.shard {
            return Err(SweepError::Usage(format!(
                "--resume: {} holds another sweep ({} seeds {}{}, bugs [{}], digest {}); resume it with the same \
                 scenario file, --seeds, --shard, --bug and --check-determinism",
                out.display(),
                found.scenario_file,
                found.seeds,
                found.shard.map_or(String::new(), |s| format!(" shard {s}")),
                found.bugs.join(", "),
                found.scenario_digest,
            )));
        }
        return if results_path.exists() { results::read(&results_path, true) } else { Ok(Vec::new()) };
    }
    if results_path.exists() || out.join(SPEC_FILE).exists() {
        return Err(SweepError::Usage(format!(
            "{} already holds a sweep; add --resume to go on with it, or choose another --out",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(SweepError::io(out))?;
    write_json(&out.join(SPEC_FILE), &sweep.spec)?;
    Ok(Vec::new())
}

/// One seed: its run, and for a failing or sampled seed a second run
/// (capsule, determinism check).
fn run_seed(sweep: &Sweep, keeper: &Keeper, seed: u64) -> Result<SeedResult, SweepError> {
    let sampled = sweep.spec.check_determinism.is_some_and(|s| s.takes(seed));
    let first = guard::catch(|| (sweep.runner)(sweep.scenario, seed, options(sweep, sampled)));
    let mut result = match &first {
        // The seed asked for names the line, whatever the runner reported.
        Ok(report) => SeedResult { seed, ..SeedResult::from_report(report) },
        Err(message) => SeedResult::panicked(seed, message.clone()),
    };
    let failing = result.failed();
    let second = if failing && keeper.admit(seed) {
        // The capsule's run is the second run: every failing seed is checked.
        Some(write_capsule(sweep, seed)?)
    } else if failing || sampled {
        Some(guard::catch(|| (sweep.runner)(sweep.scenario, seed, options(sweep, true))))
    } else {
        None
    };
    if let Some(second) = second {
        let divergence = compare(sweep, seed, &first, &second);
        result.determinism = Some(if divergence.is_some() { Determinism::Diverged } else { Determinism::Same });
        result.divergence = divergence;
    }
    if !failing && result.failed() && keeper.admit(seed) {
        // A passing seed that diverged: its capsule's own run is a third
        // sample of the seed, kept for the person who reads it.
        let _third = write_capsule(sweep, seed)?;
    }
    Ok(result)
}

fn options(sweep: &Sweep, record_steps: bool) -> RunOptions<'static> {
    RunOptions { bugs: sweep.bugs.clone(), record_steps, ..RunOptions::default() }
}

fn write_capsule(sweep: &Sweep, seed: u64) -> Result<Result<RunReport, String>, SweepError> {
    let src = CapsuleSource {
        scenario: sweep.scenario,
        scenario_text: sweep.scenario_text,
        scenario_file: Path::new(&sweep.spec.scenario_file),
        bugs: &sweep.bugs,
        runner: sweep.runner,
    };
    let dir = sweep.out.join(capsule_rel(seed));
    Ok(match capsule::write(&dir, &src, seed, &sweep.spec.reproduce(seed), true)? {
        Rerun::Report(r) => Ok(*r),
        Rerun::Panicked(m) => Err(m),
    })
}

/// `None` when both runs of `seed` are the same run; else what differs,
/// down to the first divergent event when both kept their steps (if the
/// first did not, a third run with steps is compared with the second).
fn compare(sweep: &Sweep, seed: u64, a: &Result<RunReport, String>, b: &Result<RunReport, String>) -> Option<String> {
    let hashes = |x: &RunReport, y: &RunReport| {
        format!("seed {seed} ran twice with trace hashes {:016x} and {:016x}", x.trace_hash, y.trace_hash)
    };
    match (a, b) {
        (Ok(x), Ok(y)) if x.trace_hash == y.trace_hash && x.events == y.events => None,
        (Ok(x), Ok(y)) if !x.steps.is_empty() && !y.steps.is_empty() => {
            Some(format!("{}; {}", hashes(x, y), first_divergence(&x.steps, &y.steps).unwrap_or_default()))
        }
        (Ok(x), Ok(y)) => {
            let third = guard::catch(|| (sweep.runner)(sweep.scenario, seed, options(sweep, true)));
            let detail = match &third {
                Ok(z) if z.trace_hash != y.trace_hash => first_divergence(&y.steps, &z.steps).unwrap_or_default(),
                Ok(_) => "a third run agrees with the second; the first kept no steps to compare".into(),
                Err(m) => format!("a third run {m}"),
            };
            Some(format!("{}; {detail}", hashes(x, y)))
        }
        (Err(m), Ok(y)) => {
            Some(format!("seed {seed}: run 1 {m}; run 2 ended {:?} after {} events", y.outcome, y.events))
        }
        (Ok(x), Err(m)) => {
            Some(format!("seed {seed}: run 1 ended {:?} after {} events; run 2 {m}", x.outcome, x.events))
        }
        (Err(m1), Err(m2)) if m1 == m2 => None,
        (Err(m1), Err(m2)) => Some(format!("seed {seed} panicked differently: run 1 {m1}; run 2 {m2}")),
    }
}
