//! Each invariant fires on a hand-made history that breaks it. (Liveness is
//! judged by the harness; `sim/tests/planted_bugs.rs` makes every invariant
//! fire through planted bugs as well.)

use std::sync::Arc;

use super::{Checker, Invariant};
use crate::data::{Cell, Change};
use crate::datashard::{DataShardCommit, DataShardDb, IncrementalProgress, ShardRows};
use crate::ids::{IncrIdx, Key, OperationId, RequestKey, ShardIdx, TableId};
use crate::progress::{FinalStatus, OpState};
use crate::schemeshard::{OperationRow, SchemeShardCommit, SchemeShardWrite, StateRow};
use crate::testkit::workload;

const OP: OperationId = OperationId(1);

fn setup() -> (Checker, DataShardDb, crate::topology::ShardSpec) {
    let w = Arc::new(workload(3));
    let spec = w.topology.shard(ShardIdx(0)).clone();
    let db = DataShardDb {
        rows: ShardRows::over(w.chain(TableId(0)).full.clone(), spec.start, spec.end),
        restores: Default::default(),
    };
    (Checker::new(w), db, spec)
}

fn commit(incr: u32, changes: Vec<(Key, Change)>, progress: IncrementalProgress) -> DataShardCommit {
    let changes = crate::batch::ChangeBatch::from_changes(changes);
    DataShardCommit { op: OP, incr: IncrIdx(incr), changes, progress, reply: None, continue_scan: false }
}

fn fire(
    checker: &mut Checker,
    db: &mut DataShardDb,
    spec: &crate::topology::ShardSpec,
    c: DataShardCommit,
) -> Option<Invariant> {
    let before = db.progress(c.op, c.incr).copied();
    c.apply(db);
    checker.on_datashard_commit(spec, before, &c, db).err().map(|v| {
        assert!(!v.message.is_empty());
        v.invariant
    })
}

fn real_changes(checker_workload: &crate::workload::Workload, incr: u32, end: Key) -> Vec<(Key, Change)> {
    let inc = checker_workload.chain(TableId(0)).incremental(IncrIdx(incr)).expect("exists");
    inc.range_after(0, end, None, usize::MAX).to_vec()
}

#[test]
fn invariant_1_fires_when_a_shard_claims_done_with_missing_rows() {
    let (mut c, mut db, spec) = setup();
    // No LastKey, so invariant 3's range check has nothing to cover; a
    // LastKey over the missing rows is caught earlier, by invariant 3.
    let done = IncrementalProgress { done: true, last_key: None, ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, vec![], done)), Some(Invariant::FinalData));
}

#[test]
fn invariant_2_fires_when_a_later_incremental_lands_first() {
    let (mut c, mut db, spec) = setup();
    let w = workload(3);
    let changes = real_changes(&w, 2, 30);
    let p = IncrementalProgress { last_key: Some(28), ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(2, changes, p)), Some(Invariant::Order));
}

#[test]
fn invariant_3_fires_when_rows_differ_from_the_oracle_prefix() {
    let (mut c, mut db, spec) = setup();
    let w = workload(3);
    let mut changes = real_changes(&w, 1, 30);
    changes[1].1 = Change::Upsert { cells: [Cell::Set(Some(12_345)), Cell::Keep, Cell::Keep] };
    let p = IncrementalProgress { last_key: Some(28), ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, changes, p)), Some(Invariant::ExactlyOnce));
}

/// The per-key check skips the keys the prefix walk compares, but a wrong
/// key there is still reported as the per-key check always reported it
/// (the walk's failure runs it in full first), and a changed key outside
/// the walked span is still looked at one by one.
#[test]
fn invariant_3_reports_a_wrong_key_in_the_walked_span_per_key() {
    let (mut c, mut db, spec) = setup();
    let w = workload(3);
    let mut changes = real_changes(&w, 1, 30);
    let key = changes[1].0;
    changes[1].1 = Change::Upsert { cells: [Cell::Set(Some(12_345)), Cell::Keep, Cell::Keep] };
    let p = IncrementalProgress { last_key: Some(28), ..Default::default() };
    let c1 = commit(1, changes, p);
    c1.apply(&mut db);
    let v = c.on_datashard_commit(&spec, None, &c1, &db).expect_err("a wrong row below LastKey");
    assert_eq!(v.invariant, Invariant::ExactlyOnce);
    assert!(v.message.contains(&format!("at key {key}")) && v.message.contains("applied twice"), "{}", v.message);
}

#[test]
fn invariant_3_holds_when_a_batch_is_applied_twice() {
    let (mut c, mut db, spec) = setup();
    let w = workload(3);
    let changes = real_changes(&w, 1, 30);
    let p = IncrementalProgress { last_key: Some(28), ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, changes.clone(), p)), None);
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, changes, p)), None, "re-applying is idempotent");
}

#[test]
fn invariant_4_fires_when_a_durable_last_key_goes_back() {
    let (mut c, mut db, spec) = setup();
    let w = workload(3);
    let p = IncrementalProgress { last_key: Some(28), ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, real_changes(&w, 1, 30), p)), None);
    let back = IncrementalProgress { last_key: Some(7), ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, vec![], back)), Some(Invariant::ProgressMonotonic));
}

fn ss_commit(writes: Vec<SchemeShardWrite>) -> SchemeShardCommit {
    SchemeShardCommit { writes, replies: vec![], start_ops: vec![] }
}

fn state(state: OpState, incr: u32) -> StateRow {
    StateRow {
        state,
        incr: IncrIdx(incr),
        tx: None,
        retry_count: 0,
        next_retry_at: None,
        started_at: 0,
        stage_started_at: 0,
        final_status: None,
        final_issues: String::new(),
    }
}

fn operation(op: OperationId, backups: u32) -> SchemeShardWrite {
    SchemeShardWrite::Operation(
        op,
        OperationRow { key: RequestKey(op.0), table: TableId(0), backups: (1..=backups).map(IncrIdx).collect() },
    )
}

fn check_ss(c: &mut Checker, writes: Vec<SchemeShardWrite>) -> Option<Invariant> {
    let empty = DataShardDb::default();
    c.on_schemeshard_commit(&ss_commit(writes), |_| &empty).err().map(|v| v.invariant)
}

#[test]
fn invariant_6_fires_on_an_illegal_or_post_terminal_transition() {
    let (mut c, _, _) = setup();
    let first = vec![operation(OP, 1), SchemeShardWrite::State(OP, state(OpState::Allocating, 1))];
    assert_eq!(check_ss(&mut c, first), None);
    let skip = vec![SchemeShardWrite::State(OP, state(OpState::Applying, 1))];
    assert_eq!(check_ss(&mut c, skip), Some(Invariant::LegalTransitions));
    let (mut c, _, _) = setup();
    let mut failed = state(OpState::Failed, 1);
    failed.final_status = Some(FinalStatus::Timeout);
    failed.final_issues = "deadline".into();
    let writes = vec![
        operation(OP, 1),
        SchemeShardWrite::State(OP, state(OpState::Allocating, 1)),
        SchemeShardWrite::State(OP, failed),
    ];
    assert_eq!(check_ss(&mut c, writes), None);
    let revive = vec![SchemeShardWrite::State(OP, state(OpState::Allocating, 1))];
    assert_eq!(check_ss(&mut c, revive), Some(Invariant::LegalTransitions), "Failed is terminal");
}

#[test]
fn invariant_7_fires_on_done_without_every_shard_and_on_failed_without_issues() {
    let (mut c, _, _) = setup();
    let mut writes = vec![operation(OP, 1)];
    for s in [OpState::Allocating, OpState::Proposing, OpState::Waiting, OpState::Applying, OpState::Done] {
        writes.push(SchemeShardWrite::State(OP, state(s, 1)));
    }
    assert_eq!(check_ss(&mut c, writes), Some(Invariant::NoFalseSuccess));
    let (mut c, _, _) = setup();
    let writes = vec![
        operation(OP, 1),
        SchemeShardWrite::State(OP, state(OpState::Allocating, 1)),
        SchemeShardWrite::State(OP, state(OpState::Failed, 1)),
    ];
    assert_eq!(check_ss(&mut c, writes), Some(Invariant::NoFalseSuccess));
}

#[test]
fn invariant_9_fires_on_two_restores_of_one_table_and_above_the_in_flight_cap() {
    let (mut c, _, _) = setup();
    let other = OperationId(2);
    let writes = vec![
        operation(OP, 1),
        SchemeShardWrite::State(OP, state(OpState::Allocating, 1)),
        operation(other, 1),
        SchemeShardWrite::State(other, state(OpState::Allocating, 1)),
    ];
    assert_eq!(check_ss(&mut c, writes), Some(Invariant::Concurrency));
    let (mut c, _, _) = setup();
    assert!(c.on_request_sent(OP, ShardIdx(0), Some(1)).is_ok());
    assert!(c.on_request_sent(OP, ShardIdx(0), Some(1)).is_ok(), "a re-send is not a second slot");
    let over = c.on_request_sent(OP, ShardIdx(1), Some(1));
    assert_eq!(over.err().map(|v| v.invariant), Some(Invariant::Concurrency));
    c.on_shard_answered(OP, ShardIdx(0));
    c.on_shard_answered(OP, ShardIdx(1));
    assert!(c.on_request_sent(OP, ShardIdx(1), Some(1)).is_ok(), "a Done frees the slot");
}

#[test]
fn invariant_3_fires_when_changed_rows_have_no_durable_progress() {
    // The check's input (a durable LastKey) disappears: that is a
    // violation, not "nothing to check".
    let (mut c, mut db, spec) = setup();
    let w = workload(3);
    let changes = real_changes(&w, 1, 30);
    let no_progress = IncrementalProgress { last_key: None, ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, changes, no_progress)), Some(Invariant::ExactlyOnce));
}

#[test]
fn invariant_3_fires_when_a_batch_skips_a_key_at_or_below_last_key() {
    // The skipped key is not in the commit: only the range check sees it.
    let (mut c, mut db, spec) = setup();
    let w = workload(3);
    let changes: Vec<_> = real_changes(&w, 1, 30).into_iter().filter(|(k, _)| *k != 21).collect();
    let p = IncrementalProgress { last_key: Some(28), ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, changes, p)), Some(Invariant::ExactlyOnce));
}

#[test]
fn invariant_3_fires_when_last_key_moves_over_unapplied_changes() {
    let (mut c, mut db, spec) = setup();
    let p = IncrementalProgress { last_key: Some(28), ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, vec![], p)), Some(Invariant::ExactlyOnce));
}

#[test]
fn invariant_3_fires_when_a_key_above_last_key_already_holds_the_new_value() {
    let (mut c, mut db, spec) = setup();
    let w = workload(3);
    let early = real_changes(&w, 1, 30).into_iter().find(|(k, _)| *k == 28).expect("key 28 changes");
    crate::data::apply_change(&mut db.rows, early.0, &early.1);
    let changes = real_changes(&w, 1, 22);
    let p = IncrementalProgress { last_key: Some(21), ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, changes, p)), Some(Invariant::ExactlyOnce));
}

#[test]
fn invariant_3_holds_over_a_whole_incremental_applied_in_batches() {
    let (mut c, mut db, spec) = setup();
    let w = workload(3);
    // One incremental: a later one would wait for the other shard (the barrier).
    for incr in 1..=1 {
        let all = real_changes(&w, incr, spec.end);
        for (n, batch) in all.chunks(2).enumerate() {
            let last = batch.last().map(|(k, _)| *k);
            let done = (n + 1) * 2 >= all.len();
            let p = IncrementalProgress { last_key: last, done, ..Default::default() };
            assert_eq!(fire(&mut c, &mut db, &spec, commit(incr, batch.to_vec(), p)), None, "incr {incr} batch {n}");
        }
    }
}

/// A shard's Done check walks only what the prefix walks did not verify,
/// but a row changed after it was verified is compared again: here a
/// second operation (whose commits no prefix check looks at) overwrites a
/// verified key, and the first operation's Done still finds it.
#[test]
fn invariant_1_sees_a_verified_row_changed_later() {
    let (mut c, mut db, spec) = setup();
    let w = workload(3);
    let second = OperationId(2);
    assert_eq!(check_ss(&mut c, vec![operation(OP, 3), operation(second, 3)]), None);
    let all = real_changes(&w, 1, spec.end);
    let (head, tail) = all.split_at(all.len() - 2);
    let p = IncrementalProgress { last_key: head.last().map(|(k, _)| *k), ..Default::default() };
    assert_eq!(fire(&mut c, &mut db, &spec, commit(1, head.to_vec(), p)), None);
    let wrong = vec![(head[0].0, Change::Upsert { cells: [Cell::Set(Some(54_321)), Cell::Keep, Cell::Keep] })];
    let other = DataShardCommit { op: second, ..commit(1, wrong, IncrementalProgress::default()) };
    assert_eq!(fire(&mut c, &mut db, &spec, other), None, "the second operation's rows are not checked per batch");
    let done = IncrementalProgress { last_key: tail.last().map(|(k, _)| *k), done: true, ..Default::default() };
    let last = commit(1, tail.to_vec(), done);
    let before = db.progress(OP, IncrIdx(1)).copied();
    last.apply(&mut db);
    let v = c.on_datashard_commit(&spec, before, &last, &db).expect_err("the overwritten row");
    assert_eq!(v.invariant, Invariant::FinalData);
    assert!(v.message.contains(&format!("key {} holds", head[0].0)), "{}", v.message);
}

fn report(state: OpState, incr: u32, percent_bp: u32) -> crate::progress::ProgressReport {
    let final_status = match state {
        OpState::Done => Some(FinalStatus::Success),
        OpState::Failed => Some(FinalStatus::Timeout),
        _ => None,
    };
    crate::progress::ProgressReport {
        op: OP,
        state,
        incr: IncrIdx(incr),
        incrementals: 3,
        shards_done: 0,
        shards_total: 2,
        rows_applied: 0,
        percent_bp,
        shards: Vec::new(),
        final_status,
        issues: if state == OpState::Failed { "deadline".into() } else { String::new() },
    }
}

fn deliver(c: &mut Checker, msg: crate::msg::Msg) -> Option<Invariant> {
    let empty = DataShardDb::default();
    c.on_client_delivered(&msg, |_| &empty).err().map(|v| v.invariant)
}

fn progress(r: crate::progress::ProgressReport) -> crate::msg::Msg {
    crate::msg::Msg::Progress { op: r.op, report: Some(Box::new(r)) }
}

#[test]
fn invariant_10_fires_when_an_answer_after_done_says_otherwise() {
    let (mut c, _, _) = setup();
    assert_eq!(c.on_progress_sent(OP, Some(OpState::Applying)).err().map(|v| v.invariant), None);
    assert_eq!(deliver(&mut c, progress(report(OpState::Done, 3, 10_000))), None);
    assert_eq!(c.on_progress_sent(OP, Some(OpState::Done)).err().map(|v| v.invariant), None, "same answer again");
    let regress = c.on_progress_sent(OP, Some(OpState::Applying));
    assert_eq!(regress.err().map(|v| v.invariant), Some(Invariant::ToldFinal));
    let unknown = c.on_progress_sent(OP, None);
    assert_eq!(unknown.err().map(|v| v.invariant), Some(Invariant::ToldFinal), "gone without a Forget");
    // An older answer (sent before the end) delivered late is the network's
    // reordering, not a changed status: nothing fires at its delivery.
    assert_eq!(deliver(&mut c, progress(report(OpState::Applying, 2, 5_000))), None);
}

#[test]
fn invariant_11_fires_when_a_repeated_key_gets_another_op_or_a_refusal() {
    use crate::msg::{Msg, RejectStatus};
    let (mut c, _, _) = setup();
    let key = RequestKey(7);
    assert_eq!(deliver(&mut c, Msg::RestoreAccepted { key, op: OP }), None);
    assert_eq!(deliver(&mut c, Msg::RestoreAccepted { key, op: OP }), None, "the same op again is right");
    assert_eq!(deliver(&mut c, Msg::RestoreAccepted { key, op: OperationId(2) }), Some(Invariant::IdempotentRepeat));
    let refused = Msg::RestoreRejected { key, status: RejectStatus::MultipleModifications, issues: "x".into() };
    assert_eq!(deliver(&mut c, refused), Some(Invariant::IdempotentRepeat));
    let other = Msg::RestoreRejected { key: RequestKey(8), status: RejectStatus::BadRequest, issues: "x".into() };
    assert_eq!(deliver(&mut c, other), None, "a refusal of a new key is fine");
}

#[test]
fn invariant_12_fires_on_erasing_a_running_op_and_on_forgotten_before_durable() {
    use crate::msg::{ForgetStatus, Msg};
    let (mut c, _, _) = setup();
    let start = vec![operation(OP, 1), SchemeShardWrite::State(OP, state(OpState::Allocating, 1))];
    assert_eq!(check_ss(&mut c, start), None);
    let forgotten = Msg::ForgetResult { op: OP, status: ForgetStatus::Forgotten };
    assert_eq!(deliver(&mut c, forgotten.clone()), Some(Invariant::ForgetOnlyEnded), "no durable erase yet");
    assert_eq!(check_ss(&mut c, vec![SchemeShardWrite::Erase(OP)]), Some(Invariant::ForgetOnlyEnded));
    let (mut c, _, _) = setup();
    let mut failed = state(OpState::Failed, 1);
    failed.final_status = Some(FinalStatus::Timeout);
    failed.final_issues = "deadline".into();
    let ended = vec![
        operation(OP, 1),
        SchemeShardWrite::State(OP, state(OpState::Allocating, 1)),
        SchemeShardWrite::State(OP, failed),
    ];
    assert_eq!(check_ss(&mut c, ended), None);
    assert_eq!(check_ss(&mut c, vec![SchemeShardWrite::Erase(OP)]), None, "an ended op may be forgotten");
    assert_eq!(deliver(&mut c, forgotten), None);
    assert_eq!(c.on_progress_sent(OP, None).err().map(|v| v.invariant), None, "unknown after a Forget is right");
}

#[test]
fn invariant_13_fires_on_reports_outside_the_formula_or_ahead_of_durable_shards() {
    use crate::progress::{ShardReport, ShardStatus};
    let (mut c, _, _) = setup();
    assert_eq!(deliver(&mut c, progress(report(OpState::Applying, 2, 5_000))), None);
    assert_eq!(deliver(&mut c, progress(report(OpState::Failed, 2, 4_000))), None);
    let bad = [
        report(OpState::Applying, 2, 7_000), // above 2/3
        report(OpState::Applying, 2, 3_000), // below 1/3
        report(OpState::Done, 3, 9_999),
        report(OpState::Applying, 4, 9_000),
        {
            let mut r = report(OpState::Failed, 1, 0);
            r.issues.clear();
            r
        },
        {
            let mut r = report(OpState::Applying, 1, 0);
            r.final_status = Some(FinalStatus::Success);
            r
        },
        {
            let mut r = report(OpState::Applying, 1, 0);
            r.shards_done = 3;
            r
        },
    ];
    for r in bad {
        assert_eq!(deliver(&mut c, progress(r.clone())), Some(Invariant::ProgressConsistent), "{r:?}");
    }
    // Per-shard detail: a shard claimed Done that is not durably Done.
    let mut r = report(OpState::Applying, 1, 2_000);
    r.shards_done = 1;
    r.shards = vec![ShardReport { shard: ShardIdx(0), status: ShardStatus::Done, last_key: Some(40) }];
    assert_eq!(deliver(&mut c, progress(r.clone())), Some(Invariant::ProgressConsistent));
    let durable = DataShardDb {
        rows: Default::default(),
        restores: [((OP, IncrIdx(1)), IncrementalProgress { done: true, last_key: Some(40), ..Default::default() })]
            .into(),
    };
    let ok = c.on_client_delivered(&progress(r), |_| &durable);
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn invariant_14_fires_when_a_refusal_commits() {
    use crate::msg::RejectStatus;
    let (c, _, _) = setup();
    let refused = Some(RejectStatus::BadRequest);
    assert_eq!(c.on_restore_handled(refused, true).err().map(|v| v.invariant), Some(Invariant::RejectNoEffect));
    assert!(c.on_restore_handled(refused, false).is_ok(), "a refusal alone changes nothing");
    assert!(c.on_restore_handled(None, true).is_ok(), "an accepted request commits its operation");
}

fn stamp(generation: u32, round: u32) -> crate::ids::Stamp {
    crate::ids::Stamp { generation: crate::ids::Generation(generation), round: crate::ids::Round(round) }
}

#[test]
fn invariant_5_fires_when_a_stale_message_commits() {
    use super::{Receiver, check_stale_no_effect, staleness};
    use crate::msg::{Msg, ResponseStatus, TEvIncrementalRestoreRequest, TEvIncrementalRestoreResponse};
    let (_, mut db, _) = setup();
    let accepted = IncrementalProgress { accepted: stamp(2, 3), ..Default::default() };
    db.restores.insert((OP, IncrIdx(1)), accepted);
    let request = |s| {
        Msg::IncrementalRestoreRequest(TEvIncrementalRestoreRequest {
            op: OP,
            tx: crate::ids::TxId(1),
            incr: IncrIdx(1),
            shard: ShardIdx(0),
            stamp: s,
            from_key: None,
        })
    };
    let old = staleness(Receiver::DataShard(&db), &request(stamp(2, 2)));
    assert!(old.is_some(), "an older round than the durable stamp is stale");
    assert!(staleness(Receiver::DataShard(&db), &request(stamp(2, 3))).is_none(), "the accepted stamp is current");
    assert!(staleness(Receiver::DataShard(&db), &request(stamp(3, 1))).is_none(), "a newer generation outranks");
    let fired = check_stale_no_effect(old.as_deref(), true).err().map(|v| v.invariant);
    assert_eq!(fired, Some(Invariant::StaleHasNoEffect));
    assert!(check_stale_no_effect(old.as_deref(), false).is_ok(), "a stale message dropped is fine");
    assert!(check_stale_no_effect(None, true).is_ok(), "a current message may commit");
    let response = Msg::IncrementalRestoreResponse(TEvIncrementalRestoreResponse {
        op: OP,
        incr: IncrIdx(1),
        shard: ShardIdx(0),
        stamp: stamp(1, 4),
        status: ResponseStatus::Done,
        last_key: None,
        rows_applied: 0,
        rows_total: 0,
    });
    let old = staleness(Receiver::SchemeShard(crate::ids::Generation(2)), &response);
    assert_eq!(
        check_stale_no_effect(old.as_deref(), true).err().map(|v| v.invariant),
        Some(Invariant::StaleHasNoEffect)
    );
    assert!(staleness(Receiver::SchemeShard(crate::ids::Generation(1)), &response).is_none());
}

#[test]
fn invariant_8_fires_when_a_report_is_ahead_of_durable_progress() {
    use super::check_reported_not_ahead;
    let r = report(OpState::Applying, 2, 5_000);
    let fired = check_reported_not_ahead(&r, Some(4_999)).err().map(|v| v.invariant);
    assert_eq!(fired, Some(Invariant::ReportedNotAhead));
    assert!(check_reported_not_ahead(&r, Some(5_000)).is_ok(), "equal to durable is not ahead");
    let no_truth = std::panic::catch_unwind(|| check_reported_not_ahead(&r, None));
    assert!(no_truth.is_err(), "no durable truth is a harness bug, never a pass");
}

#[test]
fn invariant_9_counts_outstanding_requests_from_the_coordinators_messages() {
    use crate::msg::{Msg, ResponseStatus, TEvIncrementalRestoreRequest, TEvIncrementalRestoreResponse};
    let (mut c, _, _) = setup();
    let request = |shard| {
        Msg::IncrementalRestoreRequest(TEvIncrementalRestoreRequest {
            op: OP,
            tx: crate::ids::TxId(1),
            incr: IncrIdx(1),
            shard: ShardIdx(shard),
            stamp: stamp(1, 1),
            from_key: None,
        })
    };
    let response = |shard, status| {
        Msg::IncrementalRestoreResponse(TEvIncrementalRestoreResponse {
            op: OP,
            incr: IncrIdx(1),
            shard: ShardIdx(shard),
            stamp: stamp(1, 1),
            status,
            last_key: None,
            rows_applied: 0,
            rows_total: 0,
        })
    };
    let cap = Some(1);
    assert!(c.on_coordinator_sent(&request(0), cap).is_ok());
    c.on_coordinator_received(&response(0, ResponseStatus::Accepted));
    let over = c.on_coordinator_sent(&request(1), cap).err().map(|v| v.invariant);
    assert_eq!(over, Some(Invariant::Concurrency), "an Accepted request is still outstanding");
    c.on_coordinator_received(&response(0, ResponseStatus::Error { retriable: true, issue: "x".into() }));
    c.on_coordinator_received(&response(1, ResponseStatus::Done));
    assert!(c.on_coordinator_sent(&request(1), cap).is_ok(), "an error or a Done frees the slot");
    assert!(c.on_coordinator_sent(&Msg::AllocateTxId { op: OP, cookie: 7 }, cap).is_ok());
    assert!(c.on_coordinator_sent(&request(0), cap).is_ok(), "a new TxId request abandons the stage's requests");
}
