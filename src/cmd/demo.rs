//! `ccmeter demo`: the line in each state it can be in, from built-in samples, so a new user
//! sees what to expect before wiring anything. No account, no network, no store.

use crate::cli::Config;
use crate::history::Sample;
use crate::input::Input;
use crate::projection::{self, Kind};
use crate::render;
use crate::report::Report;
use crate::usage::{Extra, Problem, ScopedWindow, Severity, Snapshot, Source, Window};

/// The name field: names are at most 20 characters (two spaces before the line), and every row
/// fits an 80-column terminal: the longest line (`… (15m ago, rate-limited, retry 5m)`) is 56
/// characters after the indent and this field.
const NAME_COLUMNS: usize = 21;

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
            "live (Claude Code)",
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
            "per-model cap binds",
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
            "full before reset",
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
            "stored 12m ago",
            report(
                Some(snap(Source::Oauth, 720, w(42.0, 7200), w(18.0, 86_400))),
                None,
                None,
            ),
        ),
        (
            "calibrated estimate",
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
            "estimate in tokens",
            report(Some(snap(Source::Estimate, 0, tokens, None)), None, None),
        ),
        (
            "rate-limited (429)",
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
            "odd endpoint answer",
            report(
                // Fresh enough to show no age: with one, the row would not fit 80 columns.
                Some(snap(Source::Oauth, 300, w(35.0, 6000), w(20.0, 86_400))),
                Some(Problem::UnexpectedAnswer),
                Some(120),
            ),
        ),
        (
            "keychain locked",
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

/// The demo's rows as printed: the state's name, then the line.
fn rows(now: i64, style: render::Style) -> Vec<String> {
    samples(now)
        .iter()
        .map(|(name, report)| {
            format!(
                "  {name:<w$} {}",
                render::line(report, style),
                w = NAME_COLUMNS
            )
        })
        .collect()
}

pub fn run(config: &Config) -> i32 {
    let style = super::line::style(config, &Input::default());
    println!("ccmeter demo: sample states (built in; no account, no network)\n");
    for row in rows(crate::now(), style) {
        println!("{row}");
    }
    println!("\nWire it into Claude Code:  ccmeter setup      Check your setup:  ccmeter doctor");
    0
}

#[cfg(test)]
mod tests {
    /// An 80-column terminal shows every row on one line (two used to be 86 and 91 wide).
    #[test]
    fn every_row_fits_80_columns() {
        let now = 1_795_000_000;
        for (name, _) in super::samples(now) {
            assert!(name.chars().count() < super::NAME_COLUMNS, "{name}");
        }
        for row in super::rows(now, crate::render::Style::Plain) {
            // Every character the line uses (`·`, `↻`, `€`, `~`) is one column wide.
            assert!(
                row.chars().count() <= 80,
                "{} columns: {row}",
                row.chars().count()
            );
        }
    }

    #[test]
    fn demo_states_render() {
        let now = 1_795_000_000;
        let text: Vec<String> = super::samples(now)
            .iter()
            .map(|(name, r)| {
                format!(
                    "{name:<w$} {}",
                    crate::render::line(r, crate::render::Style::Plain),
                    w = super::NAME_COLUMNS
                )
            })
            .collect();
        insta::assert_snapshot!(text.join("\n"));
    }
}
