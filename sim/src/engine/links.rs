//! One node's side of its links: per peer, the messages sent to it (the
//! anchor of message faults) and whether a pipe is open. Looked up on every
//! send, so its layout is chosen for the lookup.
//!
//! Small systems (every bundled scenario, the benches) get a dense table
//! indexed by peer: a send costs one indexed load instead of a `BTreeMap`
//! search. Large ones (the scale scenarios: a SchemeShard with 100,000
//! DataShard peers) keep a map of the peers actually used, so memory stays
//! O(links used) rather than O(nodes²). Both answer alike: a peer never
//! used reads as a default `Link`, and iteration is in peer order.

use std::collections::BTreeMap;

use super::NodeId;

/// Up to this many nodes, each node holds a dense table (`nodes²` links
/// in all: 128² × 16 B = 256 KiB at most, zeroed once per run).
const DENSE_MAX_NODES: usize = 128;

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
    /// Only the peers this node ever sent to or had a pipe with.
    Sparse(BTreeMap<NodeId, Link>),
}

impl Links {
    /// A node's links in a system of `nodes` nodes.
    pub fn new(nodes: usize) -> Links {
        if nodes <= DENSE_MAX_NODES {
            Links::Dense(vec![Link::default(); nodes])
        } else {
            Links::Sparse(BTreeMap::new())
        }
    }

    /// The link to `peer`, created (default) if it was never used.
    #[inline]
    pub fn get_mut(&mut self, peer: NodeId) -> &mut Link {
        match self {
            Links::Dense(links) => &mut links[peer as usize],
            Links::Sparse(links) => links.entry(peer).or_default(),
        }
    }

    /// The peers with an open pipe, in peer order.
    pub fn piped(&self) -> Vec<NodeId> {
        match self {
            Links::Dense(links) => {
                links.iter().enumerate().filter(|(_, l)| l.pipe).map(|(peer, _)| peer as NodeId).collect()
            }
            Links::Sparse(links) => links.iter().filter(|(_, l)| l.pipe).map(|(peer, _)| *peer).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dense and the sparse layout answer the same sequence of uses
    /// alike: counts, pipes, and the piped peers in peer order.
    #[test]
    fn dense_and_sparse_answer_alike() {
        let mut dense = Links::new(10);
        let mut sparse = Links::new(DENSE_MAX_NODES + 1);
        assert!(matches!(dense, Links::Dense(_)) && matches!(sparse, Links::Sparse(_)));
        for (peer, pipe) in [(7, true), (2, false), (7, true), (0, true), (2, true), (9, false), (0, false)] {
            for links in [&mut dense, &mut sparse] {
                let link = links.get_mut(peer);
                link.sent += 1;
                link.pipe = pipe;
            }
        }
        assert_eq!(dense.piped(), vec![2, 7]);
        assert_eq!(sparse.piped(), dense.piped());
        for peer in 0..10 {
            assert_eq!(*dense.get_mut(peer), *sparse.get_mut(peer), "peer {peer}");
        }
        assert_eq!(dense.get_mut(7).sent, 2);
    }
}
