//! Strings from outside (a model name from Claude Code's stdin, a window name read back from the
//! history file, a directory or branch name, a command's label) made safe to print: no control
//! character of any kind reaches a terminal, and no value is longer than its slot.
//!
//! Every place that prints a value it did not write itself goes through [`clean`]. It knows
//! nothing about where the text goes (line, hook message, chart), only that it will be shown.

/// `s` without control characters (C0, DEL, C1: ESC, BEL, CSI and newlines among them) nor the
/// invisible bidirectional and zero-width format characters that can reorder or hide what a
/// terminal shows, at most `max_chars` characters long; a longer value ends in `…` (which counts
/// toward `max_chars`). Whitespace runs become one space and the ends are trimmed, so a value
/// keeps its words but can never break a line.
pub fn clean(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 4));
    let mut count = 0usize;
    let mut pending_space = false;
    // One character beyond the cap tells whether the value had to be cut.
    for c in s.chars() {
        // Whitespace first: a tab or newline is a control character but separates words.
        if c.is_whitespace() {
            pending_space = count > 0;
            continue;
        }
        if !shown(c) {
            continue;
        }
        let need = usize::from(pending_space) + 1;
        if count + need > max_chars {
            if max_chars > 0 {
                // Make room for the ellipsis inside the cap.
                while count >= max_chars {
                    out.pop();
                    count -= 1;
                }
                out.truncate(out.trim_end().len());
                out.push('…');
            }
            return out;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// Whether a character may reach the terminal.
pub fn shown(c: char) -> bool {
    !(c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM/RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}' // BOM / zero-width no-break space
        ))
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn control_and_invisible_characters_never_pass() {
        assert_eq!(clean("\x1b[31mopus\x07", 40), "[31mopus");
        assert_eq!(clean("a\u{9b}2Jb\u{202E}c\u{200B}d", 40), "a2Jbcd");
        assert_eq!(clean("two\nlines\r\tand  tabs", 40), "two lines and tabs");
        assert_eq!(clean("  padded  ", 40), "padded");
    }

    #[test]
    fn long_values_are_cut_with_an_ellipsis_inside_the_cap() {
        assert_eq!(clean("abcdefghij", 10), "abcdefghij");
        assert_eq!(clean("abcdefghijk", 10), "abcdefghi…");
        assert_eq!(clean("abcd efghijk", 6), "abcd…");
        assert_eq!(clean(&"x".repeat(900_000), 40).chars().count(), 40);
        assert_eq!(clean("abc", 0), "");
    }
}
