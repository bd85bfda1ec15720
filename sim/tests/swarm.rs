//! Swarm mode: the default protocol survives every seed's fault mix, and a
//! run replayed from its fault tape is the same run.

mod common;

use restoresim::engine::InjectedFault;
use restoresim::faults::CoverageTotals;
use restoresim::run::{self, Outcome, RunOptions, RunReport};
use restoresim::scenario::Scenario;

fn tape(r: &RunReport) -> Vec<InjectedFault> {
    r.fault_tape.iter().map(|(_, f)| f.clone()).collect()
}

/// Runs `seeds` of `s`; every one must pass, and every `replay_every`-th is
/// replayed from its tape and must give the same trace hash.
fn sweep(s: &Scenario, seeds: std::ops::RangeInclusive<u64>, replay_every: u64) -> (u64, CoverageTotals, [u64; 9]) {
    let (mut events, mut failed) = (0, Vec::new());
    let mut totals = CoverageTotals::default();
    let mut families = [0u64; 9];
    for seed in seeds.clone() {
        let r = common::run(s, seed);
        events += r.events;
        totals.add(&r.coverage);
        for (i, (_, n)) in r.faults().families().iter().enumerate() {
            families[i] += n;
        }
        if r.outcome != Outcome::Pass {
            failed.push(format!(
                "seed {seed}: {:?} {:?}\n  profile {:?}\n  reproduce: restoresim run scenarios/swarm.ron --seed {seed}",
                r.outcome, r.violation, r.swarm_profile
            ));
            continue;
        }
        if seed % replay_every == 0 {
            let again = run::replay(s, seed, RunOptions::default(), &tape(&r));
            assert_eq!(again.trace_hash, r.trace_hash, "seed {seed}: the replay from the tape is another run");
        }
    }
    assert!(failed.is_empty(), "{} of {} seeds failed:\n{}", failed.len(), seeds.count(), failed.join("\n"));
    (events, totals, families)
}

/// Every 5th of the first 100 seeds replayed from its tape is the same run.
#[test]
fn swarm_first_100_seeds_pass_and_replay() {
    let s = common::load("swarm.ron");
    let started = std::time::Instant::now();
    let (events, ..) = sweep(&s, 1..=100, 5);
    eprintln!("100 swarm seeds: {events} events in {:?}", started.elapsed());
}

/// The default protocol survives 1,000 seeds of swarm.ron (~3 s at the test
/// profile's opt-level 1; every 50th seed is also replayed from its tape).
#[test]
fn swarm_1000_seeds_pass() {
    let s = common::load("swarm.ron");
    let started = std::time::Instant::now();
    let (events, totals, families) = sweep(&s, 1..=1_000, 50);
    eprintln!("1000 swarm seeds: {events} events in {:?}", started.elapsed());
    assert!(families.iter().all(|n| *n > 0), "every family fired somewhere: {families:?}");
    assert_eq!(totals.never_reached(), Vec::<String>::new(), "1,000 seeds reach every goal and transition");
}

/// Exploration, not a check: many more seeds, failures listed (with a
/// planted bug, counted by invariant). `SWARM_SEEDS=A..B` (default 1..10000),
/// `SWARM_FILE=other.ron`, `SWARM_BUG=LastKeyRegress`.
#[test]
#[ignore = "exploration: SWARM_SEEDS=A..B cargo test --test swarm explore -- --ignored"]
fn explore() {
    let s = match std::env::var("SWARM_FILE") {
        Ok(path) => restoresim::scenario::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}")),
        Err(_) => common::load("swarm.ron"),
    };
    let range = std::env::var("SWARM_SEEDS").unwrap_or_else(|_| "1..10000".into());
    let (a, b) = range.split_once("..").expect("A..B");
    let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
    let started = std::time::Instant::now();
    let mut failed = 0;
    let bugs: Vec<_> =
        std::env::var("SWARM_BUG").ok().and_then(|b| restoresim_model::knobs::Bug::from_name(&b)).into_iter().collect();
    let mut by_invariant = std::collections::BTreeMap::new();
    for seed in a..b {
        let r = run::run(&s, seed, RunOptions { bugs: bugs.clone(), ..RunOptions::default() });
        if r.outcome != Outcome::Pass {
            *by_invariant.entry(r.violation.as_ref().map(|v| v.invariant.clone())).or_insert(0) += 1;
            failed += 1;
            if bugs.is_empty() {
                eprintln!(
                    "seed {seed}: {:?} {:?}\n  {:?}",
                    r.outcome,
                    r.violation.as_ref().map(|v| &v.message),
                    r.swarm_profile.as_ref().map(|p| &p.on)
                );
            }
        }
    }
    eprintln!("{} seeds, {failed} failed {by_invariant:?}, {:?}", b - a, started.elapsed());
}
