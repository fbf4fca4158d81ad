//! `ccmeter setup` (stub).

use crate::cli::{Config, SetupArgs};

pub fn run(_config: &Config, _args: &SetupArgs) -> i32 {
    0
}
