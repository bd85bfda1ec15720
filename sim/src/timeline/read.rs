//! Reading `trace.jsonl` back, line by line, with `file:line:column` errors.
//! Only the fields a timeline needs are read; lines written before a field
//! existed still read (it defaults).

use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

use super::TimelineError;
use crate::faults::tape::TapeEntry;

/// One line of `trace.jsonl` (see `run/trace_line.rs`).
#[derive(Debug, Deserialize)]
pub struct TraceLine {
    pub i: u64,
    pub t_us: u64,
    pub kind: String,
    pub node: String,
    pub peer: String,
    #[serde(default)]
    pub payload: String,
    #[serde(default)]
    #[serde(rename = "gen")]
    pub generation: u32,
    #[serde(default)]
    pub label: String,
    pub sent_us: Option<u64>,
    pub nth: Option<u64>,
    #[serde(default)]
    pub sent: Vec<SentLine>,
    #[serde(default)]
    pub notes: Vec<serde_json::Value>,
    #[serde(default)]
    pub faults: Vec<TapeEntry>,
}

#[derive(Debug, Deserialize)]
pub struct SentLine {
    pub to: String,
    pub nth: u64,
    pub msg: String,
}

/// Calls `each` with every line of the trace and its 1-based line number, in order.
pub fn for_each_line(path: &Path, mut each: impl FnMut(usize, TraceLine)) -> Result<(), TimelineError> {
    let file = std::fs::File::open(path).map_err(|source| TimelineError::Read { path: path.to_path_buf(), source })?;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| TimelineError::Read { path: path.to_path_buf(), source })?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: TraceLine = serde_json::from_str(&line).map_err(|e| TimelineError::Bad {
            path: path.to_path_buf(),
            line: n + 1,
            column: e.column(),
            message: format!("expected a trace line (i, t_us, kind, node, peer, ...): {e}"),
        })?;
        each(n + 1, parsed);
    }
    Ok(())
}
