//! `knob_coverage` of a sweep's `summary.json`: under a configuration swarm,
//! for every drawn knob and each of its values, how many seeds ran with it
//! and how many of those failed. A value no seed drew is a region the sweep
//! never tested; a value whose seeds fail more often points at the knob.
//! Computed from the result lines (`drawn`), so resumed and merged sweeps
//! agree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::results::SeedResult;

/// Seeds that drew one value of one knob.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnobValue {
    pub seeds: u64,
    pub failed: u64,
}

/// Knob path → value → seeds.
pub type KnobCoverage = BTreeMap<String, BTreeMap<String, KnobValue>>;

pub fn of(results: &[SeedResult]) -> KnobCoverage {
    let mut coverage = KnobCoverage::new();
    for r in results {
        for (knob, value) in &r.drawn {
            let count = coverage.entry(knob.clone()).or_default().entry(value.clone()).or_default();
            count.seeds += 1;
            count.failed += u64::from(r.failed());
        }
    }
    coverage
}

/// One line per knob for the console: `protocol.retry_scope  Shard 51 (2 failed), Stage 49`.
pub fn lines(coverage: &KnobCoverage) -> Vec<String> {
    let width = coverage.keys().map(String::len).max().unwrap_or(0);
    coverage
        .iter()
        .map(|(knob, values)| {
            // Numbers in numeric order (1, 3, 10), the rest as written.
            let mut values: Vec<(&String, &KnobValue)> = values.iter().collect();
            values.sort_by_key(|(v, _)| (v.parse::<u64>().map_or(u64::MAX, |n| n), v.to_string()));
            let values: Vec<String> = values
                .into_iter()
                .map(|(v, c)| match c.failed {
                    0 => format!("{v} {}", c.seeds),
                    f => format!("{v} {} ({f} failed)", c.seeds),
                })
                .collect();
            format!("{knob:width$}  {}", values.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::results::SeedOutcome;

    fn result(seed: u64, outcome: SeedOutcome, scope: &str) -> SeedResult {
        let mut r = SeedResult::panicked(seed, String::new());
        r.outcome = outcome;
        r.drawn.insert("protocol.retry_scope".into(), scope.into());
        r
    }

    #[test]
    fn counts_seeds_and_failures_per_value() {
        let results = [
            result(0, SeedOutcome::Pass, "Shard"),
            result(1, SeedOutcome::SafetyViolation, "Stage"),
            result(2, SeedOutcome::Pass, "Stage"),
        ];
        let c = of(&results);
        let scope = &c["protocol.retry_scope"];
        assert_eq!(scope["Shard"], KnobValue { seeds: 1, failed: 0 });
        assert_eq!(scope["Stage"], KnobValue { seeds: 2, failed: 1 });
        assert_eq!(lines(&c), vec!["protocol.retry_scope  Shard 1, Stage 2 (1 failed)".to_string()]);
    }
}
