//! The virtual network's configuration: latency (per link if asked),
//! loss (detected or silent), duplication, reordering, partitions. Reordering
//! comes from latency (two messages on one link may overtake each other) and,
//! more often, from a reorder fault that holds one message back.

use super::Micros;
use super::inject::Partition;
use super::partition::RandomPartitions;
use super::prng::{Ratio, Stream};

/// A latency distribution, integer-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latency {
    Constant(Micros),
    Uniform {
        min: Micros,
        max: Micros,
    },
    /// `min` plus an exponential with the given mean.
    Exponential {
        min: Micros,
        mean: Micros,
    },
    /// Uniform `min..=max`, but with probability `tail` uniform up to `tail_max`
    /// (a long-tail stand-in for lognormal delays).
    Tail {
        min: Micros,
        max: Micros,
        tail: Ratio,
        tail_max: Micros,
    },
}

impl Latency {
    /// Inlined into the send path: a call costs as much as a uniform draw.
    #[inline(always)]
    pub fn sample(&self, rng: &mut Stream) -> Micros {
        match *self {
            Latency::Constant(v) => v,
            Latency::Uniform { min, max } => rng.range(min, max.max(min)),
            Latency::Exponential { min, mean } => min + rng.exponential(mean),
            Latency::Tail { min, max, tail, tail_max } => {
                if rng.chance(tail) {
                    rng.range(max.max(min), tail_max.max(max).max(min))
                } else {
                    rng.range(min, max.max(min))
                }
            }
        }
    }
}

/// The latency of the links matching `from → to` (`None`: any node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkLatency {
    pub from: Option<u32>,
    pub to: Option<u32>,
    pub latency: Latency,
}

/// Network behaviour. Loss, duplication, reordering and random partitions
/// apply only inside the fault window `[from, until)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    pub latency: Latency,
    /// Per-link overrides of `latency`; the first match wins.
    pub links: Vec<LinkLatency>,
    pub loss: Ratio,
    /// A lost message breaks its pipe, and both ends learn of it (YDB's
    /// interconnect session drop). Otherwise loss is silent: only timeouts
    /// can notice.
    pub loss_detected: bool,
    pub duplicate: Ratio,
    /// A message is held back by `reorder_delay` more, so later ones overtake it.
    pub reorder: Ratio,
    pub reorder_delay: Latency,
    /// How long after a crash or a detected loss the surviving ends hear of
    /// the pipe reset.
    pub reset_notify: Micros,
    /// Partitions at fixed windows (they are faults: a replay takes them
    /// from the tape instead).
    pub partitions: Vec<Partition>,
    pub random_partitions: RandomPartitions,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            latency: Latency::Uniform { min: 200, max: 1_000 },
            links: Vec::new(),
            loss: Ratio::NEVER,
            loss_detected: true,
            duplicate: Ratio::NEVER,
            reorder: Ratio::NEVER,
            reorder_delay: Latency::Uniform { min: 1_000, max: 20_000 },
            reset_notify: 1_000,
            partitions: Vec::new(),
            random_partitions: RandomPartitions::default(),
        }
    }
}

impl NetworkConfig {
    #[inline]
    pub fn latency_of(&self, from: u32, to: u32) -> &Latency {
        if self.links.is_empty() {
            return &self.latency;
        }
        let matches = |l: &&LinkLatency| l.from.is_none_or(|f| f == from) && l.to.is_none_or(|t| t == to);
        self.links.iter().find(matches).map_or(&self.latency, |l| &l.latency)
    }
}

/// The fault window: random faults happen in `[from, until)`; after `until`
/// the liveness phase begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultWindow {
    pub from: Micros,
    pub until: Micros,
}

impl FaultWindow {
    pub fn contains(&self, now: Micros) -> bool {
        self.from <= now && now < self.until
    }
}
