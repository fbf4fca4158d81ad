//! Background refresh (stub).

use crate::cli::Config;

pub fn run(_config: &Config, _wait: bool) -> i32 {
    0
}
