//! `restoresim shrink CAPSULE`: reduce a failing capsule to its minimal
//! failing run and write it as a capsule of its own (`restoresim::shrink`
//! does the work); and `sweep --shrink`, which does it for every capsule a
//! sweep kept and puts the minimal one beside it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::progress::LineClock;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use restoresim::capsule;
use restoresim::shrink::{self, ShrinkError, ShrinkOptions, Shrunk, Size};
use restoresim::sweep::{self, SeedResult, SweepSpec};

use super::{Failure, exit, output_failure, report_code};

#[derive(clap::Args)]
pub struct ShrinkArgs {
    /// A sweep capsule folder, a `run --out` folder, or its summary.json.
    pub capsule: PathBuf,
    /// Where to write the minimal capsule (default: beside it, `<capsule>-min`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Stop after this many candidate runs (counted as one thread would run them).
    #[arg(long, default_value_t = 2_000)]
    pub max_runs: u64,
    /// Candidates run in parallel (default: all cores). The result does not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Accept any safety violation, not only the capsule's invariant.
    #[arg(long)]
    pub any_safety: bool,
}

/// A spinner with runs tried and the best size on a terminal; a plain line
/// every few seconds otherwise.
struct Reporter {
    bar: Option<ProgressBar>,
    label: String,
    clock: LineClock,
}

impl Reporter {
    fn new(label: String) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}").expect("the template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Reporter { bar, label, clock: LineClock::new() }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl shrink::Progress for Reporter {
    fn tried(&self, runs: u64, best: &Size) {
        let line = format!("shrink {}: {runs} runs tried, best so far {best}", self.label);
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None => {
                if self.clock.line_due() {
                    tell!("{line}");
                }
            }
        }
    }
}

fn jobs(asked: Option<usize>) -> Result<usize, Failure> {
    let jobs = asked.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        return Err(Failure::new(exit::USAGE, "--jobs must be at least 1"));
    }
    Ok(jobs)
}

/// The minimal capsule's default place: `<capsule folder>-min`.
fn default_out(capsule: &Path) -> PathBuf {
    let dir =
        if capsule.is_dir() { capsule.to_path_buf() } else { capsule.parent().unwrap_or(Path::new(".")).to_path_buf() };
    let name = dir.file_name().map_or("capsule".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!("{name}-min"))
}

pub fn shrink(a: ShrinkArgs) -> Result<u8, Failure> {
    let options = ShrinkOptions { max_runs: a.max_runs, jobs: jobs(a.jobs)?, any_safety: a.any_safety };
    if options.max_runs == 0 {
        return Err(Failure::new(exit::USAGE, "--max-runs must be at least 1"));
    }
    let out = a.out.clone().unwrap_or_else(|| default_out(&a.capsule));
    let (shrunk, written) = shrink_one(&a.capsule, &out, options)?;
    print(&shrunk, &written, &out);
    Ok(0)
}

/// Reads, shrinks and writes one capsule.
fn shrink_one(path: &Path, out: &Path, options: ShrinkOptions) -> Result<(Shrunk, shrink::write::Written), Failure> {
    let c = capsule::read(path).map_err(|e| Failure::new(exit::BAD_INPUT, e))?;
    if c.outcome == "internal_error" {
        return Err(Failure::new(
            exit::BAD_INPUT,
            format!("{}: its run panicked (an internal error); shrink reduces failing runs only", path.display()),
        ));
    }
    let Some(tape) = &c.tape else {
        return Err(Failure::new(
            exit::BAD_INPUT,
            format!("{}: its summary.json has no `fault_tape`, so its faults cannot be replayed", path.display()),
        ));
    };
    let reporter = Reporter::new(format!("{} seed {}", c.scenario.name, c.seed));
    let recorded = shrink::Recorded { outcome: c.outcome.clone(), invariant: c.invariant.clone() };
    let result = shrink::shrink(&c.scenario, c.seed, &c.bugs, tape, Some(&recorded), options, &reporter);
    reporter.finish();
    let shrunk = result.map_err(|e| match e {
        ShrinkError::Panicked(_) => Failure::new(exit::INTERNAL, e),
        e => Failure::new(exit::BAD_INPUT, e),
    })?;
    let written = shrink::write::capsule(out, &shrunk, path, options.max_runs).map_err(|e| match e {
        shrink::write::WriteError::Output(e) => output_failure(e),
        e => Failure::new(exit::INTERNAL, e),
    })?;
    Ok((shrunk, written))
}

fn print(s: &Shrunk, w: &shrink::write::Written, out: &Path) {
    say!("{} seed {}: shrunk ({})", s.report.scenario, s.seed, s.goal.describe());
    say!("  before        {}", s.before);
    say!("  after         {}", s.after);
    let budget = if s.budget_exhausted { " (the --max-runs budget ran out)" } else { "" };
    say!("  runs          {} tried, {} steps accepted{budget}", s.runs, s.steps.len());
    let minimal = if s.one_minimal { "yes (removing any one fault makes it pass)" } else { "not checked to the end" };
    say!("  1-minimal     {minimal}");
    say!("  wall time     {:.1}s", s.wall.as_secs_f64());
    say!("  capsule       {}", out.display());
    say!("\n{}", w.story.trim_end());
    say!("\nreproduce: {}", w.reproduce);
}

/// `sweep --shrink`: the minimal capsule of every kept capsule, beside it
/// (`capsules/seed-N-min/`), and `junit.xml` rewritten so each failure
/// carries the minimal reproduce command and the story's first lines.
pub fn after_sweep(
    dir: &Path,
    spec: &SweepSpec,
    results: &[SeedResult],
    jobs: usize,
    max_runs: u64,
) -> Result<(), Failure> {
    let options = ShrinkOptions { jobs, max_runs: max_runs.max(1), any_safety: false };
    let mut minimal = std::collections::BTreeMap::new();
    for seed in sweep::capsuled(spec, results) {
        let capsule = dir.join(sweep::capsule_rel(seed));
        let out = dir.join(format!("{}-min", sweep::capsule_rel(seed)));
        match shrink_one(&capsule, &out, options) {
            Ok((s, w)) => {
                say!("shrunk seed {seed}: {} → {}; {}", s.before, s.after, w.reproduce);
                minimal.insert(seed, w);
            }
            // One capsule that cannot be shrunk (a panic, a flaky seed) does not stop the others.
            Err(f) => tell!("shrink of seed {seed} skipped: {}", f.message),
        }
    }
    let mut suite = sweep::summary::junit(spec, results);
    for case in &mut suite.cases {
        let seed = case.name.strip_prefix("seed ").and_then(|s| s.parse::<u64>().ok());
        let (Some(w), Some(problem)) = (seed.and_then(|s| minimal.get(&s)), case.problem.as_mut()) else { continue };
        problem.message.push_str(&format!(" — minimal reproduce: {}", w.reproduce));
        problem.text.push_str(&format!("minimal reproduce: {}\nstory:\n", w.reproduce));
        for line in w.story.lines().take(8) {
            problem.text.push_str(line);
            problem.text.push('\n');
        }
    }
    restoresim_reports::write_junit(&suite, &dir.join(sweep::JUNIT_FILE))
        .map_err(|e| Failure::new(report_code(&e), e))?;
    // report.html again, now that the minimal capsules (and their stories) exist.
    let path = dir.join(sweep::SUMMARY_FILE);
    let text =
        std::fs::read_to_string(&path).map_err(|e| Failure::new(exit::IO_ERROR, format!("{}: {e}", path.display())))?;
    let summary: sweep::SweepSummary =
        serde_json::from_str(&text).map_err(|e| Failure::new(exit::BAD_INPUT, format!("{}: {e}", path.display())))?;
    sweep::report::write(dir, &summary).map_err(super::sweep::failure)?;
    Ok(())
}
