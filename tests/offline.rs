//! Running on Claude Code's stdin alone: with `--offline` or `CCMETER_OFFLINE=1` no command
//! contacts the network, whatever is due. Every command a user or Claude Code can run is run
//! against a live mock endpoint, logged in, with stored numbers an hour old (a refresh due), a
//! hook that asks for fresh numbers, a forced refresh and an endpoint check; the mock must
//! count no request at all.

mod common;
#[path = "common/mock.rs"]
mod mock;

use std::process::Command;
use std::time::Duration;

use common::{NOW, Sandbox, fixture};
use mock::{Mock, ok};

/// How each run says it is offline: the variable, or the flag with the variable unset.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Env,
    Flag,
}

fn offline_cmd(s: &Sandbox, mock: &Mock, mode: Mode, args: &[&str], now: i64) -> Command {
    let mut all: Vec<&str> = args.to_vec();
    if let Mode::Flag = mode {
        all.push("--offline");
    }
    let mut c = s.cmd(&all);
    c.env("CCMETER_API_BASE", mock.base())
        .env("CCMETER_NOW", now.to_string())
        .env("TZ", "UTC");
    match mode {
        Mode::Env => c.env("CCMETER_OFFLINE", "1"),
        Mode::Flag => c.env_remove("CCMETER_OFFLINE"),
    };
    c
}

#[test]
fn offline_means_no_request_from_any_command() {
    for mode in [Mode::Env, Mode::Flag] {
        let mock = Mock::start(ok(&fixture("usage-flat.json")));
        let s = Sandbox::logged_in();
        let run = |args: &[&str], stdin: &[u8], now: i64| {
            let out = s.run_with(offline_cmd(&s, &mock, mode, args, now), stdin);
            s.wait_for_worker();
            out
        };
        // Numbers from a status line an hour ago: every later run finds a refresh due.
        run(
            &["--color", "never"],
            &fixture("statusline-full.json"),
            NOW - 3600,
        );
        let prompt = fixture("hook-user-prompt-submit.json");
        let stop = fixture("hook-stop-failure-rate-limit.json");
        let runs: [(&[&str], &[u8]); 11] = [
            (&[], b""),
            (&["--json"], b""),
            (&["--format", "{5h} {7d}"], b""),
            (&[], &fixture("statusline-before-first-reply.json")),
            (&["hook"], &prompt),
            // A rate-limited turn makes the store due at once.
            (&["hook"], &stop),
            (&["hook"], &fixture("hook-pre-model-switch.json")),
            (&["refresh"], b""),
            (&["refresh", "--wait"], b""),
            (&["doctor", "--check-endpoint"], b""),
            (&["history"], b""),
        ];
        for (i, (args, stdin)) in runs.iter().enumerate() {
            let out = run(args, stdin, NOW + i as i64 * 60);
            assert!(
                out.status.code().is_some(),
                "{mode:?} {args:?}: killed by a signal"
            );
        }
        // Detached workers, if any, have had time to ask.
        std::thread::sleep(Duration::from_millis(500));
        s.wait_for_worker();
        assert_eq!(mock.count(), 0, "{mode:?}: requests were made");
        // The same sandbox online asks at once: the silence above was the mode's.
        let mut c = s.cmd(&["refresh", "--wait"]);
        c.env_remove("CCMETER_OFFLINE")
            .env("CCMETER_API_BASE", mock.base())
            .env("CCMETER_NOW", (NOW + 3600).to_string());
        s.run_with(c, b"");
        assert_eq!(mock.count(), 1, "{mode:?}");
    }
}
