//! Invariant 8: reported progress never exceeds durable progress. Each
//! GetProgress answer is judged when the Client receives it, against the
//! true durable percent computed from the DataShards' own databases (the
//! harness's tracker, with the same formula as SchemeShard): a coordinator
//! that reports what a DataShard acknowledged before making it durable
//! (`AckBeforePersist`) claims more than a crash would leave.

use super::{Check, Invariant, Violation};
use crate::progress::ProgressReport;

/// `durable_bp`: the operation's true durable percent in basis points, or
/// `None` if the harness never saw its rows commit — a harness bug (the
/// coordinator reports only operations whose rows are durable), never a pass.
pub fn check_reported_not_ahead(report: &ProgressReport, durable_bp: Option<u64>) -> Check {
    let truth = durable_bp
        .unwrap_or_else(|| panic!("invariant 8 has no durable truth for op {}: the tracker never saw it", report.op.0));
    if u64::from(report.percent_bp) <= truth {
        return Ok(());
    }
    Err(Violation::new(
        Invariant::ReportedNotAhead,
        format!(
            "GetProgress reported {:.2}% for op {} while the DataShards had durably applied only {:.2}%. \
             Reported progress must never claim more than is durable.",
            f64::from(report.percent_bp) / 100.0,
            report.op.0,
            truth as f64 / 100.0
        ),
    ))
}
