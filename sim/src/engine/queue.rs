//! The event queue: keyed by `(time, seq)`. `seq` is a global counter, so
//! events at one instant run in the order they were scheduled, on every
//! machine. The key is unique, so any correct priority queue pops the same
//! order: the layout below is free to change without moving a trace hash.
//!
//! Tie permutation (`push_tied`): the key becomes `(time, tiebreak, seq)`,
//! the engine drawing `tiebreak` from its ties stream, so events due at one
//! instant run in a seeded order. Packed as `rank = tiebreak << 40 | seq`
//! in the same 64 bits, and with every tiebreak 0 (`push`) the order is
//! exactly `(time, seq)`.
//!
//! Layout, for speed (docs/design.md §10: the engine within 2x of a bare
//! `BinaryHeap`): a *radix heap*. Virtual time never goes back: nothing is
//! scheduled before the last event popped (`last`), so a key can be filed
//! by the highest base-64 digit in which its time differs from `last`, and
//! its value there: one bucket per (digit, value), every key of a lower
//! bucket earlier than every key of a higher one. A push is a bucket
//! append, no sift; a pop takes the next key due at `last` or, when none
//! is left, moves `last` to the earliest time of the lowest non-empty
//! bucket and refiles that bucket's keys into lower ones. A key is refiled
//! at most once per digit, in practice once or twice (a latency under 4 ms
//! spans two digits), so a push and a pop cost a few dozen instructions
//! instead of a heap's walk over `log n` levels with a compare at each
//! (~250 instructions a pop at a thousand pending events).
//!
//! Keys due at `last` itself run in `rank` order: sorted once when `last`
//! is reached (ties are few), and one pushed at `last` afterwards (a zero
//! delay) goes to a small heap beside them, so `(time, rank)` stays the
//! exact order. Keys carry a slot; payloads stay put in a slab, so a
//! refile moves 24 bytes, however large a model's messages are.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::Micros;

/// One queued key: the event's order, and where its payload lives.
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
    /// `(time, rank)` as one integer, the queue's order.
    #[inline(always)]
    fn order(&self) -> u128 {
        u128::from(self.time) << 64 | u128::from(self.rank)
    }
}

/// Times are filed by base-64 digits: `DIGIT_BITS` bits a digit, so a key
/// is refiled at most once per digit (twice for a latency under 4 ms) on
/// its way to being due.
const DIGIT_BITS: u32 = 6;
const DIGITS: usize = 64usize.div_ceil(DIGIT_BITS as usize);
const VALUES: usize = 1 << DIGIT_BITS;

/// A bucket keeps at most this many keys' capacity once refiled (a scale
/// run's million timers pass through a bucket once, and need not stay
/// allocated there).
const BUCKET_KEPT: usize = 512;

pub struct EventQueue<E> {
    /// The time of the last pop (0 before the first): no key is earlier.
    last: Micros,
    /// The keys due at `last` when it was reached, sorted latest rank
    /// first, so the next is at the end.
    due: Vec<Key>,
    /// Keys pushed due at `last` after it was reached (a zero delay): rare,
    /// kept apart so `due` never needs an insert in the middle.
    due_late: BinaryHeap<Reverse<(u64, u32)>>,
    /// `buckets[d * VALUES + v]`: the keys later than `last` whose highest
    /// digit differing from `last`'s is digit `d`, with value `v` there;
    /// in no order. Every key of a lower bucket is earlier than every key
    /// of a higher one.
    buckets: Vec<Vec<Key>>,
    /// Bit `d` set iff some bucket of digit `d` is not empty.
    digits_occupied: u32,
    /// Per digit, bit `v` set iff `buckets[d * VALUES + v]` is not empty.
    occupied: [u64; DIGITS],
    slots: Vec<Option<E>>,
    /// Slots free for reuse, so the slab stays as large as the peak queue.
    free: Vec<u32>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            last: 0,
            due: Vec::new(),
            due_late: BinaryHeap::new(),
            buckets: std::iter::repeat_with(Vec::new).take(DIGITS * VALUES).collect(),
            digits_occupied: 0,
            occupied: [0; DIGITS],
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
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
        // The engine schedules at `now` or later: keys are filed relative
        // to the last pop, and an earlier one would be lost among them.
        assert!(time >= self.last, "an event is scheduled at {time} µs, before the last one run at {} µs", self.last);
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
        let key = Key { time, rank, slot };
        if time == self.last {
            self.due_late.push(Reverse((rank, slot)));
        } else {
            self.file(key);
        }
    }

    /// Puts `key`, later than `last`, in its bucket.
    #[inline(always)]
    fn file(&mut self, key: Key) {
        let differ = key.time ^ self.last;
        debug_assert!(differ != 0);
        let digit = (63 - differ.leading_zeros()) / DIGIT_BITS;
        let value = (key.time >> (digit * DIGIT_BITS)) as usize % VALUES;
        self.buckets[digit as usize * VALUES + value].push(key);
        self.digits_occupied |= 1 << digit;
        self.occupied[digit as usize] |= 1 << value;
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(Micros, E)> {
        if self.due.is_empty() && self.due_late.is_empty() {
            if self.digits_occupied == 0 {
                return None;
            }
            self.advance();
        }
        let late_first = match (self.due.last(), self.due_late.peek()) {
            (Some(due), Some(Reverse((late, _)))) => *late < due.rank,
            (due, _) => due.is_none(),
        };
        let slot = if late_first {
            self.due_late.pop().expect("a late key is due").0.1
        } else {
            self.due.pop().expect("a key is due").slot
        };
        let event = self.slots[slot as usize].take().expect("every key has its event");
        self.free.push(slot);
        Some((self.last, event))
    }

    /// Nothing is due at `last`: moves `last` to the earliest time pending
    /// (in the lowest non-empty bucket) and makes that bucket's keys due
    /// or refiles them against it. They all share `last`'s digits above
    /// the bucket's and their value there, so each lands in a lower digit's
    /// bucket, or is due.
    #[inline(never)]
    fn advance(&mut self) {
        debug_assert!(self.due.is_empty() && self.due_late.is_empty());
        let digit = self.digits_occupied.trailing_zeros() as usize;
        let value = self.occupied[digit].trailing_zeros() as usize;
        self.occupied[digit] &= !(1 << value);
        if self.occupied[digit] == 0 {
            self.digits_occupied &= !(1 << digit);
        }
        let bucket = &mut self.buckets[digit * VALUES + value];
        if digit == 0 {
            // A bucket of the lowest digit holds one time: it is the due
            // list as it stands (the empty one takes its place).
            std::mem::swap(&mut self.due, bucket);
            self.last = self.due[0].time;
        } else {
            let mut keys = std::mem::take(bucket);
            self.last = keys.iter().map(|k| k.time).min().expect("an occupied bucket has keys");
            for key in keys.drain(..) {
                if key.time == self.last {
                    self.due.push(key);
                } else {
                    self.file(key);
                }
            }
            if keys.capacity() > BUCKET_KEPT {
                keys.shrink_to(BUCKET_KEPT);
            }
            self.buckets[digit * VALUES + value] = keys;
        }
        if self.due.len() > 1 {
            self.due.sort_unstable_by_key(|k| Reverse(k.rank));
        }
    }

    pub fn peek_time(&self) -> Option<Micros> {
        if !self.due.is_empty() || !self.due_late.is_empty() {
            return Some(self.last);
        }
        let digit = self.digits_occupied.trailing_zeros() as usize;
        let value = self.occupied.get(digit)?.trailing_zeros() as usize;
        self.buckets[digit * VALUES + value].iter().map(|k| k.time).min()
    }

    /// Every pending event in the order it will run: a read-only view for
    /// liveness diagnosis and `explore`'s state fingerprint (the order of
    /// ties matters, their `seq` numbers do not). A sort per call, never on
    /// the hot path.
    pub fn pending(&self) -> Vec<(Micros, &E)> {
        let late = self.due_late.iter().map(|&Reverse((rank, slot))| Key { time: self.last, rank, slot });
        let due = self.due.iter().copied().chain(late);
        let mut keys: Vec<Key> = due.chain(self.buckets.iter().flatten().copied()).collect();
        keys.sort_unstable_by_key(Key::order);
        keys.iter().map(|k| (k.time, self.slots[k.slot as usize].as_ref().expect("every key has its event"))).collect()
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

    /// An event may be scheduled at the instant just run, or any later,
    /// but never before it: the queue files keys relative to the last pop.
    #[test]
    #[should_panic(expected = "before the last one run")]
    fn scheduling_into_the_past_is_refused() {
        let mut q = EventQueue::default();
        q.push(10, "a");
        q.pop();
        q.push(10, "now");
        q.push(9, "past");
    }

    /// A time's offset from the last pop: mostly small (a latency), some
    /// ties, some far (a crash's down time, a deadline), so keys spread
    /// over many buckets and refile several times.
    fn offset() -> impl Strategy<Value = u64> {
        prop_oneof![4 => 0u64..4, 8 => 0u64..1_000, 2 => 0u64..1 << 40, 1 => Just(u64::MAX >> 1)]
    }

    proptest! {
        /// With tiebreaks, the order is exactly a reference heap's on
        /// `(time, tiebreak, seq)`: permuted ties, still one order per seed.
        #[test]
        fn tied_order_is_time_then_tiebreak_then_seq(ops in prop::collection::vec((offset(), 0u64..4, 0u8..3), 0..400)) {
            let mut q = EventQueue::default();
            let mut reference = BinaryHeap::new();
            let (mut seq, mut now) = (0u64, 0u64);
            for (after, tiebreak, op) in ops {
                if op == 0 {
                    let popped = q.pop();
                    prop_assert_eq!(popped, reference.pop().map(|Reverse((t, _, s))| (t, s)));
                    now = popped.map_or(now, |(t, _)| t);
                } else {
                    seq += 1;
                    let time = now.saturating_add(after);
                    q.push_tied(time, tiebreak, seq);
                    reference.push(Reverse((time, tiebreak, seq)));
                }
            }
            while let Some(Reverse((t, _, s))) = reference.pop() {
                prop_assert_eq!(q.pop(), Some((t, s)));
            }
            prop_assert_eq!(q.pop(), None);
        }

        /// Any interleaving of pushes (at the last popped time or later, as
        /// the engine schedules) and pops gives exactly the order of a
        /// reference `BinaryHeap` on `(time, seq)`: the order trace hashes
        /// were pinned with; `pending` lists it too.
        #[test]
        fn same_order_as_a_binary_heap_on_time_and_seq(ops in prop::collection::vec((offset(), 0u8..3), 0..400)) {
            let mut q = EventQueue::default();
            let mut reference = BinaryHeap::new();
            let (mut seq, mut now) = (0u64, 0u64);
            for (after, op) in ops {
                if op == 0 {
                    let popped = q.pop();
                    prop_assert_eq!(popped, reference.pop().map(|Reverse((t, s))| (t, s)));
                    now = popped.map_or(now, |(t, _)| t);
                } else {
                    seq += 1;
                    let time = now.saturating_add(after);
                    q.push(time, seq);
                    reference.push(Reverse((time, seq)));
                }
                prop_assert_eq!(q.peek_time(), reference.peek().map(|Reverse((t, _))| *t));
            }
            let listed: Vec<_> = q.pending().into_iter().map(|(t, s)| (t, *s)).collect();
            let mut expected: Vec<_> = reference.iter().map(|Reverse(k)| *k).collect();
            expected.sort_unstable();
            prop_assert_eq!(listed, expected);
            while let Some(Reverse((t, s))) = reference.pop() {
                prop_assert_eq!(q.pop(), Some((t, s)));
            }
            prop_assert_eq!(q.pop(), None);
        }
    }
}
