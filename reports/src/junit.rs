//! JUnit XML from plain data: one `<testsuite>`, one `<testcase>` per case, a
//! `<failure>` (the test found a bug) or an `<error>` (the test itself broke)
//! with a message and free text. The output is a pure function of the data —
//! no timestamps, no host names — so equal inputs give byte-equal files.

use std::fmt::Write as _;
use std::path::Path;

use crate::ReportError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JunitSuite {
    pub name: String,
    pub cases: Vec<JunitCase>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JunitCase {
    pub name: String,
    pub classname: String,
    pub problem: Option<JunitProblem>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// `<failure>`: an assertion (an invariant) failed.
    Failure,
    /// `<error>`: the test could not run to a verdict (a panic).
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JunitProblem {
    pub kind: ProblemKind,
    /// The `type` attribute.
    pub kind_name: String,
    /// The `message` attribute: one line.
    pub message: String,
    /// The element's text: the reproduce command and details.
    pub text: String,
}

impl JunitSuite {
    pub fn to_xml(&self) -> String {
        let count =
            |k: ProblemKind| self.cases.iter().filter(|c| c.problem.as_ref().is_some_and(|p| p.kind == k)).count();
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let head = format!(
            "name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\"",
            escape(&self.name),
            self.cases.len(),
            count(ProblemKind::Failure),
            count(ProblemKind::Error)
        );
        let _ = writeln!(xml, "<testsuites {head}>");
        let _ = writeln!(xml, "  <testsuite {head}>");
        for case in &self.cases {
            let attrs = format!("name=\"{}\" classname=\"{}\"", escape(&case.name), escape(&case.classname));
            match &case.problem {
                None => {
                    let _ = writeln!(xml, "    <testcase {attrs}/>");
                }
                Some(p) => {
                    let tag = match p.kind {
                        ProblemKind::Failure => "failure",
                        ProblemKind::Error => "error",
                    };
                    let _ = writeln!(xml, "    <testcase {attrs}>");
                    let _ = writeln!(
                        xml,
                        "      <{tag} type=\"{}\" message=\"{}\">{}</{tag}>",
                        escape(&p.kind_name),
                        escape(&p.message),
                        escape(&p.text)
                    );
                    let _ = writeln!(xml, "    </testcase>");
                }
            }
        }
        xml.push_str("  </testsuite>\n</testsuites>\n");
        xml
    }
}

/// Writes `suite` to `path`.
pub fn write_junit(suite: &JunitSuite, path: &Path) -> Result<(), ReportError> {
    std::fs::write(path, suite.to_xml()).map_err(|source| ReportError::Io { path: path.to_path_buf(), source })
}

/// Escapes text for an attribute or element; drops characters XML 1.0
/// cannot hold at all (control characters other than tab, CR, LF).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cases_and_escapes_text() {
        let suite = JunitSuite {
            name: "sweep <x>".into(),
            cases: vec![
                JunitCase { name: "seed 1".into(), classname: "s".into(), problem: None },
                JunitCase {
                    name: "seed 2".into(),
                    classname: "s".into(),
                    problem: Some(JunitProblem {
                        kind: ProblemKind::Failure,
                        kind_name: "safety_violation".into(),
                        message: "a \"b\" & c".into(),
                        text: "reproduce: restoresim run x.ron --seed 2\u{1}".into(),
                    }),
                },
            ],
        };
        let xml = suite.to_xml();
        assert!(xml.contains("tests=\"2\" failures=\"1\" errors=\"0\""), "{xml}");
        assert!(xml.contains("name=\"sweep &lt;x&gt;\""), "{xml}");
        assert!(xml.contains("message=\"a &quot;b&quot; &amp; c\""), "{xml}");
        assert!(xml.contains(">reproduce: restoresim run x.ron --seed 2</failure>"), "{xml}");
        assert!(xml.contains("<testcase name=\"seed 1\" classname=\"s\"/>"), "{xml}");
    }
}
