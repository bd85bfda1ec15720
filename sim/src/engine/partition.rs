//! Network partitions (docs/design.md §2): a set of nodes cut off from the rest
//! for a window, symmetric or one-way. The engine resets every pipe crossing
//! a partition at its start (both ends hear of it) and loses every message
//! crossing it, in the blocked direction, while it lasts — at the send and,
//! for messages already on the wire, at their delivery.

use super::inject::Partition;
use super::network::FaultWindow;
use super::prng::{Ratio, Stream};
use super::{Micros, NodeId};

/// Partitions drawn at random inside the fault window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomPartitions {
    pub count: u32,
    pub min_len: Micros,
    pub max_len: Micros,
    /// Probability that a drawn partition is one-way.
    pub one_way: Ratio,
}

impl Default for RandomPartitions {
    fn default() -> Self {
        RandomPartitions { count: 0, min_len: 20_000, max_len: 200_000, one_way: Ratio::NEVER }
    }
}

impl RandomPartitions {
    /// Draws the partitions: each isolates a random group of at most half the
    /// nodes for a random length, placed inside the window.
    pub fn draw(&self, rng: &mut Stream, nodes: u32, window: FaultWindow) -> Vec<Partition> {
        let mut out = Vec::with_capacity(self.count as usize);
        if nodes < 2 || window.until <= window.from {
            return out;
        }
        let mut ids: Vec<NodeId> = (0..nodes).collect();
        for _ in 0..self.count {
            let len = rng.range(self.min_len, self.max_len.max(self.min_len)).max(1);
            let span = window.until - window.from;
            let from = window.from + rng.range(0, span.saturating_sub(len));
            let until = (from + len).min(window.until);
            let size = rng.range(1, u64::from((nodes / 2).max(1))) as usize;
            // A partial Fisher–Yates: the first `size` ids are the group.
            for i in 0..size {
                let j = i + rng.below((ids.len() - i) as u64) as usize;
                ids.swap(i, j);
            }
            let mut group = ids[..size].to_vec();
            group.sort_unstable();
            let one_way = rng.chance(self.one_way);
            out.push(Partition { nodes: group, from, until: until.max(from + 1), one_way });
        }
        out
    }
}

impl Partition {
    pub fn contains(&self, node: NodeId) -> bool {
        self.nodes.binary_search(&node).is_ok()
    }

    /// Does this partition lose messages `from → to`?
    pub fn blocks(&self, from: NodeId, to: NodeId) -> bool {
        let (a, b) = (self.contains(from), self.contains(to));
        (a && !b) || (!self.one_way && b && !a)
    }
}

/// The partitions scheduled in a run; a few are active at a time.
#[derive(Debug, Default)]
pub(crate) struct Partitions {
    all: Vec<Partition>,
    /// Indices into `all`, in start order.
    active: Vec<usize>,
}

impl Partitions {
    pub fn add(&mut self, p: Partition) -> usize {
        self.all.push(p);
        self.all.len() - 1
    }

    pub fn get(&self, id: usize) -> &Partition {
        &self.all[id]
    }

    pub fn start(&mut self, id: usize) {
        self.active.push(id);
    }

    pub fn end(&mut self, id: usize) {
        self.active.retain(|&a| a != id);
    }

    /// `Some(symmetric)` if an active partition loses messages `from → to`.
    /// Checked on every send and delivery: none active (the common case)
    /// is decided inline, the search is out of line.
    #[inline(always)]
    pub fn blocking(&self, from: NodeId, to: NodeId) -> Option<bool> {
        if self.active.is_empty() {
            return None;
        }
        self.blocking_active(from, to)
    }

    #[inline(never)]
    fn blocking_active(&self, from: NodeId, to: NodeId) -> Option<bool> {
        self.active.iter().map(|&i| &self.all[i]).find(|p| p.blocks(from, to)).map(|p| !p.one_way)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Subsystem;

    #[test]
    fn symmetric_blocks_both_ways_one_way_only_outwards() {
        let sym = Partition { nodes: vec![1, 3], from: 0, until: 10, one_way: false };
        assert!(sym.blocks(1, 2) && sym.blocks(2, 1) && !sym.blocks(1, 3) && !sym.blocks(0, 2));
        let one = Partition { one_way: true, ..sym };
        assert!(one.blocks(1, 2) && !one.blocks(2, 1));
    }

    /// A ring of 4 with one ball: node 2 is cut off at 1 ms. Its pipes to 1
    /// and 3 break (both ends hear of it after `reset_notify`), the ball is
    /// lost crossing the partition, and nothing crosses while it lasts.
    #[test]
    fn a_partition_resets_crossing_pipes_at_both_ends_and_loses_what_crosses() {
        use crate::engine::pingpong::{PingPong, config, pingpong_engine_with};
        use crate::engine::{EventKind, Latency};
        let mut system = PingPong::new(4);
        system.balls = 1;
        system.commit_every = 0;
        system.timer_every = 0;
        let mut config = config(Latency::Constant(100));
        config.network.partitions = vec![Partition { nodes: vec![2], from: 1_000, until: 5_000, one_way: false }];
        let mut engine = pingpong_engine_with(system, config, 1);
        let mut delivered_across = 0;
        while let Some(step) = engine.step() {
            let crosses = (step.node == 2) != (step.peer == 2);
            if step.kind == EventKind::Deliver && crosses && (1_000..5_000).contains(&step.time) {
                delivered_across += 1;
            }
        }
        assert_eq!(delivered_across, 0);
        assert_eq!(engine.stats().partitions, 1);
        assert!(engine.stats().partition_drops >= 1, "the ball crossed and was lost");
        let mut at_start: Vec<_> =
            engine.system.resets.iter().filter(|r| r.at == 2_000).map(|r| (r.node, r.peer)).collect();
        at_start.sort_unstable();
        assert_eq!(at_start, vec![(1, 2), (2, 1), (2, 3), (3, 2)], "both ends of both crossing pipes");
    }

    #[test]
    fn drawn_partitions_fit_the_window_and_leave_someone_outside() {
        let spec = RandomPartitions { count: 50, min_len: 10, max_len: 500, one_way: Ratio::new(1, 2) };
        let window = FaultWindow { from: 100, until: 1_000 };
        let mut rng = Stream::new(5, Subsystem::Faults);
        for p in spec.draw(&mut rng, 7, window) {
            assert!(window.from <= p.from && p.from < p.until && p.until <= window.until, "{p:?}");
            assert!(!p.nodes.is_empty() && p.nodes.len() <= 3, "{p:?}");
            assert!(p.nodes.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
