//! How a sweep shows it is alive: on a terminal an indicatif bar (seeds/s,
//! failures so far, ETA); otherwise (CI logs) a plain line every few
//! seconds. Either way the first failures are printed as they happen, each
//! with its reproduce command.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use restoresim::sweep::{Progress, SeedResult, SweepSpec};

/// Failures printed one by one; the rest are counted (summary.json lists them).
const FAILURES_PRINTED: u64 = 10;
/// Between two plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// The wall clock of a progress display (sweep, study, shrink, explore):
/// when the work started, for rates and ETAs, and when the last plain line
/// was printed. It paces what stderr shows and nothing else.
pub struct LineClock(Mutex<(Instant, Instant)>);

impl LineClock {
    pub fn new() -> Self {
        let now = Instant::now();
        LineClock(Mutex::new((now, now)))
    }

    /// Start counting again (a sweep or study that resumed).
    pub fn restart(&self) {
        let now = Instant::now();
        *self.0.lock().expect("never poisoned") = (now, now);
    }

    /// Seconds since the start, never zero (it divides rates).
    pub fn elapsed_secs(&self) -> f64 {
        self.0.lock().expect("never poisoned").0.elapsed().as_secs_f64().max(1e-3)
    }

    /// True at most once every `LINE_EVERY`: time for a plain line.
    pub fn line_due(&self) -> bool {
        let mut clock = self.0.lock().expect("never poisoned");
        let due = clock.1.elapsed() >= LINE_EVERY;
        if due {
            clock.1 = Instant::now();
        }
        due
    }
}

pub struct Reporter {
    spec: SweepSpec,
    bar: Option<ProgressBar>,
    total: AtomicU64,
    done: AtomicU64,
    failures: AtomicU64,
    clock: LineClock,
}

impl Reporter {
    pub fn new(spec: &SweepSpec) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} seeds  {rate}  {msg}  ETA {eta}",
            )
            .expect("the template is valid")
            .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} seeds/s", state.per_sec());
            })
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message("0 failures");
            bar
        });
        Reporter {
            spec: spec.clone(),
            bar,
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            clock: LineClock::new(),
        }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => tell!("{line}"),
        }
    }

    fn plain_line(&self) -> String {
        let (done, total) = (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed));
        let failures = self.failures.load(Ordering::Relaxed);
        let elapsed = self.clock.elapsed_secs();
        let rate = done as f64 / elapsed;
        let eta = if rate > 0.0 { format!("{:.0}s", (total - done) as f64 / rate) } else { "?".into() };
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        format!(
            "sweep {}: {done}/{total} seeds ({percent}%), {failures} failures, {rate:.1} seeds/s, ETA {eta}",
            self.spec.scenario
        )
    }
}

impl Progress for Reporter {
    fn start(&self, to_run: u64, done_before: u64) {
        self.total.store(to_run, Ordering::Relaxed);
        if done_before > 0 {
            self.say(&format!("resuming: {done_before} seeds already done, {to_run} to run"));
        }
        if let Some(bar) = &self.bar {
            bar.set_length(to_run);
            bar.reset();
        }
        self.clock.restart();
    }

    fn seed_done(&self, r: &SeedResult) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if r.failed() {
            let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            if n <= FAILURES_PRINTED {
                self.say(&failure_line(&self.spec, r));
            } else if n == FAILURES_PRINTED + 1 {
                self.say("more failures: see summary.json and results.jsonl");
            }
            if let Some(bar) = &self.bar {
                bar.set_message(format!("{n} failures"));
            }
        }
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => {
                if self.clock.line_due() {
                    tell!("{}", self.plain_line());
                }
            }
        }
    }

    fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => tell!("{}", self.plain_line()),
        }
    }
}

/// `seed 17: safety_violation 4-progress-monotonic — reproduce: restoresim run ...`
pub fn failure_line(spec: &SweepSpec, r: &SeedResult) -> String {
    let what = match (&r.invariant, &r.divergence) {
        (_, Some(_)) => "NONDETERMINISM".to_string(),
        (Some(i), None) => format!("{} {i}", r.outcome.name()),
        (None, None) => r.outcome.name().to_string(),
    };
    let mut line = format!("seed {}: {what} — reproduce: {}", r.seed, spec.reproduce(r.seed));
    if r.divergence.is_none()
        && let Some(m) = r.message.as_ref().filter(|_| r.invariant.is_none())
    {
        line.push_str(&format!("\n  {m}"));
    }
    if let Some(d) = &r.divergence {
        line.push_str(&format!("\n  {d}"));
    }
    line
}
