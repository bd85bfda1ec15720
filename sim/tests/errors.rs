//! Error paths end where they must: a fatal backup error fails the restore
//! with its status and issues, transient errors are retried, bad requests are
//! rejected with clear statuses, a repeated request gets the same operation.

mod common;

use restoresim::engine::Ratio;
use restoresim::run::{Outcome, RestoreState};
use restoresim::scenario::{Chance, Duration, Expect, RejectName, RestoreSpec};

#[test]
fn unreadable_backup_data_fails_the_restore_with_issues() {
    let mut s = common::load("quickstart.ron");
    s.expect = Expect::Terminal;
    s.tablets.read_fatal = Chance(Ratio::new(1, 5));
    let r = common::run(&s, 1);
    assert_eq!(r.outcome, Outcome::Pass, "{:?}", r.violation);
    assert_eq!(r.restores[0].state, RestoreState::FAILED);
    assert!(
        r.restores[0].detail.contains("BackupUnreadable") && r.restores[0].detail.contains("unreadable"),
        "{:?}",
        r.restores[0]
    );
}

#[test]
fn transient_read_errors_are_retried_with_backoff_until_done() {
    let mut s = common::load("quickstart.ron");
    s.tablets.read_transient = Chance(Ratio::new(1, 3));
    for seed in 1..=5 {
        let r = common::run(&s, seed);
        common::assert_all_done(&r);
        assert!(r.stats.read_errors > 0, "seed {seed}: errors were injected");
    }
}

fn restore(table: &str, at: u64, backups: Option<Vec<u32>>, expect_rejection: Option<RejectName>) -> RestoreSpec {
    RestoreSpec { table: table.into(), at: Duration(at), backups, expect_rejection }
}

#[test]
fn bad_requests_are_rejected_and_the_good_one_runs() {
    let mut s = common::load("quickstart.ron");
    s.expect = Expect::AllDone;
    let bad = Some(RejectName::BadRequest);
    s.restores = vec![
        restore("orders", 1_000, None, None),
        restore("no-such-table", 1_000, None, Some(RejectName::PathDoesNotExist)),
        restore("orders", 1_000, Some(vec![]), bad),
        restore("orders", 1_000, Some(vec![2, 1]), bad),
        restore("orders", 5_000, None, Some(RejectName::MultipleModifications)),
    ];
    let r = common::run(&s, 1);
    assert_eq!(r.outcome, Outcome::Pass, "{:?}", r.violation);
    let states: Vec<(RestoreState, &str)> =
        r.restores.iter().map(|x| (x.state, x.detail.split(':').next().unwrap_or(""))).collect();
    let rejected = RestoreState::Rejected;
    assert_eq!(
        states,
        vec![
            (RestoreState::DONE, "3 incrementals, 4 shards"),
            (rejected, "PathDoesNotExist"),
            (rejected, "BadRequest"),
            (rejected, "BadRequest"),
            (rejected, "MultipleModifications"),
        ]
    );
}

#[test]
fn a_request_expected_to_be_rejected_that_is_accepted_fails_the_run() {
    let mut s = common::load("quickstart.ron");
    s.restores = vec![restore("orders", 1_000, None, Some(RejectName::BadRequest))];
    let r = common::run(&s, 1);
    assert_eq!(r.outcome, Outcome::SafetyViolation);
    let v = r.violation.expect("a violation");
    assert_eq!(v.invariant, "6-legal-transitions");
    assert!(v.message.contains("must reject with BadRequest"), "{}", v.message);
}

#[test]
fn a_client_that_repeats_its_request_gets_one_operation() {
    let mut s = common::load("quickstart.ron");
    // The client gives up waiting before the coordinator's commit completes.
    s.client.request_timeout = Duration(300);
    let r = common::run(&s, 1);
    common::assert_all_done(&r);
    assert_eq!(r.restores[0].operation, Some(1));
    assert!(r.log.iter().any(|l| l.contains("duplicate MultiIncrementalRestore")), "the request was repeated");
}
