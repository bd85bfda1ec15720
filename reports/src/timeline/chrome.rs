//! The timeline as Chrome trace-event JSON (the "JSON Object Format" that
//! Perfetto and chrome://tracing open): one track (`tid`) per actor, every
//! processed event a 1 µs slice (`X`) on its actor's track, down time and
//! the coordinator's states per operation as slices, messages as flow
//! arrows (`s` at the send, `f` binding to the delivery's slice), faults
//! and lost messages as thread-scoped instant events (`i`, `s: "t"`), the
//! violation as a global instant. Virtual µs are the format's `ts` unit.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::{Fate, Timeline};

const PID: u64 = 1;
/// Coordinator state tracks: one per operation, after the actors.
const OP_TRACK_BASE: u64 = 10_000;

fn meta(name: &str, tid: u64, value: &str) -> Value {
    json!({"name": name, "ph": "M", "pid": PID, "tid": tid, "ts": 0, "args": {"name": value}})
}

/// Every trace event, in a stable order.
pub fn events(t: &Timeline) -> Vec<Value> {
    let mut out = vec![meta("process_name", 0, &format!("restoresim {}", t.title))];
    for (a, name) in t.actors.iter().enumerate() {
        out.push(meta("thread_name", a as u64, name));
        out.push(json!({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": a, "ts": 0,
            "args": {"sort_index": a}}));
    }
    let mut ops: Vec<u64> = t.bands.iter().map(|b| b.op).collect();
    ops.dedup();
    for op in &ops {
        out.push(meta("thread_name", OP_TRACK_BASE + op, &format!("SchemeShard op {op} state")));
    }
    for b in &t.bands {
        out.push(json!({"name": format!("{} {}", b.state, b.incr), "cat": "state", "ph": "X",
            "ts": b.from_us, "dur": b.until_us - b.from_us, "pid": PID, "tid": OP_TRACK_BASE + b.op,
            "args": {"op": b.op, "incremental": b.incr, "state": b.state}}));
    }
    for s in &t.down {
        out.push(json!({"name": format!("down ({})", s.why), "cat": "lifecycle", "ph": "X",
            "ts": s.from_us, "dur": s.until_us - s.from_us, "pid": PID, "tid": s.actor}));
    }
    for e in &t.events {
        let name = if e.label().is_empty() { e.kind().to_string() } else { format!("{} {}", e.kind(), e.label()) };
        out.push(json!({"name": name, "cat": e.kind(), "ph": "X", "ts": e.t_us(), "dur": 1, "pid": PID,
            "tid": e.actor(), "args": {"index": e.index(), "generation": e.5, "detail": e.detail()}}));
    }
    for (id, m) in t.messages.iter().enumerate() {
        let name = m.label.as_str();
        match m.at_us {
            Some(at) => {
                out.push(json!({"name": name, "cat": "message", "ph": "s", "id": id, "ts": m.sent_us,
                    "pid": PID, "tid": m.from}));
                out.push(json!({"name": name, "cat": "message", "ph": "f", "bp": "e", "id": id, "ts": at,
                    "pid": PID, "tid": m.to, "args": {"fate": m.fate, "nth": m.nth, "reordered": m.reordered}}));
            }
            None => {
                let what = if m.fate == Fate::Dropped { "dropped" } else { "lost" };
                out.push(json!({"name": format!("{what} {name} → {}", t.actors[m.to]), "cat": "message",
                    "ph": "i", "s": "t", "ts": m.sent_us, "pid": PID, "tid": m.from, "args": {"nth": m.nth}}));
            }
        }
    }
    for f in &t.faults {
        out.push(json!({"name": f.kind, "cat": "fault", "ph": "i", "s": "t", "ts": f.at_us, "pid": PID,
            "tid": f.actor, "args": {"detail": f.detail}}));
    }
    for p in &t.partitions {
        for &a in &p.actors {
            out.push(json!({"name": if p.one_way { "partition (one-way)" } else { "partition" }, "cat": "fault",
                "ph": "X", "ts": p.from_us, "dur": p.until_us - p.from_us, "pid": PID, "tid": a}));
        }
    }
    if let Some(v) = &t.violation {
        out.push(json!({"name": format!("VIOLATION {}", v.invariant), "cat": "violation", "ph": "i", "s": "g",
            "ts": v.at_us, "pid": PID, "tid": v.actor.unwrap_or(0),
            "args": {"event": v.event, "message": v.message}}));
    }
    out
}

/// Writes `{"traceEvents": [...], "displayTimeUnit": "ms"}` to `path`, one
/// event per line.
pub fn write(t: &Timeline, path: &Path) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "{{\"displayTimeUnit\": \"ms\", \"otherData\": {}, \"traceEvents\": [", json!({"title": t.title}))?;
    let events = events(t);
    for (k, e) in events.iter().enumerate() {
        let comma = if k + 1 < events.len() { "," } else { "" };
        writeln!(f, "{e}{comma}")?;
    }
    writeln!(f, "]}}")?;
    f.flush()
}
