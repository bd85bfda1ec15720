//! Invariant 1 at quiescence: a table some restore ended Done on equals
//! the oracle, row for row, column for column (`sim/src/run` asks once
//! the run is over).
//!
//! The check's meaning is a walk of every shard's rows over its range,
//! shard after shard, compared with the oracle's whole table. That walk
//! decoded every row of both sides (5.6 % of a 100,000-shard run). When
//! the shards lie in key order without overlapping — every topology the
//! harness builds — the concatenation equals the oracle exactly when each
//! shard's range does and the oracle has no row between or around them;
//! each shard's range is then compared by `same_rows` (only the keys
//! either side changed, on packed words), and a gap costs a search only
//! when there is one. Anything else takes the walk itself.

use super::Checker;
use crate::datashard::DataShardDb;
use crate::ids::{IncrIdx, Key, ShardIdx};
use crate::topology::TableSpec;

impl Checker {
    /// Whether `table`'s shards (each's database from `db`), read over
    /// their ranges in the table's shard order, hold exactly the oracle's
    /// rows after incremental `k`: the whole walk's verdict.
    pub fn table_equals_oracle<'a>(
        &self,
        table: &TableSpec,
        k: IncrIdx,
        db: impl Fn(ShardIdx) -> &'a DataShardDb,
    ) -> bool {
        let topology = &self.workload.topology;
        let oracle = &self.oracles[table.id.0 as usize];
        let specs = || table.shards.iter().map(|s| topology.shard(*s));
        let in_order = specs().all(|s| s.start <= s.end)
            && table.shards.windows(2).all(|w| topology.shard(w[0]).end <= topology.shard(w[1]).start);
        if !in_order {
            let actual = table.shards.iter().flat_map(|s| {
                let spec = topology.shard(*s);
                db(*s).rows.range(spec.start..spec.end)
            });
            return actual.eq(oracle.rows_after(k, ..));
        }
        // The keys below the next shard's range not yet covered by a shard.
        let mut uncovered: Key = 0;
        for spec in specs() {
            if uncovered < spec.start && oracle.rows_after(k, uncovered..spec.start).next().is_some() {
                return false;
            }
            if !self.rows_equal(spec, db(spec.idx), k, spec.start) {
                return false;
            }
            uncovered = spec.end;
        }
        // Keys are below `Key::MAX`, so a last range ending there leaves none.
        uncovered == Key::MAX || oracle.rows_after(k, uncovered..).next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::Row;
    use crate::datashard::ShardRows;
    use crate::ids::TableId;
    use crate::oracle::Oracle;
    use crate::testkit::workload;
    use crate::topology::ShardSpec;
    use crate::workload::Workload;

    /// The walk the check stands for.
    fn walk(w: &Workload, dbs: &[DataShardDb], table: &TableSpec, k: IncrIdx) -> bool {
        let oracle = Oracle::new(Arc::new(w.clone()), table.id);
        let actual = table.shards.iter().flat_map(|s| {
            let spec = w.topology.shard(*s);
            dbs[s.0 as usize].rows.range(spec.start..spec.end)
        });
        actual.eq(oracle.rows_after(k, ..))
    }

    /// Each shard's rows as the oracle's after `k`.
    fn restored(w: &Workload, k: IncrIdx) -> Vec<DataShardDb> {
        let oracle = Oracle::new(Arc::new(w.clone()), TableId(0));
        w.topology
            .shards
            .iter()
            .map(|spec| {
                let chain = w.chain(spec.table);
                let mut rows = ShardRows::over(chain.full.clone(), spec.start, spec.end);
                if spec.table == TableId(0) {
                    for (key, row) in oracle.rows_after(k, spec.start..spec.end) {
                        rows.set(key, Some(row));
                    }
                    for (key, _) in chain.full.range(spec.start..spec.end) {
                        if oracle.row_after(key, k).is_none() {
                            rows.set(key, None);
                        }
                    }
                }
                DataShardDb { rows, restores: Default::default() }
            })
            .collect()
    }

    /// The verdict is the walk's: for a restored table, for one row off in
    /// either shard (changed, missing, extra), for a table never restored,
    /// and for shard layouts with gaps, overlaps and out of order.
    #[test]
    fn the_verdict_is_the_whole_walks() {
        let base = workload(2);
        let layouts: [&[(Key, Key)]; 5] = [
            &[(0, 100), (100, Key::MAX)],
            &[(0, 95), (105, Key::MAX)],
            &[(10, 100), (100, 150)],
            &[(100, Key::MAX), (0, 100)],
            &[(0, 120), (100, Key::MAX)],
        ];
        let mut cases = 0;
        for layout in layouts {
            let mut w = base.clone();
            for (i, (start, end)) in layout.iter().enumerate() {
                w.topology.shards[i] =
                    ShardSpec { idx: ShardIdx(i as u32), table: TableId(0), start: *start, end: *end };
            }
            let checker = Checker::new(Arc::new(w.clone()));
            let table = w.topology.tables[0].clone();
            for k in [IncrIdx(1), IncrIdx(2)] {
                let good = restored(&w, k);
                let mut variants = vec![good.clone(), restored(&w, IncrIdx(0))];
                for key in [0, 7, 14, 95, 99, 100, 101, 140, 196, 250] {
                    for row in [None, Some(Row { cols: [Some(1), None, Some(key)] })] {
                        let mut dbs = good.clone();
                        let shard = usize::from(key >= 100);
                        dbs[shard].rows.set(key, row);
                        variants.push(dbs);
                    }
                }
                for dbs in &variants {
                    let expected = walk(&w, dbs, &table, k);
                    assert_eq!(checker.table_equals_oracle(&table, k, |s| &dbs[s.0 as usize]), expected, "{layout:?}");
                    cases += usize::from(expected);
                }
            }
        }
        assert!(cases > 10, "some variants are equal ({cases}), so both verdicts are met");
    }
}
