//! `ccmeter setup`: wires ccmeter into Claude Code's `settings.json` as the `statusLine` command
//! (and, with `--hooks`, as a hook on the events it warns on), or takes it out again.
//!
//! The file belongs to the user, so this command is careful rather than clever: it never touches a
//! file it cannot parse, never replaces someone else's status line without `--force` (beside it,
//! it runs theirs inside `ccmeter wrap`), shows a diff before writing, keeps a timestamped backup
//! next to the file, and writes atomically, and only over the file it read. It edits
//! only the bytes that must change ([`json`] splices exact spans): number literals, key order,
//! indentation, line endings and empty containers all stay as they were, and a new item copies
//! the layout of its siblings, so `setup` then `setup --uninstall` gives back the original file.
//!
//! What the file alone cannot tell uninstall (the status line `--force` replaced, the spelling of
//! the command it wrapped, which containers were empty before setup added to them, whether setup
//! created the file) is kept in a small record next to the store
//! (`<cache dir>/<account>.setup.json`); without it, uninstall still removes everything of
//! ccmeter's and tidies away the containers that removal empties.
//!
//! It does not understand JSON with comments, which Claude Code does not accept either, and it
//! refuses a file that starts with a byte order mark rather than guess whether to keep it.
//!
//! Where to look: [`plan`] decides what the file should say (pure), [`command`] what command
//! runs ccmeter, [`json`] makes byte-exact edits, [`settings`] reads and refuses, [`diff`] shows
//! the change, [`version`] picks the hook events, [`probe`] asks `claude --version`, and
//! [`apply`] does the I/O.

mod apply;
mod command;
mod diff;
mod json;
mod plan;
mod probe;
mod settings;
mod version;

use serde_json::Value;

use crate::cli::{Config, SetupArgs};

pub use command::shell_quote;
pub use diff::line_diff;
pub use plan::{
    Note, Plan, REFRESH_INTERVAL, Record, Request, VersionSource, WasEmpty, hook_command, install,
    note_text, status_line, uninstall,
};
pub use settings::{Settings, SetupError, parse_settings};
pub use version::{Version, hook_events};

use apply::{read_existing, settings_path};
use command::{Ours, classify};
use plan::{command_of, group_hooks};

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
                .any(|c| classify(c) == Some(Ours::Hook))
        })
        .count();
    let hooks = if hooks > 0 {
        format!(", hook on {hooks} event(s)")
    } else {
        String::new()
    };
    let status_line = settings.get("statusLine");
    let command = status_line.and_then(command_of);
    // Commands are the user's text: cleaned of anything a terminal would act on.
    let shown = |c: &str| crate::text::clean(c, 200);
    match command.map(|c| (c, classify(c))) {
        Some((_, Some(Ours::Wrap { theirs }))) => (
            true,
            format!(
                "{}: statusLine runs ccmeter beside {}{hooks}",
                path.display(),
                shown(&theirs)
            ),
        ),
        Some((cmd, Some(_))) => {
            let cmd = shown(cmd);
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
        Some((cmd, None)) => (
            false,
            format!(
                "{}: statusLine runs {}, not ccmeter (`ccmeter setup` runs ccmeter beside it, \
                 `--force` instead of it)",
                path.display(),
                shown(cmd)
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
        eprintln!("usage: ccmeter setup [--hooks] [--dry-run] [--force] [--uninstall] [--offline]");
        return 2;
    }
    match apply::apply(config, args, crate::now()) {
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
