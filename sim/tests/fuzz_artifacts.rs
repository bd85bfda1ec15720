//! Fuzzing what `replay`, `merge` and `sweep --resume` read back: damaged
//! capsules (their `summary.json` or `scenario.ron`) are refused or
//! replayed, never a panic; damaged sweep folders (`sweep.json`,
//! `results.jsonl`, `summary.json`) make `merge` and `--resume` exit with
//! a documented code, never a panic.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::mutate::{Mutation, apply, mutation};
use common::{restoresim, text};
use proptest::prelude::*;
use restoresim::capsule;
use restoresim::run::{self, RunOptions};

/// A failing run's folder (with a fault tape) and its scenario beside it.
fn capsule_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = common::temp_dir("fuzz-capsule");
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
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        std::fs::copy(common::workspace().join("scenarios/ci-smoke.ron"), dir.join("scenario.ron")).unwrap();
        dir
    })
}

/// Two shards of a small sweep.
fn sweep_dirs() -> &'static (PathBuf, PathBuf) {
    static DIRS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DIRS.get_or_init(|| {
        let base = common::temp_dir("fuzz-sweep");
        let (a, b) = (base.join("a"), base.join("b"));
        for (k, dir) in [("1/2", &a), ("2/2", &b)] {
            let out = restoresim(&[
                "sweep",
                "scenarios/quickstart.ron",
                "--seeds",
                "0..6",
                "--shard",
                k,
                "--out",
                dir.to_str().unwrap(),
            ]);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        }
        (a, b)
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn damage(path: &Path, ms: &[Mutation]) {
    let mut body = std::fs::read_to_string(path).unwrap_or_default();
    for m in ms {
        body = apply(&body, m);
    }
    std::fs::write(path, body).unwrap();
}

fn case_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = common::temp_dir(&format!("{name}-{}", N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_damaged_capsule_is_refused_or_replayed(file in 0..2usize, ms in prop::collection::vec(mutation(), 1..4)) {
        let dir = case_dir("capsule");
        copy_dir(capsule_dir(), &dir);
        damage(&dir.join(["summary.json", "scenario.ron"][file]), &ms);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(c) = capsule::read(&dir) {
                let mut scenario = c.scenario.clone();
                scenario.budgets.max_events = scenario.budgets.max_events.min(50_000);
                let options = RunOptions { bugs: c.bugs.clone(), ..RunOptions::default() };
                match &c.tape {
                    Some(tape) => drop(run::replay(&scenario, c.seed, options, tape)),
                    None => drop(run::run(&scenario, c.seed, options)),
                }
            }
        }));
        let _ = std::fs::remove_dir_all(&dir);
        prop_assert!(outcome.is_ok(), "a damaged capsule panicked");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_damaged_sweep_folder_is_refused_or_merged_never_a_panic(
        file in 0..3usize,
        ms in prop::collection::vec(mutation(), 1..3),
    ) {
        let dir = case_dir("sweep");
        let (a, b) = sweep_dirs();
        let (da, db) = (dir.join("a"), dir.join("b"));
        copy_dir(a, &da);
        copy_dir(b, &db);
        damage(&da.join(["sweep.json", "results.jsonl", "summary.json"][file]), &ms);
        let merged = dir.join("merged");
        let merge = restoresim(&["merge", da.to_str().unwrap(), db.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
        let resume = restoresim(&[
            "sweep", "scenarios/quickstart.ron", "--seeds", "0..6", "--shard", "1/2",
            "--out", da.to_str().unwrap(), "--resume",
        ]);
        let _ = std::fs::remove_dir_all(&dir);
        for (what, out) in [("merge", merge), ("--resume", resume)] {
            let stderr = text(&out.stderr);
            prop_assert!(!stderr.contains("panicked"), "{} panicked: {}", what, stderr);
            let code = out.status.code();
            prop_assert!(matches!(code, Some(0 | 2 | 65)), "{} exits {:?}: {}", what, code, stderr);
        }
    }
}
