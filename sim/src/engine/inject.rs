//! Fault injection inside the engine (docs/design.md §5). Every fault decision
//! goes through the [`Injector`]: in a normal run it draws from the network
//! and faults streams, only inside the fault window; in a replay it reads
//! the fault tape and draws nothing. Either way it logs each injected fault
//! with a *logical anchor* — "the 3rd message SchemeShard→DataShard 7",
//! "the 5th commit of DataShard 2" — counted by the per-link and per-node
//! counters kept here, so a tape means the same thing in a replay (and
//! survives a shrink that removes other faults).
//!
//! Why replays reproduce the trace: faults draw from the network and faults
//! streams, everything else (latencies) from the latency stream. With the
//! same decisions taken from the tape, the latency stream is consumed in the
//! same order, so every event happens at the same time in the same order.

use std::collections::{BTreeMap, BTreeSet};

use super::network::{FaultWindow, Latency, NetworkConfig};
use super::prng::{Ratio, Stream};
use super::{IoFault, Micros, NodeId};

/// Random tablet and storage faults (the network's are in `NetworkConfig`).
/// Per-event rates apply to each event a tablet handles inside the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TabletFaults {
    /// After a tablet event: crash, staying down `crash_down`.
    pub crash: Ratio,
    pub crash_down: Latency,
    /// After a tablet event: restart at once (down for 0).
    pub restart: Ratio,
    /// At a commit's completion: make it durable, drop its completion, restart.
    pub kill_on_commit: Ratio,
    /// At a commit's issue: it takes `slow_commit_delay` longer (and, as a
    /// tablet's log is ordered, so do the commits queued behind it).
    pub slow_commit: Ratio,
    pub slow_commit_delay: Latency,
    /// A refusable request (the TxAllocator's AllocateTxId) is refused.
    pub refuse: Ratio,
}

impl Default for TabletFaults {
    fn default() -> Self {
        TabletFaults {
            crash: Ratio::NEVER,
            crash_down: Latency::Uniform { min: 1_000, max: 50_000 },
            restart: Ratio::NEVER,
            kill_on_commit: Ratio::NEVER,
            slow_commit: Ratio::NEVER,
            slow_commit_delay: Latency::Uniform { min: 5_000, max: 50_000 },
            refuse: Ratio::NEVER,
        }
    }
}

/// When a tape's restart is scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Anchor {
    /// At a virtual time, scheduled before the first event.
    At(Micros),
    /// Right after `node` handled its `event`-th event (1-based, counted
    /// over its life, boots included).
    AfterEvent { node: NodeId, event: u64 },
    /// Right after the run's `step`-th event, when that event was handled by
    /// no node (a discarded message, a crash): exact, but not logical.
    AfterStep { step: u64 },
}

/// A network partition: messages between `nodes` and the rest are lost in
/// `[from, until)`; with `one_way`, only those from `nodes` to the rest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Partition {
    /// Sorted, without duplicates.
    pub nodes: Vec<NodeId>,
    pub from: Micros,
    pub until: Micros,
    pub one_way: bool,
}

/// One injected fault with its logical anchor. `nth` counts are 1-based and
/// per directed link (messages) or per node (reads, refusable requests,
/// commits issued, commits completed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum InjectedFault {
    /// The `nth` message `from → to` was lost; `detected`: the pipe broke.
    Drop {
        from: NodeId,
        to: NodeId,
        nth: u64,
        detected: bool,
    },
    Duplicate {
        from: NodeId,
        to: NodeId,
        nth: u64,
    },
    /// The `nth` message `from → to` took `extra` longer (it may be overtaken).
    Delay {
        from: NodeId,
        to: NodeId,
        nth: u64,
        extra: Micros,
    },
    ReadError {
        node: NodeId,
        nth: u64,
        fatal: bool,
    },
    /// The node's `nth` refusable request was refused (TxAllocator: empty).
    Refuse {
        node: NodeId,
        nth: u64,
    },
    /// The node's `nth` commit issued took `extra` longer.
    SlowCommit {
        node: NodeId,
        nth: u64,
        extra: Micros,
    },
    /// The node's `nth` completed commit was made durable, its completion
    /// dropped, and the node went down for `down`.
    KillOnCommit {
        node: NodeId,
        nth: u64,
        down: Micros,
    },
    /// The node crashed at `anchor` and stayed down `down` (0: a restart).
    Restart {
        node: NodeId,
        down: Micros,
        anchor: Anchor,
    },
    Partition(Partition),
}

/// A point where a fault could be placed, as `explore` sees it in a
/// replay: every message handed to the network (the anchor of a drop or a
/// duplicate), every completed commit (a kill on commit), every event a
/// live tablet handled (a restart right after it). Recorded only while
/// probing, in the order the engine meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Probe {
    Send { from: NodeId, to: NodeId, nth: u64 },
    CommitDone { node: NodeId, nth: u64 },
    AfterEvent { node: NodeId, event: u64 },
}

/// What happens to one message at its send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SendFate {
    /// Lost; `Some(true)`: and the pipe breaks (both ends hear of it).
    pub drop: Option<bool>,
    pub duplicate: bool,
    pub delay: Micros,
}

/// A tape, indexed by anchor for the replay's lookups.
#[derive(Debug, Default)]
pub(crate) struct TapeIndex {
    drops: BTreeMap<(NodeId, NodeId, u64), bool>,
    duplicates: BTreeSet<(NodeId, NodeId, u64)>,
    delays: BTreeMap<(NodeId, NodeId, u64), Micros>,
    reads: BTreeMap<(NodeId, u64), IoFault>,
    refusals: BTreeSet<(NodeId, u64)>,
    slow_commits: BTreeMap<(NodeId, u64), Micros>,
    kills: BTreeMap<(NodeId, u64), Micros>,
    /// In tape order, so restarts of one step are scheduled as recorded.
    after_event: BTreeMap<(NodeId, u64), Vec<(NodeId, Micros)>>,
    after_step: BTreeMap<u64, Vec<(NodeId, Micros)>>,
}

impl TapeIndex {
    /// Indexes `tape`; returns the entries to schedule before the first
    /// event (timed restarts and partitions), in tape order.
    pub(crate) fn new(tape: &[InjectedFault]) -> (TapeIndex, Vec<InjectedFault>) {
        let mut index = TapeIndex::default();
        let mut start = Vec::new();
        for fault in tape {
            match fault.clone() {
                InjectedFault::Drop { from, to, nth, detected } => {
                    index.drops.insert((from, to, nth), detected);
                }
                InjectedFault::Duplicate { from, to, nth } => {
                    index.duplicates.insert((from, to, nth));
                }
                InjectedFault::Delay { from, to, nth, extra } => {
                    index.delays.insert((from, to, nth), extra);
                }
                InjectedFault::ReadError { node, nth, fatal } => {
                    index.reads.insert((node, nth), if fatal { IoFault::Fatal } else { IoFault::Transient });
                }
                InjectedFault::Refuse { node, nth } => {
                    index.refusals.insert((node, nth));
                }
                InjectedFault::SlowCommit { node, nth, extra } => {
                    index.slow_commits.insert((node, nth), extra);
                }
                InjectedFault::KillOnCommit { node, nth, down } => {
                    index.kills.insert((node, nth), down);
                }
                InjectedFault::Restart { node, down, anchor: Anchor::AfterEvent { node: at, event } } => {
                    index.after_event.entry((at, event)).or_default().push((node, down));
                }
                InjectedFault::Restart { node, down, anchor: Anchor::AfterStep { step } } => {
                    index.after_step.entry(step).or_default().push((node, down));
                }
                f @ (InjectedFault::Restart { anchor: Anchor::At(_), .. } | InjectedFault::Partition(_)) => {
                    start.push(f);
                }
            }
        }
        (index, start)
    }
}

/// The engine's fault decisions and the counters that anchor them.
pub(crate) struct Injector {
    pub window: FaultWindow,
    pub tablets: TabletFaults,
    network_rng: Stream,
    fault_rng: Stream,
    /// `Some` in a replay: decisions come from here, none from the streams.
    tape: Option<TapeIndex>,
    /// A random crash or restart after an event is possible at all (the hot
    /// path skips the draws otherwise).
    event_faults: bool,
    /// Loss, duplication or reordering is possible at all: with all three
    /// at `Ratio::NEVER` a send draws nothing (`chance` draws nothing for
    /// 0), so the send path skips `on_send` and the stream is untouched.
    send_faults: bool,
    /// Per node, the anchors of its read, refusal and slow-commit faults.
    counts: Vec<NodeCounts>,
    /// Faults injected since the harness last took them.
    pub log: Vec<(Micros, InjectedFault)>,
    /// Record fault points in `probes` (explore's runs; off otherwise).
    pub probing: bool,
    pub probes: Vec<Probe>,
}

/// One node's counts the injector anchors faults to, together: a scale
/// run's DataShard reads and commits in one event, and three arrays
/// indexed by a million nodes were three cache misses.
#[derive(Clone, Copy, Debug, Default)]
struct NodeCounts {
    reads: u64,
    refusable: u64,
    commits_issued: u64,
}

impl Injector {
    /// Hints `node`'s counts into the caches (the engine's prefetch
    /// pipeline: a DataShard's commit reads them at a random index).
    #[inline(always)]
    pub(super) fn prefetch(&self, node: NodeId) {
        if let Some(counts) = self.counts.get(node as usize) {
            super::prefetch::lines(counts);
        }
    }

    pub fn new(
        nodes: usize,
        window: FaultWindow,
        tablets: TabletFaults,
        net: &NetworkConfig,
        streams: [Stream; 2],
    ) -> Self {
        let [network, faults] = streams;
        Injector {
            window,
            event_faults: !tablets.crash.is_never() || !tablets.restart.is_never(),
            send_faults: !(net.loss.is_never() && net.duplicate.is_never() && net.reorder.is_never()),
            tablets,
            network_rng: network,
            fault_rng: faults,
            tape: None,
            counts: vec![NodeCounts::default(); nodes],
            log: Vec::new(),
            probing: false,
            probes: Vec::new(),
        }
    }

    pub fn replaying(&self) -> bool {
        self.tape.is_some()
    }

    pub fn set_tape(&mut self, tape: TapeIndex) {
        self.tape = Some(tape);
    }

    /// Random faults may happen now (never in a replay).
    #[inline]
    fn random(&self, now: Micros) -> bool {
        self.tape.is_none() && self.window.contains(now)
    }

    /// Whether `after_event` could schedule anything now: a cheap test for
    /// the per-event hot path.
    #[inline]
    pub fn may_restart_after_event(&self, now: Micros) -> bool {
        self.tape.is_some() || (self.event_faults && self.window.contains(now))
    }

    pub fn fault_rng(&mut self) -> &mut Stream {
        &mut self.fault_rng
    }

    pub fn record(&mut self, now: Micros, fault: InjectedFault) {
        self.log.push((now, fault));
    }

    /// Whether nothing can happen to a message sent now: no tape, no
    /// probe, and no network fault configured or the window closed. The
    /// common case, on every send, decided inline; `on_send` would draw
    /// nothing then either, so skipping it moves no stream.
    #[inline(always)]
    pub fn quiet_send(&self, now: Micros) -> bool {
        !self.probing && self.tape.is_none() && !(self.send_faults && self.window.contains(now))
    }

    /// Loss, duplication and reordering of the `nth` message `from → to`,
    /// when the send is not quiet (out of line: the send path tests
    /// `quiet_send` first). The draw order (loss, then duplication, then
    /// reorder) is part of what a seed means.
    #[inline(never)]
    pub fn on_send(&mut self, now: Micros, from: NodeId, to: NodeId, nth: u64, net: &NetworkConfig) -> SendFate {
        let mut fate = SendFate::default();
        if self.probing {
            self.probes.push(Probe::Send { from, to, nth });
        }
        if let Some(tape) = &self.tape {
            let key = (from, to, nth);
            fate.drop = tape.drops.get(&key).copied();
            fate.duplicate = tape.duplicates.contains(&key);
            fate.delay = tape.delays.get(&key).copied().unwrap_or(0);
        } else if self.window.contains(now) {
            if self.network_rng.chance(net.loss) {
                fate.drop = Some(net.loss_detected);
            } else {
                fate.duplicate = self.network_rng.chance(net.duplicate);
                if self.network_rng.chance(net.reorder) {
                    fate.delay = net.reorder_delay.sample(&mut self.network_rng).max(1);
                }
            }
        }
        if let Some(detected) = fate.drop {
            self.record(now, InjectedFault::Drop { from, to, nth, detected });
            return SendFate { drop: fate.drop, ..SendFate::default() };
        }
        if fate.duplicate {
            self.record(now, InjectedFault::Duplicate { from, to, nth });
        }
        if fate.delay > 0 {
            self.record(now, InjectedFault::Delay { from, to, nth, extra: fate.delay });
        }
        fate
    }

    /// A backup read of `node`: fails transiently, fatally, or not at all.
    pub fn on_io(&mut self, now: Micros, node: NodeId, fatal: Ratio, transient: Ratio) -> Option<IoFault> {
        let reads = &mut self.counts[node as usize].reads;
        *reads += 1;
        let nth = *reads;
        let fault = match &self.tape {
            Some(tape) => tape.reads.get(&(node, nth)).copied(),
            None if self.window.contains(now) => {
                if self.fault_rng.chance(fatal) {
                    Some(IoFault::Fatal)
                } else if self.fault_rng.chance(transient) {
                    Some(IoFault::Transient)
                } else {
                    None
                }
            }
            None => None,
        };
        if let Some(f) = fault {
            self.record(now, InjectedFault::ReadError { node, nth, fatal: f == IoFault::Fatal });
        }
        fault
    }

    /// A refusable request reached `node`: is it refused?
    pub fn on_refusable(&mut self, now: Micros, node: NodeId) -> bool {
        let refusable = &mut self.counts[node as usize].refusable;
        *refusable += 1;
        let nth = *refusable;
        let refuse = match &self.tape {
            Some(tape) => tape.refusals.contains(&(node, nth)),
            None => self.window.contains(now) && self.fault_rng.chance(self.tablets.refuse),
        };
        if refuse {
            self.record(now, InjectedFault::Refuse { node, nth });
        }
        refuse
    }

    /// Extra latency of the commit `node` issues now.
    #[inline]
    pub fn on_commit_issue(&mut self, now: Micros, node: NodeId) -> Micros {
        let commits_issued = &mut self.counts[node as usize].commits_issued;
        *commits_issued += 1;
        let nth = *commits_issued;
        let extra = match &self.tape {
            Some(tape) => tape.slow_commits.get(&(node, nth)).copied().unwrap_or(0),
            None if self.window.contains(now) && self.fault_rng.chance(self.tablets.slow_commit) => {
                self.tablets.slow_commit_delay.sample(&mut self.fault_rng).max(1)
            }
            None => 0,
        };
        if extra > 0 {
            self.record(now, InjectedFault::SlowCommit { node, nth, extra });
        }
        extra
    }

    /// The `nth` commit of `node` completed: kill it there? `armed` is a
    /// kill a trigger asked for (not random; still recorded on the tape).
    #[inline]
    pub fn on_commit_done(&mut self, now: Micros, node: NodeId, nth: u64, armed: Option<Micros>) -> Option<Micros> {
        if self.probing {
            self.probes.push(Probe::CommitDone { node, nth });
        }
        let down = match &self.tape {
            Some(tape) => tape.kills.get(&(node, nth)).copied(),
            // A kill a trigger armed is a fault too: it happens only in the window.
            None if self.window.contains(now) => {
                armed.or_else(|| self.fault_rng.chance(self.tablets.kill_on_commit).then_some(0))
            }
            None => None,
        };
        if let Some(down) = down {
            self.record(now, InjectedFault::KillOnCommit { node, nth, down });
        }
        down
    }

    /// The tape's restarts to schedule right after the run's `step`-th event.
    pub fn after_step(&self, step: u64) -> Vec<(NodeId, Micros)> {
        self.tape.as_ref().and_then(|t| t.after_step.get(&step).cloned()).unwrap_or_default()
    }

    /// `node` handled its `event`-th event: the restarts to schedule now
    /// (the tape's for this anchor, or random ones if `node` is a tablet).
    pub fn after_event(&mut self, now: Micros, node: NodeId, event: u64, tablet: bool) -> Vec<(NodeId, Micros)> {
        if self.probing && tablet {
            self.probes.push(Probe::AfterEvent { node, event });
        }
        if let Some(tape) = &self.tape {
            return tape.after_event.get(&(node, event)).cloned().unwrap_or_default();
        }
        if !tablet || !self.random(now) {
            return Vec::new();
        }
        let down = if self.fault_rng.chance(self.tablets.crash) {
            Some(self.tablets.crash_down.sample(&mut self.fault_rng).max(1))
        } else if self.fault_rng.chance(self.tablets.restart) {
            Some(0)
        } else {
            None
        };
        down.map(|d| vec![(node, d)]).unwrap_or_default()
    }
}
