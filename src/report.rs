//! The decision: given what stdin said, what the store holds and the time, which numbers to
//! show, how old they are and what is wrong. Pure, so every state can be tested with a fixed
//! clock; `render` turns a [`Report`] into text.

use crate::store::{Entry, Health};
#[cfg(test)]
use crate::usage::Source;
use crate::usage::{Problem, Snapshot};

/// What ccmeter knows right now.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The numbers to show, if any.
    pub snapshot: Option<Snapshot>,
    /// Why newer numbers could not be had, when that matters for what is shown.
    pub problem: Option<Problem>,
    /// For `RateLimited` and `Unreachable`: when the next attempt may happen.
    pub retry_at: Option<i64>,
    pub now: i64,
    /// Age beyond which the line shows how old its numbers are.
    pub stale_after: i64,
    /// Something the user must fix in their own command line (unknown flag …).
    pub note: Option<String>,
}

impl Report {
    pub fn age(&self) -> Option<i64> {
        self.snapshot
            .as_ref()
            .map(|s| (self.now - s.taken_at).max(0))
    }

    pub fn is_stale(&self) -> bool {
        self.age().is_some_and(|a| a > self.stale_after)
    }

    #[cfg(test)]
    pub fn source(&self) -> Option<Source> {
        self.snapshot.as_ref().map(|s| s.source)
    }
}

/// Picks what to show. Order of authority: live stdin, then the stored authoritative snapshot,
/// then a local estimate when the authoritative one is missing or older than `stale_after`
/// (an estimate of now beats a measurement from hours ago, and it is always marked `~`).
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
    };
    if let Some(live) = stdin {
        // Live numbers from Claude Code itself: nothing the endpoint says matters now.
        report.snapshot = Some(live.clone());
        return report;
    }
    let Some(entry) = entry else { return report };
    let stored = entry.snapshot.as_ref();
    let stored_is_old = stored.is_none_or(|s| now - s.taken_at > stale_after);
    let estimate = entry.estimate.as_ref().filter(|e| {
        stored_is_old && stored.is_none_or(|s| e.taken_at > s.taken_at) && !e.is_empty()
    });
    report.snapshot = estimate.or(stored).cloned();
    let shown_at = report.snapshot.as_ref().map_or(i64::MIN, |s| s.taken_at);
    report.problem = relevant_problem(&entry.health, shown_at);
    if matches!(
        report.problem,
        Some(Problem::RateLimited | Problem::Unreachable)
    ) {
        report.retry_at = entry.health.backoff_until.filter(|&t| t > now);
    }
    report
}

/// A failure matters only if nothing newer than it has been shown since: a status line that
/// just wrote fresh stdin numbers should not keep crying about an old 401.
fn relevant_problem(health: &Health, shown_at: i64) -> Option<Problem> {
    let problem = health.problem?;
    let failed_at = health.last_attempt.unwrap_or(i64::MAX);
    (failed_at >= shown_at).then_some(problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Window;

    const NOW: i64 = 1_795_000_000;

    fn snap(source: Source, taken_at: i64, p: f64) -> Snapshot {
        Snapshot {
            five_hour: Some(Window::percent(p, Some(NOW + 3600))),
            seven_day: None,
            scoped: vec![],
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
        assert_eq!((r.snapshot, r.problem), (Some(live), None));
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
}
