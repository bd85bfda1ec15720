//! How reported progress behaved, as a user polling it saw it: whether the
//! percent went down, how long it sat at 99 %, the longest time without new
//! progress, and how long a restore sat stuck before a deadline failed it.
//! Read from the Client's observations only (what `GetProgress` answered),
//! so it means the same under any protocol flavour: a flavour whose percent
//! can go down (YDB's, whose denominator is the shards of the sub-operations
//! in flight) shows it here, one whose percent is monotonic shows zero.

use restoresim_model::progress::{FinalStatus, ProgressReport};

use crate::engine::Micros;

/// 99 % in basis points: the first percent at which a restore "sits at 99 %".
pub const AT_99_BP: u32 = 9_900;
const FULL_BP: u32 = 10_000;

/// The shape of one restore's reported progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Times a non-terminal answer reported less than the one before it.
    pub drops: u64,
    /// The largest such drop, in basis points.
    pub drop_max_bp: u64,
    /// Time between answers while the last one said 99 % or more but not yet
    /// an end: from an answer in [99 %, 100 %) to the next answer.
    pub at_99_us: u64,
    /// Longest time from a new high of the reported percent (or the first
    /// answer) to the next new high or the end: how long a user saw no progress.
    pub stall_us: u64,
    /// For a restore that ended Failed by a deadline: time from its last new
    /// high to the answer that reported the failure (0 otherwise).
    pub hang_until_deadline_us: u64,
}

/// The shape of one restore's answers, in the order the Client received them.
pub fn shape<'a>(answers: impl IntoIterator<Item = (Micros, &'a ProgressReport)>) -> Shape {
    let mut s = Shape::default();
    let mut last: Option<(Micros, u32)> = None;
    // (time of the last new high, the high)
    let mut high: Option<(Micros, u32)> = None;
    for (at, report) in answers {
        if let Some((then, pct)) = last
            && (AT_99_BP..FULL_BP).contains(&pct)
        {
            s.at_99_us += at.saturating_sub(then);
        }
        if report.state.is_terminal() {
            let since = high.map_or(0, |(t, _)| at.saturating_sub(t));
            s.stall_us = s.stall_us.max(since);
            if report.final_status == Some(FinalStatus::Timeout) {
                s.hang_until_deadline_us = since;
            }
            // Answers after the end repeat it (invariant 10); the shape is of the run up to it.
            return s;
        }
        let pct = report.percent_bp;
        if let Some((_, before)) = last
            && pct < before
        {
            s.drops += 1;
            s.drop_max_bp = s.drop_max_bp.max(u64::from(before - pct));
        }
        match high {
            Some((since, best)) if pct <= best => s.stall_us = s.stall_us.max(at.saturating_sub(since)),
            Some((since, _)) => {
                s.stall_us = s.stall_us.max(at.saturating_sub(since));
                high = Some((at, pct));
            }
            None => high = Some((at, pct)),
        }
        last = Some((at, pct));
    }
    s
}

/// A run's shape: counts summed over its restores, times their maximum.
pub fn merge(a: Shape, b: Shape) -> Shape {
    Shape {
        drops: a.drops + b.drops,
        drop_max_bp: a.drop_max_bp.max(b.drop_max_bp),
        at_99_us: a.at_99_us.max(b.at_99_us),
        stall_us: a.stall_us.max(b.stall_us),
        hang_until_deadline_us: a.hang_until_deadline_us.max(b.hang_until_deadline_us),
    }
}

#[cfg(test)]
mod tests {
    use restoresim_model::ids::{IncrIdx, OperationId};
    use restoresim_model::progress::OpState;

    use super::*;

    fn report(state: OpState, pct: u32, status: Option<FinalStatus>) -> ProgressReport {
        ProgressReport {
            op: OperationId(1),
            state,
            incr: IncrIdx(1),
            incrementals: 3,
            shards_done: 0,
            shards_total: 4,
            rows_applied: 0,
            percent_bp: pct,
            shards: Vec::new(),
            final_status: status,
            issues: String::new(),
        }
    }

    fn run(answers: &[(Micros, OpState, u32, Option<FinalStatus>)]) -> Shape {
        let reports: Vec<(Micros, ProgressReport)> =
            answers.iter().map(|&(at, st, pct, fs)| (at, report(st, pct, fs))).collect();
        shape(reports.iter().map(|(at, r)| (*at, r)))
    }

    #[test]
    fn a_monotonic_restore_has_no_drops_and_no_hang() {
        use OpState::*;
        let s =
            run(&[(0, Applying, 0, None), (10, Applying, 5_000, None), (20, Done, 10_000, Some(FinalStatus::Success))]);
        assert_eq!(s, Shape { drops: 0, drop_max_bp: 0, at_99_us: 0, stall_us: 10, hang_until_deadline_us: 0 });
    }

    #[test]
    fn a_drop_is_counted_and_the_stall_lasts_until_a_new_high() {
        use OpState::*;
        // 40 % at 10, down to 20 % at 20 (a retry), back to 40 % at 30, 60 % at 70.
        let s = run(&[
            (10, Applying, 4_000, None),
            (20, Applying, 2_000, None),
            (30, Applying, 4_000, None),
            (70, Applying, 6_000, None),
            (80, Done, 10_000, Some(FinalStatus::Success)),
        ]);
        assert_eq!((s.drops, s.drop_max_bp), (1, 2_000));
        assert_eq!(s.stall_us, 60, "from the high at 10 to the next high at 70");
    }

    #[test]
    fn time_at_99_is_the_time_the_last_answer_said_99() {
        use OpState::*;
        // Finalizing at 99 % from 100 to 400, then Done.
        let s = run(&[
            (50, Applying, 5_000, None),
            (100, Applying, 9_900, None),
            (250, Applying, 9_900, None),
            (400, Done, 10_000, Some(FinalStatus::Success)),
        ]);
        assert_eq!(s.at_99_us, 300);
    }

    #[test]
    fn a_deadline_failure_after_a_stall_is_a_hang_until_the_deadline() {
        use OpState::*;
        let s = run(&[
            (0, Applying, 1_000, None),
            (5, Applying, 3_000, None),
            (500, Applying, 3_000, None),
            (1_000, Failed, 10_000, Some(FinalStatus::Timeout)),
            (1_200, Failed, 10_000, Some(FinalStatus::Timeout)),
        ]);
        assert_eq!(s.hang_until_deadline_us, 995);
        assert_eq!(s.stall_us, 995);
        // Another failure is not a hang until a deadline.
        let s = run(&[(0, Applying, 1_000, None), (9, Failed, 0, Some(FinalStatus::BackupUnreadable))]);
        assert_eq!(s.hang_until_deadline_us, 0);
    }

    #[test]
    fn merge_sums_counts_and_keeps_the_longest_times() {
        let a = Shape { drops: 1, drop_max_bp: 10, at_99_us: 5, stall_us: 7, hang_until_deadline_us: 0 };
        let b = Shape { drops: 2, drop_max_bp: 3, at_99_us: 9, stall_us: 1, hang_until_deadline_us: 4 };
        assert_eq!(
            merge(a, b),
            Shape { drops: 3, drop_max_bp: 10, at_99_us: 9, stall_us: 7, hang_until_deadline_us: 4 }
        );
    }
}
