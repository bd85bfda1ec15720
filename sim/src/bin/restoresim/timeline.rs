//! `restoresim timeline DIR` (DIR/timeline.html) and `restoresim export
//! --format chrome-trace DIR` (DIR/trace.chrome.json): a run folder or
//! capsule's trace drawn as a space-time diagram, or handed to Perfetto.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use restoresim::timeline::{self, TimelineError};

use super::{Failure, exit};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportFormat {
    /// Chrome trace-event JSON (Perfetto, chrome://tracing).
    ChromeTrace,
}

fn failure(e: TimelineError) -> Failure {
    let code = match e {
        TimelineError::Write { .. } => exit::CANT_CREATE,
        TimelineError::Read { .. } => exit::IO,
        TimelineError::Bad { .. } | TimelineError::NoTrace { .. } => exit::BAD_INPUT,
    };
    Failure::new(code, e)
}

pub fn timeline(dirs: &[PathBuf]) -> Result<u8, Failure> {
    for dir in dirs {
        let path = timeline::write_html(dir).map_err(failure)?;
        println!("{}", path.display());
    }
    Ok(0)
}

pub fn export(format: ExportFormat, dir: &Path, out: Option<PathBuf>) -> Result<u8, Failure> {
    let ExportFormat::ChromeTrace = format;
    let t = timeline::load(dir).map_err(failure)?;
    let path = out.unwrap_or_else(|| dir.join("trace.chrome.json"));
    restoresim_reports::timeline::chrome::write(&t, &path)
        .map_err(|source| failure(TimelineError::Write { path: path.clone(), source }))?;
    println!("{}", path.display());
    Ok(0)
}
