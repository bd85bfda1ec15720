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
//! by the highest digit in which its time differs from `last`, and its
//! value there: one bucket per (digit, value), every key of a lower bucket
//! earlier than every key of a higher one. The lowest digit is 10 bits
//! wide (1,024 buckets of one microsecond each), the others 6 bits. A push
//! is a bucket append, no sift; a pop takes the next key due at `last` or,
//! when none is left, moves `last` to the earliest time of the lowest
//! non-empty bucket and refiles that bucket's keys into lower ones. A key
//! is refiled at most once per digit: a latency under a millisecond is
//! filed straight into its final bucket at least as often as it is refiled
//! once, so a push and a pop cost a few dozen instructions instead of a
//! heap's walk over `log n` levels with a compare at each (~250
//! instructions a pop at a thousand pending events).
//!
//! Keys due at `last` itself run in `rank` order: sorted once when `last`
//! is reached (ties are few, and mostly filed in rank order already, so
//! the sort only checks), and one pushed at `last` afterwards (a zero
//! delay) is placed among them by rank: at the back unless ties are
//! permuted. So `(time, rank)` stays the exact order.
//!
//! Where keys live. Keys pushed into a bucket of digit 0 go on a list
//! threaded through one slab of slots, each slot a key with its event
//! inline, the index of the next slot of its list apart in `links`; a
//! freed slot goes on a stack of free slots and is the next one a push
//! takes. So the memory a small run touches is about as large as what is
//! pending, reused hottest first, whatever the times: 1,024 buckets of
//! their own allocations (an earlier layout) were touched in turn as time
//! went round the lowest digit, and missed the L1 cache on about every
//! push. The common pop takes a key straight out of its slot when it is
//! alone in the lowest bucket of digit 0 (one event at that instant: times
//! are mostly distinct); the keys of a busier instant move to the due list
//! first.
//!
//! A key in a bucket of a higher digit is a `(time, rank, slot)` in a
//! vector of its bucket's, contiguous, the event staying in its slot; each
//! such bucket also keeps its earliest time, updated as keys are filed. A
//! refile then streams through one vector and appends to others, where
//! lists through the slab had it walk a high bucket twice (once for the
//! earliest time, once to refile) and then each list of digit 0 once more,
//! at a cache miss a slot and a link: a scale run refiles a million keys
//! at a time over a slab of two million slots reused in free-stack order.
//! A large refile (its keys' slots past `REFILE_LISTED_BYTES`) files those
//! bound for digit 0 in vectors of those buckets too, touching no slot;
//! only making a key due reads its slot (its event), and those reads are
//! independent, not a chase down a list. A small refile links them on the
//! lists, as a push does: its slots are in cache, and a lone key on a list
//! is the common pop. So a bucket of digit 0 may hold keys of both kinds,
//! one time, each part in filing order: the two are merged by rank when
//! it becomes due.
//!
//! The slab keeps the run's high-water mark of pending events; a bucket's
//! vector keeps at most `LOW_KEPT` (digit 0) or `HIGH_KEPT` keys of
//! capacity once emptied. A larger buffer of a higher digit is kept as the
//! one spare the next large bucket grows into, so a scale run's refile of
//! a million keys does not fault in fresh pages each time.

use std::collections::VecDeque;

use super::Micros;
use super::prefetch;

/// One queued event with its order, in the due list.
struct Entry<E> {
    time: Micros,
    /// `tiebreak << SEQ_BITS | seq`; just `seq` when ties are not permuted.
    rank: u64,
    event: E,
}

/// One slot of the slab: an event pending in a bucket, with its key (read
/// from here on a list of digit 0, from a bucket's vector otherwise), or a
/// free slot (`event` is `None`). Its link (to the next slot of its list)
/// is apart, in `EventQueue::links`.
struct Slot<E> {
    time: Micros,
    rank: u64,
    event: Option<E>,
}

/// A key in a bucket's vector: its event is in `slot`.
#[derive(Clone, Copy)]
struct Key {
    time: Micros,
    rank: u64,
    slot: u32,
}

/// No slot.
const NIL: u32 = u32::MAX;

/// `seq` fits below the tiebreak: 2^40 pushes is a thousand times the
/// largest `max_events` a scenario may ask for.
const SEQ_BITS: u32 = 40;
/// A tiebreak is `TIEBREAK_BITS` wide: ties between two events drawing the
/// same one fall back to `seq` (one in 16 M pairs).
pub const TIEBREAK_BITS: u32 = 64 - SEQ_BITS;

/// Times are filed by digits: the lowest `LOW_BITS` wide (1,024 values,
/// so a latency under a millisecond mostly lands in its final bucket at
/// once, never refiled), the others `DIGIT_BITS` wide (64 values). A key
/// is refiled at most once per digit on its way to being due, and a
/// latency under 64 ms spans two digits at most.
const LOW_BITS: u32 = 10;
const DIGIT_BITS: u32 = 6;
/// Bucket occupancy is kept in 64-bit words, one bit a bucket: digit 0
/// takes `LOW_WORDS` of them, each higher digit one.
const LOW_WORDS: usize = 1 << (LOW_BITS - 6);
const HIGH_DIGITS: usize = (64 - LOW_BITS as usize).div_ceil(DIGIT_BITS as usize);
const WORDS: usize = LOW_WORDS + HIGH_DIGITS;
/// The buckets of digit 0, then the others'.
const LOW_BUCKETS: usize = LOW_WORDS * 64;
const HIGH_BUCKETS: usize = HIGH_DIGITS * 64;
const _: () = assert!(WORDS <= 32, "the words' own occupancy is one u32");

/// The due list keeps at most this many bytes of capacity once it has run
/// dry (a scale run's instant of a hundred thousand events need not stay
/// allocated).
const DUE_KEPT_BYTES: usize = 6 << 10;

/// Keys of capacity a bucket's vector keeps once emptied: 6 KiB for one of
/// digit 0 (6 MiB for all of them at most), 96 KiB for one of a higher
/// digit, whose larger buffer becomes the spare.
const LOW_KEPT: usize = 256;
/// A refile whose keys' slots take at most this many bytes links those
/// bound for digit 0 on its lists, as a push does: they are in cache (a
/// small run's are), and the common pop takes a lone key from a list.
const REFILE_LISTED_BYTES: usize = 1 << 20;
const HIGH_KEPT: usize = 4 << 10;
/// How many keys ahead a loop making a vector's keys due hints their
/// slots: enough misses in flight to cover a memory access, few enough
/// that the lines are not evicted before use.
const SLOTS_AHEAD: usize = 8;

pub struct EventQueue<E> {
    /// The time of the last pop (0 before the first): no key is earlier.
    last: Micros,
    /// The keys due at `last`, in rank order, the next at the front. One
    /// pushed at `last` after it was reached (a zero delay) has the highest
    /// rank yet without tiebreaks, so it goes at the back.
    due: VecDeque<Entry<E>>,
    /// The keys later than `last` are filed by the highest digit `d` in
    /// which their time differs from `last`'s, and their value `v` there:
    /// digit 0's in bucket `v`, digit `d > 0`'s in bucket `LOW_BUCKETS +
    /// (d - 1) * 64 + v`. Every key of a lower bucket is earlier than every
    /// key of a higher one; a bucket of digit 0 holds a single time.
    ///
    /// The lists of digit 0 (keys pushed there): `links[b]` is the first
    /// slot of bucket `b`, `links[LOW_BUCKETS + s]` the slot after slot `s`.
    /// A list ends at its bucket's tail.
    links: Vec<u32>,
    /// Per bucket of digit 0, where its list's last link is: `LOW_BUCKETS +
    /// s` for its last slot `s`, or `b` itself when the list is empty, so
    /// linking a slot at the end is one write whether the list was empty
    /// or not (a branch there mispredicted as often as buckets fill up).
    tails: Box<[u32; LOW_BUCKETS]>,
    /// Per bucket of digit 0, the keys refiled into it, in filing order.
    refiled: Box<[Vec<Key>]>,
    /// Bit `b % 64` of `refiled_words[b / 64]` set iff `refiled[b]` is not
    /// empty (read where `occupied` is, so the common pop checks it free).
    refiled_words: [u64; LOW_WORDS],
    /// The buckets of the higher digits: their keys, in filing order.
    high: Box<[Vec<Key>]>,
    /// Per bucket of a higher digit, its earliest time (`Micros::MAX` when
    /// empty): the time a refile of it moves `last` to.
    high_earliest: Box<[Micros; HIGH_BUCKETS]>,
    /// A large key buffer a refiled bucket gave up, for the next bucket
    /// that outgrows its own.
    spare: Vec<Key>,
    /// Every event pending in a bucket, and free slots.
    slots: Vec<Slot<E>>,
    /// The free slots, the one freed last on top: a push takes it (in
    /// cache when the last pop released it). A stack, not a list threaded
    /// through `links`: a list's next free slot is a load from the slot
    /// just taken, and when a burst of pushes walks a long free list (a
    /// stage's million requests at scale) each load waits for the one
    /// before, a cache miss apiece (perf: ~40 % of `Engine::step` at a
    /// million shards); the stack's next entry is adjacent, in cache. (A
    /// hint of the slot the next push takes cost ping-pong ~5 % and
    /// bought nothing measurable at scale: writing a slot is a store,
    /// which the core does not wait for.)
    free: Vec<u32>,
    /// Bit `b % 64` of `occupied[b / 64]` set iff bucket `b` is not empty.
    occupied: [u64; WORDS],
    /// Bit `w` set iff `occupied[w]` is not 0: the lowest non-empty bucket
    /// is two `trailing_zeros` away.
    words_occupied: u32,
    seq: u64,
}

/// `links` starts with the lists' heads; a slot's link follows them.
const LINKS: u32 = LOW_BUCKETS as u32;

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            last: 0,
            due: VecDeque::new(),
            links: vec![NIL; LOW_BUCKETS],
            tails: Box::new(std::array::from_fn(|b| b as u32)),
            refiled: (0..LOW_BUCKETS).map(|_| Vec::new()).collect(),
            refiled_words: [0; LOW_WORDS],
            high: (0..HIGH_BUCKETS).map(|_| Vec::new()).collect(),
            high_earliest: Box::new([Micros::MAX; HIGH_BUCKETS]),
            spare: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            occupied: [0; WORDS],
            words_occupied: 0,
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Entries of capacity the due list keeps (see `DUE_KEPT_BYTES`).
    const KEPT: usize = {
        let size = std::mem::size_of::<Entry<E>>();
        if size == 0 {
            512
        } else if DUE_KEPT_BYTES / size < 16 {
            16
        } else {
            DUE_KEPT_BYTES / size
        }
    };

    /// Schedules `event` at `time`, after every event already due then.
    #[inline(always)]
    pub fn push(&mut self, time: Micros, event: E) {
        // Wrapping: one push per event scheduled, and a run schedules far
        // fewer than 2^64 (`push_tied` asserts 2^40, its budget).
        self.seq = self.seq.wrapping_add(1);
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
        if time == self.last {
            self.push_late(Entry { time, rank, event });
            return;
        }
        let slot = Slot { time, rank, event: Some(event) };
        let i = match self.free.pop() {
            None => self.grow(slot),
            Some(i) => {
                // A free slot holds no event, so nothing is dropped: taken
                // out and forgotten unread. An assignment would drop the
                // old value, and its check of the old event loads the line
                // before the write (the other ~30 % of `Engine::step` at a
                // million shards, on slots a burst reuses cold).
                let free = std::mem::replace(&mut self.slots[i as usize], slot);
                debug_assert!(free.event.is_none(), "slot {i} on the free stack holds an event");
                std::mem::forget(free);
                i
            }
        };
        match self.bucket(time) {
            Ok(bucket) => {
                let tail = &mut self.tails[bucket];
                self.links[*tail as usize] = i;
                *tail = LINKS + i;
                self.mark(bucket);
            }
            Err(h) => self.file_high(h, Key { time, rank, slot: i }),
        }
    }

    /// A new slot at the slab's end (no free one is left).
    #[inline(never)]
    fn grow(&mut self, slot: Slot<E>) -> u32 {
        let i = self.slots.len();
        assert!(i < (NIL - LINKS) as usize, "fewer than 2^32 - 1,100 events are pending at once");
        self.slots.push(slot);
        self.links.push(NIL);
        i as u32
    }

    /// A key due at `last`, pushed after `last` was reached: into `due`
    /// at its rank (the back, unless ties are permuted).
    #[inline(never)]
    fn push_late(&mut self, entry: Entry<E>) {
        match self.due.back() {
            Some(back) if back.rank > entry.rank => {
                let at = self.due.partition_point(|e| e.rank < entry.rank);
                self.due.insert(at, entry);
            }
            _ => self.due.push_back(entry),
        }
    }

    /// Where a key at `time` (later than `last`) is filed: `Ok` a bucket
    /// of digit 0, `Err` the index of one of a higher digit in `high`.
    #[inline(always)]
    fn bucket(&self, time: Micros) -> Result<usize, usize> {
        let differ = time ^ self.last;
        debug_assert!(differ != 0);
        let high = 63 - differ.leading_zeros();
        if high < LOW_BITS {
            Ok((time % (1 << LOW_BITS)) as usize)
        } else {
            let digit = (high - LOW_BITS) / DIGIT_BITS;
            let value = (time >> (LOW_BITS + digit * DIGIT_BITS)) as usize % 64;
            Err(digit as usize * 64 + value)
        }
    }

    /// Bucket `bucket` (of all of them) is not empty.
    #[inline(always)]
    fn mark(&mut self, bucket: usize) {
        self.occupied[bucket / 64] |= 1 << (bucket % 64);
        self.words_occupied |= 1 << (bucket / 64);
    }

    /// Appends `key` to bucket `h` of the higher digits.
    #[inline(always)]
    fn file_high(&mut self, h: usize, key: Key) {
        let earliest = &mut self.high_earliest[h];
        *earliest = (*earliest).min(key.time);
        let keys = &mut self.high[h];
        if keys.len() == keys.capacity() {
            self.outgrow(h);
        }
        self.high[h].push(key);
        self.mark(LOW_BUCKETS + h);
    }

    /// Bucket `h` of the higher digits is full: it moves into the spare
    /// buffer if that is larger (no fresh pages to fault in), else grows.
    #[inline(never)]
    fn outgrow(&mut self, h: usize) {
        let keys = &mut self.high[h];
        if self.spare.capacity() > keys.capacity() {
            let mut spare = std::mem::take(&mut self.spare);
            spare.extend_from_slice(keys);
            *keys = spare;
        } else {
            keys.reserve(keys.len().max(16));
        }
    }

    /// Hints the slot of `keys[j]`, if there is one: a vector's keys are
    /// made due in turn, each reading its slot, and at scale their slots
    /// lie anywhere in a slab of millions, each a cache miss the loop would
    /// wait on (perf: most of `advance` at 300,000 shards).
    #[inline(always)]
    fn hint_slot(&self, keys: &[Key], j: usize) {
        if let Some(key) = keys.get(j) {
            prefetch::lines(&self.slots[key.slot as usize]);
        }
    }

    /// Takes slot `i`'s event out, and frees the slot.
    #[inline(always)]
    fn release(&mut self, i: u32) -> E {
        let event = self.slots[i as usize].event.take().expect("a filed slot holds an event");
        self.free.push(i);
        event
    }

    /// The lowest non-empty bucket (there is one), marked empty.
    #[inline(always)]
    fn take_lowest(&mut self) -> usize {
        let word = self.words_occupied.trailing_zeros() as usize;
        let bit = self.occupied[word].trailing_zeros() as usize;
        self.occupied[word] &= !(1 << bit);
        if self.occupied[word] == 0 {
            self.words_occupied &= !(1 << word);
        }
        word * 64 + bit
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(Micros, E)> {
        match self.due.pop_front() {
            Some(entry) => Some((entry.time, entry.event)),
            None => self.pop_next_instant(),
        }
    }

    /// The event `k` places behind the next one to pop, if it is due at
    /// the current instant (the due list's `k`-th): what the engine's
    /// prefetch pipeline looks ahead at. Events of later instants are not
    /// looked for (they are filed by time, not yet in order), so the last
    /// few events of an instant go unhinted.
    #[inline(always)]
    pub fn ahead(&self, k: usize) -> Option<&E> {
        self.due.get(k).map(|entry| &entry.event)
    }

    /// Nothing is due at `last`: the earliest key of the lowest non-empty
    /// bucket. A bucket of digit 0 with one key on its list and none
    /// refiled (one event at that instant, the common case) gives it up at
    /// once; the rest is `advance`.
    #[inline]
    fn pop_next_instant(&mut self) -> Option<(Micros, E)> {
        if self.words_occupied == 0 {
            return None;
        }
        let word = self.words_occupied.trailing_zeros() as usize;
        if word < LOW_WORDS {
            let bit = self.occupied[word].trailing_zeros() as usize;
            let bucket = word * 64 + bit;
            // Without refiled keys, the list holds the bucket's.
            let head = self.links[bucket];
            if self.refiled_words[word] & (1 << bit) == 0 && self.tails[bucket] == LINKS + head {
                self.tails[bucket] = bucket as u32;
                self.occupied[word] &= !(1 << bit);
                if self.occupied[word] == 0 {
                    self.words_occupied &= !(1 << word);
                }
                let time = self.slots[head as usize].time;
                let event = self.release(head);
                self.last = time;
                return Some((time, event));
            }
        }
        self.advance();
        let entry = self.due.pop_front().expect("advance makes a key due");
        Some((entry.time, entry.event))
    }

    /// Nothing is due at `last`: moves `last` to the earliest time pending
    /// (in the lowest non-empty bucket) and makes that bucket's keys due
    /// or refiles them against it. They all share `last`'s digits above
    /// the bucket's and their value there, so each lands in a lower digit's
    /// bucket, or is due.
    #[inline(never)]
    fn advance(&mut self) {
        debug_assert!(self.due.is_empty());
        // Puts the deque's head back at the front (a drained deque keeps
        // it where the last pop left it), so the keys made due below are
        // one slice.
        self.due.clear();
        // Not a whole burst's capacity kept on as the next due list.
        if self.due.capacity() > Self::KEPT {
            self.due.shrink_to(Self::KEPT);
        }
        let lowest = self.take_lowest();
        if lowest < LOW_BUCKETS {
            self.make_due(lowest);
        } else {
            self.refile(lowest - LOW_BUCKETS);
        }
        // Keys reach a bucket mostly in rank order (pushes in `seq` order,
        // refiles keeping theirs, the two parts merged): then this is a
        // check, not a sort.
        let (due, wrapped) = self.due.as_mut_slices();
        debug_assert!(wrapped.is_empty(), "an emptied deque is refilled from its front");
        if !due.is_sorted_by_key(|k| k.rank) {
            due.sort_unstable_by_key(|k| k.rank);
        }
    }

    /// A bucket of the lowest digit holds one time: all of it is due, its
    /// list and its refiled keys merged by rank.
    fn make_due(&mut self, bucket: usize) {
        // Its time differs from `last`'s in digit 0 alone.
        let time = self.last >> LOW_BITS << LOW_BITS | bucket as Micros;
        self.last = time;
        let (word, bit) = (bucket / 64, bucket % 64);
        let mut refiled = Vec::new();
        if self.refiled_words[word] & (1 << bit) != 0 {
            self.refiled_words[word] &= !(1 << bit);
            refiled = std::mem::take(&mut self.refiled[bucket]);
        }
        let mut next_refiled = 0;
        for key in refiled.iter().take(SLOTS_AHEAD) {
            prefetch::lines(&self.slots[key.slot as usize]);
        }
        let end = std::mem::replace(&mut self.tails[bucket], bucket as u32);
        let mut more = end != bucket as u32;
        let mut i = self.links[bucket];
        while more {
            let next = self.links[(LINKS + i) as usize];
            more = LINKS + i != end;
            let rank = self.slots[i as usize].rank;
            while let Some(key) = refiled.get(next_refiled).filter(|key| key.rank < rank) {
                self.hint_slot(&refiled, next_refiled + SLOTS_AHEAD);
                let entry = Entry { time, rank: key.rank, event: self.release(key.slot) };
                self.due.push_back(entry);
                next_refiled += 1;
            }
            let event = self.release(i);
            self.due.push_back(Entry { time, rank, event });
            i = next;
        }
        for (j, key) in refiled.iter().enumerate().skip(next_refiled) {
            self.hint_slot(&refiled, j + SLOTS_AHEAD);
            let entry = Entry { time, rank: key.rank, event: self.release(key.slot) };
            self.due.push_back(entry);
        }
        if refiled.capacity() > 0 {
            refiled.clear();
            refiled.shrink_to(LOW_KEPT);
            self.refiled[bucket] = refiled;
        }
    }

    /// Bucket `h` of a higher digit: `last` moves to its earliest time,
    /// whose keys are due; the others go to lower buckets. One pass over
    /// its vector, in filing order.
    fn refile(&mut self, h: usize) {
        let earliest = std::mem::replace(&mut self.high_earliest[h], Micros::MAX);
        self.last = earliest;
        let mut keys = std::mem::take(&mut self.high[h]);
        // A few keys' slots are in cache: linking them is cheaper than
        // vectors of their own.
        let listed = keys.len() * std::mem::size_of::<Slot<E>>() <= REFILE_LISTED_BYTES;
        for (j, &key) in keys.iter().enumerate() {
            if key.time == earliest {
                if keys.get(j + SLOTS_AHEAD).is_some_and(|ahead| ahead.time == earliest) {
                    self.hint_slot(&keys, j + SLOTS_AHEAD);
                }
                let event = self.release(key.slot);
                self.due.push_back(Entry { time: key.time, rank: key.rank, event });
                continue;
            }
            match self.bucket(key.time) {
                Ok(bucket) if listed => {
                    // The slot holds its key since the push.
                    let tail = &mut self.tails[bucket];
                    self.links[*tail as usize] = key.slot;
                    *tail = LINKS + key.slot;
                    self.mark(bucket);
                }
                Ok(bucket) => {
                    self.refiled[bucket].push(key);
                    self.refiled_words[bucket / 64] |= 1 << (bucket % 64);
                    self.mark(bucket);
                }
                Err(lower) => self.file_high(lower, key),
            }
        }
        // Every key went to a lower bucket: this one is still empty.
        keys.clear();
        if keys.capacity() <= HIGH_KEPT {
            self.high[h] = keys;
        } else if keys.capacity() > self.spare.capacity() {
            self.spare = keys;
        }
    }

    pub fn peek_time(&self) -> Option<Micros> {
        if !self.due.is_empty() {
            return Some(self.last);
        }
        let word = self.words_occupied.trailing_zeros() as usize;
        let bit = self.occupied.get(word)?.trailing_zeros() as usize;
        let bucket = word * 64 + bit;
        match bucket.checked_sub(LOW_BUCKETS) {
            None => Some(self.last >> LOW_BITS << LOW_BITS | bucket as Micros),
            Some(h) => Some(self.high_earliest[h]),
        }
    }

    /// The slots on one list of digit 0, in filing order.
    fn listed(&self, bucket: usize) -> impl Iterator<Item = &Slot<E>> {
        let end = self.tails[bucket];
        let mut link = bucket as u32;
        std::iter::from_fn(move || {
            if link == end {
                return None;
            }
            let i = self.links[link as usize];
            link = LINKS + i;
            Some(&self.slots[i as usize])
        })
    }

    /// Every pending event in the order it will run: a read-only view for
    /// liveness diagnosis and `explore`'s state fingerprint (the order of
    /// ties matters, their `seq` numbers do not). A sort per call, never on
    /// the hot path.
    pub fn pending(&self) -> Vec<(Micros, &E)> {
        fn event<E>(slot: &Slot<E>) -> &E {
            slot.event.as_ref().expect("a filed slot holds an event")
        }
        let due = self.due.iter().map(|e| (e.time, e.rank, &e.event));
        let listed = (0..LOW_BUCKETS).flat_map(|bucket| self.listed(bucket)).map(|s| (s.time, s.rank, event(s)));
        let keyed = self.refiled.iter().chain(self.high.iter()).flatten();
        let keyed = keyed.map(|k| (k.time, k.rank, event(&self.slots[k.slot as usize])));
        let mut keys: Vec<(Micros, u64, &E)> = due.chain(listed).chain(keyed).collect();
        keys.sort_unstable_by_key(|&(time, rank, _)| (time, rank));
        keys.into_iter().map(|(time, _, event)| (time, event)).collect()
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

    /// A burst (a scale run's instant of 100,000 events, refiled from a
    /// high digit, then from digit 0) leaves at most `KEPT` entries of
    /// capacity behind in the due list once it has run and the queue has
    /// moved on; the slab keeps its slots for the next events, and a
    /// steady state reuses them rather than growing it.
    #[test]
    fn a_burst_leaves_no_large_buffers_behind() {
        let mut q = EventQueue::default();
        // Both bursts are filed one digit up; the first is made due by a
        // refile, the second refiled into a bucket of digit 0 and made due
        // from there.
        for at in [5_000, 5_001] {
            for i in 0..100_000u64 {
                q.push(at, i);
            }
        }
        assert_eq!(q.slots.len(), 200_000);
        while q.pop().is_some() {}
        // The queue moves on: the next instant is a refile again.
        q.push(q.last + 100_000, 0);
        assert_eq!(q.pop(), Some((105_001, 0)));
        let kept = EventQueue::<u64>::KEPT;
        assert!(q.due.capacity() <= kept, "the due list kept {} entries of capacity", q.due.capacity());
        // A ping-pong's steady state: 100 events in flight, each popped
        // and pushed again 100 µs on, reuses the slab's free slots.
        for i in 0..100 {
            q.push(q.last + 1 + i, i);
        }
        for _ in 0..10_000 {
            let (time, e) = q.pop().expect("never empty");
            q.push(time + 100, e);
        }
        assert_eq!(q.slots.len(), 200_000, "the slab did not grow");
        assert_eq!(q.free.len(), 200_000 - 100, "every slot not pending is free");
        assert!(q.free.iter().all(|&i| q.slots[i as usize].event.is_none()), "a free slot holds no event");
        let kept = q.refiled.iter().map(Vec::capacity).chain(q.high.iter().map(Vec::capacity)).max();
        assert!(kept <= Some(HIGH_KEPT), "a bucket kept {kept:?} keys of capacity");
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

    /// A time's offset from the last pop: mostly small (a latency, filed
    /// straight into the lowest digit or one above), some ties, some far (a
    /// crash's down time, a deadline), so keys spread over many buckets and
    /// refile several times.
    fn offset() -> impl Strategy<Value = u64> {
        prop_oneof![
            4 => 0u64..4,
            8 => 0u64..1_000,
            4 => 900u64..100_000,
            2 => 0u64..1 << 40,
            1 => Just(u64::MAX >> 1)
        ]
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
                // What the prefetch pipeline looks ahead at is what pops next.
                let pending = q.pending();
                for k in 0..4 {
                    if let Some(e) = q.ahead(k) {
                        prop_assert_eq!(pending.get(k).map(|(_, e)| **e), Some(*e));
                    }
                }
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
