//! Background refresh (stub).

use crate::cli::Config;

pub fn run(_config: &Config, _wait: bool) -> i32 {
    0
}

/// Starts the detached worker when the store is due (stub).
pub fn spawn_if_due(_config: &Config, _entry: Option<&crate::store::Entry>, _now: i64) {}
