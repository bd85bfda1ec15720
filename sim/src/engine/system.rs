//! What the engine runs: the [`System`] trait a model implements (its
//! handlers), and the [`Effects`] buffer its handlers write into.

use std::fmt::Debug;
use std::hash::Hash;

use super::{Micros, NodeId};

/// How an I/O request (a backup read) fails, when the engine injects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoFault {
    Transient,
    Fatal,
}

/// The nodes of a simulated system. Handlers get `now` and write effects;
/// the engine decides when anything happens.
pub trait System {
    type Msg: Clone + Hash + Debug;
    type Timer: Clone + Hash + Debug;
    type Commit: Hash + Debug;
    type Io: Hash + Debug;
    type IoReply: Hash + Debug;

    fn boot(&mut self, node: NodeId, generation: u32, now: Micros, fx: &mut Effects<Self>);
    /// Drop the node's volatile state.
    fn crash(&mut self, node: NodeId);
    fn on_message(&mut self, node: NodeId, now: Micros, from: NodeId, msg: Self::Msg, fx: &mut Effects<Self>);
    fn on_timer(&mut self, node: NodeId, now: Micros, timer: Self::Timer, fx: &mut Effects<Self>);
    fn on_pipe_reset(&mut self, node: NodeId, now: Micros, peer: NodeId, fx: &mut Effects<Self>);
    /// Make the commit durable (the engine calls this at commit completion).
    fn apply_commit(&mut self, node: NodeId, now: Micros, commit: &Self::Commit);
    /// The commit is durable; the node may answer now.
    fn on_committed(&mut self, node: NodeId, now: Micros, commit: Self::Commit, fx: &mut Effects<Self>);
    /// Serve an I/O request (the world outside the tablets: backup storage).
    fn serve_io(&mut self, node: NodeId, io: Self::Io, fault: Option<IoFault>) -> Self::IoReply;
    fn on_io(&mut self, node: NodeId, now: Micros, reply: Self::IoReply, fx: &mut Effects<Self>);

    /// A hint, far ahead of `node`'s next event: start loading the lines
    /// of `node`'s own state that the handler will read first (the engine
    /// calls it a few events before; see `prefetch.rs`). It must read
    /// nothing that can change what any handler does: it only hints.
    fn prefetch(&self, _node: NodeId) {}
    /// A hint nearer `node`'s next event, after `prefetch` had time to
    /// land: the lines behind the pointers of that state (heap buffers).
    /// `payload` is the event's own when it is a commit's completion, a
    /// read's reply (what `apply_commit` and the trace digest read) or a
    /// delivery (the message names the per-peer state its handler reads).
    fn prefetch_deep(&self, _node: NodeId, _payload: Payload<'_, Self>) {}

    /// Whether `msg` is a request `node` may refuse ("nothing now, ask
    /// again"): a fault point. The engine decides; `on_refused` answers.
    fn refusable(&self, _node: NodeId, _msg: &Self::Msg) -> bool {
        false
    }
    /// Answer `msg` with a refusal instead of handling it.
    fn on_refused(&mut self, _node: NodeId, _now: Micros, _from: NodeId, _msg: Self::Msg, _fx: &mut Effects<Self>) {}
    /// Short names of messages and timers, for coverage and the trace.
    fn msg_label(_msg: &Self::Msg) -> &'static str {
        "message"
    }
    fn timer_label(_timer: &Self::Timer) -> &'static str {
        "timer"
    }
}

/// The payload of an event ahead that its handler reads behind pointers,
/// for `System::prefetch_deep`.
pub enum Payload<'a, S: System + ?Sized> {
    Commit(&'a S::Commit),
    Reply(&'a S::IoReply),
    /// A delivery's message: a coordinator's handler reads the row of the
    /// peer it names (at scale, one shard's among a million).
    Message(&'a S::Msg),
    /// Any other event: its node's state is all there is to hint.
    Other,
}

/// What a handler asked for, drained by the engine after each handler.
pub enum Effect<S: System + ?Sized> {
    Send { to: NodeId, msg: S::Msg },
    Timer { after: Micros, timer: S::Timer },
    Commit(S::Commit),
    Io(S::Io),
}

pub struct Effects<S: System + ?Sized> {
    pub(super) items: Vec<Effect<S>>,
}

impl<S: System + ?Sized> Effects<S> {
    pub fn send(&mut self, to: NodeId, msg: S::Msg) {
        self.items.push(Effect::Send { to, msg });
    }
    pub fn timer(&mut self, after: Micros, timer: S::Timer) {
        self.items.push(Effect::Timer { after, timer });
    }
    pub fn commit(&mut self, commit: S::Commit) {
        self.items.push(Effect::Commit(commit));
    }
    pub fn io(&mut self, io: S::Io) {
        self.items.push(Effect::Io(io));
    }
}
