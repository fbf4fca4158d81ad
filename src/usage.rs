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
}

impl Window {
    pub fn percent(percent: f64, resets_at: Option<i64>) -> Window {
        Window {
            used: Used::Percent(percent),
            resets_at,
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
}

/// A window the endpoint reports for one model only (e.g. weekly Opus).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopedWindow {
    pub name: String,
    pub window: Window,
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

/// Usage at one moment from one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub five_hour: Option<Window>,
    pub seven_day: Option<Window>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scoped: Vec<ScopedWindow>,
    pub source: Source,
    /// Unix seconds.
    pub taken_at: i64,
}

impl Snapshot {
    pub fn is_empty(&self) -> bool {
        self.five_hour.is_none() && self.seven_day.is_none() && self.scoped.is_empty()
    }

    /// Same numbers, whenever they were taken.
    pub fn same_numbers(&self, other: &Snapshot) -> bool {
        self.five_hour == other.five_hour
            && self.seven_day == other.seven_day
            && self.scoped == other.scoped
            && self.source == other.source
    }
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
                "Claude Code's credentials exist but could not be read (malformed file or keychain access denied)"
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
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// A timestamp that may be unix seconds (number or string), unix milliseconds, or RFC 3339.
pub fn lenient_time(v: &Value) -> Option<i64> {
    if let Value::String(s) = v
        && let Some(t) = parse_rfc3339(s.trim())
    {
        return Some(t);
    }
    let f = lenient_f64(v)?;
    // Anything past year 5000 in seconds is surely milliseconds.
    let secs = if f > 95_617_584_000.0 { f / 1000.0 } else { f };
    Some(secs as i64)
}

/// What a usage endpoint body says.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointUsage {
    Windows(Snapshot),
    /// Every window was null: the account has no plan limits.
    NoPlanLimits,
}

/// Parses a 200 body of `/api/oauth/usage`: flat windows (`five_hour`, `seven_day`, per-model
/// `seven_day_*`) and/or `limits[]`. `None` when the body is not a JSON object at all.
pub fn parse_endpoint(body: &[u8], now: i64) -> Option<EndpointUsage> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let flat = |w: &Value| -> Option<Window> {
        let o = w.as_object()?;
        let p = lenient_f64(o.get("utilization")?)?;
        Some(Window::percent(
            p,
            o.get("resets_at").and_then(lenient_time),
        ))
    };
    let mut snap = Snapshot {
        five_hour: obj.get("five_hour").and_then(flat),
        seven_day: obj.get("seven_day").and_then(flat),
        scoped: Vec::new(),
        source: Source::Oauth,
        taken_at: now,
    };
    for (key, w) in obj {
        if let Some(model) = key.strip_prefix("seven_day_")
            && let Some(window) = flat(w)
        {
            snap.scoped.push(ScopedWindow {
                name: format!("7d {model}"),
                window,
            });
        }
    }
    if let Some(limits) = obj.get("limits").and_then(Value::as_array) {
        for l in limits {
            let Some(p) = l.get("percent").and_then(lenient_f64) else {
                continue;
            };
            let w = Window::percent(p, l.get("resets_at").and_then(lenient_time));
            match l.get("kind").and_then(Value::as_str) {
                Some("session") => snap.five_hour = snap.five_hour.or(Some(w)),
                Some("weekly_all") => snap.seven_day = snap.seven_day.or(Some(w)),
                Some("weekly_scoped") => {
                    let model = l
                        .pointer("/scope/model/display_name")
                        .or_else(|| l.pointer("/scope/model/id"))
                        .and_then(Value::as_str)
                        .unwrap_or("scoped");
                    let model = model.to_lowercase();
                    snap.scoped.push(ScopedWindow {
                        name: format!("7d {model}"),
                        window: w,
                    });
                }
                _ => {}
            }
        }
    }
    Some(if snap.is_empty() {
        EndpointUsage::NoPlanLimits
    } else {
        EndpointUsage::Windows(snap)
    })
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
        assert_eq!(s.scoped[0].name, "7d sonnet");
        assert_eq!(s.source, Source::Oauth);
    }

    #[test]
    fn limits_only_body_maps_kinds() {
        let EndpointUsage::Windows(s) = parse("usage-limits-only.json") else {
            panic!()
        };
        assert_eq!(s.five_hour.unwrap().used, Used::Percent(12.0));
        assert_eq!(s.seven_day.unwrap().used, Used::Percent(48.0));
        assert_eq!(s.scoped[0].name, "7d opus");
        assert_eq!(s.scoped[0].window.used, Used::Percent(91.0));
    }

    #[test]
    fn all_null_body_means_no_plan_limits() {
        assert_eq!(parse("usage-all-null.json"), EndpointUsage::NoPlanLimits);
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
}
