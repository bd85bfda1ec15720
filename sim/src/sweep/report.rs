//! A sweep's `report.html` (`restoresim_reports::sweep_report`), assembled
//! from its summary and the capsules on disk: each listed failure gets its
//! story (`story.txt` where the capsule has one, else the first lines of
//! `log.txt`) and links to its capsule's timeline, plot and minimal capsule.

use std::path::Path;

use restoresim_reports::sweep_report::{FailureRow, SweepReport};

use super::summary::SweepSummary;
use super::{SweepError, capsule_rel};

pub const REPORT_FILE: &str = "report.html";
/// Lines of `log.txt` shown when a capsule has no `story.txt`.
const LOG_LINES: usize = 12;

/// Writes `dir/report.html` for `s`; the sweep plot (`sweep.svg`) must be
/// written already: it is inlined.
pub fn write(dir: &Path, s: &SweepSummary) -> Result<(), SweepError> {
    let verdict = match s.exit_code {
        0 => "pass".to_string(),
        4 => "nondeterminism".to_string(),
        _ if s.failures_total == 0 => "required coverage not reached".to_string(),
        _ => format!("{} failing seeds", s.failures_total),
    };
    let d = &s.determinism;
    let t = &s.timing;
    let mut facts = vec![
        ("scenario".to_string(), s.scenario_file.clone()),
        ("seeds".into(), format!("{} ({} run)", s.seeds, s.seeds_done)),
    ];
    if let Some(shard) = s.shard {
        facts.push(("shard".into(), shard.to_string()));
    }
    if !s.bugs.is_empty() {
        facts.push(("planted bugs".into(), s.bugs.join(", ")));
    }
    facts.push((
        "determinism".into(),
        format!(
            "{} seeds run twice ({}), {} diverged",
            d.checked,
            d.sample.as_deref().unwrap_or("failing seeds only"),
            d.diverged.len()
        ),
    ));
    facts.push((
        "speed".into(),
        format!(
            "{} seeds in {:.1} s of wall time: {:.1} seeds/s, {:.2} M events/s, {} threads, {} part(s)",
            t.seeds_run,
            t.wall_ms as f64 / 1000.0,
            t.seeds_per_sec,
            t.events_per_sec / 1e6,
            t.jobs,
            t.parts
        ),
    ));
    let c = &s.completion_time_us;
    let failures = s.failures.iter().map(|f| failure_row(dir, f)).collect::<Vec<_>>();
    let report = SweepReport {
        title: format!("{} seeds {}", s.scenario, s.seeds),
        verdict,
        exit_code: s.exit_code,
        facts,
        outcomes: s.outcomes.iter().map(|(k, n)| (k.clone(), *n)).collect(),
        invariants: s.invariants.iter().map(|(k, n)| (k.clone(), *n)).collect(),
        completion: [("p50", c.p50), ("p90", c.p90), ("p99", c.p99), ("max", c.max)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        plot_svg: std::fs::read_to_string(dir.join("sweep.svg")).unwrap_or_default(),
        coverage: s
            .coverage
            .seeds_reaching
            .iter()
            .map(|(g, n)| (g.clone(), *n, s.coverage.required_missing.contains(g)))
            .collect(),
        failures_unlisted: s.failures_total.saturating_sub(failures.len() as u64),
        failures,
    };
    let path = dir.join(REPORT_FILE);
    restoresim_reports::sweep_report::write(&report, &path)?;
    Ok(())
}

fn failure_row(dir: &Path, f: &super::summary::FailureEntry) -> FailureRow {
    let mut row = FailureRow {
        seed: f.seed,
        outcome: f.outcome.name().to_string(),
        invariant: f.invariant.clone(),
        reproduce: f.reproduce.clone(),
        ..FailureRow::default()
    };
    let Some(capsule) = &f.capsule else {
        return row;
    };
    let mut link = |text: &str, rel: String| {
        if dir.join(&rel).exists() {
            row.links.push((text.to_string(), rel));
        }
    };
    link("capsule", capsule.clone());
    link("timeline", format!("{capsule}/timeline.html"));
    link("progress plot", format!("{capsule}/progress.svg"));
    link("log", format!("{capsule}/log.txt"));
    let minimal = format!("{}-min", capsule_rel(f.seed));
    link("minimal capsule", minimal.clone());
    link("minimal timeline", format!("{minimal}/timeline.html"));
    if let Some(at) = row.links.iter().position(|(text, _)| text == "timeline") {
        // Opens zoomed on the violation (timeline.js reads the fragment).
        row.links.insert(at + 1, ("at the violation".into(), format!("{capsule}/timeline.html#violation")));
    }
    let story = [dir.join(capsule).join("story.txt"), dir.join(&minimal).join("story.txt")]
        .into_iter()
        .find_map(|p| std::fs::read_to_string(&p).ok().map(|text| (p, text)));
    if let Some((path, text)) = story {
        row.story = text.trim_end().to_string();
        row.story_source = path.strip_prefix(dir).unwrap_or(&path).display().to_string();
    } else if let Ok(log) = std::fs::read_to_string(dir.join(capsule).join("log.txt")) {
        row.story = log.lines().take(LOG_LINES).collect::<Vec<_>>().join("\n");
        row.story_source = format!("{capsule}/log.txt (first {LOG_LINES} lines)");
    }
    row
}
