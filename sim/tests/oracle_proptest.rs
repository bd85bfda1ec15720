//! Protocol vs oracle on random small workloads with random restart points
//! and network faults: every run must pass every invariant, end Done, and
//! leave the tables equal to `fold(full, inc_1..inc_K)` (the run's final
//! deep check).

mod common;

use proptest::prelude::*;
use restoresim::engine::Ratio;
use restoresim::run::RestoreState;
use restoresim::scenario::{
    Chance, Duration, Expect, MinMax, OpStateName, RestartSpec, Scenario, TableSpec, TabletRef, Trigger,
};

/// One random workload shape.
#[derive(Debug, Clone)]
struct Shape {
    shards: u32,
    incrementals: u32,
    rows: u64,
    changes: u64,
    batch_rows: u32,
    erase_pct: u32,
    faults_pct: u32,
    /// (tablet kind, incremental, batches/shard selector)
    restart: Option<(u8, u32, u32)>,
}

fn scenario(shape: &Shape) -> Scenario {
    let Shape { shards, incrementals, rows, changes, batch_rows, erase_pct, faults_pct, restart } = shape.clone();
    let mut s = common::parse("(name: \"proptest\")");
    s.workload.tables = vec![TableSpec { name: "t".into(), shards }];
    s.workload.key_space = 2_000;
    s.workload.rows = rows;
    s.workload.incrementals = incrementals;
    s.workload.changes = MinMax { min: 0, max: changes };
    s.workload.erase = Chance(Ratio::new(erase_pct, 100));
    s.workload.empty_incremental = Chance(Ratio::new(1, 10));
    s.protocol.batch_rows = batch_rows;
    s.protocol.shard_timeout = Some(Duration(50_000));
    s.network.loss = Chance(Ratio::new(faults_pct, 100));
    s.network.duplicate = Chance(Ratio::new(faults_pct, 100));
    s.faults.window.until = Duration(1_000_000);
    s.expect = Expect::AllDone;
    if let Some((kind, incr, batches)) = restart {
        let shard = batches % shards;
        let (tablet, when) = match kind % 4 {
            0 => (TabletRef::SchemeShard, Trigger::OpEnters { state: OpStateName::Applying, incr }),
            1 => (TabletRef::TxAllocator, Trigger::OpEnters { state: OpStateName::Allocating, incr }),
            2 => (TabletRef::DataShard(shard), Trigger::OpEnters { state: OpStateName::Applying, incr }),
            _ => (TabletRef::DataShard(shard), Trigger::AfterBatches { shard, batches: 1 + batches % 3 }),
        };
        s.faults.restarts = vec![RestartSpec::restart(tablet, when, Duration(u64::from(batches) * 1_000))];
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn protocol_matches_oracle(
        shards in 1u32..6,
        incrementals in 1u32..4,
        rows in 0u64..200,
        changes in 0u64..150,
        batch_rows in 1u32..30,
        erase_pct in 0u32..50,
        faults_pct in 0u32..4,
        restart in proptest::option::of((0u8..4, 1u32..4, 0u32..20)),
        seed in 0u64..1_000_000,
    ) {
        let restart = restart.map(|(k, i, b)| (k, i.min(incrementals), b));
        let shape = Shape { shards, incrementals, rows, changes, batch_rows, erase_pct, faults_pct, restart };
        let s = scenario(&shape);
        let r = common::run(&s, seed);
        prop_assert_eq!(r.outcome, restoresim::run::Outcome::Pass, "{:?}\n{}", r.violation, r.log.join("\n"));
        for restore in &r.restores {
            prop_assert_eq!(restore.state, RestoreState::DONE);
        }
    }
}
