//! A derived summary of the scan log (`store.sidecar("scan.idx")`), so that a scan does not have
//! to load the log: a scan with nothing new reads this file and `stat`s the transcripts; a scan
//! after an append looks up only the keys it reads and rewrites this file.
//!
//! It holds what the log says, as of the log's length when it was written:
//! - every file's mark (is anything new?);
//! - the de-dup keys, sorted, each with the offset of its latest record in the log (what is a
//!   message merged with?), looked up by binary search and one `pread`;
//! - the timeline, `(time, weight)` sorted by time from the chain's anchor on (the estimate at
//!   any later `now`, and calibration).
//!
//! Why it is safe: the log stays the only truth. The summary names the log's length, inode and
//! mtime it describes; if any differs (a run stopped between appending to the log and writing
//! the summary, a compaction, an older binary), or the summary is torn, foreign or newer than
//! `now`, it is ignored and the log is loaded in full, as before, and the summary rewritten.
//! It is written atomically but not fsynced: losing it costs one full load.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::log::{self, KeyMap, Mark, Msg, u32_at, u64_at};

const MAGIC: &[u8; 8] = b"ccmidx\x01\0";
const HEADER: usize = 80;
const MARK_LEN: usize = 40;
const KEY_LEN: usize = 12;
const TIME_LEN: usize = 12;
/// Never read a summary larger than this (a 4M-message log would be ~100 MB).
const MAX_BYTES: u64 = 256 * 1024 * 1024;
const NO_ANCHOR: i64 = i64::MIN;

/// Which log a summary describes: its length, inode and mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogId {
    pub len: u64,
    pub inode: u64,
    pub mtime: i64,
}

impl LogId {
    /// The log as it is now; `None` when it does not exist (or is not a regular file).
    pub fn of(path: &Path) -> Option<LogId> {
        let file = log::open_state(path).ok()?;
        Some(LogId::of_meta(&file.metadata().ok()?))
    }

    pub fn of_meta(meta: &std::fs::Metadata) -> LogId {
        LogId {
            len: meta.len(),
            inode: crate::files::inode(meta),
            mtime: crate::files::mtime_ns(meta),
        }
    }
}

#[derive(Debug, Default)]
pub struct Index {
    pub log: LogId,
    /// The `now` of the scan that wrote it: it cannot answer for an earlier time.
    pub as_of: i64,
    pub anchor: Option<i64>,
    /// Records in the log (superseded ones included), for the compaction decision.
    pub records: u64,
    pub marks: KeyMap<Mark>,
    /// Sorted by key: `key u64, offset u32`, little-endian.
    keys: Vec<u8>,
    pub timeline: Vec<(i64, u64)>,
}

/// Order-dependent 64-bit check, a word at a time (a byte-wise hash of a few MB would cost ms).
fn digest(bytes: &[u8]) -> u64 {
    let mut h: u64 = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(a)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    for &b in words.remainder() {
        h = (h.rotate_left(23) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    log::hash_bytes(&h.to_le_bytes())
}

impl Index {
    /// Reads the summary; `None` for anything missing, torn or foreign.
    pub fn load(path: &Path) -> Option<Index> {
        let file = log::open_state(path).ok()?;
        let len = file.metadata().ok()?.len();
        if len > MAX_BYTES {
            return None;
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(MAX_BYTES).read_to_end(&mut bytes).ok()?;
        if bytes.len() < HEADER + 8 || bytes[..8] != MAGIC[..] {
            return None;
        }
        let (body, check) = bytes.split_at(bytes.len() - 8);
        if digest(body) != u64_at(check, 0) {
            return None;
        }
        let n_marks = u32_at(body, 56) as usize;
        let n_keys = u32_at(body, 60) as usize;
        let n_times = u32_at(body, 64) as usize;
        let want = HEADER + n_marks * MARK_LEN + n_keys * KEY_LEN + n_times * TIME_LEN;
        if body.len() != want {
            return None;
        }
        let anchor = u64_at(body, 40) as i64;
        let mut idx = Index {
            log: LogId {
                len: u64_at(body, 8),
                inode: u64_at(body, 16),
                mtime: u64_at(body, 24) as i64,
            },
            as_of: u64_at(body, 32) as i64,
            anchor: (anchor != NO_ANCHOR).then_some(anchor),
            records: u64_at(body, 48),
            ..Index::default()
        };
        let mut at = HEADER;
        idx.marks.reserve(n_marks);
        for _ in 0..n_marks {
            let r = &body[at..at + MARK_LEN];
            let mark = Mark {
                offset: u64_at(r, 8),
                size: u64_at(r, 16),
                mtime: u64_at(r, 24) as i64,
                inode: u64_at(r, 32),
            };
            idx.marks.insert(u64_at(r, 0), mark);
            at += MARK_LEN;
        }
        idx.keys = body[at..at + n_keys * KEY_LEN].to_vec();
        at += n_keys * KEY_LEN;
        idx.timeline = body[at..]
            .chunks_exact(TIME_LEN)
            .map(|r| (i64::from(u32_at(r, 0)), u64_at(r, 4)))
            .collect();
        Some(idx)
    }

    /// The log offset of `key`'s latest record, by binary search over the sorted keys.
    pub fn offset(&self, key: u64) -> Option<u64> {
        let n = self.keys.len() / KEY_LEN;
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let k = u64_at(&self.keys, mid * KEY_LEN);
            match k.cmp(&key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    return Some(u64::from(u32_at(&self.keys, mid * KEY_LEN + 8)));
                }
            }
        }
        None
    }

    /// The keys as `(key, offset)`, sorted by key.
    pub fn keys(&self) -> Vec<(u64, u64)> {
        self.keys
            .chunks_exact(KEY_LEN)
            .map(|r| (u64_at(r, 0), u64::from(u32_at(r, 8))))
            .collect()
    }
}

/// Reads the message record at `offset` of the log, checking it is `key`'s.
pub fn read_msg(log: &File, offset: u64, key: u64) -> Option<Msg> {
    let mut rec = [0u8; log::MSG_LEN];
    crate::files::read_exact_at(log, &mut rec, offset).ok()?;
    log::decode_msg(&rec)
        .filter(|(k, _)| *k == key)
        .map(|(_, m)| m)
}

/// What a summary is written from.
pub struct Summary<'a> {
    pub log: LogId,
    pub as_of: i64,
    pub anchor: Option<i64>,
    pub records: u64,
    pub marks: &'a KeyMap<Mark>,
    /// Sorted by key, one per key; offsets below 4 GiB (the log is capped far below).
    pub keys: &'a [(u64, u64)],
    /// Sorted by time; entries before the anchor are left out.
    pub timeline: &'a [(i64, u64)],
}

/// Writes the summary atomically (not durably: it can always be rebuilt from the log).
pub fn write(path: &Path, s: &Summary) -> io::Result<()> {
    let from = s
        .anchor
        .map_or(0, |a| s.timeline.partition_point(|(t, _)| *t < a));
    let timeline = &s.timeline[from..];
    let (Ok(n_marks), Ok(n_keys), Ok(n_times)) = (
        u32::try_from(s.marks.len()),
        u32::try_from(s.keys.len()),
        u32::try_from(timeline.len()),
    ) else {
        return Err(io::Error::other("summary too large"));
    };
    let mut b = Vec::with_capacity(
        HEADER + s.marks.len() * MARK_LEN + s.keys.len() * KEY_LEN + timeline.len() * TIME_LEN + 8,
    );
    b.extend_from_slice(MAGIC);
    for v in [
        s.log.len,
        s.log.inode,
        s.log.mtime as u64,
        s.as_of as u64,
        s.anchor.unwrap_or(NO_ANCHOR) as u64,
        s.records,
    ] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for v in [n_marks, n_keys, n_times, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.resize(HEADER, 0);
    for (k, m) in s.marks {
        for v in [*k, m.offset, m.size, m.mtime as u64, m.inode] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
    for &(k, off) in s.keys {
        let off = u32::try_from(off).map_err(|_| io::Error::other("log offset too large"))?;
        b.extend_from_slice(&k.to_le_bytes());
        b.extend_from_slice(&off.to_le_bytes());
    }
    for &(t, w) in timeline {
        // Times come from `u32` message times.
        b.extend_from_slice(&(t as u32).to_le_bytes());
        b.extend_from_slice(&w.to_le_bytes());
    }
    let check = digest(&b);
    b.extend_from_slice(&check.to_le_bytes());
    crate::files::write_cache_file(path, &b)
}

/// Applies `removed` and `added` (each sorted) to a sorted timeline in one pass.
pub fn apply(
    timeline: &[(i64, u64)],
    removed: &[(i64, u64)],
    added: &[(i64, u64)],
) -> Vec<(i64, u64)> {
    let mut out = Vec::with_capacity(timeline.len() + added.len());
    let mut r = removed.iter().peekable();
    let mut a = added.iter().peekable();
    for &e in timeline {
        while r.peek().is_some_and(|x| **x < e) {
            r.next();
        }
        if r.peek() == Some(&&e) {
            r.next();
            continue;
        }
        while let Some(&&x) = a.peek().filter(|x| ***x <= e) {
            out.push(x);
            a.next();
        }
        out.push(e);
    }
    out.extend(a);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_reads_back_and_anything_torn_or_foreign_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.idx");
        let mut marks = KeyMap::default();
        marks.insert(
            5,
            Mark {
                offset: 1,
                size: 2,
                mtime: -3,
                inode: 4,
            },
        );
        let keys = [(1, 32), (9, 64), (u64::MAX, 96)];
        let timeline = [(100, 1), (200, 2), (300, 3)];
        let log = LogId {
            len: 128,
            inode: 7,
            mtime: 8,
        };
        let s = Summary {
            log,
            as_of: 1000,
            anchor: Some(150),
            records: 4,
            marks: &marks,
            keys: &keys,
            timeline: &timeline,
        };
        write(&path, &s).unwrap();
        let idx = Index::load(&path).unwrap();
        assert_eq!(
            (idx.log, idx.as_of, idx.anchor, idx.records),
            (log, 1000, Some(150), 4)
        );
        assert_eq!(idx.marks, marks);
        assert_eq!(idx.timeline, [(200, 2), (300, 3)], "from the anchor on");
        assert_eq!(idx.keys(), keys);
        assert_eq!(idx.offset(9), Some(64));
        assert_eq!(idx.offset(u64::MAX), Some(96));
        assert_eq!(idx.offset(2), None);
        let full = std::fs::read(&path).unwrap();
        for bad in [&full[..full.len() - 1], &full[..10], b"ccmidx\x01\0"] {
            std::fs::write(&path, bad).unwrap();
            assert!(Index::load(&path).is_none());
        }
        let mut flipped = full.clone();
        flipped[HEADER + 3] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(Index::load(&path).is_none());
    }

    #[test]
    fn changes_apply_in_one_pass() {
        let tl = [(1, 1), (2, 5), (2, 7), (4, 1)];
        assert_eq!(
            apply(&tl, &[(2, 5), (9, 9)], &[(0, 3), (2, 6), (5, 1)]),
            [(0, 3), (1, 1), (2, 6), (2, 7), (4, 1), (5, 1)]
        );
        // A duplicate entry loses one copy per removal.
        assert_eq!(apply(&[(1, 1), (1, 1)], &[(1, 1)], &[]), [(1, 1)]);
    }
}
