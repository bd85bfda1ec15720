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

/// YDB's progress: `1 + (idx + done/total) · 97 / N` percent, in basis
/// points; shard counts only, over the sub-operations tracked now, so it
/// can go down (a stage retry, a new sub-operation under the cap).
pub fn ydb_percent_bp(idx: u32, n: u32, done: u32, total: u32) -> u32 {
    if n == 0 {
        return 100;
    }
    let (idx, n) = (u64::from(idx), u64::from(n));
    let frac = if total == 0 { 0 } else { u64::from(done.min(total)) * 9_700 / u64::from(total) };
    (100 + (idx * 9_700 + frac) / n) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_follows_ydb_formula_and_stays_below_99() {
        assert_eq!(ydb_percent_bp(0, 4, 0, 0), 100);
        assert_eq!(ydb_percent_bp(1, 4, 0, 0), 100 + 9_700 / 4);
        assert_eq!(ydb_percent_bp(3, 4, 5, 5), 9_800);
        assert!(ydb_percent_bp(3, 4, 5, 5) < 9_900);
    }
}
