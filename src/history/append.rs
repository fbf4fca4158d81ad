//! Appending a point: the rule for when one is due, and the one `O_APPEND` write.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{MAX_APPEND_LEN, Point, RESTAMP_S, Reading, open_safely};
use crate::usage::Snapshot;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testdata::*;
    use crate::history::*;
    use crate::usage::Source;

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
}
