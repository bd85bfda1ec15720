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

/// What the merge hands each change to: `(key, first, j, i, change)`,
/// `first` whether it is the key's first change (the merge knows: it is
/// the first incremental found holding the key), `j` the 0-based
/// incremental and `i` the change's index in it.
pub(super) trait Visit {
    fn visit(&mut self, key: Key, first: bool, j: usize, i: usize, change: PackedChange);
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
        let mut last = None;
        while let Some(Reverse((key, j))) = next.pop() {
            let i = at[j];
            to.visit(key, last != Some(key), j, i, runs[j][i].1);
            last = Some(key);
            at[j] += 1;
            if let Some(&(k, _)) = runs[j].get(i + 1) {
                next.push(Reverse((k, j)));
            }
        }
        return;
    }
    // The incrementals with changes left, in `j` order (so that one key's
    // changes go out in incremental order), each with its next change.
    // Each stretch of the merge runs with a fixed number of them, known
    // when compiled (`scan`), until one is spent; the rest go on in a
    // stretch of one fewer.
    let mut heads: Vec<Head<'_>> =
        runs.iter().enumerate().filter_map(|(j, run)| Some(Head { key: run.first()?.0, j, i: 0, run })).collect();
    while !heads.is_empty() {
        heads = match heads.len() {
            1 => scan::<1>(&heads, to),
            2 => scan::<2>(&heads, to),
            3 => scan::<3>(&heads, to),
            4 => scan::<4>(&heads, to),
            5 => scan::<5>(&heads, to),
            6 => scan::<6>(&heads, to),
            7 => scan::<7>(&heads, to),
            8 => scan::<8>(&heads, to),
            n => unreachable!("{n} incrementals are merged through the heap"),
        };
    }
}

/// The scanning merge of `N` incrementals with changes left, until one is
/// spent: the heads it returns are those with changes left.
///
/// Why `N` is a constant: the heads then live in registers and each step
/// (the next key, a plain minimum of theirs, and the heads holding it) is
/// unrolled; with their number known only at run time, the merge's own
/// bookkeeping cost about as much a change as the version it fed. A key
/// at `Key::MAX` needs no care: no sentinel stands for a spent head.
fn scan<'a, const N: usize>(heads: &[Head<'a>], to: &mut impl Visit) -> Vec<Head<'a>> {
    let mut heads: [Head<'a>; N] = std::array::from_fn(|h| heads[h]);
    loop {
        let key = heads.iter().fold(heads[0].key, |min, head| min.min(head.key));
        let (mut spent, mut first) = (false, true);
        for head in heads.iter_mut() {
            if head.key == key {
                to.visit(key, first, head.j, head.i, head.run[head.i].1);
                first = false;
                head.i += 1;
                match head.run.get(head.i) {
                    Some(&(next, _)) => head.key = next,
                    None => spent = true,
                }
            }
        }
        if spent {
            return heads.into_iter().filter(|head| head.i < head.run.len()).collect();
        }
    }
}

/// One incremental's place in the scanning merge: its next change `i`
/// and that change's key.
#[derive(Clone, Copy)]
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
}

impl Visit for Builder<'_> {
    /// Applies one change to its key's previous version (or, for a key's
    /// first change, to its backup row, found by stepping on from the
    /// previous key's: the keys come in order, so the steps add up to one
    /// pass over the backup at most).
    #[inline(always)]
    fn visit(&mut self, key: Key, first: bool, j: usize, i: usize, change: PackedChange) {
        if first {
            self.oracle.changed.push(key);
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
        // `Oracle::new` checked the chain's length fits a u16.
        let incr = (j as u16).wrapping_add(1);
        let after = match self.before.apply(change) {
            Some(after) => after,
            None => self.wide_after(key, first, j, i),
        };
        if first {
            // Fewer versions than changes, and `Oracle::new` checked those
            // fit a u32.
            let start = self.oracle.later.len() as u32;
            self.oracle.first.push(FirstVersion { row: after, start, incr, count: 1 });
        } else {
            self.oracle.later.push(Version { row: after, incr });
            let head = self.oracle.first.last_mut().expect("a key's first version came first");
            // One version per incremental: at most u16::MAX.
            head.count = head.count.wrapping_add(1);
        }
        self.before = after;
    }
}

impl Builder<'_> {
    /// A wide side (the row before or the change): the change applied
    /// unpacked, a wide result kept in the side map under its version's
    /// id. The ids are made here only: the packed path never needs them.
    #[cold]
    fn wide_after(&mut self, key: Key, first: bool, j: usize, i: usize) -> Packed {
        let index = self.oracle.changed.len() - 1;
        let row = match self.before.get() {
            Unpacked::Row(row) => row,
            Unpacked::Wide if first => self.full.get_in(self.cursor, self.cursor + 1, key),
            Unpacked::Wide => {
                let head = self.oracle.first.last().expect("a key's first version came first");
                let previous = match head.count {
                    1 => head.incr,
                    _ => self.oracle.later.last().expect("a key's later version").incr,
                };
                Some(self.oracle.wide[&version_id(index, previous)])
            }
        };
        let after = self.incrementals[j].change_at(i).1.apply(row);
        let packed = Packed::new(after);
        if packed.is_wide() {
            self.oracle.wide.insert(version_id(index, j as u16 + 1), after.expect("a wide row is present"));
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
        };
        in_key_order(&chain.incrementals, chain.incrementals.len() > SCAN_MAX, &mut builder);
        let mut oracle = builder.oracle;
        oracle.changed.shrink_to_fit();
        oracle.first.shrink_to_fit();
        oracle.later.shrink_to_fit();
        oracle
    }
}
