//! Study files (RON, in `studies/`): a base scenario (a file or inline),
//! axes (a path into the scenario and a list or a range of values), a full
//! grid or listed points, seeds per point, and the metrics to report.
//! Read like scenarios: errors carry file:line:column and what was
//! expected; every point's scenario passes the scenario checks.

use std::path::{Path, PathBuf};

use ron::extensions::Extensions;
use ron::value::RawValue;
use serde::Deserialize;

use super::axes;
use super::metrics::{self, Metric};
use crate::scenario::{self, Scenario, ScenarioError};
use crate::sweep::SeedRange;

/// A study may have at most this many points, and this many runs in all:
/// past that a typo (a range with a million steps) would run for days.
pub const MAX_POINTS: usize = 10_000;
pub const MAX_RUNS: u64 = 10_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename = "Study")]
struct StudyFile {
    name: String,
    #[serde(default)]
    question: String,
    base: Base,
    axes: Vec<AxisSpec>,
    #[serde(default)]
    grid: Grid,
    /// Seeds per point: `first_seed..first_seed + seeds`.
    seeds: u64,
    #[serde(default)]
    first_seed: u64,
    /// Metric names; default: all.
    #[serde(default)]
    metrics: Vec<String>,
}

#[derive(Debug, Deserialize)]
enum Base {
    /// A scenario file, relative to the study file.
    File(String),
    Inline(Box<Scenario>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AxisSpec {
    path: String,
    #[serde(default)]
    values: Vec<Box<RawValue>>,
    #[serde(default)]
    range: Option<RangeSpec>,
}

#[derive(Debug, Deserialize)]
enum RangeSpec {
    /// `steps` values evenly spaced from `from` to `to`.
    Linear { from: Box<RawValue>, to: Box<RawValue>, steps: u32 },
    /// `steps` values with a constant ratio from `from` to `to` (both > 0).
    Geometric { from: Box<RawValue>, to: Box<RawValue>, steps: u32 },
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
enum Grid {
    /// Every combination of the axes' values.
    #[default]
    Full,
    /// Point i takes the i-th value of every axis (all list as many).
    Listed,
}

/// One axis: a path and its values as RON text.
#[derive(Clone, Debug)]
pub struct Axis {
    pub path: String,
    /// Short column name (`shards`, `max_shards_in_flight`).
    pub label: String,
    pub values: Vec<String>,
}

/// One point of the grid: a value per axis, and the scenario they make.
#[derive(Clone, Debug)]
pub struct Point {
    /// File-name-safe, e.g. `p03-shards-1000-loss-1pct`.
    pub name: String,
    /// Per axis, the RON text of its value.
    pub values: Vec<String>,
    pub scenario: Scenario,
    /// The scenario as written to `points/NAME.ron` (its digest is the point's identity).
    pub text: String,
}

/// A loaded, checked study.
#[derive(Clone, Debug)]
pub struct Study {
    pub name: String,
    pub question: String,
    pub file: PathBuf,
    /// Digest of the study text and of the base scenario's text.
    pub digest: String,
    pub base_name: String,
    pub axes: Vec<Axis>,
    pub points: Vec<Point>,
    pub seeds: SeedRange,
    pub metrics: Vec<&'static Metric>,
}

fn error(file: &Path, (line, column): (usize, usize), message: String) -> ScenarioError {
    ScenarioError { file: file.to_path_buf(), line, column, message }
}

/// 1-based line and column of the first `needle` at or after byte `from` (1:1 if absent).
fn locate(text: &str, needle: &str, from: usize) -> (usize, usize) {
    position(text, text.get(from..).and_then(|t| t.find(needle)).map_or(0, |o| o + from))
}

/// 1-based line and column of byte `offset`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    (before.matches('\n').count() + 1, before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1)
}

/// Reads and checks a study file, building every point's scenario.
pub fn load(path: &Path) -> Result<Study, ScenarioError> {
    let text = scenario::read_bounded(path)?;
    parse(&text, path)
}

/// Whether `text` looks like a study rather than a scenario (`Study(` or an `axes:` field).
pub fn is_study(text: &str) -> bool {
    let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    code.trim_start().starts_with("Study") || code.contains("axes:")
}

fn syntax(text: &str, file: &Path) -> Result<StudyFile, ScenarioError> {
    let options = ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME);
    let mut de = ron::Deserializer::from_str_with_options(text, &options)
        .map_err(|e| error(file, (e.span.start.line, e.span.start.col), e.code.to_string()))?;
    let study: StudyFile = match serde_path_to_error::deserialize(&mut de) {
        Ok(s) => s,
        Err(e) => {
            let path = e.path().to_string();
            let spanned = de.span_error(e.into_inner());
            let field = if path == "." || path.is_empty() { String::new() } else { format!(" (at `{path}`)") };
            let at = (spanned.span.start.line, spanned.span.start.col);
            return Err(error(file, at, format!("{}{field}", spanned.code)));
        }
    };
    if let Err(e) = de.end() {
        let spanned = de.span_error(e);
        return Err(error(file, (spanned.span.start.line, spanned.span.start.col), spanned.code.to_string()));
    }
    Ok(study)
}

/// Parses study text; `file` names it in errors and anchors a base file's path.
pub fn parse(text: &str, file: &Path) -> Result<Study, ScenarioError> {
    let raw = syntax(text, file)?;
    let at = |needle: &str, message: String| error(file, locate(text, needle, 0), message);
    let (base, base_text) = match raw.base {
        Base::File(rel) => {
            let path = file.parent().unwrap_or(Path::new("")).join(&rel);
            let base_text = scenario::read_bounded(&path)
                .map_err(|e| at(&rel, format!("cannot read the base scenario {}: {}", path.display(), e.message)))?;
            (scenario::parse(&base_text, &path)?, base_text)
        }
        Base::Inline(s) => {
            // Through the scenario checks, located at the base.
            let t = ron::ser::to_string(&*s).expect("a scenario always serializes");
            let checked = scenario::parse(&t, file).map_err(|e| at("Inline", e.message))?;
            (checked, t)
        }
    };
    if raw.seeds == 0 {
        return Err(at("seeds", "expected `seeds` of at least 1 (seeds per point)".into()));
    }
    let seeds = SeedRange { first: raw.first_seed, end: raw.first_seed.saturating_add(raw.seeds) };
    let metrics = metrics::select(&raw.metrics).map_err(|(name, m)| at(&format!("\"{name}\""), m))?;
    if raw.axes.is_empty() {
        return Err(at(
            "axes",
            "expected at least one axis: (path: \"protocol.max_shards_in_flight\", values: [...])".into(),
        ));
    }
    let mut axes = Vec::new();
    for a in &raw.axes {
        let needle = format!("\"{}\"", a.path);
        let here = |m: String| at(&needle, m);
        if axes::find(&a.path).is_none() {
            return Err(here(format!("unknown axis path `{}`; valid paths: {}", a.path, axes::valid_paths())));
        }
        let values = match (&a.range, a.values.is_empty()) {
            (Some(r), true) => range_values(r).map_err(here)?,
            (None, false) => a.values.iter().map(|v| v.get_ron().trim().to_string()).collect(),
            _ => {
                return Err(here(format!(
                    "axis `{}`: expected exactly one of `values: [...]` or `range: ...`",
                    a.path
                )));
            }
        };
        axes.push(Axis { path: a.path.clone(), label: label(&a.path), values });
    }
    disambiguate(&mut axes);
    let combos =
        combinations(&axes, raw.grid).map_err(|m| at(if text.contains("grid") { "grid" } else { "axes" }, m))?;
    if combos.len() > MAX_POINTS || combos.len() as u64 * raw.seeds > MAX_RUNS {
        return Err(at(
            "axes",
            format!(
                "the grid has {} points x {} seeds; a study may have at most {MAX_POINTS} points and {MAX_RUNS} runs",
                combos.len(),
                raw.seeds
            ),
        ));
    }
    let mut points = Vec::new();
    for (index, values) in combos.into_iter().enumerate() {
        points.push(point(&raw.name, index, &base, &axes, values, text, file)?);
    }
    let digest = crate::sweep::digest_text(&format!("{text}\u{0}{base_text}"));
    Ok(Study {
        name: raw.name,
        question: raw.question,
        file: file.to_path_buf(),
        digest,
        base_name: base.name.clone(),
        axes,
        points,
        seeds,
        metrics,
    })
}

/// The scenario of one point, checked as a scenario file would be.
fn point(
    study: &str,
    index: usize,
    base: &Scenario,
    axes: &[Axis],
    values: Vec<String>,
    text: &str,
    file: &Path,
) -> Result<Point, ScenarioError> {
    let mut scenario = base.clone();
    let mut name = format!("p{index:02}");
    for (axis, value) in axes.iter().zip(&values) {
        let start = text.find(&format!("\"{}\"", axis.path)).unwrap_or(0);
        axes::set(&mut scenario, &axis.path, value).map_err(|m| {
            // At the value if it is written out after the path, else at the path.
            let after = text[start..].find(value.as_str()).map_or(start, |o| start + o);
            error(file, position(text, after), m)
        })?;
        name.push_str(&format!("-{}-{}", axis.label, file_safe(value)));
    }
    name.truncate(120);
    let described: Vec<String> = axes.iter().zip(&values).map(|(a, v)| format!("{} = {v}", a.path)).collect();
    scenario.name = format!("{study}-{name}");
    scenario.description = format!("Point {name} of study {study}: {}.", described.join(", "));
    let body =
        ron::ser::to_string_pretty(&scenario, ron::ser::PrettyConfig::default()).expect("a scenario always serializes");
    let point_text = format!("// {}\n{body}\n", scenario.description);
    let checked = scenario::parse(&point_text, Path::new(&format!("points/{name}.ron"))).map_err(|e| {
        error(
            file,
            locate(text, "axes", 0),
            format!("point {name} ({}) is not a valid scenario: {}", described.join(", "), e.message),
        )
    })?;
    // The point runs what its file says (read back, not the value in
    // memory), so `restoresim run points/NAME.ron` is exactly that run even
    // where writing normalizes a value (a probability's fraction, say).
    Ok(Point { name, values, scenario: checked, text: point_text })
}

/// The last path segment without its index: the axis's short name.
fn label(path: &str) -> String {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last).to_string()
}

/// Two axes with one short name get their whole paths, made column-safe.
fn disambiguate(axes: &mut [Axis]) {
    let labels: Vec<String> = axes.iter().map(|a| a.label.clone()).collect();
    for a in axes.iter_mut() {
        if labels.iter().filter(|l| **l == a.label).count() > 1 {
            a.label = a.path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        }
    }
}

/// A value as part of a file name: `"1%"` → `1pct`, `Some("100ms")` → `100ms`.
pub fn file_safe(value: &str) -> String {
    let v = value.replace('%', "pct");
    let mut out = String::new();
    for c in v.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if out.is_empty() { "none".into() } else { out }
}

fn combinations(axes: &[Axis], grid: Grid) -> Result<Vec<Vec<String>>, String> {
    match grid {
        Grid::Listed => {
            let n = axes[0].values.len();
            if let Some(a) = axes.iter().find(|a| a.values.len() != n) {
                return Err(format!(
                    "`grid: Listed` takes the i-th value of every axis: expected every axis to list {n} values, \
                     `{}` lists {}",
                    a.path,
                    a.values.len()
                ));
            }
            Ok((0..n).map(|i| axes.iter().map(|a| a.values[i].clone()).collect()).collect())
        }
        Grid::Full => {
            let total = axes.iter().try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()));
            if total.is_none_or(|t| t > MAX_POINTS) {
                return Err(format!(
                    "the full grid has more than {MAX_POINTS} points; a study may have at most {MAX_POINTS} points"
                ));
            }
            let mut out: Vec<Vec<String>> = vec![vec![]];
            for a in axes {
                out = out
                    .into_iter()
                    .flat_map(|prefix| {
                        a.values.iter().map(move |v| {
                            let mut p = prefix.clone();
                            p.push(v.clone());
                            p
                        })
                    })
                    .collect();
            }
            Ok(out)
        }
    }
}

/// A range end: a number, or a string of a number and a unit (`"1%"`, `"150ms"`).
#[derive(Clone, Debug, PartialEq)]
struct End {
    value: f64,
    /// `None` for a bare number.
    unit: Option<String>,
    integer: bool,
}

fn end(raw: &RawValue) -> Result<End, String> {
    let text = raw.get_ron().trim();
    if let Ok(s) = axes::typed::<String>(text) {
        let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let value =
            number.parse::<f64>().map_err(|_| format!("a range end like 10, \"1%\" or \"150ms\"; got {text}"))?;
        return Ok(End { value, unit: Some(unit.trim().to_string()), integer: false });
    }
    let value = text.parse::<f64>().map_err(|_| format!("a range end like 10, \"1%\" or \"150ms\"; got {text}"))?;
    Ok(End { value, unit: None, integer: !text.contains('.') && !text.contains('e') })
}

fn range_values(r: &RangeSpec) -> Result<Vec<String>, String> {
    let (from, to, steps, geometric) = match r {
        RangeSpec::Linear { from, to, steps } => (end(from)?, end(to)?, *steps, false),
        RangeSpec::Geometric { from, to, steps } => (end(from)?, end(to)?, *steps, true),
    };
    if from.unit != to.unit {
        return Err(format!("a range's ends need one unit; got {:?} and {:?}", from.unit, to.unit));
    }
    if steps == 0 || steps as usize > MAX_POINTS {
        return Err(format!("expected a range of 1..={MAX_POINTS} steps"));
    }
    if geometric && (from.value <= 0.0 || to.value <= 0.0) {
        return Err("a geometric range needs both ends above 0".into());
    }
    let mut values: Vec<String> = Vec::new();
    for k in 0..steps {
        let f = if steps == 1 { 0.0 } else { f64::from(k) / f64::from(steps - 1) };
        let x = if geometric {
            from.value * (to.value / from.value).powf(f)
        } else {
            from.value + (to.value - from.value) * f
        };
        let text = match &from.unit {
            None if from.integer && to.integer => format!("{}", x.round() as i64),
            None => trim_number(x, 6),
            // Microseconds hold no fraction; percent and ms hold three decimals.
            Some(u) if u == "us" => format!("\"{}{u}\"", x.round() as i64),
            Some(u) => format!("\"{}{u}\"", trim_number(x, 3)),
        };
        if values.last() != Some(&text) {
            values.push(text);
        }
    }
    Ok(values)
}

fn trim_number(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s == "-0" { "0".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study(body: &str) -> Result<Study, ScenarioError> {
        parse(
            &format!("Study(\n  name: \"s\",\n  base: Inline((name: \"b\")),\n  seeds: 3,\n{body}\n)"),
            Path::new("s.ron"),
        )
    }

    #[test]
    fn a_full_grid_crosses_the_axes() {
        let s = study("  axes: [(path: \"protocol.max_shards_in_flight\", values: [1, 4]), (path: \"network.loss\", range: Linear(from: \"0%\", to: \"2%\", steps: 3))],").unwrap();
        assert_eq!(s.points.len(), 6);
        assert_eq!(s.axes[1].values, ["\"0%\"", "\"1%\"", "\"2%\""]);
        assert_eq!(s.points[5].name, "p05-max_shards_in_flight-4-loss-2pct");
        assert_eq!(s.points[5].scenario.protocol.max_shards_in_flight, Some(4));
        assert_eq!(s.seeds, SeedRange { first: 0, end: 3 });
    }

    #[test]
    fn geometric_ranges_and_listed_points() {
        let s = study("  grid: Listed,\n  axes: [(path: \"workload.tables[0].shards\", range: Geometric(from: 10, to: 1000, steps: 3)), (path: \"protocol\", values: [\"design-default\", \"generation-only\", \"design-default\"])],").unwrap();
        assert_eq!(s.axes[0].values, ["10", "100", "1000"]);
        assert_eq!(s.points.len(), 3);
        assert!(!s.points[1].scenario.protocol.request_rounds);
        assert_eq!(s.points[2].scenario.workload.tables[0].shards, 1000);
    }

    #[test]
    fn errors_name_the_path_the_place_and_what_was_expected() {
        let e = study("  axes: [(path: \"protocol.max_in_flight\", values: [1])],").unwrap_err();
        assert_eq!((e.line, e.column), (5, 17), "{e}");
        assert!(e.message.contains("valid paths") && e.message.contains("protocol.max_shards_in_flight"), "{e}");
        let e = study("  axes: [(path: \"network.loss\", values: [\"1%\", 7])],").unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("`network.loss` expects a probability"), "{e}");
        let e = study("  axes: [(path: \"protocol.batch_rows\", values: [0])],").unwrap_err();
        assert!(e.message.contains("is not a valid scenario") && e.message.contains("batch_rows` of 1 to"), "{e}");
        let e = study("  axes: [(path: \"workload.rows\", range: Linear(from: 1, to: 100000, steps: 10000)), (path: \"workload.incrementals\", values: [1, 2])],").unwrap_err();
        assert!(e.message.contains("at most 10000 points"), "{e}");
        let e = study("  metrics: [\"nope\"],\n  axes: [(path: \"workload.rows\", values: [1])],").unwrap_err();
        assert!(e.message.contains("completion_time_us"), "{e}");
        let e = study("  axes: [(path: \"workload.rows\", values: [1])],\n  shards: 3,").unwrap_err();
        assert_eq!(e.line, 6, "{e}");
    }

    #[test]
    fn every_point_file_reads_back_as_its_scenario() {
        let s = study("  axes: [(path: \"protocol.shard_timeout\", values: [None, \"50ms\"])],").unwrap();
        for p in &s.points {
            assert_eq!(scenario::parse(&p.text, Path::new("p.ron")).unwrap(), p.scenario);
        }
    }
}
