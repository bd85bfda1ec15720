//! Fuzzing, as a standing part of the suite: scenario *text* — mutations of
//! every bundled scenario, and structured random scenarios with extreme
//! values — goes through the code the binary uses (`scenario::parse`, then
//! `run::run`). Every input is either refused with a located error (what
//! `check` and `run` exit 65 with) or runs to pass, safety or liveness
//! (0/1/3); no input panics.
//!
//! Bounds per input: an accepted scenario is within `scenario/limits.rs`
//! by construction; here it also runs with its event budget capped at
//! `EVENT_CAP` and, beyond `FUZZ_SIZE` (shards, oracle rows), only parses
//! (the limits themselves are what bound those; running one costs seconds).
//!
//! `cargo test --test fuzz_scenarios` runs a few thousand inputs;
//! `cargo test --release --test fuzz_scenarios -- --ignored` runs 100,000
//! and prints the counts.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use common::mutate::{apply, mutation};
use proptest::prelude::*;
use restoresim::run::{self, RunOptions};
use restoresim::scenario::{self, Scenario};

/// Events one fuzzed run may take.
const EVENT_CAP: u64 = 20_000;
/// Accepted scenarios larger than this (shards; oracle rows) are not run.
const FUZZ_SHARDS: u64 = 2_000;
const FUZZ_ORACLE_ROWS: u64 = 200_000;

static PARSED: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);
static RAN: AtomicU64 = AtomicU64::new(0);

fn bundled() -> Vec<String> {
    common::scenario_files().iter().map(|p| std::fs::read_to_string(p).expect("readable")).collect()
}

/// Is the accepted scenario small enough to run in the fuzz budget?
fn runnable(s: &Scenario) -> bool {
    let w = &s.workload;
    let shards: u64 = w.tables.iter().map(|t| u64::from(t.shards)).sum();
    let k = u64::from(w.incrementals);
    let oracle = w.tables.len() as u64 * (k + 1) * (w.rows + k * w.changes.max);
    shards <= FUZZ_SHARDS && oracle <= FUZZ_ORACLE_ROWS && w.key_space >= w.rows.saturating_mul(2)
}

/// One input, as `check` then `run` would take it.
fn check_text(text: &str) -> Result<(), TestCaseError> {
    let outcome = catch_unwind(AssertUnwindSafe(|| match scenario::parse(text, Path::new("fuzz.ron")) {
        Err(e) => {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            // What `check` prints: located, with a message.
            assert!(!e.message.is_empty(), "an error says what was expected");
            assert!(e.line >= 1 && e.column >= 1, "an error is located: {e}");
            assert!(!e.message.contains("(at `?`)"), "{e}");
        }
        Ok(mut s) => {
            PARSED.fetch_add(1, Ordering::Relaxed);
            if runnable(&s) {
                s.budgets.max_events = s.budgets.max_events.min(EVENT_CAP);
                let r = run::run(&s, 1, RunOptions::default());
                assert!(r.events <= EVENT_CAP + 1, "the event budget holds: {}", r.events);
                RAN.fetch_add(1, Ordering::Relaxed);
            }
        }
    }));
    match outcome {
        Ok(()) => Ok(()),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(TestCaseError::fail(format!("panicked ({why}) on:\n{text}")))
        }
    }
}

/// A structured random scenario with values at and beyond every limit.
fn structured() -> impl Strategy<Value = String> {
    let count = prop::sample::select(vec!["0", "1", "2", "3", "1000", "1001", "100000", "100001", "4294967295"]);
    let big =
        prop::sample::select(vec!["0", "1", "10", "1000", "1000000", "1000001", "4294967295", "18446744073709551615"]);
    let duration = prop::sample::select(vec!["\"0ms\"", "\"1us\"", "\"2ms\"", "\"1s\"", "\"525600min\"", "\"1min\""]);
    let chance = prop::sample::select(vec!["\"0%\"", "\"1%\"", "\"50%\"", "\"100%\"", "\"1/3\""]);
    let trigger = prop::sample::select(vec![
        "At(\"1ms\")",
        "At(\"0ms\")",
        "AtEvent(0)",
        "AtEvent(3)",
        "AtCommit(2)",
        "AfterBatches(shard: 1, batches: 0)",
        "AfterBatches(shard: 3, batches: 2)",
        "AfterBatches(shard: 99, batches: 1)",
        "OpEnters(state: Applying, incr: 2)",
        "OpEnters(state: Waiting, incr: 0)",
    ]);
    let tablet =
        prop::sample::select(vec!["SchemeShard", "TxAllocator", "DataShard(0)", "DataShard(3)", "DataShard(100)"]);
    let latency = prop::sample::select(vec![
        "Constant(\"1ms\")",
        "Uniform(min: \"1ms\", max: \"2ms\")",
        "Uniform(min: \"5ms\", max: \"1ms\")",
        "Exponential(min: \"0ms\", mean: \"1ms\")",
        "Tail(min: \"1ms\", max: \"2ms\", tail: \"5%\", tail_max: \"50ms\")",
        "Tail(min: \"1ms\", max: \"9ms\", tail: \"5%\", tail_max: \"2ms\")",
    ]);
    let backups =
        prop::sample::select(vec!["None", "Some([])", "Some([1])", "Some([1, 2])", "Some([2, 1])", "Some([7, 99])"]);
    (
        (count.clone(), count.clone(), count, big.clone(), big.clone(), big.clone(), big),
        (duration.clone(), duration.clone(), duration.clone(), duration.clone(), duration),
        (chance.clone(), chance.clone(), chance.clone(), chance),
        (trigger, tablet, latency, backups, any::<bool>(), any::<bool>()),
    )
        .prop_map(|(sizes, durations, chances, faults)| {
            let (shards_a, shards_b, incrementals, rows, key_space, changes, max_events) = sizes;
            let (poll, timeout, at, window, deadline) = durations;
            let (loss, duplicate, crash, restart) = chances;
            let (trigger, tablet, latency, backups, two_tables, swarm) = faults;
            let tables = if two_tables {
                format!("[(name: \"a\", shards: {shards_a}), (name: \"b\", shards: {shards_b})]")
            } else {
                format!("[(name: \"a\", shards: {shards_a})]")
            };
            let swarm = if swarm { ", swarm: ()" } else { "" };
            format!(
                "Scenario(\n  name: \"structured\",\n  workload: (tables: {tables}, incrementals: {incrementals}, rows: \
                 {rows}, key_space: {key_space}, changes: (min: 0, max: {changes})),\n  restores: [(table: \"a\", \
                 at: {at}, backups: {backups})],\n  client: (poll_interval: {poll}, request_timeout: {timeout}),\n  \
                 protocol: (deadline_stage: {deadline}, shard_timeout: {timeout}),\n  network: (latency: {latency}, \
                 loss: {loss}, duplicate: {duplicate}),\n  tablets: (crash: {crash}, restart: {restart}),\n  faults: \
                 (window: (until: {window}), restarts: [(tablet: {tablet}, when: {trigger})]{swarm}),\n  budgets: \
                 (max_events: {max_events}),\n)\n"
            )
        })
}

fn mutated() -> impl Strategy<Value = String> {
    let texts = bundled();
    (0..texts.len(), prop::collection::vec(mutation(), 1..4)).prop_map(move |(i, ms)| {
        let mut text = texts[i].clone();
        for m in &ms {
            text = apply(&text, m);
        }
        text
    })
}

fn inputs() -> impl Strategy<Value = String> {
    prop_oneof![3 => mutated(), 1 => structured()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn scenario_text_is_refused_or_runs_never_panics(text in inputs()) {
        check_text(&text)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// The long run: `cargo test --release -p restoresim --test fuzz_scenarios -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn a_hundred_thousand_inputs(text in inputs()) {
        check_text(&text)?;
        let seen = PARSED.load(Ordering::Relaxed) + REFUSED.load(Ordering::Relaxed);
        if seen.is_multiple_of(10_000) {
            eprintln!(
                "fuzz: {seen} inputs, {} refused (65), {} accepted, {} of them run (0/1/3), 0 panics",
                REFUSED.load(Ordering::Relaxed),
                PARSED.load(Ordering::Relaxed),
                RAN.load(Ordering::Relaxed)
            );
        }
    }
}

#[test]
fn every_bundled_scenario_is_accepted_unmutated() {
    for text in bundled() {
        check_text(&text).expect("runs");
    }
}
