//! Building an [`Oracle`]: every change of a table's incrementals visited
//! in key order (and, for one key, in incremental order), each applied
//! once to its key's previous version, on the packed bits.
//!
//! Why its own merge loop: the incrementals are each sorted by key
//! already, so their changes are merged rather than gathered and sorted
//! again. The merge was an iterator, and it kept its place between calls
//! (the key being emitted, the next incremental to look at, indices
//! checked again against each incremental): per change that cost about as
//! much as the version it fed. The merge now runs in one loop over the
//! incrementals' packed slices and hands each change to a [`Visit`] whose
//! method is inlined into it, so the builder's per-change work sits in
//! the merge's loop body. A few incrementals are merged by scanning their
//! next keys (cheaper than a heap there); a long chain through a heap.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use super::{FirstVersion, Oracle, Version, version_id};
use crate::data::Incremental;
use crate::full_backup::FullBackup;
use crate::ids::{Key, TableId};
use crate::packed::{Packed, PackedChange, Unpacked};
use crate::workload::Workload;

/// Chains longer than this are merged through a heap.
const SCAN_MAX: usize = 8;

/// What the merge hands each change to: `(key, j, i, change)`, `j` the
/// 0-based incremental and `i` the change's index in it.
pub(super) trait Visit {
    fn visit(&mut self, key: Key, j: usize, i: usize, change: PackedChange);
}

/// Every change of `incrementals` to `to`, in key order and, for one key,
/// in `j` order; through a heap when `heap`, else by scanning the
/// incrementals' next keys.
pub(super) fn in_key_order(incrementals: &[Incremental], heap: bool, to: &mut impl Visit) {
    let runs: Vec<&[(Key, PackedChange)]> =
        incrementals.iter().map(|inc| inc.packed_run(0, inc.len()).pairs()).collect();
    if heap {
        let mut at = vec![0usize; runs.len()];
        // `(next key, incremental)`: popped in key order, and for one key
        // in incremental order.
        let mut next: BinaryHeap<Reverse<(Key, usize)>> =
            runs.iter().enumerate().filter_map(|(j, run)| Some(Reverse((run.first()?.0, j)))).collect();
        while let Some(Reverse((key, j))) = next.pop() {
            let i = at[j];
            to.visit(key, j, i, runs[j][i].1);
            at[j] += 1;
            if let Some(&(k, _)) = runs[j].get(i + 1) {
                next.push(Reverse((k, j)));
            }
        }
        return;
    }
    // The incrementals with changes left, in `j` order (so that one key's
    // changes go out in incremental order), each with its next change: the
    // next key is a plain minimum of their keys, and an incremental leaves
    // the list when it runs out (once per incremental, not a check per
    // key: the heads were once widened to u128, one past every key marking
    // a spent incremental, and every step compared them all wide).
    let mut heads: Vec<Head<'_>> =
        runs.iter().enumerate().filter_map(|(j, run)| Some(Head { key: run.first()?.0, j, i: 0, run })).collect();
    while let Some(key) = heads.iter().map(|head| head.key).min() {
        let mut spent = false;
        for head in heads.iter_mut().filter(|head| head.key == key) {
            to.visit(key, head.j, head.i, head.run[head.i].1);
            head.i += 1;
            match head.run.get(head.i) {
                Some(&(next, _)) => head.key = next,
                None => spent = true,
            }
        }
        if spent {
            heads.retain(|head| head.i < head.run.len());
        }
    }
}

/// One incremental's place in the scanning merge: its next change `i`
/// and that change's key.
struct Head<'a> {
    key: Key,
    j: usize,
    i: usize,
    run: &'a [(Key, PackedChange)],
}

/// An oracle being built: the versions so far, and where the walk of the
/// full backup is.
struct Builder<'a> {
    oracle: Oracle,
    full: &'a FullBackup,
    incrementals: &'a [Incremental],
    /// The index of the first backup row not below the current key.
    cursor: usize,
    /// The current key's row before the change being visited.
    before: Packed,
    /// The id of the current key's previous version, if it has one.
    previous: Option<usize>,
}

impl Visit for Builder<'_> {
    /// Applies one change to its key's previous version (or, for a key's
    /// first change, to its backup row, found by stepping on from the
    /// previous key's: the keys come in order, so the steps add up to one
    /// pass over the backup at most).
    #[inline(always)]
    fn visit(&mut self, key: Key, j: usize, i: usize, change: PackedChange) {
        if self.oracle.changed.last() != Some(&key) {
            self.oracle.changed.push(key);
            self.previous = None;
            let (rows, mut cursor) = (self.full.packed_rows(), self.cursor);
            while cursor < rows.len() && rows[cursor].0 < key {
                cursor += 1;
            }
            self.before = match rows.get(cursor) {
                Some(&(k, row)) if k == key => row,
                _ => Packed::new(None),
            };
            self.cursor = cursor;
        }
        let incr = j as u16 + 1;
        let id = version_id(self.oracle.changed.len() - 1, incr);
        let after = match self.before.apply(change) {
            Some(after) => after,
            None => self.wide_after(key, j, i, id),
        };
        if self.previous.is_none() {
            let start = u32::try_from(self.oracle.later.len()).expect("the scenario limits bound the versions");
            self.oracle.first.push(FirstVersion { row: after, start, incr, count: 1 });
        } else {
            self.oracle.later.push(Version { row: after, incr });
            self.oracle.first.last_mut().expect("a key's first version came first").count += 1;
        }
        self.previous = Some(id);
        self.before = after;
    }
}

impl Builder<'_> {
    /// A wide side (the row before or the change): the change applied
    /// unpacked, a wide result kept in the side map under `id`.
    #[cold]
    fn wide_after(&mut self, key: Key, j: usize, i: usize, id: usize) -> Packed {
        let row = match self.before.get() {
            Unpacked::Row(row) => row,
            Unpacked::Wide => match self.previous {
                Some(v) => Some(self.oracle.wide[&v]),
                None => self.full.get_in(self.cursor, self.cursor + 1, key),
            },
        };
        let after = self.incrementals[j].change_at(i).1.apply(row);
        let packed = Packed::new(after);
        if packed.is_wide() {
            self.oracle.wide.insert(id, after.expect("a wide row is present"));
        }
        packed
    }
}

impl Oracle {
    /// Table `table` of `workload`. The incrementals are each sorted by
    /// key already, so their changes are merged in key order (and, for one
    /// key, in incremental order) rather than gathered and sorted again;
    /// each change is applied once, to the key's previous version, on the
    /// packed bits; the backup row a key starts from is found by stepping
    /// on from the previous key's, not by a search.
    pub fn new(workload: Arc<Workload>, table: TableId) -> Oracle {
        let chain = workload.chain(table);
        assert!(chain.incrementals.len() <= usize::from(u16::MAX), "an incremental's number fits a u16");
        let total: usize = chain.incrementals.iter().map(|inc| inc.len()).sum();
        assert!(total < u32::MAX as usize, "the scenario limits bound the oracle's versions");
        // Sized once for the most keys there can be (every change a key of
        // its own), and given back below.
        let oracle = Oracle {
            workload: Arc::clone(&workload),
            table,
            changed: Vec::with_capacity(total),
            first: Vec::with_capacity(total),
            later: Vec::new(),
            wide: BTreeMap::new(),
        };
        let mut builder = Builder {
            oracle,
            full: &chain.full,
            incrementals: &chain.incrementals,
            cursor: 0,
            before: Packed::new(None),
            previous: None,
        };
        in_key_order(&chain.incrementals, chain.incrementals.len() > SCAN_MAX, &mut builder);
        let mut oracle = builder.oracle;
        oracle.changed.shrink_to_fit();
        oracle.first.shrink_to_fit();
        oracle.later.shrink_to_fit();
        oracle
    }
}
