//! Claude Code's statusLine JSON on stdin (`input::parse`, and the reader's `Completion` that
//! decides when a JSON value has arrived): never a panic, every number sane, every rendering
//! printable; the completion tracker closes exactly where serde_json's value ends, however the
//! bytes are split across reads.
#![no_main]

use ccmeter::input::{self, Completion};
use ccmeter::usage::{self, Source, Used};
use ccmeter_fuzz::{NOW, check_snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = input::parse(data, NOW);
    if let Some(v) = &parsed.claude_code_version {
        // It goes into the User-Agent header: short and plain.
        assert!(
            v.len() <= 32 && v.bytes().all(|b| b.is_ascii_graphic()),
            "{v:?}"
        );
    }
    if let Some(snap) = &parsed.rate_limits {
        assert_eq!((snap.source, snap.taken_at), (Source::Stdin, NOW));
        for w in [&snap.five_hour, &snap.seven_day].into_iter().flatten() {
            let Used::Percent(p) = w.used else {
                panic!("stdin gives percentages")
            };
            assert!(p.is_finite(), "{p}");
            assert!(w.resets_at.is_none_or(|r| r <= NOW + 366 * 86_400));
        }
        check_snapshot(snap);
        // Merged into what the store holds (a reading from the endpoint a minute ago).
        let mut stored = snap.clone();
        stored.source = Source::Oauth;
        stored.taken_at = NOW - 60;
        check_snapshot(&usage::merge(Some(&stored), snap, NOW));
    }
    completion(data);
});

/// For a JSON object or array (with blanks around it, as serde_json accepts), the tracker says
/// "complete" at its last byte and not before, fed whole or in two reads split anywhere.
fn completion(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if !(v.is_object() || v.is_array()) {
        return;
    }
    assert!(input::is_complete_json(data));
    let end = data.len()
        - data
            .iter()
            .rev()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .count();
    let mut whole = Completion::default();
    assert!(!whole.feed(&data[..end - 1]), "closed before the end");
    assert!(whole.feed(&data[end - 1..end]), "not closed at the end");
    // A split point that depends on the input, so every split gets tried.
    let split = data.iter().fold(0usize, |h, &b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    }) % end;
    let mut two = Completion::default();
    assert!(!two.feed(&data[..split]), "closed early at split {split}");
    assert!(
        two.feed(&data[split..end]),
        "not closed after split {split}"
    );
}
