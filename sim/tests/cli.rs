//! The `restoresim` binary, driven as a user would: artifacts, exit codes,
//! clear errors for bad input.

mod common;

use common::{restoresim, summary, temp_dir, text};

use std::path::Path;

#[test]
fn run_writes_summary_plots_and_trace() {
    let dir = temp_dir("run");
    let out =
        restoresim(&["run", "scenarios/quickstart.ron", "--seed", "3", "--out", dir.to_str().unwrap(), "--trace"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("pass") && stdout.contains("events") && stdout.contains("Done"), "{stdout}");
    let summary = summary(&dir);
    for field in ["scenario", "seed", "outcome", "violation", "trace_hash", "events", "virtual_time_us", "wall_ms"] {
        assert!(summary.get(field).is_some(), "summary.json lacks {field}");
    }
    assert_eq!(summary["outcome"], "pass");
    assert_eq!(summary["seed"], 3);
    assert!(summary["violation"].is_null());
    let png = std::fs::read(dir.join("progress.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(dir.join("progress.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("quickstart"));
    let trace = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
    let lines: Vec<_> = trace.lines().collect();
    assert_eq!(lines.len() as u64, summary["events"].as_u64().unwrap(), "one trace line per event");
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert!(first.get("kind").is_some() && first.get("t_us").is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn same_seed_same_trace_hash_through_the_binary() {
    let hash = |dir: &Path| {
        let out = restoresim(&["run", "scenarios/ci-smoke.ron", "--seed", "9", "--out", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        let s = summary(dir);
        s["trace_hash"].as_str().unwrap().to_string()
    };
    let (a, b) = (temp_dir("h1"), temp_dir("h2"));
    assert_eq!(hash(&a), hash(&b));
    let _ = (std::fs::remove_dir_all(&a), std::fs::remove_dir_all(&b));
}

#[test]
fn bad_scenario_gets_line_column_and_exit_65() {
    let dir = temp_dir("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("unknown-field.ron", "(\n    name: \"x\",\n    shardz: 3,\n)\n", ":3:5:", "shardz"),
        ("bad-duration.ron", "(\n  name: \"x\",\n  client: (poll_interval: \"5 minutes\"),\n)\n", ":3:", "duration"),
        ("syntax.ron", "(\n  name: \"x\"\n  seed: 1,\n)\n", ":3:", ""),
        ("bad-bug.ron", "(\n  name: \"x\",\n  bugs: [\"NoSuchBug\"],\n)\n", ":3:10:", "NoSuchBug"),
    ];
    for (file, content, position, word) in cases {
        let path = dir.join(file);
        std::fs::write(&path, content).unwrap();
        let out = restoresim(&["run", path.to_str().unwrap(), "--out", dir.join("o").to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(65), "{file}: {stderr}");
        assert!(stderr.contains(&format!("{file}{position}")), "{file}: expected file{position} in: {stderr}");
        assert!(stderr.contains(word), "{file}: {stderr}");
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
    }
    let missing = restoresim(&["run", "no/such/file.ron"]);
    assert_eq!(missing.status.code(), Some(65));
    assert!(text(&missing.stderr).contains("no/such/file.ron"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(restoresim(&["run"]).status.code(), Some(2));
    assert_eq!(restoresim(&["frobnicate"]).status.code(), Some(2));
    let out = restoresim(&["run", "scenarios/quickstart.ron", "--bug", "NoSuchBug"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("AckBeforePersist"), "lists the known bugs");
}

#[test]
fn a_safety_violation_exits_1_and_prints_its_reproduce_command() {
    let dir = temp_dir("violation");
    let out = restoresim(&[
        "run",
        "scenarios/ci-smoke.ron",
        "--seed",
        "1",
        "--bug",
        "LastKeyRegress",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("SAFETY VIOLATION") && stdout.contains("4-progress-monotonic"), "{stdout}");
    assert!(
        stdout.contains("reproduce: restoresim run scenarios/ci-smoke.ron --seed 1 --bug LastKeyRegress"),
        "{stdout}"
    );
    let summary = summary(&dir);
    assert_eq!(summary["outcome"], "safety_violation");
    assert_eq!(summary["violation"]["invariant"], "4-progress-monotonic");
    assert!(summary["violation"]["event_index"].as_u64().unwrap() > 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `run --stats` prints the run's wall time, the process's CPU time with
/// its user share per event, and its peak RSS per row of the full backup
/// (the scale scenarios' measurement), and does not change the run: the
/// same trace hash as without it.
#[test]
fn run_stats_prints_time_and_peak_memory_per_row() {
    let (plain, with_stats) = (temp_dir("stats-plain"), temp_dir("stats"));
    let out = restoresim(&["run", "scenarios/quickstart.ron", "--out", plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("peak RSS"));
    let out = restoresim(&["run", "scenarios/quickstart.ron", "--stats", "--out", with_stats.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("wall time") && stdout.contains("s in the run itself"), "{stdout}");
    let rss = stdout.lines().find(|l| l.contains("peak RSS")).unwrap_or_else(|| panic!("no peak RSS line: {stdout}"));
    assert!(rss.contains("MiB") && rss.contains("B per row of 400 rows"), "{rss}");
    let cpu = stdout.lines().find(|l| l.contains("CPU time")).unwrap_or_else(|| panic!("no CPU time line: {stdout}"));
    assert!(cpu.contains("s user") && cpu.contains("s system") && cpu.contains("µs user per event"), "{cpu}");
    assert_eq!(summary(&plain)["trace_hash"], summary(&with_stats)["trace_hash"]);
    let _ = std::fs::remove_dir_all(&plain);
    let _ = std::fs::remove_dir_all(&with_stats);
}
