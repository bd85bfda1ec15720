//! `restoresim replay CAPSULE_OR_SCENARIO`: replay a run from its fault
//! tape (random faults off) and say whether it is the same run (trace hash),
//! or re-run a scenario with a seed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use restoresim::faults::replay as capsule;
use restoresim::output::{self, Summary};
use restoresim::run::{self, RunOptions};

use super::{Failure, exit, print_summary, run_one};

pub fn replay(target: &Path, seed: Option<u64>, out: Option<PathBuf>, trace: bool) -> Result<u8, Failure> {
    if !capsule::is_capsule(target) {
        return run_one(target, seed, out, trace, &[], None);
    }
    let c = capsule::load(target).map_err(|e| Failure { code: exit::BAD_INPUT, message: e.to_string() })?;
    if let Some(seed) = seed.filter(|s| *s != c.seed) {
        return Err(Failure {
            code: exit::USAGE,
            message: format!("the capsule is a run of seed {}; --seed {seed} does not apply to it", c.seed),
        });
    }
    let name = format!("{}-seed{}-replay", c.scenario.name, c.seed);
    let dir = out.unwrap_or_else(|| output::fresh_dir(&Path::new("out").join(name)));
    let internal =
        |what: String| move |e: std::io::Error| Failure { code: exit::INTERNAL, message: format!("{what}: {e}") };
    std::fs::create_dir_all(&dir).map_err(internal(format!("cannot create {}", dir.display())))?;
    let mut trace_file = match trace {
        true => {
            let p = dir.join("trace.jsonl");
            Some(BufWriter::new(File::create(&p).map_err(internal(format!("cannot create {}", p.display())))?))
        }
        false => None,
    };
    let started = Instant::now();
    let options = RunOptions { bugs: c.bugs.clone(), trace: trace_file.as_mut().map(|w| w as &mut dyn Write) };
    let report = run::replay(&c.scenario, c.seed, options, &c.tape);
    let wall_ms = started.elapsed().as_millis() as u64;
    if let Some(mut w) = trace_file {
        w.flush().map_err(internal("cannot write trace.jsonl".into()))?;
    }
    let bugs = c.bugs.iter().map(|b| b.name().to_string()).collect();
    let reproduce = format!("restoresim replay {}", target.display());
    let summary = Summary::new(&report, &c.scenario_file, bugs, wall_ms, reproduce);
    output::write_run(&dir, &report, &summary)
        .map_err(|e| Failure { code: exit::INTERNAL, message: format!("cannot write the artifacts: {e}") })?;
    print_summary(&report, &summary, &dir);
    let same = summary.trace_hash == c.trace_hash;
    println!(
        "  replay        {} faults from {}; trace hash {} the recorded {}",
        c.tape.len(),
        c.summary_file.display(),
        if same { "matches" } else { "DIFFERS from" },
        c.trace_hash
    );
    if !same {
        eprintln!(
            "error: the replay is not the recorded run (trace hash {} != {}): the scenario, the code or the \
             tape changed since, or the run was not deterministic",
            summary.trace_hash, c.trace_hash
        );
        return Ok(exit::NONDETERMINISM);
    }
    Ok(report.outcome.exit_code() as u8)
}
