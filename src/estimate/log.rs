//! The scan state on disk: one append-only log of fixed-size binary records, so that what a scan
//! writes is proportional to what it found, and a scan with nothing new writes nothing.
//!
//! Three kinds of record follow a 32-byte header:
//! - `M` (32 bytes): one message's usage as merged so far, keyed by a 64-bit hash of its
//!   de-duplication key. A later `M` for the same key supersedes it (merging is max per count,
//!   min of times, so reading an old and a new record in any order gives the new one).
//! - `F` (64 bytes): how far one transcript (keyed by a hash of its path) has been read.
//! - `A` (32 bytes): the 5-hour block chain's anchor, a block start (see the parent module).
//!
//! Why this is safe to cut anywhere: a scan appends a file's message records *before* the mark
//! that says those bytes were read, in one `write`. So every prefix of the log is a consistent
//! state: a torn or corrupt record ends the log there, the marks after it are lost with the
//! messages, and the next scan re-reads those bytes and re-derives the same records (merging is
//! idempotent). Each record carries a 24-bit check over its bytes; the tail after the last good
//! record is cut off before the next append.
//!
//! Scans read it whole only when its summary ([`super::index`]) is missing or stale.
//!
//! What it does not do: lock (only the refresh worker writes it, under its single-flight lock)
//! or fsync appends (a lost append is a re-read, never a wrong total). The log is compacted (live
//! records rewritten atomically) when at least half of it is dead.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"ccmscan\x01";
pub const HEADER: usize = 32;
pub const MSG_LEN: usize = 32;
const MARK_LEN: usize = 64;
const ANCHOR_LEN: usize = 32;
/// A log larger than this is read only up to here: a prefix is still a consistent state, so
/// even a runaway log degrades into a partial re-read instead of a cliff.
const MAX_LOG_BYTES: u64 = 512 * 1024 * 1024;
/// Marks a checkpoint taken in the middle of a file: resume at its offset whatever the file's
/// size and mtime say.
pub const PARTIAL: i64 = i64::MIN;

/// One message's token counts. `u32` per count: one API call carries at most a context window
/// (the scanner caps a message at [`super::scan::MAX_MESSAGE_TOKENS`] in all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Msg {
    /// Unix seconds.
    pub time: u32,
    pub input: u32,
    pub output: u32,
    pub creation: u32,
    pub read: u32,
}

impl Msg {
    /// Weighted tokens in tenths: `input + output + cache_creation + cache_read / 10`.
    pub fn tenths(&self) -> u64 {
        let full = u64::from(self.input) + u64::from(self.output) + u64::from(self.creation);
        full * 10 + u64::from(self.read)
    }

    /// Folds another sighting of the same message in; returns whether anything changed.
    pub fn merge(&mut self, o: &Msg) -> bool {
        let before = *self;
        self.time = self.time.min(o.time);
        self.input = self.input.max(o.input);
        self.output = self.output.max(o.output);
        self.creation = self.creation.max(o.creation);
        self.read = self.read.max(o.read);
        *self != before
    }
}

/// How far a file has been read, and how to tell it was replaced or truncated since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Start of the first byte not yet consumed (always at a line start).
    pub offset: u64,
    pub size: u64,
    /// Nanoseconds since the epoch; [`PARTIAL`] for a mid-file checkpoint.
    pub mtime: i64,
    pub inode: u64,
}

/// Keys here are already uniformly mixed 64-bit hashes: hashing them again would only cost time.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(bytes) ^ self.0.rotate_left(5);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// Stable 64-bit hash (FNV-1a, then a SplitMix64 finalizer for avalanche). Stable across runs
/// and builds, unlike std's `DefaultHasher`: the keys live on disk.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 24-bit check of a record: its bytes in 8-byte words, with the check bytes (1..4) as zero.
fn check(rec: &[u8]) -> u32 {
    let mut h: u64 = rec.len() as u64;
    for (i, chunk) in rec.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        if i == 0 {
            w[1..4].fill(0);
        }
        h = mix(h ^ u64::from_le_bytes(w));
    }
    (h & 0x00ff_ffff) as u32
}

fn seal(rec: &mut [u8]) {
    let c = check(rec).to_le_bytes();
    rec[1..4].copy_from_slice(&c[..3]);
}

fn sealed(rec: &[u8]) -> bool {
    let c = check(rec).to_le_bytes();
    rec[1..4] == c[..3]
}

/// Little-endian readers for the fixed-size records of the log and its index.
pub(super) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

pub(super) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

fn header() -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    let c = hash_bytes(&h[..28]) as u32;
    h[28..].copy_from_slice(&c.to_le_bytes());
    h
}

fn encode_msg(key: u64, m: &Msg) -> [u8; MSG_LEN] {
    let mut r = [0u8; MSG_LEN];
    r[0] = b'M';
    r[4..8].copy_from_slice(&m.time.to_le_bytes());
    r[8..16].copy_from_slice(&key.to_le_bytes());
    r[16..20].copy_from_slice(&m.input.to_le_bytes());
    r[20..24].copy_from_slice(&m.output.to_le_bytes());
    r[24..28].copy_from_slice(&m.creation.to_le_bytes());
    r[28..32].copy_from_slice(&m.read.to_le_bytes());
    seal(&mut r);
    r
}

fn msg_fields(rec: &[u8]) -> Msg {
    Msg {
        time: u32_at(rec, 4),
        input: u32_at(rec, 16),
        output: u32_at(rec, 20),
        creation: u32_at(rec, 24),
        read: u32_at(rec, 28),
    }
}

/// One message record back to its key and usage, if it is a sound one.
pub fn decode_msg(rec: &[u8; MSG_LEN]) -> Option<(u64, Msg)> {
    (rec[0] == b'M' && sealed(rec)).then(|| (u64_at(rec, 8), msg_fields(rec)))
}

fn encode_mark(path: u64, m: &Mark) -> [u8; MARK_LEN] {
    let mut r = [0u8; MARK_LEN];
    r[0] = b'F';
    r[8..16].copy_from_slice(&path.to_le_bytes());
    r[16..24].copy_from_slice(&m.offset.to_le_bytes());
    r[24..32].copy_from_slice(&m.size.to_le_bytes());
    r[32..40].copy_from_slice(&m.mtime.to_le_bytes());
    r[40..48].copy_from_slice(&m.inode.to_le_bytes());
    seal(&mut r);
    r
}

fn encode_anchor(anchor: i64) -> [u8; ANCHOR_LEN] {
    let mut r = [0u8; ANCHOR_LEN];
    r[0] = b'A';
    r[8..16].copy_from_slice(&anchor.to_le_bytes());
    seal(&mut r);
    r
}

/// Everything the log says, as of its last good record.
#[derive(Debug, Default)]
pub struct Loaded {
    pub anchor: Option<i64>,
    pub messages: KeyMap<Msg>,
    pub marks: KeyMap<Mark>,
    /// Every message record's key and offset, in log order (the last one per key is the one
    /// that holds its merged usage).
    pub offsets: Vec<(u64, u64)>,
    /// Records in the good prefix (superseded ones included): with the live count, how much
    /// of the log is dead.
    pub records: usize,
    /// Bytes of header and good records: appends go after this.
    pub good_len: u64,
    /// The file's length as found (longer than `good_len` after a torn write).
    pub file_len: u64,
}

/// Opens an existing state file for reading: never through a symlink, only a regular file (a
/// FIFO planted in the cache dir must not block the worker).
pub fn open_state(path: &Path) -> io::Result<File> {
    crate::files::open_cache_file(path)
}

/// Reads the log; anything unreadable or foreign reads as an empty state.
pub fn load(path: &Path) -> Loaded {
    let mut bytes = Vec::new();
    let Ok(file) = open_state(path) else {
        return Loaded::default();
    };
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    bytes.reserve(file_len.min(MAX_LOG_BYTES) as usize);
    if file.take(MAX_LOG_BYTES).read_to_end(&mut bytes).is_err() {
        return Loaded {
            file_len,
            ..Loaded::default()
        };
    }
    let mut loaded = decode(&bytes);
    loaded.file_len = file_len;
    loaded
}

/// Pure: the bytes of a log -> what it says, as of its last good record (`file_len` is the
/// bytes' length). Public for the fuzz target that feeds it arbitrary bytes.
pub fn decode(bytes: &[u8]) -> Loaded {
    let mut loaded = Loaded {
        file_len: bytes.len() as u64,
        ..Loaded::default()
    };
    if bytes.len() < HEADER || bytes[..HEADER] != header() {
        return loaded;
    }
    let mut at = HEADER;
    loaded.messages.reserve((bytes.len() - HEADER) / MSG_LEN);
    loaded.offsets.reserve((bytes.len() - HEADER) / MSG_LEN);
    while at < bytes.len() {
        let len = match bytes[at] {
            b'M' => MSG_LEN,
            b'F' => MARK_LEN,
            b'A' => ANCHOR_LEN,
            _ => break,
        };
        let Some(rec) = bytes.get(at..at + len) else {
            break;
        };
        if !sealed(rec) {
            break;
        }
        match rec[0] {
            b'M' => {
                let key = u64_at(rec, 8);
                let m = msg_fields(rec);
                loaded.offsets.push((key, at as u64));
                loaded
                    .messages
                    .entry(key)
                    .and_modify(|old| {
                        old.merge(&m);
                    })
                    .or_insert(m);
            }
            b'F' => {
                let mark = Mark {
                    offset: u64_at(rec, 16),
                    size: u64_at(rec, 24),
                    mtime: u64_at(rec, 32) as i64,
                    inode: u64_at(rec, 40),
                };
                loaded.marks.insert(u64_at(rec, 8), mark);
            }
            _ => loaded.anchor = Some(u64_at(rec, 8) as i64),
        }
        loaded.records += 1;
        at += len;
    }
    loaded.good_len = at as u64;
    loaded
}

/// Buffers records and appends them to the log in one `write` per checkpoint.
pub struct Appender {
    path: PathBuf,
    file: Option<File>,
    good_len: u64,
    file_len: u64,
    buf: Vec<u8>,
    /// Where each key's pending `M` record sits in `buf`: a message streamed as many lines
    /// between two checkpoints is written once.
    pending: KeyMap<usize>,
    /// Where the next flush lands in the log.
    end: u64,
    /// Key -> offset of the latest message record this run wrote.
    pub written: KeyMap<u64>,
    /// Records appended by this run.
    pub appended: usize,
    /// Checkpoints written by this run.
    pub flushes: usize,
    /// A checkpoint could not be written: what is in memory is ahead of the log.
    pub failed: bool,
}

impl Appender {
    pub fn new(path: PathBuf, loaded: &Loaded) -> Appender {
        Appender {
            path,
            file: None,
            good_len: loaded.good_len,
            file_len: loaded.file_len,
            buf: Vec::new(),
            pending: KeyMap::default(),
            end: loaded.good_len.max(HEADER as u64),
            written: KeyMap::default(),
            appended: 0,
            flushes: 0,
            failed: false,
        }
    }

    pub fn msg(&mut self, key: u64, m: &Msg) {
        let rec = encode_msg(key, m);
        if let Some(&at) = self.pending.get(&key) {
            self.buf[at..at + MSG_LEN].copy_from_slice(&rec);
            return;
        }
        self.pending.insert(key, self.buf.len());
        self.buf.extend_from_slice(&rec);
        self.appended += 1;
    }

    pub fn mark(&mut self, path: u64, m: &Mark) {
        self.buf.extend_from_slice(&encode_mark(path, m));
        self.appended += 1;
    }

    pub fn anchor(&mut self, anchor: i64) {
        self.buf.extend_from_slice(&encode_anchor(anchor));
        self.appended += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Where the log ends after what this run appended.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Appends what is buffered: one checkpoint.
    pub fn flush(&mut self) -> io::Result<()> {
        let done = self.append();
        self.failed |= done.is_err();
        done
    }

    fn append(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            self.file = Some(self.open()?);
        }
        let file = self.file.as_mut().expect("opened above");
        file.write_all(&self.buf)?;
        for (&key, &at) in &self.pending {
            self.written.insert(key, self.end + at as u64);
        }
        self.end += self.buf.len() as u64;
        self.buf.clear();
        self.pending.clear();
        self.flushes += 1;
        Ok(())
    }

    fn open(&mut self) -> io::Result<File> {
        crate::files::ensure_dir(self.path.parent().unwrap_or(Path::new(".")))?;
        let mut opts = OpenOptions::new();
        opts.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        #[cfg(windows)]
        crate::files::windows_no_follow(&mut opts);
        let file = opts.open(&self.path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other("scan state is not a regular file"));
        }
        // The file may have changed since it was loaded only if someone else wrote it; trust
        // what was loaded: cut a torn tail (or a foreign file) back to the good prefix.
        if self.good_len < HEADER as u64 {
            file.set_len(0)?;
            (&file).write_all(&header())?;
        } else if meta.len() != self.good_len || self.file_len != self.good_len {
            file.set_len(self.good_len)?;
        }
        Ok(file)
    }
}

/// Writes a fresh log holding only `anchor`, `messages` and `marks` (compaction), atomically.
/// Returns each message's key and offset in the new log.
pub fn rewrite<'a>(
    path: &Path,
    anchor: Option<i64>,
    messages: impl Iterator<Item = (u64, &'a Msg)>,
    marks: impl Iterator<Item = (u64, &'a Mark)>,
) -> io::Result<Vec<(u64, u64)>> {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut offsets = Vec::new();
    buf.extend_from_slice(&header());
    if let Some(a) = anchor {
        buf.extend_from_slice(&encode_anchor(a));
    }
    for (k, m) in messages {
        offsets.push((k, buf.len() as u64));
        buf.extend_from_slice(&encode_msg(k, m));
    }
    for (p, m) in marks {
        buf.extend_from_slice(&encode_mark(p, m));
    }
    crate::files::ensure_dir(path.parent().unwrap_or(Path::new(".")))?;
    crate::files::write_atomic(path, &buf)?;
    Ok(offsets)
}

/// Removes a state file (a legacy one) without following a link.
pub fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(time: u32, output: u32) -> Msg {
        Msg {
            time,
            input: 1,
            output,
            creation: 2,
            read: 30,
        }
    }

    fn mark(offset: u64) -> Mark {
        Mark {
            offset,
            size: offset + 1,
            mtime: 7,
            inode: 9,
        }
    }

    #[test]
    fn records_are_32_bytes_per_message_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.log");
        let mut log = Appender::new(path.clone(), &load(&path));
        log.msg(1, &msg(100, 5));
        // The same message streamed again before the checkpoint: one record, the newer one.
        log.msg(1, &msg(100, 50));
        log.msg(2, &msg(200, 1));
        log.mark(77, &mark(10));
        log.anchor(3600);
        log.flush().unwrap();
        let size = fs::metadata(&path).unwrap().len() as usize;
        assert_eq!(size, HEADER + 2 * MSG_LEN + MARK_LEN + ANCHOR_LEN);
        let l = load(&path);
        assert_eq!(l.messages[&1], msg(100, 50));
        assert_eq!(l.messages[&2], msg(200, 1));
        assert_eq!(l.marks[&77], mark(10));
        assert_eq!(l.anchor, Some(3600));
        assert_eq!(
            (l.records, l.good_len, l.file_len),
            (4, size as u64, size as u64)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_torn_or_corrupt_record_ends_the_log_and_is_cut_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.log");
        let mut log = Appender::new(path.clone(), &load(&path));
        log.msg(1, &msg(100, 5));
        log.mark(77, &mark(10));
        log.flush().unwrap();
        let good = fs::metadata(&path).unwrap().len();
        log.msg(2, &msg(100, 5));
        log.mark(77, &mark(20));
        log.flush().unwrap();
        // Torn: the second checkpoint half written.
        let full = fs::read(&path).unwrap();
        fs::write(&path, &full[..good as usize + MSG_LEN + 10]).unwrap();
        let l = load(&path);
        assert_eq!(l.marks[&77], mark(10), "the mark after the tear is lost");
        assert_eq!(
            l.messages.len(),
            2,
            "whole records before the tear are good"
        );
        // Corrupt: a flipped byte inside the second message record.
        let mut bad = full.clone();
        bad[good as usize + 20] ^= 1;
        fs::write(&path, &bad).unwrap();
        let l = load(&path);
        assert_eq!((l.messages.len(), l.marks[&77]), (1, mark(10)));
        assert_eq!(l.good_len, good);
        // The next append goes right after the good prefix.
        let mut log = Appender::new(path.clone(), &l);
        log.mark(77, &mark(30));
        log.flush().unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), good + MARK_LEN as u64);
        assert_eq!(load(&path).marks[&77], mark(30));
        // A foreign file starts over with a fresh header.
        fs::write(&path, b"{\"version\":1}").unwrap();
        let l = load(&path);
        assert_eq!((l.records, l.good_len), (0, 0));
        let mut log = Appender::new(path.clone(), &l);
        log.msg(5, &msg(1, 1));
        log.flush().unwrap();
        assert_eq!(load(&path).messages.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn state_files_are_never_opened_through_symlinks_or_as_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("s.log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(load(&link).records, 0);
        let mut log = Appender::new(link.clone(), &load(&link));
        log.msg(1, &msg(1, 1));
        assert!(log.flush().is_err());
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        let fifo = dir.path().join("f.log");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(load(&fifo).records, 0);
        let mut log = Appender::new(fifo.clone(), &load(&fifo));
        log.msg(1, &msg(1, 1));
        assert!(log.flush().is_err());
    }

    #[test]
    fn hashes_are_stable() {
        // On disk across versions: these values must never change.
        assert_eq!(hash_bytes(b"msg_1:req_1"), 0x5c5e_7356_7883_8a7f);
        assert_ne!(hash_bytes(b"msg_1:req_1"), hash_bytes(b"msg_1:req_2"));
    }
}
