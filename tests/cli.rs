//! The command line as a person meets it: in a terminal a mistyped subcommand or option is an
//! error (exit 2, a message on stderr, a suggestion for a near miss); piped, where the line is a
//! status line or a prompt, it stays one line with the problem in parentheses and exit 0.
//! (Unix only: the terminal is a pseudo-terminal from `openpty`.)
#![cfg(unix)]

mod common;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;

use common::{Sandbox, one_line};

/// Runs ccmeter with stdout on a pseudo-terminal; returns (exit code, stdout, stderr).
fn in_terminal(s: &Sandbox, args: &[&str]) -> (Option<i32>, String, String) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: out-pointers to two ints; no name, termios or window size.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            // `*mut` for all three: macOS declares the last two mutable, Linux const.
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned here alone.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = s.cmd(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn ccmeter");
    // The parent's copy of the slave went into the Command and is closed with it, so the
    // master reads EOF (EIO) once the child is gone.
    drop(cmd);
    let out = child.wait_with_output().expect("wait");
    let mut text = Vec::new();
    let _ = std::fs::File::from(master).read_to_end(&mut text);
    (
        out.status.code(),
        String::from_utf8_lossy(&text).replace("\r\n", "\n"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_typo_in_a_terminal_is_an_error_with_a_suggestion() {
    let s = Sandbox::new();
    let (code, out, err) = in_terminal(&s, &["histroy"]);
    assert_eq!(code, Some(2), "stdout {out:?} stderr {err:?}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "ccmeter: unknown argument histroy; did you mean history?\n\
         Run `ccmeter --help` for the commands and options.\n"
    );
    let (code, _, err) = in_terminal(&s, &["--jsn"]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with("ccmeter: unknown argument --jsn; did you mean --json?\n"),
        "{err}"
    );
    // Good arguments in a terminal: the line, exit 0.
    let (code, out, err) = in_terminal(&s, &["--color", "never"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (Some(0), "5h -- · 7d -- (no data yet)\n", "")
    );
}

#[test]
fn piped_the_line_stays_a_line() {
    let s = Sandbox::new();
    let out = s.run(&["histroy", "--color", "never"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        one_line(&out),
        "5h -- · 7d -- (no data yet, unknown argument histroy; did you mean history?)"
    );
    // A person's command is an error piped too.
    let out = s.run(&["doctor", "--chek-endpoint"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(
        "ccmeter: unknown argument --chek-endpoint; did you mean --check-endpoint?\n"
    ));
}
