//! The I/O of `setup`: finding and reading `settings.json` (following a dotfile manager's link),
//! the backup beside it, the record beside the store, and the atomic write.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::cli::{Config, SetupArgs};
use crate::files::write_atomic;

use super::command::shell_quote;
use super::diff::line_diff;
use super::plan::{Note, Plan, Record, Request, install, note_text, uninstall};
use super::settings::{Settings, SetupError, parse_settings};
use super::version::{Version, hook_events};

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

/// The original file, if there is one.
/// The most of `settings.json` setup and doctor read. Claude Code's own file is a few KB; a
/// long permission list can reach megabytes; past this it is not a settings file anyone edits
/// by hand, and reading it whole (a 2 GB file made doctor use 2.1 GB) is not worth the risk.
const MAX_SETTINGS: u64 = 16 << 20;

pub(super) struct Existing {
    pub(super) bytes: Vec<u8>,
    #[cfg(unix)]
    mode: u32,
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
        Err(e) => {
            return Err(SetupError::Io {
                path: path.to_path_buf(),
                action: "read",
                error: e.to_string(),
            });
        }
    };
    #[cfg(unix)]
    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
    #[cfg(not(unix))]
    let _ = meta;
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

pub(super) fn apply(config: &Config, args: &SetupArgs, now: i64) -> Result<(), SetupError> {
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

    fn p() -> &'static Path {
        Path::new("/h/.claude/settings.json")
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
