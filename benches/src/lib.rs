//! Shared workloads of the benches: the criterion benches (`benches/`) and
//! the CI guard (`src/bin/bench-guard.rs`) time exactly the same loops.

use std::time::Duration;

pub mod bare;
pub mod ring;

/// CPU time of this thread: on a machine shared with other jobs the wall
/// clock also counts the slices the thread spent waiting for a core.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
