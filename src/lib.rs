//! ccmeter as a library: every module the binary is made of, so `src/main.rs` stays the thin
//! flow and the fuzz targets under `fuzz/` can drive the very parsers the binary uses.
//! Nothing here is a stable API for other crates.

pub mod arena;
pub mod cli;
pub mod cmd;
pub mod credentials;
pub mod endpoint;
pub mod environ;
pub mod estimate;
pub mod files;
pub mod fmt;
pub mod git;
pub mod history;
pub mod input;
pub mod paths;
pub mod projection;
pub mod refresh;
pub mod render;
pub mod report;
pub mod store;
#[cfg(test)]
mod testutil;
pub mod text;
pub mod usage;
#[cfg(windows)]
pub mod windows;

/// The one clock: unix seconds now. Everything below the commands takes `now` as a parameter.
/// `CCMETER_NOW` pins it, so black-box tests and `demo`-style reproductions are deterministic.
pub fn now() -> i64 {
    if let Some(t) = environ::var("CCMETER_NOW").and_then(|v| v.parse().ok()) {
        return t;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
