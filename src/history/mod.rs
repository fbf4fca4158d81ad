//! The usage history: every authoritative reading worth keeping, one JSON line per point, in a
//! file next to the account's store entry (`<key>.history.jsonl`). The projection reads its recent
//! tail and `ccmeter history` draws it.
//!
//! A line is `{"taken_at":1795000000,"source":"stdin","windows":{"5h":{"p":61.4,"r":1795000000}}}`:
//! `taken_at` unix seconds, `source` `stdin|oauth`, `windows` keyed by the window's short name
//! (`5h`, `7d`, per-model ones by their name), each with `p` the used percentage as reported (may
//! exceed 100) and `r` its reset time in unix seconds (absent when unknown). A point holds only the
//! windows its reading had.
//!
//! The hot path only appends, with one `write` on an `O_APPEND` file, and decides whether to from
//! a small [`Mark`] kept in the store entry, never by reading the file. To project, it reads only
//! the few lines the projection can use, found by bisecting the file by time
//! ([`Tail::read_wanted`]), so a status line costs the same with eight days of history as with
//! none. `ccmeter history` and the worker read the file's tail (at most a cap), lines in the form
//! we write by hand and anything else with serde_json. Every read skips torn, corrupt and foreign
//! lines. Trimming to [`KEEP_S`] is the background worker's job, done by an atomic rewrite.
//!
//! This file holds the data model and the plain tail read; the rest is one concern per file:
//! `append` (when a point is due, the one write), `parse` (one line into a point), `search` (the
//! hot path's bisection), `series` (the flat form `ccmeter history` draws) and `trim`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::usage::{Snapshot, Source, Used, Window};

mod append;
mod parse;
mod search;
mod series;
#[cfg(test)]
mod testdata;
mod trim;

pub use append::{Mark, append, due, due_for, record};
pub use parse::parse_line;
use parse::quick_time;
pub use search::Want;
use search::sample_in;
pub use series::Series;
pub use trim::{Counts, Trimmed, trim, trim_lines};

/// The file's suffix next to the store entry (`store.sidecar(FILE)`).
pub const FILE: &str = "history.jsonl";
/// How much history is kept.
pub const KEEP_S: i64 = 8 * 86_400;
/// The worker rewrites the file only once the oldest point is this much past [`KEEP_S`], so a
/// file that gains a point a minute is rewritten about once a day, not on every refresh.
const TRIM_SLACK_S: i64 = 86_400;
/// The most any reader takes from the file (its tail): 8 days of a point a minute is ~1.3 MiB.
pub const MAX_READ: u64 = 8 << 20;
/// Identical numbers are recorded again after this long, so the chart knows the numbers held.
pub const RESTAMP_S: i64 = 300;
/// Reset times this close together name the same window period (stdin and the endpoint round
/// differently).
pub const SAME_PERIOD_S: i64 = 300;
/// Beyond this the file is not ours to grow: appends stop until the worker rewrites it.
const MAX_APPEND_LEN: u64 = 4 * MAX_READ;

/// One window in one point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Used percentage as reported (may exceed 100).
    pub p: f64,
    /// Reset time, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<i64>,
}

impl Reading {
    /// Same number and the same window period.
    fn same(&self, other: &Reading) -> bool {
        self.p == other.p && same_period(self.r, other.r)
    }
}

/// Whether two reset times name the same window period.
pub fn same_period(a: Option<i64>, b: Option<i64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.abs_diff(b) <= SAME_PERIOD_S as u64,
        (None, None) => true,
        _ => false,
    }
}

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub taken_at: i64,
    pub source: Source,
    pub windows: BTreeMap<String, Reading>,
}

/// The short name of each window of a snapshot, with the window.
pub fn named_windows(s: &Snapshot) -> impl Iterator<Item = (&str, &Window)> {
    [("5h", s.five_hour.as_ref()), ("7d", s.seven_day.as_ref())]
        .into_iter()
        .filter_map(|(n, w)| Some((n, w?)))
        .chain(s.scoped.iter().map(|sw| (sw.name.as_str(), &sw.window)))
}

impl Point {
    /// The point for an authoritative reading; `None` for estimates or a reading without a
    /// percentage.
    pub fn of(reading: &Snapshot) -> Option<Point> {
        if reading.source == Source::Estimate {
            return None;
        }
        let windows: BTreeMap<String, Reading> = named_windows(reading)
            .filter_map(|(name, w)| match w.used {
                Used::Percent(p) if p.is_finite() => {
                    Some((name.to_string(), Reading { p, r: w.resets_at }))
                }
                _ => None,
            })
            .collect();
        (!windows.is_empty()).then_some(Point {
            taken_at: reading.taken_at,
            source: reading.source,
            windows,
        })
    }
}

/// One window's reading at one time, as the projection sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub taken_at: i64,
    pub percent: f64,
    pub resets_at: Option<i64>,
}

impl Point {
    pub fn sample(&self, name: &str) -> Option<Sample> {
        let r = self.windows.get(name)?;
        Some(Sample {
            taken_at: self.taken_at,
            percent: r.p,
            resets_at: r.r,
        })
    }
}

/// Opens a file in the cache dir without following a symlink and without blocking on a FIFO;
/// anything but a regular file is refused. Returns the file and its length.
fn open_safely(path: &Path, opts: &mut std::fs::OpenOptions) -> io::Result<(File, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        opts.mode(0o600);
    }
    #[cfg(windows)]
    crate::files::windows_no_follow(opts);
    let f = opts.open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("history is not a regular file"));
    }
    Ok((f, meta.len()))
}

/// Calls `f` with each line of the file's last `cap` bytes (from a line start), streamed:
/// `None` for a line too long to be ours, which is never held. A missing file has no lines.
pub fn for_each_line_of(path: &Path, cap: u64, mut f: impl FnMut(Option<&[u8]>)) -> io::Result<()> {
    let (mut file, len) = match open_safely(path, File::options().read(true)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let start = len.saturating_sub(cap);
    // From the byte before the start: a newline there means the first line is whole.
    file.seek(SeekFrom::Start(start.saturating_sub(1)))?;
    let mut first = start > 0;
    parse::for_each_line(
        io::BufReader::new(file.take(len - start.saturating_sub(1))),
        |line, _, _| {
            if std::mem::take(&mut first) {
                return Ok(());
            }
            f(line);
            Ok(())
        },
    )
}

/// The last part of the history file, at most a cap, starting at a line boundary.
#[derive(Debug, Default)]
pub struct Tail {
    bytes: Vec<u8>,
    /// Whether older lines were left unread because of the cap.
    pub capped: bool,
}

impl Tail {
    /// Reads at most `cap` bytes from the end of the file. A missing file is an empty tail.
    pub fn read(path: &Path, cap: u64) -> io::Result<Tail> {
        let (mut f, file_len) = match open_safely(path, File::options().read(true)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Tail::default()),
            Err(e) => return Err(e),
        };
        let start = file_len.saturating_sub(cap);
        f.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::with_capacity((file_len - start) as usize);
        f.take(cap).read_to_end(&mut bytes)?;
        if start > 0 {
            // The first line is most likely cut: start after the first newline.
            let cut = bytes
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| i + 1);
            bytes.drain(..cut);
        }
        Ok(Tail {
            bytes,
            capped: start > 0,
        })
    }

    /// Reads backwards in growing steps until a line older than `since` is in hand (or `cap`
    /// is reached): the projection needs the last day at most, which is usually a few KiB.
    pub fn read_since(path: &Path, since: i64, cap: u64) -> io::Result<Tail> {
        let mut want = 16 * 1024;
        loop {
            let tail = Tail::read(path, want)?;
            let reaches_back = tail
                .lines()
                .next()
                .and_then(quick_time)
                .is_some_and(|t| t < since);
            if !tail.capped || reaches_back || want >= cap {
                return Ok(tail);
            }
            want = (want * 4).min(cap);
        }
    }

    /// Non-empty lines in file order (a last line without its newline included).
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        self.bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty())
    }

    /// Every readable point in file order, and how many lines were not.
    pub fn points(&self) -> (Vec<Point>, usize) {
        let mut bad = 0;
        let mut points = Vec::new();
        for line in self.lines() {
            match parse_line(line) {
                Some(p) => points.push(p),
                None => bad += 1,
            }
        }
        (points, bad)
    }

    /// One window's readings taken in `since..=until`, oldest first (file order), parsed
    /// lazily: a projection that finds what it needs in the first lines parses only those.
    pub fn samples<'a>(
        &'a self,
        name: &'a str,
        since: i64,
        until: i64,
    ) -> impl Iterator<Item = Sample> + 'a {
        self.lines()
            .filter_map(move |l| sample_in(l, name, since, until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testdata::*;
    use crate::usage::{ScopedWindow, Source, Window};

    #[test]
    fn line_format_is_stable() {
        let mut s = reading(Source::Stdin, NOW, 61.4, Some(23.0));
        s.scoped.push(ScopedWindow {
            name: "opus".into(),
            window: Window::percent(91.0, None),
            is_active: false,
        });
        let p = Point::of(&s).unwrap();
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"taken_at":1795000000,"source":"stdin","windows":{"5h":{"p":61.4,"r":1795003600},"7d":{"p":23.0,"r":1795086400},"opus":{"p":91.0}}}"#
        );
        let mut est = s.clone();
        est.source = Source::Estimate;
        assert_eq!(Point::of(&est), None);
    }

    #[cfg(unix)]
    #[test]
    fn never_through_a_symlink_or_into_a_fifo() {
        let (d, path) = file();
        let target = d.path().join("elsewhere");
        std::fs::write(&target, "").unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let p = Point::of(&reading(Source::Stdin, NOW, 1.0, None)).unwrap();
        assert!(append(&path, &p).is_err());
        assert!(Tail::read(&path, MAX_READ).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"");
        std::fs::remove_file(&path).unwrap();
        let fifo = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(append(&path, &p).is_err());
        assert!(Tail::read(&path, MAX_READ).is_err());
    }

    #[test]
    fn torn_corrupt_and_foreign_lines_are_skipped() {
        let (_d, path) = file();
        let good = |t: i64| {
            format!(r#"{{"taken_at":{t},"source":"oauth","windows":{{"5h":{{"p":5,"r":{NOW}}}}}}}"#)
        };
        let text = format!(
            "{}\n{{\"taken_at\":12,\"sou{}\nnot json\n{{\"foo\":1}}\n\n{}\n{{\"taken_at\":-5,\"source\":\"oauth\",\"windows\":{{}}}}\n{{\"taken_at\":9,\"source\":\"estimate\",\"windows\":{{}}}}\n{}",
            good(1),
            good(2),
            good(3),
            &good(4)[..20]
        );
        std::fs::write(&path, text).unwrap();
        let (points, bad) = Tail::read(&path, MAX_READ).unwrap().points();
        // The line glued onto a torn one is recovered; the torn last line is not.
        assert_eq!(
            points.iter().map(|p| p.taken_at).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(bad, 5);
    }

    #[test]
    fn reads_are_bounded_to_the_tail() {
        let (_d, path) = file();
        let mut text = Vec::new();
        for t in 0..1000 {
            let p = Point::of(&reading(Source::Oauth, NOW + t * 60, 1.0, None)).unwrap();
            serde_json::to_writer(&mut text, &p).unwrap();
            text.push(b'\n');
        }
        std::fs::write(&path, &text).unwrap();
        let tail = Tail::read(&path, 4096).unwrap();
        let (points, bad) = tail.points();
        assert!(
            tail.capped && bad == 0 && points.len() < 70,
            "{}",
            points.len()
        );
        assert_eq!(points.last().unwrap().taken_at, NOW + 999 * 60);
        // read_since grows until it holds a point older than asked for.
        let since = NOW + 500 * 60;
        let tail = Tail::read_since(&path, since, MAX_READ).unwrap();
        let first = tail.points().0[0].taken_at;
        assert!(first < since, "{first}");
        let samples: Vec<Sample> = tail.samples("5h", since, NOW + 502 * 60).collect();
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].taken_at, since);
        // A missing file is empty; random bytes never panic.
        let (d2, missing) = file();
        assert_eq!(Tail::read(&missing, MAX_READ).unwrap().points().0, []);
        drop(d2);
        let mut rng = crate::testutil::Rng(0x4157);
        for i in 0..2000 {
            let bytes = if i % 2 == 0 {
                let len = rng.below(400);
                rng.bytes(len)
            } else {
                rng.mutate(&text[..400])
            };
            for line in bytes.split(|&b| b == b'\n') {
                let _ = parse_line(line);
                let _ = quick_time(line);
            }
        }
    }
}
