//! Shard folders named by a pattern (`restoresim merge 'out/shard-*'`), so a
//! scheduler's merge job need not list them or rely on its shell: `*` and
//! `?` in any path component, matched against folder names, sorted.

use std::path::{Component, Path, PathBuf};

use super::SweepError;

/// Whether `name` matches `pattern` (`*` any run, `?` any one character).
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Classic two-pointer wildcard match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Each argument as is, or, if it holds `*` or `?` and names no existing
/// path, the folders it matches (sorted). A pattern matching nothing is
/// an error, so a mistyped pattern never merges an incomplete set quietly.
pub fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>, SweepError> {
    let mut out = Vec::new();
    for arg in args {
        let text = arg.to_string_lossy();
        if arg.exists() || !is_pattern(&text) {
            out.push(arg.clone());
            continue;
        }
        let mut found = vec![PathBuf::new()];
        for component in arg.components() {
            let part = component.as_os_str().to_string_lossy().into_owned();
            if !matches!(component, Component::Normal(_)) || !is_pattern(&part) {
                found.iter_mut().for_each(|p| p.push(&part));
                continue;
            }
            let mut next = Vec::new();
            for base in &found {
                let dir = if base.as_os_str().is_empty() { Path::new(".") } else { base.as_path() };
                let Ok(entries) = std::fs::read_dir(dir) else { continue };
                let mut names: Vec<String> =
                    entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
                names.sort();
                next.extend(names.into_iter().filter(|n| matches(&part, n)).map(|n| base.join(n)));
            }
            found = next;
        }
        found.retain(|p| p.is_dir());
        if found.is_empty() {
            return Err(SweepError::Usage(format!("{} matches no folder", arg.display())));
        }
        out.extend(found);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_in_a_shell() {
        assert!(matches("shard-*", "shard-1"));
        assert!(matches("shard-*", "shard-"));
        assert!(matches("s?ard-*-x", "shard-12-x"));
        assert!(matches("*", "anything"));
        assert!(!matches("shard-*", "merged"));
        assert!(!matches("shard-?", "shard-12"));
        assert!(matches("a*b*c", "aXXbYYbc"));
    }

    #[test]
    fn a_pattern_expands_to_the_sorted_folders_it_matches() {
        let root = std::env::temp_dir().join(format!("restoresim-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["shard-2", "shard-1", "merged"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("shard-file"), "").unwrap();
        let got = expand(&[root.join("shard-*")]).unwrap();
        assert_eq!(got, vec![root.join("shard-1"), root.join("shard-2")]);
        let err = expand(&[root.join("nothing-*")]).unwrap_err().to_string();
        assert!(err.contains("matches no folder"), "{err}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
