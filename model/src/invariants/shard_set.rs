//! A set of shards as a bitset by global shard index, and its size.
//!
//! Why: invariant 9 keeps, per operation, the shards with a request
//! outstanding. At a million shards a `BTreeSet<ShardIdx>` of them was a
//! tree of up to a million entries, searched twice per shard and stage (the
//! request's insert, the answer's remove) in the random order answers
//! arrive: the remove alone grew ×22 from 100,000 to 1,000,000 shards (cache
//! misses down a deep tree). Shard indexes are dense (`0..shards` of the
//! topology), so a bit a shard is 125 KB at a million shards, and an insert
//! or a remove touches one word.

use crate::ids::ShardIdx;

#[derive(Clone, Default)]
pub(super) struct ShardSet {
    /// Bit `i % 64` of word `i / 64` says shard `i` is in; grown to the
    /// highest shard inserted, so a set over a handful of shards is a word.
    words: Vec<u64>,
    len: usize,
}

impl ShardSet {
    /// Adds `shard`; true if it was not in the set.
    pub(super) fn insert(&mut self, shard: ShardIdx) -> bool {
        let (word, bit) = Self::at(shard);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let fresh = self.words[word] & bit == 0;
        self.words[word] |= bit;
        self.len += usize::from(fresh);
        fresh
    }

    /// Takes `shard` out; true if it was in the set.
    pub(super) fn remove(&mut self, shard: ShardIdx) -> bool {
        let (word, bit) = Self::at(shard);
        let Some(w) = self.words.get_mut(word) else { return false };
        let was = *w & bit != 0;
        *w &= !bit;
        self.len -= usize::from(was);
        was
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The shards in the set, ascending (as a `BTreeSet` iterates).
    pub(super) fn iter(&self) -> impl Iterator<Item = ShardIdx> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros();
                    rest &= rest - 1;
                    ShardIdx(w as u32 * 64 + bit)
                })
            })
        })
    }

    fn at(shard: ShardIdx) -> (usize, u64) {
        (shard.0 as usize / 64, 1 << (shard.0 % 64))
    }
}

/// As the `BTreeSet` printed (`{ShardIdx(0), ShardIdx(7)}`): `explore`'s
/// state fingerprint reads the checker's `Debug`, so the same members
/// must print the same text however far the words were once grown.
impl std::fmt::Debug for ShardSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The bitset answers as the `BTreeSet` it replaced, step for step:
    /// what insert and remove return, the size, and the ascending order,
    /// across word boundaries and for shards never inserted.
    #[test]
    fn a_shard_set_answers_as_a_btree_set() {
        let mut set = ShardSet::default();
        let mut tree = BTreeSet::new();
        let mut x = 12_345u64;
        for _ in 0..5_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let shard = ShardIdx((x >> 40) as u32 % 300);
            if x >> 63 == 0 {
                assert_eq!(set.insert(shard), tree.insert(shard));
            } else {
                assert_eq!(set.remove(shard), tree.remove(&shard));
            }
            assert_eq!(set.len(), tree.len());
        }
        assert!(!set.remove(ShardIdx(1_000_000)), "a shard past every word is not in the set");
        assert_eq!(set.iter().collect::<Vec<_>>(), tree.iter().copied().collect::<Vec<_>>());
        assert!(set.len() > 10, "the walk left a non-trivial set to compare");
        assert_eq!(format!("{set:?}"), format!("{tree:?}"), "prints as the tree did (explore's fingerprint)");
        let mut grown = ShardSet::default();
        grown.insert(ShardIdx(3));
        grown.insert(ShardIdx(900));
        grown.remove(ShardIdx(900));
        assert_eq!(format!("{grown:?}"), "{ShardIdx(3)}", "words once grown print nothing");
    }
}
