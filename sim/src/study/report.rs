//! A study's outputs, from every point's results sorted by seed:
//! `study.csv` (one row per run), `study.json` (statistics per point and
//! metric, the best point per metric, timing apart), a plot per metric and
//! `REPORT.md`. Nothing here reads the wall clock but `timing`, so a
//! resumed or a sharded-then-merged study writes the same tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use restoresim_reports::{PointStats, StudyPlot, StudyPoint, StudySeries};
use serde::{Deserialize, Serialize};

use super::metrics::{self, Metric};
use super::stats::{Stats, rate_stats, stats};
use super::{PointResults, Study, StudySpec, point_file};
use crate::scenario::units::parse_duration;
use crate::sweep::{SeedResult, SweepError, write_json};

pub const CSV_FILE: &str = "study.csv";
pub const JSON_FILE: &str = "study.json";
pub const REPORT_FILE: &str = "REPORT.md";
pub const PLOTS_DIR: &str = "plots";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    pub study: String,
    pub question: String,
    pub base: String,
    pub seeds: String,
    pub shard: Option<String>,
    pub axes: Vec<AxisReport>,
    pub metrics: Vec<MetricInfo>,
    pub points: Vec<PointReport>,
    /// Per metric, the point with the best mean (lowest, for every metric here).
    pub best: BTreeMap<String, Best>,
    pub exit_code: u8,
    /// Wall-clock numbers, apart: they differ from run to run.
    pub timing: Timing,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AxisReport {
    pub path: String,
    pub label: String,
    pub values: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricInfo {
    pub name: String,
    pub unit: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointReport {
    pub name: String,
    /// Relative to the study folder: `restoresim run points/NAME.ron --seed N` re-runs one run.
    pub scenario_file: String,
    /// Axis path → value.
    pub values: BTreeMap<String, String>,
    pub runs: u64,
    /// Runs by outcome (`pass`, `failed_by_deadline`, `failed`, `liveness_violation`, ...).
    pub outcomes: BTreeMap<String, u64>,
    /// Metric → statistics over the runs that ended (absent when none did).
    pub metrics: BTreeMap<String, Stats>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    pub point: String,
    pub mean: f64,
    pub ci95: [f64; 2],
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub wall_ms: u64,
    pub runs: u64,
    pub runs_per_sec: f64,
    /// Per point, the wall time of its runs (this session's, when resumed).
    pub points: BTreeMap<String, u64>,
}

/// An axis value for people: `"1%"` → `1%`, `Some(16)` → `16`.
pub fn display(value: &str) -> String {
    let v = value.trim();
    let v = v.strip_prefix("Some(").and_then(|x| x.strip_suffix(')')).unwrap_or(v).trim();
    v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v).to_string()
}

/// An axis value as a number with its unit: `16`, `"1%"` → (1, "pct"), `"150ms"` → (150, "ms").
pub fn numeric(value: &str) -> Option<(f64, &'static str)> {
    let v = display(value);
    if let Ok(x) = v.parse::<f64>() {
        return Some((x, ""));
    }
    if let Some(p) = v.strip_suffix('%') {
        return p.trim().parse::<f64>().ok().map(|x| (x, "pct"));
    }
    parse_duration(&v).ok().map(|d| (d.us() as f64 / 1000.0, "ms"))
}

/// An axis's values as numbers with one unit, when they all are.
fn numeric_axis(values: &[String]) -> Option<(Vec<f64>, &'static str)> {
    let parsed: Option<Vec<(f64, &str)>> = values.iter().map(|v| numeric(v)).collect();
    let parsed = parsed?;
    let unit = parsed.first()?.1;
    parsed.iter().all(|(_, u)| *u == unit).then(|| (parsed.iter().map(|(x, _)| *x).collect(), unit))
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// Writes every output of the study into `dir`.
pub fn write(dir: &Path, study: &Study, spec: &StudySpec, points: &[PointResults]) -> Result<StudyReport, SweepError> {
    write_csv(&dir.join(CSV_FILE), study, points)?;
    let report = summarize(study, spec, points);
    write_json(&dir.join(JSON_FILE), &report)?;
    let plots = dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&plots).map_err(SweepError::io(&plots))?;
    for m in &study.metrics {
        let plot = plot(study, &report, m);
        let (png, svg) = (plots.join(format!("{}.png", m.name)), plots.join(format!("{}.svg", m.name)));
        restoresim_reports::write_study_plot(&plot, &png, &svg)?;
    }
    if report.timing.wall_ms > 0 {
        let wall = timing_plot(study, &report);
        restoresim_reports::write_study_plot(
            &wall,
            &plots.join("wall_ms_per_run.png"),
            &plots.join("wall_ms_per_run.svg"),
        )?;
    }
    let md = dir.join(REPORT_FILE);
    std::fs::write(&md, markdown(study, &report)).map_err(SweepError::io(&md))?;
    Ok(report)
}

/// The column of each axis: its label, with the unit when numeric.
fn axis_columns(study: &Study) -> Vec<(String, bool)> {
    study
        .axes
        .iter()
        .map(|a| match numeric_axis(&a.values) {
            Some((_, "")) => (a.label.clone(), true),
            Some((_, unit)) => (format!("{}_{unit}", a.label), true),
            None => (a.label.clone(), false),
        })
        .collect()
}

fn write_csv(path: &Path, study: &Study, points: &[PointResults]) -> Result<(), SweepError> {
    let columns = axis_columns(study);
    let mut text = String::from("point");
    for (name, _) in &columns {
        text.push(',');
        text.push_str(&csv_field(name));
    }
    text.push_str(",seed,outcome,invariant");
    for m in &study.metrics {
        text.push(',');
        text.push_str(m.name);
    }
    text.push('\n');
    for (point, results) in study.points.iter().zip(points) {
        let mut prefix = csv_field(&point.name);
        for (value, (_, is_numeric)) in point.values.iter().zip(&columns) {
            prefix.push(',');
            let cell =
                if *is_numeric { numeric(value).map_or(String::new(), |(x, _)| number(x)) } else { display(value) };
            prefix.push_str(&csv_field(&cell));
        }
        for r in &results.results {
            let _ =
                write!(text, "{prefix},{},{},{}", r.seed, metrics::outcome(r), r.invariant.as_deref().unwrap_or(""));
            for m in &study.metrics {
                text.push(',');
                if let Some(v) = m.of(r) {
                    text.push_str(&number(v));
                }
            }
            text.push('\n');
        }
    }
    std::fs::write(path, text).map_err(SweepError::io(path))
}

fn point_report(study: &Study, point: &super::file::Point, results: &[SeedResult]) -> PointReport {
    let mut outcomes = BTreeMap::new();
    for r in results {
        *outcomes.entry(metrics::outcome(r).to_string()).or_insert(0) += 1;
    }
    let ended: Vec<&SeedResult> = results.iter().filter(|r| metrics::ended(r)).collect();
    let mut stats_by = BTreeMap::new();
    for m in &study.metrics {
        let values: Vec<f64> = ended.iter().filter_map(|r| m.of(r)).collect();
        if let Some(s) = if m.rate { rate_stats(&values) } else { stats(&values) } {
            stats_by.insert(m.name.to_string(), s);
        }
    }
    PointReport {
        name: point.name.clone(),
        scenario_file: point_file(&point.name),
        values: study.axes.iter().zip(&point.values).map(|(a, v)| (a.path.clone(), v.clone())).collect(),
        runs: results.len() as u64,
        outcomes,
        metrics: stats_by,
    }
}

pub fn summarize(study: &Study, spec: &StudySpec, points: &[PointResults]) -> StudyReport {
    let reports: Vec<PointReport> =
        study.points.iter().zip(points).map(|(p, r)| point_report(study, p, &r.results)).collect();
    let mut best = BTreeMap::new();
    for m in &study.metrics {
        let candidates = reports.iter().filter_map(|p| p.metrics.get(m.name).map(|s| (p, s)));
        let pick = if m.lower_is_better {
            candidates.min_by(|a, b| a.1.mean.total_cmp(&b.1.mean))
        } else {
            candidates.max_by(|a, b| a.1.mean.total_cmp(&b.1.mean))
        };
        if let Some((p, s)) = pick {
            best.insert(m.name.to_string(), Best { point: p.name.clone(), mean: s.mean, ci95: s.ci95 });
        }
    }
    let wall_ms: u64 = points.iter().map(|p| p.wall_ms).sum();
    let runs: u64 = points.iter().map(|p| p.results.len() as u64).sum();
    StudyReport {
        study: study.name.clone(),
        question: study.question.clone(),
        base: study.base_name.clone(),
        seeds: study.seeds.to_string(),
        shard: spec.shard.map(|s| s.to_string()),
        axes: study
            .axes
            .iter()
            .map(|a| AxisReport { path: a.path.clone(), label: a.label.clone(), values: a.values.clone() })
            .collect(),
        metrics: study
            .metrics
            .iter()
            .map(|m| MetricInfo { name: m.name.into(), unit: m.unit.into(), description: m.description.into() })
            .collect(),
        points: reports,
        best,
        exit_code: super::exit_code(points),
        timing: Timing {
            wall_ms,
            runs,
            runs_per_sec: if wall_ms == 0 { 0.0 } else { runs as f64 * 1000.0 / wall_ms as f64 },
            points: points.iter().map(|p| (p.name.clone(), p.wall_ms)).collect(),
        },
    }
}

/// Wall time per run against the first axis: one number per point, this
/// session's wall time of the point over its runs (at `--jobs N`, a run's share).
fn timing_plot(study: &Study, report: &StudyReport) -> StudyPlot {
    let per_run = |pr: &PointReport| {
        let wall = report.timing.points.get(&pr.name).copied().unwrap_or(0) as f64;
        let per = if pr.runs == 0 { 0.0 } else { wall / pr.runs as f64 };
        Some(PointStats { p10: per, p50: per, p90: per, mean: per, ci_low: per, ci_high: per })
    };
    let mut plot = plot_of(study, report, &per_run);
    plot.mean_line = true;
    plot.note = "one wall-clock number per point: it depends on this machine and --jobs, not on the seeds".into();
    plot.title = format!("{}: wall time per run vs {} (this machine)", study.name, study.axes[0].label);
    plot.y_label = "wall ms per run (the point's wall time / its runs)".into();
    plot
}

/// The plot of one metric: x = the first axis; a series per combination of the others.
fn plot(study: &Study, report: &StudyReport, m: &Metric) -> StudyPlot {
    let stats_of = |pr: &PointReport| {
        pr.metrics.get(m.name).map(|s| PointStats {
            p10: s.p10,
            p50: s.p50,
            p90: s.p90,
            mean: s.mean,
            ci_low: s.ci95[0],
            ci_high: s.ci95[1],
        })
    };
    let mut plot = plot_of(study, report, &stats_of);
    plot.title = format!("{}: {} vs {}", study.name, m.name, study.axes[0].label);
    plot.y_label = format!("{} ({})", m.name, m.unit);
    plot.mean_line = m.rate;
    plot
}

/// Points grouped into series, axes and scales chosen; the caller names the y axis.
fn plot_of(study: &Study, report: &StudyReport, stats_of: &dyn Fn(&PointReport) -> Option<PointStats>) -> StudyPlot {
    let first = &study.axes[0];
    let numeric_x = numeric_axis(&first.values);
    let x_of = |value: &str| -> f64 {
        match &numeric_x {
            Some(_) => numeric(value).map_or(0.0, |(x, _)| x),
            None => first.values.iter().position(|v| v == value).unwrap_or(0) as f64,
        }
    };
    let mut series: Vec<StudySeries> = Vec::new();
    for (point, pr) in study.points.iter().zip(&report.points) {
        let rest: Vec<String> = study.axes[1..]
            .iter()
            .zip(&point.values[1..])
            .map(|(a, v)| format!("{} = {}", a.label, display(v)))
            .collect();
        let label = rest.join(", ");
        let stats = stats_of(pr);
        let failures = pr.runs - pr.outcomes.get("pass").copied().unwrap_or(0);
        let p = StudyPoint { x: x_of(&point.values[0]), stats, runs: pr.runs, failures };
        match series.iter_mut().find(|s| s.label == label) {
            Some(s) => s.points.push(p),
            None => series.push(StudySeries { label, points: vec![p] }),
        }
    }
    let spans = |values: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = values.collect();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        lo > 0.0 && hi / lo >= 100.0
    };
    let x_log = numeric_x.as_ref().is_some_and(|(xs, _)| spans(&mut xs.iter().copied()));
    let y_log = spans(&mut series.iter().flat_map(|s| &s.points).filter_map(|p| p.stats).flat_map(|s| [s.p10, s.p90]));
    let unit = match numeric_x.as_ref().map(|(_, u)| *u) {
        Some("pct") => " (%)",
        Some("ms") => " (ms)",
        _ => "",
    };
    StudyPlot {
        title: String::new(),
        x_label: format!("{}{unit}", first.path),
        y_label: String::new(),
        x_log,
        y_log,
        x_ticks: numeric_x.is_none().then(|| first.values.iter().map(|v| display(v)).collect()),
        mean_line: false,
        note: String::new(),
        series,
    }
}

fn fmt(x: f64) -> String {
    if x.abs() >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn describe_point(study: &Study, report: &StudyReport, name: &str) -> String {
    let Some(p) = report.points.iter().find(|p| p.name == name) else { return name.into() };
    let values: Vec<String> =
        study.axes.iter().map(|a| format!("{} = {}", a.label, display(&p.values[&a.path]))).collect();
    format!("`{name}` ({})", values.join(", "))
}

fn markdown(study: &Study, report: &StudyReport) -> String {
    let mut md = format!("# Study `{}`\n\n", study.name);
    if !study.question.is_empty() {
        let _ = writeln!(md, "*{}*\n", study.question);
    }
    let axes: Vec<String> = study
        .axes
        .iter()
        .map(|a| format!("`{}` ∈ {{{}}}", a.path, a.values.iter().map(|v| display(v)).collect::<Vec<_>>().join(", ")))
        .collect();
    let runs: u64 = report.points.iter().map(|p| p.runs).sum();
    let _ = writeln!(
        md,
        "Base scenario `{}`; axes {}; {} points × seeds {}{} = {runs} runs. Each run is \
         `restoresim run points/NAME.ron --seed N` in this folder. Statistics are over the runs that ended \
         (restores Done or Failed by the protocol); other failures are counted, and drawn below each plot.\n",
        report.base,
        axes.join(", "),
        report.points.len(),
        report.seeds,
        report.shard.as_ref().map_or(String::new(), |s| format!(" (shard {s})")),
    );
    md.push_str("## Outcomes\n\n| point |");
    for a in &study.axes {
        let _ = write!(md, " {} |", a.label);
    }
    md.push_str(" runs |");
    for o in metrics::OUTCOMES {
        let _ = write!(md, " {o} |");
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(study.axes.len() + 1 + metrics::OUTCOMES.len()));
    md.push('\n');
    for p in &report.points {
        let _ = write!(md, "| `{}` |", p.name);
        for a in &study.axes {
            let _ = write!(md, " {} |", display(&p.values[&a.path]));
        }
        let _ = write!(md, " {} |", p.runs);
        for o in metrics::OUTCOMES {
            let _ = write!(md, " {} |", p.outcomes.get(o).copied().unwrap_or(0));
        }
        md.push('\n');
    }
    for m in &study.metrics {
        let _ = writeln!(md, "\n## `{}` — {} ({})\n", m.name, m.description, m.unit);
        let _ = writeln!(md, "![{}]({}/{}.png)\n", m.name, PLOTS_DIR, m.name);
        let mut ranked: Vec<(&PointReport, &Stats)> =
            report.points.iter().filter_map(|p| p.metrics.get(m.name).map(|s| (p, s))).collect();
        ranked.sort_by(|a, b| a.1.mean.total_cmp(&b.1.mean));
        if !m.lower_is_better {
            ranked.reverse();
        }
        let Some((best, s)) = ranked.first() else {
            md.push_str("No run ended at any point: no statistics.\n");
            continue;
        };
        let _ = writeln!(
            md,
            "Best ({} mean): {}: mean {} (95 % CI {} – {}), p50 {}, p90 {}, n = {}.",
            if m.lower_is_better { "lowest" } else { "highest" },
            describe_point(study, report, &best.name),
            fmt(s.mean),
            fmt(s.ci95[0]),
            fmt(s.ci95[1]),
            fmt(s.p50),
            fmt(s.p90),
            s.n
        );
        if let Some((worst, w)) = ranked.last().filter(|(p, _)| p.name != best.name) {
            let _ = writeln!(
                md,
                "Worst: {}: mean {} (95 % CI {} – {}), p50 {}, p90 {}.",
                describe_point(study, report, &worst.name),
                fmt(w.mean),
                fmt(w.ci95[0]),
                fmt(w.ci95[1]),
                fmt(w.p50),
                fmt(w.p90)
            );
        }
        if let Some((second, t)) = ranked.get(1) {
            let overlap = t.ci95[0] <= s.ci95[1] && s.ci95[0] <= t.ci95[1];
            if overlap {
                let _ = writeln!(
                    md,
                    "The runner-up {} (mean {}) has an overlapping confidence interval: at these seeds the two are \
                     not told apart.",
                    describe_point(study, report, &second.name),
                    fmt(t.mean)
                );
            }
        }
    }
    timing_section(&mut md, report);
    md
}

/// Wall time per point, apart from the results: it depends on the machine
/// and `--jobs`, not on the seeds.
fn timing_section(md: &mut String, report: &StudyReport) {
    md.push_str("\n## Wall time (this machine; not part of the results)\n\n![wall time](plots/wall_ms_per_run.png)\n\n| point | runs | wall ms | wall ms / runs |\n|---|---|---|---|\n");
    for p in &report.points {
        let wall = report.timing.points.get(&p.name).copied().unwrap_or(0);
        let per = if p.runs == 0 { 0.0 } else { wall as f64 / p.runs as f64 };
        let _ = writeln!(md, "| `{}` | {} | {wall} | {per:.1} |", p.name, p.runs);
    }
    let _ = writeln!(
        md,
        "\n{} runs in {:.1} s of wall time ({:.1} runs/s).",
        report.timing.runs,
        report.timing.wall_ms as f64 / 1000.0,
        report.timing.runs_per_sec
    );
}
