//! `ShardRange<T>`: a value per shard of one table, in a dense vector over
//! the shards written so far.
//!
//! Why: an operation's per-shard state (SchemeShard's progress rows, its
//! per-shard timers) was a map entry per `(operation, shard)`, ~60–100
//! bytes a shard and a tree search per answer. A table's shards are one
//! contiguous range of `ShardIdx`, so slot `i` is shard `first + i`: a
//! few bytes a shard and an index. The range grows to cover every shard
//! written, below or above, so it depends only on which shards were
//! written, never on the order (two equal histories compare equal).

use crate::ids::ShardIdx;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardRange<T> {
    first: u32,
    slots: Vec<T>,
}

impl<T: Clone + Default> ShardRange<T> {
    pub fn get(&self, shard: ShardIdx) -> Option<&T> {
        self.slots.get(shard.0.checked_sub(self.first)? as usize)
    }

    pub fn get_mut(&mut self, shard: ShardIdx) -> Option<&mut T> {
        self.slots.get_mut(shard.0.checked_sub(self.first)? as usize)
    }

    /// `shard`'s slot, the range grown (with `T::default()`) to hold it.
    pub fn entry(&mut self, shard: ShardIdx) -> &mut T {
        if self.slots.is_empty() {
            self.first = shard.0;
        } else if shard.0 < self.first {
            // A table's shards are one range, so this happens at most as
            // often as a write lands below every earlier one.
            let grow = (self.first - shard.0) as usize;
            self.slots.splice(0..0, std::iter::repeat_n(T::default(), grow));
            self.first = shard.0;
        }
        let pos = (shard.0 - self.first) as usize;
        if pos >= self.slots.len() {
            self.slots.resize(pos + 1, T::default());
        }
        &mut self.slots[pos]
    }

    /// `shard`'s slot, not read (the engine's prefetch pipeline hints it;
    /// see `crate::prefetch`): null outside the range written so far.
    #[inline]
    pub(crate) fn addr(&self, shard: ShardIdx) -> *const T {
        match shard.0.checked_sub(self.first).map(|pos| pos as usize).filter(|pos| *pos < self.slots.len()) {
            Some(pos) => self.slots.as_ptr().wrapping_add(pos),
            None => std::ptr::null(),
        }
    }

    pub fn clear(&mut self) {
        self.slots.clear();
    }

    /// Every slot of the range, in shard order.
    pub fn iter(&self) -> impl Iterator<Item = (ShardIdx, &T)> {
        let first = self.first;
        self.slots.iter().enumerate().map(move |(i, slot)| (ShardIdx(first + i as u32), slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written in any order (below, inside and above the range so far, and
    /// over an earlier value), slots read back in shard order, with the
    /// newest value, and the range is the written shards' span.
    #[test]
    fn slots_read_back_in_shard_order_whatever_the_write_order() {
        let mut range = ShardRange::<Option<u32>>::default();
        for (shard, value) in [(7, 1), (9, 2), (4, 3), (7, 4), (12, 5)] {
            *range.entry(ShardIdx(shard)) = Some(value);
        }
        let read: Vec<(u32, u32)> = range.iter().filter_map(|(s, v)| Some((s.0, (*v)?))).collect();
        assert_eq!(read, [(4, 3), (7, 4), (9, 2), (12, 5)]);
        assert_eq!(range.iter().next().map(|(s, _)| s), Some(ShardIdx(4)));
        assert_eq!(range.iter().last().map(|(s, _)| s), Some(ShardIdx(12)));
        assert_eq!(range.get(ShardIdx(3)), None, "below the range");
        assert_eq!(range.get(ShardIdx(5)), Some(&None), "inside, never written");
        assert_eq!(range.get(ShardIdx(13)), None, "above the range");
        range.clear();
        assert_eq!(range.iter().count(), 0);
    }
}
