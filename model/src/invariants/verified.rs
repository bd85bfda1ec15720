//! What the DataShard data checks already compared and nothing has changed
//! since: per shard, a key prefix `[start, through]` whose rows were found
//! equal to the oracle's table after incremental `incr`.
//!
//! Why: a shard's Done check (invariant 1) compares all its rows with the
//! oracle, yet the prefix walks of invariant 3 compared them batch by
//! batch just before, and the operation's Done compares them all again.
//! Those re-walks were a third of a ci-smoke seed's checking. A row can
//! change only through a DataShard commit, and every commit is shown to
//! the checker, which first forgets the prefix from the commit's lowest
//! changed key up ([`VerifiedPrefixes::forget_changed`]). So rows in a
//! remembered prefix still equal what they were found equal to, and a
//! check walks only the rest: the verdict is the full walk's, exactly.
//! A failing check walks the whole range again, so its report names the
//! same first difference it always did.
//!
//! Only the design flavour's `DataShardCommit`s reach the checker's
//! `on_datashard_commit`, which is also the only place a prefix is
//! remembered. The YDB flavour's receiver commits write rows without it, so
//! in a YDB run nothing is ever remembered and every check walks whole: a
//! new way of writing rows must call `forget_changed` before it may
//! call `found_equal`.

use crate::ids::{IncrIdx, Key};
use crate::topology::ShardSpec;

/// Per DataShard (indexed by its global index), the verified prefix.
#[derive(Default)]
pub(super) struct VerifiedPrefixes {
    shards: Vec<Option<Prefix>>,
}

/// Rows with `start <= key <= through` equal the oracle's after `incr`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Prefix {
    incr: IncrIdx,
    through: Key,
}

impl VerifiedPrefixes {
    /// Shard `index`'s prefix, not read (every commit's checks read it
    /// first; the engine's prefetch pipeline hints it, `crate::prefetch`).
    #[inline]
    pub(super) fn addr(&self, index: usize) -> (*const u8, usize) {
        let slot = self.shards.as_ptr().wrapping_add(index.min(self.shards.len()));
        (slot.cast(), std::mem::size_of::<Option<Prefix>>())
    }

    /// A commit changed keys from `lowest` up on `spec`'s shard (`None`:
    /// it changed none): forget every key from there up. Called before any
    /// check of the commit.
    pub(super) fn forget_changed(&mut self, spec: &ShardSpec, lowest: Option<Key>) {
        let Some(lowest) = lowest else { return };
        let Some(slot) = self.shards.get_mut(spec.idx.0 as usize) else { return };
        if let Some(prefix) = slot
            && lowest <= prefix.through
        {
            *slot = (lowest > spec.start).then(|| Prefix { incr: prefix.incr, through: lowest - 1 });
        }
    }

    /// The rows with `lo <= key <= hi` were just found equal to the
    /// oracle's after `incr`: remembered when they start or extend the
    /// prefix verified for `incr`.
    pub(super) fn found_equal(&mut self, spec: &ShardSpec, incr: IncrIdx, lo: Key, hi: Key) {
        let index = spec.idx.0 as usize;
        if self.shards.len() <= index {
            self.shards.resize(index + 1, None);
        }
        let slot = &mut self.shards[index];
        let through = match *slot {
            Some(p) if p.incr == incr && lo <= p.through.saturating_add(1) => p.through.max(hi),
            _ if lo <= spec.start => hi,
            _ => return,
        };
        *slot = Some(Prefix { incr, through });
    }

    /// Where a walk of `spec`'s whole range against the oracle after `incr`
    /// must start: past the verified prefix, if one is known for `incr`.
    pub(super) fn unverified_from(&self, spec: &ShardSpec, incr: IncrIdx) -> Key {
        match self.shards.get(spec.idx.0 as usize).copied().flatten() {
            Some(p) if p.incr == incr => p.through.saturating_add(1).max(spec.start),
            _ => spec.start,
        }
    }
}

impl std::fmt::Debug for VerifiedPrefixes {
    /// Nothing: this is a memo of comparisons, no check's verdict depends
    /// on it, so it stays out of `explore`'s state fingerprint (two states
    /// that differ only in what was compared are the same state).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ShardIdx, TableId};

    fn spec() -> ShardSpec {
        ShardSpec { idx: ShardIdx(2), table: TableId(0), start: 100, end: 200 }
    }

    /// A prefix grows batch by batch, is kept per incremental, and shrinks
    /// below the lowest key any later commit changes.
    #[test]
    fn a_prefix_grows_with_contiguous_walks_and_shrinks_below_a_change() {
        let (s, i1, i2) = (spec(), IncrIdx(1), IncrIdx(2));
        let mut v = VerifiedPrefixes::default();
        assert_eq!(v.unverified_from(&s, i1), 100, "nothing verified yet");
        v.found_equal(&s, i1, 120, 130);
        assert_eq!(v.unverified_from(&s, i1), 100, "a span not starting at the shard's start");
        v.found_equal(&s, i1, 100, 130);
        v.found_equal(&s, i1, 131, 150);
        assert_eq!(v.unverified_from(&s, i1), 151);
        v.found_equal(&s, i1, 160, 170);
        assert_eq!(v.unverified_from(&s, i1), 151, "a gap is not bridged");
        assert_eq!(v.unverified_from(&s, i2), 100, "verified against another incremental");
        v.forget_changed(&s, Some(140));
        assert_eq!(v.unverified_from(&s, i1), 140, "from the lowest changed key up");
        v.forget_changed(&s, Some(145));
        assert_eq!(v.unverified_from(&s, i1), 140, "a change above the prefix keeps it");
        v.forget_changed(&s, Some(100));
        assert_eq!(v.unverified_from(&s, i1), 100, "a change at the start forgets all");
        v.found_equal(&s, i2, 100, 199);
        assert_eq!(v.unverified_from(&s, i2), 200, "the whole shard");
        v.found_equal(&s, i1, 150, 160);
        assert_eq!(v.unverified_from(&s, i2), 200, "a stray span of another incremental keeps the prefix");
    }
}
