//! `restoresim check SCENARIO...`: parse and check every file, report each
//! bad one with file:line:column and what was expected, exit 65 if any.

use std::path::PathBuf;

use restoresim::scenario;

use super::{Failure, exit};

pub fn check(paths: &[PathBuf]) -> Result<u8, Failure> {
    if paths.is_empty() {
        return Err(Failure::new(exit::USAGE, "name at least one scenario file"));
    }
    let mut bad = 0;
    for p in paths {
        match scenario::load(p) {
            Ok(s) => say!("ok    {} ({})", p.display(), s.name),
            Err(e) => {
                bad += 1;
                tell!("error: {e}");
            }
        }
    }
    if bad > 0 {
        tell!("{bad} of {} files bad", paths.len());
    }
    Ok(if bad > 0 { exit::BAD_INPUT } else { 0 })
}
