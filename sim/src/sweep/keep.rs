//! Which failing seeds keep a capsule under `--max-capsules N`: the N
//! lowest failing seeds, so the set does not depend on the order seeds
//! finish in, on `--jobs`, on a resume or on sharding. While the sweep runs,
//! a failing seed gets a capsule if it is among the N lowest failing seeds
//! seen so far; capsules pushed out by lower seeds are deleted only at the
//! end (`reconcile`), never under a thread that may still be writing them.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use super::results::SeedResult;
use super::{CAPSULES_DIR, SweepError, SweepSpec, capsule_rel, capsuled};

pub struct Keeper {
    limit: Option<usize>,
    kept: Mutex<BTreeSet<u64>>,
}

impl Keeper {
    /// Starts from the capsules already in `out` of failing seeds in `done`
    /// (a resumed sweep), keeping at most the limit's lowest.
    pub fn new(spec: &SweepSpec, out: &Path, done: &[SeedResult]) -> Self {
        let limit = spec.max_capsules.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        let kept = done
            .iter()
            .filter(|r| r.failed() && out.join(capsule_rel(r.seed)).is_dir())
            .map(|r| r.seed)
            .take(limit.unwrap_or(usize::MAX))
            .collect();
        Keeper { limit, kept: Mutex::new(kept) }
    }

    /// Whether failing `seed` gets a capsule now.
    pub fn admit(&self, seed: u64) -> bool {
        let Some(limit) = self.limit else { return true };
        let mut kept = self.kept.lock().expect("no panic holds the lock");
        if kept.len() < limit {
            kept.insert(seed);
            return true;
        }
        match kept.last().copied() {
            Some(highest) if seed < highest => {
                kept.remove(&highest);
                kept.insert(seed);
                true
            }
            _ => false,
        }
    }
}

/// Makes the capsules folder hold exactly the capsules of
/// `capsuled(spec, results)`: deletes the others, and names the kept seeds
/// whose capsule is missing (for the caller to write).
pub fn reconcile(spec: &SweepSpec, out: &Path, results: &[SeedResult]) -> Result<Vec<u64>, SweepError> {
    let keep = capsuled(spec, results);
    let dir = out.join(CAPSULES_DIR);
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir).map_err(SweepError::io(&dir))? {
            let entry = entry.map_err(SweepError::io(&dir))?;
            let name = entry.file_name();
            let seed = name.to_str().and_then(|n| n.strip_prefix("seed-")).and_then(|n| n.parse::<u64>().ok());
            if seed.is_some_and(|s| !keep.contains(&s)) {
                std::fs::remove_dir_all(entry.path()).map_err(SweepError::io(&entry.path()))?;
            }
        }
    }
    Ok(keep.into_iter().filter(|s| !out.join(capsule_rel(*s)).is_dir()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_lowest_failing_seeds_whatever_the_order() {
        let spec = SweepSpec {
            scenario: String::new(),
            scenario_file: String::new(),
            scenario_digest: String::new(),
            bugs: vec![],
            seeds: "0..100".parse().unwrap(),
            shard: None,
            check_determinism: None,
            max_capsules: Some(3),
            required_goals: vec![],
        };
        let keeper = Keeper::new(&spec, Path::new("/nonexistent"), &[]);
        let admitted: Vec<u64> = [50, 40, 60, 10, 70, 45, 5].into_iter().filter(|s| keeper.admit(*s)).collect();
        assert_eq!(admitted, [50, 40, 60, 10, 45, 5]);
        let kept: Vec<u64> = keeper.kept.lock().unwrap().iter().copied().collect();
        assert_eq!(kept, [5, 10, 40], "the three lowest");
    }
}
