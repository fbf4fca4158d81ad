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
use crate::history::{self, Point, Series, Tail};
use crate::input::Input;
use crate::render::{self, Style};

/// Rows of the plot: one per 10 %.
const ROWS: usize = 10;
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
    let now = crate::now();
    let path = config.store.sidecar(history::FILE);
    let tail = match Tail::read(&path, history::MAX_READ) {
        Ok(tail) => tail,
        Err(e) => {
            println!("ccmeter: cannot read the history {}: {e}", path.display());
            return 1;
        }
    };
    if config.output == Output::Json {
        let since = now - i64::from(days.unwrap_or(8)) * 86_400;
        let points = tail.points().0;
        let kept: Vec<&Point> = points.iter().filter(|p| p.taken_at >= since).collect();
        println!(
            "{}",
            serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into())
        );
        return 0;
    }
    let style = super::line::style(config, &Input::default());
    let chart = Chart {
        width: terminal_width(),
        offset_s: local_offset(now),
        style,
        days,
    };
    // Eight days of a point a minute are ~11,500 lines: read flat, not as owned points.
    let series = Series::of_tail(&tail);
    print!("{}", chart.render(&series, now));
    if series.times.is_empty() {
        println!("  (history file: {})", path.display());
    }
    0
}

/// For `doctor`: the file, its point count and the time it spans.
pub fn describe_file(config: &Config, now: i64) -> String {
    let path = config.store.sidecar(history::FILE);
    let tail = match Tail::read(&path, history::MAX_READ) {
        Ok(t) => t,
        Err(e) => return format!("{} (unreadable: {e})", path.display()),
    };
    let series = Series::of_tail(&tail);
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

/// `COLUMNS`, else the terminal's width, else 80.
fn terminal_width() -> usize {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
    {
        return c;
    }
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ fills a winsize we own; a non-terminal stdout just fails.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0
            && ws.ws_col > 0
        {
            return usize::from(ws.ws_col);
        }
    }
    80
}

/// The local UTC offset in seconds at `now`, from the C library (which honours `TZ`); `None`
/// where it cannot say, and the chart then uses UTC.
fn local_offset(now: i64) -> Option<i64> {
    #[cfg(unix)]
    {
        let t = now as libc::time_t;
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

/// The window's long name for a chart title.
fn title(name: &str) -> String {
    match name {
        "5h" => "5h: 5-hour window".into(),
        "7d" => "7d: 7-day window".into(),
        other => format!("{other}: 7-day {other} window"),
    }
}

impl Chart {
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
            "┄ 80 %".into(),
            "┊↻ reset".into(),
        ];
        let _ = writeln!(out, "\n{}", fit_parts(legend, self.width));
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
        let cols = self.width.saturating_sub(GUTTER + 1).max(20);
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
        let _ = writeln!(out, "{}", fit_parts(parts, self.width));
        for row in 0..ROWS {
            // Row 0 is the top: 90-100 %.
            let floor = (ROWS - 1 - row) as f64 * 10.0;
            let label = match row {
                0 => "100%",
                2 => " 80%",
                5 => " 50%",
                _ => "    ",
            };
            out.push_str(label);
            out.push('┤');
            for c in 0..cols {
                let cell = match value[c] {
                    Some(v) if v >= floor + 10.0 => Some('█'),
                    Some(v) if v > floor => {
                        let eighths = ((v - floor) / 10.0 * 8.0).ceil() as usize;
                        Some(BLOCKS[eighths.clamp(1, 8) - 1])
                    }
                    // A reading of exactly 0 still shows that there was one.
                    Some(_) if row == ROWS - 1 => Some('▁'),
                    _ => None,
                };
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
                    _ if row == 2 => out.push('┄'),
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
        let mut free_from = 0;
        while t < start + span {
            let c = (((t - start) as i128 * cols as i128) / span as i128) as usize;
            if c < cols {
                line[c] = '┬';
                let text = self.tick_label(t, step);
                let at = c + GUTTER;
                if at >= free_from && at + text.chars().count() <= cols + GUTTER {
                    for (i, ch) in text.chars().enumerate() {
                        labels[at + i] = ch;
                    }
                    free_from = at + text.chars().count() + 1;
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
}
