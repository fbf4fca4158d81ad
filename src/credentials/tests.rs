use super::*;
use crate::paths::Env;
use std::path::Path;

const SAMPLE: &str = include_str!("../../fixtures/credentials.json");
const LOGGED_OUT: &str = include_str!("../../fixtures/credentials-logged-out.json");
const ACCESS: &str = "sk-ant-oat01-SAMPLE-not-a-real-token-0000000000000000";
/// Both sample tokens share this; neither may ever show up in any text.
const LEAK_MARK: &str = "SAMPLE";
/// The sample's expiresAt (2026-11-18).
const SAMPLE_EXPIRES_MS: i64 = 1_795_000_000_000;
const NOW_MS: i64 = SAMPLE_EXPIRES_MS - 3 * 3_600_000;

fn env_with(home: &Path, config: Option<&str>, secure: Option<&str>) -> Env {
    Env {
        home: Some(home.to_path_buf()),
        claude_config_dir: config.map(String::from),
        securestorage_config_dir: secure.map(String::from),
        cache_dir: None,
    }
}

fn configured(dir: &str) -> ConfigDir {
    ConfigDir {
        path: PathBuf::from(dir),
        configured: Some(dir.to_string()),
    }
}

fn write_creds(dir: &Path, body: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(".credentials.json"), body).unwrap();
}

/// Discovery without a keychain, whatever the platform: tests never read the real one.
fn discover_files(config_dir: &ConfigDir, env_token: Option<&str>, now_ms: i64) -> Discovery {
    discover_with(
        config_dir,
        env_token.map(String::from),
        Some("alice"),
        now_ms,
        None,
        None,
        None,
    )
}

/// A stand-in keychain that answers every lookup with `answer` and records what was asked.
fn discover_keychain(
    config_dir: &ConfigDir,
    answer: impl Fn() -> KeychainRead,
    asked: &std::cell::RefCell<Vec<(String, String)>>,
) -> Discovery {
    discover_keychain_waiting(config_dir, answer, asked, None)
}

/// The same, with the keychain pause the store holds.
fn discover_keychain_waiting(
    config_dir: &ConfigDir,
    answer: impl Fn() -> KeychainRead,
    asked: &std::cell::RefCell<Vec<(String, String)>>,
    wait: Option<&KeychainWait>,
) -> Discovery {
    let read = |service: &str, account: &str| {
        asked
            .borrow_mut()
            .push((service.to_string(), account.to_string()));
        answer()
    };
    discover_with(
        config_dir,
        None,
        Some("alice"),
        NOW_MS,
        Some(&read),
        wait,
        None,
    )
}

/// Every text a user could ever see from this lookup, plus every `Debug`.
fn all_text(d: &Discovery) -> String {
    let mut out = format!("{d:?}\n{:?}\n{}\n", d.lookup, d.lookup.explain());
    for p in &d.probes {
        out.push_str(p);
        out.push('\n');
    }
    match &d.lookup {
        Lookup::Ready(found) => {
            out.push_str(&format!(
                "{found:?} {:?} {:?} {}",
                found.token, found.origin, found.origin
            ));
        }
        Lookup::Expired { origin, .. }
        | Lookup::MissingScope { origin, .. }
        | Lookup::Unreadable { origin, .. } => {
            out.push_str(&format!("{origin:?} {origin}"));
        }
        Lookup::NotLoggedIn
        | Lookup::KeychainLocked { .. }
        | Lookup::KeychainDenied { .. }
        | Lookup::KeychainOverflow { .. } => {}
    }
    if let Some(p) = d.lookup.problem() {
        out.push_str(&format!("{p:?} {}", p.explain()));
    }
    out
}

fn assert_no_leak(d: &Discovery) {
    let text = all_text(d);
    assert!(!text.contains(LEAK_MARK), "token leaked into: {text}");
    assert!(!text.contains("sk-ant"), "token prefix leaked into: {text}");
}

// --- keychain naming: pure, so tested on every platform ---

#[test]
fn keychain_service_matches_claude_codes_known_vectors() {
    assert_eq!(
        keychain_service(&configured("/Users/alice/.claude-work")),
        "Claude Code-credentials-be865d75"
    );
    assert_eq!(
        keychain_service(&configured("/Users/alice/.claude-work/")),
        "Claude Code-credentials-95672096"
    );
    assert_eq!(
        keychain_service(&configured("/Users/alice/.claude")),
        "Claude Code-credentials-5ac5e874"
    );
    let default = ConfigDir::resolve(&env_with(Path::new("/Users/alice"), None, None));
    assert_eq!(keychain_service(&default), "Claude Code-credentials");
}

#[test]
fn keychain_service_hashes_the_nfc_form() {
    let decomposed = keychain_service(&configured("/Users/ame\u{301}lie/.claude-work"));
    let composed = keychain_service(&configured("/Users/am\u{e9}lie/.claude-work"));
    assert_eq!(decomposed, composed);
    assert_ne!(
        composed,
        keychain_service(&configured("/Users/amelie/.claude-work"))
    );
}

#[test]
fn keychain_service_follows_the_resolved_config_dir() {
    let home = Path::new("/Users/alice");
    let work = ConfigDir::resolve(&env_with(home, Some("/Users/alice/.claude-work"), None));
    assert_eq!(keychain_service(&work), "Claude Code-credentials-be865d75");
    let secure = ConfigDir::resolve(&env_with(
        home,
        Some("/elsewhere"),
        Some("/Users/alice/.claude-work/"),
    ));
    assert_eq!(
        keychain_service(&secure),
        "Claude Code-credentials-95672096"
    );
    // Set but empty: the default dir and the bare name, even with CLAUDE_CONFIG_DIR set.
    let empty = ConfigDir::resolve(&env_with(home, Some("/Users/alice/.claude-work"), Some("")));
    assert_eq!(keychain_service(&empty), "Claude Code-credentials");
}

#[test]
fn keychain_account_falls_back_for_unusual_user_names() {
    assert_eq!(keychain_account(Some("alice")), "alice");
    assert_eq!(keychain_account(Some("a.l_i-ce9")), "a.l_i-ce9");
    for odd in [Some("al ice"), Some(""), None, Some("é"), Some("al/ice")] {
        assert_eq!(keychain_account(odd), "claude-code-user", "{odd:?}");
    }
}

// --- discovery order and states ---

#[test]
fn env_token_beats_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    write_creds(tmp.path(), SAMPLE);
    let dir = configured(tmp.path().to_str().unwrap());
    let d = discover_files(&dir, Some("env-token-value"), NOW_MS);
    let Lookup::Ready(found) = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert_eq!(found.origin, Origin::Env);
    assert_eq!(found.scopes, None, "env token scopes are unknown");
    assert_eq!(found.token.secret, "env-token-value");
    assert_eq!(d.lookup.problem(), None);
    assert_eq!(d.probes.len(), 2);
    assert!(d.probes[0].starts_with("env CLAUDE_CODE_OAUTH_TOKEN: set"));
    assert!(d.probes[1].ends_with("not checked (CLAUDE_CODE_OAUTH_TOKEN comes first)"));
    assert_no_leak(&d);
}

#[test]
fn empty_env_token_is_unset() {
    let tmp = tempfile::tempdir().unwrap();
    write_creds(tmp.path(), SAMPLE);
    let dir = configured(tmp.path().to_str().unwrap());
    let d = discover_files(&dir, Some(""), NOW_MS);
    let Lookup::Ready(found) = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert!(matches!(found.origin, Origin::File(_)));
    assert_eq!(d.probes[0], "env CLAUDE_CODE_OAUTH_TOKEN: not set");
}

#[test]
fn env_token_that_cannot_be_a_header_is_unreadable() {
    let dir = configured("/nonexistent/ccmeter-test");
    let d = discover_files(&dir, Some("abc\r\nX-Injected: 1"), NOW_MS);
    assert!(matches!(
        d.lookup,
        Lookup::Unreadable {
            origin: Origin::Env,
            ..
        }
    ));
    assert_eq!(d.lookup.problem(), Some(Problem::CredentialsUnreadable));
    assert!(!all_text(&d).contains("Injected"));
    // Surrounding whitespace (a stray newline from a file) is forgiven.
    let d = discover_files(&dir, Some("  tok\n"), NOW_MS);
    let Lookup::Ready(found) = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert_eq!(found.token.secret, "tok");
}

#[test]
fn file_with_a_valid_login_is_ready() {
    let tmp = tempfile::tempdir().unwrap();
    write_creds(tmp.path(), SAMPLE);
    let dir = configured(tmp.path().to_str().unwrap());
    let d = discover_files(&dir, None, NOW_MS);
    let Lookup::Ready(found) = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert_eq!(
        found.origin,
        Origin::File(tmp.path().join(".credentials.json"))
    );
    assert_eq!(found.subscription.as_deref(), Some("max"));
    assert_eq!(found.expires_at_ms, Some(SAMPLE_EXPIRES_MS));
    assert_eq!(
        found.scopes.as_deref(),
        Some(
            &[
                "user:inference".to_string(),
                "user:profile".into(),
                "user:sessions:claude_code".into()
            ][..]
        )
    );
    assert_eq!(found.token.secret, ACCESS);
    assert_eq!(
        d.probes,
        vec![
            "env CLAUDE_CODE_OAUTH_TOKEN: not set".to_string(),
            format!(
                "file {}: found, max, expires in 3h",
                tmp.path().join(".credentials.json").display()
            ),
        ]
    );
    assert!(
        d.lookup
            .explain()
            .starts_with("logged in: token from file ")
    );
    assert_no_leak(&d);
}

#[test]
fn missing_file_is_not_logged_in() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    let d = discover_files(&dir, None, NOW_MS);
    assert!(matches!(d.lookup, Lookup::NotLoggedIn));
    assert_eq!(d.lookup.problem(), Some(Problem::NotLoggedIn));
    assert!(
        d.probes[1].ends_with(".credentials.json: not found"),
        "{:?}",
        d.probes
    );
}

#[test]
fn logged_out_shapes_are_not_logged_in() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    let zero_expiry = SAMPLE.replace("1795000000000", "0");
    let no_oauth = r#"{"mcpOAuth": {}}"#;
    let null_oauth = r#"{"claudeAiOauth": null}"#;
    for body in [LOGGED_OUT, zero_expiry.as_str(), no_oauth, null_oauth] {
        write_creds(tmp.path(), body);
        let d = discover_files(&dir, None, NOW_MS);
        assert!(
            matches!(d.lookup, Lookup::NotLoggedIn),
            "{body}: {:?}",
            d.lookup
        );
        assert_eq!(d.lookup.problem(), Some(Problem::NotLoggedIn));
        assert!(d.probes[1].ends_with("found, logged out"), "{:?}", d.probes);
        assert_no_leak(&d);
    }
}

#[test]
fn overflow_pointers_are_read_as_claude_code_reads_them() {
    let parsed = |body: &str| match file::parse(body.as_bytes()) {
        file::Parsed::Overflow { slot } => format!("overflow {slot}"),
        file::Parsed::LoggedOut => "logged out".into(),
        file::Parsed::Token { .. } => "token".into(),
        file::Parsed::Malformed(r) => format!("malformed {r}"),
    };
    assert_eq!(
        parsed(r#"{"keychainOverflow":{"slot":"b","key":"k","login":"x","member":1}}"#),
        "overflow b"
    );
    // Claude Code 2.1.332 takes a pointer only with slot `a` or `b` and a string key;
    // anything else is no pointer (and so no login), never an unreadable item.
    for body in [
        r#"{"keychainOverflow":{"slot":"c","key":"k"}}"#,
        r#"{"keychainOverflow":{"slot":"a"}}"#,
        r#"{"keychainOverflow":{"slot":"a","key":1}}"#,
        r#"{"keychainOverflow":{"slot":"a","key":{"k":"v"}}}"#,
        r#"{"keychainOverflow":{"slot":["a"],"key":"k"}}"#,
        r#"{"keychainOverflow":"a"}"#,
        r#"{"keychainOverflow":[1,{"slot":"a"}]}"#,
        r#"{"keychainOverflow":null}"#,
    ] {
        assert_eq!(parsed(body), "logged out", "{body}");
    }
    // Beside a login in the item itself the pointer changes nothing.
    let both = SAMPLE.replacen('{', r#"{"keychainOverflow":{"slot":"a","key":"k"},"#, 1);
    assert_eq!(parsed(&both), "token");
    // In the credentials file there is no overflow item: no login is no login.
    let tmp = tempfile::tempdir().unwrap();
    write_creds(tmp.path(), r#"{"keychainOverflow":{"slot":"a","key":"k"}}"#);
    let d = discover_files(&configured(tmp.path().to_str().unwrap()), None, NOW_MS);
    assert!(matches!(d.lookup, Lookup::NotLoggedIn), "{:?}", d.lookup);
}

#[test]
fn malformed_file_is_unreadable_and_never_quoted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    let cases = [
        // Truncated right after the token.
        SAMPLE[..SAMPLE.find("refreshToken").unwrap()].to_string(),
        // Wrong types: serde_json's own message would quote these strings.
        format!(r#"{{"claudeAiOauth": "{ACCESS}"}}"#),
        format!(r#"{{"claudeAiOauth": {{"accessToken": ["{ACCESS}"]}}}}"#),
        SAMPLE.replace("1795000000000", "\"sk-ant-oat01-SAMPLE\""),
        format!("not json {ACCESS}"),
        String::from_utf8_lossy(b"\xff\xfe{").into_owned(),
    ];
    for body in &cases {
        write_creds(tmp.path(), body);
        let d = discover_files(&dir, None, NOW_MS);
        let Lookup::Unreadable { origin, reason } = &d.lookup else {
            panic!("{body}: {:?}", d.lookup)
        };
        assert!(matches!(origin, Origin::File(_)));
        assert!(!reason.is_empty());
        assert_eq!(d.lookup.problem(), Some(Problem::CredentialsUnreadable));
        assert!(d.probes[1].contains(": unreadable: "), "{:?}", d.probes);
        assert_no_leak(&d);
    }
}

#[test]
fn unreadable_path_is_unreadable() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory where the file should be: opens on Unix, fails to read.
    std::fs::create_dir(tmp.path().join(".credentials.json")).unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    let d = discover_files(&dir, None, NOW_MS);
    assert!(
        matches!(d.lookup, Lookup::Unreadable { .. }),
        "{:?}",
        d.lookup
    );
    assert_no_leak(&d);
}

/// A FIFO (or any non-regular file) at the credentials path is refused at once: a plain `open`
/// waits for a writer that never comes, and the worker held the refresh lock until its watchdog.
#[cfg(unix)]
#[test]
fn a_fifo_credentials_file_is_refused_without_waiting() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join(".credentials.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let dir = configured(tmp.path().to_str().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let d = discover_files(&dir, None, NOW_MS);
        let _ = tx.send((format!("{:?}", d.lookup), d.probes));
    });
    let (lookup, probes) = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("reading a FIFO credentials file blocked");
    assert!(lookup.starts_with("Unreadable"), "{lookup}");
    assert!(
        probes[1].ends_with("unreadable: not a regular file"),
        "{probes:?}"
    );
    // Release a reader still blocked in `open` (the old code), without blocking here when
    // there is none (a non-blocking open for writing fails at once then).
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo);
}

/// Larger than any credentials document: refused from its size, not read into memory.
#[test]
fn an_oversized_credentials_file_is_refused_by_its_size() {
    let tmp = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(tmp.path().join(".credentials.json")).unwrap();
    file.set_len(3 << 30).unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    let d = discover_files(&dir, None, NOW_MS);
    assert!(
        d.probes[1].ends_with("unreadable: larger than 1 MiB"),
        "{:?}",
        d.probes
    );
}

#[test]
fn expired_token_is_expired_with_a_minute_of_skew() {
    let tmp = tempfile::tempdir().unwrap();
    write_creds(tmp.path(), SAMPLE);
    let dir = configured(tmp.path().to_str().unwrap());

    let d = discover_files(&dir, None, SAMPLE_EXPIRES_MS + 2 * 3_600_000);
    let Lookup::Expired { expires_at_ms, .. } = d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert_eq!(expires_at_ms, SAMPLE_EXPIRES_MS);
    assert_eq!(d.lookup.problem(), Some(Problem::TokenExpired));
    assert!(
        d.probes[1].ends_with("found, expired 2h ago"),
        "{:?}",
        d.probes
    );
    assert!(
        d.lookup.explain().contains("2026-11-18T"),
        "{}",
        d.lookup.explain()
    );
    assert_no_leak(&d);

    // Within the minute before expiry it is already too late to use.
    let d = discover_files(&dir, None, SAMPLE_EXPIRES_MS - 30_000);
    assert!(matches!(d.lookup, Lookup::Expired { .. }), "{:?}", d.lookup);
    assert!(d.probes[1].ends_with("(too soon to use)"), "{:?}", d.probes);
    let d = discover_files(&dir, None, SAMPLE_EXPIRES_MS - 61_000);
    assert!(matches!(d.lookup, Lookup::Ready(_)), "{:?}", d.lookup);
}

#[test]
fn token_without_profile_scope_skips_the_request() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    for (body, expect) in [
        (SAMPLE.replace("\"user:profile\", ", ""), 2),
        (
            SAMPLE.replace(
                r#"["user:inference", "user:profile", "user:sessions:claude_code"]"#,
                "[]",
            ),
            0,
        ),
    ] {
        write_creds(tmp.path(), &body);
        let d = discover_files(&dir, None, NOW_MS);
        let Lookup::MissingScope { scopes, .. } = &d.lookup else {
            panic!("{:?}", d.lookup)
        };
        assert_eq!(scopes.len(), expect);
        assert_eq!(d.lookup.problem(), Some(Problem::NoUsageData));
        assert!(d.lookup.explain().contains("user:profile"));
        assert_no_leak(&d);
    }
    // Missing scope wins over expiry: refreshing will not add the scope.
    write_creds(tmp.path(), &SAMPLE.replace("\"user:profile\", ", ""));
    let d = discover_files(&dir, None, SAMPLE_EXPIRES_MS + 1);
    assert!(matches!(d.lookup, Lookup::MissingScope { .. }));
}

#[test]
fn file_without_scopes_or_expiry_is_usable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    write_creds(
        tmp.path(),
        &format!(r#"{{"claudeAiOauth": {{"accessToken": "{ACCESS}", "expiresAt": null}}}}"#),
    );
    let d = discover_files(&dir, None, NOW_MS);
    let Lookup::Ready(found) = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert_eq!((found.scopes.as_ref(), found.expires_at_ms), (None, None));
    assert!(d.probes[1].ends_with("found, plan not recorded, expiry not recorded"));
    assert_no_leak(&d);
}

#[test]
fn config_dir_variables_pick_the_file() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let secure = tempfile::tempdir().unwrap();
    let default_dir = home.path().join(".claude");
    write_creds(&default_dir, &SAMPLE.replace("\"max\"", "\"pro\""));
    write_creds(work.path(), &SAMPLE.replace("\"max\"", "\"team\""));
    write_creds(secure.path(), &SAMPLE.replace("\"max\"", "\"enterprise\""));
    let w = work.path().to_str().unwrap();
    let s = secure.path().to_str().unwrap();

    let cases = [
        // (CLAUDE_CONFIG_DIR, CLAUDE_SECURESTORAGE_CONFIG_DIR, expected plan)
        (None, None, "pro"),
        (Some(""), None, "pro"),
        (Some(w), None, "team"),
        (Some(w), Some(s), "enterprise"),
        (None, Some(s), "enterprise"),
        (Some(w), Some(""), "pro"),
    ];
    for (config, sec, plan) in cases {
        let dir = ConfigDir::resolve(&env_with(home.path(), config, sec));
        let d = discover_files(&dir, None, NOW_MS);
        let Lookup::Ready(found) = &d.lookup else {
            panic!("{config:?} {sec:?}: {:?}", d.lookup)
        };
        assert_eq!(
            found.subscription.as_deref(),
            Some(plan),
            "{config:?} {sec:?}"
        );
    }
}

// --- the keychain step, with a stand-in keychain ---

#[test]
fn keychain_item_comes_before_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    write_creds(tmp.path(), LOGGED_OUT);
    let dir = configured(tmp.path().to_str().unwrap());
    let asked = Default::default();
    let d = discover_keychain(
        &dir,
        || KeychainRead::Found(SecretBytes(SAMPLE.as_bytes().to_vec())),
        &asked,
    );
    let Lookup::Ready(found) = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    let service = keychain_service(&dir);
    assert_eq!(
        found.origin,
        Origin::Keychain {
            service: service.clone(),
            account: "alice".into()
        }
    );
    assert_eq!(
        asked.borrow().as_slice(),
        &[(service.clone(), "alice".to_string())]
    );
    assert_eq!(
        d.probes[1],
        format!("keychain \"{service}\" (account alice): found, max, expires in 3h")
    );
    assert!(d.probes[2].ends_with("not checked (the keychain item comes first)"));
    assert_no_leak(&d);

    // A logged-out item is final, as in Claude Code: the file is not consulted.
    write_creds(tmp.path(), SAMPLE);
    let d = discover_keychain(
        &dir,
        || KeychainRead::Found(SecretBytes(LOGGED_OUT.as_bytes().to_vec())),
        &asked,
    );
    assert!(matches!(d.lookup, Lookup::NotLoggedIn), "{:?}", d.lookup);
}

#[test]
fn missing_keychain_item_falls_back_to_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    write_creds(tmp.path(), SAMPLE);
    let dir = configured(tmp.path().to_str().unwrap());
    let asked = Default::default();
    let d = discover_keychain(&dir, || KeychainRead::NotFound, &asked);
    let Lookup::Ready(found) = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert!(matches!(found.origin, Origin::File(_)));
    assert!(
        d.probes[1].ends_with("(account alice): not found"),
        "{:?}",
        d.probes
    );

    std::fs::remove_file(tmp.path().join(".credentials.json")).unwrap();
    let d = discover_keychain(&dir, || KeychainRead::NotFound, &asked);
    assert!(matches!(d.lookup, Lookup::NotLoggedIn));
}

#[test]
fn denied_keychain_is_reported_only_without_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    let asked = Default::default();
    let denied = || KeychainRead::Denied("security exit 51".into());
    let d = discover_keychain(&dir, denied, &asked);
    let Lookup::KeychainDenied { service, .. } = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert_eq!(service, &keychain_service(&dir));
    assert_eq!(d.lookup.problem(), Some(Problem::KeychainDenied));
    assert!(
        d.probes[1].ends_with("access denied (security exit 51); not asked again for 60m"),
        "{:?}",
        d.probes
    );
    assert!(d.lookup.explain().contains(service.as_str()));
    let wait = d.keychain_wait.expect("a pause");
    assert_eq!(
        (wait.until, wait.problem),
        (NOW_MS / 1000 + 3600, Problem::KeychainDenied)
    );

    // The pause is kept even when the file answers: the keychain must still be left alone.
    write_creds(tmp.path(), SAMPLE);
    let d = discover_keychain(&dir, denied, &asked);
    assert!(matches!(d.lookup, Lookup::Ready(_)), "{:?}", d.lookup);
    assert!(d.keychain_wait.is_some());
}

#[test]
fn locked_and_silent_keychains_pause_for_their_own_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    let asked = Default::default();
    let now = NOW_MS / 1000;
    let d = discover_keychain(&dir, || KeychainRead::Locked, &asked);
    assert_eq!(d.lookup.problem(), Some(Problem::KeychainLocked));
    assert_eq!(d.keychain_wait.map(|w| w.until), Some(now + 60));
    let d = discover_keychain(&dir, || KeychainRead::TimedOut, &asked);
    assert_eq!(d.lookup.problem(), Some(Problem::KeychainLocked));
    assert!(
        d.probes[1].contains("no answer from security within 2 s"),
        "{:?}",
        d.probes
    );
    assert_eq!(d.keychain_wait.map(|w| w.until), Some(now + 900));
}

#[test]
fn a_running_keychain_pause_skips_the_keychain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    let asked: std::cell::RefCell<Vec<(String, String)>> = Default::default();
    let now = NOW_MS / 1000;
    let wait = KeychainWait {
        until: now + 600,
        problem: Problem::KeychainLocked,
        reason: "no answer from security within 2 s".into(),
    };
    let d = discover_keychain_waiting(&dir, || panic!("asked"), &asked, Some(&wait));
    assert!(asked.borrow().is_empty());
    assert_eq!(d.lookup.problem(), Some(Problem::KeychainLocked));
    assert!(
        d.probes[1].ends_with(
            "not checked (no answer from security within 2 s; waiting 10m more so no second dialog stacks up)"
        ),
        "{:?}",
        d.probes
    );
    assert_eq!(d.keychain_wait.as_ref(), Some(&wait));
    // With a file, the file is used meanwhile.
    write_creds(tmp.path(), SAMPLE);
    let d = discover_keychain_waiting(&dir, || panic!("asked"), &asked, Some(&wait));
    assert!(matches!(d.lookup, Lookup::Ready(_)), "{:?}", d.lookup);
    // Once it ran out, the keychain is asked again and a normal answer clears it.
    let over = KeychainWait { until: now, ..wait };
    let d = discover_keychain_waiting(&dir, || KeychainRead::NotFound, &asked, Some(&over));
    assert_eq!(asked.borrow().len(), 1);
    assert_eq!(d.keychain_wait, None);
}

#[test]
fn malformed_keychain_item_falls_back_to_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    let asked = Default::default();
    let garbage = || KeychainRead::Found(SecretBytes(format!("{{{ACCESS}").into_bytes()));
    let d = discover_keychain(&dir, garbage, &asked);
    assert!(
        matches!(
            &d.lookup,
            Lookup::Unreadable {
                origin: Origin::Keychain { .. },
                ..
            }
        ),
        "{:?}",
        d.lookup
    );
    assert_no_leak(&d);

    write_creds(tmp.path(), SAMPLE);
    let d = discover_keychain(&dir, garbage, &asked);
    assert!(matches!(d.lookup, Lookup::Ready(_)), "{:?}", d.lookup);
}

// --- the token never shows ---

#[test]
fn no_text_in_any_state_contains_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = configured(tmp.path().to_str().unwrap());
    let asked = Default::default();
    let mut seen = std::collections::BTreeSet::new();
    let mut check = |d: Discovery| {
        assert_no_leak(&d);
        seen.insert(format!("{:?}", d.lookup.problem()));
        seen.insert(
            format!("{:?}", d.lookup)
                .split(['(', ' ', '{'])
                .next()
                .unwrap()
                .to_string(),
        );
    };
    check(discover_files(&dir, Some(ACCESS), NOW_MS));
    check(discover_files(&dir, None, NOW_MS));
    for body in [
        SAMPLE.to_string(),
        LOGGED_OUT.to_string(),
        SAMPLE.replace("\"user:profile\", ", ""),
        SAMPLE[..120].to_string(),
    ] {
        write_creds(tmp.path(), &body);
        check(discover_files(&dir, None, NOW_MS));
        check(discover_files(&dir, None, SAMPLE_EXPIRES_MS + 1));
    }
    check(discover_keychain(
        &dir,
        || KeychainRead::Denied("security exit 51".into()),
        &asked,
    ));
    std::fs::remove_file(tmp.path().join(".credentials.json")).unwrap();
    check(discover_keychain(
        &dir,
        || KeychainRead::Denied("security exit 51".into()),
        &asked,
    ));
    check(discover_keychain(&dir, || KeychainRead::Locked, &asked));
    check(discover_keychain(
        &dir,
        || {
            KeychainRead::Unreadable(
                "security printed 9 bytes that are neither JSON nor hex".into(),
            )
        },
        &asked,
    ));
    for variant in [
        "Ready",
        "NotLoggedIn",
        "Expired",
        "MissingScope",
        "Unreadable",
        "KeychainLocked",
        "KeychainDenied",
    ] {
        assert!(
            seen.contains(variant),
            "state {variant} not covered: {seen:?}"
        );
    }

    let token = Token::new(ACCESS.to_string());
    assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    assert_eq!(format!("{token:#?}"), "Token(<redacted>)");
}

#[test]
fn mangled_files_never_panic_or_leak() {
    let mut rng = crate::testutil::Rng(0x5eed_c0ff_ee00_0001);
    for _ in 0..2000 {
        let bytes = rng.mutate(SAMPLE.as_bytes());
        let lookup = judge(
            file::parse(&bytes),
            Origin::File(PathBuf::from("/x")),
            NOW_MS,
        );
        let d = Discovery {
            lookup,
            probes: Vec::new(),
            keychain_wait: None,
        };
        let text = all_text(&d);
        // A mangled token may still be Ready; only its redacted form may appear.
        assert!(!text.contains("not-a-real-token"), "{text}");
    }
}

// --- the one way out ---

#[test]
fn authorize_sends_the_bearer_header() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        conn.write_all(
            b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        String::from_utf8_lossy(&got).into_owned()
    });

    let token = Token::new(ACCESS.to_string());
    let req = token.authorize(minreq::get(format!(
        "http://127.0.0.1:{port}/api/oauth/usage"
    )));
    let resp = req.with_timeout(5).send().unwrap();
    assert_eq!(resp.status_code, 204);
    let request = server.join().unwrap();
    assert!(
        request
            .lines()
            .any(|l| l.eq_ignore_ascii_case(&format!("authorization: Bearer {ACCESS}"))),
        "{request}"
    );
}

// --- the Windows Credential Manager step, with stand-in items ---

/// Discovery with a stand-in Credential Manager holding `items` (TargetName → value); records
/// every TargetName asked for.
fn discover_credman(
    config_dir: &ConfigDir,
    env_token: Option<&str>,
    items: &[(&str, &str)],
    asked: &std::cell::RefCell<Vec<String>>,
) -> Discovery {
    let read = |target: &str| {
        asked.borrow_mut().push(target.to_string());
        match items.iter().find(|(t, _)| *t == target) {
            Some((_, "<fail>")) => credman::Item::Failed("Credential Manager error 5".into()),
            Some((_, v)) => credman::Item::Value(SecretBytes(v.as_bytes().to_vec())),
            None => credman::Item::Missing,
        }
    };
    discover_with(
        config_dir,
        env_token.map(String::from),
        Some("alice"),
        NOW_MS,
        None,
        None,
        Some(&read),
    )
}

#[test]
fn credential_manager_item_comes_before_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    write_creds(tmp.path(), LOGGED_OUT);
    let dir = configured(tmp.path().to_str().unwrap());
    let target = format!("{}/claude-code-user", keychain_service(&dir));
    let asked = Default::default();
    let d = discover_credman(&dir, None, &[(target.as_str(), SAMPLE)], &asked);
    let Lookup::Ready(found) = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert_eq!(found.origin, Origin::CredentialManager(target.clone()));
    assert_eq!(
        asked.borrow().as_slice(),
        &[format!("{target}#m"), target.clone()]
    );
    assert_eq!(
        d.probes[1],
        format!("Windows Credential Manager \"{target}\": found, max, expires in 3h")
    );
    assert!(d.probes[2].ends_with("not checked (the Credential Manager item comes first)"));
    assert_no_leak(&d);
}

#[test]
fn missing_or_unreadable_credential_manager_item_falls_back_to_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    write_creds(tmp.path(), SAMPLE);
    let dir = configured(tmp.path().to_str().unwrap());
    let asked = Default::default();
    let d = discover_credman(&dir, None, &[], &asked);
    let Lookup::Ready(found) = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert!(matches!(found.origin, Origin::File(_)));
    assert!(d.probes[1].starts_with("Windows Credential Manager \"Claude Code-credentials-"));
    assert!(
        d.probes[1].ends_with("/claude-code-user\": not found"),
        "{:?}",
        d.probes
    );

    // A broken item is reported only when the file has nothing either, as for the keychain.
    let real = format!("{}/claude-code-user", keychain_service(&dir));
    let broken = [(real.as_str(), "<fail>")];
    let d = discover_credman(&dir, None, &broken, &asked);
    assert!(matches!(d.lookup, Lookup::Ready(_)), "{:?}", d.lookup);
    std::fs::remove_file(tmp.path().join(".credentials.json")).unwrap();
    let d = discover_credman(&dir, None, &broken, &asked);
    let Lookup::Unreadable { origin, reason } = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert_eq!(origin, &Origin::CredentialManager(real.clone()));
    assert_eq!(reason, "Credential Manager error 5");
    assert_no_leak(&d);
}

#[test]
fn env_token_skips_the_credential_manager() {
    let dir = configured("/nonexistent/ccmeter-test");
    let asked = Default::default();
    let d = discover_credman(&dir, Some("env-token-value"), &[], &asked);
    assert!(matches!(d.lookup, Lookup::Ready(_)));
    assert!(asked.borrow().is_empty());
    assert!(
        d.probes[1].ends_with("not checked (CLAUDE_CODE_OAUTH_TOKEN comes first)"),
        "{:?}",
        d.probes
    );
}

// --- the real keychain (macOS CI only) ---

/// The real `/usr/bin/security` through ccmeter's keychain reader, against a throwaway keychain
/// put first in the user's search list (the list is put back and the keychain deleted after):
/// a one-line item comes back as JSON, a multi-line one as hex (security's way with any
/// non-printable byte) and is decoded, a missing item is exit 44 (not found), and discovery
/// finds the item by the service name it derives from the config dir. It changes the search
/// list while it runs, so CI runs it on its macOS runner:
/// `cargo test --lib -- --ignored real_keychain`.
#[cfg(target_os = "macos")]
#[test]
#[ignore = "changes the keychain search list; CI runs it on macOS"]
fn real_keychain_items_are_read_through_security() {
    use std::process::Command;
    const SECURITY: &str = "/usr/bin/security";
    let sec = |args: &[&str]| -> String {
        let out = Command::new(SECURITY).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "security {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    struct PutBack(Vec<String>, String);
    impl Drop for PutBack {
        fn drop(&mut self) {
            let mut args = vec!["list-keychains", "-d", "user", "-s"];
            args.extend(self.0.iter().map(String::as_str));
            let _ = Command::new(SECURITY).args(&args).status();
            let _ = Command::new(SECURITY)
                .args(["delete-keychain", &self.1])
                .status();
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let keychain = tmp.path().join("ccmeter-test.keychain-db");
    let keychain = keychain.to_str().unwrap().to_string();
    sec(&["create-keychain", "-p", "ccmeter-test", &keychain]);
    sec(&["unlock-keychain", "-p", "ccmeter-test", &keychain]);
    let before: Vec<String> = sec(&["list-keychains", "-d", "user"])
        .lines()
        .map(|l| l.trim().trim_matches('"').to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let _put_back = PutBack(before.clone(), keychain.clone());
    let mut args = vec!["list-keychains", "-d", "user", "-s", keychain.as_str()];
    args.extend(before.iter().map(String::as_str));
    sec(&args);

    let dir = configured("/Users/ci/.claude-ccmeter-test");
    let service = keychain_service(&dir);
    let one_line: String = SAMPLE.lines().map(str::trim).collect();
    sec(&[
        "add-generic-password",
        "-a",
        "ci-user",
        "-s",
        &service,
        "-w",
        &one_line,
        &keychain,
    ]);
    match keychain::read(&service, "ci-user") {
        KeychainRead::Found(bytes) => assert_eq!(bytes.0, one_line.as_bytes()),
        _ => panic!("the one-line item was not read back as it was written"),
    }
    let d = discover_with(
        &dir,
        None,
        Some("ci-user"),
        NOW_MS,
        Some(&keychain::read),
        None,
        None,
    );
    let Lookup::Ready(found) = &d.lookup else {
        panic!("{:?}", d.lookup)
    };
    assert_eq!(
        found.origin,
        Origin::Keychain {
            service: service.clone(),
            account: "ci-user".into()
        }
    );
    assert_no_leak(&d);

    let multi = format!("{service}-multi-line");
    sec(&[
        "add-generic-password",
        "-a",
        "ci-user",
        "-s",
        &multi,
        "-w",
        SAMPLE.trim_end(),
        &keychain,
    ]);
    match keychain::read(&multi, "ci-user") {
        KeychainRead::Found(bytes) => assert_eq!(bytes.0, SAMPLE.trim_end().as_bytes()),
        _ => panic!("the multi-line item (printed as hex) was not decoded"),
    }

    assert!(
        matches!(
            keychain::read(&format!("{service}-missing"), "ci-user"),
            KeychainRead::NotFound
        ),
        "a missing item is security's exit 44, not found"
    );
}
