//! Claude Code's `settings.json`, any bytes, through `setup`'s pure edits (`parse_settings`,
//! `install` with every kind of request, `uninstall`): never a panic; an install gives valid
//! JSON and installing again changes nothing; an uninstall leaves nothing for a second one; and
//! for any file that holds no ccmeter yet, install then uninstall gives back the very same bytes.
//! The record kept for uninstall reads back the same, and what setup says about the file is
//! printable.
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
    let all = Some(events.as_slice());
    for (hooks, force, offline, windows) in [
        (None, false, false, false),
        (None, true, false, false),
        (all, false, false, false),
        (all, true, false, false),
        (all, false, true, false),
        (None, false, false, true),
    ] {
        let req = Request {
            exe: EXE,
            hooks,
            force,
            offline,
            windows,
        };
        let Ok(plan) = setup::install(&original, &Record::default(), req, path) else {
            continue;
        };
        for note in &plan.notes {
            for dry_run in [false, true] {
                let said = setup::note_text(note, Path::new("/c/k.setup.json"), dry_run);
                assert_shown("setup note", &said, false);
            }
        }
        let _ = setup::line_diff(&original.text, &plan.text);
        let installed = reparse(&plan.text);
        let again = setup::install(&installed, &plan.record, req, path).expect("installs again");
        assert_eq!(again.text, plan.text, "a second install changed the file");

        let record: Record =
            serde_json::from_str(&serde_json::to_string(&plan.record).expect("serialises"))
                .expect("reads back");
        assert_eq!(record, plan.record, "record round trip");
        let back = setup::uninstall(&installed, &record, EXE, path).expect("uninstalls");
        // Nothing of ccmeter's is left for a second uninstall to take out.
        let twice = setup::uninstall(&reparse(&back), &Record::default(), EXE, path);
        assert_eq!(twice.as_deref(), Ok(back.as_str()), "a second uninstall changed the file");
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
