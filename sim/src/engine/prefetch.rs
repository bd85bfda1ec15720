//! Software prefetch: a hint to the CPU to start loading a cache line that
//! an event a few places ahead in the queue will read, so that its miss
//! overlaps the events before it instead of stalling its own.
//!
//! Why: at a million shards every event is the first touch of its shard's
//! state, in random order, over a working set of gigabytes (past the
//! caches and the TLB's reach), so each event pays a chain of misses. The
//! engine knows which events come next (the instant's due list), so it can
//! ask for their lines early: the prefetch pipeline of hash joins and large
//! discrete-event simulators.
//!
//! Two stages, as each event is popped (`Engine::prefetch_ahead`): for the
//! event `FAR` places ahead, its node's engine record (both lines), its
//! fault counts, and what `System::prefetch` names (for the restore
//! system: a DataShard's tablet and its lines in the vectors by shard);
//! for the one `NEAR` ahead, `System::prefetch_deep`, which reads what the
//! first stage brought in and hints the lines behind it (a DataShard's
//! progress records, delta, rows in the backup and scans), and, given the
//! event's payload, what a commit, a read's reply or a delivered message
//! reads (a commit's changes and checks, the coordinator's row for the
//! answering shard). Only the events of the current instant are looked at
//! (the queue's due list, in order): at scale an instant holds tens to
//! hundreds of events. A run of fewer than `MIN_NODES` nodes skips the
//! pipeline altogether (one comparison an event). The distances were
//! measured on scale-100k and a 300k variant (README "Engine-led
//! prefetch"): 2/1 and 32/12 did worse than 8/4, 4/2 and 16/6 about the
//! same. An event takes about a microsecond at scale, so the four events
//! between the stages cover a memory miss with room to spare, and eight
//! ahead is near enough that the lines are not evicted before use.
//!
//! A prefetch reads nothing the program sees and cannot fault (a hint to an
//! invalid or unmapped address is dropped): it changes timing only, never
//! a value, so no trace can depend on it. Off x86_64 it is a no-op.

/// The fewest nodes a run has for the pipeline to run at all. Below it
/// every node's state fits in the caches (bench-guard's ping-pong has 78 nodes,
/// a ci-smoke run 15), so a hint finds its line already there and is pure
/// cost: hinting on every event took ping-pong from ~0.56x to ~0.54x of
/// the bare heap (bench-guard, paired). scale-10k, the smallest scale
/// run, has 10,003 nodes.
pub const MIN_NODES: usize = 4096;

/// How far ahead (in events of the current instant) the first stage hints.
pub const FAR: usize = 8;
/// How far ahead the second stage hints: `FAR - NEAR` events after the
/// first stage, so the lines it reads pointers from have landed.
pub const NEAR: usize = 4;

/// Hints the line holding `p` into every cache level. `p` may be any
/// address, dangling or unaligned: it is never dereferenced.
#[inline(always)]
pub fn line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is a safe intrinsic that needs SSE, which every
    // x86_64 CPU has (the x86_64 baseline the build targets): `unsafe` only
    // because a target-feature function is called from one without the
    // attribute. The instruction never dereferences `p` architecturally, so
    // any address is sound. The engine's one `unsafe`.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Hints every line `value` lies on (a struct that straddles lines gets
/// all of them).
#[inline(always)]
pub fn lines<T>(value: &T) {
    bytes(std::ptr::from_ref(value).cast(), std::mem::size_of::<T>());
}

/// Hints every line the `len` bytes at `start` lie on (none for none).
/// `start` may be any address: it is never dereferenced.
#[inline(always)]
pub fn bytes(start: *const u8, len: usize) {
    for offset in line_offsets(start as usize, len) {
        line(start.wrapping_add(offset));
    }
}

/// The offsets from `start` (an address) that land on each 64-byte line
/// `size` bytes from `start` touch, the first 0: what `lines` hints.
#[inline(always)]
fn line_offsets(start: usize, size: usize) -> impl Iterator<Item = usize> {
    let skew = start % 64;
    let span = if size == 0 { 0 } else { skew + size };
    (0..span).step_by(64).map(move |o| o.saturating_sub(skew))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lines` hints exactly the lines a value lies on: one for a value
    /// inside a line, two for one that straddles a boundary, none for a
    /// zero-sized one, and each offset within the value.
    #[test]
    fn every_line_a_value_lies_on_and_no_other() {
        let cases: [(usize, usize, &[usize]); 6] = [
            (0, 24, &[0]),
            (40, 24, &[0]),
            (56, 24, &[0, 8]),
            (128, 128, &[0, 64]),
            (130, 128, &[0, 62, 126]),
            (7, 0, &[]),
        ];
        for (start, size, expected) in cases {
            let offsets: Vec<usize> = line_offsets(start, size).collect();
            assert_eq!(offsets, expected, "{size} bytes at {start}");
            let lines: Vec<usize> = offsets.iter().map(|o| (start + o) / 64).collect();
            let first = start / 64;
            let last = (start + size.max(1) - 1) / 64;
            if size > 0 {
                assert_eq!(lines, (first..=last).collect::<Vec<_>>(), "{size} bytes at {start}");
            }
        }
    }

    /// Hinting any address, dangling or null, is harmless (no fault).
    #[test]
    fn a_hint_to_any_address_is_harmless() {
        line(std::ptr::null());
        line(usize::MAX as *const u8);
        let v: Vec<u64> = Vec::new();
        line(v.as_ptr().cast());
        lines(&[0u8; 200]);
    }
}
