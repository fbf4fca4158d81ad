//! Test data shared by the history's tests: readings, files of a point a minute, and an
//! in-memory file that counts its reads.

use std::io;

use super::parse::{quick_time, time_of};
use super::search::ReadAt;
use crate::usage::{ScopedWindow, Snapshot, Source, Window};

pub(crate) const NOW: i64 = 1_795_000_000;

pub(crate) fn reading(source: Source, t: i64, five: f64, seven: Option<f64>) -> Snapshot {
    Snapshot {
        five_hour: Some(Window::percent(five, Some(NOW + 3600))),
        seven_day: seven.map(|p| Window::percent(p, Some(NOW + 86_400))),
        scoped: vec![],
        extra: None,
        source,
        taken_at: t,
    }
}

pub(crate) fn file() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("k.history.jsonl");
    (d, p)
}

/// An in-memory file that counts what is read from it.
pub(crate) struct Counted {
    pub(crate) bytes: Vec<u8>,
    pub(crate) reads: usize,
    pub(crate) read_bytes: usize,
}

impl Counted {
    pub(crate) fn new(bytes: Vec<u8>) -> Counted {
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

pub(crate) const FIVE_H: i64 = 5 * 3600;
pub(crate) const WEEK: i64 = 7 * 86_400;

/// The resets of the 5-hour and weekly periods holding `t`: the ones holding NOW end 2 h
/// and 2 days after it.
pub(crate) fn resets(t: i64) -> (i64, i64) {
    let (end5, end7) = (NOW + 2 * 3600, NOW + 2 * 86_400);
    (
        end5 + (t - end5).div_euclid(FIVE_H) * FIVE_H + FIVE_H,
        end7 + (t - end7).div_euclid(WEEK) * WEEK + WEEK,
    )
}

/// The line a point a minute would have at `t`, with an opus window on the endpoint's
/// points only.
pub(crate) fn line_at(t: i64, oauth: bool) -> String {
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
pub(crate) fn minutes(days: i64, end: i64) -> Vec<u8> {
    let mut out = String::new();
    for i in (0..days * 1440).rev() {
        let t = end - i * 60;
        out.push_str(&line_at(t, i % 15 == 0));
        out.push('\n');
    }
    out.into_bytes()
}

/// Every line start of `bytes`, with the line's time (if readable).
pub(crate) fn line_starts(bytes: &[u8]) -> Vec<(usize, Option<i64>)> {
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

pub(crate) fn snapshot(now: i64, stamp: i64, source: Source) -> Snapshot {
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
