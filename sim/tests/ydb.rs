//! The YDB flavour (docs/ydb-flavour.md): its scenarios pass clean, each real
//! YDB defect planted as a bug is caught within 200 seeds of
//! `ydb-faults.ron` by an invariant it documents and the same seed passes
//! with the fix, and the no-shard-timeout and cap findings end a restore
//! only by its deadline.

mod common;

use restoresim::run::{self, Outcome, RunOptions, RunReport};
use restoresim_model::knobs::Bug;
use restoresim_model::progress::FinalStatus;

fn hunt(bug: Bug) -> u64 {
    hunt_in("ydb-faults.ron", bug).0
}

/// The first seed of 0..200 of `file` where `bug` breaks an invariant it
/// documents, with that run; the same seed must pass without the bug.
fn hunt_in(file: &str, bug: Bug) -> (u64, RunReport) {
    let s = common::load(file);
    let documented: Vec<&str> = bug.caught_by().iter().map(|i| i.id()).collect();
    for seed in 0..200 {
        let r = run::run(&s, seed, RunOptions { bugs: vec![bug], ..RunOptions::default() });
        let Some(v) = &r.violation else { continue };
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
        return (seed, r);
    }
    panic!("{} was never caught in seeds 0..200 of {file}", bug.name())
}

/// The clean run of `seed`: every restore Done and the Client's DROP first
/// refused while the restore held the path, then granted.
fn assert_drop_waited_then_granted(file: &str, seed: u64, path: &str) {
    let r = common::run(&common::load(file), seed);
    common::assert_all_done(&r);
    let said = |status: &str| r.log.iter().any(|l| l.contains(&format!("DROP {path}: {status}")));
    assert!(said("MultipleModifications"), "{file} seed {seed}: the DROP was never refused:\n{}", r.log.join("\n"));
    assert!(said("Dropped"), "{file} seed {seed}: the DROP never succeeded:\n{}", r.log.join("\n"));
}

/// #41268 / #33764: a SchemeShard restart after the restore ended re-locks
/// its paths, the dropped table too, before the fix.
#[test]
fn ydb_41268_boot_relocking_finished_and_dropped_paths_is_caught() {
    let (seed, r) = hunt_in("ydb-drop.ron", Bug::Ydb41268);
    let v = r.violation.expect("caught");
    assert!(v.message.contains("StepDropped") || v.message.contains("stay locked"), "{}", v.message);
    assert_drop_waited_then_granted("ydb-drop.ron", seed, "Table(TableId(0))");
    println!("Ydb41268 caught at seed {seed}");
}

/// #53201: after a SchemeShard restart the source DataShards keep a pipe
/// owned by a passed-away actor; their TEvSchemaChanged is lost and DROP
/// BACKUP COLLECTION hangs. With the fix the same seed drops it. (When the
/// kill lands on a commit before Finalizing is durable, the restore itself
/// hangs first: its re-dispatched scans report into the same dead pipes.)
#[test]
fn ydb_53201_dead_pipe_hangs_drop_backup_collection_is_caught() {
    let s = common::load("ydb-drop-pipe.ron");
    let bugged = |seed| run::run(&s, seed, RunOptions { bugs: vec![Bug::Ydb53201], ..RunOptions::default() });
    let (seed, r) = (0..200)
        .map(|seed| (seed, bugged(seed)))
        .inspect(|(seed, r)| assert_eq!(r.outcome, Outcome::LivenessViolation, "seed {seed}: {:?}", r.violation))
        .find(|(_, r)| r.restores[0].final_status == Some(FinalStatus::Success))
        .expect("a seed of 0..200 whose restore ends and whose DROP hangs");
    let v = r.violation.expect("caught");
    assert!(v.message.contains("drop of BackupCollection waits for TEvSchemaChanged"), "{}", v.message);
    assert!(r.log.iter().any(|l| l.contains("into its dead pipe")), "no send into a dead pipe logged");
    assert_drop_waited_then_granted("ydb-drop-pipe.ron", seed, "BackupCollection");
    println!("Ydb53201 hangs the DROP at seed {seed}");
}

/// Through the binary: the hang is exit 3, the fix exit 0.
#[test]
fn ydb_53201_exit_codes_through_the_binary() {
    let file = common::workspace().join("scenarios/ydb-drop-pipe.ron");
    let file = file.to_str().expect("utf-8 path");
    for (extra, code) in [(&["--bug", "Ydb53201"][..], 3), (&[][..], 0)] {
        let out = common::temp_dir(&format!("ydb-drop-pipe-{code}"));
        let mut args = vec!["run", file, "--out", out.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        let o = common::restoresim(&args);
        assert_eq!(o.status.code(), Some(code), "{}", common::text(&o.stdout));
    }
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
    let (seed, r) = hunt_in("ydb-fatal-scan.ron", Bug::Ydb40685);
    let message = r.violation.expect("caught").message;
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
