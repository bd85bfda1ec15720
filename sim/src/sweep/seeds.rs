//! Which seeds a sweep runs: a half-open range `A..B` (or `A..=B`, or one
//! seed), cut into `N` contiguous shards for `--shard K/N`, and the
//! determinism-check sample `1/N`. All of it is arithmetic on the range, so
//! every machine of a sharded CI run agrees on who runs what.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Seeds `first..end` (end excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRange {
    pub first: u64,
    pub end: u64,
}

impl SeedRange {
    pub fn len(&self) -> u64 {
        self.end - self.first
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.first
    }

    pub fn contains(&self, seed: u64) -> bool {
        (self.first..self.end).contains(&seed)
    }

    pub fn iter(&self) -> std::ops::Range<u64> {
        self.first..self.end
    }

    /// The seeds of shard `shard`: contiguous, so a shard's output names its
    /// own range, and the shards of one range tile it exactly. Sizes differ by
    /// at most one.
    pub fn shard(&self, shard: Shard) -> SeedRange {
        let n = u128::from(shard.count);
        let len = u128::from(self.len());
        // u128: `len * k` must not overflow for ranges near u64::MAX.
        let at = |k: u128| self.first + (len * k / n) as u64;
        SeedRange { first: at(u128::from(shard.index - 1)), end: at(u128::from(shard.index)) }
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.end)
    }
}

impl FromStr for SeedRange {
    type Err = String;

    /// `A..B` (B excluded), `A..=B`, or a single seed `A`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let num = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("'{t}' is not a seed (a whole number); expected A..B, e.g. 0..1000"))
        };
        let (first, end) = if let Some((a, b)) = s.split_once("..=") {
            let b = num(b)?;
            (num(a)?, b.checked_add(1).ok_or_else(|| format!("'{s}': the range ends past the largest seed"))?)
        } else if let Some((a, b)) = s.split_once("..") {
            (num(a)?, num(b)?)
        } else {
            let a = num(s)?;
            (a, a.checked_add(1).ok_or_else(|| format!("'{s}': the largest seed cannot be swept"))?)
        };
        if end <= first {
            return Err(format!("'{s}' holds no seed; expected A..B with A < B (B excluded)"));
        }
        Ok(SeedRange { first, end })
    }
}

/// Shard `index` of `count`, 1-based (`--shard 2/4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N`, or the scheduler's own variables (see `Shard::parse_with`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Shard::parse_with(s, |name| std::env::var(name).ok())
    }
}

impl Shard {
    /// `K/N` (1-based); `env:VAR/N`, where the variable holds a 0-based
    /// index as schedulers hand them out (Kubernetes' `JOB_COMPLETION_INDEX`,
    /// Slurm's `SLURM_ARRAY_TASK_ID` with `--array=0-(N-1)`); or `auto`: a
    /// Slurm job array's task among its tasks (`SLURM_ARRAY_TASK_ID` minus
    /// `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`), else an indexed
    /// Kubernetes Job's `JOB_COMPLETION_INDEX` of `RESTORESIM_SHARDS`.
    /// `env` looks variables up (the process environment, or a test's map).
    pub fn parse_with(s: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let number = |name: &str| -> Result<Option<u32>, String> {
            match env(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .map(Some)
                    .map_err(|_| format!("'{s}': the environment variable {name}={v:?} is not a whole number")),
            }
        };
        let of = |index: u32, count: u32, what: &str| -> Result<Shard, String> {
            if count == 0 || index >= count {
                return Err(format!("'{s}': {what} gives index {index}, outside 0..{count}"));
            }
            Ok(Shard { index: index + 1, count })
        };
        if s == "auto" {
            if let (Some(id), Some(min), Some(count)) =
                (number("SLURM_ARRAY_TASK_ID")?, number("SLURM_ARRAY_TASK_MIN")?, number("SLURM_ARRAY_TASK_COUNT")?)
            {
                let index = id.checked_sub(min).ok_or_else(|| format!("'{s}': SLURM_ARRAY_TASK_ID < _MIN"))?;
                return of(index, count, "the Slurm job array");
            }
            if let (Some(index), Some(count)) = (number("JOB_COMPLETION_INDEX")?, number("RESTORESIM_SHARDS")?) {
                return of(index, count, "JOB_COMPLETION_INDEX of RESTORESIM_SHARDS");
            }
            return Err(format!(
                "'{s}': found neither a Slurm job array (SLURM_ARRAY_TASK_ID, _MIN, _COUNT) nor an indexed \
                 Kubernetes Job (JOB_COMPLETION_INDEX with RESTORESIM_SHARDS); use K/N or env:VAR/N"
            ));
        }
        if let Some(rest) = s.strip_prefix("env:") {
            let (name, count) = rest
                .rsplit_once('/')
                .ok_or_else(|| format!("'{s}': expected env:VAR/N, e.g. env:SLURM_ARRAY_TASK_ID/4"))?;
            let count: u32 = count.parse().map_err(|_| format!("'{s}': expected env:VAR/N with N a whole number"))?;
            let index = number(name)?.ok_or_else(|| format!("'{s}': the environment variable {name} is not set"))?;
            return of(index, count, name);
        }
        let (k, n) = fraction(s, "K/N, e.g. 2/4, or env:VAR/N, or auto")?;
        if n == 0 || k == 0 || k > n {
            return Err(format!("'{s}': expected K/N with 1 <= K <= N, e.g. 2/4"));
        }
        Ok(Shard { index: k, count: n })
    }
}

/// A sample of one seed in `every` (`--check-determinism 1/20`): the seeds
/// with `seed % every == 0`. Chosen by seed value, not by position, so a
/// shard samples exactly the seeds a single run would.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub every: u64,
}

impl Sample {
    /// docs/design.md's default: one seed in twenty.
    pub const DEFAULT: Sample = Sample { every: 20 };

    pub fn takes(&self, seed: u64) -> bool {
        seed.is_multiple_of(self.every)
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1/{}", self.every)
    }
}

impl FromStr for Sample {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (one, every) = fraction(s, "1/N, e.g. 1/20")?;
        if one != 1 || every == 0 {
            return Err(format!("'{s}': expected 1/N with N >= 1, e.g. 1/20 (1/1 checks every seed)"));
        }
        Ok(Sample { every: u64::from(every) })
    }
}

fn fraction(s: &str, expected: &str) -> Result<(u32, u32), String> {
    let bad = || format!("'{s}': expected {expected}");
    let (a, b) = s.split_once('/').ok_or_else(bad)?;
    Ok((a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_come_from_the_schedulers_variables() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let slurm =
            env(&[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert_eq!(Shard::parse_with("env:SLURM_ARRAY_TASK_ID/4", slurm), Ok(Shard { index: 4, count: 4 }));
        assert_eq!(Shard::parse_with("auto", slurm), Ok(Shard { index: 4, count: 4 }));
        let from_one =
            env(&[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert_eq!(Shard::parse_with("auto", from_one), Ok(Shard { index: 1, count: 4 }));
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0"), ("RESTORESIM_SHARDS", "8")]);
        assert_eq!(Shard::parse_with("auto", k8s), Ok(Shard { index: 1, count: 8 }));
        assert_eq!(Shard::parse_with("env:JOB_COMPLETION_INDEX/8", k8s), Ok(Shard { index: 1, count: 8 }));
        assert_eq!(Shard::parse_with("2/4", env(&[])), Ok(Shard { index: 2, count: 4 }));
        assert!(Shard::parse_with("env:SLURM_ARRAY_TASK_ID/3", slurm).unwrap_err().contains("index 3, outside 0..3"));
        assert!(Shard::parse_with("env:NOPE/4", slurm).unwrap_err().contains("NOPE is not set"));
        assert!(Shard::parse_with("auto", env(&[])).unwrap_err().contains("neither a Slurm job array"));
        assert!(
            Shard::parse_with("env:X/4", env(&[("X", "two")])).unwrap_err().contains("X=\"two\" is not a whole number")
        );
    }

    #[test]
    fn ranges_parse_in_three_spellings() {
        assert_eq!("0..10".parse(), Ok(SeedRange { first: 0, end: 10 }));
        assert_eq!("5..=7".parse(), Ok(SeedRange { first: 5, end: 8 }));
        assert_eq!("42".parse(), Ok(SeedRange { first: 42, end: 43 }));
        for bad in ["10..10", "9..3", "a..b", "1..", "", "-1..3"] {
            assert!(bad.parse::<SeedRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_tile_the_range_exactly() {
        for (len, n) in [(10_000u64, 4u32), (7, 3), (2, 5), (1, 1), (100, 7)] {
            let range = SeedRange { first: 1000, end: 1000 + len };
            let mut next = range.first;
            for k in 1..=n {
                let part = range.shard(Shard { index: k, count: n });
                assert_eq!(part.first, next, "{len} seeds, shard {k}/{n}");
                assert!(part.len() == len / u64::from(n) || part.len() == len / u64::from(n) + 1);
                next = part.end;
            }
            assert_eq!(next, range.end);
        }
    }

    #[test]
    fn shard_and_sample_reject_nonsense() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1/0", "2", "a/b"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!("1/20".parse(), Ok(Sample { every: 20 }));
        for bad in ["2/20", "1/0", "20"] {
            assert!(bad.parse::<Sample>().is_err(), "{bad}");
        }
    }
}
