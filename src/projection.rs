//! Pace and projection: where a window *should* be if usage were spread evenly over it, and,
//! at the rate of the recent past, when it will be full. Pure: (window, its readings, now) in,
//! numbers out; README's "Pace and history" is the specification.
//!
//! The rate comes from the history first (the recent slope says more about "this pace" than the
//! average since the window opened), then from the window start, and is absent while the window
//! is too young for either to mean anything.

use std::collections::BTreeMap;

use crate::history::{self, Sample, Tail, same_period};
use crate::usage::{Snapshot, Source, Used, Window};

/// Each window's projection, keyed by its short name (`5h`, `7d`, `opus`).
pub type Projections = BTreeMap<String, Projection>;

/// Projects every window of a snapshot against the history's recent tail, each from its own
/// reading's time. Estimates use the window-start rate only: a slope between an estimate and a
/// measured reading would mix two scales.
pub fn of_snapshot(snap: &Snapshot, tail: &Tail, now: i64) -> Projections {
    history::named_windows(snap)
        .filter_map(|(name, w)| {
            let kind = Kind::of(name);
            let stamp = snap.stamp_of(w);
            let samples = (stamp.source != Source::Estimate)
                .then(|| tail.samples(name, now - kind.lookback(), now))
                .into_iter()
                .flatten();
            Some((
                name.to_string(),
                project(kind, w, stamp.taken_at, samples, now)?,
            ))
        })
        .collect()
}

/// What [`of_snapshot`] can use from the history, per window: the oldest reading that
/// [`project`] would take as its anchor lies in the returned bounds, so the hot path reads only
/// the lines that answer these ([`Tail::read_wanted`]) instead of a day of them.
pub fn wants(snap: &Snapshot, now: i64) -> Vec<history::Want<'_>> {
    history::named_windows(snap)
        .filter_map(|(name, w)| {
            let kind = Kind::of(name);
            let stamp = snap.stamp_of(w);
            let resets_at = w.resets_at?;
            let since = now.saturating_sub(kind.lookback());
            let opened = resets_at.saturating_sub(kind.length() + history::SAME_PERIOD_S);
            (stamp.source != Source::Estimate && resets_at > now).then_some(history::Want {
                name,
                since,
                until: now.min(stamp.taken_at.saturating_sub(kind.min_span())),
                resets_at,
                // A reading of this period is taken once the period has opened.
                from: since.max(opened),
            })
        })
        .collect()
}

/// The two kinds of window, which differ in length and in how far back a rate may look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    FiveHour,
    /// 7d and the per-model weekly windows.
    Weekly,
}

impl Kind {
    pub fn of(name: &str) -> Kind {
        if name == "5h" {
            Kind::FiveHour
        } else {
            Kind::Weekly
        }
    }

    pub fn length(self) -> i64 {
        match self {
            Kind::FiveHour => 5 * 3600,
            Kind::Weekly => 7 * 86_400,
        }
    }

    /// How far back a history reading may be to give the rate.
    pub fn lookback(self) -> i64 {
        match self {
            Kind::FiveHour => 3600,
            Kind::Weekly => 86_400,
        }
    }

    /// The least span between that reading and the newest one.
    fn min_span(self) -> i64 {
        match self {
            Kind::FiveHour => 15 * 60,
            Kind::Weekly => 3 * 3600,
        }
    }

    /// The least time since the window opened for the average rate to count.
    fn min_elapsed(self) -> i64 {
        match self {
            Kind::FiveHour => 10 * 60,
            Kind::Weekly => 6 * 3600,
        }
    }
}

/// Where the rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateFrom {
    History,
    WindowStart,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// 100 · elapsed / length: where an even pace would be now.
    pub expected_percentage: f64,
    /// Used minus expected, in percentage points (positive: ahead of an even pace).
    pub pace: f64,
    /// Percent per second, when one could be had.
    pub rate_per_s: Option<f64>,
    pub rate_from: Option<RateFrom>,
    /// When the window reaches 100 % at that rate; only when that is before it resets.
    pub full_at: Option<i64>,
    pub full_in_s: Option<i64>,
}

/// Projects one window. `taken_at` is when the window's number was read; `history` holds the
/// window's earlier readings, oldest first (the file's order). `None` when there is nothing to
/// project: no percentage, no known reset, or the reset has passed.
pub fn project(
    kind: Kind,
    window: &Window,
    taken_at: i64,
    history: impl IntoIterator<Item = Sample>,
    now: i64,
) -> Option<Projection> {
    let Used::Percent(used) = window.used else {
        return None;
    };
    let resets_at = window.resets_at?;
    if !used.is_finite() || resets_at <= now {
        return None;
    }
    let len = kind.length();
    let start = resets_at - len;
    let elapsed = (now - start).clamp(0, len);
    let expected = 100.0 * elapsed as f64 / len as f64;
    // Oldest first, so the first that qualifies is the oldest: the longest, steadiest slope.
    let anchor = history.into_iter().find(|s| {
        s.taken_at <= now
            && now - s.taken_at <= kind.lookback()
            && taken_at - s.taken_at >= kind.min_span()
            && same_period(s.resets_at, Some(resets_at))
            && s.percent.is_finite()
    });
    let (rate, from) = match anchor {
        Some(s) => (
            Some((used - s.percent) / (taken_at - s.taken_at) as f64),
            Some(RateFrom::History),
        ),
        None if elapsed >= kind.min_elapsed() => {
            (Some(used / elapsed as f64), Some(RateFrom::WindowStart))
        }
        None => (None, None),
    };
    let full_in = rate
        .filter(|&r| r > 0.0 && used < 100.0)
        // Whole seconds: 20 points at 20 %/h is 3600 s, not 3599.9999.
        .map(|r| ((100.0 - used) / r).round())
        .filter(|&s| s < (resets_at - now) as f64)
        .map(|s| s as i64);
    Some(Projection {
        expected_percentage: expected,
        pace: used - expected,
        rate_per_s: rate,
        rate_from: from,
        full_at: full_in.map(|s| now + s),
        full_in_s: full_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmt::{fmt_full_in, fmt_pace};

    const NOW: i64 = 1_795_000_000;
    const H: i64 = 3600;

    fn five(p: f64, resets_in: i64) -> Window {
        Window::percent(p, Some(NOW + resets_in))
    }

    fn sample(ago: i64, p: f64, resets_at: i64) -> Sample {
        Sample {
            taken_at: NOW - ago,
            percent: p,
            resets_at: Some(resets_at),
        }
    }

    fn full_in(p: &Option<Projection>) -> Option<String> {
        p.and_then(|p| p.full_in_s).map(fmt_full_in)
    }

    #[test]
    fn history_slope_example_full_in_1h() {
        // Resets in 3 h, 80 % now, 60 % an hour ago: 20 %/h, full in 1 h.
        let w = five(80.0, 3 * H);
        let p = project(Kind::FiveHour, &w, NOW, [sample(H, 60.0, NOW + 3 * H)], NOW);
        assert_eq!(full_in(&p), Some("1h".into()));
        let p = p.unwrap();
        assert_eq!(p.rate_from, Some(RateFrom::History));
        assert_eq!(p.full_at, Some(NOW + H));
        assert!((p.rate_per_s.unwrap() * 3600.0 - 20.0).abs() < 1e-9);
        assert!((p.expected_percentage - 40.0).abs() < 1e-9);
        assert_eq!(fmt_pace(p.pace), "+40");
    }

    #[test]
    fn window_start_example_full_in_30m_pace_plus_40() {
        // No history, 80 % after 2 h elapsed: 40 %/h, full in 30 min; even pace says 40 %.
        let p = project(Kind::FiveHour, &five(80.0, 3 * H), NOW, [], NOW).unwrap();
        assert_eq!(p.rate_from, Some(RateFrom::WindowStart));
        assert_eq!(p.full_in_s, Some(1800));
        assert_eq!(fmt_full_in(1800), "30m");
        assert_eq!(fmt_pace(p.pace), "+40");
    }

    #[test]
    fn history_bounds() {
        let w = five(80.0, 3 * H);
        let reset = NOW + 3 * H;
        let from = |s: Sample| {
            project(Kind::FiveHour, &w, NOW, [s], NOW)
                .unwrap()
                .rate_from
        };
        // Exactly 60 min back: included; a second more: not (falls back to the window start).
        assert_eq!(from(sample(H, 60.0, reset)), Some(RateFrom::History));
        assert_eq!(
            from(sample(H + 1, 60.0, reset)),
            Some(RateFrom::WindowStart)
        );
        // Exactly 15 min older than the newest: included; less: not.
        assert_eq!(from(sample(900, 75.0, reset)), Some(RateFrom::History));
        assert_eq!(from(sample(899, 75.0, reset)), Some(RateFrom::WindowStart));
        // Same period within ±300 s; a different period is not used.
        assert_eq!(from(sample(H, 60.0, reset + 300)), Some(RateFrom::History));
        assert_eq!(
            from(sample(H, 60.0, reset - 301)),
            Some(RateFrom::WindowStart)
        );
        // Future-dated points (the clock stepped back) are ignored.
        assert_eq!(from(sample(-60, 60.0, reset)), Some(RateFrom::WindowStart));
        // Weekly: 24 h back and 3 h of span.
        let week = Window::percent(50.0, Some(NOW + 3 * 86_400));
        let wfrom = |s: Sample| {
            project(Kind::Weekly, &week, NOW, [s], NOW)
                .unwrap()
                .rate_from
        };
        let wr = NOW + 3 * 86_400;
        assert!(from_ok(wfrom(sample(86_400, 40.0, wr))));
        assert!(!from_ok(wfrom(sample(86_401, 40.0, wr))));
        assert!(from_ok(wfrom(sample(3 * H, 40.0, wr))));
        assert!(!from_ok(wfrom(sample(3 * H - 1, 40.0, wr))));
        // The oldest qualifying reading wins over newer ones.
        let p = project(
            Kind::FiveHour,
            &w,
            NOW,
            [sample(H, 60.0, reset), sample(30 * 60, 79.0, reset)],
            NOW,
        )
        .unwrap();
        assert_eq!(p.full_in_s, Some(3600));
    }

    fn from_ok(f: Option<RateFrom>) -> bool {
        f == Some(RateFrom::History)
    }

    #[test]
    fn window_start_bounds_and_nothing_too_early() {
        // 10 min elapsed: the average counts; 9:59 does not.
        let p = project(Kind::FiveHour, &five(10.0, 5 * H - 600), NOW, [], NOW).unwrap();
        assert_eq!(p.rate_from, Some(RateFrom::WindowStart));
        let p = project(Kind::FiveHour, &five(10.0, 5 * H - 599), NOW, [], NOW).unwrap();
        assert_eq!((p.rate_per_s, p.full_at), (None, None));
        let p = project(
            Kind::Weekly,
            &Window::percent(10.0, Some(NOW + 7 * 86_400 - 6 * H)),
            NOW,
            [],
            NOW,
        )
        .unwrap();
        assert_eq!(p.rate_from, Some(RateFrom::WindowStart));
        let p = project(
            Kind::Weekly,
            &Window::percent(10.0, Some(NOW + 7 * 86_400 - 6 * H + 1)),
            NOW,
            [],
            NOW,
        )
        .unwrap();
        assert_eq!(p.rate_from, None);
    }

    #[test]
    fn full_only_before_the_reset_and_below_100() {
        // 40 %/h with 20 points left is 30 min; a reset in 29 min comes first.
        let p = project(Kind::FiveHour, &five(80.0, 29 * 60), NOW, [], NOW).unwrap();
        assert!(p.rate_per_s.is_some());
        assert_eq!(p.full_at, None);
        // Already full (or over): nothing to project.
        let p = project(Kind::FiveHour, &five(100.0, 3 * H), NOW, [], NOW).unwrap();
        assert_eq!(p.full_in_s, None);
        let p = project(Kind::FiveHour, &five(104.0, 3 * H), NOW, [], NOW).unwrap();
        assert_eq!(p.full_in_s, None);
        // A falling or flat slope never fills.
        let p = project(
            Kind::FiveHour,
            &five(60.0, 3 * H),
            NOW,
            [sample(H, 60.0, NOW + 3 * H)],
            NOW,
        )
        .unwrap();
        assert_eq!((p.rate_per_s, p.full_at), (Some(0.0), None));
        // No reset, a passed reset, or tokens: no projection at all.
        assert_eq!(
            project(Kind::FiveHour, &Window::percent(50.0, None), NOW, [], NOW),
            None
        );
        assert_eq!(project(Kind::FiveHour, &five(50.0, 0), NOW, [], NOW), None);
        let tokens = Window {
            used: Used::Tokens(5),
            ..Window::percent(0.0, Some(NOW + H))
        };
        assert_eq!(project(Kind::FiveHour, &tokens, NOW, [], NOW), None);
    }

    #[test]
    fn formats() {
        assert_eq!(
            [30, 1800, 3600, 3900, 2 * H + 13 * 60, 10 * H, 3 * 86_400].map(fmt_full_in),
            ["1m", "30m", "1h", "1h05m", "2h13m", "10h", "3d"]
        );
        assert_eq!(
            [12.4, -5.0, 0.2, -0.4, 39.5].map(fmt_pace),
            ["+12", "-5", "0", "0", "+40"]
        );
    }
}
