//! What setup asks the system outside the settings file: where a program is on PATH, and which
//! Claude Code `claude --version` says it is (when no status line has told ccmeter yet, so that
//! `--hooks` can still add the events only newer clients know).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::version::Version;

/// How long `claude --version` may take: a native client answers in well under a second, an
/// npm shim that starts node in one or two; a hung one must not hang setup.
pub const CLAUDE_VERSION_TIMEOUT: Duration = Duration::from_secs(2);

/// The first of `names` in a PATH directory, as an absolute path. Relative PATH entries (an
/// empty one means the current directory) are skipped: setup must not run a `claude` that
/// happens to sit in the folder it was started from.
pub fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .find_map(|dir| names.iter().map(|n| dir.join(n)).find(|c| is_executable(c)))
}

fn is_executable(p: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// The Claude Code version `claude --version` prints (`2.1.71 (Claude Code)`), found on PATH and
/// given `timeout`. Whatever happens, nothing is left running: on Unix the child gets a process
/// group of its own, which is killed as a whole (a wrapper script's children too) once the
/// answer is in or the time is up, and the child is reaped.
pub fn claude_version(timeout: Duration) -> Option<Version> {
    let names: &[&str] = if cfg!(windows) {
        &["claude.exe", "claude.cmd"]
    } else {
        &["claude"]
    };
    let program = find_on_path(names)?;
    let mut cmd = Command::new(program);
    cmd.arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().ok()?;
    let stdout = child.stdout.take()?;
    // Read on a thread: a child that neither writes nor exits (or leaves a grandchild holding
    // the pipe) must not keep setup waiting past the timeout.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.take(4096).read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    let out = rx.recv_timeout(timeout);
    #[cfg(unix)]
    // SAFETY: kill has no memory effects; the group is the child's own (process_group(0)), and
    // the child is not reaped yet, so its id cannot have been reused.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
    parse_claude_version(&out.ok()?)
}

/// Pure: the version in `claude --version`'s output, its first word (`2.1.71 (Claude Code)`).
pub fn parse_claude_version(out: &[u8]) -> Option<Version> {
    let text = String::from_utf8_lossy(out);
    Version::parse(text.split_whitespace().next()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_first_word() {
        assert_eq!(
            parse_claude_version(b"2.1.71 (Claude Code)\n"),
            Some(Version(2, 1, 71))
        );
        assert_eq!(
            parse_claude_version(b"2.1.330-beta.1 (Claude Code)"),
            Some(Version(2, 1, 330))
        );
        assert_eq!(parse_claude_version(b""), None);
        assert_eq!(parse_claude_version(b"command not found"), None);
    }
}
