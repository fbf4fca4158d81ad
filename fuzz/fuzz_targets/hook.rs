//! A hook's JSON on stdin (`hook::Event::parse`, then `input::parse` as `hook` runs them) and
//! the hook's own state file (`Announced`): never a panic, and every `systemMessage` the hook
//! would print is JSON whose text holds nothing a terminal acts on and stays short, whatever
//! model name or state came in.
#![no_main]

use ccmeter::cmd::hook::{self, Announced, Event};
use ccmeter::input;
use ccmeter::report::{self, Report};
use ccmeter::usage::{Extra, ScopedWindow, Snapshot, Source, Window};
use ccmeter_fuzz::{NOW, STALE_AFTER, assert_shown};
use libfuzzer_sys::fuzz_target;

/// Longer than any message the hook composes from its own words and short names.
const MAX_MESSAGE_CHARS: usize = 1024;

fuzz_target!(|data: &[u8]| {
    let _ = input::parse(data, NOW);
    let report = report();
    match Event::parse(data) {
        Event::ModelSwitch {
            to_model,
            requested_model,
        } => {
            // `run` only warns when Claude Code named the target model.
            if let Some(to) = to_model {
                let w =
                    hook::switch_warning(&report, &to, requested_model.as_deref(), &[80.0, 95.0]);
                check_message(&report, w.into_iter().collect());
            }
        }
        Event::StopFailure { .. } => {
            check_message(&report, hook::rate_limit_warnings(&report, None))
        }
        Event::Thresholds | Event::Other => {}
    }
    if let Ok(mut announced) = serde_json::from_slice::<Announced>(data) {
        let warnings = hook::warnings(&report, &[80.0, 95.0], &mut announced);
        check_message(&report, warnings);
        // What the hook writes back it must read back the same.
        let again = serde_json::to_vec(&announced).expect("serialises");
        let back: Announced = serde_json::from_slice(&again).expect("reads back");
        assert_eq!(back, announced, "Announced round trip");
    }
});

fn check_message(report: &Report, warnings: Vec<hook::Warning>) {
    let Some(out) = hook::message(&warnings, report) else {
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&out).expect("the hook prints JSON");
    let text = v["systemMessage"].as_str().expect("a systemMessage");
    assert_shown("systemMessage", text, false);
    assert!(
        text.chars().count() <= MAX_MESSAGE_CHARS,
        "systemMessage of {} chars",
        text.chars().count()
    );
}

/// A state in which every event has something to say: 5h full, two model windows near their
/// caps, extra usage with room.
fn report() -> Report {
    let mut snap = Snapshot::new(Source::Oauth, NOW - 30);
    snap.five_hour = Some(Window::percent(100.0, Some(NOW + 3_600)));
    snap.seven_day = Some(Window::percent(62.0, Some(NOW + 3 * 86_400)));
    for (name, p) in [("opus", 91.0), ("sonnet", 85.0)] {
        snap.scoped.push(ScopedWindow {
            name: name.into(),
            window: Window::percent(p, Some(NOW + 2 * 86_400)),
            is_active: false,
        });
    }
    snap.extra = Some(Extra {
        enabled: true,
        spent: Some(12.34),
        limit: Some(50.0),
        percent: Some(24.7),
        currency: "USD".into(),
        at: None,
    });
    report::decide(Some(&snap), None, NOW, STALE_AFTER)
}
