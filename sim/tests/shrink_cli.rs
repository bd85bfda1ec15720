//! `restoresim shrink` and `sweep --shrink` through the binary: a minimal
//! capsule that `replay` and `run` reproduce; a hand-edited tape replays as
//! a new experiment and names the entries that never fired; a moved trace
//! of an unchanged capsule is nondeterminism (exit 4); bad input exits 65.

mod common;

use std::path::Path;

use common::{restoresim, temp_dir, text};

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().expect("exited")
}

#[test]
fn a_shrunk_capsule_replays_runs_alone_and_knows_an_edited_tape() {
    let dir = temp_dir("shrink-cli");
    let run_dir = dir.join("run");
    let out =
        restoresim(&["run", "scenarios/ci-smoke.ron", "--seed", "0", "--bug", "LastKeyRegress", "--out", s(&run_dir)]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    let min = dir.join("min");
    let out = restoresim(&["shrink", s(&run_dir), "--out", s(&min), "--max-runs", "300", "--jobs", "2"]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("1-minimal     yes"), "{stdout}");
    for file in ["scenario.ron", "summary.json", "shrink.json", "story.txt", "trace.jsonl", "progress.png", "REPRODUCE"]
    {
        assert!(min.join(file).is_file(), "{file} missing");
    }
    let story = std::fs::read_to_string(min.join("story.txt")).unwrap();
    assert!(story.lines().count() <= 40, "{story}");
    assert!(story.contains("VIOLATION 4-progress-monotonic"), "{story}");
    let shrink: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(min.join("shrink.json")).unwrap()).unwrap();
    assert!(shrink["after"]["faults"].as_u64().unwrap() <= shrink["before"]["faults"].as_u64().unwrap());
    let hash = common::summary(&min)["trace_hash"].as_str().unwrap().to_string();

    // replay reproduces it; so does the scenario alone, without --bug.
    let out = restoresim(&["replay", s(&min)]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("same trace hash as the capsule"), "{}", text(&out.stdout));
    let alone = dir.join("alone");
    let out = restoresim(&["run", s(&min.join("scenario.ron")), "--seed", "0", "--out", s(&alone)]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    assert_eq!(common::summary(&alone)["trace_hash"].as_str().unwrap(), hash);

    // A fault added by hand whose anchor never comes: a new experiment, named.
    let edited = dir.join("edited");
    std::fs::create_dir_all(&edited).unwrap();
    for file in ["summary.json", "REPRODUCE"] {
        std::fs::copy(min.join(file), edited.join(file)).unwrap();
    }
    let ron = std::fs::read_to_string(min.join("scenario.ron")).unwrap();
    let ron = ron.replacen("tape: Some([", "tape: Some([\n Duplicate(from: Client, to: SchemeShard, nth: 99999),", 1);
    assert!(ron.contains("nth: 99999"), "the tape is where it was: {ron}");
    std::fs::write(edited.join("scenario.ron"), ron).unwrap();
    let out = restoresim(&["replay", s(&edited)]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 1, "{stdout}");
    assert!(stdout.contains("tape changed"), "{stdout}");
    assert!(stdout.contains("NOT FIRED") && stdout.contains("99999"), "{stdout}");

    // The unchanged capsule whose recorded hash moved: nondeterminism.
    let moved = dir.join("moved");
    std::fs::create_dir_all(&moved).unwrap();
    std::fs::copy(min.join("scenario.ron"), moved.join("scenario.ron")).unwrap();
    let summary = std::fs::read_to_string(min.join("summary.json")).unwrap().replace(&hash, "0123456789abcdef");
    std::fs::write(moved.join("summary.json"), summary).unwrap();
    let out = restoresim(&["replay", s(&moved)]);
    assert_eq!(code(&out), 4, "{}", text(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_capsules_are_refused_with_a_reason() {
    let dir = temp_dir("shrink-bad");
    let pass = dir.join("pass");
    let out = restoresim(&["run", "scenarios/quickstart.ron", "--out", s(&pass)]);
    assert_eq!(code(&out), 0);
    let out = restoresim(&["shrink", s(&pass)]);
    assert_eq!(code(&out), 65);
    assert!(text(&out.stderr).contains("nothing to shrink: seed 1 passes"), "{}", text(&out.stderr));
    // A summary that claims a failure its tape does not reproduce.
    let mut claimed = common::summary(&pass);
    claimed["outcome"] = "safety_violation".into();
    claimed["violation"] = serde_json::json!({"invariant": "1-final-data"});
    std::fs::write(pass.join("summary.json"), claimed.to_string()).unwrap();
    let out = restoresim(&["shrink", s(&pass)]);
    assert_eq!(code(&out), 65);
    assert!(text(&out.stderr).contains("does not fail the same way"), "{}", text(&out.stderr));
    std::fs::write(pass.join("summary.json"), "{ not json").unwrap();
    let out = restoresim(&["shrink", s(&pass)]);
    assert_eq!(code(&out), 65);
    assert!(text(&out.stderr).contains("not JSON"), "{}", text(&out.stderr));
    let out = restoresim(&["shrink", s(&dir.join("nowhere"))]);
    assert_eq!(code(&out), 65, "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_shrink_puts_the_minimal_capsule_beside_the_original() {
    let dir = temp_dir("sweep-shrink");
    let out = restoresim(&[
        "sweep",
        "scenarios/ci-smoke.ron",
        "--seeds",
        "0..2",
        "--bug",
        "LastKeyRegress",
        "--max-capsules",
        "1",
        "--jobs",
        "2",
        "--shrink",
        "--shrink-max-runs",
        "200",
        "--out",
        s(&dir),
    ]);
    assert_eq!(code(&out), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    let min = dir.join("capsules/seed-0-min");
    for file in ["scenario.ron", "summary.json", "shrink.json", "story.txt", "trace.jsonl", "progress.svg", "REPRODUCE"]
    {
        assert!(min.join(file).is_file(), "{file} missing");
    }
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("minimal reproduce: restoresim run") && junit.contains("seed-0-min/scenario.ron"),
        "{junit}"
    );
    let out = restoresim(&["replay", s(&min)]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}
