//! `ccmeter setup`: wires ccmeter into Claude Code's `settings.json` as the `statusLine` command
//! (and, with `--hooks`, as a hook on the events it warns on), or takes it out again.
//!
//! The file belongs to the user, so this command is careful rather than clever: it never touches a
//! file it cannot parse, never replaces someone else's status line without `--force`, shows a diff
//! before writing, keeps a timestamped backup next to the file, and writes atomically. It edits
//! only the bytes that must change ([`json`] splices exact spans): number literals, key order,
//! indentation, line endings and empty containers all stay as they were, and a new item copies
//! the layout of its siblings, so `setup` then `setup --uninstall` gives back the original file.
//!
//! What the file alone cannot tell uninstall (the status line `--force` replaced, which containers
//! were empty before setup added to them) is kept in a small record next to the store
//! (`<cache dir>/<account>.setup.json`); without it, uninstall still removes everything of
//! ccmeter's and tidies away the containers that removal empties.
//!
//! It does not understand JSON with comments, which Claude Code does not accept either, and it
//! refuses a file that starts with a byte order mark rather than guess whether to keep it.
//!
//! The decisions ([`install`], [`uninstall`], [`line_diff`]) are pure; [`run`] does the I/O.

mod json;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cli::{Config, SetupArgs};
use crate::files::write_atomic;

use json::Node;

/// The hook events every Claude Code with hooks knows: before each prompt, and at session start.
const BASE_EVENTS: [&str; 2] = ["UserPromptSubmit", "SessionStart"];

/// Events that arrived later, with the first Claude Code version that has each. An older client
/// may reject a settings file naming an event it does not know, so these are added only for a
/// version ccmeter has seen. `StopFailure`: CHANGELOG.md of anthropics/claude-code, 2.1.78
/// ("Added `StopFailure` hook event"). `PreModelSwitch` is not in that changelog; the Agent SDK's
/// `HOOK_EVENTS` (whose `claudeCodeVersion` tracks the client) lists it from 2.1.251 on, not in
/// 2.1.250.
const LATER_EVENTS: [(&str, Version); 2] = [
    ("PreModelSwitch", Version(2, 1, 251)),
    ("StopFailure", Version(2, 1, 78)),
];

/// Seconds between re-runs of the status line while nothing happens (`statusLine.refreshInterval`
/// is in the settings schema of the 2.1.197 and 2.1.332 clients; older ones drop unknown keys). ccmeter costs about a
/// millisecond a run, and `↻42m` / `(12m ago)` then stay true while the user is idle.
pub const REFRESH_INTERVAL: u64 = 30;

/// A Claude Code version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// `2.1.330`, also with a suffix (`2.1.330-beta.1`); `None` for anything else.
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.trim().splitn(3, '.');
        let mut num = |last: bool| -> Option<u32> {
            let p = parts.next()?;
            let digits = if last {
                &p[..p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len())]
            } else {
                p
            };
            digits.parse().ok()
        };
        Some(Version(num(false)?, num(false)?, num(true)?))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The hook events to wire for the Claude Code version ccmeter last saw (`None`: not seen yet),
/// and the later ones left out.
pub fn hook_events(seen: Option<Version>) -> (Vec<&'static str>, Vec<(&'static str, Version)>) {
    let mut on: Vec<&str> = BASE_EVENTS.to_vec();
    let mut left_out = Vec::new();
    for (event, since) in LATER_EVENTS {
        if seen.is_some_and(|v| v >= since) {
            on.push(event);
        } else {
            left_out.push((event, since));
        }
    }
    (on, left_out)
}

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
    /// Someone else's status line is configured.
    OtherStatusLine {
        path: PathBuf,
        command: String,
    },
    /// `settings.json` is a symlink whose target does not exist.
    DanglingLink {
        path: PathBuf,
        target: PathBuf,
    },
    ReadOnly {
        path: PathBuf,
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
            SetupError::OtherStatusLine { path, command } => write!(
                f,
                "{} already has a different statusLine ({command}); it was left alone. \
                 Run `ccmeter setup --force` to replace it (`--uninstall` puts it back), \
                 or `ccmeter setup --hooks` for the hooks alone",
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
    root: Node,
}

impl Settings {
    /// What setup starts from when there is no file: an empty object, as Claude Code writes it.
    pub fn empty() -> Settings {
        Settings::from_valid("{}\n".into()).expect("`{}` is JSON")
    }

    fn from_valid(text: String) -> Result<Settings, String> {
        let root = json::parse(&text)?;
        Ok(Settings { text, root })
    }
}

/// What the file cannot remember for uninstall; kept by [`run`] beside the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The settings file this is about (a record for another file is ignored).
    #[serde(default)]
    pub settings: String,
    /// The exact bytes of the statusLine value `--force` replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_status_line: Option<String>,
    /// Containers that were empty before setup added to them, and their bytes between the
    /// brackets, so that uninstall leaves them as they were instead of removing them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub were_empty: Vec<WasEmpty>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WasEmpty {
    /// Keys from the top level (`[]` is the top-level object, `["hooks", "SessionStart"]`).
    pub path: Vec<String>,
    pub inner: String,
}

impl Record {
    fn was_empty(&self, path: &[&str]) -> Option<&str> {
        self.were_empty
            .iter()
            .find(|w| w.path.iter().map(String::as_str).eq(path.iter().copied()))
            .map(|w| w.inner.as_str())
            // Only whitespace can go back between brackets without changing what they hold.
            .filter(|inner| inner.trim().is_empty())
    }

    /// Notes `node` at `path` if it is empty now, before setup adds to it.
    fn note_if_empty(&mut self, text: &str, node: &Node, path: &[&str]) {
        let inner = json::inner(text, node);
        // An empty top level goes back to `{}` without being told.
        let default = path.is_empty() && inner.is_empty();
        if node.children().is_empty() && !default && self.was_empty(path).is_none() {
            self.were_empty.push(WasEmpty {
                path: path.iter().map(|s| s.to_string()).collect(),
                inner: inner.to_string(),
            });
        }
    }

    /// Setup is about to create `path`: anything remembered about an earlier one is stale.
    fn forget_under(&mut self, path: &[&str]) {
        self.were_empty.retain(|w| {
            !w.path
                .iter()
                .map(String::as_str)
                .take(path.len())
                .eq(path.iter().copied())
        });
    }
}

/// Something the user should know about an install that still went ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// `--hooks` beside another tool's status line: only the hooks were added.
    OtherStatusLineKept { command: String },
    /// `--force` replaced this status line; the record keeps it for `--uninstall`.
    Replaced { command: String },
    /// Hook events left out for the Claude Code version seen (`None`: none seen yet).
    EventsLeftOut {
        seen: Option<String>,
        events: Vec<(&'static str, Version)>,
    },
}

/// What [`install`] would make of the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub text: String,
    pub record: Record,
    pub notes: Vec<Note>,
}

/// What `setup` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The (shell-quoted) path of this binary, as the command Claude Code will run.
    pub exe: &'a str,
    /// `--hooks`: the events to wire.
    pub hooks: Option<&'a [&'a str]>,
    pub force: bool,
}

/// The `statusLine` value ccmeter installs.
pub fn status_line(command: &str) -> Value {
    json!({"type": "command", "command": command, "padding": 0, "refreshInterval": REFRESH_INTERVAL})
}

/// The hook command for `exe`.
pub fn hook_command(exe: &str) -> String {
    format!("{exe} hook")
}

fn hook_group(command: &str) -> Value {
    json!({"hooks": [{"type": "command", "command": command}]})
}

fn reparse(text: &str, path: &Path) -> Result<Node, SetupError> {
    json::parse(text).map_err(|detail| SetupError::InvalidJson {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        detail,
    })
}

/// Pure: the settings with ccmeter installed. An existing statusLine running the same command is
/// kept as it is (the user may have tuned its padding; only a missing `refreshInterval` is
/// added); a different one is an error unless `force`, or left alone when hooks were asked for.
pub fn install(
    settings: &Settings,
    record: &Record,
    req: Request<'_>,
    path: &Path,
) -> Result<Plan, SetupError> {
    let shape = |key: &str, expected| SetupError::UnexpectedShape {
        path: path.to_path_buf(),
        key: key.into(),
        expected,
    };
    let mut text = settings.text.clone();
    let mut record = record.clone();
    let mut notes = Vec::new();
    let style = json::style(&text, &settings.root);

    let root = &settings.root;
    match root.member("statusLine") {
        None => {
            record.replaced_status_line = None;
            record.note_if_empty(&text, root, &[]);
            text = json::append(
                &text,
                &style,
                root,
                Some("statusLine"),
                &status_line(req.exe),
            );
        }
        Some((_, m)) => {
            let value = m.value.value(&text);
            match command_of(&value) {
                // This binary, or ccmeter found on PATH: already wired.
                Some(c) if c == req.exe || c.split_whitespace().next() == Some("ccmeter") => {
                    if m.value.is_object() && value.get("refreshInterval").is_none() {
                        text = json::append(
                            &text,
                            &style,
                            &m.value,
                            Some("refreshInterval"),
                            &json!(REFRESH_INTERVAL),
                        );
                    }
                }
                // An older install of ccmeter at another path: moved to this one, no --force
                // needed and nothing worth putting back.
                Some(c) if is_ours(c, req.exe) => {
                    text = json::replace(&text, &style, &m.value, &status_line(req.exe));
                }
                _ if req.force => {
                    record.replaced_status_line =
                        Some(text[m.value.start..m.value.end].to_string());
                    notes.push(Note::Replaced {
                        command: describe(&value),
                    });
                    text = json::replace(&text, &style, &m.value, &status_line(req.exe));
                }
                _ if req.hooks.is_some() => notes.push(Note::OtherStatusLineKept {
                    command: describe(&value),
                }),
                _ => {
                    return Err(SetupError::OtherStatusLine {
                        path: path.to_path_buf(),
                        command: describe(&value),
                    });
                }
            }
        }
    }

    let command = hook_command(req.exe);
    for event in req.hooks.unwrap_or_default() {
        let root = reparse(&text, path)?;
        let Some((_, hooks)) = root.member("hooks") else {
            record.forget_under(&["hooks"]);
            record.note_if_empty(&text, &root, &[]);
            text = json::append(
                &text,
                &style,
                &root,
                Some("hooks"),
                &json!({ *event: [hook_group(&command)] }),
            );
            continue;
        };
        if !hooks.value.is_object() {
            return Err(shape("hooks", "an object"));
        }
        let Some((_, groups)) = hooks.value.member(event) else {
            record.forget_under(&["hooks", event]);
            record.note_if_empty(&text, &hooks.value, &["hooks"]);
            text = json::append(
                &text,
                &style,
                &hooks.value,
                Some(event),
                &json!([hook_group(&command)]),
            );
            continue;
        };
        if !groups.value.is_array() {
            return Err(shape(&format!("hooks.{event}"), "an array"));
        }
        // A `ccmeter hook` at another path (an older install, or a bare `ccmeter hook` found on
        // PATH) is ours too: the first one is pointed at this binary, never doubled.
        let ours = groups.value.children().iter().find_map(|group| {
            let (_, hooks) = group.value.member("hooks")?;
            hooks.value.children().iter().find_map(|hook| {
                let (_, cmd) = hook.value.member("command")?;
                let c = cmd.value.value(&text);
                c.as_str()
                    .filter(|c| is_our_hook(c))
                    .map(|c| (c == command, cmd.value.clone()))
            })
        });
        let present = ours.is_some();
        if let Some((false, node)) = ours
            && !node_is_bare_path_hook(&node, &text)
        {
            text = json::replace(&text, &style, &node, &json!(command));
        }
        if !present {
            record.note_if_empty(&text, &groups.value, &["hooks", event]);
            text = json::append(&text, &style, &groups.value, None, &hook_group(&command));
        }
    }
    Ok(Plan {
        text,
        record,
        notes,
    })
}

/// Pure: the settings without ccmeter's statusLine and hooks. A statusLine or hook that runs
/// something else is left alone; the status line `--force` replaced is put back. Containers that
/// removal empties go too, unless the record says they were there, empty, before setup.
pub fn uninstall(
    settings: &Settings,
    record: &Record,
    exe: &str,
    path: &Path,
) -> Result<String, SetupError> {
    let mut text = settings.text.clone();
    let root = &settings.root;
    if let Some((i, m)) = root.member("statusLine") {
        let ours = command_of(&m.value.value(&text)).is_some_and(|c| is_ours(c, exe));
        let previous = record
            .replaced_status_line
            .as_deref()
            .filter(|raw| serde_json::from_str::<Value>(raw).is_ok());
        match previous {
            Some(raw) if ours => text = json::splice(&text, m.value.start, m.value.end, raw),
            None if ours => text = remove_or_empty(&text, root, i, &[], record),
            _ => {}
        }
    }

    let hook = hook_command(exe);
    let is_our_entry = |h: &Value| command_of(h).is_some_and(|c| c == hook || is_our_hook(c));
    // One entry per pass, re-reading the spans after each splice. Each pass removes a hook, so
    // the number of hooks bounds it; the cap only guards against a mistake here.
    for _ in 0..10_000 {
        let root = reparse(&text, path)?;
        let Some((hi, hooks)) = root.member("hooks") else {
            break;
        };
        let found = hooks
            .value
            .children()
            .iter()
            .enumerate()
            .find_map(|(ei, event)| {
                event
                    .value
                    .children()
                    .iter()
                    .enumerate()
                    .find_map(|(gi, group)| {
                        let (_, list) = group.value.member("hooks")?;
                        let k = list
                            .value
                            .children()
                            .iter()
                            .position(|h| is_our_entry(&h.value.value(&text)))?;
                        Some((ei, event, gi, list, k))
                    })
            });
        let Some((ei, event, gi, list, k)) = found else {
            break;
        };
        let event_name = event.key.as_deref().unwrap_or_default();
        text = if list.value.children().len() > 1 {
            json::remove(&text, &list.value, k)
        } else if event.value.children().len() > 1 {
            // The group held only ccmeter's hook: it goes, whatever matcher it had.
            json::remove(&text, &event.value, gi)
        } else if let Some(inner) = record.was_empty(&["hooks", event_name]) {
            json::set_inner(&text, &event.value, inner)
        } else if hooks.value.children().len() > 1 {
            json::remove(&text, &hooks.value, ei)
        } else if let Some(inner) = record.was_empty(&["hooks"]) {
            json::set_inner(&text, &hooks.value, inner)
        } else {
            remove_or_empty(&text, &root, hi, &[], record)
        };
    }
    Ok(text)
}

/// Removes child `i` of `container`; if it was the only one, the container keeps the bytes it
/// had before setup (or becomes `{}`).
fn remove_or_empty(text: &str, container: &Node, i: usize, path: &[&str], r: &Record) -> String {
    if container.children().len() > 1 {
        json::remove(text, container, i)
    } else {
        json::set_inner(text, container, r.was_empty(path).unwrap_or(""))
    }
}

/// A status line in words: its command, or its JSON.
fn describe(v: &Value) -> String {
    command_of(v)
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// The `command` of a statusLine or hook entry of type `command`.
fn command_of(v: &Value) -> Option<&str> {
    let o = v.as_object()?;
    if o.get("type").and_then(Value::as_str) != Some("command") {
        return None;
    }
    o.get("command").and_then(Value::as_str)
}

fn group_hooks(group: &Value) -> impl Iterator<Item = &Value> {
    group
        .get("hooks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Whether a statusLine command runs ccmeter: this binary, or any binary named `ccmeter`
/// (an older install at another path), with or without arguments.
fn is_ours(command: &str, exe: &str) -> bool {
    command == exe || program_name(command) == Some("ccmeter")
}

/// `ccmeter hook` found on PATH: left as the user wrote it.
fn node_is_bare_path_hook(node: &json::Node, text: &str) -> bool {
    node.value(text).as_str() == Some("ccmeter hook")
}

fn is_our_hook(command: &str) -> bool {
    program_name(command) == Some("ccmeter") && command.split_whitespace().skip(1).eq(["hook"])
}

/// The file name of a command's program, for unquoted commands.
fn program_name(command: &str) -> Option<&str> {
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

/// Pure: bytes of a settings file -> its text and spans, if it is a JSON object.
pub fn parse_settings(bytes: &[u8], path: &Path) -> Result<Settings, SetupError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(SetupError::Bom {
            path: path.to_path_buf(),
        });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| SetupError::InvalidJson {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        detail: strip_position(&e.to_string()),
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

/// serde_json appends " at line L column C", which the message already says.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Pure: a line diff of `before` and `after` (longest common subsequence), `-`/`+` for changed
/// lines and two lines of unchanged context around each change; `…` marks skipped lines.
pub fn line_diff(before: &str, after: &str) -> String {
    const CONTEXT: usize = 2;
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    // lcs[i][j] = length of the LCS of a[i..] and b[j..]. Settings files are small; a file big
    // enough to make this quadratic table costly is shown as a whole replacement instead.
    let ops: Vec<(char, &str)> = if a.len().saturating_mul(b.len()) > 4_000_000 {
        a.iter()
            .map(|l| ('-', *l))
            .chain(b.iter().map(|l| ('+', *l)))
            .collect()
    } else {
        let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i][j] = if a[i] == b[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j, mut ops) = (0, 0, Vec::new());
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                ops.push((' ', a[i]));
                i += 1;
                j += 1;
            } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
                ops.push(('-', a[i]));
                i += 1;
            } else {
                ops.push(('+', b[j]));
                j += 1;
            }
        }
        ops
    };
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, (t, _))| *t != ' ')
        .map(|(k, _)| k)
        .collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (tag, line)) in ops.iter().enumerate() {
        if *tag != ' ' || near(k) {
            if skipped {
                out.push_str("  …\n");
                skipped = false;
            }
            out.push(*tag);
            out.push(' ');
            out.push_str(line);
            out.push('\n');
        } else {
            skipped = true;
        }
    }
    if skipped && !out.is_empty() {
        out.push_str("  …\n");
    }
    out
}

/// `settings.json.bak-YYYYMMDD-HHMMSS` next to `path`, in local time.
pub fn backup_name(path: &Path, stamp: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{name}.bak-{stamp}"))
}

/// Local time as `YYYYMMDD-HHMMSS` (UTC where the local offset is unknown).
fn timestamp(now: i64) -> String {
    #[cfg(unix)]
    {
        let t = now as libc::time_t;
        // SAFETY: localtime_r only writes the struct we hand it.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        if !unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
            return format!(
                "{:04}{:02}{:02}-{:02}{:02}{:02}",
                tm.tm_year + 1900,
                tm.tm_mon + 1,
                tm.tm_mday,
                tm.tm_hour,
                tm.tm_min,
                tm.tm_sec
            );
        }
    }
    let t =
        time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The command Claude Code should run: the path this binary was started by when that names this
/// very file (so a stable symlink such as Homebrew's `bin/ccmeter` survives upgrades), else the
/// resolved path of the running executable.
fn executable_path() -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let real = fs::canonicalize(&exe).unwrap_or_else(|_| exe.clone());
    let invoked = std::env::args_os().next().map(PathBuf::from).and_then(|a| {
        if a.components().count() > 1 {
            std::env::current_dir().ok().map(|cwd| cwd.join(a))
        } else {
            std::env::var_os("PATH")
                .and_then(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join(&a))
                        .find(|c| c.is_file())
                })
                .filter(|c| c.is_absolute())
        }
    });
    Ok(match invoked {
        Some(p) if fs::canonicalize(&p).ok().as_ref() == Some(&real) => normalize(&p),
        _ => real,
    })
}

/// Drops `.` components (`./target/…` joined onto the cwd) without resolving symlinks.
fn normalize(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The file to edit: `settings.json` in the config dir, or the target of a symlink there
/// (dotfile managers link it; renaming over the link would silently replace it with a copy).
/// A link to nothing is refused rather than followed: creating a file wherever it points (a
/// dotfiles checkout not there yet, an unmounted disk) is not setup's call to make.
fn settings_path(config: &Config) -> Result<PathBuf, SetupError> {
    let path = config.config_dir.path.join("settings.json");
    match fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(&path) {
            Ok(real) => Ok(real),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let target = fs::read_link(&path).unwrap_or_default();
                let target = match path.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
                Err(SetupError::DanglingLink { path, target })
            }
            Err(e) => Err(SetupError::Io {
                path,
                action: "follow the symlink",
                error: e.to_string(),
            }),
        },
        _ => Ok(path),
    }
}

/// The original file, if there is one.
struct Existing {
    bytes: Vec<u8>,
    #[cfg(unix)]
    mode: u32,
}

fn read_existing(path: &Path) -> Result<Option<Existing>, SetupError> {
    let io_err = |action, e: io::Error| SetupError::Io {
        path: path.to_path_buf(),
        action,
        error: e.to_string(),
    };
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("read", e)),
    };
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .map_err(|e| io_err("read", e))?
            .permissions()
            .mode()
            & 0o7777
    };
    Ok(Some(Existing {
        bytes,
        #[cfg(unix)]
        mode,
    }))
}

/// Read-only means no write bit at all (which also holds for root, who could write anyway: the
/// user asked for the file to be left alone) or no write access for this user.
fn is_read_only(path: &Path, existing: &Existing) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        if existing.mode & 0o222 == 0 {
            return true;
        }
        let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: a valid NUL-terminated path; access only reads it.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) != 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = existing;
        fs::metadata(path).is_ok_and(|m| m.permissions().readonly())
    }
}

/// For `doctor`: whether Claude Code runs ccmeter as its status line, in words.
pub fn wiring(config: &Config) -> (bool, String) {
    let path = match settings_path(config) {
        Ok(p) => p,
        Err(e) => return (false, e.to_string()),
    };
    let existing = match read_existing(&path) {
        Ok(Some(e)) => e,
        Ok(None) => {
            return (
                false,
                format!("{} missing: run `ccmeter setup`", path.display()),
            );
        }
        Err(e) => return (false, e.to_string()),
    };
    let settings = match parse_settings(&existing.bytes, &path) {
        Ok(s) => s.root.value(&s.text),
        Err(e) => return (false, e.to_string()),
    };
    let hooks = settings
        .get("hooks")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, groups)| {
            groups
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(group_hooks)
                .filter_map(command_of)
                .any(is_our_hook)
        })
        .count();
    let hooks = if hooks > 0 {
        format!(", hook on {hooks} event(s)")
    } else {
        String::new()
    };
    let status_line = settings.get("statusLine");
    match status_line.and_then(command_of) {
        Some(cmd) if program_name(cmd) == Some("ccmeter") => {
            let idle = if status_line.is_some_and(|s| s.get("refreshInterval").is_none()) {
                format!(
                    "; no refreshInterval, so the line freezes while you are idle: \
                     `ccmeter setup` adds \"refreshInterval\": {REFRESH_INTERVAL}"
                )
            } else {
                String::new()
            };
            (
                true,
                format!("{}: statusLine runs {cmd}{hooks}{idle}", path.display()),
            )
        }
        Some(cmd) => (
            false,
            format!(
                "{}: statusLine runs {cmd}, not ccmeter (`ccmeter setup --force` replaces it)",
                path.display()
            ),
        ),
        None => (
            false,
            format!("{}: no statusLine: run `ccmeter setup`", path.display()),
        ),
    }
}

pub fn run(config: &Config, args: &SetupArgs) -> i32 {
    if !config.arg_errors.is_empty() {
        for e in &config.arg_errors {
            eprintln!("ccmeter setup: {e}");
        }
        eprintln!("usage: ccmeter setup [--hooks] [--dry-run] [--force] [--uninstall]");
        return 2;
    }
    match apply(config, args, crate::now()) {
        Ok(()) => 0,
        Err(SetupError::DanglingLink { path, target }) if args.uninstall => {
            println!(
                "{} is a symlink to {}, which does not exist: nothing of ccmeter's to remove",
                path.display(),
                target.display()
            );
            0
        }
        Err(e) => {
            eprintln!("ccmeter setup: {e}");
            1
        }
    }
}

/// The record of what uninstall needs, beside this account's store entry.
fn record_path(config: &Config) -> PathBuf {
    config.store.sidecar("setup.json")
}

/// The record for `settings`, if one was kept for that very file.
fn read_record(path: &Path, settings: &Path) -> Record {
    fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
        .filter(|r| Path::new(&r.settings) == settings)
        .unwrap_or_default()
}

fn apply(config: &Config, args: &SetupArgs, now: i64) -> Result<(), SetupError> {
    let path = settings_path(config)?;
    let exe = executable_path().map_err(|e| SetupError::Io {
        path: PathBuf::from("the ccmeter executable"),
        action: "locate",
        error: e.to_string(),
    })?;
    let exe = shell_quote(&exe.to_string_lossy());

    let existing = read_existing(&path)?;
    let before = match &existing {
        Some(e) => parse_settings(&e.bytes, &path)?,
        None => Settings::empty(),
    };
    let record_file = record_path(config);
    let mut record = read_record(&record_file, &path);
    record.settings = path.to_string_lossy().into_owned();

    let seen = config
        .store
        .read(now)
        .ok()
        .and_then(|e| e.claude_code_version);
    let (events, left_out) = hook_events(seen.as_deref().and_then(Version::parse));
    let plan = if args.uninstall {
        Plan {
            text: uninstall(&before, &record, &exe, &path)?,
            record: Record::default(),
            notes: Vec::new(),
        }
    } else {
        let mut plan = install(
            &before,
            &record,
            Request {
                exe: &exe,
                hooks: args.hooks.then_some(&events[..]),
                force: args.force,
            },
            &path,
        )?;
        if args.hooks && !left_out.is_empty() {
            plan.notes.push(Note::EventsLeftOut {
                seen,
                events: left_out,
            });
        }
        plan
    };
    let changed = plan.text != before.text || (existing.is_none() && !args.uninstall);
    if !changed {
        if args.uninstall {
            println!(
                "{}: nothing of ccmeter's to remove; not changed",
                path.display()
            );
        } else {
            println!("{}: already set up; not changed", path.display());
        }
        print_notes(&plan.notes, &record_file);
        return Ok(());
    }
    if let Some(e) = &existing {
        if !args.dry_run && is_read_only(&path, e) {
            return Err(SetupError::ReadOnly { path });
        }
    }

    match &existing {
        Some(_) => println!(
            "--- {}\n+++ {} (after setup)",
            path.display(),
            path.display()
        ),
        None => println!("--- (no file)\n+++ {} (new)", path.display()),
    }
    let old_text = if existing.is_some() {
        &before.text[..]
    } else {
        ""
    };
    print!("{}", line_diff(old_text, &plan.text));
    if args.dry_run {
        println!("dry run: {} not changed", path.display());
        print_notes(&plan.notes, &record_file);
        return Ok(());
    }

    let io_err = |path: &Path, action, e: io::Error| SetupError::Io {
        path: path.to_path_buf(),
        action,
        error: e.to_string(),
    };
    let backup = match &existing {
        Some(e) => {
            let backup =
                write_backup(&path, e, now).map_err(|err| io_err(&path, "back up", err))?;
            println!("backup: {}", backup.display());
            Some(backup)
        }
        None => {
            create_config_dir(path.parent().unwrap_or(Path::new(".")))
                .map_err(|e| io_err(&path, "create the directory of", e))?;
            None
        }
    };
    // The record first: one without the change it describes is harmless, the reverse loses the
    // status line `--force` replaced. The backup holds it too, so failing here is not fatal.
    if !args.uninstall && plan.record != record {
        if let Err(e) = write_record(config, &record_file, &plan.record) {
            // Without the record, `--uninstall` could not put back what `--force` replaces:
            // refuse rather than promise it.
            if plan.record.replaced_status_line != record.replaced_status_line {
                return Err(io_err(
                    &record_file,
                    "save the statusLine --force replaces (so --uninstall can put it back) to",
                    e,
                ));
            }
            println!(
                "could not write {} ({e}); what setup replaced is in the backup{}",
                record_file.display(),
                backup
                    .as_ref()
                    .map(|b| format!(" {}", b.display()))
                    .unwrap_or_default()
            );
        }
    }
    write_atomic(&path, plan.text.as_bytes()).map_err(|e| io_err(&path, "write", e))?;
    // write_atomic creates 0600; give the file back the mode the user had (e.g. 0644).
    #[cfg(unix)]
    if let Some(e) = &existing {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(e.mode))
            .map_err(|err| io_err(&path, "restore the mode of", err))?;
    }
    if args.uninstall {
        // Consumed: a later setup starts from what the file says then.
        let _ = fs::remove_file(&record_file);
        println!("removed ccmeter from {}", path.display());
    } else {
        println!(
            "wrote {}; Claude Code shows the status line from its next message on",
            path.display()
        );
    }
    print_notes(&plan.notes, &record_file);
    Ok(())
}

fn write_record(config: &Config, file: &Path, record: &Record) -> io::Result<()> {
    crate::files::ensure_dir(config.store.dir())?;
    let bytes = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    write_atomic(file, &bytes)
}

fn print_notes(notes: &[Note], record_file: &Path) {
    for note in notes {
        println!("{}", note_text(note, record_file));
    }
}

/// Pure: a note in words.
pub fn note_text(note: &Note, record_file: &Path) -> String {
    match note {
        Note::OtherStatusLineKept { command } => format!(
            "the statusLine runs another tool ({command}); left alone, hooks only \
             (`ccmeter setup --force` replaces it)"
        ),
        Note::Replaced { command } => format!(
            "the statusLine it replaced ({command}) is kept in {} and the backup; \
             `ccmeter setup --uninstall` puts it back",
            record_file.display()
        ),
        Note::EventsLeftOut { seen, events } => {
            let list = events
                .iter()
                .map(|(e, v)| format!("{e} (Claude Code {v}+)"))
                .collect::<Vec<_>>()
                .join(", ");
            match seen {
                Some(v) => format!(
                    "not hooked: {list}, newer than the Claude Code {v} ccmeter saw last; \
                     run `ccmeter setup --hooks` again after updating Claude Code"
                ),
                None => format!(
                    "not hooked yet: {list}: ccmeter has not seen Claude Code's version \
                     (it learns it from the status line); run `ccmeter setup --hooks` again \
                     once Claude Code has shown the status line"
                ),
            }
        }
    }
}

/// Copies the original bytes next to it, never over an existing backup, with the original's
/// owner permissions at most (0600 for a 0644 file: settings may hold secrets in `env`).
fn write_backup(path: &Path, existing: &Existing, now: i64) -> io::Result<PathBuf> {
    let stamp = timestamp(now);
    let mut backup = backup_name(path, &stamp);
    let mut n = 1;
    while fs::symlink_metadata(&backup).is_ok() {
        n += 1;
        backup = backup_name(path, &format!("{stamp}-{n}"));
    }
    write_atomic(&backup, &existing.bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = existing.mode & 0o600;
        if mode != 0o600 {
            fs::set_permissions(&backup, fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(backup)
}

/// Creates a missing config dir owner-only, as it will hold credentials.
fn create_config_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXE: &str = "/usr/local/bin/ccmeter";
    const ALL: [&str; 4] = [
        "UserPromptSubmit",
        "SessionStart",
        "PreModelSwitch",
        "StopFailure",
    ];

    fn p() -> &'static Path {
        Path::new("/h/.claude/settings.json")
    }

    fn settings(text: &str) -> Settings {
        parse_settings(text.as_bytes(), p()).unwrap()
    }

    fn req(hooks: bool, force: bool) -> Request<'static> {
        Request {
            exe: EXE,
            hooks: hooks.then_some(&ALL[..]),
            force,
        }
    }

    fn installed(text: &str, hooks: bool, force: bool) -> Plan {
        install(&settings(text), &Record::default(), req(hooks, force), p()).unwrap()
    }

    /// Install, then uninstall with the record install kept: the original bytes.
    fn round_trip(text: &str, hooks: bool, force: bool) -> String {
        let plan = installed(text, hooks, force);
        let back = uninstall(&settings(&plan.text), &plan.record, EXE, p()).unwrap();
        assert_eq!(back, text, "after install:\n{}", plan.text);
        plan.text
    }

    fn value(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn install_appends_status_line_in_the_files_own_style() {
        let text = round_trip("{\n  \"model\": \"opus\",\n  \"n\": 1e2\n}\n", false, false);
        assert_eq!(
            text,
            "{\n  \"model\": \"opus\",\n  \"n\": 1e2,\n  \"statusLine\": {\n    \"type\": \"command\",\n    \
             \"command\": \"/usr/local/bin/ccmeter\",\n    \"padding\": 0,\n    \"refreshInterval\": 30\n  }\n}\n"
        );
    }

    #[test]
    fn round_trips_are_byte_exact_whatever_the_format() {
        let hooks = r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say"}]}]}}"#;
        for original in [
            "{}",
            "{}\n",
            "{ }",
            "{\n}\n",
            "{\"a\":1}",
            "{\"big\":123456789012345678901234567890,\"neg\":-0,\"e\":1E+2,\"u\":\"\\u00e9\\ud83d\\ude00\"}",
            "{\r\n  \"a\": [],\r\n  \"b\": {}\r\n}\r\n",
            "{\n\t\"a\": 1,\n\t\"hooks\": {\n\t\t\"SessionStart\": []\n\t}\n}",
            "{\n    \"hooks\": {},\n    \"z\": null\n}\n",
            "{\n  \"hooks\": {\n    \"UserPromptSubmit\": [ ],\n    \"SessionStart\": [\n    ]\n  }\n}\n",
            hooks,
            "  {\"a\" : 1 ,\"hooks\" : { } }  \n",
        ] {
            round_trip(original, true, false);
            round_trip(original, false, false);
        }
    }

    #[test]
    fn force_replaces_in_place_and_uninstall_puts_the_old_one_back() {
        let original = "{\r\n  \"a\": 1,\r\n  \"statusLine\": {\"type\":\"command\",\"command\":\"~/bin/line.sh\",\"padding\":1e0},\r\n  \"z\": 2\r\n}";
        let err = install(
            &settings(original),
            &Record::default(),
            req(false, false),
            p(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("~/bin/line.sh"), "{err}");
        let plan = installed(original, false, true);
        assert_eq!(
            plan.record.replaced_status_line.as_deref(),
            Some("{\"type\":\"command\",\"command\":\"~/bin/line.sh\",\"padding\":1e0}")
        );
        let keys: Vec<String> = value(&plan.text)
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["a", "statusLine", "z"]);
        round_trip(original, true, true);
        // Without the record the status line still goes, leaving the rest.
        let back = uninstall(&settings(&plan.text), &Record::default(), EXE, p()).unwrap();
        assert_eq!(back, "{\r\n  \"a\": 1,\r\n  \"z\": 2\r\n}");
    }

    #[test]
    fn hooks_beside_another_status_line_leave_it_alone() {
        let original = r#"{"statusLine": {"type": "command", "command": "starship statusline"}}"#;
        let plan = installed(original, true, false);
        assert_eq!(
            plan.notes,
            [Note::OtherStatusLineKept {
                command: "starship statusline".into()
            }]
        );
        let v = value(&plan.text);
        assert_eq!(v["statusLine"]["command"], "starship statusline");
        assert_eq!(
            v["hooks"]["StopFailure"][0]["hooks"][0]["command"],
            "/usr/local/bin/ccmeter hook"
        );
        round_trip(original, true, false);
    }

    #[test]
    fn same_command_is_kept_and_only_gains_refresh_interval() {
        let tuned = r#"{"statusLine": {"type": "command", "command": "/usr/local/bin/ccmeter", "padding": 2, "refreshInterval": 5}}"#;
        assert_eq!(installed(tuned, false, false).text, tuned);
        let old = r#"{"statusLine": {"type": "command", "command": "/usr/local/bin/ccmeter", "padding": 2}}"#;
        assert_eq!(
            installed(old, false, false).text,
            r#"{"statusLine": {"type": "command", "command": "/usr/local/bin/ccmeter", "padding": 2, "refreshInterval": 30}}"#
        );
    }

    #[test]
    fn hooks_are_added_once_beside_other_hooks() {
        let original = r#"{"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "lint"}]}], "Stop": []}}"#;
        let once = installed(original, true, false);
        let v = value(&once.text);
        let ups = v["hooks"]["UserPromptSubmit"].as_array().unwrap();
        assert_eq!(ups.len(), 2);
        assert_eq!(ups[0]["hooks"][0]["command"], "lint");
        assert_eq!(
            ups[1],
            json!({"hooks": [{"type": "command", "command": "/usr/local/bin/ccmeter hook"}]})
        );
        assert_eq!(v["hooks"]["Stop"], json!([]));
        let twice = install(&settings(&once.text), &once.record, req(true, false), p()).unwrap();
        assert_eq!(twice.text, once.text);
    }

    #[test]
    fn odd_hooks_shape_is_refused() {
        for text in [r#"{"hooks": "nope"}"#, r#"{"hooks": {"SessionStart": {}}}"#] {
            let err =
                install(&settings(text), &Record::default(), req(true, false), p()).unwrap_err();
            assert!(matches!(err, SetupError::UnexpectedShape { .. }), "{err}");
        }
    }

    #[test]
    fn uninstall_removes_every_ccmeter_hook_and_only_those() {
        let text = r#"{"statusLine": {"type": "command", "command": "/old/path/ccmeter"},
            "hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "/old/path/ccmeter hook"},
                                                  {"type": "command", "command": "other"}]}],
                      "StopFailure": [{"matcher": "", "hooks": [{"type": "command", "command": "ccmeter hook"}]}],
                      "Stop": []}}"#;
        let out = uninstall(&settings(text), &Record::default(), EXE, p()).unwrap();
        assert_eq!(
            value(&out),
            json!({"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "other"}]}], "Stop": []}})
        );
        let other = r#"{"statusLine": {"type": "command", "command": "starship statusline"}}"#;
        assert_eq!(
            uninstall(&settings(other), &Record::default(), EXE, p()).unwrap(),
            other
        );
    }

    #[test]
    fn a_stale_record_does_not_keep_containers_setup_created() {
        let rec = Record {
            were_empty: vec![WasEmpty {
                path: vec!["hooks".into(), "SessionStart".into()],
                inner: String::new(),
            }],
            ..Record::default()
        };
        let plan = install(&settings("{\"a\": 1}"), &rec, req(true, false), p()).unwrap();
        assert!(plan.record.were_empty.is_empty(), "{:?}", plan.record);
        assert_eq!(
            uninstall(&settings(&plan.text), &plan.record, EXE, p()).unwrap(),
            "{\"a\": 1}"
        );
    }

    #[test]
    fn later_events_need_the_version_that_introduced_them() {
        assert_eq!(hook_events(None).0, BASE_EVENTS);
        assert_eq!(
            hook_events(Version::parse("2.1.78")).0,
            ["UserPromptSubmit", "SessionStart", "StopFailure"]
        );
        assert_eq!(hook_events(Version::parse("2.1.251")).0, ALL);
        assert_eq!(hook_events(Version::parse("2.1.250")).1.len(), 1);
        assert_eq!(hook_events(Version::parse("2.1.77")).1.len(), 2);
        assert_eq!(Version::parse("2.1.330-beta.2"), Some(Version(2, 1, 330)));
        assert_eq!(Version::parse("junk"), None);
        assert_eq!(Version::parse("2.1"), None);
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

    #[test]
    fn quoting_only_when_needed() {
        assert_eq!(shell_quote("/usr/bin/ccmeter"), "/usr/bin/ccmeter");
        assert_eq!(shell_quote("/Users/a b/ccmeter"), "'/Users/a b/ccmeter'");
        assert_eq!(shell_quote("/x/it's"), r"'/x/it'\''s'");
    }

    #[test]
    fn backup_name_sits_next_to_the_file() {
        assert_eq!(
            backup_name(p(), "20260101-120000"),
            PathBuf::from("/h/.claude/settings.json.bak-20260101-120000")
        );
        assert_eq!(timestamp(0).len(), 15);
    }

    #[test]
    fn notes_in_words() {
        let f = Path::new("/c/k.setup.json");
        let notes = [
            Note::OtherStatusLineKept {
                command: "starship statusline".into(),
            },
            Note::Replaced {
                command: "~/bin/line.sh".into(),
            },
            Note::EventsLeftOut {
                seen: None,
                events: hook_events(None).1,
            },
            Note::EventsLeftOut {
                seen: Some("2.1.100".into()),
                events: hook_events(Version::parse("2.1.100")).1,
            },
        ];
        let text: Vec<String> = notes.iter().map(|n| note_text(n, f)).collect();
        insta::assert_snapshot!(text.join("\n"), @r"
the statusLine runs another tool (starship statusline); left alone, hooks only (`ccmeter setup --force` replaces it)
the statusLine it replaced (~/bin/line.sh) is kept in /c/k.setup.json and the backup; `ccmeter setup --uninstall` puts it back
not hooked yet: PreModelSwitch (Claude Code 2.1.251+), StopFailure (Claude Code 2.1.78+): ccmeter has not seen Claude Code's version (it learns it from the status line); run `ccmeter setup --hooks` again once Claude Code has shown the status line
not hooked: PreModelSwitch (Claude Code 2.1.251+), newer than the Claude Code 2.1.100 ccmeter saw last; run `ccmeter setup --hooks` again after updating Claude Code
");
    }
}
