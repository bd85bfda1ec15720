//! Swarm mode (docs/design.md §5, as TigerBeetle's VOPR does it): per seed, draw
//! from the seed's swarm stream which fault families are on and how hard,
//! so a sweep explores many fault mixes rather than one average. The drawn
//! profile goes into `summary.json` (`swarm_profile`).
//!
//! Every family draws both its on/off coin and its rate, whether on or not,
//! in a fixed order: switching one family off in the spec never changes
//! what the others draw.

use serde::Serialize;

use crate::engine::{EngineConfig, Ratio, Stream, Subsystem};
use crate::scenario::{Chance, SwarmFamily, SwarmSpec};

const PPM: u32 = 1_000_000;

/// One seed's drawn fault mix. Rates are in parts per million (per message,
/// per tablet event, per commit, per read, per AllocateTxId).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SwarmProfile {
    /// The families that are on, by name.
    pub on: Vec<&'static str>,
    pub loss_ppm: u32,
    pub loss_detected: bool,
    pub duplicate_ppm: u32,
    pub reorder_ppm: u32,
    pub partitions: u32,
    pub crash_ppm: u32,
    pub restart_ppm: u32,
    pub kill_on_commit_ppm: u32,
    pub slow_commit_ppm: u32,
    pub allocator_empty_ppm: u32,
    pub read_transient_ppm: u32,
    pub read_fatal_ppm: u32,
}

fn ppm(c: Chance) -> u32 {
    (u64::from(c.0.num) * u64::from(PPM) / u64::from(c.0.den)) as u32
}

fn ratio(ppm: u32) -> Ratio {
    Ratio::new(ppm.min(PPM), PPM)
}

impl SwarmProfile {
    /// The profile of `seed` under `spec`.
    pub fn draw(spec: &SwarmSpec, seed: u64) -> SwarmProfile {
        let mut rng = Stream::new(seed, Subsystem::Swarm);
        // Always one draw of the same size per coin, whatever its odds (even
        // 0 or 1, where `chance` would draw nothing).
        let coin = |c: Chance, rng: &mut Stream| rng.below(u64::from(PPM)) < u64::from(ppm(c));
        let family = |f: &SwarmFamily, rng: &mut Stream| {
            let enabled = coin(f.on, rng);
            let (lo, hi) = (ppm(f.min), ppm(f.max));
            let rate = rng.range(u64::from(lo.min(hi)), u64::from(hi.max(lo))) as u32;
            if enabled { rate } else { 0 }
        };
        let loss_ppm = family(&spec.loss, &mut rng);
        let loss_detected = coin(spec.loss_detected, &mut rng);
        let duplicate_ppm = family(&spec.duplicate, &mut rng);
        let reorder_ppm = family(&spec.reorder, &mut rng);
        let partitions_on = coin(spec.partitions.on, &mut rng);
        let c = spec.partitions.count;
        let count = rng.range(c.min.min(c.max), c.max.max(c.min)) as u32;
        let crash_ppm = family(&spec.crash, &mut rng);
        let restart_ppm = family(&spec.restart, &mut rng);
        let kill_on_commit_ppm = family(&spec.kill_on_commit, &mut rng);
        let slow_commit_ppm = family(&spec.slow_commit, &mut rng);
        let allocator_empty_ppm = family(&spec.allocator_empty, &mut rng);
        let read_transient_ppm = family(&spec.read_transient, &mut rng);
        let read_fatal_ppm = family(&spec.read_fatal, &mut rng);
        let partitions = if partitions_on { count } else { 0 };
        let levels = [
            ("loss", loss_ppm),
            ("duplicate", duplicate_ppm),
            ("reorder", reorder_ppm),
            ("partitions", partitions),
            ("crash", crash_ppm),
            ("restart", restart_ppm),
            ("kill_on_commit", kill_on_commit_ppm),
            ("slow_commit", slow_commit_ppm),
            ("allocator_empty", allocator_empty_ppm),
            ("read_transient", read_transient_ppm),
            ("read_fatal", read_fatal_ppm),
        ];
        SwarmProfile {
            on: levels.iter().filter(|(_, v)| *v > 0).map(|(name, _)| *name).collect(),
            loss_ppm,
            loss_detected,
            duplicate_ppm,
            reorder_ppm,
            partitions,
            crash_ppm,
            restart_ppm,
            kill_on_commit_ppm,
            slow_commit_ppm,
            allocator_empty_ppm,
            read_transient_ppm,
            read_fatal_ppm,
        }
    }

    /// Puts the drawn rates in place of the configuration's own.
    pub fn apply(&self, config: &mut EngineConfig) {
        let n = &mut config.network;
        n.loss = ratio(self.loss_ppm);
        n.loss_detected = self.loss_detected;
        n.duplicate = ratio(self.duplicate_ppm);
        n.reorder = ratio(self.reorder_ppm);
        n.random_partitions.count = self.partitions;
        let t = &mut config.tablets;
        t.crash = ratio(self.crash_ppm);
        t.restart = ratio(self.restart_ppm);
        t.kill_on_commit = ratio(self.kill_on_commit_ppm);
        t.slow_commit = ratio(self.slow_commit_ppm);
        t.refuse = ratio(self.allocator_empty_ppm);
        config.io_transient = ratio(self.read_transient_ppm);
        config.io_fatal = ratio(self.read_fatal_ppm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_one_profile_and_seeds_differ() {
        let spec = SwarmSpec::default();
        assert_eq!(SwarmProfile::draw(&spec, 7), SwarmProfile::draw(&spec, 7));
        let profiles: Vec<_> = (0..50).map(|s| SwarmProfile::draw(&spec, s)).collect();
        let distinct: std::collections::BTreeSet<_> = profiles.iter().map(|p| p.on.clone()).collect();
        assert!(distinct.len() > 20, "50 seeds gave only {} family mixes", distinct.len());
        for p in &profiles {
            assert!(p.loss_ppm == 0 || (1_000..=50_000).contains(&p.loss_ppm), "{p:?}");
            assert_eq!(p.loss_ppm > 0, p.on.contains(&"loss"));
            assert_eq!(p.partitions > 0, p.on.contains(&"partitions"));
        }
    }

    #[test]
    fn switching_a_family_off_leaves_the_others_alone() {
        let spec = SwarmSpec::default();
        let mut off = spec.clone();
        off.loss.on = Chance(Ratio::NEVER);
        for seed in 0..20 {
            let (a, b) = (SwarmProfile::draw(&spec, seed), SwarmProfile::draw(&off, seed));
            assert_eq!(b.loss_ppm, 0);
            assert_eq!(
                (a.duplicate_ppm, a.crash_ppm, a.read_fatal_ppm),
                (b.duplicate_ppm, b.crash_ppm, b.read_fatal_ppm)
            );
        }
    }
}
