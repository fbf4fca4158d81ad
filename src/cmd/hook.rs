//! `ccmeter hook`: for Claude Code's `UserPromptSubmit` / `SessionStart` hooks. Silent below the
//! thresholds; above one, a `systemMessage` the user sees — once per threshold per window
//! period, not on every prompt. Always exit 0: a failing hook would get in the user's way.
//!
//! The JSON carries only the documented `systemMessage`: DESIGN warns that Claude Code may reject
//! an object with keys it does not know (the 2.1.x client tolerated one in our e2e run, but a
//! stricter one must not cost the user the warning).

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::cli::Config;
use crate::input;
use crate::render;
use crate::report::Report;
use crate::store;
use crate::usage::{Source, Window};

/// Reset times this close together name the same window period.
const SAME_PERIOD_S: u64 = 3600;

/// The highest threshold already announced for each window period.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Announced {
    /// Key: `5h@<resets_at>`; value: threshold percent announced.
    #[serde(default)]
    pub windows: BTreeMap<String, f64>,
}

/// A warning due for one window (pure decision, state update included).
#[derive(Debug, PartialEq)]
pub struct Warning {
    pub text: String,
}

/// Which thresholds are newly crossed, given what was already announced; updates `announced`.
pub fn warnings(report: &Report, thresholds: &[f64], announced: &mut Announced) -> Vec<Warning> {
    let Some(snap) = &report.snapshot else {
        return Vec::new();
    };
    let about = if snap.source == Source::Estimate {
        "about "
    } else {
        ""
    };
    let mut out = Vec::new();
    let windows: [(&str, &str, Option<&Window>); 2] = [
        ("5h", "5-hour", snap.five_hour.as_ref()),
        ("7d", "7-day", snap.seven_day.as_ref()),
    ];
    for (key, name, window) in windows {
        let Some(w) = window.filter(|w| !w.has_reset(report.now)) else {
            continue;
        };
        let Some(p) = w.display_percent() else {
            continue;
        };
        let shown = render::round_percent(p);
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
            .map(|t| format!(", resets in {}", render::fmt_until(t - report.now)))
            .unwrap_or_default();
        let text = match (pace_slot, full_in) {
            (Some(s), Some(secs)) => {
                announced.windows.insert(s, f64::from(shown));
                let full = crate::projection::fmt_full_in(secs);
                format!("{name} limit at {about}{shown}%: at this pace full in {full}{reset}")
            }
            _ => format!("{name} limit at {about}{shown}%{reset}"),
        };
        out.push(Warning { text });
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

/// The hook's stdout for a set of warnings: `{"systemMessage": "…"}`.
pub fn message(warnings: &[Warning], report: &Report) -> Option<String> {
    if warnings.is_empty() {
        return None;
    }
    let texts: Vec<&str> = warnings.iter().map(|w| w.text.as_str()).collect();
    let age = if report.is_stale() {
        report
            .age()
            .map(|a| format!(" (as of {} ago)", render::fmt_age(a)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let text = format!("ccmeter: {}{age}", texts.join("; "));
    Some(serde_json::json!({ "systemMessage": text }).to_string())
}

pub fn run(config: &Config) -> i32 {
    let now = crate::now();
    let input = input::read_stdin()
        .map(|b| input::parse(&b, now))
        .unwrap_or_default();
    let report = super::line::current(config, &input, now);
    let path = config.store.sidecar("hook.json");
    let mut announced: Announced = store::read_cache_file(&path, 64 * 1024)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let found = warnings(&report, &config.warn_at, &mut announced);
    if let Some(msg) = message(&found, &report) {
        // Record first: if the state cannot be saved, saying it again next prompt is the lesser evil.
        if let Ok(bytes) = serde_json::to_vec(&announced) {
            let _ = store::ensure_dir(config.store.dir())
                .and_then(|_| store::write_cache_file(&path, &bytes));
        }
        // Claude Code may have stopped reading (timeout, exit): an EPIPE is no reason to panic
        // and exit 101, which println! would do.
        let _ = writeln!(std::io::stdout().lock(), "{msg}");
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Snapshot;

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
                text: "5-hour limit at 83%, resets in 42m".into()
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
}
