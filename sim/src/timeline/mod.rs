//! `restoresim timeline DIR`: a run folder or capsule (its `trace.jsonl`
//! and `summary.json`) turned into the plain data of a space-time diagram
//! (`restoresim_reports::timeline::Timeline`), then into `timeline.html`
//! or Chrome trace-event JSON. Sends are paired with deliveries by their
//! directed link and number on it (`nth`), as the fault tape anchors them.

mod build;
mod read;

use std::path::{Path, PathBuf};

use restoresim_reports::timeline::Timeline;

pub use build::abbreviate;

#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Bad { path: PathBuf, line: usize, column: usize, message: String },
    #[error(
        "{path}: no trace.jsonl here; write one with `restoresim run SCENARIO --trace --out DIR` (a sweep's capsules have one)"
    )]
    NoTrace { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The timeline of the run in `dir` (a `run --out --trace` folder or a
/// sweep capsule). `summary.json`, if present, adds the title, violation
/// and reproduce command.
pub fn load(dir: &Path) -> Result<Timeline, TimelineError> {
    let trace = dir.join("trace.jsonl");
    if !trace.is_file() {
        return Err(TimelineError::NoTrace { path: dir.to_path_buf() });
    }
    let summary_path = dir.join("summary.json");
    let summary = if summary_path.is_file() {
        let text = std::fs::read_to_string(&summary_path)
            .map_err(|source| TimelineError::Read { path: summary_path.clone(), source })?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| TimelineError::Bad {
            path: summary_path.clone(),
            line: e.line(),
            column: e.column(),
            message: format!("expected a run's summary.json: {e}"),
        })?;
        Some(value)
    } else {
        None
    };
    let mut builder = build::Builder::default();
    let mut bad = None;
    read::for_each_line(&trace, |n, line| {
        if bad.is_none()
            && let Err(message) = builder.line(line)
        {
            bad = Some((n, message));
        }
    })?;
    if let Some((line, message)) = bad {
        return Err(TimelineError::Bad { path: trace, line, column: 1, message });
    }
    Ok(builder.finish(summary.as_ref(), dir))
}

/// Writes `DIR/timeline.html`; returns its path.
pub fn write_html(dir: &Path) -> Result<PathBuf, TimelineError> {
    let timeline = load(dir)?;
    let path = dir.join("timeline.html");
    restoresim_reports::timeline::html::write(&timeline, &path)
        .map_err(|source| TimelineError::Write { path: path.clone(), source })?;
    Ok(path)
}
