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

/// Every bundled scenario (`scenarios/*.ron`, sorted; not the scale family
/// in `scenarios/scale/`, which `run --stats` measures), so a slowdown in
/// any protocol path shows in its own line: `cargo bench -p
/// restoresim-benches --bench restore -- restore/ci-smoke` runs one.
fn restore(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable scenarios/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "scenarios/ holds the bundled scenarios");
    for path in files {
        let name = path.file_stem().expect("a .ron file has a stem").to_string_lossy().into_owned();
        bench_scenario(c, &name, &path.to_string_lossy());
    }
}

criterion_group!(benches, restore);
criterion_main!(benches);
