//! The engine's overhead against the floor it cannot beat (docs/design.md §10:
//! the engine within 2x of a bare `BinaryHeap` push/pop loop, measured in
//! the same run). Both benches process the same number of events from a
//! queue of about the same depth, in steady state: the heap and the engine
//! are built once and keep running across iterations.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use restoresim::engine::pingpong::pingpong_engine;

/// Events per iteration.
const EVENTS: u64 = 100_000;
/// Ring size of the ping-pong model, one ball per node.
const NODES: u32 = 64;
/// The ping-pong network latency (constant, see `pingpong_engine`).
const LATENCY: u64 = 100;
/// The engine's queue depth in steady state: 64 balls, plus a commit on
/// every 4th hop pending 50 of each 100 µs (8), plus a timer on every 16th
/// hop pending 150 µs (6).
const IN_FLIGHT: u64 = 64 + 8 + 6;

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(EVENTS));

    group.bench_function("bare_binary_heap", |b| {
        // (time, seq, payload), earliest first: what the engine's queue
        // orders by, with a word of payload. Distinct start times, as the
        // ping-pong's balls are served at distinct times (equal times alone
        // make a heap 1.3-1.7x slower).
        let mut heap = BinaryHeap::new();
        let mut seq = 0u64;
        for i in 0..IN_FLIGHT {
            seq += 1;
            heap.push(Reverse((i % LATENCY, seq, i)));
        }
        b.iter(|| {
            for _ in 0..EVENTS {
                let Reverse((time, _, payload)) = heap.pop().expect("never empty");
                seq += 1;
                heap.push(Reverse((time + LATENCY, seq, black_box(payload) + 1)));
            }
        });
    });

    group.bench_function("pingpong", |b| {
        let mut engine = pingpong_engine(NODES, 1);
        b.iter(|| {
            for _ in 0..EVENTS {
                black_box(engine.step().expect("the balls never stop"));
            }
        });
    });

    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
