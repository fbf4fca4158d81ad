//! `ccmeter setup` against real files in a temp HOME: what it writes, what it refuses to touch,
//! and that every refusal leaves the user's file byte-for-byte as it was.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::Sandbox;

const EXE: &str = env!("CARGO_BIN_EXE_ccmeter");

fn settings(sb: &Sandbox) -> PathBuf {
    sb.config.join("settings.json")
}

fn setup(sb: &Sandbox, args: &[&str]) -> Output {
    setup_with_path(sb, args, &sb.dir.path().join("empty-bin"))
}

/// `setup` with `PATH` set to `bin` alone: the tests decide which `claude` (if any) it finds.
fn setup_with_path(sb: &Sandbox, args: &[&str], bin: &Path) -> Output {
    let mut all = vec!["setup"];
    all.extend_from_slice(args);
    let mut cmd = sb.cmd(&all);
    cmd.env("PATH", bin);
    sb.run_with(cmd, b"")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_ok(out: &Output) {
    let (o, e) = text(out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{o}\nstderr:\n{e}");
}

fn assert_failed(out: &Output) -> String {
    let (o, e) = text(out);
    assert_ne!(
        out.status.code(),
        Some(0),
        "expected failure; stdout:\n{o}\nstderr:\n{e}"
    );
    e
}

fn backups(sb: &Sandbox) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(&sb.config)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("settings.json.bak-"))
    });
    v.sort();
    v
}

fn status_line_json(indent: &str) -> String {
    format!(
        "{indent}\"statusLine\": {{\n{indent}  \"type\": \"command\",\n{indent}  \"command\": \"{EXE}\",\n{indent}  \"padding\": 0,\n{indent}  \"refreshInterval\": 30\n{indent}}}"
    )
}

/// Output with the sandbox and binary paths as placeholders, for snapshots.
fn redact(sb: &Sandbox, s: &str) -> String {
    let mut s = s
        .replace(EXE, "[EXE]")
        .replace(&sb.config.display().to_string(), "[CONFIG]")
        .replace(&sb.cache.display().to_string(), "[CACHE]");
    // The backup's stamp is local time, which depends on the machine's time zone.
    let mark = "settings.json.bak-";
    let mut from = 0;
    while let Some(i) = s[from..].find(mark) {
        let at = from + i + mark.len();
        let len = s[at..]
            .find(|c: char| !c.is_ascii_digit() && c != '-')
            .unwrap_or(s.len() - at);
        s.replace_range(at..at + len, "[STAMP]");
        from = at;
    }
    s
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn missing_file_and_dir_are_created() {
    let sb = Sandbox::new();
    fs::remove_dir_all(&sb.config).unwrap();
    let out = setup(&sb, &[]);
    assert_ok(&out);
    let want = format!("{{\n{}\n}}\n", status_line_json("  "));
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), want);
    assert!(backups(&sb).is_empty(), "nothing to back up");
    assert!(text(&out).0.contains(&format!("+ {}", "{")), "diff shown");
}

#[test]
fn a_minified_file_stays_one_line_and_keeps_its_mode() {
    let sb = Sandbox::new();
    let original = r#"{"theme":"dark","env":{"Z":"1","A":"2"},"permissions":{"allow":["Bash(ls:*)"],"deny":[]},"model":"opus","includeCoAuthoredBy":false}"#;
    fs::write(settings(&sb), original).unwrap();
    #[cfg(unix)]
    chmod(&settings(&sb), 0o644);

    let out = setup(&sb, &[]);
    assert_ok(&out);
    let want = format!(
        r#"{{"theme":"dark","env":{{"Z":"1","A":"2"}},"permissions":{{"allow":["Bash(ls:*)"],"deny":[]}},"model":"opus","includeCoAuthoredBy":false,"statusLine":{{"type":"command","command":"{EXE}","padding":0,"refreshInterval":30}}}}"#
    );
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), want);

    let b = backups(&sb);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(fs::read_to_string(&b[0]).unwrap(), original);
    let name = b[0].file_name().unwrap().to_string_lossy().into_owned();
    let stamp = name.strip_prefix("settings.json.bak-").unwrap();
    assert!(
        stamp.len() == 15
            && stamp.as_bytes()[8] == b'-'
            && stamp.chars().filter(char::is_ascii_digit).count() == 14,
        "{name}"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&settings(&sb)), 0o644, "the user's mode is kept");
        assert_eq!(mode(&b[0]), 0o600, "backup no looser than owner-only");
    }
    // No temp files left behind.
    let leftovers: Vec<_> = fs::read_dir(&sb.config)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_different_status_line_is_wrapped_and_force_replaces_it() {
    let sb = Sandbox::new();
    let original = "{\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"~/bin/my-line.sh\"\n  },\n  \"model\": \"opus\"\n}\n";
    fs::write(settings(&sb), original).unwrap();

    let out = setup(&sb, &[]);
    assert_ok(&out);
    let wrapped = format!(
        "{{\n  \"statusLine\": {{\n    \"type\": \"command\",\n    \"command\": \"{EXE} wrap '~/bin/my-line.sh'\"\n  }},\n  \"model\": \"opus\"\n}}\n"
    );
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), wrapped);
    assert_eq!(backups(&sb).len(), 1);

    // --force then puts ccmeter's line alone in its place; --uninstall gives theirs back.
    assert_ok(&setup(&sb, &["--force"]));
    let want = format!(
        "{{\n{},\n  \"model\": \"opus\"\n}}\n",
        status_line_json("  ")
    );
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), want);
    let b = backups(&sb);
    assert_eq!(fs::read_to_string(&b[0]).unwrap(), original);
    assert_ok(&setup(&sb, &["--uninstall"]));
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), original);
}

/// A stand-in for the program a command names: writes the arguments it got, one per line
/// (`\0`-separated), to `out`.
#[cfg(unix)]
fn argv_stand_in(dir: &Path, out: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("argv-stand-in");
    fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\0' \"$@\" > '{}'\n", out.display()),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// #19: beside another tool's status line (tabs, `padding: 0`, quoted arguments and a quote of
/// each kind in their command), setup wires `ccmeter wrap '<theirs>'`: `sh -c` (as Claude Code
/// runs it) hands `ccmeter` exactly `wrap` and their command, byte for byte; the diff shows it;
/// a second setup recognises the wrap; `--uninstall` gives back the file byte for byte.
#[cfg(unix)]
#[test]
fn beside_another_status_line_setup_wraps_it_and_uninstall_gives_it_back() {
    let sb = Sandbox::new();
    let theirs = r#"printf '%s|%s\n' "it's" "$(echo "a  b")" \\ ; echo 'x"y'"#;
    let original = format!(
        "{{\n\t\"model\": \"opus\",\n\t\"statusLine\": {{\n\t\t\"type\": \"command\",\n\t\t\"command\": {},\n\t\t\"padding\": 0\n\t}}\n}}\n",
        serde_json::to_string(theirs).unwrap()
    );
    fs::write(settings(&sb), &original).unwrap();

    let out = setup(&sb, &[]);
    assert_ok(&out);
    let said = redact(&sb, &text(&out).0);
    let after = fs::read_to_string(settings(&sb)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&after).unwrap();
    let wired = v["statusLine"]["command"].as_str().unwrap().to_string();
    assert_eq!(
        after,
        original.replace(
            &serde_json::to_string(theirs).unwrap(),
            &serde_json::to_string(&wired).unwrap()
        ),
        "only the command changed"
    );
    assert_eq!(v["statusLine"]["padding"], 0);
    assert!(
        said.contains(&format!(
            "+ \t\t\"command\": {},",
            serde_json::to_string(&wired).unwrap().replace(EXE, "[EXE]")
        )),
        "{said}"
    );
    assert!(said.contains("now runs inside `ccmeter wrap`"), "{said}");

    // Run as Claude Code runs it, with a stand-in in ccmeter's place.
    let got = sb.dir.path().join("argv");
    let stand_in = argv_stand_in(sb.dir.path(), &got);
    assert!(wired.starts_with(&format!("{EXE} wrap ")), "{wired}");
    let run = wired.replacen(EXE, &stand_in.display().to_string(), 1);
    let status = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&run)
        .status()
        .unwrap();
    assert!(status.success());
    let argv = fs::read(&got).unwrap();
    let argv: Vec<&[u8]> = argv.split(|&b| b == 0).filter(|a| !a.is_empty()).collect();
    assert_eq!(argv, [&b"wrap"[..], theirs.as_bytes()]);
    // Recognised: setup again changes nothing.
    let again = setup(&sb, &[]);
    assert!(
        text(&again).0.contains("already set up"),
        "{:?}",
        text(&again)
    );
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), after);
    // doctor says what runs.
    let doctor = text(&sb.run(&["doctor"], b"")).0;
    assert!(
        doctor.contains("statusLine runs ccmeter beside printf '%s|%s\\n' \"it's\""),
        "{doctor}"
    );

    assert_ok(&setup(&sb, &["--uninstall"]));
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), original);
}

#[test]
fn uninstall_puts_back_the_status_line_force_replaced() {
    let sb = Sandbox::new();
    // An odd literal and CRLF in the replaced value: it comes back as these very bytes.
    let original = "{\r\n  \"model\": \"opus\",\r\n  \"statusLine\": {\"type\":\"command\", \"command\":\"~/bin/my-line.sh\", \"padding\": 1E0}\r\n}\r\n";
    fs::write(settings(&sb), original).unwrap();
    let out = setup(&sb, &["--force"]);
    assert_ok(&out);
    let record = sb
        .entry_files()
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".setup.json"))
        .expect("a record beside the store");
    assert!(
        text(&out).0.contains(&format!(
            "the statusLine it replaced (~/bin/my-line.sh) is kept in {} and the backup; \
             `ccmeter setup --uninstall` puts it back",
            record.display()
        )),
        "{:?}",
        text(&out)
    );
    let after = fs::read_to_string(settings(&sb)).unwrap();
    assert!(after.contains(EXE), "{after}");

    assert_ok(&setup(&sb, &["--uninstall"]));
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), original);
    assert!(!record.exists(), "the record is used up");
}

#[test]
fn identical_setup_is_a_no_op() {
    let sb = Sandbox::new();
    assert_ok(&setup(&sb, &[]));
    let before = fs::read(settings(&sb)).unwrap();
    let mtime = fs::metadata(settings(&sb)).unwrap().modified().unwrap();

    let out = setup(&sb, &[]);
    assert_ok(&out);
    assert!(text(&out).0.contains("already set up"), "{:?}", text(&out));
    assert_eq!(fs::read(settings(&sb)).unwrap(), before);
    assert_eq!(
        fs::metadata(settings(&sb)).unwrap().modified().unwrap(),
        mtime
    );
    assert!(backups(&sb).is_empty(), "no backup when nothing changes");
}

#[test]
fn invalid_json_is_refused_and_untouched() {
    let sb = Sandbox::new();
    let original = b"{\n  \"model\": \"opus\",\n  \"env\": { \"A\": 1, }\n}\n";
    fs::write(settings(&sb), original).unwrap();
    let err = assert_failed(&setup(&sb, &[]));
    assert!(
        err.contains(&settings(&sb).display().to_string()) && err.contains("line 3, column"),
        "{err}"
    );
    assert_eq!(fs::read(settings(&sb)).unwrap(), original);
    assert!(backups(&sb).is_empty());

    fs::write(settings(&sb), b"[1, 2]\n").unwrap();
    let err = assert_failed(&setup(&sb, &["--force"]));
    assert!(err.contains("an array"), "{err}");
    assert_eq!(fs::read(settings(&sb)).unwrap(), b"[1, 2]\n");
}

/// Root can write a 0444 file (and rename over it), so the check cannot rely on the OS refusing:
/// setup treats a file without any write bit as one the user wants left alone, which makes this
/// test meaningful as root too.
#[cfg(unix)]
#[test]
fn read_only_file_is_refused_and_untouched() {
    let sb = Sandbox::new();
    let original = b"{\"model\": \"opus\"}";
    fs::write(settings(&sb), original).unwrap();
    chmod(&settings(&sb), 0o444);
    let err = assert_failed(&setup(&sb, &[]));
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(fs::read(settings(&sb)).unwrap(), original);
    assert_eq!(mode(&settings(&sb)), 0o444);
    assert!(backups(&sb).is_empty());
}

#[test]
fn dry_run_changes_nothing() {
    let sb = Sandbox::new();
    let original = b"{\n  \"model\": \"opus\"\n}\n";
    fs::write(settings(&sb), original).unwrap();
    let out = setup(&sb, &["--dry-run", "--hooks"]);
    assert_ok(&out);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains(&format!("+     \"command\": \"{EXE}\",")),
        "{stdout}"
    );
    assert!(
        stdout.contains("-   \"model\": \"opus\"\n+   \"model\": \"opus\","),
        "{stdout}"
    );
    assert!(stdout.contains("dry run"), "{stdout}");
    insta::assert_snapshot!(redact(&sb, &stdout), @r#"
--- [CONFIG]/settings.json
+++ [CONFIG]/settings.json (after setup)
  {
-   "model": "opus"
+   "model": "opus",
+   "statusLine": {
+     "type": "command",
+     "command": "[EXE]",
+     "padding": 0,
+     "refreshInterval": 30
+   },
+   "hooks": {
+     "UserPromptSubmit": [
+       {
+         "hooks": [
+           {
+             "type": "command",
+             "command": "[EXE] hook"
+           }
+         ]
+       }
+     ],
+     "SessionStart": [
+       {
+         "hooks": [
+           {
+             "type": "command",
+             "command": "[EXE] hook"
+           }
+         ]
+       }
+     ]
+   }
  }
dry run: [CONFIG]/settings.json not changed
not hooked yet: PreModelSwitch (Claude Code 2.1.251+), StopFailure (Claude Code 2.1.78+): the Claude Code version is not known yet (no status line has run, and `claude --version` gave none); run `ccmeter setup --hooks` again once Claude Code has shown the status line
"#);
    assert_eq!(fs::read(settings(&sb)).unwrap(), original);
    assert!(backups(&sb).is_empty());

    // With no file at all, not even the directory appears.
    fs::remove_dir_all(&sb.config).unwrap();
    assert_ok(&setup(&sb, &["--dry-run"]));
    assert!(!sb.config.exists());
}

#[test]
fn hooks_are_added_once_and_others_kept() {
    let sb = Sandbox::new();
    let original = r#"{"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "echo mine"}]}], "Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "say done"}]}]}}"#;
    fs::write(settings(&sb), original).unwrap();
    assert_ok(&setup(&sb, &["--hooks"]));
    let first = fs::read(settings(&sb)).unwrap();
    let out = setup(&sb, &["--hooks"]);
    assert_ok(&out);
    assert!(text(&out).0.contains("already set up"));
    assert_eq!(
        fs::read(settings(&sb)).unwrap(),
        first,
        "second run changes nothing"
    );

    let v: serde_json::Value = serde_json::from_slice(&first).unwrap();
    let ours = format!("{EXE} hook");
    for event in ["UserPromptSubmit", "SessionStart"] {
        let n = v["hooks"][event]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["hooks"].as_array().unwrap())
            .filter(|h| h["command"] == ours.as_str() && h["type"] == "command")
            .count();
        assert_eq!(n, 1, "{event}");
    }
    assert_eq!(
        v["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"],
        "echo mine"
    );
    assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["command"], "say done");
    let keys: Vec<&String> = v["hooks"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["UserPromptSubmit", "Stop", "SessionStart"]);
}

#[test]
fn uninstall_restores_the_other_keys_exactly() {
    let sb = Sandbox::new();
    // Already in the format setup writes, so a round trip must give back the very same bytes.
    let original = "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"Stop\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"say done\"\n          }\n        ]\n      }\n    ]\n  },\n  \"theme\": \"dark\"\n}\n";
    fs::write(settings(&sb), original).unwrap();
    assert_ok(&setup(&sb, &["--hooks"]));
    assert_ne!(fs::read_to_string(settings(&sb)).unwrap(), original);

    std::thread::sleep(std::time::Duration::from_millis(1100)); // a distinct backup stamp
    let out = setup(&sb, &["--uninstall"]);
    assert_ok(&out);
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), original);
    assert_eq!(backups(&sb).len(), 2, "one backup per change");

    let out = setup(&sb, &["--uninstall"]);
    assert_ok(&out);
    assert!(text(&out).0.contains("nothing"), "{:?}", text(&out));
}

#[test]
fn uninstall_leaves_someone_elses_status_line() {
    let sb = Sandbox::new();
    let original =
        "{\"statusLine\": {\"type\": \"command\", \"command\": \"starship statusline\"}}";
    fs::write(settings(&sb), original).unwrap();
    assert_ok(&setup(&sb, &["--uninstall"]));
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), original);
}

#[cfg(unix)]
#[test]
fn a_symlinked_settings_file_stays_a_symlink() {
    let sb = Sandbox::new();
    let real = sb.dir.path().join("dotfiles-settings.json");
    fs::write(&real, "{\"model\": \"opus\"}").unwrap();
    std::os::unix::fs::symlink(&real, settings(&sb)).unwrap();
    assert_ok(&setup(&sb, &[]));
    assert!(
        fs::symlink_metadata(settings(&sb))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(fs::read_to_string(&real).unwrap().contains(EXE));
}

#[test]
fn unknown_flags_are_an_error_not_a_silent_write() {
    let sb = Sandbox::new();
    let out = setup(&sb, &["--hoks"]);
    let err = assert_failed(&out);
    assert!(err.contains("--hoks"), "{err}");
    assert!(!settings(&sb).exists());
}

/// The originals a round trip must give back byte for byte: every layout a hand-edited or
/// tool-written settings.json comes in.
const ORIGINALS: [&str; 10] = [
    // Claude Code's own format, with a trailing newline.
    "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"Stop\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"say done\"\n          }\n        ]\n      }\n    ]\n  },\n  \"theme\": \"dark\"\n}\n",
    // CRLF, 4 spaces, no trailing newline.
    "{\r\n    \"model\": \"opus\",\r\n    \"n\": 1e2\r\n}",
    // Tabs and an empty SessionStart that must survive uninstall.
    "{\n\t\"hooks\": {\n\t\t\"SessionStart\": [],\n\t\t\"UserPromptSubmit\": [ ]\n\t}\n}\n",
    // Minified on one line.
    "{\"a\":1,\"hooks\":{}}",
    // Number literals serde_json would rewrite, and unicode escapes.
    "{\n  \"big\": 12345678901234567890123,\n  \"zero\": -0,\n  \"e\": 1E+2,\n  \"s\": \"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\"\"\n}",
    // Nothing at all in it.
    "{}",
    "{\n}\n",
    // Someone else's hooks on our events, with a matcher.
    "{\"hooks\": {\"UserPromptSubmit\": [{\"matcher\": \"\", \"hooks\": [{\"type\": \"command\", \"command\": \"lint\"}]}]}}\n",
    // Odd but valid spacing.
    "  { \"a\" : [ 1 , 2 ] , \"hooks\" : { \"StopFailure\" : [ ] } }  ",
    // Keys spelt with escapes are the keys Claude Code reads.
    "{\n  \"\\u0068ooks\": {\n    \"SessionStart\": []\n  }\n}\n",
];

#[test]
fn setup_then_uninstall_gives_back_the_original_bytes() {
    for (i, original) in ORIGINALS.iter().enumerate() {
        for args in [&["--hooks"][..], &[], &["--force", "--hooks"]] {
            let sb = Sandbox::new();
            seen_version(&sb, "2.1.330");
            fs::write(settings(&sb), original).unwrap();
            assert_ok(&setup(&sb, args));
            let installed = fs::read_to_string(settings(&sb)).unwrap();
            let v: serde_json::Value = serde_json::from_str(&installed)
                .unwrap_or_else(|e| panic!("#{i}: not JSON after setup ({e}):\n{installed}"));
            assert_eq!(v["statusLine"]["command"], EXE, "#{i}");
            assert_eq!(v["statusLine"]["refreshInterval"], 30, "#{i}");
            if installed.contains("\r\n") {
                assert!(
                    !installed.replace("\r\n", "").contains('\n'),
                    "#{i}: a bare LF in a CRLF file:\n{installed:?}"
                );
            }
            assert_ok(&setup(&sb, &["--uninstall"]));
            assert_eq!(
                fs::read_to_string(settings(&sb)).unwrap(),
                *original,
                "#{i} {args:?}, after setup:\n{installed}"
            );
        }
    }
}

#[test]
fn new_keys_copy_the_files_indentation_and_line_endings() {
    let sb = Sandbox::new();
    fs::write(settings(&sb), ORIGINALS[1]).unwrap();
    assert_ok(&setup(&sb, &[]));
    let want = format!(
        "{{\r\n    \"model\": \"opus\",\r\n    \"n\": 1e2,\r\n    \"statusLine\": {{\r\n        \"type\": \"command\",\r\n        \"command\": \"{EXE}\",\r\n        \"padding\": 0,\r\n        \"refreshInterval\": 30\r\n    }}\r\n}}"
    );
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), want);

    let sb = Sandbox::new();
    fs::write(settings(&sb), ORIGINALS[2]).unwrap();
    let out = setup(&sb, &["--hooks"]);
    assert_ok(&out);
    insta::assert_snapshot!(redact(&sb, &fs::read_to_string(settings(&sb)).unwrap()), @r#"
{
	"hooks": {
		"SessionStart": [
			{
				"hooks": [
					{
						"type": "command",
						"command": "[EXE] hook"
					}
				]
			}
		],
		"UserPromptSubmit": [
			{
				"hooks": [
					{
						"type": "command",
						"command": "[EXE] hook"
					}
				]
			}
		]
	},
	"statusLine": {
		"type": "command",
		"command": "[EXE]",
		"padding": 0,
		"refreshInterval": 30
	}
}
"#);
    insta::assert_snapshot!(redact(&sb, &text(&out).0), @r#"
--- [CONFIG]/settings.json
+++ [CONFIG]/settings.json (after setup)
  {
  	"hooks": {
- 		"SessionStart": [],
- 		"UserPromptSubmit": [ ]
+ 		"SessionStart": [
+ 			{
+ 				"hooks": [
+ 					{
+ 						"type": "command",
+ 						"command": "[EXE] hook"
+ 					}
+ 				]
+ 			}
+ 		],
+ 		"UserPromptSubmit": [
+ 			{
+ 				"hooks": [
+ 					{
+ 						"type": "command",
+ 						"command": "[EXE] hook"
+ 					}
+ 				]
+ 			}
+ 		]
+ 	},
+ 	"statusLine": {
+ 		"type": "command",
+ 		"command": "[EXE]",
+ 		"padding": 0,
+ 		"refreshInterval": 30
  	}
  }
backup: [CONFIG]/settings.json.bak-[STAMP]
wrote [CONFIG]/settings.json; Claude Code shows the status line from its next message on
not hooked yet: PreModelSwitch (Claude Code 2.1.251+), StopFailure (Claude Code 2.1.78+): the Claude Code version is not known yet (no status line has run, and `claude --version` gave none); run `ccmeter setup --hooks` again once Claude Code has shown the status line
"#);
}

/// Makes the store say which Claude Code version last ran the status line.
fn seen_version(sb: &Sandbox, version: &str) {
    let line = sb.run(&[], &common::fixture("statusline-full.json"));
    assert_ok(&line);
    sb.wait_for_worker();
    let file = sb.store_file().expect("the status line stored its reading");
    let mut entry: serde_json::Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    entry["claude_code_version"] = version.into();
    fs::write(&file, serde_json::to_vec(&entry).unwrap()).unwrap();
}

fn hooked_events(sb: &Sandbox) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&fs::read(settings(sb)).unwrap()).unwrap();
    let ours = format!("{EXE} hook");
    v["hooks"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, groups)| {
            groups
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|g| g["hooks"].as_array().into_iter().flatten())
                .any(|h| h["command"] == ours.as_str())
        })
        .map(|(k, _)| k.clone())
        .collect()
}

#[test]
fn newer_hook_events_only_for_a_claude_code_that_knows_them() {
    // Not seen yet: the two events every client knows, and how to get the others.
    let sb = Sandbox::new();
    let out = setup(&sb, &["--hooks"]);
    assert_ok(&out);
    assert_eq!(hooked_events(&sb), ["UserPromptSubmit", "SessionStart"]);
    let said = text(&out).0;
    assert!(
        said.contains(
            "not hooked yet: PreModelSwitch (Claude Code 2.1.251+), StopFailure (Claude Code 2.1.78+)"
        ) && said.contains("run `ccmeter setup --hooks` again"),
        "{said}"
    );

    // StopFailure arrived in 2.1.78, PreModelSwitch in 2.1.251.
    seen_version(&sb, "2.1.100");
    let out = setup(&sb, &["--hooks"]);
    assert_ok(&out);
    assert_eq!(
        hooked_events(&sb),
        ["UserPromptSubmit", "SessionStart", "StopFailure"]
    );
    assert!(
        text(&out).0.contains(
            "not hooked: PreModelSwitch (Claude Code 2.1.251+), newer than the Claude Code \
             2.1.100 ccmeter saw last; run `ccmeter setup --hooks` again after updating Claude Code"
        ),
        "{:?}",
        text(&out)
    );

    seen_version(&sb, "2.1.330");
    let out = setup(&sb, &["--hooks"]);
    assert_ok(&out);
    assert_eq!(
        hooked_events(&sb),
        [
            "UserPromptSubmit",
            "SessionStart",
            "StopFailure",
            "PreModelSwitch"
        ]
    );
    assert!(!text(&out).0.contains("not hooked"), "{:?}", text(&out));
    let out = setup(&sb, &["--hooks"]);
    assert!(text(&out).0.contains("already set up"), "{:?}", text(&out));
}

#[test]
fn uninstall_removes_every_ccmeter_hook_and_keeps_the_rest() {
    let sb = Sandbox::new();
    seen_version(&sb, "2.1.330");
    let original = "{\n  \"hooks\": {\n    \"StopFailure\": [],\n    \"Stop\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"say done\"\n          }\n        ]\n      }\n    ]\n  }\n}\n";
    fs::write(settings(&sb), original).unwrap();
    assert_ok(&setup(&sb, &["--hooks"]));
    assert_eq!(hooked_events(&sb).len(), 4);
    // Claude Code (or the user) changes something else meanwhile: only ccmeter's parts go.
    let edited = fs::read_to_string(settings(&sb)).unwrap().replacen(
        "{\n",
        "{\n  \"model\": \"opus\",\n",
        1,
    );
    fs::write(settings(&sb), &edited).unwrap();
    assert_ok(&setup(&sb, &["--uninstall"]));
    assert_eq!(
        fs::read_to_string(settings(&sb)).unwrap(),
        original.replacen("{\n", "{\n  \"model\": \"opus\",\n", 1)
    );
}

#[test]
fn hooks_beside_another_tools_status_line() {
    let sb = Sandbox::new();
    let original = "{\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"starship statusline\"\n  }\n}\n";
    fs::write(settings(&sb), original).unwrap();
    let out = setup(&sb, &["--hooks"]);
    assert_ok(&out);
    assert!(
        text(&out).0.contains(
            "the statusLine of another tool (starship statusline) now runs inside `ccmeter wrap`"
        ),
        "{:?}",
        text(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&fs::read(settings(&sb)).unwrap()).unwrap();
    assert_eq!(
        v["statusLine"]["command"],
        format!("{EXE} wrap 'starship statusline'")
    );
    assert_eq!(hooked_events(&sb), ["UserPromptSubmit", "SessionStart"]);

    assert_ok(&setup(&sb, &["--uninstall"]));
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), original);
}

/// #21 item 9: the user's own ccmeter at another path, with arguments, is already ccmeter:
/// kept as it is, no --force needed, and doctor counts it as wired.
#[test]
fn the_users_own_ccmeter_elsewhere_with_arguments_is_kept() {
    let sb = Sandbox::new();
    let original = "{\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"/opt/tools/ccmeter --format \\\"{5h} {7d}\\\" --color zsh\",\n    \"padding\": 2,\n    \"refreshInterval\": 30\n  }\n}\n";
    fs::write(settings(&sb), original).unwrap();
    let out = setup(&sb, &[]);
    assert_ok(&out);
    assert!(text(&out).0.contains("already set up"), "{:?}", text(&out));
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), original);
    let out = setup(&sb, &["--hooks"]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&fs::read(settings(&sb)).unwrap()).unwrap();
    assert_eq!(
        v["statusLine"]["command"],
        "/opt/tools/ccmeter --format \"{5h} {7d}\" --color zsh"
    );
    assert_eq!(v["statusLine"]["padding"], 2);
    let doctor = text(&sb.run(&["doctor"], b"")).0;
    assert!(
        doctor.contains("statusLine runs /opt/tools/ccmeter --format \"{5h} {7d}\" --color zsh, hook on 2 event(s)"),
        "{doctor}"
    );
}

/// #21 item 15: `setup --offline` writes `--offline` into the command (beside another tool's
/// line too, and into a line already wired); without it, an offline line is left offline.
#[test]
fn setup_offline_writes_it_into_the_command() {
    let sb = Sandbox::new();
    assert_ok(&setup(&sb, &["--offline"]));
    let command = |sb: &Sandbox| {
        let v: serde_json::Value =
            serde_json::from_slice(&fs::read(settings(sb)).unwrap()).unwrap();
        v["statusLine"]["command"].as_str().unwrap().to_string()
    };
    assert_eq!(command(&sb), format!("{EXE} --offline"));
    assert_ok(&setup(&sb, &[]));
    assert_eq!(command(&sb), format!("{EXE} --offline"));

    let sb = Sandbox::new();
    assert_ok(&setup(&sb, &[]));
    assert_eq!(command(&sb), EXE);
    assert_ok(&setup(&sb, &["--offline"]));
    assert_eq!(command(&sb), format!("{EXE} --offline"));

    let sb = Sandbox::new();
    fs::write(
        settings(&sb),
        "{\"statusLine\": {\"type\": \"command\", \"command\": \"starship statusline\"}}",
    )
    .unwrap();
    assert_ok(&setup(&sb, &["--offline"]));
    assert_eq!(
        command(&sb),
        format!("{EXE} wrap --offline 'starship statusline'")
    );
}

#[test]
fn a_file_with_a_bom_is_refused_and_says_so() {
    let sb = Sandbox::new();
    let original = b"\xEF\xBB\xBF{\"model\": \"opus\"}\n";
    fs::write(settings(&sb), original).unwrap();
    let err = assert_failed(&setup(&sb, &[]));
    assert!(err.contains("byte order mark (BOM)"), "{err}");
    assert_eq!(fs::read(settings(&sb)).unwrap(), original);
    assert!(backups(&sb).is_empty());
}

#[cfg(unix)]
#[test]
fn a_dangling_settings_symlink_is_refused() {
    let sb = Sandbox::new();
    let target = sb.dir.path().join("dotfiles").join("settings.json");
    std::os::unix::fs::symlink(&target, settings(&sb)).unwrap();
    let err = assert_failed(&setup(&sb, &[]));
    assert!(
        err.contains(&format!(
            "is a symlink to {}, which does not exist",
            target.display()
        )),
        "{err}"
    );
    assert!(
        fs::symlink_metadata(settings(&sb))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert!(!target.exists() && !target.parent().unwrap().exists());
    // Nothing to take out of a file that is not there.
    let out = setup(&sb, &["--uninstall"]);
    assert_ok(&out);
    assert!(text(&out).0.contains("nothing of ccmeter's to remove"));
}

#[test]
fn refresh_interval_is_added_to_an_older_setup_and_doctor_says_when_missing() {
    let sb = Sandbox::new();
    let original = format!(
        "{{\n  \"statusLine\": {{\n    \"type\": \"command\",\n    \"command\": \"{EXE}\",\n    \"padding\": 0\n  }}\n}}\n"
    );
    fs::write(settings(&sb), &original).unwrap();
    let doctor = sb.run(&["doctor"], b"");
    let said = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(
        said.contains(&format!(
            "statusLine runs {EXE}; no refreshInterval, so the line freezes while you are idle: \
             `ccmeter setup` adds \"refreshInterval\": 30"
        )),
        "{said}"
    );

    assert_ok(&setup(&sb, &[]));
    assert_eq!(
        fs::read_to_string(settings(&sb)).unwrap(),
        format!("{{\n{}\n}}\n", status_line_json("  "))
    );
    let doctor = sb.run(&["doctor"], b"");
    let said = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(!said.contains("refreshInterval"), "{said}");
}

#[test]
fn ccmeter_at_another_path_is_recognised_not_doubled_or_refused() {
    let sb = Sandbox::new();
    // An older install's hooks and status line, and a hand-written PATH hook on another event.
    let before = r#"{
  "statusLine": { "type": "command", "command": "/old/bin/ccmeter" },
  "hooks": {
    "UserPromptSubmit": [{ "hooks": [{ "type": "command", "command": "/old/bin/ccmeter hook" }] }],
    "SessionStart": [{ "hooks": [{ "type": "command", "command": "ccmeter hook" }] }]
  }
}
"#;
    fs::write(settings(&sb), before).unwrap();
    assert_ok(&setup(&sb, &["--hooks"]));
    let after = fs::read_to_string(settings(&sb)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(
        v["statusLine"]["command"], EXE,
        "the old path is moved to this binary"
    );
    let hooks = |event: &str| -> Vec<String> {
        v["hooks"][event]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["hooks"].as_array().unwrap().iter())
            .map(|h| h["command"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(hooks("UserPromptSubmit"), [format!("{EXE} hook")]);
    assert_eq!(
        hooks("SessionStart"),
        ["ccmeter hook"],
        "a PATH hook is left as written"
    );
    // Running it again changes nothing.
    assert_ok(&setup(&sb, &["--hooks"]));
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), after);

    // `ccmeter` found on PATH is already wired: not "a different statusLine".
    let sb = Sandbox::new();
    let bare = "{\n  \"statusLine\": { \"type\": \"command\", \"command\": \"ccmeter\" }\n}\n";
    fs::write(settings(&sb), bare).unwrap();
    assert_ok(&setup(&sb, &[]));
    let v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(settings(&sb)).unwrap()).unwrap();
    assert_eq!(v["statusLine"]["command"], "ccmeter");
    assert_eq!(v["statusLine"]["refreshInterval"], 30);
}

#[cfg(unix)]
#[test]
fn force_is_refused_when_the_replaced_status_line_cannot_be_kept() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let before = "{\n  \"statusLine\": { \"type\": \"command\", \"command\": \"npx ccstatusline@latest\" }\n}\n";
    fs::write(settings(&sb), before).unwrap();
    // A cache dir others can write to is refused, so the record cannot be written there.
    fs::create_dir_all(&sb.cache).unwrap();
    fs::set_permissions(&sb.cache, fs::Permissions::from_mode(0o777)).unwrap();
    let err = assert_failed(&setup(&sb, &["--force"]));
    assert!(err.contains("--uninstall can put it back"), "{err}");
    assert_eq!(
        fs::read_to_string(settings(&sb)).unwrap(),
        before,
        "nothing changed"
    );
}

/// #21 item 10: a 9 MB settings file (a long permission list) gets a diff of a few lines, not
/// the whole file printed as removed and added again.
#[test]
fn the_diff_of_a_huge_file_is_small() {
    let sb = Sandbox::new();
    let mut original = String::from("{\n  \"permissions\": {\n    \"allow\": [\n");
    for i in 0..200_000 {
        original.push_str(&format!(
            "      \"Bash(tool-{i:06} --with-arguments:*)\",\n"
        ));
    }
    original.push_str("      \"Read\"\n    ]\n  }\n}\n");
    assert!(original.len() > 9_000_000);
    fs::write(settings(&sb), &original).unwrap();
    let out = setup(&sb, &["--dry-run"]);
    assert_ok(&out);
    let said = redact(&sb, &text(&out).0);
    insta::assert_snapshot!(said, @r#"
--- [CONFIG]/settings.json
+++ [CONFIG]/settings.json (after setup)
  …
        "Read"
      ]
+   },
+   "statusLine": {
+     "type": "command",
+     "command": "[EXE]",
+     "padding": 0,
+     "refreshInterval": 30
    }
  }
dry run: [CONFIG]/settings.json not changed
"#);
}

/// Runs the binary, killing it if it has not finished within `secs`: a hang is a failure, not
/// a stuck test run.
fn run_bounded(sb: &Sandbox, args: &[&str], secs: u64) -> Output {
    use std::process::Stdio;
    let mut child = sb
        .cmd(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`ccmeter {}` still running after {secs} s", args.join(" "));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// #21 item 4: a FIFO at settings.json (nobody writing to it) must not hang setup or doctor.
#[cfg(unix)]
#[test]
fn a_fifo_settings_file_hangs_nothing() {
    let sb = Sandbox::new();
    let c = std::ffi::CString::new(settings(&sb).to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let out = run_bounded(&sb, &["setup"], 10);
    let err = assert_failed(&out);
    assert!(err.contains("is not a regular file"), "{err}");
    let out = run_bounded(&sb, &["doctor"], 10);
    let said = text(&out).0;
    assert!(said.contains("is not a regular file"), "{said}");
    let out = run_bounded(&sb, &["setup", "--uninstall"], 10);
    assert!(assert_failed(&out).contains("is not a regular file"));
}

/// #21 item 4: a settings file larger than setup reads is refused without being read (a 2 GB
/// one made doctor use 2.1 GB); the files here are sparse, so they cost no disk.
#[test]
fn a_huge_settings_file_is_not_read() {
    for len in [16 * 1024 * 1024 + 1, 2 * 1024 * 1024 * 1024] {
        let sb = Sandbox::new();
        let f = fs::File::create(settings(&sb)).unwrap();
        f.set_len(len).unwrap();
        drop(f);
        let out = run_bounded(&sb, &["setup"], 10);
        let err = assert_failed(&out);
        assert!(
            err.contains("is larger than setup reads (16 MiB)") && err.contains("not changed"),
            "{err}"
        );
        let said = text(&run_bounded(&sb, &["doctor"], 10)).0;
        assert!(
            said.contains("is larger than setup reads (16 MiB)"),
            "{said}"
        );
        assert_eq!(fs::metadata(settings(&sb)).unwrap().len(), len);
    }
}

/// #21 item 11: with no settings file to begin with, setup then --uninstall leaves no file
/// (not `{}`), and no backup of a file that held only what setup wrote.
#[test]
fn uninstall_removes_the_file_setup_created() {
    for args in [&[][..], &["--hooks"]] {
        let sb = Sandbox::new();
        assert!(!settings(&sb).exists());
        assert_ok(&setup(&sb, args));
        assert!(settings(&sb).exists());
        let out = setup(&sb, &["--uninstall"]);
        assert_ok(&out);
        assert!(
            !settings(&sb).exists(),
            "{args:?}: {:?}",
            fs::read_to_string(settings(&sb))
        );
        assert!(backups(&sb).is_empty(), "{:?}", backups(&sb));
        let said = redact(&sb, &text(&out).0);
        assert!(
            said.contains("removed [CONFIG]/settings.json (setup had created it)"),
            "{said}"
        );
    }
    // Something else was added to it meanwhile: the file stays, with that.
    let sb = Sandbox::new();
    assert_ok(&setup(&sb, &[]));
    let edited = fs::read_to_string(settings(&sb)).unwrap().replacen(
        "{\n",
        "{\n  \"model\": \"opus\",\n",
        1,
    );
    fs::write(settings(&sb), edited).unwrap();
    assert_ok(&setup(&sb, &["--uninstall"]));
    assert_eq!(
        fs::read_to_string(settings(&sb)).unwrap(),
        "{\n  \"model\": \"opus\"\n}\n"
    );
}

/// #21 item 11: a dry run writes neither the record nor a backup, so it must not say it does.
#[test]
fn dry_run_force_promises_nothing_it_does_not_write() {
    let sb = Sandbox::new();
    let original =
        "{\n  \"statusLine\": { \"type\": \"command\", \"command\": \"~/bin/my-line.sh\" }\n}\n";
    fs::write(settings(&sb), original).unwrap();
    let out = setup(&sb, &["--dry-run", "--force"]);
    assert_ok(&out);
    let said = redact(&sb, &text(&out).0);
    assert!(!said.contains("is kept in"), "{said}");
    assert!(
        said.contains(
            "dry run: [CONFIG]/settings.json not changed\n\
             without --dry-run, the statusLine it replaces (~/bin/my-line.sh) would be kept \
             for `ccmeter setup --uninstall` to put back"
        ),
        "{said}"
    );
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), original);
    assert!(backups(&sb).is_empty());
    assert!(
        !sb.entry_files()
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".setup.json")),
        "no record written"
    );
}

/// #21 item 11: JSON that Claude Code reads (JSON.parse) but serde_json refuses is named for
/// what it is, not called invalid.
#[test]
fn valid_json_serde_refuses_is_named_for_what_it_is() {
    let deep = format!("{{\"a\": {}1{}}}", "[".repeat(200), "]".repeat(200));
    for (original, what) in [
        (
            deep.as_str(),
            "is JSON that setup's reader refuses: arrays and objects nested deeper than 128 levels",
        ),
        (
            "{\n  \"n\": 1e400\n}\n",
            "is JSON that setup's reader refuses: a number too large for a 64-bit float (such as 1e400) (line 2, column 12)",
        ),
        (
            "{\n  \"s\": \"\\ud800\"\n}\n",
            "is JSON that setup's reader refuses: a \\u escape of half a UTF-16 surrogate pair (a lone surrogate) (line 2, column",
        ),
        (
            "{\n  \"s\": \"\\udc00x\"\n}\n",
            "is JSON that setup's reader refuses: a \\u escape of half a UTF-16 surrogate pair (a lone surrogate)",
        ),
    ] {
        let sb = Sandbox::new();
        fs::write(settings(&sb), original).unwrap();
        let err = assert_failed(&setup(&sb, &[]));
        assert!(
            err.contains(what) && !err.contains("not valid JSON") && err.contains("line "),
            "{original}: {err}"
        );
        assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), original);
    }
}

/// A stand-in `claude` in a fresh bin dir, running `body` (a sh script), that notes each run.
#[cfg(unix)]
fn claude_stand_in(sb: &Sandbox, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = sb.dir.path().join("claude-bin");
    fs::create_dir_all(&bin).unwrap();
    let ran = sb.dir.path().join("claude-ran");
    let script = bin.join("claude");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nPATH=/usr/bin:/bin\necho \"$@\" >> '{}'\n{body}\n",
            ran.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// #19: with no status line seen yet, `setup --hooks` asks `claude --version` (found on PATH),
/// so the events a newer client knows are added.
#[cfg(unix)]
#[test]
fn hooks_learn_the_version_from_claude_when_no_status_line_told_it() {
    let sb = Sandbox::new();
    let bin = claude_stand_in(&sb, "echo '2.1.330 (Claude Code)'");
    let out = setup_with_path(&sb, &["--hooks"], &bin);
    assert_ok(&out);
    assert_eq!(
        hooked_events(&sb),
        [
            "UserPromptSubmit",
            "SessionStart",
            "PreModelSwitch",
            "StopFailure"
        ]
    );
    assert!(!text(&out).0.contains("not hooked"), "{:?}", text(&out));
    assert_eq!(
        fs::read_to_string(sb.dir.path().join("claude-ran")).unwrap(),
        "--version\n"
    );

    let sb = Sandbox::new();
    let bin = claude_stand_in(&sb, "echo '2.1.100 (Claude Code)'");
    let out = setup_with_path(&sb, &["--hooks"], &bin);
    assert_ok(&out);
    assert_eq!(
        hooked_events(&sb),
        ["UserPromptSubmit", "SessionStart", "StopFailure"]
    );
    assert!(
        text(&out).0.contains(
            "not hooked: PreModelSwitch (Claude Code 2.1.251+), newer than Claude Code 2.1.100 \
             (from `claude --version`)"
        ),
        "{:?}",
        text(&out)
    );

    // What the status line said comes first: claude is not even asked.
    let sb = Sandbox::new();
    seen_version(&sb, "2.1.100");
    let bin = claude_stand_in(&sb, "echo '2.1.330 (Claude Code)'");
    assert_ok(&setup_with_path(&sb, &["--hooks"], &bin));
    assert_eq!(
        hooked_events(&sb),
        ["UserPromptSubmit", "SessionStart", "StopFailure"]
    );
    assert!(!sb.dir.path().join("claude-ran").exists());
    // Nor without --hooks.
    let sb = Sandbox::new();
    let bin = claude_stand_in(&sb, "echo '2.1.330 (Claude Code)'");
    assert_ok(&setup_with_path(&sb, &[], &bin));
    assert!(!sb.dir.path().join("claude-ran").exists());
}

/// Whether process `pid` is still running (a zombie waiting for its reaper is not).
#[cfg(target_os = "linux")]
fn running(pid: &str) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

/// A `claude` that hangs (and leaves a child) is given 2 s, then killed with its child: setup
/// goes on with the events every client knows, and nothing is left running.
#[cfg(target_os = "linux")]
#[test]
fn a_hanging_claude_is_cut_off_and_killed_with_its_children() {
    let sb = Sandbox::new();
    let pids = sb.dir.path().join("pids");
    let bin = claude_stand_in(
        &sb,
        &format!("sleep 10 &\necho $$ $! > '{}'\nsleep 10", pids.display()),
    );
    let start = std::time::Instant::now();
    let mut cmd = sb.cmd(&["setup", "--hooks"]);
    cmd.env("PATH", &bin);
    let out = sb.run_with(cmd, b"");
    let took = start.elapsed();
    assert_ok(&out);
    // Well before the stand-in's own 10 s: it was cut off, not waited for.
    assert!(took < std::time::Duration::from_secs(8), "{took:?}");
    assert_eq!(hooked_events(&sb), ["UserPromptSubmit", "SessionStart"]);
    assert!(text(&out).0.contains("not hooked yet"), "{:?}", text(&out));
    let pids = fs::read_to_string(&pids).unwrap();
    for pid in pids.split_whitespace() {
        assert!(!running(pid), "process {pid} left running");
    }
}
