//! The hot path's read: the few lines the projection can use, found by bisecting the file by
//! time, so a status line costs O(log n) small reads whatever the history's density.

use std::fs::File;
use std::io;
use std::path::Path;

use super::parse::{find_newline, parse_slowly, quick_time, scan_line, time_of};
use super::{Sample, Tail, open_safely, same_period};

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
const CHUNK: usize = 4 * 1024;

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
pub(super) trait ReadAt {
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

/// Up to `n` bytes at `pos` (fewer at the end of the file) into `buf`, which is reused and only
/// ever grows (zeroed once, not before every read); returns what was read.
fn read_at<'b, F: ReadAt>(
    f: &mut F,
    pos: u64,
    n: usize,
    buf: &'b mut Vec<u8>,
) -> io::Result<&'b [u8]> {
    if buf.len() < n {
        buf.resize(n, 0);
    }
    let mut filled = 0;
    while filled < n {
        match f.read_at(&mut buf[filled..n], pos + filled as u64) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(&buf[..filled])
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
    let block = read_at(f, mid - 1, PROBE, buf)?;
    let reaches_end = mid - 1 + block.len() as u64 >= len;
    let first = find_newline(block).map(|nl| nl + 1);
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
            let line = find_newline(rest).map_or(rest, |nl| &rest[..nl]);
            let here = at;
            at += line.len() + 1;
            if let Some(time) = time_of(line) {
                return Some((here, time));
            }
        }
        None
    })
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
        let block = read_at(f, pos, CHUNK.min((end - pos) as usize), buf)?;
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
            let (line, next) = match find_newline(rest) {
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
        let start = find_newline(&block[mid - 1..hi]).map_or(hi, |nl| mid + nl);
        match three(timed_lines(block, start)) {
            Some((at, times)) if at < hi && older_than(t, times) => lo = at,
            _ => hi = mid,
        }
    }
    lo
}

/// One window's reading in one line, when the line is taken in `since..=until`.
pub(super) fn sample_in(line: &[u8], name: &str, since: i64, until: i64) -> Option<Sample> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testdata::*;
    use crate::history::*;
    use crate::usage::{Snapshot, Source};

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
}
