//! The YDB flavour (docs/ydb-flavour.md): its scenarios pass clean, each real
//! YDB defect planted as a bug is caught within 200 seeds of
//! `ydb-faults.ron` by an invariant it documents and the same seed passes
//! with the fix, and the no-shard-timeout and cap findings end a restore
//! only by its deadline.

mod common;

use restoresim::run::{self, Outcome, RunOptions};
use restoresim_model::knobs::Bug;
use restoresim_model::progress::FinalStatus;

fn hunt(bug: Bug) -> u64 {
    hunt_in("ydb-faults.ron", bug).0
}

/// The first seed of 0..200 of `file` where `bug` is caught, and what the
/// check said; the same seed passes with the fix.
fn hunt_in(file: &str, bug: Bug) -> (u64, String) {
    let s = common::load(file);
    let documented: Vec<&str> = bug.caught_by().iter().map(|i| i.id()).collect();
    for seed in 0..200 {
        let r = run::run(&s, seed, RunOptions { bugs: vec![bug], ..RunOptions::default() });
        let Some(v) = r.violation else { continue };
        assert!(
            documented.contains(&v.invariant.as_str()),
            "{} seed {seed}: {}: {}",
            bug.name(),
            v.invariant,
            v.message
        );
        let clean = common::run(&s, seed);
        assert_eq!(
            clean.outcome,
            Outcome::Pass,
            "{} seed {seed} fails with the fix: {:?}",
            bug.name(),
            clean.violation
        );
        return (seed, v.message);
    }
    panic!("{} was never caught in seeds 0..200 of {file}", bug.name())
}

#[test]
fn ydb_35663_aborted_scan_reported_finished_is_caught() {
    println!("Ydb35663 caught at seed {}", hunt(Bug::Ydb35663));
}

#[test]
fn ydb_40685_failed_shards_not_persisted_is_caught() {
    println!("Ydb40685 caught at seed {}", hunt(Bug::Ydb40685));
}

/// #40685's outcome path: a non-retriable failure SchemeShard took in is
/// forgotten by a restart, the re-sent scan succeeds, and the restore would
/// end Completed; the ghost record of non-retriable failures catches it
/// (the data is right, so only the outcome check can).
#[test]
fn ydb_40685_forgotten_fatal_failure_is_caught_by_the_outcome_check() {
    let (seed, message) = hunt_in("ydb-fatal-scan.ron", Bug::Ydb40685);
    assert!(message.contains("non-retriable failure"), "seed {seed}: {message}");
    println!("Ydb40685 (outcome path) caught at seed {seed}");
}

/// With the fix a non-retriable failure fails the restore, a restart
/// in between or not: some seeds of `ydb-fatal-scan.ron` end Failed with
/// `BackupUnreadable`, none is a violation.
#[test]
fn ydb_fatal_scan_fails_the_restore_with_the_fix() {
    let s = common::load("ydb-fatal-scan.ron");
    let failed = (0..40)
        .filter(|seed| {
            let r = common::run(&s, *seed);
            assert_eq!(r.outcome, Outcome::Pass, "seed {seed}: {:?}", r.violation);
            r.restores[0].final_status == Some(FinalStatus::BackupUnreadable)
        })
        .count();
    assert!(failed > 0, "no seed of 0..40 took a non-retriable failure");
}

#[test]
fn ydb_faults_pass_clean() {
    let s = common::load("ydb-faults.ron");
    for seed in 0..40 {
        common::assert_all_done(&common::run(&s, seed));
    }
}

/// A finding, not a bug of the model: with no per-shard timeout a silent
/// loss, and with the table cap a failed scan, leave the restore waiting
/// until its deadline fails it.
#[test]
fn ydb_hangs_end_only_by_the_deadline() {
    for (file, seeds) in [("ydb-silent-loss.ron", 0..10), ("ydb-cap-retry.ron", 0..10)] {
        let s = common::load(file);
        let timed_out = seeds
            .filter(|seed| {
                let r = common::run(&s, *seed);
                assert_eq!(r.outcome, Outcome::Pass, "{file} seed {seed}: {:?}", r.violation);
                r.restores[0].final_status == Some(FinalStatus::Timeout) && r.virtual_time_us >= 10_000_000
            })
            .count();
        assert!(timed_out > 0, "{file}: no seed of 0..10 waited for its deadline");
    }
}

/// A finding: YDB grants Forget in Finalizing (@03dca1ec), so a Client that
/// forgets at 99 % erases a restore whose finalize step is still waiting
/// for its TxId; invariant 12 (Forget only after the end) fires, at seed 2
/// of `ydb-forget-finalizing.ron` and only through that invariant.
#[test]
fn ydb_forget_in_finalizing_erases_a_restore_that_never_ended() {
    let s = common::load("findings/ydb-forget-finalizing.ron");
    let r = common::run(&s, 2);
    let v = r.violation.expect("seed 2: Forget lands in Finalizing");
    assert_eq!(v.invariant.as_str(), "12-forget-only-ended", "{}", v.message);
    assert!(v.message.contains("Finalizing"), "{}", v.message);
    for seed in 0..20 {
        let r = common::run(&s, seed);
        if let Some(v) = r.violation {
            assert_eq!(v.invariant.as_str(), "12-forget-only-ended", "seed {seed}: {}", v.message);
        }
    }
}
