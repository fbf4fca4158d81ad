//! Keeping the store fresh without ever slowing a prompt: deciding when a refresh is due,
//! starting the detached worker, the worker itself, and the backoff every process shares.
//!
//! Forty status lines going stale at the same moment must cause one request. Three layers make
//! sure of it: a start marker created with `O_EXCL` so only one caller spawns per minute, an
//! exclusive OS lock the worker takes without waiting (so a second worker just exits), and a
//! freshness re-check after taking that lock (another worker may have just finished).

use std::path::Path;
use std::time::Duration;

use crate::cli::Config;
use crate::credentials::{self, Lookup};
use crate::endpoint::{self, Outcome};
use crate::estimate;
use crate::files::{self, FileLock};
use crate::history;
use crate::store::{Entry, Health, Rejected};
use crate::usage::{self, Problem, Snapshot};

/// A start marker older than this belongs to a worker that died: it no longer blocks a spawn.
const MARKER_EXPIRY_S: i64 = 60;
/// While authoritative numbers are live, rescan this often to keep the estimate calibrated.
const CALIBRATE_EVERY_S: i64 = 1800;
/// The worker's hard stop, past the endpoint deadline: a wedged worker must not hold the lock.
const WORKER_WATCHDOG: Duration = Duration::from_secs(15);
/// After a 401 the endpoint is asked again as soon as the credentials change (a /login), not
/// after a fixed wait (docs/DESIGN.md). Unchanged credentials are retried only this rarely, as a safety
/// net for a 401 that was the server's passing mistake.
pub const RELOGIN_RETRY_S: i64 = 6 * 3600;

/// Backoff after a transient failure: 60 s doubling to 30 min.
pub fn transient_backoff(failures: u32) -> i64 {
    let exp = failures.saturating_sub(1).min(5);
    (60i64 << exp).min(1800)
}

/// How long each problem keeps us from asking again.
pub fn backoff_for(problem: Problem, failures: u32, retry_after: Option<i64>, ttl: i64) -> i64 {
    match problem {
        // 0 or a missing Retry-After never means "now".
        Problem::RateLimited => retry_after.unwrap_or(0).max(300),
        Problem::Unreachable | Problem::UnexpectedAnswer => transient_backoff(failures),
        // Nothing will change until the user acts; cheap local re-checks each TTL. After a 401
        // the re-check compares the credentials and asks the endpoint only once they changed
        // (see `Health::rejected`), so a /login shows within one TTL. A keychain's own pause
        // (`Health::keychain_wait`) replaces this when it is longer.
        Problem::NotLoggedIn
        | Problem::TokenExpired
        | Problem::CredentialsUnreadable
        | Problem::Relogin
        | Problem::KeychainLocked
        | Problem::KeychainDenied => ttl.max(60),
        // The token's scope or the account's plan will not change soon.
        Problem::NoUsageData | Problem::NoPlanLimits => 6 * 3600,
    }
}

fn snapshot_age(s: Option<&Snapshot>, now: i64) -> i64 {
    s.map_or(i64::MAX, |s| now.saturating_sub(s.taken_at))
}

/// What the due rules look at; `snapshot` is the stored one with stdin's reading merged in,
/// as fresh as its newest number. A re-send (an idle session's old numbers) renews no number,
/// so it does not count as live: the numbers age and the endpoint is asked as if no stdin came.
#[derive(Debug, Clone, Copy)]
pub struct Due<'a> {
    pub snapshot: Option<&'a Snapshot>,
    pub estimate: Option<&'a Snapshot>,
    pub in_backoff: bool,
    /// The newest endpoint reading: stdin never carries per-model windows or extra usage, so
    /// those are renewed from the endpoint even while stdin keeps the main windows fresh.
    pub detail_at: Option<i64>,
    /// A hook asked for fresh numbers after the last attempt.
    pub requested: bool,
}

impl<'a> Due<'a> {
    pub fn of(entry: Option<&'a Entry>, merged: Option<&'a Snapshot>, now: i64) -> Due<'a> {
        Due {
            snapshot: merged.or(entry.and_then(|e| e.snapshot.as_ref())),
            estimate: entry.and_then(|e| e.estimate.as_ref()),
            in_backoff: entry.is_some_and(|e| e.health.in_backoff(now)),
            detail_at: entry.and_then(|e| e.health.last_success),
            requested: entry.is_some_and(|e| {
                e.refresh_requested_at
                    .is_some_and(|r| e.health.last_attempt.is_none_or(|a| a < r))
            }),
        }
    }

    /// Whether the endpoint should be asked: the numbers are older than `ttl`, the endpoint's
    /// own last answer is older than `detail_ttl`, or a hook asked for fresh numbers.
    pub fn oauth(&self, now: i64, ttl: i64, detail_ttl: i64, offline: bool) -> bool {
        let detail_old = self
            .detail_at
            .is_none_or(|t| now.saturating_sub(t) > detail_ttl);
        !offline
            && !self.in_backoff
            && (snapshot_age(self.snapshot, now) > ttl || detail_old || self.requested)
    }

    /// Whether the transcripts should be scanned: to estimate, when authoritative numbers are
    /// missing or old (at most once per TTL); or to calibrate, while fresh authoritative numbers
    /// exist to calibrate against (at most every [`CALIBRATE_EVERY_S`]).
    pub fn estimate(&self, now: i64, ttl: i64, stale_after: i64) -> bool {
        let scanned = snapshot_age(self.estimate, now);
        if snapshot_age(self.snapshot, now) > stale_after {
            scanned > ttl
        } else {
            scanned > CALIBRATE_EVERY_S
        }
    }
}

/// On the hot path: if a refresh is due and nobody started one within the last minute, start
/// `ccmeter refresh` detached and return at once. Errors are swallowed: the line comes first.
pub fn spawn_if_due(config: &Config, entry: Option<&Entry>, merged: Option<&Snapshot>, now: i64) {
    let due = Due::of(entry, merged, now);
    let due = due.oauth(now, config.ttl, config.detail_ttl, config.offline)
        || due.estimate(now, config.ttl, config.stale_after);
    if !due || !claim_marker(&config.store.sidecar("refresh.started")) {
        return;
    }
    let _ = spawn_worker(config.offline);
}

/// Creates the start marker exclusively; replaces it when it is older than [`MARKER_EXPIRY_S`].
/// Its age is measured on the real clock, like the file's mtime, not the injectable one.
fn claim_marker(marker: &Path) -> bool {
    let Some(dir) = marker.parent() else {
        return false;
    };
    if files::ensure_dir(dir).is_err() {
        return false;
    }
    let create = || {
        files::cache_open_options()
            .write(true)
            .create_new(true)
            .open(marker)
            .is_ok()
    };
    if create() {
        return true;
    }
    // lstat: the age of whatever is at the name, never of a link's target.
    let age = std::fs::symlink_metadata(marker)
        .and_then(|m| m.modified())
        .map(|t| std::time::SystemTime::now().duration_since(t));
    match age {
        Ok(Ok(age)) if age.as_secs() < MARKER_EXPIRY_S as u64 => false,
        // Expired, unreadable, or dated in the future (clock moved back): take it over.
        _ => {
            let _ = std::fs::remove_file(marker);
            create()
        }
    }
}

fn spawn_worker(offline: bool) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.arg("refresh")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if offline {
        cmd.arg("--offline");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Own process group: Ctrl-C in the terminal or Claude Code killing its status-line
        // command must not take the worker down mid-write.
        cmd.process_group(0);
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        // The same on Windows: no console to share (none flashes up, and closing Claude Code's
        // does not end the worker) and a process group of its own (Ctrl-C is not sent to it);
        // and our pipes to Claude Code kept out of it, or it would wait for the worker.
        const DETACHED_PROCESS: u32 = 0x0000_0008;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        cmd.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
        crate::windows::stop_std_handle_inheritance();
    }
    // Not waited for: the child outlives us and is reaped by init.
    cmd.spawn().map(drop)
}

/// What a worker run did, for `refresh --wait` and `doctor`.
#[derive(Debug, Default)]
pub struct RunReport {
    pub lines: Vec<String>,
    pub failed: bool,
}

/// `ccmeter refresh [--wait]`: the worker. In the background it prints nothing; `--wait` prints
/// what happened and exits non-zero when the numbers could not be refreshed.
pub fn run(config: &Config, wait: bool) -> i32 {
    if !wait {
        std::thread::spawn(|| {
            std::thread::sleep(WORKER_WATCHDOG);
            std::process::exit(3);
        });
    }
    let report = work(config, crate::now(), wait);
    if wait {
        for line in &report.lines {
            println!("{line}");
        }
    }
    i32::from(report.failed)
}

/// One worker run under the single-flight lock.
pub fn work(config: &Config, now: i64, forced: bool) -> RunReport {
    let mut out = RunReport::default();
    let marker = config.store.sidecar("refresh.started");
    if let Err(e) = files::ensure_dir(config.store.dir()) {
        out.lines.push(format!(
            "cache dir {} unusable: {e}",
            config.store.dir().display()
        ));
        out.failed = true;
        return out;
    }
    let _lock = match FileLock::try_acquire(&config.store.sidecar("refresh.lock")) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            out.lines.push(
                "another ccmeter refresh is running; its result will be in the store shortly"
                    .into(),
            );
            out.failed = true;
            return out;
        }
        Err(e) => {
            out.lines.push(format!("cannot take the refresh lock: {e}"));
            out.failed = true;
            return out;
        }
    };
    let entry = config.store.read(now).ok();
    let health = entry.as_ref().map(|e| &e.health);
    // A person asking (doctor --check-endpoint, refresh --wait) sets every backoff aside but a
    // 429's: the endpoint said when it will listen again.
    let rate_limited_until = health
        .filter(|h| h.problem == Some(Problem::RateLimited))
        .and_then(|h| h.backoff_until)
        .filter(|&t| t > now);
    let backoff_until = health.and_then(|h| h.backoff_until).filter(|&t| t > now);
    let ask_endpoint = if forced {
        !config.offline && rate_limited_until.is_none()
    } else {
        Due::of(entry.as_ref(), None, now).oauth(now, config.ttl, config.detail_ttl, config.offline)
    };
    if config.offline {
        out.lines
            .push("offline: not contacting the usage endpoint".into());
    } else if let Some(until) = rate_limited_until {
        out.lines.push(format!(
            "rate-limited: no request until {} ({}s more; shared by every ccmeter process)",
            crate::usage::format_rfc3339(until).unwrap_or_default(),
            until - now
        ));
        out.failed |= forced;
    } else if let Some(until) = backoff_until {
        out.lines.push(if forced {
            format!(
                "asking now, although the backoff had {}s to run",
                until - now
            )
        } else {
            format!(
                "in backoff for {}s more (shared by every ccmeter process)",
                until - now
            )
        });
    }
    if ask_endpoint {
        let failed = refresh_from_endpoint(config, entry.as_ref(), now, forced, &mut out.lines);
        out.failed |= failed;
    }
    let entry = config.store.read(now).ok();
    if forced
        || ask_endpoint
        || Due::of(entry.as_ref(), None, now).estimate(now, config.ttl, config.stale_after)
    {
        refresh_estimate(config, entry.as_ref(), now, &mut out.lines);
    }
    trim_history(config, now, &mut out.lines);
    let _ = std::fs::remove_file(marker);
    out
}

/// Keeps the history to its 8 days. The store's write lock (which every append holds) is taken
/// only for the trim's final copy and rename, so status lines are not kept waiting.
fn trim_history(config: &Config, now: i64, lines: &mut Vec<String>) {
    let path = config.store.sidecar(history::FILE);
    match history::trim(&path, now, || config.store.lock_writes()) {
        Ok(history::Trimmed::Rewritten { kept, dropped }) => lines.push(format!(
            "history: kept {kept} points, dropped {dropped} (old or unreadable)"
        )),
        Ok(history::Trimmed::Nothing) => {}
        Err(e) => lines.push(format!("history: could not trim {}: {e}", path.display())),
    }
}

/// The User-Agent the usage endpoint gets: `CCMETER_USER_AGENT`, else Claude Code's own with
/// the version the newest status line reported (see `endpoint::user_agent` for why).
pub fn user_agent(config: &Config, entry: Option<&Entry>) -> String {
    config.user_agent.clone().unwrap_or_else(|| {
        let version = entry
            .and_then(|e| e.claude_code_version.as_deref())
            .filter(|v| crate::cli::header_value(v).as_deref() == Some(*v));
        endpoint::user_agent(version)
    })
}

/// Finds the credentials for `doctor`, honouring the store's keychain pause and recording a new
/// one, so that a dialog `doctor` left on screen is not stacked on by the next worker.
pub fn discover(config: &Config, now: i64) -> credentials::Discovery {
    let entry = config.store.read(now).ok();
    let stored = entry.as_ref().and_then(|e| e.health.keychain_wait.clone());
    let discovery = credentials::discover_from_env(&config.config_dir, now, stored.as_ref());
    if discovery.keychain_wait != stored {
        let _ = config.store.update(now, |e| {
            e.health.keychain_wait = discovery.keychain_wait.clone();
            true
        });
    }
    discovery
}

/// Asks the endpoint and records the outcome. Returns whether it failed. `forced`: a person
/// asked, so even credentials that got a 401 are tried again.
fn refresh_from_endpoint(
    config: &Config,
    entry: Option<&Entry>,
    now: i64,
    forced: bool,
    lines: &mut Vec<String>,
) -> bool {
    let health = entry.map(|e| e.health.clone()).unwrap_or_default();
    let discovery =
        credentials::discover_from_env(&config.config_dir, now, health.keychain_wait.as_ref());
    let agent = user_agent(config, entry);
    let mut rejected = None;
    let mut unchanged_since_401 = false;
    let (outcome, problem) = match &discovery.lookup {
        Lookup::Ready(found) => {
            let fingerprint = found.fingerprint();
            unchanged_since_401 = !forced
                && health.problem == Some(Problem::Relogin)
                && health
                    .rejected
                    .as_ref()
                    .is_some_and(|r| r.credentials == fingerprint && now < r.retry_at);
            if unchanged_since_401 {
                rejected = health.rejected.clone();
                (None, Some(Problem::Relogin))
            } else {
                let outcome = endpoint::fetch(&found.token, &config.api_base, &agent, now);
                let problem = match &outcome {
                    Outcome::Usage(_) => None,
                    Outcome::NoPlanLimits(_) => Some(Problem::NoPlanLimits),
                    Outcome::Unexpected => Some(Problem::UnexpectedAnswer),
                    Outcome::Unauthorized => {
                        rejected = Some(Rejected {
                            credentials: fingerprint,
                            retry_at: now + RELOGIN_RETRY_S,
                        });
                        Some(Problem::Relogin)
                    }
                    Outcome::Forbidden => Some(Problem::NoUsageData),
                    Outcome::RateLimited { .. } => Some(Problem::RateLimited),
                    Outcome::Failed(_) => Some(Problem::Unreachable),
                };
                (Some(outcome), problem)
            }
        }
        other => (None, Some(other.problem().unwrap_or(Problem::NotLoggedIn))),
    };
    let config_dir = config.config_dir.path.to_string_lossy().into_owned();
    let ttl = config.ttl;
    let mut summary = String::new();
    let write = config.store.update(now, |e| {
        e.config_dir = config_dir;
        let h = &mut e.health;
        h.last_attempt = Some(now);
        h.keychain_wait = discovery.keychain_wait.clone();
        if let (Some(Outcome::NoPlanLimits(extra)), Some(stored)) = (&outcome, e.snapshot.as_mut())
        {
            // No plan windows, but the endpoint's newest word on extra usage still replaces the
            // last one. The reading's own time stays: the windows were not renewed.
            stored.extra = extra.clone().map(|mut x| {
                x.at = Some(usage::Stamp {
                    source: usage::Source::Oauth,
                    taken_at: now,
                });
                x
            });
        }
        match (&outcome, problem) {
            (Some(Outcome::Usage(snap)), _) => {
                // docs/DESIGN.md's merging rules: our answer wins over what it was fetched after, even
                // if lower; a stdin reading taken while we were asking is merged as usual.
                let merged = usage::merge(e.snapshot.as_ref(), snap, now);
                let point = merged.as_of(snap);
                e.snapshot = Some(merged);
                let _ =
                    history::record(&config.store.sidecar(history::FILE), &mut e.history, &point);
                *h = Health {
                    last_attempt: Some(now),
                    last_success: Some(now),
                    keychain_wait: h.keychain_wait.take(),
                    ..Health::default()
                };
                summary = format!("ok: {}", describe(snap));
            }
            (_, Some(p)) => {
                let retry_after = match &outcome {
                    Some(Outcome::RateLimited { retry_after }) => *retry_after,
                    _ => None,
                };
                h.failures = if matches!(p, Problem::Unreachable | Problem::UnexpectedAnswer) {
                    h.failures.saturating_add(1)
                } else {
                    0
                };
                let backoff = now.saturating_add(backoff_for(p, h.failures, retry_after, ttl));
                h.backoff_until = Some(match (&h.keychain_wait, p) {
                    (Some(w), Problem::KeychainLocked | Problem::KeychainDenied) => {
                        w.until.max(backoff)
                    }
                    _ => backoff,
                });
                h.problem = Some(p);
                h.rejected = rejected.clone();
                h.detail = match &outcome {
                    Some(Outcome::Failed(d)) => Some(d.clone()),
                    Some(Outcome::Unexpected) => {
                        Some("HTTP 200 whose body is not a usage body".into())
                    }
                    None if unchanged_since_401 => {
                        Some("not asked: the credentials that got the 401 have not changed".into())
                    }
                    _ => None,
                };
                summary = format!(
                    "{}: {}{}",
                    p.code(),
                    p.explain(),
                    h.detail
                        .as_ref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                );
            }
            (_, None) => {}
        }
        true
    });
    lines.extend(discovery.probes.iter().map(|p| format!("credentials: {p}")));
    if outcome.is_some() {
        lines.push(format!("user agent: {agent}"));
    }
    lines.push(format!("usage endpoint: {summary}"));
    if let Err(e) = write {
        lines.push(format!("could not write the store: {e}"));
    }
    problem.is_some()
}

fn refresh_estimate(config: &Config, entry: Option<&Entry>, now: i64, lines: &mut Vec<String>) {
    let authoritative = entry.and_then(|e| e.snapshot.as_ref());
    match estimate::update(&config.store, &config.config_dir.path, authoritative, now) {
        Ok((snapshot, stats)) => {
            lines.push(format!("estimate: {stats}; {}", describe(&snapshot)));
            let _ = config.store.update(now, |e| {
                e.estimate = Some(snapshot);
                true
            });
        }
        Err(e) => lines.push(format!("estimate: transcripts could not be scanned: {e}")),
    }
}

/// `5h 61% (resets 2026-…) · 7d 23%` for `refresh --wait`.
fn describe(s: &Snapshot) -> String {
    let report = crate::report::Report {
        snapshot: Some(s.clone()),
        problem: None,
        retry_at: None,
        now: s.taken_at,
        stale_after: i64::MAX,
        note: None,
        projections: Default::default(),
    };
    format!(
        "{} [source {}]",
        crate::render::line(&report, crate::render::Style::Plain),
        s.source.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{Source, Window};

    const NOW: i64 = 1_795_000_000;

    #[test]
    fn backoff_policy() {
        assert_eq!(
            [1, 2, 3, 6, 7, 30].map(transient_backoff),
            [60, 120, 240, 1800, 1800, 1800]
        );
        assert_eq!(backoff_for(Problem::RateLimited, 0, None, 180), 300);
        assert_eq!(backoff_for(Problem::RateLimited, 0, Some(120), 180), 300);
        assert_eq!(backoff_for(Problem::RateLimited, 0, Some(900), 180), 900);
        assert_eq!(backoff_for(Problem::UnexpectedAnswer, 2, None, 180), 120);
        assert_eq!(backoff_for(Problem::Relogin, 0, None, 180), 180);
    }

    #[test]
    fn due_rules() {
        let snap = |age: i64, source| Snapshot {
            five_hour: Some(Window::percent(1.0, None)),
            seven_day: None,
            scoped: vec![],
            extra: None,
            source,
            taken_at: NOW - age,
        };
        let due = |s: Option<i64>, est: Option<i64>, in_backoff| {
            (
                s.map(|a| snap(a, Source::Oauth)),
                est.map(|a| snap(a, Source::Estimate)),
                in_backoff,
            )
        };
        let check = |(s, e, b): (Option<Snapshot>, Option<Snapshot>, bool)| {
            let d = Due {
                snapshot: s.as_ref(),
                estimate: e.as_ref(),
                in_backoff: b,
                detail_at: Some(NOW),
                requested: false,
            };
            (
                d.oauth(NOW, 180, 900, false),
                d.oauth(NOW, 180, 900, true),
                d.estimate(NOW, 180, 600),
            )
        };
        // (oauth online, oauth offline, estimate)
        assert_eq!(check(due(None, None, false)), (true, false, true));
        assert_eq!(
            check(due(Some(100), Some(100), false)),
            (false, false, false)
        );
        assert_eq!(
            check(due(Some(181), Some(100), false)),
            (true, false, false)
        );
        assert_eq!(
            check(due(Some(181), Some(100), true)),
            (false, false, false)
        );
        // Old numbers: estimate once per TTL.
        assert!(!check(due(Some(700), Some(100), true)).2);
        assert!(check(due(Some(700), Some(181), true)).2);
        // Fresh numbers: rescan only to calibrate, every 30 min.
        assert!(!check(due(Some(10), Some(1800), false)).2);
        assert!(check(due(Some(10), Some(1801), false)).2);
        // A live stdin reading counts as fresh even before it is stored.
        let mut entry = Entry {
            snapshot: Some(snap(5000, Source::Oauth)),
            ..Entry::default()
        };
        entry.health.last_success = Some(NOW - 900);
        let live = snap(0, Source::Stdin);
        assert!(!Due::of(Some(&entry), Some(&live), NOW).oauth(NOW, 180, 900, false));
        assert!(Due::of(Some(&entry), None, NOW).oauth(NOW, 180, 900, false));
        // ... but while stdin is live, the endpoint is still asked for what only it knows once
        // its own last answer is older than the detail TTL.
        entry.health.last_success = Some(NOW - 901);
        assert!(Due::of(Some(&entry), Some(&live), NOW).oauth(NOW, 180, 900, false));
        assert!(!Due::of(Some(&entry), Some(&live), NOW).oauth(NOW, 180, 900, true));
        // A hook's request makes fresh numbers due until an attempt is made after it.
        let mut asked = Entry {
            snapshot: Some(snap(5, Source::Oauth)),
            refresh_requested_at: Some(NOW - 1),
            ..Entry::default()
        };
        asked.health.last_success = Some(NOW - 5);
        asked.health.last_attempt = Some(NOW - 5);
        assert!(Due::of(Some(&asked), Some(&live), NOW).oauth(NOW, 180, 900, false));
        assert!(!Due::of(Some(&asked), None, NOW).oauth(NOW, 180, 900, true));
        asked.health.last_attempt = Some(NOW - 1);
        assert!(!Due::of(Some(&asked), None, NOW).oauth(NOW, 180, 900, false));
        asked.health.last_attempt = Some(NOW - 2);
        asked.health.backoff_until = Some(NOW + 60);
        assert!(!Due::of(Some(&asked), None, NOW).oauth(NOW, 180, 900, false));
    }

    /// An idle session's re-send is dated by its last request: merged into the store it renews
    /// nothing, so the numbers age and the endpoint is asked as if no stdin came. News is live.
    #[test]
    fn a_re_send_does_not_count_as_live() {
        let five = |p: f64, source, at| Snapshot {
            five_hour: Some(Window::percent(p, Some(NOW + 7200))),
            seven_day: None,
            scoped: vec![],
            extra: None,
            source,
            taken_at: at,
        };
        let mut entry = Entry {
            snapshot: Some(five(59.0, Source::Stdin, NOW - 900)),
            ..Entry::default()
        };
        entry.health.last_success = Some(NOW - 900);
        let due = |reading: &Snapshot| {
            let merged = usage::merge(entry.snapshot.as_ref(), reading, NOW);
            Due::of(Some(&entry), Some(&merged), NOW).oauth(NOW, 180, 86_400, false)
        };
        assert!(due(&five(59.0, Source::Stdin, NOW - 900)), "re-send");
        assert!(due(&five(30.0, Source::Stdin, NOW - 3600)), "older re-send");
        assert!(!due(&five(59.0, Source::Stdin, NOW)), "news, same number");
        assert!(!due(&five(60.0, Source::Stdin, NOW)), "news, higher");
    }

    #[test]
    fn marker_is_exclusive_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("k.refresh.started");
        assert!(claim_marker(&marker));
        assert!(!claim_marker(&marker));
        let old = std::time::SystemTime::now() - Duration::from_secs(MARKER_EXPIRY_S as u64 + 1);
        std::fs::File::options()
            .write(true)
            .open(&marker)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(claim_marker(&marker));
        assert!(!claim_marker(&marker));
    }
}
