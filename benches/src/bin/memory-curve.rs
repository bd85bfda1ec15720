//! What one random cache-line read costs this machine as the memory a
//! program reads at random grows: the floor under the scale family's
//! growth (README "Scale"). A run of a million shards reads its state in
//! random order over gigabytes, so its cost per event follows this curve,
//! not a constant; a growth goal has to be read against it.
//!
//! `cargo run --release -p restoresim-benches --bin memory-curve --
//! [--small-pages] [MIB...]` (default 100 600 1200 2500 5000;
//! `--small-pages` leaves the buffer on the kernel's default pages, to
//! see what huge pages are worth). For each size it fills a buffer backed
//! by transparent huge pages (as the simulator's allocator does) with one
//! random cycle through all of its 64-byte lines, then times two walks:
//! one chain (each read waits for the last: the latency of a miss) and
//! 16 chains in step (the reads overlap, as the prefetch pipeline overlaps
//! an event's misses: the throughput the simulator can hope for). The
//! chains start evenly spaced along the cycle and read at most one pass
//! of it, so no chain reads a line another brought in. Times are the
//! thread's CPU time, the median of three walks. The `huge pages` column
//! is the share of the buffer the kernel backed with them: a walk over
//! small pages pays a page-table walk for nearly every read, and
//! `--small-pages` shows what that costs (over twice as much at 5 GiB on
//! the VM README "The machine's own curve" was measured on).

use std::process::ExitCode;

use restoresim_benches::thread_cpu_time;

/// Reads timed per walk, at most (fewer when the buffer has fewer lines).
const READS: usize = 16 << 20;
/// The chains of the overlapped walk.
const CHAINS: usize = 16;
const LINE: usize = 64;
/// Line-sized entries: the cycle's next line index sits at the start of each.
const WORDS_PER_LINE: usize = LINE / std::mem::size_of::<u64>();

const USAGE: &str = "usage: memory-curve [--small-pages] [MIB...]";

/// What `--help` prints under the usage line.
const HELP: &str = "\
For each buffer size in MiB (default 100 600 1200 2500 5000), the thread
CPU time of one random read of a 64-byte line: alone (one chain, a
miss's latency) and overlapped (16 chains in step), median of three
walks, and the share of the buffer on huge pages.

  --small-pages   leave the buffer on the kernel's default pages";

fn main() -> ExitCode {
    let mut sizes = Vec::new();
    let mut huge = true;
    for arg in std::env::args().skip(1) {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}\n\n{HELP}");
            return ExitCode::SUCCESS;
        }
        if arg == "--small-pages" {
            huge = false;
            continue;
        }
        match arg.parse::<usize>() {
            Ok(mib) if (1..=1 << 20).contains(&mib) => sizes.push(mib),
            _ => {
                eprintln!("memory-curve: expected sizes in MiB (1 to 1048576); got `{arg}`");
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if sizes.is_empty() {
        sizes = vec![100, 600, 1200, 2500, 5000];
    }
    println!("{:>8} {:>11} {:>14} {:>16} {:>8}", "MiB", "huge pages", "1 chain ns", "16 chains ns", "ratio");
    let mut first = None;
    for mib in sizes {
        let buffer = Cycle::new(mib * (1 << 20) / LINE, huge);
        let backed = huge_page_mib().map_or("?".to_string(), |h| format!("{:.0} %", 100.0 * h as f64 / mib as f64));
        let latency = buffer.walk(1);
        let overlapped = buffer.walk(CHAINS);
        let base = *first.get_or_insert(overlapped);
        println!("{mib:>8} {backed:>11} {latency:>14.1} {overlapped:>16.1} {:>8.2}", overlapped / base);
    }
    ExitCode::SUCCESS
}

/// A buffer of `lines` lines holding one random cycle through all of them.
struct Cycle {
    words: Vec<u64>,
    /// The cycle's lines in visiting order: where the chains start.
    order: Vec<u32>,
}

impl Cycle {
    fn new(lines: usize, huge: bool) -> Cycle {
        assert!(lines >= CHAINS && u32::try_from(lines).is_ok(), "from 1 KiB to 256 GiB");
        let mut words = vec![0u64; lines * WORDS_PER_LINE];
        if huge {
            huge_pages(&mut words);
        }
        // Sattolo's shuffle: a uniformly random single cycle.
        let mut order: Vec<u32> = (0..lines as u32).collect();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for i in (1..lines).rev() {
            let j = (splitmix(&mut rng) % i as u64) as usize;
            order.swap(i, j);
        }
        for (i, &line) in order.iter().enumerate() {
            words[line as usize * WORDS_PER_LINE] = u64::from(order[(i + 1) % lines]);
        }
        Cycle { words, order }
    }

    /// Nanoseconds a read over `chains` chains walked in step (median of 3).
    fn walk(&self, chains: usize) -> f64 {
        let lines = self.order.len();
        let steps = READS.min(lines) / chains;
        let mut times: Vec<f64> = (0..3)
            .map(|_| {
                let mut at: Vec<u64> = (0..chains).map(|c| u64::from(self.order[c * lines / chains])).collect();
                let start = thread_cpu_time();
                for _ in 0..steps {
                    for line in &mut at {
                        *line = self.words[*line as usize * WORDS_PER_LINE];
                    }
                }
                let spent = thread_cpu_time() - start;
                std::hint::black_box(&at);
                spent.as_nanos() as f64 / (steps * chains) as f64
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[1]
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Asks the kernel to back `words` with 2 MiB pages (a hint: with
/// transparent huge pages off, or on another OS, the walk runs on small
/// pages and says so by its numbers).
fn huge_pages(words: &mut [u64]) {
    #[cfg(target_os = "linux")]
    {
        let page = 4096;
        let start = words.as_mut_ptr() as usize;
        let aligned = start.next_multiple_of(page);
        let len = (start + std::mem::size_of_val(words)).saturating_sub(aligned) / page * page;
        // SAFETY: the range lies inside `words`, page-aligned; MADV_HUGEPAGE
        // changes how it is backed, never its contents.
        unsafe { libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = words;
}

/// The process's memory backed by transparent huge pages, in MiB
/// (`AnonHugePages` of `/proc/self/smaps_rollup`), where the kernel says.
fn huge_page_mib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let line = text.lines().find(|l| l.starts_with("AnonHugePages:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
