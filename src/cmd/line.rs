//! `ccmeter line` (stub).

use crate::cli::Config;

pub fn run(_config: &Config) -> i32 {
    0
}
