//! The benchmark's floor: the least a status-line program can do — read stdin, parse it with
//! serde_json, print a fixed line. `scripts/bench` reports ccmeter's time as a ratio to this,
//! built with the same profile in the same run, so the figure means the same on any machine.

use std::io::{Read, Write};

fn main() {
    let mut buf = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut buf);
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap_or(serde_json::Value::Null);
    let _ = writeln!(
        std::io::stdout(),
        "5h 42% · 7d 18% ↻2h13m {}",
        v.is_object()
    );
}
