//! Fault injection as a scenario plans it and a run reports it (docs/design.md
//! §5): the scenario's plan turned into engine configuration (`plan`),
//! swarm profiles (`swarm`), triggered restarts (`triggers`), the fault
//! tape (`tape`), coverage goals (`coverage`), systematic crash points
//! (`crash_points`), and the per-family counts of `summary.json`.
//!
//! The engine (`crate::engine`) makes and logs the decisions; this module
//! is the harness side of them.

pub mod coverage;
pub mod crash_points;
pub mod plan;
pub mod swarm;
pub mod tape;
pub mod triggers;

use serde::Serialize;

use crate::engine::EngineStats;
pub use coverage::{Coverage, CoverageTotals};
pub use plan::engine_config;
pub use swarm::SwarmProfile;
pub use tape::{TapeEntry, TapeFault};
pub use triggers::Triggers;

/// Faults that happened, per family (`summary.json`'s `faults`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FaultCounts {
    /// Messages lost to random loss (not to partitions).
    pub drops: u64,
    pub duplicates: u64,
    /// Partitions that started.
    pub partitions: u64,
    /// Tablets that went down for a while (not kills on commit).
    pub crashes: u64,
    /// Tablets that restarted at once (not kills on commit).
    pub restarts: u64,
    pub kill_on_commit: u64,
    pub slow_commits: u64,
    /// AllocateTxId answered empty.
    pub allocator_empty: u64,
    /// Backup reads that failed, transiently or fatally.
    pub read_errors: u64,
}

impl FaultCounts {
    pub fn from_stats(s: &EngineStats) -> FaultCounts {
        FaultCounts {
            drops: s.drops,
            duplicates: s.duplicates,
            partitions: s.partitions,
            crashes: s.down_crashes,
            restarts: s.restarts,
            kill_on_commit: s.kill_on_commit,
            slow_commits: s.slow_commits,
            allocator_empty: s.refusals,
            read_errors: s.read_errors,
        }
    }

    /// `(family, count)` in `summary.json` order.
    pub fn families(&self) -> [(&'static str, u64); 9] {
        [
            ("drops", self.drops),
            ("duplicates", self.duplicates),
            ("partitions", self.partitions),
            ("crashes", self.crashes),
            ("restarts", self.restarts),
            ("kill_on_commit", self.kill_on_commit),
            ("slow_commits", self.slow_commits),
            ("allocator_empty", self.allocator_empty),
            ("read_errors", self.read_errors),
        ]
    }
}
