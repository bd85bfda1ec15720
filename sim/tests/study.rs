//! Capacity studies through the binary and in-process: every shipped study
//! passes `check`; a tiny study runs end to end; a study killed with SIGKILL
//! and resumed, and one run in shards and merged, write the tables a single
//! run writes; a result agrees with a closed-form answer; the mean's
//! confidence interval shrinks as seeds grow.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{restoresim, temp_dir, text};
use restoresim::study::{self, QuietStudy, StudyJob, StudySpec, stats};

fn both(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", text(&out.stdout), text(&out.stderr))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// study.json without its wall-clock part.
fn tables(dir: &Path) -> serde_json::Value {
    let mut v = json(&dir.join("study.json"));
    v.as_object_mut().unwrap().remove("timing");
    v
}

/// A small study of quickstart: 2 x 2 points.
const TINY: &str = r#"// a tiny study
Study(
    name: "tiny",
    question: "Does the cap matter on a small table?",
    base: File("BASE"),
    axes: [
        (path: "protocol.max_shards_in_flight", values: [1, 4]),
        (path: "network.loss", values: ["0%", "2%"]),
    ],
    seeds: SEEDS,
    metrics: ["completion_time_us", "messages_sent", "rows_reapplied"],
)
"#;

fn tiny(dir: &Path, seeds: u64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let base = common::workspace().join("scenarios/quickstart.ron").canonicalize().unwrap();
    let file = dir.join("tiny.ron");
    std::fs::write(&file, TINY.replace("BASE", s(&base)).replace("SEEDS", &seeds.to_string())).unwrap();
    file
}

#[test]
fn every_shipped_study_passes_check() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::workspace().join("studies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let args: Vec<&str> = std::iter::once("check").chain(files.iter().map(|p| s(p))).collect();
    let out = restoresim(&args);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(text(&out.stdout).matches("ok ").count(), files.len(), "{}", both(&out));
}

#[test]
fn a_tiny_study_runs_end_to_end() {
    let dir = temp_dir("study-e2e");
    let file = tiny(&dir, 3);
    let out_dir = dir.join("out");
    let out = restoresim(&["study", s(&file), "--out", s(&out_dir), "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let csv = std::fs::read_to_string(out_dir.join("study.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "point,max_shards_in_flight,loss_pct,seed,outcome,invariant,completion_time_us,messages_sent,rows_reapplied"
    );
    assert_eq!(lines.count(), 4 * 3, "one row per (point, seed)");
    assert!(csv.contains("\np03-max_shards_in_flight-4-loss-2pct,4,2,2,pass,,"), "{csv}");
    let report = json(&out_dir.join("study.json"));
    let point = &report["points"][0];
    assert_eq!(point["runs"], 3);
    let m = &point["metrics"]["completion_time_us"];
    assert!(m["ci95"][0].as_f64() <= m["mean"].as_f64() && m["mean"].as_f64() <= m["ci95"][1].as_f64(), "{m}");
    assert!(report["best"]["completion_time_us"]["point"].as_str().unwrap().contains("max_shards_in_flight-4"));
    for f in ["REPORT.md", "plots/completion_time_us.png", "plots/completion_time_us.svg", "plots/rows_reapplied.png"] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    assert!(std::fs::read_to_string(out_dir.join("REPORT.md")).unwrap().contains("![completion_time_us]"));
    // Any point re-runs alone: its file is a scenario, and its run is the study's.
    let point_file = out_dir.join("points/p03-max_shards_in_flight-4-loss-2pct.ron");
    let rerun = restoresim(&["run", s(&point_file), "--seed", "2", "--out", s(&dir.join("rerun"))]);
    assert_eq!(rerun.status.code(), Some(0), "{}", both(&rerun));
    let results =
        std::fs::read_to_string(out_dir.join("points/p03-max_shards_in_flight-4-loss-2pct/results.jsonl")).unwrap();
    let line = results.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).find(|r| r["seed"] == 2);
    assert_eq!(json(&dir.join("rerun/summary.json"))["trace_hash"], line.unwrap()["trace_hash"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_studies_exit_65_naming_the_path_and_what_was_expected() {
    let dir = temp_dir("study-bad");
    let file = tiny(&dir, 2);
    let good = std::fs::read_to_string(&file).unwrap();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("\"protocol.max_shards_in_flight\"", "\"protocol.max_inflight\"")],
            "unknown axis path `protocol.max_inflight`",
        ),
        (&[("[\"0%\", \"2%\"]", "[\"0%\", 2]")], "`network.loss` expects a probability"),
        (&[("[1, 4]", "[1, 4, 8]"), ("seeds: 2", "seeds: 2,\n    grid: Listed")], "expected every axis to list"),
        (&[("[1, 4]", "[0, 4]")], "max_shards_in_flight >= 1"),
    ];
    for (edits, message) in cases {
        let bad = dir.join("bad.ron");
        let edited = edits.iter().fold(good.clone(), |t, (from, to)| t.replace(from, to));
        std::fs::write(&bad, edited).unwrap();
        let out = restoresim(&["study", s(&bad), "--out", s(&dir.join("never"))]);
        assert_eq!(out.status.code(), Some(65), "{}", both(&out));
        let err = text(&out.stderr);
        assert!(err.contains(message) && err.contains("bad.ron:"), "{message}: {err}");
        assert!(!dir.join("never").exists());
        let check = restoresim(&["check", s(&bad)]);
        assert_eq!(check.status.code(), Some(65), "{}", both(&check));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_study_killed_and_resumed_ends_like_an_uninterrupted_one() {
    let dir = temp_dir("study-kill");
    let file = tiny(&dir, 40);
    let (killed, whole) = (dir.join("killed"), dir.join("whole"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_restoresim"))
        .args(["study", s(&file), "--out", s(&killed), "--jobs", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = killed.join("points/p00-max_shards_in_flight-1-loss-0pct/results.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&first).map_or(0, |t| t.lines().count()) < 5 {
        assert!(Instant::now() < deadline, "no results within a minute");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!killed.join("study.json").exists(), "killed before the end");
    let resumed = restoresim(&["study", s(&file), "--out", s(&killed), "--resume", "--jobs", "2"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", both(&resumed));
    assert!(text(&resumed.stderr).contains("already done"), "{}", both(&resumed));
    let again = restoresim(&["study", s(&file), "--out", s(&killed)]);
    assert_eq!(again.status.code(), Some(2), "a second start without --resume is refused: {}", both(&again));
    let uninterrupted = restoresim(&["study", s(&file), "--out", s(&whole), "--jobs", "2"]);
    assert_eq!(uninterrupted.status.code(), Some(0), "{}", both(&uninterrupted));
    assert_eq!(tables(&killed), tables(&whole));
    assert_eq!(
        std::fs::read_to_string(killed.join("study.csv")).unwrap(),
        std::fs::read_to_string(whole.join("study.csv")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shards_merged_equal_one_study() {
    let dir = temp_dir("study-shards");
    let file = tiny(&dir, 5);
    let whole = dir.join("whole");
    let out = restoresim(&["study", s(&file), "--out", s(&whole), "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let mut parts = Vec::new();
    for k in 1..=2 {
        let part = dir.join(format!("shard{k}"));
        let out = restoresim(&["study", s(&file), "--shard", &format!("{k}/2"), "--out", s(&part), "--jobs", "1"]);
        assert_eq!(out.status.code(), Some(0), "{}", both(&out));
        parts.push(part);
    }
    let merged = dir.join("merged");
    let incomplete = restoresim(&["merge", s(&parts[0]), "--out", s(&dir.join("half"))]);
    assert_ne!(incomplete.status.code(), Some(0), "one shard of two is not a study: {}", both(&incomplete));
    let out = restoresim(&["merge", s(&parts[0]), s(&parts[1]), "--out", s(&merged)]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(tables(&merged), tables(&whole));
    assert_eq!(
        std::fs::read_to_string(merged.join("study.csv")).unwrap(),
        std::fs::read_to_string(whole.join("study.csv")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs a study in-process.
fn run_in_process(text: &str, name: &str) -> study::StudyDone {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("study.ron");
    std::fs::write(&file, text).unwrap();
    let st = study::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let job = StudyJob {
        study: &st,
        spec: StudySpec::new(&st, None, Some(1)),
        out: dir.join("out"),
        jobs: 2,
        resume: false,
        runner: restoresim::run::run,
    };
    let done = study::run_study(&job, &QuietStudy).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    done
}

/// The closed form: with no tablet faults, every message is handed to the
/// network while its receiver is up, and the network flips an independent
/// loss coin of probability p for each one (inside the fault window, which
/// here lasts the whole run). Whatever the protocol does in response, the
/// number lost minus p times the number sent is a sum of zero-mean terms
/// stopped at a bounded time, so E[lost] = p · E[sent]. Over many seeds
/// the study's per-run values must agree: the mean of (lost − p · sent)
/// has a 95 % confidence interval that contains 0, at each loss rate; and
/// the study's own mean of `messages_lost` is within its CI of p times its
/// mean of `messages_sent`.
#[test]
fn lost_messages_match_the_closed_form_p_times_sent() {
    let text = r#"Study(
        name: "closed-form",
        base: Inline((name: "b", workload: (tables: [(name: "t", shards: 4)], rows: 400, key_space: 10000,
            incrementals: 2, changes: (min: 80, max: 160)), restores: [(table: "t", at: "1ms")],
            client: (poll_interval: "2ms"), protocol: (batch_rows: 20, shard_timeout: "50ms"),
            faults: (window: (from: "0ms", until: "30min")))),
        axes: [(path: "network.loss", values: ["2%", "10%", "25%"])],
        seeds: 200,
        metrics: ["messages_lost", "messages_sent"],
    )"#;
    let done = run_in_process(text, "study-closed-form");
    for (point, p) in done.report.points.iter().zip([0.02, 0.10, 0.25]) {
        assert_eq!(point.outcomes.get("pass"), Some(&200), "{point:?}");
        let lost = &point.metrics["messages_lost"];
        let sent = &point.metrics["messages_sent"];
        assert!(lost.mean > 0.0);
        let expected = p * sent.mean;
        assert!(
            lost.ci95[0] <= expected && expected <= lost.ci95[1],
            "loss {p}: mean lost {} (CI {:?}) vs p * mean sent = {expected}",
            lost.mean,
            lost.ci95
        );
    }
    // The paired form, run by run, from the per-run results the CSV is written from.
    for (point, p) in done.points.iter().zip([0.02, 0.10, 0.25]) {
        let d: Vec<f64> = point
            .results
            .iter()
            .map(|r| {
                let m = r.metrics.as_ref().unwrap();
                m.messages_lost as f64 - p * m.messages_sent as f64
            })
            .collect();
        let st = stats::stats(&d).unwrap();
        assert!(
            st.ci95[0] <= 0.0 && 0.0 <= st.ci95[1],
            "loss {p}: mean of lost - p*sent = {} CI {:?}",
            st.mean,
            st.ci95
        );
    }
}

/// The half-width of the mean's CI falls like 1/√n: 16 times the seeds
/// give about a quarter of the width (allowing for the spread of the
/// sample standard deviation and of t: well under a half). Fault-free, so
/// the spread comes from the workload and latencies, without the long tail
/// a timeout adds (a tail makes small samples' widths erratic).
#[test]
fn the_means_confidence_interval_shrinks_as_seeds_grow() {
    let study_of = |seeds: u64| {
        format!(
            r#"Study(name: "ci", base: File("{}"), seeds: {seeds},
                axes: [(path: "network.loss", values: ["0%"])], metrics: ["completion_time_us"])"#,
            s(&common::workspace().join("scenarios/quickstart.ron").canonicalize().unwrap())
        )
    };
    let width = |seeds: u64| {
        let done = run_in_process(&study_of(seeds), &format!("study-ci-{seeds}"));
        let m = &done.report.points[0].metrics["completion_time_us"];
        assert_eq!(m.n, seeds);
        m.ci95[1] - m.ci95[0]
    };
    let (w10, w40, w160) = (width(10), width(40), width(160));
    assert!(w10 > 0.0);
    assert!(w40 < w10 && w160 < w40, "widths {w10} {w40} {w160}");
    assert!(w160 < 0.5 * w10, "16x the seeds: width {w160} vs {w10}");
}

/// The counters a study reads come from the run itself: a DataShard
/// restarted mid-Applying re-applies rows it had made durable only when it
/// rescans from the start (`resume_from_last_key = false`); resuming wastes
/// none. Restarts show as pipe resets and re-sent requests; every commit
/// is counted under its tablet kind.
#[test]
fn wasted_work_is_counted_only_without_resume_from_last_key() {
    let mut scenario = common::load("restart-mid-applying.ron");
    // Seeds where DataShard 3 has a batch durable when it restarts (about 6
    // seeds in 7; seed 1 does not), so a rescan has rows to re-apply.
    let wasted = |s: &restoresim::scenario::Scenario| -> Vec<u64> {
        [2, 3, 4, 6]
            .into_iter()
            .map(|seed| {
                let r = common::run(s, seed);
                common::assert_all_done(&r);
                let m = &r.metrics;
                assert!(m.rows_applied > 0 && m.pipe_resets > 0 && m.requests_resent > 0, "seed {seed}: {m:?}");
                assert_eq!(
                    m.commits_schemeshard + m.commits_datashard + m.commits_txallocator,
                    r.node_commits.iter().sum::<u64>()
                );
                assert!(m.first_progress_us.is_some() && m.progress_lag_us > 0, "{m:?}");
                m.rows_reapplied
            })
            .collect()
    };
    assert_eq!(wasted(&scenario), [0, 0, 0, 0]);
    scenario.protocol.resume_from_last_key = false;
    let rescanned = wasted(&scenario);
    assert!(rescanned.iter().all(|n| *n > 0), "a rescan re-applies durable rows: {rescanned:?}");
}

/// Stage-scope retry (generation-only) shows as stage retries, not as
/// re-sent requests; shard-scope retry (the design's) the other way round.
#[test]
fn retries_are_counted_by_scope() {
    let generation_only = common::load("generation-only.ron");
    let design = common::load("design-default.ron");
    let (mut stage, mut resent) = (0, 0);
    for seed in 0..3 {
        let m = common::run(&generation_only, seed).metrics;
        assert_eq!(m.requests_resent, 0, "seed {seed}: {m:?}");
        stage += m.stage_retries;
        resent += common::run(&design, seed).metrics.requests_resent;
    }
    assert!(stage > 0 && resent > 0, "stage retries {stage}, re-sent requests {resent}");
}
