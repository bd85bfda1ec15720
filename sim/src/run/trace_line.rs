//! One line of `trace.jsonl` per processed event. Beyond the hashed fields
//! (time, kind, endpoints, payload digest) a line carries what a reader of
//! the run needs and the hash does not: the node's generation, the sends
//! the event made (link number and message name), which send a delivery
//! carried (`sent_us`, `nth`), the model's notes (coordinator states,
//! batches with their LastKey, re-sends with their round), and the faults
//! decided. `restoresim timeline` and `export` read these lines.

use restoresim_model::note::Note;
use serde_json::{Value, json};

use crate::engine::{InjectedFault, Micros, Sent, Step, TracedSend};
use crate::faults;
use crate::restore::actor_of;

/// What one event adds to its trace line beyond the step itself.
pub struct LineExtras<'a> {
    pub generation: u32,
    pub sends: &'a [TracedSend],
    pub delivered: Option<Sent>,
    pub notes: &'a [Value],
    pub faults: &'a [(Micros, InjectedFault)],
}

pub fn trace_line(step: &Step, detail: &str, extras: &LineExtras) -> String {
    let mut line = json!({
        "i": step.index,
        "t_us": step.time,
        "kind": step.kind.name(),
        "node": actor_of(step.node).to_string(),
        "peer": actor_of(step.peer).to_string(),
        "digest": format!("{:016x}", step.payload),
        "payload": detail,
        "gen": extras.generation,
    });
    if !step.label.is_empty() {
        line["label"] = json!(step.label);
    }
    if let Some(sent) = extras.delivered {
        line["sent_us"] = json!(sent.at);
        line["nth"] = json!(sent.nth);
    }
    if !extras.sends.is_empty() {
        let sends: Vec<Value> = extras
            .sends
            .iter()
            .map(|s| json!({"to": actor_of(s.to).to_string(), "nth": s.nth, "msg": s.label}))
            .collect();
        line["sent"] = json!(sends);
    }
    if !extras.notes.is_empty() {
        line["notes"] = json!(extras.notes);
    }
    if !extras.faults.is_empty() {
        // The faults decided during this event, as on the fault tape.
        line["faults"] = json!(faults::tape::to_tape(extras.faults));
    }
    line.to_string()
}

/// A note as the trace shows it: the ones a timeline draws (coordinator
/// states, batches, re-sends, stale drops, ends) with their fields, any
/// other as its text.
pub fn note_json(note: &Note) -> Value {
    match note {
        Note::OpState { op, table, incr, state } => {
            json!({"op_state": {"op": op.0, "table": table.0, "incr": incr.0, "state": format!("{state:?}")}})
        }
        Note::OpFinished { op, status, issues } => {
            json!({"op_finished": {"op": op.0, "status": format!("{status:?}"), "issues": issues}})
        }
        Note::BatchApplied { shard, op, incr, batches, last_key } => json!({"batch": {
            "shard": shard.0, "op": op.0, "incr": incr.0, "batches": batches, "last_key": last_key}}),
        Note::Resent { op, shard, round } => json!({"resent": {"op": op.0, "shard": shard.0, "round": round.0}}),
        Note::StaleDropped { at, stamp } => json!({"stale_dropped": {
            "at": at.to_string(), "generation": stamp.generation.0, "round": stamp.round.0}}),
        other => json!({"note": format!("{other:?}")}),
    }
}
