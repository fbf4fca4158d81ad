//! The decision: given what stdin said, what the store holds and the time, which numbers to
//! show, how old they are and what is wrong. Pure, so every state can be tested with a fixed
//! clock; `render` turns a [`Report`] into text.

use crate::projection::Projections;
use crate::store::{Entry, Health};
use crate::usage::{self, Extra, Problem, ScopedWindow, Snapshot, Source, Window};

/// What ccmeter knows right now.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The numbers to show, if any.
    pub snapshot: Option<Snapshot>,
    /// Why newer numbers could not be had, when that matters for what is shown.
    pub problem: Option<Problem>,
    /// For `RateLimited`, `Unreachable` and `UnexpectedAnswer`: when the next attempt may happen.
    pub retry_at: Option<i64>,
    pub now: i64,
    /// Age beyond which the line shows how old its numbers are.
    pub stale_after: i64,
    /// Something the user must fix in their own command line (unknown flag …).
    pub note: Option<String>,
    /// Pace and projection of each window shown, keyed by its short name (`5h`, `7d`, `opus`).
    pub projections: Projections,
}

/// What the line shows, picked once so that the line, `--json`, templates and hooks agree.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shown<'a> {
    pub five_hour: Option<&'a Window>,
    pub seven_day: Option<&'a Window>,
    /// The fullest per-model window, only when it is fuller than the 7-day one.
    pub model: Option<&'a ScopedWindow>,
    /// Extra usage, only when credits are being spent now or the month's budget is half gone.
    pub extra: Option<&'a Extra>,
    /// The window whose reset the line shows (`↻`).
    pub binding: Option<&'a Window>,
}

/// A percentage as the line shows it, so "fuller" means fuller to the reader's eye.
fn shown_percent(w: &Window, now: i64) -> Option<u8> {
    w.live_percent(now).map(crate::fmt::round_percent)
}

/// Which of the snapshot's numbers go on the line. Pure.
pub fn shown(snap: &Snapshot, now: i64) -> Shown<'_> {
    let five_hour = snap.five_hour.as_ref();
    let seven_day = snap.seven_day.as_ref();
    let seven_pct = seven_day.and_then(|w| shown_percent(w, now));
    // The fullest model window; the endpoint's headline pick breaks ties.
    let mut model: Option<(&ScopedWindow, u8)> = None;
    for sw in &snap.scoped {
        let Some(p) = shown_percent(&sw.window, now) else {
            continue;
        };
        let better =
            model.is_none_or(|(m, mp)| p > mp || (p == mp && sw.is_active && !m.is_active));
        if better {
            model = Some((sw, p));
        }
    }
    let model = model
        .filter(|(_, p)| seven_pct.is_none_or(|s| *p > s))
        .map(|(m, _)| m);
    // Binding: the fullest shown window; 5h wins ties, then 7d, then the model window.
    let candidates = [five_hour, seven_day, model.map(|m| &m.window)];
    let mut binding: Option<(&Window, u8)> = None;
    for w in candidates.into_iter().flatten() {
        if let Some(p) = shown_percent(w, now)
            && binding.is_none_or(|(_, bp)| p > bp)
        {
            binding = Some((w, p));
        }
    }
    let binding = binding.map(|(w, _)| w).or_else(|| {
        // Token-only estimates: the first live window that knows its reset.
        candidates
            .into_iter()
            .flatten()
            .find(|w| !w.has_reset(now) && w.resets_at.is_some())
    });
    let any_full = candidates
        .into_iter()
        .flatten()
        .any(|w| shown_percent(w, now) == Some(100));
    let extra = snap.extra.as_ref().filter(|e| {
        e.enabled
            && e.spent.is_some_and(|s| s > 0.0)
            && (any_full || e.percent.is_some_and(|p| p >= 50.0))
    });
    Shown {
        five_hour,
        seven_day,
        model,
        extra,
        binding,
    }
}

impl Report {
    /// What goes on the line; empty when nothing is known.
    pub fn shown(&self) -> Shown<'_> {
        self.snapshot
            .as_ref()
            .map(|s| shown(s, self.now))
            .unwrap_or_default()
    }

    /// When the oldest number on the line was read: the line is as old as its oldest number.
    pub fn oldest_shown_at(&self) -> Option<i64> {
        let s = self.snapshot.as_ref()?;
        let shown = self.shown();
        let windows = [
            shown.five_hour,
            shown.seven_day,
            shown.model.map(|m| &m.window),
        ];
        let numbers = windows
            .into_iter()
            .flatten()
            .filter(|w| !w.has_reset(self.now))
            .map(|w| s.stamp_of(w).taken_at);
        let extra = shown.extra.map(|e| e.at.unwrap_or(s.stamp()).taken_at);
        Some(numbers.chain(extra).min().unwrap_or(s.taken_at))
    }

    /// Age of the oldest number on the line.
    pub fn age(&self) -> Option<i64> {
        self.oldest_shown_at()
            .map(|t| self.now.saturating_sub(t).max(0))
    }

    /// Whether this window's number is a local estimate (shown with `~`).
    pub fn is_estimate(&self, w: &Window) -> bool {
        self.snapshot
            .as_ref()
            .is_some_and(|s| s.stamp_of(w).source == Source::Estimate)
    }

    pub fn is_stale(&self) -> bool {
        self.age().is_some_and(|a| a > self.stale_after)
    }

    #[cfg(test)]
    pub fn source(&self) -> Option<Source> {
        self.snapshot.as_ref().map(|s| s.source)
    }
}

/// Picks what to show: the stored authoritative snapshot with stdin's reading merged in, then a
/// local estimate when the authoritative one is missing or older than `stale_after` (an
/// estimate of now beats a measurement from hours ago, and it is always marked `~`).
pub fn decide(
    stdin: Option<&Snapshot>,
    entry: Option<&Entry>,
    now: i64,
    stale_after: i64,
) -> Report {
    let mut report = Report {
        snapshot: None,
        problem: None,
        retry_at: None,
        now,
        stale_after,
        note: None,
        projections: Projections::new(),
    };
    // Stdin's numbers are merged into the stored ones, never shown instead of them: an idle
    // session re-sends old numbers, and the line is about the account, not the session. A
    // re-send comes dated by its session's last request, so it renews nothing and the estimate
    // may take over from numbers that grew old, as if no stdin came.
    let stored = entry.and_then(|e| e.snapshot.as_ref());
    let merged = stdin.map(|live| usage::merge(stored, live, now));
    let stored = merged.as_ref().or(stored);
    let Some(entry) = entry else {
        report.snapshot = stored.cloned();
        return report;
    };
    let stored_is_old = stored.is_none_or(|s| now.saturating_sub(s.taken_at) > stale_after);
    let estimate = entry.estimate.as_ref().filter(|e| {
        stored_is_old && stored.is_none_or(|s| e.taken_at > s.taken_at) && !e.is_empty()
    });
    report.snapshot = estimate.or(stored).cloned();
    report.problem = relevant_problem(&entry.health, report.oldest_shown_at());
    if matches!(
        report.problem,
        Some(Problem::RateLimited | Problem::Unreachable | Problem::UnexpectedAnswer)
    ) {
        report.retry_at = entry.health.backoff_until.filter(|&t| t > now);
    }
    report
}

/// A failure matters only if nothing newer than it has been shown since: a status line that
/// just wrote fresh stdin numbers should not keep crying about an old 401.
/// Measured against the oldest number on the line: if that one is older than the failure, the
/// failure is why it was not renewed.
fn relevant_problem(health: &Health, oldest_shown_at: Option<i64>) -> Option<Problem> {
    let problem = health.problem?;
    let failed_at = health.last_attempt.unwrap_or(i64::MAX);
    (failed_at >= oldest_shown_at.unwrap_or(i64::MIN)).then_some(problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Used;

    const NOW: i64 = 1_795_000_000;

    fn snap(source: Source, taken_at: i64, p: f64) -> Snapshot {
        Snapshot {
            five_hour: Some(Window::percent(p, Some(NOW + 3600))),
            seven_day: None,
            scoped: vec![],
            extra: None,
            source,
            taken_at,
        }
    }

    #[test]
    fn stdin_wins_and_hides_old_problems() {
        let entry = Entry {
            snapshot: Some(snap(Source::Oauth, NOW - 100, 10.0)),
            health: Health {
                problem: Some(Problem::Relogin),
                last_attempt: Some(NOW - 50),
                ..Health::default()
            },
            ..Entry::default()
        };
        let live = snap(Source::Stdin, NOW, 50.0);
        let r = decide(Some(&live), Some(&entry), NOW, 600);
        assert_eq!(r.problem, None);
        let five = r.snapshot.as_ref().unwrap().five_hour.unwrap();
        assert!(five.same_numbers(&live.five_hour.unwrap()));
        assert_eq!(r.age(), Some(0));
    }

    #[test]
    fn stored_snapshot_with_newer_failure_shows_problem() {
        let entry = Entry {
            snapshot: Some(snap(Source::Oauth, NOW - 1000, 10.0)),
            health: Health {
                problem: Some(Problem::RateLimited),
                last_attempt: Some(NOW - 10),
                backoff_until: Some(NOW + 300),
                ..Health::default()
            },
            ..Entry::default()
        };
        let r = decide(None, Some(&entry), NOW, 600);
        assert_eq!(r.problem, Some(Problem::RateLimited));
        assert_eq!(r.retry_at, Some(NOW + 300));
        assert!(r.is_stale());
        assert_eq!(r.age(), Some(1000));
    }

    #[test]
    fn failure_older_than_shown_numbers_is_not_shown() {
        let entry = Entry {
            snapshot: Some(snap(Source::Stdin, NOW - 5, 10.0)),
            health: Health {
                problem: Some(Problem::Relogin),
                last_attempt: Some(NOW - 60),
                ..Health::default()
            },
            ..Entry::default()
        };
        assert_eq!(decide(None, Some(&entry), NOW, 600).problem, None);
    }

    #[test]
    fn estimate_only_replaces_missing_or_old_numbers() {
        let mut entry = Entry {
            snapshot: Some(snap(Source::Oauth, NOW - 100, 10.0)),
            estimate: Some(snap(Source::Estimate, NOW - 5, 12.0)),
            ..Entry::default()
        };
        assert_eq!(
            decide(None, Some(&entry), NOW, 600).source(),
            Some(Source::Oauth)
        );
        entry.snapshot.as_mut().unwrap().taken_at = NOW - 7200;
        assert_eq!(
            decide(None, Some(&entry), NOW, 600).source(),
            Some(Source::Estimate)
        );
        entry.snapshot = None;
        assert_eq!(
            decide(None, Some(&entry), NOW, 600).source(),
            Some(Source::Estimate)
        );
    }

    #[test]
    fn nothing_known() {
        let r = decide(None, None, NOW, 600);
        assert_eq!((r.age(), r.problem, r.snapshot), (None, None, None));
    }

    #[test]
    fn five_hour_only_stdin_keeps_stored_week_and_models_with_their_age() {
        let mut stored = snap(Source::Oauth, NOW - 1200, 10.0);
        stored.seven_day = Some(Window::percent(96.0, Some(NOW + 86_400)));
        stored.scoped.push(ScopedWindow {
            name: "opus".into(),
            window: Window::percent(97.0, Some(NOW + 86_400)),
            is_active: false,
        });
        let entry = Entry {
            snapshot: Some(stored),
            health: Health {
                problem: Some(Problem::RateLimited),
                last_attempt: Some(NOW - 60),
                backoff_until: Some(NOW + 240),
                ..Health::default()
            },
            ..Entry::default()
        };
        let live = snap(Source::Stdin, NOW, 50.0);
        let r = decide(Some(&live), Some(&entry), NOW, 600);
        let shown = r.shown();
        assert_eq!(shown.seven_day.map(|w| w.used), Some(Used::Percent(96.0)));
        assert_eq!(shown.model.map(|m| m.name.as_str()), Some("opus"));
        // The line is as old as its oldest number, and the failure explains why.
        assert_eq!(r.age(), Some(1200));
        assert_eq!(r.problem, Some(Problem::RateLimited));
    }

    #[test]
    fn model_window_shown_only_when_fuller_than_the_week() {
        let mut s = snap(Source::Oauth, NOW, 2.0);
        s.seven_day = Some(Window::percent(59.0, Some(NOW + 86_400)));
        let model = |name: &str, p: f64, active: bool| ScopedWindow {
            name: name.into(),
            window: Window::percent(p, Some(NOW + 2 * 86_400)),
            is_active: active,
        };
        s.scoped = vec![model("sonnet", 59.4, false)];
        assert!(shown(&s, NOW).model.is_none(), "59.4 reads 59%, not fuller");
        s.scoped = vec![model("sonnet", 80.0, false), model("fable", 100.0, false)];
        let sh = shown(&s, NOW);
        assert_eq!(sh.model.map(|m| m.name.as_str()), Some("fable"));
        assert_eq!(sh.binding.and_then(|w| w.resets_at), Some(NOW + 2 * 86_400));
        // Ties between models: the endpoint's headline pick.
        s.scoped = vec![model("sonnet", 90.0, false), model("opus", 90.0, true)];
        assert_eq!(shown(&s, NOW).model.map(|m| m.name.as_str()), Some("opus"));
        // A model window whose reset passed is void.
        s.scoped = vec![ScopedWindow {
            window: Window::percent(100.0, Some(NOW - 1)),
            ..model("fable", 0.0, false)
        }];
        assert!(shown(&s, NOW).model.is_none());
        // Ties with 5h and 7d: 5h binds first.
        s.five_hour = Some(Window::percent(100.0, Some(NOW + 600)));
        s.scoped = vec![model("fable", 100.0, true)];
        assert_eq!(
            shown(&s, NOW).binding.and_then(|w| w.resets_at),
            Some(NOW + 600)
        );
    }

    #[test]
    fn extra_usage_shown_while_spending() {
        let mut s = snap(Source::Oauth, NOW, 62.0);
        s.extra = Some(Extra {
            enabled: true,
            spent: Some(12.34),
            limit: Some(50.0),
            percent: Some(24.68),
            currency: "USD".into(),
            at: None,
        });
        assert!(
            shown(&s, NOW).extra.is_none(),
            "no window full, month under half"
        );
        s.five_hour = Some(Window::percent(100.0, Some(NOW + 600)));
        assert!(
            shown(&s, NOW).extra.is_some(),
            "a window on the line is full"
        );
        s.five_hour = Some(Window::percent(10.0, Some(NOW + 600)));
        s.extra.as_mut().unwrap().percent = Some(50.0);
        assert!(
            shown(&s, NOW).extra.is_some(),
            "half the month's budget is gone"
        );
        s.extra.as_mut().unwrap().spent = Some(0.0);
        assert!(shown(&s, NOW).extra.is_none(), "nothing spent");
        s.extra.as_mut().unwrap().spent = Some(3.0);
        s.extra.as_mut().unwrap().enabled = false;
        assert!(shown(&s, NOW).extra.is_none(), "disabled");
    }
}
