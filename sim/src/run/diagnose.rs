//! "Who waits for what, and can anything still wake it": the explanation of
//! a liveness failure, from the live actors' state, the DataShards' durable
//! databases and the engine's queue of pending events.
//!
//! For each operation that has not ended: its state and the shards it waits
//! for (each one's status as the coordinator believes it, and as the
//! DataShard's durable database says — a shard durably Done that the
//! coordinator still waits for is a lost answer), the in-flight count
//! against `max_shards_in_flight` and the shards queued for a slot, and then
//! every pending event that could still move it: a timer of the operation
//! and when, a message to or from one of its parties, a commit or read under
//! way, a pipe reset SchemeShard will hear, a scheduled crash or boot, a
//! partition that will reset pipes. When none is left, the hang is
//! permanent, and the diagnosis ends with "stuck for good: nothing pending
//! can wake opN". The judgement is conservative: an event is counted as a
//! possible wake-up whenever it could reach the operation's code path, so
//! "stuck for good" is never said of an operation that can still move.

use std::fmt::Write;

use restoresim_model::client::RestoreOutcome;
use restoresim_model::ids::OperationId;
use restoresim_model::msg::Msg;
use restoresim_model::outbox::Timer;
use restoresim_model::progress::{OpState, ShardStatus};
use restoresim_model::schemeshard::{LongIncrementalRestoreOp, OpTimer};

use super::record::fmt_time;
use crate::engine::{Engine, NodeId, Pending, PendingEvent, System};
use crate::restore::{RestoreSystem, SCHEMESHARD, TX_ALLOCATOR, actor_of};

/// At most this many waiting shards are named (the rest are counted).
const NAMED_SHARDS: usize = 5;
/// At most this many queued shards and possible wake-ups are named.
const NAMED_OTHERS: usize = 4;

pub fn diagnose(engine: &Engine<RestoreSystem>) -> String {
    let system = &engine.system;
    let now = engine.now();
    let pending = engine.pending();
    let mut out = String::new();
    if let Some(client) = &system.client {
        for (i, outcome) in client.outcomes.iter().enumerate() {
            if *outcome == RestoreOutcome::Pending {
                let _ = write!(out, "The Client has no answer to restore request {} yet. ", i + 1);
            }
        }
    }
    if let Some(ydb) = &system.ydb {
        out.push_str(&ydb.diagnose(system.knobs()));
        return out;
    }
    let Some(ss) = &system.schemeshard.live else {
        match pending.iter().find(|p| matches!(p.what, Pending::Boot { node: SCHEMESHARD })) {
            Some(boot) => {
                let _ = write!(out, "SchemeShard is down until {}; no operation can move before.", fmt_time(boot.at));
            }
            None => out.push_str("SchemeShard is down and nothing will boot it: stuck for good."),
        }
        return out;
    };
    let knobs = system.knobs();
    for op in ss.ops().filter(|o| !o.row.state.is_terminal()) {
        let _ =
            write!(out, "op{} is in {:?} of incremental {}/{}", op.id.0, op.row.state, op.row.incr.0, op.incrementals);
        if op.row.state == OpState::Allocating {
            allocating(&mut out, system, op);
        } else {
            waiting_shards(&mut out, system, op, now, knobs.request_rounds);
            slots(&mut out, op, knobs.max_shards_in_flight);
        }
        wake_ups(&mut out, op, &pending);
    }
    if out.is_empty() {
        out.push_str("No operation is waiting; the Client has not seen every restore end.");
    }
    out.trim_end().to_string()
}

fn allocating(out: &mut String, system: &RestoreSystem, op: &LongIncrementalRestoreOp) {
    match (op.alloc_cookie(), op.row.next_retry_at) {
        (Some(_), _) => {
            let up = system.allocator.live.is_some();
            let _ = write!(out, ", waiting for a TxId from the TxAllocator ({}).", if up { "up" } else { "down" });
        }
        (None, Some(at)) => {
            let _ = write!(out, ", backing off until {} (retry {}).", fmt_time(at), op.row.retry_count);
        }
        (None, None) => out.push_str(" with no allocation outstanding and no retry armed."),
    }
}

/// The shards the stage waits for: the coordinator's view, then the
/// DataShard's own durable record of this incremental.
fn waiting_shards(out: &mut String, system: &RestoreSystem, op: &LongIncrementalRestoreOp, now: u64, rounds: bool) {
    let waiting: Vec<_> = op.shards.iter().enumerate().filter(|(_, s)| s.status() != ShardStatus::Done).collect();
    let _ = write!(out, ", waiting for {} of {} DataShards:", waiting.len(), op.shards.len());
    for (pos, s) in waiting.iter().take(NAMED_SHARDS) {
        let shard = op.first_shard.0 + *pos as u32;
        let tablet = &system.datashards[shard as usize];
        let durable = match tablet.db.progress(op.id, op.row.incr) {
            Some(p) if p.done => "durably Done".to_string(),
            Some(p) => format!("durably at LastKey {:?}", p.last_key),
            None => "durably nothing of it".to_string(),
        };
        let round = if rounds { format!(", round {}", s.row.round.0) } else { String::new() };
        let _ = write!(
            out,
            " DataShard {shard} ({:?}{round}, LastKey {:?}, silent for {}, {}{}, {durable});",
            s.status(),
            s.row.last_key,
            fmt_time(now.saturating_sub(s.last_heard)),
            if tablet.live.is_some() { "up" } else { "down" },
            if op.retry_armed(*pos) { ", retry armed" } else { "" },
        );
    }
    if waiting.len() > NAMED_SHARDS {
        let _ = write!(out, " and {} more;", waiting.len() - NAMED_SHARDS);
    }
}

/// The in-flight count against the cap, and who waits for a slot.
fn slots(out: &mut String, op: &LongIncrementalRestoreOp, cap: Option<u32>) {
    match cap {
        Some(cap) => {
            let _ = write!(out, " {} in flight of a cap of {cap}", op.volatile.counters.in_flight);
        }
        None => {
            let _ = write!(out, " {} in flight (no cap)", op.volatile.counters.in_flight);
        }
    }
    if op.volatile.queue.is_empty() {
        out.push('.');
        return;
    }
    let named: Vec<String> =
        op.volatile.queue.iter().take(NAMED_OTHERS).map(|pos| (op.first_shard.0 + pos).to_string()).collect();
    let more = op.volatile.queue.len().saturating_sub(NAMED_OTHERS);
    let _ = write!(
        out,
        ", {} queued for a slot (DataShard {}{}).",
        op.volatile.queue.len(),
        named.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    );
}

/// Every pending event that could still move `op`, or "stuck for good".
fn wake_ups(out: &mut String, op: &LongIncrementalRestoreOp, pending: &[PendingEvent<'_, RestoreSystem>]) {
    let wakers: Vec<String> = pending.iter().filter_map(|p| waker(op, p)).collect();
    if wakers.is_empty() {
        let _ = write!(out, " Stuck for good: nothing pending can wake op{}. ", op.id.0);
        return;
    }
    let _ = write!(out, " Can still wake op{}: {}", op.id.0, wakers[..wakers.len().min(NAMED_OTHERS)].join("; "));
    if wakers.len() > NAMED_OTHERS {
        let _ = write!(out, "; and {} more", wakers.len() - NAMED_OTHERS);
    }
    out.push_str(". ");
}

/// The nodes besides SchemeShard whose events can move `op` now: the
/// TxAllocator while it allocates, its DataShards otherwise.
fn party(op: &LongIncrementalRestoreOp, node: NodeId) -> bool {
    if op.row.state == OpState::Allocating {
        return node == TX_ALLOCATOR;
    }
    let first = crate::restore::node_of(restoresim_model::msg::Actor::DataShard(op.first_shard));
    (first..first + op.shards.len() as NodeId).contains(&node)
}

fn waker(op: &LongIncrementalRestoreOp, p: &PendingEvent<'_, RestoreSystem>) -> Option<String> {
    let at = fmt_time(p.at);
    let related = |node: NodeId| node == SCHEMESHARD || party(op, node);
    let said = match &p.what {
        // An operation's `ShardTimers` leads to its earliest shard timer
        // (each firing arms the next), named as that timer.
        Pending::Timer { node, timer: Timer::ShardTimers { op: id } } if *id == op.id && *node == SCHEMESHARD => {
            let (timer, due) = op.volatile.timers.next_shard_timer(op.id)?;
            let shard = match timer {
                Timer::ShardRetry { shard, .. } | Timer::ShardTimeout { shard, .. } => shard,
                other => unreachable!("{other:?} is not a shard timer"),
            };
            let label = RestoreSystem::timer_label(&timer);
            format!("a {label} timer for DataShard {} at SchemeShard at {}", shard.0, fmt_time(due))
        }
        Pending::Timer { node, timer }
            if timer_op(timer) == Some(op.id) && related(*node) && timer_wakes(op, timer, p.at) =>
        {
            let shard = match timer {
                Timer::ShardRetry { shard, .. } | Timer::ShardTimeout { shard, .. } => {
                    format!(" for DataShard {}", shard.0)
                }
                _ => String::new(),
            };
            format!("a {} timer{shard} at {} at {at}", RestoreSystem::timer_label(timer), actor_of(*node))
        }
        Pending::Deliver { from, to, msg }
            if msg_op(msg) == Some(op.id) && related(*from) && related(*to) && from != to =>
        {
            format!("a {} {} → {} at {at}", RestoreSystem::msg_label(msg), actor_of(*from), actor_of(*to))
        }
        // A SchemeShard commit's completion may send for any operation.
        Pending::Commit { node } if related(*node) => format!("a commit completing at {} at {at}", actor_of(*node)),
        Pending::Io { node } if party(op, *node) => format!("a backup read completing at {} at {at}", actor_of(*node)),
        Pending::PipeReset { node: SCHEMESHARD, peer } if party(op, *peer) => {
            format!("a pipe reset SchemeShard ↔ {} at {at}", actor_of(*peer))
        }
        Pending::Crash { node } if related(*node) => format!("a scheduled restart of {} at {at}", actor_of(*node)),
        Pending::Boot { node } if related(*node) => format!("{} booting at {at}", actor_of(*node)),
        Pending::PartitionStart { nodes } if nodes.iter().any(|n| related(*n)) => {
            format!("a partition starting at {at} (pipes across it reset)")
        }
        _ => return None,
    };
    Some(said)
}

/// Whether a coordinator timer of `op`, due at `at`, would act if it
/// fired: the operation's timer table still holds it (the one test
/// `SchemeShard::on_timer` applies). A cancelled timer wakes nothing;
/// should another event arm it again, that event is itself pending and
/// named. Other actors' timers of the op (a DataShard's read retry) count.
fn timer_wakes(op: &LongIncrementalRestoreOp, timer: &Timer, at: u64) -> bool {
    match OpTimer::of(timer) {
        Some((_, slot)) => op.volatile.timers.would_act(slot, timer, at),
        None => true,
    }
}

fn timer_op(timer: &Timer) -> Option<OperationId> {
    match timer {
        Timer::ClientStart { .. }
        | Timer::ClientRetry { .. }
        | Timer::ClientPoll { .. }
        | Timer::ClientForget { .. }
        | Timer::ClientDrop { .. }
        | Timer::YdbSenderRetry { .. } => None,
        Timer::AllocateTimeout { op, .. }
        | Timer::StageRetry { op }
        | Timer::ShardRetry { op, .. }
        | Timer::ShardTimeout { op, .. }
        | Timer::ShardTimers { op }
        | Timer::Deadline { op, .. }
        | Timer::ReadRetry { op, .. }
        | Timer::YdbHeartbeat { op }
        | Timer::YdbStageRetry { op }
        | Timer::YdbAllocateRetry { op, .. }
        | Timer::YdbShardTimeout { op, .. } => Some(*op),
    }
}

/// The operation a SchemeShard ↔ TxAllocator or SchemeShard ↔ DataShard
/// message is about; the Client's messages never move an operation.
fn msg_op(msg: &Msg) -> Option<OperationId> {
    match msg {
        Msg::AllocateTxId { op, .. } | Msg::TxIdAllocated { op, .. } => Some(*op),
        Msg::IncrementalRestoreRequest(req) => Some(req.op),
        Msg::IncrementalRestoreResponse(resp) => Some(resp.op),
        Msg::IncrementalRestoreSrcCreateRequest(req) => Some(req.op),
        Msg::IncrementalRestoreShardProgress(p) => Some(p.op),
        Msg::ApplyChangeRecords(a) => Some(a.op),
        _ => None,
    }
}
