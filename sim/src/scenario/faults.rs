//! The fault plan of a scenario (docs/design.md §5): the network (latency per
//! link, loss, duplication, reordering, partitions), tablets (crashes,
//! restarts, kills on commit, slow commits, TxAllocator empty answers,
//! backup read errors), the fault window, triggered restarts, swarm mode,
//! and the coverage goals a scenario requires.
//!
//! Every rate applies inside the fault window only; after it, the liveness
//! phase begins.

use serde::{Deserialize, Serialize};

use super::LatencySpec;
use super::units::{Chance, Duration};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    pub latency: LatencySpec,
    /// Per-link latency overrides; the first matching entry wins.
    pub links: Vec<LinkSpec>,
    pub loss: Chance,
    /// Lost messages break the pipe (true) or vanish silently (false).
    pub loss_detected: bool,
    pub duplicate: Chance,
    /// A message is held back by `reorder_delay`, so later ones overtake it.
    pub reorder: Chance,
    pub reorder_delay: LatencySpec,
    pub reset_notify: Duration,
    /// Partitions drawn at random inside the fault window.
    pub random_partitions: RandomPartitionSpec,
    /// Events due at one instant run in a seeded order rather than the
    /// order they were scheduled in (a tablet's commits stay in issue
    /// order); see `sim/src/engine/queue.rs`. Off by default.
    pub permute_ties: bool,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            latency: LatencySpec::Uniform { min: Duration(200), max: Duration(1_000) },
            links: Vec::new(),
            loss: Chance::default(),
            loss_detected: true,
            duplicate: Chance::default(),
            reorder: Chance::default(),
            reorder_delay: LatencySpec::Uniform { min: Duration(1_000), max: Duration(20_000) },
            reset_notify: Duration(1_000),
            random_partitions: RandomPartitionSpec::default(),
            permute_ties: false,
        }
    }
}

/// `(from: SchemeShard, to: DataShard(3), latency: Constant("5ms"))`; a
/// missing end matches any node.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    #[serde(default)]
    pub from: Option<ActorRef>,
    #[serde(default)]
    pub to: Option<ActorRef>,
    pub latency: LatencySpec,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RandomPartitionSpec {
    pub count: u32,
    pub length: DurationRange,
    /// Probability that a drawn partition is one-way.
    pub one_way: Chance,
}

impl Default for RandomPartitionSpec {
    fn default() -> Self {
        RandomPartitionSpec {
            count: 0,
            length: DurationRange { min: Duration(20_000), max: Duration(200_000) },
            one_way: Chance::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DurationRange {
    pub min: Duration,
    pub max: Duration,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TabletSpec {
    pub commit_latency: LatencySpec,
    pub read_latency: LatencySpec,
    /// Backup reads that fail transiently / fatally.
    pub read_transient: Chance,
    pub read_fatal: Chance,
    /// Per tablet event: the tablet crashes and stays down `crash_down`.
    pub crash: Chance,
    pub crash_down: LatencySpec,
    /// Per tablet event: the tablet restarts at once.
    pub restart: Chance,
    /// Per commit: durable, but the completion is dropped and the tablet restarts.
    pub kill_on_commit: Chance,
    /// Per commit: it takes `slow_commit_delay` longer (and the commits behind it).
    pub slow_commit: Chance,
    pub slow_commit_delay: LatencySpec,
    /// Per AllocateTxId: the TxAllocator answers empty ("ask again").
    pub allocator_empty: Chance,
}

impl Default for TabletSpec {
    fn default() -> Self {
        TabletSpec {
            commit_latency: LatencySpec::Uniform { min: Duration(300), max: Duration(1_500) },
            read_latency: LatencySpec::Uniform { min: Duration(100), max: Duration(800) },
            read_transient: Chance::default(),
            read_fatal: Chance::default(),
            crash: Chance::default(),
            crash_down: LatencySpec::Uniform { min: Duration(1_000), max: Duration(50_000) },
            restart: Chance::default(),
            kill_on_commit: Chance::default(),
            slow_commit: Chance::default(),
            slow_commit_delay: LatencySpec::Uniform { min: Duration(5_000), max: Duration(50_000) },
            allocator_empty: Chance::default(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct FaultSpec {
    /// Faults happen in `[from, until)`; then the liveness phase.
    pub window: WindowSpec,
    pub restarts: Vec<RestartSpec>,
    pub partitions: Vec<PartitionSpec>,
    /// Swarm mode: each seed draws which fault families are on and how hard.
    pub swarm: Option<SwarmSpec>,
    /// A fault tape (see `super::tape`): with one, the run takes exactly
    /// these faults, and no random fault or trigger.
    pub tape: Option<Vec<super::tape::TapeFaultSpec>>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct WindowSpec {
    pub from: Duration,
    pub until: Duration,
}

impl Default for WindowSpec {
    fn default() -> Self {
        WindowSpec { from: Duration(0), until: Duration(10_000_000) }
    }
}

/// "Restart DataShard 3 when the op enters Applying of incremental 2":
/// `(tablet: DataShard(3), when: OpEnters(state: Applying, incr: 2))`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RestartSpec {
    pub tablet: TabletRef,
    pub when: Trigger,
    #[serde(default)]
    pub kind: RestartKind,
    /// How long the tablet stays down before it boots again.
    #[serde(default)]
    pub down: Duration,
}

impl RestartSpec {
    /// A plain restart (`kind: Restart`).
    pub fn restart(tablet: TabletRef, when: Trigger, down: Duration) -> RestartSpec {
        RestartSpec { tablet, when, kind: RestartKind::Restart, down }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum RestartKind {
    /// Crash at the trigger, stay down `down`, boot.
    #[default]
    Restart,
    /// At the first commit to complete from the trigger on (with `AtCommit(k)`:
    /// the k-th), make it durable, drop its completion, and restart.
    KillOnCommit,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum TabletRef {
    SchemeShard,
    TxAllocator,
    /// By global shard index (shards are numbered across tables).
    DataShard(u32),
}

/// Any node: a tablet or the Client.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActorRef {
    Client,
    SchemeShard,
    TxAllocator,
    DataShard(u32),
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum Trigger {
    /// At a virtual time.
    At(Duration),
    /// When an operation (any) enters `state` of incremental `incr`.
    OpEnters { state: OpStateName, incr: u32 },
    /// When DataShard `shard` has durably applied `batches` batches of an incremental.
    AfterBatches { shard: u32, batches: u32 },
    /// Right after the tablet handled its k-th event (1-based, over its
    /// life, boots included).
    AtEvent(u64),
    /// Right after the tablet's k-th commit completed (1-based, over its life).
    AtCommit(u64),
}

/// `OpState` as a scenario writes it: a mirror, so `model/` needs no serde.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum OpStateName {
    Allocating,
    Proposing,
    Waiting,
    Applying,
    Done,
    Failed,
}

/// `(nodes: [DataShard(1), DataShard(2)], from: "100ms", until: "300ms")`:
/// those nodes are cut off from the rest in the window (with `one_way`,
/// only their messages out are lost).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PartitionSpec {
    pub nodes: Vec<ActorRef>,
    pub from: Duration,
    pub until: Duration,
    #[serde(default)]
    pub one_way: bool,
}

/// Swarm mode: per seed, each family is on with probability `on`, at a rate
/// drawn uniformly in `min..=max`. The drawn rates replace the scenario's
/// own rates of those families; triggered restarts and fixed partitions
/// stay. Every field has a default, so `swarm: ()` swarms every family.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SwarmSpec {
    pub loss: SwarmFamily,
    /// Probability that the seed's losses are detected (the pipe breaks).
    pub loss_detected: Chance,
    pub duplicate: SwarmFamily,
    pub reorder: SwarmFamily,
    pub partitions: SwarmPartitions,
    pub crash: SwarmFamily,
    pub restart: SwarmFamily,
    pub kill_on_commit: SwarmFamily,
    pub slow_commit: SwarmFamily,
    pub allocator_empty: SwarmFamily,
    pub read_transient: SwarmFamily,
    pub read_fatal: SwarmFamily,
}

fn family(on: u32, min_ppm: u32, max_ppm: u32) -> SwarmFamily {
    let ppm = |n| Chance(crate::engine::Ratio::new(n, 1_000_000));
    SwarmFamily { on: Chance(crate::engine::Ratio::new(on, 100)), min: ppm(min_ppm), max: ppm(max_ppm) }
}

impl Default for SwarmSpec {
    fn default() -> Self {
        SwarmSpec {
            loss: family(50, 1_000, 50_000),
            loss_detected: Chance(crate::engine::Ratio::new(1, 2)),
            duplicate: family(50, 1_000, 50_000),
            reorder: family(50, 1_000, 50_000),
            partitions: SwarmPartitions::default(),
            crash: family(40, 100, 5_000),
            restart: family(40, 100, 5_000),
            kill_on_commit: family(40, 100, 10_000),
            slow_commit: family(40, 1_000, 50_000),
            allocator_empty: family(40, 10_000, 300_000),
            read_transient: family(40, 1_000, 50_000),
            read_fatal: family(5, 100, 2_000),
        }
    }
}

/// One swarmed family: on with probability `on`, then a rate in `min..=max`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SwarmFamily {
    pub on: Chance,
    pub min: Chance,
    pub max: Chance,
}

/// Swarmed random partitions: on with probability `on`, then `count` of
/// them (lengths and one-way-ness as in `network.random_partitions`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SwarmPartitions {
    pub on: Chance,
    pub count: super::MinMax,
}

impl Default for SwarmPartitions {
    fn default() -> Self {
        SwarmPartitions { on: Chance(crate::engine::Ratio::new(1, 3)), count: super::MinMax { min: 1, max: 3 } }
    }
}

/// `coverage: (require: ["restart_mid_applying"])`: goals a run should
/// reach (a sweep fails if no seed reaches one).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CoverageSpec {
    pub require: Vec<String>,
}
