//! Scenario files (docs/design.md §7): one RON file = one workload, one fault
//! plan, protocol knobs, checks and budgets. Every field but `name` has a
//! default; unknown fields are errors; durations are written `"150ms"` and
//! probabilities `"1%"`.

mod faults;
pub mod limits;
mod load;
pub mod locate;
pub mod swarm;
pub mod tape;
pub mod units;
pub mod validate;

use serde::{Deserialize, Serialize};

pub use faults::{
    ActorRef, CoverageSpec, DurationRange, FaultSpec, LinkSpec, NetworkSpec, OpStateName, PartitionSpec,
    RandomPartitionSpec, RestartKind, RestartSpec, SwarmFamily, SwarmPartitions, SwarmSpec, TabletRef, TabletSpec,
    Trigger, WindowSpec,
};
pub use load::{ScenarioError, load, load_text, parse, read_bounded};
pub use units::{Chance, Duration};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The seed `run` uses when none is given.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub workload: WorkloadSpec,
    /// Restores the Client asks for; default: one of the first table, at 0.
    #[serde(default)]
    pub restores: Vec<RestoreSpec>,
    #[serde(default)]
    pub client: ClientSpec,
    #[serde(default)]
    pub protocol: ProtocolSpec,
    /// Planted bugs by name (see `restoresim_model::knobs::Bug`).
    #[serde(default)]
    pub bugs: Vec<String>,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default)]
    pub tablets: TabletSpec,
    #[serde(default)]
    pub faults: FaultSpec,
    #[serde(default)]
    pub budgets: Budgets,
    #[serde(default)]
    pub expect: Expect,
    /// Coverage goals a run (or a sweep, across its seeds) must reach.
    #[serde(default)]
    pub coverage: CoverageSpec,
    /// The configuration swarm: knobs and workload drawn per seed
    /// (`scenario/swarm.rs`, `crate::swarm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<swarm::ConfigSwarm>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadSpec {
    pub tables: Vec<TableSpec>,
    /// Keys are drawn from `0..key_space`.
    pub key_space: u64,
    /// Rows of the full backup, per table.
    pub rows: u64,
    pub incrementals: u32,
    /// Changes per incremental, drawn from `min..=max`.
    pub changes: MinMax,
    pub erase: Chance,
    /// An upsert writes only some columns.
    pub partial: Chance,
    /// A change targets a key not in the table (rather than an existing row).
    pub new_keys: Chance,
    /// An incremental is empty.
    pub empty_incremental: Chance,
    pub keys: KeyDistribution,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            tables: vec![TableSpec { name: "table".into(), shards: 4 }],
            key_space: 100_000,
            rows: 1_000,
            incrementals: 3,
            changes: MinMax { min: 100, max: 300 },
            erase: Chance(crate::engine::Ratio::new(1, 10)),
            partial: Chance(crate::engine::Ratio::new(1, 2)),
            new_keys: Chance(crate::engine::Ratio::new(1, 5)),
            empty_incremental: Chance::default(),
            keys: KeyDistribution::Uniform,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub name: String,
    pub shards: u32,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MinMax {
    pub min: u64,
    pub max: u64,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum KeyDistribution {
    Uniform,
    /// With probability `hot`, a key from the first `span` of the key space.
    Skewed {
        hot: Chance,
        span: Chance,
    },
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RestoreSpec {
    pub table: String,
    #[serde(default)]
    pub at: Duration,
    /// Incrementals to apply; default: all of the table's, `[1, 2, ..., K]`.
    #[serde(default)]
    pub backups: Option<Vec<u32>>,
    /// A deliberately bad request, to test the coordinator's validation:
    /// the load-time checks of `table` and `backups` are skipped, and the
    /// run fails unless the coordinator rejects it with this status.
    #[serde(default)]
    pub expect_rejection: Option<RejectName>,
}

impl RestoreSpec {
    /// A restore of every incremental of `table`, at 0.
    pub fn of(table: &str) -> RestoreSpec {
        RestoreSpec { table: table.to_string(), at: Duration(0), backups: None, expect_rejection: None }
    }
}

/// `RejectStatus` as a scenario writes it (a mirror: `model/` needs no serde).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum RejectName {
    PathDoesNotExist,
    BadRequest,
    MultipleModifications,
}

impl RejectName {
    pub fn status(self) -> restoresim_model::msg::RejectStatus {
        use restoresim_model::msg::RejectStatus;
        match self {
            RejectName::PathDoesNotExist => RejectStatus::PathDoesNotExist,
            RejectName::BadRequest => RejectStatus::BadRequest,
            RejectName::MultipleModifications => RejectStatus::MultipleModifications,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ClientSpec {
    pub poll_interval: Duration,
    pub request_timeout: Duration,
    /// Poll at random intervals: each wait drawn in `[poll_interval, poll_interval_max]`.
    pub poll_interval_max: Option<Duration>,
    /// The chance that a poll asks for per-shard detail.
    pub shard_detail: Chance,
    /// Once accepted, send the same request (same idempotency key) again.
    pub repeat_key: bool,
    /// Once accepted, ask for a second restore of the same table (it must be refused).
    pub conflicting_restore: bool,
    /// Forget once before the end (refused) and once after it (granted).
    pub forget: bool,
    /// Polls after the end (the answer must not change).
    pub polls_after_end: u32,
    /// Forget once as soon as an answer reports at least this whole
    /// percent while running (a user who takes YDB's 99 % for done).
    pub forget_at_percent: Option<u32>,
    /// YDB flavour: DROP a path while the restore may hold it
    /// (`(after: "5ms", what: Table | BackupCollection)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop: Option<DropSpec>,
}

/// `client: (drop: (...))`: DROP TABLE (the first restore's table) or DROP
/// BACKUP COLLECTION, `after` the first restore was answered; refused while
/// a restore holds the path and sent again `retry` later (default: the
/// poll interval) until dropped.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DropSpec {
    pub after: Duration,
    pub what: DropWhat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Duration>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum DropWhat {
    Table,
    BackupCollection,
}

impl Default for ClientSpec {
    fn default() -> Self {
        ClientSpec {
            poll_interval: Duration(20_000),
            request_timeout: Duration(500_000),
            poll_interval_max: None,
            shard_detail: Chance::default(),
            repeat_key: false,
            conflicting_restore: false,
            forget: false,
            polls_after_end: 0,
            forget_at_percent: None,
            drop: None,
        }
    }
}

/// The protocol knobs of docs/design.md §4.6 as a scenario writes them (durations
/// with units); defaults are taken from `ProtocolKnobs::default()`, the design
/// document's. A mirror, so `model/` needs no serde; `run/config.rs` maps it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolSpec {
    pub resume_from_last_key: bool,
    pub request_rounds: bool,
    pub shard_timeout: Option<Duration>,
    pub retry_scope: RetryScope,
    pub max_shards_in_flight: Option<u32>,
    pub backoff: BackoffSpec,
    pub deadline_overall: Option<Duration>,
    pub deadline_stage: Option<Duration>,
    pub progress_persist: ProgressPersist,
    pub batch_rows: u32,
    pub allocate_timeout: Duration,
    pub read_retries: u32,
    /// Which protocol the tablets run (`Ydb`: docs/ydb-flavour.md).
    #[serde(skip_serializing_if = "Flavour::is_design")]
    pub flavour: Flavour,
    /// Knobs of the YDB flavour only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ydb: Option<YdbSpec>,
}

/// The protocol flavour: the design's, or YDB's as shipped.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum Flavour {
    #[default]
    Design,
    Ydb,
}

impl Flavour {
    pub fn is_design(&self) -> bool {
        *self == Flavour::Design
    }
}

/// `protocol: (flavour: Ydb, ydb: (...))`: the YDB flavour's own knobs.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct YdbSpec {
    /// `MaxIncrementalRestoreTablesInFlight`; `None` = unbounded.
    pub tables_in_flight: Option<u32>,
    /// The stage-retry backoff waits 2, 4, 8 of these (YDB: 1 s).
    pub retry_unit: Duration,
    /// The orchestrator's self-heartbeat (YDB: 1 s).
    pub heartbeat: Duration,
}

impl Default for YdbSpec {
    fn default() -> Self {
        let k = restoresim_model::ydb::YdbKnobs::default();
        YdbSpec {
            tables_in_flight: k.tables_in_flight,
            retry_unit: Duration(k.retry_unit),
            heartbeat: Duration(k.heartbeat),
        }
    }
}

impl Default for ProtocolSpec {
    fn default() -> Self {
        let k = restoresim_model::knobs::ProtocolKnobs::default();
        ProtocolSpec {
            resume_from_last_key: k.resume_from_last_key,
            request_rounds: k.request_rounds,
            shard_timeout: k.shard_timeout.map(Duration),
            retry_scope: RetryScope::Shard,
            max_shards_in_flight: k.max_shards_in_flight,
            backoff: BackoffSpec { initial: Duration(k.backoff.initial), max: Duration(k.backoff.max) },
            deadline_overall: None,
            deadline_stage: None,
            progress_persist: ProgressPersist::EveryBatch,
            batch_rows: k.batch_rows,
            allocate_timeout: Duration(k.allocate_timeout),
            read_retries: k.read_retries,
            flavour: Flavour::Design,
            ydb: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum RetryScope {
    Shard,
    Stage,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum ProgressPersist {
    EveryBatch,
    OnShardDone,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackoffSpec {
    pub initial: Duration,
    pub max: Duration,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum LatencySpec {
    Constant(Duration),
    Uniform { min: Duration, max: Duration },
    Exponential { min: Duration, mean: Duration },
    Tail { min: Duration, max: Duration, tail: Chance, tail_max: Duration },
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Budgets {
    pub max_events: u64,
    pub max_virtual_time: Duration,
    /// Every accepted restore must end this long after the fault window closes.
    pub liveness_bound: Duration,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            max_events: 50_000_000,
            max_virtual_time: Duration(3_600_000_000),
            liveness_bound: Duration(60_000_000),
        }
    }
}

/// What a passing run must also show.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
pub enum Expect {
    /// Every restore ends Done or Failed (a Failed with an error is legal).
    #[default]
    Terminal,
    /// Every restore ends Done.
    AllDone,
}
