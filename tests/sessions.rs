//! Several Claude Code sessions on one account, through the real binary at pinned clocks
//! (`CCMETER_NOW`): an active one whose numbers rise, an idle one re-sending a lower number of
//! the same period, an idle one re-sending a window that has ended, and prompts with no stdin.
//! Every process must show the account's latest numbers, the history of a period must never go
//! down, and re-sends must renew nothing (docs/DESIGN.md, "Merging readings").

mod common;
#[path = "common/mock.rs"]
mod mock;

use common::{NOW, Sandbox, one_line};
use mock::{Mock, ok};

const M: i64 = 60;
const H: i64 = 3600;
/// The current 5-hour period: started 3 h before NOW, resets 2 h after.
const R5: i64 = NOW + 2 * H;
/// The period before it, which ended before the current one began.
const R5_ENDED: i64 = NOW - 3 * H - 10 * M;
/// The week, three days in.
const R7: i64 = NOW + 4 * 86_400;

/// A statusLine payload as Claude Code sends it: `session_id`, `cost.total_api_duration_ms`
/// (absent when `api` is `None`) and `rate_limits`. `five` is written as given, so a test can
/// send `-50` or `1e308`.
fn statusline(session: &str, api: Option<u64>, five: (&str, i64), seven: (f64, i64)) -> Vec<u8> {
    let cost = api.map_or(String::new(), |ms| {
        format!(r#""cost":{{"total_cost_usd":0.5,"total_api_duration_ms":{ms}}},"#)
    });
    format!(
        r#"{{"session_id":"{session}","model":{{"id":"claude-opus-4-6","display_name":"Opus"}},{cost}"version":"2.1.330","rate_limits":{{"five_hour":{{"used_percentage":{},"resets_at":{}}},"seven_day":{{"used_percentage":{},"resets_at":{}}}}}}}"#,
        five.0, five.1, seven.0, seven.1
    )
    .into_bytes()
}

/// One status line (or prompt, with empty stdin) at `now`, plain, waiting for any worker it
/// started so the next run sees a settled store.
fn line(s: &Sandbox, now: i64, stdin: &[u8]) -> String {
    line_with(s, s.cmd(&["--color", "never"]), now, stdin)
}

fn line_with(s: &Sandbox, mut cmd: std::process::Command, now: i64, stdin: &[u8]) -> String {
    cmd.env("CCMETER_NOW", now.to_string());
    let out = one_line(&s.run_with(cmd, stdin));
    s.wait_for_worker();
    out
}

/// The history as (taken_at relative to NOW, source, 5h %, 7d %), one per point.
fn history(s: &Sandbox) -> Vec<(i64, String, Option<f64>, Option<f64>)> {
    let Some(path) = s
        .entry_files()
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".history.jsonl"))
    else {
        return Vec::new();
    };
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let p = |w: &str| v["windows"][w]["p"].as_f64();
            (
                v["taken_at"].as_i64().unwrap() - NOW,
                v["source"].as_str().unwrap().to_string(),
                p("5h"),
                p("7d"),
            )
        })
        .collect()
}

fn stdin_point(at: i64, five: f64, seven: f64) -> (i64, String, Option<f64>, Option<f64>) {
    (at, "stdin".into(), Some(five), Some(seven))
}

/// What the hot path records in the store: the numbers, the sessions, the history mark.
fn recorded(s: &Sandbox) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.store_file().unwrap()).unwrap()).unwrap();
    let v = v.as_object_mut().unwrap();
    v.retain(|k, _| matches!(k.as_str(), "snapshot" | "sessions" | "history"));
    serde_json::Value::Object(v.clone())
}

/// The store file's inode: atomic writes replace it, so an unchanged inode proves no write.
#[cfg(unix)]
fn store_inode(s: &Sandbox) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(s.store_file().unwrap()).unwrap())
}

/// No inode number on Windows: a rewrite still shows in the modification time (100 ns steps).
#[cfg(not(unix))]
fn store_inode(s: &Sandbox) -> u64 {
    let m = std::fs::metadata(s.store_file().unwrap()).unwrap();
    let t = m.modified().unwrap().duration_since(std::time::UNIX_EPOCH);
    t.unwrap().as_nanos() as u64
}

#[test]
fn every_session_and_prompt_shows_the_active_sessions_latest_numbers() {
    let s = Sandbox::new();
    let idle_ended = |now| {
        line(
            &s,
            now,
            &statusline("c", Some(500), ("70", R5_ENDED), (20.0, R7)),
        )
    };
    let idle_lower = |now| {
        line(
            &s,
            now,
            &statusline("b", Some(1000), ("30", R5), (20.0, R7)),
        )
    };
    let prompt = |now| line(&s, now, b"");

    // Session c worked in the previous 5-hour period, session b early in this one.
    assert_eq!(idle_ended(NOW - 4 * H), "5h 70% · 7d 20% ↻50m");
    assert_eq!(idle_lower(NOW - 40 * M), "5h 30% · 7d 20% ↻2h40m");
    // Session a is the active one.
    let active = |now, api, five: &str, seven| {
        line(
            &s,
            now,
            &statusline("a", Some(api), (five, R5), (seven, R7)),
        )
    };
    assert_eq!(
        active(NOW - 30 * M, 2000, "40", 20.0),
        "5h 40% · 7d 20% ↻2h30m"
    );
    // The idle sessions re-send what they last saw: their own lines show the account's
    // numbers, an ended window does not bring `--` back, and they record nothing (the
    // background worker may scan for an estimate once the numbers grow old; that is its own).
    let before = recorded(&s);
    let points = history(&s);
    assert_eq!(idle_ended(NOW - 20 * M), "5h 40% · 7d 20% ↻2h20m");
    // Twenty minutes on, a's numbers are that old, whoever shows them.
    assert_eq!(idle_lower(NOW - 10 * M), "5h 40% · 7d 20% ↻2h10m (20m ago)");
    assert_eq!(prompt(NOW - 10 * M), "5h 40% · 7d 20% ↻2h10m (20m ago)");
    assert_eq!(recorded(&s), before);
    assert_eq!(history(&s), points);

    // Session a keeps working: 40 → 59 % in the half hour since b's 30 %.
    let now_line = "5h 59% · 7d 21% ↻2h · 5h full in 56m";
    assert_eq!(active(NOW, 2600, "59", 21.0), now_line);
    let everyone: [&dyn Fn(i64) -> String; 3] = [&idle_ended, &idle_lower, &prompt];
    for run in everyone {
        assert_eq!(run(NOW), now_line);
    }
    // Forty re-sends later, nothing was written at all.
    let inode = store_inode(&s);
    for i in 0..40 {
        assert_eq!(everyone[i % 2](NOW), now_line);
    }
    assert_eq!(store_inode(&s), inode);

    // The history of the current period never goes down; no point came from a re-send.
    assert_eq!(
        history(&s),
        [
            stdin_point(-4 * H, 70.0, 20.0),
            stdin_point(-40 * M, 30.0, 20.0),
            stdin_point(-30 * M, 40.0, 20.0),
            stdin_point(0, 59.0, 21.0),
        ]
    );
}

#[test]
fn re_sends_age_until_the_session_makes_a_request_again() {
    let s = Sandbox::new();
    let a = |now, api: u64, five: &str| {
        line(&s, now, &statusline("a", Some(api), (five, R5), (27.0, R7)))
    };
    assert_eq!(a(NOW, 2600, "59"), "5h 59% · 7d 27% ↻2h");
    // Session a goes idle; Claude Code re-runs its status line every 30 s with the same
    // numbers. They are not news: within the stale limit nothing shows, then their age does.
    for dt in (30..=600).step_by(30) {
        let out = a(NOW + dt, 2600, "59");
        assert!(out.starts_with("5h 59% · 7d 27% ↻"), "{dt}: {out}");
        assert!(!out.contains("ago"), "{dt}: {out}");
    }
    assert_eq!(a(NOW + 630, 2600, "59"), "5h 59% · 7d 27% ↻1h49m (10m ago)");
    assert_eq!(a(NOW + 900, 2600, "59"), "5h 59% · 7d 27% ↻1h45m (15m ago)");
    assert_eq!(line(&s, NOW + 900, b""), "5h 59% · 7d 27% ↻1h45m (15m ago)");
    // A request (the API time grew) makes the numbers live again.
    assert_eq!(a(NOW + 960, 3100, "61"), "5h 61% · 7d 27% ↻1h44m");
    // Its re-sends are dated by that request.
    assert_eq!(
        a(NOW + 960 + 11 * M, 3100, "61"),
        "5h 61% · 7d 27% ↻1h33m (11m ago)"
    );
    // A payload without session_id or cost counts as news, as before.
    let mut plain = statusline("a", None, ("61", R5), (27.0, R7));
    assert_eq!(
        line(&s, NOW + 960 + 12 * M, &plain),
        "5h 61% · 7d 27% ↻1h32m"
    );
    plain = String::from_utf8(plain)
        .unwrap()
        .replace(r#""session_id":"a","#, "")
        .into_bytes();
    assert_eq!(
        line(&s, NOW + 960 + 13 * M, &plain),
        "5h 61% · 7d 27% ↻1h31m"
    );
}

#[test]
fn re_sends_let_the_background_refresh_run() {
    // Usage on claude.ai grew while session a sat idle: only the endpoint knows.
    let body = |five: f64| {
        format!(
            r#"{{"five_hour":{{"utilization":{five},"resets_at":{R5}}},"seven_day":{{"utilization":27.0,"resets_at":{R7}}}}}"#
        )
        .into_bytes()
    };
    let mock = Mock::start(ok(&body(59.0)));
    let s = Sandbox::logged_in();
    let run = |now, stdin: &[u8]| {
        let mut cmd = s.online_cmd(&mock.base(), &["--color", "never"], now);
        cmd.env("CCMETER_DETAIL_TTL", "86400");
        line_with(&s, cmd, now, stdin)
    };
    let a =
        |now, api: u64, five: &str| run(now, &statusline("a", Some(api), (five, R5), (27.0, R7)));
    // The first line starts a refresh: the endpoint's per-model detail is unknown yet.
    assert_eq!(a(NOW, 2600, "59"), "5h 59% · 7d 27% ↻2h");
    assert_eq!(mock.count(), 1);
    mock.set(ok(&body(64.0)));
    // News within the TTL keeps the numbers live: no request.
    assert_eq!(a(NOW + 100, 2700, "60"), "5h 60% · 7d 27% ↻1h58m");
    assert_eq!(a(NOW + 200, 2700, "60"), "5h 60% · 7d 27% ↻1h56m");
    assert_eq!(mock.count(), 1);
    // Re-sends do not: once the numbers are older than the TTL (180 s) the endpoint is asked.
    assert_eq!(a(NOW + 281, 2700, "60"), "5h 60% · 7d 27% ↻1h55m");
    assert_eq!(mock.count(), 2);
    // Every process then shows the endpoint's higher number, the idle session's own line too.
    let after = "5h 64% · 7d 27% ↻1h55m · 5h full in 1h44m";
    assert_eq!(a(NOW + 300, 2700, "60"), after);
    assert_eq!(run(NOW + 300, b""), after);
    assert_eq!(mock.count(), 2);
    assert_eq!(
        history(&s),
        [
            stdin_point(0, 59.0, 27.0),
            stdin_point(100, 60.0, 27.0),
            (281, "oauth".into(), Some(64.0), Some(27.0)),
        ]
    );
}

#[test]
fn unreadable_percentages_leave_the_good_reading() {
    let s = Sandbox::new();
    let send =
        |now, api, five: &str| line(&s, now, &statusline("a", Some(api), (five, R5), (27.0, R7)));
    assert_eq!(send(NOW - 20 * M, 2000, "50"), "5h 50% · 7d 27% ↻2h20m");
    let good = "5h 59% · 7d 27% ↻2h · 5h full in 1h31m";
    assert_eq!(send(NOW, 2600, "59"), good);
    let pace = |now: i64| {
        let mut cmd = s.cmd(&["--format", "{5h} {pace5h} {full}"]);
        cmd.env("CCMETER_NOW", now.to_string());
        one_line(&s.run_with(cmd, b""))
    };
    let good_pace = pace(NOW);
    assert_eq!(good_pace, "59% -1 5h full in 1h31m");
    let points = history(&s);
    // As news (the API time grows each time) and as a payload without a session.
    for (i, bad) in ["-50", "1e308", "-0.5", "100000", "\"NaN\""]
        .iter()
        .enumerate()
    {
        assert_eq!(send(NOW, 2700 + i as u64, bad), good, "{bad}");
        let no_session = statusline("x", None, (bad, R5), (27.0, R7));
        assert_eq!(line(&s, NOW, &no_session), good, "{bad}");
        assert_eq!(line(&s, NOW, b""), good, "{bad}");
        assert_eq!(pace(NOW), good_pace, "{bad}");
    }
    assert_eq!(history(&s), points);
    assert_eq!(
        points,
        [stdin_point(-20 * M, 50.0, 27.0), stdin_point(0, 59.0, 27.0)]
    );
    let json: serde_json::Value = {
        let mut cmd = s.cmd(&["--json"]);
        cmd.env("CCMETER_NOW", NOW.to_string());
        serde_json::from_str(&one_line(&s.run_with(cmd, b""))).unwrap()
    };
    assert_eq!(json["five_hour"]["percent"], 59.0);
}
