//! The process allocator's options, set once at start (the binary only:
//! the library never names an allocator).
//!
//! Why: mimalloc gives freed memory back to the kernel ("purges" it) 10 ms
//! after a free (100 ms for its arenas), and the next allocation that lands
//! there faults fresh pages the kernel must zero first. A run frees large
//! blocks early — workload generation's sort scratch and draw buffers (16
//! bytes a row of the full backup), vectors left behind as others grow —
//! and allocates as much again soon after (the oracle, the DataShards'
//! rows): at scale-100k mimalloc purged 793 MiB over a run whose committed
//! peak is 565 MiB, all of it faulted and zeroed a second time, and at
//! scale-1m the kernel zeroing pages (`clear_page_erms`) was 5.9 s of the
//! run. Never purging (`purge_delay = -1`) reuses those pages instead.
//! Measured (paired runs on the loaded 2-core machine): scale-1m 8.9 → 3.3 s
//! of system CPU, 969,000 → 67,000 page faults; a 300,000-shard run 1.0-2.5
//! → 0.6-1.2 s. The price is peak RSS ending at the committed peak rather
//! than below it (scale-100k 526-542 → 580 MiB, 300,000 shards 1,540 →
//! 1,715 MiB, scale-1m 4,987 → 5,261 MiB, 52 → 55 bytes a row): freed
//! memory stays resident until reused, never longer than the process lives.
//!
//! `MIMALLOC_PURGE_DELAY` in the environment still wins (mimalloc reads it
//! at start; this leaves the option alone when it is set).

use std::ffi::{c_int, c_long};

unsafe extern "C" {
    /// mimalloc.h: `void mi_option_set(mi_option_t option, long value)`,
    /// exported by the mimalloc library the `mimalloc` crate links in.
    fn mi_option_set(option: c_int, value: c_long);
}

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_t` (the 16th
/// option, in both the v2 and v3 headers the `mimalloc` crate builds).
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// Keeps freed pages for reuse instead of returning them to the kernel
/// (see the module comment), unless the environment says otherwise.
pub fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a plain C call with integer arguments; mimalloc's option
        // table is thread-safe and this runs first in `main`, on one thread.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}
