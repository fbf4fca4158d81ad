//! `ccmeter doctor` in every credential state, as a user runs it: what it says, its exit status,
//! and that no token ever shows up in its output or anywhere it (or the runs before it) wrote.

mod common;
#[path = "common/mock.rs"]
mod mock;

use std::process::{Command, Output};
use std::time::Duration;

use common::{NOW, SAMPLE_TOKEN, Sandbox, contains, fixture, one_line, stdout, valid_credentials};
use mock::{Mock, ok, status};

const REFRESH_TOKEN: &str = "sk-ant-ort01-SAMPLE-not-a-real-token-1111111111111111";
const ENV_TOKEN: &str = "sk-ant-oat01-ENVFAKE-doctor-test-2222222222222222";
/// Fragments that would betray a partial leak (a token cut, quoted or re-encoded).
const SECRETS: [&str; 6] = [
    SAMPLE_TOKEN,
    REFRESH_TOKEN,
    ENV_TOKEN,
    "SAMPLE-not-a-real",
    "ENVFAKE",
    "sk-ant-o",
];

fn doctor(s: &Sandbox, args: &[&str]) -> Output {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    s.run(&all, b"")
}

fn online(s: &Sandbox, mock: &Mock, args: &[&str]) -> Command {
    let mut c = s.cmd(args);
    c.env_remove("CCMETER_OFFLINE")
        .env("CCMETER_API_BASE", mock.base());
    c
}

/// Wires settings.json with `ccmeter setup`, as a user would.
fn wire(s: &Sandbox) {
    let out = s.run(&["setup"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

fn text(out: &Output) -> String {
    let o = stdout(out);
    assert!(
        out.stderr.is_empty(),
        "doctor wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    o
}

/// No secret in any output, nor in any file under the sandbox (credentials file excepted).
fn assert_no_secret(s: &Sandbox, outputs: &[&Output]) {
    let written = s.all_written_bytes();
    for secret in SECRETS {
        for o in outputs {
            assert!(
                !contains(&o.stdout, secret) && !contains(&o.stderr, secret),
                "{secret:?} in output:\n{}{}",
                stdout(o),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        assert!(!contains(&written, secret), "{secret:?} in a written file");
    }
}

/// The line `doctor` prints for `label` (its first line with that label), without the label.
fn field<'a>(text: &'a str, label: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.len() > 15 && l[..15].trim_end() == label)
        .map(|l| &l[15..])
        .collect()
}

#[test]
fn no_credentials_at_all() {
    let s = Sandbox::new();
    wire(&s);
    let out = doctor(&s, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let file = s.config.join(".credentials.json");
    assert_eq!(
        field(&t, "credentials"),
        [
            "env CLAUDE_CODE_OAUTH_TOKEN: not set".to_string(),
            format!("file {}: not found", file.display()),
        ]
    );
    assert!(
        t.contains("→ no Claude Code login found: run `claude` and /login"),
        "{t}"
    );
    assert!(t.ends_with("\nSomething above needs your action.\n"), "{t}");
    assert_no_secret(&s, &[&out]);
}

#[test]
fn logged_out_file() {
    let s = Sandbox::new();
    wire(&s);
    s.write_credentials(&String::from_utf8(fixture("credentials-logged-out.json")).unwrap());
    let out = doctor(&s, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let file = s.config.join(".credentials.json");
    assert!(
        field(&t, "credentials")
            .contains(&format!("file {}: found, logged out", file.display()).as_str()),
        "{t}"
    );
    assert!(t.contains("→ no Claude Code login found"), "{t}");
    assert_no_secret(&s, &[&out]);
}

#[test]
fn expired_token() {
    let s = Sandbox::new();
    wire(&s);
    // expiresAt 1795000000000 ms is 2026-11-18T11:06:40Z; one day later it has expired.
    s.write_credentials(&String::from_utf8(fixture("credentials.json")).unwrap());
    let mut c = s.cmd(&["doctor"]);
    c.env("CCMETER_NOW", (1_795_000_000 + 86_400).to_string());
    let out = s.run_with(c, b"");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let file = s.config.join(".credentials.json");
    assert!(
        field(&t, "credentials")
            .contains(&format!("file {}: found, expired 24h ago", file.display()).as_str()),
        "{t}"
    );
    assert!(t.contains("expired at 2026-11-18"), "{t}");
    assert!(t.contains("ccmeter never does"), "{t}");
    assert_no_secret(&s, &[&out]);
}

#[test]
fn malformed_files() {
    let cases = [
        // Truncated in the middle of the token.
        r#"{"claudeAiOauth": {"accessToken": "sk-ant-oat01-SAMPLE-not-a-real"#.to_string(),
        // The token where an object should be.
        format!(r#"{{"claudeAiOauth": "{SAMPLE_TOKEN}"}}"#),
        // The token in an array.
        format!(
            r#"{{"claudeAiOauth": {{"accessToken": ["{SAMPLE_TOKEN}"], "refreshToken": "{REFRESH_TOKEN}"}}}}"#
        ),
        format!("not json {SAMPLE_TOKEN} {REFRESH_TOKEN}"),
        "\u{feff}".to_string(),
    ];
    for creds in cases {
        let s = Sandbox::new();
        wire(&s);
        s.write_credentials(&creds);
        let out = doctor(&s, &[]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{creds}\n{t}");
        let file = s.config.join(".credentials.json");
        let probe = field(&t, "credentials")[1].to_string();
        assert!(
            probe.starts_with(&format!("file {}: unreadable: ", file.display())),
            "{creds}\n{t}"
        );
        assert!(t.contains("could not be read"), "{creds}\n{t}");
        assert_no_secret(&s, &[&out]);
    }
}

#[test]
fn valid_file_wired_and_not_wired() {
    let s = Sandbox::new();
    s.write_credentials(&valid_credentials());
    let file = s.config.join(".credentials.json");

    let out = doctor(&s, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "not wired yet:\n{t}");
    assert_eq!(
        field(&t, "settings.json"),
        [format!(
            "{} missing: run `ccmeter setup`",
            s.config.join("settings.json").display()
        )]
    );
    assert!(t.contains("ccmeter setup"), "{t}");

    wire(&s);
    let out2 = doctor(&s, &[]);
    let t = text(&out2);
    assert_eq!(out2.status.code(), Some(0), "{t}");
    assert!(
        field(&t, "credentials")
            .iter()
            .any(|p| p.starts_with(&format!("file {}: found, max, expires in ", file.display()))),
        "{t}"
    );
    assert!(t.contains("→ usable OAuth login found"), "{t}");
    assert_eq!(
        field(&t, "settings.json"),
        [format!(
            "{}: statusLine runs {}",
            s.config.join("settings.json").display(),
            env!("CARGO_BIN_EXE_ccmeter")
        )]
    );
    assert_eq!(field(&t, "line now"), ["5h -- · 7d -- (no data yet)"]);
    assert!(!t.contains("needs your action"), "{t}");
    assert_no_secret(&s, &[&out, &out2]);
}

#[test]
fn settings_pointing_elsewhere_is_not_wired() {
    let s = Sandbox::new();
    s.write_credentials(&valid_credentials());
    std::fs::write(
        s.config.join("settings.json"),
        r#"{"statusLine":{"type":"command","command":"~/bin/other-statusline"}}"#,
    )
    .unwrap();
    let out = doctor(&s, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("not ccmeter (`ccmeter setup` runs ccmeter beside it, `--force` instead of it)"),
        "{t}"
    );
    assert_no_secret(&s, &[&out]);
}

#[test]
fn env_token_comes_first_and_is_never_shown() {
    let s = Sandbox::new();
    wire(&s);
    s.write_credentials(&valid_credentials());
    let mut c = s.cmd(&["doctor"]);
    c.env("CLAUDE_CODE_OAUTH_TOKEN", ENV_TOKEN);
    let out = s.run_with(c, b"");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let file = s.config.join(".credentials.json");
    assert_eq!(
        field(&t, "credentials"),
        [
            "env CLAUDE_CODE_OAUTH_TOKEN: set (scopes unknown: a 403 would mean no usage data)"
                .to_string(),
            format!(
                "file {}: not checked (CLAUDE_CODE_OAUTH_TOKEN comes first)",
                file.display()
            ),
        ]
    );
    assert!(t.contains("→ usable OAuth login found"), "{t}");
    assert_no_secret(&s, &[&out]);
}

#[test]
fn env_token_check_endpoint_sends_that_token_only_to_the_endpoint() {
    let mock = Mock::start(status(403, &[], &fixture("error-403.json")));
    let s = Sandbox::new();
    wire(&s);
    s.write_credentials(&valid_credentials());
    let mut c = online(&s, &mock, &["doctor", "--check-endpoint"]);
    c.env("CLAUDE_CODE_OAUTH_TOKEN", ENV_TOKEN);
    let out = s.run_with(c, b"");
    let t = text(&out);
    assert_eq!(mock.count(), 1, "{t}");
    let req = mock.request_text(0).to_lowercase();
    assert!(
        req.contains(&format!(
            "authorization: bearer {}",
            ENV_TOKEN.to_lowercase()
        )),
        "{req}"
    );
    assert!(
        field(&t, "endpoint").contains(&"usage endpoint: no_usage_data: this token cannot read usage (403 or missing user:profile scope, typical of CLAUDE_CODE_OAUTH_TOKEN); showing stdin data or estimates"),
        "{t}"
    );
    assert_no_secret(&s, &[&out]);
}

#[test]
fn after_a_401_doctor_asks_for_a_relogin() {
    let mock = Mock::start(status(401, &[], &fixture("error-401.json")));
    let s = Sandbox::new();
    wire(&s);
    s.write_credentials(&valid_credentials());
    let refresh = s.run_with(online(&s, &mock, &["refresh", "--wait"]), b"");
    assert_eq!(refresh.status.code(), Some(1), "{}", stdout(&refresh));
    assert_eq!(mock.count(), 1);

    let out = s.run_with(online(&s, &mock, &["doctor"]), b"");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let last = field(&t, "last refresh");
    assert_eq!(last.len(), 1, "{t}");
    assert!(last[0].starts_with("relogin: "), "{t}");
    assert!(last[0].ends_with(" (0s ago)"), "{t}");
    assert_eq!(
        field(&t, "backoff"),
        [
            "no request with the rejected credentials until they change (a /login; re-checked every 3m) or for 6h at most"
        ]
    );
    assert_eq!(field(&t, "line now"), ["5h -- · 7d -- (re-login: /login)"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mock.count(), 1, "doctor itself sent nothing");
    assert_no_secret(&s, &[&refresh, &out]);
}

#[test]
fn check_endpoint_sends_exactly_one_request() {
    let mock = Mock::start(ok(&fixture("usage-flat.json")));
    let s = Sandbox::new();
    wire(&s);
    s.write_credentials(&valid_credentials());
    let out = s.run_with(online(&s, &mock, &["doctor", "--check-endpoint"]), b"");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let endpoint = field(&t, "endpoint");
    assert!(
        endpoint
            .iter()
            .any(|l| l.starts_with("usage endpoint: ok: 5h 61% · 7d 23%")
                && l.ends_with("[source oauth]")),
        "{t}"
    );
    assert!(
        field(&t, "line now")[0].starts_with("5h 61% · 7d 23%"),
        "{t}"
    );
    let agent = format!(
        "claude-code/2.1.197 (client-app/ccmeter/{})",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        field(&t, "user agent"),
        [format!(
            "{agent} (no status line seen yet: Claude Code 2.1.197, the version ccmeter was tested against)"
        )]
    );
    assert!(
        endpoint.contains(&format!("user agent: {agent}").as_str()),
        "{t}"
    );
    assert_eq!(mock.user_agent(0), Some(agent));
    // Nothing more, not even from a background refresh doctor might have started.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mock.count(), 1, "{t}");
    let req = mock.request_text(0);
    assert!(
        req.starts_with("GET /api/oauth/usage HTTP/1.1\r\n"),
        "{req}"
    );
    // The line now shows the fetched numbers.
    assert!(one_line(&s.run(&["--color", "never"], b"")).starts_with("5h 61% · 7d 23%"));
    assert_no_secret(&s, &[&out]);
}

#[test]
fn check_endpoint_during_a_backoff_sends_nothing() {
    let mock = Mock::start(status(
        429,
        &[("Retry-After", "0")],
        &fixture("error-429.json"),
    ));
    let s = Sandbox::new();
    wire(&s);
    s.write_credentials(&valid_credentials());
    let refresh = s.run_with(online(&s, &mock, &["refresh", "--wait"]), b"");
    assert_eq!(refresh.status.code(), Some(1));
    assert_eq!(mock.count(), 1);
    mock.set(ok(&fixture("usage-flat.json")));

    let mut c = online(&s, &mock, &["doctor", "--check-endpoint"]);
    c.env("CCMETER_NOW", (NOW + 10).to_string());
    let out = s.run_with(c, b"");
    let t = text(&out);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mock.count(), 1, "a request during the backoff:\n{t}");
    // NOW + 10 = 2026-11-18T08:53:30Z; the 429's minimum of 300 s ends at 08:58:20Z.
    assert_eq!(
        field(&t, "endpoint")[0],
        "rate-limited: no request until 2026-11-18T08:58:20Z (290s more; shared by every ccmeter process)"
    );
    assert!(
        !t.contains("usage endpoint:"),
        "no request means no endpoint verdict:\n{t}"
    );
    assert_eq!(
        field(&t, "backoff"),
        ["no request for 4m (shared by every ccmeter process)"]
    );
    assert!(
        field(&t, "last refresh")[0].starts_with("rate_limited: "),
        "{t}"
    );
    assert_eq!(
        field(&t, "line now"),
        ["5h -- · 7d -- (rate-limited, retry 4m)"]
    );
    assert_no_secret(&s, &[&refresh, &out]);
}

#[test]
fn check_endpoint_that_finds_a_401_says_to_act() {
    // The store says nothing is wrong yet; the check itself gets the 401.
    let mock = Mock::start(status(401, &[], &fixture("error-401.json")));
    let s = Sandbox::new();
    wire(&s);
    s.write_credentials(&valid_credentials());
    let out = s.run_with(online(&s, &mock, &["doctor", "--check-endpoint"]), b"");
    let t = text(&out);
    assert_eq!(mock.count(), 1, "{t}");
    assert!(
        field(&t, "endpoint")
            .iter()
            .any(|l| l.starts_with("usage endpoint: relogin: ")),
        "{t}"
    );
    assert_eq!(field(&t, "line now"), ["5h -- · 7d -- (re-login: /login)"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a 401 needs the user's action:\n{t}"
    );
    assert_no_secret(&s, &[&out]);
}

#[test]
fn unusable_cache_dir_is_reported() {
    let s = Sandbox::new();
    wire(&s);
    s.write_credentials(&valid_credentials());
    // setup kept its record there (it created settings.json): the dir goes, a file takes its place.
    std::fs::remove_dir_all(&s.cache).unwrap();
    std::fs::write(&s.cache, b"not a dir").unwrap();
    let out = doctor(&s, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("→ cache dir is not usable: "), "{t}");
    assert!(t.contains("set CCMETER_CACHE_DIR"), "{t}");
    assert_no_secret(&s, &[&out]);
}

#[test]
fn plain_doctor_sends_no_request() {
    // Logged in, online, nothing stored: a refresh is due, yet only --check-endpoint may ask.
    let mock = Mock::start(ok(&fixture("usage-flat.json")));
    let s = Sandbox::new();
    wire(&s);
    s.write_credentials(&valid_credentials());
    let out = s.run_with(online(&s, &mock, &["doctor"]), b"");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert_eq!(field(&t, "line now"), ["5h -- · 7d -- (no data yet)"]);
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        mock.count(),
        0,
        "doctor without --check-endpoint contacted the endpoint"
    );
    assert_no_secret(&s, &[&out]);
}

#[test]
fn check_endpoint_asks_once_whatever_the_backoff_but_a_429s() {
    // A 401 and a 503 each leave a backoff; a person asking gets exactly one request anyway.
    for first in [
        status(401, &[], &fixture("error-401.json")),
        status(503, &[], b"upstream"),
        ok(b"{}"),
    ] {
        let mock = Mock::start(first);
        let s = Sandbox::new();
        wire(&s);
        s.write_credentials(&valid_credentials());
        let refresh = s.run_with(online(&s, &mock, &["refresh", "--wait"]), b"");
        assert_eq!(refresh.status.code(), Some(1), "{}", stdout(&refresh));
        assert_eq!(mock.count(), 1);
        mock.set(ok(&fixture("usage-flat.json")));

        let mut c = online(&s, &mock, &["doctor", "--check-endpoint"]);
        c.env("CCMETER_NOW", (NOW + 10).to_string());
        let out = s.run_with(c, b"");
        let t = text(&out);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(mock.count(), 2, "{t}");
        assert!(
            field(&t, "endpoint")[0].starts_with("asking now, although the backoff had "),
            "{t}"
        );
        assert!(
            field(&t, "line now")[0].starts_with("5h 61% · 7d 23%"),
            "{t}"
        );
        assert_eq!(out.status.code(), Some(0), "{t}");
        assert_no_secret(&s, &[&refresh, &out]);
    }
}

#[test]
fn doctor_names_the_user_agent_it_sends() {
    let s = Sandbox::new();
    wire(&s);
    s.write_credentials(&valid_credentials());
    let v = env!("CARGO_PKG_VERSION");
    // A status line told us the client's version.
    one_line(&s.run(&[], &fixture("statusline-full.json")));
    let t = text(&doctor(&s, &[]));
    assert_eq!(
        field(&t, "user agent"),
        [format!(
            "claude-code/2.1.300 (client-app/ccmeter/{v}) (Claude Code 2.1.300, from the last status line)"
        )]
    );
    let mut c = s.cmd(&["doctor"]);
    c.env("CCMETER_USER_AGENT", "curl/8");
    let t = text(&s.run_with(c, b""));
    assert_eq!(
        field(&t, "user agent"),
        ["curl/8 (from CCMETER_USER_AGENT)"]
    );
}

/// A fresh install: the worker has run (no login, no transcripts) and stored an estimate with
/// no window in it. That is nothing known, not an "estimate only, 1s old".
#[test]
fn a_fresh_install_says_nothing_is_known_yet() {
    let s = Sandbox::new();
    wire(&s);
    one_line(&s.run(&[], b""));
    s.wait_for_worker();
    let entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.store_file().expect("store")).unwrap()).unwrap();
    assert_eq!(entry["estimate"]["five_hour"], serde_json::Value::Null);
    let mut c = s.cmd(&["doctor"]);
    c.env("CCMETER_NOW", (NOW + 1).to_string());
    let t = text(&s.run_with(c, b""));
    let store = field(&t, "store");
    assert_eq!(store.len(), 1, "{t}");
    assert!(store[0].ends_with(" (nothing known yet)"), "{t}");
}

/// Paths and names doctor did not make itself (a config dir from the environment) are printed
/// cleaned: no escape sequence reaches the terminal through doctor either.
#[test]
fn outside_strings_reach_the_terminal_cleaned() {
    let s = Sandbox::new();
    let odd = s.dir.path().join("cfg\u{1b}[31mred\u{7}\u{202e}");
    std::fs::create_dir_all(&odd).unwrap();
    let mut c = s.cmd(&["doctor"]);
    c.env("CLAUDE_CONFIG_DIR", &odd);
    let out = s.run_with(c, b"");
    let t = text(&out);
    assert!(
        !out.stdout
            .iter()
            .any(|&b| b < 0x20 && b != b'\n' || b == 0x7f),
        "{t:?}"
    );
    assert!(!t.contains('\u{202e}'), "{t:?}");
    let want = format!(
        "{} (from CLAUDE_CONFIG_DIR)",
        s.dir.path().join("cfg[31mred").display()
    );
    assert_eq!(field(&t, "config dir"), [want.as_str()]);
}

/// Which network mode is on is always said, not only when it is off.
#[test]
fn doctor_says_whether_the_endpoint_may_be_asked() {
    let s = Sandbox::new();
    let t = text(&doctor(&s, &[]));
    assert_eq!(
        field(&t, "network"),
        [
            "offline (--offline / CCMETER_OFFLINE=1): the usage endpoint is never asked; numbers come from Claude Code's stdin and the transcript estimate"
        ]
    );
    let mock = Mock::start(ok(&fixture("usage-flat.json")));
    let t = text(&s.run_with(online(&s, &mock, &["doctor"]), b""));
    assert_eq!(
        field(&t, "network"),
        [
            "online: the usage endpoint is asked in the background at most once per CCMETER_TTL (180 s) per account, only every CCMETER_DETAIL_TTL (900 s) while Claude Code's stdin is live; --offline or CCMETER_OFFLINE=1 turns it off"
        ]
    );
    assert_eq!(mock.count(), 0);
}

/// A FIFO where the credentials file should be: doctor (and the worker, under its refresh
/// lock) used to wait in `open` for a writer that never came.
#[cfg(unix)]
#[test]
fn a_fifo_credentials_file_is_reported_not_waited_on() {
    let s = Sandbox::new();
    let fifo = s.config.join(".credentials.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut cmd = s.cmd(&["doctor"]);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("doctor is still waiting on the FIFO");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = text(&child.wait_with_output().unwrap());
    assert!(
        field(&t, "credentials")
            .contains(&format!("file {}: unreadable: not a regular file", fifo.display()).as_str()),
        "{t}"
    );
}
