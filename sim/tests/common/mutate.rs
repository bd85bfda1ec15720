//! Text mutations for the fuzz tests: replace a number, string or
//! identifier token with an extreme or foreign one, delete, insert,
//! duplicate or truncate. Indexes are taken modulo the text's length, so
//! any generated mutation applies to any text.

use proptest::prelude::*;

/// Spans of the text's number, string and identifier tokens (outside comments).
#[derive(Default)]
struct Tokens {
    numbers: Vec<(usize, usize)>,
    strings: Vec<(usize, usize)>,
    idents: Vec<(usize, usize)>,
}

fn tokens(text: &str) -> Tokens {
    let b = text.as_bytes();
    let mut t = Tokens::default();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                t.strings.push((start, i));
            }
            c if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                    i += 1;
                }
                t.numbers.push((start, i));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                t.idents.push((start, i));
            }
            _ => i += 1,
        }
    }
    t
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "7",
    "99",
    "1000",
    "100000",
    "100001",
    "1000000",
    "1000001",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "1.5",
    "0x10",
    "1e9",
    "1_000",
];

const STRINGS: &[&str] = &[
    "\"\"",
    "\"0ms\"",
    "\"1us\"",
    "\"1ms\"",
    "\"365d\"",
    "\"525600min\"",
    "\"525601min\"",
    "\"18446744073709551615us\"",
    "\"100%\"",
    "\"101%\"",
    "\"0%\"",
    "\"1/0\"",
    "\"0/0\"",
    "\"4294967295/4294967295\"",
    "\"0.00001%\"",
    "\"../../x\"",
    "\"/etc/x\"",
    "\"nope\"",
    "\"restart_mid_applying\"",
    "\"AckBeforePersist\"",
    "\"\\u{0}\"",
    "\"unterminated",
];

const INSERTS: &[&str] = &["(", ")", "[", "]", ",", ":", "\"", "//", "/*", "Some(", "\u{feff}", "é", "\0", " x: 1,"];

#[derive(Debug, Clone)]
pub enum Mutation {
    Number { nth: usize, value: usize },
    Str { nth: usize, value: usize },
    Ident { nth: usize, with: usize },
    Delete { at: usize, len: usize },
    Insert { at: usize, text: usize },
    Duplicate { at: usize, len: usize },
    Truncate { at: usize },
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let n = any::<usize>();
    prop_oneof![
        4 => (n, 0..NUMBERS.len()).prop_map(|(nth, value)| Mutation::Number { nth, value }),
        3 => (n, 0..STRINGS.len()).prop_map(|(nth, value)| Mutation::Str { nth, value }),
        2 => (n, n).prop_map(|(nth, with)| Mutation::Ident { nth, with }),
        1 => (n, 1..8usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (n, 0..INSERTS.len()).prop_map(|(at, text)| Mutation::Insert { at, text }),
        1 => (n, 1..200usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        1 => n.prop_map(|at| Mutation::Truncate { at }),
    ]
}

/// The nearest char boundary at or below `at % (len + 1)`.
fn boundary(text: &str, at: usize) -> usize {
    let mut i = at % (text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub fn apply(text: &str, m: &Mutation) -> String {
    let t = tokens(text);
    let replace = |spans: &[(usize, usize)], nth: usize, with: &str| {
        if spans.is_empty() {
            return text.to_string();
        }
        let (a, b) = spans[nth % spans.len()];
        format!("{}{with}{}", &text[..a], &text[b..])
    };
    match *m {
        Mutation::Number { nth, value } => replace(&t.numbers, nth, NUMBERS[value]),
        Mutation::Str { nth, value } => replace(&t.strings, nth, STRINGS[value]),
        Mutation::Ident { nth, with } => {
            if t.idents.is_empty() {
                return text.to_string();
            }
            let (a, b) = t.idents[with % t.idents.len()];
            replace(&t.idents, nth, &text[a..b])
        }
        Mutation::Delete { at, len } => {
            let a = boundary(text, at);
            let b = boundary(text, a + len.min(text.len() - a));
            let b = if b < a { a } else { b };
            format!("{}{}", &text[..a], &text[b..])
        }
        Mutation::Insert { at, text: i } => {
            let a = boundary(text, at);
            format!("{}{}{}", &text[..a], INSERTS[i], &text[a..])
        }
        Mutation::Duplicate { at, len } => {
            let a = boundary(text, at);
            let mut b = (a + len).min(text.len());
            while !text.is_char_boundary(b) {
                b -= 1;
            }
            format!("{}{}", &text[..b], &text[a..])
        }
        Mutation::Truncate { at } => text[..boundary(text, at)].to_string(),
    }
}
