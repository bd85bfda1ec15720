//! Each protocol knob (docs/design.md §4.6) changes behaviour for real: the same
//! scenario and seed with the knob flipped gives another run, and the
//! difference is the one the knob is for.

mod common;

use restoresim::run::{Outcome, RestoreState};
use restoresim::scenario::{
    Duration, OpStateName, ProgressPersist, RestartSpec, RetryScope, Scenario, TabletRef, Trigger,
};

/// quickstart in small batches, with a DataShard restarted in the middle of
/// an incremental (after its second batch).
fn base() -> Scenario {
    let mut s = common::load("quickstart.ron");
    s.protocol.batch_rows = 5;
    s.faults.restarts = vec![RestartSpec::restart(
        TabletRef::DataShard(1),
        Trigger::AfterBatches { shard: 1, batches: 2 },
        Duration(5_000),
    )];
    s
}

fn differs(a: &Scenario, b: &Scenario, seed: u64) -> (restoresim::run::RunReport, restoresim::run::RunReport) {
    let (ra, rb) = (common::run(a, seed), common::run(b, seed));
    assert_ne!(ra.trace_hash, rb.trace_hash, "the knob changed nothing");
    (ra, rb)
}

#[test]
fn resume_from_last_key_off_rescans_after_a_restart() {
    let a = base();
    let mut b = base();
    b.protocol.resume_from_last_key = false;
    let (ra, rb) = differs(&a, &b, 1);
    common::assert_all_done(&ra);
    common::assert_all_done(&rb);
    assert!(
        rb.stats.commits > ra.stats.commits,
        "rescan re-applies batches: {} vs {}",
        rb.stats.commits,
        ra.stats.commits
    );
}

/// The rounds on the requests of a run, read off its trace.
fn request_rounds(s: &Scenario, seed: u64) -> Vec<u32> {
    let mut trace = Vec::new();
    let r =
        restoresim::run::run(s, seed, restoresim::run::RunOptions { trace: Some(&mut trace), ..Default::default() });
    common::assert_all_done(&r);
    let text = String::from_utf8(trace).expect("utf-8 trace");
    text.lines()
        .filter(|l| l.contains("IncrementalRestoreRequest(TEvIncrementalRestoreRequest"))
        .filter_map(|l| l.split("round: Round(").nth(1)?.split(')').next()?.parse().ok())
        .collect()
}

#[test]
fn request_rounds_off_stamps_generation_only() {
    let a = base();
    let mut b = base();
    b.protocol.request_rounds = false;
    differs(&a, &b, 1);
    let (on, off) = (request_rounds(&a, 1), request_rounds(&b, 1));
    assert!(!on.is_empty() && !off.is_empty(), "requests were traced");
    assert!(on.iter().any(|r| *r >= 2), "the restart made the coordinator re-send with a new round: {on:?}");
    assert!(off.iter().all(|r| *r == 0), "generation only: every round is 0: {off:?}");
}

#[test]
fn shard_timeout_none_leaves_silent_loss_undetected() {
    let mut a = common::load("silent-loss.ron");
    a.faults.restarts.clear();
    let mut b = a.clone();
    b.protocol.shard_timeout = None;
    b.budgets.liveness_bound = Duration(2_000_000);
    let hung = (1..=5).filter(|seed| {
        let (ra, rb) = (common::run(&a, *seed), common::run(&b, *seed));
        common::assert_all_done(&ra);
        rb.outcome == Outcome::LivenessViolation
    });
    assert!(hung.count() >= 1, "without a shard timeout silent loss hangs some restore");
}

#[test]
fn retry_scope_stage_asks_for_a_new_tx_id() {
    let a = base();
    let mut b = base();
    b.protocol.retry_scope = RetryScope::Stage;
    let (ra, rb) = differs(&a, &b, 1);
    common::assert_all_done(&ra);
    common::assert_all_done(&rb);
    let stage_retries = |r: &restoresim::run::RunReport| r.log.iter().filter(|l| l.contains("→ Allocating")).count();
    assert!(stage_retries(&rb) > stage_retries(&ra), "{} vs {}", stage_retries(&rb), stage_retries(&ra));
}

#[test]
fn max_shards_in_flight_serialises_shards() {
    let a = common::load("quickstart.ron");
    let mut b = a.clone();
    b.protocol.max_shards_in_flight = Some(1);
    let (ra, rb) = differs(&a, &b, 1);
    common::assert_all_done(&rb);
    assert!(rb.virtual_time_us > ra.virtual_time_us, "one shard at a time is slower");
}

#[test]
fn backoff_sets_how_long_a_retry_waits() {
    let a = base();
    let mut b = base();
    b.protocol.backoff.initial = Duration(200_000);
    b.protocol.backoff.max = Duration(400_000);
    let (ra, rb) = differs(&a, &b, 1);
    common::assert_all_done(&rb);
    assert!(rb.virtual_time_us > ra.virtual_time_us + 150_000, "{} vs {}", rb.virtual_time_us, ra.virtual_time_us);
}

#[test]
fn deadlines_fail_the_restore_with_a_timeout() {
    for stage in [false, true] {
        let mut s = common::load("quickstart.ron");
        s.expect = restoresim::scenario::Expect::Terminal;
        if stage {
            s.protocol.deadline_stage = Some(Duration(2_000));
        } else {
            s.protocol.deadline_overall = Some(Duration(10_000));
        }
        let r = common::run(&s, 1);
        assert_eq!(r.outcome, Outcome::Pass, "{:?}", r.violation);
        assert_eq!(r.restores[0].state, RestoreState::FAILED);
        assert!(
            r.restores[0].detail.contains("Timeout") && r.restores[0].detail.contains("deadline"),
            "{:?}",
            r.restores[0]
        );
    }
}

#[test]
fn progress_persist_on_shard_done_commits_less() {
    let a = common::load("quickstart.ron");
    let mut b = a.clone();
    b.protocol.progress_persist = ProgressPersist::OnShardDone;
    let (ra, rb) = differs(&a, &b, 1);
    common::assert_all_done(&rb);
    assert!(rb.stats.commits < ra.stats.commits, "{} vs {}", rb.stats.commits, ra.stats.commits);
}

#[test]
fn batch_rows_sets_the_commit_size() {
    let a = common::load("quickstart.ron");
    let mut b = a.clone();
    b.protocol.batch_rows = 5;
    let (ra, rb) = differs(&a, &b, 1);
    common::assert_all_done(&rb);
    assert!(rb.stats.commits > 2 * ra.stats.commits, "{} vs {}", rb.stats.commits, ra.stats.commits);
}

#[test]
fn restart_triggers_fire_once_on_their_state() {
    let mut s = common::load("quickstart.ron");
    s.faults.restarts = vec![RestartSpec::restart(
        TabletRef::SchemeShard,
        Trigger::OpEnters { state: OpStateName::Waiting, incr: 3 },
        Duration(1_000),
    )];
    let r = common::run(&s, 2);
    common::assert_all_done(&r);
    assert_eq!(r.stats.crashes, 1);
}
