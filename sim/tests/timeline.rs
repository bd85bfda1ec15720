//! Seeing a run: `timeline.html` (run --trace, capsules, `restoresim
//! timeline`), Chrome trace-event export checked against the format's
//! documented fields, and a sweep's `report.html`. Driven through the binary.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{restoresim, temp_dir, text};
use serde_json::Value;

/// A failing traced run: ci-smoke seed 1 with a planted bug (4-progress-monotonic).
fn failing_run(name: &str) -> std::path::PathBuf {
    common::failing_run(name, &["--trace"])
}

/// The JSON embedded in a timeline page.
fn page_data(page: &str) -> Value {
    let start = page.find("id=\"timeline-data\">").expect("the page embeds its data") + "id=\"timeline-data\">".len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).expect("the embedded data is JSON")
}

fn trace_lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("trace.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_traced_run_writes_a_self_contained_timeline_naming_the_violation() {
    let dir = failing_run("timeline-run");
    let page = std::fs::read_to_string(dir.join("timeline.html")).expect("run --trace --out writes timeline.html");
    assert!(page.contains("violated 4-progress-monotonic"), "the violation is named on the page");
    for external in ["src=\"http", "href=\"http", "<link", "import(", "fetch("] {
        assert!(!page.contains(external), "the page loads nothing from outside ({external})");
    }
    let data = page_data(&page);
    let summary = common::summary(&dir);
    assert_eq!(data["events"].as_array().unwrap().len() as u64, summary["events"].as_u64().unwrap(), "every event");
    assert_eq!(data["violation"]["invariant"], "4-progress-monotonic");
    assert_eq!(data["violation"]["event_index"], summary["violation"]["event_index"]);
    assert_eq!(data["actors"][1], "SchemeShard");
    assert!(data["violation"]["actor"].is_u64(), "the violation sits on an actor's lane");
    // Every delivery in the trace is one message arrow, at its delivery time, sent when the trace says.
    let lines = trace_lines(&dir);
    let deliveries = lines.iter().filter(|l| l["kind"] == "deliver" || l["kind"] == "refused").count();
    let messages = data["messages"].as_array().unwrap();
    let arrived = messages.iter().filter(|m| ["delivered", "refused"].contains(&m["fate"].as_str().unwrap())).count();
    assert_eq!(arrived, deliveries);
    let sends: usize = lines.iter().map(|l| l["sent"].as_array().map_or(0, Vec::len)).sum();
    let copies = messages.iter().filter(|m| m["copy"] == true).count();
    assert_eq!(messages.len(), sends + copies, "one arrow per send, plus one per duplicate copy");
    // A duplicate's copy is an arrow once it arrives (delivered, refused or
    // discarded); one still in flight when the run stopped is not (in this
    // run one copy is on a 1 % tail of up to 150 ms at the violation).
    let mut arrivals: BTreeMap<(String, String, u64), usize> = BTreeMap::new();
    for l in lines.iter().filter(|l| l["nth"].is_u64()) {
        *arrivals.entry((l["peer"].to_string(), l["node"].to_string(), l["nth"].as_u64().unwrap())).or_default() += 1;
    }
    let second_arrivals: usize = arrivals.values().map(|n| n - 1).sum();
    assert_eq!(copies, second_arrivals, "one dashed arrow per copy that arrived");
    let duplicates = summary["faults"]["duplicates"].as_u64().unwrap() as usize;
    assert!(copies > 0 && copies <= duplicates, "{copies} copies of {duplicates} duplicates");
    for m in messages.iter().filter(|m| !m["at_us"].is_null()) {
        assert!(m["at_us"].as_u64() >= m["sent_us"].as_u64(), "no message arrives before it left: {m}");
    }
    // The SchemeShard restart of ci-smoke is a down bar; the coordinator's states are bands.
    assert!(
        data["down"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["actor"] == 1 && s["until_us"].as_u64() > s["from_us"].as_u64())
    );
    let states: Vec<&str> = data["bands"].as_array().unwrap().iter().map(|b| b["state"].as_str().unwrap()).collect();
    assert!(states.contains(&"Allocating") && states.contains(&"Applying"), "{states:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tracing_does_not_move_the_trace_hash() {
    let plain = temp_dir("timeline-plain");
    let out = restoresim(&["run", "scenarios/ci-smoke.ron", "--seed", "4", "--out", plain.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let traced = temp_dir("timeline-traced");
    let out =
        restoresim(&["run", "scenarios/ci-smoke.ron", "--seed", "4", "--trace", "--out", traced.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(common::summary(&plain)["trace_hash"], common::summary(&traced)["trace_hash"]);
    assert!(!plain.join("timeline.html").exists(), "no trace, no timeline");
    let _ = std::fs::remove_dir_all(&plain);
    let _ = std::fs::remove_dir_all(&traced);
}

#[test]
fn the_timeline_subcommand_redraws_a_folder_and_refuses_one_without_a_trace() {
    let dir = failing_run("timeline-cmd");
    std::fs::remove_file(dir.join("timeline.html")).unwrap();
    let out = restoresim(&["timeline", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.join("timeline.html").is_file());
    std::fs::remove_file(dir.join("trace.jsonl")).unwrap();
    let out = restoresim(&["timeline", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65));
    assert!(text(&out.stderr).contains("no trace.jsonl here"), "{}", text(&out.stderr));
    std::fs::write(
        dir.join("trace.jsonl"),
        "{\"i\": 1, \"t_us\": 0, \"kind\": \"boot\", \"node\": \"Client\", \"peer\": \"Client\"}\n{\"i\": 2,\n",
    )
    .unwrap();
    let out = restoresim(&["timeline", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65));
    let err = text(&out.stderr);
    assert!(err.contains("trace.jsonl:2:") && err.contains("expected a trace line"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Phases the trace-event format documents, and the fields each must carry.
fn check_chrome_event(e: &Value) -> Result<(), String> {
    let ph = e["ph"].as_str().ok_or("no ph")?;
    for field in ["name", "pid", "tid", "ts"] {
        if e.get(field).is_none() {
            return Err(format!("{ph} event without {field}: {e}"));
        }
    }
    if !e["ts"].is_u64() || !e["pid"].is_u64() || !e["tid"].is_u64() || !e["name"].is_string() {
        return Err(format!("ts, pid, tid are numbers and name a string: {e}"));
    }
    match ph {
        "X" if e["dur"].is_u64() => Ok(()),
        "s" | "f" if e["id"].is_u64() && e["cat"].is_string() => {
            if ph == "f" && e["bp"] != "e" {
                return Err(format!("a flow end binds to its enclosing slice (bp: e): {e}"));
            }
            Ok(())
        }
        "i" if ["g", "p", "t"].contains(&e["s"].as_str().unwrap_or("")) => Ok(()),
        "M" if ["process_name", "thread_name", "thread_sort_index"].contains(&e["name"].as_str().unwrap()) => {
            if e["args"].is_object() {
                Ok(())
            } else {
                Err(format!("metadata without args: {e}"))
            }
        }
        _ => Err(format!("not a well-formed {ph} event: {e}")),
    }
}

#[test]
fn chrome_trace_export_follows_the_trace_event_format() {
    let dir = failing_run("timeline-chrome");
    let out = restoresim(&["export", "--format", "chrome-trace", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("trace.chrome.json")).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().expect("the JSON Object Format: {\"traceEvents\": [...]}");
    for e in events {
        check_chrome_event(e).unwrap();
    }
    let count = |ph: &str| events.iter().filter(|e| e["ph"] == ph).count();
    let summary = common::summary(&dir);
    // Every processed event is a slice; actors are named tracks.
    let slices = events.iter().filter(|e| e["ph"] == "X" && e["dur"] == 1).count();
    assert_eq!(slices as u64, summary["events"].as_u64().unwrap());
    let tracks: Vec<&str> =
        events.iter().filter(|e| e["name"] == "thread_name").map(|e| e["args"]["name"].as_str().unwrap()).collect();
    assert!(tracks.contains(&"SchemeShard") && tracks.contains(&"DataShard11"), "{tracks:?}");
    // Flows pair up: each id starts once and finishes once, not before it starts.
    let mut flows: BTreeMap<u64, (Option<u64>, Option<u64>)> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "s" || e["ph"] == "f") {
        let slot = flows.entry(e["id"].as_u64().unwrap()).or_default();
        let ts = e["ts"].as_u64();
        let side = if e["ph"] == "s" { &mut slot.0 } else { &mut slot.1 };
        assert!(side.is_none(), "flow id used twice: {e}");
        *side = ts;
    }
    assert!(!flows.is_empty() && count("s") == count("f"));
    for (id, (s, f)) in &flows {
        assert!(s.is_some() && f.is_some() && s <= f, "flow {id}: {s:?} → {f:?}");
    }
    // Faults are thread instants; the violation a global one.
    assert!(events.iter().any(|e| e["ph"] == "i" && e["cat"] == "fault" && e["s"] == "t"));
    let violation: Vec<_> = events.iter().filter(|e| e["cat"] == "violation").collect();
    assert_eq!(violation.len(), 1);
    assert_eq!(violation[0]["s"], "g");
    assert_eq!(violation[0]["name"], "VIOLATION 4-progress-monotonic");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sweep_writes_a_report_page_with_each_failure_linked_to_its_capsule() {
    let dir = temp_dir("timeline-sweep");
    let out = restoresim(&[
        "sweep",
        "scenarios/ci-smoke.ron",
        "--seeds",
        "0..6",
        "--jobs",
        "2",
        "--bug",
        "LastKeyRegress",
        "--max-capsules",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let page = std::fs::read_to_string(dir.join("report.html")).expect("report.html beside summary.json");
    let summary = common::summary(&dir);
    let failures = summary["failures"].as_array().unwrap();
    assert!(failures.len() > 2, "more failures than capsules kept");
    for f in failures {
        let seed = f["seed"].as_u64().unwrap();
        assert!(page.contains(&format!("id=\"seed-{seed}\"")), "seed {seed} listed");
        let reproduce = f["reproduce"].as_str().unwrap();
        assert!(page.contains(reproduce), "seed {seed}'s reproduce command");
        let timeline = format!("capsules/seed-{seed}/timeline.html");
        assert_eq!(page.contains(&timeline), !f["capsule"].is_null(), "a timeline link iff a capsule");
        if !f["capsule"].is_null() {
            assert!(dir.join(&timeline).is_file(), "every capsule has its timeline");
        }
    }
    assert!(page.contains("log.txt (first 12 lines)"), "a capsule without story.txt shows its log");
    assert!(page.contains("<svg"), "the completion-time histogram is inline");
    assert!(page.contains("restart_mid_applying"), "coverage goals are listed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn after_sweep_shrink_the_report_tells_the_minimal_capsules_story() {
    let dir = temp_dir("timeline-shrink");
    let args = ["sweep", "scenarios/ci-smoke.ron", "--seeds", "1..2", "--bug", "LastKeyRegress", "--shrink"];
    let out = restoresim(&[&args[..], &["--out", dir.to_str().unwrap()]].concat());
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let story = std::fs::read_to_string(dir.join("capsules/seed-1-min/story.txt")).unwrap();
    let first = story.lines().next().unwrap();
    assert!(page.contains("<summary>capsules/seed-1-min/story.txt</summary>"), "the story is shown");
    assert!(page.contains(&restoresim_reports::timeline::html::escape(first)), "{first}");
    assert!(page.contains("href=\"capsules/seed-1-min/timeline.html\""), "the minimal capsule's timeline is linked");
    assert!(dir.join("capsules/seed-1-min/timeline.html").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_fault_family_lands_on_the_timeline() {
    let dir = temp_dir("timeline-faults");
    let out =
        // Seed 2: every fault family fires (see `cli_faults.rs`).
        restoresim(&["run", "scenarios/faults-all.ron", "--seed", "2", "--trace", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let data = page_data(&std::fs::read_to_string(dir.join("timeline.html")).unwrap());
    let faults = &common::summary(&dir)["faults"];
    let messages = data["messages"].as_array().unwrap();
    let count = |pred: &dyn Fn(&Value) -> bool| messages.iter().filter(|m| pred(m)).count() as u64;
    assert_eq!(count(&|m| m["fate"] == "dropped"), faults["drops"].as_u64().unwrap(), "a cross per drop");
    assert_eq!(count(&|m| m["copy"] == true), faults["duplicates"].as_u64().unwrap(), "a dashed copy per duplicate");
    assert!(count(&|m| m["reordered"] == true) > 0, "reordered messages are marked");
    assert_eq!(data["partitions"].as_array().unwrap().len() as u64, faults["partitions"].as_u64().unwrap());
    // Every crash, restart and kill on commit is a down span.
    let went_down = faults["crashes"].as_u64().unwrap() + faults["restarts"].as_u64().unwrap();
    let spans = data["down"].as_array().unwrap();
    assert_eq!(spans.len() as u64, went_down + faults["kill_on_commit"].as_u64().unwrap(), "{spans:?}");
    let marks: Vec<&str> = data["faults"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    for kind in ["drop", "duplicate", "slow_commit", "allocator_empty", "read_error", "kill_on_commit"] {
        assert!(marks.contains(&kind), "{kind} marked: {marks:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
