//! Error paths end where they must: a fatal backup error fails the restore
//! with its status and issues, transient errors are retried, bad requests are
//! rejected with clear statuses, a repeated request gets the same operation.

mod common;

use restoresim::engine::Ratio;
use restoresim::run::Outcome;
use restoresim::scenario::{Chance, Duration, Expect, RestoreSpec};

#[test]
fn unreadable_backup_data_fails_the_restore_with_issues() {
    let mut s = common::load("quickstart.ron");
    s.expect = Expect::Terminal;
    s.tablets.read_fatal = Chance(Ratio::new(1, 5));
    let r = common::run(&s, 1);
    assert_eq!(r.outcome, Outcome::Pass, "{:?}", r.violation);
    assert_eq!(r.restores[0].state, "Failed");
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

#[test]
fn bad_requests_are_rejected_and_the_good_one_runs() {
    let mut s = common::load("quickstart.ron");
    s.expect = Expect::Terminal;
    let restore = |table: &str, at: u64, backups: Option<Vec<u32>>| RestoreSpec {
        table: table.into(),
        at: Duration(at),
        backups,
    };
    s.restores = vec![
        restore("orders", 1_000, None),
        restore("no-such-table", 1_000, None),
        restore("orders", 1_000, Some(vec![])),
        restore("orders", 1_000, Some(vec![2, 1])),
        restore("orders", 5_000, None),
    ];
    let r = common::run(&s, 1);
    assert_eq!(r.outcome, Outcome::Pass, "{:?}", r.violation);
    let states: Vec<(&str, &str)> =
        r.restores.iter().map(|x| (x.state.as_str(), x.detail.split(':').next().unwrap_or(""))).collect();
    assert_eq!(
        states,
        vec![
            ("Done", "3 incrementals, 4 shards"),
            ("Rejected", "PathDoesNotExist"),
            ("Rejected", "BadRequest"),
            ("Rejected", "BadRequest"),
            ("Rejected", "MultipleModifications"),
        ]
    );
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
