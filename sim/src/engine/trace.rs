//! The run's fingerprint: a rolling hash of every processed event (time,
//! kind, endpoints, payload digest). Two runs are the same run iff their
//! trace hashes match.
//!
//! Payload digests feed the payload's `Hash` into our own FNV-1a hasher,
//! never `DefaultHasher` (whose algorithm is not promised to stay). Most of
//! a digest's words are the change vectors of DataShard commits and backup
//! batches, and those are an explicit encoding: the vector's length, then
//! per change its key and its packed word (`Change`'s `Hash`,
//! `model/src/data.rs`) — two words a change, the same on every platform
//! and compiler, where the derived `Hash` walked a change in eleven. The
//! small fields around them (ids, stamps, flags) still hash through
//! derived `Hash`, whose output is stable for a given compiler: a compiler
//! upgrade could move those and re-pin the golden hashes (determinism
//! across runs and `--jobs` never moves). `digest_is_pinned` pins the
//! encoding of a change vector.
//!
//! Each word goes through `write_u64`, a bijection of the state for a
//! given word (xor, multiply by an odd prime, xor-shift), so two word
//! streams of one length that differ in exactly one word never collide;
//! `different_change_vectors_digest_apart` checks random ones.

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use restoresim_model::data::{COLUMNS, Cell, Change};
    use restoresim_model::ids::Key;

    use super::*;
    use crate::engine::{Stream, Subsystem};

    fn random_change(rng: &mut Stream) -> Change {
        if rng.below(8) == 0 {
            return Change::Erase;
        }
        Change::Upsert {
            cells: std::array::from_fn(|_| match rng.below(5) {
                0 => Cell::Keep,
                1 => Cell::Set(None),
                // Small values, where neighbouring payloads differ by one;
                // and now and then one too wide to pack.
                2 | 3 => Cell::Set(Some(rng.below(4))),
                _ => Cell::Set(Some(if rng.below(20) == 0 { u64::MAX - rng.below(3) } else { rng.below(1 << 21) })),
            }),
        }
    }

    /// Random change vectors, many of them near each other (few keys,
    /// few values, lengths 0 to 24): two different vectors never share a
    /// digest, and every single-cell edit of a vector moves its digest.
    #[test]
    fn different_change_vectors_digest_apart() {
        let mut rng = Stream::new(11, Subsystem::Workload);
        let mut seen: BTreeMap<u64, Vec<(Key, Change)>> = BTreeMap::new();
        for _ in 0..200_000 {
            let len = rng.below(25);
            let v: Vec<(Key, Change)> = (0..len).map(|_| (rng.below(64), random_change(&mut rng))).collect();
            let d = digest(&v);
            if let Some(earlier) = seen.insert(d, v.clone()) {
                assert_eq!(earlier, v, "two vectors, one digest {d:016x}");
            }
        }
        assert!(seen.len() > 150_000, "mostly distinct vectors: {}", seen.len());
        let base: Vec<(Key, Change)> = (0..20).map(|k| (k, random_change(&mut rng))).collect();
        let cells = [Cell::Keep, Cell::Set(None), Cell::Set(Some(0)), Cell::Set(Some(1)), Cell::Set(Some(u64::MAX))];
        let mut edits = 0;
        for i in 0..base.len() {
            let mut variants = vec![Change::Erase];
            for col in 0..COLUMNS {
                for cell in cells {
                    let mut upsert = match base[i].1 {
                        Change::Upsert { cells } => cells,
                        Change::Erase => [Cell::Keep; COLUMNS],
                    };
                    upsert[col] = cell;
                    variants.push(Change::Upsert { cells: upsert });
                }
            }
            for change in variants.into_iter().filter(|c| *c != base[i].1) {
                let mut edited = base.clone();
                edited[i].1 = change;
                assert_ne!(digest(&edited), digest(&base), "change {i} edited to {change:?}");
                edits += 1;
            }
            let mut rekeyed = base.clone();
            rekeyed[i].0 += 100;
            assert_ne!(digest(&rekeyed), digest(&base), "key {i} moved");
        }
        assert!(edits > 200);
        assert_ne!(digest(&base[..19]), digest(&base), "a change dropped");
    }

    /// The explicit encoding of a change vector, pinned: its length, then
    /// per change the key and the packed word (a wide change: the marker,
    /// then each cell's tag and value). If this moves, every trace hash
    /// moved with it.
    #[test]
    fn digest_is_pinned() {
        let v: Vec<(Key, Change)> = vec![
            (3, Change::Erase),
            (5, Change::Upsert { cells: [Cell::Set(Some(7)), Cell::Keep, Cell::Set(None)] }),
            (9, Change::Upsert { cells: [Cell::Set(Some(u64::MAX)), Cell::Keep, Cell::Keep] }),
        ];
        let mut words = Fnv::default();
        for word in [3, 3, 1 << 63, 5, 9 | 1 << 42, 9, (1 << 63) | 1, 2, u64::MAX, 0, 0, 0, 0] {
            words.write_u64(word);
        }
        assert_eq!(digest(&v), words.finish(), "the encoding");
        assert_eq!(digest(&v), 0xab3e_789b_23a9_5b96, "the pinned digest");
    }
}
