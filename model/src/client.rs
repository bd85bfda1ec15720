//! The Client: asks for restores, polls their progress, and records what it
//! saw. It is not a tablet (it never crashes); its record is what a user of
//! the progress API would have seen, and the run plot draws it.

use crate::ids::{Micros, OperationId, RequestKey};
use crate::msg::{Actor, DropStatus, ForgetStatus, Msg, RejectStatus};
use crate::outbox::{Outbox, Timer};
use crate::progress::{OpState, ProgressReport};
use crate::workload::RestoreRequestSpec;
use crate::ydb::path_state::SchemePath;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    pub restores: Vec<RestoreRequestSpec>,
    pub poll_interval: Micros,
    /// Re-send a restore request (same idempotency key) after this long.
    pub request_timeout: Micros,
    pub behaviour: ClientBehaviour,
}

/// What else the Client does besides ask and poll, as a user would. Every
/// field off (the default) is the plain Client, which draws nothing, so
/// runs without these behaviours keep their trace hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientBehaviour {
    /// Wait a uniform draw in `[poll_interval, poll_interval_max]` between polls.
    pub poll_interval_max: Option<Micros>,
    /// Ask GetProgress with per-shard detail with probability `num / den`
    /// per poll (`(0, 1)`: never).
    pub shard_detail: (u32, u32),
    /// Once accepted, send the same request (same idempotency key) again:
    /// the answer must name the same operation.
    pub repeat_key: bool,
    /// Once accepted, ask for a second restore of the same table under a
    /// new key: it must be refused with `MultipleModifications`.
    pub conflicting_restore: bool,
    /// Send Forget once right after acceptance (refused: still running) and
    /// again after the end (granted), re-sent until answered.
    pub forget: bool,
    /// Keep polling this many times after seeing Done or Failed.
    pub polls_after_end: u32,
    /// Send Forget once, as soon as an answer shows the restore running at
    /// this whole percent or more (YDB shows 99 % while Finalizing, where
    /// its Forget is granted). Shares the premature Forget's one shot.
    pub forget_at_percent: Option<u32>,
    /// YDB flavour: DROP a path once the first restore was answered.
    pub drop: Option<ClientDrop>,
}

/// A DROP TABLE / DROP BACKUP COLLECTION the Client sends `after` the first
/// restore was answered, and asks again `retry` after each refusal (a
/// restore holds the path) until it is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientDrop {
    pub after: Micros,
    pub path: SchemePath,
    pub retry: Micros,
}

/// What became of the Client's DROP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DropProgress {
    /// Sends so far; a timer of an earlier attempt is stale.
    pub attempt: u32,
    /// Answers in arrival order.
    pub answers: Vec<DropStatus>,
    /// Dropped (or found dropped already, the answer to a re-send).
    pub done: bool,
}

/// Seeded draws the Client needs for the behaviours that are on; the
/// harness passes its Client stream (the model owns no RNG).
pub trait ClientDraw {
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64;
    /// True with probability `num / den`.
    fn chance(&mut self, num: u32, den: u32) -> bool;
}

/// The key of the conflicting restore the Client sends for restore `index`:
/// from the top of the key space, so it never equals a workload's key.
pub fn conflict_key(index: u32) -> RequestKey {
    RequestKey(u64::MAX - u64::from(index))
}

impl Extras {
    /// The repeat was sent and is still unanswered (it is re-sent until it
    /// is, and the late Forget waits for it).
    fn awaits_repeat(&self, b: &ClientBehaviour) -> bool {
        b.repeat_key && self.extras_sent && !self.repeat_answered
    }
}

/// What the Client did beyond its restores, per restore.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extras {
    /// Polls still to make after the end.
    pub polls_left: u32,
    /// The answer to the conflicting restore, once it came.
    pub conflict: Option<Result<OperationId, RejectStatus>>,
    /// Answers to Forget, in arrival order.
    pub forget_answers: Vec<ForgetStatus>,
    /// The repeat and the conflicting restore were sent (see `while_running`).
    pub extras_sent: bool,
    /// The repeated request (same key) was answered.
    pub repeat_answered: bool,
    /// The premature Forget was sent.
    pub early_forget_sent: bool,
    /// The Forget after the end was sent.
    pub late_forget_sent: bool,
    /// The operation is gone (a Forget was granted): nothing more to ask.
    pub forgotten: bool,
}

/// One GetProgress answer, as the Client received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub at: Micros,
    pub index: u32,
    pub report: ProgressReport,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreOutcome {
    /// No answer yet.
    Pending,
    Rejected {
        status: RejectStatus,
        issues: String,
    },
    /// Accepted; `terminal` once a poll saw Done or Failed.
    Accepted {
        op: OperationId,
        terminal: Option<OpState>,
    },
}

#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    pub outcomes: Vec<RestoreOutcome>,
    pub observations: Vec<Observation>,
    pub extras: Vec<Extras>,
    pub drop: DropProgress,
}

impl Client {
    pub fn boot(config: ClientConfig, now: Micros, out: &mut Outbox) -> Client {
        for (index, spec) in config.restores.iter().enumerate() {
            out.set_timer(spec.at.saturating_sub(now), Timer::ClientStart { index: index as u32 });
        }
        let outcomes = vec![RestoreOutcome::Pending; config.restores.len()];
        let extras = vec![Extras::default(); config.restores.len()];
        Client { config, outcomes, observations: Vec::new(), extras, drop: DropProgress::default() }
    }

    /// Every restore was rejected or seen terminal (and, with the extra
    /// behaviours, polled after the end and forgotten).
    pub fn finished(&self) -> bool {
        if self.config.behaviour.drop.is_some() && !self.drop.done {
            return false;
        }
        self.outcomes.iter().zip(&self.extras).all(|(o, x)| match o {
            RestoreOutcome::Pending => false,
            RestoreOutcome::Rejected { .. } => true,
            RestoreOutcome::Accepted { .. } if x.forgotten => true,
            RestoreOutcome::Accepted { terminal, .. } => {
                let b = &self.config.behaviour;
                terminal.is_some() && x.polls_left == 0 && !b.forget && !x.awaits_repeat(b)
            }
        })
    }

    fn poll(&mut self, index: u32, op: OperationId, draw: &mut dyn ClientDraw, out: &mut Outbox) {
        let b = &self.config.behaviour;
        let with_shards = b.shard_detail.0 > 0 && draw.chance(b.shard_detail.0, b.shard_detail.1);
        let after = match b.poll_interval_max {
            Some(max) => draw.range(self.config.poll_interval, max.max(self.config.poll_interval)),
            None => self.config.poll_interval,
        };
        out.send(Actor::SchemeShard, Msg::GetProgress { op, with_shards });
        out.set_timer(after, Timer::ClientPoll { index });
    }

    fn forget(&mut self, index: u32, op: OperationId, out: &mut Outbox) {
        out.send(Actor::SchemeShard, Msg::Forget { op });
        out.set_timer(self.config.request_timeout, Timer::ClientForget { index });
    }

    pub fn on_timer(&mut self, _now: Micros, timer: Timer, draw: &mut dyn ClientDraw, out: &mut Outbox) {
        match timer {
            Timer::ClientStart { index } | Timer::ClientRetry { index }
                if self.outcomes[index as usize] == RestoreOutcome::Pending =>
            {
                let spec = &self.config.restores[index as usize];
                let msg = Msg::MultiIncrementalRestore {
                    key: spec.key,
                    table: spec.table.clone(),
                    backups: spec.backups.clone(),
                };
                out.send(Actor::SchemeShard, msg);
                out.set_timer(self.config.request_timeout, Timer::ClientRetry { index });
            }
            Timer::ClientPoll { index } => {
                let i = index as usize;
                let RestoreOutcome::Accepted { op, terminal } = self.outcomes[i] else { return };
                if self.extras[i].forgotten {
                    return;
                }
                if terminal.is_none() {
                    self.poll(index, op, draw, out);
                } else if self.extras[i].polls_left > 0 {
                    self.extras[i].polls_left -= 1;
                    self.poll(index, op, draw, out);
                } else if self.extras[i].awaits_repeat(&self.config.behaviour) {
                    // Forget only once the repeat is answered, so that it
                    // never meets a forgotten key (which would start anew).
                    self.repeat(index, out);
                    out.set_timer(self.config.request_timeout, Timer::ClientPoll { index });
                } else if self.config.behaviour.forget && !self.extras[i].late_forget_sent {
                    self.extras[i].late_forget_sent = true;
                    self.forget(index, op, out);
                }
            }
            Timer::ClientDrop { attempt } if attempt == self.drop.attempt && !self.drop.done => self.send_drop(out),
            Timer::ClientForget { index } => {
                let i = index as usize;
                let RestoreOutcome::Accepted { op, .. } = self.outcomes[i] else { return };
                if !self.extras[i].forgotten {
                    self.forget(index, op, out);
                }
            }
            _ => {}
        }
    }

    pub fn on_message(&mut self, now: Micros, msg: Msg, out: &mut Outbox) {
        if let Msg::RestoreAccepted { key, .. } | Msg::RestoreRejected { key, .. } = &msg
            && let Some(d) = self.config.behaviour.drop
            && self.config.restores.first().is_some_and(|r| r.key == *key)
            && self.outcomes[0] == RestoreOutcome::Pending
        {
            out.set_timer(d.after, Timer::ClientDrop { attempt: 0 });
        }
        match msg {
            Msg::DropResult { path, status } => {
                out.note(crate::note::Note::DropAnswered { path, status });
                self.drop.answers.push(status);
                match status {
                    DropStatus::Dropped | DropStatus::PathDoesNotExist => self.drop.done = true,
                    DropStatus::MultipleModifications if !self.drop.done => {
                        self.drop.attempt += 1;
                        let retry = self.config.behaviour.drop.map_or(self.config.poll_interval, |d| d.retry);
                        out.set_timer(retry, Timer::ClientDrop { attempt: self.drop.attempt });
                    }
                    DropStatus::MultipleModifications => {}
                }
            }
            msg => self.on_restore_answer(now, msg, out),
        }
    }

    /// DROP, and a timer to send it again if no answer comes.
    fn send_drop(&mut self, out: &mut Outbox) {
        let Some(d) = self.config.behaviour.drop else { return };
        self.drop.attempt += 1;
        out.send(Actor::SchemeShard, Msg::DropPath { path: d.path });
        out.set_timer(self.config.request_timeout, Timer::ClientDrop { attempt: self.drop.attempt });
    }

    fn on_restore_answer(&mut self, now: Micros, msg: Msg, out: &mut Outbox) {
        match msg {
            Msg::RestoreAccepted { key, op } => {
                let Some(index) = self.config.restores.iter().position(|r| r.key == key) else {
                    if let Some(x) = self.conflict_of(key) {
                        x.conflict.get_or_insert(Ok(op));
                    }
                    return;
                };
                if self.outcomes[index] == RestoreOutcome::Pending {
                    self.outcomes[index] = RestoreOutcome::Accepted { op, terminal: None };
                    out.set_timer(0, Timer::ClientPoll { index: index as u32 });
                } else if self.extras[index].extras_sent {
                    self.extras[index].repeat_answered = true;
                    if let RestoreOutcome::Accepted { op, terminal: None } = self.outcomes[index] {
                        self.forget_early(index as u32, op, out);
                    }
                }
            }
            Msg::RestoreRejected { key, status, issues } => {
                let Some(index) = self.config.restores.iter().position(|r| r.key == key) else {
                    if let Some(x) = self.conflict_of(key) {
                        x.conflict.get_or_insert(Err(status));
                    }
                    return;
                };
                if self.outcomes[index] == RestoreOutcome::Pending {
                    self.outcomes[index] = RestoreOutcome::Rejected { status, issues };
                }
            }
            Msg::Progress { op, report: Some(report) } => {
                let Some(index) = self.index_of(op) else { return };
                if let RestoreOutcome::Accepted { terminal, .. } = &mut self.outcomes[index]
                    && report.state.is_terminal()
                    && terminal.is_none()
                {
                    *terminal = Some(report.state);
                    // No new timer: the poll this report answers armed the
                    // next `ClientPoll`, which makes the polls after the end,
                    // the repeat and the Forget. A second timer here ran a
                    // second poll chain beside it, so the polls after the end
                    // came twice as often and ended at half the time.
                    self.extras[index].polls_left = self.config.behaviour.polls_after_end;
                }
                let running = matches!(self.outcomes[index], RestoreOutcome::Accepted { terminal: None, .. });
                if running && !report.state.is_terminal() && report.incr.0 < report.incrementals {
                    self.while_running(index as u32, report.op, out);
                }
                let at = self.config.behaviour.forget_at_percent.map(|p| u64::from(p) * 100);
                let x = &mut self.extras[index];
                let reached = at.is_some_and(|bp| u64::from(report.percent_bp) >= bp);
                if running && !report.state.is_terminal() && reached && !x.early_forget_sent {
                    x.early_forget_sent = true;
                    out.send(Actor::SchemeShard, Msg::Forget { op: report.op });
                }
                self.observations.push(Observation { at: now, index: index as u32, report: *report });
            }
            Msg::ForgetResult { op, status } => {
                let Some(index) = self.index_of(op) else { return };
                let x = &mut self.extras[index];
                x.forget_answers.push(status);
                // Granted, or (a re-sent Forget) already gone: either way the
                // operation is no more. An early Forget that raced with the
                // end may be granted too; the checker judges whether it may.
                if status != ForgetStatus::StillRunning {
                    x.forgotten = true;
                }
            }
            _ => {}
        }
    }

    /// What a user does while a restore runs: repeat the request, ask for a
    /// second restore of the table, Forget too early. Sent once, at the first
    /// answer that shows the operation running with a whole incremental
    /// still to go, so that the operation cannot end before they arrive
    /// unless one message outlasts a whole stage (were the conflicting
    /// restore to arrive after the end, it would be accepted and restore the
    /// table a second time). With one incremental they are never sent.
    fn while_running(&mut self, index: u32, op: OperationId, out: &mut Outbox) {
        let b = self.config.behaviour.clone();
        let x = &mut self.extras[index as usize];
        if x.extras_sent || !(b.repeat_key || b.conflicting_restore || b.forget) {
            return;
        }
        x.extras_sent = true;
        if b.repeat_key {
            self.repeat(index, out);
        }
        if b.conflicting_restore {
            let spec = &self.config.restores[index as usize];
            let msg = Msg::MultiIncrementalRestore {
                key: conflict_key(index),
                table: spec.table.clone(),
                backups: spec.backups.clone(),
            };
            out.send(Actor::SchemeShard, msg);
        }
        if !b.repeat_key {
            self.forget_early(index, op, out);
        }
    }

    /// The premature Forget, once; with `repeat_key`, only after the repeat
    /// was answered (a Forget granted first would make the repeat a new
    /// request). Not re-sent: the answer expected is "still running".
    fn forget_early(&mut self, index: u32, op: OperationId, out: &mut Outbox) {
        let x = &mut self.extras[index as usize];
        if self.config.behaviour.forget && !x.early_forget_sent {
            x.early_forget_sent = true;
            out.send(Actor::SchemeShard, Msg::Forget { op });
        }
    }

    fn repeat(&self, index: u32, out: &mut Outbox) {
        let spec = &self.config.restores[index as usize];
        let msg =
            Msg::MultiIncrementalRestore { key: spec.key, table: spec.table.clone(), backups: spec.backups.clone() };
        out.send(Actor::SchemeShard, msg);
    }

    fn conflict_of(&mut self, key: RequestKey) -> Option<&mut Extras> {
        let index = (0..self.extras.len() as u32).find(|i| conflict_key(*i) == key)?;
        self.extras.get_mut(index as usize)
    }

    fn index_of(&self, op: OperationId) -> Option<usize> {
        self.outcomes.iter().position(|o| matches!(o, RestoreOutcome::Accepted { op: o_op, .. } if *o_op == op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{IncrIdx, OperationId, RequestKey};
    use crate::outbox::Command;
    use crate::progress::{FinalStatus, OpState, ProgressReport};

    /// Draws nothing: the plain Client's behaviours need no randomness.
    struct NoDraw;
    impl ClientDraw for NoDraw {
        fn range(&mut self, lo: u64, _hi: u64) -> u64 {
            lo
        }
        fn chance(&mut self, _num: u32, _den: u32) -> bool {
            false
        }
    }

    fn polls(out: &Outbox) -> (usize, usize) {
        let sends =
            out.commands.iter().filter(|c| matches!(c, Command::Send { msg: Msg::GetProgress { .. }, .. })).count();
        let timers = out
            .commands
            .iter()
            .filter(|c| matches!(c, Command::SetTimer { timer: Timer::ClientPoll { .. }, .. }))
            .count();
        (sends, timers)
    }

    /// `polls_after_end: 3` means three polls, one per `poll_interval`,
    /// from one chain of timers: the terminal report arms none of its own.
    #[test]
    fn polls_after_the_end_are_one_chain_of_polls_after_end_polls() {
        let spec = RestoreRequestSpec { key: RequestKey(1), table: "t".into(), backups: vec![IncrIdx(1)], at: 0 };
        let config = ClientConfig {
            restores: vec![spec],
            poll_interval: 10,
            request_timeout: 100,
            behaviour: ClientBehaviour { polls_after_end: 3, ..ClientBehaviour::default() },
        };
        let mut out = Outbox::default();
        let mut client = Client::boot(config, 0, &mut out);
        let op = OperationId(7);
        out.clear();
        client.on_message(1, Msg::RestoreAccepted { key: RequestKey(1), op }, &mut out);
        assert_eq!(polls(&out), (0, 1), "acceptance starts the poll chain");
        out.clear();
        client.on_timer(1, Timer::ClientPoll { index: 0 }, &mut NoDraw, &mut out);
        assert_eq!(polls(&out), (1, 1));
        out.clear();
        let report = ProgressReport {
            op,
            state: OpState::Done,
            incr: IncrIdx(1),
            incrementals: 1,
            shards_done: 1,
            shards_total: 1,
            rows_applied: 0,
            percent_bp: 10_000,
            shards: Vec::new(),
            final_status: Some(FinalStatus::Success),
            issues: String::new(),
        };
        client.on_message(2, Msg::Progress { op, report: Some(Box::new(report)) }, &mut out);
        assert_eq!(polls(&out), (0, 0), "the pending poll timer carries on; no second chain");
        for left in (0..3).rev() {
            out.clear();
            client.on_timer(3, Timer::ClientPoll { index: 0 }, &mut NoDraw, &mut out);
            assert_eq!(polls(&out), (1, 1));
            assert_eq!(client.extras[0].polls_left, left);
        }
        out.clear();
        client.on_timer(4, Timer::ClientPoll { index: 0 }, &mut NoDraw, &mut out);
        assert_eq!(polls(&out), (0, 0), "three polls after the end, then the chain ends");
        assert!(client.finished());
    }
}
