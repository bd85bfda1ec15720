//! Reading a scenario file: bounded in size, RON syntax and types first
//! (errors carry file:line:column and the field path, in our words where
//! RON's are unhelpful), then the checks a type cannot express
//! (`validate.rs`), located at the offending value (`locate.rs`).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use ron::extensions::Extensions;

use super::Scenario;
use super::limits::MAX_SCENARIO_BYTES;

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

/// Reads and checks a scenario file, reading at most
/// [`MAX_SCENARIO_BYTES`](super::limits::MAX_SCENARIO_BYTES).
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_text(path).map(|(scenario, _)| scenario)
}

/// [`load`], also handing back the file's text (copied into capsules,
/// digested to tell one scenario from another).
pub fn load_text(path: &Path) -> Result<(Scenario, String), ScenarioError> {
    let text = read_bounded(path)?;
    Ok((parse(&text, path)?, text))
}

/// The file's text; a file too large (or endless, like `/dev/zero`), a
/// folder or non-UTF-8 bytes are refused without reading further. Study
/// files and a study's base scenario are read through it too.
pub fn read_bounded(path: &Path) -> Result<String, ScenarioError> {
    let fail = |message: String| ScenarioError { file: path.to_path_buf(), line: 0, column: 0, message };
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(fail("is a folder; expected a scenario file".into()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SCENARIO_BYTES + 1).read_to_end(&mut bytes).map_err(|e| fail(format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(fail(format!(
            "is larger than {} MiB, the limit for a scenario or study file",
            MAX_SCENARIO_BYTES >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) =
            super::locate::line_column(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to());
        ScenarioError { file: path.to_path_buf(), line, column, message: "expected UTF-8 text".into() }
    })
}

/// Parses scenario text; `file` names it in errors. A leading UTF-8 byte
/// order mark is accepted (and not counted in columns).
pub fn parse(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let options = ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME);
    let at =
        |line: usize, column: usize, message: String| ScenarioError { file: file.to_path_buf(), line, column, message };
    let syntax = |e: ron::error::SpannedError| {
        at(e.span.start.line, e.span.start.col, explain(&e.code, text, e.span.start.line, e.span.start.col))
    };
    let mut de = ron::Deserializer::from_str_with_options(text, &options).map_err(syntax)?;
    let scenario: Scenario = match serde_path_to_error::deserialize(&mut de) {
        Ok(s) => s,
        Err(e) => {
            // `?` stands for a part of the path serde could not name.
            let path: Vec<String> = e.path().iter().map(|s| s.to_string()).filter(|s| s != "?").collect();
            let path = path.join(".").replace(".[", "[");
            let spanned = de.span_error(e.into_inner());
            let field = if path.is_empty() { String::new() } else { format!(" (at `{path}`)") };
            let (line, mut column) = (spanned.span.start.line, spanned.span.start.col);
            let message = explain(&spanned.code, text, line, column);
            // Our own errors about a string's content (a duration, a
            // chance) come one past its opening quote: point at the quote.
            if matches!(spanned.code, ron::Error::Message(_))
                && column > 1
                && char_at(text, line, column - 1) == Some('"')
            {
                column -= 1;
            }
            return Err(at(line, column, format!("{message}{field}")));
        }
    };
    if let Err(e) = de.end() {
        return Err(syntax(de.span_error(e)));
    }
    super::validate::validate(&scenario).map_err(|invalid| {
        let (line, column) = match &invalid.needle {
            Some(needle) => super::locate::locate_within(text, &invalid.path, needle),
            None => super::locate::locate(text, &invalid.path),
        };
        at(line, column, invalid.message)
    })?;
    Ok(scenario)
}

/// RON's message in our words where its own is unhelpful; `line` and
/// `column` (1-based) are where it stopped.
fn explain(code: &ron::Error, text: &str, line: usize, column: usize) -> String {
    let rest: String = text
        .lines()
        .nth(line.saturating_sub(1))
        .map_or(String::new(), |l| l.chars().skip(column.saturating_sub(1)).collect());
    let after: &str = {
        let offset = text.lines().take(line.saturating_sub(1)).map(|l| l.len() + 1).sum::<usize>();
        let in_line: usize =
            text[offset.min(text.len())..].chars().take(column.saturating_sub(1)).map(char::len_utf8).sum();
        &text[(offset + in_line).min(text.len())..]
    };
    let at_end = only_space_or_comments(after);
    let before = text[..text.len() - after.len()].trim_end();
    let decimal = rest.starts_with('.') && before.ends_with(|c: char| c.is_ascii_digit());
    use ron::Error as E;
    match code {
        E::ExpectedStringEnd => "a string that is never closed: expected a closing `\"`".into(),
        E::Eof | E::ExpectedComma | E::ExpectedStructLikeEnd | E::ExpectedArrayEnd | E::ExpectedMapEnd if at_end => {
            "the file ends too early: expected a closing `)` (or `]`) for every one opened".into()
        }
        E::ExpectedComma | E::ExpectedStructLikeEnd | E::ExpectedInteger if decimal => {
            "a decimal number where a whole number is expected (durations and chances are strings: \"1.5ms\", \"0.5%\")"
                .into()
        }
        E::ExpectedInteger => "expected a whole number".into(),
        E::IntegerOutOfBounds => "a number out of range for this field (too large, or negative)".into(),
        E::ExpectedComma => "expected `,` between fields, or a closing `)` or `]`".into(),
        other => other.to_string(),
    }
}

/// The character at 1-based `line` and `column`.
fn char_at(text: &str, line: usize, column: usize) -> Option<char> {
    text.lines().nth(line.checked_sub(1)?)?.chars().nth(column.checked_sub(1)?)
}

/// Nothing but whitespace and comments is left.
fn only_space_or_comments(text: &str) -> bool {
    let mut rest = text.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            return false;
        }
    }
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
            ("faults: (restarts: [(tablet: SchemeShard, when: AtEvent(0))])", "0)", "counted from 1"),
            ("faults: (partitions: [(nodes: [DataShard(9)], from: \"1ms\", until: \"2ms\")])", "9)", "does not exist"),
            ("faults: (partitions: [(nodes: [Client], from: \"2ms\", until: \"1ms\")])", "\"1ms", "from < until"),
            ("faults: (swarm: (loss: (on: \"50%\", min: \"5%\", max: \"1%\")))", "\"5%", "min <= max"),
            ("coverage: (require: [\"nope\"])", "\"nope\"", "restart_mid_applying"),
            (
                "faults: (window: (until: \"1s\"), restarts: [(tablet: TxAllocator, when: At(\"2s\"))])",
                "\"2s",
                "window",
            ),
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
        assert_eq!((e.line, e.column), (3, 25), "{e}");
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
