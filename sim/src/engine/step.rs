//! One processed event as the harness and the trace see it: its kind,
//! node, peer and payload digest; and, while tracing, what it sent.

use super::{Micros, NodeId};

/// What kind of event was processed, for the trace and the harness. The
/// discriminants go into the trace hash: append, never reorder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Boot,
    Crash,
    Deliver,
    Timer,
    CommitDone,
    KillOnCommit,
    IoDone,
    PipeReset,
    /// Addressed to a node that is down or to an older generation, or lost
    /// on the wire to a partition.
    Discarded,
    PartitionStart,
    PartitionEnd,
    /// A refusable request delivered and refused (the TxAllocator's empty answer).
    Refused,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Boot => "boot",
            EventKind::Crash => "crash",
            EventKind::Deliver => "deliver",
            EventKind::Timer => "timer",
            EventKind::CommitDone => "commit",
            EventKind::KillOnCommit => "kill_on_commit",
            EventKind::IoDone => "io",
            EventKind::PipeReset => "pipe_reset",
            EventKind::Discarded => "discarded",
            EventKind::PartitionStart => "partition_start",
            EventKind::PartitionEnd => "partition_end",
            EventKind::Refused => "refused",
        }
    }
}

/// One processed event, as the harness and the trace see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub index: u64,
    pub time: Micros,
    pub kind: EventKind,
    pub node: NodeId,
    pub peer: NodeId,
    pub payload: u64,
    /// The node's event count after this event if it handled it (1-based),
    /// else 0 (a discarded message, a crash, a partition edge).
    pub node_event: u64,
    /// The message's or timer's short name ("" for other events).
    pub label: &'static str,
}

impl Step {
    pub const NONE: Step =
        Step { index: 0, time: 0, kind: EventKind::Boot, node: 0, peer: 0, payload: 0, node_event: 0, label: "" };
}

/// When a message left and its number on its directed link (the anchor
/// of message faults): pairs a delivery with its send on the trace. Not
/// hashed, so tracing adds nothing to the trace hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub at: Micros,
    pub nth: u64,
}

/// A message sent during the last event (kept only while tracing), whatever
/// became of it: delivered, duplicated, dropped or lost to a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracedSend {
    pub to: NodeId,
    pub nth: u64,
    pub label: &'static str,
}
