//! The Client: asks for restores, polls their progress, and records what it
//! saw. It is not a tablet (it never crashes); its record is what a user of
//! the progress API would have seen, and the run plot draws it.

use crate::ids::{Micros, OperationId};
use crate::msg::{Actor, Msg, RejectStatus};
use crate::outbox::{Outbox, Timer};
use crate::progress::{OpState, ProgressReport};
use crate::workload::RestoreRequestSpec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    pub restores: Vec<RestoreRequestSpec>,
    pub poll_interval: Micros,
    /// Re-send a restore request (same idempotency key) after this long.
    pub request_timeout: Micros,
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
}

impl Client {
    pub fn boot(config: ClientConfig, now: Micros, out: &mut Outbox) -> Client {
        for (index, spec) in config.restores.iter().enumerate() {
            out.set_timer(spec.at.saturating_sub(now), Timer::ClientStart { index: index as u32 });
        }
        let outcomes = vec![RestoreOutcome::Pending; config.restores.len()];
        Client { config, outcomes, observations: Vec::new() }
    }

    /// Every restore was rejected or seen terminal.
    pub fn finished(&self) -> bool {
        self.outcomes.iter().all(|o| match o {
            RestoreOutcome::Pending => false,
            RestoreOutcome::Rejected { .. } => true,
            RestoreOutcome::Accepted { terminal, .. } => terminal.is_some(),
        })
    }

    pub fn on_timer(&mut self, _now: Micros, timer: Timer, out: &mut Outbox) {
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
                if let RestoreOutcome::Accepted { op, terminal: None } = self.outcomes[index as usize] {
                    out.send(Actor::SchemeShard, Msg::GetProgress { op, with_shards: false });
                    out.set_timer(self.config.poll_interval, Timer::ClientPoll { index });
                }
            }
            _ => {}
        }
    }

    pub fn on_message(&mut self, now: Micros, msg: Msg, out: &mut Outbox) {
        match msg {
            Msg::RestoreAccepted { key, op } => {
                let Some(index) = self.config.restores.iter().position(|r| r.key == key) else { return };
                if self.outcomes[index] == RestoreOutcome::Pending {
                    self.outcomes[index] = RestoreOutcome::Accepted { op, terminal: None };
                    out.set_timer(0, Timer::ClientPoll { index: index as u32 });
                }
            }
            Msg::RestoreRejected { key, status, issues } => {
                let Some(index) = self.config.restores.iter().position(|r| r.key == key) else { return };
                if self.outcomes[index] == RestoreOutcome::Pending {
                    self.outcomes[index] = RestoreOutcome::Rejected { status, issues };
                }
            }
            Msg::Progress { op, report: Some(report) } => {
                let Some(index) = self.index_of(op) else { return };
                if let RestoreOutcome::Accepted { terminal, .. } = &mut self.outcomes[index]
                    && report.state.is_terminal()
                {
                    *terminal = Some(report.state);
                }
                self.observations.push(Observation { at: now, index: index as u32, report: *report });
            }
            _ => {}
        }
    }

    fn index_of(&self, op: OperationId) -> Option<usize> {
        self.outcomes.iter().position(|o| matches!(o, RestoreOutcome::Accepted { op: o_op, .. } if *o_op == op))
    }
}
