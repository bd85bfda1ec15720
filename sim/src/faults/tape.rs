//! The fault tape as people and `summary.json` read it (docs/design.md §5):
//! every injected fault with its logical anchor, nodes named as actors
//! ("SchemeShard", "DataShard3"). `restoresim replay` reads it back and the
//! engine replays it with random faults off.

use restoresim_model::msg::Actor;
use serde::{Deserialize, Serialize};

use crate::engine::{Anchor, InjectedFault, Micros, NodeId, Partition};
use crate::restore::{CLIENT, TX_ALLOCATOR, actor_of};

/// One fault on the tape: when it was decided, and what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TapeEntry {
    pub at_us: Micros,
    pub fault: TapeFault,
}

/// A fault and its anchor. `nth` counts are 1-based: per directed link for
/// messages, per tablet for reads, requests and commits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TapeFault {
    /// The `nth` message `from → to` was lost (`detected`: its pipe broke).
    Drop {
        from: String,
        to: String,
        nth: u64,
        detected: bool,
    },
    Duplicate {
        from: String,
        to: String,
        nth: u64,
    },
    /// The `nth` message `from → to` was held back `extra_us` (reordered).
    Delay {
        from: String,
        to: String,
        nth: u64,
        extra_us: u64,
    },
    ReadError {
        shard: String,
        nth_read: u64,
        fatal: bool,
    },
    /// The TxAllocator answered its `nth_request`-th AllocateTxId empty.
    AllocatorEmpty {
        nth_request: u64,
    },
    SlowCommit {
        tablet: String,
        nth_commit: u64,
        extra_us: u64,
    },
    /// The tablet's `nth_commit`-th completed commit was durable, its
    /// completion dropped, and the tablet down for `down_us`.
    KillOnCommit {
        tablet: String,
        nth_commit: u64,
        down_us: u64,
    },
    /// The tablet crashed at `anchor` and stayed down `down_us` (0: a restart).
    Restart {
        tablet: String,
        down_us: u64,
        anchor: TapeAnchor,
    },
    Partition {
        nodes: Vec<String>,
        from_us: u64,
        until_us: u64,
        one_way: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TapeAnchor {
    AtUs(Micros),
    /// Right after `node` handled its `event`-th event (boots included).
    AfterEvent {
        node: String,
        event: u64,
    },
    /// Right after the run's `step`-th event (one no node handled).
    AfterStep(u64),
}

/// A tape that does not fit the scenario it is replayed with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault tape entry {index}: {message}")]
pub struct TapeError {
    /// 0-based position in `fault_tape`.
    pub index: usize,
    pub message: String,
}

fn name(node: NodeId) -> String {
    actor_of(node).to_string()
}

/// The engine's fault log as a tape.
pub fn to_tape(faults: &[(Micros, InjectedFault)]) -> Vec<TapeEntry> {
    faults.iter().map(|(at, f)| TapeEntry { at_us: *at, fault: to_entry(f) }).collect()
}

fn to_entry(fault: &InjectedFault) -> TapeFault {
    match fault.clone() {
        InjectedFault::Drop { from, to, nth, detected } => {
            TapeFault::Drop { from: name(from), to: name(to), nth, detected }
        }
        InjectedFault::Duplicate { from, to, nth } => TapeFault::Duplicate { from: name(from), to: name(to), nth },
        InjectedFault::Delay { from, to, nth, extra } => {
            TapeFault::Delay { from: name(from), to: name(to), nth, extra_us: extra }
        }
        InjectedFault::ReadError { node, nth, fatal } => {
            TapeFault::ReadError { shard: name(node), nth_read: nth, fatal }
        }
        InjectedFault::Refuse { nth, .. } => TapeFault::AllocatorEmpty { nth_request: nth },
        InjectedFault::SlowCommit { node, nth, extra } => {
            TapeFault::SlowCommit { tablet: name(node), nth_commit: nth, extra_us: extra }
        }
        InjectedFault::KillOnCommit { node, nth, down } => {
            TapeFault::KillOnCommit { tablet: name(node), nth_commit: nth, down_us: down }
        }
        InjectedFault::Restart { node, down, anchor } => {
            let anchor = match anchor {
                Anchor::At(t) => TapeAnchor::AtUs(t),
                Anchor::AfterEvent { node, event } => TapeAnchor::AfterEvent { node: name(node), event },
                Anchor::AfterStep { step } => TapeAnchor::AfterStep(step),
            };
            TapeFault::Restart { tablet: name(node), down_us: down, anchor }
        }
        InjectedFault::Partition(p) => TapeFault::Partition {
            nodes: p.nodes.into_iter().map(name).collect(),
            from_us: p.from,
            until_us: p.until,
            one_way: p.one_way,
        },
    }
}

/// A digest of a tape as a set of faults (order-free: a tape's order only
/// matters between restarts at one anchor, which the set keeps apart).
/// `summary.json` records it, so `replay` can tell a capsule whose tape was
/// edited (a new experiment) from one whose run moved (nondeterminism).
pub fn digest(faults: &[InjectedFault]) -> u64 {
    let mut each: Vec<u64> = faults.iter().map(crate::engine::trace::digest).collect();
    each.sort_unstable();
    crate::engine::trace::digest(&each)
}

/// Reads a tape back for a system of `nodes` nodes; every name must be a
/// node of it, every crashed node a tablet.
pub fn from_tape(tape: &[TapeEntry], nodes: u32) -> Result<Vec<InjectedFault>, TapeError> {
    tape.iter()
        .enumerate()
        .map(|(index, e)| from_entry(&e.fault, nodes).map_err(|message| TapeError { index, message }))
        .collect()
}

fn from_entry(fault: &TapeFault, nodes: u32) -> Result<InjectedFault, String> {
    let node = |s: &str| parse_node(s, nodes);
    let tablet = |s: &str| {
        let n = parse_node(s, nodes)?;
        if n == CLIENT { Err("the Client is not a tablet: it never crashes or commits".to_string()) } else { Ok(n) }
    };
    let nth = |n: u64| if n == 0 { Err("counts are 1-based: 0 never happens".to_string()) } else { Ok(n) };
    Ok(match fault {
        TapeFault::Drop { from, to, nth: n, detected } => {
            InjectedFault::Drop { from: node(from)?, to: node(to)?, nth: nth(*n)?, detected: *detected }
        }
        TapeFault::Duplicate { from, to, nth: n } => {
            InjectedFault::Duplicate { from: node(from)?, to: node(to)?, nth: nth(*n)? }
        }
        TapeFault::Delay { from, to, nth: n, extra_us } => {
            InjectedFault::Delay { from: node(from)?, to: node(to)?, nth: nth(*n)?, extra: *extra_us }
        }
        TapeFault::ReadError { shard, nth_read, fatal } => {
            InjectedFault::ReadError { node: tablet(shard)?, nth: nth(*nth_read)?, fatal: *fatal }
        }
        TapeFault::AllocatorEmpty { nth_request } => {
            InjectedFault::Refuse { node: TX_ALLOCATOR, nth: nth(*nth_request)? }
        }
        TapeFault::SlowCommit { tablet: t, nth_commit, extra_us } => {
            InjectedFault::SlowCommit { node: tablet(t)?, nth: nth(*nth_commit)?, extra: *extra_us }
        }
        TapeFault::KillOnCommit { tablet: t, nth_commit, down_us } => {
            InjectedFault::KillOnCommit { node: tablet(t)?, nth: nth(*nth_commit)?, down: *down_us }
        }
        TapeFault::Restart { tablet: t, down_us, anchor } => {
            let anchor = match anchor {
                TapeAnchor::AtUs(t) => Anchor::At(*t),
                TapeAnchor::AfterEvent { node: n, event } => Anchor::AfterEvent { node: node(n)?, event: nth(*event)? },
                TapeAnchor::AfterStep(step) => Anchor::AfterStep { step: nth(*step)? },
            };
            InjectedFault::Restart { node: tablet(t)?, down: *down_us, anchor }
        }
        TapeFault::Partition { nodes: names, from_us, until_us, one_way } => {
            let mut ids = names.iter().map(|s| node(s)).collect::<Result<Vec<_>, _>>()?;
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() || from_us >= until_us {
                return Err("a partition needs nodes and from_us < until_us".into());
            }
            InjectedFault::Partition(Partition { nodes: ids, from: *from_us, until: *until_us, one_way: *one_way })
        }
    })
}

/// "Client", "SchemeShard", "TxAllocator", "DataShard7" → node id.
pub fn parse_node(text: &str, nodes: u32) -> Result<NodeId, String> {
    let actor = match text {
        "Client" => Some(Actor::Client),
        "SchemeShard" => Some(Actor::SchemeShard),
        "TxAllocator" => Some(Actor::TxAllocator),
        _ => text
            .strip_prefix("DataShard")
            .map(|n| n.trim_start_matches('(').trim_end_matches(')'))
            .and_then(|n| n.parse().ok())
            .map(|n| Actor::DataShard(restoresim_model::ids::ShardIdx(n))),
    };
    let node = actor.map(crate::restore::node_of).ok_or_else(|| {
        format!("\"{text}\" names no node; expected Client, SchemeShard, TxAllocator or DataShard<n>")
    })?;
    if node >= nodes {
        return Err(format!("\"{text}\" does not exist in this scenario ({} DataShards)", nodes.saturating_sub(3)));
    }
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_round_trips_through_json() {
        let faults = vec![
            (1, InjectedFault::Drop { from: 1, to: 4, nth: 3, detected: true }),
            (2, InjectedFault::Duplicate { from: 0, to: 1, nth: 1 }),
            (3, InjectedFault::Delay { from: 4, to: 1, nth: 2, extra: 700 }),
            (4, InjectedFault::ReadError { node: 5, nth: 9, fatal: false }),
            (5, InjectedFault::Refuse { node: TX_ALLOCATOR, nth: 2 }),
            (6, InjectedFault::SlowCommit { node: 1, nth: 4, extra: 9_000 }),
            (7, InjectedFault::KillOnCommit { node: 3, nth: 5, down: 0 }),
            (8, InjectedFault::Restart { node: 6, down: 20, anchor: Anchor::AfterEvent { node: 1, event: 57 } }),
            (9, InjectedFault::Restart { node: 1, down: 0, anchor: Anchor::At(1_000) }),
            (10, InjectedFault::Restart { node: 2, down: 0, anchor: Anchor::AfterStep { step: 12 } }),
            (11, InjectedFault::Partition(Partition { nodes: vec![0, 4], from: 5, until: 50, one_way: true })),
        ];
        let tape = to_tape(&faults);
        let json = serde_json::to_string(&tape).unwrap();
        let back: Vec<TapeEntry> = serde_json::from_str(&json).unwrap();
        let engine: Vec<_> = faults.into_iter().map(|(_, f)| f).collect();
        assert_eq!(from_tape(&back, 8).unwrap(), engine);
        assert!(
            json.contains(r#"{"drop":{"from":"SchemeShard","to":"DataShard1","nth":3,"detected":true}}"#),
            "{json}"
        );
    }

    #[test]
    fn bad_names_and_counts_are_errors_not_panics() {
        let entry = |fault| TapeEntry { at_us: 0, fault };
        let bad = [
            TapeFault::Duplicate { from: "Nobody".into(), to: "SchemeShard".into(), nth: 1 },
            TapeFault::Duplicate { from: "DataShard99".into(), to: "SchemeShard".into(), nth: 1 },
            TapeFault::KillOnCommit { tablet: "Client".into(), nth_commit: 1, down_us: 0 },
            TapeFault::AllocatorEmpty { nth_request: 0 },
            TapeFault::Partition { nodes: vec![], from_us: 0, until_us: 1, one_way: false },
        ];
        for (i, fault) in bad.into_iter().enumerate() {
            let e = from_tape(&[entry(fault)], 8).expect_err("rejected");
            assert_eq!(e.index, 0, "case {i}: {e}");
        }
    }
}
