//! The incremental-restore protocol of YDB as pure state machines (docs/design.md
//! §3–§4, §6): Client, SchemeShard with its LongIncrementalRestoreOp,
//! TxAllocator and DataShards; their messages and durable schemas; the data
//! plane, the oracle and the invariants.
//!
//! Architecture invariant: nothing here reads a clock, owns an RNG or does
//! I/O. Handlers take `now` as an argument and write what they want done into
//! an [`Outbox`]. Every tablet is split into a durable database (`*Db`,
//! changed only by commits the engine applies) and a volatile actor struct
//! (`SchemeShard`, `DataShard`, ...) that a crash drops and `boot` rebuilds
//! from the database alone.

pub mod batch;
pub mod client;
pub mod data;
pub mod datashard;
pub mod full_backup;
pub mod ids;
pub mod invariants;
pub mod knobs;
pub mod last_wins;
pub mod msg;
pub mod note;
pub mod oracle;
pub mod outbox;
pub mod packed;
pub mod prefetch;
pub mod progress;
pub mod radix_sort;
pub mod schemeshard;
pub mod shard_range;
pub mod shard_spans;
pub mod sorted_map;
#[cfg(test)]
mod testkit;
pub mod timers;
pub mod topology;
pub mod txallocator;
pub mod workload;
pub mod ydb;

pub use outbox::{Command, Commit, Outbox, Timer};
