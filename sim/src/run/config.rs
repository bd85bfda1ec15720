//! From a scenario to the configurations of the model and the engine.

use restoresim_model::client::{ClientBehaviour, ClientConfig};
use restoresim_model::knobs::{Backoff, Bug, Bugs, ProgressPersist, ProtocolKnobs, RetryScope};
use restoresim_model::workload::Workload;

use crate::engine::{EngineConfig, Latency};
use crate::scenario::{self, LatencySpec, Scenario};

pub fn knobs(s: &Scenario, extra_bugs: &[Bug]) -> ProtocolKnobs {
    let p = &s.protocol;
    let mut bugs = Bugs::default();
    for bug in s.bugs.iter().filter_map(|b| Bug::from_name(b)).chain(extra_bugs.iter().copied()) {
        bugs = bugs.with(bug);
    }
    ProtocolKnobs {
        resume_from_last_key: p.resume_from_last_key,
        request_rounds: p.request_rounds,
        shard_timeout: p.shard_timeout.map(|d| d.us()),
        retry_scope: match p.retry_scope {
            scenario::RetryScope::Shard => RetryScope::Shard,
            scenario::RetryScope::Stage => RetryScope::Stage,
        },
        max_shards_in_flight: p.max_shards_in_flight,
        backoff: Backoff { initial: p.backoff.initial.us(), max: p.backoff.max.us() },
        deadline_overall: p.deadline_overall.map(|d| d.us()),
        deadline_stage: p.deadline_stage.map(|d| d.us()),
        progress_persist: match p.progress_persist {
            scenario::ProgressPersist::EveryBatch => ProgressPersist::EveryBatch,
            scenario::ProgressPersist::OnShardDone => ProgressPersist::OnShardDone,
        },
        batch_rows: p.batch_rows,
        allocate_timeout: p.allocate_timeout.us(),
        read_retries: p.read_retries,
        bugs,
        flavour: match p.flavour {
            scenario::Flavour::Design => restoresim_model::knobs::Flavour::Design,
            scenario::Flavour::Ydb => restoresim_model::knobs::Flavour::Ydb,
        },
        ydb: {
            let y = p.ydb.clone().unwrap_or_default();
            restoresim_model::ydb::YdbKnobs {
                tables_in_flight: y.tables_in_flight,
                retry_unit: y.retry_unit.us(),
                heartbeat: y.heartbeat.us(),
            }
        },
    }
}

pub fn client(s: &Scenario, workload: &Workload) -> ClientConfig {
    ClientConfig {
        restores: workload.restores.clone(),
        poll_interval: s.client.poll_interval.us(),
        request_timeout: s.client.request_timeout.us(),
        behaviour: ClientBehaviour {
            poll_interval_max: s.client.poll_interval_max.map(|d| d.us()),
            shard_detail: (s.client.shard_detail.0.num, s.client.shard_detail.0.den),
            repeat_key: s.client.repeat_key,
            conflicting_restore: s.client.conflicting_restore,
            forget: s.client.forget,
            polls_after_end: s.client.polls_after_end,
            forget_at_percent: s.client.forget_at_percent,
            drop: s.client.drop.map(|d| restoresim_model::client::ClientDrop {
                after: d.after.us(),
                path: match d.what {
                    // The first restore's table (a rejected request may name none).
                    scenario::DropWhat::Table => restoresim_model::ydb::path_state::SchemePath::Table(
                        workload
                            .restores
                            .first()
                            .and_then(|r| workload.topology.table_by_name(&r.table))
                            .map_or(restoresim_model::ids::TableId(0), |t| t.id),
                    ),
                    scenario::DropWhat::BackupCollection => {
                        restoresim_model::ydb::path_state::SchemePath::BackupCollection
                    }
                },
                retry: d.retry.unwrap_or(s.client.poll_interval).us(),
            }),
        },
    }
}

pub fn latency(spec: LatencySpec) -> Latency {
    match spec {
        LatencySpec::Constant(d) => Latency::Constant(d.us()),
        LatencySpec::Uniform { min, max } => Latency::Uniform { min: min.us(), max: max.us() },
        LatencySpec::Exponential { min, mean } => Latency::Exponential { min: min.us(), mean: mean.us() },
        LatencySpec::Tail { min, max, tail, tail_max } => {
            Latency::Tail { min: min.us(), max: max.us(), tail: tail.0, tail_max: tail_max.us() }
        }
    }
}

/// The engine configuration of a scenario without swarm mode (see
/// `crate::faults::engine_config`, which also applies a swarm profile).
pub fn engine(s: &Scenario) -> EngineConfig {
    crate::faults::engine_config(s, None)
}
