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

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::usage::{Snapshot, Source, Used, Window};

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

/// What the store entry remembers of the history, so that the hot path can decide whether to
/// append without reading the file: when the last point was written and the latest number of
/// each window recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub taken_at: i64,
    pub windows: BTreeMap<String, Reading>,
}

/// The append rule: a number changed since the last point, or the last point is
/// [`RESTAMP_S`] old (or dated in the future: the clock stepped back).
pub fn due(mark: Option<&Mark>, point: &Point) -> bool {
    let Some(mark) = mark else { return true };
    let age = point.taken_at - mark.taken_at;
    // Negative: the last point is dated in the future (the clock stepped back).
    !(0..RESTAMP_S).contains(&age)
        || point
            .windows
            .iter()
            .any(|(name, r)| mark.windows.get(name).is_none_or(|m| !m.same(r)))
}

/// Whether `reading` would be appended: [`due`] for its point, if it makes one.
pub fn due_for(mark: Option<&Mark>, reading: &Snapshot) -> bool {
    Point::of(reading).is_some_and(|p| due(mark, &p))
}

/// Appends `reading` to the history at `path` when [`due`], and updates `mark`. Meant to run
/// inside the store's update (under its lock), with `mark` the entry's own field, so that
/// concurrent status lines append a changed reading once.
pub fn record(path: &Path, mark: &mut Option<Mark>, reading: &Snapshot) -> io::Result<bool> {
    let Some(point) = Point::of(reading) else {
        return Ok(false);
    };
    if !due(mark.as_ref(), &point) {
        return Ok(false);
    }
    append(path, &point)?;
    let m = mark.get_or_insert_with(Mark::default);
    m.taken_at = point.taken_at;
    m.windows.extend(point.windows);
    Ok(true)
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
    let f = opts.open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("history is not a regular file"));
    }
    Ok((f, meta.len()))
}

/// One `write` of one line with `O_APPEND`: concurrent appenders never interleave within a line,
/// and a torn write leaves one bad line that readers skip.
pub fn append(path: &Path, point: &Point) -> io::Result<()> {
    let mut line = serde_json::to_vec(point).map_err(io::Error::other)?;
    line.push(b'\n');
    let (mut f, len) = open_safely(path, File::options().append(true).create(true))?;
    if len > MAX_APPEND_LEN {
        return Err(io::Error::other("history file too large"));
    }
    let n = f.write(&line)?;
    if n != line.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "short history write",
        ));
    }
    Ok(())
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

/// What the projection may take from the history for one window: the first (oldest) reading
/// of window `name` taken in `since..=until` whose reset is within [`SAME_PERIOD_S`] of
/// `resets_at`. `from` (at least `since`) is where such a reading can begin: the window period
/// opened then, and no reading of a period is taken before the period opens.
#[derive(Debug, Clone, PartialEq)]
pub struct Want<'a> {
    pub name: &'a str,
    pub since: i64,
    pub until: i64,
    pub resets_at: i64,
    pub from: i64,
}

impl Want<'_> {
    /// Whether `line` (whose [`quick_time`] is `time`) holds what is wanted.
    fn answered_by(&self, line: &[u8], time: Option<i64>) -> bool {
        // Most lines a search passes over are told apart by their time alone.
        if time.is_some_and(|t| !(self.since..=self.until).contains(&t)) {
            return false;
        }
        sample_in(line, self.name, self.since, self.until)
            .is_some_and(|s| same_period(s.resets_at, Some(self.resets_at)))
    }
}

/// Lines are appended in time order, give or take this much (an endpoint reading recorded
/// just after a newer stdin one; a small clock correction): searches aim this far early.
const DISORDER_S: i64 = 600;
/// A bisection step reads this much, which holds several lines of ours.
const PROBE: usize = 2048;
/// Forward reads go in steps of this much; bisection stops once the span is below it.
const CHUNK: usize = 16 * 1024;

impl Tail {
    /// The lines that answer `wants`, for the hot path: per distinct `from`, a search of the
    /// file by time (a few 2 KiB reads), then a short forward read to the first line that
    /// answers each want, or to a line too new to answer it (newer than `until` by more than
    /// [`DISORDER_S`] and not in the future), or to `cap` bytes. Cost: O(log size) small reads,
    /// whatever the file's size. The tail holds just those lines, in file order, so that
    /// [`Tail::samples`] gives each window the reading a full read would have: every line
    /// before a search's landing point is older than `from` (in a file in time order), and
    /// every line it skipped fails the same test the projection applies.
    ///
    /// The search is only a hint: torn and foreign lines it meets are stepped over, a line out
    /// of place (a reading taken while the clock was off) costs at most reading more, and a
    /// probe that finds no readable time at all (a long foreign line, garbage) gives way to the
    /// bounded backwards read of [`Tail::read_since`]. Only lines appended more than
    /// [`DISORDER_S`] out of order, or several out of place together (the clock stepped back),
    /// may hide a reading; the rate then comes from a younger one, or from the window start.
    pub fn read_wanted(path: &Path, wants: &[Want], now: i64, cap: u64) -> io::Result<Tail> {
        let wants: Vec<&Want> = wants.iter().filter(|w| w.since <= w.until).collect();
        if wants.is_empty() {
            return Ok(Tail::default());
        }
        let (mut f, len) = match open_safely(path, File::options().read(true)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Tail::default()),
            Err(e) => return Err(e),
        };
        match wanted(&mut f, len, &wants, now, cap)? {
            Some(tail) => Ok(tail),
            None => {
                let since = wants.iter().map(|w| w.since).min().unwrap_or(now);
                Tail::read_since(path, since, cap)
            }
        }
    }
}

/// [`Tail::read_wanted`] on an open file of `len` bytes; `None` when a search met garbage.
fn wanted<F: ReadAt>(
    f: &mut F,
    len: u64,
    wants: &[&Want],
    now: i64,
    cap: u64,
) -> io::Result<Option<Tail>> {
    let mut froms: Vec<i64> = wants.iter().map(|w| w.from).collect();
    froms.sort_unstable();
    froms.dedup();
    let mut search = Search {
        f,
        len,
        probes: Vec::new(),
        buf: Vec::with_capacity(CHUNK),
    };
    let mut found: Vec<(u64, Vec<u8>)> = Vec::new();
    for from in froms {
        let target = from.saturating_sub(DISORDER_S);
        let Some(start) = search.seek(target)? else {
            return Ok(None);
        };
        let group: Vec<&Want> = wants.iter().copied().filter(|w| w.from == from).collect();
        let end = len.min(start.saturating_add(cap));
        let reach = Reach { start, end, target };
        scan(search.f, reach, &group, now, &mut found, &mut search.buf)?;
    }
    found.sort_by_key(|(at, _)| *at);
    found.dedup_by_key(|(at, _)| *at);
    let mut bytes = Vec::new();
    for (_, line) in found {
        bytes.extend_from_slice(&line);
        bytes.push(b'\n');
    }
    Ok(Some(Tail {
        bytes,
        capped: true,
    }))
}

/// Reads at an offset: one `pread` per read, so a probe costs one system call.
trait ReadAt {
    fn read_at(&mut self, buf: &mut [u8], pos: u64) -> io::Result<usize>;
}

impl ReadAt for File {
    fn read_at(&mut self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_at(self, buf, pos)
        }
        #[cfg(windows)]
        {
            std::os::windows::fs::FileExt::seek_read(self, buf, pos)
        }
        #[cfg(not(any(unix, windows)))]
        {
            self.seek(SeekFrom::Start(pos))?;
            self.read(buf)
        }
    }
}

/// Up to `n` bytes at `pos` (fewer at the end of the file) into `buf`, which is reused.
fn read_at<F: ReadAt>(f: &mut F, pos: u64, n: usize, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.resize(n, 0);
    let mut filled = 0;
    while filled < n {
        match f.read_at(&mut buf[filled..], pos + filled as u64) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(())
}

/// Searches of one file by time, sharing their probes (each search starts from the end).
struct Search<'f, F> {
    f: &'f mut F,
    len: u64,
    probes: Vec<(u64, Probe)>,
    /// Every read goes here.
    buf: Vec<u8>,
}

impl<F: ReadAt> Search<'_, F> {
    /// A line start at or before the first line taken at or after `t`, in a file in time
    /// order, and less than a [`CHUNK`] before it: probes that gallop back from the end (what
    /// is wanted is an hour or a day back, near the end of eight days) and then bisect. `None`
    /// when a probe finds no readable time (the caller then reads plainly). Whatever the file
    /// holds, the answer is a line start and the search takes O(log len) probes.
    fn seek(&mut self, t: i64) -> io::Result<Option<u64>> {
        // Invariant (in time order): only lines older than t start before lo, and the first
        // line at or after t starts no later than the first readable line at or after hi.
        let (mut lo, mut hi) = (0u64, self.len);
        let mut back = CHUNK as u64;
        // The forward read takes a chunk from lo, which then holds the first line at or after t.
        while hi - lo > CHUNK as u64 * 3 / 4 {
            let mid = match self.len.checked_sub(back) {
                Some(p) if lo == 0 && p > 0 && p < hi => {
                    back = back.saturating_mul(4);
                    p
                }
                _ => lo + (hi - lo) / 2,
            };
            match self.probe(mid)? {
                Probe::Line(at, times) if at < hi && older_than(t, times) => lo = at,
                Probe::Line(..) | Probe::End => hi = mid,
                Probe::Garbage => return Ok(None),
            }
        }
        Ok(Some(lo))
    }

    fn probe(&mut self, mid: u64) -> io::Result<Probe> {
        if let Some((_, p)) = self.probes.iter().find(|(at, _)| *at == mid) {
            return Ok(*p);
        }
        let p = probe(self.f, mid, self.len, &mut self.buf)?;
        self.probes.push((mid, p));
        Ok(p)
    }
}

#[derive(Debug, Clone, Copy)]
enum Probe {
    /// The first line with a readable time starting at or after the probe point: its offset,
    /// and the times of up to three such lines from it on.
    Line(u64, Times),
    /// No line starts between the probe point and the end of the file.
    End,
    /// No readable time within reach.
    Garbage,
}

/// The times of (up to) three consecutive lines.
type Times = [Option<i64>; 3];

/// Whether a search may move past the first of these lines: two of them are older than `t`.
/// One line alone could be an outlier (a reading taken while the clock was off) that would send
/// the search past what it looks for, or back to the start; moving back is always safe, only
/// slower.
fn older_than(t: i64, times: Times) -> bool {
    times.iter().flatten().filter(|&&x| x < t).count() >= 2
}

/// The first three of `timed_lines`: the first one's offset and their times.
fn three(mut timed: impl Iterator<Item = (usize, i64)>) -> Option<(usize, Times)> {
    let (at, first) = timed.next()?;
    let mut next = || timed.next().map(|(_, t)| t);
    Some((at, [Some(first), next(), next()]))
}

/// The first lines with a readable time starting at or after `mid` (> 0), from [`PROBE`]
/// bytes.
fn probe<F: ReadAt>(f: &mut F, mid: u64, len: u64, buf: &mut Vec<u8>) -> io::Result<Probe> {
    read_at(f, mid - 1, PROBE, buf)?;
    let block = &buf[..];
    let reaches_end = mid - 1 + block.len() as u64 >= len;
    let first = block.iter().position(|&b| b == b'\n').map(|nl| nl + 1);
    Ok(
        match three(timed_lines(block, first.unwrap_or(block.len()))) {
            Some((at, times)) => Probe::Line(mid - 1 + at as u64, times),
            None if reaches_end => Probe::End,
            None => Probe::Garbage,
        },
    )
}

/// The lines of `block` from `start` (a line start) that have a readable time, with their
/// offsets; the last one may be cut short by the block's end.
fn timed_lines(block: &[u8], start: usize) -> impl Iterator<Item = (usize, i64)> + '_ {
    let mut at = start;
    std::iter::from_fn(move || {
        while at < block.len() {
            let rest = &block[at..];
            let line = rest.split(|&b| b == b'\n').next().unwrap_or(rest);
            let here = at;
            at += line.len() + 1;
            if let Some(time) = time_of(line) {
                return Some((here, time));
            }
        }
        None
    })
}

/// The time of a line of ours, only when the bytes hold it and the source after it: a probe's
/// block may cut a line anywhere, a line torn inside its time (the next one glued on) would
/// read as a much older one, and another program's lines (an estimate) are not ours.
fn time_of(line: &[u8]) -> Option<i64> {
    let rest = line.strip_prefix(PREFIX)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let after = &rest[digits..];
    if digits == 0
        || !(after.starts_with(b",\"source\":\"stdin\"")
            || after.starts_with(b",\"source\":\"oauth\""))
    {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// Where a forward read goes: from `start` (a line start found by [`Search::seek`] for
/// `target`) to `end`.
#[derive(Debug, Clone, Copy)]
struct Reach {
    start: u64,
    end: u64,
    target: i64,
}

/// Reads forward through `reach` in [`CHUNK`]s, pushing the first line that answers each want
/// (with its offset) onto `found`, until each want is answered or can no longer be.
fn scan<F: ReadAt>(
    f: &mut F,
    reach: Reach,
    wants: &[&Want],
    now: i64,
    found: &mut Vec<(u64, Vec<u8>)>,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let mut open: Vec<&Want> = wants.to_vec();
    let (mut pos, end) = (reach.start, reach.end);
    // Set while the rest of a line longer than a chunk is skipped.
    let mut skipping = false;
    while !open.is_empty() && pos < end {
        read_at(f, pos, CHUNK.min((end - pos) as usize), buf)?;
        let block = &buf[..];
        if block.is_empty() {
            break;
        }
        let at_end = pos + block.len() as u64 >= end;
        // The search left up to a chunk of older lines before the target: bisect those away
        // in memory rather than look at each.
        let mut at = if pos == reach.start {
            seek_in(block, reach.target)
        } else {
            0
        };
        while at < block.len() && !open.is_empty() {
            let rest = &block[at..];
            let (line, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], at + i + 1),
                None if at_end => (rest, block.len()),
                // A line cut by the chunk's end is read again from its start.
                None if at > 0 => break,
                // Longer than a chunk: no line of ours; skip to its end.
                None => {
                    skipping = true;
                    at = block.len();
                    break;
                }
            };
            if std::mem::take(&mut skipping) {
                at = next;
                continue;
            }
            let time = quick_time(line);
            let whole_time = time_of(line);
            open.retain(|w| {
                if w.answered_by(line, time) {
                    found.push((pos + at as u64, line.to_vec()));
                    return false;
                }
                // Past what could answer it (a line from the future is not: the clock may
                // have stepped back).
                !whole_time.is_some_and(|t| t <= now && t > w.until.saturating_add(DISORDER_S))
            });
            at = next;
        }
        if at == 0 {
            break;
        }
        pos += at as u64;
    }
    Ok(())
}

/// [`Search::seek`] within a block that starts at a line start: the offset of a line start at
/// or before the first line taken at or after `t`, by the same rules.
fn seek_in(block: &[u8], t: i64) -> usize {
    let (mut lo, mut hi) = (0, block.len());
    while hi - lo > PROBE / 8 {
        let mid = lo + (hi - lo) / 2;
        let start = block[mid - 1..hi]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(hi, |nl| mid + nl);
        match three(timed_lines(block, start)) {
            Some((at, times)) if at < hi && older_than(t, times) => lo = at,
            _ => hi = mid,
        }
    }
    lo
}

/// One window's reading in one line, when the line is taken in `since..=until`.
fn sample_in(line: &[u8], name: &str, since: i64, until: i64) -> Option<Sample> {
    if quick_time(line).is_some_and(|t| !(since..=until).contains(&t)) {
        return None;
    }
    if let Some(s) = scan_line(line) {
        let (_, r) = s.windows().iter().find(|(n, _)| *n == name)?;
        return (since..=until).contains(&s.taken_at).then_some(Sample {
            taken_at: s.taken_at,
            percent: r.p,
            resets_at: r.r,
        });
    }
    parse_slowly(line)
        .filter(|p| (since..=until).contains(&p.taken_at))?
        .sample(name)
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

const PREFIX: &[u8] = b"{\"taken_at\":";

/// The time of a line we wrote, without parsing the rest of it.
fn quick_time(line: &[u8]) -> Option<i64> {
    let rest = line.strip_prefix(PREFIX)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// A line into a point; `None` for anything that is not one of ours. A line glued onto a torn
/// one (a write cut short, then the next append) is recovered from its last `{"taken_at":`.
pub fn parse_line(line: &[u8]) -> Option<Point> {
    match scan_line(line) {
        Some(s) => Some(s.to_point()),
        None => parse_slowly(line),
    }
}

/// [`parse_line`] by serde_json alone: every line that is not exactly as [`append`] writes it.
fn parse_slowly(line: &[u8]) -> Option<Point> {
    let valid = |p: Point| {
        (p.taken_at >= 0
            && p.source != Source::Estimate
            && p.windows
                .values()
                .all(|r| r.p.is_finite() && r.r.is_none_or(|r| r >= 0)))
        .then_some(p)
    };
    if let Ok(p) = serde_json::from_slice::<Point>(line) {
        return valid(p);
    }
    let at = line.windows(PREFIX.len()).rposition(|w| w == PREFIX)?;
    if at == 0 {
        return None;
    }
    valid(serde_json::from_slice::<Point>(&line[at..]).ok()?)
}

/// Windows a line may hold and still be read by [`scan_line`]; more go through serde_json.
const SCAN_WINDOWS: usize = 8;

/// A line read by [`scan_line`], borrowing its window names from it.
struct Scanned<'a> {
    taken_at: i64,
    source: Source,
    windows: [(&'a str, Reading); SCAN_WINDOWS],
    n: usize,
}

impl<'a> Scanned<'a> {
    fn windows(&self) -> &[(&'a str, Reading)] {
        &self.windows[..self.n]
    }

    fn to_point(&self) -> Point {
        Point {
            taken_at: self.taken_at,
            source: self.source,
            windows: self
                .windows()
                .iter()
                .map(|(n, r)| (n.to_string(), *r))
                .collect(),
        }
    }
}

/// Reads a line that is exactly as [`append`] writes it (serde_json's compact form of a
/// [`Point`]) by hand, without allocating: drawing eight days of points is then mostly this
/// loop, not serde_json building maps and strings. `None` for anything else, which serde_json
/// then reads as before. Only what serde_json reads to the very same values is taken here:
/// unsigned integers, decimals of at most 15 digits without an exponent (where serde_json's
/// own float parsing is exact, as Rust's is), names without escapes, no name twice, nothing
/// after the closing brace. Such a line is always a valid point.
fn scan_line(line: &[u8]) -> Option<Scanned<'_>> {
    let mut c = Scanner { b: line, i: 0 };
    c.lit(b"{\"taken_at\":")?;
    let taken_at = c.int()?;
    c.lit(b",\"source\":\"")?;
    let source = if c.lit(b"stdin").is_some() {
        Source::Stdin
    } else {
        c.lit(b"oauth")?;
        Source::Oauth
    };
    c.lit(b"\",\"windows\":{")?;
    let none = ("", Reading { p: 0.0, r: None });
    let mut out = Scanned {
        taken_at,
        source,
        windows: [none; SCAN_WINDOWS],
        n: 0,
    };
    if c.lit(b"}").is_none() {
        loop {
            c.lit(b"\"")?;
            let name = c.name()?;
            c.lit(b"\":{\"p\":")?;
            let p = c.decimal()?;
            let r = match c.lit(b",\"r\":") {
                Some(()) => Some(c.int()?),
                None => None,
            };
            c.lit(b"}")?;
            if out.n == SCAN_WINDOWS || out.windows().iter().any(|(n, _)| *n == name) {
                return None;
            }
            out.windows[out.n] = (name, Reading { p, r });
            out.n += 1;
            if c.lit(b"}").is_some() {
                break;
            }
            c.lit(b",")?;
        }
    }
    c.lit(b"}")?;
    (c.i == line.len()).then_some(out)
}

/// A cursor over one line. Its steps are `#[inline]`: under `opt-level = "s"` they otherwise
/// stay calls, and reading eight days of lines takes half as long again.
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn lit(&mut self, s: &[u8]) -> Option<()> {
        self.b[self.i..].starts_with(s).then(|| self.i += s.len())
    }

    #[inline]
    fn digits(&mut self) -> &'a [u8] {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        &self.b[start..self.i]
    }

    /// `0` or digits without a leading zero, at most 18 of them (always an i64).
    #[inline]
    fn int(&mut self) -> Option<i64> {
        let d = self.digits();
        if d.is_empty() || d.len() > 18 || (d.len() > 1 && d[0] == b'0') {
            return None;
        }
        Some(d.iter().fold(0, |n, &b| n * 10 + i64::from(b - b'0')))
    }

    /// `12`, `61.4`, `0.05`: no sign, no exponent, at most 15 digits. The value is an integer
    /// below 2^53 divided by a power of ten up to 10^15, both exact in an f64, so one division
    /// rounds it correctly, as serde_json does for such numbers (and Rust's own parser).
    #[inline]
    fn decimal(&mut self) -> Option<f64> {
        const POW10: [f64; 16] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        ];
        let whole = self.digits();
        if whole.is_empty() || (whole.len() > 1 && whole[0] == b'0') {
            return None;
        }
        let frac = match self.lit(b".") {
            Some(()) => self.digits(),
            None => &[],
        };
        let dot = self.b[self.i - 1] == b'.';
        if dot || whole.len() + frac.len() > 15 {
            return None;
        }
        let m = (whole.iter().chain(frac)).fold(0u64, |m, &b| m * 10 + u64::from(b - b'0'));
        Some(m as f64 / POW10[frac.len()])
    }

    /// A string's contents up to its closing quote, when it has no escape or control byte.
    #[inline]
    fn name(&mut self) -> Option<&'a str> {
        let start = self.i;
        while let Some(&b) = self.b.get(self.i) {
            match b {
                b'"' => return std::str::from_utf8(&self.b[start..self.i]).ok(),
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        None
    }
}

/// Every readable point of a history, held flat for drawing thousands of them: one vector per
/// window, nothing allocated per point.
#[derive(Debug, Default, PartialEq)]
pub struct Series {
    /// Each point's time, in file order.
    pub times: Vec<i64>,
    /// Each window seen, in order of first appearance, with its readings as (index into
    /// `times`, reading) in file order.
    pub windows: Vec<(String, Vec<(usize, Reading)>)>,
    /// Lines that were not points.
    pub bad: usize,
}

impl Series {
    /// Every line of a tail, as [`Tail::points`] reads them.
    pub fn of_tail(tail: &Tail) -> Series {
        let mut s = Series::default();
        for line in tail.lines() {
            if let Some(p) = scan_line(line) {
                s.push(p.taken_at, p.windows().iter().copied());
            } else if let Some(p) = parse_slowly(line) {
                s.push(p.taken_at, p.windows.iter().map(|(n, r)| (n.as_str(), *r)));
            } else {
                s.bad += 1;
            }
        }
        s
    }

    #[cfg(test)]
    pub fn of_points(points: &[Point]) -> Series {
        let mut s = Series::default();
        for p in points {
            s.push(p.taken_at, p.windows.iter().map(|(n, r)| (n.as_str(), *r)));
        }
        s
    }

    fn push<'n>(&mut self, taken_at: i64, windows: impl Iterator<Item = (&'n str, Reading)>) {
        let i = self.times.len();
        self.times.push(taken_at);
        for (name, r) in windows {
            match self.windows.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) => v.push((i, r)),
                None => self.windows.push((name.to_string(), vec![(i, r)])),
            }
        }
    }
}

/// What the worker's trim did.
#[derive(Debug, PartialEq, Eq)]
pub enum Trimmed {
    Nothing,
    Rewritten { kept: usize, dropped: usize },
}

/// Drops points older than [`KEEP_S`] and unreadable lines, by an atomic rewrite — only when
/// that is worth a rewrite (an old point past the slack, a bad line, or a file over the cap).
/// Points dated in the future are kept: the clock may have stepped back. The background
/// worker's job, never the hot path's.
pub fn trim(path: &Path, now: i64) -> io::Result<Trimmed> {
    let tail = Tail::read(path, MAX_READ)?;
    let (points, bad) = tail.points();
    let oldest = points.iter().map(|p| p.taken_at).min();
    let cutoff = now - KEEP_S;
    let worth = bad > 0 || tail.capped || oldest.is_some_and(|t| t < cutoff - TRIM_SLACK_S);
    if !worth {
        return Ok(Trimmed::Nothing);
    }
    let total = points.len();
    let mut out = Vec::with_capacity(tail.bytes.len());
    for p in points.iter().filter(|p| p.taken_at >= cutoff) {
        serde_json::to_writer(&mut out, p).map_err(io::Error::other)?;
        out.push(b'\n');
    }
    let kept = points.iter().filter(|p| p.taken_at >= cutoff).count();
    crate::files::write_atomic(path, &out)?;
    Ok(Trimmed::Rewritten {
        kept,
        dropped: total - kept + bad,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::ScopedWindow;

    const NOW: i64 = 1_795_000_000;

    fn reading(source: Source, t: i64, five: f64, seven: Option<f64>) -> Snapshot {
        Snapshot {
            five_hour: Some(Window::percent(five, Some(NOW + 3600))),
            seven_day: seven.map(|p| Window::percent(p, Some(NOW + 86_400))),
            scoped: vec![],
            extra: None,
            source,
            taken_at: t,
        }
    }

    fn file() -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.history.jsonl");
        (d, p)
    }

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

    #[test]
    fn appends_on_change_or_after_five_minutes() {
        let (_d, path) = file();
        let mut mark = None;
        let r = |t, five| reading(Source::Stdin, t, five, Some(10.0));
        assert!(record(&path, &mut mark, &r(NOW, 40.0)).unwrap());
        assert!(!record(&path, &mut mark, &r(NOW + 60, 40.0)).unwrap());
        assert!(record(&path, &mut mark, &r(NOW + 61, 41.0)).unwrap());
        assert!(!record(&path, &mut mark, &r(NOW + 360, 41.0)).unwrap());
        assert!(record(&path, &mut mark, &r(NOW + 361, 41.0)).unwrap());
        // A reading without the 7d window compares only what it has.
        let only_five = reading(Source::Stdin, NOW + 400, 41.0, None);
        assert!(!record(&path, &mut mark, &only_five).unwrap());
        // The endpoint's reset a few seconds off is the same period: not a change.
        let mut drift = r(NOW + 420, 41.0);
        drift.five_hour.as_mut().unwrap().resets_at = Some(NOW + 3600 + 2);
        assert!(!record(&path, &mut mark, &drift).unwrap());
        // Clock stepped back: record.
        assert!(record(&path, &mut mark, &r(NOW - 1000, 41.0)).unwrap());
        let (points, bad) = Tail::read(&path, MAX_READ).unwrap().points();
        assert_eq!(bad, 0);
        assert_eq!(
            points.iter().map(|p| p.taken_at).collect::<Vec<_>>(),
            [NOW, NOW + 61, NOW + 361, NOW - 1000]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
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

    #[test]
    fn trim_keeps_eight_days_and_future_points_and_rewrites_rarely() {
        let (_d, path) = file();
        let at = |t| Point::of(&reading(Source::Oauth, t, 1.0, None)).unwrap();
        for t in [NOW - 9 * 86_400 + 10, NOW - 86_400, NOW + 86_400] {
            append(&path, &at(t)).unwrap();
        }
        // Only a little past 8 days: not worth a rewrite yet.
        assert_eq!(trim(&path, NOW).unwrap(), Trimmed::Nothing);
        assert_eq!(
            trim(&path, NOW + 20).unwrap(),
            Trimmed::Rewritten {
                kept: 2,
                dropped: 1
            }
        );
        let (points, _) = Tail::read(&path, MAX_READ).unwrap().points();
        assert_eq!(
            points.iter().map(|p| p.taken_at).collect::<Vec<_>>(),
            [NOW - 86_400, NOW + 86_400]
        );
        // A bad line is reason enough.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"garbage\n")
            .unwrap();
        assert_eq!(
            trim(&path, NOW).unwrap(),
            Trimmed::Rewritten {
                kept: 2,
                dropped: 1
            }
        );
        assert_eq!(trim(&path, NOW).unwrap(), Trimmed::Nothing);
    }

    /// An in-memory file that counts what is read from it.
    struct Counted {
        bytes: Vec<u8>,
        reads: usize,
        read_bytes: usize,
    }

    impl Counted {
        fn new(bytes: Vec<u8>) -> Counted {
            Counted {
                bytes,
                reads: 0,
                read_bytes: 0,
            }
        }
    }

    impl ReadAt for Counted {
        fn read_at(&mut self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
            let pos = (pos as usize).min(self.bytes.len());
            let n = buf.len().min(self.bytes.len() - pos);
            buf[..n].copy_from_slice(&self.bytes[pos..pos + n]);
            self.reads += 1;
            self.read_bytes += n;
            Ok(n)
        }
    }

    const FIVE_H: i64 = 5 * 3600;
    const WEEK: i64 = 7 * 86_400;

    /// The resets of the 5-hour and weekly periods holding `t`: the ones holding NOW end 2 h
    /// and 2 days after it.
    fn resets(t: i64) -> (i64, i64) {
        let (end5, end7) = (NOW + 2 * 3600, NOW + 2 * 86_400);
        (
            end5 + (t - end5).div_euclid(FIVE_H) * FIVE_H + FIVE_H,
            end7 + (t - end7).div_euclid(WEEK) * WEEK + WEEK,
        )
    }

    /// The line a point a minute would have at `t`, with an opus window on the endpoint's
    /// points only.
    fn line_at(t: i64, oauth: bool) -> String {
        let (r5, r7) = resets(t);
        let p5 = (t - (r5 - FIVE_H)) as f64 / 180.0;
        let p7 = ((t - (r7 - WEEK)) / 6048) as f64;
        if oauth {
            format!(
                r#"{{"taken_at":{t},"source":"oauth","windows":{{"5h":{{"p":{p5},"r":{r5}}},"7d":{{"p":{p7},"r":{r7}}},"opus":{{"p":{p7},"r":{r7}}}}}}}"#
            )
        } else {
            format!(
                r#"{{"taken_at":{t},"source":"stdin","windows":{{"5h":{{"p":{p5},"r":{r5}}},"7d":{{"p":{p7},"r":{r7}}}}}}}"#
            )
        }
    }

    /// `days` of a point a minute ending at `end`.
    fn minutes(days: i64, end: i64) -> Vec<u8> {
        let mut out = String::new();
        for i in (0..days * 1440).rev() {
            let t = end - i * 60;
            out.push_str(&line_at(t, i % 15 == 0));
            out.push('\n');
        }
        out.into_bytes()
    }

    /// Every line start of `bytes`, with the line's time (if readable).
    fn line_starts(bytes: &[u8]) -> Vec<(usize, Option<i64>)> {
        let mut out = Vec::new();
        let mut at = 0;
        for line in bytes.split(|&b| b == b'\n') {
            if at < bytes.len() {
                out.push((at, time_of(line).or_else(|| quick_time(line))));
            }
            at += line.len() + 1;
        }
        out
    }

    /// Checks `seek`'s promise on a file: a line start, only older lines before it, and the
    /// first line at or after `t` within a chunk of it.
    fn assert_lands(bytes: &[u8], t: i64) -> Counted {
        let mut f = Counted::new(bytes.to_vec());
        let mut search = Search {
            f: &mut f,
            len: bytes.len() as u64,
            probes: Vec::new(),
            buf: Vec::new(),
        };
        let lo = search.seek(t).unwrap().expect("no garbage here") as usize;
        let starts = line_starts(bytes);
        assert!(lo == 0 || starts.iter().any(|(at, _)| *at == lo), "{lo}");
        for (at, time) in &starts {
            if *at < lo {
                assert!(
                    time.is_none_or(|time| time < t),
                    "{at} {time:?} before {lo}"
                );
            }
        }
        if let Some((first, _)) = starts.iter().find(|(_, time)| time.is_some_and(|x| x >= t)) {
            assert!(*first >= lo && *first - lo < CHUNK, "{first} {lo}");
        }
        f
    }

    #[test]
    fn search_lands_just_before_the_first_line_at_or_after_t_in_few_reads() {
        let bytes = minutes(8, NOW);
        for back in [
            0,
            1,
            59,
            60,
            3600,
            4200,
            86_400,
            87_000,
            5 * 86_400,
            8 * 86_400,
            9 * 86_400,
        ] {
            let f = assert_lands(&bytes, NOW - back);
            assert!(f.reads <= 16, "{back}: {} reads", f.reads);
        }
        assert_lands(&bytes, NOW + 1);
        assert_lands(&bytes, i64::MIN);
        // What the status line reads of eight days for three windows: a few small reads.
        let snap = snapshot(NOW, NOW, Source::Stdin);
        let wants = crate::projection::wants(&snap, NOW);
        let mut f = Counted::new(bytes.clone());
        let len = bytes.len() as u64;
        let tail = wanted(&mut f, len, &wants.iter().collect::<Vec<_>>(), NOW, 1 << 19);
        assert_eq!(tail.unwrap().unwrap().lines().count(), 2);
        assert!(
            f.reads <= 16 && f.read_bytes <= 64 * 1024,
            "{} {}",
            f.reads,
            f.read_bytes
        );
        // Eighty days instead of eight: a few more probes, not ten times the reading.
        let big = minutes(80, NOW);
        let f = assert_lands(&big, NOW - 86_400);
        assert!(f.reads <= 20 && f.read_bytes <= 20 * PROBE, "{}", f.reads);
        // Files of one line, none, and lines without a newline at the end.
        for bytes in [
            Vec::new(),
            minutes(1, NOW)[..150].to_vec(),
            b"\n\n\n".to_vec(),
        ] {
            for t in [NOW - 86_400, NOW, NOW + 1] {
                let mut f = Counted::new(bytes.clone());
                let len = bytes.len() as u64;
                let mut search = Search {
                    f: &mut f,
                    len,
                    probes: Vec::new(),
                    buf: Vec::new(),
                };
                assert_eq!(search.seek(t).unwrap(), Some(0));
            }
        }
        // In memory, the same promise (the block's last line is cut).
        let block = &bytes[..CHUNK];
        let mut starts = line_starts(block);
        starts.last_mut().unwrap().1 = None;
        for back in [
            0,
            7 * 86_400,
            8 * 86_400 - 30 * 60,
            8 * 86_400 - 80 * 60,
            9 * 86_400,
        ] {
            let t = NOW - back;
            let lo = seek_in(block, t);
            assert!(starts.iter().any(|(at, _)| *at == lo), "{lo}");
            assert!(
                starts
                    .iter()
                    .all(|(at, time)| *at >= lo || time.unwrap() < t)
            );
            if let Some((first, _)) = starts.iter().find(|(_, x)| x.is_some_and(|x| x >= t)) {
                assert!(*first - lo <= PROBE / 4 + 200, "{first} {lo}");
            }
        }
    }

    #[test]
    fn search_steps_over_torn_and_foreign_lines_and_gives_up_on_long_garbage() {
        let good = String::from_utf8(minutes(2, NOW)).unwrap();
        let mut text = String::new();
        for (i, line) in good.lines().enumerate() {
            match i % 7 {
                // A torn line: the next one is glued onto it.
                3 => text.push_str(&line[..40]),
                5 => text.push_str("not json at all\n{\"foo\":1}\n"),
                _ => {}
            }
            text.push_str(line);
            text.push('\n');
        }
        for back in [0, 3600, 86_400, 2 * 86_400] {
            assert_lands(text.as_bytes(), NOW - back);
        }
        // Kilobytes with no line of ours: no guessing, the caller reads plainly.
        let mut text = good.clone();
        let middle = good[good.len() / 2..].find('\n').unwrap() + good.len() / 2 + 1;
        text.insert_str(middle, &"x".repeat(64 * 1024));
        let mut f = Counted::new(text.clone().into_bytes());
        let mut search = Search {
            f: &mut f,
            len: text.len() as u64,
            probes: Vec::new(),
            buf: Vec::new(),
        };
        let probes: Vec<Option<u64>> = (0..48)
            .map(|h| search.seek(NOW - h * 3600).unwrap())
            .collect();
        assert!(probes.contains(&None) && probes.iter().any(Option::is_some));
    }

    fn snapshot(now: i64, stamp: i64, source: Source) -> Snapshot {
        let (r5, r7) = resets(now);
        Snapshot {
            five_hour: Some(Window::percent(70.0, Some(r5))),
            seven_day: Some(Window::percent(40.0, Some(r7))),
            scoped: vec![ScopedWindow {
                name: "opus".into(),
                window: Window::percent(50.0, Some(r7)),
                is_active: false,
            }],
            extra: None,
            source,
            taken_at: stamp,
        }
    }

    /// The projection from the lines [`Tail::read_wanted`] finds equals the one from reading
    /// the whole file, and the first took a small part of it.
    fn assert_same_projection(path: &Path, snap: &Snapshot, now: i64) {
        use crate::projection::{of_snapshot, wants};
        let wanted = Tail::read_wanted(path, &wants(snap, now), now, 512 * 1024).unwrap();
        let all = Tail::read(path, u64::MAX).unwrap();
        assert_eq!(
            of_snapshot(snap, &wanted, now),
            of_snapshot(snap, &all, now),
            "now {now} stamp {} {:?}",
            snap.taken_at,
            snap.source
        );
    }

    #[test]
    fn wanted_lines_project_exactly_as_the_whole_file() {
        let (_d, path) = file();
        std::fs::write(&path, minutes(8, NOW)).unwrap();
        for now in [
            NOW,
            NOW - 1800,
            NOW - 3 * 86_400 + 7,
            NOW - 7 * 86_400,
            NOW + 3600,
        ] {
            for stamp in [now, now - 300, now - 2 * 3600, now + 60] {
                assert_same_projection(&path, &snapshot(now, stamp, Source::Stdin), now);
            }
            assert_same_projection(&path, &snapshot(now, now, Source::Estimate), now);
        }
        // Through the real file: the answer lines, oldest first, and nothing else.
        let snap = snapshot(NOW, NOW, Source::Stdin);
        let tail = Tail::read_wanted(
            &path,
            &crate::projection::wants(&snap, NOW),
            NOW,
            512 * 1024,
        )
        .unwrap();
        let times: Vec<i64> = tail.points().0.iter().map(|p| p.taken_at).collect();
        // 7d and opus from a day back (an endpoint point), 5h an hour back.
        assert_eq!(times, [NOW - 86_400, NOW - 3600]);
    }

    #[test]
    fn wanted_lines_survive_garbage_disorder_and_the_future() {
        let mut rng = crate::testutil::Rng(0x5eed);
        for round in 0..16 {
            let (_d, path) = file();
            let mut text = String::new();
            let mut t = NOW - 9 * 86_400;
            let end = NOW + rng.below(86_400) as i64;
            let mut since_outlier = 3;
            while t < end {
                t += 20 + rng.below(160) as i64;
                since_outlier += 1;
                // Appended out of order by up to DISORDER_S: jitter of half that each way.
                let jitter = rng.below(DISORDER_S as usize) as i64 - DISORDER_S / 2;
                let line = line_at(t + jitter, rng.below(4) == 0);
                match rng.below(40) {
                    0 => text.push_str(&line[..rng.below(line.len())]),
                    1 => text.push_str("{\"taken_at\":\u{1F600}\n\n"),
                    2 => text.push_str("{\"taken_at\":5,\"source\":\"estimate\",\"windows\":{}}\n"),
                    // A reading taken while the clock was off, days ahead (in the future for
                    // every `now` here) or a day behind; never two within three lines.
                    k @ (3 | 4) if since_outlier >= 3 => {
                        since_outlier = 0;
                        let at = if k == 3 {
                            end + 5 * 86_400 + t % 1000
                        } else {
                            t - 86_400
                        };
                        text.push_str(&line_at(at, true));
                        text.push('\n');
                    }
                    _ => {}
                }
                text.push_str(&line);
                text.push('\n');
            }
            std::fs::write(&path, &text).unwrap();
            for _ in 0..10 {
                let now = end - rng.below(8 * 86_400) as i64;
                let stamp = now - rng.below(4 * 3600) as i64 + 600;
                let source = [Source::Stdin, Source::Oauth][round % 2];
                assert_same_projection(&path, &snapshot(now, stamp, source), now);
            }
        }
    }

    #[test]
    fn wanted_lines_from_empty_huge_and_foreign_files() {
        let (_d, path) = file();
        let snap = snapshot(NOW, NOW, Source::Stdin);
        let wants = crate::projection::wants(&snap, NOW);
        let read = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            let tail = Tail::read_wanted(&path, &wants, NOW, 512 * 1024).unwrap();
            (tail.points().0.len(), tail.bytes.len())
        };
        assert_eq!(read(b""), (0, 0));
        // One huge line, with or without a newline: nothing, and no more read than the cap.
        let huge = vec![b'7'; 3 << 20];
        assert_eq!(read(&huge).0, 0);
        let mut f = Counted::new(huge.clone());
        assert_eq!(
            wanted(
                &mut f,
                huge.len() as u64,
                &wants.iter().collect::<Vec<_>>(),
                NOW,
                1 << 19
            )
            .unwrap()
            .map(|t| t.bytes.len()),
            None
        );
        let mut huge_line = huge.clone();
        huge_line.push(b'\n');
        assert_eq!(read(&huge_line).0, 0);
        // A huge line, then a day of good ones: those are found (the search never lands in
        // the huge line, as every probe that could lies in the day after it).
        let mut mixed = huge_line.clone();
        mixed.extend_from_slice(&minutes(1, NOW));
        assert_same_projection(&path, &snap, NOW);
        std::fs::write(&path, &mixed).unwrap();
        assert_same_projection(&path, &snap, NOW);
        // Lines of a day, then a long run of garbage: the plain read takes over.
        let mut tailing = minutes(1, NOW - 600);
        tailing.extend_from_slice(&vec![b'#'; 4096]);
        tailing.push(b'\n');
        std::fs::write(&path, &tailing).unwrap();
        assert_same_projection(&path, &snap, NOW);
        // Random bytes never panic.
        let mut rng = crate::testutil::Rng(0xbad);
        for _ in 0..200 {
            let len = rng.below(40_000);
            let mut bytes = rng.bytes(len);
            for _ in 0..rng.below(50) {
                let at = rng.below(bytes.len() + 1);
                bytes.splice(
                    at..at,
                    line_at(NOW - rng.below(86_400) as i64, true).bytes(),
                );
            }
            std::fs::write(&path, &bytes).unwrap();
            let _ = Tail::read_wanted(&path, &wants, NOW, 512 * 1024).unwrap();
        }
    }

    #[test]
    fn the_hand_reader_reads_what_serde_json_reads() {
        // What append writes is read by hand, to the same point.
        let mut s = reading(Source::Oauth, NOW, 61.4, Some(23.0));
        s.scoped.push(ScopedWindow {
            name: "opus".into(),
            window: Window::percent(100.0, None),
            is_active: false,
        });
        for p in [0.0, 0.5, 61.4, 99.99, 104.0, 1.0 / 3.0, 12345.678] {
            s.five_hour.as_mut().unwrap().used = Used::Percent(p);
            let point = Point::of(&s).unwrap();
            let line = serde_json::to_vec(&point).unwrap();
            let scanned = scan_line(&line).map(|s| s.to_point());
            // 1/3 has 16 digits: serde_json's own reading is not exact there, so it reads it.
            if p == 1.0 / 3.0 {
                assert_eq!(scanned, None);
            } else {
                assert_eq!(scanned.as_ref(), Some(&point), "{p}");
            }
            assert_eq!(parse_line(&line), Some(point));
        }
        // Anything unusual goes to serde_json, which decides as before.
        for line in [
            r#"{"taken_at":1,"source":"oauth","windows":{}}"#,
            r#"{"taken_at":01,"source":"oauth","windows":{}}"#,
            r#"{"taken_at":1,"source":"estimate","windows":{}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1e2,"r":5}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":-1,"r":5}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1,"r":null}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1},"5h":{"p":2}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1.}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1}}} "#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1}}}x"#,
            r#"{"taken_at":1, "source":"stdin","windows":{}}"#,
            r#"{"taken_at":99999999999999999999,"source":"stdin","windows":{}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"a":{"p":1},"b":{"p":1},"c":{"p":1},"d":{"p":1},"e":{"p":1},"f":{"p":1},"g":{"p":1},"h":{"p":1},"i":{"p":1}}}"#,
        ] {
            let scanned = scan_line(line.as_bytes()).map(|s| s.to_point());
            if let Some(p) = &scanned {
                assert_eq!(Some(p), parse_slowly(line.as_bytes()).as_ref(), "{line}");
            }
            assert_eq!(
                parse_line(line.as_bytes()),
                scanned.or_else(|| parse_slowly(line.as_bytes())),
                "{line}"
            );
        }
        assert!(scan_line(br#"{"taken_at":1,"source":"oauth","windows":{}}"#).is_some());
        assert!(
            scan_line(br#"{"taken_at":1,"source":"stdin","windows":{"5\u0068":{"p":1}}}"#)
                .is_none()
        );
        // Whatever the hand reader takes, serde_json reads the same.
        let mut rng = crate::testutil::Rng(0x5ca9);
        let base = minutes(1, NOW);
        for _ in 0..20_000 {
            let at = rng.below(base.len() - 400);
            let start = at + base[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
            let line = rng.mutate(&base[start..start + 200]);
            let line = line.split(|&b| b == b'\n').next().unwrap();
            if let Some(s) = scan_line(line) {
                assert_eq!(Some(s.to_point()), parse_slowly(line), "{line:?}");
            }
        }
    }

    #[test]
    fn series_holds_what_points_hold() {
        let (_d, path) = file();
        let mut text = minutes(1, NOW);
        text.extend_from_slice(
            b"garbage\n{\"taken_at\":3,\"source\":\"oauth\",\"windows\":{\"5h\":{\"p\":1e1}}}\n",
        );
        std::fs::write(&path, &text).unwrap();
        let tail = Tail::read(&path, MAX_READ).unwrap();
        let (points, bad) = tail.points();
        let series = Series::of_tail(&tail);
        assert_eq!(bad, 1);
        assert_eq!(
            series,
            Series {
                bad,
                ..Series::of_points(&points)
            }
        );
        assert_eq!(series.times.len(), 1441);
        assert_eq!(
            series
                .windows
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["5h", "7d", "opus"]
        );
    }
}
