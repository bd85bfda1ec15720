//! Checks run after every DataShard commit: order and stage barrier (2),
//! exactly-once effect (3), LastKey monotonic (4), and the per-shard data
//! check at the shard's Done (1). Plus the staleness test of invariant 5.

use super::same_rows::{Above, same_rows_from};
use super::{Check, Checker, Invariant, OpShape, Violation};
use crate::datashard::{DataShardCommit, DataShardDb, IncrementalProgress};
use crate::ids::{IncrIdx, Stamp};
use crate::msg::TEvIncrementalRestoreRequest;
use crate::topology::ShardSpec;

impl Checker {
    fn shape_for(&self, op: crate::ids::OperationId, spec: &ShardSpec) -> OpShape {
        self.ops.get(&op).copied().unwrap_or_else(|| {
            let table = self.workload.topology.table(spec.table).expect("shard's table exists");
            OpShape {
                table: spec.table,
                shards: table.shards.len() as u32,
                incrementals: self.workload.chain(spec.table).len(),
            }
        })
    }

    /// After `commit` was applied to a DataShard; `before` is the progress
    /// record it replaced.
    pub fn on_datashard_commit(
        &mut self,
        spec: &ShardSpec,
        before: Option<IncrementalProgress>,
        commit: &DataShardCommit,
        db: &DataShardDb,
    ) -> Check {
        let (op, incr) = (commit.op, commit.incr);
        let after = commit.progress;
        let shard = spec.idx.0;
        // First of all: what this commit changed is no longer known equal.
        self.verified.forget_changed(spec, commit.changes.first_key());
        if let Some(before) = before
            && (after.last_key < before.last_key || (before.done && !after.done))
        {
            {
                return Err(Violation::new(
                    Invariant::ProgressMonotonic,
                    format!(
                        "DataShard {shard}'s durable progress of incremental {} (op {}) went back from \
                         LastKey {:?} (done: {}) to {:?} (done: {}). A restarted or re-asked shard must \
                         resume from the furthest key it made durable, never behind it.",
                        incr.0, op.0, before.last_key, before.done, after.last_key, after.done
                    ),
                ));
            }
        }
        let shape = self.shape_for(op, spec);
        // Intermediate states are the oracle's only on a table's first restore.
        let first = self.first_restore.get(&spec.table).is_none_or(|first| *first == op);
        let from = before.and_then(|b| b.last_key);
        // The keys the prefix walk below compares with incremental `incr`'s
        // values, all of them: the per-key exactly-once check skips those
        // it would compare with the same values (two lookups per key saved;
        // on a failure of the walk it runs in full first, so the report is
        // the one it always was).
        let walked = if first && after.last_key > from { prefix_span(spec, from, after.last_key) } else { None };
        if !commit.changes.is_empty() {
            self.check_order(spec, shape, commit, db)?;
            let seen = self.order_checked.entry(op).or_default();
            let index = spec.idx.0 as usize;
            if seen.len() <= index {
                seen.resize(index + 1, 0);
            }
            seen[index] = seen[index].max(incr.0).max(1);
            if first {
                self.check_exactly_once(spec, shape, commit, db, walked)?;
            }
        }
        if first
            && after.last_key > from
            && let Err(violation) = self.check_prefix_range(spec, commit, from, db)
        {
            if walked.is_some() && !commit.changes.is_empty() {
                self.check_exactly_once(spec, shape, commit, db, None)?;
            }
            return Err(violation);
        }
        if after.done && !before.is_some_and(|b| b.done) {
            *self.ds_done.entry((op, incr)).or_default() += 1;
        }
        if after.done && !before.is_some_and(|b| b.done) && (first || incr.0 == shape.incrementals) {
            let oracle = &self.oracles[spec.table.0 as usize];
            // The prefix the walks of this incremental verified is equal
            // still: only the rest is compared (see `verified.rs`).
            let from = self.verified.unverified_from(spec, incr);
            if !self.rows_equal(spec, db, incr, from) {
                let expected = oracle.rows_after(incr, spec.start..spec.end);
                let diff = first_difference(db.rows.range(spec.start..spec.end), expected);
                return Err(Violation::new(
                    Invariant::FinalData,
                    format!(
                        "DataShard {shard} reported incremental {} of op {} Done, but its rows differ \
                         from the oracle (full backup + incrementals 1..={}): {diff}.",
                        incr.0, op.0, incr.0
                    ),
                ));
            }
            if spec.start < spec.end {
                self.verified.found_equal(spec, incr, spec.start, spec.end - 1);
            }
        }
        Ok(())
    }

    fn check_order(&self, spec: &ShardSpec, shape: OpShape, commit: &DataShardCommit, db: &DataShardDb) -> Check {
        let (op, incr, shard) = (commit.op, commit.incr, spec.idx.0);
        // Done never goes back (invariant 4 checks every record's own
        // commits), so incrementals already seen done below an earlier
        // commit's `incr` are not looked at again: O(1) amortised per
        // commit instead of O(incrementals).
        let seen = self.order_checked.get(&op).and_then(|seen| seen.get(spec.idx.0 as usize)).copied().unwrap_or(1);
        for j in seen.max(1)..incr.0 {
            if !db.progress(op, IncrIdx(j)).is_some_and(|p| p.done) {
                return Err(Violation::new(
                    Invariant::Order,
                    format!(
                        "DataShard {shard} applied rows of incremental {} (op {}) before it finished \
                         incremental {j}. Incrementals do not commute: each must land in full, in order.",
                        incr.0, op.0
                    ),
                ));
            }
        }
        let later = records(db, op, incr.0 + 1, shape.incrementals).find(|(_, p)| p.last_key.is_some() || p.done);
        if let Some((IncrIdx(j), _)) = later {
            return Err(Violation::new(
                Invariant::Order,
                format!(
                    "DataShard {shard} applied rows of incremental {} (op {}) after it had already \
                     applied rows of the later incremental {j}: an old change overwrote a newer one.",
                    incr.0, op.0
                ),
            ));
        }
        if incr.0 > 1 && self.shards_done(op, IncrIdx(incr.0 - 1)) < shape.shards {
            return Err(Violation::new(
                Invariant::Order,
                format!(
                    "Stage barrier broken: DataShard {shard} applied incremental {} of op {} while only \
                     {} of {} shards had finished incremental {}.",
                    incr.0,
                    op.0,
                    self.shards_done(op, IncrIdx(incr.0 - 1)),
                    shape.shards,
                    incr.0 - 1
                ),
            ));
        }
        Ok(())
    }

    fn check_exactly_once(
        &self,
        spec: &ShardSpec,
        shape: OpShape,
        commit: &DataShardCommit,
        db: &DataShardDb,
        walked: Option<(crate::ids::Key, crate::ids::Key)>,
    ) -> Check {
        let op = commit.op;
        // The furthest incremental this shard has touched defines its prefix state.
        let Some((m, progress)) =
            records(db, op, 1, shape.incrementals).rev().find(|(_, p)| p.last_key.is_some() || p.done)
        else {
            // Rows changed with no durable LastKey to say which prefix they
            // belong to: nothing to compare them with is not "fine".
            return Err(Violation::new(
                Invariant::ExactlyOnce,
                format!(
                    "DataShard {} committed {} changed rows of op {} with no durable progress (LastKey) for any \
                     incremental: rows must be committed atomically with the progress that covers them.",
                    spec.idx.0,
                    commit.changes.len(),
                    op.0
                ),
            ));
        };
        let oracle = &self.oracles[spec.table.0 as usize];
        let spans = self.spans.of(spec);
        // Keys at or below LastKey of incremental `m == incr` must hold
        // incremental `incr`'s values: exactly what the prefix walk compares.
        let walked = walked.filter(|_| m == commit.incr);
        // A batch is a run of its incremental, so its keys ascend: when the
        // walk covered its first and last key it covered them all, and the
        // loop below would skip every key (most commits: the walk is over
        // the keys LastKey moved across, which hold the batch).
        let (first, last) = (commit.changes.first_key(), commit.changes.last_key());
        if let (Some((lo, hi)), Some(first), Some(last)) = (walked, first, last)
            && lo <= first
            && last <= hi
        {
            return Ok(());
        }
        for key in commit.changes.keys() {
            if walked.is_some_and(|(lo, hi)| (lo..=hi).contains(&key)) {
                continue;
            }
            // The shard's spans hold only its own keys' rows.
            let within = spans.filter(|_| spec.contains(key));
            let expected = oracle.row_in_prefix_in(within, key, m, progress.last_key);
            let actual = db.rows.get(key);
            if actual != expected {
                return Err(Violation::new(
                    Invariant::ExactlyOnce,
                    format!(
                        "After a commit of incremental {} (op {}), DataShard {} holds {actual:?} at key {key}, \
                         but a shard that finished incrementals 1..{} and applied incremental {} up to \
                         LastKey {:?} must hold {expected:?}. A batch was applied twice over a later \
                         change, or out of order.",
                        commit.incr.0, op.0, spec.idx.0, m.0, m.0, progress.last_key
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Checker {
    /// Invariant 3 over the whole prefix, not only the committed keys: when
    /// a commit moves incremental `i`'s durable LastKey from `from` to `to`,
    /// every key of the shard in `(from, to]` must hold the oracle's value
    /// after incremental `i` (a batch that skipped a change, or a LastKey
    /// set past what was applied, breaks this), and the keys above `to` up
    /// to and including the next change of `i` must still hold the value
    /// after `i - 1` (a change applied before LastKey covers it). The ranges
    /// of successive commits do not overlap, so one incremental's checks
    /// cost one pass over the shard's rows in total: O(batch) per commit.
    fn check_prefix_range(
        &mut self,
        spec: &ShardSpec,
        commit: &DataShardCommit,
        from: Option<crate::ids::Key>,
        db: &DataShardDb,
    ) -> Check {
        let (op, incr) = (commit.op, commit.incr);
        let Some(to) = commit.progress.last_key else { return Ok(()) };
        let oracle = &self.oracles[spec.table.0 as usize];
        // Where the keys above the prefix start, for the check above it.
        let mut above = None;
        if let Some((lo, hi)) = prefix_span(spec, from, Some(to)) {
            let (same, rest) = self.range_equal_from(spec, db, incr, lo, hi, None);
            above = rest;
            if !same {
                let diff = first_difference(db.rows.range(lo..=hi), oracle.rows_after(incr, lo..=hi));
                return Err(Violation::new(
                    Invariant::ExactlyOnce,
                    format!(
                        "DataShard {} moved incremental {}'s durable LastKey (op {}) from {from:?} to {to}, but \
                         the keys it now covers do not hold incremental {}'s values: {diff}. Every key at or \
                         below LastKey must be applied, not only the keys of the batch.",
                        spec.idx.0, incr.0, op.0, incr.0
                    ),
                ));
            }
            self.verified.found_equal(spec, incr, lo, hi);
        }
        let chain = self.workload.chain(spec.table);
        let Some(inc) = chain.incremental(incr) else { return Ok(()) };
        let span =
            self.spans.of(spec).and_then(|s| s.incremental(incr)).unwrap_or_else(|| inc.span(spec.start, spec.end));
        let Some((next, _)) = inc.range_after_in(span, spec.start, Some(to), 1).first() else { return Ok(()) };
        let previous = IncrIdx(incr.0 - 1);
        if !self.range_equal_from(spec, db, previous, to.saturating_add(1), next, above).0 {
            let expected = oracle.rows_after(previous, to.saturating_add(1)..=next);
            let diff = first_difference(db.rows.range(to.saturating_add(1)..=next), expected);
            return Err(Violation::new(
                Invariant::ExactlyOnce,
                format!(
                    "DataShard {} holds incremental {}'s LastKey {to} (op {}), yet above it, up to the next \
                     change at key {next}, the rows do not hold incremental {}'s values: {diff}. A change above \
                     LastKey landed before the progress that covers it.",
                    spec.idx.0, incr.0, op.0, previous.0
                ),
            ));
        }
        Ok(())
    }
}

impl Checker {
    /// Whether the shard's rows with `from <= key < spec.end` are the
    /// oracle's after `incr`.
    pub(super) fn rows_equal(&self, spec: &ShardSpec, db: &DataShardDb, incr: IncrIdx, from: crate::ids::Key) -> bool {
        from >= spec.end || self.range_equal(spec, db, incr, from, spec.end - 1)
    }

    /// Whether the shard's rows with `lo <= key <= hi` are the oracle's
    /// after `k`: the full walk's verdict, found by comparing only the
    /// keys either side changed when the range lies in the shard's spans
    /// (`same_rows.rs`), else by a walk that starts with a search of the
    /// shard's rows only, or of the whole table for a range outside it.
    fn range_equal(
        &self,
        spec: &ShardSpec,
        db: &DataShardDb,
        k: IncrIdx,
        lo: crate::ids::Key,
        hi: crate::ids::Key,
    ) -> bool {
        self.range_equal_from(spec, db, k, lo, hi, None).0
    }

    /// [`Checker::range_equal`], handed where a walk of the same shard's
    /// rows right below `lo` stopped (`same_rows::Above`), and handing
    /// back where this one stopped when the packed comparison decided.
    fn range_equal_from<'d>(
        &self,
        spec: &ShardSpec,
        db: &'d DataShardDb,
        k: IncrIdx,
        lo: crate::ids::Key,
        hi: crate::ids::Key,
        above: Option<Above<'d>>,
    ) -> (bool, Option<Above<'d>>) {
        let oracle = &self.oracles[spec.table.0 as usize];
        let spans = self.spans.of(spec).filter(|_| spec.contains(lo) && spec.contains(hi));
        if let Some(decided) = spans.and_then(|s| same_rows_from(&db.rows, oracle, k, s, lo, hi, above)) {
            return decided;
        }
        (db.rows.range(lo..=hi).eq(oracle.rows_after_in(spans, k, lo..=hi)), None)
    }
}

/// The shard's keys in `(from, to]`, as an inclusive range, if any: what
/// the prefix walk compares when LastKey moves from `from` to `to`.
fn prefix_span(
    spec: &ShardSpec,
    from: Option<crate::ids::Key>,
    to: Option<crate::ids::Key>,
) -> Option<(crate::ids::Key, crate::ids::Key)> {
    let to = to?;
    let lo = from.map_or(spec.start, |k| k.saturating_add(1)).max(spec.start);
    let hi = to.min(spec.end.saturating_sub(1));
    (lo <= hi).then_some((lo, hi))
}

/// `op`'s progress records on a DataShard for incrementals `first..=last`,
/// in order: a range of the record table, so a commit looks only at the
/// records that exist rather than at every incremental of the chain.
fn records(
    db: &DataShardDb,
    op: crate::ids::OperationId,
    first: u32,
    last: u32,
) -> impl DoubleEndedIterator<Item = (IncrIdx, IncrementalProgress)> + '_ {
    let range = (first <= last).then(|| db.restores.range((op, IncrIdx(first))..=(op, IncrIdx(last))));
    range.into_iter().flatten().map(|((_, j), p)| (*j, *p))
}

/// Invariant 5's test on the DataShard side: a request is stale when its
/// stamp is older than the one the shard durably accepted.
pub fn is_stale_request(db: &DataShardDb, req: &TEvIncrementalRestoreRequest) -> Option<Stamp> {
    let accepted = db.progress(req.op, req.incr)?.accepted;
    (req.stamp < accepted).then_some(accepted)
}

fn first_difference(
    actual: impl Iterator<Item = (u64, crate::data::Row)>,
    expected: impl Iterator<Item = (u64, crate::data::Row)>,
) -> String {
    let mut a = actual.peekable();
    let mut e = expected.peekable();
    loop {
        match (a.peek().copied(), e.peek().copied()) {
            (None, None) => return "no difference".into(),
            (Some((k, r)), None) => return format!("key {k} holds {r:?} but must be absent"),
            (None, Some((k, r))) => return format!("key {k} is missing, expected {r:?}"),
            (Some((ka, ra)), Some((ke, re))) => {
                if ka < ke {
                    return format!("key {ka} holds {ra:?} but must be absent");
                } else if ke < ka {
                    return format!("key {ke} is missing, expected {re:?}");
                } else if ra != re {
                    return format!("key {ka} holds {ra:?}, expected {re:?}");
                }
                a.next();
                e.next();
            }
        }
    }
}
