//! The coordinator driven by hand with two shards (no engine): the entry
//! point's validation, idempotency, Forget, GetProgress, stale answers and a
//! coordinator restart in the middle of Applying.

use crate::ids::{Generation, IncrIdx, OperationId, RequestKey, Round, ShardIdx, Stamp};
use crate::knobs::ProtocolKnobs;
use crate::msg::{Actor, ForgetStatus, Msg, RejectStatus, ResponseStatus, TEvIncrementalRestoreResponse};
use crate::oracle;
use crate::progress::{FinalStatus, OpState};
use crate::testkit::{World, workload};

fn world() -> World {
    World::new(workload(3), ProtocolKnobs { batch_rows: 4, ..ProtocolKnobs::default() })
}

fn accepted(w: &World) -> Vec<(RequestKey, OperationId)> {
    w.client_inbox
        .iter()
        .filter_map(|m| match m {
            Msg::RestoreAccepted { key, op } => Some((*key, *op)),
            _ => None,
        })
        .collect()
}

fn rejected(w: &World) -> Vec<RejectStatus> {
    w.client_inbox
        .iter()
        .filter_map(|m| match m {
            Msg::RestoreRejected { status, issues, .. } => {
                assert!(!issues.is_empty(), "a rejection says why");
                Some(*status)
            }
            _ => None,
        })
        .collect()
}

fn progress(w: &mut World, op: OperationId) -> Option<crate::progress::ProgressReport> {
    w.client_inbox.clear();
    w.client_sends(Msg::GetProgress { op, with_shards: true });
    w.settle(10).expect("no violation");
    w.client_inbox.iter().find_map(|m| match m {
        Msg::Progress { report, .. } => Some(report.clone().map(|r| *r)),
        _ => None,
    })?
}

#[test]
fn a_restore_by_hand_ends_done_with_the_oracles_data() {
    let mut w = world();
    w.restore(1, "t", &[1, 2, 3]);
    w.settle(10_000).expect("no invariant breaks");
    let (_, op) = accepted(&w)[0];
    let report = progress(&mut w, op).expect("known op");
    assert_eq!((report.state, report.final_status), (OpState::Done, Some(FinalStatus::Success)));
    assert_eq!((report.percent_bp, report.shards_done, report.shards_total), (10_000, 2, 2));
    assert_eq!(report.shards.len(), 2);
    let expected = oracle::fold(w.workload.chain(crate::ids::TableId(0)), IncrIdx(3));
    let actual: Vec<_> = w.ds_db[0].rows.iter().chain(&w.ds_db[1].rows).collect();
    assert_eq!(actual, expected.into_iter().collect::<Vec<_>>());
}

#[test]
fn validation_rejects_with_clear_statuses() {
    let mut w = world();
    w.restore(1, "no-such-table", &[1]);
    w.restore(2, "t", &[]);
    w.restore(3, "t", &[2, 1]);
    w.restore(4, "t", &[1, 3]);
    w.restore(5, "t", &[1, 2, 3, 4]);
    w.settle(100).expect("no violation");
    use RejectStatus::*;
    assert_eq!(rejected(&w), vec![PathDoesNotExist, BadRequest, BadRequest, BadRequest, BadRequest]);
    assert!(accepted(&w).is_empty());
}

#[test]
fn a_second_restore_of_a_running_table_is_refused_but_another_table_is_not() {
    let mut w = world();
    w.restore(1, "t", &[1, 2]);
    w.settle(3).expect("no violation"); // accepted, not finished
    w.restore(2, "t", &[1]);
    w.restore(3, "u", &[1]);
    w.settle(10_000).expect("no violation");
    assert_eq!(rejected(&w), vec![RejectStatus::MultipleModifications]);
    let ops = accepted(&w);
    assert_eq!(ops.iter().map(|(k, _)| k.0).collect::<Vec<_>>(), vec![1, 3]);
}

#[test]
fn a_repeated_request_gets_the_same_operation_id() {
    let mut w = world();
    w.restore(7, "t", &[1]);
    w.restore(7, "t", &[1]);
    w.settle(10_000).expect("no violation");
    w.restore(7, "t", &[1]);
    w.settle(10_000).expect("no violation");
    let ops = accepted(&w);
    assert_eq!(ops.len(), 3);
    assert!(ops.iter().all(|(_, op)| *op == ops[0].1), "{ops:?}");
    assert_eq!(w.ss_db.operations.len(), 1, "one operation, not three");
}

#[test]
fn forget_is_refused_while_running_and_works_after() {
    let mut w = world();
    w.restore(1, "t", &[1, 2, 3]);
    w.settle(3).expect("no violation");
    let (_, op) = accepted(&w)[0];
    w.deliver(Actor::SchemeShard, Actor::Client, Msg::Forget { op });
    let refused = Msg::ForgetResult { op, status: ForgetStatus::StillRunning };
    assert!(w.queue.iter().any(|(to, _, m)| *to == Actor::Client && *m == refused));
    w.settle(10_000).expect("no violation");
    w.client_sends(Msg::Forget { op });
    w.settle(10).expect("no violation");
    assert!(w.client_inbox.contains(&Msg::ForgetResult { op, status: ForgetStatus::Forgotten }));
    assert!(progress(&mut w, op).is_none(), "a forgotten op is unknown");
    w.client_sends(Msg::Forget { op });
    w.settle(10).expect("no violation");
    assert!(w.client_inbox.contains(&Msg::ForgetResult { op, status: ForgetStatus::NotFound }));
}

#[test]
fn a_stale_generation_answer_changes_nothing() {
    let mut w = world();
    w.restore(1, "t", &[1, 2, 3]);
    w.settle(4).expect("no violation");
    let (_, op) = accepted(&w)[0];
    let before = w.ss_db.clone();
    let stale = TEvIncrementalRestoreResponse {
        op,
        incr: IncrIdx(1),
        shard: ShardIdx(0),
        stamp: Stamp { generation: Generation(0), round: Round(1) },
        status: ResponseStatus::Done,
        last_key: Some(99),
        rows_applied: 1_000,
        rows_total: 1_000,
    };
    w.deliver(Actor::SchemeShard, Actor::DataShard(ShardIdx(0)), Msg::IncrementalRestoreResponse(stale));
    assert_eq!(w.ss_db, before, "nothing was committed");
    let ss = w.ss.as_ref().expect("up");
    assert_ne!(ss.op(op).expect("op").shards[0].status(), crate::progress::ShardStatus::Done);
}

#[test]
fn a_coordinator_restart_mid_applying_resumes_and_ends_done() {
    let mut w = world();
    w.restore(1, "t", &[1, 2, 3]);
    // Run until the op is Applying incremental 2, then crash the coordinator.
    for _ in 0..10_000 {
        w.settle(1).expect("no violation");
        let state = w.ss_db.states.values().next().map(|s| (s.state, s.incr));
        if state == Some((OpState::Applying, IncrIdx(2))) {
            break;
        }
    }
    assert_eq!(w.ss_db.states.values().next().map(|s| s.incr), Some(IncrIdx(2)));
    w.ss = None;
    w.queue.retain(|(to, _, _)| *to != Actor::SchemeShard); // in flight to it: lost
    w.boot_schemeshard();
    w.settle(10_000).expect("no invariant breaks");
    let op = accepted(&w)[0].1;
    let report = progress(&mut w, op).expect("known op");
    assert_eq!(report.state, OpState::Done);
}

#[test]
fn a_drifted_counter_fails_loudly() {
    let mut w = world();
    w.restore(1, "t", &[1, 2, 3]);
    w.settle(10_000).expect("no invariant breaks");
    let ss = w.ss.as_mut().expect("up");
    let op = ss.ops.values_mut().next().expect("one op");
    op.assert_counters();
    let caught = |op: &mut super::LongIncrementalRestoreOp| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op.assert_counters())).is_err()
    };
    for drift in [
        super::Counters { done: 1, ..Default::default() },
        super::Counters { accepted: 1, ..Default::default() },
        super::Counters { in_flight: 1, ..Default::default() },
    ] {
        let kept = op.volatile.counters;
        op.volatile.counters.done += drift.done;
        op.volatile.counters.accepted += drift.accepted;
        op.volatile.counters.in_flight += drift.in_flight;
        assert!(caught(op), "{drift:?} drifted");
        op.volatile.counters = kept;
    }
    op.assert_counters();
}
