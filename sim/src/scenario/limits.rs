//! The sizes a scenario may ask for — the one place they are written down.
//!
//! Every size a scenario sets is bounded when it is loaded, so a scenario
//! that `restoresim check` accepts can be run: it cannot make `run` or a
//! sweep abort on an allocation, overflow a counter, or run for hours
//! before its budget ends it. The limits come from what the engine runs in
//! about a minute on one core, except the scale goal itself
//! (`scenarios/scale/scale-1m.ron`, a 1,000,000-shard restore of 100 M
//! rows, which takes minutes today): beyond one, `check`, `run` and `sweep` exit 65 naming the
//! field's `file:line:column` and the limit.
//!
//! | what | limit | why |
//! |---|---|---|
//! | scenario file | 4 MiB | read whole before parsing; `/dev/zero` must not fill memory |
//! | tables | 1,000 | one restore and one oracle per table |
//! | shards per table, and in all tables | 1,000,000 | the scale goal (`scale-1m.ron`: measured 24-29 s of CPU and 4.9 GiB; README, "Scale"); node ids are `u32` |
//! | incrementals | 200 | a stage per incremental (not re-measured past 200 since a commit's checks became O(1) in the chain's length) |
//! | shards × incrementals | 2,000,000 | ~8 events per shard and stage; measured: 10,000 × 200 ran 15 M events in 35 s and 0.6 GiB, 2,000 × 200 3 M events in 3.6 s (was 10.8 s when each commit looked at every incremental) |
//! | rows (full backup, per table) | 100,000,000 | held by the workload and the DataShards; `scenarios/scale/scale-1m.ron` (100 M rows) is the largest shape measured (README, "Scale") |
//! | changes per incremental (`changes.max`) | 20,000,000 | `scale-1m.ron`'s incrementals are 15 M changes each (drawn from 10–20 M until 2026-11-30) |
//! | model rows: tables × (rows + incrementals × changes.max) | 140,000,000 | the full backup (shared by workload and oracle), the oracle's one version per change, the DataShards' rows: `scale-1m.ron` is 130 M (140 M, exactly the limit, when its incrementals were drawn up to 20 M) |
//! | restores | 1,000 | |
//! | triggered restarts (`faults.restarts`) | 10,000 | each is checked in O(1) per event, but each is a fault |
//! | partitions (fixed, random `count`, swarm `count.max`) | 1,000 each | scheduled up front |
//! | nodes in one partition | the scenario's node count | |
//! | per-link latencies (`network.links`) | 256 | looked up per message |
//! | `batch_rows` | 1,000,000 | |
//! | `read_retries` | 1,000 | |
//! | `budgets.max_events` | 1 ..= 1,000,000,000 | ~20 min at the engine's ~1 M events/s |
//! | `budgets.max_virtual_time` | 1us ..= 365 days | every duration is at most 365 days (`units.rs`), so sums never overflow |
//! | `name` | 1 ..= 100 characters | it names output folders |
//! | `bugs`, `coverage.require` | 100 names each | |

/// Bytes of a scenario file; larger files are refused before parsing.
pub const MAX_SCENARIO_BYTES: u64 = 4 << 20;
pub const MAX_TABLES: usize = 1_000;
pub const MAX_SHARDS_PER_TABLE: u32 = 1_000_000;
pub const MAX_TOTAL_SHARDS: u64 = 1_000_000;
pub const MAX_INCREMENTALS: u32 = 200;
pub const MAX_SHARD_STAGES: u64 = 2_000_000;
pub const MAX_ROWS: u64 = 100_000_000;
pub const MAX_CHANGES: u64 = 20_000_000;
pub const MAX_MODEL_ROWS: u64 = 140_000_000;
pub const MAX_RESTORES: usize = 1_000;
pub const MAX_TRIGGERS: usize = 10_000;
pub const MAX_PARTITIONS: u64 = 1_000;
pub const MAX_LINKS: usize = 256;
pub const MAX_BATCH_ROWS: u32 = 1_000_000;
pub const MAX_READ_RETRIES: u32 = 1_000;
/// Polls the Client makes after an end: each is a message and a timer.
pub const MAX_POLLS_AFTER_END: u32 = 10_000;
pub const MAX_EVENTS: u64 = 1_000_000_000;
/// Every duration a scenario writes (`units.rs` refuses longer ones).
pub const MAX_DURATION_US: u64 = 365 * 24 * 3_600 * 1_000_000;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_NAMES: usize = 100;
