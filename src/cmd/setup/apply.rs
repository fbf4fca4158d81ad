//! The I/O of `setup`: finding and reading `settings.json` (following a dotfile manager's link),
//! the backup beside it, the record beside the store, and the write, which replaces the file
//! only if it is still what setup read (another program's save in between is not lost) and
//! keeps its mode, owner and group.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::cli::{Config, SetupArgs};
use crate::files::write_atomic;

use super::command::{self, shell_quote};
use super::diff::line_diff;
use super::plan::{Note, Plan, Record, Request, VersionSource, install, note_text, uninstall};
use super::probe;
use super::settings::{Settings, SetupError, parse_settings};
use super::version::{Version, hook_events};

/// How many times setup reads, plans and writes again when another program saved the file
/// while it was working on it.
const ATTEMPTS: usize = 3;

/// The most of `settings.json` setup and doctor read. Claude Code's own file is a few KB; a
/// long permission list can reach megabytes; past this it is not a settings file anyone edits
/// by hand, and reading it whole (a 2 GB file made doctor use 2.1 GB) is not worth the risk.
const MAX_SETTINGS: u64 = 16 << 20;

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
        // Inferred, not named: musl marks its `time_t` alias deprecated (it becomes 64-bit).
        let t = now as _;
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
pub(super) fn settings_path(config: &Config) -> Result<PathBuf, SetupError> {
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

/// The original file, if there is one: its bytes, and the mode, owner and group it keeps.
pub(super) struct Existing {
    pub(super) bytes: Vec<u8>,
    #[cfg(unix)]
    mode: u32,
    #[cfg(unix)]
    owner: (u32, u32),
}

pub(super) fn read_existing(path: &Path) -> Result<Option<Existing>, SetupError> {
    let (bytes, meta) = match crate::files::read_regular_file(path, MAX_SETTINGS) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            return Err(SetupError::TooLarge {
                path: path.to_path_buf(),
                max_mib: MAX_SETTINGS >> 20,
            });
        }
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
            return Err(SetupError::NotRegular {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_error(path, "read", e)),
    };
    #[cfg(not(unix))]
    let _ = meta;
    Ok(Some(Existing {
        bytes,
        #[cfg(unix)]
        mode: std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777,
        #[cfg(unix)]
        owner: (
            std::os::unix::fs::MetadataExt::uid(&meta),
            std::os::unix::fs::MetadataExt::gid(&meta),
        ),
    }))
}

fn io_error(path: &Path, action: &'static str, e: io::Error) -> SetupError {
    SetupError::Io {
        path: path.to_path_buf(),
        action,
        error: e.to_string(),
    }
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

/// The record of what uninstall needs, beside this account's store entry.
fn record_path(config: &Config) -> PathBuf {
    config.store.sidecar("setup.json")
}

/// The record for `settings`, if one was kept for that very file.
fn read_record(path: &Path, settings: &Path) -> Record {
    crate::files::read_cache_file(path, 1 << 20)
        .ok()
        .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
        .filter(|r| Path::new(&r.settings) == settings)
        .unwrap_or_default()
}

/// Why one attempt did not finish.
enum Stop {
    /// Another program saved the file after setup read it: read it again.
    Changed,
    Failed(SetupError),
}

impl From<SetupError> for Stop {
    fn from(e: SetupError) -> Stop {
        Stop::Failed(e)
    }
}

pub(super) fn apply(config: &Config, args: &SetupArgs, now: i64) -> Result<(), SetupError> {
    apply_with(config, args, now, &mut |_| {})
}

/// [`apply`], with `before_rename` run just before the new file takes the place of the old one
/// (where the tests play another program saving the file).
pub(super) fn apply_with(
    config: &Config,
    args: &SetupArgs,
    now: i64,
    before_rename: &mut dyn FnMut(&Path),
) -> Result<(), SetupError> {
    let path = settings_path(config)?;
    let exe = this_command()?;

    // The hook events for the Claude Code in use: the version its status line told the store,
    // else (for --hooks) what `claude --version` says.
    let mut seen = config
        .store
        .read(now)
        .ok()
        .and_then(|e| e.claude_code_version)
        .and_then(|v| Some((Version::parse(&v)?, VersionSource::StatusLine)));
    if seen.is_none() && args.hooks && !args.uninstall {
        seen = probe::claude_version(probe::CLAUDE_VERSION_TIMEOUT)
            .map(|v| (v, VersionSource::ClaudeVersion));
    }
    let (events, left_out) = hook_events(seen.map(|(v, _)| v));
    let left_out = (args.hooks && !left_out.is_empty()).then(|| Note::EventsLeftOut {
        seen: seen.map(|(v, source)| (v.to_string(), source)),
        events: left_out,
    });
    let req = Request {
        exe: &exe,
        hooks: args.hooks.then_some(&events[..]),
        force: args.force,
        offline: args.offline,
        windows: cfg!(windows),
    };

    let record_file = record_path(config);
    for attempt in 1..=ATTEMPTS {
        match attempt_once(
            config,
            args,
            now,
            &path,
            req,
            &record_file,
            &left_out,
            before_rename,
        ) {
            Ok(()) => return Ok(()),
            Err(Stop::Failed(e)) => return Err(e),
            Err(Stop::Changed) if attempt < ATTEMPTS => println!(
                "{} was saved by another program while setup was writing it; reading it again",
                path.display()
            ),
            Err(Stop::Changed) => break,
        }
    }
    Err(SetupError::KeptChanging { path })
}

/// The command Claude Code runs for this binary, as the shell it uses will read it.
fn this_command() -> Result<String, SetupError> {
    let exe = executable_path().map_err(|e| SetupError::Io {
        path: PathBuf::from("the ccmeter executable"),
        action: "locate",
        error: e.to_string(),
    })?;
    if cfg!(windows) {
        let on_path = probe::find_on_path(&["ccmeter.exe"])
            .and_then(|p| fs::canonicalize(p).ok())
            .is_some_and(|p| fs::canonicalize(&exe).is_ok_and(|e| e == p));
        command::windows_command(&exe.to_string_lossy(), on_path)
            .map_err(|command::UnsafeWindowsPath(path)| SetupError::WindowsPath { path })
    } else {
        Ok(shell_quote(&exe.to_string_lossy()))
    }
}

/// Reads, plans, shows and writes once.
#[allow(clippy::too_many_arguments)]
fn attempt_once(
    config: &Config,
    args: &SetupArgs,
    now: i64,
    path: &Path,
    req: Request<'_>,
    record_file: &Path,
    left_out: &Option<Note>,
    before_rename: &mut dyn FnMut(&Path),
) -> Result<(), Stop> {
    let existing = read_existing(path)?;
    let before = match &existing {
        Some(e) => parse_settings(&e.bytes, path)?,
        None => Settings::empty(),
    };
    let mut record = read_record(record_file, path);
    record.settings = path.to_string_lossy().into_owned();

    let plan = if args.uninstall {
        Plan {
            text: uninstall(&before, &record, req.exe, path)?,
            record: Record::default(),
            notes: Vec::new(),
        }
    } else {
        let mut plan = install(&before, &record, req, path)?;
        plan.record.created_file |= existing.is_none();
        plan.notes.extend(left_out.clone());
        plan
    };
    // A file setup created, holding nothing but what setup put in it: uninstall removes it.
    let remove = args.uninstall
        && existing.is_some()
        && record.created_file
        && plan.text == Settings::empty().text;
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
        print_notes(&plan.notes, record_file, args.dry_run);
        return Ok(());
    }
    if let Some(e) = &existing
        && !args.dry_run
        && is_read_only(path, e)
    {
        return Err(SetupError::ReadOnly {
            path: path.to_path_buf(),
        }
        .into());
    }

    let shown = path.display();
    match &existing {
        _ if remove => println!("--- {shown}\n+++ (no file: setup had created it)"),
        Some(_) => println!("--- {shown}\n+++ {shown} (after setup)"),
        None => println!("--- (no file)\n+++ {shown} (new)"),
    }
    let old_text = if existing.is_some() {
        &before.text[..]
    } else {
        ""
    };
    let new_text = if remove { "" } else { &plan.text[..] };
    print!("{}", line_diff(old_text, new_text));
    if args.dry_run {
        println!("dry run: {shown} not changed");
        print_notes(&plan.notes, record_file, true);
        return Ok(());
    }

    // No backup of a file that held only what setup wrote into it.
    let backup = match &existing {
        Some(_) if remove => None,
        Some(e) => {
            let backup =
                write_backup(path, e, now).map_err(|err| io_error(path, "back up", err))?;
            println!("backup: {}", backup.display());
            Some(backup)
        }
        None => {
            create_config_dir(path.parent().unwrap_or(Path::new(".")))
                .map_err(|e| io_error(path, "create the directory of", e))?;
            None
        }
    };
    // The record first: one without the change it describes is harmless, the reverse loses the
    // status line `--force` replaced. The backup holds it too, so failing here is not fatal.
    if !args.uninstall
        && plan.record != record
        && let Err(e) = write_record(config, record_file, &plan.record)
    {
        // Without the record, `--uninstall` could not put back what `--force` replaces:
        // refuse rather than promise it.
        if plan.record.replaced_status_line != record.replaced_status_line {
            return Err(io_error(
                record_file,
                "save the statusLine --force replaces (so --uninstall can put it back) to",
                e,
            )
            .into());
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
    if remove {
        before_rename(path);
        if !unchanged(path, existing.as_ref())? {
            return Err(Stop::Changed);
        }
        fs::remove_file(path).map_err(|e| io_error(path, "remove", e))?;
    } else {
        replace_checked(path, existing.as_ref(), plan.text.as_bytes(), before_rename)?;
    }
    if args.uninstall {
        // Consumed: a later setup starts from what the file says then.
        let _ = fs::remove_file(record_file);
        if remove {
            println!("removed {shown} (setup had created it)");
        } else {
            println!("removed ccmeter from {shown}");
        }
    } else {
        println!("wrote {shown}; Claude Code shows the status line from its next message on");
    }
    print_notes(&plan.notes, record_file, false);
    Ok(())
}

/// Whether the file is still what setup read (`None`: still missing).
fn unchanged(path: &Path, existing: Option<&Existing>) -> Result<bool, Stop> {
    Ok(match (read_existing(path)?, existing) {
        (None, None) => true,
        (Some(now), Some(then)) => now.bytes == then.bytes,
        _ => false,
    })
}

/// Writes `bytes` as `path` through a temp file in the same directory (written, given the old
/// file's mode, owner and group, synced), then renames it over the old one, but only if the
/// file is still what setup read: another program's save in between (Claude Code writes this
/// file too) is not lost but read again. What is left is the instant between that check and the
/// rename, which no lock can close: Claude Code takes none.
fn replace_checked(
    path: &Path,
    existing: Option<&Existing>,
    bytes: &[u8],
    before_rename: &mut dyn FnMut(&Path),
) -> Result<(), Stop> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, mut f) =
        crate::files::create_temp(dir, &name).map_err(|e| io_error(path, "write", e))?;
    let result = (|| {
        f.write_all(bytes).map_err(|e| io_error(path, "write", e))?;
        #[cfg(unix)]
        keep_mode_and_owner(&f, dir, existing)
            .map_err(|e| io_error(path, "keep the owner of", e))?;
        f.sync_all().map_err(|e| io_error(path, "write", e))?;
        drop(f);
        before_rename(path);
        if !unchanged(path, existing)? {
            return Err(Stop::Changed);
        }
        fs::rename(&tmp, path).map_err(|e| io_error(path, "write", e))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The new file gets the old one's mode (a new one stays 0600), and its owner and group: run as
/// root on a user's HOME (sudo), setup must not leave a `settings.json` the user cannot edit. A
/// new file there belongs to whoever owns its directory. Giving a file away is root's alone:
/// for anyone else a failure to keep the group (one they are not in) is no reason to stop.
#[cfg(unix)]
fn keep_mode_and_owner(f: &fs::File, dir: &Path, existing: Option<&Existing>) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if let Some(e) = existing {
        f.set_permissions(fs::Permissions::from_mode(e.mode))?;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let owner = match existing {
        Some(e) => e.owner,
        None if root => {
            let d = fs::metadata(dir)?;
            (d.uid(), d.gid())
        }
        None => return Ok(()),
    };
    let mine = f.metadata()?;
    if (mine.uid(), mine.gid()) == owner {
        return Ok(());
    }
    match std::os::unix::fs::fchown(f, Some(owner.0), Some(owner.1)) {
        Err(e) if root => Err(e),
        _ => Ok(()),
    }
}

fn write_record(config: &Config, file: &Path, record: &Record) -> io::Result<()> {
    crate::files::ensure_dir(config.store.dir())?;
    let bytes = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    write_atomic(file, &bytes)
}

fn print_notes(notes: &[Note], record_file: &Path, dry_run: bool) {
    for note in notes {
        println!("{}", note_text(note, record_file, dry_run));
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
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            let (uid, gid) = existing.owner;
            std::os::unix::fs::lchown(&backup, Some(uid), Some(gid))?;
        }
    }
    Ok(backup)
}

/// Creates a missing config dir owner-only, as it will hold credentials; as root, owned by
/// whoever owns the directory it is made in (the user's HOME under sudo).
fn create_config_dir(dir: &Path) -> io::Result<()> {
    let existed = dir.exists();
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    if !existed && unsafe { libc::geteuid() } == 0 {
        use std::os::unix::fs::MetadataExt;
        if let Some(parent) = dir.parent() {
            let p = fs::metadata(parent)?;
            std::os::unix::fs::lchown(dir, Some(p.uid()), Some(p.gid()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = existed;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/h/.claude/settings.json")
    }

    /// A config for a temp HOME: settings in `<tmp>/home/.claude`, the store in `<tmp>/cache`.
    fn sandbox() -> (tempfile::TempDir, Config, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let config_dir = tmp.path().join("home/.claude");
        fs::create_dir_all(&config_dir).unwrap();
        let env = crate::paths::Env {
            home: Some(tmp.path().join("home")),
            claude_config_dir: Some(config_dir.to_string_lossy().into_owned()),
            securestorage_config_dir: None,
            cache_dir: Some(tmp.path().join("cache")),
        };
        let config = crate::cli::parse_args(&["setup".into()], env);
        let settings = config_dir.join("settings.json");
        (tmp, config, settings)
    }

    /// #21 item 6: another program saves the file after setup read it and before the rename:
    /// its edit is not lost; setup reads the file again and makes its change on top.
    #[test]
    fn another_writers_save_before_the_rename_is_not_lost() {
        let (_tmp, config, settings) = sandbox();
        fs::write(&settings, "{\n  \"model\": \"opus\"\n}\n").unwrap();
        let mut saves = 0;
        let mut other_writer = |path: &Path| {
            if saves == 0 {
                fs::write(path, "{\n  \"model\": \"sonnet\"\n}\n").unwrap();
            }
            saves += 1;
        };
        apply_with(&config, &SetupArgs::default(), 0, &mut other_writer).unwrap();
        assert_eq!(saves, 2, "read again after the other save");
        let after = fs::read_to_string(&settings).unwrap();
        let v: serde_json::Value = serde_json::from_str(&after).unwrap();
        assert_eq!(v["model"], "sonnet", "{after}");
        assert!(v["statusLine"]["command"].is_string(), "{after}");
        // Leaves no temp file behind.
        let names: Vec<String> = fs::read_dir(settings.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }

    /// A file that keeps changing is not overwritten: setup gives up and says so.
    #[test]
    fn a_file_that_keeps_changing_is_left_to_the_other_writer() {
        let (_tmp, config, settings) = sandbox();
        fs::write(&settings, "{}\n").unwrap();
        let mut n = 0;
        let mut busy_writer = |path: &Path| {
            n += 1;
            fs::write(path, format!("{{\"n\": {n}}}\n")).unwrap();
        };
        let err = apply_with(&config, &SetupArgs::default(), 0, &mut busy_writer).unwrap_err();
        assert!(matches!(err, SetupError::KeptChanging { .. }), "{err}");
        assert_eq!(n, ATTEMPTS);
        assert_eq!(fs::read_to_string(&settings).unwrap(), "{\"n\": 3}\n");
        // Created meanwhile by someone else: the same check (the file was missing).
        fs::remove_file(&settings).unwrap();
        let mut creator = |path: &Path| {
            if !path.exists() {
                fs::write(path, "{\"theirs\": 1}").unwrap();
            }
        };
        apply_with(&config, &SetupArgs::default(), 0, &mut creator).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&settings).unwrap()).unwrap();
        assert_eq!(v["theirs"], 1);
        assert!(v["statusLine"].is_object());
    }

    /// #21 item 6: run as root on a user's HOME (sudo), the file keeps its owner and group,
    /// and a backup gets them too. Only meaningful as root (CI runs as root); skipped otherwise.
    #[cfg(unix)]
    #[test]
    fn as_root_the_files_owner_and_group_are_kept() {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: not root");
            return;
        }
        let (_tmp, config, settings) = sandbox();
        fs::write(&settings, "{\"model\": \"opus\"}").unwrap();
        std::os::unix::fs::chown(&settings, Some(4242), Some(4343)).unwrap();
        apply_with(&config, &SetupArgs::default(), 0, &mut |_| {}).unwrap();
        let meta = fs::metadata(&settings).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (4242, 4343));
        let dir = settings.parent().unwrap();
        let backup = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(".bak-"))
            .unwrap();
        let meta = fs::metadata(&backup).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (4242, 4343));

        // A new file (and config dir) in a user's HOME belongs to that user.
        let (_tmp, config, settings) = sandbox();
        let home = settings.parent().unwrap().parent().unwrap();
        fs::remove_dir_all(settings.parent().unwrap()).unwrap();
        std::os::unix::fs::chown(home, Some(4242), Some(4343)).unwrap();
        apply_with(&config, &SetupArgs::default(), 0, &mut |_| {}).unwrap();
        for p in [&settings, &settings.parent().unwrap().to_path_buf()] {
            let meta = fs::metadata(p).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (4242, 4343), "{}", p.display());
        }
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
