//! The event queue: a binary heap keyed by `(time, seq)`. `seq` is a global
//! counter, so events at one instant run in the order they were scheduled,
//! on every machine.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::Micros;

/// What the heap orders: `(time, seq, slot)`, 24 bytes whatever the event's
/// size. Events live in a slab beside the heap, so sifting moves keys, never
/// payloads. `seq` is unique, so `slot` never decides the order.
type Key = Reverse<(Micros, u64, u32)>;

pub struct EventQueue<E> {
    heap: BinaryHeap<Key>,
    slots: Vec<Option<E>>,
    /// Slots free for reuse, so the slab stays as large as the peak queue.
    free: Vec<u32>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: BinaryHeap::new(), slots: Vec::new(), free: Vec::new(), seq: 0 }
    }
}

impl<E> EventQueue<E> {
    #[inline]
    pub fn push(&mut self, time: Micros, event: E) {
        self.seq += 1;
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
        self.heap.push(Reverse((time, self.seq, slot)));
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(Micros, E)> {
        let Reverse((time, _, slot)) = self.heap.pop()?;
        let event = self.slots[slot as usize].take().expect("every key has its event");
        self.free.push(slot);
        Some((time, event))
    }

    pub fn peek_time(&self) -> Option<Micros> {
        self.heap.peek().map(|Reverse((time, _, _))| *time)
    }
}

#[cfg(test)]
mod tests {
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
}
