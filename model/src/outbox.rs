//! The effects a model asks for. Handlers never perform I/O: they write
//! commands here and the engine carries them out (send over the network, arm
//! a timer, commit to the tablet's durable store, read backup storage).

use crate::datashard::DataShardCommit;
use crate::ids::{IncrIdx, Key, Micros, OperationId, Round, ShardIdx, TableId};
use crate::msg::{Actor, Msg};
use crate::note::Note;
use crate::schemeshard::SchemeShardCommit;
use crate::txallocator::TxAllocatorCommit;

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
    /// Backup storage's answer, from the table's chain: the batch, whether
    /// more follows, and the row counts progress is measured in. An
    /// incremental the chain does not have is unreadable.
    pub fn serve(&self, chain: &crate::data::BackupChain) -> Result<BatchRows, ReadError> {
        let inc = chain.incremental(self.incr).ok_or(ReadError::Fatal)?;
        let changes = inc.range_after(self.start, self.end, self.after, self.limit as usize).to_vec();
        let last = changes.last().map(|(k, _)| *k).or(self.after);
        let more = !inc.range_after(self.start, self.end, last, 1).is_empty();
        let through_end: Key = last.map_or(self.start, |k| k.saturating_add(1));
        Ok(BatchRows {
            rows_through: inc.count_in(self.start, through_end),
            rows_total: inc.count_in(self.start, self.end),
            changes,
            more,
        })
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
    pub changes: Vec<(Key, crate::data::Change)>,
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
