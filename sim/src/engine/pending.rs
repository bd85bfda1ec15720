//! A read-only view of the events still to happen, for the liveness
//! diagnosis: "can anything still wake this operation?" is a question about
//! the queue. Built on demand (a copy and a sort of the queue's keys), so
//! the engine's hot path pays nothing for it.

use super::{Engine, Event, Micros, NodeId, System};

/// One event still in the queue, as a diagnosis reads it.
pub enum Pending<'a, S: System + ?Sized> {
    /// A down tablet comes back up (a new generation).
    Boot {
        node: NodeId,
    },
    /// A scheduled crash or restart.
    Crash {
        node: NodeId,
    },
    /// A message on the wire to a live generation of `to` (a partition may
    /// still swallow it).
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: &'a S::Msg,
    },
    Timer {
        node: NodeId,
        timer: &'a S::Timer,
    },
    /// A commit completes (the handler learns it is durable).
    Commit {
        node: NodeId,
    },
    /// A read from backup storage completes.
    Io {
        node: NodeId,
    },
    /// `node` hears that its pipe to `peer` broke.
    PipeReset {
        node: NodeId,
        peer: NodeId,
    },
    /// A partition starts: every pipe across it resets.
    PartitionStart {
        nodes: &'a [NodeId],
    },
    PartitionEnd,
}

/// `what` happens at `at`.
pub struct PendingEvent<'a, S: System + ?Sized> {
    pub at: Micros,
    pub what: Pending<'a, S>,
}

impl<S: System> Engine<S> {
    /// Every event still to happen, in the order it will run, leaving out
    /// those addressed to a generation that is already gone (the engine
    /// discards them unseen: they can wake nothing).
    pub fn pending(&self) -> Vec<PendingEvent<'_, S>> {
        let live = |node: NodeId, generation: u32| {
            let n = &self.nodes[node as usize];
            n.generation == generation && n.up
        };
        // A message or timer for a down node's current generation is
        // discarded too: a boot starts a new generation.
        self.queue
            .pending()
            .into_iter()
            .filter_map(|(at, event)| {
                let what = match event {
                    Event::Boot { node } => Pending::Boot { node: *node },
                    Event::Crash { node, .. } => Pending::Crash { node: *node },
                    Event::Deliver { from, to, to_gen, msg, .. } => {
                        live(*to, *to_gen).then_some(Pending::Deliver { from: *from, to: *to, msg })?
                    }
                    Event::Timer { node, generation, timer } => {
                        live(*node, *generation).then_some(Pending::Timer { node: *node, timer })?
                    }
                    Event::CommitDone { node, generation, .. } => {
                        live(*node, *generation).then_some(Pending::Commit { node: *node })?
                    }
                    Event::IoDone { node, generation, .. } => {
                        live(*node, *generation).then_some(Pending::Io { node: *node })?
                    }
                    Event::PipeReset { node, generation, peer } => {
                        live(*node, *generation).then_some(Pending::PipeReset { node: *node, peer: *peer })?
                    }
                    Event::PartitionStart { id } => Pending::PartitionStart { nodes: &self.partitions.get(*id).nodes },
                    Event::PartitionEnd { .. } => Pending::PartitionEnd,
                };
                Some(PendingEvent { at, what })
            })
            .collect()
    }
}
