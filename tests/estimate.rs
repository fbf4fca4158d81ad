//! The local estimate through the real binary: transcripts that are not regular files.
//! (FIFOs are a Unix thing: Windows has no named pipes in the file system to plant.)
#![cfg(unix)]

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Sandbox, stdout};

/// Runs `cmd` and fails (killing it) if it has not finished within 10 s.
fn run_promptly(mut cmd: Command) -> (Output, Duration) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn ccmeter");
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = start.elapsed();
    (child.wait_with_output().expect("output"), took)
}

#[cfg(unix)]
#[test]
fn a_fifo_named_jsonl_never_blocks_the_worker_or_doctor() {
    let s = Sandbox::new();
    let project = s.config.join("projects").join("-home-dev-shop");
    std::fs::create_dir_all(&project).unwrap();
    let ts = "2026-11-18T07:53:20Z"; // NOW - 1 h
    std::fs::write(
        project.join("a.jsonl"),
        format!(
            concat!(
                r#"{{"type":"assistant","timestamp":"{}","requestId":"req_1","#,
                r#""message":{{"id":"msg_1","usage":{{"input_tokens":5,"output_tokens":7}}}}}}"#,
                "\n"
            ),
            ts
        ),
    )
    .unwrap();
    let fifo = std::ffi::CString::new(project.join("x.jsonl").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);

    let (out, took) = run_promptly(s.cmd(&["refresh", "--wait"]));
    let text = stdout(&out);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        text.contains("estimate: scanned 1 files,") && text.contains("1 messages"),
        "{text}"
    );

    let (out, took) = run_promptly(s.cmd(&["doctor", "--check-endpoint"]));
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(stdout(&out).contains("line now"), "{}", stdout(&out));
}
