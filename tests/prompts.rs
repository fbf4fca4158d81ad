//! Shell prompts as they call ccmeter: starship (empty or closed stdin), a wrapper that leaves
//! the pipe open, tmux / zsh / bash colour targets, NO_COLOR, and `--offline` estimates from
//! Claude Code's transcripts, uncalibrated and then calibrated.

mod common;
#[path = "common/mock.rs"]
mod mock;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

use common::{NOW, Sandbox, fixture, one_line, stdout};
use mock::Mock;

/// What `statusline-full.json` stores: 5h 61.4 % (yellow), 7d 23 % (green).
const PLAIN: &str = "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m";

fn seeded() -> Sandbox {
    let s = Sandbox::new();
    one_line(&s.run(&[], &fixture("statusline-full.json")));
    s
}

/// Runs with the given stdin setup, bounded: a prompt must never hang.
fn timed(mut cmd: Command, stdin: Stdio) -> Output {
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().unwrap();
    // Generous: the real wait is ~100 ms at most; what matters is that it returns at all.
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    out
}

#[test]
fn starship_with_a_closed_or_empty_stdin_shows_the_stored_numbers() {
    let s = seeded();
    // stdin is /dev/null.
    assert_eq!(one_line(&timed(s.cmd(&[]), Stdio::null())), PLAIN);
    // stdin is an empty pipe, closed at once.
    let start = Instant::now();
    let out = s.run(&[], b"");
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(one_line(&out), PLAIN);
    // The same for --json: the stored snapshot, not stdin.
    let v: serde_json::Value =
        serde_json::from_str(&one_line(&timed(s.cmd(&["--json"]), Stdio::null()))).unwrap();
    assert_eq!(v["source"], "stdin");
    assert_eq!(v["line"], PLAIN);
    // Nothing stored yet: still a line, still at once.
    let fresh = Sandbox::new();
    assert_eq!(
        one_line(&timed(fresh.cmd(&[]), Stdio::null())),
        "5h -- · 7d -- (no data yet)"
    );
}

#[test]
fn a_pipe_that_never_closes_does_not_hold_the_prompt() {
    let s = seeded();
    for partial in [&b""[..], b"{\"rate_limits\":{\"five_hour\":"] {
        let start = Instant::now();
        let out = s.run_with_stalled_stdin(s.cmd(&["--color", "never"]), partial);
        let took = start.elapsed();
        assert_eq!(one_line(&out), PLAIN, "after writing {partial:?}");
        // Half a JSON value then silence is given ~400 ms, inside starship's 500 ms (it was
        // a full second).
        assert!(
            took < Duration::from_millis(900),
            "took {took:?} after {partial:?}"
        );
    }
}

/// `(printf '<json>'; sleep 3) | ccmeter`: the JSON is complete long before the pipe closes,
/// and starship kills a module at 500 ms.
#[test]
fn complete_json_on_a_pipe_left_open_answers_at_once() {
    let s = Sandbox::new();
    for body in [
        fixture("statusline-full.json"),
        b"  {\"rate_limits\":{\"five_hour\":{\"used_percentage\":61.4,\"resets_at\":1795000000},\
          \"seven_day\":{\"used_percentage\":23,\"resets_at\":1795400000}},\"x\":\"}\"}\n"
            .to_vec(),
    ] {
        let start = Instant::now();
        let out = s.run_with_stalled_stdin(s.cmd(&["--color", "never"]), &body);
        let took = start.elapsed();
        assert_eq!(one_line(&out), PLAIN);
        assert!(took < Duration::from_millis(400), "took {took:?}");
    }
}

#[test]
fn colour_targets_escape_for_their_shell() {
    let s = seeded();
    let run = |mode: &str| one_line(&timed(s.cmd(&["--color", mode]), Stdio::null()));
    assert_eq!(
        run("tmux"),
        "#[fg=yellow,bg=black]5h 61%#[fg=default,bg=default] · #[fg=green,bg=black]7d 23%#[fg=default,bg=default] ↻2h13m · 5h full in 1h44m"
    );
    // zsh expands `%`: every literal one is doubled.
    assert_eq!(
        run("zsh"),
        "%F{yellow}5h 61%%%f · %F{green}7d 23%%%f ↻2h13m · 5h full in 1h44m"
    );
    // bash: SGR inside readline's \x01 … \x02 so the prompt width is counted right.
    assert_eq!(
        run("bash"),
        "\x01\x1b[33m\x025h 61%\x01\x1b[0m\x02 · \x01\x1b[32m\x027d 23%\x01\x1b[0m\x02 ↻2h13m · 5h full in 1h44m"
    );
    assert_eq!(
        run("always"),
        "\x1b[33m5h 61%\x1b[0m · \x1b[32m7d 23%\x1b[0m ↻2h13m · 5h full in 1h44m"
    );
    assert_eq!(run("never"), PLAIN);
    // A prompt's stdout is a pipe: auto means no colour.
    assert_eq!(run("auto"), PLAIN);
    assert_eq!(one_line(&timed(s.cmd(&[]), Stdio::null())), PLAIN);

    // Red, and remarks with their own `%`-free text, stale after 12 minutes.
    let s = Sandbox::new();
    let body = br#"{"rate_limits":{"five_hour":{"used_percentage":87.5,"resets_at":1795000000}}}"#;
    one_line(&s.run(&[], body));
    let mut c = s.cmd(&["--color", "zsh"]);
    c.env("CCMETER_NOW", (NOW + 720).to_string());
    assert_eq!(
        one_line(&timed(c, Stdio::null())),
        "%F{red}5h 88%%%f ↻2h01m · 5h full in 25m (12m ago)"
    );
    let mut c = s.cmd(&["--color", "tmux"]);
    c.env("CCMETER_NOW", (NOW + 720).to_string());
    assert_eq!(
        one_line(&timed(c, Stdio::null())),
        "#[fg=red,bg=black]5h 88%#[fg=default,bg=default] ↻2h01m · 5h full in 25m (12m ago)"
    );
}

#[test]
fn no_color_turns_auto_off_but_not_explicit_targets() {
    let s = seeded();
    let with = |args: &[&str], no_color: &str, stdin: &[u8]| {
        let mut c = s.cmd(args);
        c.env("NO_COLOR", no_color);
        one_line(&s.run_with(c, stdin))
    };
    let statusline = fixture("statusline-full.json");
    // Claude Code's status line is coloured under auto, unless NO_COLOR says otherwise.
    assert_eq!(
        one_line(&s.run(&["--color", "auto"], &statusline)),
        "\x1b[33m5h 61%\x1b[0m · \x1b[32m7d 23%\x1b[0m ↻2h13m · 5h full in 1h44m"
    );
    assert_eq!(with(&["--color", "auto"], "1", &statusline), PLAIN);
    assert_eq!(with(&[], "1", &statusline), PLAIN);
    assert_eq!(with(&["--color", "auto"], "1", b""), PLAIN);
    // An empty NO_COLOR is not set (no-color.org).
    assert_eq!(
        with(&["--color", "auto"], "", &statusline),
        "\x1b[33m5h 61%\x1b[0m · \x1b[32m7d 23%\x1b[0m ↻2h13m · 5h full in 1h44m"
    );
    // A target the user chose explicitly wins.
    assert_eq!(
        with(&["--color", "tmux"], "1", b""),
        "#[fg=yellow,bg=black]5h 61%#[fg=default,bg=default] · #[fg=green,bg=black]7d 23%#[fg=default,bg=default] ↻2h13m · 5h full in 1h44m"
    );
}

/// One assistant message as Claude Code writes it: weighted tokens are
/// input + output + cache_creation + cache_read / 10 = 1000 + 500 + 2000 + 1000 = 4500.
fn assistant(n: u32, timestamp: &str) -> String {
    format!(
        r#"{{"parentUuid":null,"type":"assistant","uuid":"u-{n}","timestamp":"{timestamp}","requestId":"req_{n}","message":{{"id":"msg_{n}","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"ok"}}],"usage":{{"input_tokens":1000,"output_tokens":500,"cache_creation_input_tokens":2000,"cache_read_input_tokens":10000}}}}}}"#
    ) + "\n"
}

fn append(path: &Path, text: &str, mtime: i64) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
    // Pin the mtime to the pinned clock, so the scan's "too old to matter" rule does not depend
    // on when the test runs.
    f.set_modified(UNIX_EPOCH + Duration::from_secs(mtime as u64))
        .unwrap();
}

fn at(s: &Sandbox, args: &[&str], now: i64) -> Command {
    let mut c = s.cmd(args);
    c.env("CCMETER_NOW", now.to_string());
    c
}

#[test]
fn offline_estimate_from_transcripts_then_calibrated() {
    let s = Sandbox::new();
    let dir = s.config.join("projects").join("p");
    std::fs::create_dir_all(&dir).unwrap();
    let transcript = dir.join("s.jsonl");
    // NOW is 2026-11-18T08:53:20Z; the block starts at 08:00 and ends at 13:00 (1795006800).
    let user = r#"{"type":"user","timestamp":"2026-11-18T08:09:00Z","uuid":"u-0","message":{"role":"user","content":"hi"}}"#;
    append(
        &transcript,
        &format!(
            "{user}\n{}{}{}",
            assistant(1, "2026-11-18T08:10:00Z"),
            // A streamed message written twice: counted once.
            assistant(2, "2026-11-18T08:30:00Z"),
            assistant(2, "2026-11-18T08:30:00Z"),
        ),
        NOW - 60,
    );

    let out = s.run_with(at(&s, &["refresh", "--wait", "--offline"], NOW), b"");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("estimate: scanned 1 files, "),
        "{}",
        stdout(&out)
    );
    let line = one_line(&s.run_with(at(&s, &["--offline", "--color", "never"], NOW), b""));
    assert!(line.starts_with("~5h ") && line.contains(" tok"), "{line}");
    assert_eq!(line, "~5h 9.0k tok · ~7d 9.0k tok ↻4h06m");

    // Claude Code's status line reports real numbers for the same window 100 s later.
    let t1 = NOW + 100;
    let live = br#"{"model":{},"rate_limits":{"five_hour":{"used_percentage":40,"resets_at":1795006800},"seven_day":{"used_percentage":10,"resets_at":1795400000}}}"#;
    assert_eq!(
        one_line(&s.run_with(at(&s, &["--offline", "--color", "never"], t1), live)),
        "5h 40% · 7d 10% ↻4h05m · 5h full in 1h22m"
    );

    // One more message after that reading; the worker calibrates (9000 tokens were 40 % and
    // 10 %) and estimates 13 500 tokens: 60 % and 15 %.
    let t2 = NOW + 200;
    append(&transcript, &assistant(3, "2026-11-18T08:56:00Z"), t2 - 30);
    let out = s.run_with(at(&s, &["refresh", "--wait", "--offline"], t2), b"");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // While the stored reading is fresh it wins; once older than CCMETER_STALE_AFTER the
    // calibrated estimate of now is shown instead, marked ~.
    assert_eq!(
        one_line(&s.run_with(at(&s, &["--offline", "--color", "never"], t2), b"")),
        "5h 40% · 7d 10% ↻4h03m · 5h full in 1h25m"
    );
    let mut c = at(&s, &["--offline", "--color", "never"], t2);
    c.env("CCMETER_STALE_AFTER", "60");
    assert_eq!(
        one_line(&s.run_with(c, b"")),
        "~5h 60% · ~7d 15% ↻4h03m · 5h full in 37m"
    );
    let mut c = at(&s, &["--offline", "--json"], t2);
    c.env("CCMETER_STALE_AFTER", "60");
    let v: serde_json::Value = serde_json::from_str(&one_line(&s.run_with(c, b""))).unwrap();
    assert_eq!(
        (
            v["source"].as_str(),
            v["estimate"].as_bool(),
            v["five_hour"]["percent"].as_u64(),
            v["seven_day"]["percent"].as_u64(),
        ),
        (Some("estimate"), Some(true), Some(60), Some(15))
    );
}

#[test]
fn offline_flag_keeps_a_due_refresh_off_the_network() {
    // Logged in, numbers an hour old (refresh due), endpoint a live mock, CCMETER_OFFLINE
    // unset: only --offline stands between the prompt and a request, and the detached worker
    // it may start must honour it too.
    let mock = Mock::start(mock::ok(&fixture("usage-flat.json")));
    let s = seeded();
    s.write_credentials(&common::valid_credentials());
    let mut c = s.cmd(&["--offline", "--color", "never"]);
    c.env_remove("CCMETER_OFFLINE")
        .env("CCMETER_API_BASE", mock.base())
        .env("CCMETER_NOW", (NOW + 3600).to_string());
    assert_eq!(
        one_line(&timed(c, Stdio::null())),
        "5h 61% · 7d 23% ↻1h13m (1h ago)"
    );
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(mock.count(), 0);
}
