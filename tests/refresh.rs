//! The background refresh against a mock usage endpoint on loopback: outcomes, backoff, the
//! herd, deadlines, and that the token goes nowhere but the Authorization header.

mod common;
#[path = "common/mock.rs"]
mod mock;

use std::process::Output;
use std::time::{Duration, Instant};

use common::{NOW, SAMPLE_TOKEN, Sandbox, contains, fixture, one_line, stdout};
use mock::{Mock, Reply, ok, status};

/// A sandbox logged in with the sample credentials (the mock is pointed at per command).
fn online(_mock: &Mock) -> Sandbox {
    Sandbox::logged_in()
}

fn cmd(s: &Sandbox, mock: &Mock, args: &[&str], now: i64) -> std::process::Command {
    s.online_cmd(&mock.base(), args, now)
}

fn refresh_wait(s: &Sandbox, mock: &Mock, now: i64) -> Output {
    s.run_with(cmd(s, mock, &["refresh", "--wait"], now), b"")
}

fn line_at(s: &Sandbox, mock: &Mock, now: i64) -> String {
    one_line(&s.run_with(cmd(s, mock, &["--color", "never"], now), b""))
}

fn store_json(s: &Sandbox) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(s.store_file().expect("store file")).unwrap()).unwrap()
}

/// Every run's output and every file written must be free of the token.
fn assert_no_token(s: &Sandbox, outputs: &[&Output]) {
    for o in outputs {
        assert!(
            !contains(&o.stdout, SAMPLE_TOKEN) && !contains(&o.stderr, SAMPLE_TOKEN),
            "token in output"
        );
        assert!(
            !contains(&o.stdout, "SAMPLE-not-a-real") && !contains(&o.stderr, "SAMPLE-not-a-real")
        );
    }
    assert!(
        !contains(&s.all_written_bytes(), "SAMPLE-not-a-real"),
        "token in a written file"
    );
}

#[test]
fn success_with_each_body_shape() {
    let cases = [
        ("usage-flat.json", "5h 61% · 7d 23%"),
        ("usage-limits-only.json", "5h 12% · 7d 48%"),
        ("usage-window-no-reset.json", "5h 0% · 7d 7%"),
        ("usage-all-null.json", "5h -- · 7d -- (no plan limits)"),
    ];
    // 2026-11-23T07:46:40Z: before every reset time in the samples (the earliest is 19:00Z).
    let now = 1_795_420_000;
    for (body, want) in cases {
        let mock = Mock::start(ok(&fixture(body)));
        let s = online(&mock);
        let out = refresh_wait(&s, &mock, now);
        assert_eq!(mock.count(), 1, "{body}");
        let line = line_at(&s, &mock, now);
        assert!(line.starts_with(want), "{body}: {line}");
        assert_eq!(
            out.status.code(),
            Some(i32::from(body == "usage-all-null.json")),
            "{body}: {}",
            stdout(&out)
        );
        assert_no_token(&s, &[&out]);
    }
}

#[test]
fn request_carries_the_documented_headers() {
    let mock = Mock::start(ok(&fixture("usage-flat.json")));
    let s = online(&mock);
    refresh_wait(&s, &mock, NOW);
    let req = mock.request_text(0);
    assert!(
        req.starts_with("GET /api/oauth/usage HTTP/1.1\r\n"),
        "{req}"
    );
    let lower = req.to_lowercase();
    assert!(lower.contains(&format!(
        "authorization: bearer {}",
        SAMPLE_TOKEN.to_lowercase()
    )));
    assert!(lower.contains("anthropic-beta: oauth-2025-04-20"));
    // No status line has told us Claude Code's version yet: the one ccmeter was tested against.
    assert_eq!(
        mock.user_agent(0),
        Some(format!(
            "claude-code/2.1.197 (client-app/ccmeter/{})",
            env!("CARGO_PKG_VERSION")
        ))
    );
}

#[test]
fn a_user_agent_that_is_not_claude_codes_is_rate_limited() {
    // The mock, like the real endpoint, answers 429 with retry-after: 0 to anyone else.
    let mock = Mock::start(ok(&fixture("usage-flat.json")));
    let s = online(&mock);
    let mut c = cmd(&s, &mock, &["refresh", "--wait"], NOW);
    c.env("CCMETER_USER_AGENT", "curl/8");
    let out = s.run_with(c, b"");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(mock.user_agent(0).as_deref(), Some("curl/8"));
    assert_eq!(store_json(&s)["health"]["problem"], "rate_limited");
    assert_eq!(store_json(&s)["health"]["backoff_until"], NOW + 300);
    assert_eq!(
        line_at(&s, &mock, NOW),
        "5h -- · 7d -- (rate-limited, retry 5m)"
    );

    // The default user agent gets the numbers from the same endpoint.
    let s = online(&mock);
    let out = refresh_wait(&s, &mock, NOW);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        mock.user_agent(1)
            .is_some_and(|ua| ua.starts_with("claude-code/")),
        "{:?}",
        mock.user_agent(1)
    );
    assert_eq!(line_at(&s, &mock, NOW + 1), "5h 61% · 7d 23% ↻5d");
}

#[test]
fn claude_codes_version_from_stdin_goes_into_the_user_agent() {
    let mock = Mock::start(ok(&fixture("usage-flat.json")));
    let s = online(&mock);
    let ua = |v: &str| {
        format!(
            "claude-code/{v} (client-app/ccmeter/{})",
            env!("CARGO_PKG_VERSION")
        )
    };
    // Before the first reply: no rate_limits, only the version (2.1.300) to record.
    let before = fixture("statusline-before-first-reply.json");
    let mut c = cmd(&s, &mock, &[], NOW);
    c.env("CCMETER_OFFLINE", "1");
    one_line(&s.run_with(c, &before));
    assert_eq!(store_json(&s)["claude_code_version"], "2.1.300");
    // The same version again writes nothing.
    let file = s.store_file().unwrap();
    #[cfg(unix)]
    let stamp = |p: &std::path::Path| {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(p).unwrap();
        (m.ino(), m.mtime_nsec(), m.len())
    };
    // No inode number on Windows: a rewrite still shows in the modification time.
    #[cfg(not(unix))]
    let stamp = |p: &std::path::Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.modified().unwrap(), m.len())
    };
    s.wait_for_worker();
    let written = stamp(&file);
    let mut c = cmd(&s, &mock, &[], NOW + 1);
    c.env("CCMETER_OFFLINE", "1");
    one_line(&s.run_with(c, &before));
    s.wait_for_worker();
    assert_eq!(stamp(&file), written, "rewrote an unchanged version");

    s.wait_for_worker();
    let out = refresh_wait(&s, &mock, NOW + 2);
    assert_eq!(mock.user_agent(0), Some(ua("2.1.300")), "{}", stdout(&out));

    // A newer client rides along with the numbers it sends, in the same write.
    let captured = fixture("statusline-captured-claude-code.json");
    one_line(&s.run_with(cmd(&s, &mock, &["--offline"], NOW + 3), &captured));
    assert_eq!(store_json(&s)["claude_code_version"], "2.1.197");
    assert_eq!(store_json(&s)["snapshot"]["source"], "stdin");
    s.wait_for_worker();
    refresh_wait(&s, &mock, NOW + 4);
    assert_eq!(mock.user_agent(1), Some(ua("2.1.197")));

    // CCMETER_USER_AGENT replaces the whole value.
    s.wait_for_worker();
    let mut c = cmd(&s, &mock, &["refresh", "--wait"], NOW + 5);
    c.env("CCMETER_USER_AGENT", "claude-code/9.9.9 (mine)");
    s.run_with(c, b"");
    assert_eq!(
        mock.user_agent(2).as_deref(),
        Some("claude-code/9.9.9 (mine)")
    );
}

#[test]
fn failures_keep_the_last_good_numbers_and_say_why() {
    let mock = Mock::start(ok(&fixture("usage-flat.json")));
    let s = online(&mock);
    let now = 1_795_420_000;
    refresh_wait(&s, &mock, now);
    let cases: [(Reply, &str, i64); 5] = [
        // Re-checked locally every TTL; asked again once the credentials change.
        (
            status(401, &[], &fixture("error-401.json")),
            "ago, re-login: /login)",
            180,
        ),
        (
            status(403, &[], &fixture("error-403.json")),
            "ago, no usage data for this token)",
            6 * 3600,
        ),
        (
            status(503, &[], b"upstream"),
            "ago, endpoint unreachable, retry 1m)",
            60,
        ),
        // A 200 that is not a usage body: transient, sharing the failure count above.
        (ok(b"{}"), "ago, unexpected answer, retry 2m)", 120),
        (
            ok(br#"{"error":{"type":"api_error","message":"Internal"}}"#),
            "ago, unexpected answer, retry 4m)",
            240,
        ),
    ];
    for (i, (reply, want, backoff)) in cases.into_iter().enumerate() {
        mock.set(reply);
        let at = now + 1000 * (i as i64 + 1) + 30_000;
        let out = refresh_wait(&s, &mock, at);
        assert_eq!(out.status.code(), Some(1));
        let line = line_at(&s, &mock, at);
        assert!(line.starts_with("5h 61% · 7d 23%"), "{line}");
        assert!(line.ends_with(want), "{line}");
        assert_eq!(
            store_json(&s)["health"]["backoff_until"],
            at + backoff,
            "{want}"
        );
        // Clear the backoff for the next case, as time passing would.
        let file = s.store_file().unwrap();
        let mut v = store_json(&s);
        v["health"]["backoff_until"] = serde_json::Value::Null;
        std::fs::write(&file, serde_json::to_vec(&v).unwrap()).unwrap();
        assert_no_token(&s, &[&out]);
    }
}

#[test]
fn rate_limit_backoff_honours_retry_after() {
    // NOW = 2026-11-18T08:53:20Z
    let cases = [
        ("0", 300),
        ("120", 300),
        ("900", 900),
        ("Wed, 18 Nov 2026 09:13:20 GMT", 1200),
    ];
    for (retry_after, backoff) in cases {
        let mock = Mock::start(status(
            429,
            &[("Retry-After", retry_after)],
            &fixture("error-429.json"),
        ));
        let s = online(&mock);
        refresh_wait(&s, &mock, NOW);
        assert_eq!(
            store_json(&s)["health"]["backoff_until"],
            NOW + backoff,
            "Retry-After {retry_after}"
        );
        let line = line_at(&s, &mock, NOW + 1);
        assert!(line.contains("rate-limited, retry"), "{line}");
    }
}

#[test]
fn after_a_429_nothing_is_sent_until_the_backoff_ends() {
    let mock = Mock::start(status(429, &[("Retry-After", "0")], b"{}"));
    let s = online(&mock);
    one_line(&s.run_with(cmd(&s, &mock, &[], NOW), b""));
    wait_for(|| {
        mock.count() == 1
            && s.store_file()
                .is_some_and(|_| store_json(&s)["health"]["problem"] == "rate_limited")
    });
    for t in [10, 100, 299] {
        one_line(&s.run_with(cmd(&s, &mock, &[], NOW + t), b""));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mock.count(), 1, "requests during backoff");
    mock.set(ok(&fixture("usage-flat.json")));
    // An estimate-only worker started during the backoff must not hold the start marker.
    s.wait_for_worker();
    one_line(&s.run_with(cmd(&s, &mock, &[], NOW + 301), b""));
    wait_for(|| mock.count() == 2);
}

fn wait_for(cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "condition not met within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn forty_concurrent_status_lines_cause_one_request() {
    let mock = Mock::start(ok(&fixture("usage-flat.json")));
    let s = online(&mock);
    let children: Vec<_> = (0..40)
        .map(|_| {
            let mut c = cmd(&s, &mock, &["--color", "never"], NOW);
            c.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outs {
        one_line(o);
    }
    wait_for(|| {
        s.store_file()
            .is_some_and(|_| store_json(&s)["snapshot"]["source"] == "oauth")
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mock.count(), 1);
    // Within the TTL, more prompts send nothing.
    for t in [1, 60, 179] {
        assert!(line_at(&s, &mock, NOW + t).starts_with("5h 61% · 7d 23%"));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mock.count(), 1);
    assert_no_token(&s, &outs.iter().collect::<Vec<_>>());
}

#[test]
fn a_server_that_never_answers_or_drips_is_given_up_on() {
    for reply in [Reply::Hang, Reply::Drip] {
        let mock = Mock::start(reply);
        let s = online(&mock);
        let start = Instant::now();
        let out = refresh_wait(&s, &mock, NOW);
        let took = start.elapsed();
        assert!(took < Duration::from_secs(12), "took {took:?}");
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(store_json(&s)["health"]["problem"], "unreachable");
    }
}

#[test]
fn oversized_truncated_and_html_bodies_are_failures() {
    let huge = vec![b' '; 10 * 1024 * 1024];
    // Past the body cap the answer is not read at all; a body that was read but is not a usage
    // body is an answer the endpoint gave, just not one we expected (docs/DESIGN.md).
    for (body, problem) in [
        (huge, "unreachable"),
        (b"{\"five_hour\":{\"utiliz".to_vec(), "unexpected_answer"),
        (
            b"<html><body>hi</body></html>".to_vec(),
            "unexpected_answer",
        ),
    ] {
        let mock = Mock::start(ok(&body));
        let s = online(&mock);
        let out = refresh_wait(&s, &mock, NOW);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(store_json(&s)["health"]["problem"], problem);
        assert_eq!(store_json(&s)["snapshot"], serde_json::Value::Null);
    }
}

#[test]
fn redirects_are_not_followed() {
    let elsewhere = Mock::start(ok(&fixture("usage-flat.json")));
    let location = format!("http://localhost:{}/api/oauth/usage", elsewhere.port);
    let mock = Mock::start(status(302, &[("Location", &location)], b""));
    let s = online(&mock);
    let out = refresh_wait(&s, &mock, NOW);
    assert_eq!(out.status.code(), Some(1));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!((mock.count(), elsewhere.count()), (1, 0));
}

#[test]
fn not_logged_in_and_expired_never_reach_the_network() {
    let mock = Mock::start(ok(&fixture("usage-flat.json")));
    let s = online(&mock);
    s.write_credentials(&String::from_utf8(fixture("credentials-logged-out.json")).unwrap());
    let out = refresh_wait(&s, &mock, NOW);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(line_at(&s, &mock, NOW), "5h -- · 7d -- (not logged in)");
    // expiresAt 1795000000000 ms is before this clock.
    s.write_credentials(&String::from_utf8(fixture("credentials.json")).unwrap());
    let later = 1_795_100_000;
    let out = refresh_wait(&s, &mock, later);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(line_at(&s, &mock, later), "5h -- · 7d -- (token expired)");
    assert_eq!(mock.count(), 0);
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let mock = Mock::start(ok(b"{}"));
    let s = online(&mock);
    let mut c = cmd(&s, &mock, &["refresh", "--wait"], NOW);
    c.env("CCMETER_API_BASE", "http://example.invalid");
    let out = s.run_with(c, b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("refusing to send the token"),
        "{}",
        stdout(&out)
    );
    assert_no_token(&s, &[&out]);
}

#[test]
fn a_stdin_reading_taken_during_the_request_wins_over_the_answer() {
    // The answer reads the same window periods as the stdin below, a little lower: it was
    // fetched before Claude Code's newer reading, so the higher stdin numbers stand.
    let answer = br#"{"five_hour":{"utilization":60.0,"resets_at":"2026-11-18T11:06:40Z"},
        "seven_day":{"utilization":22.0,"resets_at":"2026-11-23T02:13:20Z"}}"#;
    let mock = Mock::start(Reply::After(
        Duration::from_millis(1500),
        Box::new(ok(answer)),
    ));
    let s = online(&mock);
    let worker = {
        let mut c = cmd(&s, &mock, &["refresh", "--wait"], NOW);
        c.stdout(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    wait_for(|| mock.count() == 1);
    // While the endpoint thinks, Claude Code reports newer numbers.
    one_line(&s.run_with(
        cmd(&s, &mock, &[], NOW + 1),
        &fixture("statusline-full.json"),
    ));
    assert_eq!(worker.wait_with_output().unwrap().status.code(), Some(0));
    assert_eq!(store_json(&s)["snapshot"]["source"], "stdin");
    assert_eq!(
        line_at(&s, &mock, NOW + 2),
        "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m"
    );
    assert_eq!(store_json(&s)["health"]["problem"], serde_json::Value::Null);
}

/// Credentials like the sample's, expiring at `expires_at_ms`.
fn credentials_expiring(expires_at_ms: i64) -> String {
    String::from_utf8(fixture("credentials.json"))
        .unwrap()
        .replace("1795000000000", &expires_at_ms.to_string())
}

#[test]
fn a_relogin_clears_the_401_within_one_ttl() {
    let mock = Mock::start(status(401, &[], &fixture("error-401.json")));
    let s = online(&mock);
    s.write_credentials(&credentials_expiring(4_102_444_800_000));
    refresh_wait(&s, &mock, NOW);
    assert_eq!(mock.count(), 1);
    assert_eq!(
        line_at(&s, &mock, NOW + 1),
        "5h -- · 7d -- (re-login: /login)"
    );
    // The fingerprint in the store names the credentials, never the token.
    let fingerprint = store_json(&s)["health"]["rejected"]["credentials"].clone();
    assert!(
        fingerprint
            .as_str()
            .is_some_and(|f| f.ends_with(".credentials.json expiresAt 4102444800000")),
        "{fingerprint}"
    );
    mock.set(ok(&fixture("usage-flat.json")));

    // One TTL later the worker looks again, sees the same credentials, and asks nobody.
    s.wait_for_worker();
    one_line(&s.run_with(cmd(&s, &mock, &[], NOW + 181), b""));
    s.wait_for_worker();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(mock.count(), 1, "asked again with the rejected credentials");
    assert_eq!(
        line_at(&s, &mock, NOW + 182),
        "5h -- · 7d -- (re-login: /login)"
    );

    // /login: Claude Code writes new credentials (a new expiresAt). The next due line asks.
    s.write_credentials(&credentials_expiring(4_102_448_400_000));
    s.wait_for_worker();
    one_line(&s.run_with(cmd(&s, &mock, &[], NOW + 362), b""));
    wait_for(|| mock.count() == 2);
    s.wait_for_worker();
    assert_eq!(line_at(&s, &mock, NOW + 363), "5h 61% · 7d 23% ↻5d");
    assert_eq!(
        store_json(&s)["health"]["rejected"],
        serde_json::Value::Null
    );
}

#[test]
fn after_the_clock_steps_back_the_store_is_refreshed_and_no_backoff_is_stretched() {
    // A reading taken at NOW, then the clock set back a day: the reading is shown as current,
    // but its age is unknown, so the endpoint is asked at once.
    let mock = Mock::start(ok(&fixture("usage-flat.json")));
    let s = online(&mock);
    assert_eq!(refresh_wait(&s, &mock, NOW).status.code(), Some(0));
    let back = NOW - 86_400;
    let _ = line_at(&s, &mock, back);
    s.wait_for_worker();
    assert_eq!(mock.count(), 2, "the step back asks again");
    let _ = line_at(&s, &mock, back + 10);
    s.wait_for_worker();
    assert_eq!(mock.count(), 2, "once");

    // A 60 s backoff decided on the later clock is not a day's wait on the earlier one.
    let mock = Mock::start(status(503, &[], b""));
    let s = online(&mock);
    assert_eq!(refresh_wait(&s, &mock, NOW).status.code(), Some(1));
    mock.set(ok(&fixture("usage-flat.json")));
    let _ = line_at(&s, &mock, back);
    s.wait_for_worker();
    assert_eq!(mock.count(), 2);
    assert_eq!(line_at(&s, &mock, back), "5h 61% · 7d 23% ↻6d");
}

#[test]
fn an_absurd_retry_after_is_a_day_at_most() {
    for value in ["9223372036854775807", "99999999999"] {
        let mock = Mock::start(status(429, &[("retry-after", value)], b""));
        let s = online(&mock);
        let _ = refresh_wait(&s, &mock, NOW);
        assert_eq!(
            store_json(&s)["health"]["backoff_until"],
            NOW + 86_400,
            "{value}"
        );
        assert_eq!(
            line_at(&s, &mock, NOW),
            "5h -- · 7d -- (rate-limited, retry 24h)"
        );
    }
}
