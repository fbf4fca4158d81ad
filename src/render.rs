//! A [`Report`] into what the user reads: the one-line summary, `--json`, or a `--format`
//! template. Pure: no clock, no environment, no I/O — `now` travels inside the report.
//!
//! The line never hides provenance: estimates carry `~`, old numbers carry their age, and a
//! failed refresh says so in a few words while keeping the last good numbers.

use serde_json::{Value, json};

use crate::fmt::{fmt_age, fmt_full_in, fmt_pace, fmt_tokens, fmt_until, round_percent};
use crate::projection::Projection;
use crate::report::Report;
use crate::usage::{Problem, Severity, Snapshot, Source, Used, Window, format_rfc3339};

/// How colour is written, if at all. Each target escapes differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    /// ANSI SGR, for terminals and Claude Code's status line.
    Ansi,
    /// tmux `#[fg=…,bg=black]` style markers for `status-right`.
    Tmux,
    /// zsh prompt escapes (`%F{…}`), with literal `%` doubled.
    Zsh,
    /// ANSI wrapped in readline's \x01 … \x02 so bash counts the prompt width right.
    Bash,
}

#[derive(Clone, Copy)]
enum Colour {
    Green,
    Yellow,
    Red,
}

impl Colour {
    /// Thresholds on the number as shown: 49.6 reads "50%" and must not be green.
    fn for_percent(p: f64) -> Colour {
        let p = f64::from(round_percent(p));
        if p >= 80.0 {
            Colour::Red
        } else if p >= 50.0 {
            Colour::Yellow
        } else {
            Colour::Green
        }
    }
}

fn paint(style: Style, colour: Colour, text: &str) -> String {
    let (name, sgr) = match colour {
        Colour::Green => ("green", 32),
        Colour::Yellow => ("yellow", 33),
        Colour::Red => ("red", 31),
    };
    match style {
        Style::Plain => text.to_string(),
        Style::Ansi => format!("\x1b[{sgr}m{text}\x1b[0m"),
        // On its own dark ground: tmux's default status bar is green (the green number would
        // vanish on it, the yellow one barely show), and a dark theme's is dark. Both then go
        // back to whatever the bar had.
        Style::Tmux => format!("#[fg={name},bg=black]{text}#[fg=default,bg=default]"),
        Style::Zsh => format!("%F{{{name}}}{text}%f"),
        Style::Bash => format!("\x01\x1b[{sgr}m\x02{text}\x01\x1b[0m\x02"),
    }
}

/// `text` in the colour the line gives `percent` (green, yellow, red), written for `style`.
pub fn paint_percent(style: Style, percent: f64, text: &str) -> String {
    paint(style, Colour::for_percent(percent), text)
}

/// The short text for a problem, as shown in the line.
pub fn problem_text(problem: Problem, retry_in: Option<i64>) -> String {
    let retry = |what: &str| match retry_in {
        Some(s) => format!("{what}, retry {}", fmt_until(s)),
        None => what.to_string(),
    };
    match problem {
        Problem::NotLoggedIn => "not logged in".into(),
        Problem::Relogin => "re-login: /login".into(),
        Problem::TokenExpired => "token expired".into(),
        Problem::RateLimited => retry("rate-limited"),
        Problem::NoUsageData => "no usage data for this token".into(),
        Problem::NoPlanLimits => "no plan limits".into(),
        Problem::Unreachable => retry("endpoint unreachable"),
        Problem::CredentialsUnreadable => "credentials unreadable".into(),
        Problem::UnexpectedAnswer => retry("unexpected answer"),
        Problem::KeychainLocked => "keychain locked".into(),
        Problem::KeychainDenied => "keychain access denied".into(),
    }
}

/// One window as its value alone: `42%`, `--` (absent or reset), `1.2M tok`.
fn value_text(window: Option<&Window>, now: i64) -> String {
    match window {
        Some(w) if !w.has_reset(now) => match w.used {
            Used::Percent(_) => format!("{}%", round_percent(w.display_percent().unwrap_or(0.0))),
            Used::Tokens(n) => format!("{} tok", fmt_tokens(n)),
        },
        _ => "--".into(),
    }
}

fn reset_text(report: &Report) -> Option<String> {
    let at = report.shown().binding?.resets_at?;
    (at > report.now).then(|| fmt_until(at - report.now))
}

/// ` · extra $12.34/$50` when the line shows extra usage.
fn extra_text(report: &Report) -> Option<String> {
    Some(format!("extra {}", report.shown().extra?.spent_text()?))
}

/// The colour of a window's number: the endpoint's own grading when it sent one, else the
/// thresholds applied to the number as shown (49.6 reads "50%" and must not be green).
fn colour_of(w: &Window, now: i64) -> Option<Colour> {
    let p = w.live_percent(now)?;
    Some(match w.severity {
        Some(Severity::Normal) => Colour::Green,
        Some(Severity::Warning) => Colour::Yellow,
        Some(Severity::Critical) => Colour::Red,
        None => Colour::for_percent(p),
    })
}

/// `5h full in 1h05m`: the window that fills first before its reset, if any. Never for a window
/// that already shows 100 % (there is nothing left to fill), nor for one without a percentage.
pub fn full_text(report: &Report) -> Option<String> {
    let snap = report.snapshot.as_ref()?;
    let mut first: Option<(&str, i64)> = None;
    for (name, w) in crate::history::named_windows(snap) {
        let shown = w.display_percent().map(round_percent);
        let Some(secs) = report.projections.get(name).and_then(|p| p.full_in_s) else {
            continue;
        };
        if shown.is_some_and(|p| p < 100) && first.is_none_or(|(_, s)| secs < s) {
            first = Some((name, secs));
        }
    }
    first.map(|(name, secs)| format!("{name} full in {}", fmt_full_in(secs)))
}

/// The parenthesised remarks: age, problem, note — or why there is nothing to show.
fn remarks(report: &Report) -> Vec<String> {
    let mut parts = Vec::new();
    if report.is_stale()
        && let Some(age) = report.age()
    {
        parts.push(format!("{} ago", fmt_age(age)));
    }
    if let Some(p) = report.problem {
        parts.push(problem_text(p, report.retry_at.map(|t| t - report.now)));
    }
    if report.snapshot.is_none() && report.problem.is_none() {
        parts.push("no data yet".into());
    }
    if let Some(note) = &report.note {
        parts.push(note.clone());
    }
    parts
}

/// The status line: `5h 42% · 7d 18% ↻2h13m`, plus remarks in parentheses.
pub fn line(report: &Report, style: Style) -> String {
    let now = report.now;
    let shown = report.shown();
    let windows = [
        ("5h", shown.five_hour),
        ("7d", shown.seven_day),
        (
            shown.model.map_or("", |m| m.name.as_str()),
            shown.model.map(|m| &m.window),
        ),
    ];
    let mut segments = Vec::new();
    for (label, window) in windows {
        let Some(w) = window else { continue };
        let tilde = if report.is_estimate(w) { "~" } else { "" };
        let text = escape(
            style,
            &format!("{tilde}{label} {}", value_text(Some(w), now)),
        );
        segments.push(match colour_of(w, now) {
            Some(colour) => paint(style, colour, &text),
            None => text,
        });
    }
    if segments.is_empty() {
        segments.push(escape(style, "5h -- · 7d --"));
    }
    let mut out = segments.join(" · ");
    if let Some(reset) = reset_text(report) {
        out.push_str(" ↻");
        out.push_str(&reset);
    }
    if let Some(full) = full_text(report) {
        out.push_str(&escape(style, &format!(" · {full}")));
    }
    if let Some(extra) = extra_text(report) {
        out.push_str(&escape(style, &format!(" · {extra}")));
    }
    let parts = remarks(report);
    if !parts.is_empty() {
        out.push_str(&escape(style, &format!(" ({})", parts.join(", "))));
    }
    out
}

/// Text that the target would otherwise interpret: zsh expands `%`, tmux expands `#`.
fn escape(style: Style, text: &str) -> String {
    match style {
        Style::Zsh => text.replace('%', "%%"),
        Style::Tmux => text.replace('#', "##"),
        _ => text.to_string(),
    }
}

fn rfc3339(t: i64) -> Value {
    format_rfc3339(t).map_or(Value::Null, Value::String)
}

/// Rounded to a tenth: more digits would only be noise.
fn tenth(x: f64) -> Value {
    json!((x * 10.0).round() / 10.0)
}

fn window_json(
    snap: Option<&Snapshot>,
    w: Option<&Window>,
    projection: Option<&Projection>,
    now: i64,
) -> Value {
    let (Some(snap), Some(w)) = (snap, w) else {
        return Value::Null;
    };
    let stamp = snap.stamp_of(w);
    let reset = w.has_reset(now);
    let (percent, raw, tokens) = match w.used {
        Used::Percent(p) if !reset => (json!(round_percent(p)), json!(p), Value::Null),
        Used::Percent(p) => (Value::Null, json!(p), Value::Null),
        Used::Tokens(n) => (Value::Null, Value::Null, json!(n)),
    };
    json!({
        "percent": percent,
        "used_percentage": raw,
        "tokens": tokens,
        "resets_at": w.resets_at.map_or(Value::Null, rfc3339),
        "reset": reset,
        "severity": w.severity.map(Severity::as_str),
        "source": stamp.source.as_str(),
        "taken_at": rfc3339(stamp.taken_at),
        "expected_percentage": projection.map_or(Value::Null, |p| tenth(p.expected_percentage)),
        "pace": projection.map_or(Value::Null, |p| tenth(p.pace)),
        "full_at": projection.and_then(|p| p.full_at).map_or(Value::Null, rfc3339),
        "full_in_s": projection.and_then(|p| p.full_in_s),
    })
}

fn extra_json(snap: Option<&Snapshot>) -> Value {
    let Some(e) = snap.and_then(|s| s.extra.as_ref()) else {
        return Value::Null;
    };
    // Major units, rounded to the cent: 1234 minor units are 12.34.
    let money = |a: Option<f64>| a.map(|a| (a * 100.0).round() / 100.0);
    json!({
        "enabled": e.enabled,
        "spent": money(e.spent),
        "limit": money(e.limit),
        "percent": e.percent,
        "currency": e.currency,
    })
}

/// The state code for `--json`: `ok`, `no_data`, or a [`Problem::code`].
pub fn state(report: &Report) -> &'static str {
    match (report.problem, &report.snapshot) {
        (Some(p), _) => p.code(),
        (None, None) => "no_data",
        (None, Some(_)) => "ok",
    }
}

/// `--json`: the same decision, with stable field names (documented in README).
pub fn json(report: &Report) -> String {
    let snap = report.snapshot.as_ref();
    let now = report.now;
    let shown = report.shown();
    let scoped: Vec<Value> = snap
        .map(|s| {
            s.scoped
                .iter()
                .map(|sw| {
                    let mut v = window_json(
                        snap,
                        Some(&sw.window),
                        report.projections.get(&sw.name),
                        now,
                    );
                    if let Value::Object(o) = &mut v {
                        o.insert("name".into(), json!(sw.name));
                        o.insert("is_active".into(), json!(sw.is_active));
                        let on_line = shown.model.is_some_and(|m| std::ptr::eq(m, sw));
                        o.insert("shown".into(), json!(on_line));
                    }
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    let error = report
        .problem
        .map(|p| problem_text(p, report.retry_at.map(|t| t - now)));
    let v = json!({
        "five_hour": window_json(
            snap,
            snap.and_then(|s| s.five_hour.as_ref()),
            report.projections.get("5h"),
            now
        ),
        "seven_day": window_json(
            snap,
            snap.and_then(|s| s.seven_day.as_ref()),
            report.projections.get("7d"),
            now
        ),
        "scoped": scoped,
        "extra": extra_json(snap),
        "source": snap.map(|s| s.source.as_str()),
        "estimate": snap.is_some_and(|s| s.source == Source::Estimate),
        "taken_at": report.oldest_shown_at().map_or(Value::Null, rfc3339),
        "age_s": report.age(),
        "stale": report.is_stale(),
        "state": state(report),
        "error": error,
        "retry_at": report.retry_at.map_or(Value::Null, rfc3339),
        "line": line(report, Style::Plain),
    });
    v.to_string()
}

/// `--format`: `{5h} {7d} {reset} {age} {stale} {source} {state} {error} {line} {full}
/// {pace5h} {pace7d}`; unknown
/// placeholders are left as written so a typo is visible rather than silently empty.
///
/// With a zsh or tmux target the values are escaped (`61%%`, `##`) and the template's own text
/// is left alone, so `%F{red}{5h}%f` works as the user wrote it.
pub fn template(report: &Report, style: Style, tpl: &str) -> String {
    template_with(report, style, tpl, &Fields::default())
}

/// Longest model name, directory name and branch a status-line field shows.
const FIELD_MAX: usize = 40;

/// Claude Code's own facts about the session, for the status-line fields of `--format`
/// (`{model_name} {dir} {branch} {context} {cost}`), as they came from outside: each is cleaned
/// of control characters and capped here, where it is printed. Absent ones print empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields<'a> {
    pub model_name: Option<&'a str>,
    pub dir: Option<&'a str>,
    pub branch: Option<&'a str>,
    pub context_percent: Option<f64>,
    pub cost_usd: Option<f64>,
}

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<String> {
        let text = |v: Option<&str>| crate::text::clean(v.unwrap_or_default(), FIELD_MAX);
        Some(match key {
            "model_name" => text(self.model_name),
            "dir" => text(self.dir),
            "branch" => text(self.branch),
            "context" => self
                .context_percent
                .map(|p| format!("{}%", round_percent(p)))
                .unwrap_or_default(),
            // A session's cost in dollars; anything negative or absurd is not one.
            "cost" => self
                .cost_usd
                .filter(|c| (0.0..1e9).contains(c))
                .map(|c| format!("${c:.2}"))
                .unwrap_or_default(),
            _ => return None,
        })
    }
}

/// [`template`] with the status-line fields too.
pub fn template_with(report: &Report, style: Style, tpl: &str, fields: &Fields) -> String {
    let snap = report.snapshot.as_ref();
    let now = report.now;
    let value = |w: Option<&Window>| match w {
        Some(win) => {
            let tilde = if report.is_estimate(win) { "~" } else { "" };
            format!("{tilde}{}", value_text(w, now))
        }
        None => "--".into(),
    };
    let mut out = String::with_capacity(tpl.len() + 32);
    let mut rest = tpl;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let key = &after[..close];
        let replacement = match key {
            "5h" => Some(value(snap.and_then(|s| s.five_hour.as_ref()))),
            "7d" => Some(value(snap.and_then(|s| s.seven_day.as_ref()))),
            "reset" => Some(reset_text(report).unwrap_or_default()),
            "model" => Some(
                report
                    .shown()
                    .model
                    .map(|m| format!("{} {}", m.name, value(Some(&m.window))))
                    .unwrap_or_default(),
            ),
            "extra" => Some(extra_text(report).unwrap_or_default()),
            "age" => Some(report.age().map(fmt_age).unwrap_or_default()),
            "stale" => Some(if report.is_stale() {
                report
                    .age()
                    .map(|a| format!("{} ago", fmt_age(a)))
                    .unwrap_or_default()
            } else {
                String::new()
            }),
            "source" => Some(snap.map_or("none", |s| s.source.as_str()).to_string()),
            "state" => Some(state(report).to_string()),
            "error" => Some(
                report
                    .problem
                    .map(|p| problem_text(p, report.retry_at.map(|t| t - now)))
                    .unwrap_or_default(),
            ),
            "line" => Some(line(report, Style::Plain)),
            "full" => Some(full_text(report).unwrap_or_default()),
            "pace5h" | "pace7d" => Some(
                report
                    .projections
                    .get(&key[4..])
                    .map(|p| fmt_pace(p.pace))
                    .unwrap_or_default(),
            ),
            _ => fields.get(key),
        };
        match replacement {
            Some(r) => out.push_str(&escape(style, &r)),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{Extra, ScopedWindow};

    const NOW: i64 = 1_795_000_000;

    fn report(snapshot: Option<Snapshot>) -> Report {
        Report {
            snapshot,
            problem: None,
            retry_at: None,
            now: NOW,
            stale_after: 600,
            note: None,
            projections: Default::default(),
        }
    }

    fn snap(
        source: Source,
        age: i64,
        five: Option<(f64, i64)>,
        seven: Option<(f64, i64)>,
    ) -> Snapshot {
        let w = |x: Option<(f64, i64)>| x.map(|(p, r)| Window::percent(p, Some(NOW + r)));
        Snapshot {
            five_hour: w(five),
            seven_day: w(seven),
            scoped: vec![],
            extra: None,
            source,
            taken_at: NOW - age,
        }
    }

    #[test]
    fn durations() {
        let cases = [
            (30, "1m"),
            (42 * 60 + 59, "42m"),
            (3600, "1h"),
            (2 * 3600 + 13 * 60 + 59, "2h13m"),
            (9 * 3600 + 59 * 60, "9h59m"),
            (2 * 3600 + 5 * 60, "2h05m"),
            (10 * 3600, "10h"),
            (47 * 3600 + 3599, "47h"),
            (48 * 3600, "2d"),
            (3 * 86_400 + 7200, "3d"),
        ];
        for (secs, want) in cases {
            assert_eq!(fmt_until(secs), want, "{secs}");
        }
        assert_eq!(
            (
                fmt_age(45),
                fmt_age(12 * 60 + 5),
                fmt_age(3 * 3600),
                fmt_age(3 * 86_400)
            ),
            ("45s".into(), "12m".into(), "3h".into(), "3d".into())
        );
        assert_eq!(
            (fmt_tokens(950), fmt_tokens(12_345), fmt_tokens(1_234_567)),
            ("950".into(), "12.3k".into(), "1.2M".into())
        );
    }

    #[test]
    fn rounding_and_clamping() {
        assert_eq!(
            [
                round_percent(41.5),
                round_percent(41.49),
                round_percent(104.0),
                round_percent(-3.0)
            ],
            [42, 41, 100, 0]
        );
    }

    #[test]
    fn line_states() {
        let fresh = report(Some(snap(
            Source::Stdin,
            0,
            Some((61.4, 2 * 3600 + 13 * 60)),
            Some((23.0, 4 * 86_400)),
        )));
        let stale = report(Some(snap(
            Source::Oauth,
            12 * 60,
            Some((42.0, 3000)),
            Some((18.0, 86_400)),
        )));
        let over = report(Some(snap(
            Source::Stdin,
            0,
            None,
            Some((104.0, 5 * 86_400)),
        )));
        let seven_binds = report(Some(snap(
            Source::Oauth,
            0,
            Some((10.0, 3600)),
            Some((90.0, 30 * 3600)),
        )));
        let past_reset = report(Some(snap(
            Source::Oauth,
            60,
            Some((88.0, -5)),
            Some((30.0, 86_400)),
        )));
        let estimate = report(Some(snap(
            Source::Estimate,
            0,
            Some((31.2, 2 * 3600)),
            Some((12.0, 86_400)),
        )));
        let mut tokens = report(Some(snap(Source::Estimate, 0, None, None)));
        tokens.snapshot.as_mut().unwrap().five_hour =
            Some(Window::tokens(1_234_567, Some(NOW + 7980)));
        let mut limited = stale.clone();
        limited.problem = Some(Problem::RateLimited);
        limited.retry_at = Some(NOW + 300);
        let mut relogin = report(None);
        relogin.problem = Some(Problem::Relogin);
        let mut no_plan = report(None);
        no_plan.problem = Some(Problem::NoPlanLimits);
        let mut noted = fresh.clone();
        noted.note = Some("unknown argument --bogus".into());
        let fable = |p: f64, severity| {
            let mut w = Window::percent(p, Some(NOW + 2 * 86_400 + 3600));
            w.severity = severity;
            ScopedWindow {
                name: "fable".into(),
                window: w,
                is_active: true,
            }
        };
        let mut model_binds = snap(
            Source::Oauth,
            0,
            Some((2.0, 3 * 3600 + 13 * 60)),
            Some((59.0, 4 * 86_400)),
        );
        model_binds
            .scoped
            .push(fable(100.0, Some(Severity::Critical)));
        let model_binds = report(Some(model_binds));
        let mut model_below_week = model_binds.clone();
        model_below_week.snapshot.as_mut().unwrap().scoped[0]
            .window
            .used = Used::Percent(40.0);
        let mut spending = snap(
            Source::Oauth,
            0,
            Some((100.0, 25 * 60)),
            Some((62.0, 4 * 86_400)),
        );
        spending.extra = Some(Extra {
            enabled: true,
            spent: Some(12.34),
            limit: Some(50.0),
            percent: Some(24.68),
            currency: "USD".into(),
            at: None,
        });
        let spending = report(Some(spending));
        // Claude Code sent only five_hour just now; the 7d and the model window are 20 min old.
        let mut merged = snap(
            Source::Oauth,
            20 * 60,
            Some((10.0, 3600)),
            Some((40.0, 4 * 86_400)),
        );
        merged.scoped.push(fable(95.0, None));
        let live = snap(Source::Stdin, 0, Some((42.0, 2 * 3600)), None);
        let merged = report(Some(crate::usage::merge(Some(&merged), &live, NOW)));
        let cases = [
            ("fresh", fresh),
            ("stale", stale),
            ("over_100", over),
            ("seven_day_binds", seven_binds),
            ("past_reset", past_reset),
            ("estimate", estimate),
            ("estimate_tokens", tokens),
            ("rate_limited", limited),
            ("relogin_no_data", relogin),
            ("no_plan_limits", no_plan),
            ("no_data", report(None)),
            ("bad_argument", noted),
            ("model_binds", model_binds),
            ("model_below_7d", model_below_week),
            ("extra_spending", spending),
            ("merged_ages", merged),
        ];
        let text: Vec<String> = cases
            .iter()
            .map(|(name, r)| format!("{name:16} {}", line(r, Style::Plain)))
            .collect();
        insta::assert_snapshot!(text.join("\n"));
    }

    #[test]
    fn severity_colours_endpoint_rows_thresholds_the_rest() {
        let mut s = snap(Source::Oauth, 0, Some((85.0, 600)), Some((30.0, 86_400)));
        // The endpoint graded a 30 % week "warning": its grading wins over the thresholds.
        s.seven_day.as_mut().unwrap().severity = Some(Severity::Warning);
        let mut opus = Window::percent(91.0, Some(NOW + 86_400));
        opus.severity = Some(Severity::Critical);
        s.scoped.push(ScopedWindow {
            name: "opus#%".into(),
            window: opus,
            is_active: false,
        });
        let r = report(Some(s));
        let text: Vec<String> = [Style::Ansi, Style::Tmux, Style::Zsh]
            .iter()
            .map(|st| format!("{:?}", line(&r, *st)))
            .collect();
        insta::assert_snapshot!(text.join("\n"));
    }

    #[test]
    fn colour_styles() {
        let r = report(Some(snap(
            Source::Stdin,
            0,
            Some((85.0, 600)),
            Some((49.6, 86_400)),
        )));
        let text: Vec<String> = [Style::Ansi, Style::Tmux, Style::Zsh, Style::Bash]
            .iter()
            .map(|s| format!("{:?}", line(&r, *s)))
            .collect();
        insta::assert_snapshot!(text.join("\n"));
    }

    #[test]
    fn status_line_fields_are_formatted_cleaned_and_escaped() {
        let r = report(Some(snap(Source::Stdin, 0, Some((61.4, 7980)), None)));
        let tpl = "{model_name}|{dir}|{branch}|{context}|{cost}|{5h}";
        let fields = Fields {
            model_name: Some("Opus 4.1 \x1b[31m(1M)"),
            dir: Some("shop"),
            branch: Some("feat/100%-#1"),
            context_percent: Some(23.5),
            cost_usd: Some(1.2734),
        };
        assert_eq!(
            template_with(&r, Style::Plain, tpl, &fields),
            "Opus 4.1 [31m(1M)|shop|feat/100%-#1|24%|$1.27|61%"
        );
        assert_eq!(
            template_with(&r, Style::Zsh, tpl, &fields),
            "Opus 4.1 [31m(1M)|shop|feat/100%%-#1|24%%|$1.27|61%%"
        );
        assert_eq!(
            template_with(&r, Style::Tmux, tpl, &fields),
            "Opus 4.1 [31m(1M)|shop|feat/100%-##1|24%|$1.27|61%"
        );
        // Absent, absurd or over-long values.
        let odd = Fields {
            model_name: Some(&"m".repeat(100)),
            context_percent: Some(140.0),
            cost_usd: Some(-1.0),
            ..Fields::default()
        };
        let long = format!("{}…", "m".repeat(FIELD_MAX - 1));
        assert_eq!(
            template_with(&r, Style::Plain, tpl, &odd),
            format!("{long}|||100%||61%")
        );
        assert_eq!(template(&r, Style::Plain, tpl), "|||||61%");
    }

    #[test]
    fn json_and_template() {
        let mut s = snap(Source::Oauth, 900, Some((61.4, 7980)), Some((23.0, -1)));
        let mut opus = Window::percent(91.0, Some(NOW + 86_400));
        opus.severity = Some(Severity::Warning);
        s.scoped.push(ScopedWindow {
            name: "opus".into(),
            window: opus,
            is_active: true,
        });
        s.scoped.push(ScopedWindow {
            name: "sonnet".into(),
            window: Window::percent(4.0, Some(NOW + 86_400)),
            is_active: false,
        });
        s.extra = Some(Extra {
            enabled: true,
            spent: Some(12.34),
            limit: Some(50.0),
            percent: Some(24.68),
            currency: "EUR".into(),
            at: None,
        });
        let mut r = report(Some(s));
        r.problem = Some(Problem::RateLimited);
        r.retry_at = Some(NOW + 300);
        let v: Value = serde_json::from_str(&json(&r)).unwrap();
        insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
        assert_eq!(
            template(
                &r,
                Style::Plain,
                "{5h}|{7d}|{reset}|{age}|{stale}|{source}|{state}|{error}|{nope}|{"
            ),
            "61%|--|24h|15m|15m ago|oauth|rate_limited|rate-limited, retry 5m|{nope}|{"
        );
        assert_eq!(
            template(&r, Style::Plain, "[{model}][{extra}]"),
            "[opus 91%][]"
        );
        r.snapshot.as_mut().unwrap().extra.as_mut().unwrap().percent = Some(50.0);
        assert_eq!(
            template(&r, Style::Plain, "[{model}][{extra}]"),
            "[opus 91%][extra €12.34/€50]"
        );
        // zsh and tmux targets escape the values, never the template's own markup.
        assert_eq!(
            template(&r, Style::Zsh, "%F{red}{5h}%f {model}"),
            "%F{red}61%%%f opus 91%%"
        );
        assert_eq!(template(&r, Style::Tmux, "#[fg=red]{5h}"), "#[fg=red]61%");
        assert_eq!(
            template(&report(None), Style::Plain, "{5h} {source} {state}"),
            "-- none no_data"
        );
    }
}
