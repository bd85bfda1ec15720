//! `restoresim study STUDY`: load and check the study file, run every
//! point's seeds (a sweep per point), show a progress bar over all runs,
//! print where the tables, plots and report are, exit with the study's
//! code. Also the study half of `restoresim merge`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::progress::LineClock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use restoresim::output;
use restoresim::run;
use restoresim::study::{self, StudyDone, StudyJob, StudyProgress, StudySpec, metrics};
use restoresim::sweep::{SeedResult, Shard};

use super::sweep::failure;
use super::{Failure, exit};

/// The arguments of `restoresim study`.
#[derive(clap::Args)]
pub struct StudyArgs {
    /// A study file (see studies/): a base scenario, axes, seeds per point.
    pub study: PathBuf,
    /// Output folder (default: a fresh folder under out/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only part K of N of every point's seeds (K/N, env:VAR/N or auto, as for sweep; see `merge`).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Go on with the study in --out, skipping runs already done.
    #[arg(long)]
    pub resume: bool,
    /// Keep capsules of only the N lowest failing seeds of each point.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_capsules: u64,
}

/// The help text's list of axis paths.
pub fn paths_help() -> String {
    format!("Axis paths: {}.", study::axes::valid_paths())
}

pub fn study(a: StudyArgs) -> Result<u8, Failure> {
    let s = study::load(&a.study).map_err(|e| Failure::new(exit::BAD_INPUT, e))?;
    let spec = StudySpec::new(&s, a.shard, Some(a.max_capsules));
    let out = match (a.out, a.resume) {
        (Some(out), _) => out,
        (None, true) => return Err(Failure::new(exit::USAGE, "--resume needs --out DIR: the study to go on with")),
        (None, false) => {
            let shard = a.shard.map_or(String::new(), |s| format!("-shard{}of{}", s.index, s.count));
            output::fresh_dir(&Path::new("out").join(format!("study-{}{shard}", s.name)))
        }
    };
    let jobs = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        return Err(Failure::new(exit::USAGE, "--jobs must be at least 1"));
    }
    tell!(
        "study {}: {} points x seeds {}{} on {jobs} threads → {}",
        s.name,
        s.points.len(),
        s.seeds,
        a.shard.map_or(String::new(), |k| format!(" (shard {k})")),
        out.display()
    );
    let reporter = Reporter::new(&s.name, &out);
    let job = StudyJob { study: &s, spec, out: out.clone(), jobs, resume: a.resume, runner: run::run };
    let done = study::run_study(&job, &reporter).map_err(failure)?;
    print_summary(&s, &done, &out);
    Ok(done.report.exit_code)
}

/// `merge` of study folders: every point's sweep shards, then the study's reports.
pub fn merge(dirs: &[PathBuf], out: Option<PathBuf>) -> Result<u8, Failure> {
    let spec = study::read_spec(&dirs[0]).map_err(failure)?;
    let file = PathBuf::from(&spec.study_file);
    let s = study::load(&file).map_err(|e| {
        Failure::new(
            exit::BAD_INPUT,
            format!("{e} (merge reads the study file the shards ran, {}, relative to where they ran)", file.display()),
        )
    })?;
    let out = out.unwrap_or_else(|| output::fresh_dir(&Path::new("out").join(format!("merged-study-{}", s.name))));
    let done = study::merge::merge(&s, dirs, &out).map_err(failure)?;
    tell!("merged {} study folders → {}", dirs.len(), out.display());
    print_summary(&s, &done, &out);
    Ok(done.report.exit_code)
}

fn print_summary(s: &study::Study, done: &StudyDone, out: &Path) {
    let r = &done.report;
    let mut counts = std::collections::BTreeMap::new();
    for p in &r.points {
        for (o, n) in &p.outcomes {
            *counts.entry(o.clone()).or_insert(0u64) += n;
        }
    }
    let outcomes: Vec<String> =
        metrics::OUTCOMES.iter().filter_map(|o| counts.get(*o).map(|n| format!("{n} {o}"))).collect();
    say!("study {}: {} points, {} runs: {}", s.name, r.points.len(), r.timing.runs, outcomes.join(", "));
    for m in s.metrics.iter().take(4) {
        if let Some(b) = r.best.get(m.name) {
            say!(
                "  best {:<20} {}  mean {:.1} (95% CI {:.1} – {:.1}) {}",
                m.name,
                b.point,
                b.mean,
                b.ci95[0],
                b.ci95[1],
                m.unit
            );
        }
    }
    say!(
        "  speed         {} runs in {:.1}s: {:.1} runs/s",
        r.timing.runs,
        r.timing.wall_ms as f64 / 1000.0,
        r.timing.runs_per_sec
    );
    let failing: Vec<(&str, &SeedResult)> = done
        .points
        .iter()
        .flat_map(|p| p.results.iter().map(move |r| (p.name.as_str(), r)))
        .filter(|(_, r)| !metrics::ended(r))
        .take(5)
        .collect();
    for (point, r) in &failing {
        say!("{}", failure_line(out, point, r));
    }
    say!("  artifacts     {} (REPORT.md, study.csv, study.json, plots/, points/)", out.display());
}

/// `p03 seed 7: liveness_violation liveness — reproduce: (cd OUT && restoresim run points/p03.ron --seed 7)`
fn failure_line(out: &Path, point: &str, r: &SeedResult) -> String {
    format!(
        "{point} seed {}: {} {} — reproduce: (cd {} && restoresim run {} --seed {})",
        r.seed,
        metrics::outcome(r),
        r.invariant.as_deref().unwrap_or(""),
        out.display(),
        study::point_file(point),
        r.seed
    )
}

const FAILURES_PRINTED: u64 = 10;

/// A bar over all runs of the study (points done, runs/s, ETA), or a plain
/// line every few seconds when stderr is not a terminal.
struct Reporter {
    name: String,
    out: PathBuf,
    bar: Option<ProgressBar>,
    points: AtomicUsize,
    point: AtomicUsize,
    total: AtomicU64,
    done: AtomicU64,
    failures: AtomicU64,
    clock: LineClock,
}

impl Reporter {
    fn new(name: &str, out: &Path) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} runs  {msg}  {rate}  ETA {eta}",
            )
            .expect("the template is valid")
            .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} runs/s", state.per_sec());
            })
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        Reporter {
            name: name.to_string(),
            out: out.to_path_buf(),
            bar,
            points: AtomicUsize::new(0),
            point: AtomicUsize::new(0),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            clock: LineClock::new(),
        }
    }

    fn message(&self) -> String {
        format!(
            "{}/{} points done, {} failures",
            self.point.load(Ordering::Relaxed),
            self.points.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed)
        )
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => tell!("{line}"),
        }
    }

    fn plain_line(&self) -> String {
        let (done, total) = (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed));
        let elapsed = self.clock.elapsed_secs();
        let rate = done as f64 / elapsed;
        let eta = if rate > 0.0 { format!("{:.0}s", total.saturating_sub(done) as f64 / rate) } else { "?".into() };
        format!("study {}: {done}/{total} runs, {}, {rate:.1} runs/s, ETA {eta}", self.name, self.message())
    }
}

impl StudyProgress for Reporter {
    fn start(&self, points: usize, to_run: u64, done_before: u64) {
        self.points.store(points, Ordering::Relaxed);
        self.total.store(to_run, Ordering::Relaxed);
        if done_before > 0 {
            self.say(&format!("resuming: {done_before} runs already done, {to_run} to run"));
        }
        if let Some(bar) = &self.bar {
            bar.set_length(to_run);
            bar.set_message(self.message());
            bar.reset();
        }
        self.clock.restart();
    }

    fn point_start(&self, index: usize, _name: &str) {
        self.point.store(index, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_message(self.message());
        }
    }

    fn run_done(&self, point: &str, r: &SeedResult) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if !metrics::ended(r) {
            let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            if n <= FAILURES_PRINTED {
                self.say(&failure_line(&self.out, point, r));
            } else if n == FAILURES_PRINTED + 1 {
                self.say("more failures: see study.csv and study.json");
            }
        }
        match &self.bar {
            Some(bar) => {
                bar.set_message(self.message());
                bar.inc(1);
            }
            None => {
                if self.clock.line_due() {
                    tell!("{}", self.plain_line());
                }
            }
        }
    }

    fn finish(&self) {
        self.point.store(self.points.load(Ordering::Relaxed), Ordering::Relaxed);
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => tell!("{}", self.plain_line()),
        }
    }
}
