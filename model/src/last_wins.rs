//! Sorting draws by key where the last draw of a key wins — what inserting
//! each into a map does — on packed `(key, value)` pairs; and merging such
//! sorted runs, the newer winning.
//!
//! How: a stable radix sort (`radix_sort.rs`) keeps a key's draws in draw
//! order, so the last of each run of equal keys is the one a map would
//! hold; one pass keeps it. This replaced a one-byte-a-draw filter that
//! sent repeated keys to a side list (stably sorted, then merged over the
//! in-place unstable sort of the first draws): that needed no scratch, but
//! its comparison sort and the filter's random probes were most of the
//! cost of drawing a table. The radix sort's scratch, as large as the
//! draws, lives only while a sort runs: during workload generation, before
//! any DataShard or oracle exists, so it is not the run's peak (at
//! scale-100k, the full backup's 160 MB of draws and 160 MB of scratch
//! against a peak of ~580 MiB later in the run).

use crate::ids::Key;

/// Sorts `v` (draws in draw order) by key, keeping the last draw of each
/// key.
pub fn sort_last_wins<V: Copy>(v: &mut Vec<(Key, V)>) {
    sort_last_wins_with(v, crate::radix_sort::WHOLE_MAX);
}

/// [`sort_last_wins`] with the radix sort's whole-input cut-off as a
/// parameter, so that tests reach its bucket path on small inputs. The
/// last draw is kept bucket by bucket as the sort finishes each (a key's
/// draws all fall in one bucket), while the bucket is in the caches.
fn sort_last_wins_with<V: Copy>(v: &mut Vec<(Key, V)>, whole_max: usize) {
    // A few thousand draws (a ci-smoke table's, an incremental's) keep
    // their last draws as they are sorted, not in a pass after.
    if v.len() <= whole_max && crate::radix_sort::sort_few_last_wins(v) {
        return;
    }
    crate::radix_sort::sort_stable_then(v, whole_max, keep_last);
}

/// Moves the last pair of each run of equal keys to the front of `v`
/// (sorted by key), in order, and says how many there are.
fn keep_last<V: Copy>(v: &mut [(Key, V)]) -> usize {
    let Some(&(mut last)) = v.first() else { return 0 };
    // `last` is the latest pair of the run being read: it is written out
    // when a pair of another key ends the run (one compare a pair, where
    // looking ahead to the next pair took a bounds check and a reload).
    let mut out = 0;
    for read in 1..v.len() {
        let pair = v[read];
        if pair.0 != last.0 {
            v[out] = last;
            out += 1;
        }
        last = pair;
    }
    v[out] = last;
    out + 1
}

/// Merges `v[head..]` into `v[..head]`, both sorted with unique keys, the
/// later part winning a shared key. Extra memory: a copy of `v[head..]`.
pub fn merge_newer_wins<V: Copy>(v: &mut Vec<(Key, V)>, head: usize) {
    if head == 0 || head == v.len() {
        return;
    }
    let newer = v.split_off(head);
    let new = count_new(v, &[] as &[(Key, V)], &newer);
    merge_from_back(v, &newer, new);
}

/// Merges sorted, key-unique `newer` into sorted, key-unique `v`, `newer`
/// winning a shared key, in place (within `v`'s spare capacity if it has
/// enough). `new` is how many of `newer`'s keys `v` lacks: the caller has
/// counted them already (workload generation counts them round by round),
/// so the merge does not walk `v` a second time to count them. Panics if
/// the count is wrong.
pub fn merge_into<V: Copy>(v: &mut Vec<(Key, V)>, newer: &[(Key, V)], new: usize) {
    merge_from_back(v, newer, new);
}

/// How many keys of sorted, key-unique `drawn` are in neither `a` nor `b`
/// (each sorted, key-unique): one galloping walk of each.
pub fn count_new<V: Copy, W: Copy, X: Copy>(a: &[(Key, V)], b: &[(Key, W)], drawn: &[(Key, X)]) -> usize {
    let (mut i, mut j) = (0, 0);
    drawn
        .iter()
        .filter(|(key, _)| {
            i = seek(a, i, *key);
            j = seek(b, j, *key);
            a.get(i).is_none_or(|(k, _)| k != key) && b.get(j).is_none_or(|(k, _)| k != key)
        })
        .count()
}

/// The index of the first element at or after index `from` whose key is
/// at least `key`: a galloping search, O(log distance), for walks that
/// look up ascending keys.
pub fn seek<V>(rows: &[(Key, V)], from: usize, key: Key) -> usize {
    let mut step = 1;
    let mut hi = from;
    while hi < rows.len() && rows[hi].0 < key {
        hi = from + step;
        step *= 2;
    }
    let hi = hi.min(rows.len());
    let lo = (from + step / 4).min(hi);
    lo + rows[lo..hi].partition_point(|(k, _)| *k < key)
}

/// The first index in `lo..hi` from which every key is above `key`: a
/// galloping search backwards from `hi`.
fn seek_back<V>(rows: &[(Key, V)], lo: usize, hi: usize, key: Key) -> usize {
    let mut upper = hi;
    let mut step = 1;
    let lower = loop {
        let probe = hi.saturating_sub(step).max(lo);
        if probe >= upper {
            return upper;
        }
        if probe == lo || rows[probe].0 <= key {
            break probe;
        }
        upper = probe;
        step *= 2;
    };
    lower + rows[lower..upper].partition_point(|(k, _)| *k <= key)
}

/// Merges sorted, key-unique `newer` into sorted, key-unique `v` in place,
/// `newer` winning a shared key: knowing how many keys are new (`new`),
/// the merge fills `v` from its new end backwards without overwriting an
/// element not yet moved; the old elements between two of `newer`'s keys
/// move as one block.
fn merge_from_back<V: Copy>(v: &mut Vec<(Key, V)>, newer: &[(Key, V)], new: usize) {
    let Some(&filler) = newer.first() else { return };
    let mut old = v.len();
    let total = old + new;
    v.resize(total, filler);
    let mut write = total;
    for &(key, value) in newer.iter().rev() {
        let above = seek_back(v, 0, old, key);
        let run = old - above;
        v.copy_within(above..old, write - run);
        write -= run;
        old = above;
        if old > 0 && v[old - 1].0 == key {
            old -= 1;
        }
        write -= 1;
        v[write] = (key, value);
    }
    assert_eq!(write, old, "the shared keys were counted exactly");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// Exactly the map of the same draws, last draw winning, for draws with
    /// no repeats, a few, and nearly all, below and above the radix sort's
    /// small-input cut-off.
    #[test]
    fn sorting_keeps_the_last_draw_of_each_key_like_a_map() {
        for (draws, keys) in [(0u64, 1u64), (1, 1), (2, 1), (50, 1000), (500, 600), (1000, 30), (5000, 100_000)] {
            let drawn: Vec<(Key, u64)> =
                (0..draws).map(|i| ((i.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 7) % keys, i)).collect();
            let map: BTreeMap<Key, u64> = drawn.iter().copied().collect();
            let mut v = drawn.clone();
            let mut buckets = drawn.clone();
            sort_last_wins(&mut v);
            assert!(v.iter().copied().eq(map.iter().map(|(k, x)| (*k, *x))), "{draws} draws of {keys} keys");
            sort_last_wins_with(&mut buckets, 64);
            assert!(buckets.iter().copied().eq(map), "{draws} draws of {keys} keys, kept bucket by bucket");
        }
    }

    /// The few-pairs path keeps the last draw of each key as the map does,
    /// for draws spread over the key space (the path taken) with repeats
    /// in every position of a bucket, and declines crowded draws untouched.
    #[test]
    fn a_few_draws_keep_their_last_draw_as_they_sort() {
        for (draws, keys) in [(64u64, 100u64), (900, 1000), (1000, 100_000), (2048, 3000), (1500, u64::MAX)] {
            let drawn: Vec<(Key, u64)> =
                (0..draws).map(|i| (i.wrapping_mul(0x2545_F491_4F6C_DD1D).wrapping_add(i >> 3) % keys, i)).collect();
            let map: BTreeMap<Key, u64> = drawn.iter().copied().collect();
            let mut v = drawn.clone();
            assert!(crate::radix_sort::sort_few_last_wins(&mut v), "{draws} draws of {keys} keys spread");
            assert!(v.iter().copied().eq(map), "{draws} draws of {keys} keys");
        }
        let crowded: Vec<(Key, u64)> = (0..1000).map(|i| ((1 << 40) | (i % 5), i)).collect();
        let mut v = crowded.clone();
        assert!(!crate::radix_sort::sort_few_last_wins(&mut v));
        assert_eq!(v, crowded);
    }

    /// The sort this module used before the radix sort (a filter of first
    /// draws, an in-place unstable sort of those, a stable sort of the
    /// repeats merged over them), kept as the reference the new one must
    /// equal draw for draw.
    fn filtered_sort_last_wins<V: Copy>(v: &mut Vec<(Key, V)>) {
        let n = v.len();
        if n <= 1 {
            return;
        }
        let bits = (n * 8).next_power_of_two().max(64);
        let shift = 64 - bits.trailing_zeros();
        let mut filter = vec![0u64; bits / 64];
        let mut repeats: Vec<(Key, V)> = Vec::new();
        let mut kept = 0;
        for read in 0..v.len() {
            let draw = v[read];
            let h = (draw.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize;
            let (word, bit) = (h / 64, 1u64 << (h % 64));
            if filter[word] & bit != 0 {
                repeats.push(draw);
            } else {
                filter[word] |= bit;
                v[kept] = draw;
                kept += 1;
            }
        }
        v.truncate(kept);
        v.sort_unstable_by_key(|(key, _)| *key);
        repeats.sort_by_key(|(key, _)| *key);
        let mut out = 0;
        for read in 0..repeats.len() {
            if repeats.get(read + 1).is_none_or(|(next, _)| *next != repeats[read].0) {
                repeats[out] = repeats[read];
                out += 1;
            }
        }
        repeats.truncate(out);
        let new = count_new(v, &[] as &[(Key, V)], &repeats);
        merge_from_back(v, &repeats, new);
    }

    proptest! {
        /// The radix sort and one pass give exactly what the filtered sort
        /// gave, and what a map does, on random draws: keys of any width,
        /// from all distinct to a handful repeated many times.
        #[test]
        fn sorting_equals_the_filtered_sort_and_the_map(
            key_space in prop_oneof![1u64..10, 10u64..2000, Just(100_000u64), Just(u64::MAX)],
            draws in prop::collection::vec((any::<u64>(), any::<u32>()), 0..2500),
        ) {
            let drawn: Vec<(Key, u32)> =
                draws.into_iter().map(|(k, x)| (if key_space == u64::MAX { k } else { k % key_space }, x)).collect();
            let map: BTreeMap<Key, u32> = drawn.iter().copied().collect();
            let mut old = drawn.clone();
            filtered_sort_last_wins(&mut old);
            let mut new = drawn;
            sort_last_wins(&mut new);
            prop_assert_eq!(&new, &old);
            prop_assert!(new.into_iter().eq(map));
        }
    }

    #[test]
    fn merging_keeps_the_newer_value_of_a_shared_key() {
        let mut v: Vec<(Key, u32)> = vec![(1, 0), (3, 0), (5, 0), (7, 0), (0, 1), (3, 1), (4, 1), (9, 1)];
        merge_newer_wins(&mut v, 4);
        assert_eq!(v, [(0, 1), (1, 0), (3, 1), (4, 1), (5, 0), (7, 0), (9, 1)]);
        let mut all_shared: Vec<(Key, u32)> = vec![(1, 0), (2, 0), (1, 1), (2, 1)];
        merge_newer_wins(&mut all_shared, 2);
        assert_eq!(all_shared, [(1, 1), (2, 1)]);
        let mut only_old: Vec<(Key, u32)> = vec![(1, 0)];
        merge_newer_wins(&mut only_old, 1);
        assert_eq!(only_old, [(1, 0)]);
        let mut into: Vec<(Key, u32)> = (0..100).map(|k| (k * 2, 0)).collect();
        let newer: Vec<(Key, u32)> = [0, 1, 2, 51, 100, 150, 198, 199, 500].iter().map(|k| (*k, 1)).collect();
        let expected: BTreeMap<Key, u32> = into.iter().chain(&newer).copied().collect();
        assert_eq!(count_new(&into, &[] as &[(Key, u8)], &newer), 4);
        assert_eq!(count_new(&into, &newer[..3], &newer), 3, "a key in either list is not new");
        merge_into(&mut into, &newer, 4);
        assert!(into.iter().copied().eq(expected));
    }

    /// The galloping searches find what a binary search does, from every
    /// start, at and between keys, past both ends.
    #[test]
    fn seeks_find_what_a_binary_search_does() {
        let rows: Vec<(Key, ())> = (1..=40).map(|k| (k * 3, ())).collect();
        for from in 0..=rows.len() {
            for key in 0..130 {
                let expected = from.max(rows.partition_point(|(k, _)| *k < key));
                assert_eq!(seek(&rows, from, key), expected, "seek from {from} to {key}");
                let above = rows.partition_point(|(k, _)| *k <= key).max(from);
                assert_eq!(seek_back(&rows, from, rows.len(), key), above, "seek_back to {from} for {key}");
            }
        }
    }
}
