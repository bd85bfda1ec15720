//! One node's side of its links: per peer, the messages sent to it (the
//! anchor of message faults) and whether a pipe is open. Looked up on every
//! send, so its layout is chosen for the lookup.
//!
//! Small systems (every bundled scenario, the benches) get a dense table
//! indexed by peer: a send costs one indexed load instead of a `BTreeMap`
//! search. Large ones (the scale scenarios: a SchemeShard with 100,000
//! DataShard peers) keep a map of the peers actually used, so memory stays
//! O(links used) rather than O(nodes²). A node of a large system starts
//! with a sorted vector of the few peers it uses (a DataShard talks to the
//! SchemeShard alone), grown a slot at a time, and moves to a map past
//! `FEW_MAX` peers: a map's first insert allocates a whole tree node, ~230
//! bytes a node, which a million DataShards would pay. All layouts answer
//! alike: a peer never used reads as a default `Link`, and iteration is in
//! peer order.

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
    /// The few peers this node ever sent to or had a pipe with, sorted.
    Few(Vec<(NodeId, Link)>),
    /// Only the peers this node ever sent to or had a pipe with.
    Sparse(BTreeMap<NodeId, Link>),
}

impl Links {
    /// A node's links in a system of `nodes` nodes.
    pub fn new(nodes: usize) -> Links {
        if nodes <= DENSE_MAX_NODES { Links::Dense(vec![Link::default(); nodes]) } else { Links::Few(Vec::new()) }
    }

    /// The link to `peer`, created (default) if it was never used. The
    /// dense table (every send of a small system) inline; the rest out of
    /// line, so the send path is not a call.
    #[inline(always)]
    pub fn get_mut(&mut self, peer: NodeId) -> &mut Link {
        match self {
            Links::Dense(links) => &mut links[peer as usize],
            _ => self.get_mut_sparse(peer),
        }
    }

    #[inline(never)]
    fn get_mut_sparse(&mut self, peer: NodeId) -> &mut Link {
        match self {
            Links::Dense(links) => &mut links[peer as usize],
            Links::Few(few) => {
                let i = match few.binary_search_by_key(&peer, |(p, _)| *p) {
                    Ok(i) => i,
                    Err(_) if few.len() >= FEW_MAX => {
                        *self = Links::Sparse(few.drain(..).collect());
                        return self.get_mut_sparse(peer);
                    }
                    Err(i) => {
                        few.reserve_exact(1);
                        few.insert(i, (peer, Link::default()));
                        i
                    }
                };
                match self {
                    Links::Few(few) => &mut few[i].1,
                    _ => unreachable!("still the few peers"),
                }
            }
            Links::Sparse(links) => links.entry(peer).or_default(),
        }
    }

    /// The peers with an open pipe, in peer order.
    pub fn piped(&self) -> Vec<NodeId> {
        match self {
            Links::Dense(links) => {
                links.iter().enumerate().filter(|(_, l)| l.pipe).map(|(peer, _)| peer as NodeId).collect()
            }
            Links::Few(few) => few.iter().filter(|(_, l)| l.pipe).map(|(peer, _)| *peer).collect(),
            Links::Sparse(links) => links.iter().filter(|(_, l)| l.pipe).map(|(peer, _)| *peer).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dense and the sparse layouts (a few peers, then a map) answer
    /// the same sequence of uses alike: counts, pipes, and the piped peers
    /// in peer order, across the move from the vector to the map.
    #[test]
    fn dense_and_sparse_answer_alike() {
        let mut dense = Links::new(20);
        let mut sparse = Links::new(DENSE_MAX_NODES + 1);
        assert!(matches!(dense, Links::Dense(_)) && matches!(sparse, Links::Few(_)));
        let uses = [(7, true), (2, false), (7, true), (0, true), (2, true), (9, false), (0, false)];
        for (peer, pipe) in uses {
            for links in [&mut dense, &mut sparse] {
                let link = links.get_mut(peer);
                link.sent += 1;
                link.pipe = pipe;
            }
        }
        assert!(matches!(sparse, Links::Few(_)), "four peers fit the vector");
        assert_eq!(dense.piped(), vec![2, 7]);
        assert_eq!(sparse.piped(), dense.piped());
        for (peer, pipe) in (10..19).map(|p| (p, p % 2 == 0)).chain(uses) {
            for links in [&mut dense, &mut sparse] {
                let link = links.get_mut(peer);
                link.sent += 1;
                link.pipe = pipe;
            }
        }
        assert!(matches!(sparse, Links::Sparse(_)), "more than FEW_MAX peers move to the map");
        assert_eq!(sparse.piped(), dense.piped());
        for peer in 0..20 {
            assert_eq!(*dense.get_mut(peer), *sparse.get_mut(peer), "peer {peer}");
        }
        assert_eq!(dense.get_mut(7).sent, 4);
    }
}
