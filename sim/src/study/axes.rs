//! Axes: where in a scenario a study's value goes. A path names one field
//! (`protocol.max_shards_in_flight`, `workload.tables[0].shards`,
//! `network.loss`); the value is RON text, read with the scenario loader's
//! own options into the field's own type, so a study can set anything a
//! scenario file can say, and a wrong value fails the way it would in a
//! scenario. `protocol` also takes a knob preset by name.

use serde::de::DeserializeOwned;

use crate::scenario::{Flavour, ProtocolSpec, RetryScope, Scenario};

/// Sets one field from RON text; `index` is the `[i]` of the path, if any.
type Setter = fn(&mut Scenario, usize, &str) -> Result<(), String>;

/// One addressable field.
pub struct Field {
    /// The path as written, with `[i]` where an index goes.
    pub path: &'static str,
    /// What a value must look like.
    pub expected: &'static str,
    set: Setter,
}

/// `text` as a `T`, with the options scenario files are read with.
pub fn typed<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    options.from_str(text).map_err(|e| e.code.to_string())
}

fn item<'a, T>(list: &'a mut [T], i: usize, what: &str) -> Result<&'a mut T, String> {
    let len = list.len();
    list.get_mut(i).ok_or_else(|| format!("{what} has {len} entries (0..{len}); there is no [{i}]"))
}

macro_rules! fields {
    ($( $path:literal, $expected:expr, |$s:ident $(, $i:ident)?| $place:expr; )*) => {
        &[$(Field {
            path: $path,
            expected: $expected,
            set: |$s, _index, text| {
                $(let $i = _index;)?
                let value = typed(text)?;
                *$place = value;
                Ok(())
            },
        }),*]
    };
}

const DURATION: &str = "a duration like \"150ms\"";
const CHANCE: &str = "a probability like \"1%\" or \"1/200\"";

/// Every path an axis may name.
pub static FIELDS: &[Field] = fields! {
    "workload.tables[i].shards", "a number of DataShards (>= 1)", |s, i| &mut item(&mut s.workload.tables, i, "workload.tables")?.shards;
    "workload.key_space", "an integer", |s| &mut s.workload.key_space;
    "workload.rows", "an integer", |s| &mut s.workload.rows;
    "workload.incrementals", "an integer", |s| &mut s.workload.incrementals;
    "workload.changes", "(min: N, max: M)", |s| &mut s.workload.changes;
    "workload.erase", CHANCE, |s| &mut s.workload.erase;
    "workload.partial", CHANCE, |s| &mut s.workload.partial;
    "workload.new_keys", CHANCE, |s| &mut s.workload.new_keys;
    "workload.empty_incremental", CHANCE, |s| &mut s.workload.empty_incremental;
    "workload.keys", "Uniform or Skewed(hot: ..., span: ...)", |s| &mut s.workload.keys;
    "restores[i].at", DURATION, |s, i| &mut item(&mut s.restores, i, "restores")?.at;
    "client.poll_interval", DURATION, |s| &mut s.client.poll_interval;
    "client.request_timeout", DURATION, |s| &mut s.client.request_timeout;
    "protocol.resume_from_last_key", "true or false", |s| &mut s.protocol.resume_from_last_key;
    "protocol.request_rounds", "true or false", |s| &mut s.protocol.request_rounds;
    "protocol.shard_timeout", "a duration like \"100ms\", or None", |s| &mut s.protocol.shard_timeout;
    "protocol.retry_scope", "Shard or Stage", |s| &mut s.protocol.retry_scope;
    "protocol.max_shards_in_flight", "an integer (>= 1), or None", |s| &mut s.protocol.max_shards_in_flight;
    "protocol.backoff.initial", DURATION, |s| &mut s.protocol.backoff.initial;
    "protocol.backoff.max", DURATION, |s| &mut s.protocol.backoff.max;
    "protocol.deadline_overall", "a duration, or None", |s| &mut s.protocol.deadline_overall;
    "protocol.deadline_stage", "a duration, or None", |s| &mut s.protocol.deadline_stage;
    "protocol.progress_persist", "EveryBatch or OnShardDone", |s| &mut s.protocol.progress_persist;
    "protocol.batch_rows", "an integer (>= 1)", |s| &mut s.protocol.batch_rows;
    "protocol.allocate_timeout", DURATION, |s| &mut s.protocol.allocate_timeout;
    "protocol.read_retries", "an integer", |s| &mut s.protocol.read_retries;
    "protocol.flavour", "Design or Ydb", |s| &mut s.protocol.flavour;
    "protocol.ydb.tables_in_flight", "an integer (>= 1), or None", |s| &mut s.protocol.ydb.get_or_insert_with(Default::default).tables_in_flight;
    "protocol.ydb.retry_unit", DURATION, |s| &mut s.protocol.ydb.get_or_insert_with(Default::default).retry_unit;
    "protocol.ydb.heartbeat", DURATION, |s| &mut s.protocol.ydb.get_or_insert_with(Default::default).heartbeat;
    "network.latency", "Constant(...), Uniform(...), Exponential(...) or Tail(...)", |s| &mut s.network.latency;
    "network.loss", CHANCE, |s| &mut s.network.loss;
    "network.loss_detected", "true or false", |s| &mut s.network.loss_detected;
    "network.duplicate", CHANCE, |s| &mut s.network.duplicate;
    "network.reorder", CHANCE, |s| &mut s.network.reorder;
    "network.reset_notify", DURATION, |s| &mut s.network.reset_notify;
    "network.random_partitions.count", "an integer", |s| &mut s.network.random_partitions.count;
    "network.permute_ties", "true or false", |s| &mut s.network.permute_ties;
    "tablets.crash", CHANCE, |s| &mut s.tablets.crash;
    "tablets.restart", CHANCE, |s| &mut s.tablets.restart;
    "tablets.kill_on_commit", CHANCE, |s| &mut s.tablets.kill_on_commit;
    "tablets.slow_commit", CHANCE, |s| &mut s.tablets.slow_commit;
    "tablets.allocator_empty", CHANCE, |s| &mut s.tablets.allocator_empty;
    "tablets.read_transient", CHANCE, |s| &mut s.tablets.read_transient;
    "tablets.read_fatal", CHANCE, |s| &mut s.tablets.read_fatal;
    "tablets.commit_latency", "a latency like Uniform(min: \"300us\", max: \"1500us\")", |s| &mut s.tablets.commit_latency;
    "faults.window.from", DURATION, |s| &mut s.faults.window.from;
    "faults.window.until", DURATION, |s| &mut s.faults.window.until;
    "faults.restarts", "a list of triggered restarts, as in a scenario", |s| &mut s.faults.restarts;
    "bugs", "a list of planted bug names", |s| &mut s.bugs;
    "budgets.liveness_bound", DURATION, |s| &mut s.budgets.liveness_bound;
};

/// Knob presets an axis on `protocol` may name: the design choices of
/// DESIGN.md §4.6 switched together, the other protocol fields kept.
pub const PRESETS: &[(&str, &str)] = &[
    ("design-default", "request rounds, a shard timeout, shard-scope retry, resume from LastKey"),
    ("generation-only", "YDB's later code: no request rounds, no shard timeout, stage-scope retry"),
    ("ydb", "the Ydb flavour as YDB ships it: no shard timeout, its own knobs at YDB's values"),
];

fn set_protocol(s: &mut Scenario, _index: usize, text: &str) -> Result<(), String> {
    if let Ok(name) = typed::<String>(text) {
        let design = ProtocolSpec::default();
        let p = &mut s.protocol;
        match name.as_str() {
            "design-default" => {
                p.request_rounds = design.request_rounds;
                p.shard_timeout = design.shard_timeout;
                p.retry_scope = design.retry_scope;
                p.resume_from_last_key = design.resume_from_last_key;
                (p.flavour, p.ydb) = (design.flavour, None);
            }
            "ydb" => {
                // The design's knobs YDB has no use for go back to their
                // defaults (the Ydb flavour refuses them set); the shared
                // ones (batch size, deadlines) stay the base's.
                let keep = (p.batch_rows, p.deadline_overall, p.deadline_stage, p.ydb.take());
                *p = ProtocolSpec { flavour: Flavour::Ydb, shard_timeout: None, ..design };
                (p.batch_rows, p.deadline_overall, p.deadline_stage, p.ydb) = keep;
            }
            "generation-only" => {
                p.request_rounds = false;
                p.shard_timeout = None;
                p.retry_scope = RetryScope::Stage;
            }
            _ => {
                let known: Vec<_> = PRESETS.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                return Err(format!("unknown knob preset \"{name}\"; expected one of {}", known.join(", ")));
            }
        }
        return Ok(());
    }
    s.protocol = typed(text)?;
    Ok(())
}

/// The whole `protocol`: a preset name, or a `(...)` of knobs (the others default).
pub static PROTOCOL: Field = Field {
    path: "protocol",
    expected: "a knob preset (\"design-default\", \"generation-only\", \"ydb\") or (knob: value, ...)",
    set: set_protocol,
};

fn set_fault_profile(s: &mut Scenario, _index: usize, text: &str) -> Result<(), String> {
    super::profiles::set(s, &typed::<String>(text)?)
}

/// A named mix of random faults (`profiles.rs`).
pub static FAULT_PROFILE: Field = Field {
    path: "fault_profile",
    expected: "a fault profile: \"none\", \"detected-loss\", \"silent-loss\", \"restarts\" or \"crashes\"",
    set: set_fault_profile,
};

/// A path split into its pattern (`[i]` for an index) and the index.
fn pattern(path: &str) -> Option<(String, usize)> {
    let Some(open) = path.find('[') else { return Some((path.to_string(), 0)) };
    let close = path[open..].find(']')? + open;
    let index = path[open + 1..close].parse().ok()?;
    if path[close + 1..].contains('[') {
        return None;
    }
    Some((format!("{}[i]{}", &path[..open], &path[close + 1..]), index))
}

/// The field a path names, with its index.
pub fn find(path: &str) -> Option<(&'static Field, usize)> {
    let (pattern, index) = pattern(path)?;
    if pattern == PROTOCOL.path {
        return Some((&PROTOCOL, index));
    }
    if pattern == FAULT_PROFILE.path {
        return Some((&FAULT_PROFILE, index));
    }
    FIELDS.iter().find(|f| f.path == pattern).map(|f| (f, index))
}

/// Every valid path, for hints.
pub fn valid_paths() -> String {
    [PROTOCOL.path, FAULT_PROFILE.path].into_iter().chain(FIELDS.iter().map(|f| f.path)).collect::<Vec<_>>().join(", ")
}

/// Sets `path` to the RON `text` in `scenario`; the error says what was expected.
pub fn set(scenario: &mut Scenario, path: &str, text: &str) -> Result<(), String> {
    let Some((field, index)) = find(path) else {
        return Err(format!("unknown axis path `{path}`; valid paths: {}", valid_paths()));
    };
    (field.set)(scenario, index, text).map_err(|e| format!("`{path}` expects {}; {e}", field.expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Duration, ProgressPersist};

    fn base() -> Scenario {
        crate::scenario::parse("(name: \"x\", workload: (tables: [(name: \"t\", shards: 4)]))", "t.ron".as_ref())
            .unwrap()
    }

    #[test]
    fn paths_set_typed_values() {
        let mut s = base();
        set(&mut s, "workload.tables[0].shards", "64").unwrap();
        set(&mut s, "protocol.max_shards_in_flight", "16").unwrap();
        set(&mut s, "protocol.shard_timeout", "None").unwrap();
        set(&mut s, "protocol.progress_persist", "OnShardDone").unwrap();
        set(&mut s, "network.loss", "\"1%\"").unwrap();
        set(&mut s, "protocol.deadline_overall", "\"30s\"").unwrap();
        assert_eq!(s.workload.tables[0].shards, 64);
        assert_eq!(s.protocol.max_shards_in_flight, Some(16));
        assert_eq!(s.protocol.shard_timeout, None);
        assert_eq!(s.protocol.progress_persist, ProgressPersist::OnShardDone);
        assert_eq!(s.protocol.deadline_overall, Some(Duration(30_000_000)));
        set(&mut s, "protocol", "\"generation-only\"").unwrap();
        assert!(!s.protocol.request_rounds && s.protocol.retry_scope == RetryScope::Stage);
        assert_eq!(s.protocol.max_shards_in_flight, Some(16), "a preset keeps the other knobs");
        set(&mut s, "protocol.flavour", "Ydb").unwrap();
        set(&mut s, "protocol.ydb.tables_in_flight", "2").unwrap();
        assert_eq!(s.protocol.flavour, crate::scenario::Flavour::Ydb);
        assert_eq!(s.protocol.ydb.as_ref().map(|y| y.tables_in_flight), Some(Some(2)));
        set(&mut s, "protocol.deadline_overall", "\"30s\"").unwrap();
        set(&mut s, "protocol", "\"design-default\"").unwrap();
        assert_eq!((s.protocol.flavour, s.protocol.ydb.is_none()), (crate::scenario::Flavour::Design, true));
        set(&mut s, "protocol", "\"ydb\"").unwrap();
        assert_eq!((s.protocol.flavour, s.protocol.shard_timeout), (crate::scenario::Flavour::Ydb, None));
        assert_eq!(s.protocol.deadline_overall, Some(Duration(30_000_000)), "the preset keeps the deadlines");
        let e = set(&mut s, "protocol.flavour", "Yd").unwrap_err();
        assert!(e.contains("Design or Ydb"), "{e}");
    }

    #[test]
    fn bad_paths_and_values_say_what_was_expected() {
        let mut s = base();
        let e = set(&mut s, "protocol.max_in_flight", "3").unwrap_err();
        assert!(e.contains("unknown axis path") && e.contains("protocol.max_shards_in_flight"), "{e}");
        let e = set(&mut s, "workload.tables[3].shards", "3").unwrap_err();
        assert!(e.contains("has 1 entries"), "{e}");
        let e = set(&mut s, "network.loss", "5").unwrap_err();
        assert!(e.contains("`network.loss` expects a probability"), "{e}");
        let e = set(&mut s, "protocol", "\"nope\"").unwrap_err();
        assert!(e.contains("generation-only"), "{e}");
    }
}
