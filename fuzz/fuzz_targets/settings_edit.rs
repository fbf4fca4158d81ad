//! Claude Code's `settings.json`, any bytes, through `setup`'s pure edits (`parse_settings`,
//! `install`, `uninstall`): never a panic; an install gives valid JSON with ccmeter wired, and
//! installing again changes nothing; and for any file that holds no ccmeter yet, install then
//! uninstall gives back the very same bytes. The record kept for uninstall reads back the same,
//! and what setup says about the file is printable.
#![no_main]

use std::path::Path;

use ccmeter::cmd::setup::{self, Record, Request, Settings};
use ccmeter_fuzz::assert_shown;
use libfuzzer_sys::fuzz_target;

const EXE: &str = "/usr/local/bin/ccmeter";
const PATH: &str = "/home/u/.claude/settings.json";

fuzz_target!(|data: &[u8]| {
    let path = Path::new(PATH);
    let Ok(original) = setup::parse_settings(data, path) else {
        return;
    };
    // Only a file without ccmeter in it must come back byte for byte.
    let pristine = setup::uninstall(&original, &Record::default(), EXE, path)
        .is_ok_and(|t| t == original.text);
    let (events, _) = setup::hook_events(Some(setup::Version(9, 9, 9)));
    for (hooks, force) in [
        (None, false),
        (None, true),
        (Some(events.as_slice()), false),
        (Some(events.as_slice()), true),
    ] {
        let req = Request {
            exe: EXE,
            hooks,
            force,
        };
        let Ok(plan) = setup::install(&original, &Record::default(), req, path) else {
            continue;
        };
        for note in &plan.notes {
            assert_shown(
                "setup note",
                &setup::note_text(note, Path::new("/c/k.setup.json")),
                false,
            );
        }
        let _ = setup::line_diff(&original.text, &plan.text);
        let installed = reparse(&plan.text);
        let v: serde_json::Value = serde_json::from_str(&plan.text).expect("JSON");
        let wired = v["statusLine"]["command"].as_str();
        let kept_other = plan
            .notes
            .iter()
            .any(|n| matches!(n, setup::Note::OtherStatusLineKept { .. }));
        assert!(
            kept_other
                || wired
                    .is_some_and(|c| c == EXE || c.split_whitespace().next() == Some("ccmeter")),
            "statusLine not wired: {wired:?} in {}",
            plan.text
        );
        let again = setup::install(&installed, &plan.record, req, path).expect("installs again");
        assert_eq!(again.text, plan.text, "a second install changed the file");

        let record: Record =
            serde_json::from_str(&serde_json::to_string(&plan.record).expect("serialises"))
                .expect("reads back");
        assert_eq!(record, plan.record, "record round trip");
        let back = setup::uninstall(&installed, &record, EXE, path).expect("uninstalls");
        reparse(&back);
        if pristine {
            assert_eq!(
                back, original.text,
                "install {req:?} then uninstall changed the file; installed:\n{}",
                plan.text
            );
        }
    }
});

fn reparse(text: &str) -> Settings {
    match setup::parse_settings(text.as_bytes(), Path::new(PATH)) {
        Ok(s) => s,
        Err(e) => panic!("setup wrote what it cannot read ({e}):\n{text}"),
    }
}
