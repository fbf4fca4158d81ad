//! The worker's trim: keep [`KEEP_S`](super::KEEP_S) of points, drop unreadable lines.
//!
//! It streams the file (a garbage line of any length costs no point around it) into a temp
//! file without any lock, catches up with what status lines appended meanwhile, and only then
//! takes the store's write lock — under which every append happens — to copy the last few
//! appended lines and rename. So a status line waits for a rename, never for a parse of the
//! file, and no point appended during the trim is lost.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::parse::{for_each_line, parse_line, scan_line};
use super::{KEEP_S, MAX_READ, TRIM_SLACK_S, open_safely};

/// What the worker's trim did.
#[derive(Debug, PartialEq, Eq)]
pub enum Trimmed {
    Nothing,
    Rewritten { kept: usize, dropped: usize },
}

/// What [`trim_lines`] saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Points written out (taken at or after the cutoff, future ones included).
    pub kept: usize,
    /// Readable points older than the cutoff.
    pub old: usize,
    /// Lines that are not points (torn, corrupt, foreign, overlong).
    pub bad: usize,
    /// The oldest readable point's time.
    pub oldest: Option<i64>,
    /// Bytes consumed: through the last newline, or to the end when `to_end`.
    pub consumed: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.kept += o.kept;
        self.old += o.old;
        self.bad += o.bad;
        self.oldest = self.oldest.into_iter().chain(o.oldest).min();
        self.consumed += o.consumed;
    }
}

/// The trim itself, pure over a reader and a writer (the fuzz target drives it on bytes):
/// every readable point taken at or after `cutoff` goes to `out`, one line each, in input order
/// (a line exactly in our form as it is, anything else re-written in that form); everything else
/// is counted. Lines are streamed: one longer than any point is skipped without being held.
/// Unless `to_end`, a last line without its newline is left unread (an append may be under way),
/// and [`Counts::consumed`] stops before it.
pub fn trim_lines<R: BufRead, W: Write>(
    input: R,
    out: &mut W,
    cutoff: i64,
    to_end: bool,
) -> io::Result<Counts> {
    let mut c = Counts::default();
    for_each_line(input, |line, len, terminated| {
        if !terminated && !to_end {
            return Ok(());
        }
        c.consumed += len + u64::from(terminated);
        let Some(line) = line else {
            c.bad += 1;
            return Ok(());
        };
        if line.is_empty() {
            return Ok(());
        }
        let Some(p) = parse_line(line) else {
            c.bad += 1;
            return Ok(());
        };
        c.oldest = Some(c.oldest.map_or(p.taken_at, |o| o.min(p.taken_at)));
        if p.taken_at < cutoff {
            c.old += 1;
            return Ok(());
        }
        c.kept += 1;
        if scan_line(line).is_some() {
            out.write_all(line)?;
        } else {
            serde_json::to_writer(&mut *out, &p).map_err(io::Error::other)?;
        }
        out.write_all(b"\n")
    })?;
    Ok(c)
}

/// Drops points older than [`KEEP_S`] and unreadable lines, by an atomic rewrite — only when
/// that is worth a rewrite (an old point past the slack, a bad line, or a file over
/// [`MAX_READ`]). Points dated in the future are kept: the clock may have stepped back. The
/// background worker's job, never the hot path's. `lock` takes the store's write lock, which
/// every append holds; it is held only to copy what was appended since and to rename.
pub fn trim<L>(path: &Path, now: i64, lock: impl FnOnce() -> io::Result<L>) -> io::Result<Trimmed> {
    let cutoff = now.saturating_sub(KEEP_S);
    let (mut f, len) = match open_safely(path, File::options().read(true)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Trimmed::Nothing),
        Err(e) => return Err(e),
    };
    let seen = trim_lines(
        BufReader::new((&f).take(len)),
        &mut io::sink(),
        cutoff,
        false,
    )?;
    let worth = seen.bad > 0
        || len > MAX_READ
        || seen
            .oldest
            .is_some_and(|t| t < cutoff.saturating_sub(TRIM_SLACK_S));
    if !worth {
        return Ok(Trimmed::Nothing);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let (tmp, out) = crate::files::create_temp(dir, &name)?;
    let result = (|| {
        let mut out = BufWriter::new(out);
        // Everything there now, then what was appended meanwhile, without the lock.
        let mut c = Counts::default();
        for _ in 0..2 {
            f.seek(SeekFrom::Start(c.consumed))?;
            c.add(trim_lines(BufReader::new(&f), &mut out, cutoff, false)?);
        }
        out.flush()?;
        out.get_ref().sync_all()?;
        // Under the lock no append runs: the rest, then the rename. If the name no longer holds
        // the file we read (another trim renamed over it), that trim has done the work.
        let _guard = lock()?;
        let (now_there, _) = open_safely(path, File::options().read(true))?;
        if crate::files::inode(&now_there.metadata()?) != crate::files::inode(&f.metadata()?) {
            return Ok(None);
        }
        f.seek(SeekFrom::Start(c.consumed))?;
        c.add(trim_lines(BufReader::new(&f), &mut out, cutoff, true)?);
        out.flush()?;
        std::fs::rename(&tmp, path)?;
        Ok(Some(c))
    })();
    match result {
        Ok(Some(c)) => Ok(Trimmed::Rewritten {
            kept: c.kept,
            dropped: c.old + c.bad,
        }),
        other => {
            let _ = std::fs::remove_file(&tmp);
            other.map(|_| Trimmed::Nothing)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testdata::*;
    use crate::history::*;
    use std::io::Write;

    use crate::usage::Source;

    #[test]
    fn trim_keeps_eight_days_and_future_points_and_rewrites_rarely() {
        let (_d, path) = file();
        let at = |t| Point::of(&reading(Source::Oauth, t, 1.0, None)).unwrap();
        for t in [NOW - 9 * 86_400 + 10, NOW - 86_400, NOW + 86_400] {
            append(&path, &at(t)).unwrap();
        }
        // Only a little past 8 days: not worth a rewrite yet.
        assert_eq!(trim(&path, NOW, no_lock).unwrap(), Trimmed::Nothing);
        assert_eq!(
            trim(&path, NOW + 20, no_lock).unwrap(),
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
            trim(&path, NOW, no_lock).unwrap(),
            Trimmed::Rewritten {
                kept: 2,
                dropped: 1
            }
        );
        assert_eq!(trim(&path, NOW, no_lock).unwrap(), Trimmed::Nothing);
    }

    fn no_lock() -> io::Result<()> {
        Ok(())
    }

    /// The points of a file, by time.
    fn times_in(path: &std::path::Path) -> Vec<i64> {
        let (points, _) = Tail::read(path, u64::MAX).unwrap().points();
        let mut t: Vec<i64> = points.iter().map(|p| p.taken_at).collect();
        t.sort_unstable();
        t
    }

    #[test]
    fn a_long_garbage_line_at_the_end_or_in_the_middle_costs_no_point() {
        let (_d, path) = file();
        // A day of a point a minute, then 9 MiB of garbage on one line (a stray writer).
        let day = minutes(1, NOW);
        let good = times_in_bytes(&day);
        let mut bytes = day.clone();
        bytes.extend(std::iter::repeat_n(b'#', 9 << 20));
        bytes.push(b'\n');
        std::fs::write(&path, &bytes).unwrap();
        let done = trim(&path, NOW, no_lock).unwrap();
        let kept = times_in(&path);
        assert_eq!(kept.len(), good.len(), "{done:?}");
        assert_eq!(kept, good);
        assert_eq!(
            done,
            Trimmed::Rewritten {
                kept: good.len(),
                dropped: 1
            }
        );
        // Without its newline, and 50 MiB of it in the middle of two days.
        let mut bytes = minutes(1, NOW - 86_400);
        bytes.extend(std::iter::repeat_n(b'x', 50 << 20));
        bytes.push(b'\n');
        bytes.extend_from_slice(&day);
        bytes.extend(std::iter::repeat_n(b'#', 9 << 20));
        std::fs::write(&path, &bytes).unwrap();
        trim(&path, NOW, no_lock).unwrap();
        let all = times_in(&path);
        assert_eq!(all.len(), 2 * good.len(), "{}", all.len());
        assert_eq!(&all[good.len()..], good);
    }

    fn times_in_bytes(bytes: &[u8]) -> Vec<i64> {
        let mut t: Vec<i64> = bytes
            .split(|&b| b == b'\n')
            .filter_map(parse_line)
            .map(|p| p.taken_at)
            .collect();
        t.sort_unstable();
        t
    }

    /// Runs a trim of a ten-day file while `appenders` threads append points as status lines
    /// do (through the store's update, under its write lock); each append the lock refuses is
    /// counted, and tried again when `retry`. Returns the times appended, the refusals and how
    /// many points the file had that the trim must keep.
    fn race(appenders: i64, retry: bool) -> (Vec<i64>, usize, Vec<i64>, usize) {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Barrier};
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::store::Store::new(
            dir.path().to_path_buf(),
            "k".into(),
        ));
        let path = store.sidecar(FILE);
        std::fs::write(&path, minutes(10, NOW)).unwrap();
        let before = times_in(&path)
            .into_iter()
            .filter(|&t| t >= NOW - KEEP_S)
            .count();
        let stop = Arc::new(AtomicBool::new(false));
        let go = Arc::new(Barrier::new(appenders as usize + 1));
        let threads: Vec<_> = (0..appenders)
            .map(|k| {
                let (store, stop, go) = (store.clone(), stop.clone(), go.clone());
                std::thread::spawn(move || {
                    let path = store.sidecar(FILE);
                    let (mut ok, mut refused) = (Vec::new(), 0);
                    go.wait();
                    for i in 0.. {
                        if stop.load(Ordering::Relaxed) && i > 20 {
                            break;
                        }
                        // A distinct time per append, after every point of the file.
                        let t = NOW + 1 + k * 100_000 + i;
                        let snap = reading(Source::Stdin, t, (i % 100) as f64 + 0.5, None);
                        loop {
                            match store
                                .update(NOW, |e| record(&path, &mut e.history, &snap).unwrap())
                            {
                                Ok(_) => ok.push(t),
                                Err(_) => refused += 1,
                            }
                            if !retry || ok.last() == Some(&t) {
                                break;
                            }
                        }
                        std::thread::sleep(std::time::Duration::from_micros(500));
                    }
                    (ok, refused)
                })
            })
            .collect();
        go.wait();
        std::thread::sleep(std::time::Duration::from_millis(5));
        // The worker's trim gives up when the lock stays busy (the next run trims); here the
        // appenders keep it busy on purpose, so the test waits for it.
        let lock = || loop {
            match store.lock_writes() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        };
        let done = trim(&path, NOW, lock).unwrap();
        assert!(matches!(done, Trimmed::Rewritten { .. }), "{done:?}");
        std::thread::sleep(std::time::Duration::from_millis(5));
        stop.store(true, Ordering::Relaxed);
        let (mut appended, mut refused) = (Vec::new(), 0);
        for t in threads {
            let (ok, r) = t.join().unwrap();
            appended.extend(ok);
            refused += r;
        }
        appended.sort_unstable();
        (appended, refused, times_in(&path), before)
    }

    /// The worker trims while status lines append: a status line is never refused the lock for
    /// the trim's sake (it waits for a rename at most), and every point appended during the trim
    /// is in the file afterwards, the file's own points too.
    #[test]
    fn appends_during_a_trim_are_neither_refused_nor_lost() {
        // One appender: any refusal is the trim's.
        let (appended, refused, after, before) = race(1, false);
        let (new, old): (Vec<i64>, Vec<i64>) = after.into_iter().partition(|&t| t > NOW);
        assert_eq!((refused, new.len(), old.len()), (0, appended.len(), before));
        assert_eq!(new, appended);
        // Three, which may also wait for each other on a loaded machine: they try again, as
        // only the count is checked here.
        let (appended, _, after, before) = race(3, true);
        let (new, old): (Vec<i64>, Vec<i64>) = after.into_iter().partition(|&t| t > NOW);
        assert_eq!((new.len(), old.len()), (appended.len(), before));
        assert_eq!(new, appended);
    }

    /// Appends that land between the trim's passes and just before it takes the lock (the
    /// closure runs right before the lock is taken) are copied before the rename.
    #[test]
    fn appends_just_before_the_lock_are_kept() {
        let (_d, path) = file();
        std::fs::write(&path, minutes(10, NOW)).unwrap();
        let at = |t| Point::of(&reading(Source::Stdin, t, 1.5, None)).unwrap();
        let done = trim(&path, NOW, || {
            for t in 1..=5 {
                append(&path, &at(NOW + t))?;
            }
            // A torn append left without its newline: copied as it is read, and dropped.
            let mut f = std::fs::OpenOptions::new().append(true).open(&path)?;
            f.write_all(b"{\"taken_at\":17")
        })
        .unwrap();
        let times = times_in(&path);
        assert_eq!(&times[times.len() - 5..], [1, 2, 3, 4, 5].map(|t| NOW + t));
        assert_eq!(
            done,
            Trimmed::Rewritten {
                kept: 8 * 1440 + 1 + 5,
                dropped: 2 * 1440 - 1 + 1
            }
        );
    }

    /// On any bytes: what the trim writes is only points, all kept again by a second trim
    /// unchanged, and it counts every byte it consumed.
    #[test]
    fn trim_lines_on_any_bytes_writes_only_points_and_is_idempotent() {
        let mut rng = crate::testutil::Rng(0x7219);
        let base = minutes(1, NOW);
        for i in 0..300 {
            let bytes = if i % 3 == 0 {
                let len = rng.below(3000);
                rng.bytes(len)
            } else {
                let n = rng.below(4000);
                rng.mutate(&base[..n])
            };
            let mut out = Vec::new();
            let c = trim_lines(&bytes[..], &mut out, NOW - 3600, true).unwrap();
            assert_eq!(c.consumed, bytes.len() as u64);
            assert_eq!(c.kept, out.iter().filter(|&&b| b == b'\n').count());
            let mut again = Vec::new();
            let c2 = trim_lines(&out[..], &mut again, NOW - 3600, true).unwrap();
            assert_eq!((c2.kept, c2.old, c2.bad, &again), (c.kept, 0, 0, &out));
            // Without `to_end`, an unterminated last line is left for later.
            let c3 = trim_lines(&bytes[..], &mut io::sink(), NOW - 3600, false).unwrap();
            let last_nl = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            assert_eq!(c3.consumed, last_nl as u64);
        }
    }
}
