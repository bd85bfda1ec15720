//! Shared workloads of the benches: the criterion benches (`benches/`) and
//! the CI guard (`src/bin/bench-guard.rs`) time exactly the same loops.

pub mod bare;
pub mod ring;
