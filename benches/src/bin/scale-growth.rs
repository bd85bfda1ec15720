//! How a run's cost grows from one scale to the next (the scale family's
//! "linear in shards" goal, README "Scale"), measured the way a noisy
//! machine allows: as ratios of runs made side by side, never as one
//! run's time against a figure from another day.
//!
//! `cargo run --release -p restoresim-benches --bin scale-growth --
//! [--rounds N] [--bin PATH]... SCENARIO SCENARIO...` (two or more, from
//! the smallest to the largest).
//!
//! Each round runs every scenario once per binary, smallest first (the
//! binaries taking turns, so a drift of the machine falls on all of them
//! alike), each run its own `restoresim run` process whose user and
//! system CPU time and peak RSS come from the kernel (`wait4`) and whose
//! event count comes from its summary. It prints every run with its user
//! CPU per event; then per binary each scenario's median and fastest, and
//! the growth from each scenario to the next in user CPU, round by round
//! with its median; and with two binaries or more each one against the
//! first, run by run. The binary defaults to the `restoresim` beside this
//! one (build it first: `cargo build --release`).
//!
//! Why per event: the scenarios of a growth study differ in size, and a
//! simulator linear in its work costs the same per event at every size.
//! Where it does not, the sizes at which the cost per event moves say
//! whether the simulator or the machine grew (README "Cost per event").
//! The fastest run is printed beside the median because noise on a
//! shared machine only ever adds time.
//!
//! Why a warm-up: before the rounds, each binary runs the largest scenario
//! once, unrecorded. On the VM the README's figures come from, a large run
//! right after small ones spent 8–12 s of system time faulting in fresh
//! huge pages where one right after another large run spent ~3 s: a series
//! that began cold would charge its first large run for the machine.
//!
//! Every run of a scenario must print the same trace hash, whichever the
//! binary: one that does not is reported and the tool exits 1, since a
//! comparison of two binaries that do different work measures nothing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

const USAGE: &str = "usage: scale-growth [--rounds N] [--bin PATH]... SCENARIO SCENARIO...";

/// What `--help` prints under the usage line.
const HELP: &str = "\
Two or more scenarios, from the smallest to the largest. After one
unrecorded warm-up run of the largest per binary, each round runs every
scenario once per binary, each run its own `restoresim run` process, and
prints user and system CPU, wall time, peak RSS and user CPU per event
of every run; then per binary each scenario's median and fastest run,
and the growth in user CPU from each scenario to the next, round by
round with its median; and each binary against the first, run by run.

  --rounds N   rounds (1 to 1000; default 5; `--pairs` is the same)
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
    rounds: usize,
    bins: Vec<PathBuf>,
    /// From the smallest to the largest; at least two.
    scenarios: Vec<PathBuf>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut rounds = 5;
    let mut bins = Vec::new();
    let mut scenarios = Vec::new();
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--rounds" | "--pairs" => {
                let n = argv.next().ok_or_else(|| format!("{arg} needs a number"))?;
                rounds = match n.parse::<usize>() {
                    Ok(n) if (1..=1000).contains(&n) => n,
                    _ => return Err(format!("{arg} expects a number from 1 to 1000; got `{n}`")),
                };
            }
            "--bin" => bins.push(PathBuf::from(argv.next().ok_or("--bin needs a path")?)),
            flag if flag.starts_with("--") => return Err(format!("unknown flag `{flag}`")),
            _ => scenarios.push(PathBuf::from(arg)),
        }
    }
    if scenarios.len() < 2 {
        return Err(format!(
            "expected two scenarios or more, from the smallest to the largest; got {}",
            scenarios.len()
        ));
    }
    if bins.is_empty() {
        let me = std::env::current_exe().map_err(|e| format!("cannot find this binary's directory: {e}"))?;
        bins.push(me.with_file_name("restoresim"));
    }
    if let Some(bin) = bins.iter().find(|p| !p.is_file()) {
        return Err(format!("{} is not a file (the restoresim binary: `cargo build --release`)", bin.display()));
    }
    if let Some(scenario) = scenarios.iter().find(|p| !p.is_file()) {
        return Err(format!("{} is not a file (a scenario, e.g. scenarios/scale/scale-100k.ron)", scenario.display()));
    }
    Ok(Args { rounds, bins, scenarios })
}

/// What one run cost, as the kernel counted it, and the events it ran.
struct Cost {
    user: f64,
    sys: f64,
    wall: f64,
    peak_mib: f64,
    events: u64,
    hash: String,
}

impl Cost {
    /// User CPU per event, in microseconds.
    fn user_per_event_us(&self) -> f64 {
        self.user * 1e6 / self.events.max(1) as f64
    }
}

/// `costs[b][r][s]`: binary `b`'s run of scenario `s` in round `r`.
type Costs = Vec<Vec<Vec<Cost>>>;

fn measure(args: &Args) -> Result<bool, String> {
    let out = std::env::temp_dir().join(format!("scale-growth-{}", std::process::id()));
    let result = rounds(args, &out);
    let _ = std::fs::remove_dir_all(&out);
    result
}

fn stem(scenario: &Path) -> String {
    scenario.file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned())
}

fn rounds(args: &Args, out: &Path) -> Result<bool, String> {
    let name = |b: usize| format!("bin{b}");
    for (b, bin) in args.bins.iter().enumerate() {
        println!("{} = {}", name(b), bin.display());
    }
    let largest = args.scenarios.last().expect("two scenarios or more (parse)");
    for bin in &args.bins {
        run(bin, largest, out)?;
    }
    println!(
        "{:>5} {:>5} {:>16} {:>8} {:>7} {:>7} {:>9} {:>11} {:>9}  trace hash",
        "round", "bin", "scenario", "user s", "sys s", "wall s", "peak MiB", "events", "µs/event"
    );
    let mut costs: Costs = args.bins.iter().map(|_| Vec::new()).collect();
    for round in 1..=args.rounds {
        for (b, bin) in args.bins.iter().enumerate() {
            let mut this_round = Vec::with_capacity(args.scenarios.len());
            for scenario in &args.scenarios {
                let c = run(bin, scenario, out)?;
                println!(
                    "{round:>5} {:>5} {:>16} {:>8.2} {:>7.2} {:>7.2} {:>9.0} {:>11} {:>9.3}  {}",
                    name(b),
                    stem(scenario),
                    c.user,
                    c.sys,
                    c.wall,
                    c.peak_mib,
                    c.events,
                    c.user_per_event_us(),
                    c.hash
                );
                this_round.push(c);
            }
            costs[b].push(this_round);
        }
    }
    let same = same_hashes(&args.scenarios, &costs);
    println!();
    let list = |xs: &[f64], digits: usize| xs.iter().map(|x| format!("x{x:.digits$}")).collect::<Vec<_>>().join(" ");
    for (b, runs) in costs.iter().enumerate() {
        println!("{}:", name(b));
        for (s, scenario) in args.scenarios.iter().enumerate() {
            let user: Vec<f64> = runs.iter().map(|r| r[s].user).collect();
            let per_event: Vec<f64> = runs.iter().map(|r| r[s].user_per_event_us()).collect();
            println!(
                "  {:>16}: user CPU median {:.2} s, fastest {:.2} s; per event median {:.3} µs, fastest {:.3} µs",
                stem(scenario),
                median(&user),
                fastest(&user),
                median(&per_event),
                fastest(&per_event)
            );
        }
        for s in 1..args.scenarios.len() {
            let growth: Vec<f64> = runs.iter().map(|r| r[s].user / r[s - 1].user).collect();
            let events = runs.first().map_or(0.0, |r| r[s].events as f64 / r[s - 1].events.max(1) as f64);
            let user = |i: usize| runs.iter().map(|r| r[i].user).collect::<Vec<f64>>();
            println!(
                "  {} -> {} (x{events:.2} the events): growth round by round {}; median x{:.2}; fastest to fastest x{:.2}",
                stem(&args.scenarios[s - 1]),
                stem(&args.scenarios[s]),
                list(&growth, 2),
                median(&growth),
                fastest(&user(s)) / fastest(&user(s - 1))
            );
        }
    }
    for b in 1..costs.len() {
        for (s, scenario) in args.scenarios.iter().enumerate() {
            let ratio: Vec<f64> = costs[b].iter().zip(&costs[0]).map(|(x, base)| x[s].user / base[s].user).collect();
            println!(
                "{} / {} ({}): user CPU run by run {}; median x{:.3}",
                name(b),
                name(0),
                stem(scenario),
                list(&ratio, 3),
                median(&ratio)
            );
        }
    }
    Ok(same)
}

/// Every run of one scenario printed the same trace hash, whatever the binary.
fn same_hashes(scenarios: &[PathBuf], costs: &Costs) -> bool {
    let mut same = true;
    for (s, scenario) in scenarios.iter().enumerate() {
        let hashes: Vec<&str> = costs.iter().flatten().map(|round| round[s].hash.as_str()).collect();
        if hashes.windows(2).any(|w| w[0] != w[1]) {
            eprintln!("scale-growth: the runs of {} printed different trace hashes: {hashes:?}", scenario.display());
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

fn fastest(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::INFINITY, f64::min)
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
    let events = events(&stdout)
        .ok_or_else(|| format!("{} run {} printed no event count", bin.display(), scenario.display()))?;
    Ok(Cost {
        user: seconds(usage.ru_utime),
        sys: seconds(usage.ru_stime),
        wall,
        // Linux reports ru_maxrss in KiB.
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
        events,
        hash,
    })
}

/// The event count of a run's summary line `  events        1544516 (...)`.
fn events(stdout: &str) -> Option<u64> {
    stdout.lines().find_map(|l| l.trim().strip_prefix("events")?.split_whitespace().next()?.parse().ok())
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
    fn the_fastest_is_the_least() {
        assert_eq!(fastest(&[3.0, 1.5, 2.0]), 1.5);
    }

    /// The count is read from the summary's `events` line, not from another
    /// line that mentions events (the rate in its parentheses).
    #[test]
    fn events_come_from_the_summary_line() {
        let summary = "scale-10k seed 1: pass\n  virtual time  0.022542s\n  events        154296 (0.51 M events/s of wall time)\n  trace hash    30156592e4166b79\n";
        assert_eq!(events(summary), Some(154_296));
        assert_eq!(events("  trace hash    30156592e4166b79\n"), None);
    }

    #[test]
    fn bad_arguments_are_refused_with_what_was_expected() {
        let args = |v: &[&str]| parse(v.iter().map(|s| s.to_string()));
        assert!(args(&["--pairs", "0", "a", "b"]).err().unwrap().contains("from 1 to 1000"));
        assert!(args(&["--frob"]).err().unwrap().contains("unknown flag"));
        assert!(args(&["only-one.ron"]).err().unwrap().contains("expected two scenarios or more"));
        assert!(args(&["--rounds", "x", "a", "b"]).err().unwrap().contains("--rounds expects a number"));
        assert!(args(&["--bin", "/nonexistent/restoresim", "a", "b"]).err().unwrap().contains("the restoresim binary"));
        let bin = std::env::current_exe().unwrap().display().to_string();
        assert!(args(&["--bin", &bin, "/nonexistent/a.ron", "b"]).err().unwrap().contains("a scenario"));
    }
}
