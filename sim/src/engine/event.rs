//! What the queue holds: the events the engine will process, each
//! addressed to a node (and, where a crash must discard it, to a
//! generation of it).

use super::{Micros, NodeId, Sent, System};

pub(crate) enum Event<S: System + ?Sized> {
    Boot { node: NodeId },
    Crash { node: NodeId, down_for: Micros },
    Deliver { from: NodeId, to: NodeId, to_gen: u32, sent: Sent, msg: S::Msg },
    Timer { node: NodeId, generation: u32, timer: S::Timer },
    CommitDone { node: NodeId, generation: u32, commit: S::Commit },
    IoDone { node: NodeId, generation: u32, reply: S::IoReply },
    PipeReset { node: NodeId, generation: u32, peer: NodeId },
    PartitionStart { id: usize },
    PartitionEnd { id: usize },
}

impl<S: System + ?Sized> Event<S> {
    /// The node whose state the event's handler reads, if any: what the
    /// prefetch pipeline hints ahead of it (`prefetch.rs`).
    #[inline(always)]
    pub(crate) fn node(&self) -> Option<NodeId> {
        match *self {
            Event::Boot { node }
            | Event::Crash { node, .. }
            | Event::Timer { node, .. }
            | Event::CommitDone { node, .. }
            | Event::IoDone { node, .. }
            | Event::PipeReset { node, .. } => Some(node),
            Event::Deliver { to, .. } => Some(to),
            Event::PartitionStart { .. } | Event::PartitionEnd { .. } => None,
        }
    }
}
