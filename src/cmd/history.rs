//! `ccmeter history [--days N] [--json]`: the recorded readings as one bar chart per window, the
//! way btop draws its graphs — block characters, so it reads in any terminal and any font.
//!
//! Each column is a slice of time holding the highest reading in it (a peak is what a limit
//! cares about); between readings the last number holds until its window resets, since usage
//! does not fall by itself. `┄` marks the 80 % row, `┊` and `↻` a reset, and colour follows the line's
//! rules (green, yellow, red; none when the line would print none). Times are local when the
//! C library can say the offset, else UTC, and the legend says which.

use std::fmt::Write as _;

use crate::cli::{Config, Output};
use crate::history::{self, Point, Series};
use crate::input::Input;
use crate::render::{self, Style};
use crate::text;
use crate::usage::{format_rfc3339, plausible_reset};

/// Rows of the plot: one per 10 %.
const ROWS: usize = 10;
/// The widest chart drawn, whatever `COLUMNS` says (a chart this wide is already unreadable; an
/// absurd `COLUMNS` must not cost gigabytes).
pub const MAX_WIDTH: usize = 1000;
/// The narrowest: the plot keeps 20 columns and the gutter.
const MIN_WIDTH: usize = 26;
/// The last unix second of year 9999, the last a chart can name.
const MAX_TIME: i64 = 253_402_300_799;
/// A window name from the file, as printed: at most this many characters (docs/DESIGN.md's model names
/// are at most 12).
const NAME_MAX: usize = 12;
/// How much of the file `history` and `doctor` read (its end): four times the size past which
/// appends stop, so only a file that is not ours is cut.
const READ_CAP: u64 = 64 << 20;
/// `100%` and the axis.
const GUTTER: usize = 5;
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn run(config: &Config, days: Option<u32>) -> i32 {
    // A person typed this: a bad `--days` is said, not silently replaced by the default.
    if !config.arg_errors.is_empty() {
        for e in &config.arg_errors {
            eprintln!("ccmeter history: {e}");
        }
        eprintln!("usage: ccmeter history [--days N] [--json]   (N: 1-8)");
        return 2;
    }
    // A clock pinned far outside the years a chart can name (CCMETER_NOW) is clamped.
    let now = crate::now().clamp(0, MAX_TIME);
    let path = config.store.sidecar(history::FILE);
    if config.output == Output::Json {
        let since = now - i64::from(days.unwrap_or(8)) * 86_400;
        let mut points = Vec::new();
        let read = history::for_each_line_of(&path, READ_CAP, |line| {
            if let Some(p) = line.and_then(history::parse_line)
                && p.taken_at >= since
            {
                points.push(point_json(&p));
            }
        });
        if let Err(e) = read {
            println!("ccmeter: cannot read the history {}: {e}", path.display());
            return 1;
        }
        println!("{}", serde_json::Value::Array(points));
        return 0;
    }
    // Eight days of a point a minute are ~11,500 lines: read flat, not as owned points.
    let series = match Series::read(&path, READ_CAP) {
        Ok(series) => series,
        Err(e) => {
            println!("ccmeter: cannot read the history {}: {e}", path.display());
            return 1;
        }
    };
    let style = super::line::style(config, &Input::default());
    let chart = Chart {
        width: terminal_width(),
        offset_s: local_offset(now),
        style,
        days,
    };
    print!("{}", chart.render(&series, now));
    if series.times.is_empty() {
        println!("  (history file: {})", path.display());
    }
    0
}

/// One point for `--json`: times in RFC 3339 and the window fields named as `ccmeter --json`
/// names them; names cleaned like everything printed.
fn point_json(p: &Point) -> serde_json::Value {
    let time =
        |t: i64| format_rfc3339(t).map_or(serde_json::Value::Null, serde_json::Value::String);
    let windows: serde_json::Map<String, serde_json::Value> = p
        .windows
        .iter()
        .map(|(name, r)| {
            let reset = plausible_reset(r.r, p.taken_at);
            (
                text::clean(name, NAME_MAX),
                serde_json::json!({
                    "used_percentage": r.p,
                    "resets_at": reset.map_or(serde_json::Value::Null, time),
                }),
            )
        })
        .collect();
    serde_json::json!({
        "taken_at": time(p.taken_at),
        "source": p.source.as_str(),
        "windows": windows,
    })
}

/// For `doctor`: the file, its point count and the time it spans.
pub fn describe_file(config: &Config, now: i64) -> String {
    let path = config.store.sidecar(history::FILE);
    let series = match Series::read(&path, READ_CAP) {
        Ok(s) => s,
        Err(e) => return format!("{} (unreadable: {e})", path.display()),
    };
    let (times, bad) = (&series.times, series.bad);
    let first = times.iter().copied().min();
    let last = times.iter().copied().max();
    let span = match (first, last) {
        (Some(a), Some(b)) if a == b => {
            format!(", {} ago", crate::fmt::fmt_age(now.saturating_sub(a)))
        }
        (Some(a), Some(b)) => format!(
            ", from {} ago to {} ago ({} span)",
            crate::fmt::fmt_age(now.saturating_sub(a)),
            crate::fmt::fmt_age(now.saturating_sub(b)),
            crate::fmt::fmt_age(b - a)
        ),
        _ => String::new(),
    };
    if times.is_empty() && bad == 0 {
        return format!("{} (no points yet)", path.display());
    }
    let bad = match bad {
        0 => String::new(),
        1 => ", 1 unreadable line (the worker rewrites it away)".to_string(),
        n => format!(", {n} unreadable lines (the worker rewrites them away)"),
    };
    let points = match times.len() {
        1 => "1 point".to_string(),
        n => format!("{n} points"),
    };
    format!("{} ({points}{span}{bad})", path.display())
}

/// `COLUMNS`, else the terminal's width, else 80; at most [`MAX_WIDTH`] (a `COLUMNS` of 2^32
/// or 2^64-1 is somebody's mistake, not a terminal).
fn terminal_width() -> usize {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<u128>().ok())
        .filter(|&c| c > 0)
    {
        return c.min(MAX_WIDTH as u128) as usize;
    }
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ fills a winsize we own; a non-terminal stdout just fails.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0
            && ws.ws_col > 0
        {
            return usize::from(ws.ws_col).min(MAX_WIDTH);
        }
    }
    80
}

/// The local UTC offset in seconds at `now`, from the C library (which honours `TZ`); `None`
/// where it cannot say, and the chart then uses UTC.
fn local_offset(now: i64) -> Option<i64> {
    #[cfg(unix)]
    {
        let t = now as _;
        // SAFETY: localtime_r writes only into the tm we own.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
            return None;
        }
        Some(tm.tm_gmtoff as i64)
    }
    #[cfg(not(unix))]
    {
        let _ = now;
        None
    }
}

/// How to draw: pure, so tests pin the width, the clock and the zone.
pub struct Chart {
    pub width: usize,
    /// Local UTC offset in seconds; `None` draws UTC.
    pub offset_s: Option<i64>,
    pub style: Style,
    /// Span of every chart; `None`: one day for the 5-hour window, eight for weekly ones.
    pub days: Option<u32>,
}

/// Joins `parts` with ` · `, going on to a new line where the next part would pass `width` (a
/// title or legend must not wrap mid-word in a narrow terminal). Colour escapes take no room.
fn fit_parts(parts: impl IntoIterator<Item = String>, width: usize) -> String {
    fn visible(s: &str) -> usize {
        let mut n = 0;
        let mut in_escape = false;
        for c in s.chars() {
            match (in_escape, c) {
                (false, '\x1b') => in_escape = true,
                (true, 'm') => in_escape = false,
                (true, _) => {}
                (false, _) => n += 1,
            }
        }
        n
    }
    let mut out = String::new();
    let mut line = 0;
    for part in parts {
        let len = visible(&part);
        if line == 0 {
            line = len;
        } else if line + 3 + len <= width {
            out.push_str(" · ");
            line += 3 + len;
        } else {
            out.push('\n');
            line = len;
        }
        out.push_str(&part);
    }
    out
}

/// The window's long name for a chart title; a name from the file is cleaned and capped.
fn title(name: &str) -> String {
    match name {
        "5h" => "5h: 5-hour window".into(),
        "7d" => "7d: 7-day window".into(),
        other => {
            let other = text::clean(other, NAME_MAX);
            format!("{other}: 7-day {other} window")
        }
    }
}

impl Chart {
    /// The width drawn to: the terminal's, within bounds.
    fn width(&self) -> usize {
        self.width.clamp(MIN_WIDTH, MAX_WIDTH)
    }

    pub fn render(&self, series: &Series, now: i64) -> String {
        let mut out = String::new();
        if series.times.is_empty() {
            out.push_str(
                "No history yet.\n\
                 ccmeter records a point whenever Claude Code's status line\n\
                 or the usage endpoint reports new numbers (and every 5\n\
                 minutes while they hold). Use ccmeter as your status line\n\
                 for a while, then look again.\n",
            );
            return out;
        }
        let order = TimeOrder::of(&series.times);
        // 5h, 7d, then the per-model windows by name.
        let mut windows: Vec<&(String, Vec<(usize, history::Reading)>)> =
            series.windows.iter().collect();
        windows.sort_by_key(|(n, _)| (n != "5h", n != "7d", n.as_str()));
        let mut drawn = 0;
        for (name, readings) in windows {
            let days = self
                .days
                .map_or(if name == "5h" { 1 } else { 8 }, i64::from);
            let readings = order.readings(&series.times, readings, now - days * 86_400, now);
            if let Some(chart) = self.one(name, &readings, now, days) {
                if drawn > 0 {
                    out.push('\n');
                }
                out.push_str(&chart);
                drawn += 1;
            }
        }
        if drawn == 0 {
            out.push_str("No readings in the chosen span yet.\n");
            return out;
        }
        let zone = match self.offset_s {
            Some(off) => format!("local time (UTC{})", fmt_offset(off)),
            None => "UTC".into(),
        };
        let legend = [
            format!("times in {zone}"),
            "┄ 80%".into(),
            "┊↻ reset".into(),
        ];
        let _ = writeln!(out, "\n{}", fit_parts(legend, self.width()));
        match series.windows_left_out {
            0 => {}
            1 => {
                out.push_str("1 more window not drawn (`ccmeter history --json` has every point)\n")
            }
            n => {
                let _ = writeln!(
                    out,
                    "{n} more windows not drawn (`ccmeter history --json` has every point)"
                );
            }
        }
        out
    }

    /// One window's chart from its readings in the span (see [`TimeOrder::readings`]).
    fn one(
        &self,
        name: &str,
        readings: &[(i64, history::Reading)],
        now: i64,
        days: i64,
    ) -> Option<String> {
        let span = days * 86_400;
        let start = now - span;
        let cols = self.width() - GUTTER - 1;
        if !readings.iter().any(|(t, _)| *t >= start) {
            return None;
        }
        let col_of = |t: i64| -> usize {
            (((t - start) as i128 * cols as i128) / span as i128).clamp(0, cols as i128 - 1)
                as usize
        };
        // Peak per column, then carried forward until the reading's reset.
        let mut value: Vec<Option<f64>> = vec![None; cols];
        let mut reset_col = vec![false; cols];
        let mut held: Option<history::Reading> = None;
        let mut next = 0;
        for (c, slot) in value.iter_mut().enumerate() {
            let col_end = start + ((c as i128 + 1) * span as i128 / cols as i128) as i64;
            let mut peak: Option<f64> = None;
            while next < readings.len() && readings[next].0 < col_end {
                let (t, r) = readings[next];
                if t >= start {
                    peak = Some(peak.map_or(r.p, |p: f64| p.max(r.p)));
                }
                held = Some(r);
                next += 1;
            }
            let col_start = col_end - span / cols as i64;
            let holding = held
                .filter(|r| r.r.is_none_or(|reset| reset > col_start))
                .map(|r| r.p);
            *slot = peak.or(holding).map(|p| p.clamp(0.0, 100.0));
        }
        let mut resets: Vec<i64> = readings.iter().filter_map(|(_, r)| r.r).collect();
        resets.sort_unstable();
        resets.dedup_by(|a, b| history::same_period(Some(*a), Some(*b)));
        for r in resets.into_iter().filter(|&r| r > start && r <= now) {
            reset_col[col_of(r)] = true;
        }

        let mut out = String::new();
        let (latest_t, latest) = *readings.last()?;
        let resets = latest
            .r
            .filter(|&r| r > now)
            .map(|r| format!("↻{}", crate::fmt::fmt_until(r - now)));
        let latest_text = render::paint_percent(
            self.style,
            latest.p,
            &format!("{}%", crate::fmt::round_percent(latest.p)),
        );
        let ago = match now - latest_t {
            a if a >= 60 => format!(" {} ago", crate::fmt::fmt_age(a)),
            _ => String::new(),
        };
        let span_text = if days == 1 {
            "last 24h".to_string()
        } else {
            format!("last {days} days")
        };
        let parts = [title(name), span_text, format!("{latest_text}{ago}")]
            .into_iter()
            .chain(resets);
        let _ = writeln!(out, "{}", fit_parts(parts, self.width()));
        for row in 0..ROWS {
            // Row 0 is the top. Each row holds the values from its label up: `80%` is the row
            // of 80 to 90 %, so a value is drawn on the row whose range holds it (70.4 % tops
            // out on the row under `80%`, 80 % reaches into it).
            let floor = (ROWS - 1 - row) as f64 * 10.0;
            let label = match row {
                0 => " 90%",
                1 => " 80%",
                4 => " 50%",
                _ => "    ",
            };
            out.push_str(label);
            out.push('┤');
            for c in 0..cols {
                let cell = value[c].and_then(|v| cell(v, floor));
                match (cell, value[c]) {
                    (Some(ch), Some(v)) => {
                        let mut buf = [0u8; 4];
                        out.push_str(&render::paint_percent(
                            self.style,
                            v,
                            ch.encode_utf8(&mut buf),
                        ));
                    }
                    _ if reset_col[c] => out.push('┊'),
                    _ if row == 1 => out.push('┄'),
                    _ => out.push(' '),
                }
            }
            out.push('\n');
        }
        out.push_str(&self.axis(start, span, cols, &reset_col));
        Some(out)
    }

    /// The time axis: `└──┬───` with a label under each tick, ticks on local round times, and
    /// `↻` where the window reset.
    fn axis(&self, start: i64, span: i64, cols: usize, resets: &[bool]) -> String {
        const STEPS: [i64; 11] = [
            900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 345_600, 691_200,
        ];
        const LABEL: usize = 6;
        let off = self.offset_s.unwrap_or(0);
        let per_col = span as f64 / cols as f64;
        let step = STEPS
            .into_iter()
            .find(|&s| s as f64 / per_col >= (LABEL + 2) as f64)
            .unwrap_or(691_200);
        let mut line: Vec<char> = vec!['─'; cols];
        let mut labels: Vec<char> = vec![' '; cols + GUTTER + LABEL];
        let mut t = (start + off).div_euclid(step) * step - off;
        if t < start {
            t += step;
        }
        // Where the last label placed starts, and where the next may start.
        let mut previous: Option<usize> = None;
        let mut free_from = 0;
        while t < start + span {
            let c = (((t - start) as i128 * cols as i128) / span as i128) as usize;
            if c < cols {
                line[c] = '┬';
                let text = self.tick_label(t, step);
                let len = text.chars().count();
                // A label starts under its tick, or ends at the right edge when it would pass
                // it: the last tick keeps its label, at the cost of the one before if they
                // would touch (the most recent times matter most).
                let at = (c + GUTTER).min((cols + GUTTER).saturating_sub(len));
                if at < free_from
                    && let Some(p) = previous.filter(|_| at < c + GUTTER)
                {
                    labels[p..free_from - 1].fill(' ');
                    free_from = p;
                }
                if at >= free_from {
                    for (i, ch) in text.chars().enumerate() {
                        labels[at + i] = ch;
                    }
                    previous = Some(at);
                    free_from = at + len + 1;
                }
            }
            t += step;
        }
        // Resets hidden behind full bars still show on the axis.
        for (c, _) in resets.iter().enumerate().filter(|(_, r)| **r) {
            line[c] = '↻';
        }
        let mut out = String::from("  0%└");
        out.extend(line);
        out.push('\n');
        let labels: String = labels.into_iter().collect();
        out.push_str(labels.trim_end());
        out.push('\n');
        out
    }

    /// `14:00` within a day, `Tue 18` at midnight or for day steps.
    fn tick_label(&self, t: i64, step: i64) -> String {
        let local = t + self.offset_s.unwrap_or(0);
        let secs = local.rem_euclid(86_400);
        if step < 86_400 && secs != 0 {
            return format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60);
        }
        let days = local.div_euclid(86_400);
        // 1970-01-01 was a Thursday.
        let weekday =
            ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
        let day = time::OffsetDateTime::from_unix_timestamp(local)
            .map(|d| d.day())
            .unwrap_or(0);
        format!("{weekday} {day}")
    }
}

/// The block a value `v` (0 to 100) shows in the row holding `floor..floor + 10`: full in rows
/// below it, an eighth per 1.25 % in its own row (rounded down, at least one: a reading there
/// shows), nothing above. 100 fills the top row.
fn cell(v: f64, floor: f64) -> Option<char> {
    if v >= floor + 10.0 {
        Some('█')
    } else if v >= floor {
        let eighths = ((v - floor) / 10.0 * 8.0).floor() as usize;
        Some(BLOCKS[eighths.min(7)])
    } else {
        None
    }
}

/// The points in time order (the file's order among equal times), as ranks: the file is
/// appended in time order, so this is nearly always the identity and costs nothing.
struct TimeOrder {
    /// Every point's time, sorted.
    sorted: Vec<i64>,
    /// The rank of each point (by file index) in that order; `None`: the file was in order.
    rank: Option<Vec<usize>>,
}

impl TimeOrder {
    fn of(times: &[i64]) -> TimeOrder {
        if times.is_sorted() {
            return TimeOrder {
                sorted: times.to_vec(),
                rank: None,
            };
        }
        let mut order: Vec<usize> = (0..times.len()).collect();
        order.sort_by_key(|&i| times[i]);
        let mut rank = vec![0; times.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        TimeOrder {
            sorted: order.iter().map(|&i| times[i]).collect(),
            rank: Some(rank),
        }
    }

    /// One window's readings to draw from `start` to `now`, oldest first: those taken in the
    /// span, plus the one of the last point before it (which may still hold at the start)
    /// when that point has this window.
    fn readings(
        &self,
        times: &[i64],
        readings: &[(usize, history::Reading)],
        start: i64,
        now: i64,
    ) -> Vec<(i64, history::Reading)> {
        let first_in = self.sorted.partition_point(|&t| t < start);
        let from = first_in.saturating_sub(1);
        let mut ranked: Vec<(usize, i64, history::Reading)> = readings
            .iter()
            .map(|&(i, r)| (self.rank.as_ref().map_or(i, |rank| rank[i]), times[i], r))
            .collect();
        if self.rank.is_some() {
            ranked.sort_by_key(|&(rank, ..)| rank);
        }
        let skip = ranked.partition_point(|&(rank, ..)| rank < from);
        ranked[skip..]
            .iter()
            .filter(|&&(_, t, _)| t <= now)
            .map(|&(_, t, r)| (t, r))
            .collect()
    }
}

/// `+02:00`, `-05:30`, `+00:00`.
fn fmt_offset(off: i64) -> String {
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.abs();
    format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::usage::Source;

    /// Tue 2026-11-17 14:00 UTC.
    const NOW: i64 = 1_794_924_000;

    /// Eight days of a point a minute: the 5-hour window climbs through each period of use
    /// (working hours only) and resets; the weekly ones climb slowly; an opus window appears.
    pub fn sample_points(now: i64, every: i64) -> Vec<Point> {
        let mut out = Vec::new();
        let start = now - 8 * 86_400;
        let week_reset = now + 2 * 86_400 + 3600;
        let mut t = start;
        while t <= now {
            let hour = t.rem_euclid(86_400) / 3600;
            if (8..20).contains(&hour) {
                let period_start = t - (t - 8 * 3600).rem_euclid(5 * 3600);
                let five_reset = period_start + 5 * 3600;
                let into = (t - period_start) as f64 / (5.0 * 3600.0);
                let day = (t - start) / 86_400;
                let five = (into * (40.0 + 15.0 * day as f64)).min(104.0);
                let seven = ((t - (week_reset - 7 * 86_400)).max(0) as f64 / 86_400.0) * 11.0;
                let mut windows = BTreeMap::new();
                windows.insert(
                    "5h".to_string(),
                    history::Reading {
                        p: (five * 10.0).round() / 10.0,
                        r: Some(five_reset),
                    },
                );
                windows.insert(
                    "7d".to_string(),
                    history::Reading {
                        p: (seven * 10.0).round() / 10.0,
                        r: Some(
                            week_reset
                                - if t < week_reset - 7 * 86_400 {
                                    7 * 86_400
                                } else {
                                    0
                                },
                        ),
                    },
                );
                if day >= 5 {
                    windows.insert(
                        "opus".to_string(),
                        history::Reading {
                            p: 60.0 + (t - start - 5 * 86_400) as f64 / 86_400.0 * 12.0,
                            r: Some(week_reset),
                        },
                    );
                }
                out.push(Point {
                    taken_at: t,
                    source: if t % 600 == 0 {
                        Source::Oauth
                    } else {
                        Source::Stdin
                    },
                    windows,
                });
            }
            t += every;
        }
        out
    }

    fn chart(width: usize) -> Chart {
        Chart {
            width,
            offset_s: None,
            style: Style::Plain,
            days: None,
        }
    }

    #[test]
    fn chart_at_60_columns() {
        insta::assert_snapshot!(
            chart(60).render(&Series::of_points(&sample_points(NOW, 300)), NOW)
        );
    }

    #[test]
    fn chart_at_80_columns() {
        insta::assert_snapshot!(
            chart(80).render(&Series::of_points(&sample_points(NOW, 300)), NOW)
        );
    }

    #[test]
    fn chart_at_200_columns_two_days_local_time() {
        let c = Chart {
            width: 200,
            offset_s: Some(3600),
            style: Style::Plain,
            days: Some(2),
        };
        insta::assert_snapshot!(c.render(&Series::of_points(&sample_points(NOW, 300)), NOW));
    }

    #[test]
    fn colour_only_where_the_line_has_it() {
        let points = Series::of_points(&sample_points(NOW, 600));
        let plain = chart(80).render(&points, NOW);
        assert!(!plain.contains('\x1b'));
        let ansi = Chart {
            style: Style::Ansi,
            ..chart(80)
        }
        .render(&points, NOW);
        for sgr in ["\x1b[32m", "\x1b[33m", "\x1b[31m"] {
            assert!(ansi.contains(sgr), "{sgr:?}");
        }
    }

    #[test]
    fn no_history_says_so() {
        insta::assert_snapshot!(chart(80).render(&Series::default(), NOW));
    }

    #[test]
    fn offsets() {
        assert_eq!(
            [0, 7200, -19_800].map(fmt_offset),
            ["+00:00", "+02:00", "-05:30"]
        );
    }

    /// A window holding `p` % over the last hour.
    fn flat(p: f64) -> Series {
        let points: Vec<Point> = (0..60)
            .map(|i| {
                let mut windows = BTreeMap::new();
                for (name, r) in [("5h", NOW + 3600), ("7d", NOW + 86_400)] {
                    windows.insert(name.to_string(), history::Reading { p, r: Some(r) });
                }
                Point {
                    taken_at: NOW - 3600 + i * 60,
                    source: Source::Stdin,
                    windows,
                }
            })
            .collect();
        Series::of_points(&points)
    }

    /// The plot's rows, top first, without their labels.
    fn rows(text: &str) -> Vec<(String, String)> {
        text.lines()
            .filter(|l| l.contains('┤'))
            .map(|l| {
                let (label, plot) = l.split_once('┤').unwrap();
                (label.trim().to_string(), plot.to_string())
            })
            .collect()
    }

    #[test]
    fn a_value_is_drawn_on_the_row_whose_range_holds_it() {
        let blocks = |s: &str| s.chars().filter(|c| BLOCKS.contains(c)).count();
        // 70.4 %: not on the 80% row (the case), but at the top of the row under it.
        let text = chart(60).render(&flat(70.4), NOW);
        let r = rows(&text);
        let eighty = r.iter().position(|(l, _)| l == "80%").unwrap();
        assert_eq!(blocks(&r[eighty].1), 0, "{text}");
        assert!(r[eighty + 1].1.contains('▁'), "{text}");
        // 80 % reaches into the 80% row; 79.9 fills the row under it.
        let text = chart(60).render(&flat(80.0), NOW);
        assert!(rows(&text)[eighty].1.contains('▁'), "{text}");
        let text = chart(60).render(&flat(79.9), NOW);
        let r = rows(&text);
        assert_eq!(blocks(&r[eighty].1), 0, "{text}");
        assert!(r[eighty + 1].1.contains('█'), "{text}");
        // 100 fills the top row; 0 still shows a reading.
        let text = chart(60).render(&flat(100.0), NOW);
        assert!(rows(&text)[0].1.contains('█'), "{text}");
        let text = chart(60).render(&flat(0.0), NOW);
        assert!(rows(&text)[9].1.contains('▁'), "{text}");
    }

    #[test]
    fn the_legend_spells_80_percent_as_the_axis_does() {
        let text = chart(80).render(&flat(50.0), NOW);
        assert!(text.contains("┄ 80%"), "{text}");
        assert!(!text.contains("80 %"), "{text}");
        assert!(text.contains(" 80%┤"), "{text}");
    }

    #[test]
    fn every_tick_keeps_its_label_at_any_width() {
        // No reset in the span: every tick shows as `┬`.
        let series = flat(50.0);
        for width in 30..=200 {
            let text = chart(width).render(&series, NOW);
            let lines: Vec<&str> = text.lines().collect();
            for (i, axis) in lines.iter().enumerate().filter(|(_, l)| l.contains('└')) {
                let ticks = axis.chars().filter(|&c| c == '┬').count();
                // `14:00` or `Tue 18`.
                let under = lines[i + 1];
                let labels = under.matches(':').count()
                    + ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
                        .iter()
                        .map(|d| under.matches(d).count())
                        .sum::<usize>();
                // Every tick has its label, but the one before a last tick at the very edge
                // may give way to it; the last one always has its label.
                let last_tick = axis
                    .chars()
                    .collect::<Vec<_>>()
                    .iter()
                    .rposition(|&c| c == '┬');
                let ends = under.chars().count();
                assert!(
                    labels == ticks || (labels + 1 == ticks && last_tick.unwrap() + 6 >= ends),
                    "width {width}:\n{axis}\n{under}"
                );
                if let Some(last) = last_tick {
                    assert!(last < ends, "width {width}:\n{axis}\n{under}");
                }
                assert!(ends < width, "width {width}");
            }
        }
    }
}
