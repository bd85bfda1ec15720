//! One node's side of its links: per peer, the messages sent to it (the
//! anchor of message faults) and whether a pipe is open. Looked up on every
//! send, so its layout is chosen for the lookup.
//!
//! Small systems (every bundled scenario, the benches) get a dense table
//! indexed by peer: a send costs one indexed load instead of a `BTreeMap`
//! search. Large ones (the scale scenarios: a SchemeShard with a million
//! DataShard peers) keep only the peers actually used, so memory stays
//! O(links used) rather than O(nodes²): a node of a large system starts
//! with its one peer inline (a DataShard talks to the SchemeShard alone:
//! no allocation of its own, and its send reads no memory but the node's),
//! then a sorted vector of a few, grown a slot at a time, then a map past
//! `FEW_MAX` peers (a map's first insert allocates a whole tree node, ~230
//! bytes, which a million DataShards would pay), and a dense table once the
//! map holds a quarter of the system (the SchemeShard's, at a scale run's
//! fan-out: a send then indexes a table instead of searching a tree of a
//! million peers, a cache miss a level, in no more memory than the map).
//! All layouts answer alike: a peer never used reads as a default `Link`,
//! and iteration is in peer order.

use std::collections::BTreeMap;

use super::NodeId;

/// Up to this many nodes, each node holds a dense table (`nodes²` links
/// in all: 128² × 16 B = 256 KiB at most, zeroed once per run).
const DENSE_MAX_NODES: usize = 128;

/// Above `DENSE_MAX_NODES`, a node keeps up to this many peers in a sorted
/// vector before it moves them to a map.
const FEW_MAX: usize = 8;

/// This node's side of a link to one peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Link {
    /// Messages sent to the peer over the node's life: the anchor of
    /// message faults ("the 3rd message SchemeShard→DataShard 7").
    pub sent: u64,
    /// A pipe is open (opened at the first send; both ends hold one).
    pub pipe: bool,
}

#[derive(Debug)]
pub(crate) enum Links {
    /// `links[peer]`, every peer.
    Dense(Vec<Link>),
    /// The one peer this node ever sent to or had a pipe with, if any (a
    /// node of a large system starts here, `None`). Here and below, the
    /// system has `nodes` nodes.
    One { one: Option<(NodeId, Link)>, nodes: u32 },
    /// The few peers this node ever sent to or had a pipe with, sorted.
    Few { few: Vec<(NodeId, Link)>, nodes: u32 },
    /// Only the peers this node ever sent to or had a pipe with.
    Sparse { links: BTreeMap<NodeId, Link>, nodes: u32 },
}

const _: () = assert!(std::mem::size_of::<Links>() <= 32, "a node's links stay half a cache line");

/// A map moves to a dense table once it holds this share of the system's
/// nodes (a table's 16 bytes a node are then at most the map's own).
const DENSE_SHARE: usize = 4;

impl Links {
    /// A node's links in a system of `nodes` nodes.
    pub fn new(nodes: usize) -> Links {
        if nodes <= DENSE_MAX_NODES {
            Links::Dense(vec![Link::default(); nodes])
        } else {
            Links::One { one: None, nodes: u32::try_from(nodes).expect("node ids are u32") }
        }
    }

    /// The link to `peer`, created (default) if it was never used. The
    /// dense table (every send of a small system) and the one peer (a
    /// DataShard's sends at scale) inline; the rest out of line, so the
    /// send path is not a call.
    #[inline(always)]
    pub fn get_mut(&mut self, peer: NodeId) -> &mut Link {
        if matches!(self, Links::One { one: Some((one, _)), .. } if *one == peer) {
            let Links::One { one: Some((_, link)), .. } = self else { unreachable!("just matched") };
            return link;
        }
        match self {
            Links::Dense(links) => &mut links[peer as usize],
            _ => self.get_mut_sparse(peer),
        }
    }

    #[inline(never)]
    fn get_mut_sparse(&mut self, peer: NodeId) -> &mut Link {
        self.make_room(peer);
        match self {
            Links::Dense(links) => &mut links[peer as usize],
            Links::One { one, .. } => &mut one.get_or_insert((peer, Link::default())).1,
            Links::Few { few, .. } => {
                let i = few.binary_search_by_key(&peer, |(p, _)| *p).unwrap_or_else(|i| {
                    few.reserve_exact(1);
                    few.insert(i, (peer, Link::default()));
                    i
                });
                &mut few[i].1
            }
            Links::Sparse { links, .. } => links.entry(peer).or_default(),
        }
    }

    /// Moves to the next layout if `peer` is new and does not fit this one.
    fn make_room(&mut self, peer: NodeId) {
        let next = match self {
            Links::Dense(_) => return,
            Links::One { one, nodes } => match one {
                Some((p, _)) if *p != peer => Links::Few { few: vec![one.take().expect("one peer")], nodes: *nodes },
                _ => return,
            },
            Links::Few { few, nodes } => {
                if few.len() < FEW_MAX || few.binary_search_by_key(&peer, |(p, _)| *p).is_ok() {
                    return;
                }
                Links::Sparse { links: few.drain(..).collect(), nodes: *nodes }
            }
            Links::Sparse { links, nodes } => {
                if (links.len() + 1) * DENSE_SHARE <= *nodes as usize || links.contains_key(&peer) {
                    return;
                }
                let mut dense = vec![Link::default(); *nodes as usize];
                for (&p, &link) in links.iter() {
                    dense[p as usize] = link;
                }
                Links::Dense(dense)
            }
        };
        *self = next;
    }

    /// The peers with an open pipe, in peer order.
    pub fn piped(&self) -> Vec<NodeId> {
        match self {
            Links::Dense(links) => {
                links.iter().enumerate().filter(|(_, l)| l.pipe).map(|(peer, _)| peer as NodeId).collect()
            }
            Links::One { one, .. } => one.iter().filter(|(_, l)| l.pipe).map(|(peer, _)| *peer).collect(),
            Links::Few { few, .. } => few.iter().filter(|(_, l)| l.pipe).map(|(peer, _)| *peer).collect(),
            Links::Sparse { links, .. } => links.iter().filter(|(_, l)| l.pipe).map(|(peer, _)| *peer).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `uses` (a peer, and whether its pipe is then open) to both.
    fn apply(reference: &mut [Link], links: &mut Links, uses: impl IntoIterator<Item = (NodeId, bool)>) {
        for (peer, pipe) in uses {
            for link in [&mut reference[peer as usize], links.get_mut(peer)] {
                link.sent += 1;
                link.pipe = pipe;
            }
        }
    }

    /// Every layout of a large system (one peer inline, a few in a vector,
    /// a map, then a dense table) answers a sequence of uses as a dense
    /// table of every peer does: counts, pipes, and the piped peers in
    /// peer order, across each move from one layout to the next.
    #[test]
    fn every_layout_answers_as_a_dense_table() {
        let nodes = 400;
        let mut reference = vec![Link::default(); nodes];
        let mut links = Links::new(nodes);
        let small = Links::new(20);
        assert!(matches!(small, Links::Dense(_)) && matches!(links, Links::One { one: None, .. }));
        // A DataShard's life: the SchemeShard alone, its pipe opened and broken.
        apply(&mut reference, &mut links, [(7, true), (7, true), (7, false)]);
        assert!(matches!(links, Links::One { one: Some((7, _)), .. }), "one peer stays inline");
        assert_eq!(links.piped(), Vec::<NodeId>::new());
        let uses = [(2, false), (7, true), (0, true), (2, true), (9, false), (0, false)];
        apply(&mut reference, &mut links, uses);
        assert!(matches!(links, Links::Few { .. }), "four peers fit the vector");
        assert_eq!(links.piped(), vec![2, 7]);
        apply(&mut reference, &mut links, (10..19).map(|p| (p, p % 2 == 0)).chain(uses));
        assert!(matches!(links, Links::Sparse { .. }), "more than FEW_MAX peers move to the map");
        let piped =
            |reference: &[Link]| (0..nodes as NodeId).filter(|&p| reference[p as usize].pipe).collect::<Vec<_>>();
        assert_eq!(links.piped(), piped(&reference));
        // A SchemeShard's fan-out: scattered peers, past a quarter of them.
        apply(&mut reference, &mut links, (0..150).map(|i| ((i * 131 % nodes) as NodeId, i % 3 == 0)));
        assert!(matches!(links, Links::Dense(_)), "a quarter of the system moves to a dense table");
        assert_eq!(links.piped(), piped(&reference));
        for peer in 0..nodes as NodeId {
            assert_eq!(*links.get_mut(peer), reference[peer as usize], "peer {peer}");
        }
    }
}
