//! The engine's own record of each node: its kind, whether it is up, its
//! generation, its commits in flight, its links and its armed kills.

use std::collections::BTreeMap;

use super::Micros;
use super::links::Links;

/// Whether a node can crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A tablet: crashes, restarts with generation + 1, durable commits.
    Tablet,
    /// An outside process (the client): never crashes.
    Process,
}

/// Laid out by hand, one node to two cache lines: a scale run's events
/// reach a million nodes in random order, a cache miss a line. The first
/// line holds what every event of a DataShard reads and writes (alive,
/// its event count, its link to the SchemeShard, its commit log tail);
/// the second what only a completed commit reads (its count, its kills).
#[derive(Debug)]
#[repr(C, align(64))]
pub(super) struct Node {
    pub(super) up: bool,
    pub(super) kind: NodeKind,
    pub(super) generation: u32,
    /// Events handled over the node's life, boots included (the anchor of
    /// "at its k-th event" triggers and restarts).
    pub(super) events: u64,
    /// Commits of a tablet complete in the order issued.
    pub(super) last_commit_at: Micros,
    /// The tiebreak of the commit due at `last_commit_at` (ties permuted).
    pub(super) last_commit_tiebreak: u64,
    /// This node's side of its links to every peer: one table, so a send
    /// costs one lookup.
    pub(super) links: Links,
    pub(super) commits: u64,
    /// Kill at these commit numbers (1-based, over its life), down for the value.
    pub(super) kill_at: BTreeMap<u64, Micros>,
    /// Kill at the next commit to complete, down for the value (kept across
    /// a crash in between: "the first commit from the trigger on").
    pub(super) kill_next: Option<Micros>,
}

const _: () = assert!(std::mem::size_of::<Node>() == 128, "a node is two cache lines");
const _: () = assert!(std::mem::offset_of!(Node, commits) == 64, "the first line is every event's");
