//! `ccmeter hook`: for Claude Code's hooks. On `UserPromptSubmit` / `SessionStart` it is silent
//! below the thresholds; above one, a `systemMessage` the user sees — once per threshold per
//! window period, not on every prompt. On `PreModelSwitch` it speaks when the model being switched
//! to is near its own weekly cap (or something is already full): a switch is a deliberate act, so
//! that is said every time. On `StopFailure` with `rate_limit` it names the window that stopped the
//! turn and when it resets, and makes the store due so the next line brings fresh numbers.
//! Every other event, and every `StopFailure` that is not a rate limit, is silent. Always exit 0:
//! a failing hook would get in the user's way (a `PreModelSwitch` hook that times out even blocks
//! the switch).
//!
//! The JSON carries only the documented `systemMessage`: Claude Code validates a hook's output
//! against its schema and may reject an object with keys it does not know (the 2.1.x client
//! tolerated one in our e2e run, but a stricter one must not cost the user the warning). It never names a window the store does not
//! hold: a model that matches no window gets no per-model message.
//!
//! Every string from outside that a message repeats (the model name from stdin, a window name
//! or a currency from the store) goes through [`text::clean`] with a cap, and so does the whole
//! message: a `systemMessage` reaches the user's terminal, so no escape sequence may ride in it,
//! and it stays one short line whatever it quotes.

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::Config;
use crate::input;
use crate::report::Report;
use crate::text;
use crate::usage::{Extra, Snapshot, Source, Window};

/// Reset times this close together name the same window period.
const SAME_PERIOD_S: u64 = 3600;
/// A model as the user asked for it (`opus`, `claude-opus-4-6[1m]`): real ids are under 30
/// characters; a longer name is cut, not repeated whole.
const MODEL_NAME_CHARS: usize = 40;
/// A per-model window's name: the store keeps at most 12 characters, a little room for an
/// entry written by something else.
const WINDOW_NAME_CHARS: usize = 24;
/// The whole `systemMessage`: every window at once, with extra usage, is under 400 characters.
const MESSAGE_CHARS: usize = 1000;

/// The highest threshold already announced for each window period.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Announced {
    /// Key: `5h@<resets_at>` (`7d:<model>@…` for a per-model window); value: threshold announced.
    #[serde(default)]
    pub windows: BTreeMap<String, f64>,
    /// A turn died of a rate limit and the user has not been told by ccmeter yet: Claude Code
    /// ignores a `StopFailure` hook's output ("fire-and-forget" in its hook schema, 2.1.197 and
    /// 2.1.332, seen in the e2e run), so the message waits for the next prompt or session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limited: Option<RateLimited>,
}

/// When a turn was stopped by a rate limit, and until when saying so is still news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimited {
    pub at: i64,
    /// The reset of the window that stopped it (or five hours on, when that is unknown).
    pub until: i64,
}

/// A warning due for one window (pure decision, state update included).
#[derive(Debug, PartialEq)]
pub struct Warning {
    pub text: String,
    /// The window it is about (`5h`, `7d`, `7d:<model>`), so one message never names a window
    /// twice; `None` for a remark that is about no window (extra usage).
    pub window: Option<String>,
}

/// The hook event on stdin, with the fields ccmeter reads from it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `UserPromptSubmit`, `SessionStart`, or no event name at all (a hand run, unreadable
    /// stdin): the threshold warnings.
    Thresholds,
    /// `PreModelSwitch`: `to_model` is the resolved id, `requested_model` the alias asked for.
    ModelSwitch {
        to_model: Option<String>,
        requested_model: Option<String>,
    },
    /// `StopFailure`: `error` is `rate_limit`, `overloaded`, `server_error`, ….
    StopFailure { error: Option<String> },
    /// An event ccmeter has nothing to say about.
    Other,
}

impl Event {
    /// Pure and total, like [`input::parse`]: bytes that are not a JSON object are [`Event::Thresholds`].
    pub fn parse(bytes: &[u8]) -> Event {
        let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(bytes) else {
            return Event::Thresholds;
        };
        let text = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        match obj.get("hook_event_name").and_then(Value::as_str) {
            None | Some("UserPromptSubmit" | "SessionStart") => Event::Thresholds,
            Some("PreModelSwitch") => Event::ModelSwitch {
                to_model: text("to_model"),
                requested_model: text("requested_model"),
            },
            Some("StopFailure") => Event::StopFailure {
                error: text("error"),
            },
            Some(_) => Event::Other,
        }
    }
}

/// One window the snapshot holds, with the names a message and the announcement state use.
struct Named<'a> {
    /// `5h`, `7d`, or `7d:<model>`.
    key: String,
    /// `5-hour`, `7-day`, `7-day opus`.
    label: String,
    /// The model of a per-model window.
    model: Option<&'a str>,
    window: &'a Window,
}

/// Every window the snapshot holds, 5h and 7d first, whose number still counts (not reset,
/// with a percentage).
fn current_windows(snap: &Snapshot, now: i64) -> Vec<(Named<'_>, f64)> {
    let main = [
        ("5h", "5-hour", &snap.five_hour),
        ("7d", "7-day", &snap.seven_day),
    ]
    .into_iter()
    .filter_map(|(key, label, w)| {
        w.as_ref().map(|window| Named {
            key: key.into(),
            label: label.into(),
            model: None,
            window,
        })
    });
    let scoped = snap.scoped.iter().map(|s| {
        let model = s.name.as_str();
        Named {
            key: format!("7d:{model}"),
            label: format!("7-day {}", text::clean(model, WINDOW_NAME_CHARS)),
            model: Some(model),
            window: &s.window,
        }
    });
    main.chain(scoped)
        .filter(|n| !n.window.has_reset(now))
        .filter_map(|n| n.window.display_percent().map(|p| (n, p)))
        .collect()
}

/// `about ` for estimates.
fn about(snap: &Snapshot) -> &'static str {
    if snap.source == Source::Estimate {
        "about "
    } else {
        ""
    }
}

/// `, resets in 2d` when the window has a reset time ahead.
fn resets_in(w: &Window, now: i64) -> String {
    w.resets_at
        .filter(|&t| t > now)
        .map(|t| format!(", resets in {}", crate::fmt::fmt_until(t - now)))
        .unwrap_or_default()
}

/// Which thresholds are newly crossed, given what was already announced; updates `announced`.
pub fn warnings(report: &Report, thresholds: &[f64], announced: &mut Announced) -> Vec<Warning> {
    let Some(snap) = &report.snapshot else {
        return Vec::new();
    };
    let about = about(snap);
    let mut out = Vec::new();
    for (named, p) in current_windows(snap, report.now) {
        let (key, name, w) = (named.key.as_str(), named.label.as_str(), named.window);
        let shown = crate::fmt::round_percent(p);
        let crossed = thresholds
            .iter()
            .rfind(|&&t| f64::from(shown) >= t)
            .copied();
        let threshold_slot = crossed
            .map(|c| (slot(announced, key, w, report.now), c))
            .filter(|(s, c)| announced.windows.get(s).is_none_or(|done| done < c));
        // Once per window period: this window, at least half used, fills before it resets.
        let full_in = report.projections.get(key).and_then(|p| p.full_in_s);
        let pace_slot = full_in
            .filter(|_| (50..100).contains(&shown) && w.resets_at.is_some())
            .map(|_| slot(announced, &format!("pace{key}"), w, report.now))
            .filter(|s| !announced.windows.contains_key(s));
        if threshold_slot.is_none() && pace_slot.is_none() {
            continue;
        }
        if let Some((s, c)) = threshold_slot {
            announced.windows.insert(s, c);
        }
        let reset = w
            .resets_at
            .filter(|&t| t > report.now)
            .map(|t| format!(", resets in {}", crate::fmt::fmt_until(t - report.now)))
            .unwrap_or_default();
        let text = match (pace_slot, full_in) {
            (Some(s), Some(secs)) => {
                announced.windows.insert(s, f64::from(shown));
                let full = crate::fmt::fmt_full_in(secs);
                format!("{name} limit at {about}{shown}%: at this pace full in {full}{reset}")
            }
            _ => format!("{name} limit at {about}{shown}%{reset}"),
        };
        out.push(Warning {
            text,
            window: Some(named.key),
        });
    }
    // Forget periods long over so the file stays small.
    // Periods are reset times in seconds, or `day<n>` (days since the epoch).
    announced.windows.retain(|slot, _| {
        let period = slot.rsplit('@').next().unwrap_or_default();
        let time = match period.strip_prefix("day") {
            Some(day) => day.parse::<i64>().ok().map(|d| d.saturating_mul(86_400)),
            None => period.parse::<i64>().ok(),
        };
        time.is_none_or(|t| t > report.now - 8 * 86_400)
    });
    out
}

/// The announcement slot of `key` (`5h`, `pace5h`) for this window's period. A window period is
/// identified by its reset time; without one, by the day. Reset times reported for the same
/// period can differ by a few seconds (stdin vs endpoint, sub-second rounding), while two periods
/// of one window are at least 5 h apart: a recorded reset within the tolerance is the same period.
fn slot(announced: &Announced, key: &str, w: &Window, now: i64) -> String {
    match w.resets_at {
        Some(t) => announced
            .windows
            .keys()
            .find(|slot| {
                slot.strip_prefix(key)
                    .and_then(|rest| rest.strip_prefix('@'))
                    .and_then(|r| r.parse::<i64>().ok())
                    .is_some_and(|r| r.abs_diff(t) <= SAME_PERIOD_S)
            })
            .cloned()
            .unwrap_or_else(|| format!("{key}@{t}")),
        None => format!("{key}@day{}", now / 86_400),
    }
}

/// Whether a per-model window's name names this model: `opus` in `claude-opus-4-6` or `opus[1m]`,
/// case-insensitive, on whole words (`opus` is not in `opusplan`, `sonnet-4.5` is in
/// `claude-sonnet-4-5`).
pub fn names_model(window_name: &str, model: &str) -> bool {
    fn words(s: &str) -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    }
    let (name, model) = (words(window_name), words(model));
    !name.is_empty() && model.windows(name.len()).any(|w| w == name.as_slice())
}

/// `PreModelSwitch`: the target model's own weekly window when it is at or above the first
/// threshold, else a window that is already full; at most one, every time.
pub fn switch_warning(
    report: &Report,
    to_model: &str,
    requested_model: Option<&str>,
    thresholds: &[f64],
) -> Option<Warning> {
    let snap = report.snapshot.as_ref()?;
    let windows = current_windows(snap, report.now);
    let first = thresholds.first().copied().unwrap_or(100.0);
    let targets = |n: &Named| {
        n.model.is_some_and(|m| {
            names_model(m, to_model) || requested_model.is_some_and(|r| names_model(m, r))
        })
    };
    let target = windows
        .iter()
        .filter(|(n, _)| targets(n))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .filter(|(_, p)| f64::from(crate::fmt::round_percent(*p)) >= first);
    // Else a full window: 5h and 7d stop every model, so they come before another model's; of
    // those, the one that stays full longest.
    let full = || {
        windows
            .iter()
            .filter(|(_, p)| *p >= 100.0)
            .max_by_key(|(n, _)| (n.model.is_none(), n.window.resets_at.unwrap_or(i64::MIN)))
    };
    let (named, p) = target.or_else(full)?;
    Some(Warning {
        text: format!(
            "switching to {}: {} limit at {}{}%{}",
            text::clean(requested_model.unwrap_or(to_model), MODEL_NAME_CHARS),
            named.label,
            about(snap),
            crate::fmt::round_percent(*p),
            resets_in(named.window, report.now)
        ),
        window: Some(named.key.clone()),
    })
}

/// `14:05`, with the weekday when the reset is a day or more away (`Tue 09:00`), in local time
/// when the offset is known, else in UTC and labelled so.
pub fn clock_time(t: i64, now: i64, local: Option<time::UtcOffset>) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(t)
        .ok()?
        .to_offset(local.unwrap_or(time::UtcOffset::UTC));
    let day = if t - now >= 86_400 {
        let name = at.weekday().to_string();
        format!("{} ", name.get(..3).unwrap_or(&name))
    } else {
        String::new()
    };
    let zone = if local.is_some() { "" } else { " UTC" };
    Some(format!("{day}{:02}:{:02}{zone}", at.hour(), at.minute()))
}

/// `StopFailure` with `rate_limit`: the window(s) at 100 %, or if none is known full, the
/// fullest, each with when it resets by the clock. Claude Code fires the hook before the status
/// line has stored the 429's own numbers (seen in the e2e run: the store still said 86 % while
/// the client's screen said "You've hit your 5-hour limit"), so a window not known full is worded
/// as the last reading, not as the reason.
pub fn rate_limit_warnings(report: &Report, local: Option<time::UtcOffset>) -> Vec<Warning> {
    let Some(snap) = &report.snapshot else {
        return Vec::new();
    };
    let now = report.now;
    let windows = current_windows(snap, now);
    let full: Vec<_> = windows.iter().filter(|(_, p)| *p >= 100.0).collect();
    let shown = if full.is_empty() {
        windows
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .into_iter()
            .collect()
    } else {
        full
    };
    let mut out: Vec<Warning> = shown
        .into_iter()
        .map(|(named, p)| {
            let state = if *p >= 100.0 {
                "reached".to_string()
            } else {
                format!(
                    "at {}{}% when last read",
                    about(snap),
                    crate::fmt::round_percent(*p)
                )
            };
            let clock = named
                .window
                .resets_at
                .filter(|&t| t > now)
                .and_then(|t| clock_time(t, now, local))
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let lead = if *p >= 100.0 { "" } else { "rate-limited; " };
            Warning {
                text: format!(
                    "{lead}{} limit {state}{}{clock}",
                    named.label,
                    resets_in(named.window, now)
                ),
                window: Some(named.key.clone()),
            }
        })
        .collect();
    // Pay-as-you-go credits that still have room are what lets the user go on now.
    if let Some(extra) = snap.extra.as_ref().filter(|_| !out.is_empty()) {
        out.extend(extra_room(extra).map(|text| Warning { text, window: None }));
    }
    out
}

/// `extra usage on, $12.34 of $50 spent` when extra usage is enabled and below its monthly cap
/// (`extra usage on, $12.34 spent` without one); `None` when it is off, used up, or unknown.
pub fn extra_room(extra: &Extra) -> Option<String> {
    if !extra.enabled {
        return None;
    }
    let spent = extra.spent.filter(|s| *s >= 0.0);
    match (spent, extra.limit.filter(|l| *l > 0.0)) {
        (Some(s), Some(l)) if s < l => Some(format!(
            "extra usage on, {} of {} spent",
            extra.money(s),
            extra.money(l)
        )),
        (Some(_), Some(_)) => None,
        (None, Some(_)) if extra.percent.is_some_and(|p| p >= 100.0) => None,
        (Some(s), None) => Some(format!("extra usage on, {} spent", extra.money(s))),
        (None, _) => Some("extra usage on".to_string()),
    }
}

/// The hook's stdout for a set of warnings: `{"systemMessage": "…"}`.
pub fn message(warnings: &[Warning], report: &Report) -> Option<String> {
    if warnings.is_empty() {
        return None;
    }
    let texts: Vec<&str> = warnings.iter().map(|w| w.text.as_str()).collect();
    let age = if report.is_stale() {
        report
            .age()
            .map(|a| format!(" (as of {} ago)", crate::fmt::fmt_age(a)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let text = text::clean(
        &format!("ccmeter: {}{age}", texts.join("; ")),
        MESSAGE_CHARS,
    );
    Some(serde_json::json!({ "systemMessage": text }).to_string())
}

pub fn run(config: &Config) -> i32 {
    let now = crate::now();
    // Over the input cap no event can be known, so none is answered: taking it for a hand run
    // (no stdin) would warn on whatever it was.
    let Ok(bytes) = input::read_stdin_sized() else {
        return 0;
    };
    let event = bytes.as_deref().map_or(Event::Thresholds, Event::parse);
    let input = bytes
        .as_deref()
        .map(|b| input::parse(b, now))
        .unwrap_or_default();
    let msg = match &event {
        Event::Thresholds => thresholds(config, &input, now),
        Event::ModelSwitch {
            to_model: Some(to_model),
            requested_model,
        } => {
            let report = super::line::current(config, &input, now);
            switch_warning(
                &report,
                to_model,
                requested_model.as_deref(),
                &config.warn_at,
            )
            .and_then(|w| message(&[w], &report))
        }
        Event::StopFailure { error: Some(e) } if e == "rate_limit" => {
            // Due at once: the numbers that let this turn start are now wrong, and the line
            // should not wait out the TTL to show the full window.
            let _ = config.store.update(now, |e| {
                e.refresh_requested_at = Some(now);
                true
            });
            let report = super::line::current(config, &input, now);
            let found = rate_limit_warnings(&report, local_offset(now));
            // Today's clients drop this output; the next prompt's hook says it instead.
            let until = report
                .shown()
                .binding
                .and_then(|w| w.resets_at)
                .filter(|&t| t > now)
                .unwrap_or(now + 5 * 3600);
            let mut announced = load_announced(config);
            announced.rate_limited = Some(RateLimited { at: now, until });
            save_announced(config, &announced);
            message(&found, &report)
        }
        Event::ModelSwitch { .. } | Event::StopFailure { .. } | Event::Other => None,
    };
    if let Some(msg) = msg {
        // Claude Code may have stopped reading (timeout, exit): an EPIPE is no reason to panic
        // and exit 101, which println! would do.
        let _ = writeln!(std::io::stdout().lock(), "{msg}");
    }
    0
}

/// The local UTC offset; `None` (then times are labelled UTC) when `time` refuses the lookup
/// because another thread could be changing TZ.
fn local_offset(now: i64) -> Option<time::UtcOffset> {
    time::OffsetDateTime::from_unix_timestamp(now)
        .ok()
        .and_then(|t| time::UtcOffset::local_offset_at(t).ok())
}

fn load_announced(config: &Config) -> Announced {
    crate::files::read_cache_file(&config.store.sidecar("hook.json"), 64 * 1024)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_announced(config: &Config, announced: &Announced) {
    if let Ok(bytes) = serde_json::to_vec(announced) {
        let path = config.store.sidecar("hook.json");
        let _ = crate::files::ensure_dir(config.store.dir())
            .and_then(|_| crate::files::write_cache_file(&path, &bytes));
    }
}

/// `UserPromptSubmit` / `SessionStart`: a rate-limited turn ccmeter could not yet tell the user
/// about, then newly crossed thresholds, recorded so each is said once.
fn thresholds(config: &Config, input: &input::Input, now: i64) -> Option<String> {
    let report = super::line::current(config, input, now);
    let mut announced = load_announced(config);
    let pending = announced.rate_limited.take();
    // Still news only while a window is known full: by the next prompt the status line has
    // stored the 429's numbers. Without one (the limits moved on, or the numbers never caught
    // up) a "when last read" guess about some other window would mislead (seen in the e2e run:
    // a new session named the weekly Opus window at 91 % after the 5-hour one had reset).
    let still_full = report
        .snapshot
        .as_ref()
        .is_some_and(|s| current_windows(s, now).iter().any(|(_, p)| *p >= 100.0));
    let mut found = match pending {
        Some(rl) if now < rl.until && still_full => rate_limit_warnings(&report, local_offset(now)),
        _ => Vec::new(),
    };
    // Crossed thresholds are still recorded, but a window the rate-limit news already names is
    // not said twice in one message.
    let named: Vec<Option<String>> = found.iter().map(|w| w.window.clone()).collect();
    let crossed = warnings(&report, &config.warn_at, &mut announced);
    found.extend(
        crossed
            .into_iter()
            .filter(|w| w.window.is_none() || !named.contains(&w.window)),
    );
    let msg = message(&found, &report);
    // Record first: if the state cannot be saved, saying it again next prompt is the lesser evil.
    if msg.is_some() || pending.is_some() {
        save_announced(config, &announced);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::ScopedWindow;

    const NOW: i64 = 1_795_000_000;

    fn report(five: f64, seven: f64, source: Source) -> Report {
        Report {
            snapshot: Some(Snapshot {
                five_hour: Some(Window::percent(five, Some(NOW + 2520))),
                seven_day: Some(Window::percent(seven, Some(NOW + 3 * 86_400))),
                scoped: vec![],
                extra: None,
                source,
                taken_at: NOW,
            }),
            problem: None,
            retry_at: None,
            now: NOW,
            stale_after: 600,
            note: None,
            projections: Default::default(),
        }
    }

    /// The state file reads back as written, whatever number it holds. Found by the `hook` fuzz
    /// target (this input): without serde_json's `float_roundtrip` the value came back one ULP off.
    #[test]
    fn announced_state_reads_back_exactly() {
        let file = br#"{"windows":{"5h259200":95.0,"until":1795033333333333333333333333333333333333333333333333333333333333333333333333333333333333303600}}"#;
        let a: Announced = serde_json::from_slice(file).unwrap();
        let back: Announced = serde_json::from_slice(&serde_json::to_vec(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn silent_below_thresholds() {
        let mut a = Announced::default();
        assert!(warnings(&report(79.4, 10.0, Source::Stdin), &[80.0, 95.0], &mut a).is_empty());
        assert_eq!(a, Announced::default());
    }

    #[test]
    fn once_per_threshold_per_period() {
        let t = [80.0, 95.0];
        let mut a = Announced::default();
        let r = report(83.0, 10.0, Source::Stdin);
        let first = warnings(&r, &t, &mut a);
        assert_eq!(
            first,
            [Warning {
                text: "5-hour limit at 83%, resets in 42m".into(),
                window: Some("5h".into()),
            }]
        );
        assert_eq!(
            message(&first, &r).unwrap(),
            r#"{"systemMessage":"ccmeter: 5-hour limit at 83%, resets in 42m"}"#
        );
        assert!(warnings(&report(90.0, 10.0, Source::Stdin), &t, &mut a).is_empty());
        let second = warnings(&report(96.0, 81.0, Source::Estimate), &t, &mut a);
        assert_eq!(
            second.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            [
                "5-hour limit at about 96%, resets in 42m",
                "7-day limit at about 81%, resets in 3d"
            ]
        );
        assert!(warnings(&report(99.0, 85.0, Source::Stdin), &t, &mut a).is_empty());
        // A new 5-hour period (different reset time) warns again.
        let mut next = report(85.0, 85.0, Source::Stdin);
        next.snapshot.as_mut().unwrap().five_hour =
            Some(Window::percent(85.0, Some(NOW + 4 * 3600)));
        assert_eq!(warnings(&next, &t, &mut a).len(), 1);
        // The same period reported with a reset a few seconds off is not announced again.
        let mut drift = next;
        drift.snapshot.as_mut().unwrap().five_hour =
            Some(Window::percent(86.0, Some(NOW + 4 * 3600 + 7)));
        assert!(warnings(&drift, &t, &mut a).is_empty());
    }

    fn with_scoped(mut r: Report, scoped: &[(&str, f64, i64)]) -> Report {
        r.snapshot.as_mut().unwrap().scoped = scoped
            .iter()
            .map(|&(name, p, resets_in)| ScopedWindow {
                name: name.into(),
                window: Window::percent(p, Some(NOW + resets_in)),
                is_active: false,
            })
            .collect();
        r
    }

    const DAYS_3: i64 = 3 * 86_400;

    #[test]
    fn per_model_windows_warn_once_per_threshold() {
        let t = [80.0, 95.0];
        // (Entries that still say `7d fable` are read as `fable` by the store: store.rs tests.)
        let mut a = Announced::default();
        let r = with_scoped(
            report(2.0, 59.0, Source::Oauth),
            &[("fable", 100.0, DAYS_3)],
        );
        assert_eq!(
            warnings(&r, &t, &mut a),
            [Warning {
                text: "7-day fable limit at 100%, resets in 3d".into(),
                window: Some("7d:fable".into()),
            }]
        );
        assert!(warnings(&r, &t, &mut a).is_empty());
        assert_eq!(
            a.windows.keys().collect::<Vec<_>>(),
            [&format!("7d:fable@{}", NOW + DAYS_3)]
        );
        // 7d and a model window announce independently.
        let mut a = Announced::default();
        let r = with_scoped(report(2.0, 81.0, Source::Oauth), &[("opus", 91.0, DAYS_3)]);
        assert_eq!(
            warnings(&r, &t, &mut a)
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>(),
            [
                "7-day limit at 81%, resets in 3d",
                "7-day opus limit at 91%, resets in 3d"
            ]
        );
    }

    #[test]
    fn model_names_match_on_whole_words() {
        assert!(names_model("opus", "claude-opus-4-6"));
        assert!(names_model("opus", "opus"));
        assert!(names_model("Opus", "opus[1m]"));
        assert!(names_model("opus", "CLAUDE-OPUS-4-6"));
        assert!(names_model("sonnet-4.5", "claude-sonnet-4-5-20250929"));
        assert!(!names_model("opus", "opusplan"));
        assert!(!names_model("opus", "claude-sonnet-4-6"));
        assert!(!names_model("sonnet", "claude-opus-4-6"));
        assert!(!names_model("", "claude-opus-4-6"));
        assert!(!names_model("-", "claude-opus-4-6"));
        assert!(!names_model("opus", ""));
    }

    #[test]
    fn switching_to_a_model_near_its_cap() {
        let t = [80.0, 95.0];
        let r = with_scoped(
            report(12.0, 48.0, Source::Oauth),
            &[("opus", 91.0, 2 * 86_400 + 60), ("sonnet", 30.0, DAYS_3)],
        );
        let text = |w: Option<Warning>| w.map(|w| w.text);
        assert_eq!(
            text(switch_warning(&r, "claude-opus-4-6", Some("opus"), &t)),
            Some("switching to opus: 7-day opus limit at 91%, resets in 2d".into())
        );
        assert_eq!(
            text(switch_warning(&r, "claude-opus-4-6", None, &t)),
            Some("switching to claude-opus-4-6: 7-day opus limit at 91%, resets in 2d".into())
        );
        // The alias alone is enough.
        assert_eq!(
            text(switch_warning(&r, "some-new-id", Some("opus"), &t)),
            Some("switching to opus: 7-day opus limit at 91%, resets in 2d".into())
        );
        // Under the first threshold, a model without a window, or above a custom threshold.
        assert_eq!(
            switch_warning(&r, "claude-sonnet-4-6", Some("sonnet"), &t),
            None
        );
        assert_eq!(
            switch_warning(&r, "claude-haiku-4-5", Some("haiku"), &t),
            None
        );
        assert_eq!(switch_warning(&r, "claude-opus-4-6", None, &[95.0]), None);
        assert!(switch_warning(&r, "claude-sonnet-4-6", None, &[30.0]).is_some());
        // Nothing known: nothing said.
        let empty = Report {
            snapshot: None,
            ..report(0.0, 0.0, Source::Oauth)
        };
        assert_eq!(
            switch_warning(&empty, "claude-opus-4-6", Some("opus"), &t),
            None
        );
    }

    #[test]
    fn switching_while_something_is_full() {
        let t = [80.0, 95.0];
        let text = |r: &Report, to: &str| switch_warning(r, to, None, &t).map(|w| w.text);
        // Another model's window full, the target's unknown.
        let r = with_scoped(
            report(2.0, 59.0, Source::Oauth),
            &[("fable", 100.0, DAYS_3)],
        );
        assert_eq!(
            text(&r, "claude-opus-4-6"),
            Some("switching to claude-opus-4-6: 7-day fable limit at 100%, resets in 3d".into())
        );
        // 5h full beats another model's window; the target's own window beats both.
        let r = with_scoped(
            report(100.0, 59.0, Source::Oauth),
            &[("fable", 100.0, DAYS_3), ("opus", 85.0, DAYS_3)],
        );
        assert_eq!(
            text(&r, "claude-sonnet-4-6"),
            Some("switching to claude-sonnet-4-6: 5-hour limit at 100%, resets in 42m".into())
        );
        assert_eq!(
            text(&r, "claude-opus-4-6"),
            Some("switching to claude-opus-4-6: 7-day opus limit at 85%, resets in 3d".into())
        );
        // 99.6 % rounds to 100 on screen but is not full.
        let r = report(99.6, 10.0, Source::Oauth);
        assert_eq!(text(&r, "claude-sonnet-4-6"), None);
    }

    #[test]
    fn rate_limit_names_the_full_windows_by_the_clock() {
        // NOW is Wed 2026-11-18 11:06:40 UTC.
        let texts = |r: &Report, off: Option<time::UtcOffset>| {
            rate_limit_warnings(r, off)
                .into_iter()
                .map(|w| w.text)
                .collect::<Vec<_>>()
        };
        let r = report(100.0, 40.0, Source::Oauth);
        assert_eq!(
            texts(&r, None),
            ["5-hour limit reached, resets in 42m (11:48 UTC)"]
        );
        let cet = time::UtcOffset::from_hms(1, 0, 0).ok();
        assert_eq!(
            texts(&r, cet),
            ["5-hour limit reached, resets in 42m (12:48)"]
        );
        // Two full windows, the one a day or more away with its weekday.
        let r = with_scoped(
            report(100.0, 40.0, Source::Oauth),
            &[("fable", 104.0, DAYS_3)],
        );
        assert_eq!(
            texts(&r, None),
            [
                "5-hour limit reached, resets in 42m (11:48 UTC)",
                "7-day fable limit reached, resets in 3d (Sat 11:06 UTC)"
            ]
        );
        // None known full: the fullest.
        let r = with_scoped(report(61.0, 97.0, Source::Oauth), &[("opus", 90.0, DAYS_3)]);
        assert_eq!(
            texts(&r, None),
            ["rate-limited; 7-day limit at 97% when last read, resets in 3d (Sat 11:06 UTC)"]
        );
        // Nothing known: nothing said.
        let empty = Report {
            snapshot: None,
            ..report(0.0, 0.0, Source::Oauth)
        };
        assert!(texts(&empty, None).is_empty());
    }

    #[test]
    fn events_are_read_leniently() {
        assert_eq!(Event::parse(b"garbage"), Event::Thresholds);
        assert_eq!(Event::parse(b"{}"), Event::Thresholds);
        assert_eq!(
            Event::parse(br#"{"hook_event_name":"SessionStart"}"#),
            Event::Thresholds
        );
        assert_eq!(
            Event::parse(br#"{"hook_event_name":"PostToolUse"}"#),
            Event::Other
        );
        assert_eq!(
            Event::parse(
                br#"{"hook_event_name":"PreModelSwitch","to_model":" claude-opus-4-6 ","requested_model":null}"#
            ),
            Event::ModelSwitch {
                to_model: Some("claude-opus-4-6".into()),
                requested_model: None
            }
        );
        assert_eq!(
            Event::parse(
                br#"{"hook_event_name":"PreModelSwitch","to_model":42,"requested_model":""}"#
            ),
            Event::ModelSwitch {
                to_model: None,
                requested_model: None
            }
        );
        assert_eq!(
            Event::parse(br#"{"hook_event_name":"StopFailure","error":"rate_limit"}"#),
            Event::StopFailure {
                error: Some("rate_limit".into())
            }
        );
    }

    #[test]
    fn extra_usage_with_room_is_mentioned_after_a_rate_limit() {
        let extra = |enabled, spent, limit, percent| Extra {
            enabled,
            spent,
            limit,
            percent,
            currency: "USD".into(),
            at: None,
        };
        assert_eq!(
            extra_room(&extra(true, Some(12.34), Some(50.0), Some(24.68))).as_deref(),
            Some("extra usage on, $12.34 of $50 spent")
        );
        assert_eq!(
            extra_room(&extra(true, Some(12.34), None, None)).as_deref(),
            Some("extra usage on, $12.34 spent")
        );
        assert_eq!(
            extra_room(&extra(true, None, None, None)).as_deref(),
            Some("extra usage on")
        );
        assert_eq!(
            extra_room(&extra(true, Some(50.0), Some(50.0), Some(100.0))),
            None
        );
        assert_eq!(
            extra_room(&extra(true, None, Some(50.0), Some(100.0))),
            None
        );
        assert_eq!(
            extra_room(&extra(false, Some(1.0), Some(50.0), Some(2.0))),
            None
        );

        let mut r = report(100.0, 40.0, Source::Oauth);
        r.snapshot.as_mut().unwrap().extra = Some(extra(true, Some(12.34), Some(50.0), None));
        assert_eq!(
            message(&rate_limit_warnings(&r, None), &r).unwrap(),
            r#"{"systemMessage":"ccmeter: 5-hour limit reached, resets in 42m (11:48 UTC); extra usage on, $12.34 of $50 spent"}"#
        );
        // No window known: nothing at all, not a lone line about credits.
        r.snapshot.as_mut().unwrap().five_hour = None;
        r.snapshot.as_mut().unwrap().seven_day = None;
        assert!(rate_limit_warnings(&r, None).is_empty());
    }
}
