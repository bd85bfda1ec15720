//! The virtual network's configuration and its random decisions: per-link
//! latency, loss (detected or silent), duplication. Reordering comes from
//! latency: two messages on one link may overtake each other.

use super::Micros;
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

/// Network behaviour. Loss and duplication apply only inside the fault
/// window `[from, until)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    pub latency: Latency,
    pub loss: Ratio,
    /// A lost message breaks its pipe, and both ends learn of it (YDB's
    /// interconnect session drop). Otherwise loss is silent: only timeouts
    /// can notice.
    pub loss_detected: bool,
    pub duplicate: Ratio,
    /// How long after a crash or a detected loss the surviving ends hear of
    /// the pipe reset.
    pub reset_notify: Micros,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            latency: Latency::Uniform { min: 200, max: 1_000 },
            loss: Ratio::NEVER,
            loss_detected: true,
            duplicate: Ratio::NEVER,
            reset_notify: 1_000,
        }
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
