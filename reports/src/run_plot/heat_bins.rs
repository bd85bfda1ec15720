//! The heatmap's cells for any number of shards: shards binned into at most
//! [`HEAT_ROWS`] rows, each cell the lowest level of its bin's shards. Pure
//! data, tested without a backend.

use super::ShardSeries;
use super::series::level;

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
/// sizes differ by at most one. O(shards × (columns + points)) time, no
/// allocation per shard.
pub(super) fn heat_rows(shards: &[ShardSeries], edges: &[u64], max_rows: usize) -> Vec<HeatRow> {
    let count = shards.len();
    let rows = count.min(max_rows.max(1));
    (0..rows)
        .map(|b| {
            let (first_shard, end_shard) = (b * count / rows, (b + 1) * count / rows);
            // Every row has a shard, so the start value is always replaced
            // by a shard's level or None.
            let mut cells = vec![Some(u8::MAX); edges.len()];
            for shard in &shards[first_shard..end_shard] {
                merge_lowest(&shard.points, edges, &mut cells);
            }
            HeatRow { first_shard, end_shard, cells }
        })
        .collect()
}

/// Merges one shard into `cells`: per column its last level at or before the
/// column's right edge (None before its first point), keeping the lowest and
/// letting None win. Points must be in non-decreasing time order.
fn merge_lowest(points: &[(u64, f64)], edges: &[u64], cells: &mut [Option<u8>]) {
    let mut next = 0;
    let mut current = None;
    for (cell, &edge_us) in cells.iter_mut().zip(edges) {
        while next < points.len() && points[next].0 <= edge_us {
            current = Some(level(points[next].1));
            next += 1;
        }
        *cell = match (*cell, current) {
            (Some(kept), Some(shard)) => Some(kept.min(shard)),
            _ => None,
        };
    }
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
    use super::*;
    use crate::run_plot::series::HEAT_LEVELS;

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
