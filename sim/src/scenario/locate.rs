//! Where a field's value is written in a scenario's text, by its path
//! (`workload.tables[1].shards`), so a semantic error points at the
//! offending value rather than at the file's first line. A small walker
//! over RON's value syntax; it runs only on text RON has already accepted,
//! and when a path goes further than the text (a field left to its
//! default) it answers with the deepest part that is written.

use std::fmt;

/// One step of a field path: a named field, or the n-th element of a list
/// (or the n-th unnamed item of a tuple variant, `DataShard(7)` → `[0]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Field(&'static str),
    Index(usize),
}

/// A field path, as a semantic check names the value it refuses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    /// `FieldPath::of(&["workload", "tables"]).at(1).field("shards")`.
    pub fn of(fields: &[&'static str]) -> FieldPath {
        FieldPath(fields.iter().map(|f| Seg::Field(f)).collect())
    }

    pub fn field(mut self, name: &'static str) -> FieldPath {
        self.0.push(Seg::Field(name));
        self
    }

    pub fn at(mut self, index: usize) -> FieldPath {
        self.0.push(Seg::Index(index));
        self
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Field(name) if i == 0 => write!(f, "{name}")?,
                Seg::Field(name) => write!(f, ".{name}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// 1-based line and column of the value at `path` in `text` (the deepest
/// written part of it; 1:1 when not even the first field is written).
pub fn locate(text: &str, path: &FieldPath) -> (usize, usize) {
    line_column(text, offset_of(text, path))
}

/// [`locate`], then the first `needle` from there on (the value's start
/// if the needle is not found).
pub fn locate_within(text: &str, path: &FieldPath, needle: &str) -> (usize, usize) {
    let start = offset_of(text, path);
    let offset = text[start..].find(needle).map_or(start, |i| start + i);
    line_column(text, offset)
}

/// Byte offset of the value at `path` (the deepest written part of it).
fn offset_of(text: &str, path: &FieldPath) -> usize {
    let mut w = Walker { text: text.as_bytes(), pos: 0, depth: 0 };
    let mut found = 0;
    w.skip_space();
    if w.find(&path.0, &mut found).is_err() {
        // Malformed text cannot happen after RON accepted it; the deepest
        // position found so far is still the best answer.
    }
    found
}

/// 1-based line and column (in characters) of byte `offset`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

/// Nesting beyond this is refused by the walker (RON's own limit is lower).
const MAX_DEPTH: usize = 256;

struct Walker<'a> {
    text: &'a [u8],
    pos: usize,
    depth: usize,
}

type Walk = Result<(), ()>;

impl Walker<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.pos + ahead).copied()
    }

    /// Whitespace and comments (`//` to the end of the line, nested `/* */`).
    fn skip_space(&mut self) {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(c), _) if c.is_ascii_whitespace() => self.pos += 1,
                (Some(b'/'), Some(b'/')) => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let mut open = 0usize;
                    while self.pos < self.text.len() {
                        match (self.peek(), self.peek_at(1)) {
                            (Some(b'/'), Some(b'*')) => (open, self.pos) = (open + 1, self.pos + 2),
                            (Some(b'*'), Some(b'/')) => {
                                (open, self.pos) = (open - 1, self.pos + 2);
                                if open == 0 {
                                    break;
                                }
                            }
                            _ => self.pos += 1,
                        }
                    }
                }
                _ => return,
            }
        }
    }

    fn is_ident(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'_' || c == b'#' || c >= 0x80
    }

    fn ident(&mut self) -> &[u8] {
        let start = self.pos;
        while self.peek().is_some_and(Self::is_ident) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// Walks the value at `pos` following `path`; `found` is the start of
    /// the deepest value reached.
    fn find(&mut self, path: &[Seg], found: &mut usize) -> Walk {
        *found = self.pos;
        // `Some(x)` and a struct's name are transparent to a path.
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') {
            let start = self.pos;
            let name = self.ident().to_vec();
            self.skip_space();
            if self.peek() != Some(b'(') {
                return Ok(());
            }
            if name == b"Some" {
                self.pos += 1;
                self.skip_space();
                self.find(path, found)?;
                return self.close(b')');
            }
            if path.is_empty() {
                self.pos = start;
            }
        }
        let Some((seg, rest)) = path.split_first() else { return self.skip_value() };
        match (self.peek(), seg) {
            (Some(b'('), _) => self.find_in_items(b')', seg, rest, found),
            (Some(b'['), Seg::Index(_)) => self.find_in_items(b']', seg, rest, found),
            _ => self.skip_value(),
        }
    }

    /// Inside `( ... )` or `[ ... ]`: the item `seg` names, then `rest`.
    fn find_in_items(&mut self, close: u8, seg: &Seg, rest: &[Seg], found: &mut usize) -> Walk {
        self.enter()?;
        self.pos += 1;
        let mut unnamed = 0;
        loop {
            self.skip_space();
            match self.peek() {
                None => return Err(()),
                Some(c) if c == close => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => {}
            }
            let mut name = None;
            let save = self.pos;
            if close == b')' && self.peek().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') {
                let ident = self.ident().to_vec();
                self.skip_space();
                if self.peek() == Some(b':') {
                    self.pos += 1;
                    self.skip_space();
                    name = Some(ident);
                } else {
                    self.pos = save;
                }
            }
            let wanted = match (seg, &name) {
                (Seg::Field(f), Some(n)) => f.as_bytes() == n.as_slice(),
                (Seg::Index(i), None) => *i == unnamed,
                _ => false,
            };
            if name.is_none() {
                unnamed += 1;
            }
            if wanted {
                self.find(rest, found)?;
            } else {
                self.skip_value()?;
            }
            self.skip_space();
            if self.peek() == Some(b',') {
                self.pos += 1;
            }
        }
    }

    fn enter(&mut self) -> Walk {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(()) } else { Ok(()) }
    }

    fn close(&mut self, c: u8) -> Walk {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(())
        }
    }

    /// Skips one value of any kind.
    fn skip_value(&mut self) -> Walk {
        self.skip_space();
        match self.peek() {
            None => Err(()),
            Some(b'"') => self.skip_string(),
            Some(b'\'') => {
                self.pos += 1;
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    match c {
                        b'\\' => self.pos += 1,
                        b'\'' => return Ok(()),
                        _ => {}
                    }
                }
                Err(())
            }
            Some(b'r') if matches!(self.peek_at(1), Some(b'"' | b'#')) => self.skip_raw_string(),
            Some(b'b') if self.peek_at(1) == Some(b'"') => {
                self.pos += 1;
                self.skip_string()
            }
            Some(open @ (b'(' | b'[' | b'{')) => {
                let close = match open {
                    b'(' => b')',
                    b'[' => b']',
                    _ => b'}',
                };
                self.skip_group(close)
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                self.ident();
                self.skip_space();
                if self.peek() == Some(b'(') { self.skip_group(b')') } else { Ok(()) }
            }
            Some(_) => {
                // A number (sign, digits, `.`, exponent, `_`, hex) or a
                // lone punctuation RON accepted: up to a delimiter.
                let start = self.pos;
                while self.peek().is_some_and(|c| !b",)]}:".contains(&c) && !c.is_ascii_whitespace()) {
                    self.pos += 1;
                }
                if self.pos == start { Err(()) } else { Ok(()) }
            }
        }
    }

    fn skip_group(&mut self, close: u8) -> Walk {
        self.enter()?;
        self.pos += 1;
        loop {
            self.skip_space();
            match self.peek() {
                None => return Err(()),
                Some(c) if c == close => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                Some(b',' | b':') => self.pos += 1,
                Some(_) => self.skip_value()?,
            }
        }
    }

    fn skip_string(&mut self) -> Walk {
        self.pos += 1;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\\' => self.pos += 1,
                b'"' => return Ok(()),
                _ => {}
            }
        }
        Err(())
    }

    fn skip_raw_string(&mut self) -> Walk {
        self.pos += 1;
        let mut hashes = 0;
        while self.peek() == Some(b'#') {
            hashes += 1;
            self.pos += 1;
        }
        if self.peek() != Some(b'"') {
            return Err(());
        }
        self.pos += 1;
        while self.pos < self.text.len() {
            if self.peek() == Some(b'"') && (1..=hashes).all(|i| self.peek_at(i) == Some(b'#')) {
                self.pos += 1 + hashes;
                return Ok(());
            }
            self.pos += 1;
        }
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "// a comment with ( and \"\nScenario(\n  name: \"x(\",\n  /* block /* nested */ ) */\n  workload: (\n    tables: [(name: \"a\", shards: 2), (name: \"b\", shards: 0)],\n  ),\n  protocol: (shard_timeout: Some(\"0ms\")),\n  faults: (restarts: [(tablet: DataShard(9), when: AfterBatches(shard: 7, batches: 0))]),\n)";

    fn at(path: FieldPath) -> (usize, usize) {
        locate(TEXT, &path)
    }

    #[test]
    fn finds_values_by_path() {
        let col = |line: usize, needle: &str| TEXT.lines().nth(line - 1).unwrap().find(needle).unwrap() + 1;
        assert_eq!(at(FieldPath::of(&["name"])), (3, col(3, "\"x(")));
        assert_eq!(at(FieldPath::of(&["workload", "tables"]).at(1).field("shards")), (6, col(6, "0)]")));
        assert_eq!(at(FieldPath::of(&["workload", "tables"]).at(1)), (6, col(6, "(name: \"b")));
        assert_eq!(at(FieldPath::of(&["protocol", "shard_timeout"])), (8, col(8, "\"0ms")));
        let restart = FieldPath::of(&["faults", "restarts"]).at(0);
        assert_eq!(at(restart.clone().field("tablet").at(0)), (9, col(9, "9)")));
        assert_eq!(at(restart.field("when").field("batches")), (9, col(9, "0))")));
    }

    #[test]
    fn a_default_field_points_at_the_deepest_written_part() {
        let col = TEXT.lines().nth(4).unwrap().find('(').unwrap() + 1;
        assert_eq!(at(FieldPath::of(&["workload", "incrementals"])), (5, col));
        assert_eq!(at(FieldPath::of(&["budgets", "max_events"])), (2, 1));
    }

    #[test]
    fn paths_print_as_written() {
        let p = FieldPath::of(&["workload", "tables"]).at(1).field("shards");
        assert_eq!(p.to_string(), "workload.tables[1].shards");
    }
}
