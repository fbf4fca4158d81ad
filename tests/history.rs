//! Pace, projection and history through the real binary: readings fed as Claude Code's
//! statusLine JSON at pinned clocks (`CCMETER_NOW`), then the line, `--json`, `--format`, the hook
//! and `ccmeter history` read back what was recorded. docs/DESIGN.md's worked examples, exactly.

mod common;

use common::{NOW, Sandbox, stdout};

const H: i64 = 3600;

/// A statusLine payload with the 5-hour window at `five` % resetting at `resets_at`.
fn statusline(five: f64, resets_at: i64) -> Vec<u8> {
    format!(
        r#"{{"model":{{"id":"claude-sonnet-4-5"}},"rate_limits":{{"five_hour":{{"used_percentage":{five},"resets_at":{resets_at}}},"seven_day":{{"used_percentage":10,"resets_at":{}}}}}}}"#,
        NOW + 4 * 86_400
    )
    .into_bytes()
}

fn at(s: &Sandbox, now: i64, args: &[&str], stdin: &[u8]) -> String {
    let mut cmd = s.cmd(args);
    cmd.env("CCMETER_NOW", now.to_string());
    let out = s.run_with(cmd, stdin);
    // A detached worker started at one pinned clock must not land after a run at a later one.
    s.wait_for_worker();
    if args.first() != Some(&"doctor") {
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    }
    stdout(&out)
}

fn history_file(s: &Sandbox) -> std::path::PathBuf {
    s.entry_files()
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".history.jsonl"))
        .expect("history file")
}

#[test]
fn slope_from_an_hour_ago_gives_full_in_1h() {
    // Resets in 3 h, 80 % now, 60 % an hour ago: 20 %/h.
    let s = Sandbox::new();
    let reset = NOW + 3 * H;
    at(&s, NOW - H, &["--color", "never"], &statusline(60.0, reset));
    let line = at(&s, NOW, &["--color", "never"], &statusline(80.0, reset));
    assert_eq!(line, "5h 80% · 7d 10% ↻3h · 5h full in 1h\n");
    // A prompt with no stdin shows the same from the store and the history.
    assert_eq!(
        at(&s, NOW, &["--color", "never"], b""),
        "5h 80% · 7d 10% ↻3h · 5h full in 1h\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&at(&s, NOW, &["--json"], &statusline(80.0, reset))).unwrap();
    let five = &json["five_hour"];
    assert_eq!(five["expected_percentage"], 40.0);
    assert_eq!(five["pace"], 40.0);
    assert_eq!(five["full_in_s"], 3600);
    assert_eq!(five["full_at"], "2026-11-18T09:53:20Z");
    assert_eq!(json["seven_day"]["full_in_s"], serde_json::Value::Null);
    assert_eq!(
        at(&s, NOW, &["--format", "{full}|{pace5h}|{pace7d}"], b""),
        "5h full in 1h|+40|-33\n"
    );
}

#[test]
fn without_history_the_window_start_rate_gives_full_in_30m() {
    // 80 % after 2 h of the 5-hour window: 40 %/h, 30 min to go; an even pace would be 40 %.
    let s = Sandbox::new();
    let reset = NOW + 3 * H;
    let line = at(&s, NOW, &["--color", "never"], &statusline(80.0, reset));
    assert_eq!(line, "5h 80% · 7d 10% ↻3h · 5h full in 30m\n");
    assert_eq!(
        at(&s, NOW, &["--format", "{5h} {full} pace {pace5h}"], b""),
        "80% 5h full in 30m pace +40\n"
    );
    // Too early in the window (under 10 min): no rate, no projection, but the pace is known.
    let s = Sandbox::new();
    let young = NOW + 5 * H - 599;
    assert_eq!(
        at(
            &s,
            NOW,
            &["--format", "[{full}] {pace5h}"],
            &statusline(5.0, young)
        ),
        "[] +2\n"
    );
    // A reset before the window would fill: nothing on the line.
    let s = Sandbox::new();
    assert_eq!(
        at(
            &s,
            NOW,
            &["--color", "never"],
            &statusline(80.0, NOW + 29 * 60)
        ),
        "5h 80% · 7d 10% ↻29m\n"
    );
    // A full window is not projected.
    let s = Sandbox::new();
    assert_eq!(
        at(&s, NOW, &["--color", "never"], &statusline(100.0, reset)),
        "5h 100% · 7d 10% ↻3h\n"
    );
}

#[test]
fn hook_warns_once_per_period_when_a_window_fills_before_its_reset() {
    let s = Sandbox::new();
    let reset = 1_795_000_000; // 2h13m20s after NOW
    // 25.8 points in the last hour: the remaining 28 take 1h05m.
    at(
        &s,
        NOW - H,
        &[],
        &statusline(72.0 - 28.0 * 3600.0 / 3900.0, reset),
    );
    at(&s, NOW, &[], &statusline(72.0, reset));
    let hook_in = br#"{"session_id":"s","hook_event_name":"UserPromptSubmit","prompt":"hi"}"#;
    assert_eq!(
        at(&s, NOW, &["hook"], hook_in),
        "{\"systemMessage\":\"ccmeter: 5-hour limit at 72%: at this pace full in 1h05m, resets in 2h13m\"}\n"
    );
    assert_eq!(at(&s, NOW + 60, &["hook"], hook_in), "");
    // Below half used: never, however fast.
    let s = Sandbox::new();
    at(&s, NOW, &[], &statusline(45.0, NOW + 4 * H + 1800));
    assert_eq!(at(&s, NOW, &["hook"], hook_in), "");
}

#[test]
fn readings_are_appended_only_when_they_change_or_every_five_minutes() {
    let s = Sandbox::new();
    let reset = NOW + 3 * H;
    for (dt, p) in [
        (0, 10.0),
        (30, 10.0),
        (90, 10.0),
        (120, 11.0),
        (419, 11.0),
        (420, 11.0),
    ] {
        at(&s, NOW + dt, &["--color", "never"], &statusline(p, reset));
    }
    let text = std::fs::read_to_string(history_file(&s)).unwrap();
    let times: Vec<i64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["taken_at"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(times, [NOW, NOW + 120, NOW + 420]);
    assert_eq!(
        text.lines().next().unwrap(),
        format!(
            r#"{{"taken_at":{NOW},"source":"stdin","windows":{{"5h":{{"p":10.0,"r":{reset}}},"7d":{{"p":10.0,"r":{}}}}}}}"#,
            NOW + 4 * 86_400
        )
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(history_file(&s))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn corrupt_history_never_breaks_the_line_and_the_worker_rewrites_it() {
    let s = Sandbox::new();
    let reset = NOW + 3 * H;
    at(&s, NOW - H, &[], &statusline(60.0, reset));
    let path = history_file(&s);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"\xff\xfe garbage\n{\"taken_at\":5,\"sour\n[1,2]\n");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(
        at(&s, NOW, &["--color", "never"], &statusline(80.0, reset)),
        "5h 80% · 7d 10% ↻3h · 5h full in 1h\n"
    );
    // The worker that line started has already rewritten the file clean.
    let doctor = at(&s, NOW, &["doctor"], b"");
    assert!(
        doctor.contains("(2 points, from 1h ago to 0s ago (1h span))"),
        "{doctor}"
    );
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"\xff\xfe garbage\n{\"taken_at\":5,\"sour\n[1,2]\n");
    std::fs::write(&path, &bytes).unwrap();
    let doctor = at(&s, NOW, &["doctor"], b"");
    assert!(
        doctor.contains("(2 points, from 1h ago to 0s ago (1h span), 3 unreadable lines"),
        "{doctor}"
    );
    let out = at(&s, NOW, &["refresh", "--wait", "--offline"], b"");
    assert!(out.contains("history: kept 2 points, dropped 3"), "{out}");
    let doctor = at(&s, NOW, &["doctor"], b"");
    assert!(
        doctor.contains("(2 points, from 1h ago to 0s ago (1h span))"),
        "{doctor}"
    );
}

#[test]
fn history_command_draws_charts_or_says_there_is_nothing_yet() {
    let s = Sandbox::new();
    let mut cmd = s.cmd(&["history"]);
    cmd.env("COLUMNS", "80");
    let empty = stdout(&s.run_with(cmd, b""));
    assert!(empty.starts_with("No history yet."), "{empty}");
    let reset = NOW + 3 * H;
    for (i, p) in [20.0, 35.0, 50.0, 62.0, 81.0].into_iter().enumerate() {
        at(&s, NOW - 4 * H + i as i64 * H, &[], &statusline(p, reset));
    }
    for cols in ["60", "200"] {
        let mut cmd = s.cmd(&["history", "--color", "never"]);
        cmd.env("COLUMNS", cols).env("TZ", "UTC");
        let text = stdout(&s.run_with(cmd, b""));
        assert!(
            text.starts_with("5h: 5-hour window · last 24h · 81% · ↻3h\n"),
            "{text}"
        );
        assert!(
            text.contains("7d: 7-day window · last 8 days · 10% · ↻4d\n"),
            "{text}"
        );
        assert!(text.contains("times in local time (UTC+00:00)"), "{text}");
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(
            widest <= cols.parse().unwrap(),
            "{widest} > {cols}:\n{text}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&at(&s, NOW, &["history", "--json"], b"")).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 5);
    // Times as `ccmeter --json` gives them (RFC 3339), window fields by its names.
    assert_eq!(json[4]["taken_at"], "2026-11-18T08:53:20Z");
    assert_eq!(json[4]["source"], "stdin");
    assert_eq!(json[4]["windows"]["5h"]["used_percentage"], 81.0);
    assert_eq!(
        json[4]["windows"]["5h"]["resets_at"],
        "2026-11-18T11:53:20Z"
    );
}

#[test]
fn a_bad_days_argument_is_said_not_ignored() {
    let s = Sandbox::new();
    for days in ["0", "9", "-1", "abc", "1.5", ""] {
        let out = s.run(&["history", "--days", days], b"");
        assert_eq!(out.status.code(), Some(2), "--days {days:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--days takes 1 to 8"),
            "--days {days:?}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
    let out = s.run(&["history", "--days"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        s.run(&["history", "--days", "8"], b"").status.code(),
        Some(0)
    );
}

/// A history with a point or two, and the path of its file.
fn with_history(s: &Sandbox) -> std::path::PathBuf {
    let reset = NOW + 3 * H;
    at(s, NOW - H, &[], &statusline(40.0, reset));
    at(s, NOW, &[], &statusline(70.4, reset));
    history_file(s)
}

fn history_with_env(s: &Sandbox, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = s.cmd(&["history", "--color", "never"]);
    cmd.env("TZ", "UTC");
    for (k, v) in env {
        cmd.env(k, v);
    }
    s.run_with(cmd, b"")
}

#[test]
fn absurd_columns_and_clocks_are_bounded() {
    let s = Sandbox::new();
    with_history(&s);
    // 2^32 aborted, 2^64-1 panicked, 1e8 printed 4.7 GB.
    for cols in ["4294967296", "18446744073709551615", "100000"] {
        let out = history_with_env(&s, &[("COLUMNS", cols)]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "COLUMNS={cols}: {text}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= 1000, "COLUMNS={cols}: {widest} columns");
        assert!(text.contains("5h: 5-hour window"), "{text}");
    }
    for now in ["-9223372036854775808", "9223372036854775807", "0"] {
        let out = history_with_env(&s, &[("COLUMNS", "80"), ("CCMETER_NOW", now)]);
        assert_eq!(out.status.code(), Some(0), "CCMETER_NOW={now}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn window_names_and_resets_from_the_file_are_cleaned_capped_and_bounded() {
    let s = Sandbox::new();
    let path = with_history(&s);
    let mut text = std::fs::read_to_string(&path).unwrap();
    let points = text.lines().count() + 5003;
    let line = |t: i64, name: &str, r: i64| {
        format!(
            "{{\"taken_at\":{t},\"source\":\"oauth\",\"windows\":{{{}:{{\"p\":50,\"r\":{r}}}}}}}\n",
            serde_json::to_string(name).unwrap()
        )
    };
    // Escapes and a long name, an absurd reset, and thousands of distinct names.
    text.push_str(&line(NOW - 60, "\u{1b}[31mevil\u{7}\u{202e}", NOW + 86_400));
    text.push_str(&line(NOW - 50, &"long".repeat(1000), NOW + 86_400));
    for i in 0..5000 {
        text.push_str(&line(NOW - 30, &format!("w{i}"), NOW + 86_400));
    }
    text.push_str(&line(NOW - 20, "sonnet", 9_223_372_036_854_775));
    std::fs::write(&path, text).unwrap();
    let out = history_with_env(&s, &[("COLUMNS", "80")]);
    let chart = stdout(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(!chart.contains(['\u{1b}', '\u{7}', '\u{202e}']));
    assert!(!chart.contains("longlonglonglong"));
    let titles: Vec<&str> = chart.lines().filter(|l| l.contains(" · last ")).collect();
    assert!(titles.len() <= 10, "{} charts", titles.len());
    assert!(titles[0].starts_with("5h: "), "{titles:?}");
    assert!(
        chart.contains("more windows not drawn"),
        "{}",
        &chart[chart.len().saturating_sub(300)..]
    );
    let doctor = at(&s, NOW, &["doctor"], b"");
    assert!(doctor.contains(&format!("({points} points")), "{doctor}");
    // The absurd reset is not printed: a year and more ahead is no reset at all.
    let sonnet = chart.lines().find(|l| l.starts_with("sonnet: ")).unwrap();
    assert_eq!(sonnet, "sonnet: 7-day sonnet window · last 8 days · 50%");
    assert!(!chart.contains("106751"));
}
