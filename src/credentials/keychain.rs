//! The macOS login keychain, read the way Claude Code reads it:
//! `/usr/bin/security find-generic-password -a <account> -s <service> -w`.
//!
//! Why a subprocess and not Security.framework: Claude Code writes its item with
//! `/usr/bin/security`, so the item's access list trusts that tool only. `SecItemCopyMatching`
//! from any other binary shows a modal "wants to use your confidential information" prompt, and
//! "Always Allow" is keyed to the binary's code hash (lost on every rebuild or upgrade) and wiped
//! whenever Claude Code rewrites the item on a token refresh (Lcharvol/Claude-God#30 and #31,
//! soulduse/ai-token-monitor#76, steipete/CodexBar#367). ccstatusline, CCometixLine, claude-hud
//! and the oh-my-claudecode HUD shell out to `security` for the same reason.
//!
//! `security`'s exit status is the low byte of the keychain's `OSStatus`: 44 is
//! `errSecItemNotFound` (-25300), 36 `errSecInteractionNotAllowed` (-25308, a locked keychain
//! and no GUI to unlock it, as over SSH), 51 `errSecAuthFailed` (-25293), 128
//! `errSecUserCanceled` (-128).
//!
//! Plain Rust on every platform, taking the program as a parameter, so its exit-code, hex and
//! timeout handling is tested everywhere with a stand-in script; only macOS calls [`read`].
//! Read-only: nothing here adds, updates or deletes an item. The output is a secret: it is wiped
//! when dropped and never quoted in a reason.

use super::{KeychainRead, SecretBytes};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Absolute, so no `PATH` entry can stand in for it.
pub(super) const SECURITY: &str = "/usr/bin/security";
/// Claude Code gives `security` 10 s; a read that takes more than 2 s is waiting on a dialog,
/// and the worker must finish well inside its own watchdog.
pub(super) const TIMEOUT: Duration = Duration::from_secs(2);
/// Claude Code's item is a few hundred bytes (twice that as hex).
const MAX_OUTPUT: u64 = 1 << 20;
/// How often the child is polled while it runs.
const POLL: Duration = Duration::from_millis(10);

const EXIT_NOT_FOUND: i32 = 44;
const EXIT_INTERACTION_NOT_ALLOWED: i32 = 36;
const EXIT_AUTH_FAILED: i32 = 51;
const EXIT_USER_CANCELED: i32 = 128;

#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub(super) fn read(service: &str, account: &str) -> KeychainRead {
    read_with(Path::new(SECURITY), service, account, TIMEOUT)
}

/// Runs `program find-generic-password -a <account> -s <service> -w` with no stdin and its
/// output captured; kills and reaps it after `timeout`.
pub(super) fn read_with(
    program: &Path,
    service: &str,
    account: &str,
    timeout: Duration,
) -> KeychainRead {
    let mut child = match Command::new(program)
        .args(["find-generic-password", "-a", account, "-s", service, "-w"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return KeychainRead::Unreadable(format!(
                "cannot run {} ({})",
                program.display(),
                e.kind()
            ));
        }
    };
    // Drained on threads so a chatty child cannot block on a full pipe while we wait.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            _ => break None,
        }
    };
    let Some(status) = status else {
        // Killed and reaped: no zombie, and no second dialog from this run.
        let _ = child.kill();
        let _ = child.wait();
        return KeychainRead::TimedOut;
    };
    // The pipes close when the child exits, unless it left a grandchild holding them: then
    // what did arrive is used rather than waiting on a stranger.
    let collect = |rx: mpsc::Receiver<SecretBytes>| {
        rx.recv_timeout(Duration::from_millis(200))
            .unwrap_or(SecretBytes(Vec::new()))
    };
    let (out, err) = (collect(stdout), collect(stderr));
    interpret(status.code(), out, &err.0)
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<SecretBytes> {
    let (tx, rx) = mpsc::channel();
    if let Some(pipe) = pipe {
        std::thread::spawn(move || {
            let mut buf = SecretBytes(Vec::new());
            let _ = pipe.take(MAX_OUTPUT + 1).read_to_end(&mut buf.0);
            let _ = tx.send(buf);
        });
    }
    rx
}

/// Pure: exit status, stdout and stderr into what the keychain said.
fn interpret(code: Option<i32>, mut out: SecretBytes, err: &[u8]) -> KeychainRead {
    let canceled = String::from_utf8_lossy(err)
        .to_ascii_lowercase()
        .contains("user canceled");
    match code {
        Some(0) => decode(&mut out),
        Some(EXIT_NOT_FOUND) => KeychainRead::NotFound,
        Some(EXIT_INTERACTION_NOT_ALLOWED) => KeychainRead::Locked,
        Some(c @ (EXIT_AUTH_FAILED | EXIT_USER_CANCELED)) => {
            KeychainRead::Denied(format!("security exit {c}"))
        }
        _ if canceled => KeychainRead::Denied("the user canceled the dialog".into()),
        Some(c) => KeychainRead::Unreadable(format!("security failed with exit {c}")),
        None => KeychainRead::Unreadable("security was killed by a signal".into()),
    }
}

/// `security -w` prints the item and a newline; an item with any non-printable byte comes out
/// as hex instead. Either way the result is handed on as the credentials document.
fn decode(out: &mut SecretBytes) -> KeychainRead {
    let bytes = &mut out.0;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    if bytes.len() as u64 > MAX_OUTPUT {
        return KeychainRead::Unreadable("security printed more than 1 MiB".into());
    }
    if bytes.first() == Some(&b'{') {
        return KeychainRead::Found(SecretBytes(std::mem::take(bytes)));
    }
    let nibble = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    if !bytes.is_empty() && bytes.len().is_multiple_of(2) {
        let decoded: Option<Vec<u8>> = bytes
            .chunks(2)
            .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
            .collect();
        if let Some(decoded) = decoded {
            return KeychainRead::Found(SecretBytes(decoded));
        }
    }
    // Never quoted: it may be a secret in a shape we do not know.
    KeychainRead::Unreadable(format!(
        "security printed {} bytes that are neither JSON nor hex",
        bytes.len()
    ))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::sync::OnceLock;

    const SAMPLE: &str = include_str!("../../fixtures/credentials.json");
    const OVERFLOW: &str = include_str!("../../fixtures/keychain-overflow-pointer.json");

    /// One stand-in `security`, written once before any test runs it (writing an executable
    /// while other threads fork invites ETXTBSY). It acts on the service name it is given.
    fn stand_in() -> &'static Path {
        static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
        let (_, program) = DIR.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            std::fs::write(d.join("plain"), SAMPLE.trim_end()).unwrap();
            std::fs::write(d.join("overflow"), OVERFLOW.trim_end()).unwrap();
            let hex: String = SAMPLE.bytes().map(|b| format!("{b:02x}")).collect();
            std::fs::write(d.join("hex"), hex).unwrap();
            let script = format!(
                r#"#!/bin/sh
# argv: find-generic-password -a ACCOUNT -s SERVICE -w
[ "$1 $2 $4 $6" = "find-generic-password -a -s -w" ] || exit 99
case "$5" in
  plain) cat '{d}/plain'; echo ;;
  'Claude Code-credentials') cat '{d}/overflow'; echo ;;
  plain-no-newline) cat '{d}/plain' ;;
  plain-two-newlines) cat '{d}/plain'; echo; echo ;;
  hex) cat '{d}/hex'; echo ;;
  odd-hex) printf '7b2\n' ;;
  garbage) printf 'sk-ant-oat01-GARBAGE-secret\n' ;;
  empty) ;;
  stdin) cat ;;
  exit44) echo 'security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.' >&2; exit 44 ;;
  exit36) echo 'security: SecKeychainSearchCopyNext: User interaction is not allowed.' >&2; exit 36 ;;
  exit51) exit 51 ;;
  cancel) echo 'security: SecKeychainItemCopyContent: User canceled the operation.' >&2; exit 1 ;;
  exit2) exit 2 ;;
  hang) echo $$ > '{d}/hang.pid'; exec sleep 30 ;;
  *) exit 98 ;;
esac
"#,
                d = d.display()
            );
            let program = d.join("security");
            std::fs::write(&program, script).unwrap();
            std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
            (dir, program)
        });
        program
    }

    fn run(service: &str) -> KeychainRead {
        read_with(stand_in(), service, "alice", TIMEOUT)
    }

    fn found(r: KeychainRead) -> Vec<u8> {
        match r {
            KeychainRead::Found(b) => b.0.clone(),
            other => panic!("expected Found, got {}", describe(&other)),
        }
    }

    fn describe(r: &KeychainRead) -> String {
        match r {
            KeychainRead::NotFound => "NotFound".into(),
            KeychainRead::Found(b) => format!("Found({} bytes)", b.0.len()),
            KeychainRead::Locked => "Locked".into(),
            KeychainRead::Denied(why) => format!("Denied({why})"),
            KeychainRead::TimedOut => "TimedOut".into(),
            KeychainRead::Unreadable(why) => format!("Unreadable({why})"),
        }
    }

    #[test]
    fn plain_json_loses_exactly_one_trailing_newline() {
        let sample = SAMPLE.trim_end().as_bytes();
        assert_eq!(found(run("plain")), sample);
        assert_eq!(found(run("plain-no-newline")), sample);
        let mut two = sample.to_vec();
        two.push(b'\n');
        assert_eq!(found(run("plain-two-newlines")), two);
    }

    #[test]
    fn hex_output_is_decoded() {
        assert_eq!(found(run("hex")), SAMPLE.as_bytes());
    }

    #[test]
    fn exit_codes_map_to_states() {
        assert!(matches!(run("exit44"), KeychainRead::NotFound));
        assert!(matches!(run("exit36"), KeychainRead::Locked));
        assert_eq!(describe(&run("exit51")), "Denied(security exit 51)");
        assert_eq!(
            describe(&run("cancel")),
            "Denied(the user canceled the dialog)"
        );
        assert_eq!(
            describe(&run("exit2")),
            "Unreadable(security failed with exit 2)"
        );
    }

    #[test]
    fn stdin_is_null() {
        // `cat` on a null stdin ends at once with nothing: not a terminal, not our pipe.
        assert_eq!(
            describe(&run("stdin")),
            "Unreadable(security printed 0 bytes that are neither JSON nor hex)"
        );
    }

    #[test]
    fn garbage_is_unreadable_and_never_quoted() {
        for service in ["garbage", "odd-hex", "empty"] {
            let r = run(service);
            let text = describe(&r);
            assert!(text.starts_with("Unreadable(security printed "), "{text}");
            assert!(
                !text.contains("GARBAGE") && !text.contains("sk-ant"),
                "{text}"
            );
            assert!(!text.contains("7b2"), "{text}");
        }
    }

    #[test]
    fn missing_program_is_unreadable() {
        let r = read_with(Path::new("/nonexistent/security"), "x", "y", TIMEOUT);
        assert_eq!(
            describe(&r),
            "Unreadable(cannot run /nonexistent/security (entity not found))"
        );
    }

    #[test]
    fn a_hanging_program_is_killed_and_reaped() {
        let start = Instant::now();
        let r = run("hang");
        let took = start.elapsed();
        assert!(matches!(r, KeychainRead::TimedOut), "{}", describe(&r));
        assert!(
            took >= TIMEOUT && took < Duration::from_millis(2500),
            "took {took:?}"
        );
        let pid_file = stand_in().with_file_name("hang.pid");
        let pid: i32 = std::fs::read_to_string(pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Reaped: it is no longer our child (a zombie would still be waitable) ...
        let mut status = 0;
        // SAFETY: waitpid with a valid out-pointer; WNOHANG never blocks.
        let waited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert_eq!(waited, -1, "pid {pid} was still waitable");
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::ECHILD)
        );
        // ... and gone from the process table.
        if Path::new("/proc/self").exists() {
            assert!(
                !Path::new(&format!("/proc/{pid}")).exists(),
                "pid {pid} still exists"
            );
        }
    }

    /// Claude Code 2.1.332 moves an item's larger sections, the login among them, to a second
    /// item encrypted with a key kept in the first; the first then holds a `keychainOverflow`
    /// pointer and no `claudeAiOauth`. That is not "not logged in", and doctor says what it is.
    #[test]
    fn a_login_moved_to_the_overflow_item_is_said_so_not_logged_out() {
        use crate::credentials::{Lookup, Origin, discover_with};
        use crate::paths::ConfigDir;
        use crate::usage::Problem;
        let tmp = tempfile::tempdir().unwrap();
        // The default config dir: the item is the plain `Claude Code-credentials`.
        let dir = ConfigDir {
            path: tmp.path().to_path_buf(),
            configured: None,
        };
        let read = |service: &str, account: &str| read_with(stand_in(), service, account, TIMEOUT);
        let now_ms = 1_795_000_000_000 - 3 * 3_600_000;
        let d = discover_with(&dir, None, Some("alice"), now_ms, Some(&read), None, None);
        let Lookup::KeychainOverflow { service, overflow } = &d.lookup else {
            panic!("{:?}", d.lookup)
        };
        assert_eq!(service, "Claude Code-credentials");
        assert_eq!(overflow, "Claude Code-credentials-overflow-a");
        assert_eq!(d.lookup.problem(), Some(Problem::CredentialsUnreadable));
        let explain = d.lookup.explain();
        assert!(
            explain.starts_with("logged in, but out of ccmeter's reach: Claude Code moved the login from the keychain item \"Claude Code-credentials\" to a second, encrypted item \"Claude Code-credentials-overflow-a\""),
            "{explain}"
        );
        assert_eq!(
            d.probes[1],
            "keychain \"Claude Code-credentials\" (account alice): found, but holding no login: it is in Claude Code's encrypted item \"Claude Code-credentials-overflow-a\" (keychainOverflow), not read"
        );
        // The pointer's key decrypts the other item: never in any text.
        let text = format!("{d:?} {explain} {:?}", d.probes);
        assert!(
            !text.contains("SAMPLE") && !text.contains("5c1e0b7a"),
            "{text}"
        );

        // A credentials file is still tried, as after any keychain trouble.
        std::fs::write(tmp.path().join(".credentials.json"), SAMPLE).unwrap();
        let d = discover_with(&dir, None, Some("alice"), now_ms, Some(&read), None, None);
        let Lookup::Ready(found) = &d.lookup else {
            panic!("{:?}", d.lookup)
        };
        assert!(matches!(found.origin, Origin::File(_)));
    }

    #[test]
    fn interpret_is_total() {
        assert!(matches!(
            interpret(Some(128), SecretBytes(Vec::new()), b""),
            KeychainRead::Denied(_)
        ));
        assert!(matches!(
            interpret(None, SecretBytes(b"{}".to_vec()), b""),
            KeychainRead::Unreadable(_)
        ));
    }
}
