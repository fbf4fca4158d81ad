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
    let mut all = vec!["setup"];
    all.extend_from_slice(args);
    sb.run(&all, b"")
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
        "{indent}\"statusLine\": {{\n{indent}  \"type\": \"command\",\n{indent}  \"command\": \"{EXE}\",\n{indent}  \"padding\": 0\n{indent}}}"
    )
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
fn other_keys_keep_their_order_and_the_file_its_mode() {
    let sb = Sandbox::new();
    let original = r#"{"theme":"dark","env":{"Z":"1","A":"2"},"permissions":{"allow":["Bash(ls:*)"],"deny":[]},"model":"opus","includeCoAuthoredBy":false}"#;
    fs::write(settings(&sb), original).unwrap();
    #[cfg(unix)]
    chmod(&settings(&sb), 0o644);

    let out = setup(&sb, &[]);
    assert_ok(&out);
    let want = format!(
        r#"{{
  "theme": "dark",
  "env": {{
    "Z": "1",
    "A": "2"
  }},
  "permissions": {{
    "allow": [
      "Bash(ls:*)"
    ],
    "deny": []
  }},
  "model": "opus",
  "includeCoAuthoredBy": false,
{}
}}
"#,
        status_line_json("  ")
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
fn a_different_status_line_needs_force() {
    let sb = Sandbox::new();
    let original = "{\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"~/bin/my-line.sh\"\n  },\n  \"model\": \"opus\"\n}\n";
    fs::write(settings(&sb), original).unwrap();

    let err = assert_failed(&setup(&sb, &[]));
    assert!(
        err.contains("--force") && err.contains("~/bin/my-line.sh"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), original);
    assert!(backups(&sb).is_empty());

    assert_ok(&setup(&sb, &["--force"]));
    let want = format!(
        "{{\n{},\n  \"model\": \"opus\"\n}}\n",
        status_line_json("  ")
    );
    assert_eq!(fs::read_to_string(settings(&sb)).unwrap(), want);
    let b = backups(&sb);
    assert_eq!(b.len(), 1);
    assert_eq!(fs::read_to_string(&b[0]).unwrap(), original);
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
    let original = b"{\"model\": \"opus\"}\n";
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
