//! A run as a space-time diagram, in plain data: one lane per actor, the
//! events on it, messages from send to delivery (or to where they were
//! lost), down time, the coordinator's state bands, partitions, faults and
//! the violation. `html` renders it as one self-contained `timeline.html`;
//! `chrome` as Chrome trace-event JSON (Perfetto, chrome://tracing).
//! Times are virtual µs. Indices into `actors` name lanes.

pub mod chrome;
pub mod html;

use serde::Serialize;

/// Everything a timeline shows.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timeline {
    /// e.g. "ci-smoke seed 7: safety_violation".
    pub title: String,
    /// Lane names, top to bottom: Client, SchemeShard, TxAllocator, DataShard0, ...
    pub actors: Vec<String>,
    pub end_us: u64,
    pub violation: Option<TimelineViolation>,
    /// Every processed event of the trace, in order.
    pub events: Vec<TimelineEvent>,
    pub messages: Vec<Message>,
    /// A tablet down: from its crash until its boot (or the end).
    pub down: Vec<Span>,
    /// The coordinator's state per operation and incremental.
    pub bands: Vec<Band>,
    pub partitions: Vec<PartitionSpan>,
    /// Injected faults, at the actor they hit.
    pub faults: Vec<FaultMark>,
    /// The reproduce command, if the run folder has one.
    pub reproduce: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TimelineViolation {
    pub invariant: String,
    pub at_us: u64,
    pub event_index: u64,
    pub event: String,
    pub message: String,
    /// The lane of the event during which it broke.
    pub actor: Option<usize>,
}

/// One event: `[index, t_us, actor, kind, label, generation, detail]`
/// (an array on the page: 100,000 of them must stay small).
#[derive(Clone, Debug, Serialize)]
pub struct TimelineEvent(pub u64, pub u64, pub usize, pub String, pub String, pub u32, pub String);

impl TimelineEvent {
    pub fn index(&self) -> u64 {
        self.0
    }
    pub fn t_us(&self) -> u64 {
        self.1
    }
    pub fn actor(&self) -> usize {
        self.2
    }
    pub fn kind(&self) -> &str {
        &self.3
    }
    pub fn label(&self) -> &str {
        &self.4
    }
    pub fn detail(&self) -> &str {
        &self.6
    }
}

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    Delivered,
    /// Delivered to a TxAllocator that answered it empty.
    Refused,
    /// Lost by the network (a drop fault).
    Dropped,
    /// Arrived at a receiver that was down or had restarted, or crossed a
    /// partition on the wire: thrown away.
    Discarded,
    /// Never arrived: sent to a down tablet or across a partition, or still
    /// in flight when the run ended.
    Lost,
}

#[derive(Clone, Debug, Serialize)]
pub struct Message {
    pub from: usize,
    pub to: usize,
    pub sent_us: u64,
    /// Delivery (or discard) time; `None` if it never arrived.
    pub at_us: Option<u64>,
    /// Its number on the directed link (the fault tape's anchor).
    pub nth: u64,
    pub label: String,
    pub fate: Fate,
    /// Overtaken: a later message on the same link arrived first.
    pub reordered: bool,
    /// The second copy of a duplicated message.
    pub copy: bool,
    /// The delivering event's index.
    pub event: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Span {
    pub actor: usize,
    pub from_us: u64,
    pub until_us: u64,
    /// "crash", "restart" or "kill_on_commit".
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Band {
    pub op: u64,
    pub incr: u32,
    pub state: String,
    pub from_us: u64,
    pub until_us: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PartitionSpan {
    pub actors: Vec<usize>,
    pub from_us: u64,
    pub until_us: u64,
    pub one_way: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct FaultMark {
    pub actor: usize,
    pub at_us: u64,
    /// e.g. "drop", "duplicate", "restart", "kill_on_commit", "read_error".
    pub kind: String,
    pub detail: String,
}
