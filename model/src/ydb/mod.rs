//! The YDB flavour: incremental restore as YDB ships it (the "Path A" code of
//! `schemeshard_incremental_restore_scan.cpp`, `incremental_restore_src_actor.cpp`,
//! `incr_restore_scan.cpp` and the change exchange), beside the design's
//! protocol. docs/ydb-flavour.md describes what is modelled and what is not.
//!
//! The shape that differs from the design:
//! - one operation restores a **backup collection** (every table of the
//!   workload; the tables after the first stand for its index tables), one
//!   stage barrier across all of them, at most `tables_in_flight` per-table
//!   sub-operations, each with its own TxId;
//! - SchemeShard asks the **source** shards (the backup table's, whose
//!   partitioning differs from the restored table's) to scan; each scan starts
//!   from the beginning and pushes change records to the destination shards,
//!   which apply them and de-duplicate per source by record order;
//! - per-shard terminal results, first report wins, kept in memory; a failed
//!   stage is re-run whole with fresh TxIds after a 2/4/8 s backoff.

pub mod datashard;
pub mod path_state;
pub mod pipe;
pub mod schema;
pub mod schemeshard;

use crate::data::Change;
use crate::ids::{Generation, IncrIdx, Key, Micros, OperationId, ShardIdx, TableId, TxId};
use crate::topology::Topology;

/// The flavour's own knobs (knobs shared with the design live in
/// `ProtocolKnobs` and mean the same there).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct YdbKnobs {
    /// `MaxIncrementalRestoreTablesInFlight`: sub-operations (tables) of a
    /// stage dispatched at once; `None` = unbounded (-1 in YDB).
    pub tables_in_flight: Option<u32>,
    /// The unit of the stage-retry backoff: YDB waits
    /// `2^min(elapsed_in_stage / (5 unit) + 1, 3)` units (1 s in YDB: 2, 4, 8 s).
    pub retry_unit: Micros,
    /// The orchestrator's self-heartbeat (`TEvProgressIncrementalRestore`, 1 s in YDB).
    pub heartbeat: Micros,
}

impl Default for YdbKnobs {
    fn default() -> Self {
        YdbKnobs { tables_in_flight: None, retry_unit: 1_000_000, heartbeat: 1_000_000 }
    }
}

impl YdbKnobs {
    /// `GetRetryWakeupTimeoutBackoff`: the delay before the stage is re-run.
    pub fn retry_delay(&self, elapsed_in_stage: Micros) -> Micros {
        let step = (elapsed_in_stage / self.retry_unit.saturating_mul(5).max(1)).saturating_add(1).min(3);
        self.retry_unit.saturating_mul(1 << step)
    }
}

/// `TEvDataShard::TEvIncrementalRestoreSrcCreateRequest`: scan your part of
/// the backup table of `incr` and push it to the restored `table`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SrcCreateRequest {
    pub op: OperationId,
    /// The sub-operation's TxId (one per table and stage attempt).
    pub sub_tx: TxId,
    pub table: TableId,
    pub incr: IncrIdx,
    /// The source shard.
    pub shard: ShardIdx,
    /// `SchemeShardGeneration`: echoed in the answer; the only staleness filter.
    pub generation: Generation,
}

/// `EOpEndStatus` of a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndStatus {
    Success,
    /// `END_TRANSIENT_FAILURE` (scan `Term`): the stage is retried.
    TransientFailure,
    /// `END_FATAL_FAILURE` (scan `Lost`/`StorageError`): the restore fails.
    FatalFailure,
}

/// `TEvDataShard::TEvIncrementalRestoreShardProgress`: the only answer, terminal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShardProgress {
    pub op: OperationId,
    pub sub_tx: TxId,
    pub shard: ShardIdx,
    pub generation: Generation,
    pub end: EndStatus,
}

/// Change records from a source shard's scan to one destination shard
/// (`TEvApplyRecords` of the change exchange).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApplyRecords {
    pub op: OperationId,
    pub incr: IncrIdx,
    /// The source shard (the change sender's `Origin`) and its generation.
    pub origin: ShardIdx,
    pub origin_generation: Generation,
    /// The sender's scan, echoed in the status.
    pub scan: u64,
    /// `(Order, key, change)`; `Order` counts from 1 in scan order, so a
    /// rescan gives every record the same order again.
    pub records: Vec<(u64, Key, Change)>,
}

/// The receiver's `TEvStatus`: records up to `last_order` are durable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecordsStatus {
    pub origin_generation: Generation,
    pub scan: u64,
    /// The destination shard answering.
    pub shard: ShardIdx,
    /// The order of the last record of the message answered: a late answer
    /// to an earlier batch (a duplicate, a re-send) must not acknowledge a
    /// later one.
    pub upto: u64,
    /// `false`: the sender's generation is older than one seen (STALE_ORIGIN).
    pub ok: bool,
}

/// A source shard: a part of the backup tables of one restored table. Every
/// incremental's backup table is partitioned alike here (one tablet hosts
/// its part of each), which YDB does not promise; de-duplication is per
/// `(origin, incremental)`, as YDB's is per origin tablet of one backup table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SrcShardSpec {
    pub idx: ShardIdx,
    pub table: TableId,
    pub start: Key,
    pub end: Key,
}

/// Where the YDB flavour's source shards are: after the restored tables'
/// shards (`ShardIdx` continues the numbering), one per destination shard
/// of each table, split at the midpoints of the destination shards, so
/// each source shard feeds two destination shards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YdbLayout {
    pub src: Vec<SrcShardSpec>,
    /// Per table, its source shards.
    pub src_of_table: Vec<Vec<ShardIdx>>,
    /// Shards of the restored tables (`ShardIdx` below it are destinations).
    pub dst_count: u32,
}

impl YdbLayout {
    pub fn new(topology: &Topology) -> YdbLayout {
        let dst_count = topology.shards.len() as u32;
        let mut src = Vec::new();
        let mut src_of_table = Vec::new();
        for table in &topology.tables {
            let shards: Vec<_> = table.shards.iter().map(|s| topology.shard(*s)).collect();
            let (Some(first), Some(last)) = (shards.first(), shards.last()) else {
                src_of_table.push(Vec::new());
                continue;
            };
            let mut cuts = vec![first.start];
            cuts.extend(shards[..shards.len() - 1].iter().map(|s| s.start + (s.end - s.start) / 2));
            cuts.push(last.end);
            let mut mine = Vec::new();
            for w in cuts.windows(2) {
                let idx = ShardIdx(dst_count + src.len() as u32);
                src.push(SrcShardSpec { idx, table: table.id, start: w[0], end: w[1] });
                mine.push(idx);
            }
            src_of_table.push(mine);
        }
        YdbLayout { src, src_of_table, dst_count }
    }

    pub fn is_source(&self, shard: ShardIdx) -> bool {
        shard.0 >= self.dst_count
    }

    pub fn source(&self, shard: ShardIdx) -> &SrcShardSpec {
        &self.src[(shard.0 - self.dst_count) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_backoff_is_two_four_eight_units() {
        let k = YdbKnobs::default();
        let s = 1_000_000;
        assert_eq!(
            [k.retry_delay(0), k.retry_delay(5 * s), k.retry_delay(10 * s), k.retry_delay(60 * s)],
            [2 * s, 4 * s, 8 * s, 8 * s]
        );
    }

    #[test]
    fn source_shards_split_the_table_differently() {
        let t = Topology::uniform(&[("a".into(), 2), ("b".into(), 1)], 1000);
        let l = YdbLayout::new(&t);
        assert_eq!(l.dst_count, 3);
        assert_eq!(l.src_of_table, vec![vec![ShardIdx(3), ShardIdx(4)], vec![ShardIdx(5)]]);
        let a: Vec<_> = t.tables[0].shards.iter().map(|s| t.shard(*s)).collect();
        assert_eq!(l.source(ShardIdx(3)).start, a[0].start);
        assert_eq!(l.source(ShardIdx(4)).end, a[1].end);
        assert_ne!(l.source(ShardIdx(3)).end, a[0].end, "a cut inside the first destination shard");
    }
}
