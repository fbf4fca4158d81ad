//! Lines of Claude Code's JSONL transcripts (`estimate::scan::parse_line`), any bytes: never a
//! panic; a line it takes is an assistant message whose time is the line's own timestamp, whose
//! key is its `message.id:requestId` (or `uuid`), and whose counts are at most what the line
//! says; and a line reads the same with or without its line ending.
#![no_main]

use ccmeter::estimate::{log, scan};
use ccmeter::usage;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    check(data);
    for line in data.split_inclusive(|&b| b == b'\n') {
        check(line);
    }
});

fn check(line: &[u8]) {
    let got = scan::parse_line(line);
    for ending in [&b"\n"[..], b"\r\n"] {
        let mut ended = line.to_vec();
        ended.extend_from_slice(ending);
        assert_eq!(scan::parse_line(&ended), got, "with {ending:?}");
    }
    let Some((key, m)) = got else { return };
    let v: Value = serde_json::from_slice(line).expect("a line it took is JSON");
    assert_eq!(v["type"].as_str(), Some("assistant"));
    let time = usage::parse_rfc3339(v["timestamp"].as_str().expect("a timestamp"));
    assert_eq!(time, Some(i64::from(m.time)));
    let text = |v: &Value| v.as_str().map(String::from);
    let (id, req, uuid) = (
        text(&v["message"]["id"]),
        text(&v["requestId"]),
        text(&v["uuid"]),
    );
    let expected = match (id, req, uuid) {
        (None, None, Some(uuid)) => format!("uuid:{uuid}"),
        (id, req, _) => format!("{}:{}", id.unwrap_or_default(), req.unwrap_or_default()),
    };
    assert_eq!(
        key,
        log::hash_bytes(expected.as_bytes()),
        "key of {expected:?}"
    );
    let usage = &v["message"]["usage"];
    for (field, n) in [
        ("input_tokens", m.input),
        ("output_tokens", m.output),
        ("cache_creation_input_tokens", m.creation),
        ("cache_read_input_tokens", m.read),
    ] {
        let said = usage[field].as_u64().unwrap_or(0);
        assert!(u64::from(n) <= said, "{field}: {n} > {said}");
    }
}
