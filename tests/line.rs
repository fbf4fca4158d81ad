//! Line mode as Claude Code, starship and tmux run it: the real binary in a real pipe.

mod common;

use common::{NOW, Sandbox, fixture, one_line};

#[test]
fn every_sample_gives_one_line_and_exit_0() {
    let expected = [
        (
            "statusline-full.json",
            "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m",
        ),
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
        "\x1b[33m5h 61%\x1b[0m · \x1b[32m7d 23%\x1b[0m ↻2h13m · 5h full in 1h44m"
    );
    let mut cmd = sandbox.cmd(&[]);
    cmd.env("NO_COLOR", "1");
    assert_eq!(
        one_line(&sandbox.run_with(cmd, &fixture("statusline-full.json"))),
        "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m"
    );
    let plain = one_line(&sandbox.run(&["--color", "never"], &fixture("statusline-full.json")));
    assert_eq!(plain, "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m");
}

#[test]
fn stdin_reading_is_shared_with_a_prompt_that_has_no_stdin() {
    let sandbox = Sandbox::new();
    one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    // starship: empty stdin, no TTY.
    assert_eq!(
        one_line(&sandbox.run(&[], b"")),
        "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m"
    );
    // A hook payload carries no rate_limits either.
    assert_eq!(
        one_line(&sandbox.run(&[], &fixture("hook-user-prompt-submit.json"))),
        "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m"
    );
    // Ten minutes and a bit later the prompt says how old the numbers are.
    let mut later = sandbox.cmd(&[]);
    later.env("CCMETER_NOW", (NOW + 720).to_string());
    assert_eq!(
        one_line(&sandbox.run_with(later, b"")),
        "5h 61% · 7d 23% ↻2h01m · 5h full in 1h52m (12m ago)"
    );
}

#[cfg(unix)]
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
    // That run may have started a calibration scan, which rewrites the store when it ends: let it
    // finish first, or it would overwrite the bad bytes (a flaky failure seen in CI).
    sandbox.wait_for_worker();
    std::fs::write(sandbox.store_file().unwrap(), bytes).unwrap();
}

#[test]
fn corrupt_truncated_and_foreign_store_files_are_ignored_and_replaced() {
    let good = {
        let sandbox = Sandbox::new();
        one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
        std::fs::read(sandbox.store_file().unwrap()).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("corrupt", b"\x00\x01 not json".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
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
            "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m",
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
        "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m"
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

/// Runs at another pinned clock.
fn at(sandbox: &Sandbox, now: i64, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut cmd = sandbox.cmd(args);
    cmd.env("CCMETER_NOW", now.to_string());
    sandbox.run_with(cmd, stdin)
}

fn store_json(sandbox: &Sandbox) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(sandbox.store_file().unwrap()).unwrap()).unwrap()
}

/// The clock steps back an hour after a reading (NTP, a VM restored, a dual boot): the reading
/// is shown as current and the shared backoff survives, instead of `(no data yet)` and a store
/// rewritten empty.
#[test]
fn a_clock_step_back_keeps_the_store() {
    let sandbox = Sandbox::new();
    one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    sandbox.wait_for_worker();
    let mut entry = store_json(&sandbox);
    entry["health"]["backoff_until"] = (NOW + 600).into();
    entry["health"]["failures"] = 2.into();
    std::fs::write(
        sandbox.store_file().unwrap(),
        serde_json::to_vec(&entry).unwrap(),
    )
    .unwrap();
    let earlier = NOW - 3600;
    assert_eq!(
        one_line(&at(&sandbox, earlier, &[], b"")),
        "5h 61% · 7d 23% ↻3h13m · 5h full in 1h07m"
    );
    let json: serde_json::Value =
        serde_json::from_str(&one_line(&at(&sandbox, earlier, &["--json"], b""))).unwrap();
    assert_eq!(
        (json["age_s"].as_i64(), &json["stale"]),
        (Some(0), &false.into())
    );
    // Whatever the worker started by those runs did, the reading and the backoff are still there.
    sandbox.wait_for_worker();
    let after = store_json(&sandbox);
    assert_eq!(
        after["snapshot"]["five_hour"]["used"],
        entry["snapshot"]["five_hour"]["used"]
    );
    assert_eq!(after["health"]["backoff_until"], NOW + 600);
    assert_eq!(after["health"]["failures"], 2);
    // A live reading after the step is newer than the stored one, though dated earlier.
    let changed = String::from_utf8(fixture("statusline-full.json"))
        .unwrap()
        .replace("61.4", "64.4");
    for stdin in [changed.as_bytes(), b""] {
        assert_eq!(
            one_line(&at(&sandbox, earlier + 5, &["--color", "never"], stdin)),
            "5h 64% · 7d 23% ↻3h13m · 5h full in 59m"
        );
    }
}

/// `resets_at: 1e308` (or any time absurdly far ahead) is an unknown reset, not `↻106751991146514d`.
#[test]
fn absurd_reset_times_are_unknown() {
    let sandbox = Sandbox::new();
    for (resets_at, want) in [
        ("1e308", "5h 50%"),
        ("9223372036854775807", "5h 50%"),
        ("\"9999-12-31T23:59:59Z\"", "5h 50%"),
        ("1795000000", "5h 50% ↻2h13m"),
    ] {
        let body = format!(
            r#"{{"rate_limits":{{"five_hour":{{"used_percentage":50,"resets_at":{resets_at}}}}}}}"#
        );
        assert_eq!(
            one_line(&sandbox.run(&["--color", "never"], body.as_bytes())),
            want,
            "{resets_at}"
        );
    }
}

/// The key the sandbox's account is stored under (the store file's stem).
#[cfg(unix)]
fn account_key(sandbox: &Sandbox) -> String {
    one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    sandbox.wait_for_worker();
    let file = sandbox.store_file().unwrap();
    let key = file.file_stem().unwrap().to_string_lossy().into_owned();
    for p in sandbox.entry_files() {
        std::fs::remove_file(p).unwrap();
    }
    key
}

/// Links planted in the cache dir at the names ccmeter opens — the write lock, the refresh
/// lock and start marker, the hook state, and the temp names a pid-based scheme would use —
/// never get their targets created or written.
#[cfg(unix)]
#[test]
fn symlinks_planted_in_the_cache_dir_are_never_followed() {
    let sandbox = Sandbox::new();
    let key = account_key(&sandbox);
    let victims = sandbox.dir.path().join("victims");
    std::fs::create_dir(&victims).unwrap();
    let plant = |name: String| {
        let _ = std::fs::remove_file(sandbox.cache.join(&name));
        std::os::unix::fs::symlink(victims.join(&name), sandbox.cache.join(&name)).unwrap();
    };
    // Temp names as `.<key>.json.<pid>.tmp` were: the next few thousand pids.
    let pid = std::process::id();
    for p in pid..pid + 3000 {
        plant(format!(".{key}.json.{p}.tmp"));
    }
    for suffix in ["refresh.started", "hook.json", "scan.json"] {
        plant(format!("{key}.{suffix}"));
    }
    // The store is written (through unguessable, exclusive temp files) and read back; the hook
    // and the worker replace the links at their state files instead of writing through them.
    one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    assert_eq!(
        one_line(&sandbox.run(&["--color", "never"], b"")),
        "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m"
    );
    let hot = String::from_utf8(fixture("statusline-full.json"))
        .unwrap()
        .replace("61.4", "91.4");
    one_line(&sandbox.run(&[], hot.as_bytes()));
    let hook = common::stdout(&sandbox.run(&["hook"], &fixture("hook-user-prompt-submit.json")));
    assert!(hook.contains("5-hour limit at 91%"), "{hook}");
    let refresh = common::stdout(&sandbox.run(&["refresh", "--wait"], b""));
    assert!(refresh.contains("estimate: scanned"), "{refresh}");
    let created: Vec<_> = std::fs::read_dir(&victims).unwrap().collect();
    assert!(created.is_empty(), "created through a link: {created:?}");
    // The locks themselves planted: nothing is written, the line still prints.
    plant(format!("{key}.write.lock"));
    plant(format!("{key}.refresh.lock"));
    let changed = hot.replace("91.4", "93.4");
    assert_eq!(
        one_line(&sandbox.run(&["--color", "never"], changed.as_bytes())),
        "5h 93% · 7d 23% ↻2h13m · 5h full in 11m"
    );
    let refresh = common::stdout(&sandbox.run(&["refresh", "--wait"], b""));
    assert!(refresh.contains("symbolic link"), "{refresh}");
    // A worker the last line may have started stops at the planted lock; give it time to.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let created: Vec<_> = std::fs::read_dir(&victims).unwrap().collect();
    assert!(created.is_empty(), "created through a link: {created:?}");
}

/// A cache dir another user could write to is refused: nothing is read from it or written to
/// it, the line still comes from stdin, and `doctor` says which dir and why.
#[cfg(unix)]
#[test]
fn a_cache_dir_open_to_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    sandbox.wait_for_worker();
    let chmod = |mode| {
        std::fs::set_permissions(&sandbox.cache, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    chmod(0o777);
    let before: Vec<_> = sandbox.entry_files();
    let stored = std::fs::read(sandbox.store_file().unwrap()).unwrap();
    assert_eq!(
        one_line(&sandbox.run(&["--color", "never"], b"")),
        "5h -- · 7d -- (no data yet)"
    );
    let changed = String::from_utf8(fixture("statusline-full.json"))
        .unwrap()
        .replace("61.4", "71.4");
    assert_eq!(
        one_line(&sandbox.run(&["--color", "never"], changed.as_bytes())),
        "5h 71% · 7d 23% ↻2h13m · 5h full in 1h06m"
    );
    assert_eq!(sandbox.entry_files(), before, "no file created");
    assert_eq!(
        std::fs::read(sandbox.store_file().unwrap()).unwrap(),
        stored
    );
    let doctor = common::stdout(&sandbox.run(&["doctor"], b""));
    let dir = sandbox.cache.display();
    assert!(
        doctor.contains(&format!(
            "cache dir is not usable: {dir} is writable by group or others (mode 0777): \
             another user could plant links in it; run `chmod 700 {dir}`"
        )),
        "{doctor}"
    );
    assert!(
        doctor.contains("json (not read: the cache dir is not safe to use)\n"),
        "{doctor}"
    );
    assert_eq!(
        std::fs::metadata(&sandbox.cache)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o777,
        "a dir ccmeter did not create is never chmodded"
    );
    chmod(0o700);
    assert_eq!(
        one_line(&sandbox.run(&["--color", "never"], b"")),
        "5h 61% · 7d 23% ↻2h13m · 5h full in 1h44m"
    );
}

/// A cache dir the user made read-only stays read-only, and `doctor` says it cannot write there
/// (where root ignores the mode, a file in the way stands in for it).
#[cfg(unix)]
#[test]
fn a_read_only_cache_dir_is_left_alone_and_doctor_says_it_cannot_write() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    std::fs::create_dir(&sandbox.cache).unwrap();
    std::fs::set_permissions(&sandbox.cache, std::fs::Permissions::from_mode(0o500)).unwrap();
    one_line(&sandbox.run(&[], &fixture("statusline-full.json")));
    sandbox.wait_for_worker();
    let mode = std::fs::metadata(&sandbox.cache)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    std::fs::set_permissions(&sandbox.cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(mode, 0o500, "chmodded back");

    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let unwritable = if root {
        let file = sandbox.dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        file.join("cache")
    } else {
        std::fs::set_permissions(&sandbox.cache, std::fs::Permissions::from_mode(0o500)).unwrap();
        sandbox.cache.clone()
    };
    let mut doctor = sandbox.cmd(&["doctor"]);
    doctor.env("CCMETER_CACHE_DIR", &unwritable);
    let out = common::stdout(&sandbox.run_with(doctor, b""));
    std::fs::set_permissions(&sandbox.cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(
        out.contains(&format!(
            "cache dir is not usable: cannot write to {} (",
            unwritable.display()
        )),
        "{out}"
    );
}
