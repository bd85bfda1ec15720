//! `restoresim run --stats`: what a run cost this process — wall time and
//! peak resident memory — for the scale scenarios (`scenarios/scale/`).
//! Read in the binary only: the model and the engine never see a clock or
//! the OS, so these figures cannot change a run.

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

/// The `stats` lines: total wall time (load, generation, run, outputs),
/// peak RSS, and peak RSS per row of the full backups the scenario asks for.
pub fn lines(wall: Duration, run: Duration, rows: u64) -> Vec<String> {
    let mut out =
        vec![format!("  wall time     {:.2} s ({:.2} s in the run itself)", wall.as_secs_f64(), run.as_secs_f64())];
    match peak_rss_bytes() {
        Some(bytes) => {
            let per_row = bytes.checked_div(rows).map_or(String::new(), |b| format!(", {b} B per row of {rows} rows"));
            out.push(format!("  peak RSS      {:.1} MiB{per_row}", bytes as f64 / (1 << 20) as f64));
        }
        None => out.push("  peak RSS      unavailable (no /proc/self/status)".into()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_kibibytes() {
        assert_eq!(parse_vm_hwm("Name:\tx\nVmPeak:\t  9 kB\nVmHWM:\t  266032 kB\n"), Some(266_032 * 1024));
        assert_eq!(parse_vm_hwm("VmRSS:\t1 kB\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM:\t12 MB\n"), None);
    }
}
