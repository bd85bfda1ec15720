//! How a run's cost grows from one scale to the next (the scale family's
//! "linear in shards" goal, README "Scale"), measured the way a noisy
//! machine allows: as ratios of runs made side by side, never as one
//! run's time against a figure from another day.
//!
//! `cargo run --release -p restoresim-benches --bin scale-growth --
//! [--pairs N] [--bin PATH]... SMALL.ron LARGE.ron`
//!
//! Each round runs SMALL then LARGE once per binary (the binaries taking
//! turns, so a drift of the machine falls on all of them alike), each run
//! its own `restoresim run` process whose user and system CPU time and
//! peak RSS come from the kernel (`wait4`). It prints every run, then per
//! binary the growth LARGE / SMALL in user CPU pair by pair and its
//! median, and with two binaries or more each one against the first, run
//! by run. The binary defaults to the `restoresim` beside this one (build
//! it first: `cargo build --release`).
//!
//! Why a warm-up: before the rounds, each binary runs LARGE once,
//! unrecorded. On the VM the README's figures come from, a large run right
//! after small ones spent 8–12 s of system time faulting in fresh huge
//! pages where one right after another large run spent ~3 s: a series
//! that began cold would charge its first large run for the machine.
//!
//! Every run of a scenario must print the same trace hash, whichever the
//! binary: one that does not is reported and the tool exits 1, since a
//! comparison of two binaries that do different work measures nothing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

const USAGE: &str = "usage: scale-growth [--pairs N] [--bin PATH]... SMALL.ron LARGE.ron";

/// What `--help` prints under the usage line.
const HELP: &str = "\
After one unrecorded warm-up run of LARGE per binary, runs SMALL then
LARGE once per binary each round, each run its own `restoresim run`
process, and prints user and system CPU, wall time and
peak RSS of every run, the growth LARGE / SMALL in user CPU pair by pair
with its median, and each binary against the first, run by run.

  --pairs N    rounds (1 to 1000; default 5)
  --bin PATH   a restoresim binary (repeatable: binaries take turns;
               default: the restoresim beside this binary)

Exit 0 when measured, 1 when runs of one scenario print different trace
hashes or a run fails, 2 on bad arguments.";

fn main() -> ExitCode {
    if std::env::args().skip(1).any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}\n\n{HELP}");
        return ExitCode::SUCCESS;
    }
    match parse(std::env::args().skip(1)) {
        Ok(args) => match measure(&args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("scale-growth: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("scale-growth: {e}");
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

struct Args {
    pairs: usize,
    bins: Vec<PathBuf>,
    small: PathBuf,
    large: PathBuf,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut pairs = 5;
    let mut bins = Vec::new();
    let mut scenarios = Vec::new();
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--pairs" => {
                let n = argv.next().ok_or("--pairs needs a number")?;
                pairs = match n.parse::<usize>() {
                    Ok(n) if (1..=1000).contains(&n) => n,
                    _ => return Err(format!("--pairs expects a number from 1 to 1000; got `{n}`")),
                };
            }
            "--bin" => bins.push(PathBuf::from(argv.next().ok_or("--bin needs a path")?)),
            flag if flag.starts_with("--") => return Err(format!("unknown flag `{flag}`")),
            _ => scenarios.push(PathBuf::from(arg)),
        }
    }
    let [small, large]: [PathBuf; 2] = scenarios
        .try_into()
        .map_err(|got: Vec<_>| format!("expected two scenarios, SMALL and LARGE; got {}", got.len()))?;
    if bins.is_empty() {
        let me = std::env::current_exe().map_err(|e| format!("cannot find this binary's directory: {e}"))?;
        bins.push(me.with_file_name("restoresim"));
    }
    for path in bins.iter().chain([&small, &large]) {
        if !path.is_file() {
            return Err(format!("{} is not a file (the restoresim binary: `cargo build --release`)", path.display()));
        }
    }
    Ok(Args { pairs, bins, small, large })
}

/// A round's run of the smaller scenario, and of the larger.
type Pair = (Cost, Cost);

/// One run of every pair: the smaller scenario's or the larger's.
type Side = fn(&Pair) -> &Cost;

/// The two sides of a pair, by name.
const SIDES: [(&str, Side); 2] = [("SMALL", |p| &p.0), ("LARGE", |p| &p.1)];

/// What one run cost, as the kernel counted it.
struct Cost {
    user: f64,
    sys: f64,
    wall: f64,
    peak_mib: f64,
    hash: String,
}

fn measure(args: &Args) -> Result<bool, String> {
    let out = std::env::temp_dir().join(format!("scale-growth-{}", std::process::id()));
    let result = rounds(args, &out);
    let _ = std::fs::remove_dir_all(&out);
    result
}

fn rounds(args: &Args, out: &Path) -> Result<bool, String> {
    let name = |b: usize| format!("bin{b}");
    for (b, bin) in args.bins.iter().enumerate() {
        println!("{} = {}", name(b), bin.display());
    }
    for bin in &args.bins {
        run(bin, &args.large, out)?;
    }
    println!(
        "{:>5} {:>5} {:>16} {:>8} {:>7} {:>7} {:>9}  trace hash",
        "round", "bin", "scenario", "user s", "sys s", "wall s", "peak MiB"
    );
    // costs[b][r] = (small, large) of binary b in round r.
    let mut costs: Vec<Vec<Pair>> = args.bins.iter().map(|_| Vec::new()).collect();
    for round in 1..=args.pairs {
        for (b, bin) in args.bins.iter().enumerate() {
            let small = run(bin, &args.small, out)?;
            let large = run(bin, &args.large, out)?;
            for (scenario, c) in [(&args.small, &small), (&args.large, &large)] {
                let stem = scenario.file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned());
                println!(
                    "{round:>5} {:>5} {stem:>16} {:>8.2} {:>7.2} {:>7.2} {:>9.0}  {}",
                    name(b),
                    c.user,
                    c.sys,
                    c.wall,
                    c.peak_mib,
                    c.hash
                );
            }
            costs[b].push((small, large));
        }
    }
    let same = same_hashes(&costs);
    println!();
    for (b, rounds) in costs.iter().enumerate() {
        let growth: Vec<f64> = rounds.iter().map(|(s, l)| l.user / s.user).collect();
        let small: Vec<f64> = rounds.iter().map(|(s, _)| s.user).collect();
        let large: Vec<f64> = rounds.iter().map(|(_, l)| l.user).collect();
        println!(
            "{}: user CPU median {:.2} s -> {:.2} s; growth pair by pair {}; median x{:.2}",
            name(b),
            median(&small),
            median(&large),
            growth.iter().map(|g| format!("x{g:.2}")).collect::<Vec<_>>().join(" "),
            median(&growth)
        );
    }
    for b in 1..costs.len() {
        for (which, side) in SIDES {
            let ratio: Vec<f64> =
                costs[b].iter().zip(&costs[0]).map(|(x, base)| side(x).user / side(base).user).collect();
            println!(
                "{} / {} ({}): user CPU run by run {}; median x{:.3}",
                name(b),
                name(0),
                which.to_lowercase(),
                ratio.iter().map(|r| format!("x{r:.3}")).collect::<Vec<_>>().join(" "),
                median(&ratio)
            );
        }
    }
    Ok(same)
}

/// Every run of one scenario printed the same trace hash, whatever the binary.
fn same_hashes(costs: &[Vec<Pair>]) -> bool {
    let mut same = true;
    for (which, side) in SIDES {
        let hashes: Vec<&str> = costs.iter().flatten().map(|pair| side(pair).hash.as_str()).collect();
        if hashes.windows(2).any(|w| w[0] != w[1]) {
            eprintln!("scale-growth: the runs of {which} printed different trace hashes: {hashes:?}");
            same = false;
        }
    }
    same
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Runs `bin run scenario` and waits for it with `wait4`, which hands back
/// that child's own resource usage (std's `wait` does not).
fn run(bin: &Path, scenario: &Path, out: &Path) -> Result<Cost, String> {
    let started = std::time::Instant::now();
    let mut child = Command::new(bin)
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    // Read both pipes to their end before waiting, so a chatty child never
    // blocks on a full pipe (stderr on a thread: either may fill first).
    let mut stderr = child.stderr.take().expect("piped");
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut stdout = String::new();
    let _ = child.stdout.take().expect("piped").read_to_string(&mut stdout);
    let stderr = err.join().unwrap_or_default();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for; `status` and
    // `usage` are valid, writable and live for the call.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64();
    if rc != pid {
        return Err(format!("wait4 on {} failed: {}", bin.display(), std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{} run {} failed ({status:#x}):\n{stderr}", bin.display(), scenario.display()));
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let hash = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("trace hash").map(|h| h.trim().to_string()))
        .ok_or_else(|| format!("{} run {} printed no trace hash", bin.display(), scenario.display()))?;
    Ok(Cost {
        user: seconds(usage.ru_utime),
        sys: seconds(usage.ru_stime),
        wall,
        // Linux reports ru_maxrss in KiB.
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn bad_arguments_are_refused_with_what_was_expected() {
        let args = |v: &[&str]| parse(v.iter().map(|s| s.to_string()));
        assert!(args(&["--pairs", "0", "a", "b"]).err().unwrap().contains("from 1 to 1000"));
        assert!(args(&["--frob"]).err().unwrap().contains("unknown flag"));
        assert!(args(&["only-one.ron"]).err().unwrap().contains("expected two scenarios"));
        assert!(args(&["--bin", "/nonexistent/restoresim", "a", "b"]).err().unwrap().contains("is not a file"));
    }
}
