//! The OAuth usage endpoint: one bounded GET, and a pure classification of whatever came back.
//!
//! The request is deliberately paranoid because it carries the user's token: https only (plain
//! http only to a loopback test server), no redirects, a 6 s deadline that includes connecting,
//! and a 1 MiB cap on the body.
//!
//! It also says it is Claude Code: the endpoint serves Claude Code's user agent and answers
//! every other one with `429` and `retry-after: 0`, for hours (anthropics/claude-code#30930,
//! #31021; fixed that way in jarrodwatts/claude-hud#168/#177 and sirmalloc/ccstatusline#222). The
//! suffix is Claude Code's own `client-app/` slot, so the request still says who sends it.

use crate::credentials::Token;
use crate::usage::{EndpointUsage, Extra, Snapshot, parse_endpoint};

/// Total time for connect + request + response.
pub const DEADLINE_S: u64 = 6;
/// Bodies beyond this are not usage data.
pub const MAX_BODY: usize = 1024 * 1024;

/// The Claude Code version ccmeter was last tested against (the real client in
/// `scripts/e2e-claude-code.sh`, whose statusLine stdin is `fixtures/statusline-captured-claude-code.json`):
/// the User-Agent's version until a status line has told us the user's own.
pub const TESTED_CLAUDE_CODE_VERSION: &str = "2.1.197";

/// `claude-code/<version> (client-app/ccmeter/<ccmeter version>)`: Claude Code's user agent
/// with the slot apps built on Claude Code name themselves in.
pub fn user_agent(claude_code_version: Option<&str>) -> String {
    format!(
        "claude-code/{} (client-app/ccmeter/{})",
        claude_code_version.unwrap_or(TESTED_CLAUDE_CODE_VERSION),
        env!("CARGO_PKG_VERSION")
    )
}

/// What one request taught us.
// One value per request, moved once: boxing the snapshot would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Usage(Snapshot),
    /// Every plan window null; the body's extra usage, if any.
    NoPlanLimits(Option<Extra>),
    /// A 200 whose JSON holds no window keys (`{}`, an error object).
    Unexpected,
    /// 401: the token is rejected.
    Unauthorized,
    /// 403: the token cannot read usage.
    Forbidden,
    /// 429, with the server's Retry-After in seconds from now if it gave a usable one.
    RateLimited {
        retry_after: Option<i64>,
    },
    /// Anything transient: 5xx, timeouts, connection errors, garbage bodies. The text is for
    /// `doctor` and never contains the token.
    Failed(String),
}

/// `{base}/api/oauth/usage`, or why the base may not receive a token.
pub fn usage_url(base: &str) -> Result<String, String> {
    let base = base.trim_end_matches('/');
    let allowed = match base.strip_prefix("http://") {
        Some(rest) => is_loopback(rest.split('/').next().unwrap_or("")),
        None => base.starts_with("https://"),
    };
    if !allowed {
        return Err(format!(
            "refusing to send the token to {base}: only https (or http to loopback) is allowed"
        ));
    }
    Ok(format!("{base}/api/oauth/usage"))
}

/// `authority` is `host[:port]`; loopback means `localhost`, `[::1]` or an address in 127/8
/// (parsed, so `127.0.0.1.example.com` is not loopback).
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => return v6.split(']').next() == Some("::1"),
        None => authority.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Performs the request. Only this function and `Token::authorize` see the token.
pub fn fetch(token: &Token, base: &str, user_agent: &str, now: i64) -> Outcome {
    let url = match usage_url(base) {
        Ok(u) => u,
        Err(e) => return Outcome::Failed(e),
    };
    let request = minreq::get(url)
        .with_header("anthropic-beta", "oauth-2025-04-20")
        .with_header("Accept", "application/json")
        .with_header("User-Agent", user_agent)
        .with_timeout(DEADLINE_S)
        .with_follow_redirects(false)
        .with_max_headers_size(64 * 1024);
    let response = match token.authorize(request).send_lazy() {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(network_error(&e)),
    };
    let status = response.status_code;
    let retry_after = response.headers.get("retry-after").cloned();
    let mut body = Vec::new();
    for byte in response {
        match byte {
            Ok((b, _)) if body.len() < MAX_BODY => body.push(b),
            Ok(_) => return Outcome::Failed(format!("HTTP {status}: body larger than 1 MiB")),
            Err(e) => return Outcome::Failed(network_error(&e)),
        }
    }
    classify(status, retry_after.as_deref(), &body, now)
}

fn network_error(e: &minreq::Error) -> String {
    match e {
        minreq::Error::IoError(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            "timed out".into()
        }
        minreq::Error::IoError(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
            "timed out".into()
        }
        // minreq's messages name hosts and causes, never headers.
        other => other.to_string(),
    }
}

/// Pure: status, Retry-After and body into an outcome.
pub fn classify(status: i32, retry_after: Option<&str>, body: &[u8], now: i64) -> Outcome {
    match status {
        200 => match parse_endpoint(body, now) {
            Some(EndpointUsage::Windows(s)) => Outcome::Usage(s),
            Some(EndpointUsage::NoPlanLimits(extra)) => Outcome::NoPlanLimits(extra),
            // The endpoint was reached and answered: not "unreachable", whatever the body is.
            Some(EndpointUsage::Unexpected) | None => Outcome::Unexpected,
        },
        401 => Outcome::Unauthorized,
        403 => Outcome::Forbidden,
        429 => Outcome::RateLimited {
            retry_after: retry_after.and_then(|v| parse_retry_after(v, now)),
        },
        300..=399 => Outcome::Failed(format!("HTTP {status}: redirect not followed")),
        _ => Outcome::Failed(format!("HTTP {status}")),
    }
}

/// Retry-After as delta-seconds or an HTTP date, in seconds from `now`. `0` and dates in the
/// past are "unknown", not "now": the caller's minimum applies.
pub fn parse_retry_after(value: &str, now: i64) -> Option<i64> {
    let value = value.trim();
    let secs = match value.parse::<i64>() {
        Ok(secs) => secs,
        Err(_) => {
            let at =
                time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
                    .ok()?;
            at.unix_timestamp().saturating_sub(now)
        }
    };
    // Longer than a day is not a wait a person would sit out: past it the user is better served
    // by asking again (and doctor by not refusing for years), and `now + secs` cannot overflow.
    (secs > 0).then_some(secs.min(MAX_RETRY_AFTER_S))
}

/// The longest Retry-After honoured.
pub const MAX_RETRY_AFTER_S: i64 = 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000; // 2026-11-18T11:06:40Z

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120", NOW), Some(120));
        assert_eq!(
            parse_retry_after("9223372036854775807", NOW),
            Some(MAX_RETRY_AFTER_S)
        );
        assert_eq!(parse_retry_after("99999999999", NOW), Some(86_400));
        assert_eq!(
            parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", NOW),
            Some(86_400)
        );
        assert_eq!(parse_retry_after("0", NOW), None);
        assert_eq!(
            parse_retry_after("Wed, 18 Nov 2026 11:16:40 GMT", NOW),
            Some(600)
        );
        assert_eq!(
            parse_retry_after("Wed, 18 Nov 2026 10:00:00 GMT", NOW),
            None
        );
        assert_eq!(parse_retry_after("soon", NOW), None);
    }

    #[test]
    fn only_https_or_loopback_http() {
        assert_eq!(
            usage_url("https://api.anthropic.com/").unwrap(),
            "https://api.anthropic.com/api/oauth/usage"
        );
        assert!(usage_url("http://127.0.0.1:8080").is_ok());
        assert!(usage_url("http://localhost:1").is_ok());
        assert!(usage_url("http://example.com").is_err());
        assert!(usage_url("http://[::1]:80/").is_ok());
        assert!(usage_url("http://127.0.0.1.example.com").is_err());
        assert!(usage_url("http://10.0.0.1:80").is_err());
        assert!(usage_url("ftp://x").is_err());
    }

    #[test]
    fn statuses() {
        assert_eq!(classify(401, None, b"{}", NOW), Outcome::Unauthorized);
        assert_eq!(classify(403, None, b"{}", NOW), Outcome::Forbidden);
        assert_eq!(
            classify(429, Some("0"), b"", NOW),
            Outcome::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(503, None, b"", NOW),
            Outcome::Failed("HTTP 503".into())
        );
        assert_eq!(classify(200, None, b"<html>", NOW), Outcome::Unexpected);
        assert_eq!(classify(200, None, b"[]", NOW), Outcome::Unexpected);
        assert_eq!(
            classify(200, None, br#"{"five_hour":null}"#, NOW),
            Outcome::NoPlanLimits(None)
        );
        assert!(matches!(
            classify(200, None, br#"{"five_hour":{"utilization":5}}"#, NOW),
            Outcome::Usage(_)
        ));
        assert_eq!(classify(200, None, b"{}", NOW), Outcome::Unexpected);
    }

    #[test]
    fn user_agent_is_claude_codes_with_a_client_app() {
        let v = env!("CARGO_PKG_VERSION");
        assert_eq!(
            user_agent(Some("2.1.300")),
            format!("claude-code/2.1.300 (client-app/ccmeter/{v})")
        );
        assert_eq!(
            user_agent(None),
            format!("claude-code/{TESTED_CLAUDE_CODE_VERSION} (client-app/ccmeter/{v})")
        );
    }
}
