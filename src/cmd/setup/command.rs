//! The commands setup writes and recognises. Claude Code runs `statusLine.command` and hook
//! commands as one string through a shell (`/bin/sh -c` on Unix; Git Bash, else PowerShell, on
//! Windows), so what setup writes must survive that shell, and what is already there is read the
//! way that shell would read it: a `ccmeter` at any path, with any arguments, is already ccmeter,
//! and `ccmeter wrap '<their command>'` gives their command back exactly.
//!
//! Pure: the path of this binary and whether `ccmeter` on PATH is this binary come in as
//! arguments, so the Windows rules are tested on every platform.

/// The status line command: this binary (already quoted), with `--offline` when asked for.
pub fn line_command(exe: &str, offline: bool) -> String {
    if offline {
        format!("{exe} --offline")
    } else {
        exe.to_string()
    }
}

/// `<exe> wrap [--offline] '<theirs>'`: their command as the one argument of `ccmeter wrap`,
/// POSIX single-quoted so that `sh -c` hands it over byte for byte (after `--` when it starts
/// with `-`, which would read as an option).
pub fn wrap_command(exe: &str, offline: bool, theirs: &str) -> String {
    let offline = if offline { " --offline" } else { "" };
    let dashes = if theirs.starts_with('-') { " --" } else { "" };
    format!("{exe} wrap{offline}{dashes} {}", single_quote(theirs))
}

/// Whether their command can be wrapped so that it reaches `ccmeter wrap` unchanged. Always on
/// Unix (single quotes keep every byte). On Windows the same string may be run by PowerShell,
/// where `'\''` means nothing and double quotes are stripped on the way to a native program
/// (anthropics/claude-code#88256), so a command holding either quote is not wrapped there.
pub fn can_wrap(theirs: &str, windows: bool) -> bool {
    let quoted = windows && theirs.contains(['\'', '"']);
    !theirs.trim().is_empty() && !quoted
}

/// What a command already in the settings runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ours {
    /// ccmeter's status line (any path, any arguments but `wrap`), as `args` after the program.
    Line { args: Vec<String> },
    /// `ccmeter wrap … COMMAND`, with `COMMAND` as the shell would pass it.
    Wrap { theirs: String },
    /// `ccmeter hook`.
    Hook,
    /// ccmeter run some other way (`ccmeter wrap` that cannot be read, a pipeline after it).
    Other,
}

/// Whether `command` runs ccmeter, and how; `None` for anyone else's command.
pub fn classify(command: &str) -> Option<Ours> {
    let (words, complete) = shell_words(command);
    // `CCMETER_TTL=60 ccmeter`: assignments before the program are not the program.
    let skip = words.iter().take_while(|w| is_assignment(&w.text)).count();
    let program = words.get(skip)?;
    if !is_ccmeter(&program.text) && !is_ccmeter(program.raw(command)) {
        return None;
    }
    let args: Vec<&str> = words[skip + 1..].iter().map(|w| w.text.as_str()).collect();
    Some(match args.as_slice() {
        _ if !complete => Ours::Other,
        ["hook"] => Ours::Hook,
        ["wrap", rest @ ..] => match wrapped(rest) {
            Some(theirs) => Ours::Wrap {
                theirs: theirs.to_string(),
            },
            None => Ours::Other,
        },
        _ => Ours::Line {
            args: args.iter().map(|a| a.to_string()).collect(),
        },
    })
}

/// `command` (ccmeter's line or its wrap) with `--offline` added where ccmeter reads it: after
/// `wrap` for a wrap, at the end for the line. `None` when it has it already, or is not one of
/// those.
pub fn add_offline(command: &str) -> Option<String> {
    let (words, complete) = shell_words(command);
    if !complete {
        return None;
    }
    let skip = words.iter().take_while(|w| is_assignment(&w.text)).count();
    let program = words.get(skip)?;
    if !is_ccmeter(&program.text) && !is_ccmeter(program.raw(command)) {
        return None;
    }
    let rest = &words[skip + 1..];
    if rest.iter().any(|w| w.text == "--offline") {
        return None;
    }
    let at = match rest.first().map(|w| w.text.as_str()) {
        Some("wrap") => rest[0].end,
        Some("hook") => return None,
        _ => words.last()?.end,
    };
    Some(format!("{} --offline{}", &command[..at], &command[at..]))
}

/// The COMMAND among `ccmeter wrap`'s arguments: the one that is not an option or its value.
fn wrapped<'a>(args: &[&'a str]) -> Option<&'a str> {
    let mut it = args.iter();
    let mut command = None;
    while let Some(&a) = it.next() {
        match a {
            // Whatever follows `--` is COMMAND, and nothing may follow it.
            "--" if command.is_none() => {
                command = Some(*it.next()?);
                return it.next().is_none().then_some(command?);
            }
            "--inline" | "--offline" => {}
            "--color" | "--colour" | "--format" => {
                it.next()?;
            }
            _ if a.starts_with("--") && a.contains('=') => {}
            _ if command.is_none() => command = Some(a),
            _ => return None,
        }
    }
    command
}

/// `name` is a program named ccmeter: `ccmeter`, `/opt/bin/ccmeter`, `C:/x/ccmeter.exe`.
fn is_ccmeter(word: &str) -> bool {
    let name = word.rsplit(['/', '\\']).next().unwrap_or(word);
    name == "ccmeter" || name.eq_ignore_ascii_case("ccmeter.exe")
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// One word of a command as `sh` would split it: its text after quote removal, and where its
/// bytes are in the command.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    text: String,
    start: usize,
    end: usize,
}

impl Word {
    fn raw<'c>(&self, command: &'c str) -> &'c str {
        &command[self.start..self.end]
    }
}

/// Splits a command into words as a POSIX shell does for a simple command: blanks separate,
/// `'…'` keeps everything, `"…"` keeps everything but `\` before `$`, `` ` ``, `"`, `\` and a
/// newline, a `\` outside quotes keeps the next character. It stops at the first unquoted
/// operator or expansion (`;`, `|`, `&`, `<`, `>`, `(`, `)`, `$`, `` ` ``, a newline, a `#`
/// starting a word) or an unterminated quote; `complete` says whether it got to the end.
fn shell_words(command: &str) -> (Vec<Word>, bool) {
    let mut words = Vec::new();
    let mut chars = command.char_indices().peekable();
    let mut current: Option<Word> = None;
    while let Some(&(i, c)) = chars.peek() {
        match c {
            ' ' | '\t' => {
                chars.next();
                if let Some(w) = current.take() {
                    words.push(w);
                }
                continue;
            }
            ';' | '|' | '&' | '<' | '>' | '(' | ')' | '$' | '`' | '\n' => {
                return (words, false);
            }
            '#' if current.is_none() => return (words, false),
            _ => {}
        }
        let word = current.get_or_insert_with(|| Word {
            text: String::new(),
            start: i,
            end: i,
        });
        chars.next();
        match c {
            '\'' => loop {
                match chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, q)) => word.text.push(q),
                    None => return (words, false),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, e @ ('$' | '`' | '"' | '\\'))) => word.text.push(e),
                        Some((_, '\n')) => {}
                        Some((_, e)) => {
                            word.text.push('\\');
                            word.text.push(e);
                        }
                        None => return (words, false),
                    },
                    // An expansion inside double quotes: not a word we can read.
                    Some((_, '$' | '`')) => return (words, false),
                    Some((_, q)) => word.text.push(q),
                    None => return (words, false),
                }
            },
            '\\' => match chars.next() {
                Some((_, '\n')) => {}
                Some((_, e)) => word.text.push(e),
                None => return (words, false),
            },
            c => word.text.push(c),
        }
        word.end = chars.peek().map_or(command.len(), |&(j, _)| j);
    }
    if let Some(w) = current.take() {
        words.push(w);
    }
    (words, true)
}

/// POSIX single quotes: every byte literal, `'` written as `'\''`.
fn single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Quotes a path for the shell Claude Code runs commands with on Unix, only when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c));
    if plain {
        s.to_string()
    } else {
        single_quote(s)
    }
}

/// Why this binary's path cannot be written as a Windows command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeWindowsPath(pub String);

/// The command for this binary on Windows. Claude Code runs the string verbatim through Git
/// Bash, where a backslash is an escape (`C:\Users\me\ccmeter.exe` becomes `C:Usersmeccmeter.exe`,
/// anthropics/claude-code#79236, #60239), or through `powershell -Command`, which loses the
/// quotes around a path with spaces (#88256). So: the bare name when `ccmeter` on PATH is this
/// binary (also survives upgrades to another folder), else the path with forward slashes, which
/// Windows, Git Bash and PowerShell all read, and only if it needs no quoting at all.
pub fn windows_command(exe: &str, on_path: bool) -> Result<String, UnsafeWindowsPath> {
    if on_path {
        return Ok("ccmeter".into());
    }
    // `fs::canonicalize` gives `\\?\C:\…`; the prefix means nothing to a shell.
    let exe = exe.strip_prefix(r"\\?\").unwrap_or(exe);
    let path = exe.replace('\\', "/");
    // Letters of any script are plain to both shells; `,` is PowerShell's array operator.
    let plain = !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_alphanumeric() || "/._-+:~".contains(c));
    if plain {
        Ok(path)
    } else {
        Err(UnsafeWindowsPath(path))
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

    fn words(c: &str) -> (Vec<String>, bool) {
        let (w, complete) = shell_words(c);
        (w.into_iter().map(|w| w.text).collect(), complete)
    }

    #[test]
    fn words_as_sh_splits_them() {
        assert_eq!(
            words(r#"a 'b c' "d \"e\" \$f \g" h\ i j''k"#),
            (
                vec![
                    "a".into(),
                    "b c".into(),
                    r#"d "e" $f \g"#.into(),
                    "h i".into(),
                    "jk".into()
                ],
                true
            )
        );
        assert!(!words("a; b").1);
        assert!(!words("a 'b").1);
        assert!(!words("a $HOME").1);
        assert!(!words("a \"$HOME\"").1);
        assert_eq!(words("a # b"), (vec!["a".into()], false));
        assert_eq!(words("a#b"), (vec!["a#b".into()], true));
    }

    #[test]
    fn wrap_quotes_their_command_for_sh_and_reads_it_back() {
        for theirs in [
            "npx -y ccstatusline@latest",
            r#"bash -c 'printf "%s\n" "$(pwd)"' # it's"#,
            "~/bin/line.sh\t--x",
            "multi\nline",
            "-x --y",
            "--",
            "",
        ] {
            let c = wrap_command("/usr/bin/ccmeter", false, theirs);
            assert_eq!(
                classify(&c),
                Some(Ours::Wrap {
                    theirs: theirs.into()
                }),
                "{c}"
            );
            let c = wrap_command("'/a b/ccmeter'", true, theirs);
            assert!(c.starts_with("'/a b/ccmeter' wrap --offline "), "{c}");
            assert_eq!(
                classify(&c),
                Some(Ours::Wrap {
                    theirs: theirs.into()
                })
            );
        }
        assert_eq!(
            wrap_command("ccmeter", false, "it's"),
            r"ccmeter wrap 'it'\''s'"
        );
        // Options before COMMAND, as the user may have added them.
        assert_eq!(
            classify("ccmeter wrap --inline --color zsh --format '{5h}' 'x y'"),
            Some(Ours::Wrap {
                theirs: "x y".into()
            })
        );
        assert_eq!(classify("ccmeter wrap a b"), Some(Ours::Other));
        assert_eq!(classify("ccmeter wrap -- a b"), Some(Ours::Other));
        assert_eq!(wrap_command("ccmeter", false, "-x"), "ccmeter wrap -- '-x'");
    }

    #[test]
    fn ccmeter_at_any_path_with_any_arguments_is_ours() {
        let line = |args: &[&str]| {
            Some(Ours::Line {
                args: args.iter().map(|a| a.to_string()).collect(),
            })
        };
        assert_eq!(classify("ccmeter"), line(&[]));
        assert_eq!(classify("/opt/tools/ccmeter"), line(&[]));
        assert_eq!(
            classify(r#"/opt/tools/ccmeter --format "{5h} {7d}" --color zsh"#),
            line(&["--format", "{5h} {7d}", "--color", "zsh"])
        );
        assert_eq!(
            classify("'/Users/a b/ccmeter' --offline"),
            line(&["--offline"])
        );
        assert_eq!(classify("CCMETER_TTL=60 ccmeter"), line(&[]));
        assert_eq!(classify("C:/Users/me/bin/ccmeter.exe"), line(&[]));
        assert_eq!(classify(r"C:\Users\me\bin\ccmeter.exe"), line(&[]));
        assert_eq!(classify("ccmeter hook"), Some(Ours::Hook));
        assert_eq!(classify("/x/ccmeter hook"), Some(Ours::Hook));
        assert_eq!(classify("ccmeter | cat"), Some(Ours::Other));
        for theirs in [
            "starship statusline",
            "npx ccmeter-like",
            "/bin/ccmeter2",
            "echo ccmeter",
            "",
            "X=1",
        ] {
            assert_eq!(classify(theirs), None, "{theirs}");
        }
    }

    #[test]
    fn offline_goes_where_ccmeter_reads_it() {
        assert_eq!(
            add_offline("/x/ccmeter").as_deref(),
            Some("/x/ccmeter --offline")
        );
        assert_eq!(
            add_offline("ccmeter --color zsh  ").as_deref(),
            Some("ccmeter --color zsh --offline  ")
        );
        assert_eq!(
            add_offline("ccmeter wrap --inline 'a b'").as_deref(),
            Some("ccmeter wrap --offline --inline 'a b'")
        );
        assert_eq!(add_offline("ccmeter --offline"), None);
        assert_eq!(add_offline("ccmeter wrap --offline x"), None);
        assert_eq!(add_offline("ccmeter hook"), None);
        assert_eq!(add_offline("starship"), None);
        let c = add_offline(&wrap_command("ccmeter", false, "it's x")).unwrap();
        assert_eq!(
            classify(&c),
            Some(Ours::Wrap {
                theirs: "it's x".into()
            })
        );
    }

    #[test]
    fn windows_commands_need_no_quoting_in_git_bash_or_powershell() {
        assert_eq!(
            windows_command(r"C:\Users\me\.local\bin\ccmeter.exe", false),
            Ok("C:/Users/me/.local/bin/ccmeter.exe".into())
        );
        assert_eq!(
            windows_command(r"\\?\C:\tools\ccmeter.exe", false),
            Ok("C:/tools/ccmeter.exe".into())
        );
        assert_eq!(
            windows_command(r"C:\Program Files\ccmeter\ccmeter.exe", true),
            Ok("ccmeter".into())
        );
        assert_eq!(
            windows_command(r"C:\Program Files\ccmeter\ccmeter.exe", false),
            Err(UnsafeWindowsPath(
                "C:/Program Files/ccmeter/ccmeter.exe".into()
            ))
        );
        assert!(windows_command(r"C:\Users\o'brien\ccmeter.exe", false).is_err());
        assert!(windows_command(r"C:\x$y\ccmeter.exe", false).is_err());
        assert!(windows_command(r"C:\a,b\ccmeter.exe", false).is_err());
        assert_eq!(
            windows_command(r"C:\Users\José\ccmeter.exe", false),
            Ok("C:/Users/José/ccmeter.exe".into())
        );
        // What is written is read back as ccmeter.
        let c = windows_command(r"C:\Users\me\bin\ccmeter.exe", false).unwrap();
        assert_eq!(classify(&c), Some(Ours::Line { args: vec![] }));
    }

    #[test]
    fn windows_wraps_only_commands_without_quotes() {
        assert!(can_wrap("npx -y ccstatusline@latest", true));
        assert!(can_wrap("C:/tools/line.exe --x", true));
        assert!(!can_wrap(r#"node "C:/a b/x.js""#, true));
        assert!(!can_wrap("it's", true));
        assert!(can_wrap(r#"node "x.js" it's"#, false));
        assert!(!can_wrap("  ", false));
    }
}
