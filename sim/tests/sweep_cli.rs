//! `restoresim sweep`, `merge`, `replay` and `check`, driven as a user (or
//! a CI job) would: exit codes, files, reproduce commands, a sweep killed
//! with SIGKILL and resumed.

mod common;

use common::{restoresim, temp_dir, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn both(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// `summary.json` without its wall-clock `timing`, the part that may differ
/// between equal sweeps.
fn summary(dir: &Path) -> serde_json::Value {
    let mut v = json(&dir.join("summary.json"));
    v.as_object_mut().expect("an object").remove("timing");
    v
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_failing_sweep_leaves_capsules_that_replay_to_the_same_trace() {
    let dir = temp_dir("failing");
    let out = restoresim(&[
        "sweep",
        "scenarios/quickstart.ron",
        "--seeds",
        "0..12",
        "--jobs",
        "2",
        "--bug",
        "AckBeforePersist",
        "--out",
        s(&dir),
    ]);
    let all = both(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let sum = json(&dir.join("summary.json"));
    assert_eq!(sum["seeds_done"], 12);
    let failure = &sum["failures"][0];
    let seed = failure["seed"].as_u64().unwrap();
    let reproduce = format!("restoresim run scenarios/quickstart.ron --seed {seed} --bug AckBeforePersist");
    assert_eq!(failure["reproduce"], reproduce.as_str());
    assert!(all.contains(&reproduce), "the failure is printed with its reproduce command: {all}");
    for field in ["seeds_per_sec", "events_per_sec", "simulated_to_wall", "wall_ms"] {
        assert!(sum["timing"].get(field).is_some(), "timing lacks {field}");
    }
    let results = std::fs::read_to_string(dir.join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 12);
    let line: serde_json::Value = serde_json::from_str(results.lines().next().unwrap()).unwrap();
    for field in ["seed", "outcome", "invariant", "trace_hash", "events", "virtual_time_us"] {
        assert!(line.get(field).is_some(), "results.jsonl lacks {field}");
    }
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(junit.contains("tests=\"12\"") && junit.contains(&format!("reproduce: {reproduce}")), "{junit}");

    let capsule = dir.join(format!("capsules/seed-{seed}"));
    for file in ["scenario.ron", "summary.json", "trace.jsonl", "progress.png", "progress.svg", "REPRODUCE"] {
        assert!(capsule.join(file).exists(), "capsule lacks {file}");
    }
    assert_eq!(std::fs::read_to_string(capsule.join("REPRODUCE")).unwrap().trim(), reproduce);
    let replay = restoresim(&["replay", s(&capsule)]);
    assert_eq!(replay.status.code(), Some(1), "{}", both(&replay));
    assert!(text(&replay.stdout).contains("same trace hash as the capsule"), "{}", both(&replay));
    let check = restoresim(&["replay", s(&capsule), "--check-determinism"]);
    assert_eq!(check.status.code(), Some(1), "{}", both(&check));
    assert!(text(&check.stdout).contains("the same"), "{}", both(&check));

    // A capsule whose recorded hash no longer matches: nondeterminism, exit 4.
    let summary_path = capsule.join("summary.json");
    let mut recorded = json(&summary_path);
    recorded["trace_hash"] = "0123456789abcdef".into();
    std::fs::write(&summary_path, recorded.to_string()).unwrap();
    let moved = restoresim(&["replay", s(&capsule)]);
    assert_eq!(moved.status.code(), Some(4), "{}", both(&moved));
    assert!(text(&moved.stdout).contains("NONDETERMINISM"), "{}", both(&moved));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_panic_in_a_seed_exits_70_after_the_whole_sweep() {
    let dir = temp_dir("panic");
    let out = restoresim(&[
        "sweep",
        "scenarios/quickstart.ron",
        "--seeds",
        "0..5",
        "--inject-panic-at-seed",
        "2",
        "--out",
        s(&dir),
    ]);
    let all = both(&out);
    assert_eq!(out.status.code(), Some(70), "{all}");
    assert!(all.contains("seed 2: internal_error") && all.contains("injected panic"), "{all}");
    assert!(all.contains("reproduce: restoresim run scenarios/quickstart.ron --seed 2"), "{all}");
    assert!(!all.contains("RUST_BACKTRACE"), "the panic is reported, not dumped: {all}");
    let sum = json(&dir.join("summary.json"));
    assert_eq!((sum["outcomes"]["pass"].as_u64(), sum["outcomes"]["internal_error"].as_u64()), (Some(4), Some(1)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shards_merged_by_the_binary_equal_one_sweep() {
    let base = temp_dir("shards");
    let single = base.join("single");
    let args = [
        "sweep",
        "scenarios/quickstart.ron",
        "--seeds",
        "100..130",
        "--bug",
        "AckBeforePersist",
        "--check-determinism",
        "1/7",
    ];
    let run = |extra: &[&str]| {
        let out = restoresim(&[&args[..], extra].concat());
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", both(&out));
    };
    run(&["--out", s(&single), "--jobs", "2"]);
    let shards: Vec<PathBuf> = (1..=3).map(|k| base.join(format!("shard-{k}"))).collect();
    for (k, dir) in shards.iter().enumerate() {
        run(&["--out", s(dir), "--jobs", "1", "--shard", &format!("{}/3", k + 1)]);
    }
    let merged = base.join("merged");
    let out = restoresim(&["merge", s(&shards[0]), s(&shards[1]), s(&shards[2]), "--out", s(&merged)]);
    let single_code = json(&single.join("summary.json"))["exit_code"].as_i64();
    assert_eq!(out.status.code().map(i64::from), single_code, "{}", both(&out));
    assert_eq!(summary(&merged), summary(&single));
    let junit = |d: &Path| std::fs::read_to_string(d.join("junit.xml")).unwrap();
    assert_eq!(junit(&merged), junit(&single));
    let sum = json(&merged.join("summary.json"));
    assert_eq!(sum["timing"]["parts"], 3);
    assert_eq!(sum["timing"]["seeds_run"], 30);
    assert_eq!(sum["determinism"]["sample"], "1/7");
    let missing = restoresim(&["merge", s(&shards[0]), s(&shards[2]), "--out", s(&base.join("m2"))]);
    assert_eq!(missing.status.code(), Some(2), "{}", both(&missing));
    assert!(text(&missing.stderr).contains("missing: 110..120"), "{}", both(&missing));
    let not_a_sweep = restoresim(&["merge", "scenarios", "--out", s(&base.join("m3"))]);
    assert_eq!(not_a_sweep.status.code(), Some(65), "{}", both(&not_a_sweep));
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_sweep_killed_with_sigkill_and_resumed_ends_like_an_uninterrupted_one() {
    let base = temp_dir("kill");
    let (killed, whole) = (base.join("killed"), base.join("whole"));
    let args = ["sweep", "scenarios/ci-smoke.ron", "--seeds", "0..200", "--check-determinism=1/10"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_restoresim"))
        .args(args)
        .args(["--out", s(&killed), "--jobs", "1"])
        .current_dir(common::workspace())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let results = killed.join("results.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&results).map_or(0, |t| t.lines().count()) < 5 {
        assert!(Instant::now() < deadline, "no results within a minute");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let lines_at_kill = std::fs::read_to_string(&results).unwrap().lines().count();
    assert!(!killed.join("summary.json").exists(), "killed before the end ({lines_at_kill} lines)");
    let resumed = restoresim(&[&args[..], &["--out", s(&killed), "--resume", "--jobs", "2"]].concat());
    assert_eq!(resumed.status.code(), Some(0), "{}", both(&resumed));
    assert!(text(&resumed.stderr).contains("already done"), "{}", both(&resumed));
    let uninterrupted = restoresim(&[&args[..], &["--out", s(&whole), "--jobs", "2"]].concat());
    assert_eq!(uninterrupted.status.code(), Some(0), "{}", both(&uninterrupted));
    assert_eq!(summary(&killed), summary(&whole));
    let ran = json(&killed.join("summary.json"))["timing"]["seeds_run"].as_u64().unwrap();
    assert!(ran < 200 && ran >= 200 - lines_at_kill as u64, "the resumed sweep ran only what was missing: {ran}");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn sweep_usage_errors_exit_2_with_a_clear_message() {
    let dir = temp_dir("usage");
    let cases: [(&[&str], &str); 7] = [
        (&[], "--seeds A..B"),
        (&["--seeds", "5..5"], "holds no seed"),
        (&["--seeds", "0..10", "--shard", "4/3"], "1 <= K <= N"),
        (&["--seeds", "0..10", "--resume"], "--resume needs --out"),
        (&["--seeds", "0..10", "--bug", "Nope"], "AckBeforePersist"),
        (&["--seeds", "0..10", "--check-determinism=2/3"], "1/N"),
        (&["--seeds", "0..10", "--jobs", "0"], "at least 1"),
    ];
    for (extra, expected) in cases {
        let out = restoresim(&[&["sweep", "scenarios/quickstart.ron"][..], extra].concat());
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", both(&out));
        assert!(text(&out.stderr).contains(expected), "{extra:?}: {}", both(&out));
    }
    let first = restoresim(&["sweep", "scenarios/quickstart.ron", "--seeds", "0..2", "--out", s(&dir)]);
    assert_eq!(first.status.code(), Some(0), "{}", both(&first));
    let again = restoresim(&["sweep", "scenarios/quickstart.ron", "--seeds", "0..2", "--out", s(&dir)]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("--resume"), "{}", both(&again));
    let other = restoresim(&["sweep", "scenarios/quickstart.ron", "--seeds", "0..3", "--out", s(&dir), "--resume"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(text(&other.stderr).contains("another sweep"), "{}", both(&other));
    let bad = restoresim(&["sweep", "no/such.ron", "--seeds", "0..2"]);
    assert_eq!(bad.status.code(), Some(65));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_reports_every_bad_file_with_its_position() {
    let dir = temp_dir("check");
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        ("good.ron", "(name: \"fine\")\n"),
        ("typo.ron", "(\n  name: \"x\",\n  shardz: 3,\n)\n"),
        ("syntax.ron", "(\n  name: \"x\"\n  seed: 1,\n)\n"),
    ];
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    let paths: Vec<String> = files.iter().map(|(n, _)| dir.join(n).display().to_string()).collect();
    let out = restoresim(&[&["check"][..], &paths.iter().map(String::as_str).collect::<Vec<_>>()].concat());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(65), "{stdout}{stderr}");
    assert!(stdout.contains("ok") && stdout.contains("good.ron"), "{stdout}");
    assert!(stderr.contains("typo.ron:3:3:") && stderr.contains("shardz"), "{stderr}");
    assert!(stderr.contains("syntax.ron:3:"), "{stderr}");
    assert!(stderr.contains("2 of 3 files bad"), "{stderr}");
    let bundled = restoresim(&["check", "scenarios/ci-smoke.ron", "scenarios/quickstart.ron"]);
    assert_eq!(bundled.status.code(), Some(0), "{}", both(&bundled));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sweep_fails_when_no_seed_reaches_a_required_goal() {
    let dir = temp_dir("coverage");
    std::fs::create_dir_all(&dir).unwrap();
    let quickstart = std::fs::read_to_string(common::workspace().join("scenarios/quickstart.ron")).unwrap();
    // quickstart has no faults: no seed can reach a kill on commit.
    let needs_kill =
        quickstart.replace("expect: AllDone,", "expect: AllDone,\n    coverage: (require: [\"kill_on_commit\"]),");
    let file = dir.join("needs-kill.ron");
    std::fs::write(&file, needs_kill).unwrap();
    let out = restoresim(&["sweep", s(&file), "--seeds", "0..6", "--jobs", "2", "--out", s(&dir.join("sweep"))]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("required goal(s) reached by no seed: kill_on_commit"), "{stdout}");
    let summary = summary(&dir.join("sweep"));
    assert_eq!(summary["coverage"]["required_missing"][0], "kill_on_commit");
    assert_eq!(summary["outcomes"]["pass"], 6);
    // The bundled scenario that requires goals reaches them.
    let ok =
        restoresim(&["sweep", "scenarios/restart-mid-applying.ron", "--seeds", "0..4", "--out", s(&dir.join("ok"))]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}
