//! Checks on what the Client is told (invariants 10, 11, 13) and on what
//! Forget and a refused request may change (12, 14). They read the messages
//! delivered to the Client and the durable tables, never the Client's own
//! record, so a Client that forgot to look cannot hide a wrong answer.

use super::{Check, Checker, Invariant, Violation};
use crate::datashard::DataShardDb;
use crate::ids::{OperationId, ShardIdx};
use crate::msg::{ForgetStatus, Msg};
use crate::progress::{FULL_BP, FinalStatus, OpState, ProgressReport};

impl Checker {
    /// `msg` reached the Client. `datashard` gives each shard's durable
    /// database, for per-shard detail.
    pub fn on_client_delivered<'a>(&mut self, msg: &Msg, datashard: impl Fn(ShardIdx) -> &'a DataShardDb) -> Check {
        match msg {
            Msg::Progress { op, report: Some(report) } => {
                if report.state.is_terminal() {
                    self.told.entry(*op).or_insert(report.state);
                }
                check_report_bounds(report)?;
                check_shard_detail(report, datashard)
            }
            Msg::RestoreAccepted { key, op } => match self.answered.get(key) {
                Some(first) if first != op && !self.forgotten.contains(first) => Err(Violation::new(
                    Invariant::IdempotentRepeat,
                    format!(
                        "Request {key} was answered with op {} and later with op {}: a repeated request (same \
                         idempotency key) must get the same operation, not start a second restore.",
                        first.0, op.0
                    ),
                )),
                _ => {
                    self.answered.insert(*key, *op);
                    Ok(())
                }
            },
            Msg::RestoreRejected { key, status, .. } => match self.answered.get(key) {
                Some(first) if !self.forgotten.contains(first) => Err(Violation::new(
                    Invariant::IdempotentRepeat,
                    format!(
                        "Request {key} was accepted as op {} and a repeat of it was refused ({status:?}): a \
                         repeated request must get the same operation back.",
                        first.0
                    ),
                )),
                _ => Ok(()),
            },
            Msg::ForgetResult { op, status: ForgetStatus::Forgotten } if !self.forgotten.contains(op) => {
                Err(Violation::new(
                    Invariant::ForgetOnlyEnded,
                    format!(
                        "The Client was told op {} is forgotten, but its erase is not durable: a crash now \
                         would bring back an operation the user was told is gone.",
                        op.0
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Invariant 10, judged when SchemeShard *sends* a progress answer:
    /// `seen` is the status it tells the Client (`None`: "unknown
    /// operation"). Judged at the send, not the delivery, because the network
    /// may deliver an older answer (sent before the end) after a newer one;
    /// an answer produced after the Client was told the end must agree.
    pub fn on_progress_sent(&mut self, op: OperationId, seen: Option<OpState>) -> Check {
        match (self.told.get(&op), seen) {
            (Some(&told), Some(now)) if told != now => Err(Violation::new(
                Invariant::ToldFinal,
                format!(
                    "The Client was told op {} ended {told:?}, and later that it is {now:?}. What the Client \
                     is told is final: Done and Failed never change, across any restart.",
                    op.0
                ),
            )),
            (Some(&told), None) if !self.forgotten.contains(&op) => Err(Violation::new(
                Invariant::ToldFinal,
                format!(
                    "The Client was told op {} ended {told:?}, and later that no such operation exists, \
                     though it never asked to forget it.",
                    op.0
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Invariant 12 on the durable side: an erase of an operation whose
    /// durable state has not ended.
    pub(super) fn check_erase(&mut self, op: OperationId) -> Check {
        if let Some((state, _)) = self.ss_state.get(&op)
            && !state.is_terminal()
        {
            return Err(Violation::new(
                Invariant::ForgetOnlyEnded,
                format!(
                    "op {} was durably erased (Forget) while {state:?}: only an operation that ended Done or \
                     Failed may be forgotten; a running one would lose its restore halfway.",
                    op.0
                ),
            ));
        }
        self.forgotten.insert(op);
        Ok(())
    }

    /// Invariant 14: SchemeShard handled a MultiIncrementalRestore;
    /// `refused` is the refusal it sent (if any), `committed` whether the
    /// same handler asked for a commit.
    pub fn on_restore_handled(&self, refused: Option<crate::msg::RejectStatus>, committed: bool) -> Check {
        match refused {
            Some(status) if committed => Err(Violation::new(
                Invariant::RejectNoEffect,
                format!(
                    "SchemeShard refused a MultiIncrementalRestore ({status:?}) and committed a change while \
                     doing so: a refused request must leave the durable tables as they were."
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Invariant 13: the report agrees with itself and with the written-down
/// percent formula (`model/src/progress.rs`).
fn check_report_bounds(r: &ProgressReport) -> Check {
    let fail = |what: String| {
        Err(Violation::new(
            Invariant::ProgressConsistent,
            format!("GetProgress of op {} answered an inconsistent report: {what}.", r.op.0),
        ))
    };
    let k = u64::from(r.incrementals.max(1));
    let done_floor = u64::from(r.incr.0.saturating_sub(1)) * FULL_BP / k;
    let current_ceiling = u64::from(r.incr.0) * FULL_BP / k;
    let bp = u64::from(r.percent_bp);
    if r.incr.0 == 0 || r.incr.0 > r.incrementals {
        return fail(format!("incremental {} of {}", r.incr.0, r.incrementals));
    }
    if r.shards_done > r.shards_total {
        return fail(format!("{} of {} shards done", r.shards_done, r.shards_total));
    }
    if bp < done_floor || bp > current_ceiling {
        return fail(format!(
            "{bp} basis points in incremental {} of {}: the formula keeps it within [{done_floor}, {current_ceiling}]",
            r.incr.0, r.incrementals
        ));
    }
    match (r.state, r.final_status) {
        (OpState::Done, Some(FinalStatus::Success)) if bp == FULL_BP => Ok(()),
        (OpState::Done, status) => fail(format!("Done with {bp} basis points and final status {status:?}")),
        (OpState::Failed, Some(s)) if s != FinalStatus::Success && !r.issues.is_empty() => Ok(()),
        (OpState::Failed, status) => fail(format!("Failed with final status {status:?}, issues '{}'", r.issues)),
        (_, None) => Ok(()),
        (state, Some(status)) => fail(format!("{state:?}, yet a final status {status:?}")),
    }
}

/// Invariant 13, per-shard detail: shards in order, the Done count equal to
/// `shards_done`, and no shard claimed further than its DataShard durably is.
fn check_shard_detail<'a>(r: &ProgressReport, datashard: impl Fn(ShardIdx) -> &'a DataShardDb) -> Check {
    if r.shards.is_empty() {
        return Ok(());
    }
    let fail = |what: String| {
        Err(Violation::new(
            Invariant::ProgressConsistent,
            format!("GetProgress of op {} with per-shard detail: {what}.", r.op.0),
        ))
    };
    if r.shards.len() > r.shards_total as usize || !r.shards.windows(2).all(|w| w[0].shard < w[1].shard) {
        return fail(format!("{} entries for {} shards, or not in shard order", r.shards.len(), r.shards_total));
    }
    let done = r.shards.iter().filter(|s| s.status == crate::progress::ShardStatus::Done).count();
    if done != r.shards_done as usize {
        return fail(format!("{done} shards listed Done, but shards_done = {}", r.shards_done));
    }
    for s in &r.shards {
        let durable = datashard(s.shard).progress(r.op, r.incr).copied().unwrap_or_default();
        let claims_done = s.status == crate::progress::ShardStatus::Done;
        if (claims_done && !durable.done) || s.last_key > durable.last_key {
            return fail(format!(
                "DataShard {} reported {:?} at LastKey {:?} of incremental {}, but it durably holds LastKey {:?} \
                 (done: {}): progress must never claim more than is durable",
                s.shard.0, s.status, s.last_key, r.incr.0, durable.last_key, durable.done
            ));
        }
    }
    Ok(())
}
