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

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, n) = fraction(s, "K/N, e.g. 2/4")?;
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
