//! `restoresim sweep SCENARIO --crash-points TABLET [--bucket K/N] [--seed N]`:
//! the command-line face of `restoresim::faults::crash_points`, one line per
//! point, sequentially (the sweep over seeds is `sweep.rs`).

use std::path::Path;
use std::time::Instant;

use restoresim::faults::CoverageTotals;
use restoresim::faults::crash_points::{self, Bucket, CrashPoint, PointKind};
use restoresim::run::{Outcome, RunReport};
use restoresim::scenario::{self, Scenario, TabletRef};

use super::{Failure, exit, parse_bugs};

fn usage(message: String) -> Failure {
    Failure { code: exit::USAGE, message }
}

/// `seed`: a configuration swarm's DataShards are the seed's drawn ones.
fn check_tablet(tablet: TabletRef, scenario: &Scenario, seed: u64) -> Result<(), Failure> {
    let (drawn, _) = restoresim::swarm::resolve(scenario, seed);
    let shards: u32 = drawn.workload.tables.iter().map(|t| t.shards).sum();
    match tablet {
        TabletRef::DataShard(n) if n >= shards => {
            Err(usage(format!("DataShard {n} does not exist: the scenario has {shards} (0..{shards})")))
        }
        _ => Ok(()),
    }
}

/// `--crash-point` of `run`.
pub fn parse_point(text: &str, scenario: &Scenario, seed: u64) -> Result<CrashPoint, Failure> {
    let point: CrashPoint = text.parse().map_err(usage)?;
    check_tablet(point.tablet, scenario, seed)?;
    Ok(point)
}

/// A `--crash-point` the run never reached (the tablet handled fewer
/// events or commits than it names) is an error, not a silent pass: the
/// run tested nothing the point asked for.
pub fn check_point_reached(point: CrashPoint, text: &str, report: &RunReport) -> Result<(), Failure> {
    let node = restoresim::faults::plan::tablet_node(point.tablet) as usize;
    let name = crash_points::tablet_name(point.tablet);
    let (asked, had, what) = match point.at {
        PointKind::Event(k) => (k, report.node_events.get(node).copied().unwrap_or(0), "events"),
        PointKind::Commit(c) => (c, report.node_commits.get(node).copied().unwrap_or(0), "commits"),
    };
    if had < asked {
        return Err(usage(format!(
            "--crash-point {text} is beyond {name}'s last: it had {had} {what} in this run (try 1..={had}, or \
             `restoresim sweep SCENARIO --crash-points {name}`)"
        )));
    }
    Ok(())
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::SafetyViolation => "SAFETY VIOLATION",
        Outcome::LivenessViolation => "LIVENESS VIOLATION",
    }
}

pub fn sweep(
    path: &Path,
    tablet: &str,
    bucket: Option<&str>,
    seed: Option<u64>,
    bug_names: &[String],
) -> Result<u8, Failure> {
    let mut scenario = scenario::load(path).map_err(|e| Failure { code: exit::BAD_INPUT, message: e.to_string() })?;
    // Planted from the command line: as if the scenario named them, so the
    // reproduce command carries them as `--bug`.
    let bugs = parse_bugs(bug_names)?;
    scenario.bugs.extend(bugs.iter().map(|b| b.name().to_string()));
    let bug_flags: String = bugs.iter().map(|b| format!(" --bug {}", b.name())).collect();
    let tablet = crash_points::parse_tablet(tablet).map_err(usage)?;
    let seed = seed.unwrap_or(scenario.seed);
    check_tablet(tablet, &scenario, seed)?;
    let bucket: Bucket = bucket.map_or(Ok(Bucket::ALL), str::parse).map_err(usage)?;
    let wall_started = Instant::now();
    let name = crash_points::tablet_name(tablet);
    let (traced, counts) = crash_points::trace(&scenario, seed, tablet);
    say!(
        "{} seed {seed}: tracing run {}; {name} handled {} events and completed {} commits",
        scenario.name,
        outcome_name(traced.outcome),
        counts.events,
        counts.commits
    );
    if traced.outcome != Outcome::Pass {
        say!(
            "\nthe scenario fails without any crash point; reproduce: restoresim run {} --seed {seed}{bug_flags}",
            path.display()
        );
        return Ok(traced.outcome.exit_code() as u8);
    }
    let all = crash_points::plan(tablet, counts);
    let points = crash_points::bucket(&all, bucket);
    say!("{} crash points; bucket {}/{} runs {}", all.len(), bucket.k, bucket.n, points.len());
    let mut totals = CoverageTotals::default();
    let (mut passed, mut safety, mut liveness, mut not_reached) = (0u32, 0u32, 0u32, 0u32);
    for point in &points {
        let r = crash_points::run_crash_point(&scenario, seed, *point);
        totals.add(&r.coverage);
        let fired = crash_points::fired(&r, *point);
        not_reached += u32::from(!fired);
        let what = match point.at {
            PointKind::Event(k) => format!("restart after event {k}/{}", counts.events),
            PointKind::Commit(c) => format!("kill on commit {c}/{}", counts.commits),
        };
        let note = if fired { "" } else { "  (not reached in this run)" };
        say!("  {:<24} {what:<30} {}{note}", point.to_string(), outcome_name(r.outcome));
        match r.outcome {
            Outcome::Pass => passed += 1,
            o => {
                if o == Outcome::SafetyViolation {
                    safety += 1;
                } else {
                    liveness += 1;
                }
                if let Some(v) = &r.violation {
                    let at = restoresim::run::record::fmt_time(v.at_us);
                    say!("      {} at {at} ({}): {}", v.invariant, v.event, v.message);
                }
                say!(
                    "      reproduce: restoresim run {} --seed {seed}{bug_flags} --crash-point {point}",
                    path.display()
                );
            }
        }
    }
    say!(
        "{passed}/{} points passed ({safety} safety, {liveness} liveness violations; {not_reached} not reached) in {} ms",
        points.len(),
        wall_started.elapsed().as_millis()
    );
    let missing = totals.missing_required(&scenario.coverage.require);
    if !missing.is_empty() {
        say!("coverage: required goal(s) reached by no run: {}", missing.join(", "));
    }
    Ok(match (safety, liveness, missing.is_empty()) {
        (1.., _, _) => Outcome::SafetyViolation.exit_code() as u8,
        (0, 1.., _) => Outcome::LivenessViolation.exit_code() as u8,
        (0, 0, false) => 1,
        (0, 0, true) => 0,
    })
}
