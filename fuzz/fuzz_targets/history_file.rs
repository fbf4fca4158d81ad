//! The history file (`<key>.history.jsonl`), any bytes: every line through `history::parse_line`
//! (its hand scanner must read exactly what serde_json reads, and a point written by `append`
//! must read back exactly); the whole file through the readers the binary uses (`Tail::read`,
//! the hot path's bisecting `Tail::read_wanted`), the projection the line adds from it, and the
//! `ccmeter history` chart. Never a panic, nothing unprintable on screen.
#![no_main]

use std::path::PathBuf;

use ccmeter::cmd::history::Chart;
use ccmeter::history::{self, Point, Series, Tail};
use ccmeter::projection;
use ccmeter::render::Style;
use ccmeter::report;
use ccmeter::usage::{ScopedWindow, Snapshot, Source, Window};
use ccmeter_fuzz::{NOW, STALE_AFTER, assert_shown, check_report, with_history};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut points = Vec::new();
    let mut bad = 0;
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let parsed = history::parse_line(line);
        if let Ok(p) = serde_json::from_slice::<Point>(line) {
            assert_eq!(parsed, valid(p), "{:?}", String::from_utf8_lossy(line));
        }
        match parsed {
            Some(p) => {
                round_trip(&p);
                points.push(p);
            }
            None => bad += 1,
        }
    }

    let path = file(data);
    let tail = Tail::read(&path, history::MAX_READ).expect("reads");
    assert_eq!(tail.points(), (points.clone(), bad));
    let series = Series::of_tail(&tail);
    assert_eq!((series.times.len(), series.bad), (points.len(), bad));
    for (width, offset_s, days) in [
        (80, Some(3_600), None),
        (20, None, Some(1)),
        (200, Some(-34_200), Some(8)),
    ] {
        let chart = Chart {
            width,
            offset_s,
            style: Style::Plain,
            days,
        };
        assert_shown("history chart", &chart.render(&series, NOW), true);
        let ansi = Chart {
            style: Style::Ansi,
            ..chart
        };
        let _ = ansi.render(&series, NOW);
    }

    // The line's projection, from the lines the hot path would read.
    let snap = snapshot();
    let wants = projection::wants(&snap, NOW);
    let mut r = report::decide(Some(&snap), None, NOW, STALE_AFTER);
    let wanted = Tail::read_wanted(&path, &wants, NOW, 512 * 1024).expect("reads");
    with_history(&mut r, &wanted);
    check_report(&r);
    with_history(&mut r, &tail);
    check_report(&r);
});

/// What `parse_line` keeps of a point serde_json reads: ours (not an estimate), with sane times
/// and numbers.
fn valid(p: Point) -> Option<Point> {
    let ok = p.taken_at >= 0
        && p.source != Source::Estimate
        && p.windows
            .values()
            .all(|r| r.p.is_finite() && r.r.is_none_or(|r| r >= 0));
    ok.then_some(p)
}

/// A point as `history::append` writes it reads back the same.
fn round_trip(p: &Point) {
    let line = serde_json::to_vec(p).expect("serialises");
    assert_eq!(
        history::parse_line(&line).as_ref(),
        Some(p),
        "round trip of {}",
        String::from_utf8_lossy(&line)
    );
}

/// The input as a history file (one per fuzzing process).
fn file(data: &[u8]) -> PathBuf {
    let path = ccmeter_fuzz::scratch("k.history.jsonl");
    std::fs::write(&path, data).expect("temp file");
    path
}

/// A reading whose windows the seeds' lines are about (5h, 7d, opus), with these resets.
fn snapshot() -> Snapshot {
    let mut s = Snapshot::new(Source::Stdin, NOW);
    s.five_hour = Some(Window::percent(61.4, Some(NOW + 3_600)));
    s.seven_day = Some(Window::percent(23.0, Some(NOW + 86_400)));
    s.scoped.push(ScopedWindow {
        name: "opus".into(),
        window: Window::percent(91.0, Some(NOW + 86_400)),
        is_active: false,
    });
    s
}
