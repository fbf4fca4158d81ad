//! A store file (`store::parse_entry`): any bytes in the cache dir. Never a panic; an entry it
//! accepts has no time in the past of 1970 nor (beyond the clock-step allowance) after now; it
//! renders printable on every surface; and written back by the next update it reads back the
//! same.
#![no_main]

use ccmeter::report;
use ccmeter::store::{self, Entry};
use ccmeter_fuzz::{NOW, STALE_AFTER, check_report, check_snapshot, with_projections};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Also with a clock before the epoch and at its ends: `now` comes from the system.
    for now in [-1, 0, i64::MAX] {
        let _ = store::parse_entry(data, now);
    }
    let Ok(entry) = store::parse_entry(data, NOW) else {
        return;
    };
    for s in [&entry.snapshot, &entry.estimate].into_iter().flatten() {
        assert!((0..=NOW + 60).contains(&s.taken_at), "{}", s.taken_at);
        check_snapshot(s);
    }
    for t in [
        entry.health.last_attempt,
        entry.health.last_success,
        entry.refresh_requested_at,
    ]
    .into_iter()
    .flatten()
    {
        assert!((0..=NOW + 60).contains(&t), "{t}");
    }
    for now in [NOW, NOW + 3 * STALE_AFTER] {
        check_report(&with_projections(report::decide(
            None,
            Some(&entry),
            now,
            STALE_AFTER,
        )));
    }
    round_trip(&entry);
});

fn round_trip(entry: &Entry) {
    let bytes = serde_json::to_vec(entry).expect("serialises");
    let back = store::parse_entry(&bytes, NOW).expect("reads back");
    assert_eq!(
        &back,
        entry,
        "store round trip of {}",
        String::from_utf8_lossy(&bytes)
    );
}
