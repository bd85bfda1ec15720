//! Every bundled scenario parses, passes its first seeds, and meets its
//! `expect`; `restoresim check` accepts them all.

mod common;

#[test]
fn every_bundled_scenario_passes_its_first_seeds() {
    for file in common::scenario_files() {
        let s = restoresim::scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
        for seed in 1..=5 {
            let r = common::run(&s, seed);
            assert_eq!(
                r.outcome,
                restoresim::run::Outcome::Pass,
                "{} seed {seed}: {:?}",
                file.display(),
                r.violation.map(|v| format!("{}: {}", v.invariant, v.message))
            );
        }
    }
}

#[test]
fn restoresim_check_accepts_every_bundled_scenario() {
    let files: Vec<String> = common::scenario_files().iter().map(|p| p.display().to_string()).collect();
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_restoresim")).arg("check").args(&files).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
