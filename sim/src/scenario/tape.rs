//! A fault tape written in a scenario: `faults: (tape: [...])`. A scenario
//! that carries one runs *from the tape*, as `restoresim replay` does: the
//! listed faults at their logical anchors, no random fault, no trigger. It
//! is how `restoresim shrink` writes a minimal failing run as one
//! standalone file (`restoresim run scenario.ron --seed N` reproduces it),
//! and how a person writes "drop exactly that message" by hand.
//!
//! ```ron
//! faults: (tape: [
//!     Drop(from: SchemeShard, to: DataShard(3), nth: 12),
//!     Restart(tablet: DataShard(2), down: "20ms", at: AfterEvent(node: SchemeShard, nth: 40)),
//!     KillOnCommit(tablet: SchemeShard, nth: 7),
//! ])
//! ```
//!
//! Counts are 1-based, as on the fault tape of `summary.json`: messages per
//! directed link, reads, AllocateTxId requests and commits per tablet, and
//! a restart's `AfterEvent` the node's events (boots included).

use restoresim_model::msg::Actor;
use serde::{Deserialize, Serialize};

use super::faults::{ActorRef, TabletRef};
use super::units::Duration;
use crate::engine::{Anchor, InjectedFault, NodeId, Partition};
use crate::faults::plan::{actor_node, tablet_node};
use crate::restore::{TX_ALLOCATOR, actor_of};

/// One fault of a scenario's tape.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub enum TapeFaultSpec {
    /// The `nth` message `from → to` is lost (`detected`: its pipe breaks).
    Drop {
        from: ActorRef,
        to: ActorRef,
        nth: u64,
        #[serde(default = "yes")]
        detected: bool,
    },
    Duplicate {
        from: ActorRef,
        to: ActorRef,
        nth: u64,
    },
    /// The `nth` message `from → to` is held back `extra` (later ones overtake it).
    Delay {
        from: ActorRef,
        to: ActorRef,
        nth: u64,
        extra: Duration,
    },
    /// The shard's `nth` backup read fails.
    ReadError {
        shard: TabletRef,
        nth: u64,
        #[serde(default)]
        fatal: bool,
    },
    /// The TxAllocator answers its `nth` AllocateTxId empty.
    AllocatorEmpty {
        nth: u64,
    },
    /// The tablet's `nth` commit issued takes `extra` longer.
    SlowCommit {
        tablet: TabletRef,
        nth: u64,
        extra: Duration,
    },
    /// The tablet's `nth` completed commit is durable, its completion
    /// dropped, and the tablet down for `down`.
    KillOnCommit {
        tablet: TabletRef,
        nth: u64,
        #[serde(default)]
        down: Duration,
    },
    /// The tablet crashes at `at` and stays down `down` (0: a restart).
    Restart {
        tablet: TabletRef,
        #[serde(default)]
        down: Duration,
        at: TapeAnchorSpec,
    },
    Partition {
        nodes: Vec<ActorRef>,
        from: Duration,
        until: Duration,
        #[serde(default)]
        one_way: bool,
    },
}

fn yes() -> bool {
    true
}

/// When a tape's restart happens.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub enum TapeAnchorSpec {
    /// At a virtual time.
    Time(Duration),
    /// Right after `node` handled its `nth` event (boots included).
    AfterEvent { node: ActorRef, nth: u64 },
    /// Right after the run's `nth` event, one no node handled (exact, not logical).
    AfterStep(u64),
}

/// The engine's form of a scenario tape. The scenario was checked at load
/// (`check`), so every node exists.
pub fn to_faults(tape: &[TapeFaultSpec]) -> Vec<InjectedFault> {
    tape.iter().map(to_fault).collect()
}

fn to_fault(spec: &TapeFaultSpec) -> InjectedFault {
    let node = |a: &ActorRef| actor_node(*a);
    match spec {
        TapeFaultSpec::Drop { from, to, nth, detected } => {
            InjectedFault::Drop { from: node(from), to: node(to), nth: *nth, detected: *detected }
        }
        TapeFaultSpec::Duplicate { from, to, nth } => {
            InjectedFault::Duplicate { from: node(from), to: node(to), nth: *nth }
        }
        TapeFaultSpec::Delay { from, to, nth, extra } => {
            InjectedFault::Delay { from: node(from), to: node(to), nth: *nth, extra: extra.us() }
        }
        TapeFaultSpec::ReadError { shard, nth, fatal } => {
            InjectedFault::ReadError { node: tablet_node(*shard), nth: *nth, fatal: *fatal }
        }
        TapeFaultSpec::AllocatorEmpty { nth } => InjectedFault::Refuse { node: TX_ALLOCATOR, nth: *nth },
        TapeFaultSpec::SlowCommit { tablet, nth, extra } => {
            InjectedFault::SlowCommit { node: tablet_node(*tablet), nth: *nth, extra: extra.us() }
        }
        TapeFaultSpec::KillOnCommit { tablet, nth, down } => {
            InjectedFault::KillOnCommit { node: tablet_node(*tablet), nth: *nth, down: down.us() }
        }
        TapeFaultSpec::Restart { tablet, down, at } => {
            let anchor = match *at {
                TapeAnchorSpec::Time(t) => Anchor::At(t.us()),
                TapeAnchorSpec::AfterEvent { node: n, nth } => Anchor::AfterEvent { node: node(&n), event: nth },
                TapeAnchorSpec::AfterStep(step) => Anchor::AfterStep { step },
            };
            InjectedFault::Restart { node: tablet_node(*tablet), down: down.us(), anchor }
        }
        TapeFaultSpec::Partition { nodes, from, until, one_way } => {
            let mut ids: Vec<NodeId> = nodes.iter().map(node).collect();
            ids.sort_unstable();
            ids.dedup();
            InjectedFault::Partition(Partition { nodes: ids, from: from.us(), until: until.us(), one_way: *one_way })
        }
    }
}

fn actor_ref(node: NodeId) -> ActorRef {
    match actor_of(node) {
        Actor::Client => ActorRef::Client,
        Actor::SchemeShard => ActorRef::SchemeShard,
        Actor::TxAllocator => ActorRef::TxAllocator,
        Actor::DataShard(s) => ActorRef::DataShard(s.0),
    }
}

fn tablet_ref(node: NodeId) -> TabletRef {
    match actor_ref(node) {
        ActorRef::SchemeShard => TabletRef::SchemeShard,
        ActorRef::TxAllocator => TabletRef::TxAllocator,
        ActorRef::DataShard(n) => TabletRef::DataShard(n),
        ActorRef::Client => unreachable!("the engine never crashes or commits on the Client"),
    }
}

/// A run's faults (`RunReport::fault_tape`) as a scenario writes them.
pub fn from_faults(faults: &[InjectedFault]) -> Vec<TapeFaultSpec> {
    faults.iter().map(from_fault).collect()
}

fn from_fault(f: &InjectedFault) -> TapeFaultSpec {
    let d = Duration;
    match f.clone() {
        InjectedFault::Drop { from, to, nth, detected } => {
            TapeFaultSpec::Drop { from: actor_ref(from), to: actor_ref(to), nth, detected }
        }
        InjectedFault::Duplicate { from, to, nth } => {
            TapeFaultSpec::Duplicate { from: actor_ref(from), to: actor_ref(to), nth }
        }
        InjectedFault::Delay { from, to, nth, extra } => {
            TapeFaultSpec::Delay { from: actor_ref(from), to: actor_ref(to), nth, extra: d(extra) }
        }
        InjectedFault::ReadError { node, nth, fatal } => {
            TapeFaultSpec::ReadError { shard: tablet_ref(node), nth, fatal }
        }
        InjectedFault::Refuse { nth, .. } => TapeFaultSpec::AllocatorEmpty { nth },
        InjectedFault::SlowCommit { node, nth, extra } => {
            TapeFaultSpec::SlowCommit { tablet: tablet_ref(node), nth, extra: d(extra) }
        }
        InjectedFault::KillOnCommit { node, nth, down } => {
            TapeFaultSpec::KillOnCommit { tablet: tablet_ref(node), nth, down: d(down) }
        }
        InjectedFault::Restart { node, down, anchor } => {
            let at = match anchor {
                Anchor::At(t) => TapeAnchorSpec::Time(d(t)),
                Anchor::AfterEvent { node, event } => TapeAnchorSpec::AfterEvent { node: actor_ref(node), nth: event },
                Anchor::AfterStep { step } => TapeAnchorSpec::AfterStep(step),
            };
            TapeFaultSpec::Restart { tablet: tablet_ref(node), down: d(down), at }
        }
        InjectedFault::Partition(p) => TapeFaultSpec::Partition {
            nodes: p.nodes.into_iter().map(actor_ref).collect(),
            from: d(p.from),
            until: d(p.until),
            one_way: p.one_way,
        },
    }
}

/// Load-time checks of a scenario's tape: every shard exists, counts are
/// 1-based, partitions have nodes and last. On failure: text to locate, and
/// what was expected.
pub(super) fn check(tape: &[TapeFaultSpec], total_shards: u32) -> Result<(), (String, String)> {
    let exists = |n: u32| {
        if n < total_shards {
            Ok(())
        } else {
            Err((
                format!("DataShard({n})"),
                format!("DataShard {n} does not exist: the workload has {total_shards} shards (0..{total_shards})"),
            ))
        }
    };
    let actor = |a: &ActorRef| if let ActorRef::DataShard(n) = a { exists(*n) } else { Ok(()) };
    let tablet = |t: &TabletRef| if let TabletRef::DataShard(n) = t { exists(*n) } else { Ok(()) };
    let counted = |nth: u64| {
        if nth == 0 {
            Err(("nth: 0".to_string(), "tape counts are 1-based: expected `nth >= 1`".to_string()))
        } else {
            Ok(())
        }
    };
    for fault in tape {
        match fault {
            TapeFaultSpec::Drop { from, to, nth, .. }
            | TapeFaultSpec::Duplicate { from, to, nth }
            | TapeFaultSpec::Delay { from, to, nth, .. } => {
                actor(from)?;
                actor(to)?;
                counted(*nth)?;
            }
            TapeFaultSpec::ReadError { shard: t, nth, .. }
            | TapeFaultSpec::SlowCommit { tablet: t, nth, .. }
            | TapeFaultSpec::KillOnCommit { tablet: t, nth, .. } => {
                tablet(t)?;
                counted(*nth)?;
            }
            TapeFaultSpec::AllocatorEmpty { nth } => counted(*nth)?,
            TapeFaultSpec::Restart { tablet: t, at, .. } => {
                tablet(t)?;
                match at {
                    TapeAnchorSpec::AfterEvent { node, nth } => {
                        actor(node)?;
                        counted(*nth)?;
                    }
                    TapeAnchorSpec::AfterStep(0) => {
                        return Err((
                            "AfterStep".into(),
                            "steps are counted from 1: expected AfterStep(k >= 1)".into(),
                        ));
                    }
                    _ => {}
                }
            }
            TapeFaultSpec::Partition { nodes, from, until, .. } => {
                nodes.iter().try_for_each(actor)?;
                if nodes.is_empty() || from >= until {
                    return Err((
                        "Partition".into(),
                        "a tape partition needs at least one node and `from < until`".into(),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::InjectedFault as F;

    #[test]
    fn every_engine_fault_round_trips_through_the_scenario_form() {
        let faults = vec![
            F::Drop { from: 1, to: 4, nth: 3, detected: true },
            F::Duplicate { from: 0, to: 1, nth: 1 },
            F::Delay { from: 4, to: 1, nth: 2, extra: 700 },
            F::ReadError { node: 5, nth: 9, fatal: false },
            F::Refuse { node: TX_ALLOCATOR, nth: 2 },
            F::SlowCommit { node: 1, nth: 4, extra: 9_000 },
            F::KillOnCommit { node: 3, nth: 5, down: 0 },
            F::Restart { node: 6, down: 20, anchor: Anchor::AfterEvent { node: 1, event: 57 } },
            F::Restart { node: 1, down: 0, anchor: Anchor::At(1_000) },
            F::Restart { node: 2, down: 0, anchor: Anchor::AfterStep { step: 12 } },
            F::Partition(Partition { nodes: vec![0, 4], from: 5, until: 50, one_way: true }),
        ];
        assert_eq!(to_faults(&from_faults(&faults)), faults);
    }

    #[test]
    fn a_bad_tape_is_refused_at_its_place() {
        let cases = [
            ("Drop(from: SchemeShard, to: DataShard(9), nth: 1)", "DataShard(9)", "does not exist"),
            ("Duplicate(from: Client, to: SchemeShard, nth: 0)", "nth: 0", "1-based"),
            ("Partition(nodes: [], from: \"1ms\", until: \"2ms\")", "Partition", "at least one node"),
            ("Restart(tablet: Client, at: AfterStep(3))", "Client", "TabletRef"),
        ];
        for (entry, needle, message) in cases {
            let text = format!("(\nname: \"x\",\nfaults: (tape: [{entry}]),\n)");
            let e = crate::scenario::parse(&text, std::path::Path::new("t.ron")).expect_err(entry);
            assert_eq!(e.line, 3, "{entry}: {e}");
            assert!(text.lines().nth(2).unwrap().contains(needle), "{entry}");
            assert!(e.message.contains(message) || e.message.contains("variant"), "{entry}: {e}");
        }
        let ok = "(name: \"x\", faults: (tape: [KillOnCommit(tablet: SchemeShard, nth: 3)]))";
        let s = crate::scenario::parse(ok, std::path::Path::new("t.ron")).expect("parses");
        assert_eq!(to_faults(s.faults.tape.as_deref().unwrap()).len(), 1);
    }
}
