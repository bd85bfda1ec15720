//! Events per second of whole runs of the shipped scenarios (docs/design.md §10:
//! at least 1 M events/s single-threaded on the smoke scenario, invariant
//! checks included). A run is everything `restoresim run` does for one seed
//! short of writing files: workload generation, the simulation, the checks,
//! the plot data.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use restoresim::run::{RunOptions, run};
use restoresim::scenario::{Scenario, load};

/// One iteration runs seeds 1, 2, ... until at least this many events, so
/// every iteration does the same, known number of events (runs are
/// deterministic) and the seed spread averages out.
const MIN_EVENTS: u64 = 50_000;

fn seeds_for(scenario: &Scenario) -> (Vec<u64>, u64) {
    let mut seeds = Vec::new();
    let mut events = 0;
    for seed in 1.. {
        let report = run(scenario, seed, RunOptions::default());
        seeds.push(seed);
        events += report.events;
        if events >= MIN_EVENTS {
            break;
        }
    }
    (seeds, events)
}

fn bench_scenario(c: &mut Criterion, name: &str, path: &str) {
    let scenario = load(Path::new(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (seeds, events) = seeds_for(&scenario);
    let mut group = c.benchmark_group("restore");
    group.throughput(Throughput::Elements(events));
    // An iteration is a batch of whole runs: a few samples suffice.
    group.sample_size(10);
    group.bench_function(name, |b| {
        b.iter(|| {
            let mut total = 0;
            for &seed in &seeds {
                total += black_box(run(&scenario, seed, RunOptions::default())).events;
            }
            assert_eq!(total, events, "runs are deterministic");
        });
    });
    group.finish();
}

fn restore(c: &mut Criterion) {
    bench_scenario(c, "ci-smoke", concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/ci-smoke.ron"));
    bench_scenario(c, "quickstart", concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/quickstart.ron"));
}

criterion_group!(benches, restore);
criterion_main!(benches);
