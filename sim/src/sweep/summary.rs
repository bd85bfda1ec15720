//! A sweep's `summary.json` and `junit.xml`, derived from its results sorted
//! by seed and from its spec — never from the order seeds finished in — so a
//! sharded-then-merged sweep writes the same files as a single one. The one
//! exception is `timing` (wall clock): it describes how this sweep ran, and
//! `merge` sums the shards' raw numbers and recomputes the rates.

use std::collections::BTreeMap;

use restoresim_reports::junit::{JunitCase, JunitProblem, JunitSuite, ProblemKind};
use serde::{Deserialize, Serialize};

use super::results::{Determinism, SeedOutcome, SeedResult};
use super::seeds::{SeedRange, Shard};
use super::{SweepSpec, capsule_rel, capsuled, exit_code};

/// Failures listed by seed in `summary.json`; the rest are in results.jsonl.
pub const FAILURES_LISTED: usize = 100;

/// Totals read back from files (`merge`, `--resume`) may be damaged or
/// absurd; a total is capped at `u64::MAX` rather than overflowing.
fn saturating_sum(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0, u64::saturating_add)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub scenario: String,
    pub scenario_file: String,
    /// Bugs planted from the command line (the scenario's own are in its file).
    pub bugs: Vec<String>,
    /// The seeds this summary covers (a shard's own part of the range).
    pub seeds: SeedRange,
    pub shard: Option<Shard>,
    pub seeds_done: u64,
    /// Seeds by outcome: `pass`, `safety_violation`, `liveness_violation`, `internal_error`.
    pub outcomes: BTreeMap<String, u64>,
    /// Violations by invariant id.
    pub invariants: BTreeMap<String, u64>,
    pub determinism: DeterminismCounts,
    /// Virtual time at which every restore had ended, over passing seeds.
    pub completion_time_us: Percentiles,
    /// Events per seed, over all seeds that ran to a verdict.
    pub events: Percentiles,
    pub events_total: u64,
    pub virtual_time_us_total: u64,
    /// The first `FAILURES_LISTED` failing seeds, by seed.
    pub failures: Vec<FailureEntry>,
    /// Says that `failures` is capped, and where the full list is.
    #[serde(default)]
    pub failures_listed: String,
    pub failures_total: u64,
    /// Coverage goals over all seeds: how many seeds reached each, those no
    /// seed reached, and the required ones among them (which fail the sweep).
    #[serde(default)]
    pub coverage: SweepCoverage,
    /// Configuration swarm: per drawn knob, per value, seeds run and failed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub knob_coverage: super::knobs::KnobCoverage,
    /// What `restoresim sweep` / `merge` exits with (docs/design.md §8).
    pub exit_code: u8,
    /// Wall-clock numbers: the only part that differs between equal sweeps.
    pub timing: Timing,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepCoverage {
    /// Per goal, the number of seeds that reached it.
    pub seeds_reaching: BTreeMap<String, u64>,
    pub never_reached: Vec<String>,
    pub required_missing: Vec<String>,
}

impl SweepCoverage {
    pub fn of(results: &[SeedResult], required: &[String]) -> SweepCoverage {
        let mut seeds_reaching: BTreeMap<String, u64> =
            crate::faults::coverage::GOALS.iter().map(|(g, _)| (g.to_string(), 0)).collect();
        for r in results {
            for goal in r.goals.keys() {
                *seeds_reaching.entry(goal.clone()).or_default() += 1;
            }
        }
        let missing = |g: &String| seeds_reaching.get(g).is_none_or(|n| *n == 0);
        SweepCoverage {
            never_reached: seeds_reaching.keys().filter(|g| missing(g)).cloned().collect(),
            required_missing: required.iter().filter(|g| missing(g)).cloned().collect(),
            seeds_reaching,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeterminismCounts {
    /// `"1/20"`, or null when only failing seeds were re-run.
    pub sample: Option<String>,
    pub checked: u64,
    pub diverged: Vec<u64>,
}

/// Nearest-rank percentiles of integer samples (no floating point, so they
/// are exact and equal wherever computed). All zero when there is no sample.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: u64,
}

impl Percentiles {
    pub fn of(mut values: Vec<u64>) -> Self {
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_unstable();
        let n = values.len();
        let rank = |p: usize| values[(p * n).div_ceil(100).max(1) - 1];
        let sum: u128 = values.iter().map(|v| u128::from(*v)).sum();
        Percentiles {
            count: n as u64,
            min: values[0],
            p50: rank(50),
            p90: rank(90),
            p99: rank(99),
            max: values[n - 1],
            mean: (sum / n as u128) as u64,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureEntry {
    pub seed: u64,
    pub outcome: SeedOutcome,
    pub invariant: Option<String>,
    pub diverged: bool,
    pub reproduce: String,
    /// Relative to the sweep's folder; null beyond `--max-capsules`.
    pub capsule: Option<String>,
}

/// How the sweep ran on the wall clock. `merge` adds up the raw sums of
/// its shards (so rates are per machine-second, as if one machine had run
/// all shards in turn) and recomputes the rates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub wall_ms: u64,
    /// Seeds run by this invocation (a resumed sweep does not count the
    /// seeds it found done).
    pub seeds_run: u64,
    pub events_run: u64,
    pub virtual_time_us_run: u64,
    pub seeds_per_sec: f64,
    pub events_per_sec: f64,
    /// Virtual seconds simulated per wall second (all threads together).
    pub simulated_to_wall: f64,
    pub jobs: u64,
    /// Shards summed by `merge`; 1 for a sweep.
    pub parts: u64,
}

impl Timing {
    pub fn new(wall_ms: u64, run: &[&SeedResult], jobs: u64) -> Self {
        let mut t = Timing {
            wall_ms,
            seeds_run: run.len() as u64,
            events_run: saturating_sum(run.iter().map(|r| r.events)),
            virtual_time_us_run: saturating_sum(run.iter().map(|r| r.virtual_time_us)),
            jobs,
            parts: 1,
            ..Timing::default()
        };
        t.rates();
        t
    }

    /// The sum of several sweeps' timings.
    pub fn sum<'a>(parts: impl IntoIterator<Item = &'a Timing>) -> Self {
        let mut t = Timing::default();
        for p in parts {
            t.wall_ms = t.wall_ms.saturating_add(p.wall_ms);
            t.seeds_run = t.seeds_run.saturating_add(p.seeds_run);
            t.events_run = t.events_run.saturating_add(p.events_run);
            t.virtual_time_us_run = t.virtual_time_us_run.saturating_add(p.virtual_time_us_run);
            t.jobs = t.jobs.max(p.jobs);
            t.parts = t.parts.saturating_add(p.parts);
        }
        t.rates();
        t
    }

    fn rates(&mut self) {
        let secs = (self.wall_ms.max(1)) as f64 / 1000.0;
        let round = |x: f64| (x * 10.0).round() / 10.0;
        self.seeds_per_sec = round(self.seeds_run as f64 / secs);
        self.events_per_sec = round(self.events_run as f64 / secs);
        self.simulated_to_wall = round(self.virtual_time_us_run as f64 / 1e6 / secs);
    }
}

/// The summary of `results` (sorted by seed) under `spec`.
pub fn summarize(spec: &SweepSpec, results: &[SeedResult], timing: Timing) -> SweepSummary {
    let mut outcomes: BTreeMap<String, u64> = SeedOutcome::ALL.iter().map(|o| (o.name().to_string(), 0)).collect();
    let mut invariants = BTreeMap::new();
    for r in results {
        *outcomes.entry(r.outcome.name().to_string()).or_default() += 1;
        if let Some(i) = &r.invariant {
            *invariants.entry(i.clone()).or_default() += 1;
        }
    }
    let failing: Vec<&SeedResult> = results.iter().filter(|r| r.failed()).collect();
    let kept = capsuled(spec, results);
    let failures = failing
        .iter()
        .take(FAILURES_LISTED)
        .map(|r| FailureEntry {
            seed: r.seed,
            outcome: r.outcome,
            invariant: r.invariant.clone(),
            diverged: r.determinism == Some(Determinism::Diverged),
            reproduce: spec.reproduce(r.seed),
            capsule: kept.contains(&r.seed).then(|| capsule_rel(r.seed)),
        })
        .collect();
    let ran = || results.iter().filter(|r| r.outcome != SeedOutcome::InternalError);
    let coverage = SweepCoverage::of(results, &spec.required_goals);
    SweepSummary {
        scenario: spec.scenario.clone(),
        scenario_file: spec.scenario_file.clone(),
        bugs: spec.bugs.clone(),
        seeds: spec.own_seeds(),
        shard: spec.shard,
        seeds_done: results.len() as u64,
        outcomes,
        invariants,
        determinism: DeterminismCounts {
            sample: spec.check_determinism.map(|s| s.to_string()),
            checked: results.iter().filter(|r| r.determinism.is_some()).count() as u64,
            diverged: results.iter().filter(|r| r.determinism == Some(Determinism::Diverged)).map(|r| r.seed).collect(),
        },
        completion_time_us: Percentiles::of(
            results.iter().filter(|r| r.outcome == SeedOutcome::Pass).map(|r| r.virtual_time_us).collect(),
        ),
        events: Percentiles::of(ran().map(|r| r.events).collect()),
        events_total: saturating_sum(results.iter().map(|r| r.events)),
        virtual_time_us_total: saturating_sum(results.iter().map(|r| r.virtual_time_us)),
        failures_listed: format!(
            "`failures` lists the first {} of {} failing seeds (at most {FAILURES_LISTED}, by seed); results.jsonl \
             has every seed's line",
            failing.len().min(FAILURES_LISTED),
            failing.len()
        ),
        failures_total: failing.len() as u64,
        failures,
        exit_code: exit_code(results, &coverage.required_missing),
        coverage,
        knob_coverage: super::knobs::of(results),
        timing,
    }
}

/// One test case per seed; a failure carries its reproduce command. No
/// times: they would make equal sweeps' files differ.
pub fn junit(spec: &SweepSpec, results: &[SeedResult]) -> JunitSuite {
    let kept = capsuled(spec, results);
    let cases = results
        .iter()
        .map(|r| {
            let problem = r.failed().then(|| {
                let kind =
                    if r.outcome == SeedOutcome::InternalError { ProblemKind::Error } else { ProblemKind::Failure };
                let what = match (&r.invariant, r.determinism) {
                    (_, Some(Determinism::Diverged)) => "nondeterminism".to_string(),
                    (Some(i), _) => format!("{}: {i}", r.outcome.name()),
                    (None, _) => r.outcome.name().to_string(),
                };
                let capsule = if kept.contains(&r.seed) { capsule_rel(r.seed) } else { "none (--max-capsules)".into() };
                let mut text = format!("reproduce: {}\ncapsule: {capsule}\n", spec.reproduce(r.seed));
                for detail in [&r.message, &r.divergence].into_iter().flatten() {
                    text.push_str(detail);
                    text.push('\n');
                }
                JunitProblem { kind, kind_name: r.outcome.name().to_string(), message: what, text }
            });
            JunitCase { name: format!("seed {}", r.seed), classname: spec.scenario.clone(), problem }
        })
        .collect();
    JunitSuite { name: format!("restoresim sweep {} {}", spec.scenario, spec.seeds), cases }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let p = Percentiles::of((1..=100).rev().collect());
        assert_eq!((p.count, p.min, p.p50, p.p90, p.p99, p.max, p.mean), (100, 1, 50, 90, 99, 100, 50));
        let one = Percentiles::of(vec![7]);
        assert_eq!((one.p50, one.p99, one.max), (7, 7, 7));
        assert_eq!(Percentiles::of(vec![]), Percentiles::default());
    }

    #[test]
    fn timing_sums_raw_numbers_and_recomputes_rates() {
        let a = Timing { wall_ms: 1000, seeds_run: 10, jobs: 2, parts: 1, ..Timing::default() };
        let b = Timing { wall_ms: 3000, seeds_run: 30, jobs: 2, parts: 1, ..Timing::default() };
        let s = Timing::sum([&a, &b]);
        assert_eq!((s.wall_ms, s.seeds_run, s.parts), (4000, 40, 2));
        assert_eq!(s.seeds_per_sec, 10.0);
    }
}
