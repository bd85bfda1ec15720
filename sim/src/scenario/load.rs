//! Reading a scenario file: RON syntax and types first (errors carry
//! file:line:column and the field path), then the checks a type cannot
//! express (a planted bug that does not exist, a shard out of range),
//! located at the offending text.

use std::fmt;
use std::path::{Path, PathBuf};

use ron::extensions::Extensions;

use super::{ActorRef, Scenario, TabletRef, Trigger};

/// A scenario file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    pub file: PathBuf,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)
        }
    }
}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        message: format!("cannot read the scenario: {e}"),
    })?;
    parse(&text, path)
}

/// Parses scenario text; `file` names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    let options = ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME);
    let at =
        |line: usize, column: usize, message: String| ScenarioError { file: file.to_path_buf(), line, column, message };
    let mut de = ron::Deserializer::from_str_with_options(text, &options)
        .map_err(|e| at(e.span.start.line, e.span.start.col, e.code.to_string()))?;
    let scenario: Scenario = match serde_path_to_error::deserialize(&mut de) {
        Ok(s) => s,
        Err(e) => {
            let path = e.path().to_string();
            let spanned = de.span_error(e.into_inner());
            let field = if path == "." || path.is_empty() { String::new() } else { format!(" (at `{path}`)") };
            return Err(at(spanned.span.start.line, spanned.span.start.col, format!("{}{field}", spanned.code)));
        }
    };
    if let Err(e) = de.end() {
        let spanned = de.span_error(e);
        return Err(at(spanned.span.start.line, spanned.span.start.col, spanned.code.to_string()));
    }
    check(&scenario).map_err(|(needle, message)| {
        let (line, column) = locate(text, &needle);
        at(line, column, message)
    })?;
    Ok(scenario)
}

/// 1-based line and column of the first occurrence of `needle` (1:1 if absent).
fn locate(text: &str, needle: &str) -> (usize, usize) {
    let Some(offset) = text.find(needle) else { return (1, 1) };
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Semantic checks. On failure: text to locate, and what was expected.
fn check(s: &Scenario) -> Result<(), (String, String)> {
    let w = &s.workload;
    if w.tables.is_empty() {
        return Err(("tables".into(), "expected at least one table in `workload.tables`".into()));
    }
    for t in &w.tables {
        if t.shards == 0 {
            return Err((format!("\"{}\"", t.name), format!("table \"{}\" needs at least one shard", t.name)));
        }
    }
    if w.changes.min > w.changes.max {
        return Err(("changes".into(), "expected `changes.min <= changes.max`".into()));
    }
    if w.key_space == 0 || w.rows > w.key_space {
        return Err(("key_space".into(), "expected `key_space > 0` and `rows <= key_space`".into()));
    }
    for bug in &s.bugs {
        if restoresim_model::knobs::Bug::from_name(bug).is_none() {
            let known: Vec<_> = restoresim_model::knobs::Bug::ALL.iter().map(|b| b.name()).collect();
            return Err((format!("\"{bug}\""), format!("unknown bug \"{bug}\"; expected one of {}", known.join(", "))));
        }
    }
    if s.protocol.batch_rows == 0 {
        return Err(("batch_rows".into(), "expected `batch_rows >= 1`".into()));
    }
    // Zero here would let an actor re-arm itself at the same instant forever:
    // virtual time would stand still until the event budget ran out.
    for (field, value) in [
        ("poll_interval", s.client.poll_interval),
        ("request_timeout", s.client.request_timeout),
        ("initial", s.protocol.backoff.initial),
        ("reset_notify", s.network.reset_notify),
    ] {
        if value.us() == 0 {
            return Err((field.into(), format!("expected `{field}` of at least \"1us\"")));
        }
    }
    if s.protocol.backoff.max < s.protocol.backoff.initial {
        return Err(("backoff".into(), "expected `backoff.max >= backoff.initial`".into()));
    }
    if s.protocol.max_shards_in_flight == Some(0) {
        return Err(("max_shards_in_flight".into(), "expected `max_shards_in_flight >= 1` (or None)".into()));
    }
    let total_shards: u32 = w.tables.iter().map(|t| t.shards).sum();
    for r in &s.faults.restarts {
        let shard = match (r.tablet, r.when) {
            (TabletRef::DataShard(n), _) | (_, Trigger::AfterBatches { shard: n, .. }) => Some(n),
            _ => None,
        };
        if let Some(n) = shard.filter(|n| *n >= total_shards) {
            return Err((
                format!("DataShard({n})"),
                format!("DataShard {n} does not exist: the workload has {total_shards} shards (0..{total_shards})"),
            ));
        }
        if let Trigger::OpEnters { incr, .. } = r.when
            && (incr == 0 || incr > w.incrementals)
        {
            return Err(("OpEnters".into(), format!("incremental {incr} does not exist (1..={})", w.incrementals)));
        }
    }
    check_faults(s, total_shards)?;
    super::tape::check(s.faults.tape.as_deref().unwrap_or_default(), total_shards)
}

/// Bounds that keep a typo from allocating or scheduling without end.
const MAX_PARTITIONS: u32 = 1_000;

/// The fault plan: triggers, partitions, links, swarm ranges, coverage goals.
fn check_faults(s: &Scenario, total_shards: u32) -> Result<(), (String, String)> {
    let window = s.faults.window;
    if window.from > window.until {
        return Err(("window".into(), "expected the fault window's `from <= until`".into()));
    }
    let shard_exists = |a: &ActorRef| match a {
        ActorRef::DataShard(n) if *n >= total_shards => Err((
            format!("DataShard({n})"),
            format!("DataShard {n} does not exist: the workload has {total_shards} shards (0..{total_shards})"),
        )),
        _ => Ok(()),
    };
    for r in &s.faults.restarts {
        match r.when {
            Trigger::AtEvent(0) => {
                return Err(("AtEvent".into(), "events are counted from 1: expected AtEvent(k >= 1)".into()));
            }
            Trigger::AtCommit(0) => {
                return Err(("AtCommit".into(), "commits are counted from 1: expected AtCommit(k >= 1)".into()));
            }
            Trigger::At(t) if t < window.from || t >= window.until => {
                return Err((
                    "At(".into(),
                    format!(
                        "a restart at {}us is outside the fault window [{}us, {}us): faults happen only inside it",
                        t.us(),
                        window.from.us(),
                        window.until.us()
                    ),
                ));
            }
            _ => {}
        }
    }
    for p in &s.faults.partitions {
        if p.nodes.is_empty() {
            return Err(("nodes".into(), "a partition needs at least one node in `nodes`".into()));
        }
        p.nodes.iter().try_for_each(shard_exists)?;
        if p.from >= p.until || p.until > window.until {
            return Err((
                "partitions".into(),
                "expected each partition's `from < until`, with `until` inside the fault window".into(),
            ));
        }
    }
    for l in &s.network.links {
        l.from.iter().chain(l.to.iter()).try_for_each(shard_exists)?;
    }
    let random = s.network.random_partitions;
    if random.length.min > random.length.max {
        return Err(("length".into(), "expected `random_partitions.length.min <= max`".into()));
    }
    if random.count > MAX_PARTITIONS
        || s.faults.swarm.as_ref().is_some_and(|w| w.partitions.count.max > u64::from(MAX_PARTITIONS))
    {
        return Err(("count".into(), format!("expected at most {MAX_PARTITIONS} random partitions")));
    }
    if let Some(swarm) = &s.faults.swarm {
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
                return Err((name.into(), format!("expected swarm family `{name}` to have `min <= max`")));
            }
        }
        if swarm.partitions.count.min > swarm.partitions.count.max {
            return Err(("count".into(), "expected swarm `partitions.count.min <= max`".into()));
        }
    }
    for goal in &s.coverage.require {
        if !crate::faults::coverage::is_goal(goal) {
            let known: Vec<_> = crate::faults::coverage::GOALS.iter().map(|(g, _)| *g).collect();
            return Err((
                format!("\"{goal}\""),
                format!("unknown coverage goal \"{goal}\"; expected one of {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ScenarioError {
        parse(text, Path::new("t.ron")).expect_err("must not parse")
    }

    #[test]
    fn minimal_scenario_parses_with_defaults() {
        let s = parse("(name: \"x\")", Path::new("t.ron")).expect("parses");
        assert_eq!(s.name, "x");
        assert_eq!(s.protocol.batch_rows, 100);
    }

    #[test]
    fn unknown_field_names_line_and_column() {
        let e = err("(\n  name: \"x\",\n  shards: 3,\n)");
        assert_eq!((e.line, e.column), (3, 3), "{e}");
        assert!(e.message.contains("shards"), "{e}");
    }

    #[test]
    fn bad_duration_names_its_field() {
        let e = err("(name: \"x\", client: (poll_interval: \"10 parsecs\"))");
        assert!(e.message.contains("duration") && e.message.contains("client.poll_interval"), "{e}");
        assert_eq!(e.line, 1);
    }

    #[test]
    fn unknown_bug_is_located() {
        let e = err("(\nname: \"x\",\nbugs: [\"Nope\"],\n)");
        assert_eq!((e.line, e.column), (3, 8), "{e}");
        assert!(e.message.contains("AckBeforePersist"), "{e}");
    }

    #[test]
    fn fault_plan_errors_are_located() {
        let cases = [
            ("faults: (restarts: [(tablet: SchemeShard, when: AtEvent(0))])", "AtEvent", "counted from 1"),
            (
                "faults: (partitions: [(nodes: [DataShard(9)], from: \"1ms\", until: \"2ms\")])",
                "DataShard(9)",
                "does not exist",
            ),
            ("faults: (partitions: [(nodes: [Client], from: \"2ms\", until: \"1ms\")])", "partitions", "from < until"),
            ("faults: (swarm: (loss: (on: \"50%\", min: \"5%\", max: \"1%\")))", "loss", "min <= max"),
            ("coverage: (require: [\"nope\"])", "\"nope\"", "restart_mid_applying"),
            ("faults: (window: (until: \"1s\"), restarts: [(tablet: TxAllocator, when: At(\"2s\"))])", "At(", "window"),
        ];
        for (field, needle, message) in cases {
            let text = format!("(\nname: \"x\",\n{field},\n)");
            let e = err(&text);
            assert_eq!(e.line, 3, "{field}: {e}");
            assert_eq!(e.column, text.lines().nth(2).unwrap().find(needle).unwrap() + 1, "{field}: {e}");
            assert!(e.message.contains(message), "{field}: {e}");
        }
        let ok = "(name: \"x\", faults: (swarm: (), restarts: [(tablet: DataShard(1), when: AtCommit(3), \
                  kind: KillOnCommit)]), coverage: (require: [\"kill_on_commit\"]))";
        let s = parse(ok, Path::new("t.ron")).expect("parses");
        assert!(s.faults.swarm.is_some());
    }

    #[test]
    fn intervals_that_would_stop_time_are_refused() {
        let e = err("(\nname: \"x\",\nclient: (poll_interval: \"0ms\"),\n)");
        assert_eq!((e.line, e.column), (3, 10), "{e}");
        assert!(e.message.contains("poll_interval"), "{e}");
        let e = err("(name: \"x\", protocol: (backoff: (initial: \"10ms\", max: \"1ms\")))");
        assert!(e.message.contains("backoff.max"), "{e}");
    }

    #[test]
    fn syntax_error_is_located() {
        let e = err("(name: \"x\",, )");
        assert_eq!(e.line, 1);
        assert!(e.to_string().starts_with("t.ron:1:"), "{e}");
    }
}
