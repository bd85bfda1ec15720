//! A batch of one incremental's changes in flight — from backup storage to
//! a DataShard (`BatchRows`), then in the DataShard's commit until it is
//! durable (`DataShardCommit`) — held as an index range into the
//! incremental, not as copied pairs.
//!
//! Why: at scale nearly every DataShard has a batch in flight at once, and
//! a copied batch was a vector of ~20 decoded `(Key, Change)` pairs (88
//! bytes each) per shard, allocated at each read and freed at each commit
//! (~790 B a shard at the peak, heaptrack on scale-10k). The incremental is
//! immutable backup data that the workload already shares (`Arc`), so a
//! handle to it plus a range says the same thing in 24 bytes, nothing
//! allocated while it waits in the engine's queue; a commit merges it
//! into the shard's delta from the incremental's packed pairs
//! ([`ChangeBatch::packed`]), decoding nothing.
//!
//! What the model and the harness see is unchanged: the batch reads as the
//! same `(Key, Change)` pairs in key order, hashes as the vector of them did
//! (the trace hash digests commits and read answers through `Hash`), prints
//! as that vector did (`Debug`: trace lines, the timeline, explore's
//! fingerprint), and compares by its pairs. A lost or repeated delivery, a
//! crash that drops the commit, a rescan: each only moves or drops the
//! handle, which never changes what it reads.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::data::{BackupChain, Change, Changes, Incremental, PackedRun};
use crate::ids::{IncrIdx, Key, TableId};
use crate::workload::Workload;

/// Changes `from..to` of incremental `incr` of table `table`'s chain in
/// `source`; no source is the empty batch.
#[derive(Clone, Default)]
pub struct ChangeBatch {
    source: Option<Arc<Workload>>,
    table: TableId,
    incr: IncrIdx,
    from: u32,
    to: u32,
}

impl ChangeBatch {
    /// No changes (a commit of progress alone).
    pub fn empty() -> ChangeBatch {
        ChangeBatch::default()
    }

    /// The changes at indices `from..to` of incremental `incr` of `table`
    /// in `workload` (an empty range holds no handle).
    pub fn of(workload: &Arc<Workload>, table: TableId, incr: IncrIdx, from: usize, to: usize) -> ChangeBatch {
        let inc = workload.chain(table).incremental(incr).expect("a batch of an incremental the chain has");
        assert!(from <= to && to <= inc.len(), "a batch lies within its incremental");
        if from == to {
            return ChangeBatch::empty();
        }
        let index = |i: usize| u32::try_from(i).expect("the scenario limits bound an incremental below 2^32 changes");
        ChangeBatch { source: Some(Arc::clone(workload)), table, incr, from: index(from), to: index(to) }
    }

    /// A batch of the given changes (sorted by key, the last of a repeated
    /// key winning), not read from a workload's backup: for hand-made
    /// histories in tests. It is backed by an incremental of its own.
    pub fn from_changes(changes: impl IntoIterator<Item = (Key, Change)>) -> ChangeBatch {
        let inc = Incremental::from_changes(changes);
        let len = inc.len();
        let chain = BackupChain { incrementals: vec![inc], ..BackupChain::default() };
        let workload = Arc::new(Workload { backups: vec![chain], ..Workload::default() });
        ChangeBatch::of(&workload, TableId(0), IncrIdx(1), 0, len)
    }

    #[inline]
    fn incremental(&self) -> Option<&Incremental> {
        let source = self.source.as_ref()?;
        source.chain(self.table).incremental(self.incr)
    }

    /// The changes in key order, decoded as they are read.
    #[inline]
    pub fn iter(&self) -> Changes<'_> {
        match self.incremental() {
            Some(inc) => inc.changes_at(self.from as usize, self.to as usize),
            None => Changes::none(),
        }
    }

    /// The keys alone, in order: nothing decoded.
    pub fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        let inc = self.incremental();
        (self.from as usize..self.to as usize)
            .map(move |i| inc.expect("a non-empty batch has its incremental").key_at(i))
    }

    pub fn len(&self) -> usize {
        (self.to - self.from) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.from == self.to
    }

    /// The lowest key of the batch (its first: the batch is sorted).
    pub fn first_key(&self) -> Option<Key> {
        self.incremental().map(|inc| inc.key_at(self.from as usize))
    }

    /// The highest key of the batch (its last).
    pub fn last_key(&self) -> Option<Key> {
        self.incremental().map(|inc| inc.key_at(self.to as usize - 1))
    }

    /// How many of the batch's changes have a key at or below `key`.
    pub fn count_through(&self, key: Key) -> usize {
        match self.incremental() {
            Some(inc) => {
                let span = (self.from as usize, self.to as usize);
                inc.position_in(span, key.saturating_add(1)) - span.0
                    + usize::from(key == Key::MAX && self.last_key() == Some(Key::MAX))
            }
            None => 0,
        }
    }
}

impl ChangeBatch {
    /// The changes as the incremental stores them, packed (see
    /// [`PackedRun`]): what a commit merges and the digest hashes.
    #[inline]
    pub fn packed(&self) -> PackedRun<'_> {
        match self.incremental() {
            Some(inc) => inc.packed_run(self.from as usize, self.to as usize),
            None => PackedRun::none(),
        }
    }
}

impl<'a> IntoIterator for &'a ChangeBatch {
    type Item = (Key, Change);
    type IntoIter = Changes<'a>;

    fn into_iter(self) -> Changes<'a> {
        self.iter()
    }
}

/// As the vector of its pairs: the length, then each pair (what `Hash` for
/// a `Vec<(Key, Change)>` writes), so every trace hash is what it was when
/// batches were copied. The pairs are hashed from their packed words
/// (`PackedRun::hash_pairs`), nothing decoded: the same words.
impl Hash for ChangeBatch {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        self.packed().hash_pairs(state);
    }
}

/// By the pairs, not by where they are read from.
impl PartialEq for ChangeBatch {
    fn eq(&self, other: &ChangeBatch) -> bool {
        let same_range = |a: &Arc<Workload>, b: &Arc<Workload>| {
            Arc::ptr_eq(a, b)
                && (self.table, self.incr, self.from, self.to) == (other.table, other.incr, other.from, other.to)
        };
        match (&self.source, &other.source) {
            (Some(a), Some(b)) if same_range(a, b) => true,
            _ => self.len() == other.len() && self.iter().eq(other.iter()),
        }
    }
}

impl Eq for ChangeBatch {}

/// As the vector of its pairs (trace lines and the timeline read it so).
impl std::fmt::Debug for ChangeBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Cell;

    fn set(v: u64) -> Change {
        Change::Upsert { cells: [Cell::Set(Some(v)), Cell::Keep, Cell::Set(None)] }
    }

    fn digest<T: Hash + ?Sized>(value: &T) -> u64 {
        // Any hasher shows the written sequence is the same; FNV-like
        // folding keeps the test free of `DefaultHasher`'s algorithm.
        struct Fold(u64);
        impl Hasher for Fold {
            fn finish(&self) -> u64 {
                self.0
            }
            fn write(&mut self, bytes: &[u8]) {
                for b in bytes {
                    self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
                }
            }
        }
        let mut h = Fold(0xcbf2_9ce4_8422_2325);
        value.hash(&mut h);
        h.finish()
    }

    fn sample() -> Arc<Workload> {
        let changes = (0..40u64).map(|k| (k * 3 + 1, if k % 4 == 0 { Change::Erase } else { set(k) }));
        let wide = (40..42u64).map(|k| (k * 3 + 1, set(u64::MAX - k)));
        let inc = Incremental::from_changes(changes.chain(wide));
        let chain = BackupChain { incrementals: vec![Incremental::default(), inc], ..BackupChain::default() };
        Arc::new(Workload { backups: vec![chain], ..Workload::default() })
    }

    /// Every range of an incremental reads, hashes and prints as the copied
    /// vector of its pairs did, and compares equal to it.
    #[test]
    fn a_range_reads_hashes_and_prints_as_the_copied_pairs() {
        let w = sample();
        let inc = w.chain(TableId(0)).incremental(IncrIdx(2)).unwrap();
        for from in 0..=inc.len() {
            for to in from..=inc.len() {
                let copied: Vec<(Key, Change)> = (from..to).map(|i| inc.change_at(i)).collect();
                let batch = ChangeBatch::of(&w, TableId(0), IncrIdx(2), from, to);
                assert_eq!(batch.iter().collect::<Vec<_>>(), copied, "{from}..{to}");
                assert_eq!(batch.len(), copied.len());
                assert!(batch.keys().eq(copied.iter().map(|(k, _)| *k)));
                assert_eq!(batch.is_empty(), copied.is_empty());
                assert_eq!(digest(&batch), digest(&copied), "{from}..{to}");
                assert_eq!(format!("{batch:?}"), format!("{copied:?}"));
                assert_eq!(batch.first_key(), copied.first().map(|(k, _)| *k));
                assert_eq!(batch.last_key(), copied.last().map(|(k, _)| *k));
                assert_eq!(batch, ChangeBatch::from_changes(copied.clone()), "{from}..{to}");
                for key in [0, 1, 2, 30, 31, 60, 200, Key::MAX] {
                    let through = copied.iter().filter(|(k, _)| *k <= key).count();
                    assert_eq!(batch.count_through(key), through, "{from}..{to} through {key}");
                }
            }
        }
    }

    #[test]
    fn the_empty_batch_is_the_empty_vector() {
        let none: Vec<(Key, Change)> = Vec::new();
        let empty = ChangeBatch::empty();
        assert_eq!(digest(&empty), digest(&none));
        assert_eq!(format!("{empty:?}"), "[]");
        assert_eq!(
            (empty.len(), empty.first_key(), empty.last_key(), empty.count_through(Key::MAX)),
            (0, None, None, 0)
        );
        assert_eq!(empty, ChangeBatch::of(&sample(), TableId(0), IncrIdx(2), 5, 5));
        assert_ne!(empty, ChangeBatch::from_changes([(1, Change::Erase)]));
        assert_ne!(ChangeBatch::from_changes([(1, Change::Erase)]), ChangeBatch::from_changes([(2, Change::Erase)]));
    }

    /// The handle is no larger than the vector it replaces, so no queued
    /// event grows.
    #[test]
    fn a_batch_is_as_small_as_a_vector() {
        assert!(std::mem::size_of::<ChangeBatch>() <= std::mem::size_of::<Vec<(Key, Change)>>());
    }
}
