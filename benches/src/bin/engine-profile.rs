//! One engine workload alone, for a profiler: `valgrind --tool=callgrind
//! target/release/engine-profile ring 200000` (or `pingpong`,
//! `bare-ring`, `bare-pingpong`). The bench guard runs every case in one
//! process; this runs exactly one, so a profile shows one per-event path.

use std::hint::black_box;
use std::process::ExitCode;

use restoresim::engine::pingpong::pingpong_engine;
use restoresim_benches::bare::{BarePingPong, BareRing};
use restoresim_benches::ring::{ring_engine, run_ring};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(which), events) = (args.first(), args.get(1).map(|n| n.parse::<u64>())) else {
        eprintln!("usage: engine-profile pingpong|ring|bare-pingpong|bare-ring [EVENTS]");
        return ExitCode::from(2);
    };
    let events = match events {
        None => 1_000_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("engine-profile: EVENTS: {e}");
            return ExitCode::from(2);
        }
    };
    match which.as_str() {
        // The shapes of the criterion benches and the bench guard.
        "pingpong" => {
            let mut engine = pingpong_engine(64, 1);
            for _ in 0..events {
                black_box(engine.step().expect("the balls never stop"));
            }
            println!("trace hash {:016x}", engine.trace_hash());
        }
        "ring" => {
            let mut engine = ring_engine(100, 1_000, (200, 1_000), 1);
            run_ring(&mut engine, events);
            println!("trace hash {:016x}", engine.trace_hash());
        }
        "bare-pingpong" => BarePingPong::new(64 + 8 + 6, 100).run(events),
        "bare-ring" => BareRing::new(100, 1_000, (200, 1_000), 1).run(events),
        other => {
            eprintln!("engine-profile: unknown workload {other:?}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
