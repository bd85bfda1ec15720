//! The engine's configuration: latencies of everything that is not the
//! network, the fault plan, and tie permutation.

use super::inject::TabletFaults;
use super::network::{FaultWindow, Latency, NetworkConfig};
use super::prng::Ratio;

/// Latencies of everything that is not the network, and the fault plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub network: NetworkConfig,
    pub commit_latency: Latency,
    pub io_latency: Latency,
    pub window: FaultWindow,
    /// Probability that a backup read fails transiently / fatally (in the window).
    pub io_transient: Ratio,
    pub io_fatal: Ratio,
    pub tablets: TabletFaults,
    /// Order events due at one instant by a draw from the ties stream
    /// (docs/design.md §2), not by scheduling order. Off: no draw at all,
    /// so no trace hash of a scenario without it moves.
    pub permute_ties: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            network: NetworkConfig::default(),
            commit_latency: Latency::Uniform { min: 300, max: 1_500 },
            io_latency: Latency::Uniform { min: 100, max: 800 },
            window: FaultWindow { from: 0, until: 0 },
            io_transient: Ratio::NEVER,
            io_fatal: Ratio::NEVER,
            tablets: TabletFaults::default(),
            permute_ties: false,
        }
    }
}
