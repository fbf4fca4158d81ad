//! Line mode, the hot path: stdin → store → decision → one line → exit 0.
//!
//! Everything here must stay cheap: no network, no credentials, no transcript scan. The only
//! process it may start is the detached refresh worker, and it never waits for it.

use std::io::Write;

use crate::cli::{ColorChoice, Config, Output};
use crate::history::{self, Tail};
use crate::input::{self, Input};
use crate::projection;
use crate::refresh;
use crate::render::{self, Style};
use crate::report::{self, Report};
use crate::store::Entry;
use crate::usage::{self, Snapshot};

/// Identical stdin numbers are re-stamped at most this often: forty status lines repeating the
/// same reading write once a minute, yet a prompt never calls live numbers old.
const RESTAMP_AFTER_S: i64 = 60;

/// The most of the history the hot path reads forward from where a search lands, and of its
/// tail when a search gives way to a plain read (a corrupt file): a day of a point a minute is
/// ~170 KiB.
const RECENT_HISTORY_CAP: u64 = 512 * 1024;

pub fn run(config: &Config) -> i32 {
    let now = crate::now();
    let input = input::read_stdin()
        .map(|b| input::parse(&b, now))
        .unwrap_or_default();
    let report = current(config, &input, now);
    let text = match &config.output {
        Output::Line => render::line(&report, style(config, &input)),
        Output::Json => render::json(&report),
        Output::Format(t) => render::template(&report, style(config, &input), t),
    };
    // A closed stdout (the reader went away) is not worth a panic or a non-zero exit.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    0
}

/// What is known now, recording live stdin numbers and kicking off a background refresh when
/// the store is due. Shared by the line and `hook`.
pub fn current(config: &Config, input: &Input, now: i64) -> Report {
    let entry = config.store.read(now).ok();
    let live = input.rate_limits.as_ref();
    record_live(
        config,
        entry.as_ref(),
        live,
        input.claude_code_version.as_deref(),
        now,
    );
    refresh::spawn_if_due(config, entry.as_ref(), live, now);
    decide(config, live, entry.as_ref(), now)
}

/// The decision alone, with no side effects (what `doctor` shows), plus any argument errors.
pub fn decide(config: &Config, live: Option<&Snapshot>, entry: Option<&Entry>, now: i64) -> Report {
    let mut report = report::decide(live, entry, now, config.stale_after);
    if let Some(snap) = &report.snapshot {
        // Only the lines the projection can use, found by bisection: the line costs the same
        // with a day of history as with eight.
        let path = config.store.sidecar(history::FILE);
        let wants = projection::wants(snap, now);
        let tail = Tail::read_wanted(&path, &wants, now, RECENT_HISTORY_CAP).unwrap_or_default();
        report.projections = projection::of_snapshot(snap, &tail, now);
    }
    if !config.arg_errors.is_empty() {
        report.note = Some(config.arg_errors.join(", "));
    }
    report
}

/// Whether a stdin reading tells the store something: a window it lacks or holds other numbers
/// for, or a stamp old enough to renew. Only the windows stdin carries are compared: the rest
/// of the stored reading is kept as it is by [`usage::merge`].
fn needs_write(stored: Option<&Snapshot>, live: &Snapshot, now: i64) -> bool {
    let Some(stored) = stored else { return true };
    let pairs = [
        (live.five_hour.as_ref(), stored.five_hour.as_ref()),
        (live.seven_day.as_ref(), stored.seven_day.as_ref()),
    ];
    pairs.into_iter().any(|(new, old)| match (new, old) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(n), Some(o)) => {
            let at = stored.stamp_of(o).taken_at;
            !n.same_numbers(o) || now.saturating_sub(at) >= RESTAMP_AFTER_S || at > now
        }
    })
}

/// Stores stdin's numbers, so prompts and hooks (which get no `rate_limits`) show them too, and
/// Claude Code's version, which the refresh worker puts in its User-Agent: one write at most, and
/// only when something changed. Failure to write (read-only cache dir, full disk) only costs that
/// sharing, never the line. The history point, if due, is appended in the same locked update:
/// its mark lives in the entry.
fn record_live(
    config: &Config,
    entry: Option<&Entry>,
    live: Option<&Snapshot>,
    version: Option<&str>,
    now: i64,
) {
    let numbers_due = |e: Option<&Entry>| {
        live.is_some_and(|l| needs_write(e.and_then(|e| e.snapshot.as_ref()), l, now))
    };
    let version_new = |e: Option<&Entry>| {
        version.is_some_and(|v| e.and_then(|e| e.claude_code_version.as_deref()) != Some(v))
    };
    let history_due = |e: Option<&Entry>| {
        live.is_some_and(|l| history::due_for(e.and_then(|e| e.history.as_ref()), l))
    };
    if !numbers_due(entry) && !version_new(entry) && !history_due(entry) {
        return;
    }
    let config_dir = config.config_dir.path.to_string_lossy().into_owned();
    let _ = config.store.update(now, |e| {
        // Re-checked under the lock: another status line may have written the same numbers.
        let appended = live.is_some_and(|l| {
            history::record(&config.store.sidecar(history::FILE), &mut e.history, l)
                .unwrap_or(false)
        });
        let (numbers, version_changed) = (numbers_due(Some(e)), version_new(Some(e)));
        if numbers && let Some(live) = live {
            e.snapshot = Some(usage::merge(e.snapshot.as_ref(), live));
        }
        if version_changed {
            e.claude_code_version = version.map(String::from);
        }
        if numbers || version_changed {
            e.config_dir = config_dir;
        }
        numbers || version_changed || appended
    });
}

/// `auto` colours for a terminal and for Claude Code's status line (which renders ANSI), but
/// not for starship or tmux `#()` calls, which would show raw escapes.
pub fn style(config: &Config, input: &Input) -> Style {
    use std::io::IsTerminal;
    match config.color {
        ColorChoice::Never => Style::Plain,
        ColorChoice::Always => Style::Ansi,
        ColorChoice::Tmux => Style::Tmux,
        ColorChoice::Zsh => Style::Zsh,
        ColorChoice::Bash => Style::Bash,
        ColorChoice::Auto if config.no_color_env => Style::Plain,
        ColorChoice::Auto if input.is_statusline || std::io::stdout().is_terminal() => Style::Ansi,
        ColorChoice::Auto => Style::Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{Source, Window};

    #[test]
    fn identical_numbers_are_restamped_only_after_a_minute() {
        let live = |t| Snapshot {
            five_hour: Some(Window::percent(42.0, Some(2_000_000_000))),
            seven_day: None,
            scoped: vec![],
            extra: None,
            source: Source::Stdin,
            taken_at: t,
        };
        let now = 1_795_000_000;
        assert!(needs_write(None, &live(now), now));
        assert!(!needs_write(Some(&live(now - 59)), &live(now), now));
        assert!(needs_write(Some(&live(now - 60)), &live(now), now));
        let mut changed = live(now - 1);
        changed.five_hour = Some(Window::percent(43.0, Some(2_000_000_000)));
        assert!(needs_write(Some(&changed), &live(now), now));
    }
}
