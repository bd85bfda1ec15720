//! Every planted bug is caught: some seed in 0..200 of its scenario violates
//! one of the invariants the bug documents (`Bug::caught_by`), and that very
//! seed passes with the bug off; and in the first 60 seeds, every violation
//! is one the bug documents (so its doc stays true). A planted bug the
//! harness misses is a bug in the harness.

mod common;

use restoresim::run::{self, Outcome, RunOptions};
use restoresim_model::knobs::Bug;

/// The scenario each bug is hunted in.
fn scenario_for(bug: Bug) -> &'static str {
    match bug {
        Bug::NoRetryOnPipeReset => "no-retry-on-pipe-reset.ron",
        Bug::StageDeadlineFromOpStart => "deadlines.ron",
        _ => "ci-smoke.ron",
    }
}

/// Seeds whose every violation must be one the bug documents.
const ALL_DOCUMENTED_SEEDS: u64 = 60;

fn hunt(bug: Bug) -> (u64, String) {
    let s = common::load(scenario_for(bug));
    let documented: Vec<&str> = bug.caught_by().iter().map(|i| i.id()).collect();
    let mut first = None;
    for seed in 0..200 {
        if first.is_some() && seed >= ALL_DOCUMENTED_SEEDS {
            break;
        }
        let r = run::run(&s, seed, RunOptions { bugs: vec![bug], ..RunOptions::default() });
        let Some(v) = r.violation else { continue };
        assert!(
            documented.contains(&v.invariant.as_str()),
            "{} seed {seed}: caught by {} but documented as caught by {documented:?}: {}",
            bug.name(),
            v.invariant,
            v.message
        );
        first.get_or_insert((seed, v.invariant));
    }
    first.unwrap_or_else(|| panic!("{} was never caught in seeds 0..200 of {}", bug.name(), scenario_for(bug)))
}

fn caught_and_clean_without(bug: Bug) {
    let (seed, invariant) = hunt(bug);
    let clean = common::run(&common::load(scenario_for(bug)), seed);
    assert_eq!(
        clean.outcome,
        Outcome::Pass,
        "{} seed {seed} fails even without the bug: {:?}",
        bug.name(),
        clean.violation
    );
    println!("{}: seed {seed} of {} violates {invariant}", bug.name(), scenario_for(bug));
}

#[test]
fn ack_before_persist_is_caught() {
    caught_and_clean_without(Bug::AckBeforePersist);
}

#[test]
fn no_generation_check_is_caught() {
    caught_and_clean_without(Bug::NoGenerationCheck);
}

#[test]
fn no_stage_barrier_is_caught() {
    caught_and_clean_without(Bug::NoStageBarrier);
}

#[test]
fn no_retry_on_pipe_reset_is_caught() {
    caught_and_clean_without(Bug::NoRetryOnPipeReset);
}

#[test]
fn skip_done_check_is_caught() {
    caught_and_clean_without(Bug::SkipDoneCheck);
}

#[test]
fn last_key_regress_is_caught() {
    caught_and_clean_without(Bug::LastKeyRegress);
}

#[test]
fn count_missing_as_done_is_caught() {
    caught_and_clean_without(Bug::CountMissingAsDone);
}

#[test]
fn stage_deadline_from_op_start_is_caught() {
    caught_and_clean_without(Bug::StageDeadlineFromOpStart);
}
