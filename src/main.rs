//! ccmeter: how much of a Claude Pro/Max plan's rate limits are used, in one line.
//! The flow is here; every behaviour lives one hop away in a module named for it.

use ccmeter::cli::{self, Command};
use ccmeter::{cmd, refresh};

#[global_allocator]
static ALLOC: ccmeter::arena::Arena = ccmeter::arena::Arena::new();

fn main() {
    let config = cli::from_process();
    if !config.arg_errors.is_empty() {
        use std::io::IsTerminal;
        if cli::bad_arguments_are_fatal(&config, std::io::stdout().is_terminal()) {
            eprint!("{}", cli::usage_error(&config));
            std::process::exit(2);
        }
    }
    if !matches!(
        config.command,
        Command::Line | Command::Hook | Command::Wrap(_)
    ) {
        restore_sigpipe();
    }
    let code = match &config.command {
        Command::Line => cmd::line::run(&config),
        Command::Refresh { wait } => refresh::run(&config, *wait),
        Command::Hook => cmd::hook::run(&config),
        Command::Doctor { check_endpoint } => cmd::doctor::run(&config, *check_endpoint),
        Command::Setup(args) => cmd::setup::run(&config, args),
        Command::Demo => cmd::demo::run(&config),
        Command::History { days } => cmd::history::run(&config, *days),
        Command::Wrap(args) => cmd::wrap::run(&config, args),
        Command::Help => {
            print!("{}", cli::USAGE);
            0
        }
        Command::Version => {
            println!("ccmeter {}", env!("CARGO_PKG_VERSION"));
            0
        }
    };
    std::process::exit(code);
}

/// For the human-facing commands, behave like any Unix tool when the reader goes away
/// (`ccmeter doctor | head -1`): die quietly of SIGPIPE instead of panicking on EPIPE. Line mode,
/// hooks and `wrap` keep Rust's default (EPIPE as an error they ignore) so they always exit 0.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal disposition to its default before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
