//! `ccmeter demo`: the line in each state it can be in, from built-in samples, so a new user
//! sees what to expect before wiring anything. No account, no network, no store.

use crate::cli::Config;
use crate::history::Sample;
use crate::input::Input;
use crate::projection::{self, Kind};
use crate::render;
use crate::report::Report;
use crate::usage::{Extra, Problem, ScopedWindow, Severity, Snapshot, Source, Window};

/// The demo's states, rendered against `now`. Pure, so it doubles as a fixture for tests.
pub fn samples(now: i64) -> Vec<(&'static str, Report)> {
    let w = |p: f64, reset_in: i64| Some(Window::percent(p, Some(now + reset_in)));
    let snap = |source, age: i64, five_hour, seven_day| Snapshot {
        five_hour,
        seven_day,
        scoped: vec![],
        extra: None,
        source,
        taken_at: now - age,
    };
    let report =
        |snapshot: Option<Snapshot>, problem: Option<Problem>, retry_in: Option<i64>| Report {
            snapshot,
            problem,
            retry_at: retry_in.map(|s| now + s),
            now,
            stale_after: 600,
            note: None,
            projections: Default::default(),
        };
    let tokens = Some(Window::tokens(1_840_000, Some(now + 2 * 3600 + 13 * 60)));
    vec![
        (
            "live from Claude Code",
            report(
                Some(snap(Source::Stdin, 0, w(42.0, 7980), w(18.0, 4 * 86_400))),
                None,
                None,
            ),
        ),
        (
            "getting close",
            report(
                Some(snap(
                    Source::Oauth,
                    30,
                    w(83.4, 2520),
                    w(61.0, 86_400 + 7200),
                )),
                None,
                None,
            ),
        ),
        (
            "over the limit",
            report(
                Some(snap(Source::Stdin, 0, w(104.0, 1500), w(96.0, 50_400))),
                None,
                None,
            ),
        ),
        (
            "a model's weekly cap binds",
            report(
                Some({
                    let mut s = snap(Source::Oauth, 0, w(2.0, 3 * 3600), w(59.0, 4 * 86_400));
                    let mut fable = Window::percent(100.0, Some(now + 2 * 86_400 + 3600));
                    fable.severity = Some(Severity::Critical);
                    s.scoped.push(ScopedWindow {
                        name: "fable".into(),
                        window: fable,
                        is_active: true,
                    });
                    s
                }),
                None,
                None,
            ),
        ),
        (
            "spending extra usage",
            report(
                Some({
                    let mut s = snap(Source::Oauth, 0, w(100.0, 1500), w(62.0, 3 * 86_400));
                    s.extra = Some(Extra {
                        enabled: true,
                        spent: Some(12.34),
                        limit: Some(50.0),
                        percent: Some(24.68),
                        currency: "USD".into(),
                        at: None,
                    });
                    s
                }),
                None,
                None,
            ),
        ),
        (
            "at this pace, full soon",
            pacing(report(
                Some(snap(Source::Stdin, 0, w(72.0, 7980), w(48.0, 3 * 86_400))),
                None,
                None,
            )),
        ),
        (
            "one window only",
            report(
                Some(snap(Source::Stdin, 0, None, w(23.0, 3 * 86_400))),
                None,
                None,
            ),
        ),
        (
            "stored 12 minutes ago",
            report(
                Some(snap(Source::Oauth, 720, w(42.0, 7200), w(18.0, 86_400))),
                None,
                None,
            ),
        ),
        (
            "estimate (calibrated)",
            report(
                Some(snap(
                    Source::Estimate,
                    0,
                    w(31.0, 7980),
                    w(12.0, 5 * 86_400),
                )),
                None,
                None,
            ),
        ),
        (
            "estimate (uncalibrated)",
            report(Some(snap(Source::Estimate, 0, tokens, None)), None, None),
        ),
        (
            "rate-limited endpoint",
            report(
                Some(snap(Source::Oauth, 900, w(57.0, 5400), w(22.0, 86_400))),
                Some(Problem::RateLimited),
                Some(300),
            ),
        ),
        (
            "token rejected (401)",
            report(
                Some(snap(Source::Oauth, 4000, w(12.0, 9000), w(40.0, 86_400))),
                Some(Problem::Relogin),
                None,
            ),
        ),
        (
            "endpoint answered oddly",
            report(
                Some(snap(Source::Oauth, 1500, w(35.0, 6000), w(20.0, 86_400))),
                Some(Problem::UnexpectedAnswer),
                Some(120),
            ),
        ),
        (
            "keychain locked (macOS)",
            report(None, Some(Problem::KeychainLocked), None),
        ),
        (
            "not logged in",
            report(None, Some(Problem::NotLoggedIn), None),
        ),
    ]
}

/// The projection of a sample whose 5-hour window rose 25.8 points in the last hour: at that
/// pace its remaining 28 points take 1h05m, before the reset in 2h13m.
fn pacing(mut report: Report) -> Report {
    let now = report.now;
    if let Some(snap) = &report.snapshot {
        let hour_ago = Sample {
            taken_at: now - 3600,
            percent: 72.0 - 28.0 * 3600.0 / 3900.0,
            resets_at: snap.five_hour.and_then(|w| w.resets_at),
        };
        for (name, window) in crate::history::named_windows(snap) {
            let kind = Kind::of(name);
            let history = (name == "5h").then_some(hour_ago);
            if let Some(p) = projection::project(kind, window, now, history, now) {
                report.projections.insert(name.to_string(), p);
            }
        }
    }
    report
}

pub fn run(config: &Config) -> i32 {
    let style = super::line::style(config, &Input::default());
    println!("ccmeter demo: sample states (built in; no account, no network)\n");
    for (name, report) in samples(crate::now()) {
        println!("  {name:<27} {}", render::line(&report, style));
    }
    println!("\nWire it into Claude Code:  ccmeter setup      Check your setup:  ccmeter doctor");
    0
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_states_render() {
        let now = 1_795_000_000;
        let text: Vec<String> = super::samples(now)
            .iter()
            .map(|(name, r)| {
                format!(
                    "{name:<27} {}",
                    crate::render::line(r, crate::render::Style::Plain)
                )
            })
            .collect();
        insta::assert_snapshot!(text.join("\n"));
    }
}
