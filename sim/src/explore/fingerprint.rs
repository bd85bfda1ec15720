//! The state fingerprint `explore` prunes by: a 128-bit FNV-1a digest of
//! everything a replay's future depends on — the engine's half (virtual
//! time, pending events with their payloads and relative times, tablets up
//! and their generations, pipes, the latency stream's position; see
//! `engine/fingerprint.rs`) and the system's half: every tablet's durable
//! database and volatile actor, the Client, the invariant checker's memory
//! and the durable-progress tracker (what later checks compare against),
//! listed in `RestoreSystem::write_state`.
//!
//! The system's half is the models' `Debug` rendering streamed into the
//! hasher (no string is built). `Debug` is derived on every model type, so
//! a field someone adds later is in the fingerprint without anyone
//! remembering to add it — the failure mode of a hand-written list is an
//! unsound prune, which no test would notice. Every collection in model
//! state is a `BTreeMap`, `Vec` or sorted set, so the rendering is
//! deterministic; the hasher is our own, never std's `RandomState`.

use std::fmt;
use std::hash::Hasher;

use crate::engine::Engine;
use crate::restore::RestoreSystem;

const FNV128_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV128_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// FNV-1a with a 128-bit state: stable across runs, machines and
/// compilers (for what it is fed), and wide enough that a collision among
/// the millions of states one exploration records is out of reach
/// (≈ n² / 2¹²⁹).
#[derive(Clone, Copy, Debug)]
pub struct Fnv128(u128);

impl Default for Fnv128 {
    fn default() -> Self {
        Fnv128(FNV128_OFFSET)
    }
}

impl Fnv128 {
    pub fn value(&self) -> u128 {
        self.0
    }
}

impl Hasher for Fnv128 {
    fn finish(&self) -> u64 {
        (self.0 >> 64) as u64 ^ self.0 as u64
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u128::from(*b)).wrapping_mul(FNV128_PRIME);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0 ^ u128::from(i)).wrapping_mul(FNV128_PRIME);
    }
}

/// Lets `write!` stream a `Debug` rendering straight into the hasher.
struct Feed<'a>(&'a mut Fnv128);

impl fmt::Write for Feed<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// The fingerprint of a run's whole state after its current event.
pub fn of(engine: &Engine<RestoreSystem>) -> u128 {
    let mut h = Fnv128::default();
    engine.fingerprint(&mut h);
    system(&engine.system, &mut h);
    h.value()
}

/// The system's half (`RestoreSystem::write_state` says what is in it and
/// what is left out, and why).
fn system(s: &RestoreSystem, h: &mut Fnv128) {
    s.write_state(&mut Feed(h)).expect("feeding a hasher cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv128_is_pinned() {
        // The published FNV-1a 128 value of "a", and one of ours: the
        // constants are the standard ones, and bytes go in one at a time.
        let mut h = Fnv128::default();
        h.write(b"a");
        assert_eq!(h.value(), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964_u128);
        let mut h = Fnv128::default();
        h.write(b"restoresim");
        assert_eq!(h.value(), 0x82c7_2352_e818_a35a_16fa_f353_05d9_d7f0_u128);
    }
}
