//! The engine's counts of what the network and the tablets' lifecycle did.

/// Counts of what the network and lifecycle did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub messages_sent: u64,
    /// Messages lost to random loss.
    pub drops: u64,
    pub duplicates: u64,
    pub reordered: u64,
    pub partitions: u64,
    /// Messages lost because they crossed an active partition.
    pub partition_drops: u64,
    /// Every time a tablet went down, whatever the cause.
    pub crashes: u64,
    /// Of those: crashes with a down time, and restarts with none (neither
    /// counts kills on commit).
    pub down_crashes: u64,
    pub restarts: u64,
    pub commits: u64,
    pub kill_on_commit: u64,
    pub slow_commits: u64,
    pub refusals: u64,
    pub read_errors: u64,
}
