//! `story.txt`: the minimal failing run told in the handful of events that
//! matter, in order — the faults, the crashes and boots, the coordinator's
//! state transitions, the messages and commits of the actors the faults
//! touch, and the violation with its explanation. Plain text, at most
//! `MAX_LINES` lines, so a person reads it in a minute.

use std::collections::BTreeSet;

use crate::run::RunReport;
use crate::run::record::fmt_time;

/// The story's length limit.
pub const MAX_LINES: usize = 40;
/// A payload is cut here.
const PAYLOAD_CHARS: usize = 110;

/// One line of the timeline, and how much it matters (lower: kept first).
struct Line {
    at_us: u64,
    index: u64,
    rank: u8,
    text: String,
}

/// Tells `report`'s run from its trace (`trace.jsonl` lines).
pub fn tell(report: &RunReport, trace: &[String], goal: &str) -> String {
    let mut out = vec![format!(
        "{} seed {}: {} in {} events, {} virtual ({goal})",
        report.scenario,
        report.seed,
        match report.outcome {
            crate::run::Outcome::Pass => "pass",
            crate::run::Outcome::SafetyViolation => "SAFETY VIOLATION",
            crate::run::Outcome::LivenessViolation => "LIVENESS VIOLATION",
        },
        report.events,
        fmt_time(report.virtual_time_us)
    )];
    let tape = crate::faults::tape::to_tape(&report.fault_tape);
    let mut touched = BTreeSet::new();
    out.push(format!("faults ({}):", tape.len()));
    for (i, e) in tape.iter().enumerate() {
        let json = serde_json::to_value(&e.fault).unwrap_or_default();
        for field in ["from", "to", "tablet", "shard"] {
            if let Some(node) = json.as_object().and_then(|o| o.values().next()).and_then(|v| v[field].as_str()) {
                touched.insert(node.to_string());
            }
        }
        if let Some(nodes) = json.as_object().and_then(|o| o.values().next()).and_then(|v| v["nodes"].as_array()) {
            touched.extend(nodes.iter().filter_map(|n| n.as_str().map(str::to_string)));
        }
        out.push(format!("  {}. {} {}", i + 1, fmt_time(e.at_us), cut(&json.to_string(), PAYLOAD_CHARS)));
    }
    let violation_at = report.violation.as_ref().map_or(u64::MAX, |v| v.event_index);
    // The actors of the violating event matter as much as the faulted ones.
    for raw in trace.iter().rev().take(4) {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(raw) else { continue };
        if e["i"].as_u64() == Some(violation_at) {
            for end in ["node", "peer"] {
                if let Some(a) = e[end].as_str().filter(|a| *a != "Client") {
                    touched.insert(a.to_string());
                }
            }
        }
    }
    let mut lines = timeline(report, trace, &touched, violation_at);
    let room = MAX_LINES.saturating_sub(out.len() + 4);
    trim(&mut lines, room);
    out.push(format!("what happened (actors followed: {}):", touched.into_iter().collect::<Vec<_>>().join(", ")));
    out.extend(lines.into_iter().map(|l| format!("  {}", l.text)));
    if let Some(v) = &report.violation {
        out.push(format!("VIOLATION {} at {} ({})", v.invariant, fmt_time(v.at_us), v.event));
        out.push(format!("  {}", cut(&v.message, 400)));
    }
    out.join("\n") + "\n"
}

/// Every candidate line: faults' events (rank 0), crashes, boots,
/// partitions and the faulted actors' pipe resets (1), the violation's
/// event (0), state transitions (2), the touched actors' messages and
/// commits (3).
fn timeline(report: &RunReport, trace: &[String], touched: &BTreeSet<String>, violation_at: u64) -> Vec<Line> {
    let mut lines = Vec::new();
    for raw in trace {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(raw) else { continue };
        let index = e["i"].as_u64().unwrap_or(0);
        let at_us = e["t_us"].as_u64().unwrap_or(0);
        let kind = e["kind"].as_str().unwrap_or("");
        let node = e["node"].as_str().unwrap_or("");
        let peer = e["peer"].as_str().unwrap_or("");
        // Timed restarts and partitions are decided before the first event
        // (the faults list says when they happen): not an event that matters.
        let faulted = e.get("faults").is_some() && at_us > 0;
        // Crashes and boots after the start, partitions, and the pipe resets
        // a faulted actor causes (how the others learn of it, or do not).
        let lifecycle = (matches!(kind, "crash" | "boot" | "kill_on_commit") && at_us > 0)
            || matches!(kind, "partition_start" | "partition_end")
            || (kind == "pipe_reset" && (touched.contains(node) || touched.contains(peer)));
        let touches = touched.contains(node) && (kind == "commit" || (kind == "deliver" && touched.contains(peer)));
        let rank = if faulted || index == violation_at {
            0
        } else if lifecycle {
            1
        } else if touches {
            3
        } else {
            continue;
        };
        let what = match kind {
            "deliver" => format!("{peer} → {node}"),
            "pipe_reset" => format!("{node} (pipe to {peer})"),
            _ => node.to_string(),
        };
        let payload = compact(e["payload"].as_str().unwrap_or(""));
        let mut text = format!("{} #{index} {kind} {what}", fmt_time(at_us));
        if !payload.is_empty() {
            text.push_str(&format!(": {payload}"));
        }
        if faulted {
            let faults: Vec<String> =
                e["faults"].as_array().into_iter().flatten().map(|f| f["fault"].to_string()).collect();
            text.push_str(&format!("  <- FAULT {}", faults.join(", ")));
        }
        lines.push(Line { at_us, index, rank, text });
    }
    for entry in &report.log {
        // Boots at 0 and the violation line are said elsewhere.
        if entry.contains(" → ") && !entry.contains("VIOLATION") {
            let at_us =
                entry.split('s').next().and_then(|t| t.parse::<f64>().ok()).map_or(0, |s| (s * 1e6).round() as u64);
            lines.push(Line { at_us, index: 0, rank: 2, text: entry.clone() });
        }
    }
    lines.sort_by_key(|l| (l.at_us, l.index, l.rank));
    lines
}

/// Drops the least telling lines until `room` are left: touched messages
/// far from the end first, then early state transitions.
fn trim(lines: &mut Vec<Line>, room: usize) {
    for rank in [3, 2, 1] {
        while lines.len() > room {
            // The earliest line of this rank goes: the end of the run is where the failure is.
            let Some(p) = lines.iter().position(|l| l.rank == rank) else { break };
            lines.remove(p);
        }
    }
    if lines.len() > room {
        let cut = lines.len() - room;
        lines.drain(..cut);
    }
}

/// A payload on one short line: long lists (a batch's rows) elided.
fn compact(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' => {
                depth += 1;
                if depth == 1 {
                    out.push('[');
                    if chars.peek() == Some(&']') {
                        continue;
                    }
                    out.push('…');
                }
            }
            ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    out.push(']');
                }
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    cut(&out, PAYLOAD_CHARS)
}

fn cut(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars { text.to_string() } else { text.chars().take(chars).collect::<String>() + "…" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_elided_and_lines_cut() {
        assert_eq!(
            compact("Commit { changes: [(1, Erase), (2, Erase)], done: true }"),
            "Commit { changes: […], done: true }"
        );
        assert_eq!(compact("x: []"), "x: []");
        assert!(compact(&"y".repeat(500)).chars().count() <= PAYLOAD_CHARS + 1);
    }
}
