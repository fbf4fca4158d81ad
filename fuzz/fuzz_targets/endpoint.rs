//! A 200 body of the usage endpoint (`usage::parse_endpoint`): never a panic; what it yields is
//! sane (finite percentages, plausible resets, short unique model names, a real currency code);
//! it renders printable on every surface, alone and merged with a stdin reading; and the store
//! entry holding it reads back exactly.
#![no_main]

use ccmeter::cmd::hook;
use ccmeter::store::{self, Entry};
use ccmeter::usage::{self, EndpointUsage, Extra, Snapshot, Source, Used, Window};
use ccmeter_fuzz::{NOW, assert_shown, check_snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match usage::parse_endpoint(data, NOW) {
        None | Some(EndpointUsage::Unexpected) => {}
        Some(EndpointUsage::NoPlanLimits(extra)) => {
            if let Some(e) = &extra {
                check_extra(e);
            }
        }
        Some(EndpointUsage::Windows(snap)) => {
            assert_eq!((snap.source, snap.taken_at), (Source::Oauth, NOW));
            assert!(!snap.is_empty());
            let windows = [&snap.five_hour, &snap.seven_day].into_iter().flatten();
            for w in windows.chain(snap.scoped.iter().map(|s| &s.window)) {
                check_window(w);
            }
            for (i, s) in snap.scoped.iter().enumerate() {
                let n = s.name.chars().count();
                assert!((1..=12).contains(&n), "name {:?}", s.name);
                assert!(!s.name.chars().any(char::is_whitespace), "{:?}", s.name);
                assert_shown("model name", &s.name, false);
                assert!(
                    snap.scoped[..i].iter().all(|o| o.name != s.name),
                    "{:?} twice",
                    s.name
                );
            }
            if let Some(e) = &snap.extra {
                check_extra(e);
            }
            check_snapshot(&snap);
            // What the status line shows once a stdin reading came in after it.
            let mut live = Snapshot::new(Source::Stdin, NOW + 5);
            live.five_hour = Some(Window::percent(12.0, Some(NOW + 3_600)));
            check_snapshot(&usage::merge(Some(&snap), &live, NOW));
            round_trip(snap);
        }
    }
});

fn check_window(w: &Window) {
    let Used::Percent(p) = w.used else {
        panic!("the endpoint gives percentages")
    };
    assert!(p.is_finite() && p >= 0.0, "{p}");
    assert!(
        w.resets_at.is_none_or(|r| r <= NOW + 366 * 86_400),
        "{:?}",
        w.resets_at
    );
}

fn check_extra(e: &Extra) {
    assert!(
        e.currency.len() == 3 && e.currency.bytes().all(|b| b.is_ascii_uppercase()),
        "{:?}",
        e.currency
    );
    for a in [e.spent, e.limit, e.percent].into_iter().flatten() {
        assert!(a.is_finite() && a >= 0.0, "{a}");
    }
    if let Some(t) = e.spent_text() {
        assert_shown("extra", &t, false);
    }
    if let Some(t) = hook::extra_room(e) {
        assert_shown("extra room", &t, false);
    }
}

/// The refresh worker stores the snapshot; the next status line must read the same numbers.
fn round_trip(snap: Snapshot) {
    let entry = Entry {
        version: store::VERSION,
        snapshot: Some(snap),
        ..Entry::default()
    };
    let bytes = serde_json::to_vec(&entry).expect("serialises");
    let back = store::parse_entry(&bytes, NOW).expect("reads back");
    assert_eq!(
        back,
        entry,
        "store round trip of {}",
        String::from_utf8_lossy(&bytes)
    );
}
