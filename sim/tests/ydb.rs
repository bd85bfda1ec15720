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
    let s = common::load("ydb-faults.ron");
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
        return seed;
    }
    panic!("{} was never caught in seeds 0..200 of ydb-faults.ron", bug.name())
}

#[test]
fn ydb_35663_aborted_scan_reported_finished_is_caught() {
    println!("Ydb35663 caught at seed {}", hunt(Bug::Ydb35663));
}

#[test]
fn ydb_40685_failed_shards_not_persisted_is_caught() {
    println!("Ydb40685 caught at seed {}", hunt(Bug::Ydb40685));
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
