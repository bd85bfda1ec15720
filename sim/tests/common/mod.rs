//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod mutate;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use restoresim::run::{self, Outcome, RunOptions, RunReport};
use restoresim::scenario::{self, Scenario};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn scenario_files() -> Vec<PathBuf> {
    ron_files_in("scenarios")
}

/// `scenarios/findings/*.ron`: scenarios that show a defect of the system
/// as shipped, so some of their seeds fail by design.
#[allow(dead_code)]
pub fn finding_files() -> Vec<PathBuf> {
    ron_files_in("scenarios/findings")
}

fn ron_files_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace().join(dir))
        .unwrap_or_else(|e| panic!("{dir}/: {e}"))
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
}

pub fn load(name: &str) -> Scenario {
    scenario::load(&workspace().join("scenarios").join(name)).expect("bundled scenario parses")
}

pub fn parse(text: &str) -> Scenario {
    scenario::parse(text, Path::new("inline.ron")).unwrap_or_else(|e| panic!("{e}"))
}

pub fn run(s: &Scenario, seed: u64) -> RunReport {
    run::run(s, seed, RunOptions::default())
}

/// Asserts a pass in which every restore ended Done, with the reason if not.
pub fn assert_all_done(r: &RunReport) {
    assert_eq!(r.outcome, Outcome::Pass, "seed {}: {:?}\n{}", r.seed, r.violation, r.log.join("\n"));
    for restore in &r.restores {
        assert_eq!(restore.state, restoresim::run::RestoreState::DONE, "seed {}: {restore:?}", r.seed);
    }
}

/// Runs the `restoresim` binary from the workspace root.
pub fn restoresim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_restoresim"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("the binary runs")
}

/// A fresh, empty temporary folder path unique to this test process.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("restoresim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A failing run folder: ci-smoke seed 1 with `LastKeyRegress` planted
/// (4-progress-monotonic), written to a fresh `temp_dir(name)` with `extra`
/// arguments (e.g. `--trace`).
pub fn failing_run(name: &str, extra: &[&str]) -> PathBuf {
    let dir = temp_dir(name);
    let mut args = vec!["run", "scenarios/ci-smoke.ron", "--seed", "1", "--bug", "LastKeyRegress", "--out"];
    args.push(dir.to_str().expect("temp paths are UTF-8"));
    args.extend_from_slice(extra);
    let out = restoresim(&args);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    dir
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A folder's `summary.json`.
pub fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary.json exists"))
        .expect("summary.json is JSON")
}
