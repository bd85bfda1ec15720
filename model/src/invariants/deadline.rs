//! Invariant 6 for deadlines: an operation persists Failed with `Timeout`
//! only once a deadline it runs under has passed — `deadline_overall` after
//! its durable `StartedAt`, or `deadline_stage` after its durable
//! `StageStartedAt`. A deadline re-armed from the wrong timestamp after a
//! coordinator restart (the `StageDeadlineFromOpStart` planted bug) fails a
//! healthy restore early; nothing else notices, because a failed restore is
//! a legal end. Checked at the commit that persists the failure: the
//! decision came at or before `now`, so a deadline not passed at `now` had
//! not passed at the decision either.

use super::{Check, Invariant, Violation};
use crate::ids::{Micros, OperationId};
use crate::knobs::ProtocolKnobs;
use crate::progress::{FinalStatus, OpState};
use crate::schemeshard::{SchemeShardCommit, SchemeShardWrite, StateRow};

/// Every state row a coordinator commit persists, at `now`.
pub fn timeouts_earned(commit: &SchemeShardCommit, now: Micros, knobs: &ProtocolKnobs) -> Check {
    commit.writes.iter().try_for_each(|w| match w {
        SchemeShardWrite::State(op, row) => timeout_earned(*op, row, now, knobs),
        _ => Ok(()),
    })
}

pub fn timeout_earned(op: OperationId, row: &StateRow, now: Micros, knobs: &ProtocolKnobs) -> Check {
    if row.state != OpState::Failed || row.final_status != Some(FinalStatus::Timeout) {
        return Ok(());
    }
    let overall = knobs.deadline_overall.map(|d| row.started_at.saturating_add(d));
    let stage = knobs.deadline_stage.map(|d| row.stage_started_at.saturating_add(d));
    if [overall, stage].into_iter().flatten().any(|at| at <= now) {
        return Ok(());
    }
    let show = |at: Option<Micros>| at.map_or("none".to_string(), |at| format!("{at}us"));
    Err(Violation::new(
        Invariant::LegalTransitions,
        format!(
            "op {} persisted Failed with Timeout ({}) at {now}us, but no deadline had passed: \
             deadline_overall falls at {} (StartedAt {}us), deadline_stage at {} (StageStartedAt {}us).",
            op.0,
            row.final_issues,
            show(overall),
            row.started_at,
            show(stage),
            row.stage_started_at
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::IncrIdx;

    fn failed(started_at: Micros, stage_started_at: Micros) -> StateRow {
        StateRow {
            state: OpState::Failed,
            incr: IncrIdx(2),
            tx: None,
            retry_count: 0,
            next_retry_at: None,
            started_at,
            stage_started_at,
            final_status: Some(FinalStatus::Timeout),
            final_issues: "deadline_stage of incremental 2 passed".into(),
        }
    }

    #[test]
    fn a_timeout_before_any_deadline_is_illegal_and_after_one_is_fine() {
        let knobs = ProtocolKnobs { deadline_stage: Some(100), deadline_overall: Some(1_000), ..Default::default() };
        let row = failed(0, 500);
        assert!(timeout_earned(OperationId(1), &row, 599, &knobs).is_err(), "stage deadline falls at 600");
        assert!(timeout_earned(OperationId(1), &row, 600, &knobs).is_ok());
        assert!(timeout_earned(OperationId(1), &failed(0, 950), 1_000, &knobs).is_ok(), "the overall one passed");
        let none = ProtocolKnobs::default();
        assert!(timeout_earned(OperationId(1), &row, 10_000, &none).is_err(), "no deadline at all");
    }
}
