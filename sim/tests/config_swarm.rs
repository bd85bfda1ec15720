//! The configuration swarm (`scenarios/swarm.ron`, `sim/src/swarm.rs`): a
//! seed's drawn configuration is recorded, is a scenario of its own that
//! runs to the same trace hash, and its capsule replays and shrinks; a
//! sweep counts seeds per drawn knob value.

mod common;

use std::path::Path;

use restoresim::run::{self, Outcome, RunOptions};
use restoresim::scenario;
use restoresim_model::knobs::Bug;

#[test]
fn a_seed_is_the_run_of_its_drawn_scenario_written_out_and_read_back() {
    let s = common::load("swarm.ron");
    for seed in 0..6 {
        let swarm_run = common::run(&s, seed);
        let drawn = swarm_run.drawn_config.clone().expect("swarm.ron draws a configuration");
        assert!(drawn.len() >= 18, "seed {seed}: only {} knobs drawn", drawn.len());
        let (resolved, _) = restoresim::swarm::resolve(&s, seed);
        let text = ron::ser::to_string_pretty(resolved.as_ref(), Default::default()).unwrap();
        let back = scenario::parse(&text, Path::new("drawn.ron")).expect("the drawn scenario reads back");
        // Equal as written (a read-back `Chance` is in parts per million, as
        // every parsed one is: the same probability, drawn the same way).
        let again = ron::ser::to_string_pretty(&back, Default::default()).unwrap();
        assert_eq!(again, text, "seed {seed}: the drawn scenario changed on its way through RON");
        let plain = common::run(&back, seed);
        assert_eq!(plain.trace_hash, swarm_run.trace_hash, "seed {seed}");
        assert_eq!(plain.drawn_config, None);
    }
}

#[test]
fn without_a_bug_every_seed_of_the_swarm_passes() {
    let s = common::load("swarm.ron");
    for seed in 0..40 {
        let r = common::run(&s, seed);
        assert_eq!(r.outcome, Outcome::Pass, "seed {seed} {:?}: {:?}", r.drawn_config, r.violation);
    }
}

#[test]
fn ties_permuted_or_not_both_pass_and_differ() {
    let mut s = common::load("ci-smoke.ron");
    let plain = common::run(&s, 3);
    s.network.permute_ties = true;
    let permuted = common::run(&s, 3);
    assert_eq!((plain.outcome, permuted.outcome), (Outcome::Pass, Outcome::Pass));
    assert_ne!(plain.trace_hash, permuted.trace_hash, "permuting ties changed no order at all");
    assert_eq!(common::run(&s, 3).trace_hash, permuted.trace_hash, "a permutation is one per seed");
}

#[test]
fn a_bug_found_by_the_swarm_is_caught_in_its_drawn_scenario_too() {
    let s = common::load("swarm.ron");
    let bug = Bug::LastKeyRegress;
    let found = (0..200).find_map(|seed| {
        let r = run::run(&s, seed, RunOptions { bugs: vec![bug], ..Default::default() });
        (r.outcome != Outcome::Pass).then_some((seed, r))
    });
    let (seed, r) = found.expect("LastKeyRegress fails some seed of swarm.ron in 0..200");
    let (resolved, _) = restoresim::swarm::resolve(&s, seed);
    let again = run::run(&resolved, seed, RunOptions { bugs: vec![bug], ..Default::default() });
    assert_eq!((again.trace_hash, again.outcome), (r.trace_hash, r.outcome));
}

/// Issue 10's goal, pinned: the swarm alone catches every planted bug
/// within seeds 0..200, at a seed that passes without the bug.
#[test]
fn every_planted_bug_fails_a_seed_of_the_swarm_in_0_to_200() {
    let s = common::load("swarm.ron");
    for bug in Bug::ALL {
        let with = |seed| run::run(&s, seed, RunOptions { bugs: vec![bug], ..Default::default() });
        let seed = (0..200)
            .find(|seed| with(*seed).outcome != Outcome::Pass)
            .unwrap_or_else(|| panic!("{} passes every seed of swarm.ron in 0..200", bug.name()));
        let clean = common::run(&s, seed);
        assert_eq!(clean.outcome, Outcome::Pass, "{} seed {seed} fails without the bug too", bug.name());
    }
}

/// With ties permuted, a replay from the run's fault tape is still the run:
/// the replay schedules the same events in the same order, so the ties
/// stream hands out the same tiebreaks.
#[test]
fn a_swarm_seed_replays_from_its_tape_with_ties_permuted() {
    let s = common::load("swarm.ron");
    let mut faulty = 0;
    for seed in 0..30 {
        let r = common::run(&s, seed);
        let tape: Vec<_> = r.fault_tape.iter().map(|(_, f)| f.clone()).collect();
        faulty += usize::from(!tape.is_empty());
        let again = run::replay(&s, seed, RunOptions::default(), &tape);
        assert_eq!(again.trace_hash, r.trace_hash, "seed {seed} ({} faults on its tape)", tape.len());
    }
    assert!(faulty > 10, "only {faulty} of 30 seeds had a fault");
}

/// Through the binary: a failing swarm seed's capsule holds `drawn.ron`
/// (which alone reproduces the run), replays, and shrinks to a minimal
/// capsule that replays with the same violation.
#[test]
fn a_swarm_capsule_replays_runs_from_drawn_ron_and_shrinks() {
    let dir = common::temp_dir("swarm-capsule");
    let out = dir.to_str().unwrap();
    let sweep = common::restoresim(&[
        "sweep",
        "scenarios/swarm.ron",
        "--seeds",
        "0..1",
        "--bug",
        "LastKeyRegress",
        "--out",
        out,
    ]);
    assert_eq!(sweep.status.code(), Some(1), "{}", common::text(&sweep.stdout));
    let capsule = dir.join("capsules/seed-0");
    let drawn = capsule.join("drawn.ron");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(capsule.join("summary.json")).unwrap()).unwrap();
    assert!(summary["drawn_config"]["workload.tables"].is_string(), "{}", summary["drawn_config"]);
    let rerun = common::restoresim(&[
        "run",
        drawn.to_str().unwrap(),
        "--seed",
        "0",
        "--bug",
        "LastKeyRegress",
        "--out",
        dir.join("rerun").to_str().unwrap(),
    ]);
    assert_eq!(rerun.status.code(), Some(1), "{}", common::text(&rerun.stdout));
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("rerun/summary.json")).unwrap()).unwrap();
    assert_eq!(again["trace_hash"], summary["trace_hash"], "drawn.ron is the seed's run");
    let replay = common::restoresim(&["replay", capsule.to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(1), "{}", common::text(&replay.stdout));
    let min = dir.join("min");
    let shrink = common::restoresim(&["shrink", capsule.to_str().unwrap(), "--out", min.to_str().unwrap()]);
    assert_eq!(shrink.status.code(), Some(0), "{}{}", common::text(&shrink.stdout), common::text(&shrink.stderr));
    let replay = common::restoresim(&["replay", min.to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(1), "{}", common::text(&replay.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}
