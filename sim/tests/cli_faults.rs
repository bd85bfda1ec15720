//! The fault-injection commands of the binary, driven as a user would:
//! `replay` of a passing and a failing run from their capsules, `sweep
//! --crash-points`, `run --crash-point`, and what summary.json and the
//! trace say about faults.

mod common;

use common::{restoresim, summary, temp_dir, text};

use std::path::Path;
use std::process::Output;

fn run_into(dir: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", dir.to_str().unwrap()]);
    let out = restoresim(&all);
    let s = summary(dir);
    (out, s)
}

#[test]
fn summary_json_has_fault_counts_tape_coverage_and_swarm_profile() {
    let dir = temp_dir("summary");
    // Seed 2: a seed on which all nine families fire (seed 1 did until
    // shard timers shared one engine timer, which moved its run).
    let (out, s) = run_into(&dir, &["scenarios/faults-all.ron", "--seed", "2", "--trace"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let mut families: Vec<&str> = s["faults"].as_object().unwrap().keys().map(String::as_str).collect();
    let expected = [
        "drops",
        "duplicates",
        "partitions",
        "crashes",
        "restarts",
        "kill_on_commit",
        "slow_commits",
        "allocator_empty",
        "read_errors",
    ];
    let raw = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let at = |family: &str| raw.find(&format!("\"{family}\":")).unwrap();
    assert!(expected.windows(2).all(|w| at(w[0]) < at(w[1])), "written in the issue's order");
    families.sort_unstable();
    let mut sorted = expected;
    sorted.sort_unstable();
    assert_eq!(families, sorted, "exactly the nine families");
    for family in expected {
        assert!(s["faults"][family].as_u64().unwrap() > 0, "{family} fired on faults-all seed 2");
    }
    let tape = s["fault_tape"].as_array().unwrap();
    assert!(tape.iter().any(|e| e["fault"].get("partition").is_some()));
    assert!(tape.iter().any(|e| e["fault"]["drop"]["nth"].as_u64().is_some_and(|n| n > 0)), "logical anchors");
    assert!(s["coverage"]["counts"]["restart_mid_applying"].as_u64().is_some());
    assert!(s["coverage"]["never_reached"].is_array());
    assert!(s["swarm_profile"].is_null());
    let trace = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
    let with_faults = trace.lines().filter(|l| l.contains("\"faults\":")).count();
    assert!(with_faults > 0, "the trace carries the faults of the events that decided them");
    assert_eq!(trace.lines().count() as u64, s["events"].as_u64().unwrap(), "still one line per event");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("partitions") && stdout.contains("kill_on_commit"), "{stdout}");

    let swarm = temp_dir("swarm");
    let (_, s) = run_into(&swarm, &["scenarios/swarm.ron", "--seed", "5"]);
    assert!(s["swarm_profile"]["on"].is_array() && s["swarm_profile"]["loss_ppm"].is_u64(), "{}", s["swarm_profile"]);
    let _ = (std::fs::remove_dir_all(&dir), std::fs::remove_dir_all(&swarm));
}

#[test]
fn replay_of_a_passing_and_a_failing_capsule_reaches_the_same_outcome() {
    let cases: [(&[&str], i32); 2] = [
        (&["scenarios/faults-all.ron", "--seed", "2"], 0),
        (&["scenarios/ci-smoke.ron", "--seed", "1", "--bug", "LastKeyRegress"], 1),
    ];
    for (i, (args, code)) in cases.into_iter().enumerate() {
        let dir = temp_dir(&format!("capsule{i}"));
        let (out, recorded) = run_into(&dir, args);
        assert_eq!(out.status.code(), Some(code), "{}", text(&out.stdout));
        // Both forms of a capsule: its folder and its summary.json.
        for target in [dir.clone(), dir.join("summary.json")] {
            let again = temp_dir(&format!("replay{i}"));
            let out = restoresim(&["replay", target.to_str().unwrap(), "--out", again.to_str().unwrap()]);
            let stdout = text(&out.stdout);
            assert_eq!(out.status.code(), Some(code), "{stdout}{}", text(&out.stderr));
            assert!(stdout.contains("same trace hash as the capsule: reproduced"), "{stdout}");
            assert!(stdout.contains("faults from the capsule's tape, random faults off"), "{stdout}");
            let replayed = summary(&again);
            assert_eq!(replayed["trace_hash"], recorded["trace_hash"]);
            assert_eq!(replayed["outcome"], recorded["outcome"]);
            assert_eq!(replayed["violation"], recorded["violation"]);
            assert_eq!(replayed["replayed"], true);
            assert_eq!(replayed["fault_tape"], recorded["fault_tape"]);
            let _ = std::fs::remove_dir_all(&again);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn replay_says_so_when_the_run_differs_and_rejects_bad_capsules() {
    let dir = temp_dir("tampered");
    let (_, mut s) = run_into(&dir, &["scenarios/faults-all.ron", "--seed", "3"]);
    // The recorded trace hash moved under an unchanged tape: nondeterminism, exit 4.
    let recorded = s.clone();
    s["trace_hash"] = serde_json::json!("0123456789abcdef");
    std::fs::write(dir.join("summary.json"), serde_json::to_string(&s).unwrap()).unwrap();
    let out = restoresim(&["replay", dir.to_str().unwrap(), "--out", dir.join("r").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("NONDETERMINISM: the capsule recorded trace hash"), "{}", text(&out.stdout));
    // Drop the tape's first message fault by hand: a new experiment, exit by its outcome.
    let mut s = recorded;
    let tape = s["fault_tape"].as_array_mut().unwrap();
    let first = tape.iter().position(|e| e["fault"].get("drop").is_some() || e["fault"].get("duplicate").is_some());
    tape.remove(first.expect("faults-all seed 3 loses or duplicates a message"));
    std::fs::write(dir.join("summary.json"), serde_json::to_string(&s).unwrap()).unwrap();
    let out = restoresim(&["replay", dir.to_str().unwrap(), "--out", dir.join("r2").to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{stdout}");
    assert!(stdout.contains("the tape changed since the recorded run: a new experiment"), "{stdout}");

    let bad_node = s.to_string().replace("\"DataShard1\"", "\"DataShard77\"");
    let cases = [
        ("not-json.json", "{ nope".to_string(), "not JSON"),
        ("no-seed.json", r#"{"scenario_file": "scenarios/quickstart.ron"}"#.to_string(), "seed"),
        ("no-scenario.json", r#"{"scenario_file": "no/such.ron", "seed": 1}"#.to_string(), "no/such.ron"),
        ("bad-node.json", bad_node, "DataShard77"),
    ];
    for (file, content, word) in cases {
        let path = dir.join(file);
        std::fs::write(&path, content).unwrap();
        let out = restoresim(&["replay", path.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(65), "{file}: {stderr}");
        assert!(stderr.contains(word) && !stderr.contains("panicked"), "{file}: {stderr}");
    }
    // Another seed is another run: the tape does not apply, no hash to match.
    let other = restoresim(&["replay", dir.to_str().unwrap(), "--seed", "99"]);
    assert_eq!(other.status.code(), Some(0), "{}", text(&other.stdout));
    assert!(!text(&other.stdout).contains("capsule's tape"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_of_a_scenario_runs_it_with_the_seed() {
    let (a, b) = (temp_dir("scn-a"), temp_dir("scn-b"));
    let (_, ran) = run_into(&a, &["scenarios/quickstart.ron", "--seed", "4"]);
    let out = restoresim(&["replay", "scenarios/quickstart.ron", "--seed", "4", "--out", b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(summary(&b)["trace_hash"], ran["trace_hash"]);
    let _ = (std::fs::remove_dir_all(&a), std::fs::remove_dir_all(&b));
}

#[test]
fn sweep_crash_points_runs_each_point_and_prints_how_to_reproduce_a_failure() {
    let out = restoresim(&["sweep", "scenarios/quickstart.ron", "--crash-points", "TxAllocator"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("TxAllocator@event:1 ") && stdout.contains("TxAllocator@commit:1 "), "{stdout}");
    assert!(stdout.contains("points passed (0 safety, 0 liveness"), "{stdout}");
    let bucket = restoresim(&["sweep", "scenarios/quickstart.ron", "--crash-points", "TxAllocator", "--bucket", "2/3"]);
    let lines = text(&bucket.stdout).lines().filter(|l| l.contains("TxAllocator@")).count();
    let all = stdout.lines().filter(|l| l.contains("TxAllocator@")).count();
    assert!(lines > 0 && lines * 3 <= all + 2, "{lines} of {all}");

    let dir = temp_dir("sweep-bug");
    let out =
        restoresim(&["sweep", "scenarios/quickstart.ron", "--crash-points", "DataShard1", "--bug", "AckBeforePersist"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let reproduce = stdout.lines().find_map(|l| l.trim().strip_prefix("reproduce: restoresim ")).expect(&stdout);
    let out_dir = dir.join("o");
    let args: Vec<&str> = reproduce.split(' ').chain(["--out", out_dir.to_str().unwrap()]).collect();
    assert!(args.contains(&"--crash-point") && args.contains(&"AckBeforePersist"), "{reproduce}");
    let again = restoresim(&args);
    assert_eq!(again.status.code(), Some(1), "the printed command reproduces the failure: {}", text(&again.stdout));
    // And its output folder replays, crash point and all, from the tape.
    let replay = restoresim(&["replay", out_dir.to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(1), "{}", text(&replay.stdout));
    assert!(text(&replay.stdout).contains("reproduced"));
    let _ = std::fs::remove_dir_all(&dir);

    for (args, code) in [
        (&["sweep", "scenarios/quickstart.ron"][..], 2),
        (&["sweep", "scenarios/quickstart.ron", "--crash-points", "SchemeShard", "--seeds", "0..3"][..], 2),
        (&["sweep", "scenarios/quickstart.ron", "--bucket", "1/2"][..], 2),
        (&["sweep", "scenarios/quickstart.ron", "--crash-points", "DataShard9"][..], 2),
        (&["sweep", "scenarios/quickstart.ron", "--crash-points", "Client"][..], 2),
        (&["sweep", "scenarios/quickstart.ron", "--crash-points", "SchemeShard", "--bucket", "4/3"][..], 2),
        (&["run", "scenarios/quickstart.ron", "--crash-point", "SchemeShard@event:0"][..], 2),
        (&["sweep", "no/such.ron", "--crash-points", "SchemeShard"][..], 65),
    ] {
        let out = restoresim(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("panicked"));
    }
}
