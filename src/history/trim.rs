//! The worker's trim: keep [`KEEP_S`](super::KEEP_S) of points, drop unreadable lines.

use std::io;
use std::path::Path;

use super::{KEEP_S, MAX_READ, TRIM_SLACK_S, Tail};

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
}
