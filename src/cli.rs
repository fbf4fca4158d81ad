//! Arguments and environment into one [`Config`]. Plain code, no parser crate: the whole command
//! line is a handful of flags, and start-up time matters more than generated help.

use std::path::PathBuf;

use crate::paths::{self, ConfigDir, Env};
use crate::store::Store;

pub const USAGE: &str = "\
ccmeter — Claude Pro/Max rate-limit usage in one line: 5h 42% · 7d 18% ↻2h13m

Usage:
  ccmeter [--json | --format TEMPLATE] [--color MODE] [--offline]
  ccmeter refresh [--wait]      fetch from the usage endpoint (normally run in the background)
  ccmeter hook                  for Claude Code hooks: warn when a limit is near
  ccmeter doctor [--check-endpoint]
  ccmeter setup [--hooks] [--dry-run] [--force] [--uninstall] [--offline]
  ccmeter demo                  render sample states, no account needed
  ccmeter history [--days N] [--json]   the usage history as charts (N: 1-8)
  ccmeter wrap [--inline] [--color MODE] [--format T] COMMAND
                                beside your own status line: runs COMMAND (one argument)
                                with the same stdin, prints its output, then ccmeter's line

Options:
  --json              the same decision as JSON (fields documented in README)
  --format TEMPLATE   placeholders: {5h} {7d} {model} {reset} {full} {extra} {pace5h} {pace7d}
                      {age} {stale} {source} {state} {error} {line}
                      status-line fields: {model_name} {dir} {branch} {context} {cost}
  --inline            (wrap) ccmeter's line at the end of COMMAND's first line
  --color MODE        auto | always | never | tmux | zsh | bash   (NO_COLOR is honoured)
  --offline           never contact the network (also CCMETER_OFFLINE=1)
  -h, --help          this help
  -V, --version       the version

Environment:
  CCMETER_TTL=180           seconds before stored numbers are refreshed in the background
  CCMETER_STALE_AFTER=600   seconds before the line shows the age of its numbers
  CCMETER_DETAIL_TTL=900    while stdin is live, ask the endpoint this often for per-model
                            windows and extra usage
  CCMETER_WARN_AT=80,95     hook warning thresholds in percent
  CCMETER_WRAP_TIMEOUT_MS=2000   (wrap) COMMAND is killed after this, with its children
  CCMETER_CACHE_DIR         where the store lives (default: the platform cache dir + ccmeter)
  CCMETER_OFFLINE=1         same as --offline
  CCMETER_USER_AGENT        the whole User-Agent sent to the usage endpoint (see README)
  CLAUDE_CONFIG_DIR         Claude Code's config dir (one store entry per config dir)
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Line,
    Refresh { wait: bool },
    Hook,
    Doctor { check_endpoint: bool },
    Setup(SetupArgs),
    Demo,
    History { days: Option<u32> },
    Wrap(WrapArgs),
    Help,
    Version,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupArgs {
    pub hooks: bool,
    pub dry_run: bool,
    pub force: bool,
    pub uninstall: bool,
    /// `setup --offline`: the command written runs with `--offline`.
    pub offline: bool,
}

/// `ccmeter wrap`: the user's own status-line command, run beside ccmeter's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapArgs {
    /// The command, exactly as one argument (`setup` writes it single-quoted); `None` when the
    /// command line has none or more than one (an argument error says so).
    pub command: Option<String>,
    /// ccmeter's line at the end of the command's first line instead of on its own.
    pub inline: bool,
    /// `CCMETER_WRAP_TIMEOUT_MS`: how long the command may take before it is killed.
    pub timeout_ms: u64,
}

/// Longer than `npx -y ccstatusline@latest` takes warm (~0.5 s), short enough that a hung
/// command never leaves Claude Code without a status line for long.
pub const WRAP_TIMEOUT_MS: u64 = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
    Tmux,
    Zsh,
    Bash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Line,
    Json,
    Format(String),
}

/// Everything a command needs to know about its invocation.
#[derive(Debug, Clone)]
pub struct Config {
    pub command: Command,
    pub output: Output,
    pub color: ColorChoice,
    pub no_color_env: bool,
    pub offline: bool,
    pub ttl: i64,
    pub stale_after: i64,
    /// Ask the endpoint at least this often while stdin is live, for what only it knows.
    pub detail_ttl: i64,
    pub warn_at: Vec<f64>,
    pub api_base: String,
    /// `CCMETER_USER_AGENT`, replacing the whole User-Agent; `None` when unset or unsendable.
    pub user_agent: Option<String>,
    pub env: Env,
    pub config_dir: ConfigDir,
    pub store: Store,
    /// Problems with the command line, shown in the line rather than failing it.
    pub arg_errors: Vec<String>,
}

fn var(name: &str) -> Option<String> {
    crate::environ::var(name)
}

fn seconds(name: &str, default: i64) -> i64 {
    var(name)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|&v| v >= 0)
        .unwrap_or(default)
}

/// Parses `80,95` into sorted thresholds; falls back to the default on anything odd.
pub fn parse_warn_at(s: Option<&str>) -> Vec<f64> {
    let parsed: Option<Vec<f64>> = s.map(|s| {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.trim()
                    .trim_end_matches('%')
                    .parse::<f64>()
                    .ok()
                    .filter(|v| (0.0..=100.0).contains(v))
            })
            .collect::<Option<Vec<f64>>>()
            .unwrap_or_default()
    });
    let mut v = parsed
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![80.0, 95.0]);
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

pub fn env_from_process() -> Env {
    Env {
        home: crate::paths::home_dir(),
        claude_config_dir: var("CLAUDE_CONFIG_DIR"),
        securestorage_config_dir: var("CLAUDE_SECURESTORAGE_CONFIG_DIR"),
        cache_dir: var("CCMETER_CACHE_DIR")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
    }
}

/// Reads the process's arguments and environment.
pub fn from_process() -> Config {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let env = env_from_process();
    let mut config = parse_args(&args, env);
    config.no_color_env = var("NO_COLOR").is_some_and(|v| !v.is_empty());
    config.offline |=
        var("CCMETER_OFFLINE").is_some_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    config.ttl = seconds("CCMETER_TTL", 180);
    config.stale_after = seconds("CCMETER_STALE_AFTER", 600);
    config.detail_ttl = seconds("CCMETER_DETAIL_TTL", 900);
    config.warn_at = parse_warn_at(var("CCMETER_WARN_AT").as_deref());
    config.user_agent = var("CCMETER_USER_AGENT").and_then(|v| header_value(&v));
    if let Command::Wrap(w) = &mut config.command {
        w.timeout_ms = var("CCMETER_WRAP_TIMEOUT_MS")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(WRAP_TIMEOUT_MS);
    }
    if let Some(base) = var("CCMETER_API_BASE").filter(|s| !s.is_empty()) {
        config.api_base = base.trim_end_matches('/').to_string();
    }
    config
}

/// A value that can go in an HTTP header as is: printable ASCII, trimmed, not empty. Anything
/// else (a newline could inject a header) is ignored, and `doctor` shows what is sent instead.
pub fn header_value(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty() && v.bytes().all(|b| (0x20..0x7f).contains(&b))).then(|| v.to_string())
}

/// Pure: arguments -> config with defaults (env-driven settings are applied by `from_process`).
pub fn parse_args(args: &[String], env: Env) -> Config {
    let config_dir = ConfigDir::resolve(&env);
    let store = Store::new(paths::cache_dir(&env), config_dir.account_key());
    let mut c = Config {
        command: Command::Line,
        output: Output::Line,
        color: ColorChoice::Auto,
        no_color_env: false,
        offline: false,
        ttl: 180,
        stale_after: 600,
        detail_ttl: 900,
        warn_at: vec![80.0, 95.0],
        api_base: "https://api.anthropic.com".into(),
        user_agent: None,
        env,
        config_dir,
        store,
        arg_errors: Vec::new(),
    };
    let mut setup = SetupArgs::default();
    let mut wait = false;
    let mut check_endpoint = false;
    let mut days = None;
    let mut wrap = WrapArgs {
        command: None,
        inline: false,
        timeout_ms: WRAP_TIMEOUT_MS,
    };
    let mut wrap_commands = 0;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        // After `wrap`, a word that is not a flag (or anything after `--`) is the command.
        if matches!(c.command, Command::Wrap(_)) && (arg == "--" || !arg.starts_with('-')) {
            let command = if arg == "--" { it.next() } else { Some(arg) };
            if let Some(command) = command {
                wrap_commands += 1;
                wrap.command.get_or_insert_with(|| command.clone());
            }
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str, errors: &mut Vec<String>| {
            let v = inline.clone().or_else(|| it.next().cloned());
            if v.is_none() {
                errors.push(format!("{name} needs a value"));
            }
            v
        };
        match flag {
            "refresh" | "hook" | "doctor" | "setup" | "demo" | "history" | "help" | "wrap"
                if c.command == Command::Line =>
            {
                c.command = match flag {
                    "refresh" => Command::Refresh { wait: false },
                    "hook" => Command::Hook,
                    "doctor" => Command::Doctor {
                        check_endpoint: false,
                    },
                    "setup" => Command::Setup(SetupArgs::default()),
                    "demo" => Command::Demo,
                    "history" => Command::History { days: None },
                    "wrap" => Command::Wrap(wrap.clone()),
                    _ => Command::Help,
                }
            }
            "-h" | "--help" => c.command = Command::Help,
            "-V" | "--version" => c.command = Command::Version,
            "--json" => c.output = Output::Json,
            "--offline" => c.offline = true,
            "--format" => {
                if let Some(t) = value("--format", &mut c.arg_errors) {
                    c.output = Output::Format(t);
                }
            }
            "--color" | "--colour" => match value("--color", &mut c.arg_errors).as_deref() {
                Some("auto") => c.color = ColorChoice::Auto,
                Some("always") => c.color = ColorChoice::Always,
                Some("never") => c.color = ColorChoice::Never,
                Some("tmux") => c.color = ColorChoice::Tmux,
                Some("zsh") => c.color = ColorChoice::Zsh,
                Some("bash") => c.color = ColorChoice::Bash,
                Some(other) => c.arg_errors.push(format!("unknown --color {other}")),
                None => {}
            },
            "--days" => match value("--days", &mut c.arg_errors).map(|v| v.parse::<u32>()) {
                Some(Ok(d)) if (1..=8).contains(&d) => days = Some(d),
                Some(_) => c.arg_errors.push("--days takes 1 to 8".into()),
                None => {}
            },
            "--wait" => wait = true,
            "--check-endpoint" => check_endpoint = true,
            "--hooks" => setup.hooks = true,
            "--dry-run" => setup.dry_run = true,
            "--force" => setup.force = true,
            "--uninstall" => setup.uninstall = true,
            "--inline" => wrap.inline = true,
            other => c.arg_errors.push(unknown_argument(other)),
        }
    }
    match &mut c.command {
        Command::Refresh { wait: w } => *w = wait,
        Command::Doctor { check_endpoint: ce } => *ce = check_endpoint,
        Command::Setup(s) => {
            *s = SetupArgs {
                offline: c.offline,
                ..setup
            }
        }
        Command::History { days: d } => *d = days,
        Command::Wrap(w) => {
            match wrap_commands {
                0 => c.arg_errors.push("wrap needs COMMAND".into()),
                1 => {}
                _ => {
                    // `wrap npx -y tool`: running `npx` alone would show the wrong thing.
                    c.arg_errors
                        .push("wrap takes COMMAND as one argument: put it in quotes".into());
                    wrap.command = None;
                }
            }
            *w = wrap;
        }
        _ => {}
    }
    c
}

/// Every word the command line knows, for "did you mean".
const KNOWN_WORDS: &[&str] = &[
    "refresh",
    "hook",
    "doctor",
    "setup",
    "demo",
    "history",
    "help",
    "--help",
    "--version",
    "--json",
    "--format",
    "--color",
    "--offline",
    "--days",
    "--wait",
    "--check-endpoint",
    "--hooks",
    "--dry-run",
    "--force",
    "--uninstall",
    "wrap",
    "--inline",
];

/// `unknown argument histroy; did you mean history?` (the hint only for a near miss).
fn unknown_argument(arg: &str) -> String {
    let shown = crate::text::clean(arg, 40);
    match did_you_mean(arg) {
        Some(known) => format!("unknown argument {shown}; did you mean {known}?"),
        None => format!("unknown argument {shown}"),
    }
}

/// The known word closest to `arg`, when it is a typo away: at most one edit in words of up to
/// four letters, two beyond (`histroy` → `history`, `--jsn` → `--json`, not `--x` → `--json`).
fn did_you_mean(arg: &str) -> Option<&'static str> {
    let arg = arg.to_ascii_lowercase();
    // Typed without dashes, or with one too few: `offline` and `-json` still find theirs.
    let bare = arg.trim_start_matches('-');
    KNOWN_WORDS
        .iter()
        .map(|&w| {
            let d = edit_distance(&arg, w).min(edit_distance(bare, w.trim_start_matches('-')));
            (d, w)
        })
        .filter(|&(d, w)| {
            d <= if w.trim_start_matches('-').len() <= 4 {
                1
            } else {
                2
            }
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, w)| w)
}

/// Levenshtein distance with adjacent transpositions counted as one edit (`histroy`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // An argument far longer than any known word cannot be a typo of one.
    if a.len() > 64 {
        return usize::MAX;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Whether a bad command line is an error (the caller prints [`usage_error`] and exits 2)
/// rather than a remark in the line. A person at a terminal gets the error; a status line or a
/// prompt (stdout piped) keeps its one line and exit 0, with the problem in parentheses, as a
/// non-zero exit would hide Claude Code's status line. `doctor` and `demo` are only ever run
/// by a person. (`setup` and `history` say their own usage, piped or not.)
pub fn bad_arguments_are_fatal(config: &Config, stdout_is_terminal: bool) -> bool {
    !config.arg_errors.is_empty()
        && match config.command {
            Command::Setup(_) | Command::History { .. } => false,
            Command::Doctor { .. } | Command::Demo => true,
            _ => stdout_is_terminal,
        }
}

/// The message for [`bad_arguments_are_fatal`]: each problem, then where help is.
pub fn usage_error(config: &Config) -> String {
    let mut out: String = config
        .arg_errors
        .iter()
        .map(|e| format!("ccmeter: {e}\n"))
        .collect();
    out.push_str("Run `ccmeter --help` for the commands and options.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse_args(
            &args,
            Env {
                home: Some("/h".into()),
                ..Env::default()
            },
        )
    }

    #[test]
    fn commands_and_flags() {
        assert_eq!(parse(&[]).command, Command::Line);
        assert_eq!(
            parse(&["refresh", "--wait"]).command,
            Command::Refresh { wait: true }
        );
        assert_eq!(
            parse(&["doctor", "--check-endpoint"]).command,
            Command::Doctor {
                check_endpoint: true
            }
        );
        let c = parse(&["setup", "--hooks", "--dry-run"]);
        assert_eq!(
            c.command,
            Command::Setup(SetupArgs {
                hooks: true,
                dry_run: true,
                ..SetupArgs::default()
            })
        );
        let c = parse(&["--format={5h}", "--color", "tmux", "--offline"]);
        assert_eq!(c.output, Output::Format("{5h}".into()));
        assert_eq!(c.color, ColorChoice::Tmux);
        assert!(c.offline);
        assert!(c.arg_errors.is_empty());
    }

    #[test]
    fn bad_arguments_are_collected_not_fatal() {
        let c = parse(&["--colour", "pink", "--bogus", "--format"]);
        assert_eq!(c.command, Command::Line);
        assert_eq!(
            c.arg_errors,
            [
                "unknown --color pink",
                "unknown argument --bogus",
                "--format needs a value"
            ]
        );
    }

    #[test]
    fn near_misses_get_a_suggestion() {
        let errors = |args: &[&str]| parse(args).arg_errors;
        assert_eq!(
            errors(&["histroy"]),
            ["unknown argument histroy; did you mean history?"]
        );
        assert_eq!(
            errors(&["--jsn"]),
            ["unknown argument --jsn; did you mean --json?"]
        );
        assert_eq!(
            errors(&["offline"]),
            ["unknown argument offline; did you mean --offline?"]
        );
        assert_eq!(
            errors(&["doctor", "--check-endpiont"]),
            ["unknown argument --check-endpiont; did you mean --check-endpoint?"]
        );
        assert_eq!(errors(&["--x"]), ["unknown argument --x"]);
        assert_eq!(errors(&["status"]), ["unknown argument status"]);
        // What is quoted back is cleaned and capped like any outside string.
        assert_eq!(
            errors(&["\u{1b}[2Jhistory\u{7}x"]),
            ["unknown argument [2Jhistoryx"]
        );
        assert_eq!(errors(&[&"y".repeat(10_000)])[0].chars().count(), 57);
    }

    #[test]
    fn bad_arguments_are_fatal_for_a_person_only() {
        let c = parse(&["histroy"]);
        assert!(bad_arguments_are_fatal(&c, true));
        assert!(!bad_arguments_are_fatal(&c, false));
        assert_eq!(
            usage_error(&c),
            "ccmeter: unknown argument histroy; did you mean history?\n\
             Run `ccmeter --help` for the commands and options.\n"
        );
        assert!(bad_arguments_are_fatal(&parse(&["doctor", "--x"]), false));
        assert!(bad_arguments_are_fatal(&parse(&["demo", "--x"]), false));
        // setup and history print their own usage.
        assert!(!bad_arguments_are_fatal(&parse(&["setup", "--x"]), true));
        assert!(!bad_arguments_are_fatal(&parse(&["history", "--x"]), true));
        assert!(!bad_arguments_are_fatal(&parse(&["--json"]), true));
    }

    #[test]
    fn wrap_takes_its_command_as_one_argument() {
        let wrap = |args: &[&str]| {
            let c = parse(args);
            match c.command {
                Command::Wrap(w) => (w, c.arg_errors),
                other => panic!("{other:?}"),
            }
        };
        let (w, errors) = wrap(&[
            "wrap",
            "--inline",
            "npx -y ccstatusline@latest",
            "--color",
            "tmux",
        ]);
        assert_eq!(
            w,
            WrapArgs {
                command: Some("npx -y ccstatusline@latest".into()),
                inline: true,
                timeout_ms: WRAP_TIMEOUT_MS,
            }
        );
        assert!(errors.is_empty(), "{errors:?}");
        // Subcommand names and `=` are just text once the command is being read.
        let (w, _) = wrap(&["--offline", "wrap", "--", "hook"]);
        assert_eq!(w.command.as_deref(), Some("hook"));
        let (w, _) = wrap(&["wrap", "FOO=1 tool"]);
        assert_eq!(w.command.as_deref(), Some("FOO=1 tool"));
        let (w, errors) = wrap(&["wrap", "npx", "-y", "ccstatusline@latest"]);
        assert_eq!(w.command, None);
        assert_eq!(
            errors,
            [
                "unknown argument -y",
                "wrap takes COMMAND as one argument: put it in quotes"
            ]
        );
        let (w, errors) = wrap(&["wrap"]);
        assert_eq!(
            (w.command, errors),
            (None, vec!["wrap needs COMMAND".to_string()])
        );
    }

    #[test]
    fn user_agent_override_must_be_a_header_value() {
        assert_eq!(header_value(" curl/8 "), Some("curl/8".into()));
        assert_eq!(header_value(""), None);
        assert_eq!(header_value("a\r\nX-Evil: 1"), None);
        assert_eq!(header_value("caf\u{e9}"), None);
    }

    #[test]
    fn warn_thresholds() {
        assert_eq!(parse_warn_at(None), [80.0, 95.0]);
        assert_eq!(parse_warn_at(Some("90, 50%")), [50.0, 90.0]);
        assert_eq!(parse_warn_at(Some("x")), [80.0, 95.0]);
        assert_eq!(parse_warn_at(Some("150")), [80.0, 95.0]);
    }
}
