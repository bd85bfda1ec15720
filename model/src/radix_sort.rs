//! A stable sort of `(key, value)` pairs by key: least-significant-digit
//! radix over the key bits in use.
//!
//! Why: workload generation sorts every row and change it draws by key
//! (10 M rows and 3 M changes at scale-100k, ~7,000 draws a ci-smoke
//! seed), and the keys are integers drawn from the key space. A
//! comparison sort pays ~log2 n unpredictable compares a draw (the
//! in-place unstable sort was a third of building scale-100k's full
//! backup); this pays one read pass for the histograms and one sequential
//! read and scattered write per digit, 2 to 3 digits at the key spaces
//! the scenarios use (above 128 Ki pairs, only the first digit's pass
//! crosses main memory: see `sort_stable_with`). Stable, so a key's draws
//! stay in draw order and "the last draw wins" is one pass after it
//! (`last_wins.rs`). Its price is a scratch copy of the input while it
//! runs (see `last_wins.rs` for why that is affordable).

use crate::ids::Key;

/// Below this many pairs the standard library's stable sort (insertion
/// sorts and a stack buffer there) costs less than setting up histograms.
const SMALL: usize = 64;

/// The widest digit: 2^11 buckets, 8 KiB of counters a pass, and no more
/// write streams than the caches keep open.
const MAX_DIGIT_BITS: u32 = 11;

/// Up to this many pairs (2 MiB at 16 bytes a pair, the size of a core's
/// L2 cache here), the digit passes run over the whole input; above, over
/// buckets of it.
pub(crate) const WHOLE_MAX: usize = 1 << 17;

/// What a bucket of the first (most significant) digit should hold on
/// average: 1 Ki pairs, 16 KiB, sorted in the L1 and L2 caches (past 2 M
/// pairs the first digit's 11-bit cap makes them larger: ~80 KiB at
/// scale-100k's 10 M rows, still in L2).
const BUCKET_PAIRS: usize = 1 << 10;

/// Sorts `v` by key, stably: pairs with equal keys keep their order.
pub fn sort_stable<V: Copy>(v: &mut Vec<(Key, V)>) {
    sort_stable_with(v, WHOLE_MAX);
}

/// [`sort_stable`], sorting in buckets above `whole_max` pairs (a
/// parameter so that tests reach both ways on small inputs).
fn sort_stable_with<V: Copy>(v: &mut Vec<(Key, V)>, whole_max: usize) {
    sort_stable_then(v, whole_max, |run| run.len());
}

/// Sorts `v` stably, and keeps of each run of its sorted pairs what `keep`
/// says: `keep` sees consecutive runs that cover the output, each holding
/// every pair of the keys it holds (a key never straddles two runs), may
/// rearrange a run, and returns how many of its leading pairs stay; `v`
/// ends as the kept prefixes in order. Above `whole_max` pairs a run is a
/// bucket of the first digit, just sorted and still in the caches, so
/// "the last draw of a key wins" (`last_wins.rs`) costs no pass of its own
/// over the whole input in main memory (at scale-1m's 100 M rows, one
/// read and one write of 1.6 GB).
pub(crate) fn sort_stable_then<V: Copy>(
    v: &mut Vec<(Key, V)>,
    whole_max: usize,
    mut keep: impl FnMut(&mut [(Key, V)]) -> usize,
) {
    let n = v.len();
    if n < SMALL || u32::try_from(n).is_err() {
        v.sort_by_key(|(key, _)| *key);
        let kept = keep(v);
        v.truncate(kept);
        return;
    }
    // Only the bits some key sets need sorting: 17 for a key space of
    // 100,000, 27 for 100,000,000.
    let used = v.iter().fold(0, |acc, (key, _)| acc | key);
    let bits = u64::BITS - used.leading_zeros();
    let mut buffer = Vec::new();
    if n <= whole_max.min(FEW_MAX) && sort_few(v, &mut buffer, bits) {
        let kept = keep(v);
        v.truncate(kept);
        return;
    }
    if n <= whole_max {
        sort_low_bits(v, &mut buffer, bits);
        let kept = keep(v);
        v.truncate(kept);
        return;
    }
    // Larger inputs: one stable pass by the top digit into buckets of
    // ~BUCKET_PAIRS (the only pass over the whole input in main memory
    // besides the histogram), then each bucket by the bits below it, in
    // cache. A digit pass over the whole input would cross main memory
    // twice a digit: at scale-100k's 10 M rows that was slower than the
    // comparison sort it replaced.
    let top = ((n / BUCKET_PAIRS).max(2).ilog2() + 1).min(MAX_DIGIT_BITS).min(bits);
    let low = bits - top;
    let buckets = 1usize << top;
    let bucket = |key: Key| (key >> low) as usize & (buckets - 1);
    let mut starts = vec![0u32; buckets + 1];
    for (key, _) in v.iter() {
        starts[bucket(*key) + 1] += 1;
    }
    for b in 0..buckets {
        starts[b + 1] += starts[b];
    }
    let mut sorted = vec![v[0]; n];
    let mut next = starts.clone();
    for &(key, value) in v.iter() {
        let slot = &mut next[bucket(key)];
        sorted[*slot as usize] = (key, value);
        *slot += 1;
    }
    let mut out = 0;
    for b in 0..buckets {
        let (start, end) = (starts[b] as usize, starts[b + 1] as usize);
        sort_low_bits(&mut sorted[start..end], &mut buffer, low);
        let kept = keep(&mut sorted[start..end]);
        sorted.copy_within(start..start + kept, out);
        out += kept;
    }
    sorted.truncate(out);
    *v = sorted;
}

/// Up to this many pairs (a ci-smoke table's 1,000 rows, an incremental's
/// ~900 changes) [`sort_few`] is tried before the digit passes.
const FEW_MAX: usize = 1 << MAX_DIGIT_BITS;

/// A bucket of the top digit at most this large is left to the insertion
/// pass; a larger one (keys crowded into a narrow range: a skewed key
/// space) sends the input to the digit passes, so the insertion pass's
/// cost stays linear whatever the keys.
const FEW_BUCKET_MAX: u32 = 16;

/// Sorts `v` stably by the low `bits` bits of its keys (the bits above are
/// equal in every key) when its keys spread over the top digit's buckets,
/// and says whether it did (else `v` is as it was).
///
/// Why: for a few thousand pairs the digit passes' fixed costs dominate
/// (two histograms, two scatters and two prefix sums over ~2^9 counters
/// for ci-smoke's 17 key bits: ~70 instructions a pair). Here one pass by
/// the top digit, with about half as many buckets as pairs, leaves each
/// bucket a few pairs; an insertion pass then finishes the order while it
/// copies the pairs back (a pair moves past only the few earlier pairs of
/// its bucket with a larger key, so it is stable and about linear).
fn sort_few<V: Copy>(v: &mut [(Key, V)], buffer: &mut Vec<(Key, V)>, bits: u32) -> bool {
    if !scatter_by_top_digit(v, buffer, bits) {
        return false;
    }
    for (i, &(key, value)) in buffer.iter().enumerate() {
        let mut j = i;
        while j > 0 && v[j - 1].0 > key {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = (key, value);
    }
    true
}

/// [`sort_few`] keeping only the last pair of each key (what
/// `last_wins.rs` keeps of a sorted run), in the same insertion pass: a
/// pair whose key the output holds already replaces it there (a key's
/// pairs share a bucket, in their order in `v`, so the later one comes
/// later). Says whether it sorted; `v` is untouched if not.
pub(crate) fn sort_few_last_wins<V: Copy>(v: &mut Vec<(Key, V)>) -> bool {
    let n = v.len();
    if !(SMALL..=FEW_MAX).contains(&n) {
        return false;
    }
    let bits = u64::BITS - v.iter().fold(0, |acc, (key, _)| acc | key).leading_zeros();
    let mut buffer = Vec::new();
    if !scatter_by_top_digit(v, &mut buffer, bits) {
        return false;
    }
    let mut out = 0;
    for &(key, value) in &buffer {
        let mut j = out;
        while j > 0 && v[j - 1].0 > key {
            j -= 1;
        }
        if j > 0 && v[j - 1].0 == key {
            v[j - 1].1 = value;
            continue;
        }
        for m in (j..out).rev() {
            v[m + 1] = v[m];
        }
        v[j] = (key, value);
        out += 1;
    }
    v.truncate(out);
    true
}

/// The pairs of `v` into `buffer` by the top digit of their low `bits`
/// bits, stably, with about half as many buckets as pairs; false (and nothing
/// written) when a bucket would hold more than [`FEW_BUCKET_MAX`].
fn scatter_by_top_digit<V: Copy>(v: &[(Key, V)], buffer: &mut Vec<(Key, V)>, bits: u32) -> bool {
    let n = v.len();
    // About half as many buckets as pairs: the prefix sum over the
    // buckets costs as much as the pairs' insertion moves it saves.
    let width = n.ilog2().min(MAX_DIGIT_BITS).min(bits);
    let shift = bits - width;
    let mut starts = vec![0u32; 1 << width];
    for (key, _) in v.iter() {
        // At most `n`, which fits a u32 (`FEW_MAX`): no overflow.
        let count = &mut starts[(key >> shift) as usize];
        *count = count.wrapping_add(1);
    }
    // Each count becomes where its bucket starts.
    let mut start = 0u32;
    for count in starts.iter_mut() {
        if *count > FEW_BUCKET_MAX {
            return false;
        }
        (*count, start) = (start, start.wrapping_add(*count));
    }
    // Every slot is written below: filled (a store a pair), not copied
    // (a copy of the input counted a byte at a time, at ~16 a pair).
    buffer.clear();
    buffer.resize(n, v[0]);
    for &(key, value) in v.iter() {
        let slot = &mut starts[(key >> shift) as usize];
        buffer[*slot as usize] = (key, value);
        *slot = slot.wrapping_add(1);
    }
    true
}

/// Sorts `v` stably by the low `bits` bits of its keys (the bits above are
/// equal in every key, or already sorted by): one digit pass each, least
/// significant first, between `v` and `buffer`.
fn sort_low_bits<V: Copy>(v: &mut [(Key, V)], buffer: &mut Vec<(Key, V)>, bits: u32) {
    let n = v.len();
    if n < SMALL {
        v.sort_by_key(|(key, _)| *key);
        return;
    }
    if bits == 0 {
        return; // every key is equal: already in order
    }
    // Few pairs need few buckets: at most ~n counters a pass.
    let widest = MAX_DIGIT_BITS.min(n.ilog2()).max(4);
    let passes = bits.div_ceil(widest);
    let width = bits.div_ceil(passes);
    let buckets = 1usize << width;
    let mask = (1u64 << width) - 1;
    let mut counts = vec![0u32; passes as usize * buckets];
    for (pass, counts) in (0..passes).zip(counts.chunks_exact_mut(buckets)) {
        for (key, _) in v.iter() {
            counts[((key >> (pass * width)) & mask) as usize] += 1;
        }
    }
    buffer.clear();
    buffer.extend_from_slice(v);
    // Pairs move between `v` and `buffer`; `in_v` says where they are.
    let mut in_v = true;
    for (pass, counts) in (0..passes).zip(counts.chunks_exact_mut(buckets)) {
        if counts.iter().any(|c| *c as usize == n) {
            continue; // one bucket holds every pair: the pass moves nothing
        }
        let mut start = 0;
        for c in counts.iter_mut() {
            let count = *c;
            *c = start;
            start += count;
        }
        let (from, to) = if in_v { (&*v, &mut buffer[..]) } else { (&buffer[..], &mut *v) };
        for &(key, value) in from {
            let slot = &mut counts[((key >> (pass * width)) & mask) as usize];
            to[*slot as usize] = (key, value);
            *slot += 1;
        }
        in_v = !in_v;
    }
    if !in_v {
        v.copy_from_slice(buffer);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The standard library's stable sort is the specification: the same
    /// order for every key width (one pass, several, the widest keys),
    /// with repeated keys (their values tell the order apart), below and
    /// above the small-input cut-off.
    #[test]
    fn sorts_as_the_stable_sort_does() {
        for (n, key_space) in [(0, 1), (1, 1), (63, 10), (64, 1), (100, 7), (1000, 100_000), (5000, u64::MAX)] {
            let mut v: Vec<(Key, u32)> =
                (0..n).map(|i| ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % key_space, i)).collect();
            let mut expected = v.clone();
            expected.sort_by_key(|(k, _)| *k);
            let mut buckets = v.clone();
            sort_stable(&mut v);
            assert_eq!(v, expected, "{n} pairs of {key_space} keys");
            sort_stable_with(&mut buckets, SMALL);
            assert_eq!(buckets, expected, "{n} pairs of {key_space} keys, in buckets");
        }
    }

    /// Inputs above the whole-input cut-off, sorted in buckets: uniform
    /// keys, keys crowded into a few buckets, and few distinct keys.
    #[test]
    fn large_inputs_sort_in_buckets_as_the_stable_sort_does() {
        for (n, key_space, shift) in [(WHOLE_MAX + 1, 100_000_000, 0), (300_000, 1 << 40, 30), (200_000, 50, 0)] {
            let mut v: Vec<(Key, u32)> = (0..n)
                .map(|i| (((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % key_space) >> shift, i as u32))
                .collect();
            let mut expected = v.clone();
            expected.sort_by_key(|(k, _)| *k);
            sort_stable(&mut v);
            assert!(v == expected, "{n} pairs of {key_space} keys >> {shift}");
        }
    }

    /// The top-digit pass with its insertion pass sorts as the stable sort
    /// does wherever it takes the input (spread keys of every width, up to
    /// its size limit, repeats included), and declines keys crowded into a
    /// few buckets, leaving them untouched for the digit passes.
    #[test]
    fn a_few_pairs_sort_by_the_top_digit_as_the_stable_sort_does() {
        let mut taken = 0;
        for n in [SMALL, 100, 999, 1000, 1500, FEW_MAX] {
            for key_space in [50, 1000, 100_000, 1 << 40, u64::MAX] {
                let v: Vec<(Key, u32)> =
                    (0..n).map(|i| ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % key_space, i as u32)).collect();
                let bits = u64::BITS - v.iter().fold(0, |acc, (key, _)| acc | key).leading_zeros();
                let mut expected = v.clone();
                expected.sort_by_key(|(k, _)| *k);
                let mut few = v.clone();
                if sort_few(&mut few, &mut Vec::new(), bits) {
                    taken += 1;
                    assert_eq!(few, expected, "{n} pairs of {key_space} keys");
                } else {
                    assert_eq!(few, v, "{n} pairs of {key_space} keys: declined, untouched");
                }
            }
        }
        assert!(taken >= 20, "the spread inputs are taken ({taken})");
        let crowded: Vec<(Key, u32)> = (0..1000).map(|i| ((u64::from(i % 7) << 30) | (1 << 40), i)).collect();
        let mut few = crowded.clone();
        assert!(!sort_few(&mut few, &mut Vec::new(), 41), "7 keys in 1,000 pairs crowd their buckets");
        assert_eq!(few, crowded);
    }

    proptest! {
        /// Random keys of any width, many repeated, random values: the
        /// stable sort's order exactly, over the whole input and in buckets.
        #[test]
        fn sorts_random_input_as_the_stable_sort_does(
            shift in 0u32..64,
            draws in prop::collection::vec((any::<u64>(), any::<u16>()), 0..3000),
        ) {
            let mut v: Vec<(Key, u16)> = draws.into_iter().map(|(k, x)| (k >> shift, x)).collect();
            let mut expected = v.clone();
            expected.sort_by_key(|(k, _)| *k);
            let mut buckets = v.clone();
            sort_stable(&mut v);
            prop_assert_eq!(&v, &expected);
            sort_stable_with(&mut buckets, SMALL);
            prop_assert_eq!(&buckets, &expected);
        }
    }
}
