//! `timeline.html`: one self-contained page (no network: the data, script
//! and style are inline), opened from disk. The script and style live beside
//! this file as `timeline.js` and `timeline.css` so they read and lint as
//! what they are.

use std::io::Write;
use std::path::Path;

use super::Timeline;

const SCRIPT: &str = include_str!("timeline.js");
const STYLE: &str = include_str!("timeline.css");

/// Text safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: `</` cannot close it early.
pub fn script_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data always serializes").replace("</", "<\\/")
}

pub fn render(t: &Timeline) -> String {
    let class = if t.violation.is_some() { "fail" } else { "pass" };
    let violation = match &t.violation {
        Some(v) => format!(
            "<div id=\"violation\"><b>violated {}</b> at {} µs ({})<br>{}</div>",
            escape(&v.invariant),
            v.at_us,
            escape(&v.event),
            escape(&v.message)
        ),
        None => String::new(),
    };
    let reproduce =
        t.reproduce.as_ref().map_or(String::new(), |r| format!("<div id=\"reproduce\">reproduce: {}</div>", escape(r)));
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — timeline</title>
<style>
{STYLE}</style>
</head>
<body class="{class}">
<header>
<h1>{title}</h1>
{violation}{reproduce}
</header>
<div id="controls">
<button id="zoom-in" title="zoom in (+, or the wheel)">+</button>
<button id="zoom-out" title="zoom out (-)">−</button>
<button id="fit" title="the whole run (0)">fit</button>
<button id="jump" title="jump to the violation (v)">jump to violation</button>
<span>actors:</span>
<button id="all">all</button>
<button id="coordinator">Client, SchemeShard, TxAllocator</button>
<input id="filter" type="text" placeholder="filter, e.g. DataShard1" size="16">
<div id="actors"></div>
<span id="status"></span>
</div>
<div id="stage"><canvas id="canvas"></canvas></div>
<div id="legend">
<span><i style="background:#4a6fa5"></i>message (send → delivery)</span>
<span><i style="background:#e08a00"></i>duplicate (dashed: the copy)</span>
<span><i style="background:#8e44ad"></i>reordered</span>
<span><i style="background:#d62728"></i>dropped / lost (✕)</span>
<span><i style="background:#888"></i>discarded on arrival (✕)</span>
<span><i style="background:#2a9d3a"></i>commit</span>
<span><i style="background:rgba(90,90,90,.55)"></i>down (crash → boot)</span>
<span><i style="background:rgba(127,63,191,.18)"></i>partition</span>
<span><i style="background:#c8ebc8"></i>coordinator state (Al/Pr/Wa/Ap + incremental)</span>
<span><i style="background:#ff7f0e"></i>injected fault</span>
<span>drag to pan · wheel to zoom · hover for details</span>
</div>
<div id="tip"></div>
<script type="application/json" id="timeline-data">{data}</script>
<script>
{SCRIPT}</script>
</body>
</html>
"#,
        title = escape(&t.title),
        data = script_json(t),
    )
}

/// Writes the page to `path`.
pub fn write(t: &Timeline, path: &Path) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(render(t).as_bytes())?;
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_cannot_close_its_script_element() {
        let t = Timeline { title: "</script><b>".into(), ..Timeline::default() };
        let page = render(&t);
        assert!(!script_json(&t).contains("</"));
        assert!(page.contains("<title>&lt;/script&gt;&lt;b&gt; — timeline</title>"));
        assert_eq!(page.matches("</script>").count(), 2, "only the two script elements close");
    }
}
