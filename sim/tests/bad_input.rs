//! Every scenario either runs or is refused at load with exit 65 and the
//! offending value's `file:line:column`, from `check` and `run` alike: sizes
//! beyond `scenario/limits.rs`, references that do not resolve, values a
//! run could only turn into a liveness verdict, and RON's syntax errors in
//! our words.

mod common;

use common::{restoresim, temp_dir, text};

/// A scenario with one table of 4 shards and 3 incrementals, with `extra`
/// fields spliced in on their own lines.
fn scenario(extra: &str) -> String {
    format!(
        "Scenario(\n  name: \"bad\",\n  workload: (tables: [(name: \"orders\", shards: 4)], rows: 50, key_space: \
         1000),\n{extra}\n)\n"
    )
}

/// 1-based line and column of the first `needle` in `text`; with
/// `prefix|value`, of `value` where it follows `prefix`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let (prefix, value) = needle.split_once('|').unwrap_or(("", needle));
    let offset =
        text.find(&format!("{prefix}{value}")).unwrap_or_else(|| panic!("{needle:?} is in {text}")) + prefix.len();
    let before = &text[..offset];
    (before.matches('\n').count() + 1, before.rsplit('\n').next().unwrap().chars().count() + 1)
}

/// (what, scenario text, the text the error must point at, a fragment of the message)
fn cases() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let wl = |w: &str| format!("Scenario(\n  name: \"bad\",\n  workload: ({w}),\n)\n");
    let many_restarts: String =
        (0..10_001).map(|i| format!("(tablet: SchemeShard, when: AtEvent({}))", i + 1)).collect::<Vec<_>>().join(", ");
    vec![
        // 1. sizes
        ("incrementals u32::MAX", wl("incrementals: 4294967295"), "4294967295", "1 to 200 incrementals"),
        ("shards u32::MAX", wl("tables: [(name: \"a\", shards: 4294967295)]"), "4294967295", "1 to 1000000 shards"),
        (
            "a shard sum that wraps u32",
            wl("tables: [(name: \"a\", shards: 1000000), (name: \"b\", shards: 1000000)]"),
            "[(name",
            "at most 1000000 shards in all tables",
        ),
        (
            "changes.max u64::MAX",
            wl("changes: (min: 1, max: 18446744073709551615)"),
            "18446744073709551615",
            "at most 20000000 changes",
        ),
        (
            "rows = key_space = u64::MAX",
            wl("rows: 18446744073709551615, key_space: 18446744073709551615"),
            "18446744073709551615",
            "at most 100000000 rows",
        ),
        (
            "ten million shards and a million incrementals",
            wl("tables: [(name: \"a\", shards: 10000000)], incrementals: 1000000"),
            "shards: |10000000",
            "1 to 1000000 shards",
        ),
        (
            "shards × incrementals",
            wl("tables: [(name: \"a\", shards: 100000)], incrementals: 21, rows: 10, changes: (min: 1, max: 1)"),
            "incrementals: |21",
            "shards × incrementals",
        ),
        (
            "model rows",
            wl("rows: 100000000, key_space: 200000000, incrementals: 3, changes: (min: 1, max: 13333334)"),
            "(rows",
            "its oracle and the DataShards would hold",
        ),
        (
            "10,001 triggers",
            scenario(&format!("  faults: (restarts: [{many_restarts}]),")),
            "[(tablet",
            "at most 10000 triggered restarts",
        ),
        ("a duration of years", scenario("  budgets: (max_virtual_time: \"1000000min\"),"), "\"1000000min", "365 days"),
        ("max_events beyond", scenario("  budgets: (max_events: 2000000000),"), "2000000000", "max_events"),
        ("a name of 200 characters", format!("Scenario(name: \"{}\")", "n".repeat(200)), "\"nnn", "characters"),
        (
            "polls after the end beyond",
            scenario("  client: (polls_after_end: 10001),"),
            "10001",
            "at most 10000 `polls_after_end`",
        ),
        // 2. semantics
        (
            "DROP in the design flavour",
            scenario("  client: (drop: (after: \"5ms\", what: Table)),"),
            "(after",
            "DROP needs `protocol: (flavour: Ydb)`",
        ),
        (
            "DROP retried every 0 ms",
            scenario(
                "  client: (drop: (after: \"5ms\", what: Table, retry: \"0ms\")),\n  protocol: (flavour: Ydb, \
                 shard_timeout: None),",
            ),
            "\"0ms",
            "a positive `retry`",
        ),
        (
            "poll_interval_max below poll_interval",
            scenario("  client: (poll_interval: \"5ms\", poll_interval_max: \"2ms\"),"),
            "\"2ms",
            "poll_interval_max >= poll_interval",
        ),
        (
            "a restore of a table that does not exist",
            scenario("  restores: [(table: \"nope\")],"),
            "\"nope",
            "does not exist",
        ),
        (
            "backups: []",
            scenario("  restores: [(table: \"orders\", backups: [])],"),
            "backups: |[]",
            "at least one incremental",
        ),
        (
            "backups: [7, 99]",
            scenario("  restores: [(table: \"orders\", backups: [7, 99])],"),
            "[|7",
            "position 1 holds 7",
        ),
        ("incrementals: 0", wl("incrementals: 0"), "incrementals: |0", "1 to 200 incrementals"),
        (
            "a restore after the time budget",
            scenario("  restores: [(table: \"orders\", at: \"2min\")],\n  budgets: (max_virtual_time: \"1min\"),"),
            "\"2min",
            "virtual-time budget",
        ),
        ("max_events: 0", scenario("  budgets: (max_events: 0),"), "max_events: |0", "max_events"),
        ("allocate_timeout: 0ms", scenario("  protocol: (allocate_timeout: \"0ms\"),"), "\"0ms", "allocate_timeout"),
        ("shard_timeout: 0ms", scenario("  protocol: (shard_timeout: \"0ms\"),"), "\"0ms", "shard_timeout"),
        ("deadline_overall: 0ms", scenario("  protocol: (deadline_overall: \"0ms\"),"), "\"0ms", "deadline_overall"),
        ("deadline_stage: 0ms", scenario("  protocol: (deadline_stage: Some(\"0ms\")),"), "\"0ms", "deadline_stage"),
        (
            "AfterBatches(batches: 0)",
            scenario("  faults: (restarts: [(tablet: SchemeShard, when: AfterBatches(shard: 1, batches: 0))]),"),
            "batches: |0",
            "batches are counted from 1",
        ),
        (
            "Uniform min > max",
            scenario("  network: (latency: Uniform(min: \"5ms\", max: \"1ms\")),"),
            "\"5ms",
            "min <= max",
        ),
        (
            "Tail max > tail_max",
            scenario("  tablets: (commit_latency: Tail(min: \"1ms\", max: \"5ms\", tail: \"1%\", tail_max: \"2ms\")),"),
            "\"2ms",
            "tail_max",
        ),
        (
            "duplicate table names",
            wl("tables: [(name: \"a\", shards: 2), (name: \"a\", shards: 3)]"),
            "\"a\", shards: 3",
            "named twice",
        ),
        (
            "a trigger naming a shard that does not exist",
            scenario("  faults: (restarts: [(tablet: SchemeShard, when: AfterBatches(shard: 7, batches: 1))]),"),
            "shard: |7",
            "DataShard 7 does not exist",
        ),
        (
            "a restart of a shard that does not exist",
            scenario("  faults: (restarts: [(tablet: DataShard(4), when: AtEvent(3))]),"),
            "DataShard(|4",
            "DataShard 4 does not exist",
        ),
        (
            "a link to a shard that does not exist",
            scenario("  network: (links: [(to: DataShard(12), latency: Constant(\"1ms\"))]),"),
            "DataShard(|12",
            "DataShard 12 does not exist",
        ),
        // RON's messages in our words
        ("a float in an integer field", wl("rows: 1.5"), ".5", "whole number"),
        ("an unterminated string", "Scenario(name: \"bad)\n".to_string(), "\"bad", "never closed"),
        (
            "a missing final )",
            "Scenario(\n  name: \"bad\",\n  workload: (rows: 10)\n".to_string(),
            "<end>",
            "ends too early",
        ),
        ("a number too large", wl("rows: 99999999999999999999"), "99999999999999999999", "out of range"),
    ]
}

#[test]
fn every_bad_value_is_refused_at_load_with_its_location() {
    let dir = temp_dir("bad-input");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (what, body, needle, fragment)) in cases().into_iter().enumerate() {
        let file = dir.join(format!("case{i}.ron"));
        std::fs::write(&file, &body).unwrap();
        let path = file.to_str().unwrap();
        // "The file ends too early": at its end, wherever RON stopped.
        let at = (needle != "<end>").then(|| position(&body, needle));
        let out_dir = dir.join(format!("out{i}"));
        for args in [vec!["check", path], vec!["run", path, "--out", out_dir.to_str().unwrap()]] {
            let out = restoresim(&args);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(65), "{what}: `{}` exits 65\n{stderr}{}", args[0], text(&out.stdout));
            let expected = match at {
                Some((line, column)) => format!("{path}:{line}:{column}: "),
                None => format!("{path}:"),
            };
            assert!(stderr.contains(&expected), "{what}: `{}` points at {expected}\n{stderr}", args[0]);
            assert!(!stderr.contains(&format!("{path}:1:1:")), "{what}: not at 1:1\n{stderr}");
            assert!(stderr.contains(fragment), "{what}: the message says {fragment:?}\n{stderr}");
            assert!(!stderr.contains("(at `?`)") && !stderr.contains("panicked"), "{what}: {stderr}");
        }
        assert!(!out_dir.exists(), "{what}: a refused scenario writes nothing");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let dir = temp_dir("bom");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bom.ron");
    std::fs::write(&file, format!("\u{feff}{}", scenario("  client: (poll_interval: \"2ms\"),"))).unwrap();
    let out = restoresim(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reading_a_scenario_is_bounded() {
    // An endless file is refused at the size limit, not read until memory runs out.
    let out = restoresim(&["check", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("larger than 4 MiB"), "{}", text(&out.stderr));
    let out = restoresim(&["check", "scenarios"]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("folder"), "{}", text(&out.stderr));
}

#[test]
fn a_deliberately_bad_request_says_so_and_runs() {
    let dir = temp_dir("expect-rejection");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("reject.ron");
    let body = scenario(
        "  client: (poll_interval: \"2ms\"),\n  restores: [(table: \"orders\"), (table: \"nope\", expect_rejection: \
         PathDoesNotExist), (table: \"orders\", backups: [2, 1], expect_rejection: BadRequest)],\n  expect: AllDone,",
    );
    std::fs::write(&file, body).unwrap();
    let out = restoresim(&["run", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("Rejected"), "{}", text(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}
