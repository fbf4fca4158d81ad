//! The commands setup writes and recognises: this binary's path quoted for the shell Claude Code
//! runs it with, and whether a command already there runs ccmeter.

/// Whether a statusLine command runs ccmeter: this binary, or any binary named `ccmeter`
/// (an older install at another path), with or without arguments.
pub(super) fn is_ours(command: &str, exe: &str) -> bool {
    command == exe || program_name(command) == Some("ccmeter")
}

pub(super) fn is_our_hook(command: &str) -> bool {
    program_name(command) == Some("ccmeter") && command.split_whitespace().skip(1).eq(["hook"])
}

/// The file name of a command's program, for unquoted commands.
pub(super) fn program_name(command: &str) -> Option<&str> {
    let first = command.split_whitespace().next()?;
    first.rsplit('/').next()
}

/// Quotes a path for the shell Claude Code runs commands with, only when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_only_when_needed() {
        assert_eq!(shell_quote("/usr/bin/ccmeter"), "/usr/bin/ccmeter");
        assert_eq!(shell_quote("/Users/a b/ccmeter"), "'/Users/a b/ccmeter'");
        assert_eq!(shell_quote("/x/it's"), r"'/x/it'\''s'");
    }
}
