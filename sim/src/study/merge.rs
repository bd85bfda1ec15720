//! `restoresim merge` of a sharded study (`study --shard K/N` on several
//! machines): every point's sweep shards are merged by the sweep merge
//! (which checks each seed is there exactly once), then the study's
//! tables, plots and report are written as a single run would write them.

use std::path::{Path, PathBuf};

use super::{PointResults, STUDY_SPEC_FILE, Study, StudyDone, StudySpec, point_dir, point_file, read_spec};
use crate::sweep::{SweepError, write_json};

/// Merges the study folders `dirs` (shards of `study`) into `out`.
pub fn merge(study: &Study, dirs: &[PathBuf], out: &Path) -> Result<StudyDone, SweepError> {
    if out.join(STUDY_SPEC_FILE).exists() {
        return Err(SweepError::Usage(format!("{} already holds a study; choose another --out", out.display())));
    }
    let first = read_spec(&dirs[0])?;
    let whole = first.whole();
    let mut shards = Vec::new();
    for dir in dirs {
        let spec = read_spec(dir)?;
        if spec.whole() != whole {
            return Err(SweepError::BadFile {
                path: dir.join(STUDY_SPEC_FILE),
                message: format!("is another study than {} (or the study file was edited)", dirs[0].display()),
            });
        }
        if shards.contains(&spec.shard) {
            return Err(SweepError::Usage(format!("two folders hold the same shard ({:?})", spec.shard)));
        }
        shards.push(spec.shard);
    }
    let expected = StudySpec::new(study, None, whole.max_capsules);
    if expected != whole {
        return Err(SweepError::Usage(format!(
            "the folders were written from another version of {} (its digest or points differ); merge with the \
             study file they were run with",
            whole.study_file
        )));
    }
    std::fs::create_dir_all(out.join(super::POINTS_DIR)).map_err(SweepError::io(out))?;
    write_json(&out.join(STUDY_SPEC_FILE), &whole)?;
    let mut points = Vec::new();
    for p in &study.points {
        let parts: Vec<PathBuf> = dirs.iter().map(|d| d.join(point_dir(&p.name))).collect();
        let merged = crate::sweep::merge::merge(&parts, &out.join(point_dir(&p.name)))?;
        let path = out.join(point_file(&p.name));
        std::fs::write(&path, &p.text).map_err(SweepError::io(&path))?;
        points.push(PointResults {
            name: p.name.clone(),
            results: merged.results,
            wall_ms: merged.summary.timing.wall_ms,
        });
    }
    let report = super::report::write(out, study, &whole, &points)?;
    Ok(StudyDone { report, points })
}
