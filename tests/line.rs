//! Line mode as Claude Code, starship and tmux run it: the real binary in a real pipe.

mod common;

use common::{NOW, Sandbox, fixture, one_line};

#[test]
fn every_sample_gives_one_line_and_exit_0() {
    let expected = [
        ("statusline-full.json", "5h 61% · 7d 23% ↻2h13m"),
        ("statusline-one-window-over-100.json", "7d 100% ↻4d"),
        (
            "statusline-before-first-reply.json",
            "5h -- · 7d -- (no data yet)",
        ),
        (
            "statusline-legacy-status-event.json",
            "5h -- · 7d -- (no data yet)",
        ),
        (
            "hook-user-prompt-submit.json",
            "5h -- · 7d -- (no data yet)",
        ),
        ("usage-flat.json", "5h -- · 7d -- (no data yet)"),
        ("usage-limits-only.json", "5h -- · 7d -- (no data yet)"),
        ("usage-all-null.json", "5h -- · 7d -- (no data yet)"),
        ("usage-window-no-reset.json", "5h -- · 7d -- (no data yet)"),
        ("error-401.json", "5h -- · 7d -- (no data yet)"),
        ("credentials.json", "5h -- · 7d -- (no data yet)"),
        ("credentials-logged-out.json", "5h -- · 7d -- (no data yet)"),
    ];
    for (name, want) in expected {
        let sandbox = Sandbox::new();
        let line = one_line(&sandbox.run(&["--color", "never"], &fixture(name)));
        assert_eq!(line, want, "{name}");
    }
}

#[test]
fn statusline_colours_by_default_and_never_when_told() {
    let sandbox = Sandbox::new();
    let coloured = one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    assert_eq!(
        coloured,
        "\x1b[33m5h 61%\x1b[0m · \x1b[32m7d 23%\x1b[0m ↻2h13m"
    );
    let mut cmd = sandbox.cmd(&[]);
    cmd.env("NO_COLOR", "1");
    assert_eq!(
        one_line(&sandbox.run_with(cmd, &fixture("statusline-full.json"))),
        "5h 61% · 7d 23% ↻2h13m"
    );
    let plain = one_line(&sandbox.run(&["--color", "never"], &fixture("statusline-full.json")));
    assert_eq!(plain, "5h 61% · 7d 23% ↻2h13m");
}

#[test]
fn stdin_reading_is_shared_with_a_prompt_that_has_no_stdin() {
    let sandbox = Sandbox::new();
    one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    // starship: empty stdin, no TTY.
    assert_eq!(one_line(&sandbox.run(&[], b"")), "5h 61% · 7d 23% ↻2h13m");
    // A hook payload carries no rate_limits either.
    assert_eq!(
        one_line(&sandbox.run(&[], &fixture("hook-user-prompt-submit.json"))),
        "5h 61% · 7d 23% ↻2h13m"
    );
    // Ten minutes and a bit later the prompt says how old the numbers are.
    let mut later = sandbox.cmd(&[]);
    later.env("CCMETER_NOW", (NOW + 720).to_string());
    assert_eq!(
        one_line(&sandbox.run_with(later, b"")),
        "5h 61% · 7d 23% ↻2h1m (12m ago)"
    );
}

#[test]
fn store_file_is_private_and_not_rewritten_for_identical_numbers() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    // The first reading also starts a calibration scan, which records its estimate once.
    sandbox.wait_for_worker();
    let file = sandbox.store_file().expect("store file written");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&sandbox.cache), 0o700);
    let inode =
        |p: &std::path::Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let before = inode(&file);
    for _ in 0..3 {
        one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    }
    // Atomic writes replace the inode, so an unchanged inode proves nothing was written.
    assert_eq!(inode(&file), before);
    let mut changed = sandbox.cmd(&[]);
    changed.env("CCMETER_NOW", (NOW + 5).to_string());
    let body = String::from_utf8(fixture("statusline-full.json"))
        .unwrap()
        .replace("61.4", "62.4");
    one_line(&sandbox.run_with(changed, body.as_bytes()));
    assert_ne!(inode(&file), before);
}

#[test]
fn empty_and_garbage_stdin_still_give_a_line() {
    let sandbox = Sandbox::new();
    let mut random = vec![0u8; 5 * 1024 * 1024];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for b in random.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        random,
        b"\xff\xfe\x00{\"rate_limits\"".to_vec(),
        b"[]".to_vec(),
        b"42".to_vec(),
        b"null".to_vec(),
        b"   \n".to_vec(),
    ];
    for input in inputs {
        assert_eq!(
            one_line(&sandbox.run(&[], &input)),
            "5h -- · 7d -- (no data yet)",
            "input of {} bytes",
            input.len()
        );
    }
}

#[test]
fn numbers_as_strings_are_accepted() {
    let sandbox = Sandbox::new();
    let body = br#"{"model":{},"rate_limits":{"five_hour":{"used_percentage":"49.5","resets_at":"1795000000"},"seven_day":{"used_percentage":"7","resets_at":null}}}"#;
    assert_eq!(
        one_line(&sandbox.run(&["--color", "never"], body)),
        "5h 50% · 7d 7% ↻2h13m"
    );
}

#[test]
fn a_pipe_that_stays_open_does_not_hang() {
    let sandbox = Sandbox::new();
    // Never written, then after a partial write: it gives up on the rest and still prints.
    for partial in [&b""[..], b"{\"rate_limits\":"] {
        let out = sandbox.run_with_stalled_stdin(sandbox.cmd(&[]), partial);
        assert_eq!(
            one_line(&out),
            "5h -- · 7d -- (no data yet)",
            "after {partial:?}"
        );
    }
}

fn seed_store(sandbox: &Sandbox, bytes: &[u8]) {
    one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    std::fs::write(sandbox.store_file().unwrap(), bytes).unwrap();
}

#[test]
fn corrupt_truncated_and_future_store_files_are_ignored_and_replaced() {
    let good = {
        let sandbox = Sandbox::new();
        one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
        std::fs::read(sandbox.store_file().unwrap()).unwrap()
    };
    let future = String::from_utf8(good.clone())
        .unwrap()
        .replace(&NOW.to_string(), &(NOW + 86_400).to_string());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("corrupt", b"\x00\x01 not json".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("future-dated", future.into_bytes()),
        (
            "foreign version",
            String::from_utf8(good.clone())
                .unwrap()
                .replace("\"version\": 1", "\"version\": 7")
                .into_bytes(),
        ),
    ];
    for (what, bytes) in cases {
        let sandbox = Sandbox::new();
        seed_store(&sandbox, &bytes);
        assert_eq!(
            one_line(&sandbox.run(&[], b"")),
            "5h -- · 7d -- (no data yet)",
            "{what}"
        );
        // The next stdin reading replaces the bad file.
        one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
        assert_eq!(
            one_line(&sandbox.run(&[], b"")),
            "5h 61% · 7d 23% ↻2h13m",
            "{what}"
        );
    }
}

#[test]
fn unwritable_cache_dir_still_gives_the_line() {
    let sandbox = Sandbox::new();
    // A regular file where the cache dir should be: unwritable even for root.
    std::fs::write(&sandbox.cache, b"not a dir").unwrap();
    assert_eq!(
        one_line(&sandbox.run(&["--color", "never"], &fixture("statusline-full.json"))),
        "5h 61% · 7d 23% ↻2h13m"
    );
    assert_eq!(
        one_line(&sandbox.run(&[], b"")),
        "5h -- · 7d -- (no data yet)"
    );
}

#[test]
fn bad_arguments_show_in_the_line_not_as_a_failure() {
    let sandbox = Sandbox::new();
    let line = one_line(&sandbox.run(&["--colour", "pink"], &fixture("statusline-full.json")));
    assert!(line.ends_with("(unknown --color pink)"), "{line}");
}

#[test]
fn json_output_has_the_documented_fields() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["--json"], &fixture("statusline-full.json"));
    let v: serde_json::Value = serde_json::from_str(&one_line(&out)).unwrap();
    assert_eq!(v["five_hour"]["percent"], 61);
    assert_eq!(v["five_hour"]["used_percentage"], 61.4);
    assert_eq!(v["five_hour"]["resets_at"], "2026-11-18T11:06:40Z");
    assert_eq!(v["seven_day"]["percent"], 23);
    assert_eq!(v["source"], "stdin");
    assert_eq!(v["age_s"], 0);
    assert_eq!(v["stale"], false);
    assert_eq!(v["state"], "ok");
    assert_eq!(v["error"], serde_json::Value::Null);
    let none: serde_json::Value =
        serde_json::from_str(&one_line(&Sandbox::new().run(&["--json"], b""))).unwrap();
    assert_eq!(
        (none["state"].as_str(), none["source"].is_null()),
        (Some("no_data"), true)
    );
}

#[test]
fn format_template() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(
        &["--format", "{5h}/{7d} {reset} {source} {age}"],
        &fixture("statusline-full.json"),
    );
    assert_eq!(one_line(&out), "61%/23% 2h13m stdin 0s");
}

#[test]
fn help_version_and_demo() {
    let sandbox = Sandbox::new();
    let v = one_line(&sandbox.run(&["--version"], b""));
    assert_eq!(v, format!("ccmeter {}", env!("CARGO_PKG_VERSION")));
    let help = common::stdout(&sandbox.run(&["--help"], b""));
    assert!(help.contains("ccmeter doctor") && help.contains("--format"));
    let demo = sandbox.run(&["demo"], b"");
    assert_eq!(demo.status.code(), Some(0));
    let text = common::stdout(&demo);
    assert!(text.contains("5h 42% · 7d 18% ↻2h13m"), "{text}");
    assert!(text.contains("(not logged in)"), "{text}");
    assert!(
        sandbox.entry_files().is_empty(),
        "demo must not touch the store"
    );
}
