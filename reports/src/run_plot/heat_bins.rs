//! The heatmap's cells for any number of shards: shards binned into at most
//! [`HEAT_ROWS`] rows, each cell the lowest level of its bin's shards. Pure
//! data, tested without a backend.

use super::ShardSeries;
use super::series::{HEAT_LEVELS, level};

/// At most this many heatmap rows. The per-shard panel's plotting area of
/// the 1400 × 1000 plot is about 370 px tall, down to about 250 px when many
/// state-band rows take room, so 256 rows keep each row about a pixel or
/// more: a row thinner than a pixel could be painted over by its neighbour
/// in the PNG and a stuck shard lost, and more rows cannot be seen, only
/// make the SVG bigger (one rectangle per run of equal colour per row; a
/// million one-shard rows made a 280 MB SVG).
pub(super) const HEAT_ROWS: usize = 256;

/// One heatmap row: shards `first_shard..end_shard` (one shard when there
/// are at most [`HEAT_ROWS`]), and a level per time column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct HeatRow {
    pub first_shard: usize,
    pub end_shard: usize,
    /// Per column: the LOWEST level of the row's shards (the laggard is what
    /// a slow restore is about; a mean would hide one stuck shard), or `None`
    /// if any of its shards had reported nothing yet (that shard has not
    /// started, i.e. is at 0 %, and "no data" is the honest colour for it).
    pub cells: Vec<Option<u8>>,
}

/// The column right edges in µs, computed once per plot (the only 128-bit
/// division, `columns` of them, not one per shard per column).
pub(super) fn column_edges(end_us: u64, columns: usize) -> Vec<u64> {
    let columns = columns.max(1) as u128;
    (1..=columns).map(|c| (u128::from(end_us) * c / columns) as u64).collect()
}

/// Bins `shards` into `min(shards, max_rows)` rows; row `b` covers shards
/// `[b*n/rows, (b+1)*n/rows)`, so every row has at least one shard and the
/// sizes differ by at most one.
///
/// A row is swept column by column with a count of its shards at each
/// level, so it costs O(points × log points + columns), its shards' points
/// placed and sorted by column, not O(shards × columns): a shard has a
/// handful of points, and merging
/// every shard into every column (the first way, kept in the tests as the
/// reference) was ~5 % of a scale run's instructions at 100,000 shards.
pub(super) fn heat_rows(shards: &[ShardSeries], edges: &[u64], max_rows: usize) -> Vec<HeatRow> {
    let count = shards.len();
    let rows = count.min(max_rows.max(1));
    let mut changes = Vec::new();
    (0..rows)
        .map(|b| {
            let (first_shard, end_shard) = (b * count / rows, (b + 1) * count / rows);
            let cells = lowest_per_column(&shards[first_shard..end_shard], edges, &mut changes);
            HeatRow { first_shard, end_shard, cells }
        })
        .collect()
}

/// The slot of "no data yet" among the levels' counts.
const NO_DATA: usize = HEAT_LEVELS as usize + 1;
const _: () = assert!(NO_DATA < 64, "the levels present fit one u64");

/// One shard's level changing, at the first column whose right edge is at
/// or after the point that changes it.
#[derive(Clone, Copy)]
struct Change {
    column: u32,
    from: u8,
    to: u8,
}

/// Per column, the lowest level of `shards` at that column's right edge
/// (each shard's last point at or before it), or `None` while any of them
/// has no point yet. `changes` is scratch, reused across rows.
fn lowest_per_column(shards: &[ShardSeries], edges: &[u64], changes: &mut Vec<Change>) -> Vec<Option<u8>> {
    assert!(!shards.is_empty(), "every heatmap row has a shard");
    changes.clear();
    for shard in shards {
        let mut from = NO_DATA as u8;
        for &(time_us, percent) in &shard.points {
            let column = edges.partition_point(|&edge_us| edge_us < time_us);
            if column == edges.len() {
                break; // Points come in time order: the rest are later still.
            }
            let to = level(percent);
            changes.push(Change { column: column as u32, from, to });
            from = to;
        }
    }
    // Within a column only each level's net count matters, so the order of
    // a column's changes does not (a count may dip below 0 in between).
    changes.sort_unstable_by_key(|c| c.column);
    let mut at_level = [0i64; NO_DATA + 1];
    at_level[NO_DATA] = shards.len() as i64;
    let mut present: u64 = 1 << NO_DATA;
    let mut next = changes.iter().peekable();
    (0..edges.len())
        .map(|column| {
            while let Some(c) = next.next_if(|c| c.column as usize == column) {
                for (level, delta) in [(c.from, -1), (c.to, 1)] {
                    let n = &mut at_level[usize::from(level)];
                    *n += delta;
                    present = if *n > 0 { present | 1 << level } else { present & !(1 << level) };
                }
            }
            debug_assert!(present != 0, "every shard is at some level");
            match present.trailing_zeros() as usize {
                _ if present & 1 << NO_DATA != 0 => None,
                lowest => Some(lowest as u8),
            }
        })
        .collect()
}

/// The legend's words for `rows` when they are bins: "391 shards per row"
/// or "390–391 shards per row"; `None` when each row is one shard.
pub(super) fn shards_per_row(rows: &[HeatRow]) -> Option<String> {
    let sizes = rows.iter().map(|r| r.end_shard - r.first_shard);
    let (low, high) = sizes.fold((usize::MAX, 0), |(low, high), s| (low.min(s), high.max(s)));
    match (low, high) {
        (_, 0 | 1) => None,
        (low, high) if low == high => Some(format!("{high} shards per row")),
        (low, high) => Some(format!("{low}–{high} shards per row")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The rows as first computed, kept as the sweep's reference: every
    /// shard merged into every column of its row.
    fn rows_by_merging(shards: &[ShardSeries], edges: &[u64], max_rows: usize) -> Vec<HeatRow> {
        let count = shards.len();
        let rows = count.min(max_rows.max(1));
        (0..rows)
            .map(|b| {
                let (first_shard, end_shard) = (b * count / rows, (b + 1) * count / rows);
                let mut cells = vec![Some(u8::MAX); edges.len()];
                for shard in &shards[first_shard..end_shard] {
                    let (mut next, mut current) = (0, None);
                    for (cell, &edge_us) in cells.iter_mut().zip(edges) {
                        while next < shard.points.len() && shard.points[next].0 <= edge_us {
                            current = Some(level(shard.points[next].1));
                            next += 1;
                        }
                        *cell = match (*cell, current) {
                            (Some(kept), Some(level)) => Some(kept.min(level)),
                            _ => None,
                        };
                    }
                }
                HeatRow { first_shard, end_shard, cells }
            })
            .collect()
    }

    fn shard_strategy() -> impl Strategy<Value = ShardSeries> {
        prop::collection::vec((0u64..1_300, 0.0f64..=100.0), 0..7).prop_map(|mut points| {
            points.sort_by_key(|&(time_us, _)| time_us);
            ShardSeries { label: String::new(), points }
        })
    }

    proptest! {
        /// The sweep gives every cell the merge gives, binned or not, with
        /// points before, between, on and past the columns' edges.
        #[test]
        fn sweep_equals_merging_every_shard(
            shards in prop::collection::vec(shard_strategy(), 0..40),
            end_us in 1u64..1_200,
            columns in 0usize..30,
            max_rows in 1usize..50,
        ) {
            let edges = column_edges(end_us, columns);
            prop_assert_eq!(heat_rows(&shards, &edges, max_rows), rows_by_merging(&shards, &edges, max_rows));
        }
    }

    fn shard(points: &[(u64, f64)]) -> ShardSeries {
        ShardSeries { label: String::new(), points: points.to_vec() }
    }

    /// Each column takes the last value at or before its right edge; equal
    /// neighbours merge into runs.
    #[test]
    fn one_shard_row_takes_last_value() {
        let edges = column_edges(100, 4);
        assert_eq!(edges, [25, 50, 75, 100]);
        let rows = heat_rows(&[shard(&[(30, 10.0), (40, 50.0), (90, 100.0)]), shard(&[])], &edges, HEAT_ROWS);
        assert_eq!(rows[0].cells, [None, Some(25), Some(25), Some(50)]);
        assert_eq!(rows[1].cells, [None, None, None, None]);
        assert_eq!(super::super::series::runs(&rows[0].cells), [(1, 3, 25), (3, 4, 50)]);
    }

    /// The heatmap row of one shard as drawn before binning existed, kept
    /// verbatim as the reference the one-shard rows must match.
    fn unbinned_row(points: &[(u64, f64)], end_us: u64, columns: usize) -> Vec<Option<u8>> {
        let mut out = Vec::with_capacity(columns);
        let mut next = 0;
        let mut current = None;
        for column in 0..columns {
            let edge_us = (u128::from(end_us) * (column as u128 + 1) / columns.max(1) as u128) as u64;
            while next < points.len() && points[next].0 <= edge_us {
                current = Some(level(points[next].1));
                next += 1;
            }
            out.push(current);
        }
        out
    }

    /// With at most HEAT_ROWS shards every row is one shard and its cells are
    /// exactly what that shard alone gives: the picture of one row per shard.
    #[test]
    fn few_shards_keep_one_row_each() {
        let shards: Vec<ShardSeries> = (0..HEAT_ROWS as u64)
            .map(|s| shard(&[(s * 7, (s % 101) as f64), (s * 7 + 500, 100.0 - (s % 37) as f64), (2_999, 100.0)]))
            .collect();
        let edges = column_edges(3_000, 200);
        let rows = heat_rows(&shards, &edges, HEAT_ROWS);
        assert_eq!(rows.len(), shards.len());
        for (index, (row, shard)) in rows.iter().zip(&shards).enumerate() {
            assert_eq!((row.first_shard, row.end_shard), (index, index + 1));
            assert_eq!(row.cells, unbinned_row(&shard.points, 3_000, 200), "shard {index}");
        }
        assert_eq!(shards_per_row(&rows), None);
    }

    /// One stuck shard at 0 % among 10,000 at 100 % makes its bin's cell the
    /// 0 % colour, and no other bin's; a shard with no data blanks its bin.
    #[test]
    fn binning_keeps_a_stuck_shard_visible() {
        let (stuck, silent) = (4_321, 9_000);
        let shards: Vec<ShardSeries> = (0..10_000)
            .map(|s| match s {
                s if s == stuck => shard(&[(0, 0.0)]),
                s if s == silent => shard(&[]),
                _ => shard(&[(0, 100.0)]),
            })
            .collect();
        let edges = column_edges(1_000, 10);
        let rows = heat_rows(&shards, &edges, HEAT_ROWS);
        assert_eq!(rows.len(), HEAT_ROWS);
        assert_eq!(rows.last().unwrap().end_shard, 10_000);
        for row in &rows {
            let expected = if (row.first_shard..row.end_shard).contains(&stuck) {
                Some(0)
            } else if (row.first_shard..row.end_shard).contains(&silent) {
                None
            } else {
                Some(HEAT_LEVELS)
            };
            assert!(row.cells.iter().all(|&c| c == expected), "{row:?}");
        }
        assert_eq!(shards_per_row(&rows).as_deref(), Some("39–40 shards per row"));
    }
}
