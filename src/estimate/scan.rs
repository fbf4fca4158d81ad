//! Walking `projects/` and reading what is new in each transcript into the state, saving
//! progress as it goes (see [`super::log`] for why any prefix of that progress is consistent).
//!
//! What it deliberately does not do: open anything that is not a regular file (a FIFO named
//! `*.jsonl` would block a plain `open` for ever), follow symlinked directories (they can loop),
//! or read a file untouched for longer than the horizon (nothing in it can still count).

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::log::{self, Appender, Mark, Msg};
use super::{HORIZON, ScanStats, State, Tuning};
use crate::files::{inode, mtime_ns, read_exact_at};

/// Directory depth under `projects/` that is searched (Claude Code uses one level, and two
/// for subagent transcripts).
const MAX_DEPTH: usize = 8;

/// The scan stopped early (a test's byte budget): like a kill, nothing after the last
/// checkpoint was saved.
#[derive(Debug)]
pub struct Interrupted;

/// Reads what is new in every transcript under `projects` into `state`, appending records and
/// checkpoints to `out`. Returns the path hashes of the transcripts seen.
pub(super) fn scan(
    state: &mut State,
    out: &mut Appender,
    projects: &Path,
    now: i64,
    tuning: &Tuning,
    stats: &mut ScanStats,
) -> Result<HashSet<u64>, Interrupted> {
    let mut found = Vec::new();
    collect_jsonl(projects, 0, &mut found);
    let mut seen = HashSet::with_capacity(found.len());
    let mut reader = Reader {
        state,
        out,
        now,
        tuning,
        stats,
        since_checkpoint: 0,
        buf: Vec::new(),
    };
    for path in found {
        // Follows a symlinked transcript to its target, and only a regular one counts.
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let rel = path.strip_prefix(projects).unwrap_or(&path);
        let key = log::hash_bytes(rel.as_os_str().as_encoded_bytes());
        seen.insert(key);
        let mark = Mark {
            offset: 0,
            size: meta.len(),
            mtime: mtime_ns(&meta),
            inode: inode(&meta),
        };
        let old = reader.state.marks.get(&key).copied();
        let Some(start) = resume_at(old.as_ref(), &mark) else {
            continue;
        };
        if mark.mtime < (now - HORIZON).saturating_mul(1_000_000_000) {
            // Nothing in a file untouched for longer than the horizon can still count.
            reader.save_mark(
                key,
                Mark {
                    offset: mark.size,
                    ..mark
                },
            );
            continue;
        }
        match reader.read(&path, key, start, mark) {
            Ok(offset) => {
                reader.stats.files += 1;
                reader.save_mark(key, Mark { offset, ..mark });
                // Every file end is a checkpoint; failing to save one only means re-reading.
                let _ = reader.out.flush();
                reader.since_checkpoint = 0;
            }
            Err(ReadError::Interrupted) => return Err(Interrupted),
            // Unreadable now (permissions, vanished, not a regular file after all): try again
            // from the old mark next time.
            Err(ReadError::Io) => {}
        }
    }
    Ok(seen)
}

/// Where to start reading a file, or `None` when it has not changed since `old`.
fn resume_at(old: Option<&Mark>, now: &Mark) -> Option<u64> {
    match old {
        Some(old) if old.inode == now.inode && old.size <= now.size => {
            if old.mtime == log::PARTIAL {
                Some(old.offset)
            } else if old.size == now.size && old.mtime == now.mtime {
                None
            } else if old.size == now.size {
                // Same size but rewritten in place: read it all again (de-dup makes it safe).
                Some(0)
            } else {
                Some(old.offset)
            }
        }
        // New, replaced (other inode) or truncated (shorter than it was).
        _ => Some(0),
    }
}

fn collect_jsonl(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        // Only real directories: a symlinked dir could loop.
        if kind.is_dir() {
            if depth < MAX_DEPTH {
                collect_jsonl(&path, depth + 1, out);
            }
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
}

enum ReadError {
    Interrupted,
    Io,
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> ReadError {
        ReadError::Io
    }
}

struct Reader<'a> {
    state: &'a mut State,
    out: &'a mut Appender,
    now: i64,
    tuning: &'a Tuning,
    stats: &'a mut ScanStats,
    since_checkpoint: u64,
    buf: Vec<u8>,
}

impl Reader<'_> {
    fn save_mark(&mut self, key: u64, mark: Mark) {
        if self.state.marks.insert(key, mark) != Some(mark) {
            self.out.mark(key, &mark);
        }
    }

    /// Reads `path` from `start` up to `mark.size` (its length when stat'ed, so a file growing
    /// meanwhile is picked up next time) and returns the offset of the first unconsumed byte.
    fn read(&mut self, path: &Path, key: u64, start: u64, mark: Mark) -> Result<u64, ReadError> {
        let mut file = open_transcript(path, &mark)?;
        let mut start = start;
        if start > 0 {
            // Our offsets sit just after a newline; anything else means the file was rewritten
            // (truncated and regrown past the offset): read it all again.
            let mut before = [0u8];
            file.seek(SeekFrom::Start(start - 1))?;
            if file.read_exact(&mut before).is_err() || before[0] != b'\n' {
                start = 0;
            }
        }
        file.seek(SeekFrom::Start(start))?;
        let mut reader =
            BufReader::with_capacity(256 * 1024, file.take(mark.size.saturating_sub(start)));
        let mut offset = start;
        let mut line = std::mem::take(&mut self.buf);
        let result = loop {
            line.clear();
            let (n, whole) = match next_line(&mut reader, &mut line) {
                Ok(got) => got,
                Err(_) => break Err(ReadError::Io),
            };
            if n == 0 {
                break Ok(offset);
            }
            if let Some(budget) = self.tuning.budget
                && self.stats.bytes_read + n > budget
            {
                break Err(ReadError::Interrupted);
            }
            self.stats.bytes_read += n;
            let complete = line.last() == Some(&b'\n');
            let parsed = match whole {
                Kept::Held => parse_line(&line),
                Kept::Skipped => None,
                Kept::Refetch if complete => {
                    // A long line that does mention usage: read it whole, once.
                    let mut full = vec![0u8; n as usize];
                    let file = reader.get_ref().get_ref();
                    match read_exact_at(file, &mut full, offset) {
                        Ok(()) => parse_line(&full),
                        Err(_) => break Err(ReadError::Io),
                    }
                }
                Kept::Refetch => None,
            };
            if let Some((k, m)) = parsed {
                self.state.add(k, m, self.now, self.out, self.stats);
            }
            if !complete {
                // Possibly still being written: read it again from its start next time.
                break Ok(offset);
            }
            offset += n;
            self.since_checkpoint += n;
            if self.since_checkpoint >= self.tuning.checkpoint_bytes {
                // A checkpoint inside a big file: resume here whatever its size says next time.
                let partial = Mark {
                    offset,
                    size: offset,
                    mtime: log::PARTIAL,
                    inode: mark.inode,
                };
                self.save_mark(key, partial);
                let _ = self.out.flush();
                self.since_checkpoint = 0;
            }
        };
        // Keep the line buffer for the next file, unless a blob line made it huge.
        if line.capacity() <= 1 << 20 {
            self.buf = line;
        }
        result
    }
}

/// Lines longer than this are not held whole unless they mention usage: most are pasted
/// images or big tool results (1-4 MB blobs), and holding them set the worker's peak memory.
const HOLD_MAX: usize = 64 * 1024;
const USAGE: &[u8] = b"\"usage\"";

/// What [`next_line`] left in its buffer.
enum Kept {
    /// The whole line.
    Held,
    /// Only its last bytes: it cannot hold usage.
    Skipped,
    /// Only its last bytes, but it mentions usage: read it again whole.
    Refetch,
}

/// Reads one line (up to and including its newline, or to the end of the input), holding at
/// most [`HOLD_MAX`] bytes of it unless it mentions usage. Returns its length.
fn next_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<(u64, Kept)> {
    let mut n = 0u64;
    let mut kind = Kept::Held;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let chunk = &buf[..take];
        match kind {
            Kept::Held => {
                line.extend_from_slice(chunk);
                if line.len() > HOLD_MAX {
                    kind = if contains(line, USAGE) {
                        Kept::Refetch
                    } else {
                        Kept::Skipped
                    };
                    keep_tail(line);
                }
            }
            Kept::Skipped => {
                // The tail kept from before catches a mention split across two reads.
                line.extend_from_slice(&chunk[..chunk.len().min(USAGE.len())]);
                if contains(line, USAGE) || contains(chunk, USAGE) {
                    kind = Kept::Refetch;
                }
                line.clear();
                let from = chunk.len().saturating_sub(USAGE.len());
                line.extend_from_slice(&chunk[from..]);
            }
            Kept::Refetch => {
                line.clear();
                let from = chunk.len().saturating_sub(USAGE.len());
                line.extend_from_slice(&chunk[from..]);
            }
        }
        reader.consume(take);
        n += take as u64;
        if done {
            break;
        }
    }
    Ok((n, kind))
}

/// Keeps the last few bytes of a line: enough to see its end and a mention split in two.
fn keep_tail(line: &mut Vec<u8>) {
    let from = line.len().saturating_sub(USAGE.len());
    line.drain(..from);
}

/// Opens a transcript for reading, refusing anything but the regular file that was stat'ed.
/// `O_NONBLOCK` makes even a FIFO swapped in after the stat open without waiting for a writer.
fn open_transcript(path: &Path, mark: &Mark) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = opts.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || inode(&meta) != mark.inode {
        return Err(io::Error::other("not the regular file that was listed"));
    }
    Ok(file)
}

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<Message>,
    #[serde(rename = "requestId")]
    request_id: Option<String>,
    uuid: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    id: Option<String>,
    usage: Option<Tokens>,
}

#[derive(Deserialize)]
struct Tokens {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

/// One transcript line -> the hash of its de-dup key and its usage, if it is an assistant
/// message with usage.
pub fn parse_line(line: &[u8]) -> Option<(u64, Msg)> {
    // Most lines (user turns, tool results, blobs) have no usage: skip them unparsed, before
    // even checking their UTF-8.
    if !contains(line, b"\"usage\"") {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let l: Line = serde_json::from_str(text.trim_end()).ok()?;
    if l.kind.as_deref() != Some("assistant") {
        return None;
    }
    let msg = l.message?;
    let usage = msg.usage?;
    let time = crate::usage::parse_rfc3339(l.timestamp.as_deref()?)?;
    let key = match (msg.id, l.request_id, l.uuid) {
        (None, None, None) => return None,
        (None, None, Some(uuid)) => format!("uuid:{uuid}"),
        (id, req, _) => format!("{}:{}", id.unwrap_or_default(), req.unwrap_or_default()),
    };
    let [input, output, creation, read] = capped([
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_creation_input_tokens,
        usage.cache_read_input_tokens,
    ]);
    let m = Msg {
        time: u32::try_from(time).ok()?,
        input,
        output,
        creation,
        read,
    };
    Some((log::hash_bytes(key.as_bytes()), m))
}

/// The most tokens one message can count for: everything one request reads (input, cache
/// writes, cache reads) and writes (its output) sits in the model's context window, which
/// includes the response; the largest any Claude model has is 1M tokens (Anthropic's models
/// overview, 2026: Fable 5.1, Opus 5.5 and Sonnet 5 at 1M with 128K of output; the context
/// windows page: the window is "all the text a language model can reference when generating
/// a response, including the response itself"). A line claiming more is corrupt or forged, and
/// one such line used to put 8.6 G tokens in the week.
pub const MAX_MESSAGE_TOKENS: u64 = 1_000_000;

/// A message's four counts, scaled down together when their sum exceeds
/// [`MAX_MESSAGE_TOKENS`] (so the cap holds however they are split, and their proportions —
/// which the cache-read weighting cares about — stay as they were).
fn capped(counts: [Option<u64>; 4]) -> [u32; 4] {
    let counts = counts.map(|n| u128::from(n.unwrap_or(0)));
    let total: u128 = counts.iter().sum();
    let cap = u128::from(MAX_MESSAGE_TOKENS);
    counts.map(|n| {
        let n = if total > cap { n * cap / total } else { n };
        // At most the cap, which fits.
        u32::try_from(n).unwrap_or(u32::MAX)
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut at = 0;
    while let Some(i) = hay[at..].iter().position(|&b| b == first) {
        let s = at + i + 1;
        if hay[s..].starts_with(rest) {
            return true;
        }
        at = s;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_held_only_when_they_mention_usage() {
        let blob = format!("{{\"data\":\"{}\"}}\n", "A".repeat(3 * HOLD_MAX));
        // "usage" split across two reads of 1000 bytes, far past the hold limit.
        let mut late = format!("{{\"x\":\"{}", "B".repeat(2 * HOLD_MAX + 1000 - 6 - 3));
        late += "\"usage\":1}\n";
        let short = "{\"usage\":2}\n";
        let text = format!("{blob}{late}{short}{blob}");
        let mut reader = BufReader::with_capacity(1000, text.as_bytes());
        let mut line = Vec::new();
        let mut got = Vec::new();
        loop {
            line.clear();
            let (n, kept) = next_line(&mut reader, &mut line).unwrap();
            if n == 0 {
                break;
            }
            assert!(
                line.capacity() <= 2 * HOLD_MAX + 2000,
                "{}",
                line.capacity()
            );
            let kind = match kept {
                Kept::Held => "held",
                Kept::Skipped => "skipped",
                Kept::Refetch => "refetch",
            };
            got.push((n as usize, kind, line.last() == Some(&b'\n')));
        }
        assert_eq!(
            got,
            [
                (blob.len(), "skipped", true),
                (late.len(), "refetch", true),
                (short.len(), "held", true),
                (blob.len(), "skipped", true)
            ]
        );
    }
}
