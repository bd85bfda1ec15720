//! A small ordered map as one sorted vector, for per-shard state that holds
//! a handful of entries: a DataShard's progress records and the scans it has
//! in flight.
//!
//! Why not a `BTreeMap`: the first insert into a `BTreeMap` allocates a whole
//! leaf node (eleven slots) however few entries follow — ~720 bytes for a
//! DataShard's two progress records, ~980 for one in-flight scan — and a
//! scale run holds one per DataShard, a million of them. A sorted vector
//! grown one slot at a time holds exactly its entries, and an empty one
//! allocates nothing. Lookups are a binary search; inserts shift the tail,
//! which is nothing at these sizes (a shard has at most one record per
//! operation and incremental). It iterates and prints in key order, as a
//! `BTreeMap` does, so `explore`'s fingerprint (the models' `Debug`) reads
//! the same either way.

use std::borrow::Borrow;
use std::ops::{Bound, RangeBounds};

/// Entries sorted by key, keys unique.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap { entries: Vec::new() }
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `entries` entries: for a holder that
    /// knows how many it will insert, so it never reallocates.
    pub fn with_capacity(entries: usize) -> Self {
        SortedMap { entries: Vec::with_capacity(entries) }
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Sets `key`'s value; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                // One slot at a time: these maps stay small, and the point
                // of this type is to hold no spare capacity.
                self.entries.reserve_exact(1);
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// `key`'s value, inserted from `make` if absent.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.reserve_exact(1);
                self.entries.insert(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Removes `key`; an emptied map gives its memory back.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        let (_, value) = self.entries.remove(i);
        if self.entries.is_empty() {
            self.entries = Vec::new();
        }
        Some(value)
    }

    /// The entries' buffer, not read (the engine's prefetch pipeline
    /// hints it; see `crate::prefetch`): the first entry's place, whether
    /// or not it holds one yet.
    #[inline]
    pub(crate) fn addr(&self) -> *const u8 {
        self.entries.as_ptr().cast()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Entries with keys in `range`, in key order (empty, never a panic,
    /// for an empty or inverted range).
    pub fn range<R: RangeBounds<K>>(&self, range: R) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        let from = match range.start_bound() {
            Bound::Included(s) => self.entries.partition_point(|(k, _)| k < s),
            Bound::Excluded(s) => self.entries.partition_point(|(k, _)| k <= s),
            Bound::Unbounded => 0,
        };
        let to = match range.end_bound() {
            Bound::Included(e) => self.entries.partition_point(|(k, _)| k <= e),
            Bound::Excluded(e) => self.entries.partition_point(|(k, _)| k < e),
            Bound::Unbounded => self.entries.len(),
        };
        self.entries[from..to.max(from)].iter().map(|(k, v)| (k, v))
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    /// For a repeated key the last value wins, as in a `BTreeMap`.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = SortedMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for SortedMap<K, V> {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for SortedMap<K, V> {
    /// As a `BTreeMap` prints: `{k: v, ...}` in key order.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.entries.iter().map(|(k, v)| (k, v))).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The map against a `BTreeMap` under inserts, replacements, removals
    /// and every range shape: same answers, same order, same `Debug`.
    #[test]
    fn answers_as_a_btreemap_does() {
        let mut ours = SortedMap::new();
        let mut plain = BTreeMap::new();
        for step in 0u32..300 {
            let key = (step * 7) % 23;
            match step % 4 {
                3 => assert_eq!(ours.remove(&key), plain.remove(&key), "remove {key}"),
                2 => *ours.get_or_insert_with(key, || 0) += step,
                _ => assert_eq!(ours.insert(key, step), plain.insert(key, step), "insert {key}"),
            }
            if step % 4 == 2 {
                *plain.entry(key).or_insert(0) += step;
            }
            assert_eq!(format!("{ours:?}"), format!("{plain:?}"));
            assert_eq!(ours.len(), plain.len());
            for k in 0..25 {
                assert_eq!(ours.get(&k), plain.get(&k));
            }
            for (lo, hi) in [(0, 30), (5, 5), (3, 17), (17, 3), (22, 22)] {
                if lo <= hi {
                    assert!(ours.range(lo..hi).eq(plain.range(lo..hi)));
                    assert!(ours.range(lo..=hi).eq(plain.range(lo..=hi)));
                } else {
                    assert_eq!(ours.range(lo..hi).count(), 0, "an inverted range is empty");
                }
            }
        }
        let collected: SortedMap<u32, u32> = [(3, 1), (1, 2), (3, 9)].into_iter().collect();
        assert_eq!(collected.iter().collect::<Vec<_>>(), vec![(&1, &2), (&3, &9)], "the last value wins");
    }

    /// No spare capacity: one slot per entry, and nothing once emptied.
    #[test]
    fn holds_exactly_its_entries() {
        let mut map = SortedMap::new();
        map.insert(2u64, 0u64);
        map.insert(1, 0);
        assert_eq!(map.entries.capacity(), 2);
        map.remove(&1);
        map.remove(&2);
        assert_eq!(map.entries.capacity(), 0);
    }
}
