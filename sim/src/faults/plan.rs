//! From a scenario's fault plan to the engine's configuration: node ids of
//! the actors a scenario names, the network and tablet fault rates, fixed
//! partitions, and — in swarm mode — the seed's drawn profile in place of
//! the scenario's own rates.

use restoresim_model::ids::ShardIdx;
use restoresim_model::msg::Actor;

use super::swarm::SwarmProfile;
use crate::engine::{
    EngineConfig, FaultWindow, LinkLatency, NetworkConfig, NodeId, Partition, RandomPartitions, TabletFaults,
};
use crate::restore::{SCHEMESHARD, TX_ALLOCATOR, node_of};
use crate::run::config::latency;
use crate::scenario::{ActorRef, Scenario, TabletRef};

pub fn tablet_node(t: TabletRef) -> NodeId {
    match t {
        TabletRef::SchemeShard => SCHEMESHARD,
        TabletRef::TxAllocator => TX_ALLOCATOR,
        TabletRef::DataShard(n) => node_of(Actor::DataShard(ShardIdx(n))),
    }
}

pub fn actor_node(a: ActorRef) -> NodeId {
    match a {
        ActorRef::Client => node_of(Actor::Client),
        ActorRef::SchemeShard => SCHEMESHARD,
        ActorRef::TxAllocator => TX_ALLOCATOR,
        ActorRef::DataShard(n) => node_of(Actor::DataShard(ShardIdx(n))),
    }
}

/// The engine configuration of `s`, with `swarm`'s rates if it is swarmed.
pub fn engine_config(s: &Scenario, swarm: Option<&SwarmProfile>) -> EngineConfig {
    let n = &s.network;
    let t = &s.tablets;
    let window = FaultWindow { from: s.faults.window.from.us(), until: s.faults.window.until.us() };
    let partitions = s
        .faults
        .partitions
        .iter()
        .map(|p| {
            let mut nodes: Vec<NodeId> = p.nodes.iter().map(|a| actor_node(*a)).collect();
            nodes.sort_unstable();
            nodes.dedup();
            Partition { nodes, from: p.from.us(), until: p.until.us(), one_way: p.one_way }
        })
        .collect();
    let random = &n.random_partitions;
    let mut config = EngineConfig {
        network: NetworkConfig {
            latency: latency(n.latency),
            links: n
                .links
                .iter()
                .map(|l| LinkLatency {
                    from: l.from.map(actor_node),
                    to: l.to.map(actor_node),
                    latency: latency(l.latency),
                })
                .collect(),
            loss: n.loss.0,
            loss_detected: n.loss_detected,
            duplicate: n.duplicate.0,
            reorder: n.reorder.0,
            reorder_delay: latency(n.reorder_delay),
            reset_notify: n.reset_notify.us(),
            partitions,
            random_partitions: RandomPartitions {
                count: random.count,
                min_len: random.length.min.us(),
                max_len: random.length.max.us(),
                one_way: random.one_way.0,
            },
        },
        commit_latency: latency(t.commit_latency),
        io_latency: latency(t.read_latency),
        window,
        io_transient: t.read_transient.0,
        io_fatal: t.read_fatal.0,
        tablets: TabletFaults {
            crash: t.crash.0,
            crash_down: latency(t.crash_down),
            restart: t.restart.0,
            kill_on_commit: t.kill_on_commit.0,
            slow_commit: t.slow_commit.0,
            slow_commit_delay: latency(t.slow_commit_delay),
            refuse: t.allocator_empty.0,
        },
        permute_ties: n.permute_ties,
    };
    if let Some(profile) = swarm {
        profile.apply(&mut config);
    }
    config
}
