//! Every readable point of a history, flat, for drawing thousands of them.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;

#[cfg(test)]
use super::Point;
use super::parse::{parse_slowly, scan_line};
use super::{Reading, Tail, for_each_line_of};
use crate::usage::plausible_reset;

/// Per-model windows a series keeps (the most recently read): a chart each is already a long
/// page, and a file that names thousands (corrupt, or not ours) must cost neither time nor
/// memory in proportion.
pub const MAX_MODEL_WINDOWS: usize = 8;

/// Every readable point of a history, held flat for drawing thousands of them: one vector per
/// window, nothing allocated per point.
#[derive(Debug, Default, PartialEq)]
pub struct Series {
    /// Each point's time, in file order.
    pub times: Vec<i64>,
    /// Each window kept, in order of first appearance, with its readings as (index into
    /// `times`, reading) in file order. A reset over a year past its point's time (a garbled
    /// field) is read as unknown.
    pub windows: Vec<(String, Vec<(usize, Reading)>)>,
    /// Lines that were not points.
    pub bad: usize,
    /// Distinct per-model windows left out beyond [`MAX_MODEL_WINDOWS`].
    pub windows_left_out: usize,
    /// Where each kept window is in `windows`, by name: one lookup per reading.
    index: HashMap<String, usize>,
    /// Hashes of the names left out, to count each once.
    left_out: HashSet<u64>,
}

impl Series {
    /// Every line of a tail, as [`Tail::points`] reads them.
    pub fn of_tail(tail: &Tail) -> Series {
        let mut s = Series::default();
        for line in tail.lines() {
            s.push_line(Some(line));
        }
        s
    }

    /// Every line of the file's last `cap` bytes, streamed (a garbage line of any length costs
    /// no point around it). A missing file is an empty series.
    pub fn read(path: &Path, cap: u64) -> io::Result<Series> {
        let mut s = Series::default();
        for_each_line_of(path, cap, |line| s.push_line(line))?;
        Ok(s)
    }

    fn push_line(&mut self, line: Option<&[u8]>) {
        let Some(line) = line.filter(|l| !l.is_empty()) else {
            self.bad += usize::from(line.is_none());
            return;
        };
        if let Some(p) = scan_line(line) {
            self.push(p.taken_at, p.windows().iter().copied());
        } else if let Some(p) = parse_slowly(line) {
            self.push(p.taken_at, p.windows.iter().map(|(n, r)| (n.as_str(), *r)));
        } else {
            self.bad += 1;
        }
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
        for (name, mut r) in windows {
            r.r = plausible_reset(r.r, taken_at);
            if let Some(&w) = self.index.get(name) {
                self.windows[w].1.push((i, r));
                continue;
            }
            let model = |n: &str| n != "5h" && n != "7d";
            if model(name)
                && self.windows.iter().filter(|(n, _)| model(n)).count() >= MAX_MODEL_WINDOWS
            {
                // Make room by leaving out the window read least recently (this reading is the
                // newest there is).
                let oldest = self
                    .windows
                    .iter()
                    .enumerate()
                    .filter(|(_, (n, _))| model(n))
                    .min_by_key(|(_, (_, v))| v.last().map_or(0, |(at, _)| *at))
                    .map(|(w, _)| w);
                if let Some(w) = oldest {
                    let (gone, _) = self.windows.remove(w);
                    self.note_left_out(&gone);
                    self.index = self
                        .windows
                        .iter()
                        .enumerate()
                        .map(|(w, (n, _))| (n.clone(), w))
                        .collect();
                }
            }
            self.index.insert(name.to_string(), self.windows.len());
            self.windows.push((name.to_string(), vec![(i, r)]));
            self.forget_left_out(name);
        }
    }

    fn hash(name: &str) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one(name)
    }

    fn note_left_out(&mut self, name: &str) {
        if self.left_out.insert(Series::hash(name)) {
            self.windows_left_out += 1;
        }
    }

    fn forget_left_out(&mut self, name: &str) {
        if self.left_out.remove(&Series::hash(name)) {
            self.windows_left_out -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testdata::*;
    use crate::history::*;

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

    /// 200k distinct names (the 217k took over 116 s): each reading is one lookup,
    /// and only the most recently read model windows are kept, with a count of the rest.
    #[test]
    fn thousands_of_window_names_are_bounded_and_counted() {
        let mut text = String::new();
        for i in 0..200_000 {
            text.push_str(&format!(
                "{{\"taken_at\":{},\"source\":\"oauth\",\"windows\":{{\"5h\":{{\"p\":1}},\"w{i}\":{{\"p\":2,\"r\":99999999999999}}}}}}\n",
                NOW + i
            ));
        }
        let (_d, path) = file();
        std::fs::write(&path, text).unwrap();
        let series = Series::read(&path, u64::MAX).unwrap();
        assert_eq!(series.times.len(), 200_000);
        let names: Vec<&str> = series.windows.iter().map(|(n, _)| n.as_str()).collect();
        let mut newest: Vec<String> = (200_000 - MAX_MODEL_WINDOWS..200_000)
            .map(|i| format!("w{i}"))
            .collect();
        newest.insert(0, "5h".into());
        assert_eq!(names, newest);
        assert_eq!(series.windows_left_out, 200_000 - MAX_MODEL_WINDOWS);
        assert_eq!(series.windows[0].1.len(), 200_000);
        // A reset centuries away is unknown.
        assert_eq!(series.windows[1].1[0].1.r, None);
    }
}
