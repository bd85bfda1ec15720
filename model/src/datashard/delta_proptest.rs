//! The sorted-vector delta against a plain table: random backups, random
//! incrementals scanned in random batches, commits lost to a crash before
//! they were durable and batches applied again by a rescan after one. The
//! shard's rows, reads and progress records must be what a `BTreeMap`
//! table with the same commits applied holds, and a batch merged at once
//! must leave the delta field by field what applying it change by change
//! does (the path `ShardRows::apply` and hand-written tests take).

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::{DataShardCommit, DataShardDb, IncrementalProgress, ShardRows};
use crate::data::{Cell, Change, Row, apply_change};
use crate::full_backup::FullBackup;
use crate::ids::{IncrIdx, Key, OperationId};
use crate::packed::MAX_INLINE_VALUE;

/// Small values, so a change often writes a key's backup row back (the
/// delta must then drop the key), and now and then one too wide to pack.
fn value() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        8 => proptest::option::of(0u64..3),
        1 => Just(Some(MAX_INLINE_VALUE + 7)),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    proptest::array::uniform3(value()).prop_map(|cols| Row { cols })
}

fn change() -> impl Strategy<Value = Change> {
    let cell = prop_oneof![Just(Cell::Keep), value().prop_map(Cell::Set)];
    prop_oneof![
        1 => Just(Change::Erase),
        4 => proptest::array::uniform3(cell).prop_map(|cells| Change::Upsert { cells }),
    ]
}

/// What happens to a batch's commit: it becomes durable; or the shard
/// crashes before it is (the commit is lost, the scan resumes after the
/// durable `LastKey`); or it becomes durable and the shard then crashes
/// and rescans the incremental from its range's start.
#[derive(Clone, Copy, Debug)]
enum Fate {
    Durable,
    LostInCrash,
    DurableThenRescan,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![6 => Just(Fate::Durable), 1 => Just(Fate::LostInCrash), 1 => Just(Fate::DurableThenRescan)]
}

const OP: OperationId = OperationId(7);

/// Every read of the shard against the plain table.
fn assert_reads(
    db: &DataShardDb,
    plain: &BTreeMap<Key, Row>,
    full: &FullBackup,
    (start, end): (Key, Key),
    ranges: &[(Key, Key)],
) -> Result<(), TestCaseError> {
    prop_assert!(db.rows.iter().eq(plain.iter().map(|(k, r)| (*k, *r))), "rows");
    for key in start.saturating_sub(2)..end + 2 {
        prop_assert_eq!(db.rows.get(key), plain.get(&key).copied(), "get {}", key);
    }
    for &(lo, hi) in ranges {
        let span = |r: (std::ops::Bound<Key>, std::ops::Bound<Key>)| {
            if lo <= hi { plain.range(r).map(|(k, r)| (*k, *r)).collect() } else { Vec::new() }
        };
        use std::ops::Bound::{Excluded, Included};
        prop_assert_eq!(db.rows.range(lo..=hi).collect::<Vec<_>>(), span((Included(lo), Included(hi))));
        let exclusive = if lo < hi { span((Included(lo), Excluded(hi))) } else { Vec::new() };
        prop_assert_eq!(db.rows.range(lo..hi).collect::<Vec<_>>(), exclusive);
    }
    // Minimal: an entry for exactly the keys whose row is not the backup's.
    let backup: BTreeMap<Key, Row> = full.range(start..end).collect();
    let differ = backup.keys().chain(plain.keys()).collect::<std::collections::BTreeSet<_>>();
    let differ = differ.into_iter().filter(|k| backup.get(k) != plain.get(k)).count();
    prop_assert_eq!(db.rows.changed(), differ, "delta entries");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_vector_delta_holds_what_a_plain_table_does(
        backup in proptest::collection::btree_map(0u64..120, row(), 0..50),
        (start, len) in (0u64..60, 0u64..90),
        incrementals in proptest::collection::vec(proptest::collection::btree_map(0u64..150, change(), 0..40), 1..4),
        batches in proptest::collection::vec((1usize..9, fate()), 1..30),
        ranges in proptest::collection::vec((0u64..160, 0u64..160), 1..4),
    ) {
        let end = start + len;
        let full: FullBackup = backup.into_iter().collect();
        let mut db = DataShardDb { rows: ShardRows::over(full.clone(), start, end), ..Default::default() };
        let mut one_by_one = db.rows.clone();
        let mut plain: BTreeMap<Key, Row> = full.range(start..end).collect();
        let mut progress: BTreeMap<IncrIdx, IncrementalProgress> = BTreeMap::new();
        let mut fates = batches.iter().copied();
        for (n, incremental) in incrementals.iter().enumerate() {
            let incr = IncrIdx(n as u32 + 1);
            let changes: Vec<(Key, Change)> = incremental.range(start..end).map(|(k, c)| (*k, *c)).collect();
            let mut after: Option<Key> = None;
            let mut mirror = IncrementalProgress::default();
            loop {
                let (size, fate) = fates.next().unwrap_or((8, Fate::Durable));
                let from = after.map_or(0, |a| changes.partition_point(|(k, _)| *k <= a));
                let batch = changes[from..(from + size).min(changes.len())].to_vec();
                if let Some((last, _)) = batch.last() {
                    after = Some(*last);
                    mirror.last_key = mirror.last_key.max(Some(*last));
                }
                mirror.done = from + batch.len() == changes.len();
                mirror.rows_total = changes.len() as u64;
                mirror.rows_applied = mirror.rows_applied.max((from + batch.len()) as u64);
                mirror.batches += 1;
                let commit = DataShardCommit {
                    op: OP, incr, changes: batch, progress: mirror, reply: None, continue_scan: !mirror.done,
                };
                if let Fate::LostInCrash = fate {
                    // The volatile mirror goes with the crash; the scan
                    // resumes from the durable record.
                    mirror = progress.get(&incr).copied().unwrap_or_default();
                    after = mirror.last_key;
                    continue;
                }
                commit.apply(&mut db);
                for (key, change) in &commit.changes {
                    apply_change(&mut plain, *key, change);
                    one_by_one.apply(*key, change);
                }
                progress.insert(incr, commit.progress);
                prop_assert_eq!(db.rows.delta(), one_by_one.delta(), "incr {} batch {}", incr.0, mirror.batches);
                prop_assert_eq!(db.progress(OP, incr), progress.get(&incr));
                assert_reads(&db, &plain, &full, (start, end), &ranges)?;
                if mirror.done {
                    break;
                }
                if let Fate::DurableThenRescan = fate {
                    after = None;
                }
            }
        }
        let restores: Vec<_> = db.restores.iter().map(|((_, incr), p)| (*incr, *p)).collect();
        prop_assert_eq!(restores, progress.into_iter().collect::<Vec<_>>());
    }
}
