//! Protocol knobs (docs/design.md §4.6) and planted bugs (§4.8). Each knob's default
//! is the design document's choice; a scenario may switch it to compare.

use crate::ids::Micros;
use crate::invariants::Invariant;

/// Which requests a failure re-sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetryScope {
    /// Re-send to the one shard that failed.
    Shard,
    /// Go back to Allocating for the whole stage (a new TxId), then re-send to
    /// every shard not yet Done.
    Stage,
}

/// When SchemeShard persists a shard's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProgressPersist {
    /// Every Progress response is persisted (LastKey survives a coordinator restart).
    EveryBatch,
    /// Only a shard's Done is persisted (fewer commits; a restart resumes from 0).
    OnShardDone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backoff {
    pub initial: Micros,
    pub max: Micros,
}

impl Backoff {
    /// Delay before retry number `attempt` (1-based): `initial * 2^(attempt-1)`,
    /// capped at `max`.
    pub fn delay(&self, attempt: u32) -> Micros {
        let shift = attempt.saturating_sub(1).min(32);
        self.initial.saturating_mul(1u64 << shift).min(self.max)
    }
}

/// A planted defect: off by default, each documented with the invariants that
/// catch it (`Bug::caught_by`, which the planted-bug tests hold it to). The
/// harness is only as good as its record on these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// DataShard answers Progress/Done before the batch commit is durable. The
    /// coordinator then persists and reports progress the shard does not have;
    /// a crash loses rows the coordinator counts as applied.
    /// Caught by: 8 (reported ahead of durable), 4 (stage advanced before every
    /// shard durably finished), 7 (Done without every shard durably done), 1
    /// (data differs at Done); since invariant 3 covers every key up to
    /// LastKey, 3 (a shard resumed from a `fromKey` it never made durable,
    /// skipping keys); with the Client's user behaviours, 13 (per-shard
    /// detail ahead of the DataShard) and 12 ("forgotten" before the erase
    /// is durable).
    AckBeforePersist,
    /// DataShard accepts requests of any generation and round, so a delayed or
    /// duplicated old request rewinds the stamp it durably accepted.
    /// Caught by: 5 (a stale message changed state).
    NoGenerationCheck,
    /// SchemeShard starts incremental i+1 as soon as the first shard finished
    /// i. Caught by: 4 (CurrentIncrementalIdx advanced before every shard was
    /// Done), 2 (a shard applies i+1 before the stage barrier), 6 (the last
    /// stage "completes" while Waiting: Waiting → Done skips Applying), 7
    /// (the last stage "completes" in Applying with one shard Done: Done
    /// while others have not finished, e.g. ci-smoke seed 28).
    NoStageBarrier,
    /// SchemeShard ignores pipe resets from DataShards; without a shard timeout
    /// a restarted shard is never asked again and the restore waits forever.
    /// Caught by: liveness.
    NoRetryOnPipeReset,
    /// DataShard starts a finished incremental over when asked again (a lost
    /// Done, a coordinator restart) instead of answering Done.
    /// Caught by: 4 (its durable progress of the incremental goes back), 3 or
    /// 2 (the re-applied changes land over later ones).
    SkipDoneCheck,
    /// DataShard resumes from the coordinator's `fromKey` even when its own
    /// durable LastKey is further, writing the older key back.
    /// Caught by: 4 (durable LastKey decreases).
    LastKeyRegress,
    /// SchemeShard completes a stage when every shard it heard from is Done,
    /// counting silent ones as Done.
    /// Caught by: 4 (advanced with shards not Done), 7 (Done without every
    /// shard), 6 (Waiting → Done skips Applying).
    CountMissingAsDone,
    /// SchemeShard's TTxInit re-arms the stage deadline from the operation's
    /// start instead of the stage's (two timestamps side by side in the
    /// state row). After a coordinator restart in a later stage the deadline
    /// fires at once and a healthy restore fails with Timeout. Found as a
    /// surviving mutant (`stage_started_at + d` → `- d` in `resume`): no
    /// check asked whether a Timeout was earned.
    /// Caught by: 6 (Failed on a deadline that had not passed).
    StageDeadlineFromOpStart,
    /// YDB flavour, issue #40685
    /// (<https://github.com/ydb-platform/ydb/issues/40685>): `FailedShards`
    /// live in memory only; the state row carries `CompletedOperations`
    /// (`SerializedData`) but neither the failed shards nor `RetryNeeded`.
    /// A SchemeShard restart while a failed stage waits for its retry
    /// reloads every sub-operation as complete, so the stage advances with
    /// the failed shard's rows never applied and the restore completes; and
    /// a non-retriable failure taken in while its sub-operation is still
    /// open is forgotten by a restart, the re-sent scan succeeds and the
    /// restore completes instead of failing (`ydb-fatal-scan.ron`).
    /// Caught by: 7 (a stage advanced with a table not at the oracle's
    /// state; a stage advanced past a non-retriable failure).
    Ydb40685,
    /// YDB flavour, PR #35663 (<https://github.com/ydb-platform/ydb/pull/35663>,
    /// fixes <https://github.com/ydb-platform/ydb/issues/22274>; the
    /// `// FIXME`/`TODO #18797` in `TIncrementalRestoreScan::Finish`): an
    /// aborted scan is reported as finished, so the shard counts as
    /// restored with the rest of its range never pushed.
    /// Caught by: 7 (a stage advanced with a table short of the oracle).
    Ydb35663,
    /// YDB flavour, PR #41268 (<https://github.com/ydb-platform/ydb/pull/41268>,
    /// fixes <https://github.com/ydb-platform/ydb/issues/33764>, SchemeShard's
    /// `Y_VERIFY` "Non consistent PathState and StepDropped" under nemesis):
    /// TTxInit's `RestoreIncrementalRestoreOpPathStates` re-locks the paths
    /// of every restore row it loads, finished restores and dropped paths
    /// included, so after a SchemeShard restart a finished restore's tables
    /// are locked forever (DROP never succeeds) and a dropped path holds a
    /// restore lock.
    /// Caught by: 16 (a path locked by a terminal restore, or dropped and locked).
    Ydb41268,
    /// YDB flavour, PR #53201 (<https://github.com/ydb-platform/ydb/pull/53201>):
    /// the source actor sends its progress with its own actor context, so
    /// the DataShard's pipe to SchemeShard is owned by that short-lived
    /// actor (`crate::ydb::pipe`). After a SchemeShard restart the reset
    /// notice goes to a dead actor, the DataShard keeps the dead pipe, and
    /// DROP BACKUP COLLECTION's `TEvSchemaChanged` sent into it is lost: the
    /// drop never completes.
    /// Caught by: liveness.
    Ydb53201,
}

impl Bug {
    pub const ALL: [Bug; 8] = [
        Bug::AckBeforePersist,
        Bug::NoGenerationCheck,
        Bug::NoStageBarrier,
        Bug::NoRetryOnPipeReset,
        Bug::SkipDoneCheck,
        Bug::LastKeyRegress,
        Bug::CountMissingAsDone,
        Bug::StageDeadlineFromOpStart,
    ];

    /// The invariants that catch this bug (see each variant's doc).
    pub fn caught_by(self) -> &'static [Invariant] {
        use Invariant::*;
        match self {
            Bug::AckBeforePersist => &[
                ReportedNotAhead,
                ProgressMonotonic,
                NoFalseSuccess,
                FinalData,
                ExactlyOnce,
                ProgressConsistent,
                ForgetOnlyEnded,
            ],
            Bug::NoGenerationCheck => &[StaleHasNoEffect],
            Bug::NoStageBarrier => &[ProgressMonotonic, Order, LegalTransitions, NoFalseSuccess],
            Bug::NoRetryOnPipeReset => &[Liveness],
            Bug::SkipDoneCheck => &[ProgressMonotonic, ExactlyOnce, Order],
            Bug::LastKeyRegress => &[ProgressMonotonic],
            Bug::CountMissingAsDone => &[ProgressMonotonic, NoFalseSuccess, LegalTransitions],
            Bug::StageDeadlineFromOpStart => &[LegalTransitions],
            Bug::Ydb40685 | Bug::Ydb35663 => &[NoFalseSuccess],
            Bug::Ydb41268 => &[YdbPathState],
            Bug::Ydb53201 => &[Liveness],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Bug::AckBeforePersist => "AckBeforePersist",
            Bug::NoGenerationCheck => "NoGenerationCheck",
            Bug::NoStageBarrier => "NoStageBarrier",
            Bug::NoRetryOnPipeReset => "NoRetryOnPipeReset",
            Bug::SkipDoneCheck => "SkipDoneCheck",
            Bug::LastKeyRegress => "LastKeyRegress",
            Bug::CountMissingAsDone => "CountMissingAsDone",
            Bug::StageDeadlineFromOpStart => "StageDeadlineFromOpStart",
            Bug::Ydb40685 => "Ydb40685",
            Bug::Ydb35663 => "Ydb35663",
            Bug::Ydb41268 => "Ydb41268",
            Bug::Ydb53201 => "Ydb53201",
        }
    }

    /// Bugs of the YDB flavour: real defects of YDB before their fix. They
    /// are caught by `scenarios/ydb-*.ron`, not by the design's scenarios.
    pub const YDB: [Bug; 4] = [Bug::Ydb40685, Bug::Ydb35663, Bug::Ydb41268, Bug::Ydb53201];

    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().chain(Bug::YDB).find(|b| b.name() == name)
    }
}

/// A set of planted bugs (a bit set: cheap to test on hot paths).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bugs(u32);

impl Bugs {
    pub fn with(mut self, bug: Bug) -> Bugs {
        self.0 |= 1 << bug as u32;
        self
    }

    pub fn has(self, bug: Bug) -> bool {
        self.0 & (1 << bug as u32) != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Bug> {
        Bug::ALL.into_iter().chain(Bug::YDB).filter(move |b| self.has(*b))
    }
}

/// Every protocol knob, with the design document's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProtocolKnobs {
    /// A restarted shard resumes after its durable LastKey (false: rescan).
    pub resume_from_last_key: bool,
    /// Requests carry a per-shard round beside the generation (false:
    /// generation only, as YDB's later code does).
    pub request_rounds: bool,
    /// Re-send to a shard that said nothing for this long; `None`: only pipe
    /// resets detect trouble.
    pub shard_timeout: Option<Micros>,
    pub retry_scope: RetryScope,
    /// At most this many shards with an outstanding request per operation.
    pub max_shards_in_flight: Option<u32>,
    pub backoff: Backoff,
    pub deadline_overall: Option<Micros>,
    pub deadline_stage: Option<Micros>,
    pub progress_persist: ProgressPersist,
    /// Rows per DataShard batch (one commit each).
    pub batch_rows: u32,
    /// How long SchemeShard waits for the TxAllocator before asking again.
    pub allocate_timeout: Micros,
    /// How often a DataShard retries a transiently failed backup read before
    /// it reports a retriable error to the coordinator.
    pub read_retries: u32,
    pub bugs: Bugs,
    /// Which protocol the tablets run.
    pub flavour: Flavour,
    /// Knobs of the YDB flavour only.
    pub ydb: crate::ydb::YdbKnobs,
}

/// The protocol flavour: the design's, or YDB's as shipped (`crate::ydb`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Flavour {
    #[default]
    Design,
    Ydb,
}

impl Default for ProtocolKnobs {
    fn default() -> Self {
        ProtocolKnobs {
            resume_from_last_key: true,
            request_rounds: true,
            shard_timeout: Some(500_000),
            retry_scope: RetryScope::Shard,
            max_shards_in_flight: None,
            backoff: Backoff { initial: 10_000, max: 1_000_000 },
            deadline_overall: None,
            deadline_stage: None,
            progress_persist: ProgressPersist::EveryBatch,
            batch_rows: 100,
            allocate_timeout: 200_000,
            read_retries: 3,
            bugs: Bugs::default(),
            flavour: Flavour::Design,
            ydb: crate::ydb::YdbKnobs::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_max() {
        let b = Backoff { initial: 10, max: 50 };
        assert_eq!([b.delay(1), b.delay(2), b.delay(3), b.delay(4), b.delay(100)], [10, 20, 40, 50, 50]);
    }

    #[test]
    fn bug_names_round_trip() {
        for bug in Bug::ALL.into_iter().chain(Bug::YDB) {
            assert_eq!(Bug::from_name(bug.name()), Some(bug));
            assert!(Bugs::default().with(bug).has(bug));
        }
    }
}
