//! `ccmeter wrap COMMAND`: ccmeter beside the user's own status line instead of in its place.
//! Claude Code runs one `statusLine.command` and shows every line it prints, so this runs theirs
//! the way Claude Code would and prints its output unchanged, then ccmeter's line.
//!
//! How Claude Code runs a status line command (2.1.197's bundled source, the function it shares
//! with hooks): `spawn(command, [], {shell: true, detached: true})` on Unix, so `/bin/sh -c` in a
//! process group of its own; on Windows Git Bash when it finds one, else PowerShell `-Command`.
//! It writes the JSON and a newline to stdin and closes it (ccstatusline, for one, waits for
//! that EOF: sirmalloc/ccstatusline#485), keeps stdout, logs stderr, shows nothing for a
//! non-zero exit, and renders each non-blank line of stdout as a row. `wrap` does the same,
//! except that their exit status is ignored and a command slower than
//! `CCMETER_WRAP_TIMEOUT_MS` is killed with its whole process group, so one stuck tool cannot
//! take ccmeter's line down with it.
//!
//! ccmeter's own line is computed (and live numbers recorded, as line mode does) while their
//! command runs: the wrap adds no wait of its own beyond theirs.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cli::{Config, WrapArgs};
use crate::cmd::line;
use crate::input;

/// Output beyond this is not a status line: kept up to here, the rest read and dropped so the
/// command never blocks on a full pipe.
const MAX_OUTPUT: usize = 256 * 1024;

/// After a kill, how long to wait for the command's shell to be reaped before printing anyway.
const REAP_WAIT: Duration = Duration::from_millis(200);

/// Between their output and ccmeter's line with `--inline`, as between the parts of the line.
const INLINE_SEPARATOR: &str = " · ";

pub fn run(config: &Config, args: &WrapArgs) -> i32 {
    let now = crate::now();
    let stdin = read_stdin();
    let started = Instant::now();
    let theirs = args
        .command
        .as_deref()
        .and_then(|c| Theirs::start(c, &stdin).ok());
    let input = input::parse(&stdin, now);
    let report = line::current(config, &input, now);
    let ours = line::output(config, &input, &report);
    let output = theirs.and_then(|t| t.finish(started + Duration::from_millis(args.timeout_ms)));
    let text = compose(output.as_deref(), &ours, args.inline);
    // A closed stdout (the reader went away) is not worth a panic or a non-zero exit.
    let _ = std::io::stdout().lock().write_all(&text);
    0
}

/// Stdin as it came, for their command and for ccmeter: the bounded read line mode does, plus
/// whatever already followed the JSON (Claude Code's newline), so they get the same bytes.
fn read_stdin() -> Vec<u8> {
    let Some(mut bytes) = input::read_stdin() else {
        // A terminal, nothing within the wait, or more than any status line is sent: they get
        // an empty stdin (closed at once) rather than a prompt that waits for typing.
        return Vec::new();
    };
    input::read_pending(&mut bytes);
    bytes
}

/// What the threads watching their command report.
enum Event {
    /// Their stdout reached EOF: everything it wrote (capped at [`MAX_OUTPUT`]).
    Output(Vec<u8>),
    /// Their shell exited and was reaped.
    Exited,
}

/// Their command, running.
struct Theirs {
    pid: u32,
    events: mpsc::Receiver<Event>,
}

impl Theirs {
    /// Starts `command` with `stdin` written to it and closed, stdout captured, stderr passed
    /// through. Three short-lived threads feed it, drain it and reap it, so the caller only
    /// waits on one channel.
    fn start(command: &str, stdin: &[u8]) -> std::io::Result<Theirs> {
        let mut cmd = shell_command(command);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        own_process_group(&mut cmd);
        let mut child = cmd.spawn()?;
        let pid = child.id();
        let (tx, events) = mpsc::channel();
        if let Some(mut pipe) = child.stdin.take() {
            let bytes = stdin.to_vec();
            // A command that never reads its stdin gets EPIPE here, which is fine; the pipe
            // closes when the thread ends, which is the EOF they may be waiting for.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        if let Some(mut pipe) = child.stdout.take() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let _ = tx.send(Event::Output(read_capped(&mut pipe)));
            });
        } else {
            let _ = tx.send(Event::Output(Vec::new()));
        }
        std::thread::spawn(move || reap(child, &tx));
        Ok(Theirs { pid, events })
    }

    /// Their output once they are done (exited, stdout closed) before `deadline`; else their
    /// process group is killed and there is nothing of theirs to show.
    fn finish(self, deadline: Instant) -> Option<Vec<u8>> {
        let (mut output, mut exited) = (None, false);
        while output.is_none() || !exited {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Output(o)) => output = Some(o),
                Ok(Event::Exited) => exited = true,
                Err(_) => {
                    kill_group(self.pid);
                    if !exited {
                        // Reaped before ccmeter exits, so no zombie of theirs outlives it.
                        let _ = self.events.recv_timeout(REAP_WAIT);
                    }
                    return None;
                }
            }
        }
        output
    }
}

fn reap(mut child: Child, tx: &mpsc::Sender<Event>) {
    let _ = child.wait();
    let _ = tx.send(Event::Exited);
}

fn read_capped(pipe: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(out.len());
                out.extend_from_slice(&chunk[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    out
}

/// Their output, then ccmeter's line on a line of its own, or (`inline`) at the end of their
/// first non-blank line after ` · `. Theirs is kept byte for byte; when it holds escape
/// sequences ccmeter's part starts with a reset, so a colour they left on does not run into it.
fn compose(theirs: Option<&[u8]>, ours: &str, inline: bool) -> Vec<u8> {
    let theirs = theirs.unwrap_or_default();
    let mut out = Vec::with_capacity(theirs.len() + ours.len() + 16);
    let reset: &[u8] = if theirs.contains(&0x1b) {
        b"\x1b[0m"
    } else {
        b""
    };
    if inline && let Some(end) = first_line_end(theirs) {
        out.extend_from_slice(&theirs[..end]);
        out.extend_from_slice(reset);
        out.extend_from_slice(INLINE_SEPARATOR.as_bytes());
        out.extend_from_slice(ours.as_bytes());
        out.extend_from_slice(&theirs[end..]);
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        return out;
    }
    out.extend_from_slice(theirs);
    if !theirs.is_empty() && !theirs.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(reset);
    out.extend_from_slice(ours.as_bytes());
    out.push(b'\n');
    out
}

/// Where the first line with something on it ends (before its `\r\n` or `\n`), if any line does.
fn first_line_end(text: &[u8]) -> Option<usize> {
    let mut start = 0;
    while start < text.len() {
        let end = text[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| start + i);
        let line = &text[start..end];
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            return Some(if line.ends_with(b"\r") { end - 1 } else { end });
        }
        start = end + 1;
    }
    None
}

/// `command` as Claude Code runs a status line command on Unix: `/bin/sh -c`.
#[cfg(not(windows))]
fn shell_command(command: &str) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command);
    cmd
}

/// `command` as Claude Code runs it on Windows: through Git Bash when it can find one, else
/// PowerShell.
#[cfg(windows)]
fn shell_command(command: &str) -> Command {
    let env = |k: &str| std::env::var_os(k).map(std::path::PathBuf::from);
    let (program, args) = windows_shell(
        command,
        env("CLAUDE_CODE_GIT_BASH_PATH"),
        std::env::var_os("PATH"),
        |p| p.is_file(),
    );
    let mut cmd = Command::new(program);
    cmd.args(args);
    cmd
}

/// The program and arguments Claude Code (2.1.197) would use on Windows: Git Bash from
/// `CLAUDE_CODE_GIT_BASH_PATH`, the two standard install dirs or beside `git.exe` on `PATH`,
/// running a first word ending in `.sh` through `bash`; else PowerShell (`pwsh`, then Windows
/// PowerShell) with `-NoProfile -NonInteractive -ExecutionPolicy Bypass -Command`. Plain code
/// with the file test passed in, so it is tested on every platform.
#[cfg_attr(not(windows), allow(dead_code))]
fn windows_shell(
    command: &str,
    git_bash_env: Option<std::path::PathBuf>,
    path_var: Option<std::ffi::OsString>,
    exists: impl Fn(&std::path::Path) -> bool,
) -> (std::path::PathBuf, Vec<String>) {
    use std::path::{Path, PathBuf};
    let on_path = |name: &str| -> Option<PathBuf> {
        let path_var = path_var.as_ref()?;
        std::env::split_paths(path_var)
            .map(|d| d.join(name))
            .find(|p| exists(p))
    };
    let bash = git_bash_env
        .filter(|p| exists(p))
        .or_else(|| {
            [
                r"C:\Program Files\Git\bin\bash.exe",
                r"C:\Program Files (x86)\Git\bin\bash.exe",
            ]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| exists(p))
        })
        .or_else(|| {
            // `<Git>\cmd\git.exe` → `<Git>\bin\bash.exe`.
            let git = on_path("git.exe")?;
            let bash = git.parent()?.parent()?.join("bin").join("bash.exe");
            exists(&bash).then_some(bash)
        });
    if let Some(bash) = bash {
        let first = first_word(command);
        let command = if Path::new(&first)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("sh"))
        {
            format!("bash {command}")
        } else {
            command.to_string()
        };
        return (bash, vec!["-c".into(), command]);
    }
    let shell = on_path("pwsh.exe")
        .or_else(|| on_path("powershell.exe"))
        .unwrap_or_else(|| PathBuf::from("powershell.exe"));
    let args = [
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-Command",
        command,
    ];
    (shell, args.into_iter().map(String::from).collect())
}

/// The first word of a command as a shell would read it (quotes removed, `\x` as `x`).
#[cfg_attr(not(windows), allow(dead_code))]
fn first_word(command: &str) -> String {
    let mut word = String::new();
    let mut chars = command.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => word.extend(chars.by_ref().take_while(|&q| q != c)),
            '\\' => word.extend(chars.next()),
            c if c.is_whitespace() => break,
            c => word.push(c),
        }
    }
    word
}

/// Their command leads a process group of its own, so a timeout can end everything it started.
fn own_process_group(cmd: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        cmd.creation_flags(CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW);
    }
}

/// Ends their command and everything it started that stayed in its process group.
fn kill_group(pid: u32) {
    #[cfg(unix)]
    if let Ok(pgid) = libc::pid_t::try_from(pid) {
        // SAFETY: a plain kill(2); the group is the one we created, and its leader is not yet
        // reaped (or the group still has members), so the id cannot have been reused.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    #[cfg(windows)]
    {
        // Windows has no process-group kill; taskkill ends the tree. Only on a timeout.
        let _ = Command::new("taskkill")
            .args(["/T", "/F", "/PID", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn text(theirs: Option<&str>, inline: bool) -> String {
        String::from_utf8(compose(theirs.map(str::as_bytes), "5h 42%", inline)).unwrap()
    }

    #[test]
    fn their_output_first_then_ours_on_its_own_line() {
        assert_eq!(text(None, false), "5h 42%\n");
        assert_eq!(text(Some(""), false), "5h 42%\n");
        assert_eq!(text(Some("theirs\n"), false), "theirs\n5h 42%\n");
        assert_eq!(text(Some("theirs"), false), "theirs\n5h 42%\n");
        assert_eq!(text(Some("a\nb\n"), false), "a\nb\n5h 42%\n");
        assert_eq!(
            text(Some("\x1b[32ma\x1b[0m\n"), false),
            "\x1b[32ma\x1b[0m\n\x1b[0m5h 42%\n"
        );
    }

    #[test]
    fn inline_goes_at_the_end_of_their_first_line() {
        assert_eq!(text(Some("theirs\n"), true), "theirs · 5h 42%\n");
        assert_eq!(text(Some("theirs"), true), "theirs · 5h 42%\n");
        assert_eq!(text(Some("a\nb\n"), true), "a · 5h 42%\nb\n");
        assert_eq!(text(Some("a\r\nb\r\n"), true), "a · 5h 42%\r\nb\r\n");
        assert_eq!(text(Some("\n  \na\n"), true), "\n  \na · 5h 42%\n");
        assert_eq!(text(Some(" \n"), true), " \n5h 42%\n");
        assert_eq!(text(None, true), "5h 42%\n");
        assert_eq!(text(Some("a\r"), true), "a · 5h 42%\r\n");
        assert_eq!(
            text(Some("\x1b[1ma\nb"), true),
            "\x1b[1ma\x1b[0m · 5h 42%\nb\n"
        );
    }

    #[test]
    fn first_word_reads_quotes_like_a_shell() {
        assert_eq!(first_word("  ~/bin/line.sh --x"), "~/bin/line.sh");
        assert_eq!(
            first_word(r#""C:/My Tools/line.sh" a"#),
            "C:/My Tools/line.sh"
        );
        assert_eq!(first_word(r"a\ b.sh c"), "a b.sh");
        assert_eq!(first_word("'x y'z w"), "x yz");
    }

    #[test]
    fn windows_runs_it_like_claude_code() {
        let files =
            |list: Vec<&'static str>| move |p: &Path| list.iter().any(|f| Path::new(f) == p);
        let bash = r"C:\Program Files\Git\bin\bash.exe";
        let (prog, args) = windows_shell("ccline", None, None, files(vec![bash]));
        assert_eq!(
            (prog, args),
            (PathBuf::from(bash), vec!["-c".into(), "ccline".into()])
        );
        // A script is handed to bash, as Claude Code does.
        let (_, args) = windows_shell("~/line.sh --x", None, None, files(vec![bash]));
        assert_eq!(args, ["-c", "bash ~/line.sh --x"]);
        // The env override wins, when it names a file.
        let own = r"D:\git\bin\bash.exe";
        let (prog, _) = windows_shell("x", Some(own.into()), None, files(vec![bash, own]));
        assert_eq!(prog, PathBuf::from(own));
        let (prog, _) = windows_shell("x", Some(r"D:\nope".into()), None, files(vec![bash]));
        assert_eq!(prog, PathBuf::from(bash));
        // Beside git on PATH: <Git>\cmd\git.exe -> <Git>\bin\bash.exe (joined with the host's
        // separator, so the test builds the paths the same way).
        let git_dir = Path::new("G").join("Git");
        let git = git_dir.join("cmd").join("git.exe");
        let beside = git_dir.join("bin").join("bash.exe");
        let path_var = std::env::join_paths([git_dir.join("cmd")]).unwrap();
        let both = [git.clone(), beside.clone()];
        let (prog, _) = windows_shell("x", None, Some(path_var.clone()), |p: &Path| {
            both.iter().any(|f| f == p)
        });
        assert_eq!(prog, beside);
        // No Git Bash: PowerShell, pwsh first.
        let (prog, args) = windows_shell("Get-Date", None, None, |_: &Path| false);
        assert_eq!(prog, PathBuf::from("powershell.exe"));
        assert_eq!(
            args,
            [
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-Command",
                "Get-Date"
            ]
        );
        let pwsh = git_dir.join("cmd").join("pwsh.exe");
        let (prog, _) = windows_shell("x", None, Some(path_var), |p: &Path| p == pwsh);
        assert_eq!(prog, pwsh);
    }
}
