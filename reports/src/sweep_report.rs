//! `report.html` of a sweep, beside its `summary.json`: outcomes, broken
//! invariants, the completion-time histogram (the sweep plot, inline),
//! coverage goals, and each failing seed with its story, reproduce command
//! and links to its capsule's timeline and plots. One file, no script, no
//! network; links are relative, so the sweep folder can be uploaded whole.

use std::path::Path;

use crate::timeline::html::escape;

/// Everything the page shows, in plain data.
#[derive(Clone, Debug, Default)]
pub struct SweepReport {
    /// e.g. "ci-smoke seeds 0..500".
    pub title: String,
    /// e.g. "pass", "3 failing seeds".
    pub verdict: String,
    pub exit_code: u8,
    /// (name, value) lines: seeds, shard, bugs, determinism, timing.
    pub facts: Vec<(String, String)>,
    /// (outcome, seeds).
    pub outcomes: Vec<(String, u64)>,
    /// (invariant, seeds).
    pub invariants: Vec<(String, u64)>,
    /// (name, µs): p50, p90, p99, max of the completion time.
    pub completion: Vec<(String, u64)>,
    /// The sweep plot's SVG text, inlined (empty: none).
    pub plot_svg: String,
    /// (goal, seeds reaching it, required).
    pub coverage: Vec<(String, u64, bool)>,
    pub failures: Vec<FailureRow>,
    /// Failing seeds beyond those listed.
    pub failures_unlisted: u64,
}

#[derive(Clone, Debug, Default)]
pub struct FailureRow {
    pub seed: u64,
    pub outcome: String,
    pub invariant: Option<String>,
    pub reproduce: String,
    /// Relative links: (text, href) — capsule, timeline, plot, minimal capsule.
    pub links: Vec<(String, String)>,
    /// The capsule's story (story.txt), else the first lines of its log.
    pub story: String,
    /// Where `story` came from, e.g. "story.txt" or "log.txt (first 12 lines)".
    pub story_source: String,
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:20px;color:#222;max-width:1500px}\
h1{font-size:20px}h2{font-size:16px;margin-top:24px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}\
.pass{color:#2a7a2a}.fail{color:#b00020}code,pre{font:12px/1.4 ui-monospace,monospace}\
pre{background:#f6f6f6;padding:6px 8px;white-space:pre-wrap;margin:4px 0}.missing{color:#b00020;font-weight:bold}\
.plot svg{max-width:100%;height:auto}.seed{margin:12px 0;padding:8px 12px;border-left:4px solid #b00020;background:#fff8f8}";

fn table(rows: impl IntoIterator<Item = Vec<String>>, head: &[&str]) -> String {
    let mut s = String::from("<table><tr>");
    for h in head {
        s.push_str(&format!("<th>{}</th>", escape(h)));
    }
    s.push_str("</tr>");
    for row in rows {
        s.push_str("<tr>");
        for cell in row {
            s.push_str(&format!("<td>{cell}</td>"));
        }
        s.push_str("</tr>");
    }
    s + "</table>"
}

pub fn render(r: &SweepReport) -> String {
    let class = if r.exit_code == 0 { "pass" } else { "fail" };
    let mut b = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} — sweep report</title>\
         <style>{STYLE}</style></head><body>\n<h1>{t}: <span class=\"{class}\">{v}</span> (exit {e})</h1>\n",
        t = escape(&r.title),
        v = escape(&r.verdict),
        e = r.exit_code
    );
    b.push_str(&table(r.facts.iter().map(|(k, v)| vec![escape(k), escape(v)]), &["", ""]));
    b.push_str("\n<h2>Outcomes</h2>\n");
    b.push_str(&table(r.outcomes.iter().map(|(k, n)| vec![escape(k), n.to_string()]), &["outcome", "seeds"]));
    if !r.invariants.is_empty() {
        b.push_str("\n<h2>Invariants broken</h2>\n");
        b.push_str(&table(r.invariants.iter().map(|(k, n)| vec![escape(k), n.to_string()]), &["invariant", "seeds"]));
    }
    b.push_str("\n<h2>Completion time (virtual, passing seeds)</h2>\n");
    b.push_str(&table(r.completion.iter().map(|(k, us)| vec![escape(k), format!("{us} µs")]), &["", ""]));
    if !r.plot_svg.is_empty() {
        b.push_str(&format!("<div class=\"plot\">{}</div>", r.plot_svg));
    }
    b.push_str("\n<h2>Coverage goals</h2>\n");
    b.push_str(&table(
        r.coverage.iter().map(|(g, n, required)| {
            let mark = match (required, *n) {
                (true, 0) => "<span class=\"missing\">required, never reached</span>".to_string(),
                (true, _) => "required".to_string(),
                (false, 0) => "never reached".to_string(),
                (false, _) => String::new(),
            };
            vec![escape(g), n.to_string(), mark]
        }),
        &["goal", "seeds reaching it", ""],
    ));
    b.push_str(&format!("\n<h2>Failing seeds ({})</h2>\n", r.failures.len() as u64 + r.failures_unlisted));
    if r.failures.is_empty() {
        b.push_str("<p>None.</p>");
    }
    for f in &r.failures {
        let what = f.invariant.as_deref().map_or(f.outcome.clone(), |i| format!("{}: {i}", f.outcome));
        let links: Vec<String> =
            f.links.iter().map(|(text, href)| format!("<a href=\"{}\">{}</a>", escape(href), escape(text))).collect();
        b.push_str(&format!(
            "<div class=\"seed\" id=\"seed-{s}\"><b>seed {s}</b> — {w}<br>{l}\n<pre>{rep}</pre>",
            s = f.seed,
            w = escape(&what),
            l = links.join(" · "),
            rep = escape(&f.reproduce)
        ));
        if !f.story.is_empty() {
            b.push_str(&format!(
                "<details open><summary>{}</summary><pre>{}</pre></details>",
                escape(&f.story_source),
                escape(&f.story)
            ));
        }
        b.push_str("</div>\n");
    }
    if r.failures_unlisted > 0 {
        b.push_str(&format!("<p>… and {} more in results.jsonl.</p>", r.failures_unlisted));
    }
    b + "</body></html>\n"
}

pub fn write(r: &SweepReport, path: &Path) -> Result<(), crate::ReportError> {
    std::fs::write(path, render(r)).map_err(|source| crate::ReportError::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_seed_shows_its_story_links_and_reproduce_command_escaped() {
        let r = SweepReport {
            title: "s seeds 0..2".into(),
            verdict: "1 failing seeds".into(),
            exit_code: 1,
            failures: vec![FailureRow {
                seed: 1,
                outcome: "safety_violation".into(),
                invariant: Some("4-progress-monotonic".into()),
                reproduce: "restoresim run 'a<b>.ron' --seed 1".into(),
                links: vec![("timeline".into(), "capsules/seed-1/timeline.html".into())],
                story: "LastKey went back".into(),
                story_source: "story.txt".into(),
            }],
            ..SweepReport::default()
        };
        let page = render(&r);
        assert!(page.contains("<a href=\"capsules/seed-1/timeline.html\">timeline</a>"));
        assert!(page.contains("restoresim run &#39;a&lt;b&gt;.ron&#39; --seed 1"));
        assert!(page.contains("<summary>story.txt</summary><pre>LastKey went back</pre>"));
        assert!(page.contains("class=\"fail\""));
    }
}
