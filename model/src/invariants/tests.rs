//! Each invariant fires on a hand-made history that breaks it. (Invariants 5,
//! 8 and liveness are checked by the harness; `sim/tests/planted_bugs.rs`
//! makes them fire through planted bugs.)

use std::sync::Arc;

use super::{Checker, Invariant};
use crate::data::{Cell, Change};
use crate::datashard::{DataShardCommit, DataShardDb, IncrementalProgress};
use crate::ids::{IncrIdx, Key, OperationId, RequestKey, ShardIdx, TableId};
use crate::progress::{FinalStatus, OpState};
use crate::schemeshard::{OperationRow, SchemeShardCommit, SchemeShardWrite, StateRow};
use crate::testkit::workload;

const OP: OperationId = OperationId(1);

fn setup() -> (Checker, DataShardDb, crate::topology::ShardSpec) {
    let w = Arc::new(workload(3));
    let spec = w.topology.shard(ShardIdx(0)).clone();
    let db = DataShardDb {
        rows: w.chain(TableId(0)).full.range(spec.start..spec.end).map(|(k, r)| (*k, *r)).collect(),
        restores: Default::default(),
    };
    (Checker::new(w), db, spec)
}

fn commit(incr: u32, changes: Vec<(Key, Change)>, progress: IncrementalProgress) -> DataShardCommit {
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
    let done = IncrementalProgress { done: true, last_key: Some(50), ..Default::default() };
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
