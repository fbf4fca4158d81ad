//! Line mode, the hot path: stdin → store → decision → one line → exit 0.
//!
//! Everything here must stay cheap: no network, no credentials, no transcript scan. The only
//! process it may start is the detached refresh worker, and it never waits for it.

use std::io::Write;
use std::path::Path;

use crate::cli::{ColorChoice, Config, Output};
use crate::git;
use crate::history::{self, Tail};
use crate::input::{self, Input};
use crate::projection;
use crate::refresh;
use crate::render::{self, Fields, Style};
use crate::report::{self, Report};
use crate::store::Entry;
use crate::usage::{self, Snapshot};

/// News that only renews a stamp is written at most this often: payloads without a session
/// (which all count as news) repeating the same numbers write once a minute, yet a prompt never
/// calls live numbers old. Re-sends never write.
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
    let text = output(config, &input, &report);
    // A closed stdout (the reader went away) is not worth a panic or a non-zero exit.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    0
}

/// `report` as the command line asked for it: the line, `--json` or a `--format` template.
pub fn output(config: &Config, input: &Input, report: &Report) -> String {
    match &config.output {
        Output::Line => render::line(report, style(config, input)),
        Output::Json => render::json(report),
        Output::Format(t) => {
            let session = &input.session;
            // Two small reads under the working directory, only for a template that shows it.
            let branch = session
                .current_dir
                .as_deref()
                .filter(|_| t.contains("{branch}"))
                .and_then(|d| git::branch(Path::new(d)));
            let fields = Fields {
                model_name: session.model_name.as_deref(),
                dir: session.dir_name(),
                branch: branch.as_deref(),
                context_percent: session.context_percent,
                cost_usd: session.cost_usd,
            };
            render::template_with(report, style(config, input), t, &fields)
        }
    }
}

/// What is known now, recording stdin's numbers when they are news and kicking off a background
/// refresh when the store is due. Shared by the line and `hook`.
pub fn current(config: &Config, input: &Input, now: i64) -> Report {
    let entry = config.store.read(now).ok();
    record(config, entry.as_ref(), input, now);
    let reading = stdin_reading(input, entry.as_ref(), now);
    let stored = entry.as_ref().and_then(|e| e.snapshot.as_ref());
    let merged = reading
        .as_ref()
        .map(|r| usage::merge(stored, &r.snapshot, now));
    // The merged result is as fresh as its newest number: a re-send renews nothing, so the
    // refresh runs as if no stdin came.
    refresh::spawn_if_due(config, entry.as_ref(), merged.as_ref(), now);
    decide(
        config,
        reading.as_ref().map(|r| &r.snapshot),
        entry.as_ref(),
        now,
    )
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

/// Stdin's `rate_limits`, dated by when they were really read.
#[derive(Debug, Clone, PartialEq)]
struct StdinReading {
    /// Taken `now` when news; a re-send is dated when its session last made a request.
    snapshot: Snapshot,
    news: bool,
    /// `session_id` and `cost.total_api_duration_ms`, when the payload had both.
    session: Option<(String, f64)>,
}

/// Tells news from a re-send (docs/DESIGN.md, merging rule 6): an idle session's status line is re-run with
/// the `rate_limits` it last saw, stamped "now" but possibly hours old. A reading is news when
/// its session made a request since it last sent one (a `session_id` not seen before, or an
/// API time that changed); without `session_id` or `cost` it counts as news.
fn stdin_reading(input: &Input, entry: Option<&Entry>, now: i64) -> Option<StdinReading> {
    let mut snapshot = input.rate_limits.clone()?;
    let session = input
        .session_id
        .clone()
        .zip(input.api_duration_ms)
        .filter(|(id, _)| !id.is_empty());
    let resent_at = session
        .as_ref()
        .and_then(|(id, ms)| entry?.resent_at(id, *ms));
    if let Some(at) = resent_at {
        snapshot.taken_at = at.min(now);
    }
    Some(StdinReading {
        snapshot,
        news: resent_at.is_none(),
        session,
    })
}

/// Whether the merged result tells the store something: a window it lacks or holds other
/// numbers for, or a stamp renewed after [`RESTAMP_AFTER_S`] or more.
fn needs_write(stored: Option<&Snapshot>, merged: &Snapshot, now: i64) -> bool {
    let Some(stored) = stored else { return true };
    let pairs = [
        (stored.five_hour.as_ref(), merged.five_hour.as_ref()),
        (stored.seven_day.as_ref(), merged.seven_day.as_ref()),
    ];
    pairs.into_iter().any(|(old, new)| match (old, new) {
        (None, None) => false,
        (Some(o), Some(n)) if o.same_numbers(n) => {
            let (was, is) = (stored.stamp_of(o), merged.stamp_of(n));
            was != is && (now.saturating_sub(was.taken_at) >= RESTAMP_AFTER_S || was.taken_at > now)
        }
        _ => true,
    })
}

/// Folds stdin into `entry`: the merged numbers, the session's request, Claude Code's version
/// (the refresh worker puts it in its User-Agent). Returns whether the entry changed and, for
/// news, the history point's reading (the merged numbers of the windows stdin sent, so a
/// period's history never goes down). A re-send changes nothing.
fn fold(entry: &mut Entry, input: &Input, now: i64) -> (bool, Option<Snapshot>) {
    let mut changed = false;
    if let Some(v) = input.claude_code_version.as_deref()
        && entry.claude_code_version.as_deref() != Some(v)
    {
        entry.claude_code_version = Some(v.to_string());
        changed = true;
    }
    let Some(reading) = stdin_reading(input, Some(entry), now) else {
        return (changed, None);
    };
    let merged = usage::merge(entry.snapshot.as_ref(), &reading.snapshot, now);
    let session_new = match (&reading.session, reading.news) {
        (Some((id, ms)), true) => entry.remember_session(id, *ms, now),
        _ => false,
    };
    if session_new || needs_write(entry.snapshot.as_ref(), &merged, now) {
        changed = true;
        entry.snapshot = Some(merged.clone());
    }
    (
        changed,
        reading.news.then(|| merged.as_of(&reading.snapshot)),
    )
}

/// Stores stdin's news, so prompts and hooks (which get no `rate_limits`) show it too: one write
/// at most, and only when something changed; a re-send writes nothing, so idle sessions cost
/// nothing. Failure to write (read-only cache dir, full disk) only costs that sharing, never the
/// line. The history point, if due, is appended in the same locked update: its mark lives in
/// the entry.
fn record(config: &Config, entry: Option<&Entry>, input: &Input, now: i64) {
    if input.rate_limits.is_none() && input.claude_code_version.is_none() {
        return;
    }
    let mut probe = entry.cloned().unwrap_or_default();
    let (changed, point) = fold(&mut probe, input, now);
    let history_due = |e: &Entry, p: &Option<Snapshot>| {
        p.as_ref()
            .is_some_and(|p| history::due_for(e.history.as_ref(), p))
    };
    if !changed && !history_due(&probe, &point) {
        return;
    }
    let config_dir = config.config_dir.path.to_string_lossy().into_owned();
    let _ = config.store.update(now, |e| {
        // Again under the lock: another status line may have recorded the same news.
        let (changed, point) = fold(e, input, now);
        let appended = point.is_some_and(|p| {
            history::record(&config.store.sidecar(history::FILE), &mut e.history, &p)
                .unwrap_or(false)
        });
        if changed {
            e.config_dir = config_dir;
        }
        changed || appended
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
