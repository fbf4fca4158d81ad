//! What the settings should say: the pure edits of `setup` and `setup --uninstall` on the text of
//! `settings.json` (the statusLine, the hooks), and the record of what the file alone cannot
//! remember for uninstall. No I/O here: [`super::apply`] reads, writes and prints.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::command::{self, Ours, classify};
use super::json::{self, Node};
use super::settings::{Settings, SetupError};
use super::version::Version;

/// Seconds between re-runs of the status line while nothing happens (`statusLine.refreshInterval`
/// is in the settings schema of the 2.1.197 and 2.1.332 clients; older ones drop unknown keys). ccmeter costs about a
/// millisecond a run, and `↻42m` / `(12m ago)` then stay true while the user is idle.
pub const REFRESH_INTERVAL: u64 = 30;

/// What the file cannot remember for uninstall; kept by `setup` beside the store (see `apply`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The settings file this is about (a record for another file is ignored).
    #[serde(default)]
    pub settings: String,
    /// The exact bytes of the statusLine value `--force` replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_status_line: Option<String>,
    /// The exact bytes (a JSON string literal) of the command setup wrapped in `ccmeter wrap`,
    /// so `--uninstall` gives back its very spelling (`\u00e9`, `\/`), not just its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapped_command: Option<String>,
    /// There was no settings file before setup: `--uninstall` removes the file again when
    /// nothing else has been put in it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub created_file: bool,
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
    /// Another tool's status line now runs inside `ccmeter wrap`.
    Wrapped { command: String },
    /// `--hooks` beside another tool's status line that cannot be wrapped: only the hooks were
    /// added.
    OtherStatusLineKept { command: String, why: &'static str },
    /// `--force` replaced this status line; the record keeps it for `--uninstall`.
    Replaced { command: String },
    /// Hook events left out for the Claude Code version known (`None`: none known).
    EventsLeftOut {
        seen: Option<(String, VersionSource)>,
        events: Vec<(&'static str, Version)>,
    },
}

/// Where setup learnt the Claude Code version from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// The status line's stdin, recorded in the store.
    StatusLine,
    /// `claude --version`, when no status line had told it.
    ClaudeVersion,
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
    /// This binary as the shell word Claude Code will run (see [`command`]).
    pub exe: &'a str,
    /// `--hooks`: the events to wire.
    pub hooks: Option<&'a [&'a str]>,
    pub force: bool,
    /// `--offline`: the status line (or the wrap) runs with `--offline`.
    pub offline: bool,
    /// Claude Code runs the commands on Windows (see [`command::can_wrap`]).
    pub windows: bool,
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

/// Pure: the settings with ccmeter installed. A statusLine that runs ccmeter already (any path,
/// the user's own arguments, a wrap) is kept as it is (only a missing `refreshInterval` and an
/// asked-for `--offline` are added); another tool's is wrapped (`ccmeter wrap '<theirs>'`, only
/// its command string changes) or, with `force`, replaced. One that cannot be wrapped is an
/// error unless `force`, or left alone when hooks were asked for.
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
    let line = command::line_command(req.exe, req.offline);
    match root.member("statusLine") {
        None => {
            record.replaced_status_line = None;
            record.wrapped_command = None;
            record.note_if_empty(&text, root, &[]);
            text = json::append(&text, &style, root, Some("statusLine"), &status_line(&line));
        }
        Some((_, m)) => {
            let value = m.value.value(&text);
            let command = command_of(&value);
            // The `"command"` string itself: wrapping and moving edit only its bytes.
            let node = command_node(&m.value, &text);
            match (command, command.and_then(classify)) {
                // `--force` beside a wrap: theirs goes, as it was before the wrap.
                (Some(_), Some(Ours::Wrap { theirs })) if req.force => {
                    let restored = match &node {
                        Some(n) => json::splice(
                            &text[..m.value.end],
                            n.start,
                            n.end,
                            &wrapped_bytes(&record, &theirs),
                        )[m.value.start..]
                            .to_string(),
                        None => text[m.value.start..m.value.end].to_string(),
                    };
                    record.replaced_status_line = Some(restored);
                    record.wrapped_command = None;
                    notes.push(Note::Replaced {
                        command: describe_command(&theirs),
                    });
                    text = json::replace(&text, &style, &m.value, &status_line(&line));
                }
                // Already beside theirs; `--offline` is added if asked for.
                (Some(c), Some(Ours::Wrap { .. })) => {
                    if let (Some(n), Some(offline)) = (&node, with_offline(c, req.offline)) {
                        text = json::replace(&text, &style, n, &json!(offline));
                    }
                }
                // ccmeter already, at this path or another, with the user's own arguments
                // (`--format`, `--color`): kept as they wrote it. Only an argument-less older
                // install at another path is moved to this binary.
                (Some(c), Some(Ours::Line { args })) => {
                    // One word: no `NAME=value` before it, no quoting to keep.
                    let bare = c.split_whitespace().count() == 1;
                    let moved = args.is_empty() && bare && c != req.exe && c != "ccmeter";
                    let new = if moved {
                        Some(line.clone())
                    } else {
                        with_offline(c, req.offline)
                    };
                    if let (Some(n), Some(new)) = (&node, new) {
                        text = json::replace(&text, &style, n, &json!(new));
                    }
                    if m.value.is_object() && value.get("refreshInterval").is_none() {
                        let m = reparse(&text, path)?
                            .member("statusLine")
                            .map(|(_, m)| m.value.clone());
                        if let Some(sl) = m {
                            text = json::append(
                                &text,
                                &style,
                                &sl,
                                Some("refreshInterval"),
                                &json!(REFRESH_INTERVAL),
                            );
                        }
                    }
                }
                // ccmeter run some other way (a pipeline, `ccmeter hook`): the user's doing.
                (Some(_), Some(Ours::Hook | Ours::Other)) => {}
                _ if req.force => {
                    record.replaced_status_line =
                        Some(text[m.value.start..m.value.end].to_string());
                    record.wrapped_command = None;
                    notes.push(Note::Replaced {
                        command: describe(&value),
                    });
                    text = json::replace(&text, &style, &m.value, &status_line(&line));
                }
                // Another tool's status line: ccmeter joins it. Only the command string
                // changes; their padding and every other byte stay.
                (Some(c), None) if node.is_some() && command::can_wrap(c, req.windows) => {
                    let n = node.expect("checked");
                    record.wrapped_command = Some(text[n.start..n.end].to_string());
                    record.replaced_status_line = None;
                    notes.push(Note::Wrapped {
                        command: describe_command(c),
                    });
                    let wrap = command::wrap_command(req.exe, req.offline, c);
                    text = json::replace(&text, &style, &n, &json!(wrap));
                }
                (c, _) => {
                    let why = match c {
                        Some(c) if !c.trim().is_empty() => {
                            "on Windows a command holding quotes cannot be passed on unchanged"
                        }
                        Some(_) => "its command is empty",
                        None => "it is not a command",
                    };
                    if req.hooks.is_some() {
                        notes.push(Note::OtherStatusLineKept {
                            command: describe(&value),
                            why,
                        });
                    } else {
                        return Err(SetupError::OtherStatusLine {
                            path: path.to_path_buf(),
                            command: describe(&value),
                            why,
                        });
                    }
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
                // Only an entry uninstall would take out: of type `command`.
                command_of(&hook.value.value(&text))?;
                let (_, cmd) = hook.value.member("command")?;
                let c = cmd.value.value(&text);
                c.as_str()
                    .filter(|c| classify(c) == Some(Ours::Hook))
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
        let value = m.value.value(&text);
        let command = command_of(&value);
        let ours = command.and_then(classify);
        let previous = record
            .replaced_status_line
            .as_deref()
            .filter(|raw| serde_json::from_str::<Value>(raw).is_ok());
        match (ours, command_node(&m.value, &text)) {
            // Their command back where the wrap was, in its own spelling; nothing else changed.
            (Some(Ours::Wrap { theirs }), Some(n)) => {
                text = json::splice(&text, n.start, n.end, &wrapped_bytes(record, &theirs));
            }
            (Some(_), _) => match previous {
                Some(raw) => text = json::splice(&text, m.value.start, m.value.end, raw),
                None => text = remove_or_empty(&text, root, i, &[], record),
            },
            (None, _) if command.is_some_and(|c| c == exe) => {
                text = remove_or_empty(&text, root, i, &[], record);
            }
            (None, _) => {}
        }
    }

    let hook = hook_command(exe);
    let is_our_entry =
        |h: &Value| command_of(h).is_some_and(|c| c == hook || classify(c) == Some(Ours::Hook));
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

/// A status line in words, safe to print: its command, or its JSON.
fn describe(v: &Value) -> String {
    match command_of(v) {
        Some(c) => describe_command(c),
        None => crate::text::clean(&v.to_string(), 200),
    }
}

/// Another tool's command, safe to print (it may hold anything, newlines included).
fn describe_command(c: &str) -> String {
    crate::text::clean(c, 200)
}

/// The `"command"` string of a statusLine object, where it is in the text.
fn command_node(status_line: &Node, text: &str) -> Option<Node> {
    let (_, m) = status_line.member("command")?;
    m.value.value(text).is_string().then(|| m.value.clone())
}

/// Their command as a JSON string literal: the bytes the record kept, if they still say what
/// the wrap holds, else as serde_json writes it.
fn wrapped_bytes(record: &Record, theirs: &str) -> String {
    record
        .wrapped_command
        .clone()
        .filter(|raw| serde_json::from_str::<String>(raw).is_ok_and(|v| v == theirs))
        .unwrap_or_else(|| serde_json::to_string(theirs).expect("a string serialises"))
}

/// `command` with `--offline` added, when asked for and not there yet.
fn with_offline(command: &str, offline: bool) -> Option<String> {
    if offline {
        command::add_offline(command)
    } else {
        None
    }
}

/// The `command` of a statusLine or hook entry of type `command`.
pub(super) fn command_of(v: &Value) -> Option<&str> {
    let o = v.as_object()?;
    if o.get("type").and_then(Value::as_str) != Some("command") {
        return None;
    }
    o.get("command").and_then(Value::as_str)
}

pub(super) fn group_hooks(group: &Value) -> impl Iterator<Item = &Value> {
    group
        .get("hooks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `ccmeter hook` found on PATH: left as the user wrote it.
fn node_is_bare_path_hook(node: &json::Node, text: &str) -> bool {
    node.value(text).as_str() == Some("ccmeter hook")
}

/// Pure: a note in words. A dry run has written neither the record nor a backup, so it says
/// what would be kept, not where.
pub fn note_text(note: &Note, record_file: &Path, dry_run: bool) -> String {
    match note {
        Note::Wrapped { command } if dry_run => format!(
            "without --dry-run, the statusLine of another tool ({command}) would run inside \
             `ccmeter wrap`: its line first, ccmeter's beneath it"
        ),
        Note::Wrapped { command } => format!(
            "the statusLine of another tool ({command}) now runs inside `ccmeter wrap`: its \
             line first, ccmeter's beneath it; `ccmeter setup --uninstall` gives it back as it \
             was, `ccmeter setup --force` puts ccmeter's line alone in its place"
        ),
        Note::OtherStatusLineKept { command, why } => format!(
            "the statusLine runs another tool ({command}), which ccmeter cannot run beside it \
             ({why}); left alone, hooks only (`ccmeter setup --force` replaces it)"
        ),
        Note::Replaced { command } if dry_run => format!(
            "without --dry-run, the statusLine it replaces ({command}) would be kept for \
             `ccmeter setup --uninstall` to put back"
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
                Some((v, VersionSource::StatusLine)) => format!(
                    "not hooked: {list}, newer than the Claude Code {v} ccmeter saw last; \
                     run `ccmeter setup --hooks` again after updating Claude Code"
                ),
                Some((v, VersionSource::ClaudeVersion)) => format!(
                    "not hooked: {list}, newer than Claude Code {v} (from `claude --version`); \
                     run `ccmeter setup --hooks` again after updating Claude Code"
                ),
                None => format!(
                    "not hooked yet: {list}: the Claude Code version is not known yet (no \
                     status line has run, and `claude --version` gave none); run `ccmeter \
                     setup --hooks` again once Claude Code has shown the status line"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::setup::settings::parse_settings;
    use crate::cmd::setup::version::hook_events;

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
            offline: false,
            windows: false,
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
        // Without --force it is wrapped, not replaced.
        assert_eq!(
            installed(original, false, false).notes,
            [Note::Wrapped {
                command: "~/bin/line.sh".into()
            }]
        );
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
    fn beside_another_status_line_it_wraps_it_keeping_every_other_byte() {
        let original = "{\"statusLine\": {\"type\": \"command\", \"command\": \"starship \\u0073tatusline\", \"padding\": 0}}";
        for hooks in [false, true] {
            let plan = installed(original, hooks, false);
            assert_eq!(
                plan.notes,
                [Note::Wrapped {
                    command: "starship statusline".into()
                }]
            );
            assert_eq!(
                plan.record.wrapped_command.as_deref(),
                Some("\"starship \\u0073tatusline\"")
            );
            let want = "{\"statusLine\": {\"type\": \"command\", \"command\": \"/usr/local/bin/ccmeter wrap 'starship statusline'\", \"padding\": 0}";
            assert!(plan.text.starts_with(want), "{}", plan.text);
            let v = value(&plan.text);
            assert_eq!(
                v["hooks"]["StopFailure"][0]["hooks"][0]["command"],
                if hooks {
                    json!("/usr/local/bin/ccmeter hook")
                } else {
                    Value::Null
                }
            );
            // Back in its own spelling (the escape), with the record; by value without it.
            round_trip(original, hooks, false);
            let back = uninstall(&settings(&plan.text), &Record::default(), EXE, p()).unwrap();
            assert!(back.starts_with("{\"statusLine\": {\"type\": \"command\", \"command\": \"starship statusline\", \"padding\": 0}"), "{back}");
            // Recognised as ours: not wrapped twice.
            let again =
                install(&settings(&plan.text), &plan.record, req(hooks, false), p()).unwrap();
            assert_eq!(again.text, plan.text);
        }
    }

    #[test]
    fn force_beside_a_wrap_replaces_it_and_uninstall_puts_theirs_back() {
        let original = "{\n  \"statusLine\": {\"type\": \"command\", \"command\": \"~/bin/l\\u0069ne.sh\", \"padding\": 2}\n}\n";
        let wrapped = installed(original, false, false);
        let forced = install(
            &settings(&wrapped.text),
            &wrapped.record,
            req(false, true),
            p(),
        )
        .unwrap();
        assert_eq!(value(&forced.text)["statusLine"]["command"], EXE);
        assert_eq!(
            forced.notes,
            [Note::Replaced {
                command: "~/bin/line.sh".into()
            }]
        );
        let back = uninstall(&settings(&forced.text), &forced.record, EXE, p()).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn a_status_line_that_cannot_be_wrapped_needs_force() {
        for (original, windows) in [
            (
                r#"{"statusLine": {"type": "command", "command": "node \"C:/a b/x.js\""}}"#,
                true,
            ),
            (r#"{"statusLine": {"type": "static", "text": "hi"}}"#, false),
            (
                r#"{"statusLine": {"type": "command", "command": " "}}"#,
                false,
            ),
        ] {
            let r = Request {
                windows,
                ..req(false, false)
            };
            let err = install(&settings(original), &Record::default(), r, p()).unwrap_err();
            assert!(matches!(err, SetupError::OtherStatusLine { .. }), "{err}");
            let hooks = install(
                &settings(original),
                &Record::default(),
                Request {
                    windows,
                    ..req(true, false)
                },
                p(),
            )
            .unwrap();
            assert!(
                matches!(hooks.notes[0], Note::OtherStatusLineKept { .. }),
                "{:?}",
                hooks.notes
            );
            assert!(hooks.text.starts_with(original.trim_end_matches('}')));
        }
    }

    /// #21 item 9: the user's own ccmeter with arguments, at another path, is kept.
    #[test]
    fn the_users_own_ccmeter_with_arguments_is_kept() {
        let own = r#"{"statusLine": {"type": "command", "command": "/opt/tools/ccmeter --format \"{5h} {7d}\" --color zsh", "padding": 2, "refreshInterval": 10}}"#;
        let plan = installed(own, false, false);
        assert_eq!(plan.text, own);
        assert!(plan.notes.is_empty());
        let env = r#"{"statusLine": {"type": "command", "command": "CCMETER_TTL=60 /opt/ccmeter", "refreshInterval": 30}}"#;
        assert_eq!(installed(env, false, false).text, env);
        // An argument-less older install is moved here, its padding kept.
        let old = r#"{"statusLine": {"type": "command", "command": "/old/ccmeter", "padding": 2}}"#;
        assert_eq!(
            installed(old, false, false).text,
            r#"{"statusLine": {"type": "command", "command": "/usr/local/bin/ccmeter", "padding": 2, "refreshInterval": 30}}"#
        );
    }

    #[test]
    fn offline_is_written_into_the_command() {
        let offline = |text: &str| {
            install(
                &settings(text),
                &Record::default(),
                Request {
                    offline: true,
                    ..req(false, false)
                },
                p(),
            )
            .unwrap()
            .text
        };
        assert_eq!(
            value(&offline("{}"))["statusLine"]["command"],
            "/usr/local/bin/ccmeter --offline"
        );
        assert_eq!(
            value(&offline(
                r#"{"statusLine": {"type": "command", "command": "x y"}}"#
            ))["statusLine"]["command"],
            "/usr/local/bin/ccmeter wrap --offline 'x y'"
        );
        // Added to what is already wired, once.
        let own = r#"{"statusLine": {"type": "command", "command": "/opt/ccmeter --color zsh", "refreshInterval": 5}}"#;
        let once = offline(own);
        assert_eq!(
            value(&once)["statusLine"]["command"],
            "/opt/ccmeter --color zsh --offline"
        );
        assert_eq!(offline(&once), once);
        let wrap = r#"{"statusLine": {"type": "command", "command": "ccmeter wrap 'x y'"}}"#;
        assert_eq!(
            value(&offline(wrap))["statusLine"]["command"],
            "ccmeter wrap --offline 'x y'"
        );
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

    /// A hook entry without `"type": "command"` is not one uninstall would take out, so install
    /// must not repoint it either. Found by the `settings_edit` fuzz target (its input, trimmed):
    /// install took any entry whose `command` is `ccmeter hook` at another path as ours, and
    /// install then uninstall left it pointing at this binary.
    #[test]
    fn a_hook_without_a_type_is_not_ours_to_repoint() {
        let text = r#"{"hooks":{"UserPromptSubmit":[{"hooks":[{"tYpe":"command","command":"/old/bin/ccmeter hook"}]}]}}"#;
        assert_eq!(
            uninstall(&settings(text), &Record::default(), EXE, p()).unwrap(),
            text
        );
        round_trip(text, true, false);
    }

    /// Install then uninstall (with the record install kept) gives back the very bytes, for
    /// mutated settings files of every shape that still parse: the property the fuzz target
    /// checks, here on a fixed seed so that `cargo test` runs it.
    #[test]
    fn install_then_uninstall_gives_back_the_bytes_for_mutated_files() {
        let seeds = [
            "{\n  \"statusLine\": {\"type\": \"command\", \"command\": \"npx -y ccstatusline@latest\", \"padding\": 0},\n  \"hooks\": {\"Stop\": []}\n}\n",
            "{\"statusLine\":{\"type\":\"command\",\"command\":\"a 'b' \\\"c\\\" \\u00e9\\/\"}}",
            "{\r\n\t\"hooks\": {\"SessionStart\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"x\"}]}]},\r\n\t\"n\": 1e2\r\n}",
            "{\"statusLine\": {\"type\": \"command\", \"command\": \"/opt/ccmeter --color zsh\"}}",
            "{\"statusLine\": {\"type\": \"command\", \"command\": \"ccmeter wrap 'x'\"}}",
            "{}",
        ];
        let mut rng = crate::testutil::Rng(0x0005_e70b);
        let mut checked = 0;
        for _ in 0..6000 {
            let seed = seeds[rng.below(seeds.len())];
            let bytes = rng.mutate(seed.as_bytes());
            let Ok(original) = parse_settings(&bytes, p()) else {
                continue;
            };
            for (hooks, force) in [(false, false), (true, false), (true, true)] {
                let Ok(plan) = install(&original, &Record::default(), req(hooks, force), p())
                else {
                    continue;
                };
                let Ok(after) = parse_settings(plan.text.as_bytes(), p()) else {
                    panic!("not JSON after install: {:?}", plan.text);
                };
                let back = uninstall(&after, &plan.record, EXE, p()).unwrap();
                // A ccmeter line or hook that was there before is ccmeter's: uninstall takes it
                // out, so only files without one must come back whole.
                if !original.text.contains("ccmeter") {
                    assert_eq!(back, original.text, "{hooks} {force}: {:?}", plan.text);
                    checked += 1;
                }
            }
        }
        assert!(checked > 400, "{checked}");
    }

    #[test]
    fn notes_in_words() {
        let f = Path::new("/c/k.setup.json");
        let notes = [
            Note::Wrapped {
                command: "npx -y ccstatusline@latest".into(),
            },
            Note::OtherStatusLineKept {
                command: "starship statusline".into(),
                why: "it is not a command",
            },
            Note::Replaced {
                command: "~/bin/line.sh".into(),
            },
            Note::EventsLeftOut {
                seen: None,
                events: hook_events(None).1,
            },
            Note::EventsLeftOut {
                seen: Some(("2.1.100".into(), VersionSource::StatusLine)),
                events: hook_events(Version::parse("2.1.100")).1,
            },
            Note::EventsLeftOut {
                seen: Some(("2.1.100".into(), VersionSource::ClaudeVersion)),
                events: hook_events(Version::parse("2.1.100")).1,
            },
        ];
        let text: Vec<String> = notes.iter().map(|n| note_text(n, f, false)).collect();
        insta::assert_snapshot!(text.join("\n"), @r#"
the statusLine of another tool (npx -y ccstatusline@latest) now runs inside `ccmeter wrap`: its line first, ccmeter's beneath it; `ccmeter setup --uninstall` gives it back as it was, `ccmeter setup --force` puts ccmeter's line alone in its place
the statusLine runs another tool (starship statusline), which ccmeter cannot run beside it (it is not a command); left alone, hooks only (`ccmeter setup --force` replaces it)
the statusLine it replaced (~/bin/line.sh) is kept in /c/k.setup.json and the backup; `ccmeter setup --uninstall` puts it back
not hooked yet: PreModelSwitch (Claude Code 2.1.251+), StopFailure (Claude Code 2.1.78+): the Claude Code version is not known yet (no status line has run, and `claude --version` gave none); run `ccmeter setup --hooks` again once Claude Code has shown the status line
not hooked: PreModelSwitch (Claude Code 2.1.251+), newer than the Claude Code 2.1.100 ccmeter saw last; run `ccmeter setup --hooks` again after updating Claude Code
not hooked: PreModelSwitch (Claude Code 2.1.251+), newer than Claude Code 2.1.100 (from `claude --version`); run `ccmeter setup --hooks` again after updating Claude Code
"#);
        let dry: Vec<String> = notes[..3].iter().map(|n| note_text(n, f, true)).collect();
        insta::assert_snapshot!(dry.join("\n"), @r#"
without --dry-run, the statusLine of another tool (npx -y ccstatusline@latest) would run inside `ccmeter wrap`: its line first, ccmeter's beneath it
the statusLine runs another tool (starship statusline), which ccmeter cannot run beside it (it is not a command); left alone, hooks only (`ccmeter setup --force` replaces it)
without --dry-run, the statusLine it replaces (~/bin/line.sh) would be kept for `ccmeter setup --uninstall` to put back
"#);
    }
}
