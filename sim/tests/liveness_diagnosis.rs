//! A liveness failure explains the hang: who waits for whom, the in-flight
//! count against the cap, what each waited-for DataShard holds durably, and
//! whether anything pending can still wake the operation — ending with
//! "stuck for good" when nothing can.

mod common;

use restoresim::run::{self, Outcome, RunOptions, RunReport};
use restoresim_model::knobs::Bug;

/// no-retry-on-pipe-reset.ron, with `from` replaced by `to` in its text.
fn variant(from: &str, to: &str) -> restoresim::scenario::Scenario {
    let path = common::workspace().join("scenarios/no-retry-on-pipe-reset.ron");
    let text = std::fs::read_to_string(path).expect("bundled scenario reads");
    assert!(text.contains(from), "the scenario still says {from}");
    common::parse(&text.replace(from, to))
}

/// Runs `s` with NoRetryOnPipeReset planted; the run must hang.
fn hang(s: &restoresim::scenario::Scenario, seed: u64) -> String {
    let r: RunReport = run::run(s, seed, RunOptions { bugs: vec![Bug::NoRetryOnPipeReset], ..RunOptions::default() });
    assert_eq!(r.outcome, Outcome::LivenessViolation, "seed {seed}: {:?}", r.violation);
    r.violation.expect("a liveness violation has a report").message
}

/// The planted bug's hang: the coordinator ignored the pipe reset of a
/// restarted DataShard, and with no shard timeout nothing is left that
/// could re-send — the diagnosis says so, and names the shard's durable state.
#[test]
fn no_retry_on_pipe_reset_is_stuck_for_good() {
    let s = common::load("no-retry-on-pipe-reset.ron");
    for seed in 0..3 {
        let why = hang(&s, seed);
        assert!(why.ends_with("Stuck for good: nothing pending can wake op1."), "seed {seed}: {why}");
        assert!(why.contains("waiting for 1 of 6 DataShards: DataShard 2 (Accepted, round 1,"), "seed {seed}: {why}");
        assert!(why.contains("durably at LastKey Some("), "seed {seed}: {why}");
        assert!(why.contains("1 in flight (no cap)."), "seed {seed}: {why}");
    }
}

/// The same hang with a shard timeout longer than the liveness bound: the
/// operation is not stuck for good, a ShardTimeout timer will wake it, and
/// the diagnosis says which and when.
#[test]
fn a_pending_timer_is_named_with_its_time() {
    let s = variant("shard_timeout: None", "shard_timeout: \"60s\"");
    let why = hang(&s, 0);
    assert!(!why.contains("Stuck for good"), "{why}");
    assert!(why.contains("Can still wake op1: a ShardTimeout timer for DataShard 2 at SchemeShard at 60."), "{why}");
}

/// With an in-flight cap the count is shown against it; with request
/// rounds off no round is shown.
#[test]
fn the_cap_is_shown_and_rounds_only_when_on() {
    let s = variant("shard_timeout: None", "shard_timeout: None, max_shards_in_flight: 2, request_rounds: false");
    let why = hang(&s, 0);
    assert!(why.contains("in flight of a cap of 2"), "{why}");
    assert!(!why.contains("round"), "{why}");
    assert!(why.ends_with("Stuck for good: nothing pending can wake op1."), "{why}");
}

/// With a cap of 1, the shards not yet sent to wait for the slot the lost
/// request holds, and are listed in queue order.
#[test]
fn shards_waiting_for_a_slot_are_listed() {
    let path = common::workspace().join("scenarios/no-retry-on-pipe-reset.ron");
    let text = std::fs::read_to_string(path)
        .expect("bundled scenario reads")
        .replace("shard_timeout: None", "shard_timeout: None, max_shards_in_flight: 1")
        .replace(
            "DataShard(2), when: OpEnters(state: Applying, incr: 1)",
            "DataShard(0), when: AfterBatches(shard: 0, batches: 1)",
        );
    let why = hang(&common::parse(&text), 0);
    assert!(why.contains("waiting for 6 of 6 DataShards: DataShard 0 (Accepted"), "{why}");
    assert!(why.contains("1 in flight of a cap of 1, 5 queued for a slot (DataShard 1, 2, 3, 4 and 1 more)."), "{why}");
    assert!(why.ends_with("Stuck for good: nothing pending can wake op1."), "{why}");
}

/// Through the binary: exit code 3 and the sentence in the output.
#[test]
fn the_run_output_ends_the_diagnosis_with_stuck_for_good() {
    let dir = common::temp_dir("stuck-for-good");
    let out = common::restoresim(&[
        "run",
        "scenarios/no-retry-on-pipe-reset.ron",
        "--seed",
        "0",
        "--bug",
        "NoRetryOnPipeReset",
        "--out",
        dir.to_str().expect("temp paths are UTF-8"),
    ]);
    let stdout = common::text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{}", common::text(&out.stderr));
    assert!(stdout.contains("Stuck for good: nothing pending can wake op1."), "{stdout}");
    let summary = common::summary(&dir);
    let message = summary["violation"]["message"].as_str().expect("a message");
    assert!(message.ends_with("Stuck for good: nothing pending can wake op1."), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
