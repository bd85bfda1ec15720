//! The fast sweep set `cargo mutants` uses as its test command: a handful
//! of short sweeps over the bundled scenarios, through the library, that
//! fail on any invariant or liveness violation. A mutant of the coordinator
//! or the DataShard that survives these sweeps is a bug the harness cannot
//! see (or an equivalent mutant): the mutation score measures the checks,
//! not the model. Trace hashes are deliberately not compared — a mutant that
//! only changes timing would be "caught" by a golden hash without any
//! invariant noticing, which would flatter the score.
//!
//! Skipped by a plain `cargo test` (about a minute at the test profile);
//! run with `cargo test -p restoresim --test mutation_sweeps -- --ignored`
//! or through `cargo mutants` (README, "Proving the harness").

mod common;

use restoresim::run::Outcome;

/// Runs `seeds` of a bundled scenario; every seed must pass (the scenario's
/// own `expect`), with every failure listed.
fn sweep(file: &str, seeds: std::ops::Range<u64>) {
    let s = common::load(file);
    let failed: Vec<String> = seeds
        .clone()
        .filter_map(|seed| {
            let r = common::run(&s, seed);
            (r.outcome != Outcome::Pass).then(|| format!("seed {seed}: {:?} {:?}", r.outcome, r.violation))
        })
        .collect();
    assert!(failed.is_empty(), "{file}: {} of {} seeds failed:\n{}", failed.len(), seeds.count(), failed.join("\n"));
}

/// Two concurrent restores, loss, duplication, restarts of every tablet kind
/// at chosen moments.
#[test]
#[ignore = "mutation sweep set: cargo test --test mutation_sweeps -- --ignored"]
fn ci_smoke() {
    sweep("ci-smoke.ron", 0..40);
}

/// Per-seed fault mixes: partitions, crashes, kills on commit, read errors.
#[test]
#[ignore = "mutation sweep set: cargo test --test mutation_sweeps -- --ignored"]
fn swarm() {
    sweep("swarm.ron", 0..150);
}

/// Every fault family at once.
#[test]
#[ignore = "mutation sweep set: cargo test --test mutation_sweeps -- --ignored"]
fn faults_all() {
    sweep("faults-all.ron", 0..20);
}

/// The knob variants: generation only, no shard timeout, an in-flight cap,
/// silent loss, deadlines, and the restart recovery paths.
#[test]
#[ignore = "mutation sweep set: cargo test --test mutation_sweeps -- --ignored"]
fn knob_variants() {
    sweep("generation-only.ron", 0..15);
    sweep("no-retry-on-pipe-reset.ron", 0..15);
    sweep("many-tables.ron", 0..5);
    sweep("silent-loss.ron", 0..10);
    sweep("restart-mid-applying.ron", 0..15);
    sweep("design-default.ron", 0..5);
    sweep("deadlines.ron", 0..10);
}
