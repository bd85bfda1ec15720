//! `restoresim sweep` and `restoresim merge`: parse and check the arguments,
//! hand the work to `restoresim::sweep`, print the outcome, exit with the
//! sweep's code.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use restoresim::output;
use restoresim::run::{self, RunOptions, RunReport};
use restoresim::scenario::{self, Scenario};
use restoresim::sweep::{self, Sample, SeedRange, Shard, Sweep, SweepError, SweepSpec, SweepSummary};

use super::progress::{Reporter, failure_line};
use super::{Failure, exit, output_code, parse_bugs, report_code};

/// The arguments of `restoresim sweep` over a seed range.
#[derive(clap::Args)]
pub struct SweepArgs {
    pub scenario: PathBuf,
    /// Seeds A..B (B excluded), A..=B, or one seed. Required.
    // Optional to clap, checked by `sweep::sweep`: other sweep modes
    // (crash points) can then share the subcommand.
    #[arg(long, value_name = "A..B")]
    pub seeds: Option<SeedRange>,
    /// Threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only part K of N of the seed range (for CI machines; see
    /// `merge`): K/N (1-based), env:VAR/N (VAR holds a 0-based index, e.g.
    /// env:SLURM_ARRAY_TASK_ID/4), or auto (a Slurm job array, or an indexed
    /// Kubernetes Job with RESTORESIM_SHARDS).
    #[arg(long, value_name = "K/N|env:VAR/N|auto")]
    pub shard: Option<Shard>,
    /// Output folder (default: a fresh folder under out/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Go on with the sweep in --out, skipping seeds already in its results.jsonl.
    #[arg(long)]
    pub resume: bool,
    /// Plant a bug (repeatable), e.g. --bug AckBeforePersist.
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    /// Re-run one seed in N (default 1/20) and compare trace hashes; failing
    /// seeds are always re-run. Exit 4 on a mismatch.
    #[arg(long, value_name = "1/N", num_args = 0..=1, default_missing_value = "1/20")]
    pub check_determinism: Option<Sample>,
    /// Keep capsules of only the N lowest failing seeds (default: all).
    #[arg(long, value_name = "N")]
    pub max_capsules: Option<u64>,
    /// Shrink every kept capsule to its minimal failing run, written beside
    /// it as capsules/seed-N-min/ (see `restoresim shrink`).
    #[arg(long)]
    pub shrink: bool,
    /// With --shrink: stop each shrink after this many candidate runs.
    #[arg(long, value_name = "N", default_value_t = 2_000, requires = "shrink")]
    pub shrink_max_runs: u64,
    /// Test hook: panic inside the run of this seed.
    #[arg(long, hide = true)]
    pub inject_panic_at_seed: Option<u64>,
}

/// `--jobs` above this many per core is clamped (with a warning).
const MAX_JOBS_PER_CORE: usize = 4;

/// The seed `--inject-panic-at-seed` names (`u64::MAX`: none).
static PANIC_AT: AtomicU64 = AtomicU64::new(u64::MAX);

/// `run::run`, but panicking on one seed: lets the tests see a panic in a
/// model become that seed's internal error through the real binary.
fn run_or_panic(s: &Scenario, seed: u64, options: RunOptions) -> RunReport {
    if seed == PANIC_AT.load(Ordering::Relaxed) {
        panic!("injected panic for seed {seed} (--inject-panic-at-seed)");
    }
    run::run(s, seed, options)
}

pub fn sweep(a: SweepArgs) -> Result<u8, Failure> {
    let Some(seeds) = a.seeds else {
        return Err(Failure::new(
            exit::USAGE,
            "name the seeds to sweep: --seeds A..B (B excluded), e.g. --seeds 0..1000",
        ));
    };
    let (scenario, text) = scenario::load_text(&a.scenario).map_err(|e| Failure::new(exit::BAD_INPUT, e))?;
    let bugs = parse_bugs(&a.bugs)?;
    let spec = SweepSpec {
        scenario: scenario.name.clone(),
        scenario_file: a.scenario.display().to_string(),
        scenario_digest: sweep::digest_text(&text),
        bugs: bugs.iter().map(|b| b.name().to_string()).collect(),
        seeds,
        shard: a.shard,
        check_determinism: a.check_determinism,
        max_capsules: a.max_capsules,
        required_goals: scenario.coverage.require.clone(),
    };
    if spec.own_seeds().is_empty() {
        let shard = a.shard.map_or(String::new(), |s| s.to_string());
        return Err(Failure::new(exit::USAGE, format!("shard {shard} of {seeds} holds no seed")));
    }
    let out = match (a.out, a.resume) {
        (Some(out), _) => out,
        (None, true) => return Err(Failure::new(exit::USAGE, "--resume needs --out DIR: the sweep to go on with")),
        (None, false) => {
            let shard = a.shard.map_or(String::new(), |s| format!("-shard{}of{}", s.index, s.count));
            output::fresh_dir(
                &Path::new("out").join(format!("sweep-{}-{seeds}{shard}", output::safe_name(&scenario.name))),
            )
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut jobs = a.jobs.unwrap_or(cores);
    if jobs == 0 {
        return Err(Failure::new(exit::USAGE, "--jobs must be at least 1"));
    }
    // Results do not depend on --jobs; a thread per seed of a huge number
    // would only exhaust memory.
    let max_jobs = MAX_JOBS_PER_CORE * cores;
    if jobs > max_jobs {
        tell!("warning: --jobs {jobs} is more than {MAX_JOBS_PER_CORE} per core; using {max_jobs}");
        jobs = max_jobs;
    }
    let runner: sweep::Runner = match a.inject_panic_at_seed {
        Some(seed) => {
            PANIC_AT.store(seed, Ordering::Relaxed);
            run_or_panic
        }
        None => run::run,
    };
    let own = spec.own_seeds();
    tell!(
        "sweep {} seeds {own}{} on {jobs} threads → {}",
        scenario.name,
        a.shard.map_or(String::new(), |s| format!(" (shard {s} of {seeds})")),
        out.display()
    );
    let reporter = Reporter::new(&spec);
    let job = Sweep {
        spec,
        scenario: &scenario,
        scenario_text: &text,
        bugs,
        out: out.clone(),
        jobs,
        resume: a.resume,
        runner,
    };
    let done = sweep::run_sweep(&job, &reporter).map_err(failure)?;
    if a.shrink {
        super::shrink::after_sweep(&out, &job.spec, &done.results, jobs, a.shrink_max_runs)?;
    }
    print_summary(&job.spec, &done.summary, &done.results, &out);
    Ok(done.summary.exit_code)
}

pub fn merge(dirs: &[PathBuf], out: Option<PathBuf>) -> Result<u8, Failure> {
    let dirs = &sweep::glob::expand(dirs).map_err(failure)?;
    if dirs.is_empty() {
        return Err(Failure::new(
            exit::USAGE,
            "name the sweep folders to merge, e.g. restoresim merge shard-1 shard-2",
        ));
    }
    if dirs[0].join(restoresim::study::STUDY_SPEC_FILE).exists() {
        return super::study::merge(dirs, out);
    }
    let out = match out {
        Some(out) => out,
        None => {
            let spec = sweep::read_spec(&dirs[0]).map_err(failure)?;
            output::fresh_dir(&Path::new("out").join(format!(
                "merged-{}-{}",
                output::safe_name(&spec.scenario),
                spec.seeds
            )))
        }
    };
    let merged = sweep::merge::merge(dirs, &out).map_err(failure)?;
    tell!("merged {} folders → {}", dirs.len(), out.display());
    print_summary(&merged.spec, &merged.summary, &merged.results, &out);
    Ok(merged.summary.exit_code)
}

pub(super) fn failure(e: SweepError) -> Failure {
    let code = match &e {
        SweepError::Usage(_) => exit::USAGE,
        SweepError::BadFile { .. } => exit::BAD_INPUT,
        SweepError::Io { source, .. } => output_code(source),
        SweepError::Output(o) => super::output_error_code(o),
        SweepError::Report(r) => report_code(r),
    };
    Failure::new(code, e)
}

/// The end of a sweep, for a person: counts, completion times, failures
/// with their reproduce commands and capsules, speed, where the files are.
fn print_summary(spec: &SweepSpec, s: &SweepSummary, results: &[sweep::SeedResult], dir: &Path) {
    let count = |k: &str| s.outcomes.get(k).copied().unwrap_or(0);
    let verdict = match s.exit_code {
        0 => "pass".to_string(),
        4 => "NONDETERMINISM".to_string(),
        _ if s.failures_total == 0 => "REQUIRED COVERAGE NOT REACHED".to_string(),
        _ => format!("{} failing seeds", s.failures_total),
    };
    say!("{} seeds {}: {verdict}", s.scenario, s.seeds);
    say!(
        "  outcomes      {} pass, {} safety violations, {} liveness violations, {} internal errors",
        count("pass"),
        count("safety_violation"),
        count("liveness_violation"),
        count("internal_error")
    );
    for (invariant, n) in &s.invariants {
        say!("  invariant     {invariant}: {n}");
    }
    let c = &s.completion_time_us;
    let t = run::record::fmt_time;
    if c.count > 0 {
        say!("  completion    p50 {}  p90 {}  p99 {}  max {} (virtual)", t(c.p50), t(c.p90), t(c.p99), t(c.max));
    }
    let cov = &s.coverage;
    let reached = cov.seeds_reaching.len() - cov.never_reached.len();
    say!("  coverage      {reached}/{} goals reached by some seed", cov.seeds_reaching.len());
    if !cov.required_missing.is_empty() {
        say!("  coverage      required goal(s) reached by no seed: {}", cov.required_missing.join(", "));
    }
    if !s.knob_coverage.is_empty() {
        say!("  knobs         seeds per drawn value (summary.json `knob_coverage`):");
        for line in sweep::knobs::lines(&s.knob_coverage) {
            say!("    {line}");
        }
    }
    let d = &s.determinism;
    let sample = d.sample.as_deref().map_or("failing seeds only".into(), |x| format!("sample {x} + failing seeds"));
    say!("  determinism   {} seeds run twice ({sample}), {} diverged", d.checked, d.diverged.len());
    let tm = &s.timing;
    say!(
        "  speed         {} seeds in {:.1}s: {:.1} seeds/s, {:.2} M events/s, {:.0}x virtual time, {} threads",
        tm.seeds_run,
        tm.wall_ms as f64 / 1000.0,
        tm.seeds_per_sec,
        tm.events_per_sec / 1e6,
        tm.simulated_to_wall,
        tm.jobs
    );
    let failing: Vec<_> = results.iter().filter(|r| r.failed()).take(5).collect();
    if !failing.is_empty() {
        say!();
        let kept = sweep::capsuled(spec, results);
        for r in &failing {
            say!("{}", failure_line(spec, r));
            if kept.contains(&r.seed) {
                say!("  capsule: {}", dir.join(sweep::capsule_rel(r.seed)).display());
            }
        }
        if s.failures_total > failing.len() as u64 {
            say!("... and {} more in {}", s.failures_total - failing.len() as u64, dir.join("summary.json").display());
        }
        say!();
    }
    let capsules = if s.failures_total > 0 { ", capsules/" } else { "" };
    say!(
        "  artifacts     {} (sweep.json, results.jsonl, summary.json, junit.xml, sweep.png, sweep.svg{capsules})",
        dir.display()
    );
}
