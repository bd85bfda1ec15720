//! Restarts of every tablet kind in the middle of Applying still end Done
//! with the data equal to the oracle (checked by the run's invariants and its
//! final deep check).

mod common;

use restoresim::scenario::{Duration, OpStateName, RestartSpec, TabletRef, Trigger};

#[test]
fn fault_free_quickstart_ends_done_and_equal() {
    let s = common::load("quickstart.ron");
    for seed in 1..=5 {
        let r = common::run(&s, seed);
        common::assert_all_done(&r);
        assert_eq!(r.stats.crashes, 0);
    }
}

#[test]
fn each_tablet_kind_restarted_mid_applying_still_ends_done() {
    let base = common::load("quickstart.ron");
    for tablet in [TabletRef::SchemeShard, TabletRef::TxAllocator, TabletRef::DataShard(1)] {
        for incr in 1..=3 {
            let mut s = base.clone();
            s.faults.restarts = vec![RestartSpec::restart(
                tablet,
                Trigger::OpEnters { state: OpStateName::Applying, incr },
                Duration(5_000),
            )];
            for seed in 1..=3 {
                let r = common::run(&s, seed);
                common::assert_all_done(&r);
                assert_eq!(r.stats.crashes, 1, "{tablet:?} at incremental {incr}, seed {seed}: one restart");
            }
        }
    }
}

#[test]
fn datashard_restart_after_some_batches_resumes_and_ends_done() {
    let mut s = common::load("quickstart.ron");
    s.faults.restarts = vec![
        RestartSpec::restart(TabletRef::DataShard(2), Trigger::AfterBatches { shard: 2, batches: 2 }, Duration(3_000)),
        RestartSpec::restart(TabletRef::SchemeShard, Trigger::AfterBatches { shard: 0, batches: 1 }, Duration(0)),
    ];
    for seed in 1..=5 {
        let r = common::run(&s, seed);
        common::assert_all_done(&r);
        assert_eq!(r.stats.crashes, 2, "seed {seed}");
    }
}

#[test]
fn ci_smoke_passes_a_range_of_seeds() {
    let s = common::load("ci-smoke.ron");
    for seed in 1..=30 {
        let r = common::run(&s, seed);
        common::assert_all_done(&r);
        assert!(r.stats.crashes >= 2, "seed {seed}: the scenario's restarts happened");
    }
}
