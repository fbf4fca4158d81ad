//! Every readable point of a history, flat, for drawing thousands of them.

#[cfg(test)]
use super::Point;
use super::parse::{parse_slowly, scan_line};
use super::{Reading, Tail};

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
}
