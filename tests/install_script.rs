//! `install.sh` refuses a Rust older than the one ccmeter needs, before building anything, and
//! says which version it found and which it needs. Run with stand-in `rustc` and `cargo`
//! programs on PATH, so no toolchain is touched. (Unix only: it is a POSIX shell script.)
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Cargo.toml's `rust-version`: the version install.sh must ask for.
fn rust_version() -> String {
    let toml = include_str!("../Cargo.toml");
    let line = toml
        .lines()
        .find(|l| l.starts_with("rust-version"))
        .expect("rust-version in Cargo.toml");
    line.split('"').nth(1).unwrap().to_string()
}

fn stand_in(dir: &Path, name: &str, script: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs install.sh with `rustc --version` printing `rustc_says`; returns (exit code, stderr,
/// whether cargo was run).
fn install_with(rustc_says: &str) -> (Option<i32>, String, bool) {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let marker = tmp.path().join("cargo-ran");
    stand_in(&bin, "rustc", &format!("echo '{rustc_says}'"));
    // A cargo that records it was asked and fails, so nothing is installed anywhere.
    stand_in(
        &bin,
        "cargo",
        &format!("echo \"$@\" > '{}'; exit 3", marker.display()),
    );
    let out = Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/install.sh"))
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", tmp.path())
        .env("CARGO_HOME", tmp.path().join("cargo"))
        .env_remove("CCMETER_TARGET")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        marker.exists(),
    )
}

#[test]
fn an_old_rust_is_refused_before_building() {
    let need = rust_version();
    assert_eq!(need, "1.88", "README and install.sh name this version too");
    let (code, err, cargo_ran) = install_with("rustc 1.85.1 (4eb161250 2025-03-15)");
    assert_ne!(code, Some(0), "{err}");
    assert!(!cargo_ran, "cargo ran with Rust 1.85: {err}");
    assert!(
        err.contains(&format!(
            "Rust 1.85.1 is too old: ccmeter needs {need} or newer"
        )),
        "{err}"
    );
    // 1.100 is newer than 1.88 (numbers, not strings).
    for ok in [
        format!("rustc {need}.0 (6b00bc388 2025-06-23)"),
        "rustc 1.100.0-nightly (abcdef012 2027-01-01)".into(),
        "rustc 2.0.0".into(),
    ] {
        let (_, err, cargo_ran) = install_with(&ok);
        assert!(cargo_ran, "{ok}: cargo did not run: {err}");
    }
}
