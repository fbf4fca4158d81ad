//! One file per subcommand; each exposes `run(&Config, …) -> exit code`.

pub mod demo;
pub mod doctor;
pub mod history;
pub mod hook;
pub mod line;
pub mod setup;
pub mod wrap;
