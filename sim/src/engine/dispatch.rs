//! What the engine does with one event, and with the effects a handler
//! asked for: deliveries (through partitions and refusals), timers, commits
//! (ordered, with latency, slow or killed on completion), backup reads,
//! pipe resets, crashes and boots.

use std::fmt::Debug;

use super::inject::SendFate;
use super::{Effect, Engine, Event, EventKind, Micros, NodeId, NodeKind, Sent, Step, System, TracedSend, trace};

/// Effects of capacity the engine keeps between handlers (see `perform`).
const EFFECTS_KEPT: usize = 1024;

impl<S: System> Engine<S> {
    /// Runs `event`'s handler, if any; the effects it wrote are left for
    /// `perform` (the step's one call of it, skipped when there are none).
    #[inline(always)]
    pub(super) fn dispatch(&mut self, event: Event<S>) -> Step {
        let now = self.now;
        let mut step = Step { time: now, kind: EventKind::Discarded, ..Step::NONE };
        match event {
            Event::Boot { node } => {
                let n = &mut self.nodes[node as usize];
                debug_assert!(!n.up);
                n.up = true;
                n.generation += 1;
                n.events += 1;
                let generation = n.generation;
                step = Step { kind: EventKind::Boot, node, payload: u64::from(generation), ..step };
                step.node_event = n.events;
                self.system.boot(node, generation, now, &mut self.fx);
            }
            Event::Crash { node, down_for } => {
                step.node = node;
                if self.nodes[node as usize].up {
                    step.kind = EventKind::Crash;
                    step.payload = down_for;
                    self.crash(node, down_for, false);
                }
            }
            Event::Deliver { from, to, to_gen, sent, msg } => {
                step.node = to;
                step.peer = from;
                if self.tracing {
                    self.delivered = Some(sent);
                }
                if !self.alive(to, to_gen) {
                    return step;
                }
                if self.partitions.blocking(from, to).is_some() {
                    // On the wire when the partition started: lost.
                    self.stats.partition_drops += 1;
                    return step;
                }
                let refused = self.system.refusable(to, &msg) && self.injector.on_refusable(now, to);
                step.kind = if refused { EventKind::Refused } else { EventKind::Deliver };
                step.payload = trace::digest(&msg);
                step.label = S::msg_label(&msg);
                self.describe(&msg);
                step.node_event = self.count_event(to);
                if refused {
                    self.stats.refusals += 1;
                    self.system.on_refused(to, now, from, msg, &mut self.fx);
                } else {
                    self.system.on_message(to, now, from, msg, &mut self.fx);
                }
            }
            Event::Timer { node, generation, timer } => {
                step.node = node;
                if self.alive(node, generation) {
                    step.kind = EventKind::Timer;
                    step.payload = trace::digest(&timer);
                    step.label = S::timer_label(&timer);
                    self.describe(&timer);
                    step.node_event = self.count_event(node);
                    self.system.on_timer(node, now, timer, &mut self.fx);
                }
            }
            Event::CommitDone { node, generation, commit } => {
                step.node = node;
                if self.alive(node, generation) {
                    step.payload = trace::digest(&commit);
                    step.label = "commit";
                    self.describe(&commit);
                    step.node_event = self.count_event(node);
                    self.commit_done(node, commit, &mut step);
                }
            }
            Event::IoDone { node, generation, reply } => {
                step.node = node;
                if self.alive(node, generation) {
                    step.kind = EventKind::IoDone;
                    step.payload = trace::digest(&reply);
                    step.label = "read";
                    self.describe(&reply);
                    step.node_event = self.count_event(node);
                    self.system.on_io(node, now, reply, &mut self.fx);
                }
            }
            Event::PipeReset { node, generation, peer } => {
                step.node = node;
                step.peer = peer;
                if self.alive(node, generation) {
                    step.kind = EventKind::PipeReset;
                    step.label = "pipe_reset";
                    step.node_event = self.count_event(node);
                    self.system.on_pipe_reset(node, now, peer, &mut self.fx);
                }
            }
            Event::PartitionStart { id } => {
                step = Step { kind: EventKind::PartitionStart, payload: id as u64, ..step };
                step.node = self.partitions.get(id).nodes[0];
                self.stats.partitions += 1;
                self.partitions.start(id);
                self.reset_crossing_pipes(id);
            }
            Event::PartitionEnd { id } => {
                step = Step { kind: EventKind::PartitionEnd, payload: id as u64, ..step };
                step.node = self.partitions.get(id).nodes[0];
                self.partitions.end(id);
            }
        }
        step
    }

    #[inline]
    fn count_event(&mut self, node: NodeId) -> u64 {
        let n = &mut self.nodes[node as usize];
        n.events += 1;
        n.events
    }

    /// A commit completed: make it durable, then either let the tablet
    /// answer, or (kill on commit) drop the completion and crash it at once.
    fn commit_done(&mut self, node: NodeId, commit: S::Commit, step: &mut Step) {
        let now = self.now;
        let n = &mut self.nodes[node as usize];
        n.commits += 1;
        let nth = n.commits;
        let armed = n.kill_at.remove(&nth).or_else(|| n.kill_next.take());
        self.stats.commits += 1;
        self.system.apply_commit(node, now, &commit);
        if let Some(down) = self.injector.on_commit_done(now, node, nth, armed) {
            step.kind = EventKind::KillOnCommit;
            self.stats.kill_on_commit += 1;
            self.crash(node, down, true);
        } else {
            step.kind = EventKind::CommitDone;
            self.system.on_committed(node, now, commit, &mut self.fx);
        }
    }

    #[inline(always)]
    fn describe(&mut self, payload: &impl Debug) {
        if self.tracing {
            self.describe_now(payload);
        }
    }

    #[inline(never)]
    fn describe_now(&mut self, payload: &impl Debug) {
        use std::fmt::Write;
        self.detail.clear();
        let _ = write!(self.detail, "{payload:?}");
    }

    #[inline]
    fn alive(&self, node: NodeId, generation: u32) -> bool {
        let n = &self.nodes[node as usize];
        n.up && n.generation == generation
    }

    /// `killed`: by a kill on commit (counted as that, not as a crash or restart).
    pub(super) fn crash(&mut self, node: NodeId, down_for: Micros, killed: bool) {
        debug_assert_eq!(self.nodes[node as usize].kind, NodeKind::Tablet);
        self.stats.crashes += 1;
        match (killed, down_for) {
            (true, _) => {}
            (false, 0) => self.stats.restarts += 1,
            (false, _) => self.stats.down_crashes += 1,
        }
        let n = &mut self.nodes[node as usize];
        n.up = false;
        n.last_commit_at = 0;
        n.last_commit_tiebreak = 0;
        // Its pipes close, in peer order; the peers hear of it.
        let peers = n.links.piped();
        for &peer in &peers {
            n.links.get_mut(peer).pipe = false;
        }
        self.system.crash(node);
        for peer in peers {
            self.break_pipe_end(peer, node);
        }
        // Saturating: a replayed tape may carry any down time.
        self.schedule(self.now.saturating_add(down_for), Event::Boot { node });
    }

    /// `node` learns that its pipe to `peer` broke.
    fn break_pipe_end(&mut self, node: NodeId, peer: NodeId) {
        let n = &mut self.nodes[node as usize];
        n.links.get_mut(peer).pipe = false;
        if n.up {
            let generation = n.generation;
            let at = self.now + self.config.network.reset_notify;
            self.schedule(at, Event::PipeReset { node, generation, peer });
        }
    }

    /// A partition starts: every pipe crossing it breaks, both ends hear of it.
    fn reset_crossing_pipes(&mut self, id: usize) {
        let members = self.partitions.get(id).nodes.clone();
        for &a in &members {
            let mut crossing = self.nodes[a as usize].links.piped();
            crossing.retain(|b| members.binary_search(b).is_err());
            for b in crossing {
                self.break_pipe_end(a, b);
                self.break_pipe_end(b, a);
            }
        }
    }

    /// Carries out what the last handler of `node` asked for, in the order
    /// asked. Popped from the buffer's end (reversed first if more than one):
    /// cheaper than a drain, and the buffer keeps its capacity in place.
    /// Nothing performed here writes effects (only handlers do). Called
    /// once a step, by `step`, after the event's one handler: inlined there.
    #[inline(always)]
    pub(super) fn perform(&mut self, node: NodeId) {
        if self.fx.items.len() > 1 {
            self.fx.items.reverse();
        }
        while let Some(effect) = self.fx.items.pop() {
            self.perform_one(node, effect);
        }
        // Keep the capacity for reuse, but not a million effects' worth of
        // it (a coordinator's request to every shard of a scale run,
        // written in one handler).
        if self.fx.items.capacity() > EFFECTS_KEPT {
            self.fx.items.shrink_to(EFFECTS_KEPT);
        }
    }

    #[inline(always)]
    fn perform_one(&mut self, node: NodeId, effect: Effect<S>) {
        match effect {
            Effect::Send { to, msg } => self.send(node, to, msg),
            Effect::Timer { after, timer } => {
                let generation = self.nodes[node as usize].generation;
                self.schedule(self.now + after, Event::Timer { node, generation, timer });
            }
            Effect::Commit(commit) => {
                let latency = self.config.commit_latency.sample(&mut self.latency_rng);
                let slow = self.injector.on_commit_issue(self.now, node);
                self.stats.slow_commits += u64::from(slow > 0);
                let n = &mut self.nodes[node as usize];
                // A tablet's log is written in order: commits complete in issue order.
                let at = self.now.saturating_add(latency).saturating_add(slow).max(n.last_commit_at);
                // With ties permuted, a commit due with its predecessor
                // must still complete after it: its tiebreak is at least
                // the predecessor's (and its seq is larger).
                let floor = if at == n.last_commit_at { n.last_commit_tiebreak } else { 0 };
                n.last_commit_at = at;
                let generation = n.generation;
                let tiebreak = self.schedule_at_least(at, floor, Event::CommitDone { node, generation, commit });
                self.nodes[node as usize].last_commit_tiebreak = tiebreak;
            }
            Effect::Io(io) => {
                let (fatal, transient) = (self.config.io_fatal, self.config.io_transient);
                let fault = self.injector.on_io(self.now, node, fatal, transient);
                self.stats.read_errors += u64::from(fault.is_some());
                let reply = self.system.serve_io(node, io, fault);
                let latency = self.config.io_latency.sample(&mut self.latency_rng);
                let generation = self.nodes[node as usize].generation;
                self.schedule(self.now + latency, Event::IoDone { node, generation, reply });
            }
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: S::Msg) {
        self.stats.messages_sent += 1;
        let link = self.nodes[from as usize].links.get_mut(to);
        link.sent += 1;
        let (nth, piped) = (link.sent, link.pipe);
        let now = self.now;
        if self.tracing {
            self.sends.push(TracedSend { to, nth, label: S::msg_label(&msg) });
        }
        let sent = Sent { at: now, nth };
        let symmetric_cut = match self.partitions.blocking(from, to) {
            Some(symmetric) => {
                self.stats.partition_drops += 1;
                if !symmetric {
                    // One-way: the message vanishes; only timeouts can tell.
                    return;
                }
                true
            }
            None => false,
        };
        if symmetric_cut || !self.nodes[to as usize].up {
            // The pipe cannot connect: the sender hears of it, nothing is delivered.
            let generation = self.nodes[from as usize].generation;
            let at = now + self.config.network.reset_notify;
            self.schedule(at, Event::PipeReset { node: from, generation, peer: to });
            return;
        }
        if !piped {
            self.nodes[from as usize].links.get_mut(to).pipe = true;
            self.nodes[to as usize].links.get_mut(from).pipe = true;
        }
        let to_gen = self.nodes[to as usize].generation;
        // The common case: nothing can happen to the message (decided
        // inline), so no fate to act on; the same draws, in the same order.
        if self.injector.quiet_send(now) {
            let latency = self.config.network.latency_of(from, to).sample(&mut self.latency_rng);
            self.schedule(now.saturating_add(latency), Event::Deliver { from, to, to_gen, sent, msg });
            return;
        }
        self.send_with_faults(from, to, to_gen, sent, msg);
    }

    /// A send the injector may drop, duplicate or delay: out of line, so
    /// the quiet send above stays short.
    #[inline(never)]
    fn send_with_faults(&mut self, from: NodeId, to: NodeId, to_gen: u32, sent: Sent, msg: S::Msg) {
        let now = self.now;
        let latency = *self.config.network.latency_of(from, to);
        let fate: SendFate = self.injector.on_send(now, from, to, sent.nth, &self.config.network);
        if let Some(detected) = fate.drop {
            self.stats.drops += 1;
            if detected {
                self.break_pipe_end(from, to);
                self.break_pipe_end(to, from);
            }
            return;
        }
        if fate.duplicate {
            self.stats.duplicates += 1;
            let copy = latency.sample(&mut self.latency_rng);
            self.schedule(now + copy, Event::Deliver { from, to, to_gen, sent, msg: msg.clone() });
        }
        self.stats.reordered += u64::from(fate.delay > 0);
        let latency = latency.sample(&mut self.latency_rng).saturating_add(fate.delay);
        self.schedule(now.saturating_add(latency), Event::Deliver { from, to, to_gen, sent, msg });
    }
}
