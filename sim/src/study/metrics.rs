//! The metrics a study reports, per run, from the seed's result line: each
//! with its unit and which way is better. A run counts towards a point's
//! statistics when it ended (every restore Done, or Failed by the protocol);
//! safety, liveness and internal failures are counted by kind instead of
//! averaged in, so they are shown, never hidden in a mean.

use crate::sweep::{SeedOutcome, SeedResult};

/// One column of `study.csv`.
pub struct Metric {
    pub name: &'static str,
    /// Axis label of its plots.
    pub unit: &'static str,
    pub description: &'static str,
    pub lower_is_better: bool,
    /// 0 or 1 per run: its mean is a rate (Wilson interval; plotted by its mean).
    pub rate: bool,
    value: fn(&SeedResult) -> Option<f64>,
}

impl std::fmt::Debug for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Metric {
    /// The run's value; `None` when the run panicked.
    pub fn of(&self, r: &SeedResult) -> Option<f64> {
        (self.value)(r)
    }
}

macro_rules! counter {
    ($name:literal, $unit:literal, $description:literal, $field:ident) => {
        Metric {
            name: $name,
            unit: $unit,
            description: $description,
            lower_is_better: true,
            rate: false,
            value: |r| r.metrics.as_ref().map(|m| m.$field as f64),
        }
    };
}

pub static ALL: &[Metric] = &[
    Metric {
        name: "completion_time_us",
        unit: "virtual µs",
        description: "virtual time until every restore ended",
        lower_is_better: true,
        rate: false,
        value: |r| r.metrics.as_ref().map(|_| r.virtual_time_us as f64),
    },
    Metric {
        name: "events",
        unit: "events",
        description: "events the engine processed",
        lower_is_better: true,
        rate: false,
        value: |r| r.metrics.as_ref().map(|_| r.events as f64),
    },
    counter!("messages_sent", "messages", "messages handed to the network", messages_sent),
    counter!("messages_lost", "messages", "messages lost (random loss, partitions)", messages_lost),
    counter!("commits_schemeshard", "commits", "SchemeShard commits completed", commits_schemeshard),
    counter!("commits_datashard", "commits", "DataShard commits completed (all shards)", commits_datashard),
    counter!("commits_txallocator", "commits", "TxAllocator commits completed", commits_txallocator),
    counter!(
        "requests_resent",
        "requests",
        "requests re-sent to a shard within a stage (a stage retry's fresh requests are not counted)",
        requests_resent
    ),
    counter!("stage_retries", "retries", "returns to Allocating for the same incremental", stage_retries),
    counter!("backoff_retries", "retries", "retries after a backoff (stage or shard)", backoff_retries),
    counter!("pipe_resets", "resets", "pipe-reset notifications delivered", pipe_resets),
    counter!("rows_applied", "rows", "changes DataShards durably applied", rows_applied),
    counter!("rows_reapplied", "rows", "changes applied again at keys already durable (wasted work)", rows_reapplied),
    Metric {
        name: "wasted_work_pct",
        unit: "% of rows applied",
        description: "rows re-applied as a share of rows applied",
        lower_is_better: true,
        rate: false,
        value: |r| {
            r.metrics.as_ref().map(|m| {
                if m.rows_applied == 0 { 0.0 } else { 100.0 * m.rows_reapplied as f64 / m.rows_applied as f64 }
            })
        },
    },
    Metric {
        name: "progress_lag_pct",
        unit: "percent points",
        description: "largest gap between durable and reported percent",
        lower_is_better: true,
        rate: false,
        value: |r| r.metrics.as_ref().map(|m| m.progress_lag_bp as f64 / 100.0),
    },
    counter!("progress_lag_us", "virtual µs", "longest wait from durable progress to a report of it", progress_lag_us),
    Metric {
        name: "first_progress_us",
        unit: "virtual µs",
        description: "virtual time of the first progress report above 0 %",
        lower_is_better: true,
        rate: false,
        value: |r| r.metrics.as_ref().and_then(|m| m.first_progress_us).map(|t| t as f64),
    },
    Metric {
        name: "extra_rows_pct",
        unit: "% of rows needed",
        description: "changes handled beyond those the Done restores needed, as a share of those (wasted work under any flavour)",
        lower_is_better: true,
        rate: false,
        value: |r| {
            r.metrics
                .as_ref()
                .filter(|m| m.rows_needed > 0)
                .map(|m| 100.0 * m.rows_handled.saturating_sub(m.rows_needed) as f64 / m.rows_needed as f64)
        },
    },
    counter!("progress_drops", "answers", "progress answers lower than the one before", progress_drops),
    Metric {
        name: "progress_went_down",
        unit: "share of runs",
        description: "1 when a progress answer was lower than the one before, else 0 (mean = rate)",
        lower_is_better: true,
        rate: true,
        value: |r| r.metrics.as_ref().map(|m| if m.progress_drops > 0 { 1.0 } else { 0.0 }),
    },
    Metric {
        name: "progress_drop_max_pct",
        unit: "percent points",
        description: "largest fall of the reported percent between two answers",
        lower_is_better: true,
        rate: false,
        value: |r| r.metrics.as_ref().map(|m| m.progress_drop_max_bp as f64 / 100.0),
    },
    counter!(
        "time_at_99_us",
        "virtual µs",
        "time the reported percent sat in [99 %, 100 %) before the end",
        time_at_99_us
    ),
    counter!(
        "progress_stall_us",
        "virtual µs",
        "longest time without a new high of the reported percent",
        progress_stall_us
    ),
    counter!(
        "hang_until_deadline_us",
        "virtual µs",
        "time a restore Failed by its deadline reported no new progress before it (0 otherwise)",
        hang_until_deadline_us
    ),
    Metric {
        name: "failed_by_deadline",
        unit: "share of runs",
        description: "1 when a restore ended Failed because a deadline passed, else 0 (mean = rate)",
        lower_is_better: true,
        rate: true,
        value: |r| r.metrics.as_ref().map(|m| if m.failed_by_deadline > 0 { 1.0 } else { 0.0 }),
    },
];

/// How a run of a study ended, finer than a sweep's outcome: a restore the
/// protocol failed (a deadline passed) is a result, not a bug.
pub fn outcome(r: &SeedResult) -> &'static str {
    let by_deadline = r.metrics.as_ref().is_some_and(|m| m.failed_by_deadline > 0);
    let failed = r.metrics.as_ref().is_some_and(|m| m.failed_other > 0);
    match r.outcome {
        SeedOutcome::InternalError => "internal_error",
        SeedOutcome::SafetyViolation => "safety_violation",
        // `expect: AllDone` makes a deadline failure a liveness one; a study calls it what it is.
        _ if by_deadline => "failed_by_deadline",
        SeedOutcome::LivenessViolation => "liveness_violation",
        _ if failed => "failed",
        SeedOutcome::Pass => "pass",
    }
}

/// Every outcome, in report order.
pub const OUTCOMES: [&str; 6] =
    ["pass", "failed_by_deadline", "failed", "liveness_violation", "safety_violation", "internal_error"];

/// Whether a run's metrics enter the point's statistics.
pub fn ended(r: &SeedResult) -> bool {
    matches!(outcome(r), "pass" | "failed_by_deadline" | "failed")
}

/// The metrics a study file names (all when none); else the bad name and a hint.
pub fn select(names: &[String]) -> Result<Vec<&'static Metric>, (String, String)> {
    if names.is_empty() {
        return Ok(ALL.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            ALL.iter().find(|m| m.name == n).ok_or_else(|| {
                let known: Vec<_> = ALL.iter().map(|m| m.name).collect();
                (n.clone(), format!("unknown metric \"{n}\"; expected one of {}", known.join(", ")))
            })
        })
        .collect()
}
