//! The `restoresim` command line (docs/design.md §8). Errors are printed as text
//! and mapped to the documented exit codes; `main` never returns an error
//! (so `RUST_BACKTRACE=1` cannot turn one into a backtrace dump). One
//! module per subcommand under `restoresim/` (named by `#[path]`: the
//! binary's root stays where `Cargo.toml` points).

/// `println!` that gives up quietly when stdout is gone (`restoresim run X |
/// head -1`): output cut short on purpose is no error, and must not change
/// the exit code.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!`, but a closed stderr is no panic either.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

#[path = "restoresim/allocator.rs"]
mod allocator;
#[path = "restoresim/check.rs"]
mod check;
#[path = "restoresim/crash_sweep.rs"]
mod crash_sweep;
#[path = "restoresim/explore.rs"]
mod explore;
#[path = "restoresim/progress.rs"]
mod progress;
#[path = "restoresim/replay.rs"]
mod replay;
#[path = "restoresim/shrink.rs"]
mod shrink;
#[path = "restoresim/stats.rs"]
mod stats;
#[path = "restoresim/study.rs"]
mod study;
#[path = "restoresim/sweep.rs"]
mod sweep;
#[path = "restoresim/timeline.rs"]
mod timeline;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use restoresim::output::{self, Summary};
use restoresim::run::{self, Outcome, RunOptions};
use restoresim::scenario;
use restoresim_model::knobs::Bug;

/// The process allocator. At scale the model's memory is a few large tables
/// (the full backup, the oracle's versions, the shard spans) plus millions of
/// small per-shard blocks. On glibc's malloc with 4 KiB pages scale-1m spent
/// 10.7 s of its 80 s in page faults; glibc's own huge-page switch
/// (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`) alone cut its user CPU from 70
/// to 58 s. mimalloc backs its segments with transparent huge pages (2 MiB)
/// without an environment variable, and its per-thread free lists also suit
/// the sweep's worker threads. The allocator cannot change a run: no model or
/// engine state depends on an address, and the golden trace hashes, pinned
/// under glibc's malloc, hold unchanged.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes (docs/design.md, "Exit codes").
mod exit {
    pub const USAGE: u8 = 2;
    pub const NONDETERMINISM: u8 = 4;
    pub const BAD_INPUT: u8 = 65;
    pub const INTERNAL: u8 = 70;
    /// sysexits' EX_CANTCREAT: an output folder or file cannot be created.
    pub const CANT_CREATE: u8 = 73;
    /// sysexits' EX_IOERR: an error while writing (a full disk, ...).
    pub const IO_ERROR: u8 = 74;
}

/// 73 when an output path cannot be created (missing parent, no
/// permission, a file where a folder should be, a name too long, a
/// read-only file system), 74 for any other error while writing.
fn output_code(e: &std::io::Error) -> u8 {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound
        | K::PermissionDenied
        | K::AlreadyExists
        | K::NotADirectory
        | K::IsADirectory
        | K::ReadOnlyFilesystem
        | K::InvalidFilename
        | K::InvalidInput => exit::CANT_CREATE,
        _ => exit::IO_ERROR,
    }
}

/// An output error as a failure with its exit code (73 or 74), the path
/// and the OS error.
fn output_failure(e: restoresim::output::OutputError) -> Failure {
    Failure::new(output_error_code(&e), e)
}

fn output_error_code(e: &restoresim::output::OutputError) -> u8 {
    use restoresim::output::OutputError;
    match e {
        OutputError::Io { source, .. } => output_code(source),
        OutputError::Plot(r) => report_code(r),
        OutputError::Timeline(t) => timeline::code(t),
    }
}

fn report_code(e: &restoresim_reports::ReportError) -> u8 {
    match e {
        restoresim_reports::ReportError::Io { source, .. } => output_code(source),
        // The plotting library reports I/O errors as text.
        restoresim_reports::ReportError::Draw { .. } => exit::IO_ERROR,
    }
}

/// `Failure` for an I/O error on the output path `path`.
fn io_failure(path: &Path, e: std::io::Error) -> Failure {
    Failure::new(output_code(&e), format!("cannot write {}: {e}", path.display()))
}

#[derive(Parser)]
#[command(name = "restoresim", version, about = "Deterministic simulation of YDB's incremental restore")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario with one seed, check every invariant, draw the plots.
    Run {
        scenario: PathBuf,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder (default: a fresh folder under out/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write every processed event to trace.jsonl.
        #[arg(long)]
        trace: bool,
        /// Plant a bug (repeatable), e.g. --bug AckBeforePersist.
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
        /// Add one systematic crash point, e.g. DataShard3@event:12 (restart
        /// right after its 12th event) or SchemeShard@commit:4 (kill on its
        /// 4th commit); what `sweep --crash-points` prints to reproduce.
        #[arg(long = "crash-point", value_name = "TABLET@event:K|TABLET@commit:C")]
        crash_point: Option<String>,
        /// Also print wall time, CPU time (and user CPU per event) and peak
        /// resident memory (and per row of the full backups), e.g. for
        /// scenarios/scale/*.ron.
        #[arg(long)]
        stats: bool,
    },
    /// Run a scenario over a range of seeds in parallel; write results.jsonl,
    /// summary.json, junit.xml and a capsule per failing seed. With
    /// --crash-points TABLET: systematic crash points of one seed instead.
    Sweep {
        #[command(flatten)]
        args: sweep::SweepArgs,
        /// Systematic crash points of a tablet (SchemeShard, TxAllocator or
        /// DataShard<n>): a tracing run counts its events and commits, then
        /// one run restarts it right after each event and one kills it on
        /// each commit. Sequential, one line per point.
        #[arg(long = "crash-points", value_name = "TABLET")]
        crash_points: Option<String>,
        /// With --crash-points: run only bucket K of N (1-based; point i goes
        /// to bucket i % N + 1).
        #[arg(long, value_name = "K/N", requires = "crash_points")]
        bucket: Option<String>,
        /// With --crash-points: the seed (default: the scenario's `seed`).
        #[arg(long, requires = "crash_points")]
        seed: Option<u64>,
    },
    /// Run a capacity study: a parameter grid over a base scenario, many
    /// seeds per point; write study.csv, study.json, plots and REPORT.md.
    #[command(after_help = study::paths_help())]
    Study {
        #[command(flatten)]
        args: study::StudyArgs,
    },
    /// Combine the output folders of a sharded sweep (or study) into one. A folder
    /// may be a pattern ('out/shard-*', quoted), expanded here.
    Merge {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder (default: a fresh folder under out/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a capsule (or a scenario and seed) again; exit 4 if the trace hash
    /// differs from the capsule's.
    Replay {
        #[command(flatten)]
        args: replay::ReplayArgs,
    },
    /// Reduce a failing capsule to its minimal failing run: fewest faults,
    /// weakest faults, smallest workload; writes a minimal capsule with a
    /// standalone scenario.ron, shrink.json and story.txt.
    Shrink {
        #[command(flatten)]
        args: shrink::ShrinkArgs,
    },
    /// Small-scope exhaustive search: every placement of up to K faults
    /// (drop, duplicate, restart, kill on commit) at every fault point,
    /// pruning runs that reach an explored state; writes explore.json,
    /// failures.jsonl and a capsule per failing placement.
    Explore {
        #[command(flatten)]
        args: explore::ExploreArgs,
    },
    /// Check scenario and study files; exit 65 with file:line:column for each bad one.
    Check { scenarios: Vec<PathBuf> },
    /// Draw a run folder or capsule (its trace.jsonl) as DIR/timeline.html:
    /// a space-time diagram that opens from disk.
    Timeline {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Export a run folder or capsule's trace for other tools.
    Export {
        /// chrome-trace: Chrome trace-event JSON, for Perfetto or chrome://tracing.
        #[arg(long, value_enum)]
        format: timeline::ExportFormat,
        dir: PathBuf,
        /// Output file (default: DIR/trace.chrome.json).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// A failure that maps to an exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn new(code: u8, message: impl std::fmt::Display) -> Self {
        Failure { code, message: message.to_string() }
    }
}

/// `--bug` names, or a usage error listing the known ones.
fn parse_bugs(names: &[String]) -> Result<Vec<Bug>, Failure> {
    names
        .iter()
        .map(|name| {
            Bug::from_name(name).ok_or_else(|| {
                let known: Vec<_> = Bug::ALL.iter().chain(&Bug::YDB).map(|b| b.name()).collect();
                Failure::new(exit::USAGE, format!("unknown bug '{name}'; expected one of {}", known.join(", ")))
            })
        })
        .collect()
}

fn main() -> ExitCode {
    allocator::keep_freed_pages();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { 0 });
        }
    };
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Run { scenario, seed, out, trace, bugs, crash_point, stats } => {
            let started = std::time::Instant::now();
            let code = run_one(&scenario, seed, out, trace, &bugs, crash_point.as_deref());
            if stats && let Ok((_, cost)) = &code {
                for line in stats::lines(started.elapsed(), cost) {
                    say!("{line}");
                }
            }
            code.map(|(code, _)| code)
        }
        Command::Sweep { args, crash_points: Some(tablet), bucket, seed } => {
            let a = &args;
            let seed_flags = a.seeds.is_some() || a.jobs.is_some() || a.shard.is_some() || a.out.is_some() || a.resume;
            if seed_flags || a.check_determinism.is_some() || a.max_capsules.is_some() || a.shrink {
                return Err(Failure::new(
                    exit::USAGE,
                    "--crash-points sweeps one seed (--seed N), sequentially; --seeds, --jobs, --shard, --out, \
                     --resume, --check-determinism, --max-capsules and --shrink do not apply",
                ));
            }
            crash_sweep::sweep(&args.scenario, &tablet, bucket.as_deref(), seed, &args.bugs)
        }
        Command::Sweep { args, .. } => sweep::sweep(args),
        Command::Study { args } => study::study(args),
        Command::Merge { dirs, out } => sweep::merge(&dirs, out),
        Command::Replay { args } => replay::replay(args),
        Command::Shrink { args } => shrink::shrink(args),
        Command::Explore { args } => explore::explore(args),
        Command::Check { scenarios } => check::check(&scenarios),
        Command::Timeline { dirs } => timeline::timeline(&dirs),
        Command::Export { format, dir, out } => timeline::export(format, &dir, out),
    });
    match result {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(f)) => {
            tell!("error: {}", f.message);
            ExitCode::from(f.code)
        }
        Err(_) => {
            tell!("error: internal error (a panic, reported above); this is a bug in restoresim");
            ExitCode::from(exit::INTERNAL)
        }
    }
}

fn run_one(
    path: &Path,
    seed: Option<u64>,
    out: Option<PathBuf>,
    trace: bool,
    bug_names: &[String],
    crash_point: Option<&str>,
) -> Result<(u8, stats::RunCost), Failure> {
    let (mut scenario, text) =
        scenario::load_text(path).map_err(|e| Failure { code: exit::BAD_INPUT, message: e.to_string() })?;
    let mut point = None;
    if let Some(text) = crash_point {
        let p = crash_sweep::parse_point(text, &scenario, seed.unwrap_or(scenario.seed))?;
        scenario = restoresim::faults::crash_points::with_point(&scenario, p);
        point = Some(p);
    }
    let bugs = parse_bugs(bug_names)?;
    let seed = seed.unwrap_or(scenario.seed);
    let dir = out.unwrap_or_else(|| {
        output::fresh_dir(&Path::new("out").join(format!("{}-seed{seed}", output::safe_name(&scenario.name))))
    });
    std::fs::create_dir_all(&dir).map_err(|e| io_failure(&dir, e))?;
    let trace_path = dir.join("trace.jsonl");
    let mut trace_file = if trace {
        let f = File::create(&trace_path).map_err(|e| io_failure(&trace_path, e))?;
        Some(BufWriter::new(f))
    } else {
        None
    };
    let wall_started = Instant::now();
    let options = RunOptions {
        bugs: bugs.clone(),
        trace: trace_file.as_mut().map(|w| w as &mut dyn Write),
        ..RunOptions::default()
    };
    let report = run::run(&scenario, seed, options);
    let wall = wall_started.elapsed();
    if let Some(mut w) = trace_file {
        w.flush().map_err(|e| io_failure(&trace_path, e))?;
    }
    if let (Some(p), Some(text)) = (point, crash_point) {
        crash_sweep::check_point_reached(p, text, &report)?;
    }
    let mut reproduce = format!("restoresim run {} --seed {seed}", path.display());
    for b in &bugs {
        reproduce.push_str(&format!(" --bug {}", b.name()));
    }
    if let Some(point) = crash_point {
        reproduce.push_str(&format!(" --crash-point {point}"));
    }
    let bug_list = bugs.iter().map(|b| b.name().to_string()).chain(scenario.bugs.iter().cloned()).collect();
    let mut summary = Summary::new(&report, path, bug_list, wall, reproduce.clone());
    summary.scenario_digest = Some(restoresim::sweep::digest_text(&text));
    output::write_run(&dir, &report, &summary).map_err(output_failure)?;
    if trace {
        restoresim::timeline::write_html(&dir).map_err(timeline::failure)?;
    }
    print_summary(&report, &summary, &dir);
    if report.outcome != Outcome::Pass {
        say!("\nreproduce: {reproduce}");
    }
    let rows = scenario.workload.rows * scenario.workload.tables.len() as u64;
    Ok((report.outcome.exit_code() as u8, stats::RunCost { run_wall: wall, rows, events: report.events }))
}

fn print_summary(report: &run::RunReport, summary: &Summary, dir: &Path) {
    let outcome = match report.outcome {
        Outcome::Pass => "pass",
        Outcome::SafetyViolation => "SAFETY VIOLATION",
        Outcome::LivenessViolation => "LIVENESS VIOLATION",
    };
    say!("{} seed {}: {outcome}", report.scenario, report.seed);
    say!("  virtual time  {}", run::record::fmt_time(report.virtual_time_us));
    say!("  events        {} ({:.2} M events/s of wall time)", report.events, summary.events_per_sec as f64 / 1e6);
    let families: Vec<String> =
        summary.faults.families().iter().filter(|(_, n)| *n > 0).map(|(name, n)| format!("{n} {name}")).collect();
    let families = if families.is_empty() { "none".to_string() } else { families.join(", ") };
    say!("  faults        {families}");
    if let Some(profile) = &report.swarm_profile {
        say!("  swarm         {}", if profile.on.is_empty() { "no family on".into() } else { profile.on.join(", ") });
    }
    if let Some(drawn) = &report.drawn_config {
        let knob = |k: &str| drawn.get(k).map_or("-", String::as_str);
        say!(
            "  drawn         {} tables (≤{} shards), {} incrementals, {} rows, scope {}, cap {}, timeout {} (summary.json \
             `drawn_config`)",
            knob("workload.tables"),
            knob("workload.shards_max"),
            knob("workload.incrementals"),
            knob("workload.rows"),
            knob("protocol.retry_scope"),
            knob("protocol.max_shards_in_flight"),
            knob("protocol.shard_timeout"),
        );
    }
    if !report.coverage.required_missing.is_empty() {
        say!("  coverage      required goal(s) NOT reached: {}", report.coverage.required_missing.join(", "));
    }
    for r in &report.restores {
        let op = r.operation.map_or(String::new(), |o| format!("op{o} "));
        say!("  restore       {op}{}: {} ({})", r.table, r.state, r.detail);
    }
    say!("  trace hash    {}", summary.trace_hash);
    if let Some(v) = &report.violation {
        say!("\n  violated      {} at {} ({})", v.invariant, run::record::fmt_time(v.at_us), v.event);
        say!("  {}", v.message);
    }
    say!("  artifacts     {}", dir.display());
}
