//! The engine's half of a state fingerprint (`restoresim explore` prunes
//! runs that reach a state it has already explored; the system's half is
//! `crate::explore::fingerprint`).
//!
//! What the future of a replay depends on, besides the models: virtual
//! time, every pending event in the order it will run (with its payload),
//! which nodes are up and at which generation, which pipes are open, a
//! tablet's commit log tail, kills armed, partitions, and how far the
//! latency stream has been drawn. What it leaves out, on purpose: the
//! per-link and per-node counters (the *anchors* of faults: a future fault
//! is placed relative to them, so two states that differ only there have
//! the same future under the same relative placements), the trace hash and
//! the stats (history, read by no decision), the queue's sequence numbers
//! (only their order matters, and `pending` keeps it).
//!
//! Times are hashed relative to `now`, and `now` itself is hashed too: the
//! model's durable records hold absolute times (`StartedAt`,
//! `NextRetryAt`) and the liveness deadline is absolute, so two states
//! shifted in time are not the same state.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use super::{Engine, Event, Node, System};

impl<S: System> Engine<S> {
    /// Feeds everything the engine's future depends on into `h` (see the
    /// module comment). A replay whose tape has fired in full, and whose
    /// engine and system fingerprints equal another's, runs the same
    /// events from here on.
    ///
    /// Destructured without `..`: a field added to the engine or a node
    /// does not compile until it is fingerprinted here or said to be
    /// irrelevant to a replay's future (an unsound prune would go unnoticed).
    pub fn fingerprint<H: Hasher>(&self, h: &mut H) {
        let Engine {
            system: _, // the system's half is the caller's
            config: _, // the same for every run of one exploration
            now,
            queue,
            nodes,
            latency_rng,
            // Its position decides the order of future ties.
            ties,
            // In a replay it draws nothing; its tape is spent once the
            // placement's last fault fired; its counters are anchors.
            injector: _,
            partitions,
            // History and tracing: read by no decision.
            trace: _,
            steps: _,
            stats: _,
            fx: _,
            last_anchor: _, // anchors the harness's restarts (none in a replay)
            tracing: _,
            detail: _,
            sends: _,
            delivered: _,
        } = self;
        let now = *now;
        now.hash(h);
        latency_rng.position().hash(h);
        ties.as_ref().map(|t| t.position()).hash(h);
        for n in nodes {
            let Node {
                kind: _,
                up,
                generation,
                last_commit_at,
                last_commit_tiebreak,
                links,
                events: _,
                commits,
                kill_at,
                kill_next,
            } = n;
            (up, generation).hash(h);
            // A commit completes at max(now + latency, last_commit_at): a
            // past tail is the same as none, and so is its tiebreak.
            last_commit_at.saturating_sub(now).hash(h);
            if *last_commit_at >= now {
                last_commit_tiebreak.hash(h);
            }
            links.piped().hash(h);
            let kills: Vec<_> = kill_at.iter().map(|(nth, down)| (nth.saturating_sub(*commits), *down)).collect();
            kills.hash(h);
            kill_next.hash(h);
        }
        let mut text = String::new();
        let _ = write!(text, "{partitions:?}");
        text.hash(h);
        let pending = queue.pending();
        pending.len().hash(h);
        for (time, event) in pending {
            (time - now).hash(h);
            hash_event(event, h);
        }
    }
}

fn hash_event<S: System, H: Hasher>(event: &Event<S>, h: &mut H) {
    match event {
        Event::Boot { node } => (0u8, node).hash(h),
        Event::Crash { node, down_for } => (1u8, node, down_for).hash(h),
        // `sent` (when and as which number on the link) is the trace's.
        Event::Deliver { from, to, to_gen, sent: _, msg } => (2u8, from, to, to_gen, msg).hash(h),
        Event::Timer { node, generation, timer } => (3u8, node, generation, timer).hash(h),
        Event::CommitDone { node, generation, commit } => (4u8, node, generation, commit).hash(h),
        Event::IoDone { node, generation, reply } => (5u8, node, generation, reply).hash(h),
        Event::PipeReset { node, generation, peer } => (6u8, node, generation, peer).hash(h),
        Event::PartitionStart { id } => (7u8, id).hash(h),
        Event::PartitionEnd { id } => (8u8, id).hash(h),
    }
}
