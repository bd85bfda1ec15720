//! The checks a type cannot express, made when a scenario is loaded: sizes
//! within `limits.rs`, references that resolve (tables, shards, incrementals,
//! bugs, coverage goals), and values a run could only turn into a liveness
//! verdict (a zero timeout, a restore after the time budget, an empty
//! range). Each refusal names the field by its path, so `load` can point at
//! the offending value's line and column.
//!
//! To add a check: write it in one of the `check_*` functions below (or a
//! new one called from `validate`) as `refuse(path, message)`; tests in
//! `scenario::load` show the pattern.

use std::collections::BTreeSet;

use super::limits::*;
use super::locate::FieldPath;
use super::{ActorRef, LatencySpec, Scenario, TabletRef, Trigger};

/// A value the scenario must not hold: where it is, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub path: FieldPath,
    /// Text to find inside the value at `path`, when a check knows the
    /// offending text rather than its path (the fault tape's checks).
    pub needle: Option<String>,
    pub message: String,
}

type Check = Result<(), Invalid>;

fn refuse(path: FieldPath, message: impl Into<String>) -> Check {
    Err(Invalid { path, needle: None, message: message.into() })
}

fn p(fields: &[&'static str]) -> FieldPath {
    FieldPath::of(fields)
}

/// Every check, in the order a reader meets the fields.
pub fn validate(s: &Scenario) -> Check {
    check_name(s)?;
    check_workload(s)?;
    check_restores(s)?;
    check_protocol(s)?;
    check_flavour(s)?;
    check_budgets(s)?;
    check_network(s)?;
    check_tablets(s)?;
    check_triggers(s)?;
    check_partitions(s)?;
    check_swarm(s)?;
    check_tape(s)?;
    check_names(s)?;
    check_config_swarm(s)
}

/// A configuration swarm must draw only valid scenarios: every value of
/// every list, and each list's smallest and largest, are put in and the
/// resolved scenario checked like any other (`ConfigSwarm::corners`).
fn check_config_swarm(s: &Scenario) -> Check {
    let Some(spec) = &s.swarm else { return Ok(()) };
    // Before anything is resolved: a table count is a list the draw builds.
    if let Some(n) = spec.workload.tables.iter().find(|n| **n == 0 || **n as usize > MAX_TABLES) {
        return refuse(p(&["swarm", "workload", "tables"]), format!("expected 1 to {MAX_TABLES} tables; got {n}"));
    }
    for (corner, swarm) in spec.corners() {
        let mut one = s.clone();
        one.swarm = Some(swarm);
        let (resolved, _) = crate::swarm::resolve(&one, 0);
        if let Err(e) = validate(&resolved) {
            let message = format!("with {corner}, the swarm draws an invalid `{}`: {}", e.path, e.message);
            return refuse(p(&["swarm"]), message);
        }
    }
    Ok(())
}

/// A fault tape written in the scenario (`tape.rs` checks its entries).
fn check_tape(s: &Scenario) -> Check {
    let tape = s.faults.tape.as_deref().unwrap_or_default();
    let shards = u32::try_from(total_shards(s)).expect("at most MAX_TOTAL_SHARDS");
    super::tape::check(tape, shards).map_err(|(needle, message)| Invalid {
        path: p(&["faults", "tape"]),
        needle: Some(needle),
        message,
    })
}

/// Shards in all tables (at most `MAX_TOTAL_SHARDS` once `check_workload` passed).
/// DataShards a scenario's faults may name: the YDB flavour has one source
/// shard (numbered after the restored tables' shards) for each.
pub fn total_shards(s: &Scenario) -> u64 {
    let restored: u64 = s.workload.tables.iter().map(|t| u64::from(t.shards)).sum();
    if s.protocol.flavour == super::Flavour::Ydb { 2 * restored } else { restored }
}

fn check_name(s: &Scenario) -> Check {
    let chars = s.name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return refuse(p(&["name"]), format!("expected a `name` of 1 to {MAX_NAME_CHARS} characters; got {chars}"));
    }
    Ok(())
}

fn check_workload(s: &Scenario) -> Check {
    let w = &s.workload;
    let tables = p(&["workload", "tables"]);
    if w.tables.is_empty() {
        return refuse(tables, "expected at least one table in `workload.tables`");
    }
    if w.tables.len() > MAX_TABLES {
        return refuse(tables, format!("expected at most {MAX_TABLES} tables; got {}", w.tables.len()));
    }
    let mut names = BTreeSet::new();
    for (i, t) in w.tables.iter().enumerate() {
        if !names.insert(t.name.as_str()) {
            return refuse(tables.clone().at(i).field("name"), format!("table \"{}\" is named twice", t.name));
        }
        if t.shards == 0 || t.shards > MAX_SHARDS_PER_TABLE {
            return refuse(
                tables.clone().at(i).field("shards"),
                format!("expected 1 to {MAX_SHARDS_PER_TABLE} shards for table \"{}\"; got {}", t.name, t.shards),
            );
        }
    }
    let shards = total_shards(s);
    if shards > MAX_TOTAL_SHARDS {
        return refuse(tables, format!("expected at most {MAX_TOTAL_SHARDS} shards in all tables; got {shards}"));
    }
    if w.incrementals == 0 || w.incrementals > MAX_INCREMENTALS {
        return refuse(
            p(&["workload", "incrementals"]),
            format!("expected 1 to {MAX_INCREMENTALS} incrementals; got {}", w.incrementals),
        );
    }
    let stages = shards * u64::from(w.incrementals);
    if stages > MAX_SHARD_STAGES {
        return refuse(
            p(&["workload", "incrementals"]),
            format!(
                "expected shards × incrementals of at most {MAX_SHARD_STAGES}; got {shards} × {} = {stages}",
                w.incrementals
            ),
        );
    }
    if w.key_space == 0 {
        return refuse(p(&["workload", "key_space"]), "expected `key_space >= 1`");
    }
    if w.rows > MAX_ROWS {
        return refuse(p(&["workload", "rows"]), format!("expected at most {MAX_ROWS} rows; got {}", w.rows));
    }
    if w.rows > w.key_space {
        return refuse(p(&["workload", "rows"]), format!("expected `rows <= key_space` ({})", w.key_space));
    }
    if w.changes.min > w.changes.max {
        return refuse(p(&["workload", "changes", "min"]), "expected `changes.min <= changes.max`");
    }
    if w.changes.max > MAX_CHANGES {
        return refuse(
            p(&["workload", "changes", "max"]),
            format!("expected at most {MAX_CHANGES} changes per incremental; got {}", w.changes.max),
        );
    }
    let k = u64::from(w.incrementals);
    let rows = w.tables.len() as u64 * (w.rows + k * w.changes.max);
    if rows > MAX_MODEL_ROWS {
        return refuse(
            p(&["workload"]),
            format!(
                "the workload, its oracle and the DataShards would hold tables × (rows + incrementals × \
                 changes.max) = {rows} rows; expected at most {MAX_MODEL_ROWS}"
            ),
        );
    }
    Ok(())
}

fn check_restores(s: &Scenario) -> Check {
    let w = &s.workload;
    if s.restores.len() > MAX_RESTORES {
        return refuse(p(&["restores"]), format!("expected at most {MAX_RESTORES} restores"));
    }
    for (i, r) in s.restores.iter().enumerate() {
        let at = p(&["restores"]).at(i);
        if r.at > s.budgets.max_virtual_time {
            return refuse(
                at.field("at"),
                format!(
                    "a restore at {}us would start after the virtual-time budget (`budgets.max_virtual_time`, {}us)",
                    r.at.us(),
                    s.budgets.max_virtual_time.us()
                ),
            );
        }
        if r.expect_rejection.is_some() {
            // A deliberate bad request, to test the coordinator's rejection.
            continue;
        }
        if !w.tables.iter().any(|t| t.name == r.table) {
            let known: Vec<_> = w.tables.iter().map(|t| format!("\"{}\"", t.name)).collect();
            return refuse(
                at.field("table"),
                format!(
                    "table \"{}\" does not exist; expected one of {} (or `expect_rejection: PathDoesNotExist` to \
                     test the rejection)",
                    r.table,
                    known.join(", ")
                ),
            );
        }
        if let Some(backups) = &r.backups {
            if backups.is_empty() {
                return refuse(
                    at.field("backups"),
                    "expected at least one incremental in `backups` (or `expect_rejection: BadRequest`)",
                );
            }
            for (pos, b) in backups.iter().enumerate() {
                if *b != pos as u32 + 1 || *b > w.incrementals {
                    return refuse(
                        at.clone().field("backups").at(pos),
                        format!(
                            "expected the chain 1, 2, ... of incrementals that exist (1..={}): position {} holds {b}, \
                             expected {} (or `expect_rejection: BadRequest`)",
                            w.incrementals,
                            pos + 1,
                            pos + 1
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}

fn check_protocol(s: &Scenario) -> Check {
    let k = &s.protocol;
    let path = |f| p(&["protocol", f]);
    if k.batch_rows == 0 || k.batch_rows > MAX_BATCH_ROWS {
        return refuse(path("batch_rows"), format!("expected `batch_rows` of 1 to {MAX_BATCH_ROWS}"));
    }
    if k.read_retries > MAX_READ_RETRIES {
        return refuse(path("read_retries"), format!("expected at most {MAX_READ_RETRIES} `read_retries`"));
    }
    if k.max_shards_in_flight == Some(0) {
        return refuse(path("max_shards_in_flight"), "expected `max_shards_in_flight >= 1` (or None)");
    }
    // Zero here would let an actor re-arm itself at the same instant forever
    // (virtual time would stand still until the event budget ran out), or
    // fail every operation before it could start.
    let zero_free = [
        (p(&["client", "poll_interval"]), Some(s.client.poll_interval)),
        (p(&["client", "request_timeout"]), Some(s.client.request_timeout)),
        (p(&["protocol", "backoff", "initial"]), Some(k.backoff.initial)),
        (p(&["network", "reset_notify"]), Some(s.network.reset_notify)),
        (path("allocate_timeout"), Some(k.allocate_timeout)),
        (path("shard_timeout"), k.shard_timeout),
        (path("deadline_overall"), k.deadline_overall),
        (path("deadline_stage"), k.deadline_stage),
    ];
    for (field, value) in zero_free {
        if value.is_some_and(|v| v.us() == 0) {
            return refuse(field.clone(), format!("expected `{field}` of at least \"1us\""));
        }
    }
    if s.client.poll_interval_max.is_some_and(|max| max < s.client.poll_interval) {
        return refuse(p(&["client", "poll_interval_max"]), "expected `poll_interval_max >= poll_interval`");
    }
    if s.client.forget_at_percent.is_some_and(|p| p > 100) {
        return refuse(p(&["client", "forget_at_percent"]), "expected a whole percent, at most 100");
    }
    if s.client.polls_after_end > MAX_POLLS_AFTER_END {
        return refuse(
            p(&["client", "polls_after_end"]),
            format!("expected at most {MAX_POLLS_AFTER_END} `polls_after_end`"),
        );
    }
    if k.backoff.max < k.backoff.initial {
        return refuse(p(&["protocol", "backoff", "max"]), "expected `backoff.max >= backoff.initial`");
    }
    Ok(())
}

fn check_budgets(s: &Scenario) -> Check {
    let b = &s.budgets;
    if b.max_events == 0 || b.max_events > MAX_EVENTS {
        return refuse(
            p(&["budgets", "max_events"]),
            format!("expected `max_events` of 1 to {MAX_EVENTS}; got {}", b.max_events),
        );
    }
    if b.max_virtual_time.us() == 0 {
        return refuse(p(&["budgets", "max_virtual_time"]), "expected `max_virtual_time` of at least \"1us\"");
    }
    Ok(())
}

fn check_latency(path: FieldPath, spec: &LatencySpec) -> Check {
    match *spec {
        LatencySpec::Uniform { min, max } if min > max => {
            refuse(path.field("min"), format!("expected `min <= max` ({}us > {}us)", min.us(), max.us()))
        }
        LatencySpec::Tail { min, max, .. } if min > max => {
            refuse(path.field("min"), format!("expected `min <= max` ({}us > {}us)", min.us(), max.us()))
        }
        LatencySpec::Tail { max, tail_max, .. } if max > tail_max => {
            refuse(path.field("tail_max"), format!("expected `max <= tail_max` ({}us > {}us)", max.us(), tail_max.us()))
        }
        _ => Ok(()),
    }
}

fn check_network(s: &Scenario) -> Check {
    let n = &s.network;
    check_latency(p(&["network", "latency"]), &n.latency)?;
    check_latency(p(&["network", "reorder_delay"]), &n.reorder_delay)?;
    if n.links.len() > MAX_LINKS {
        return refuse(p(&["network", "links"]), format!("expected at most {MAX_LINKS} links"));
    }
    let shards = total_shards(s);
    for (i, l) in n.links.iter().enumerate() {
        let link = p(&["network", "links"]).at(i);
        for (end, actor) in [("from", l.from), ("to", l.to)] {
            if let Some(a) = actor {
                actor_exists(link.clone().field(end), a, shards)?;
            }
        }
        check_latency(link.field("latency"), &l.latency)?;
    }
    let random = n.random_partitions;
    let length = p(&["network", "random_partitions", "length"]);
    if random.length.min > random.length.max {
        return refuse(length.field("min"), "expected `random_partitions.length.min <= max`");
    }
    if u64::from(random.count) > MAX_PARTITIONS {
        return refuse(
            p(&["network", "random_partitions", "count"]),
            format!("expected at most {MAX_PARTITIONS} random partitions"),
        );
    }
    Ok(())
}

fn check_tablets(s: &Scenario) -> Check {
    let t = &s.tablets;
    for (field, spec) in [
        ("commit_latency", &t.commit_latency),
        ("read_latency", &t.read_latency),
        ("crash_down", &t.crash_down),
        ("slow_commit_delay", &t.slow_commit_delay),
    ] {
        check_latency(p(&["tablets", field]), spec)?;
    }
    Ok(())
}

fn shard_exists(path: FieldPath, n: u32, shards: u64) -> Check {
    if u64::from(n) >= shards {
        return refuse(path, format!("DataShard {n} does not exist: the workload has {shards} shards (0..{shards})"));
    }
    Ok(())
}

fn actor_exists(path: FieldPath, a: ActorRef, shards: u64) -> Check {
    match a {
        ActorRef::DataShard(n) => shard_exists(path.at(0), n, shards),
        _ => Ok(()),
    }
}

fn check_triggers(s: &Scenario) -> Check {
    let restarts = &s.faults.restarts;
    if restarts.len() > MAX_TRIGGERS {
        return refuse(
            p(&["faults", "restarts"]),
            format!("expected at most {MAX_TRIGGERS} triggered restarts; got {}", restarts.len()),
        );
    }
    let window = s.faults.window;
    if window.from > window.until {
        return refuse(p(&["faults", "window", "from"]), "expected the fault window's `from <= until`");
    }
    let shards = total_shards(s);
    let incrementals = s.workload.incrementals;
    for (i, r) in restarts.iter().enumerate() {
        let at = p(&["faults", "restarts"]).at(i);
        if let TabletRef::DataShard(n) = r.tablet {
            shard_exists(at.clone().field("tablet").at(0), n, shards)?;
        }
        let when = at.field("when");
        match r.when {
            Trigger::AfterBatches { shard, batches } => {
                shard_exists(when.clone().field("shard"), shard, shards)?;
                if batches == 0 {
                    return refuse(when.field("batches"), "batches are counted from 1: expected `batches >= 1`");
                }
            }
            Trigger::OpEnters { incr, .. } if incr == 0 || incr > incrementals => {
                return refuse(when.field("incr"), format!("incremental {incr} does not exist (1..={incrementals})"));
            }
            Trigger::AtEvent(0) => {
                return refuse(when.at(0), "events are counted from 1: expected AtEvent(k >= 1)");
            }
            Trigger::AtCommit(0) => {
                return refuse(when.at(0), "commits are counted from 1: expected AtCommit(k >= 1)");
            }
            Trigger::At(t) if t < window.from || t >= window.until => {
                return refuse(
                    when.at(0),
                    format!(
                        "a restart at {}us is outside the fault window [{}us, {}us): faults happen only inside it",
                        t.us(),
                        window.from.us(),
                        window.until.us()
                    ),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_partitions(s: &Scenario) -> Check {
    let partitions = &s.faults.partitions;
    if partitions.len() as u64 > MAX_PARTITIONS {
        return refuse(p(&["faults", "partitions"]), format!("expected at most {MAX_PARTITIONS} partitions"));
    }
    let shards = total_shards(s);
    let nodes = shards + 3;
    for (i, part) in partitions.iter().enumerate() {
        let at = p(&["faults", "partitions"]).at(i);
        if part.nodes.is_empty() || part.nodes.len() as u64 > nodes {
            return refuse(at.field("nodes"), format!("expected 1 to {nodes} nodes in a partition"));
        }
        for (j, node) in part.nodes.iter().enumerate() {
            actor_exists(at.clone().field("nodes").at(j), *node, shards)?;
        }
        if part.from >= part.until || part.until > s.faults.window.until {
            return refuse(
                at.field("until"),
                "expected each partition's `from < until`, with `until` inside the fault window",
            );
        }
    }
    Ok(())
}

fn check_swarm(s: &Scenario) -> Check {
    let Some(swarm) = &s.faults.swarm else { return Ok(()) };
    let families = [
        ("loss", swarm.loss),
        ("duplicate", swarm.duplicate),
        ("reorder", swarm.reorder),
        ("crash", swarm.crash),
        ("restart", swarm.restart),
        ("kill_on_commit", swarm.kill_on_commit),
        ("slow_commit", swarm.slow_commit),
        ("allocator_empty", swarm.allocator_empty),
        ("read_transient", swarm.read_transient),
        ("read_fatal", swarm.read_fatal),
    ];
    for (name, f) in families {
        let (lo, hi) = (f.min.0, f.max.0);
        if u64::from(lo.num) * u64::from(hi.den) > u64::from(hi.num) * u64::from(lo.den) {
            return refuse(
                p(&["faults", "swarm"]).field(name).field("min"),
                format!("expected swarm family `{name}` to have `min <= max`"),
            );
        }
    }
    let count = p(&["faults", "swarm", "partitions", "count"]);
    if swarm.partitions.count.min > swarm.partitions.count.max {
        return refuse(count.field("min"), "expected swarm `partitions.count.min <= max`");
    }
    if swarm.partitions.count.max > MAX_PARTITIONS {
        return refuse(count.field("max"), format!("expected at most {MAX_PARTITIONS} random partitions"));
    }
    Ok(())
}

/// What the YDB flavour (docs/ydb-flavour.md) runs with: knobs it has no
/// use for are refused rather than ignored, and each flavour's planted bugs
/// stay in it.
fn check_flavour(s: &Scenario) -> Check {
    use restoresim_model::knobs::Bug;
    let k = &s.protocol;
    let path = |f| p(&["protocol", f]);
    let ydb = k.flavour == super::Flavour::Ydb;
    for (i, name) in s.bugs.iter().enumerate() {
        let Some(bug) = Bug::from_name(name) else { continue };
        if Bug::YDB.contains(&bug) != ydb {
            let want = if ydb { "Design" } else { "Ydb" };
            return refuse(p(&["bugs"]).at(i), format!("bug \"{name}\" is a defect of the {want} flavour's protocol"));
        }
    }
    if !ydb {
        if k.ydb.is_some() {
            return refuse(path("ydb"), "`ydb` knobs need `flavour: Ydb`");
        }
        if s.client.drop.is_some() {
            return refuse(
                p(&["client", "drop"]),
                "DROP needs `protocol: (flavour: Ydb)`: the design has no path states",
            );
        }
        return Ok(());
    }
    if let Some(d) = s.client.drop
        && d.retry.is_some_and(|r| r.us() == 0)
    {
        return refuse(p(&["client", "drop", "retry"]), "expected a positive `retry`");
    }
    let d = super::ProtocolSpec::default();
    let unused: [(&'static str, bool, &str); 7] = [
        (
            "resume_from_last_key",
            k.resume_from_last_key != d.resume_from_last_key,
            "a source shard's scan always starts from the beginning",
        ),
        (
            "request_rounds",
            k.request_rounds != d.request_rounds,
            "YDB stamps requests with SchemeShard's generation only",
        ),
        ("retry_scope", k.retry_scope != d.retry_scope, "YDB re-runs the whole stage; see `ydb.retry_unit`"),
        (
            "max_shards_in_flight",
            k.max_shards_in_flight != d.max_shards_in_flight,
            "YDB caps tables, not shards: `ydb.tables_in_flight`",
        ),
        ("backoff", k.backoff != d.backoff, "the stage retry waits 2/4/8 × `ydb.retry_unit`"),
        ("progress_persist", k.progress_persist != d.progress_persist, "YDB persists no per-shard progress"),
        ("read_retries", k.read_retries != d.read_retries, "an aborted scan is reported at once"),
    ];
    if let Some((field, _, why)) = unused.iter().find(|(_, set, _)| *set) {
        return refuse(path(field), format!("`{field}` does not apply to the Ydb flavour: {why}"));
    }
    if k.allocate_timeout != d.allocate_timeout {
        return refuse(
            path("allocate_timeout"),
            "`allocate_timeout` does not apply to the Ydb flavour: an empty answer is asked again after 500 ms, a lost one on a pipe reset",
        );
    }
    if s.swarm.is_some() {
        return refuse(
            p(&["swarm"]),
            "the configuration swarm draws the Design flavour's knobs; it does not apply to the Ydb flavour",
        );
    }
    let y = k.ydb.clone().unwrap_or_default();
    let ypath = |f| p(&["protocol", "ydb", f]);
    if y.tables_in_flight == Some(0) {
        return refuse(ypath("tables_in_flight"), "expected `tables_in_flight >= 1` (or None)");
    }
    if y.retry_unit.us() == 0 || y.heartbeat.us() == 0 {
        let f = if y.retry_unit.us() == 0 { "retry_unit" } else { "heartbeat" };
        return refuse(ypath(f), format!("expected a positive `{f}`"));
    }
    Ok(())
}

/// Planted bugs and coverage goals by name.
fn check_names(s: &Scenario) -> Check {
    if s.bugs.len() > MAX_NAMES {
        return refuse(p(&["bugs"]), format!("expected at most {MAX_NAMES} bugs"));
    }
    for (i, bug) in s.bugs.iter().enumerate() {
        if restoresim_model::knobs::Bug::from_name(bug).is_none() {
            let all = restoresim_model::knobs::Bug::ALL.iter().chain(&restoresim_model::knobs::Bug::YDB);
            let known: Vec<_> = all.map(|b| b.name()).collect();
            return refuse(p(&["bugs"]).at(i), format!("unknown bug \"{bug}\"; expected one of {}", known.join(", ")));
        }
    }
    if s.coverage.require.len() > MAX_NAMES {
        return refuse(p(&["coverage", "require"]), format!("expected at most {MAX_NAMES} goals"));
    }
    for (i, goal) in s.coverage.require.iter().enumerate() {
        if !crate::faults::coverage::is_goal(goal) {
            let known: Vec<_> = crate::faults::coverage::GOALS.iter().map(|(g, _)| *g).collect();
            return refuse(
                p(&["coverage", "require"]).at(i),
                format!("unknown coverage goal \"{goal}\"; expected one of {}", known.join(", ")),
            );
        }
    }
    Ok(())
}
