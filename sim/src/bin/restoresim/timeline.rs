//! `restoresim timeline DIR` (DIR/timeline.html) and `restoresim export
//! --format chrome-trace DIR` (DIR/trace.chrome.json): a run folder or
//! capsule's trace drawn as a space-time diagram, or handed to Perfetto.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use restoresim::timeline::{self, TimelineError};

use super::{Failure, exit, output_code};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportFormat {
    /// Chrome trace-event JSON (Perfetto, chrome://tracing).
    ChromeTrace,
}

pub(super) fn failure(e: TimelineError) -> Failure {
    Failure::new(code(&e), e)
}

pub(super) fn code(e: &TimelineError) -> u8 {
    match e {
        TimelineError::Write { source, .. } => output_code(source),
        TimelineError::Read { .. } => exit::IO_ERROR,
        TimelineError::Bad { .. } | TimelineError::NoTrace { .. } => exit::BAD_INPUT,
    }
}

pub fn timeline(dirs: &[PathBuf]) -> Result<u8, Failure> {
    for dir in dirs {
        let path = timeline::write_html(dir).map_err(failure)?;
        say!("{}", path.display());
    }
    Ok(0)
}

pub fn export(format: ExportFormat, dir: &Path, out: Option<PathBuf>) -> Result<u8, Failure> {
    let ExportFormat::ChromeTrace = format;
    let t = timeline::load(dir).map_err(failure)?;
    let path = out.unwrap_or_else(|| dir.join("trace.chrome.json"));
    restoresim_reports::timeline::chrome::write(&t, &path)
        .map_err(|source| failure(TimelineError::Write { path: path.clone(), source }))?;
    say!("{}", path.display());
    Ok(0)
}
