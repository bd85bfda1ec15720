//! `restoresim merge DIR...`: the shards of one sweep (`--shard K/N` on
//! several machines) become one sweep folder, with the `summary.json` and
//! `junit.xml` a single unsharded run would have written (bar `timing`,
//! which adds up the shards' wall-clock numbers). It refuses to mix sweeps
//! and to merge an incomplete set: every seed of the range exactly once.

use std::path::{Path, PathBuf};

use super::results::{self, SeedResult};
use super::summary::{SweepSummary, Timing};
use super::{
    RESULTS_FILE, SPEC_FILE, SUMMARY_FILE, SweepError, SweepSpec, capsule_rel, capsuled, read_spec, write_json,
};

/// The merged sweep.
pub struct Merged {
    pub spec: SweepSpec,
    pub summary: SweepSummary,
    /// Sorted by seed.
    pub results: Vec<SeedResult>,
}

/// Merges the sweep folders `dirs` into `out` (created; must not hold a sweep).
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Merged, SweepError> {
    let Some(first) = dirs.first() else {
        return Err(SweepError::Usage("name the sweep folders to merge".into()));
    };
    if out.join(SPEC_FILE).exists() {
        return Err(SweepError::Usage(format!("{} already holds a sweep; choose another --out", out.display())));
    }
    let reference = read_spec(first)?;
    let whole = reference.whole();
    let mut all = Vec::new();
    let mut timings = Vec::new();
    let mut seen_shards: Vec<(Option<super::Shard>, &Path)> = Vec::new();
    for dir in dirs {
        let spec = read_spec(dir)?;
        if !spec.same_sweep(&whole) {
            return Err(bad(
                dir,
                SPEC_FILE,
                format!("is another sweep than {}: {}", first.display(), differs(&whole, &spec.whole())),
            ));
        }
        if let Some((_, other)) = seen_shards.iter().find(|(s, _)| *s == spec.shard) {
            let which = spec.shard.map_or("the whole range".into(), |s| format!("shard {s}"));
            return Err(SweepError::Usage(format!("{} and {} both hold {which}", other.display(), dir.display())));
        }
        seen_shards.push((spec.shard, dir));
        let own = spec.own_seeds();
        let found = results::read(&dir.join(RESULTS_FILE), false)?;
        if let Some(r) = found.iter().find(|r| !own.contains(r.seed)) {
            return Err(bad(dir, RESULTS_FILE, format!("holds seed {}, outside its seeds {own}", r.seed)));
        }
        if found.len() as u64 != own.len() {
            return Err(bad(
                dir,
                RESULTS_FILE,
                format!(
                    "is incomplete: {} of the {} seeds {own}; finish it with the same sweep command and --resume",
                    found.len(),
                    own.len()
                ),
            ));
        }
        timings.push(read_timing(dir));
        all.extend(found);
    }
    let results = results::sort_unique(all, out)?;
    if results.len() as u64 != whole.seeds.len() {
        let missing = missing_seeds(&whole, &results);
        return Err(SweepError::Usage(format!(
            "the folders hold {} of the {} seeds {}; missing: {missing} (a shard not given?)",
            results.len(),
            whole.seeds.len(),
            whole.seeds
        )));
    }
    std::fs::create_dir_all(out).map_err(SweepError::io(out))?;
    write_json(&out.join(SPEC_FILE), &whole)?;
    results::write_sorted(&out.join(RESULTS_FILE), &results)?;
    // The merged sweep keeps the capsules a single run would: each shard
    // kept its own lowest failing seeds, a superset of the lowest overall.
    for seed in capsuled(&whole, &results) {
        let rel = capsule_rel(seed);
        let Some(from) = dirs.iter().map(|d| d.join(&rel)).find(|p| p.is_dir()) else {
            return Err(SweepError::Usage(format!("no folder holds the capsule of failing seed {seed} ({rel})")));
        };
        copy_tree(&from, &out.join(&rel))?;
    }
    let summary = super::write_reports(out, &whole, &results, Timing::sum(&timings))?;
    Ok(Merged { spec: whole, summary, results })
}

fn bad(dir: &Path, file: &str, message: String) -> SweepError {
    SweepError::BadFile { path: dir.join(file), message }
}

/// Which field of two specs differs, for the error message.
fn differs(a: &SweepSpec, b: &SweepSpec) -> String {
    let pairs = [
        ("scenario", a.scenario.clone(), b.scenario.clone()),
        ("scenario digest (the file was edited)", a.scenario_digest.clone(), b.scenario_digest.clone()),
        ("bugs", a.bugs.join(","), b.bugs.join(",")),
        ("seeds", a.seeds.to_string(), b.seeds.to_string()),
        ("check-determinism", format!("{:?}", a.check_determinism), format!("{:?}", b.check_determinism)),
        ("max-capsules", format!("{:?}", a.max_capsules), format!("{:?}", b.max_capsules)),
    ];
    let (what, x, y) = pairs.into_iter().find(|(_, x, y)| x != y).unwrap_or(("nothing", String::new(), String::new()));
    format!("{what} differs ({x} vs {y})")
}

/// A shard's timing; a shard killed after its last result line but before
/// its summary counts as no time at all.
fn read_timing(dir: &Path) -> Timing {
    std::fs::read_to_string(dir.join(SUMMARY_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<SweepSummary>(&t).ok())
        .map(|s| s.timing)
        .unwrap_or_default()
}

/// The first few seeds of the range no result holds, as ranges.
fn missing_seeds(spec: &SweepSpec, sorted: &[SeedResult]) -> String {
    let mut gaps = Vec::new();
    let mut next = spec.seeds.first;
    for seed in sorted.iter().map(|r| r.seed).chain(std::iter::once(spec.seeds.end)) {
        if seed > next {
            gaps.push(format!("{next}..{seed}"));
        }
        next = seed + 1;
    }
    gaps.truncate(5);
    gaps.join(", ")
}

/// Copies the files under `from` (if it exists) into `to`, keeping the tree.
fn copy_tree(from: &Path, to: &Path) -> Result<(), SweepError> {
    if !from.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(to).map_err(SweepError::io(to))?;
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .map_err(SweepError::io(from))?
        .collect::<Result<_, _>>()
        .map_err(SweepError::io(from))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(SweepError::io(&src))?;
        }
    }
    Ok(())
}
