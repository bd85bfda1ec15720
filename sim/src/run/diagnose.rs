//! "Who waits for what": the explanation of a liveness failure, from the
//! live actors' state.

use std::fmt::Write;

use restoresim_model::client::RestoreOutcome;
use restoresim_model::progress::{OpState, ShardStatus};

use super::record::fmt_time;
use crate::engine::Micros;
use crate::restore::RestoreSystem;

/// At most this many waiting shards are named (the rest are counted).
const NAMED_SHARDS: usize = 5;

pub fn diagnose(system: &RestoreSystem, now: Micros) -> String {
    let mut out = String::new();
    if let Some(client) = &system.client {
        for (i, outcome) in client.outcomes.iter().enumerate() {
            if *outcome == RestoreOutcome::Pending {
                let _ = write!(out, "The Client has no answer to restore request {} yet. ", i + 1);
            }
        }
    }
    let Some(ss) = &system.schemeshard.live else {
        let _ = write!(out, "SchemeShard is down, so no operation can move.");
        return out;
    };
    for op in ss.ops().filter(|o| !o.state.is_terminal()) {
        let _ = write!(out, "op{} is in {:?} of incremental {}/{}", op.id.0, op.state, op.incr.0, op.incrementals);
        if op.state == OpState::Allocating {
            match (op.alloc_cookie, op.next_retry_at) {
                (Some(_), _) => {
                    let up = system.allocator.live.is_some();
                    let _ =
                        write!(out, ", waiting for a TxId from the TxAllocator ({}). ", if up { "up" } else { "down" });
                }
                (None, Some(at)) => {
                    let _ = write!(out, ", backing off until {} (retry {}). ", fmt_time(at), op.retry_count);
                }
                (None, None) => {
                    let _ = write!(out, " with no allocation outstanding and no retry armed: nothing will wake it. ");
                }
            }
            continue;
        }
        let waiting: Vec<_> = op.shards.iter().enumerate().filter(|(_, s)| s.status != ShardStatus::Done).collect();
        let _ = write!(out, ", waiting for {} of {} DataShards:", waiting.len(), op.shards.len());
        for (pos, s) in waiting.iter().take(NAMED_SHARDS) {
            let shard = op.first_shard.0 + *pos as u32;
            let up = system.datashards[shard as usize].live.is_some();
            let _ = write!(
                out,
                " DataShard {shard} ({:?}, round {}, LastKey {:?}, silent for {}, {}{});",
                s.status,
                s.round.0,
                s.last_key,
                fmt_time(now.saturating_sub(s.last_heard)),
                if up { "up" } else { "down" },
                if s.retry_armed { ", retry armed" } else { "" },
            );
        }
        if waiting.len() > NAMED_SHARDS {
            let _ = write!(out, " and {} more.", waiting.len() - NAMED_SHARDS);
        }
        out.push(' ');
    }
    if out.is_empty() {
        out.push_str("No operation is waiting; the Client has not seen every restore end.");
    }
    out.trim_end().to_string()
}
