//! The Client does what users do (`client: (...)` in a scenario), through
//! the binary: a repeated key gets its operation back, a second restore of a
//! running table is refused, a premature Forget is refused and a late one
//! granted, polls ask for per-shard detail at random intervals, and every
//! such run passes invariants 10–14. With the behaviours off, nothing is
//! sent that the plain Client would not send.

mod common;

use common::{restoresim, temp_dir, text};

/// The payloads of the messages delivered to the Client in a `--trace` run.
fn delivered_to_client(dir: &std::path::Path) -> Vec<String> {
    let trace = std::fs::read_to_string(dir.join("trace.jsonl")).expect("trace.jsonl");
    trace
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .filter(|v| v["kind"] == "deliver" && v["node"] == "Client")
        .map(|v| v["payload"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn sent_by_client(dir: &std::path::Path) -> Vec<String> {
    let trace = std::fs::read_to_string(dir.join("trace.jsonl")).expect("trace.jsonl");
    trace
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .filter(|v| v["kind"] == "deliver" && v["peer"] == "Client")
        .map(|v| v["payload"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn every_client_behaviour_happens_and_is_judged() {
    let dir = temp_dir("client-behaviours");
    let out = restoresim(&[
        "run",
        "scenarios/client-behaviours.ron",
        "--seed",
        "1",
        "--out",
        dir.to_str().unwrap(),
        "--trace",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let got = delivered_to_client(&dir);
    let sent = sent_by_client(&dir);
    let has = |list: &[String], needle: &str| list.iter().filter(|p| p.contains(needle)).count();
    assert!(has(&got, "status: MultipleModifications") >= 1, "a conflicting restore was refused: {got:#?}");
    assert!(has(&got, "status: StillRunning") >= 1, "a premature Forget was refused");
    assert!(has(&got, "status: Forgotten") >= 3, "each of the three operations forgotten after its end");
    assert!(has(&got, "RestoreAccepted") >= 6, "each request and its repeat answered");
    assert!(has(&sent, "with_shards: true") >= 1 && has(&sent, "with_shards: false") >= 1, "detail on some polls");
    // Polls after the end: more Done answers than operations.
    assert!(has(&got, "state: Done") > 3, "polls went on after the end");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_plain_client_sends_only_requests_and_plain_polls() {
    let dir = temp_dir("plain-client");
    let out = restoresim(&["run", "scenarios/ci-smoke.ron", "--seed", "2", "--out", dir.to_str().unwrap(), "--trace"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let sent = sent_by_client(&dir);
    assert!(!sent.is_empty());
    for payload in sent {
        assert!(
            payload.starts_with("MultiIncrementalRestore") || payload.contains("with_shards: false"),
            "the plain Client sent {payload}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
