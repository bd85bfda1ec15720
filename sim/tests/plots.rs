//! What the run plot shows, from the plot data a run hands the renderer:
//! a violation is marked with its invariant, a liveness failure zooms to
//! where things happened and marks the deadline, a fault-free run shades
//! no fault window.

mod common;

use restoresim::run::Outcome;
use restoresim_model::knobs::Bug;
use restoresim_reports::MarkKind;

#[test]
fn a_fault_free_run_shades_no_fault_window_and_marks_nothing() {
    let r = common::run(&common::load("quickstart.ron"), 1);
    assert_eq!(r.outcome, Outcome::Pass);
    assert!(r.fault_tape.is_empty());
    assert!(r.plot.windows.is_empty(), "{:?}", r.plot.windows);
    assert!(r.plot.marks.is_empty());
    let faulty = common::run(&common::load("ci-smoke.ron"), 1);
    assert!(faulty.plot.windows.iter().any(|w| w.label == "fault window"), "faults happened: the window is shaded");
}

#[test]
fn a_violation_is_marked_at_its_time_with_its_invariant() {
    let s = common::load("ci-smoke.ron");
    let r = restoresim::run::run(
        &s,
        1,
        restoresim::run::RunOptions { bugs: vec![Bug::LastKeyRegress], ..Default::default() },
    );
    let v = r.violation.as_ref().expect("the planted bug is caught");
    let mark = r.plot.marks.iter().find(|m| m.kind == MarkKind::Violation).expect("marked");
    assert_eq!(mark.at_us, v.at_us);
    assert!(mark.label.contains(&v.invariant), "{}", mark.label);
}

#[test]
fn a_liveness_failure_zooms_in_and_marks_the_deadline() {
    let s = common::load("no-retry-on-pipe-reset.ron");
    let r = restoresim::run::run(
        &s,
        1,
        restoresim::run::RunOptions { bugs: vec![Bug::NoRetryOnPipeReset], ..Default::default() },
    );
    assert_eq!(r.outcome, Outcome::LivenessViolation);
    assert!(r.plot.end_us * 10 < r.virtual_time_us, "zoomed: axis {} of {}", r.plot.end_us, r.virtual_time_us);
    let deadline = r.plot.marks.iter().find(|m| m.kind == MarkKind::Deadline).expect("deadline marked");
    assert_eq!(deadline.at_us, s.faults.window.until.us() + s.budgets.liveness_bound.us());
    assert!(deadline.label.starts_with('→'), "beyond the zoomed axis, its label says when: {}", deadline.label);
}
