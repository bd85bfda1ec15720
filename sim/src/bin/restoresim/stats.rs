//! `restoresim run --stats`: what a run cost this process — wall time, CPU
//! time and its share per event, and peak resident memory — for the scale
//! scenarios (`scenarios/scale/`). Read in the binary only: the model and
//! the engine never see a clock or the OS, so these figures cannot change a
//! run.
//!
//! Why CPU time per event: a growth study compares runs of different
//! sizes, and a simulator linear in its work costs the same per event at
//! every size (README "Cost per event"). It is the figure `scale-growth`
//! prints for each run, from one run here.

use std::time::Duration;

/// The process's peak resident set size in bytes (`VmHWM` of
/// `/proc/self/status`), or `None` where there is no such file (not Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut words = line["VmHWM:".len()..].split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(kib * 1024)
}

/// This process's user and system CPU time so far, in seconds
/// (`getrusage(RUSAGE_SELF)`: every thread, load and outputs included), or
/// `None` if the call fails.
pub fn cpu_seconds() -> Option<(f64, f64)> {
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid, writable and lives for the call.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some((seconds(usage.ru_utime), seconds(usage.ru_stime)))
}

/// What a run cost, for its `stats` lines.
pub struct RunCost {
    /// The run itself, without loading the scenario or writing outputs.
    pub run_wall: Duration,
    /// Rows of the full backups the scenario asks for.
    pub rows: u64,
    pub events: u64,
}

/// The `stats` lines: total wall time (load, generation, run, outputs),
/// CPU time and user CPU per event, peak RSS, and peak RSS per row of the
/// full backups the scenario asks for.
pub fn lines(wall: Duration, cost: &RunCost) -> Vec<String> {
    let mut out = vec![format!(
        "  wall time     {:.2} s ({:.2} s in the run itself)",
        wall.as_secs_f64(),
        cost.run_wall.as_secs_f64()
    )];
    if let Some((user, system)) = cpu_seconds() {
        out.push(cpu_line(user, system, cost.events));
    }
    match peak_rss_bytes() {
        Some(bytes) => {
            let rows = cost.rows;
            let per_row = bytes.checked_div(rows).map_or(String::new(), |b| format!(", {b} B per row of {rows} rows"));
            out.push(format!("  peak RSS      {:.1} MiB{per_row}", bytes as f64 / (1 << 20) as f64));
        }
        None => out.push("  peak RSS      unavailable (no /proc/self/status)".into()),
    }
    out
}

/// `  CPU time      24.68 s user, 4.60 s system; 1.599 µs user per event`
/// (no per-event figure for a run of no event).
fn cpu_line(user: f64, system: f64, events: u64) -> String {
    let per_event =
        if events == 0 { String::new() } else { format!("; {:.3} µs user per event", user * 1e6 / events as f64) };
    format!("  CPU time      {user:.2} s user, {system:.2} s system{per_event}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_line_gives_user_cpu_per_event() {
        assert_eq!(
            cpu_line(24.68, 4.6, 15_438_925),
            "  CPU time      24.68 s user, 4.60 s system; 1.599 µs user per event"
        );
        assert_eq!(cpu_line(0.5, 0.0, 0), "  CPU time      0.50 s user, 0.00 s system");
    }

    /// The CPU time read grows as this thread computes (a read of the
    /// wrong fields, or of zeros, would not), within a bounded loop.
    #[test]
    fn cpu_time_grows_with_work() {
        let total = || cpu_seconds().map(|(user, system)| user + system).expect("getrusage works here");
        let before = total();
        let mut x = 1u64;
        let grew = (0..10_000).any(|_| {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            total() > before
        });
        assert!(grew, "no CPU time counted after up to 10^9 steps");
    }

    #[test]
    fn vm_hwm_is_read_in_kibibytes() {
        assert_eq!(parse_vm_hwm("Name:\tx\nVmPeak:\t  9 kB\nVmHWM:\t  266032 kB\n"), Some(266_032 * 1024));
        assert_eq!(parse_vm_hwm("VmRSS:\t1 kB\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM:\t12 MB\n"), None);
    }
}
