//! What every fuzz target checks the same way: that a text a user can see holds nothing a
//! terminal would act on, and that a snapshot, however it was parsed, renders to such text on
//! every surface (the line, `--json`, a `--format` template) in every state the report can be in.

use ccmeter::history::Tail;
use ccmeter::projection;
use ccmeter::render::{self, Style};
use ccmeter::report::{self, Report};
use ccmeter::store::{self, Entry};
use ccmeter::usage::Snapshot;

/// The fixed clock of every target (2026-11-17), so a crash reproduces.
pub const NOW: i64 = 1_795_000_000;
/// `CCMETER_STALE_AFTER`'s default.
pub const STALE_AFTER: i64 = 600;

/// Every placeholder `--format` knows, one unknown, and an unclosed brace.
const TEMPLATE: &str = "{5h} {7d} {reset} {model} {extra} {age} {stale} {source} {state} \
                        {error} {line} {full} {pace5h} {pace7d} {nope} {";

/// Panics when `text` holds a character [`ccmeter::text::clean`] would remove (control, bidi,
/// zero-width); newlines only where `multiline`.
pub fn assert_shown(what: &str, text: &str, multiline: bool) {
    for c in text.chars() {
        if multiline && c == '\n' {
            continue;
        }
        assert!(
            ccmeter::text::shown(c),
            "{what}: {c:?} would reach the terminal in {text:?}"
        );
    }
}

/// The line in every style (only plain text is checked character by character: the others add
/// their own escapes), `--json` (valid JSON carrying the same line) and a template.
pub fn check_report(report: &Report) {
    let line = render::line(report, Style::Plain);
    assert_shown("line", &line, false);
    for style in [Style::Ansi, Style::Tmux, Style::Zsh, Style::Bash] {
        let _ = render::line(report, style);
        let _ = render::template(report, style, TEMPLATE);
    }
    let json = render::json(report);
    let v: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");
    assert_eq!(v["line"].as_str(), Some(line.as_str()), "--json's line");
    let t = render::template(report, Style::Plain, TEMPLATE);
    assert_shown("template", &t, false);
}

/// A snapshot as every report would show it: live on stdin, stored (fresh, then older than
/// `STALE_AFTER`), as the stored estimate, with the projections the line computes.
pub fn check_snapshot(snap: &Snapshot) {
    check_report(&report::decide(Some(snap), None, NOW, STALE_AFTER));
    let stored = Entry {
        version: store::VERSION,
        snapshot: Some(snap.clone()),
        estimate: Some(snap.clone()),
        ..Entry::default()
    };
    for now in [NOW, NOW + 3 * STALE_AFTER, NOW + 8 * 86_400] {
        check_report(&with_projections(report::decide(
            None,
            Some(&stored),
            now,
            STALE_AFTER,
        )));
    }
}

/// `report` with the projections the line would add (from an empty history).
pub fn with_projections(mut report: Report) -> Report {
    with_history(&mut report, &Tail::default());
    report
}

/// Adds the projections `tail` gives, as the line does.
pub fn with_history(report: &mut Report, tail: &Tail) {
    if let Some(s) = &report.snapshot {
        report.projections = projection::of_snapshot(s, tail, report.now);
    }
}

/// A path in this process's own scratch dir (mode 0700: the store's files refuse a dir others
/// can write to), created on first use.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ccmeter-fuzz-{}", std::process::id()));
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).expect("scratch dir");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .expect("scratch dir mode");
        }
    }
    dir.join(name)
}
