//! A `settings.json` read for editing, and every way setup refuses one: the bytes must be a JSON
//! object serde_json accepts (it validates and gives the positions a user can act on) before the
//! span reader in [`super::json`] maps them.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::json::{self, Node};

/// Why setup refused to change the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    /// The file is not JSON; line and column are 1-based as the user's editor shows them.
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        detail: String,
    },
    /// JSON that Claude Code reads but serde_json refuses (see [`refused_valid`]).
    Refused {
        path: PathBuf,
        line: usize,
        column: usize,
        what: &'static str,
    },
    /// The file starts with a UTF-8 byte order mark, which JSON does not allow.
    Bom {
        path: PathBuf,
    },
    /// The file is JSON but its top level is not an object.
    NotAnObject {
        path: PathBuf,
        found: &'static str,
    },
    /// A key we need to change holds something we do not understand (e.g. `hooks` is a string).
    UnexpectedShape {
        path: PathBuf,
        key: String,
        expected: &'static str,
    },
    /// Someone else's status line is configured, and ccmeter cannot run beside it.
    OtherStatusLine {
        path: PathBuf,
        command: String,
        why: &'static str,
    },
    /// `settings.json` is a symlink whose target does not exist.
    DanglingLink {
        path: PathBuf,
        target: PathBuf,
    },
    ReadOnly {
        path: PathBuf,
    },
    /// Not a regular file (a FIFO, a device, a directory): never opened for reading.
    NotRegular {
        path: PathBuf,
    },
    /// Larger than setup reads; not read at all.
    TooLarge {
        path: PathBuf,
        max_mib: u64,
    },
    /// Another program kept saving the file while setup was writing it.
    KeptChanging {
        path: PathBuf,
    },
    /// This binary's path cannot be written as a command Claude Code runs on Windows.
    WindowsPath {
        path: String,
    },
    Io {
        path: PathBuf,
        action: &'static str,
        error: String,
    },
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::InvalidJson {
                path,
                line,
                column,
                detail,
            } => write!(
                f,
                "{} is not valid JSON (line {line}, column {column}: {detail}); \
                 fix it or move it away, it was not changed",
                path.display()
            ),
            SetupError::Refused {
                path,
                line,
                column,
                what,
            } => write!(
                f,
                "{} is JSON that setup's reader refuses: {what} (line {line}, column {column}); \
                 it was not changed",
                path.display()
            ),
            SetupError::Bom { path } => write!(
                f,
                "{} starts with a byte order mark (BOM), which JSON does not allow; \
                 save it as UTF-8 without BOM and run setup again, it was not changed",
                path.display()
            ),
            SetupError::NotAnObject { path, found } => write!(
                f,
                "{} holds {found} at the top level, not a JSON object; it was not changed",
                path.display()
            ),
            SetupError::UnexpectedShape {
                path,
                key,
                expected,
            } => write!(
                f,
                "in {}, `{key}` is not {expected}; fix it by hand, the file was not changed",
                path.display()
            ),
            SetupError::OtherStatusLine { path, command, why } => write!(
                f,
                "{} already has a different statusLine ({command}), which ccmeter cannot run \
                 beside it ({why}); it was left alone. Run `ccmeter setup --force` to replace \
                 it (`--uninstall` puts it back), or `ccmeter setup --hooks` for the hooks alone",
                path.display()
            ),
            SetupError::DanglingLink { path, target } => write!(
                f,
                "{} is a symlink to {}, which does not exist; create that file (`{{}}` will do) \
                 or remove the link, then run setup again. Nothing was changed",
                path.display(),
                target.display()
            ),
            SetupError::ReadOnly { path } => write!(
                f,
                "{} is read-only; make it writable (chmod u+w) and run setup again, it was not changed",
                path.display()
            ),
            SetupError::NotRegular { path } => write!(
                f,
                "{} is not a regular file (a named pipe, a device or a directory?); setup \
                 edits only a regular file, it was not changed",
                path.display()
            ),
            SetupError::TooLarge { path, max_mib } => write!(
                f,
                "{} is larger than setup reads ({max_mib} MiB); it was not changed",
                path.display()
            ),
            SetupError::KeptChanging { path } => write!(
                f,
                "{} kept being saved by another program while setup was writing it; it was not \
                 changed by setup, run setup again once that program is done",
                path.display()
            ),
            SetupError::WindowsPath { path } => write!(
                f,
                "ccmeter is at {path}, which Claude Code cannot run as a command on Windows (Git \
                 Bash and PowerShell mangle spaces, quotes and other special characters in it); \
                 put the folder holding ccmeter.exe on PATH (the status line then runs \
                 `ccmeter`) or install it in a folder whose path has none, then run setup again. \
                 Nothing was changed"
            ),
            SetupError::Io {
                path,
                action,
                error,
            } => {
                write!(f, "could not {action} {}: {error}", path.display())
            }
        }
    }
}

/// A settings file read for editing: its text and where everything in it is.
#[derive(Debug, Clone)]
pub struct Settings {
    pub text: String,
    pub(super) root: Node,
}

impl Settings {
    /// What setup starts from when there is no file: an empty object, as Claude Code writes it.
    pub fn empty() -> Settings {
        Settings::from_valid("{}\n".into()).expect("`{}` is JSON")
    }

    pub(super) fn from_valid(text: String) -> Result<Settings, String> {
        let root = json::parse(&text)?;
        Ok(Settings { text, root })
    }
}

/// Pure: bytes of a settings file -> its text and spans, if it is a JSON object.
pub fn parse_settings(bytes: &[u8], path: &Path) -> Result<Settings, SetupError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(SetupError::Bom {
            path: path.to_path_buf(),
        });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let detail = strip_position(&e.to_string());
        match refused_valid(&detail) {
            Some(what) => SetupError::Refused {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                what,
            },
            None => SetupError::InvalidJson {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                detail,
            },
        }
    })?;
    let found = match value {
        Value::Object(_) => None,
        Value::Null => Some("null"),
        Value::Bool(_) => Some("a boolean"),
        Value::Number(_) => Some("a number"),
        Value::String(_) => Some("a string"),
        Value::Array(_) => Some("an array"),
    };
    if let Some(found) = found {
        return Err(SetupError::NotAnObject {
            path: path.to_path_buf(),
            found,
        });
    }
    // serde_json accepted it, so it is UTF-8 and the span reader cannot fail on it.
    let invalid = |detail: String| SetupError::InvalidJson {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        detail,
    };
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| invalid(e.to_string()))?;
    Settings::from_valid(text).map_err(invalid)
}

/// What serde_json refused, when JSON.parse (Claude Code) would have read it: serde_json stops
/// at 128 levels of nesting, at numbers beyond an f64 (JSON.parse makes 1e400 `Infinity`) and at
/// a lone UTF-16 surrogate in a `\u` escape (JSON.parse keeps it). Its error codes are not
/// public, so their messages are matched; each one is raised only for these cases.
fn refused_valid(detail: &str) -> Option<&'static str> {
    if detail.starts_with("recursion limit exceeded") {
        Some("arrays and objects nested deeper than 128 levels")
    } else if detail.starts_with("number out of range") {
        Some("a number too large for a 64-bit float (such as 1e400)")
    } else if detail.starts_with("lone leading surrogate in hex escape")
        || detail.starts_with("unexpected end of hex escape")
    {
        Some("a \\u escape of half a UTF-16 surrogate pair (a lone surrogate)")
    } else {
        None
    }
}

/// serde_json appends " at line L column C", which the message already says.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/h/.claude/settings.json")
    }

    #[test]
    fn parse_errors_name_line_and_column_and_the_bom() {
        let err = parse_settings(b"{\n  \"a\": 1,\n  oops\n}", p()).unwrap_err();
        let SetupError::InvalidJson { line, column, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!((line, column), (3, 3));
        let msg = parse_settings(b"{\n  \"a\": 1,\n  oops\n}", p())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("/h/.claude/settings.json") && msg.contains("line 3, column 3"),
            "{msg}"
        );
        let err = parse_settings(b"[1]", p()).unwrap_err();
        assert!(err.to_string().contains("an array"), "{err}");
        let err = parse_settings(b"\xEF\xBB\xBF{}", p()).unwrap_err();
        assert!(err.to_string().contains("BOM"), "{err}");
    }
}
