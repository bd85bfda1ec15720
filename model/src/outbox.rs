//! The effects a model asks for. Handlers never perform I/O: they write
//! commands here and the engine carries them out (send over the network, arm
//! a timer, commit to the tablet's durable store, read backup storage).

use std::sync::Arc;

use crate::batch::ChangeBatch;
use crate::datashard::DataShardCommit;
use crate::ids::{IncrIdx, Key, Micros, OperationId, Round, ShardIdx, TableId};
use crate::msg::{Actor, Msg};
use crate::note::Note;
use crate::schemeshard::SchemeShardCommit;
use crate::txallocator::TxAllocatorCommit;
use crate::workload::Workload;

/// A durable change for the engine to apply atomically after the commit
/// latency. Lost if the tablet crashes first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Commit {
    SchemeShard(SchemeShardCommit),
    DataShard(DataShardCommit),
    TxAllocator(TxAllocatorCommit),
    /// The YDB flavour's SchemeShard (`crate::ydb::schema`).
    YdbSchemeShard(crate::ydb::schema::YdbSchemeShardCommit),
    /// The YDB flavour's destination DataShard applying change records.
    /// Boxed, as the largest variant: every queued event of the engine is
    /// as large as its largest payload, and a scale run queues millions of
    /// them (a box hashes as its content: the trace hash is the same).
    YdbDataShard(Box<crate::ydb::schema::YdbReceiverCommit>),
}

/// Timers. A timer belongs to the tablet generation that armed it: the engine
/// never fires a timer into a later generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Client: send restore request number `index`.
    ClientStart { index: u32 },
    /// Client: no answer to restore request `index` yet; send it again.
    ClientRetry { index: u32 },
    /// Client: poll the progress of restore `index`.
    ClientPoll { index: u32 },
    /// SchemeShard: the TxAllocator has not answered allocation `cookie`.
    AllocateTimeout { op: OperationId, cookie: u64 },
    /// SchemeShard: the op's stage-level backoff is over.
    StageRetry { op: OperationId },
    /// SchemeShard: re-send to one shard (backoff after a failure). A slot
    /// of the operation's timer table: the engine fires `ShardTimers`.
    ShardRetry { op: OperationId, shard: ShardIdx, round: Round },
    /// SchemeShard: has the shard said anything lately? A slot of the
    /// operation's timer table: the engine fires `ShardTimers`.
    ShardTimeout { op: OperationId, shard: ShardIdx, round: Round },
    /// SchemeShard: `deadline_overall` (stage = None) or `deadline_stage`.
    Deadline { op: OperationId, stage: Option<IncrIdx> },
    /// DataShard: retry a transiently failed backup read.
    ReadRetry { op: OperationId, incr: IncrIdx },
    /// Client: no answer to the Forget of restore `index` yet; send it again.
    /// (Last, so the derived hash of the older variants, and with it every
    /// golden trace hash, stays.)
    ClientForget { index: u32 },
    /// YDB SchemeShard: `TEvProgressIncrementalRestore`, the 1 s self-heartbeat.
    YdbHeartbeat { op: OperationId },
    /// YDB SchemeShard: `NextRetryAttemptAt` of a stage retry came.
    YdbStageRetry { op: OperationId },
    /// YDB SchemeShard: the TxAllocator answered empty; ask again (500 ms).
    YdbAllocateRetry { op: OperationId, cookie: u64 },
    /// YDB SchemeShard with a per-shard timeout (not in YDB as shipped).
    YdbShardTimeout { op: OperationId, sub_tx: crate::ids::TxId, shard: ShardIdx },
    /// YDB source shard: re-send to destination `shard` after its pipe broke.
    YdbSenderRetry { shard: ShardIdx },
    /// Client (YDB flavour): send the DROP (again) unless attempt
    /// `attempt` was answered.
    ClientDrop { attempt: u32 },
    /// SchemeShard: the earliest `ShardRetry`/`ShardTimeout` of operation
    /// `op` may be due: the one engine timer an operation keeps for its
    /// shards' timers (`schemeshard/op_timers.rs`, quinn-proto's
    /// `poll_timeout`), instead of one per shard.
    ShardTimers { op: OperationId },
}

impl Timer {
    /// Short name for traces and coverage.
    pub fn kind(&self) -> &'static str {
        match self {
            Timer::ClientStart { .. } => "ClientStart",
            Timer::ClientRetry { .. } => "ClientRetry",
            Timer::ClientPoll { .. } => "ClientPoll",
            Timer::AllocateTimeout { .. } => "AllocateTimeout",
            Timer::StageRetry { .. } => "StageRetry",
            Timer::ShardRetry { .. } => "ShardRetry",
            Timer::ShardTimeout { .. } => "ShardTimeout",
            Timer::Deadline { .. } => "Deadline",
            Timer::ReadRetry { .. } => "ReadRetry",
            Timer::ClientForget { .. } => "ClientForget",
            Timer::YdbHeartbeat { .. } => "YdbHeartbeat",
            Timer::YdbStageRetry { .. } => "YdbStageRetry",
            Timer::YdbAllocateRetry { .. } => "YdbAllocateRetry",
            Timer::YdbShardTimeout { .. } => "YdbShardTimeout",
            Timer::YdbSenderRetry { .. } => "YdbSenderRetry",
            Timer::ClientDrop { .. } => "ClientDrop",
            Timer::ShardTimers { .. } => "ShardTimers",
        }
    }
}

/// A DataShard's read of one batch of an incremental backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReadBackup {
    pub op: OperationId,
    pub table: TableId,
    pub incr: IncrIdx,
    /// The shard's range `[start, end)`.
    pub start: Key,
    pub end: Key,
    /// Exclusive resume point.
    pub after: Option<Key>,
    pub limit: u32,
}

impl ReadBackup {
    /// Backup storage's answer, from the table's chain in `workload`: the
    /// batch (a range of the incremental, `crate::batch`), whether more
    /// follows, and the row counts progress is measured in. An incremental
    /// the chain does not have is unreadable.
    pub fn serve(&self, workload: &Arc<Workload>) -> Result<BatchRows, ReadError> {
        self.serve_in(workload, None)
    }

    /// [`ReadBackup::serve`], given the shard's span in the incremental
    /// when the caller knows it (`crate::shard_spans`): every answer is
    /// then found by searches of the shard's ~100 changes, where `serve`
    /// made eight binary searches of the whole incremental (at scale,
    /// ~20 cache misses each). Without a span, two whole searches find it.
    pub fn serve_in(&self, workload: &Arc<Workload>, span: Option<(usize, usize)>) -> Result<BatchRows, ReadError> {
        let inc = workload.chain(self.table).incremental(self.incr).ok_or(ReadError::Fatal)?;
        let span = span.unwrap_or_else(|| inc.span(self.start, self.end));
        debug_assert_eq!(span, inc.span(self.start, self.end), "the span given is the shard's");
        let batch = inc.range_after_in(span, self.start, self.after, self.limit as usize);
        // The index just past the batch: keys are unique, so what follows
        // it in the span is above the batch's last key (or above the
        // resume point, for an empty batch).
        let past = batch.end_index();
        let changes = ChangeBatch::of(workload, self.table, self.incr, past - batch.len(), past);
        let more = past < span.1;
        let rows_through = match (changes.last_key(), self.after) {
            (Some(_), _) => (past - span.0) as u64,
            (None, None) => 0,
            // Changes up to the resume point: inside the span unless a
            // resume point past the range was asked for (counted as before).
            (None, Some(after)) => match after.checked_add(1).filter(|end| *end <= self.end) {
                Some(end) => (inc.position_in(span, end.max(self.start)) - span.0) as u64,
                None => inc.count_in(self.start, after.saturating_add(1)),
            },
        };
        Ok(BatchRows { rows_through, rows_total: (span.1 - span.0) as u64, changes, more })
    }
}

/// Why a backup read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadError {
    /// Try again: storage was briefly unavailable.
    Transient,
    /// The backup data is unreadable; retrying cannot help.
    Fatal,
}

/// The answer to a `ReadBackup`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BackupBatch {
    pub op: OperationId,
    pub incr: IncrIdx,
    pub result: Result<BatchRows, ReadError>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BatchRows {
    /// The changes, as a range of the incremental (`crate::batch`).
    pub changes: ChangeBatch,
    /// More changes follow in the shard's range after this batch.
    pub more: bool,
    /// All changes of this incremental in the shard's range.
    pub rows_total: u64,
    /// Changes in the shard's range up to and including this batch's last key.
    pub rows_through: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    Send { to: Actor, msg: Msg },
    SetTimer { after: Micros, timer: Timer },
    Commit(Commit),
    Read(ReadBackup),
}

/// Where a handler writes what it wants done. Reused across events: the
/// engine drains it after every handler, so it never grows without bound.
#[derive(Debug, Default)]
pub struct Outbox {
    pub commands: Vec<Command>,
    pub notes: Vec<Note>,
}

impl Outbox {
    pub fn send(&mut self, to: Actor, msg: Msg) {
        self.commands.push(Command::Send { to, msg });
    }

    pub fn set_timer(&mut self, after: Micros, timer: Timer) {
        self.commands.push(Command::SetTimer { after, timer });
    }

    pub fn commit(&mut self, commit: Commit) {
        self.commands.push(Command::Commit(commit));
    }

    pub fn read(&mut self, read: ReadBackup) {
        self.commands.push(Command::Read(read));
    }

    pub fn note(&mut self, note: Note) {
        self.notes.push(note);
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty() && self.notes.is_empty()
    }

    pub fn has_commit(&self) -> bool {
        self.commands.iter().any(|c| matches!(c, Command::Commit(_)))
    }

    pub fn clear(&mut self) {
        self.commands.clear();
        self.notes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{BackupChain, Change, Incremental};

    /// What `serve` answered before it searched within the shard's span:
    /// eight searches of the whole incremental.
    fn serve_by_whole_searches(read: &ReadBackup, chain: &BackupChain) -> Result<BatchRows, ReadError> {
        let inc = chain.incremental(read.incr).ok_or(ReadError::Fatal)?;
        let copied = inc.range_after(read.start, read.end, read.after, read.limit as usize).to_vec();
        let last = copied.last().map(|(k, _)| *k).or(read.after);
        let changes = ChangeBatch::from_changes(copied);
        let more = !inc.range_after(read.start, read.end, last, 1).is_empty();
        let through_end: Key = last.map_or(read.start, |k| k.saturating_add(1));
        Ok(BatchRows {
            rows_through: inc.count_in(read.start, through_end),
            rows_total: inc.count_in(read.start, read.end),
            changes,
            more,
        })
    }

    /// A read answers the same with the span given, without it, and as
    /// the whole-incremental searches did: every resume point, limit and
    /// range shape, including resume points outside the range.
    #[test]
    fn a_read_within_the_shards_span_answers_as_the_whole_searches() {
        let inc = Incremental::from_changes((0..50).map(|k| (k * 7 + 2, Change::Erase)));
        let chain = BackupChain { incrementals: vec![inc.clone()], ..BackupChain::default() };
        let workload = Arc::new(Workload { backups: vec![chain.clone()], ..Workload::default() });
        let ranges = [(0, 400), (2, 3), (10, 100), (100, 10), (0, 0), (300, Key::MAX), (345, 400)];
        for (start, end) in ranges {
            for after in [None, Some(0), Some(2), Some(9), Some(99), Some(100), Some(500), Some(Key::MAX)] {
                for limit in [0, 1, 5, 1000] {
                    let read = ReadBackup {
                        op: OperationId(1),
                        table: TableId(0),
                        incr: IncrIdx(1),
                        start,
                        end,
                        after,
                        limit,
                    };
                    let expected = serve_by_whole_searches(&read, &chain);
                    assert_eq!(read.serve(&workload), expected, "{start}..{end} after {after:?} limit {limit}");
                    let span = Some(inc.span(start, end));
                    assert_eq!(read.serve_in(&workload, span), expected, "{start}..{end} after {after:?}");
                }
            }
        }
        let read = ReadBackup {
            op: OperationId(1),
            table: TableId(0),
            incr: IncrIdx(2),
            start: 0,
            end: 9,
            after: None,
            limit: 1,
        };
        assert_eq!(read.serve(&workload), Err(ReadError::Fatal), "an incremental the chain lacks");
    }
}
