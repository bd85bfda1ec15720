//! From trace lines to a `Timeline`: lanes by actor, sends paired with
//! deliveries, down time from crash to boot, coordinator state bands from
//! the `op_state` notes, faults from each line's fault tape entries.

use std::collections::BTreeMap;
use std::path::Path;

use restoresim_reports::timeline::{
    Band, Fate, FaultMark, Message, PartitionSpan, Span, Timeline, TimelineEvent, TimelineViolation,
};
use serde_json::Value;

use super::read::TraceLine;
use crate::faults::tape::TapeFault;

/// Longest payload kept per event on the page (the full text stays in
/// `trace.jsonl`, line `i`).
const DETAIL_MAX: usize = 600;

#[derive(Default)]
pub struct Builder {
    t: Timeline,
    /// (from, to, nth) → the message's first copy.
    sends: BTreeMap<(usize, usize, u64), usize>,
    /// Highest `nth` delivered per directed link (for reordering).
    delivered_max: BTreeMap<(usize, usize), u64>,
    /// Tablets down now: since when and why.
    down: BTreeMap<usize, (u64, String)>,
    /// Open coordinator band per operation: (incr, state, since).
    bands: BTreeMap<u64, (u32, String, u64)>,
}

/// Lane of an actor name: Client, SchemeShard, TxAllocator, DataShard<n>
/// (the node ids of `restore`).
fn lane(name: &str) -> Result<usize, String> {
    match name {
        "Client" => Ok(0),
        "SchemeShard" => Ok(1),
        "TxAllocator" => Ok(2),
        _ => name.strip_prefix("DataShard").and_then(|n| n.parse::<usize>().ok()).map(|n| n + 3).ok_or_else(|| {
            format!("unknown actor '{name}'; expected Client, SchemeShard, TxAllocator or DataShard<n>")
        }),
    }
}

fn lane_name(lane: usize) -> String {
    match lane {
        0 => "Client".into(),
        1 => "SchemeShard".into(),
        2 => "TxAllocator".into(),
        n => format!("DataShard{}", n - 3),
    }
}

impl Builder {
    fn lane(&mut self, name: &str) -> Result<usize, String> {
        let l = lane(name)?;
        if self.t.actors.len() <= l {
            self.t.actors = (0..=l).map(lane_name).collect();
        }
        Ok(l)
    }

    pub fn line(&mut self, line: TraceLine) -> Result<(), String> {
        let node = self.lane(&line.node)?;
        let peer = self.lane(&line.peer)?;
        let t = line.t_us;
        self.t.end_us = self.t.end_us.max(t);
        for s in &line.sent {
            let to = self.lane(&s.to)?;
            let index = self.t.messages.len();
            self.t.messages.push(Message {
                from: node,
                to,
                sent_us: t,
                at_us: None,
                nth: s.nth,
                label: s.msg.clone(),
                fate: Fate::Lost,
                reordered: false,
                copy: false,
                event: None,
            });
            self.sends.insert((node, to, s.nth), index);
        }
        if let Some(nth) = line.nth {
            self.arrival(&line, peer, node, nth);
        }
        match line.kind.as_str() {
            "crash" | "kill_on_commit" => {
                let why = if line.kind == "kill_on_commit" { "kill_on_commit" } else { "crash" };
                self.down.insert(node, (t, why.to_string()));
            }
            "boot" => {
                if let Some((from, why)) = self.down.remove(&node) {
                    let why = if why == "crash" && from == t { "restart".to_string() } else { why };
                    self.t.down.push(Span { actor: node, from_us: from, until_us: t, why });
                }
            }
            _ => {}
        }
        let mut notes = Vec::new();
        for note in &line.notes {
            notes.push(self.note(note, t));
        }
        for entry in &line.faults {
            self.fault(&entry.fault, entry.at_us)?;
        }
        let mut detail = abbreviate(&line.payload, DETAIL_MAX);
        for n in notes.iter().filter(|n| !n.is_empty()) {
            detail.push('\n');
            detail.push_str(n);
        }
        self.t.events.push(TimelineEvent(line.i, t, node, line.kind, line.label, line.generation, detail));
        Ok(())
    }

    /// A delivery, refusal or discard of the `nth` message `from → to`.
    fn arrival(&mut self, line: &TraceLine, from: usize, to: usize, nth: u64) {
        let fate = match line.kind.as_str() {
            "deliver" => Fate::Delivered,
            "refused" => Fate::Refused,
            _ => Fate::Discarded,
        };
        let max = self.delivered_max.entry((from, to)).or_default();
        let reordered = nth < *max;
        *max = (*max).max(nth);
        let first = self.sends.get(&(from, to, nth)).copied();
        match first {
            Some(index) if self.t.messages[index].at_us.is_none() => {
                let m = &mut self.t.messages[index];
                m.at_us = Some(line.t_us);
                m.fate = fate;
                m.reordered = reordered;
                m.event = Some(line.i);
            }
            _ => {
                // A second copy (duplication), or a send this trace did not
                // record (a trace written before sends were traced).
                let (label, sent_us) = match first {
                    Some(index) => (self.t.messages[index].label.clone(), self.t.messages[index].sent_us),
                    None => (line.label.clone(), line.sent_us.unwrap_or(line.t_us)),
                };
                self.t.messages.push(Message {
                    from,
                    to,
                    sent_us,
                    at_us: Some(line.t_us),
                    nth,
                    label,
                    fate,
                    reordered,
                    copy: first.is_some(),
                    event: Some(line.i),
                });
            }
        }
    }

    /// A note: coordinator states become bands; returns its text for hover.
    fn note(&mut self, note: &Value, t: u64) -> String {
        if let Some(s) = note.get("op_state") {
            let op = s["op"].as_u64().unwrap_or(0);
            let incr = s["incr"].as_u64().unwrap_or(0) as u32;
            let state = s["state"].as_str().unwrap_or("?").to_string();
            if let Some((incr, state, from)) = self.bands.remove(&op) {
                self.t.bands.push(Band { op, incr, state, from_us: from, until_us: t });
            }
            self.bands.insert(op, (incr, state.clone(), t));
            return format!("op {op}: {state} (incremental {incr})");
        }
        if let Some(b) = note.get("batch") {
            let last_key = b["last_key"].as_u64().map_or("None".to_string(), |k| k.to_string());
            return format!("batch {} of incremental {} applied, LastKey {last_key}", b["batches"], b["incr"]);
        }
        if let Some(r) = note.get("resent") {
            return format!("re-sent op {} to shard {} with round {}", r["op"], r["shard"], r["round"]);
        }
        if let Some(s) = note.get("stale_dropped") {
            return format!("stale message dropped (generation {}, round {})", s["generation"], s["round"]);
        }
        if let Some(f) = note.get("op_finished") {
            return format!("op {} finished: {}", f["op"], f["status"].as_str().unwrap_or("?"));
        }
        note.get("note").and_then(Value::as_str).unwrap_or_default().to_string()
    }

    fn fault(&mut self, fault: &TapeFault, at: u64) -> Result<(), String> {
        let (actor, kind, detail) = match fault {
            TapeFault::Drop { from, to, nth, detected } => {
                let (f, tt) = (self.lane(from)?, self.lane(to)?);
                if let Some(&i) = self.sends.get(&(f, tt, *nth)) {
                    self.t.messages[i].fate = Fate::Dropped;
                }
                let how = if *detected { "detected" } else { "silent" };
                (f, "drop", format!("message {nth} {from} → {to} lost ({how})"))
            }
            TapeFault::Duplicate { from, to, nth } => {
                (self.lane(from)?, "duplicate", format!("message {nth} {from} → {to} duplicated"))
            }
            TapeFault::Delay { from, to, nth, extra_us } => {
                (self.lane(from)?, "delay", format!("message {nth} {from} → {to} held back {extra_us} µs"))
            }
            TapeFault::ReadError { shard, nth_read, fatal } => {
                let how = if *fatal { "fatal" } else { "transient" };
                (self.lane(shard)?, "read_error", format!("backup read {nth_read} failed ({how})"))
            }
            TapeFault::AllocatorEmpty { nth_request } => {
                (2, "allocator_empty", format!("AllocateTxId {nth_request} answered empty"))
            }
            TapeFault::SlowCommit { tablet, nth_commit, extra_us } => {
                (self.lane(tablet)?, "slow_commit", format!("commit {nth_commit} slowed by {extra_us} µs"))
            }
            TapeFault::KillOnCommit { tablet, nth_commit, down_us } => {
                (self.lane(tablet)?, "kill_on_commit", format!("killed on commit {nth_commit}, down {down_us} µs"))
            }
            TapeFault::Restart { tablet, down_us, .. } => {
                let what = if *down_us == 0 { "restart".into() } else { format!("crash, down {down_us} µs") };
                (self.lane(tablet)?, "restart", what)
            }
            TapeFault::Partition { nodes, from_us, until_us, one_way } => {
                let actors = nodes.iter().map(|n| self.lane(n)).collect::<Result<Vec<_>, _>>()?;
                self.t.partitions.push(PartitionSpan {
                    actors,
                    from_us: *from_us,
                    until_us: *until_us,
                    one_way: *one_way,
                });
                return Ok(());
            }
        };
        self.t.faults.push(FaultMark { actor, at_us: at, kind: kind.to_string(), detail });
        Ok(())
    }

    pub fn finish(mut self, summary: Option<&Value>, dir: &Path) -> Timeline {
        let end = self.t.end_us;
        for (actor, (from, why)) in std::mem::take(&mut self.down) {
            self.t.down.push(Span { actor, from_us: from, until_us: end, why });
        }
        for (op, (incr, state, from)) in std::mem::take(&mut self.bands) {
            self.t.bands.push(Band { op, incr, state, from_us: from, until_us: end });
        }
        self.t.bands.sort_by_key(|b| (b.op, b.from_us));
        self.t.down.sort_by_key(|s| (s.actor, s.from_us));
        let Some(summary) = summary else {
            self.t.title = dir.display().to_string();
            return self.t;
        };
        let scenario = summary["scenario"].as_str().unwrap_or("?");
        let outcome = summary["outcome"].as_str().unwrap_or("?");
        self.t.title = format!("{scenario} seed {}: {outcome}", summary["seed"]);
        self.t.reproduce = summary["reproduce"].as_str().map(str::to_string);
        let v = &summary["violation"];
        if v.is_object() {
            let event_index = v["event_index"].as_u64().unwrap_or(0);
            let actor = self.t.events.iter().find(|e| e.index() == event_index).map(TimelineEvent::actor);
            self.t.violation = Some(TimelineViolation {
                invariant: v["invariant"].as_str().unwrap_or("?").to_string(),
                at_us: v["at_us"].as_u64().unwrap_or(0),
                event_index,
                event: v["event"].as_str().unwrap_or_default().to_string(),
                message: v["message"].as_str().unwrap_or_default().to_string(),
                actor,
            });
        }
        self.t
    }
}

/// A payload short enough to hover: a commit's row changes become their
/// count (`changes: [20 rows]`), then the text is cut at `max` bytes.
pub fn abbreviate(payload: &str, max: usize) -> String {
    let mut out = String::with_capacity(payload.len().min(max + 16));
    let mut rest = payload;
    while let Some(at) = rest.find("changes: [") {
        let start = at + "changes: [".len();
        out.push_str(&rest[..start]);
        let (len, rows) = list_extent(&rest[start..]);
        out.push_str(&format!("{rows} rows]"));
        rest = &rest[(start + len + 1).min(rest.len())..];
    }
    out.push_str(rest);
    if out.len() > max {
        let mut cut = max;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// Length up to the `]` closing a list, and its top-level element count.
fn list_extent(s: &str) -> (usize, usize) {
    let (mut depth, mut items, mut any) = (0i32, 0usize, false);
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ']' if depth == 0 => return (i, items + usize::from(any)),
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => items += 1,
            c if !c.is_whitespace() => any = true,
            _ => {}
        }
    }
    (s.len(), items + usize::from(any))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_payload_keeps_its_fields_and_counts_its_rows() {
        let p = "DataShard(DataShardCommit { op: OperationId(1), changes: [(1, Erase), (2, Upsert { cells: [Keep] })], \
                 progress: X { last_key: Some(2) } })";
        assert_eq!(
            abbreviate(p, 600),
            "DataShard(DataShardCommit { op: OperationId(1), changes: [2 rows], progress: X { last_key: Some(2) } })"
        );
        assert_eq!(abbreviate("changes: []", 600), "changes: [0 rows]");
        assert_eq!(abbreviate("ééé", 3), "é…");
    }

    #[test]
    fn lanes_follow_node_ids() {
        assert_eq!(lane("Client"), Ok(0));
        assert_eq!(lane("DataShard11"), Ok(14));
        assert_eq!(lane_name(14), "DataShard11");
        assert!(lane("Router").unwrap_err().contains("unknown actor 'Router'"));
    }
}
