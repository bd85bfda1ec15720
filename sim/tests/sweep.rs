//! Sweeps in-process: a seed's result does not depend on `--jobs`; a panic
//! is one seed's internal error and the sweep goes on; a nondeterministic
//! run is caught and its first divergent event named; a resumed sweep and a
//! sharded-then-merged one end with the files a single run writes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use restoresim::run::{self, RunOptions, RunReport};
use restoresim::scenario::Scenario;
use restoresim::sweep::{
    self, Determinism, Quiet, Runner, SeedOutcome, SeedRange, SeedResult, Shard, Sweep, SweepDone, SweepError,
    SweepSpec,
};
use restoresim_model::knobs::Bug;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("restoresim-sweep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn spec(file: &str, seeds: &str, bugs: &[Bug]) -> SweepSpec {
    let text = std::fs::read_to_string(common::workspace().join("scenarios").join(file)).unwrap();
    SweepSpec {
        scenario: String::new(),
        scenario_file: format!("scenarios/{file}"),
        scenario_digest: sweep::digest_text(&text),
        bugs: bugs.iter().map(|b| b.name().to_string()).collect(),
        seeds: seeds.parse().unwrap(),
        shard: None,
        check_determinism: None,
        max_capsules: None,
        required_goals: vec![],
    }
}

/// Runs a sweep of `spec` into `out`.
fn sweep_with(spec: &SweepSpec, out: &Path, jobs: usize, runner: Runner) -> Result<SweepDone, SweepError> {
    let file = spec.scenario_file.trim_start_matches("scenarios/");
    let scenario = common::load(file);
    let text = std::fs::read_to_string(common::workspace().join(&spec.scenario_file)).unwrap();
    let bugs = spec.bugs.iter().map(|b| Bug::from_name(b).unwrap()).collect();
    let spec = SweepSpec { scenario: scenario.name.clone(), ..spec.clone() };
    let job = Sweep {
        spec,
        scenario: &scenario,
        scenario_text: &text,
        bugs,
        out: out.to_path_buf(),
        jobs,
        resume: out.join(sweep::SPEC_FILE).exists(),
        runner,
    };
    sweep::run_sweep(&job, &Quiet)
}

/// `summary.json` without its wall-clock part.
fn summary_json(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(sweep::SUMMARY_FILE)).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("timing");
    v
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn per_seed_results_are_the_same_at_any_jobs() {
    let spec = spec("ci-smoke.ron", "0..10", &[]);
    let (one, two) = (temp_dir("jobs1"), temp_dir("jobs2"));
    let a = sweep_with(&spec, &one, 1, run::run).unwrap();
    let b = sweep_with(&spec, &two, 2, run::run).unwrap();
    assert_eq!(a.results, b.results);
    assert_eq!(a.results.len(), 10);
    assert!(a.results.iter().all(|r| r.trace_hash.is_some() && r.events > 0));
    assert_eq!(summary_json(&one), summary_json(&two));
    assert_eq!(read(&one, sweep::JUNIT_FILE), read(&two, sweep::JUNIT_FILE));
    // And each line is what `run --seed N` gives.
    let direct = common::run(&common::load("ci-smoke.ron"), 7);
    assert_eq!(a.results[7], SeedResult::from_report(&direct));
    let _ = (std::fs::remove_dir_all(&one), std::fs::remove_dir_all(&two));
}

fn panics_on_seed_3(s: &Scenario, seed: u64, options: RunOptions) -> RunReport {
    assert_ne!(seed, 3, "a model bug that only seed 3 reaches");
    run::run(s, seed, options)
}

#[test]
fn a_panic_is_that_seeds_internal_error_and_the_sweep_goes_on() {
    let dir = temp_dir("panic");
    let done = sweep_with(&spec("quickstart.ron", "0..6", &[]), &dir, 2, panics_on_seed_3).unwrap();
    let three = &done.results[3];
    assert_eq!(three.outcome, SeedOutcome::InternalError);
    let message = three.message.as_deref().unwrap();
    assert!(message.contains("only seed 3 reaches") && message.contains("sweep.rs"), "{message}");
    assert!(done.results.iter().filter(|r| r.seed != 3).all(|r| r.outcome == SeedOutcome::Pass));
    assert_eq!(done.summary.exit_code, 70);
    let capsule = dir.join("capsules/seed-3");
    assert_eq!(read(&capsule, "REPRODUCE"), "restoresim run scenarios/quickstart.ron --seed 3\n");
    assert!(read(&capsule, "summary.json").contains("internal_error"));
    let junit = read(&dir, sweep::JUNIT_FILE);
    assert!(junit.contains("errors=\"1\"") && junit.contains("<error type=\"internal_error\""), "{junit}");
    let _ = std::fs::remove_dir_all(&dir);
}

static CALLS: Mutex<BTreeMap<u64, u64>> = Mutex::new(BTreeMap::new());

/// Every second run of a seed is another run: a stand-in for a model that
/// reads a clock or iterates a HashMap.
fn nondeterministic(s: &Scenario, seed: u64, options: RunOptions) -> RunReport {
    let calls = {
        let mut calls = CALLS.lock().unwrap();
        let n = calls.entry(seed).or_default();
        *n += 1;
        *n
    };
    run::run(s, if calls % 2 == 0 { seed + 1000 } else { seed }, options)
}

#[test]
fn nondeterminism_is_caught_and_its_first_divergent_event_named() {
    let dir = temp_dir("nondeterminism");
    let spec = SweepSpec { check_determinism: Some("1/1".parse().unwrap()), ..spec("quickstart.ron", "0..2", &[]) };
    let done = sweep_with(&spec, &dir, 1, nondeterministic).unwrap();
    for r in &done.results {
        assert_eq!(r.determinism, Some(Determinism::Diverged), "{r:?}");
        let d = r.divergence.as_deref().unwrap();
        assert!(d.contains("first divergent event #") && d.contains("run 1: #") && d.contains("run 2: #"), "{d}");
        assert!(dir.join(sweep::capsule_rel(r.seed)).join("REPRODUCE").exists());
    }
    assert_eq!(done.summary.exit_code, 4);
    assert_eq!(done.summary.determinism.diverged, [0, 1]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sample_of_seeds_is_run_twice_and_agrees() {
    let dir = temp_dir("sample");
    let spec = SweepSpec { check_determinism: Some("1/3".parse().unwrap()), ..spec("quickstart.ron", "0..7", &[]) };
    let done = sweep_with(&spec, &dir, 2, run::run).unwrap();
    let checked: Vec<u64> = done.results.iter().filter(|r| r.determinism.is_some()).map(|r| r.seed).collect();
    assert_eq!(checked, [0, 3, 6], "seeds with seed % 3 == 0");
    assert!(done.results.iter().all(|r| r.determinism != Some(Determinism::Diverged)));
    assert_eq!(done.summary.exit_code, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shards_merged_equal_a_single_sweep() {
    // AckBeforePersist fails some quickstart seeds: capsules travel too.
    let whole = spec("quickstart.ron", "0..12", &[Bug::AckBeforePersist]);
    let single = temp_dir("single");
    let done = sweep_with(&whole, &single, 2, run::run).unwrap();
    assert!(done.summary.failures_total > 0, "the bug must fail a seed for this test to mean something");
    let shards: Vec<PathBuf> = (1..=3)
        .map(|k| {
            let dir = temp_dir(&format!("shard{k}"));
            let spec = SweepSpec { shard: Some(Shard { index: k, count: 3 }), ..whole.clone() };
            let part = sweep_with(&spec, &dir, 1, run::run).unwrap();
            assert_eq!(part.results.len(), 4);
            dir
        })
        .collect();
    let merged = temp_dir("merged");
    sweep::merge::merge(&[shards[2].clone(), shards[0].clone(), shards[1].clone()], &merged).unwrap();
    assert_eq!(summary_json(&merged), summary_json(&single));
    assert_eq!(read(&merged, sweep::JUNIT_FILE), read(&single, sweep::JUNIT_FILE));
    let sorted = |dir: &Path| {
        let mut lines: Vec<String> = read(dir, sweep::RESULTS_FILE).lines().map(String::from).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&merged), sorted(&single));
    for f in &done.summary.failures {
        let capsule = f.capsule.as_deref().expect("every failure keeps a capsule by default");
        assert!(merged.join(capsule).join("trace.jsonl").exists(), "capsule {capsule} merged");
    }
    // A missing shard, or one given twice, is refused.
    let err = sweep::merge::merge(&shards[..2], &temp_dir("merged-partial")).err().unwrap();
    assert!(err.to_string().contains("missing: 8..12"), "{err}");
    let err = sweep::merge::merge(&[shards[0].clone(), shards[0].clone()], &temp_dir("merged-twice")).err().unwrap();
    assert!(err.to_string().contains("both hold shard 1/3"), "{err}");
    for dir in shards.iter().chain([&single, &merged]) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_resumed_sweep_ends_like_an_uninterrupted_one() {
    let spec = spec("quickstart.ron", "0..10", &[]);
    let (whole, cut) = (temp_dir("uncut"), temp_dir("cut"));
    sweep_with(&spec, &whole, 2, run::run).unwrap();
    sweep_with(&spec, &cut, 2, run::run).unwrap();
    // As if killed: four whole lines and a torn fifth, no summary.
    let lines: Vec<String> = read(&cut, sweep::RESULTS_FILE).lines().map(String::from).collect();
    let kept = lines[..4].join("\n") + "\n" + &lines[4][..10];
    std::fs::write(cut.join(sweep::RESULTS_FILE), kept).unwrap();
    std::fs::remove_file(cut.join(sweep::SUMMARY_FILE)).unwrap();
    let resumed = sweep_with(&spec, &cut, 1, run::run).unwrap();
    assert_eq!(resumed.summary.timing.seeds_run, 6, "only the missing seeds ran");
    assert_eq!(summary_json(&cut), summary_json(&whole));
    // Resuming with another sweep's parameters is refused.
    let other = SweepSpec { seeds: SeedRange { first: 0, end: 11 }, ..spec.clone() };
    let err = sweep_with(&other, &cut, 1, run::run).err().unwrap();
    assert!(matches!(err, SweepError::Usage(_)) && err.to_string().contains("another sweep"), "{err}");
    let _ = (std::fs::remove_dir_all(&whole), std::fs::remove_dir_all(&cut));
}

#[test]
fn max_capsules_keeps_the_lowest_failing_seeds_single_or_sharded() {
    let whole = SweepSpec { max_capsules: Some(2), ..spec("quickstart.ron", "0..8", &[Bug::NoStageBarrier]) };
    let capsules = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(sweep::CAPSULES_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let single = temp_dir("cap-single");
    let done = sweep_with(&whole, &single, 2, run::run).unwrap();
    let failing: Vec<u64> = done.results.iter().filter(|r| r.failed()).map(|r| r.seed).collect();
    assert!(failing.len() > 2, "the bug must fail more seeds than are kept: {failing:?}");
    let expected: Vec<String> = failing[..2].iter().map(|s| format!("seed-{s}")).collect();
    assert_eq!(capsules(&single), expected);
    assert!(done.summary.failures.iter().skip(2).all(|f| f.capsule.is_none()));
    let shards: Vec<PathBuf> = (1..=2)
        .map(|k| {
            let dir = temp_dir(&format!("cap-shard{k}"));
            let spec = SweepSpec { shard: Some(Shard { index: k, count: 2 }), ..whole.clone() };
            sweep_with(&spec, &dir, 1, run::run).unwrap();
            dir
        })
        .collect();
    let merged = temp_dir("cap-merged");
    sweep::merge::merge(&shards, &merged).unwrap();
    assert_eq!(capsules(&merged), expected);
    assert_eq!(summary_json(&merged), summary_json(&single));
    assert_eq!(read(&merged, sweep::JUNIT_FILE), read(&single, sweep::JUNIT_FILE));
    for dir in shards.iter().chain([&single, &merged]) {
        let _ = std::fs::remove_dir_all(dir);
    }
}
