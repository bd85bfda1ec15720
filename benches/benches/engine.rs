//! The engine's overhead against the floor it cannot beat (docs/design.md §10:
//! the engine within 2x of a bare `BinaryHeap` push/pop loop, measured in
//! the same run). Each pair processes the same number of events from a
//! queue of about the same depth, in steady state: the heaps and the
//! engines are built once and keep running across iterations.
//!
//! - `engine/bare_binary_heap` vs `engine/pingpong`: the ping-pong model
//!   (messages, commits, timers through the engine) against a bare heap;
//! - `ring/bare_binary_heap` vs `ring/engine`: a token ring, the shape of
//!   madsim's and turmoil's examples (N nodes pass M tokens, each hop a
//!   message with a uniform random latency), through the public engine API,
//!   against the same ring on a bare heap drawing from the same ChaCha8
//!   stream kind. Throughput is deliveries per second.
//!
//! The same workloads run in CI's guard (`src/bin/bench-guard.rs`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use restoresim::engine::pingpong::pingpong_engine;
use restoresim_benches::bare::{BarePingPong, BareRing};
use restoresim_benches::ring::{ring_engine, run_ring};

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

/// The ring: 100 nodes, 1,000 tokens, hops of 200-1,000 µs.
const RING_NODES: u32 = 100;
const RING_TOKENS: u32 = 1_000;
const RING_LATENCY: (u64, u64) = (200, 1_000);

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(EVENTS));

    group.bench_function("bare_binary_heap", |b| {
        let mut bare = BarePingPong::new(IN_FLIGHT, LATENCY);
        b.iter(|| bare.run(EVENTS));
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

fn ring(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring");
    group.throughput(Throughput::Elements(EVENTS));

    group.bench_function("bare_binary_heap", |b| {
        let mut bare = BareRing::new(RING_NODES, RING_TOKENS, RING_LATENCY, 1);
        b.iter(|| bare.run(EVENTS));
    });

    group.bench_function("engine", |b| {
        let mut engine = ring_engine(RING_NODES, RING_TOKENS, RING_LATENCY, 1);
        b.iter(|| run_ring(&mut engine, EVENTS));
    });

    group.finish();
}

criterion_group!(benches, engine, ring);
criterion_main!(benches);
