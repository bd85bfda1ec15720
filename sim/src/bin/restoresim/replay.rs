//! `restoresim replay CAPSULE_OR_SCENARIO`: run a failing seed again. From
//! a capsule (a folder or a run's summary.json), the recorded seed and
//! planted bugs are re-applied to the capsule's scenario, the faults come
//! from its fault tape with random faults off, and the trace hash must match
//! the recorded one (exit 4 if not); otherwise the exit code is the
//! outcome's. `--check-determinism` runs twice and names the first
//! divergent event.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use restoresim::capsule;
use restoresim::engine::InjectedFault;
use restoresim::output::{self, Summary};
use restoresim::run::{self, Outcome, RunOptions, RunReport};
use restoresim::scenario::{self, Scenario};
use restoresim::sweep::guard;
use restoresim_model::knobs::Bug;

use super::{Failure, exit, io_failure, output_failure, parse_bugs};

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// A capsule folder, or a scenario file.
    pub target: PathBuf,
    /// Seed (default: the capsule's, or the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Plant a bug on top of the capsule's (repeatable).
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    /// Run twice and name the first divergent event if the runs differ.
    #[arg(long)]
    pub check_determinism: bool,
    /// Write every processed event to trace.jsonl in --out.
    #[arg(long)]
    pub trace: bool,
    /// Write the run's artifacts here (default with --trace: a fresh folder under out/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What is replayed, and what it must match.
struct Target {
    scenario: Scenario,
    scenario_file: PathBuf,
    seed: u64,
    bugs: Vec<Bug>,
    /// From a capsule, when the seed and bugs are the recorded ones.
    expected_hash: Option<u64>,
    recorded_outcome: Option<String>,
    /// The capsule's fault tape (for its own seed): replayed, random faults off.
    tape: Option<Vec<InjectedFault>>,
    /// The tape was edited since the recorded run: a new experiment.
    tape_changed: bool,
}

impl Target {
    /// One run of the target: from the tape if there is one.
    fn run(&self, options: RunOptions) -> RunReport {
        match &self.tape {
            Some(tape) => run::replay(&self.scenario, self.seed, options, tape),
            None => run::run(&self.scenario, self.seed, options),
        }
    }
}

pub fn replay(a: ReplayArgs) -> Result<u8, Failure> {
    let t = target(&a)?;
    if a.check_determinism {
        let code = check_determinism(&t)?;
        if code != 0 {
            return Ok(code);
        }
    }
    let dir = (a.trace || a.out.is_some()).then(|| {
        a.out.clone().unwrap_or_else(|| {
            output::fresh_dir(&Path::new("out").join(format!(
                "replay-{}-seed{}",
                output::safe_name(&t.scenario.name),
                t.seed
            )))
        })
    });
    let mut trace = match (&dir, a.trace) {
        (Some(dir), true) => {
            std::fs::create_dir_all(dir).map_err(|e| io_failure(dir, e))?;
            let path = dir.join("trace.jsonl");
            let f = File::create(&path).map_err(|e| io_failure(&path, e))?;
            Some(BufWriter::new(f))
        }
        _ => None,
    };
    let wall_started = Instant::now();
    let run = guard::catch(|| {
        let options = RunOptions {
            bugs: t.bugs.clone(),
            trace: trace.as_mut().map(|w| w as &mut dyn Write),
            ..RunOptions::default()
        };
        t.run(options)
    });
    let wall = wall_started.elapsed();
    if let (Some(mut w), Some(dir)) = (trace, &dir) {
        w.flush().map_err(|e| io_failure(&dir.join("trace.jsonl"), e))?;
    }
    let report = match run {
        Ok(r) => r,
        Err(message) => {
            say!("{} seed {}: INTERNAL ERROR\n  {message}", t.scenario.name, t.seed);
            if t.recorded_outcome.as_deref() == Some("internal_error") {
                say!("  (reproduces the capsule's internal error)");
            }
            return Ok(exit::INTERNAL);
        }
    };
    print_report(&t, &report);
    if let Some(tape) = &t.tape {
        say!("  fault tape    {} faults from the capsule's tape, random faults off", tape.len());
        print_unfired(tape, &report);
    }
    if let Some(dir) = &dir {
        let bug_names = t.bugs.iter().map(|b| b.name().to_string()).collect();
        let summary = Summary::new(&report, &t.scenario_file, bug_names, wall, reproduce(&t));
        output::write_run(dir, &report, &summary).map_err(output_failure)?;
        say!("  artifacts     {}", dir.display());
    }
    match t.expected_hash {
        Some(_) if t.tape_changed => {
            say!(
                "  replay        the tape changed since the recorded run: a new experiment (its outcome decides \
                 the exit code; the recorded trace hash does not apply)"
            );
            Ok(report.outcome.exit_code() as u8)
        }
        Some(h) if h != report.trace_hash => {
            say!(
                "\nNONDETERMINISM: the capsule recorded trace hash {h:016x}, this replay gave {:016x}",
                report.trace_hash
            );
            Ok(exit::NONDETERMINISM)
        }
        Some(_) => {
            say!("  replay        same trace hash as the capsule: reproduced");
            Ok(report.outcome.exit_code() as u8)
        }
        None => Ok(report.outcome.exit_code() as u8),
    }
}

fn target(a: &ReplayArgs) -> Result<Target, Failure> {
    let extra = parse_bugs(&a.bugs)?;
    if capsule::is_capsule(&a.target) {
        let c = capsule::read(&a.target).map_err(|e| Failure::new(exit::BAD_INPUT, e))?;
        let same_run = a.seed.is_none_or(|s| s == c.seed) && extra.iter().all(|b| c.bugs.contains(b));
        let mut bugs = c.bugs.clone();
        bugs.extend(extra.into_iter().filter(|b| !c.bugs.contains(b)));
        // The tape anchors faults in the recorded seed's run; another seed
        // draws its own faults.
        let tape = c.tape.filter(|_| a.seed.is_none_or(|s| s == c.seed));
        return Ok(Target {
            scenario_file: c.scenario_file,
            seed: a.seed.unwrap_or(c.seed),
            bugs,
            expected_hash: if same_run { c.trace_hash } else { None },
            recorded_outcome: Some(c.outcome),
            scenario: c.scenario,
            tape_changed: c.tape_changed && tape.is_some(),
            tape,
        });
    }
    let scenario = scenario::load(&a.target).map_err(|e| Failure::new(exit::BAD_INPUT, e))?;
    Ok(Target {
        seed: a.seed.unwrap_or(scenario.seed),
        scenario,
        scenario_file: a.target.clone(),
        bugs: extra,
        expected_hash: None,
        recorded_outcome: None,
        tape_changed: false,
        tape: None,
    })
}

/// Tape entries whose anchor never came (the nth message never happened,
/// the run ended first): said, not silently passed over.
fn print_unfired(tape: &[InjectedFault], report: &RunReport) {
    let mut fired: Vec<&InjectedFault> = report.fault_tape.iter().map(|(_, f)| f).collect();
    let mut unfired = Vec::new();
    for (i, fault) in tape.iter().enumerate() {
        match fired.iter().position(|f| *f == fault) {
            Some(p) => {
                fired.swap_remove(p);
            }
            None => unfired.push(i),
        }
    }
    if unfired.is_empty() {
        return;
    }
    say!("  NOT FIRED     {} tape entries never fired (their anchor never came):", unfired.len());
    let entries = restoresim::faults::tape::to_tape(&tape.iter().map(|f| (0, f.clone())).collect::<Vec<_>>());
    for i in unfired {
        let json = serde_json::to_string(&entries[i].fault).unwrap_or_default();
        say!("    entry {i}: {json}");
    }
}

fn reproduce(t: &Target) -> String {
    let mut cmd = format!("restoresim replay {} --seed {}", t.scenario_file.display(), t.seed);
    for b in &t.bugs {
        cmd.push_str(&format!(" --bug {}", b.name()));
    }
    cmd
}

/// Runs the seed twice keeping every step; 0 when both runs are one run,
/// else prints the first divergent event of both and returns 4.
fn check_determinism(t: &Target) -> Result<u8, Failure> {
    let once = || guard::catch(|| t.run(RunOptions { bugs: t.bugs.clone(), record_steps: true, ..Default::default() }));
    let (a, b) = (once(), once());
    let verdict = match (&a, &b) {
        (Ok(x), Ok(y)) if x.trace_hash == y.trace_hash && x.steps == y.steps => None,
        (Ok(x), Ok(y)) => Some(format!(
            "trace hashes {:016x} and {:016x}; {}",
            x.trace_hash,
            y.trace_hash,
            guard::first_divergence(&x.steps, &y.steps).unwrap_or_default()
        )),
        (Err(m1), Err(m2)) if m1 == m2 => None,
        (x, y) => Some(format!("run 1 {}; run 2 {}", panic_or_events(x), panic_or_events(y))),
    };
    match verdict {
        None => {
            let events = a.as_ref().map_or(0, |r| r.events);
            say!("determinism   two runs of seed {}: the same {events} events", t.seed);
            Ok(0)
        }
        Some(d) => {
            say!("NONDETERMINISM: {} seed {} ran twice differently: {d}", t.scenario.name, t.seed);
            Ok(exit::NONDETERMINISM)
        }
    }
}

fn panic_or_events(r: &Result<RunReport, String>) -> String {
    match r {
        Ok(r) => format!("ended after {} events", r.events),
        Err(m) => m.clone(),
    }
}

fn print_report(t: &Target, r: &RunReport) {
    let outcome = match r.outcome {
        Outcome::Pass => "pass",
        Outcome::SafetyViolation => "SAFETY VIOLATION",
        Outcome::LivenessViolation => "LIVENESS VIOLATION",
    };
    say!("{} seed {}: {outcome}", r.scenario, r.seed);
    if !t.bugs.is_empty() {
        say!("  bugs          {}", t.bugs.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "));
    }
    say!("  events        {} in {} virtual", r.events, run::record::fmt_time(r.virtual_time_us));
    say!("  trace hash    {:016x}", r.trace_hash);
    if let Some(v) = &r.violation {
        say!("  violated      {} at {} ({})", v.invariant, run::record::fmt_time(v.at_us), v.event);
        say!("  {}", v.message);
    }
}
