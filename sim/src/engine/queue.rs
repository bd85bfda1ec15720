//! The event queue: a min-heap keyed by `(time, seq)`. `seq` is a global
//! counter, so events at one instant run in the order they were scheduled,
//! on every machine. The key is unique, so any correct heap pops the same
//! order: the layout below is free to change without moving a trace hash.
//!
//! Tie permutation (`push_tied`): the key becomes `(time, tiebreak, seq)`,
//! the engine drawing `tiebreak` from its ties stream, so events due at one
//! instant run in a seeded order. Packed as `rank = tiebreak << 40 | seq`
//! in the same 64 bits: the key stays 24 bytes and one integer compare, and
//! with every tiebreak 0 (`push`) the order is exactly `(time, seq)`.
//!
//! Layout, for speed (docs/design.md §10: the engine within 2x of a bare
//! `BinaryHeap`): a 4-ary heap of 24-byte keys, the events in a slab beside
//! it. Four children per node halve the heap's depth, and the four sit in
//! one or two cache lines, so a pop does about half the dependent loads of a
//! binary heap's; sifting moves keys, never payloads, however large a
//! model's messages are.

use super::Micros;

/// One heap entry: the event's order, and where its payload lives.
#[derive(Clone, Copy, Debug)]
struct Key {
    time: Micros,
    /// `tiebreak << SEQ_BITS | seq`; just `seq` when ties are not permuted.
    rank: u64,
    slot: u32,
}

/// `seq` fits below the tiebreak: 2^40 pushes is a thousand times the
/// largest `max_events` a scenario may ask for.
const SEQ_BITS: u32 = 40;
/// A tiebreak is `TIEBREAK_BITS` wide: ties between two events drawing the
/// same one fall back to `seq` (one in 16 M pairs).
pub const TIEBREAK_BITS: u32 = 64 - SEQ_BITS;

impl Key {
    /// `(time, rank)` as one integer: one compare, no branch (a tuple
    /// compare branches on `time` first, and mispredicts at equal times).
    #[inline(always)]
    fn order(&self) -> u128 {
        u128::from(self.time) << 64 | u128::from(self.rank)
    }

    /// Strictly earlier. `seq` is unique, so `slot` never decides.
    #[inline(always)]
    fn before(&self, other: &Key) -> bool {
        self.order() < other.order()
    }
}

const ARITY: usize = 4;

pub struct EventQueue<E> {
    heap: Vec<Key>,
    slots: Vec<Option<E>>,
    /// Slots free for reuse, so the slab stays as large as the peak queue.
    free: Vec<u32>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: Vec::new(), slots: Vec::new(), free: Vec::new(), seq: 0 }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `time`, after every event already due then.
    #[inline(always)]
    pub fn push(&mut self, time: Micros, event: E) {
        self.seq += 1;
        let seq = self.seq;
        self.insert(time, seq, event);
    }

    /// Schedules `event` at `time`, ordered among the events due then by
    /// `tiebreak` (below `2^TIEBREAK_BITS`), then by scheduling order.
    #[inline]
    pub fn push_tied(&mut self, time: Micros, tiebreak: u64, event: E) {
        self.seq += 1;
        assert!(self.seq < 1 << SEQ_BITS, "fewer than 2^40 events are scheduled in a run");
        debug_assert!(tiebreak < 1 << TIEBREAK_BITS);
        let rank = tiebreak << SEQ_BITS | self.seq;
        self.insert(time, rank, event);
    }

    #[inline(always)]
    fn insert(&mut self, time: Micros, rank: u64, event: E) {
        let slot = match self.free.pop() {
            Some(slot) => {
                debug_assert!(self.slots[slot as usize].is_none());
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 pending events")
            }
        };
        self.sift_up(Key { time, rank, slot });
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(Micros, E)> {
        let last = self.heap.pop()?;
        let top = match self.heap.first().copied() {
            Some(top) => {
                self.sift_down(last);
                top
            }
            None => last,
        };
        let event = self.slots[top.slot as usize].take().expect("every key has its event");
        self.free.push(top.slot);
        Some((top.time, event))
    }

    pub fn peek_time(&self) -> Option<Micros> {
        self.heap.first().map(|key| key.time)
    }

    /// Every pending event in the order it will run: a read-only view for
    /// liveness diagnosis and `explore`'s state fingerprint (the order of
    /// ties matters, their `seq` numbers do not). A sort per call, never on
    /// the hot path.
    pub fn pending(&self) -> Vec<(Micros, &E)> {
        let mut keys = self.heap.clone();
        keys.sort_unstable_by_key(Key::order);
        keys.iter().map(|k| (k.time, self.slots[k.slot as usize].as_ref().expect("every key has its event"))).collect()
    }

    /// Places `key` at the end and moves it up past every later parent
    /// (the parents move down into the hole, so each level costs one move).
    /// Inlined into every push: most pushes land at the latest time
    /// pending (now + a latency) and stop after one compare, so a call
    /// would cost more than the sift.
    #[inline(always)]
    fn sift_up(&mut self, key: Key) {
        let mut pos = self.heap.len();
        self.heap.push(key);
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            let above = self.heap[parent];
            if !key.before(&above) {
                break;
            }
            self.heap[pos] = above;
            pos = parent;
        }
        self.heap[pos] = key;
    }

    /// Fills the root's hole with `key` (the former last entry), bottom-up
    /// (as std's `BinaryHeap::pop`): the earliest child moves up into the
    /// hole level by level down to a leaf, with no compare against `key`,
    /// then `key` rises from that leaf. The former last entry almost always
    /// belongs near the bottom, so the rise is short; and the walk down has
    /// no branch on `key` to mispredict. The order is the same: the key is
    /// unique, so any correct heap pops the same sequence.
    #[inline]
    fn sift_down(&mut self, key: Key) {
        let heap = &mut self.heap[..];
        let len = heap.len();
        let mut pos = 0;
        loop {
            let first = ARITY * pos + 1;
            if first >= len {
                break;
            }
            let best = if first + ARITY <= len {
                // A full family: a branch-free tournament (which child is
                // earliest is a coin toss the predictor cannot learn).
                let earlier = |a: usize, b: usize| if heap[b].before(&heap[a]) { b } else { a };
                earlier(earlier(first, first + 1), earlier(first + 2, first + 3))
            } else {
                let mut best = first;
                for child in first + 1..len {
                    if heap[child].before(&heap[best]) {
                        best = child;
                    }
                }
                best
            };
            heap[pos] = heap[best];
            pos = best;
        }
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            let above = heap[parent];
            if !key.before(&above) {
                break;
            }
            heap[pos] = above;
            pos = parent;
        }
        heap[pos] = key;
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn earliest_first_and_ties_in_schedule_order() {
        let mut q = EventQueue::default();
        q.push(5, "c");
        q.push(1, "a");
        q.push(5, "d");
        q.push(1, "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn tied_events_follow_their_tiebreak_then_schedule_order() {
        let mut q = EventQueue::default();
        q.push_tied(5, 9, "c2");
        q.push_tied(1, 3, "a");
        q.push_tied(5, 2, "b");
        q.push_tied(5, 9, "c3");
        q.push_tied(7, 0, "d");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, vec!["a", "b", "c2", "c3", "d"]);
    }

    #[test]
    fn pending_lists_what_pop_would_return_in_the_same_order() {
        let mut q = EventQueue::default();
        for (time, e) in [(5, "c"), (1, "a"), (5, "d"), (1, "b"), (3, "x")] {
            q.push(time, e);
        }
        q.pop();
        let listed: Vec<_> = q.pending().into_iter().map(|(t, e)| (t, *e)).collect();
        let popped: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(listed, popped);
        assert_eq!(listed, vec![(1, "b"), (3, "x"), (5, "c"), (5, "d")]);
    }

    proptest! {
        /// With tiebreaks, the order is exactly a reference heap's on
        /// `(time, tiebreak, seq)`: permuted ties, still one order per seed.
        #[test]
        fn tied_order_is_time_then_tiebreak_then_seq(ops in prop::collection::vec((0u64..20, 0u64..4, 0u8..3), 0..400)) {
            let mut q = EventQueue::default();
            let mut reference = BinaryHeap::new();
            let mut seq = 0u64;
            for (time, tiebreak, op) in ops {
                if op == 0 {
                    prop_assert_eq!(q.pop(), reference.pop().map(|Reverse((t, _, s))| (t, s)));
                } else {
                    seq += 1;
                    q.push_tied(time, tiebreak, seq);
                    reference.push(Reverse((time, tiebreak, seq)));
                }
            }
            while let Some(Reverse((t, _, s))) = reference.pop() {
                prop_assert_eq!(q.pop(), Some((t, s)));
            }
            prop_assert_eq!(q.pop(), None);
        }

        /// Any interleaving of pushes and pops gives exactly the order of a
        /// reference `BinaryHeap` on `(time, seq)`: the order trace hashes
        /// were pinned with.
        #[test]
        fn same_order_as_a_binary_heap_on_time_and_seq(ops in prop::collection::vec((0u64..50, 0u8..3), 0..400)) {
            let mut q = EventQueue::default();
            let mut reference = BinaryHeap::new();
            let mut seq = 0u64;
            for (time, op) in ops {
                if op == 0 {
                    prop_assert_eq!(q.pop(), reference.pop().map(|Reverse((t, s))| (t, s)));
                } else {
                    seq += 1;
                    q.push(time, seq);
                    reference.push(Reverse((time, seq)));
                }
                prop_assert_eq!(q.peek_time(), reference.peek().map(|Reverse((t, _))| *t));
            }
            while let Some(Reverse((t, s))) = reference.pop() {
                prop_assert_eq!(q.pop(), Some((t, s)));
            }
            prop_assert_eq!(q.pop(), None);
        }
    }
}
