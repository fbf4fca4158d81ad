//! `ccmeter wrap COMMAND`, through the binary: their command gets the very stdin ccmeter got,
//! their output comes first and ccmeter's line after it, a hung command is cut at the timeout
//! with nothing of it left running, and the status-line fields of `--format`.
#![cfg(unix)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Sandbox, fixture, stdout};

/// ccmeter's line for the full sample at the sandbox clock, uncoloured.
const OURS: &str = "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m";

fn wrap(s: &Sandbox, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut all = vec!["wrap", "--color", "never"];
    all.extend_from_slice(args);
    s.run(&all, stdin)
}

fn assert_ok(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Single-quoted for `sh`, as `setup` writes a wrapped command.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn their_command_gets_byte_identical_stdin() {
    let s = Sandbox::new();
    let got = s.dir.path().join("got");
    let cmd = format!("cat > {}; echo theirs", quoted(&got));
    // Claude Code writes the JSON and a newline, then closes the pipe.
    let mut sample = fixture("statusline-full.json");
    sample.push(b'\n');
    // And one far larger than a pipe's buffer, with every kind of byte JSON strings may hold.
    let filler: String = (0..120_000)
        .map(|i| ['a', 'é', '\\', '"', '€', ' '][i % 6])
        .collect();
    let big_value = serde_json::to_string(&filler).unwrap();
    let mut big = String::from_utf8(fixture("statusline-full.json")).unwrap();
    big.insert_str(1, &format!("\"pad\": {big_value},\n  "));
    let big = format!("{big}\r\n").into_bytes();
    for input in [sample, big, Vec::new()] {
        let _ = std::fs::remove_file(&got);
        let out = wrap(&s, &[&cmd], &input);
        assert_ok(&out);
        assert_same_bytes(&std::fs::read(&got).unwrap(), &input);
        let text = stdout(&out);
        assert!(text.starts_with("theirs\n"), "{text:?}");
    }
    #[cfg(target_os = "linux")]
    newline_after_the_json_was_read(&s, &cmd, &got);
}

/// The newline written only once ccmeter has read the JSON (as when a large payload is split
/// by the pipe): it still reaches them.
#[cfg(target_os = "linux")]
fn newline_after_the_json_was_read(s: &Sandbox, cmd: &str, got: &Path) {
    use std::os::fd::AsRawFd;
    let mut c = s.cmd(&["wrap", "--color", "never", cmd]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(&fixture("statusline-full.json")).unwrap();
    // Linux answers FIONREAD on either end of a pipe: the bytes not yet read.
    let unread = || {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        assert_eq!(
            unsafe { libc::ioctl(pipe.as_raw_fd(), libc::FIONREAD, &mut n) },
            0
        );
        n
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while unread() > 0 {
        assert!(Instant::now() < deadline, "ccmeter never read its stdin");
        std::thread::sleep(Duration::from_micros(200));
    }
    pipe.write_all(b"\n").unwrap();
    drop(pipe);
    assert_ok(&child.wait_with_output().unwrap());
    let mut sample = fixture("statusline-full.json");
    sample.push(b'\n');
    assert_same_bytes(&std::fs::read(got).unwrap(), &sample);
}

fn assert_same_bytes(got: &[u8], sent: &[u8]) {
    assert!(
        got == sent,
        "their stdin differs: {} bytes sent, {} received, ending {:?}",
        sent.len(),
        got.len(),
        String::from_utf8_lossy(&got[got.len().saturating_sub(20)..])
    );
}

#[test]
fn their_output_comes_first_unchanged_then_ours() {
    let s = Sandbox::new();
    let theirs = "printf '\\033[1;35m◆ other tool\\033[0m | ctx 24%%\\nsecond row\\n'";
    let out = wrap(&s, &[theirs], &fixture("statusline-full.json"));
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        format!("\x1b[1;35m◆ other tool\x1b[0m | ctx 24%\nsecond row\n\x1b[0m{OURS}\n")
    );
    assert!(out.stderr.is_empty());

    // --inline: at the end of their first line.
    let out = wrap(
        &s,
        &["--inline", "printf 'first\\nsecond\\n'"],
        &fixture("statusline-full.json"),
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("first · {OURS}\nsecond\n"));

    // Output without a final newline still leaves ccmeter's line on a line of its own.
    let out = wrap(&s, &["printf theirs"], &fixture("statusline-full.json"));
    assert_eq!(stdout(&out), format!("theirs\n{OURS}\n"));
}

#[test]
fn their_stderr_passes_through_and_their_exit_status_is_ignored() {
    let s = Sandbox::new();
    let out = wrap(
        &s,
        &["echo theirs; echo 'their complaint' >&2; exit 3"],
        &fixture("statusline-full.json"),
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("theirs\n{OURS}\n"));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "their complaint\n");
    // A command the shell cannot find: the shell says so on stderr, ccmeter's line stays.
    let out = wrap(
        &s,
        &["no-such-status-line-tool-here"],
        &fixture("statusline-full.json"),
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{OURS}\n"));
}

/// `ps` says a process is gone (or a zombie, which runs nothing and holds nothing).
fn gone(pid: &str) -> bool {
    let out = std::process::Command::new("ps")
        .args(["-o", "stat=", "-p", pid])
        .output()
        .expect("ps");
    let stat = String::from_utf8_lossy(&out.stdout);
    stat.trim().is_empty() || stat.trim().starts_with('Z')
}

#[test]
fn a_hung_command_is_cut_at_the_timeout_with_its_children() {
    let s = Sandbox::new();
    let pids = s.dir.path().join("pids");
    // A shell that starts a child and then hangs: both must be gone afterwards.
    let cmd = format!(
        "sleep 300 & echo \"$$ $!\" > {}; echo partial; sleep 300",
        quoted(&pids)
    );
    let mut c = s.cmd(&["wrap", "--color", "never", &cmd]);
    c.env("CCMETER_WRAP_TIMEOUT_MS", "500");
    let start = Instant::now();
    let out = s.run_with(c, &fixture("statusline-full.json"));
    let took = start.elapsed();
    assert_ok(&out);
    // Only ccmeter's line: a command that did not finish shows nothing of its own.
    assert_eq!(stdout(&out), format!("{OURS}\n"));
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(10),
        "took {took:?}"
    );
    let pids = std::fs::read_to_string(&pids).unwrap();
    let pids: Vec<&str> = pids.split_whitespace().collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pids.iter().all(|p| gone(p)) {
        assert!(
            Instant::now() < deadline,
            "still running after the timeout: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_command_that_closes_stdout_but_keeps_running_is_cut_too() {
    let s = Sandbox::new();
    let mut c = s.cmd(&[
        "wrap",
        "--color",
        "never",
        "echo early; exec >&-; sleep 300",
    ]);
    c.env("CCMETER_WRAP_TIMEOUT_MS", "300");
    let out = s.run_with(c, &fixture("statusline-full.json"));
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{OURS}\n"));
}

#[test]
fn live_numbers_are_recorded_as_line_mode_does() {
    let s = Sandbox::new();
    let out = wrap(&s, &["true"], &fixture("statusline-full.json"));
    assert_ok(&out);
    // A prompt (no stdin) now shows what the wrapped status line was told.
    let line = common::one_line(&s.run(&["--color", "never"], b""));
    assert_eq!(line, OURS);
}

#[test]
fn command_must_be_one_argument() {
    let s = Sandbox::new();
    let marker = s.dir.path().join("ran");
    let touch = format!("touch {}", quoted(&marker));
    // Unquoted, as a user might type it: not run, and the line says why.
    let out = wrap(&s, &[&touch, "extra"], &fixture("statusline-full.json"));
    assert_ok(&out);
    assert!(!marker.exists(), "ran a command given as two arguments");
    assert_eq!(
        stdout(&out),
        format!("{OURS} (wrap takes COMMAND as one argument: put it in quotes)\n")
    );
    let out = wrap(&s, &[], &fixture("statusline-full.json"));
    assert_eq!(stdout(&out), format!("{OURS} (wrap needs COMMAND)\n"));
    // `--` ends the flags: what follows is the command.
    let out = wrap(
        &s,
        &["--inline", "--", "echo dash"],
        &fixture("statusline-full.json"),
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("dash · {OURS}\n"));
}

/// The sample stdin with its working directory moved to `dir`.
fn sample_in(dir: &Path) -> Vec<u8> {
    String::from_utf8(fixture("statusline-full.json"))
        .unwrap()
        .replace("/home/dev/shop", &dir.display().to_string())
        .into_bytes()
}

#[test]
fn format_fields_from_stdin_and_the_checkout() {
    let s = Sandbox::new();
    let repo = s.dir.path().join("shop");
    // A checkout on a branch, laid out as git lays it out (no git needed).
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/feature/meter\n").unwrap();
    let tpl = "{model_name}|{dir}|{branch}|{context}|{cost}";
    let line = common::one_line(&s.run(&["--format", tpl], &sample_in(&repo)));
    assert_eq!(line, "Sonnet 4.5|shop|feature/meter|24%|$1.27");
    // The same through wrap, after their line.
    let out = wrap(&s, &["--format", tpl, "echo theirs"], &sample_in(&repo));
    assert_eq!(
        stdout(&out),
        "theirs\nSonnet 4.5|shop|feature/meter|24%|$1.27\n"
    );
    // In a subdirectory of a detached checkout: the short id.
    let sub = repo.join("src");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        repo.join(".git/HEAD"),
        "9fceb02d0ae598e95dc970b74767f19372d61af8\n",
    )
    .unwrap();
    let line = common::one_line(&s.run(&["--format", tpl], &sample_in(&sub)));
    assert_eq!(line, "Sonnet 4.5|src|9fceb02|24%|$1.27");
    // No stdin (a prompt): the fields are empty, the limits are still there.
    let line = common::one_line(&s.run(&["--format", "[{model_name}{branch}{cost}] {5h}"], b""));
    assert_eq!(line, "[] 61%");
}

#[test]
fn a_model_name_full_of_escape_sequences_prints_none_of_them() {
    let s = Sandbox::new();
    let evil = "\u{1b}]0;pwned\u{7}\u{1b}[31mOpus\u{1b}[0m\u{9b}2J\r\nmore\u{202e}";
    let input = String::from_utf8(fixture("statusline-full.json"))
        .unwrap()
        .replace("\"Sonnet 4.5\"", &serde_json::to_string(evil).unwrap());
    for args in [
        vec!["--format", "<{model_name}>"],
        vec!["wrap", "--format", "<{model_name}>", "true"],
        vec!["--color", "tmux", "--format", "<{model_name}>"],
    ] {
        let out = s.run(&args, input.as_bytes());
        let text = stdout(&out);
        assert_eq!(text, "<]0;pwned[31mOpus[0m2J more>\n", "{args:?}");
        assert!(
            !text.trim_end().chars().any(char::is_control),
            "{args:?}: {text:?}"
        );
    }
}
