//! Exit codes that tell the truth, and paths a scenario cannot steer:
//! output problems are 73 (cannot create) or 74 (I/O error) with the path
//! and the OS error, for `run`, `sweep`, `merge` and `replay`; a closed
//! stdout changes nothing; `--jobs` is bounded; an edited capsule scenario
//! is bad input, not nondeterminism; a scenario's `name` never leaves
//! `out/`; `merge` and `--resume` compare scenarios by content.

mod common;

use std::process::{Command, Stdio};

use common::{restoresim, temp_dir, text};

const QUICKSTART: &str = "scenarios/quickstart.ron";

fn code_and_stderr(args: &[&str]) -> (Option<i32>, String) {
    let out = restoresim(args);
    (out.status.code(), text(&out.stderr))
}

#[test]
fn output_that_cannot_be_created_exits_73_with_the_path() {
    let dir = temp_dir("exit73");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let under_file = file.join("sub");
    let too_long = dir.join("n".repeat(300));
    let sweep_dir = dir.join("sweep");
    let out = restoresim(&["sweep", QUICKSTART, "--seeds", "0..2", "--out", sweep_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for bad in [&file, &under_file, &too_long] {
        let bad = bad.to_str().unwrap();
        let commands: [Vec<&str>; 4] = [
            vec!["run", QUICKSTART, "--out", bad],
            vec!["sweep", QUICKSTART, "--seeds", "0..2", "--out", bad],
            vec!["merge", sweep_dir.to_str().unwrap(), "--out", bad],
            vec!["replay", QUICKSTART, "--trace", "--out", bad],
        ];
        for args in commands {
            let (code, stderr) = code_and_stderr(&args);
            assert_eq!(code, Some(73), "{args:?}: {stderr}");
            assert!(
                stderr.contains(bad) && stderr.contains("os error"),
                "{args:?} names the path and the OS error: {stderr}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_stdout_changes_nothing() {
    let dir = temp_dir("closed-stdout");
    let mut child = Command::new(env!("CARGO_BIN_EXE_restoresim"))
        .args(["run", QUICKSTART, "--out", dir.to_str().unwrap()])
        .current_dir(common::workspace())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("ends");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn jobs_beyond_four_per_core_are_clamped_with_a_warning() {
    let dir = temp_dir("jobs");
    let (code, stderr) =
        code_and_stderr(&["sweep", QUICKSTART, "--seeds", "0..2", "--jobs", "100000", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("warning: --jobs 100000"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_edited_capsule_scenario_is_bad_input_not_nondeterminism() {
    let dir = temp_dir("edited-capsule");
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("s.ron");
    std::fs::copy(common::workspace().join(QUICKSTART), &scenario).unwrap();
    let run_dir = dir.join("run");
    let out = restoresim(&["run", scenario.to_str().unwrap(), "--out", run_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (code, stderr) = code_and_stderr(&["replay", run_dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "unedited, the capsule replays: {stderr}");
    let edited = std::fs::read_to_string(&scenario).unwrap().replace("rows: 400", "rows: 401");
    std::fs::write(&scenario, edited).unwrap();
    let (code, stderr) = code_and_stderr(&["replay", run_dir.to_str().unwrap()]);
    assert_eq!(code, Some(65), "{stderr}");
    assert!(stderr.contains("the capsule's scenario changed"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_scenario_name_cannot_steer_where_files_go() {
    let dir = temp_dir("name-paths");
    let work = dir.join("a").join("b");
    std::fs::create_dir_all(&work).unwrap();
    for name in ["../../escaped", "/tmp/restoresim-escaped-absolute"] {
        let scenario = work.join("s.ron");
        let body = std::fs::read_to_string(common::workspace().join(QUICKSTART))
            .unwrap()
            .replace("name: \"quickstart\"", &format!("name: \"{name}\""));
        std::fs::write(&scenario, body).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_restoresim"))
            .args(["run", "s.ron"])
            .current_dir(&work)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let written: Vec<_> = std::fs::read_dir(work.join("out")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(written.len(), 1, "one folder under out/: {written:?}");
        let _ = std::fs::remove_dir_all(work.join("out"));
    }
    assert!(!dir.join("a").join("escaped-seed1").exists());
    assert!(!std::path::Path::new("/tmp/restoresim-escaped-absolute-seed1").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_and_resume_compare_the_scenario_not_its_spelling() {
    let dir = temp_dir("spelling");
    let (a, b, resumed) = (dir.join("a"), dir.join("b"), dir.join("r"));
    let shard = |file: &str, k: &str, out: &std::path::Path| {
        restoresim(&["sweep", file, "--seeds", "0..4", "--shard", k, "--out", out.to_str().unwrap()])
    };
    assert_eq!(shard(QUICKSTART, "1/2", &a).status.code(), Some(0));
    assert_eq!(shard("./scenarios/quickstart.ron", "2/2", &b).status.code(), Some(0));
    let merged = dir.join("merged");
    let out = restoresim(&["merge", a.to_str().unwrap(), b.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = restoresim(&["sweep", QUICKSTART, "--seeds", "0..3", "--out", resumed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = restoresim(&[
        "sweep",
        "./scenarios/../scenarios/quickstart.ron",
        "--seeds",
        "0..3",
        "--out",
        resumed.to_str().unwrap(),
        "--resume",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_crash_point_beyond_the_last_event_is_an_error() {
    let dir = temp_dir("crash-point");
    for point in ["DataShard1@event:100000", "SchemeShard@commit:100000"] {
        let (code, stderr) =
            code_and_stderr(&["run", QUICKSTART, "--crash-point", point, "--out", dir.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{point}: {stderr}");
        assert!(stderr.contains("beyond"), "{point}: {stderr}");
    }
    let (code, stderr) =
        code_and_stderr(&["run", QUICKSTART, "--crash-point", "DataShard1@event:3", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "a point inside the run is run: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
