//! Where each DataShard's key range lies in its table's sorted vectors:
//! the full backup, the oracle's changed keys and every incremental.
//!
//! Why: every check after a DataShard commit and every backup read starts
//! a walk at a key of one shard, and finding that key by a binary search
//! over the whole table costs ~20 cache misses at 10 M rows (a 160 MB
//! backup) — a fifth of a 100,000-shard run's CPU. A shard's span in those
//! vectors never changes, so it is computed once, in one galloping pass
//! over each table at setup (O(shards) memory: 4 bytes per shard and
//! vector), and a walk then searches only inside the shard's ~100 rows.
//!
//! A span is only handed out for a shard the index was built for: the
//! caller's `ShardSpec` must be the topology's, and the table's shards
//! must tile its key space in order (what `Topology::uniform` makes).
//! Anything else gets `None`, and the caller searches the whole table as
//! before, so the answer is the same either way.

use std::sync::Arc;

use crate::ids::{IncrIdx, Key, ShardIdx, TableId};
use crate::oracle::Oracle;
use crate::topology::ShardSpec;
use crate::workload::Workload;

/// Per table, the index spans of its shards; see the module doc.
pub struct ShardSpans {
    workload: Arc<Workload>,
    tables: Vec<Option<TableSpans>>,
    /// Per table, the global index of its first shard: ascending, since
    /// shards are numbered table by table. A hint finds a shard's table
    /// by searching it, reading neither the topology nor every table.
    firsts: Vec<u32>,
}

/// One table's boundaries: `bounds[s * columns + c]` is the index in
/// vector `c` of shard `s`'s first entry, and row `shards` the end of the
/// last shard. Column 0 is the full backup, 1 the oracle's changed keys,
/// `1 + j` incremental `j` (1-based).
struct TableSpans {
    /// The global index of the table's first shard.
    first: u32,
    shards: u32,
    /// The key distance between consecutive shards' starts, when every
    /// shard but the last is that wide: a read names its shard by its start
    /// key only, and this finds it without a search.
    step: Option<Key>,
    columns: usize,
    bounds: Vec<u32>,
}

/// One shard's spans: index ranges `lo..hi` into its table's vectors.
#[derive(Clone, Copy, Debug)]
pub struct Spans<'a> {
    row: &'a [u32],
    next: &'a [u32],
}

impl Spans<'_> {
    fn column(&self, c: usize) -> (usize, usize) {
        (self.row[c] as usize, self.next[c] as usize)
    }

    /// The shard's rows in the full backup.
    pub fn full(&self) -> (usize, usize) {
        self.column(0)
    }

    /// The shard's keys among the oracle's changed keys.
    pub fn changed(&self) -> (usize, usize) {
        self.column(1)
    }

    /// The shard's changes in incremental `incr` (1-based), if the chain
    /// has it.
    pub fn incremental(&self, incr: IncrIdx) -> Option<(usize, usize)> {
        let c = (incr.0 as usize).checked_add(1).filter(|c| incr.0 >= 1 && *c < self.row.len())?;
        Some(self.column(c))
    }
}

impl ShardSpans {
    /// The index of every table of `workload`, against `oracles` (one per
    /// table, in table order).
    pub fn new(workload: Arc<Workload>, oracles: &[Oracle]) -> ShardSpans {
        let tables = workload
            .topology
            .tables
            .iter()
            .map(|table| {
                let chain = workload.backups.get(table.id.0 as usize)?;
                let oracle = oracles.get(table.id.0 as usize)?;
                TableSpans::build(&workload.topology.shards, &table.shards, chain, oracle)
            })
            .collect();
        let mut next = 0u32;
        let firsts = workload
            .topology
            .tables
            .iter()
            .map(|table| {
                let first = next;
                debug_assert!(table.shards.first().is_none_or(|s| s.0 == first), "shards numbered table by table");
                next += table.shards.len() as u32;
                first
            })
            .collect();
        ShardSpans { workload, tables, firsts }
    }

    /// `spec`'s spans, if the index covers it (see the module doc).
    pub fn of(&self, spec: &ShardSpec) -> Option<Spans<'_>> {
        let table = self.tables.get(spec.table.0 as usize)?.as_ref()?;
        if self.workload.topology.shards.get(spec.idx.0 as usize) != Some(spec) {
            return None;
        }
        let s = spec.idx.0.checked_sub(table.first).filter(|s| *s < table.shards)?;
        Some(table.spans(s as usize))
    }

    /// The spans of the shard of `table` whose range is exactly
    /// `[start, end)`, found by its start key (a backup read names its
    /// shard so): O(1) when the table's shards are evenly spaced.
    pub fn of_range(&self, table: TableId, start: Key, end: Key) -> Option<Spans<'_>> {
        let spans = self.tables.get(table.0 as usize)?.as_ref()?;
        let first = self.workload.topology.shards.get(spans.first as usize)?;
        let s = start.checked_sub(first.start)? / spans.step?;
        let idx = spans.first.checked_add(u32::try_from(s).ok()?)?;
        let spec = self.workload.topology.shards.get(idx as usize)?;
        (spec.table == table && spec.start == start && spec.end == end).then(|| self.of(spec)).flatten()
    }

    /// The table index holding global shard `shard`, and its position there.
    #[inline]
    fn table_of(&self, shard: ShardIdx) -> Option<(&TableSpans, usize)> {
        let t = self.firsts.partition_point(|first| *first <= shard.0).checked_sub(1)?;
        let table = self.tables.get(t)?.as_ref()?;
        let s = shard.0.checked_sub(table.first).filter(|s| *s < table.shards)?;
        Some((table, s as usize))
    }

    /// Where shard `shard`'s spans lie (its row of boundaries and the
    /// next, what [`ShardSpans::of`] reads), not read: the engine's
    /// prefetch pipeline hints it (`crate::prefetch`). At a million shards
    /// the index is 16 MB, past the last-level cache; null for a shard the
    /// index does not cover.
    #[inline]
    pub(crate) fn bounds_addr(&self, shard: ShardIdx) -> (*const u8, usize) {
        match self.table_of(shard) {
            Some((t, s)) => (t.bounds.as_ptr().wrapping_add(s * t.columns).cast(), 2 * t.columns * 4),
            None => (std::ptr::null(), 0),
        }
    }

    /// `shard`'s spans for a hint only: read from the index without
    /// checking a spec against the topology (a hint's answer changes no
    /// handler's), so only the lines the first stage hinted are read.
    #[inline]
    pub(crate) fn of_shard_for_hint(&self, shard: ShardIdx) -> Option<Spans<'_>> {
        let (t, s) = self.table_of(shard)?;
        Some(t.spans(s))
    }
}

impl TableSpans {
    /// One galloping pass per vector over the table's shard boundaries, or
    /// `None` when the shards do not tile the key space in order or a
    /// vector is too long for 4-byte indices.
    fn build(
        specs: &[ShardSpec],
        shards: &[ShardIdx],
        chain: &crate::data::BackupChain,
        oracle: &Oracle,
    ) -> Option<TableSpans> {
        let table: Vec<&ShardSpec> = shards.iter().map(|s| specs.get(s.0 as usize)).collect::<Option<_>>()?;
        let (first, last) = (table.first()?, table.last()?);
        let contiguous = table.windows(2).all(|w| w[0].end == w[1].start && w[0].start < w[0].end)
            && shards.windows(2).all(|w| w[1].0 == w[0].0 + 1);
        if !contiguous || last.start > last.end {
            return None;
        }
        let step = first.end - first.start;
        let step = table[..table.len() - 1].iter().all(|s| s.end - s.start == step).then_some(step);
        // The boundary keys: every shard's start, then the last one's end.
        let keys: Vec<Key> = table.iter().map(|s| s.start).chain([last.end]).collect();
        let changed = oracle.changed_keys();
        let mut columns: Vec<Vec<u32>> = Vec::with_capacity(2 + chain.incrementals.len());
        columns.push(boundaries(&keys, chain.full.len(), |i| chain.full.key_at(i))?);
        columns.push(boundaries(&keys, changed.len(), |i| changed[i])?);
        for inc in &chain.incrementals {
            columns.push(boundaries(&keys, inc.len(), |i| inc.key_at(i))?);
        }
        let width = columns.len();
        let mut bounds = Vec::with_capacity(keys.len() * width);
        for row in 0..keys.len() {
            bounds.extend(columns.iter().map(|c| c[row]));
        }
        Some(TableSpans { first: first.idx.0, shards: table.len() as u32, step, columns: width, bounds })
    }

    fn spans(&self, s: usize) -> Spans<'_> {
        let c = self.columns;
        Spans { row: &self.bounds[s * c..(s + 1) * c], next: &self.bounds[(s + 1) * c..(s + 2) * c] }
    }
}

/// For each of the ascending `keys`, the index of the first entry of a
/// sorted vector (`len` entries, `key_at`) not below it: what a binary
/// search over the whole vector gives, found by galloping on from the
/// previous key's place.
fn boundaries(keys: &[Key], len: usize, key_at: impl Fn(usize) -> Key) -> Option<Vec<u32>> {
    u32::try_from(len).ok()?;
    let mut at = 0;
    let found = keys
        .iter()
        .map(|key| {
            at = gallop(at, len, *key, &key_at);
            at as u32
        })
        .collect();
    Some(found)
}

/// The first index at or after `from` (below `len`) whose key is at least
/// `key`: O(log distance).
pub(crate) fn gallop(from: usize, len: usize, key: Key, key_at: impl Fn(usize) -> Key) -> usize {
    let mut lo = from;
    let mut step = 1;
    // Invariant: every index below `lo` has a key below `key`.
    while lo < len && key_at(lo) < key {
        let probe = lo + step;
        if probe >= len || key_at(probe) >= key {
            // The answer is in `lo + 1..=probe.min(len)`.
            let (mut a, mut b) = (lo + 1, probe.min(len));
            while a < b {
                let mid = a + (b - a) / 2;
                if key_at(mid) < key {
                    a = mid + 1;
                } else {
                    b = mid;
                }
            }
            return a;
        }
        lo = probe + 1;
        step *= 2;
    }
    lo
}

impl std::fmt::Debug for ShardSpans {
    /// Nothing: a function of the workload, the same in every state of a
    /// run, so it stays out of `explore`'s state fingerprint.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{BackupChain, Change, Incremental, Row};
    use crate::full_backup::FullBackup;
    use crate::topology::Topology;

    /// A splitmix64 stream: test data only (the model has no RNG crate).
    struct Rng(u64);

    impl Rng {
        fn random_range(&mut self, range: std::ops::Range<u64>) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            range.start + (z ^ (z >> 31)) % (range.end - range.start)
        }
    }

    fn chain(rng: &mut Rng, key_space: Key) -> BackupChain {
        let rows = rng.random_range(0..300);
        let full: FullBackup =
            (0..rows).map(|_| (rng.random_range(0..key_space), Row { cols: [Some(1), None, None] })).collect();
        let incrementals = (0..rng.random_range(0..4))
            .map(|_| {
                let n = rng.random_range(0..200);
                Incremental::from_changes((0..n).map(|_| (rng.random_range(0..key_space + 10), Change::Erase)))
            })
            .collect();
        BackupChain { full, incrementals }
    }

    /// Every shard's spans are what binary searches of the whole vectors
    /// give, for random tables, shard counts and key spaces (keys past
    /// the last shard's start included).
    #[test]
    fn spans_equal_the_whole_table_searches() {
        let mut rng = Rng(11);
        for round in 0..60 {
            let key_space = rng.random_range(1..2000);
            let tables: Vec<(String, u32)> =
                (0..rng.random_range(1..4)).map(|t| (format!("t{t}"), rng.random_range(1..40) as u32)).collect();
            let topology = Topology::uniform(&tables, key_space);
            let backups = tables.iter().map(|_| chain(&mut rng, key_space)).collect();
            let workload = Arc::new(Workload { topology, backups, ..Workload::default() });
            let oracles: Vec<Oracle> =
                (0..tables.len() as u32).map(|t| Oracle::new(Arc::clone(&workload), TableId(t))).collect();
            let index = ShardSpans::new(Arc::clone(&workload), &oracles);
            for spec in &workload.topology.shards {
                let spans = index.of(spec).unwrap_or_else(|| panic!("round {round}: shard {spec:?} is indexed"));
                let chain = workload.chain(spec.table);
                assert_eq!(spans.full(), chain.full.span(spec.start..spec.end), "round {round} {spec:?}");
                let changed = oracles[spec.table.0 as usize].changed_keys();
                let pp = |key: Key| changed.partition_point(|c| *c < key);
                assert_eq!(spans.changed(), (pp(spec.start), pp(spec.end)), "round {round} {spec:?}");
                for (j, inc) in chain.incrementals.iter().enumerate() {
                    let incr = IncrIdx(j as u32 + 1);
                    assert_eq!(spans.incremental(incr), Some(inc.span(spec.start, spec.end)), "round {round}");
                }
                assert_eq!(spans.incremental(IncrIdx(0)), None);
                assert_eq!(spans.incremental(IncrIdx(chain.len() + 1)), None);
                let by_range = index.of_range(spec.table, spec.start, spec.end).expect("found by its range");
                assert_eq!((by_range.full(), by_range.changed()), (spans.full(), spans.changed()));
                assert!(index.of_range(spec.table, spec.start, spec.end - 1).is_none(), "not a shard's range");
                let stranger = ShardSpec { start: spec.start + 1, ..spec.clone() };
                assert!(index.of(&stranger).is_none(), "a spec that is not the topology's");
                let hinted = index.of_shard_for_hint(spec.idx).expect("a hint finds every shard");
                assert_eq!((hinted.full(), hinted.changed()), (spans.full(), spans.changed()), "round {round}");
                assert!(!index.bounds_addr(spec.idx).0.is_null(), "round {round}: {spec:?}'s bounds");
            }
            let past = ShardIdx(workload.topology.shards.len() as u32);
            assert!(index.of_shard_for_hint(past).is_none(), "no shard past the last");
            assert!(index.bounds_addr(past).0.is_null());
        }
    }

    #[test]
    fn gallop_finds_the_partition_point_from_any_start() {
        let keys: Vec<Key> = (0..100).map(|k| k * 3).collect();
        for from in 0..=100 {
            for key in 0..310 {
                let expected = from.max(keys.partition_point(|k| *k < key));
                assert_eq!(gallop(from, keys.len(), key, |i| keys[i]), expected, "from {from} to {key}");
            }
        }
    }
}
