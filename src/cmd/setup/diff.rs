//! The diff `setup` shows before it writes: changed lines with a little context.

use std::time::Duration;

use similar::{Algorithm, DiffOp, TextDiff};

/// Unchanged lines shown around each change.
const CONTEXT: usize = 2;

/// A line longer than this (in characters) is shown in part: a minified settings file is one
/// line, and a 9 MB line printed twice helps nobody.
const LONG_LINE: usize = 300;

/// Characters of unchanged text kept on each side of the change within a long line.
const AROUND: usize = 60;

/// Pure: a line diff of `before` and `after`, `-`/`+` for changed lines and two lines of
/// unchanged context around each change; `…` marks skipped lines (and the skipped parts of a
/// long line). Myers' algorithm (the `similar` crate) is linear in the file for the one-line
/// changes setup makes, so a 9 MB file gives a diff of a few lines; the timeout bounds a
/// pathological pair, which then gets a correct but longer diff. Characters a terminal would
/// act on or hide (JSON allows raw C1 controls, DEL and bidi overrides in strings) are shown
/// as `\u` escapes.
pub fn line_diff(before: &str, after: &str) -> String {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(Duration::from_secs(2))
        .diff_lines(before, after);
    let (old, new) = (diff.old_slices(), diff.new_slices());
    let groups = diff.grouped_ops(CONTEXT);
    let mut out = String::new();
    for (n, group) in groups.iter().enumerate() {
        if n > 0 || group.first().is_some_and(|op| op.old_range().start > 0) {
            out.push_str("  …\n");
        }
        for op in group {
            match *op {
                DiffOp::Equal { old_index, len, .. } => {
                    for line in &old[old_index..old_index + len] {
                        push_line(&mut out, ' ', line, None);
                    }
                }
                DiffOp::Delete {
                    old_index, old_len, ..
                } => {
                    for line in &old[old_index..old_index + old_len] {
                        push_line(&mut out, '-', line, None);
                    }
                }
                DiffOp::Insert {
                    new_index, new_len, ..
                } => {
                    for line in &new[new_index..new_index + new_len] {
                        push_line(&mut out, '+', line, None);
                    }
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    let (a, b) = (
                        &old[old_index..old_index + old_len],
                        &new[new_index..new_index + new_len],
                    );
                    // A long line is cut around where it differs from its counterpart.
                    for (i, line) in a.iter().enumerate() {
                        push_line(&mut out, '-', line, b.get(i).copied());
                    }
                    for (i, line) in b.iter().enumerate() {
                        push_line(&mut out, '+', line, a.get(i).copied());
                    }
                }
            }
        }
    }
    if groups
        .last()
        .and_then(|g| g.last())
        .is_some_and(|op| op.old_range().end < old.len())
    {
        out.push_str("  …\n");
    }
    out
}

/// Appends `tag`, a space and the line (without its line ending), shown safely; a long line
/// only around where it differs from `other`, or its start when there is nothing to compare.
fn push_line(out: &mut String, tag: char, line: &str, other: Option<&str>) {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    out.push(tag);
    out.push(' ');
    if line.chars().count() <= LONG_LINE {
        push_shown(out, line);
    } else {
        let other = other.map(|o| o.trim_end_matches(['\n', '\r']));
        let (from, to) = match other {
            Some(o) => changed_span(line, o),
            None => (0, line.len()),
        };
        let start = back_chars(line, from, AROUND);
        let end = forward_chars(line, to, AROUND).min(forward_chars(line, start, LONG_LINE));
        if start > 0 {
            out.push('…');
        }
        push_shown(out, &line[start..end]);
        if end < line.len() {
            out.push('…');
        }
    }
    out.push('\n');
}

/// Byte range of `a` that differs from `b`: after their common prefix, before their common
/// suffix (on character boundaries).
fn changed_span(a: &str, b: &str) -> (usize, usize) {
    let mut prefix = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !a.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = a.len().min(b.len()) - prefix;
    let mut suffix = a
        .bytes()
        .rev()
        .zip(b.bytes().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    while !a.is_char_boundary(a.len() - suffix) {
        suffix -= 1;
    }
    (prefix, a.len() - suffix)
}

/// The byte index `n` characters before `at` (or 0).
fn back_chars(s: &str, at: usize, n: usize) -> usize {
    s[..at]
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i)
}

/// The byte index `n` characters after `at` (or the end).
fn forward_chars(s: &str, at: usize, n: usize) -> usize {
    s[at..]
        .char_indices()
        .nth(n)
        .map_or(s.len(), |(i, _)| at + i)
}

/// Pushes `s` with every character a terminal would act on or hide escaped (tabs stay).
fn push_shown(out: &mut String, s: &str) {
    for c in s.chars() {
        if c == '\t' || crate::text::shown(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changes_with_context() {
        let before = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3,\n  \"d\": 4,\n  \"e\": 5\n}\n";
        let after =
            "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3,\n  \"d\": 4,\n  \"e\": 5,\n  \"f\": 6\n}\n";
        let want =
            "  …\n    \"c\": 3,\n    \"d\": 4,\n-   \"e\": 5\n+   \"e\": 5,\n+   \"f\": 6\n  }\n";
        assert_eq!(line_diff(before, after), want);
        assert_eq!(line_diff(before, before), "");
        assert_eq!(line_diff("", "{}\n"), "+ {}\n");
    }

    /// A 9 MB settings file (a long `permissions.allow` list) where setup changes one line: the
    /// diff shows that line and its context, not the whole file removed and added again.
    #[test]
    fn one_changed_line_in_a_huge_file_gives_a_small_diff() {
        let mut before = String::from("{\n  \"permissions\": {\n    \"allow\": [\n");
        for i in 0..200_000 {
            before.push_str(&format!(
                "      \"Bash(tool-{i:06} --with-some-arguments:*)\",\n"
            ));
        }
        before.push_str("      \"Read\"\n    ]\n  }\n}\n");
        assert!(before.len() > 9_000_000, "{}", before.len());
        let after = before.replacen("\"Read\"", "\"Read\",\n      \"Write\"", 1);
        let diff = line_diff(&before, &after);
        assert_eq!(
            diff,
            "  …\n        \"Bash(tool-199998 --with-some-arguments:*)\",\n        \"Bash(tool-199999 --with-some-arguments:*)\",\n-       \"Read\"\n+       \"Read\",\n+       \"Write\"\n      ]\n    }\n  …\n"
        );
    }

    /// Changes far apart are shown as separate hunks, each with its context.
    #[test]
    fn separate_changes_are_separate_hunks() {
        let before: String = (0..20).map(|i| format!("{i}\n")).collect();
        let after: String = (0..20)
            .map(|i| match i {
                3 => "three\n".to_string(),
                15 => "fifteen\n".to_string(),
                i => format!("{i}\n"),
            })
            .collect();
        assert_eq!(
            line_diff(&before, &after),
            "  …\n  1\n  2\n- 3\n+ three\n  4\n  5\n  …\n  13\n  14\n- 15\n+ fifteen\n  16\n  17\n  …\n"
        );
    }

    /// A minified file is one line: the diff shows it around the change, not 9 MB twice.
    #[test]
    fn a_long_line_is_shown_around_its_change() {
        let allow: Vec<String> = (0..100_000).map(|i| format!("\"Bash(t{i}:*)\"")).collect();
        let before = format!("{{\"permissions\":{{\"allow\":[{}]}}}}", allow.join(","));
        let after = format!(
            "{}{}",
            &before[..before.len() - 1],
            ",\"statusLine\":{\"type\":\"command\"}}"
        );
        let diff = line_diff(&before, &after);
        assert_eq!(
            diff,
            "- …996:*)\",\"Bash(t99997:*)\",\"Bash(t99998:*)\",\"Bash(t99999:*)\"]}}\n\
             + …996:*)\",\"Bash(t99997:*)\",\"Bash(t99998:*)\",\"Bash(t99999:*)\"]},\"statusLine\":{\"type\":\"command\"}}\n"
        );
        // Nothing to compare with: the start of the line.
        let added = line_diff("", &before);
        assert!(
            added.starts_with("+ {\"permissions\":{\"allow\":[\"Bash(t0:*)\""),
            "{added}"
        );
        assert_eq!(added.chars().count(), 2 + LONG_LINE + 1 + 1);
    }

    /// JSON strings may hold raw C1 controls, DEL and bidi overrides: shown as escapes.
    #[test]
    fn characters_a_terminal_acts_on_are_escaped() {
        let after = "{\"a\": \"x\u{9b}2J\u{7f}\u{202e}\ty\"}\n";
        assert_eq!(
            line_diff("{}\n", after),
            "- {}\n+ {\"a\": \"x\\u009b2J\\u007f\\u202e\ty\"}\n"
        );
    }
}
