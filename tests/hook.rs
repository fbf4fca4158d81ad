//! `ccmeter hook` as Claude Code runs it: hook JSON on stdin, the real binary in a real pipe.
//! Silent below the thresholds, one `systemMessage` per threshold per window period above them,
//! only documented keys, and exit 0 whatever happens. `PreModelSwitch` and `StopFailure` are fed
//! the samples of Claude Code 2.1.330's shapes against stores the (mock) endpoint filled with
//! per-model and full windows.

mod common;

use std::process::{Command, Output, Stdio};

use common::{NOW, Sandbox, fixture, one_line, stdout};

/// The 5-hour reset used in these tests (the samples' one): 2h13m20s after `NOW`.
const RESETS_AT: i64 = 1_795_000_000;

fn session_start() -> Vec<u8> {
    br#"{"session_id":"0d6f2a4e-7c1b-4e55-9b7a-3f1e2d4c5b6a","transcript_path":"/home/dev/.claude/projects/-home-dev-shop/0d6f2a4e.jsonl","cwd":"/home/dev/shop","hook_event_name":"SessionStart","source":"startup"}"#.to_vec()
}

/// What a status line run with `rate_limits` stores: the hook reads it from there. The same
/// numbers an hour earlier too, so the history says usage is holding steady and no pace warning
/// (tests/history.rs has those) joins the threshold ones tested here.
fn seed(s: &Sandbox, five: f64, resets_at: i64) {
    let body = format!(
        r#"{{"model":{{"id":"claude-sonnet-4-5"}},"rate_limits":{{"five_hour":{{"used_percentage":{five},"resets_at":{resets_at}}},"seven_day":{{"used_percentage":12,"resets_at":1795400000}}}}}}"#
    );
    let mut earlier = s.cmd(&["--color", "never"]);
    earlier.env("CCMETER_NOW", (NOW - 3600).to_string());
    one_line(&s.run_with(earlier, body.as_bytes()));
    s.wait_for_worker();
    one_line(&s.run(&["--color", "never"], body.as_bytes()));
}

/// `2h13m` for a reset `secs` ahead, as the design spells it (under 10 h).
fn until(secs: i64) -> String {
    assert!((3600..36_000).contains(&secs));
    match (secs / 3600, secs % 3600 / 60) {
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m:02}m"),
    }
}

fn message(text: &str) -> String {
    format!("{{\"systemMessage\":\"ccmeter: {text}\"}}\n")
}

/// Runs the hook; asserts exit 0 and a clean stderr; returns stdout.
fn hook_with(s: &Sandbox, cmd: Command, stdin: &[u8]) -> String {
    let out = s.run_with(cmd, stdin);
    check(&out)
}

fn hook(s: &Sandbox, stdin: &[u8]) -> String {
    hook_with(s, s.cmd(&["hook"]), stdin)
}

fn check(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "hook exit; {}", stdout(out));
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(out)
}

#[test]
fn silent_below_the_thresholds() {
    let s = Sandbox::new();
    // Nothing known at all.
    assert_eq!(hook(&s, &fixture("hook-user-prompt-submit.json")), "");
    assert_eq!(hook(&s, &session_start()), "");
    // Known, but under 80 %.
    let s = Sandbox::new();
    seed(&s, 79.4, RESETS_AT);
    assert_eq!(hook(&s, &fixture("hook-user-prompt-submit.json")), "");
    assert_eq!(hook(&s, &session_start()), "");
}

#[test]
fn above_a_threshold_says_so_with_only_documented_keys() {
    for payload in [fixture("hook-user-prompt-submit.json"), session_start()] {
        let s = Sandbox::new();
        seed(&s, 83.0, RESETS_AT);
        let out = hook(&s, &payload);
        let want = format!("5-hour limit at 83%, resets in {}", until(RESETS_AT - NOW));
        assert_eq!(want, "5-hour limit at 83%, resets in 2h13m");
        assert_eq!(out, message(&want));
        let v: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
        let obj = v.as_object().expect("a JSON object");
        assert_eq!(
            obj.keys().collect::<Vec<_>>(),
            ["systemMessage"],
            "only documented keys"
        );
        assert_eq!(obj["systemMessage"], format!("ccmeter: {want}"));
    }
}

#[test]
fn once_per_threshold_per_window_period() {
    let s = Sandbox::new();
    let prompt = fixture("hook-user-prompt-submit.json");
    seed(&s, 83.0, RESETS_AT);
    assert_eq!(
        hook(&s, &prompt),
        message("5-hour limit at 83%, resets in 2h13m")
    );
    assert_eq!(hook(&s, &prompt), "", "second call");
    assert_eq!(hook(&s, &session_start()), "", "third call");

    // Still above 80 but under 95: no new threshold; but 7 points in the hour since the
    // first reading fill the window before its reset, which is said once per period.
    seed(&s, 90.0, RESETS_AT);
    assert_eq!(
        hook(&s, &prompt),
        message("5-hour limit at 90%: at this pace full in 1h25m, resets in 2h13m")
    );
    assert_eq!(hook(&s, &prompt), "");

    // Crossing 95 % speaks once more, then not again.
    seed(&s, 95.6, RESETS_AT);
    assert_eq!(
        hook(&s, &prompt),
        message("5-hour limit at 96%, resets in 2h13m")
    );
    assert_eq!(hook(&s, &prompt), "");
    seed(&s, 99.0, RESETS_AT);
    assert_eq!(hook(&s, &prompt), "");

    // A new 5-hour period (another reset time) starts over.
    let next = RESETS_AT + 5 * 3600;
    seed(&s, 81.0, next);
    assert_eq!(
        hook(&s, &prompt),
        message(&format!(
            "5-hour limit at 81%, resets in {}",
            until(next - NOW)
        ))
    );
    assert_eq!(
        message(&format!(
            "5-hour limit at 81%, resets in {}",
            until(next - NOW)
        )),
        message("5-hour limit at 81%, resets in 7h13m")
    );
    assert_eq!(hook(&s, &prompt), "");
}

#[test]
fn warn_at_sets_the_thresholds() {
    let prompt = fixture("hook-user-prompt-submit.json");
    let with = |s: &Sandbox, warn: &str| {
        let mut c = s.cmd(&["hook"]);
        c.env("CCMETER_WARN_AT", warn);
        hook_with(s, c, &prompt)
    };

    let s = Sandbox::new();
    seed(&s, 60.0, RESETS_AT);
    assert_eq!(hook(&s, &prompt), "", "60 % is under the default 80");
    assert_eq!(
        with(&s, "50"),
        message("5-hour limit at 60%, resets in 2h13m")
    );
    assert_eq!(with(&s, "50"), "");

    // Garbage falls back to 80,95.
    for garbage in ["abc", "50,abc", "150", "-5", ",", "fifty%"] {
        let s = Sandbox::new();
        seed(&s, 60.0, RESETS_AT);
        assert_eq!(with(&s, garbage), "", "CCMETER_WARN_AT={garbage:?}");
        seed(&s, 83.0, RESETS_AT);
        // 60 % an hour ago: at 23 points an hour the window fills before its reset.
        assert_eq!(
            with(&s, garbage),
            message("5-hour limit at 83%: at this pace full in 44m, resets in 2h13m"),
            "CCMETER_WARN_AT={garbage:?}"
        );
    }

    // Written with spaces and percent signs, in any order.
    let s = Sandbox::new();
    seed(&s, 72.0, RESETS_AT);
    assert_eq!(
        with(&s, " 90% , 70 "),
        message("5-hour limit at 72%, resets in 2h13m")
    );
}

#[test]
fn garbage_empty_and_silent_stdin_are_fine() {
    let inputs: [&[u8]; 6] = [
        b"",
        b"\xff\xfe\x00garbage",
        b"{\"hook_event_name\":",
        b"[1,2,3]",
        b"null",
        b"{\"rate_limits\":\"soon\"}",
    ];
    for input in inputs {
        let s = Sandbox::new();
        assert_eq!(hook(&s, input), "", "{input:?}");
        seed(&s, 83.0, RESETS_AT);
        // Nothing usable on stdin: the stored numbers still warn.
        assert_eq!(
            hook(&s, input),
            message("5-hour limit at 83%, resets in 2h13m"),
            "{input:?}"
        );
    }

    // stdin closed outright.
    let s = Sandbox::new();
    seed(&s, 83.0, RESETS_AT);
    let out = s
        .cmd(&["hook"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(check(&out), message("5-hour limit at 83%, resets in 2h13m"));

    // A pipe that is never written to nor closed.
    for seeded in [false, true] {
        let s = Sandbox::new();
        if seeded {
            seed(&s, 83.0, RESETS_AT);
        }
        // Half a payload (or nothing), and then silence.
        let partial: &[u8] = if seeded {
            b"{\"session_id\":\"0d6f"
        } else {
            b""
        };
        let out = s.run_with_stalled_stdin(s.cmd(&["hook"]), partial);
        let want = if seeded {
            message("5-hour limit at 83%, resets in 2h13m")
        } else {
            String::new()
        };
        assert_eq!(check(&out), want);
    }
}

#[test]
fn unusable_cache_dir_is_not_fatal() {
    let s = Sandbox::new();
    // A regular file where the cache dir should be.
    std::fs::write(&s.cache, b"not a dir").unwrap();
    for payload in [fixture("hook-user-prompt-submit.json"), session_start()] {
        assert_eq!(hook(&s, &payload), "");
    }
    // Numbers it cannot record announcements for: saying it again is the lesser evil. No
    // history either, so the pace is the average since the window opened.
    let live = br#"{"hook_event_name":"UserPromptSubmit","rate_limits":{"five_hour":{"used_percentage":83,"resets_at":1795000000}}}"#;
    for _ in 0..2 {
        assert_eq!(
            hook(&s, live),
            message("5-hour limit at 83%: at this pace full in 34m, resets in 2h13m")
        );
    }
    assert_eq!(std::fs::read(&s.cache).unwrap(), b"not a dir");
}

#[test]
fn stale_numbers_say_how_old_they_are() {
    let s = Sandbox::new();
    seed(&s, 83.0, RESETS_AT);
    let mut c = s.cmd(&["hook"]);
    c.env("CCMETER_NOW", (NOW + 720).to_string());
    assert_eq!(
        hook_with(&s, c, &fixture("hook-user-prompt-submit.json")),
        // The reading is the newest point: the pace is the window's average.
        message("5-hour limit at 83%: at this pace full in 36m, resets in 2h01m (as of 12m ago)")
    );
}

#[test]
fn a_window_that_has_reset_does_not_warn() {
    let s = Sandbox::new();
    seed(&s, 97.0, RESETS_AT);
    let mut c = s.cmd(&["hook"]);
    c.env("CCMETER_NOW", (RESETS_AT + 1).to_string());
    assert_eq!(
        hook_with(&s, c, &fixture("hook-user-prompt-submit.json")),
        ""
    );
}

#[test]
fn windows_without_a_reset_time_warn_once_a_day_and_are_forgotten() {
    let s = Sandbox::new();
    let prompt = fixture("hook-user-prompt-submit.json");
    let live = |now: i64| {
        let mut c = s.cmd(&["--color", "never"]);
        c.env("CCMETER_NOW", now.to_string());
        one_line(&s.run_with(
            c,
            br#"{"rate_limits":{"five_hour":{"used_percentage":83,"resets_at":null}}}"#,
        ));
    };
    let hook_at = |now: i64| {
        let mut c = s.cmd(&["hook"]);
        c.env("CCMETER_NOW", now.to_string());
        hook_with(&s, c, &prompt)
    };
    live(NOW);
    assert_eq!(hook_at(NOW), message("5-hour limit at 83%"));
    assert_eq!(hook_at(NOW + 1), "");
    // Nine days on, the same kind of window warns again, and the old day is forgotten.
    let later = NOW + 9 * 86_400;
    live(later);
    assert_eq!(hook_at(later), message("5-hour limit at 83%"));
    let state = s
        .entry_files()
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".hook.json"))
        .expect("hook state file");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    assert_eq!(
        v["windows"].as_object().unwrap().keys().collect::<Vec<_>>(),
        [&format!("5h@day{}", later / 86_400)],
        "{v}"
    );
}

#[test]
fn a_reader_that_went_away_is_not_a_failure() {
    let s = Sandbox::new();
    seed(&s, 83.0, RESETS_AT);
    let mut cmd = s.cmd(&["hook"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Close the read end before the hook writes its message: the write gets EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- PreModelSwitch and StopFailure, against numbers the usage endpoint gave ----

#[path = "common/mock.rs"]
mod mock;

/// The 5-hour reset in these bodies: 42m after `NOW`, 09:35 UTC.
const SESSION_RESET: &str = "2026-11-18T09:35:20Z";
/// The weekly resets: 2d3h after `NOW`, Friday 12:00 UTC.
const WEEKLY_RESET: &str = "2026-11-20T12:00:00Z";

/// A `limits[]` body (the shape newer accounts get): session, weekly_all, and one
/// `weekly_scoped` row per `(display name, percent)`.
fn usage_body(five: f64, seven: f64, models: &[(&str, f64)]) -> Vec<u8> {
    let mut limits = vec![
        serde_json::json!({"kind": "session", "percent": five, "resets_at": SESSION_RESET, "scope": null}),
        serde_json::json!({"kind": "weekly_all", "percent": seven, "resets_at": WEEKLY_RESET, "scope": null}),
    ];
    for (name, p) in models {
        limits.push(serde_json::json!({
            "kind": "weekly_scoped", "percent": p, "resets_at": WEEKLY_RESET,
            "severity": if *p >= 95.0 { "critical" } else { "normal" },
            "scope": {"model": {"id": null, "display_name": name}}
        }));
    }
    serde_json::to_vec(&serde_json::json!({"limits": limits, "extra_usage": null})).unwrap()
}

/// A logged-in sandbox whose store holds what the endpoint answered with `body` at `NOW`.
fn endpoint_store(body: &[u8]) -> (Sandbox, mock::Mock) {
    let mock = mock::Mock::start(mock::ok(body));
    let s = Sandbox::logged_in();
    let out = s.run_with(s.online_cmd(&mock.base(), &["refresh", "--wait"], NOW), b"");
    assert_eq!(out.status.code(), Some(0), "refresh: {}", stdout(&out));
    assert_eq!(mock.count(), 1);
    (s, mock)
}

/// The hook in a deterministic time zone (offline, at `NOW`).
fn hook_tz(s: &Sandbox, tz: &str, stdin: &[u8]) -> String {
    let mut c = s.cmd(&["hook"]);
    c.env("TZ", tz);
    hook_with(s, c, stdin)
}

fn switch_to(to_model: Option<&str>, requested: Option<&str>) -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture("hook-pre-model-switch.json")).unwrap();
    v["to_model"] = to_model.map_or(serde_json::Value::Null, Into::into);
    v["requested_model"] = requested.map_or(serde_json::Value::Null, Into::into);
    if to_model.is_none() {
        v.as_object_mut().unwrap().remove("to_model");
    }
    serde_json::to_vec(&v).unwrap()
}

fn stop_failure(error: &str) -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture("hook-stop-failure-rate-limit.json")).unwrap();
    v["error"] = error.into();
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn switching_to_a_model_near_its_weekly_cap_says_so_every_time() {
    let (s, _mock) = endpoint_store(&usage_body(12.0, 48.0, &[("Opus", 91.0), ("Sonnet", 30.0)]));
    let want = message("switching to opus: 7-day opus limit at 91%, resets in 2d");
    // The captured sample: from sonnet to `claude-opus-4-6`, asked for as `opus`.
    assert_eq!(hook(&s, &fixture("hook-pre-model-switch.json")), want);
    // A switch is a deliberate act: said again on the next one.
    assert_eq!(hook(&s, &fixture("hook-pre-model-switch.json")), want);
    // The resolved id alone names the window too.
    assert_eq!(
        hook(&s, &switch_to(Some("claude-opus-4-6"), None)),
        message("switching to claude-opus-4-6: 7-day opus limit at 91%, resets in 2d")
    );
    // Under the first threshold, a model with no window, a missing target: silent.
    for stdin in [
        switch_to(Some("claude-sonnet-4-6"), Some("sonnet")),
        switch_to(Some("claude-haiku-4-5"), Some("haiku")),
        switch_to(Some("claude-opusplan-1"), Some("opusplan")),
        switch_to(None, Some("opus")),
    ] {
        assert_eq!(hook(&s, &stdin), "", "{}", String::from_utf8_lossy(&stdin));
    }
    // The first threshold is CCMETER_WARN_AT's.
    let mut c = s.cmd(&["hook"]);
    c.env("CCMETER_WARN_AT", "95");
    assert_eq!(hook_with(&s, c, &fixture("hook-pre-model-switch.json")), "");
}

#[test]
fn switching_while_a_window_is_full_names_that_window() {
    // Fable at its cap; the target (opus) has no window of its own.
    let (s, _mock) = endpoint_store(&usage_body(2.0, 59.0, &[("Fable", 100.0)]));
    assert_eq!(
        hook(&s, &fixture("hook-pre-model-switch.json")),
        message("switching to opus: 7-day fable limit at 100%, resets in 2d")
    );
    // The 5-hour window full stops every model: it comes first.
    let (s, _mock) = endpoint_store(&usage_body(100.0, 59.0, &[("Fable", 100.0)]));
    assert_eq!(
        hook(&s, &switch_to(Some("claude-sonnet-4-6"), Some("sonnet"))),
        message("switching to sonnet: 5-hour limit at 100%, resets in 42m")
    );
    // Nothing near: silent.
    let (s, _mock) = endpoint_store(&usage_body(20.0, 59.0, &[("Opus", 60.0)]));
    assert_eq!(hook(&s, &fixture("hook-pre-model-switch.json")), "");
    // Nothing known at all: silent.
    let s = Sandbox::new();
    assert_eq!(hook(&s, &fixture("hook-pre-model-switch.json")), "");
}

#[test]
fn a_rate_limited_turn_names_the_full_window_and_its_reset_by_the_clock() {
    let (s, _mock) = endpoint_store(&usage_body(100.0, 48.0, &[("Opus", 91.0)]));
    let stdin = fixture("hook-stop-failure-rate-limit.json");
    let want = message("5-hour limit reached, resets in 42m (09:35)");
    assert_eq!(hook_tz(&s, "UTC", &stdin), want);
    // Not de-duplicated: every failed turn is news.
    assert_eq!(hook_tz(&s, "UTC", &stdin), want);
    // The local clock (POSIX TZ strings need no zone database).
    assert_eq!(
        hook_tz(&s, "EST5", &stdin),
        message("5-hour limit reached, resets in 42m (04:35)")
    );

    // Two full windows: both, the weekly one with its day.
    let (s, _mock) = endpoint_store(&usage_body(100.0, 48.0, &[("Fable", 100.0)]));
    assert_eq!(
        hook_tz(&s, "UTC", &stdin),
        message(
            "5-hour limit reached, resets in 42m (09:35); 7-day fable limit reached, resets in 2d (Fri 12:00)"
        )
    );
    // None known full (the numbers lag the server): the fullest.
    let (s, _mock) = endpoint_store(&usage_body(61.0, 48.0, &[("Opus", 97.0)]));
    assert_eq!(
        hook_tz(&s, "UTC", &stdin),
        message("rate-limited; 7-day opus limit at 97% when last read, resets in 2d (Fri 12:00)")
    );
    // Nothing known: silent rather than a window that is not there.
    let s = Sandbox::new();
    assert_eq!(hook_tz(&s, "UTC", &stdin), "");
}

#[test]
fn a_rate_limited_turn_mentions_extra_usage_with_room() {
    // 5h at 100 % while EUR credits (1234 of 5000 minor units) are being spent.
    let (s, _mock) = endpoint_store(&fixture("usage-extra-spending.json"));
    assert_eq!(
        hook_tz(&s, "UTC", &fixture("hook-stop-failure-rate-limit.json")),
        message("5-hour limit reached, resets in 26m (09:20); extra usage on, €12.34 of €50 spent")
    );
}

#[test]
fn other_stop_failures_and_unknown_events_are_silent() {
    let (s, _mock) = endpoint_store(&usage_body(100.0, 96.0, &[("Opus", 100.0)]));
    let before = std::fs::read(s.store_file().unwrap()).unwrap();
    for error in [
        "overloaded",
        "server_error",
        "authentication_failed",
        "unknown",
        "",
    ] {
        assert_eq!(hook_tz(&s, "UTC", &stop_failure(error)), "", "{error:?}");
    }
    let no_error = br#"{"hook_event_name":"StopFailure"}"#;
    assert_eq!(hook_tz(&s, "UTC", no_error), "");
    for event in [
        "PostToolUse",
        "Stop",
        "Notification",
        "PostModelSwitch",
        "FutureEvent",
    ] {
        let stdin = format!(r#"{{"hook_event_name":"{event}","session_id":"x"}}"#);
        assert_eq!(hook_tz(&s, "UTC", stdin.as_bytes()), "", "{event}");
    }
    assert_eq!(
        std::fs::read(s.store_file().unwrap()).unwrap(),
        before,
        "none of these asks for a refresh"
    );
    // The same store does warn on a prompt, so the silence above is the event's.
    assert!(hook(&s, &fixture("hook-user-prompt-submit.json")).contains("5-hour limit at 100%"));
}

#[test]
fn a_rate_limited_turn_makes_the_next_refresh_ask_the_endpoint() {
    let (s, mock) = endpoint_store(&usage_body(100.0, 48.0, &[]));
    let online = |stdin: &[u8]| {
        let mut c = s.cmd(&["hook"]);
        c.env_remove("CCMETER_OFFLINE")
            .env("CCMETER_API_BASE", mock.base())
            .env("CCMETER_NOW", (NOW + 60).to_string())
            .env("TZ", "UTC");
        let out = hook_with(&s, c, stdin);
        s.wait_for_worker();
        out
    };
    // A prompt a minute after the endpoint answered: the numbers are fresh, nobody asks.
    online(&fixture("hook-user-prompt-submit.json"));
    assert_eq!(mock.count(), 1);
    // The turn dies of a rate limit: the hook's own refresh asks at once, despite the TTL.
    assert_eq!(
        online(&fixture("hook-stop-failure-rate-limit.json")),
        message("5-hour limit reached, resets in 41m (09:35)")
    );
    assert_eq!(mock.count(), 2);
    // Once asked, the request is spent.
    online(&fixture("hook-user-prompt-submit.json"));
    assert_eq!(mock.count(), 2);
}

#[test]
fn prompts_warn_for_per_model_windows_once_per_period() {
    let (s, _mock) = endpoint_store(&usage_body(2.0, 59.0, &[("Fable", 100.0), ("Opus", 40.0)]));
    let prompt = fixture("hook-user-prompt-submit.json");
    assert_eq!(
        hook(&s, &prompt),
        message("7-day fable limit at 100%, resets in 2d")
    );
    assert_eq!(hook(&s, &prompt), "");
    assert_eq!(hook(&s, &session_start()), "");
}

#[test]
fn a_rate_limit_is_said_again_on_the_next_prompt_because_claude_code_drops_stop_failure_output() {
    // Claude Code documents StopFailure as fire-and-forget and shows nothing a hook prints (seen
    // with 2.1.197 and 2.1.332 in scripts/e2e-claude-code.sh), so the next prompt's hook says it.
    let (s, _mock) = endpoint_store(&usage_body(100.0, 48.0, &[("Opus", 91.0)]));
    let prompt = fixture("hook-user-prompt-submit.json");
    // The 5-hour threshold warning was already given before the turn failed.
    let warned = hook_tz(&s, "UTC", &prompt);
    assert!(warned.contains("5-hour limit at 100%"), "{warned}");
    assert_eq!(hook_tz(&s, "UTC", &prompt), "");
    let _ = hook_tz(&s, "UTC", &fixture("hook-stop-failure-rate-limit.json"));
    assert_eq!(
        hook_tz(&s, "UTC", &prompt),
        message("5-hour limit reached, resets in 42m (09:35)")
    );
    // Once.
    assert_eq!(hook_tz(&s, "UTC", &prompt), "");
    // A threshold crossed at the same time is not said twice for the same window (the e2e run
    // showed "5-hour limit reached …; 5-hour limit at 100% …"), but other windows still are.
    let (s, _mock) = endpoint_store(&usage_body(100.0, 96.0, &[]));
    let _ = hook_tz(&s, "UTC", &fixture("hook-stop-failure-rate-limit.json"));
    assert_eq!(
        hook_tz(&s, "UTC", &prompt),
        message(
            "5-hour limit reached, resets in 42m (09:35); 7-day limit at 96%: at this pace full in 4h52m, resets in 2d"
        )
    );
    assert_eq!(hook_tz(&s, "UTC", &prompt), "");
    // No window known full by the next prompt: no guess about another one.
    let (s2, _mock2) = endpoint_store(&usage_body(40.0, 48.0, &[("Opus", 91.0)]));
    let _ = hook_tz(&s2, "UTC", &fixture("hook-stop-failure-rate-limit.json"));
    let next = hook_tz(&s2, "UTC", &prompt);
    assert!(!next.contains("rate-limited"), "{next}");
    // After the window has reset it is no longer news.
    let _ = hook_tz(&s, "UTC", &fixture("hook-stop-failure-rate-limit.json"));
    let mut c = s.cmd(&["hook"]);
    c.env("TZ", "UTC")
        .env("CCMETER_NOW", (common::NOW + 43 * 60).to_string());
    assert_eq!(hook_with(&s, c, &prompt), "");
}

/// The requested model name is the user's (or a plugin's) text: no control character reaches
/// the terminal through `systemMessage`, and no name makes a message longer than a line.
#[test]
fn a_model_name_is_cleaned_and_capped_before_it_is_shown() {
    let (s, _mock) = endpoint_store(&usage_body(12.0, 48.0, &[("Opus", 91.0)]));
    let escapes = switch_to(
        Some("claude-opus-4-6"),
        Some("opus\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}"),
    );
    assert_eq!(
        hook(&s, &escapes),
        message("switching to opus]0;pwned[2J: 7-day opus limit at 91%, resets in 2d")
    );
    // A 900 KB name (under the 1 MiB input cap): the message stays a line.
    let huge = format!("opus {}", "x".repeat(900_000));
    let out = hook(&s, &switch_to(Some("claude-opus-4-6"), Some(&huge)));
    let v: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
    let text = v["systemMessage"].as_str().unwrap();
    assert_eq!(
        text,
        format!(
            "ccmeter: switching to opus {}…: 7-day opus limit at 91%, resets in 2d",
            "x".repeat(34)
        )
    );
}

/// Over 1 MiB is not something Claude Code sent, and its event cannot be known: nothing is said
/// (it used to be taken for a hand run and answered with the threshold warnings).
#[test]
fn a_payload_over_the_input_cap_is_ignored() {
    let s = Sandbox::new();
    seed(&s, 83.0, RESETS_AT);
    let big = format!(
        r#"{{"hook_event_name":"UserPromptSubmit","prompt":"{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    assert_eq!(hook(&s, big.as_bytes()), "");
    // Under the cap the same store does warn, so the silence is the size's.
    assert_eq!(
        hook(&s, &fixture("hook-user-prompt-submit.json")),
        message("5-hour limit at 83%, resets in 2h13m")
    );
}
