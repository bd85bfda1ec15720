//! restoresim: a deterministic simulation harness for YDB's incremental
//! restore. `engine` is the generic discrete-event core; `restore` plugs the
//! protocol model into it; `scenario` reads RON files; `run` executes one
//! seed and checks it; `faults` is the harness side of fault injection
//! (swarm, tape, triggers, coverage, crash points); `output` writes the
//! artifacts; `sweep` runs many seeds in parallel; `capsule` packs a failing
//! seed for replay; `study` runs a parameter grid over many seeds; `swarm`
//! draws a seed's whole configuration.

pub mod capsule;
pub mod engine;
pub mod explore;
pub mod faults;
pub mod output;
pub mod restore;
pub mod run;
pub mod scenario;
pub mod shrink;
pub mod study;
pub mod swarm;
pub mod sweep;
pub mod timeline;
pub mod workload;
