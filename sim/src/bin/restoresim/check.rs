//! `restoresim check FILE...`: parse and check every scenario or study
//! file (a study with every point's scenario), report each bad one with
//! file:line:column and what was expected, exit 65 if any.

use std::path::PathBuf;

use restoresim::scenario;

use super::{Failure, exit};

pub fn check(paths: &[PathBuf]) -> Result<u8, Failure> {
    if paths.is_empty() {
        return Err(Failure::new(exit::USAGE, "name at least one scenario file"));
    }
    let mut bad = 0;
    for p in paths {
        // Bounded: `check /dev/zero` is refused by the loader, not read until memory runs out.
        let is_study = scenario::read_bounded(p).is_ok_and(|t| restoresim::study::is_study(&t));
        let checked = if is_study {
            restoresim::study::load(p).map(|s| format!("study {}, {} points", s.name, s.points.len()))
        } else {
            scenario::load(p).map(|s| s.name)
        };
        match checked {
            Ok(what) => say!("ok    {} ({what})", p.display()),
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
