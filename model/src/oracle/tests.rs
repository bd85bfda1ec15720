use super::*;
use crate::data::{Cell, Change, Incremental};

fn set(v: u64) -> Change {
    Change::Upsert { cells: [Cell::Set(Some(v)), Cell::Keep, Cell::Keep] }
}

#[test]
fn incrementals_apply_in_order_and_do_not_commute() {
    let mut chain = BackupChain::default();
    chain.full.insert(1, Row { cols: [Some(0), Some(1), None] });
    chain.incrementals.push(Incremental::from_changes([(1, set(10)), (2, set(20))]));
    chain.incrementals.push(Incremental::from_changes([(1, Change::Erase), (2, set(21))]));
    let end = fold(&chain, IncrIdx(2));
    assert_eq!(end.get(&1), None);
    assert_eq!(end[&2].cols[0], Some(21));
    assert_eq!(row_after(&chain, 1, IncrIdx(1)), Some(Row { cols: [Some(10), Some(1), None] }));
    assert_eq!(row_in_prefix(&chain, 2, IncrIdx(2), Some(1)), Some(Row { cols: [Some(20), None, None] }));
    assert_eq!(row_in_prefix(&chain, 2, IncrIdx(2), Some(2)), Some(Row { cols: [Some(21), None, None] }));
    let oracle = Oracle::for_chain(chain.clone());
    assert!(oracle.rows_after(IncrIdx(2), ..).eq(end.iter().map(|(k, r)| (*k, *r))));
    for key in 0..4 {
        for (i, last) in [(1, None), (1, Some(1)), (2, Some(1)), (2, Some(2))] {
            assert_eq!(oracle.row_in_prefix(key, IncrIdx(i), last), row_in_prefix(&chain, key, IncrIdx(i), last));
        }
    }
    assert!(oracle.rows_after(IncrIdx(1), 2..100).eq(fold_range(&chain, 2, 100, IncrIdx(1))));
}

/// Both merges give every change once, in key order and, for one key,
/// in incremental order: the order of sorting them all, up to the
/// largest key.
#[test]
fn both_merges_give_the_changes_in_key_then_incremental_order() {
    let incrementals: Vec<Incremental> = (0..5u64)
        .map(|j| Incremental::from_changes((0..60u64).filter(|k| (k * 7 + j * 3) % 5 < 2).map(|k| (k, set(j)))))
        // An empty incremental, and one whose last key is the largest
        // there is (a spent incremental must not read as a key).
        .chain([Incremental::default(), Incremental::from_changes([(3, set(9)), (Key::MAX, set(9))])])
        .collect();
    let mut expected: Vec<(Key, usize, usize)> = incrementals
        .iter()
        .enumerate()
        .flat_map(|(j, inc)| (0..inc.len()).map(move |i| (inc.key_at(i), j, i)))
        .collect();
    expected.sort();
    /// Each change with the packed word it was handed.
    struct Collect(Vec<(Key, usize, usize, crate::packed::PackedChange)>);
    impl build::Visit for Collect {
        fn visit(&mut self, key: Key, first: bool, j: usize, i: usize, change: crate::packed::PackedChange) {
            assert_eq!(first, self.0.last().is_none_or(|last| last.0 != key), "{key} first: {first}");
            self.0.push((key, j, i, change));
        }
    }
    for heap in [false, true] {
        let mut got = Collect(Vec::new());
        build::in_key_order(&incrementals, heap, &mut got);
        assert_eq!(got.0.iter().map(|&(k, j, i, _)| (k, j, i)).collect::<Vec<_>>(), expected, "heap: {heap}");
        assert!(got.0.iter().all(|&(_, j, i, change)| change == incrementals[j].packed_at(i)), "heap: {heap}");
        let mut none = Collect(Vec::new());
        build::in_key_order(&[], heap, &mut none);
        assert!(none.0.is_empty());
    }
}

/// A chain longer than the scan merges (through the heap) answers as
/// the fold does, every prefix.
#[test]
fn a_long_chain_answers_what_the_fold_does() {
    let mut chain = BackupChain::default();
    for key in (0..30).step_by(4) {
        chain.full.insert(key, Row { cols: [Some(key), None, None] });
    }
    for j in 0..20u64 {
        let changes = (0..30u64)
            .filter(|key| (key * 3 + j) % 7 < 3)
            .map(|key| if (key + j) % 5 == 0 { (key, Change::Erase) } else { (key, set(j * 100 + key)) });
        chain.incrementals.push(Incremental::from_changes(changes));
    }
    answers_the_fold(&chain, 0..32);
}

/// The version lists against the plain fold, on a chain dense enough
/// that keys are erased, re-created, partially updated and left alone,
/// for every prefix `k` and every range shape the checks use.
#[test]
fn versions_answer_exactly_what_the_fold_does() {
    let mut chain = BackupChain::default();
    for key in (0..40).step_by(3) {
        chain.full.insert(key, Row { cols: [Some(key), None, Some(1)] });
    }
    let partial = |v| Change::Upsert { cells: [Cell::Keep, Cell::Set(Some(v)), Cell::Keep] };
    for j in 0..5u64 {
        let changes = (0..40u64).filter(|key| (key + j) % 4 != 0).map(|key| match (key * 7 + j) % 5 {
            0 => (key, Change::Erase),
            1 | 2 => (key, partial(j * 100 + key)),
            _ => (key, set(j * 1000 + key)),
        });
        chain.incrementals.push(Incremental::from_changes(changes.filter(|(key, _)| key % (j + 2) != 1)));
    }
    chain.incrementals.push(Incremental::default());
    answers_the_fold(&chain, 0..45);
    let oracle = Oracle::for_chain(chain.clone());
    for k in 0..=chain.len() {
        let k = IncrIdx(k);
        let table = fold(&chain, k);
        for (lo, hi) in [(0, 0), (0, 1), (3, 17), (5, 5), (6, 45), (30, 10)] {
            if lo <= hi {
                let range = oracle.rows_after(k, lo..hi);
                assert!(range.eq(fold_range(&chain, lo, hi, k)), "[{lo}, {hi}) at k = {}", k.0);
                assert!(oracle.rows_after(k, lo..=hi).eq(table.range(lo..=hi).map(|(a, r)| (*a, *r))));
            } else {
                // An inverted range is empty, not a panic.
                assert_eq!(oracle.rows_after(k, lo..hi).count(), 0);
                assert_eq!(oracle.rows_after(k, lo..=hi).count(), 0);
            }
        }
    }
}

/// The layout (a changed key's first version beside it, later ones
/// apart) against the plain fold on random chains: keys changed by
/// one, some or every incremental, rows and changes wide or not, every
/// prefix `k`, every key and range, and the version lookup the walks
/// use.
mod layout {
    use proptest::prelude::*;

    use super::*;

    /// A change drawn from `(kind, column, value)`: an erase, or an
    /// upsert of one column (sometimes too wide to pack).
    fn change((kind, col, value): (u8, usize, u64)) -> Change {
        let mut cells = [Cell::Keep; 3];
        cells[col] = match kind % 4 {
            0 => return Change::Erase,
            1 => Cell::Set(None),
            2 => Cell::Set(Some(u64::MAX - value)),
            _ => Cell::Set(Some(value)),
        };
        Change::Upsert { cells }
    }

    fn chains() -> impl Strategy<Value = BackupChain> {
        let full = prop::collection::vec((0u64..60, 0u64..1_000, any::<bool>()), 0..30);
        let incs =
            prop::collection::vec(prop::collection::vec((0u64..60, (0u8..4, 0usize..3, 0u64..1_000)), 0..40), 0..12);
        (full, incs).prop_map(|(full, incs)| {
            let mut chain = BackupChain::default();
            for (key, value, wide) in full {
                let v = if wide { u64::MAX - value } else { value };
                chain.full.insert(key, Row { cols: [Some(v), None, Some(key)] });
            }
            for changes in incs {
                chain.incrementals.push(Incremental::from_changes(changes.into_iter().map(|(k, c)| (k, change(c)))));
            }
            chain
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn answers_what_the_fold_does(chain in chains()) {
            let oracle = Oracle::for_chain(chain.clone());
            for k in 0..=chain.len() {
                let k = IncrIdx(k);
                let table = fold(&chain, k);
                prop_assert!(oracle.rows_after(k, ..).eq(table.iter().map(|(a, r)| (*a, *r))), "k = {}", k.0);
                for key in 0..62 {
                    prop_assert_eq!(oracle.row_after(key, k), table.get(&key).copied(), "key {} at k = {}", key, k.0);
                }
                for (lo, hi) in [(0, 10), (5, 40), (33, 34), (50, 62)] {
                    prop_assert!(oracle.rows_after(k, lo..hi).eq(fold_range(&chain, lo, hi, k)));
                }
                for (i, key) in oracle.changed_keys().iter().enumerate() {
                    let changed = chain.incrementals.iter().take(k.0 as usize).any(|inc| inc.get(*key).is_some());
                    let version = oracle.version_packed(i, k);
                    prop_assert_eq!(version.is_some(), changed, "key {} at k = {}", key, k.0);
                    if let Some((v, packed)) = version {
                        prop_assert_eq!(oracle.version_row(v, packed), table.get(key).copied());
                    }
                }
            }
        }
    }
}

/// Rows and changes too wide to pack, in the full backup, in a key's
/// first version and in a later one built on a wide one, answer as the
/// fold does.
#[test]
fn wide_rows_and_changes_answer_what_the_fold_does() {
    let big = u64::MAX - 1;
    let mut chain = BackupChain::default();
    chain.full.insert(1, Row { cols: [Some(big), None, Some(1)] });
    chain.full.insert(2, Row { cols: [Some(2), None, None] });
    let partial = |c: usize, v| {
        let mut cells = [Cell::Keep; 3];
        cells[c] = Cell::Set(v);
        Change::Upsert { cells }
    };
    chain.incrementals.push(Incremental::from_changes([
        (1, partial(1, Some(5))),
        (2, partial(2, Some(big))),
        (3, set(3)),
    ]));
    chain.incrementals.push(Incremental::from_changes([
        (1, partial(0, None)),
        (2, partial(1, Some(7))),
        (3, partial(2, Some(big))),
    ]));
    chain.incrementals.push(Incremental::from_changes([(2, partial(2, None)), (3, Change::Erase)]));
    answers_the_fold(&chain, 0..5);
}

/// The oracle of `chain` gives every incremental's whole table, and each of
/// `keys`' rows, exactly as folding the chain does.
fn answers_the_fold(chain: &BackupChain, keys: std::ops::Range<Key>) {
    let oracle = Oracle::for_chain(chain.clone());
    for k in 0..=chain.len() {
        let table = fold(chain, IncrIdx(k));
        assert!(oracle.rows_after(IncrIdx(k), ..).eq(table.iter().map(|(a, r)| (*a, *r))), "k = {k}");
        for key in keys.clone() {
            assert_eq!(oracle.row_after(key, IncrIdx(k)), table.get(&key).copied(), "key {key} at k = {k}");
        }
    }
}
