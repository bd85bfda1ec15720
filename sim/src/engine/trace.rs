//! The run's fingerprint: a rolling hash of every processed event (time,
//! kind, endpoints, payload digest). Two runs are the same run iff their
//! trace hashes match.
//!
//! Payload digests use the payloads' derived `Hash` fed into our own FNV-1a
//! hasher, never `DefaultHasher` (whose algorithm is not promised to stay).
//! Derived `Hash` output is stable for a given compiler; golden hashes are
//! pinned with the toolchain in `rust-toolchain`-free CI, so a compiler
//! upgrade may re-pin them (determinism across runs and `--jobs` never moves).

use std::hash::{Hash, Hasher};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over bytes, with word-at-a-time shortcuts for integers.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(FNV_OFFSET)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(FNV_PRIME);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0 ^ i).wrapping_mul(FNV_PRIME);
        self.0 ^= self.0 >> 29;
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as u64);
    }
}

/// Digest of any hashable payload.
pub fn digest<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = Fnv::default();
    value.hash(&mut h);
    h.finish()
}

/// The rolling trace hash.
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceHash(Fnv);

impl TraceHash {
    pub fn record(&mut self, time: u64, kind: u8, node: u32, peer: u32, payload: u64) {
        let h = &mut self.0;
        h.write_u64(time);
        h.write_u64(u64::from(kind) << 32 | u64::from(node));
        h.write_u64(u64::from(peer));
        h.write_u64(payload);
    }

    pub fn value(&self) -> u64 {
        self.0.finish()
    }
}
