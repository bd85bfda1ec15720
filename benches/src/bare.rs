//! The floor the engine is measured against (docs/design.md §10): a bare
//! `BinaryHeap` of `(time, seq, payload)`, earliest first, popped and
//! pushed in a loop. No model, no network, no trace: only the ordering work
//! any discrete-event simulator must do.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

use restoresim::engine::{Stream, Subsystem};

/// The ping-pong's shape on a bare heap: `in_flight` events, each re-pushed
/// `latency` later. Distinct start times, as the ping-pong's balls are
/// served at distinct times (equal times alone make a heap 1.3-1.7x slower).
pub struct BarePingPong {
    heap: BinaryHeap<Reverse<(u64, u64, u64)>>,
    seq: u64,
    latency: u64,
}

impl BarePingPong {
    pub fn new(in_flight: u64, latency: u64) -> BarePingPong {
        let mut heap = BinaryHeap::new();
        let mut seq = 0;
        for i in 0..in_flight {
            seq += 1;
            heap.push(Reverse((i % latency, seq, i)));
        }
        BarePingPong { heap, seq, latency }
    }

    pub fn run(&mut self, events: u64) {
        for _ in 0..events {
            let Reverse((time, _, payload)) = self.heap.pop().expect("never empty");
            self.seq += 1;
            self.heap.push(Reverse((time + self.latency, self.seq, black_box(payload) + 1)));
        }
    }
}

/// The token ring on a bare heap: `tokens` tokens hop round `nodes` nodes,
/// each hop taking a latency drawn uniformly from `min..=max` from the same
/// ChaCha8 stream kind the engine draws from.
pub struct BareRing {
    heap: BinaryHeap<Reverse<(u64, u64, u32, u32)>>,
    seq: u64,
    nodes: u32,
    rng: Stream,
    min: u64,
    max: u64,
    pub deliveries: u64,
}

impl BareRing {
    pub fn new(nodes: u32, tokens: u32, (min, max): (u64, u64), seed: u64) -> BareRing {
        let mut ring = BareRing {
            heap: BinaryHeap::new(),
            seq: 0,
            nodes,
            rng: Stream::new(seed, Subsystem::Latency),
            min,
            max,
            deliveries: 0,
        };
        for token in 0..tokens {
            let at = ring.rng.range(min, max);
            ring.seq += 1;
            ring.heap.push(Reverse((at, ring.seq, (token % nodes + 1) % nodes, token)));
        }
        ring
    }

    pub fn run(&mut self, deliveries: u64) {
        for _ in 0..deliveries {
            let Reverse((time, _, node, token)) = self.heap.pop().expect("tokens never vanish");
            self.deliveries += 1;
            let next = (black_box(node) + 1) % self.nodes;
            let at = time + self.rng.range(self.min, self.max);
            self.seq += 1;
            self.heap.push(Reverse((at, self.seq, next, token)));
        }
    }
}
