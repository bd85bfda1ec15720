//! The coordinator's answer to GetProgress in YDB's shape: state from the
//! durable row, shard counts from the sub-operations tracked in memory, and
//! YDB's percent formula, which can go down.

use super::YdbSchemeShard;
use crate::ids::{IncrIdx, OperationId};
use crate::progress::{FULL_BP, OpState, ProgressReport};
use crate::ydb::schema::{YdbSchemeShardDb, YdbState};

impl YdbSchemeShard {
    /// Get: the state from the durable row (a terminal state is told only
    /// once durable), shard counts of the tracked sub-operations from memory.
    pub(super) fn report(&self, db: &YdbSchemeShardDb, op: OperationId) -> Option<ProgressReport> {
        let row = db.operations.get(&op)?;
        let n = row.incrementals;
        let mut report = ProgressReport {
            op,
            state: OpState::Allocating,
            incr: IncrIdx(0),
            incrementals: n,
            shards_done: 0,
            shards_total: 0,
            rows_applied: 0,
            percent_bp: 0,
            shards: Vec::new(),
            final_status: None,
            issues: String::new(),
        };
        let Some(durable) = db.states.get(&op) else { return Some(report) }; // PREPARING, 0 %
        report.incr = IncrIdx((durable.idx + 1).min(n));
        if let Some(run) = self.runs.get(&op) {
            for sub in run.subops.values() {
                report.shards_done += sub.reported() as u32;
                report.shards_total += sub.expected.len() as u32;
            }
        }
        report.percent_bp = match durable.state {
            YdbState::Running => ydb_percent_bp(durable.idx, n, report.shards_done, report.shards_total),
            YdbState::Finalizing => 9_900,
            YdbState::Completed | YdbState::Failed => FULL_BP as u32,
        };
        report.state = match durable.state {
            YdbState::Running | YdbState::Finalizing => OpState::Applying,
            YdbState::Completed => OpState::Done,
            YdbState::Failed => OpState::Failed,
        };
        report.final_status = durable.final_status;
        report.issues = durable.issues.clone();
        Some(report)
    }
}

/// YDB's progress as `FillRestoreProgress` reports it: the whole percent
/// `1 + (ui32)((idx + done/total) · 97 / N)`, truncated, so the Client sees
/// exactly what YDB would show (a drop under 1 pp is invisible, as in YDB).
/// Returned in basis points (whole percent × 100) only because
/// `ProgressReport::percent_bp` is shared with the design flavour, whose
/// invariants 8 and 13 compare fractions of a percent; every YDB value is a
/// multiple of 100. Computed in integers (`floor((idx·total + done)·97 /
/// (N·total))`): YDB's `float` can round an exact boundary the other way.
/// Shard counts only, over the sub-operations tracked now, so it can go down
/// (a stage retry, a new sub-operation under the cap).
pub fn ydb_percent_bp(idx: u32, n: u32, done: u32, total: u32) -> u32 {
    if n == 0 {
        return 100;
    }
    let (idx, n) = (u64::from(idx), u64::from(n));
    let (done, total) = if total == 0 { (0, 1) } else { (u64::from(done.min(total)), u64::from(total)) };
    let whole = 1 + (idx * total + done) * 97 / (n * total);
    (whole * 100) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_follows_ydb_formula_and_stays_below_99() {
        assert_eq!(ydb_percent_bp(0, 4, 0, 0), 100);
        // 1 + (1 · 97 / 4 = 24.25 → 24) = 25 %.
        assert_eq!(ydb_percent_bp(1, 4, 0, 0), 2_500);
        // 1 + ((0 + 1/3) · 97 / 3 = 10.78 → 10) = 11 %: truncated, not rounded.
        assert_eq!(ydb_percent_bp(0, 3, 1, 3), 1_100);
        assert_eq!(ydb_percent_bp(3, 4, 5, 5), 9_800);
        assert!(ydb_percent_bp(3, 4, 5, 5) < 9_900);
        for (idx, done, total) in [(0, 1, 7), (2, 5, 11), (1, 0, 3)] {
            assert_eq!(ydb_percent_bp(idx, 3, done, total) % 100, 0, "a whole percent");
        }
    }
}
