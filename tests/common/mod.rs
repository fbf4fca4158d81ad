//! Shared by the black-box tests: a sandbox of temp dirs that stands in for `HOME`, Claude
//! Code's config dir and ccmeter's cache, and helpers to run the real binary in a real pipe.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// 2h13m20s before the 5h reset in the samples (`resets_at: 1795000000`).
pub const NOW: i64 = 1_794_992_000;

pub const SAMPLE_TOKEN: &str = "sk-ant-oat01-SAMPLE-not-a-real-token-0000000000000000";

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub config: PathBuf,
    pub cache: PathBuf,
}

/// The sample credentials with an expiry far in the future (the sample's own, 2026-11-18T11:06:40Z,
/// is before some tests' clocks).
pub fn valid_credentials() -> String {
    String::from_utf8(fixture("credentials.json"))
        .unwrap()
        .replace("1795000000000", "4102444800000")
}

impl Sandbox {
    /// A sandbox logged in with the sample credentials.
    pub fn logged_in() -> Sandbox {
        let s = Sandbox::new();
        s.write_credentials(&valid_credentials());
        s
    }

    /// `cmd` with the network on, the endpoint at `base` (a loopback mock), the clock at `now`.
    pub fn online_cmd(&self, base: &str, args: &[&str], now: i64) -> Command {
        let mut c = self.cmd(args);
        c.env_remove("CCMETER_OFFLINE")
            .env("CCMETER_API_BASE", base)
            .env("CCMETER_NOW", now.to_string());
        c
    }

    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let config = home.join(".claude");
        let cache = dir.path().join("cache");
        std::fs::create_dir_all(&config).unwrap();
        Sandbox {
            dir,
            home,
            config,
            cache,
        }
    }

    /// The binary with every path isolated, the clock pinned, and the network off unless a
    /// test turns it on (a dead loopback port as the endpoint, in case it does by mistake).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ccmeter"));
        c.args(args)
            .env("HOME", &self.home)
            .env("CLAUDE_CONFIG_DIR", &self.config)
            .env("CCMETER_CACHE_DIR", &self.cache)
            .env("CCMETER_NOW", NOW.to_string())
            .env("CCMETER_OFFLINE", "1")
            .env("CCMETER_API_BASE", "http://127.0.0.1:9")
            .env("XDG_CACHE_HOME", self.dir.path().join("xdg-cache"))
            .env_remove("CLAUDE_SECURESTORAGE_CONFIG_DIR")
            .env_remove("CLAUDE_CODE_OAUTH_TOKEN")
            .env_remove("NO_COLOR")
            .env_remove("CCMETER_TTL")
            .env_remove("CCMETER_STALE_AFTER")
            .env_remove("CCMETER_WARN_AT")
            .env_remove("CCMETER_FORMAT")
            .env_remove("CCMETER_USER_AGENT");
        c
    }

    /// Runs with `stdin` piped in (written from a thread so a large input cannot deadlock).
    pub fn run_with(&self, mut cmd: Command, stdin: &[u8]) -> Output {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn ccmeter");
        let mut pipe = child.stdin.take().unwrap();
        let data = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            // The binary may stop reading early (oversized input): a broken pipe is expected.
            let _ = pipe.write_all(&data);
        });
        let out = child.wait_with_output().expect("wait");
        let _ = writer.join();
        out
    }

    /// Runs with a stdin pipe that receives `partial` and is then held open, never closed, as a
    /// stalled wrapper would. The bound is generous (the real wait is ~100 ms): what matters is
    /// that the program returns at all.
    pub fn run_with_stalled_stdin(&self, mut cmd: Command, partial: &[u8]) -> Output {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = std::time::Instant::now();
        let mut child = cmd.spawn().expect("spawn ccmeter");
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(partial).unwrap();
        let out = child.wait_with_output().expect("wait");
        let took = start.elapsed();
        drop(pipe);
        assert!(
            took < std::time::Duration::from_secs(3),
            "took {took:?} with an open stdin"
        );
        out
    }

    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.run_with(self.cmd(args), stdin)
    }

    pub fn entry_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.cache)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    /// The account's store file (the only `*.json` without a second dot in the cache dir).
    pub fn store_file(&self) -> Option<PathBuf> {
        self.entry_files().into_iter().find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.ends_with(".json") && name.matches('.').count() == 1
        })
    }

    /// Waits until no detached refresh worker is in flight (the worker removes its start marker
    /// when done), so a test can reason about the store without racing it.
    pub fn wait_for_worker(&self) {
        let start = std::time::Instant::now();
        while self
            .entry_files()
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".refresh.started"))
        {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "worker still running after 20 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn write_credentials(&self, json: &str) {
        std::fs::write(self.config.join(".credentials.json"), json).unwrap();
    }

    /// Every byte the program left on disk under the sandbox, for leak checks.
    pub fn all_written_bytes(&self) -> Vec<u8> {
        fn walk(p: &Path, out: &mut Vec<u8>) {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        walk(&path, out);
                    } else if path.file_name().is_some_and(|n| n != ".credentials.json") {
                        out.extend(std::fs::read(&path).unwrap_or_default());
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// Asserts the run printed exactly one line, nothing on stderr, exit 0; returns the line.
pub fn one_line(out: &Output) -> String {
    let text = stdout(out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "exit status; stdout={text:?} stderr={:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "not one line: {text:?}"
    );
    text.trim_end().to_string()
}

pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}
