//! `restoresim explore SCENARIO --faults K`: the command-line face of
//! `restoresim::explore` — console summary, `explore.json`,
//! `failures.jsonl` streamed as failures are found, capsules.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::progress::LineClock;
use std::time::Instant;

use restoresim::explore::report::{self, ExploreJson, FailureLine, Timing};
use restoresim::explore::{self, ExploreSpec, FaultKind};
use restoresim::output;
use restoresim::scenario;

use super::{Failure, exit, io_failure, output_failure, parse_bugs};

/// Most faults per placement: the number of placements grows as
/// (fault points)^K, so K = 3 is already hours for a small scenario.
const MAX_FAULTS: u8 = 3;

#[derive(clap::Args)]
pub struct ExploreArgs {
    pub scenario: PathBuf,
    /// K: place up to this many faults per run (0..=3).
    #[arg(long)]
    pub faults: u8,
    /// Fault kinds to place, comma-separated: drop, duplicate, restart,
    /// kill_on_commit (default: the families the scenario enables).
    #[arg(long, value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// Seed of the workload and latencies (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Plant a bug (repeatable), e.g. --bug NoGenerationCheck.
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    /// Runs in parallel (default: all cores). The result does not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Stop after this many runs (the fault-free run included); the report
    /// says how many placements the bound cut off.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_runs: u64,
    /// Keep capsules of only the first N failing placements (in exploration order).
    #[arg(long, default_value_t = 10)]
    pub max_capsules: usize,
    /// Output folder (default: a fresh folder under out/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run every placement to its end, without state pruning (to measure
    /// what pruning saves; finds the same failures, more slowly).
    #[arg(long)]
    pub no_prune: bool,
}

fn usage(message: impl std::fmt::Display) -> Failure {
    Failure::new(exit::USAGE, message)
}

/// Streams `failures.jsonl`, prints each failure's first line, and a
/// progress line on stderr every few seconds.
struct Stream {
    file: Mutex<(BufWriter<File>, Option<std::io::Error>)>,
    shown: Mutex<usize>,
    clock: LineClock,
}

impl explore::Progress for Stream {
    fn chunk(&self, level: u8, done: u64, of: u64) {
        if self.clock.line_due() {
            tell!("explore: {level} fault(s): {done}/{of} placements run");
        }
    }

    fn failure(&self, f: &explore::Failure) {
        let line = FailureLine::of(f);
        let mut file = self.file.lock().expect("never poisoned");
        let json = serde_json::to_string(&line).expect("a failure line always serializes");
        if file.1.is_none()
            && let Err(e) = writeln!(file.0, "{json}").and_then(|()| file.0.flush())
        {
            file.1 = Some(e);
        }
        let mut shown = self.shown.lock().expect("never poisoned");
        *shown += 1;
        if *shown <= 20 {
            let what = line.violation.as_ref().map_or_else(|| line.outcome.to_string(), |v| v.invariant.clone());
            say!("  placement {}: {} — {what}", line.placement, line.story);
        }
    }
}

pub fn explore(args: ExploreArgs) -> Result<u8, Failure> {
    let (scenario, _text) =
        scenario::load_text(&args.scenario).map_err(|e| Failure::new(exit::BAD_INPUT, e.to_string()))?;
    if scenario.faults.tape.is_some() {
        return Err(usage(format!(
            "{}: the scenario carries a fault tape; explore places its own faults (remove `faults.tape`)",
            args.scenario.display()
        )));
    }
    if args.faults > MAX_FAULTS {
        return Err(usage(format!("--faults {} is too many: at most {MAX_FAULTS}", args.faults)));
    }
    let kinds: Vec<FaultKind> = if args.kinds.is_empty() {
        FaultKind::of_scenario(&scenario)
    } else {
        let mut k =
            args.kinds.iter().map(|s| s.trim().parse()).collect::<Result<Vec<FaultKind>, _>>().map_err(usage)?;
        k.sort_unstable();
        k.dedup();
        k
    };
    if kinds.is_empty() && args.faults > 0 {
        return Err(usage(format!(
            "{} enables no fault family explore places (loss, duplicate, restart or crash, kill_on_commit); \
             name the kinds with --kinds drop,duplicate,restart,kill_on_commit",
            args.scenario.display()
        )));
    }
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        return Err(usage("--jobs must be at least 1"));
    }
    if args.max_runs == 0 {
        return Err(usage("--max-runs must be at least 1 (the fault-free run)"));
    }
    let bugs = parse_bugs(&args.bugs)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let out = args.out.clone().unwrap_or_else(|| {
        output::fresh_dir(&Path::new("out").join(format!("{}-explore", output::safe_name(&scenario.name))))
    });
    std::fs::create_dir_all(&out).map_err(|e| io_failure(&out, e))?;
    let failures_path = out.join("failures.jsonl");
    let file = File::create(&failures_path).map_err(|e| io_failure(&failures_path, e))?;
    let stream =
        Stream { file: Mutex::new((BufWriter::new(file), None)), shown: Mutex::new(0), clock: LineClock::new() };
    let spec = ExploreSpec {
        scenario: &scenario,
        bugs,
        seed,
        faults: args.faults,
        kinds,
        max_runs: args.max_runs,
        jobs,
        keep_runs: false,
        prune: !args.no_prune,
    };
    let kind_names: Vec<&str> = spec.kinds.iter().map(|k| k.name()).collect();
    say!(
        "{} seed {seed}: exploring every placement of up to {} fault(s) ({})",
        scenario.name,
        args.faults,
        kind_names.join(", ")
    );
    let started = Instant::now(); // wall clock: timing only
    let found = explore::explore(&spec, &stream);
    let wall = started.elapsed();
    let (writer, error) = stream.file.into_inner().expect("never poisoned");
    if let Some(e) = error {
        return Err(io_failure(&failures_path, e));
    }
    drop(writer);
    let code = report::exit_code(&found);
    let mut lines: Vec<FailureLine> = Vec::new();
    for (i, f) in found.failures.iter().enumerate() {
        let mut line = FailureLine::of(f);
        if i < args.max_capsules && f.outcome.is_ok() {
            let (dir, reproduce) = report::write_capsule(&out, &spec, &args.scenario, f).map_err(output_failure)?;
            line.capsule = Some(dir.display().to_string());
            line.reproduce = Some(reproduce);
        }
        lines.push(line);
    }
    print_summary(&found, &lines, wall.as_secs_f64(), args.max_runs, !args.no_prune);
    let json = ExploreJson {
        scenario: &scenario.name,
        scenario_file: args.scenario.display().to_string(),
        seed,
        faults: args.faults,
        kinds: &spec.kinds,
        bugs: spec.bugs.iter().map(|b| b.name().to_string()).chain(scenario.bugs.iter().cloned()).collect(),
        fault_free_events: found.baseline_events,
        fault_free_points: found.baseline_points,
        levels: &found.levels,
        explored: found.explored(),
        pruned: found.pruned(),
        states: found.states,
        cut_by_bound: found.cut_by_bound,
        max_runs: args.max_runs,
        pruning: !args.no_prune,
        failures_total: found.failures.len(),
        failures: lines.into_iter().take(100).collect(),
        exit_code: code,
        timing: Timing {
            wall_ms: wall.as_millis() as u64,
            runs_per_sec: (found.explored() as f64 / wall.as_secs_f64().max(1e-9)) as u64,
        },
    };
    let path = out.join("explore.json");
    let text = serde_json::to_string_pretty(&json).expect("explore.json always serializes");
    std::fs::write(&path, text + "\n").map_err(|e| io_failure(&path, e))?;
    say!("  artifacts     {}", out.display());
    Ok(code)
}

fn print_summary(found: &explore::Exploration, lines: &[FailureLine], wall_s: f64, max_runs: u64, pruning: bool) {
    let p = found.baseline_points;
    say!(
        "fault-free run: {} events; fault points: {} sends, {} commits, {} tablet events",
        found.baseline_events,
        p.sends,
        p.commits,
        p.tablet_events
    );
    for l in &found.levels {
        let internal = if l.internal > 0 { format!(", {} internal errors", l.internal) } else { String::new() };
        say!(
            "  {} fault(s): {} placements, {} run, {} pruned at an explored state, {} safety, {} liveness{internal}",
            l.faults,
            l.placements,
            l.run,
            l.pruned,
            l.safety,
            l.liveness
        );
    }
    let states = if pruning { format!("{} distinct states", found.states) } else { "no pruning".into() };
    say!("explored {} placements ({} pruned, {states}) in {wall_s:.1} s", found.explored(), found.pruned());
    if found.cut_by_bound > 0 {
        say!(
            "NOT EXHAUSTIVE: --max-runs {max_runs} cut the search; {} placements were not run (raise --max-runs)",
            found.cut_by_bound
        );
    }
    if lines.is_empty() {
        say!("no failure");
        return;
    }
    say!("{} failing placement(s); the first:", lines.len());
    for line in lines.iter().take(5) {
        say!("  placement {}: {}", line.placement, line.story);
        if let Some(v) = &line.violation {
            say!(
                "      {} at {} ({}): {}",
                v.invariant,
                restoresim::run::record::fmt_time(v.at_us),
                v.event,
                v.message
            );
        }
        if let Some(p) = &line.panic {
            say!("      internal error: {p}");
        }
        if let Some(r) = &line.reproduce {
            say!("      reproduce: {r}");
        }
    }
}
