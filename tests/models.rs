//! The limit that will actually stop you, end to end: per-model weekly windows and extra usage
//! served by a loopback endpoint reach the line, `--json` and `--format`, and a stdin reading
//! that lacks windows never erases them.

mod common;
#[path = "common/mock.rs"]
mod mock;

use std::process::Command;

use common::{NOW, Sandbox, fixture, one_line};
use mock::{Mock, ok};

fn online(_mock: &Mock) -> Sandbox {
    Sandbox::logged_in()
}

fn cmd(s: &Sandbox, mock: &Mock, args: &[&str], now: i64) -> Command {
    s.online_cmd(&mock.base(), args, now)
}

fn refresh(s: &Sandbox, mock: &Mock, now: i64) {
    let out = s.run_with(cmd(s, mock, &["refresh", "--wait"], now), b"");
    assert!(out.status.success(), "{out:?}");
}

fn run(s: &Sandbox, mock: &Mock, args: &[&str], now: i64, stdin: &[u8]) -> String {
    let out = s.run_with(cmd(s, mock, args, now), stdin);
    assert!(out.status.success());
    one_line(&out)
}

fn json(s: &Sandbox, mock: &Mock, now: i64, stdin: &[u8]) -> serde_json::Value {
    serde_json::from_str(&run(s, mock, &["--json"], now, stdin)).unwrap()
}

#[test]
fn binding_model_window_on_every_surface() {
    let mock = Mock::start(ok(&fixture("usage-scoped-binding.json")));
    let s = online(&mock);
    refresh(&s, &mock, NOW);
    assert_eq!(
        run(&s, &mock, &["--color", "never"], NOW, b""),
        "5h 12% · 7d 40% · opus 95% ↻3d · opus full in 4h09m"
    );
    assert_eq!(
        run(
            &s,
            &mock,
            &["--format", "{5h}|{7d}|{model}|{reset}|{extra}"],
            NOW,
            b""
        ),
        "12%|40%|opus 95%|3d|"
    );
    let v = json(&s, &mock, NOW, b"");
    let scoped = v["scoped"].as_array().unwrap();
    assert_eq!(
        scoped.len(),
        1,
        "flat seven_day_opus and limits[] Opus are one window"
    );
    assert_eq!(scoped[0]["name"], "opus");
    assert_eq!(scoped[0]["percent"], 95);
    assert_eq!(scoped[0]["severity"], "critical");
    assert_eq!(scoped[0]["shown"], true);
    assert_eq!(v["extra"]["enabled"], false);
    // Red from the endpoint's "critical", even where thresholds would agree anyway.
    let coloured = run(&s, &mock, &["--color", "always"], NOW, b"");
    assert!(coloured.contains("\x1b[31mopus 95%\x1b[0m"), "{coloured:?}");
    assert_eq!(mock.count(), 1);
}

#[test]
fn extra_usage_while_a_window_is_full() {
    let mock = Mock::start(ok(&fixture("usage-extra-spending.json")));
    let s = online(&mock);
    refresh(&s, &mock, NOW);
    assert_eq!(
        run(&s, &mock, &["--color", "never"], NOW, b""),
        "5h 100% · 7d 62% ↻26m · 7d full in 2d · extra €12.34/€50"
    );
    let v = json(&s, &mock, NOW, b"");
    assert_eq!(
        v["extra"],
        serde_json::json!({"enabled": true, "spent": 12.34, "limit": 50.0, "percent": 24.68, "currency": "EUR"})
    );
    assert_eq!(
        run(&s, &mock, &["--format", "{extra}"], NOW, b""),
        "extra €12.34/€50"
    );
    // Once the 5-hour window has reset, nothing on the line is full and the month's budget is
    // under half spent: no extra usage on the line, still in --json.
    let later = NOW + 40 * 60;
    let line = run(&s, &mock, &["--color", "never", "--offline"], later, b"");
    assert_eq!(line, "5h -- · 7d 62% ↻3d · 7d full in 2d (40m ago)");
    assert_eq!(json(&s, &mock, later, b"")["extra"]["spent"], 12.34);
}

#[test]
fn five_hour_only_stdin_keeps_week_and_models_everywhere() {
    let mock = Mock::start(ok(&fixture("usage-scoped-binding.json")));
    let s = online(&mock);
    refresh(&s, &mock, NOW);
    let five_only = fixture("statusline-five-hour-only.json");
    let at = NOW + 60;
    assert_eq!(
        run(&s, &mock, &["--color", "never"], at, &five_only),
        "5h 41% · 7d 40% · opus 95% ↻3d · 5h full in 2h49m"
    );
    // The stored reading kept 7d and the model window; a prompt without stdin shows them too.
    assert_eq!(
        run(&s, &mock, &["--color", "never"], at, b""),
        "5h 41% · 7d 40% · opus 95% ↻3d · 5h full in 2h49m"
    );
    let v = json(&s, &mock, at, b"");
    assert_eq!(v["five_hour"]["source"], "stdin");
    assert_eq!(v["seven_day"]["source"], "oauth");
    assert_eq!(v["seven_day"]["percent"], 40);
    assert_eq!(v["scoped"][0]["name"], "opus");
    // Twenty minutes on, stdin still live: the line's oldest number (from the endpoint) is
    // marked, and since the endpoint's answer is older than the detail TTL it is asked again.
    s.wait_for_worker();
    let later = NOW + 20 * 60;
    let line = run(&s, &mock, &["--color", "never"], later, &five_only);
    assert_eq!(
        line,
        "5h 41% · 7d 40% · opus 95% ↻3d · 5h full in 40m (20m ago)"
    );
    s.wait_for_worker();
    assert_eq!(mock.count(), 2, "detail refresh while stdin is live");
    assert_eq!(
        run(&s, &mock, &["--color", "never"], later, &five_only),
        "5h 41% · 7d 40% · opus 95% ↻3d · 5h full in 40m"
    );
}

#[test]
fn unchanged_partial_stdin_writes_nothing() {
    let s = Sandbox::new();
    let five_only = fixture("statusline-five-hour-only.json");
    let offline = |now: i64| {
        let mut c = s.cmd(&["--color", "never"]);
        c.env("CCMETER_NOW", now.to_string());
        c
    };
    assert!(s.run_with(offline(NOW), &five_only).status.success());
    // The first reading may start a calibration scan, which writes its estimate: let it finish.
    s.wait_for_worker();
    let file = s.store_file().expect("stdin reading stored");
    let before = std::fs::metadata(&file).unwrap();
    let out = s.run_with(offline(NOW + 30), &five_only);
    assert_eq!(one_line(&out), "5h 41% ↻3h02m · 5h full in 2h48m");
    s.wait_for_worker();
    let after = std::fs::metadata(&file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            (before.ino(), before.mtime_nsec()),
            (after.ino(), after.mtime_nsec()),
            "the same reading within a minute is not written again"
        );
    }
    // No inode number on Windows: a rewrite still shows in the modification time.
    #[cfg(not(unix))]
    assert_eq!(
        before.modified().unwrap(),
        after.modified().unwrap(),
        "the same reading within a minute is not written again"
    );
}

#[test]
fn a_no_plan_limits_answer_still_renews_extra_usage() {
    let mock = Mock::start(ok(&fixture("usage-edge-odd-currency.json")));
    let s = online(&mock);
    refresh(&s, &mock, NOW);
    assert_eq!(
        json(&s, &mock, NOW, b"")["extra"]["currency"],
        "CHF",
        "the first answer's extra usage"
    );
    // Five minutes on the plan windows are all null, but extra usage is still reported: the
    // newest answer's numbers replace the old ones instead of the old ones lingering.
    mock.set(ok(br#"{"five_hour":null,"seven_day":null,"seven_day_opus":null,
        "extra_usage":{"is_enabled":true,"monthly_limit":50000,"used_credits":40000,"utilization":80,"currency":"USD"}}"#));
    // (`refresh --wait` exits 1: no plan limits is a state the user may have to act on.)
    let _ = s.run_with(cmd(&s, &mock, &["refresh", "--wait"], NOW + 300), b"");
    let v = json(&s, &mock, NOW + 300, b"");
    assert_eq!(
        v["extra"],
        serde_json::json!({"enabled": true, "spent": 400.0, "limit": 500.0, "percent": 80.0, "currency": "USD"})
    );
    assert_eq!(v["state"], "no_plan_limits");
}

#[test]
fn a_200_that_is_not_a_usage_body_is_an_unexpected_answer() {
    for body in [&b"<html>hello</html>"[..], b"[]", b"null", b"{}"] {
        let mock = Mock::start(ok(body));
        let s = online(&mock);
        let out = s.run_with(cmd(&s, &mock, &["refresh", "--wait"], NOW), b"");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(
            run(&s, &mock, &["--color", "never", "--offline"], NOW, b""),
            "5h -- · 7d -- (unexpected answer, retry 1m)",
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}
