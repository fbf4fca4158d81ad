//! `ccmeter setup`: wires ccmeter into Claude Code's `settings.json` as the `statusLine` command
//! (and, with `--hooks`, as a `UserPromptSubmit`/`SessionStart` hook), or takes it out again.
//!
//! The file belongs to the user, so this command is careful rather than clever: it never touches a
//! file it cannot parse, never replaces someone else's status line without `--force`, keeps every
//! other key in its original order, shows a diff before writing, keeps a timestamped backup next
//! to the file, and writes atomically. It deliberately does not preserve the file's formatting
//! (the result is pretty JSON with 2-space indentation, as Claude Code writes it) and does not
//! understand JSON with comments, which Claude Code does not accept either.
//!
//! The decisions ([`install`], [`uninstall`], [`line_diff`]) are pure; [`run`] does the I/O.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::cli::{Config, SetupArgs};
use crate::store::write_atomic;

/// The hook events ccmeter warns on: before each prompt, and when a session starts.
const HOOK_EVENTS: [&str; 2] = ["UserPromptSubmit", "SessionStart"];

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
                 Run `ccmeter setup --force` to replace it (a backup is kept)",
                path.display()
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

/// What setup would do to the settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Nothing to do: the settings already are what was asked for.
    Unchanged,
    Changed(Map<String, Value>),
}

/// The `statusLine` value ccmeter installs.
pub fn status_line(command: &str) -> Value {
    json!({"type": "command", "command": command, "padding": 0})
}

/// The hook command for `exe`.
pub fn hook_command(exe: &str) -> String {
    format!("{exe} hook")
}

/// Pure: the settings with ccmeter installed. An existing statusLine running the same command is
/// kept as it is (the user may have tuned its padding); a different one is an error unless `force`.
pub fn install(
    settings: &Map<String, Value>,
    exe: &str,
    hooks: bool,
    force: bool,
    path: &Path,
) -> Result<Outcome, SetupError> {
    let mut out = settings.clone();
    match settings.get("statusLine") {
        Some(existing) if command_of(existing) == Some(exe) => {}
        Some(existing) if !force => {
            let command = command_of(existing)
                .map(str::to_string)
                .unwrap_or_else(|| existing.to_string());
            return Err(SetupError::OtherStatusLine {
                path: path.to_path_buf(),
                command,
            });
        }
        // Replacing in place keeps the key where the user had it.
        _ => {
            out.insert("statusLine".into(), status_line(exe));
        }
    }
    if hooks {
        add_hooks(&mut out, &hook_command(exe), path)?;
    }
    Ok(if &out == settings {
        Outcome::Unchanged
    } else {
        Outcome::Changed(out)
    })
}

/// Adds one `{"hooks": [{"type": "command", "command": …}]}` group per event unless an identical
/// command is already registered for that event; other groups and events are left as they are.
fn add_hooks(
    settings: &mut Map<String, Value>,
    command: &str,
    path: &Path,
) -> Result<(), SetupError> {
    let shape = |key: &str, expected| SetupError::UnexpectedShape {
        path: path.to_path_buf(),
        key: key.into(),
        expected,
    };
    let hooks = settings
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let hooks = hooks
        .as_object_mut()
        .ok_or_else(|| shape("hooks", "an object"))?;
    for event in HOOK_EVENTS {
        let groups = hooks
            .entry(event)
            .or_insert_with(|| Value::Array(Vec::new()));
        let groups = groups
            .as_array_mut()
            .ok_or_else(|| shape(&format!("hooks.{event}"), "an array"))?;
        let present = groups
            .iter()
            .any(|g| group_hooks(g).any(|h| command_of(h) == Some(command)));
        if !present {
            groups.push(json!({"hooks": [{"type": "command", "command": command}]}));
        }
    }
    Ok(())
}

/// Pure: the settings without ccmeter's statusLine and hooks. A statusLine or hook that runs
/// something else is left alone. Containers emptied by the removal go too, so install followed by
/// uninstall gives back the original settings; containers that were already empty stay.
pub fn uninstall(settings: &Map<String, Value>, exe: &str) -> Outcome {
    let mut out = settings.clone();
    if out
        .get("statusLine")
        .and_then(command_of)
        .is_some_and(|c| is_ours(c, exe))
    {
        out.shift_remove("statusLine");
    }
    let mut hooks_emptied = false;
    if let Some(hooks) = out.get_mut("hooks").and_then(Value::as_object_mut) {
        let hook = hook_command(exe);
        for event in HOOK_EVENTS {
            let Some(groups) = hooks.get_mut(event).and_then(Value::as_array_mut) else {
                continue;
            };
            let before = groups.len();
            let mut removed = false;
            for group in groups.iter_mut() {
                let Some(list) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
                    continue;
                };
                let n = list.len();
                list.retain(|h| !command_of(h).is_some_and(|c| c == hook || is_our_hook(c)));
                if list.len() != n {
                    removed = true;
                    if list.is_empty() {
                        // Mark the group for removal; only groups we emptied are removed.
                        *group = Value::Null;
                    }
                }
            }
            groups.retain(|g| !g.is_null());
            if removed && groups.is_empty() && before > 0 {
                hooks.shift_remove(event);
                hooks_emptied |= hooks.is_empty();
            }
        }
    }
    if hooks_emptied {
        out.shift_remove("hooks");
    }
    if &out == settings {
        Outcome::Unchanged
    } else {
        Outcome::Changed(out)
    }
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

/// Pretty JSON with 2-space indentation and a trailing newline, as written to disk.
pub fn to_pretty(settings: &Map<String, Value>) -> String {
    let mut s = serde_json::to_string_pretty(settings).expect("a JSON map always serialises");
    s.push('\n');
    s
}

/// Pure: bytes of a settings file -> its top-level object.
pub fn parse_settings(bytes: &[u8], path: &Path) -> Result<Map<String, Value>, SetupError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| SetupError::InvalidJson {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        detail: strip_position(&e.to_string()),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(SetupError::NotAnObject {
            path: path.to_path_buf(),
            found: match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                Value::Object(_) => unreachable!("matched above"),
            },
        }),
    }
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
fn settings_path(config: &Config) -> PathBuf {
    let path = config.config_dir.path.join("settings.json");
    match fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(&path).unwrap_or(path),
        _ => path,
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
    let path = settings_path(config);
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
        Ok(s) => s,
        Err(e) => return (false, e.to_string()),
    };
    let hooks = HOOK_EVENTS
        .iter()
        .filter(|event| {
            settings
                .get("hooks")
                .and_then(|h| h.get(**event))
                .and_then(Value::as_array)
                .is_some_and(|groups| {
                    groups
                        .iter()
                        .flat_map(group_hooks)
                        .filter_map(command_of)
                        .any(is_our_hook)
                })
        })
        .count();
    let hooks = if hooks > 0 {
        format!(", hook on {hooks} event(s)")
    } else {
        String::new()
    };
    match settings.get("statusLine").and_then(command_of) {
        Some(cmd) if program_name(cmd) == Some("ccmeter") => (
            true,
            format!("{}: statusLine runs {cmd}{hooks}", path.display()),
        ),
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
        Err(e) => {
            eprintln!("ccmeter setup: {e}");
            1
        }
    }
}

fn apply(config: &Config, args: &SetupArgs, now: i64) -> Result<(), SetupError> {
    let path = settings_path(config);
    let exe = executable_path().map_err(|e| SetupError::Io {
        path: PathBuf::from("the ccmeter executable"),
        action: "locate",
        error: e.to_string(),
    })?;
    let exe = shell_quote(&exe.to_string_lossy());

    let existing = read_existing(&path)?;
    let before = match &existing {
        Some(e) => parse_settings(&e.bytes, &path)?,
        None => Map::new(),
    };
    let outcome = if args.uninstall {
        uninstall(&before, &exe)
    } else {
        install(&before, &exe, args.hooks, args.force, &path)?
    };
    let after = match outcome {
        Outcome::Changed(after) => after,
        Outcome::Unchanged if args.uninstall => {
            println!(
                "{}: nothing of ccmeter's to remove; not changed",
                path.display()
            );
            return Ok(());
        }
        Outcome::Unchanged => {
            println!(
                "{}: already set up (statusLine runs {exe}); not changed",
                path.display()
            );
            return Ok(());
        }
    };
    if let Some(e) = &existing {
        if !args.dry_run && is_read_only(&path, e) {
            return Err(SetupError::ReadOnly { path });
        }
    }

    let old_text = if existing.is_some() {
        to_pretty(&before)
    } else {
        String::new()
    };
    let new_text = to_pretty(&after);
    match &existing {
        Some(_) => println!(
            "--- {}\n+++ {} (after setup)",
            path.display(),
            path.display()
        ),
        None => println!("--- (no file)\n+++ {} (new)", path.display()),
    }
    print!("{}", line_diff(&old_text, &new_text));
    if existing
        .as_ref()
        .is_some_and(|e| e.bytes != old_text.as_bytes())
    {
        println!("(the whole file is rewritten as JSON with 2-space indentation)");
    }
    if args.dry_run {
        println!("dry run: {} not changed", path.display());
        return Ok(());
    }

    let io_err = |path: &Path, action, e: io::Error| SetupError::Io {
        path: path.to_path_buf(),
        action,
        error: e.to_string(),
    };
    match &existing {
        Some(e) => {
            let backup =
                write_backup(&path, e, now).map_err(|err| io_err(&path, "back up", err))?;
            println!("backup: {}", backup.display());
        }
        None => create_config_dir(path.parent().unwrap_or(Path::new(".")))
            .map_err(|e| io_err(&path, "create the directory of", e))?,
    }
    write_atomic(&path, new_text.as_bytes()).map_err(|e| io_err(&path, "write", e))?;
    // write_atomic creates 0600; give the file back the mode the user had (e.g. 0644).
    #[cfg(unix)]
    if let Some(e) = &existing {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(e.mode))
            .map_err(|err| io_err(&path, "restore the mode of", err))?;
    }
    if args.uninstall {
        println!("removed ccmeter from {}", path.display());
    } else {
        println!(
            "wrote {}; Claude Code shows the status line from its next message on",
            path.display()
        );
    }
    Ok(())
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

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn changed(o: Outcome) -> Map<String, Value> {
        match o {
            Outcome::Changed(m) => m,
            Outcome::Unchanged => panic!("expected a change"),
        }
    }

    fn p() -> &'static Path {
        Path::new("/h/.claude/settings.json")
    }

    #[test]
    fn install_appends_status_line_and_keeps_order() {
        let s = map(json!({"model": "opus", "env": {"A": "1"}, "theme": "dark"}));
        let out = changed(install(&s, EXE, false, false, p()).unwrap());
        let keys: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(keys, ["model", "env", "theme", "statusLine"]);
        assert_eq!(
            out["statusLine"],
            json!({"type": "command", "command": EXE, "padding": 0})
        );
    }

    #[test]
    fn same_command_is_already_set_up_even_with_other_padding() {
        let s = map(json!({"statusLine": {"type": "command", "command": EXE, "padding": 2}}));
        assert_eq!(
            install(&s, EXE, false, false, p()).unwrap(),
            Outcome::Unchanged
        );
    }

    #[test]
    fn other_status_line_needs_force_and_keeps_its_position() {
        let s = map(
            json!({"a": 1, "statusLine": {"type": "command", "command": "~/bin/line.sh"}, "z": 2}),
        );
        let err = install(&s, EXE, false, false, p()).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert!(err.to_string().contains("~/bin/line.sh"), "{err}");
        let out = changed(install(&s, EXE, false, true, p()).unwrap());
        assert_eq!(out.keys().collect::<Vec<_>>(), ["a", "statusLine", "z"]);
        assert_eq!(out["statusLine"]["command"], EXE);
    }

    #[test]
    fn hooks_are_added_once_beside_other_hooks() {
        let s = map(
            json!({"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "lint"}]}],
                                      "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}}),
        );
        let once = changed(install(&s, EXE, true, false, p()).unwrap());
        let ups = once["hooks"]["UserPromptSubmit"].as_array().unwrap();
        assert_eq!(ups.len(), 2);
        assert_eq!(ups[0], s["hooks"]["UserPromptSubmit"][0]);
        assert_eq!(
            ups[1],
            json!({"hooks": [{"type": "command", "command": "/usr/local/bin/ccmeter hook"}]})
        );
        assert_eq!(once["hooks"]["SessionStart"].as_array().unwrap().len(), 1);
        assert_eq!(once["hooks"]["Stop"], s["hooks"]["Stop"]);
        assert_eq!(
            install(&once, EXE, true, false, p()).unwrap(),
            Outcome::Unchanged
        );
    }

    #[test]
    fn odd_hooks_shape_is_refused() {
        let s = map(json!({"hooks": "nope"}));
        let err = install(&s, EXE, true, false, p()).unwrap_err();
        assert!(
            matches!(err, SetupError::UnexpectedShape { ref key, .. } if key == "hooks"),
            "{err}"
        );
        let s = map(json!({"hooks": {"SessionStart": {}}}));
        assert!(install(&s, EXE, true, false, p()).is_err());
    }

    #[test]
    fn uninstall_reverses_install_exactly() {
        for original in [
            json!({}),
            json!({"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x"}]}]}}),
            json!({"hooks": {"UserPromptSubmit": [{"matcher": "", "hooks": [{"type": "command", "command": "y"}]}]}, "z": 1}),
        ] {
            let s = map(original);
            let installed = changed(install(&s, EXE, true, false, p()).unwrap());
            assert_eq!(changed(uninstall(&installed, EXE)), s);
        }
        // Containers that were empty before uninstall are not ours to tidy up.
        let empty = map(json!({"hooks": {"Stop": []}}));
        assert_eq!(uninstall(&empty, EXE), Outcome::Unchanged);
    }

    #[test]
    fn uninstall_leaves_other_status_lines_and_recognises_moved_binaries() {
        let other =
            map(json!({"statusLine": {"type": "command", "command": "starship statusline"}}));
        assert_eq!(uninstall(&other, EXE), Outcome::Unchanged);
        let moved = map(
            json!({"statusLine": {"type": "command", "command": "/old/path/ccmeter"},
            "hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "/old/path/ccmeter hook"},
                                                   {"type": "command", "command": "other"}]}]}}),
        );
        let out = changed(uninstall(&moved, EXE));
        assert_eq!(
            Value::Object(out),
            json!({"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "other"}]}]}})
        );
    }

    #[test]
    fn parse_errors_name_line_and_column() {
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
}
