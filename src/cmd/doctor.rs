//! `ccmeter doctor`: everything the status line cannot say. Where credentials were looked for
//! (never the token), the store and its age, the last refresh outcome and backoff, whether
//! Claude Code is wired, and — with `--check-endpoint` — one real request through the normal
//! path, backoff respected. Exits 1 when something needs the user's action.
//!
//! Every line goes through [`text::clean`]: paths come from the environment (`CLAUDE_CONFIG_DIR`
//! can hold any byte), names from settings and the store, details from the network, and none
//! of them may steer the terminal.

use crate::cli::Config;
use crate::credentials::Lookup;
use crate::refresh;
use crate::render::{self, Style};
use crate::text;
use crate::usage::{Problem, Snapshot};

/// One doctor line: long paths fit, a runaway value does not fill the screen.
const LINE_CHARS: usize = 2000;

/// A reading that holds any number at all: the worker stores an empty estimate on a fresh
/// install (no login, no transcripts), which is nothing known, not an "estimate, 1s old".
fn known(s: &Option<Snapshot>) -> Option<&Snapshot> {
    s.as_ref()
        .filter(|s| s.five_hour.is_some() || s.seven_day.is_some() || !s.scoped.is_empty())
}

/// Problems only the user can fix.
fn needs_action(p: Problem) -> bool {
    matches!(
        p,
        Problem::NotLoggedIn
            | Problem::Relogin
            | Problem::TokenExpired
            | Problem::CredentialsUnreadable
            | Problem::KeychainLocked
            | Problem::KeychainDenied
    )
}

pub fn run(config: &Config, check_endpoint: bool) -> i32 {
    let now = crate::now();
    let mut action = false;
    let say = |label: &str, line: &str| println!("{label:<14} {}", text::clean(line, LINE_CHARS));

    say("ccmeter", env!("CARGO_PKG_VERSION"));
    let how = match (
        &config.env.securestorage_config_dir,
        &config.env.claude_config_dir,
    ) {
        (Some(_), _) => "from CLAUDE_SECURESTORAGE_CONFIG_DIR",
        (None, Some(s)) if !s.is_empty() => "from CLAUDE_CONFIG_DIR",
        _ => "default",
    };
    say(
        "config dir",
        &format!("{} ({how})", config.config_dir.path.display()),
    );

    // Credentials: where we looked and what we found.
    let discovery = refresh::discover(config, now);
    for probe in &discovery.probes {
        say("credentials", probe);
    }
    let cred_problem = discovery.lookup.problem();
    match &discovery.lookup {
        Lookup::Ready(_) => say("", "→ usable OAuth login found"),
        other => say("", &format!("→ {}", other.explain())),
    }
    action |= cred_problem.is_some_and(needs_action);

    // The store.
    let path = config.store.entry_path();
    let entry = match config.store.read(now) {
        Ok(e) => {
            let age = |s: &Snapshot| crate::fmt::fmt_age(now.saturating_sub(s.taken_at));
            let what = match (known(&e.snapshot), known(&e.estimate)) {
                (Some(s), Some(est)) => format!(
                    "{} data, {} old; estimate {} old",
                    s.source.as_str(),
                    age(s),
                    age(est)
                ),
                (Some(s), None) => format!("{} data, {} old", s.source.as_str(), age(s)),
                (None, Some(est)) => format!("estimate only, {} old", age(est)),
                (None, None) => "nothing known yet".into(),
            };
            say("store", &format!("{} ({what})", path.display()));
            Some(e)
        }
        Err(why) => {
            say("store", &format!("{} ({why})", path.display()));
            None
        }
    };
    say("history", &super::history::describe_file(config, now));
    let dir = config.store.dir();
    let usable = crate::files::ensure_dir(dir).and_then(|()| crate::files::probe_writable(dir));
    if let Err(e) = usable {
        let text = match crate::files::unsafe_dir_reason(&e) {
            Some(why) => format!("→ cache dir is not usable: {why}"),
            None => format!(
                "→ cache dir is not usable: cannot write to {} ({e}); numbers are neither \
                 shared nor refreshed until it is writable, or set CCMETER_CACHE_DIR",
                dir.display()
            ),
        };
        say("", &text);
        action = true;
    }

    // The last refresh.
    if let Some(h) = entry.as_ref().map(|e| &e.health) {
        let when = |t: Option<i64>| {
            t.map_or("never".into(), |t| {
                format!("{} ago", crate::fmt::fmt_age(now.saturating_sub(t)))
            })
        };
        match h.problem {
            None => say(
                "last refresh",
                &format!("ok (last success {})", when(h.last_success)),
            ),
            Some(p) => {
                let detail = h
                    .detail
                    .as_ref()
                    .map(|d| format!(" [{d}]"))
                    .unwrap_or_default();
                say(
                    "last refresh",
                    &format!(
                        "{}: {}{detail} ({})",
                        p.code(),
                        p.explain(),
                        when(h.last_attempt)
                    ),
                );
                // With --check-endpoint the check's own outcome decides, below: a /login
                // since the last 401 is no longer something to act on.
                action |= !check_endpoint && needs_action(p);
            }
        }
        if let (Some(Problem::Relogin), Some(r)) = (h.problem, &h.rejected) {
            say(
                "backoff",
                &format!(
                    "no request with the rejected credentials until they change (a /login; re-checked every {}) or for {} at most",
                    crate::fmt::fmt_age(config.ttl.max(60)),
                    crate::fmt::fmt_until(r.retry_at - now)
                ),
            );
        } else if let Some(until) = h.backoff_until.filter(|&t| t > now) {
            say(
                "backoff",
                &format!(
                    "no request for {} (shared by every ccmeter process)",
                    crate::fmt::fmt_until(until.saturating_sub(now))
                ),
            );
        }
        if let Some(w) = h.keychain_wait.as_ref().filter(|w| w.until > now) {
            say(
                "keychain",
                &format!(
                    "not read for {} more ({}), so no second dialog stacks up",
                    crate::fmt::fmt_until(w.until - now),
                    w.reason
                ),
            );
        }
    }
    let agent = refresh::user_agent(config, entry.as_ref());
    let why = if config.user_agent.is_some() {
        "from CCMETER_USER_AGENT".to_string()
    } else if let Some(v) = entry.as_ref().and_then(|e| e.claude_code_version.as_ref()) {
        format!("Claude Code {v}, from the last status line")
    } else {
        format!(
            "no status line seen yet: Claude Code {}, the version ccmeter was tested against",
            crate::endpoint::TESTED_CLAUDE_CODE_VERSION
        )
    };
    say("user agent", &format!("{agent} ({why})"));
    say(
        "network",
        &if config.offline {
            "offline (--offline / CCMETER_OFFLINE=1): the usage endpoint is never asked; numbers \
             come from Claude Code's stdin and the transcript estimate"
                .to_string()
        } else {
            format!(
                "online: the usage endpoint is asked in the background at most once per \
                 CCMETER_TTL ({} s) per account, only every CCMETER_DETAIL_TTL ({} s) while \
                 Claude Code's stdin is live; --offline or CCMETER_OFFLINE=1 turns it off",
                config.ttl, config.detail_ttl
            )
        },
    );

    // Claude Code wiring.
    let (wired, text) = super::setup::wiring(config);
    say("settings.json", &text);
    action |= !wired;

    if check_endpoint {
        for line in refresh::work(config, now, true).lines {
            say("endpoint", &line);
        }
        // The check may have just learnt something only the user can fix (a 401).
        action |= config
            .store
            .read(now)
            .ok()
            .and_then(|e| e.health.problem)
            .is_some_and(needs_action);
    }
    // Not `line::current`: that starts a background refresh when one is due, and doctor asks
    // the endpoint only when told to (--check-endpoint).
    let entry = config.store.read(now).ok();
    let report = super::line::decide(config, None, entry.as_ref(), now);
    say("line now", &render::line(&report, Style::Plain));
    if action {
        println!("\nSomething above needs your action.");
    }
    i32::from(action)
}
