//! `ccmeter doctor` (stub).

use crate::cli::Config;

pub fn run(_config: &Config, _check_endpoint: bool) -> i32 {
    0
}
