//! The data model: how much of each rate-limit window is used, where that number came from and
//! when, and what went wrong getting a newer one.
//!
//! Also parses the usage endpoint's bodies, because their shape *is* the model's shape. Parsing
//! is lenient on purpose: a field the endpoint adds, drops or nulls must never cost the user the
//! numbers that did arrive.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How much of a window is used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Used {
    /// Percent of the plan's limit, as reported (may exceed 100; clamped only for display).
    Percent(f64),
    /// Local token count from transcripts when no calibration exists: we never invent a percent.
    Tokens(u64),
}

/// One rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub used: Used,
    /// Unix seconds; `None` when the source did not say.
    pub resets_at: Option<i64>,
    /// The endpoint's own grading of this row (`limits[].severity`), which colours it: a client
    /// never grades a row the server already graded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The reading this number came from, when it differs from the snapshot's own (a merged
    /// snapshot stamps every window, so each keeps its own age). `None`: the snapshot's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Stamp>,
}

impl Window {
    pub fn percent(percent: f64, resets_at: Option<i64>) -> Window {
        Window {
            used: Used::Percent(percent),
            resets_at,
            severity: None,
            at: None,
        }
    }

    pub fn tokens(tokens: u64, resets_at: Option<i64>) -> Window {
        Window {
            used: Used::Tokens(tokens),
            resets_at,
            severity: None,
            at: None,
        }
    }

    /// A reset time in the past means the window has rolled over: the old number is void.
    pub fn has_reset(&self, now: i64) -> bool {
        self.resets_at.is_some_and(|t| t <= now)
    }

    /// The percentage for display: clamped to 0..=100, NaN as 0.
    pub fn display_percent(&self) -> Option<f64> {
        match self.used {
            Used::Percent(p) if p.is_nan() => Some(0.0),
            Used::Percent(p) => Some(p.clamp(0.0, 100.0)),
            Used::Tokens(_) => None,
        }
    }

    /// The percentage if it is still current: `None` for token counts and reset windows.
    pub fn live_percent(&self, now: i64) -> Option<f64> {
        if self.has_reset(now) {
            return None;
        }
        self.display_percent()
    }

    /// A readable percentage (see [`readable_percent`]) or a token count.
    pub fn is_readable(&self) -> bool {
        match self.used {
            Used::Percent(p) => readable_percent(p).is_some(),
            Used::Tokens(_) => true,
        }
    }

    /// Same number and reset, whoever read it when.
    pub fn same_numbers(&self, other: &Window) -> bool {
        self.used == other.used && self.resets_at == other.resets_at
    }
}

/// When and by whom a number was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub source: Source,
    /// Unix seconds.
    pub taken_at: i64,
}

/// The endpoint's grading of a `limits[]` row, for a meter's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Normal,
    Warning,
    Critical,
}

impl Severity {
    /// Unknown gradings are no grading: thresholds colour the row instead.
    fn parse(v: &Value) -> Option<Severity> {
        match v.as_str()?.trim().to_ascii_lowercase().as_str() {
            "normal" | "ok" | "low" | "none" => Some(Severity::Normal),
            "warning" | "warn" | "elevated" => Some(Severity::Warning),
            "critical" | "exceeded" | "limited" => Some(Severity::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Normal => "normal",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A weekly window the endpoint reports for one model (or surface) only, e.g. Opus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopedWindow {
    /// Short display name: lower-case, spaces as `-`, at most 12 characters (`opus`, `fable`).
    pub name: String,
    pub window: Window,
    /// The endpoint's headline pick (`limits[].is_active`): breaks ties for the binding window.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_active: bool,
}

/// Extra usage (pay-as-you-go credits once a plan limit is hit), in major units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extra {
    pub enabled: bool,
    /// Spent this month, e.g. 12.34.
    pub spent: Option<f64>,
    /// The monthly cap, when there is one.
    pub limit: Option<f64>,
    /// The month's utilization, already a percentage.
    pub percent: Option<f64>,
    /// ISO 4217 code, upper-case (`USD` when the endpoint did not say).
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Stamp>,
}

impl Extra {
    /// `$12.34`, `€50`, `12.34 CHF`: two decimals, dropped when whole.
    pub fn money(&self, amount: f64) -> String {
        let cents = (amount * 100.0).round();
        let number = if cents % 100.0 == 0.0 {
            format!("{}", (cents / 100.0) as i64)
        } else {
            format!("{:.2}", cents / 100.0)
        };
        match self.currency.as_str() {
            "USD" => format!("${number}"),
            "EUR" => format!("€{number}"),
            "GBP" => format!("£{number}"),
            code => format!("{number} {code}"),
        }
    }

    /// `$12.34/$50`, or `$12.34` without a monthly cap.
    pub fn spent_text(&self) -> Option<String> {
        let spent = self.money(self.spent?);
        Some(match self.limit {
            Some(limit) => format!("{spent}/{}", self.money(limit)),
            None => spent,
        })
    }
}

/// Where a snapshot came from, in order of authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Stdin,
    Oauth,
    Estimate,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Stdin => "stdin",
            Source::Oauth => "oauth",
            Source::Estimate => "estimate",
        }
    }
}

/// Usage as read at one moment from one source, or, once [`merge`]d, the newest known number of
/// every window, each stamped with its own reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub five_hour: Option<Window>,
    pub seven_day: Option<Window>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scoped: Vec<ScopedWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Extra>,
    /// Of the newest reading in it.
    pub source: Source,
    /// Unix seconds, of the newest reading in it.
    pub taken_at: i64,
}

impl Snapshot {
    /// A reading with nothing in it yet.
    pub fn new(source: Source, taken_at: i64) -> Snapshot {
        Snapshot {
            five_hour: None,
            seven_day: None,
            scoped: Vec::new(),
            extra: None,
            source,
            taken_at,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.five_hour.is_none() && self.seven_day.is_none() && self.scoped.is_empty()
    }

    /// The snapshot's own reading, which every unstamped number in it comes from.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            source: self.source,
            taken_at: self.taken_at,
        }
    }

    /// Where and when this window's number was read.
    pub fn stamp_of(&self, w: &Window) -> Stamp {
        w.at.unwrap_or_else(|| self.stamp())
    }

    /// The same numbers with every window and the extra-usage part stamped explicitly, so they
    /// keep their own reading time when merged with others.
    fn stamped(&self) -> Snapshot {
        let stamp = self.stamp();
        let mut s = self.clone();
        let pin = |w: &mut Window| w.at = Some(w.at.unwrap_or(stamp));
        s.five_hour.iter_mut().for_each(pin);
        s.seven_day.iter_mut().for_each(pin);
        s.scoped.iter_mut().for_each(|sw| pin(&mut sw.window));
        if let Some(e) = &mut s.extra {
            e.at = Some(e.at.unwrap_or(stamp));
        }
        s
    }

    /// What the history records of `reading` once merged into `self`: the merged numbers of the
    /// windows the reading has, dated as the reading. So a lower number that lost the merge (an
    /// idle session's, or stdin's integer against the endpoint's decimal) never combs the chart.
    pub fn as_of(&self, reading: &Snapshot) -> Snapshot {
        let scoped = self
            .scoped
            .iter()
            .filter(|sw| reading.scoped.iter().any(|r| r.name == sw.name))
            .cloned()
            .collect();
        Snapshot {
            five_hour: reading.five_hour.and(self.five_hour),
            seven_day: reading.seven_day.and(self.seven_day),
            scoped,
            extra: None,
            source: reading.source,
            taken_at: reading.taken_at,
        }
    }

    /// When the endpoint last supplied the parts only it knows (per-model windows, extra usage).
    pub fn detail_at(&self) -> Option<i64> {
        let from_oauth = |st: Stamp| (st.source == Source::Oauth).then_some(st.taken_at);
        let windows = self.scoped.iter().map(|sw| self.stamp_of(&sw.window));
        let extra = self.extra.iter().map(|e| e.at.unwrap_or(self.stamp()));
        let mains = [self.five_hour.as_ref(), self.seven_day.as_ref()]
            .into_iter()
            .flatten()
            .map(|w| self.stamp_of(w));
        windows
            .chain(extra)
            .chain(mains)
            .filter_map(from_oauth)
            .max()
    }
}

/// Two readings whose reset times differ by at most this name the same window period: stdin and
/// the endpoint state the same reset a little differently, and consecutive periods are at least
/// five hours apart, so an hour's slack never joins two of them.
pub const SAME_PERIOD_S: i64 = 3600;

/// The highest percentage that is still a reading. Values above 100 happen (and are clamped for
/// display); beyond this, and anything negative or not finite, is a garbled field.
const MAX_READABLE_PERCENT: f64 = 1000.0;

/// A percentage any source sent, or `None` when it cannot be a reading (`-50`, `1e308`, NaN):
/// kept, it would show `0%` or `100%` and put pace and history out by absurd amounts.
pub fn readable_percent(p: f64) -> Option<f64> {
    (p.is_finite() && (0.0..=MAX_READABLE_PERCENT).contains(&p)).then_some(p)
}

/// One window of one reading, with the reading's stamp.
#[derive(Clone, Copy)]
struct Stamped {
    window: Window,
    stamp: Stamp,
}

impl Stamped {
    fn percent(&self) -> Option<f64> {
        match self.window.used {
            Used::Percent(p) => Some(p),
            Used::Tokens(_) => None,
        }
    }
}

/// Which of two readings of one window is the truth (docs/DESIGN.md, "Merging readings"), `old` as
/// known, `new` just read. Returns true to take `new`.
fn new_wins(old: &Stamped, new: &Stamped, now: i64) -> bool {
    let (o, n) = (&old.window, &new.window);
    // Rule 1: a reading whose reset has passed says nothing about the current period.
    if o.has_reset(now) != n.has_reset(now) {
        return o.has_reset(now);
    }
    let newer = new.stamp.taken_at >= old.stamp.taken_at;
    let (Some(or), Some(nr)) = (o.resets_at, n.resets_at) else {
        // Rule 5: no period known, the newest reading wins.
        return newer;
    };
    // Rule 2: a later period wins; an earlier one never replaces it.
    if nr.abs_diff(or) > SAME_PERIOD_S as u64 {
        return nr > or;
    }
    // Rule 4: the endpoint's answer is the only reading whose age is known, so one fetched
    // after the other reading wins even if lower (a plan change rescales the percentage). The
    // same holds the other way round: a reading older than a stored endpoint answer (an idle
    // session's re-send, dated by its last request) does not undo it.
    if new.stamp.source == Source::Oauth && newer {
        return true;
    }
    if old.stamp.source == Source::Oauth && old.stamp.taken_at > new.stamp.taken_at {
        return false;
    }
    // Rule 3: usage never falls inside a period, so the higher reading is the truth; an equal
    // one renews the stamp only if it is newer.
    match (old.percent(), new.percent()) {
        (Some(op), Some(np)) if np != op => np > op,
        _ => newer,
    }
}

/// Merges one window of two readings; each side keeps its own stamp.
fn merge_window(
    old: Option<Window>,
    new: Option<Window>,
    old_stamp: Stamp,
    new_stamp: Stamp,
    now: i64,
) -> Option<Window> {
    let stamped = |w: Window, s: Stamp| Stamped {
        window: w,
        stamp: w.at.unwrap_or(s),
    };
    let pinned = |s: Stamped| Window {
        at: Some(s.stamp),
        ..s.window
    };
    // Percentages outside 0–1000 are unreadable, from any source: no window at all.
    let old = old
        .filter(Window::is_readable)
        .map(|w| stamped(w, old_stamp));
    let new = new
        .filter(Window::is_readable)
        .map(|w| stamped(w, new_stamp));
    let winner = match (old, new) {
        (Some(o), Some(n)) => Some(if new_wins(&o, &n, now) { n } else { o }),
        (o, n) => n.or(o),
    };
    winner.map(pinned)
}

/// Folds a new reading into what was known (docs/DESIGN.md, "Merging readings": never lose a number,
/// never go back). Several Claude Code sessions share one account, and an idle one keeps
/// re-sending the numbers it last saw, so arrival order says nothing: per window, a later
/// period wins, inside a period the higher percentage wins, and an endpoint answer fetched
/// after the reading it replaces wins even if lower. Each window keeps the stamp of the reading
/// it came from. A reading that lacks a window (stdin often sends only `five_hour`) leaves the
/// stored one alone. Per-model windows and extra usage exist only in endpoint readings, so only
/// a newer endpoint reading replaces them (as a whole: a model it no longer lists is gone).
/// The result's own stamp is its newest number's. Pure; `now` only tells a passed reset.
pub fn merge(old: Option<&Snapshot>, new: &Snapshot, now: i64) -> Snapshot {
    let empty = Snapshot::new(new.source, i64::MIN);
    let old_snap = old.unwrap_or(&empty);
    let (os, ns) = (old_snap.stamp(), new.stamp());
    let mut merged = Snapshot {
        five_hour: merge_window(old_snap.five_hour, new.five_hour, os, ns, now),
        seven_day: merge_window(old_snap.seven_day, new.seven_day, os, ns, now),
        scoped: Vec::new(),
        extra: None,
        source: new.source,
        taken_at: new.taken_at,
    };
    let new_detail_is_newer =
        new.source == Source::Oauth && old_snap.detail_at().is_none_or(|t| t <= new.taken_at);
    let detail = if new_detail_is_newer || old.is_none() {
        new.stamped()
    } else {
        old_snap.stamped()
    };
    merged.scoped = detail.scoped;
    merged.extra = detail.extra;
    merged.scoped.retain(|sw| sw.window.is_readable());
    // The merged snapshot is as new as its newest number: a reading that renewed nothing does
    // not make old numbers look fresh (the refresh's due rules read this stamp).
    let stamps = [merged.five_hour.as_ref(), merged.seven_day.as_ref()]
        .into_iter()
        .flatten()
        .chain(merged.scoped.iter().map(|sw| &sw.window))
        .filter_map(|w| w.at)
        .chain(merged.extra.as_ref().and_then(|e| e.at));
    let newest = stamps.max_by_key(|s| s.taken_at).unwrap_or(
        if old.is_some_and(|o| o.taken_at > new.taken_at) {
            os
        } else {
            ns
        },
    );
    merged.source = newest.source;
    merged.taken_at = newest.taken_at;
    merged
}

/// Why newer numbers could not be had. Each has a short text for the line and a longer one
/// for `doctor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    NotLoggedIn,
    /// The endpoint answered 401.
    Relogin,
    TokenExpired,
    RateLimited,
    /// 403, or a token without the `user:profile` scope.
    NoUsageData,
    /// The endpoint answered with only nulls (API-plan or enterprise accounts).
    NoPlanLimits,
    /// 5xx, timeouts, unreadable bodies, connection errors.
    Unreachable,
    /// The credentials file or keychain item exists but could not be read.
    CredentialsUnreadable,
    /// A 200 whose JSON has none of the window keys (`{}`, an error object).
    UnexpectedAnswer,
    /// `security` says the keychain is locked (exit 36, no GUI to unlock it), or gave no answer
    /// in time (an unlock dialog is probably on screen).
    KeychainLocked,
    /// The keychain refused to hand over the item (exit 51, or the user pressed Deny).
    KeychainDenied,
}

impl Problem {
    /// The stable name used in `--json` (`state`).
    pub fn code(self) -> &'static str {
        match self {
            Problem::NotLoggedIn => "not_logged_in",
            Problem::Relogin => "relogin",
            Problem::TokenExpired => "token_expired",
            Problem::RateLimited => "rate_limited",
            Problem::NoUsageData => "no_usage_data",
            Problem::NoPlanLimits => "no_plan_limits",
            Problem::Unreachable => "unreachable",
            Problem::CredentialsUnreadable => "credentials_unreadable",
            Problem::UnexpectedAnswer => "unexpected_answer",
            Problem::KeychainLocked => "keychain_locked",
            Problem::KeychainDenied => "keychain_denied",
        }
    }

    /// What `doctor` says, with what to do about it.
    pub fn explain(self) -> &'static str {
        match self {
            Problem::NotLoggedIn => {
                "no Claude Code login found: run `claude` and /login (API-key users get estimates only)"
            }
            Problem::Relogin => {
                "the usage endpoint rejected the token (401): run /login in Claude Code"
            }
            Problem::TokenExpired => {
                "the OAuth token has expired; Claude Code refreshes it the next time it runs (ccmeter never does)"
            }
            Problem::RateLimited => {
                "the usage endpoint rate-limited us; ccmeter waits before asking again"
            }
            Problem::NoUsageData => {
                "this token cannot read usage (403 or missing user:profile scope, typical of CLAUDE_CODE_OAUTH_TOKEN); showing stdin data or estimates"
            }
            Problem::NoPlanLimits => {
                "the account has no plan windows (API plan or enterprise); showing estimates"
            }
            Problem::Unreachable => {
                "the usage endpoint could not be reached or answered garbage; retrying with backoff"
            }
            Problem::CredentialsUnreadable => {
                "Claude Code's credentials exist but could not be read (malformed file or keychain item)"
            }
            Problem::UnexpectedAnswer => {
                "the usage endpoint answered 200 with JSON that holds no usage windows (an empty or error object); retrying with backoff, last numbers kept"
            }
            Problem::KeychainLocked => {
                "the macOS keychain is locked (or an unlock dialog went unanswered): unlock it (log in at the Mac, or `security unlock-keychain`); ccmeter asks again in 1 min (15 min after an unanswered dialog)"
            }
            Problem::KeychainDenied => {
                "macOS refused to hand Claude Code's keychain item to /usr/bin/security (Deny was pressed, or the item's access list changed); ccmeter asks again in 1 h, or run `ccmeter doctor` after fixing it in Keychain Access"
            }
        }
    }
}

/// Parses an RFC 3339 timestamp to unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Unix seconds as RFC 3339 (UTC); `None` when out of range.
pub fn format_rfc3339(t: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// A number that may arrive as a JSON number or a string holding one.
pub fn lenient_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().and_then(finite),
        Value::String(s) => f64_from_str(s),
        _ => None,
    }
}

/// [`lenient_f64`] of a string: `"12.5"`, blanks around it allowed.
pub fn f64_from_str(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().and_then(finite)
}

fn finite(f: f64) -> Option<f64> {
    f.is_finite().then_some(f)
}

/// A timestamp that may be unix seconds (number or string), unix milliseconds, or RFC 3339.
pub fn lenient_time(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().and_then(time_from_f64),
        Value::String(s) => time_from_str(s),
        _ => None,
    }
}

/// [`lenient_time`] of a string: RFC 3339, or unix seconds or milliseconds as text.
pub fn time_from_str(s: &str) -> Option<i64> {
    parse_rfc3339(s.trim()).or_else(|| f64_from_str(s).and_then(time_from_f64))
}

/// [`lenient_time`] of a number: unix seconds, or milliseconds when it can only be those.
pub fn time_from_f64(f: f64) -> Option<i64> {
    let f = finite(f)?;
    // Anything past year 5000 in seconds is surely milliseconds.
    let secs = if f > 95_617_584_000.0 { f / 1000.0 } else { f };
    // Past year 9999 even as milliseconds (`1e308`): not a time at all.
    (secs.abs() <= 253_402_300_799.0).then_some(secs as i64)
}

/// No plan window resets more than a week ahead; a reset over a year away is a garbled field,
/// and showing it would print `↻106751991146514d`. Such a window's reset is unknown.
const MAX_RESET_AHEAD_S: i64 = 366 * 86_400;

/// A window's reset time as sent, or `None` when it is absurdly far ahead of `now`.
pub fn plausible_reset(resets_at: Option<i64>, now: i64) -> Option<i64> {
    resets_at.filter(|&t| t <= now.saturating_add(MAX_RESET_AHEAD_S))
}

/// What a usage endpoint body says.
// One value per request, moved once: boxing the snapshot would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointUsage {
    Windows(Snapshot),
    /// Every window was null: the account has no plan limits. Extra usage may still be there.
    NoPlanLimits(Option<Extra>),
    /// A JSON object with no window key at all (`{}`, an error object): not a usage body.
    Unexpected,
}

/// The flat per-model keys that really are model windows. Other `seven_day_*` keys
/// (`seven_day_oauth_apps`, code names) are not.
const FLAT_MODEL_KEYS: [(&str, &str); 2] =
    [("seven_day_opus", "opus"), ("seven_day_sonnet", "sonnet")];

/// A model's (or surface's) display name as the line shows it: lower-case, spaces as `-`, at
/// most 12 characters. An id such as `claude-opus-4-1` stands in for a missing display name by
/// its family word.
pub fn short_name(display: Option<&str>, id: Option<&str>) -> Option<String> {
    let from_id = || {
        let id = id?.trim().to_ascii_lowercase();
        let id = id.strip_prefix("claude-").unwrap_or(&id).to_string();
        id.split('-')
            .find(|part| !part.is_empty() && !part.starts_with(|c: char| c.is_ascii_digit()))
            .map(String::from)
    };
    let raw = display
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_lowercase)
        .or_else(from_id)?;
    let name: String = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .filter(|c| !c.is_control())
        .take(12)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The name of a `weekly_scoped` row: its model's, else its surface's.
fn scope_name(scope: &Value) -> Option<String> {
    let named = |v: Option<&Value>| -> Option<String> {
        let v = v?;
        if let Some(s) = v.as_str() {
            return short_name(Some(s), None);
        }
        short_name(
            v.get("display_name").and_then(Value::as_str),
            v.get("id").and_then(Value::as_str),
        )
    };
    named(scope.get("model")).or_else(|| named(scope.get("surface")))
}

/// A percentage the endpoint sent, when readable (values above 100 happen).
fn percent_value(v: Option<&Value>) -> Option<f64> {
    v.and_then(lenient_f64).and_then(readable_percent)
}

/// `extra_usage`: amounts arrive in the currency's minor units (`decimal_places`, 2 when
/// absent). Anything implausible leaves that part out rather than showing a wrong amount.
fn parse_extra(v: &Value) -> Option<Extra> {
    let o = v.as_object()?;
    let enabled = match o.get("is_enabled")? {
        Value::Bool(b) => *b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        _ => return None,
    };
    // An implausible `decimal_places` makes every amount a guess: they are left out, the rest
    // (enabled, utilization, currency) kept.
    let places = match o.get("decimal_places") {
        None | Some(Value::Null) => Some(2),
        Some(v) => lenient_f64(v)
            .filter(|p| (0.0..=4.0).contains(p) && p.fract() == 0.0)
            .map(|p| p as i32),
    };
    let currency = match o.get("currency") {
        None | Some(Value::Null) => "USD".to_string(),
        Some(Value::String(c)) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        Some(_) => return None,
    };
    // A month of credits beyond a billion is not a reading, it is garbage.
    let amount = |k: &str| {
        let scale = 10f64.powi(places?);
        lenient_f64(o.get(k)?)
            .filter(|a| (0.0..1e11).contains(a))
            .map(|a| a / scale)
    };
    Some(Extra {
        enabled,
        spent: amount("used_credits"),
        limit: amount("monthly_limit").filter(|l| *l > 0.0),
        percent: percent_value(o.get("utilization")),
        currency,
        at: None,
    })
}

/// Parses a 200 body of `/api/oauth/usage`: flat windows (`five_hour`, `seven_day`,
/// `seven_day_opus`/`seven_day_sonnet`) and/or `limits[]`, plus `extra_usage`. `limits[]` rows
/// win over flat keys (their severity belongs with their number), and when `limits[]` is there
/// the flat model keys are ignored, so a model is never listed twice. `None` when the body is
/// not a JSON object at all.
pub fn parse_endpoint(body: &[u8], now: i64) -> Option<EndpointUsage> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let flat = |w: &Value| -> Option<Window> {
        let o = w.as_object()?;
        let p = percent_value(o.get("utilization"))?;
        Some(Window::percent(
            p,
            plausible_reset(o.get("resets_at").and_then(lenient_time), now),
        ))
    };
    let mut snap = Snapshot::new(Source::Oauth, now);
    snap.five_hour = obj.get("five_hour").and_then(flat);
    snap.seven_day = obj.get("seven_day").and_then(flat);
    snap.extra = obj.get("extra_usage").and_then(parse_extra);
    match obj.get("limits").and_then(Value::as_array) {
        Some(limits) => {
            for l in limits {
                let Some(p) = percent_value(l.get("percent")) else {
                    continue;
                };
                let reset = plausible_reset(l.get("resets_at").and_then(lenient_time), now);
                let mut w = Window::percent(p, reset);
                w.severity = l.get("severity").and_then(Severity::parse);
                match l.get("kind").and_then(Value::as_str) {
                    Some("session") => snap.five_hour = Some(w),
                    Some("weekly_all") => snap.seven_day = Some(w),
                    Some("weekly_scoped") => {
                        let Some(name) = l.get("scope").and_then(scope_name) else {
                            continue;
                        };
                        if snap.scoped.iter().any(|s| s.name == name) {
                            continue;
                        }
                        snap.scoped.push(ScopedWindow {
                            name,
                            window: w,
                            is_active: l.get("is_active").and_then(Value::as_bool) == Some(true),
                        });
                    }
                    _ => {}
                }
            }
        }
        None => {
            for (key, name) in FLAT_MODEL_KEYS {
                if let Some(window) = obj.get(key).and_then(flat) {
                    snap.scoped.push(ScopedWindow {
                        name: name.to_string(),
                        window,
                        is_active: false,
                    });
                }
            }
        }
    }
    // "No plan limits" is a body that names its windows and nulls every one. Windows that are
    // there but unreadable (`{}`, `5`, a renamed field) are an answer we did not expect: a
    // transient backoff, not six hours of "no plan limits".
    if snap.is_empty() && !windows_all_null(obj) {
        return Some(EndpointUsage::Unexpected);
    }
    Some(if snap.is_empty() {
        EndpointUsage::NoPlanLimits(snap.extra)
    } else {
        EndpointUsage::Windows(snap)
    })
}

/// Whether a body names at least one window and every window it names is null (`limits` empty):
/// "no plan limits". `{}` or an error object names none; `{"five_hour":{}}` names one that is
/// not null but unreadable.
fn windows_all_null(obj: &serde_json::Map<String, Value>) -> bool {
    let mut windows = obj.iter().filter(|(k, _)| {
        matches!(k.as_str(), "five_hour" | "seven_day" | "limits") || k.starts_with("seven_day_")
    });
    let mut any = false;
    let all_null = windows.all(|(_, v)| {
        any = true;
        match v {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            _ => false,
        }
    });
    any && all_null
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000;

    fn parse(name: &str) -> EndpointUsage {
        let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        parse_endpoint(&std::fs::read(path).unwrap(), NOW).unwrap()
    }

    #[test]
    fn flat_body_keeps_main_and_model_windows() {
        let EndpointUsage::Windows(s) = parse("usage-flat.json") else {
            panic!()
        };
        assert_eq!(s.five_hour.unwrap().used, Used::Percent(61.0));
        assert_eq!(
            s.five_hour.unwrap().resets_at,
            parse_rfc3339("2026-11-23T19:00:00Z")
        );
        assert_eq!(s.seven_day.unwrap().used, Used::Percent(23.0));
        assert_eq!(s.scoped.len(), 1);
        assert_eq!(s.scoped[0].name, "sonnet");
        assert_eq!(s.source, Source::Oauth);
    }

    #[test]
    fn limits_only_body_maps_kinds() {
        let EndpointUsage::Windows(s) = parse("usage-limits-only.json") else {
            panic!()
        };
        assert_eq!(s.five_hour.unwrap().used, Used::Percent(12.0));
        assert_eq!(s.seven_day.unwrap().used, Used::Percent(48.0));
        assert_eq!(s.scoped[0].name, "opus");
        assert_eq!(s.scoped[0].window.used, Used::Percent(91.0));
    }

    #[test]
    fn all_null_body_means_no_plan_limits() {
        // The account has no plan windows; its extra usage still comes through.
        let EndpointUsage::NoPlanLimits(Some(extra)) = parse("usage-all-null.json") else {
            panic!()
        };
        assert_eq!((extra.spent, extra.limit), (Some(12.5), Some(500.0)));
    }

    #[test]
    fn objects_without_window_keys_are_unexpected() {
        for body in [
            &br#"{"five_hour":{},"seven_day":{}}"#[..],
            br#"{"five_hour":5}"#,
            br#"{"five_hour":{"resets_at":"2026-11-18T12:00:00Z"},"seven_day":null}"#,
            br#"{"five_hour":{"utilization":"abc"}}"#,
            br#"{"limits":[{"kind":"session"}]}"#,
            b"{}",
            br#"{"error":{"type":"rate_limit_error","message":"x"}}"#,
            br#"{"type":"error","error":{"type":"api_error"}}"#,
        ] {
            assert_eq!(parse_endpoint(body, NOW), Some(EndpointUsage::Unexpected));
        }
        for body in [
            &br#"{"five_hour":null}"#[..],
            br#"{"seven_day_opus":null,"extra_usage":null}"#,
            br#"{"limits":[]}"#,
        ] {
            assert_eq!(
                parse_endpoint(body, NOW),
                Some(EndpointUsage::NoPlanLimits(None))
            );
        }
    }

    #[test]
    fn null_reset_is_kept_as_unknown() {
        let EndpointUsage::Windows(s) = parse("usage-window-no-reset.json") else {
            panic!()
        };
        assert_eq!(s.five_hour.unwrap(), Window::percent(0.0, None));
    }

    #[test]
    fn garbage_bodies_are_none() {
        assert_eq!(parse_endpoint(b"<html>", NOW), None);
        assert_eq!(parse_endpoint(b"{\"five_hour\":{\"utiliz", NOW), None);
        assert_eq!(parse_endpoint(b"[]", NOW), None);
    }

    #[test]
    fn absurd_reset_times_are_unknown() {
        for t in ["1e308", "-1e308", "9.3e18", "1e300"] {
            let v: Value = serde_json::from_str(t).unwrap();
            assert_eq!(lenient_time(&v), None, "{t}");
        }
        assert_eq!(
            plausible_reset(Some(NOW + 8 * 86_400), NOW),
            Some(NOW + 8 * 86_400)
        );
        assert_eq!(plausible_reset(Some(NOW + 400 * 86_400), NOW), None);
        assert_eq!(plausible_reset(Some(i64::MAX), i64::MAX), Some(i64::MAX));
        let body = br#"{"five_hour":{"utilization":5,"resets_at":"9999-12-31T23:59:59Z"},
            "limits":[{"kind":"weekly_all","percent":7,"resets_at":1e308}]}"#;
        let Some(EndpointUsage::Windows(s)) = parse_endpoint(body, NOW) else {
            panic!()
        };
        assert_eq!(s.five_hour, Some(Window::percent(5.0, None)));
        assert_eq!(s.seven_day, Some(Window::percent(7.0, None)));
    }

    #[test]
    fn lenient_numbers_and_times() {
        assert_eq!(lenient_f64(&Value::from("61.5")), Some(61.5));
        assert_eq!(lenient_f64(&Value::from("x")), None);
        assert_eq!(
            lenient_time(&Value::from(1_795_000_000_000i64)),
            Some(1_795_000_000)
        );
        assert_eq!(
            lenient_time(&Value::from("1795000000")),
            Some(1_795_000_000)
        );
        assert_eq!(
            lenient_time(&Value::from("2026-11-23T19:00:00+00:00")),
            parse_rfc3339("2026-11-23T19:00:00Z")
        );
    }

    fn windows(path: &str) -> Snapshot {
        match parse(path) {
            EndpointUsage::Windows(s) => s,
            other => panic!("{path}: {other:?}"),
        }
    }

    /// name, percent, severity, is_active of every per-model window.
    fn scoped_summary(s: &Snapshot) -> Vec<(String, f64, Option<Severity>, bool)> {
        s.scoped
            .iter()
            .map(|sw| {
                let Used::Percent(p) = sw.window.used else {
                    panic!()
                };
                (sw.name.clone(), p, sw.window.severity, sw.is_active)
            })
            .collect()
    }

    #[test]
    fn limits_win_over_flat_model_keys_and_carry_severity() {
        let s = windows("usage-scoped-binding.json");
        // The flat seven_day_opus (93) is not listed beside the limits[] row (95).
        assert_eq!(
            scoped_summary(&s),
            vec![("opus".into(), 95.0, Some(Severity::Critical), true)]
        );
        assert_eq!(s.seven_day.unwrap().severity, Some(Severity::Normal));
    }

    #[test]
    fn captured_bodies_parse_as_their_tools_expected() {
        // edpaget/edmacs, captured 2026-09-03: Fable weekly row, weekly_all graded "warning".
        let s = windows("captured/usage-captured-edmacs-2026-09-03.json");
        assert_eq!(s.five_hour.unwrap().used, Used::Percent(24.0));
        assert_eq!(s.seven_day.unwrap().used, Used::Percent(83.0));
        assert_eq!(s.seven_day.unwrap().severity, Some(Severity::Warning));
        assert_eq!(
            scoped_summary(&s),
            vec![("fable".into(), 36.0, Some(Severity::Normal), false)]
        );
        assert_eq!(s.extra.as_ref().map(|e| e.enabled), Some(false));
        // Swift decoder test, captured 2026-06-11: extra usage in cents (their test: "$27.63 of $100").
        let s = windows("captured/usage-captured-extra-usage-enabled-2026-06-11.json");
        let e = s.extra.clone().unwrap();
        assert_eq!(
            (e.spent, e.limit, e.percent),
            (Some(27.63), Some(100.0), Some(27.63))
        );
        assert_eq!(e.spent_text().as_deref(), Some("$27.63/$100"));
        assert_eq!(
            scoped_summary(&s),
            vec![("sonnet".into(), 0.0, None, false)]
        );
        // Cut-down capture, 2026-10-03: spent beyond the cap ("$100.03 of $100.00").
        let s = windows("captured/usage-captured-cutdown-over-limit-2026-10-03.json");
        assert_eq!(
            s.extra.unwrap().spent_text().as_deref(),
            Some("$100.03/$100")
        );
        // Every other captured body parses without losing its main windows.
        for name in [
            "captured/usage-captured-swiftdecoder-2026-06-11.json",
            "captured/usage-captured-swiftdecoder-2026-09-14.json",
            "captured/usage-captured-bun-2026-07-14.json",
            "captured/usage-captured-codexbar-oauth-2026-07-03.json",
        ] {
            let s = windows(name);
            assert!(s.five_hour.is_some() && s.seven_day.is_some(), "{name}");
            assert!(s.scoped.iter().all(|w| w.name != "oauth_apps"), "{name}");
        }
    }

    #[test]
    fn extra_usage_amounts_are_minor_units() {
        let e = windows("usage-extra-spending.json").extra.unwrap();
        assert_eq!(e.currency, "EUR");
        assert_eq!(e.spent_text().as_deref(), Some("€12.34/€50"));
        let e = windows("usage-edge-odd-currency.json").extra.unwrap();
        assert_eq!(e.spent_text().as_deref(), Some("42 CHF/200 CHF"));
        let mut e = e;
        e.limit = None;
        e.currency = "GBP".into();
        e.spent = Some(0.5);
        assert_eq!(e.spent_text().as_deref(), Some("£0.50"));
        // Disabled or all-null objects are kept as they are: nothing to show, nothing guessed.
        assert!(
            windows("usage-flat.json")
                .extra
                .is_some_and(|e| !e.enabled && e.spent.is_none())
        );
        let body = br#"{"five_hour":{"utilization":1},"extra_usage":{"is_enabled":true,"used_credits":500,"decimal_places":0}}"#;
        let Some(EndpointUsage::Windows(s)) = parse_endpoint(body, NOW) else {
            panic!()
        };
        assert_eq!(s.extra.unwrap().spent, Some(500.0));
    }

    #[test]
    fn bad_parts_are_left_out_and_the_rest_kept() {
        let s = windows("usage-edge-bad-parts.json");
        assert_eq!(s.five_hour.unwrap().used, Used::Percent(37.5));
        assert_eq!(s.seven_day, None);
        // No scope, null or negative percent, unknown kind: skipped. A model without a display
        // name is named by its id; an unknown severity is no severity; a surface row is named by
        // the surface, cut to 12 characters. The flat seven_day_opus is ignored beside limits[].
        assert_eq!(
            scoped_summary(&s),
            vec![
                ("haiku".into(), 64.0, None, false),
                ("claude-deskt".into(), 12.0, None, false),
            ]
        );
        // Absurd or negative amounts are left out; a currency nobody knows is still a currency.
        let e = s.extra.unwrap();
        assert_eq!(
            (e.spent, e.limit, e.percent, e.currency.as_str()),
            (None, None, Some(41.5), "ZZZ")
        );
        // A currency that is no ISO code at all: no extra usage rather than a wrong one.
        let body = br#"{"five_hour":{"utilization":1},"extra_usage":{"is_enabled":true,"used_credits":5,"currency":"$$"}}"#;
        let Some(EndpointUsage::Windows(s)) = parse_endpoint(body, NOW) else {
            panic!()
        };
        assert_eq!(s.extra, None);
        let body = br#"{"five_hour":{"utilization":1},"extra_usage":{"is_enabled":true,"used_credits":1e300,"monthly_limit":-5,"utilization":-3}}"#;
        let Some(EndpointUsage::Windows(s)) = parse_endpoint(body, NOW) else {
            panic!()
        };
        let e = s.extra.unwrap();
        assert_eq!((e.spent, e.limit, e.percent), (None, None, None));
        assert_eq!(e.spent_text(), None);
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name(Some("Opus"), None).as_deref(), Some("opus"));
        assert_eq!(
            short_name(Some(" Claude  Code Web App "), None).as_deref(),
            Some("claude-code-")
        );
        assert_eq!(
            short_name(None, Some("claude-opus-4-1")).as_deref(),
            Some("opus")
        );
        assert_eq!(
            short_name(Some(""), Some("claude-4-sonnet")).as_deref(),
            Some("sonnet")
        );
        assert_eq!(short_name(None, None), None);
    }

    fn reading(source: Source, at: i64, five: Option<f64>, seven: Option<f64>) -> Snapshot {
        let mut s = Snapshot::new(source, at);
        s.five_hour = five.map(|p| Window::percent(p, Some(NOW + 3600)));
        s.seven_day = seven.map(|p| Window::percent(p, Some(NOW + 86_400)));
        s
    }

    #[test]
    fn merge_keeps_each_window_from_its_newest_reading() {
        let mut oauth = reading(Source::Oauth, NOW - 300, Some(10.0), Some(50.0));
        oauth.scoped.push(ScopedWindow {
            name: "fable".into(),
            window: Window::percent(100.0, Some(NOW + 86_400)),
            is_active: true,
        });
        // Claude Code sends only five_hour: the stored 7d and the per-model window stay, each
        // with its own reading time.
        let stdin = reading(Source::Stdin, NOW, Some(12.0), None);
        let m = merge(Some(&oauth), &stdin, NOW);
        assert_eq!(m.five_hour.unwrap().used, Used::Percent(12.0));
        assert_eq!(m.stamp_of(&m.five_hour.unwrap()).taken_at, NOW);
        assert_eq!(m.seven_day.unwrap().used, Used::Percent(50.0));
        assert_eq!(
            m.stamp_of(&m.seven_day.unwrap()),
            Stamp {
                source: Source::Oauth,
                taken_at: NOW - 300
            }
        );
        assert_eq!(m.scoped.len(), 1);
        assert_eq!((m.source, m.taken_at), (Source::Stdin, NOW));
        assert_eq!(m.detail_at(), Some(NOW - 300));
        // An endpoint answer older than a stdin reading does not overwrite its windows, but
        // does bring the per-model windows it lists (and drops the ones it no longer lists).
        let late = reading(Source::Oauth, NOW - 10, Some(11.0), Some(51.0));
        let m2 = merge(Some(&m), &late, NOW);
        assert_eq!(m2.five_hour.unwrap().used, Used::Percent(12.0));
        assert_eq!(m2.seven_day.unwrap().used, Used::Percent(51.0));
        assert!(m2.scoped.is_empty());
        assert_eq!((m2.source, m2.taken_at), (Source::Stdin, NOW));
        // A stdin reading never erases per-model windows or extra usage.
        let m3 = merge(
            Some(&m),
            &reading(Source::Stdin, NOW + 5, None, Some(60.0)),
            NOW,
        );
        assert_eq!(m3.scoped, m.scoped);
        // Merging is stable: the same reading twice changes nothing.
        assert_eq!(merge(Some(&m3), &m3, NOW), m3);
    }

    /// One 5-hour reading for the merge table: percent, reset (relative to NOW; `None` unknown),
    /// source, and when it was taken (relative to NOW).
    fn five(p: f64, reset: Option<i64>, source: Source, at: i64) -> Snapshot {
        let mut s = Snapshot::new(source, NOW + at);
        s.five_hour = Some(Window::percent(p, reset.map(|r| NOW + r)));
        s
    }

    const STDIN: Source = Source::Stdin;
    const OAUTH: Source = Source::Oauth;
    const H: i64 = 3600;

    /// docs/DESIGN.md's "Merging readings", rule by rule and edge by edge: which reading's 5-hour
    /// number is the truth, and the stamp it keeps.
    #[test]
    fn merge_table() {
        let r = Some(2 * H);
        #[rustfmt::skip]
        let cases: &[(&str, Snapshot, Snapshot, (f64, i64))] = &[
            // Rule 1: a reading whose reset has passed says nothing about the current period.
            ("idle session's ended period (re-send)",
                five(59.0, r, STDIN, -60), five(80.0, Some(-600), STDIN, -2 * H), (59.0, -60)),
            ("ended period even as news",
                five(59.0, r, STDIN, -60), five(30.0, Some(-600), STDIN, 0), (59.0, -60)),
            ("a current period replaces an ended one",
                five(90.0, Some(-600), OAUTH, -H), five(5.0, Some(5 * H - 600), STDIN, 0), (5.0, 0)),
            ("reset passed against no reset known",
                five(0.0, None, OAUTH, -100), five(70.0, Some(-60), STDIN, 0), (0.0, -100)),
            // Rule 2: a later period wins, even if lower; an earlier one never replaces it.
            ("later period wins though lower",
                five(95.0, Some(H), STDIN, -60), five(3.0, Some(6 * H), STDIN, -30), (3.0, -30)),
            ("earlier period never replaces a later one",
                five(3.0, Some(6 * H), STDIN, -60), five(95.0, Some(H), STDIN, 0), (3.0, -60)),
            // The ±1 h tolerance: the same period, so the higher number wins.
            ("resets 59 min apart: same period",
                five(60.0, r, STDIN, -60), five(50.0, Some(2 * H + 3540), STDIN, 0), (60.0, -60)),
            ("resets exactly 1 h apart: same period",
                five(60.0, r, STDIN, -60), five(50.0, Some(3 * H), STDIN, 0), (60.0, -60)),
            ("resets 1 h 1 s apart: a later period",
                five(60.0, r, STDIN, -60), five(50.0, Some(3 * H + 1), STDIN, 0), (50.0, 0)),
            // Rule 3: inside a period the highest wins and keeps its own stamp.
            ("idle session's lower number",
                five(59.0, r, STDIN, -60), five(30.0, r, STDIN, 0), (59.0, -60)),
            ("higher news",
                five(40.0, r, STDIN, -60), five(59.0, r, STDIN, 0), (59.0, 0)),
            ("stdin's integer against the endpoint's decimal",
                five(42.4, r, OAUTH, -100), five(42.0, r, STDIN, 0), (42.4, -100)),
            ("equal percentage from a newer reading renews the stamp",
                five(59.0, r, STDIN, -120), five(59.0, r, STDIN, 0), (59.0, 0)),
            ("equal percentage from an older reading (re-send) renews nothing",
                five(59.0, r, STDIN, -60), five(59.0, r, STDIN, -600), (59.0, -60)),
            // Rule 4: an endpoint answer fetched after the reading it replaces wins even if lower.
            ("endpoint lower and newer",
                five(59.0, r, STDIN, -100), five(40.0, r, OAUTH, 0), (40.0, 0)),
            ("endpoint lower and older (fetched while stdin spoke)",
                five(59.0, r, STDIN, 0), five(40.0, r, OAUTH, -10), (59.0, 0)),
            ("endpoint after endpoint",
                five(59.0, r, OAUTH, -300), five(40.0, r, OAUTH, 0), (40.0, 0)),
            ("a re-send older than the endpoint's answer does not undo it",
                five(40.0, r, OAUTH, -100), five(59.0, r, STDIN, -900), (40.0, -100)),
            ("news after the endpoint's answer: highest again",
                five(40.0, r, OAUTH, -100), five(41.0, r, STDIN, 0), (41.0, 0)),
            // Rule 5: no period known, the newest reading wins.
            ("no reset on the new reading",
                five(59.0, r, STDIN, -60), five(10.0, None, OAUTH, 0), (10.0, 0)),
            ("no reset on either, the older arrives last",
                five(10.0, None, OAUTH, -60), five(50.0, None, STDIN, -600), (10.0, -60)),
            // The clock stepped back: a stored reading dated after now stays the newer one.
            ("clock stepped back: equal news renews nothing",
                five(59.0, r, STDIN, H), five(59.0, r, STDIN, 0), (59.0, H)),
            ("clock stepped back: the endpoint was not fetched after it",
                five(59.0, r, STDIN, H), five(40.0, r, OAUTH, 0), (59.0, H)),
            ("clock stepped back: higher news still wins",
                five(59.0, r, STDIN, H), five(61.0, r, STDIN, 0), (61.0, 0)),
            // Unreadable percentages, from any source, are no reading.
            ("-50 on stdin", five(59.0, r, STDIN, -60), five(-50.0, r, STDIN, 0), (59.0, -60)),
            ("-0.5 on stdin", five(59.0, r, STDIN, -60), five(-0.5, r, STDIN, 0), (59.0, -60)),
            ("1e308 on stdin", five(59.0, r, STDIN, -60), five(1e308, r, STDIN, 0), (59.0, -60)),
            ("100000 from the endpoint",
                five(59.0, r, STDIN, -60), five(100_000.0, r, OAUTH, 0), (59.0, -60)),
            ("NaN", five(59.0, r, STDIN, -60), five(f64::NAN, r, STDIN, 0), (59.0, -60)),
            ("an absurd stored number is replaced",
                five(1e308, r, STDIN, -60), five(12.0, r, STDIN, 0), (12.0, 0)),
            ("1000 is still a reading",
                five(59.0, r, STDIN, -60), five(1000.0, r, STDIN, 0), (1000.0, 0)),
        ];
        for (name, old, new, (p, at)) in cases {
            let m = merge(Some(old), new, NOW);
            let w = m.five_hour.unwrap_or_else(|| panic!("{name}: no window"));
            assert_eq!(w.used, Used::Percent(*p), "{name}");
            assert_eq!(m.stamp_of(&w).taken_at, NOW + at, "{name}");
            // The merged snapshot is as new as its newest number.
            assert_eq!(m.taken_at, NOW + at, "{name}");
            // Merging the result again changes nothing.
            assert_eq!(merge(Some(&m), new, NOW), m, "{name}: not stable");
        }
        // Nothing readable at all: no window, and nothing invented.
        let m = merge(None, &five(-50.0, r, STDIN, 0), NOW);
        assert_eq!(m.five_hour, None);
    }

    #[test]
    fn merge_keeps_the_winners_reset_and_source() {
        // The endpoint's decimal wins over stdin's integer; its reset and severity come along.
        let mut oauth = five(42.4, Some(2 * H + 20), OAUTH, -100);
        oauth.five_hour.as_mut().unwrap().severity = Some(Severity::Warning);
        let m = merge(Some(&oauth), &five(42.0, Some(2 * H), STDIN, 0), NOW);
        let w = m.five_hour.unwrap();
        assert_eq!(w.resets_at, Some(NOW + 2 * H + 20));
        assert_eq!(w.severity, Some(Severity::Warning));
        assert_eq!((m.source, m.taken_at), (OAUTH, NOW - 100));
    }

    #[test]
    fn history_records_the_merged_numbers_of_the_readings_windows() {
        let mut stored = reading(Source::Oauth, NOW - 100, Some(42.4), Some(20.0));
        stored.scoped.push(ScopedWindow {
            name: "opus".into(),
            window: Window::percent(91.0, Some(NOW + 86_400)),
            is_active: false,
        });
        let stdin = reading(Source::Stdin, NOW, Some(42.0), None);
        let point = merge(Some(&stored), &stdin, NOW).as_of(&stdin);
        assert_eq!(point.five_hour.unwrap().used, Used::Percent(42.4));
        assert_eq!((point.seven_day, point.scoped.len()), (None, 0));
        assert_eq!((point.source, point.taken_at), (Source::Stdin, NOW));
    }
}
