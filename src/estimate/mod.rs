//! Local usage from Claude Code's own transcripts, for when no authoritative numbers can be had
//! (API-key users, tokens without the usage scope, accounts without plan windows, `--offline`, a
//! failing endpoint). Always `Source::Estimate`: the line marks it `~`.
//!
//! What it does: scans `<config dir>/projects/**/*.jsonl` incrementally ([`scan`]: only appended
//! bytes are read, progress saved as it goes), keeps de-duplicated assistant messages in an
//! append-only binary log ([`log`], `store.sidecar("scan.log")`, 32 bytes a message), finds the
//! active 5-hour block and the rolling 7 days ([`blocks`]), and turns local token counts into a
//! percent only through a *calibration* learned from recent authoritative readings
//! ([`calibration`], `store.sidecar("calibration.json")`, apart from the scan state so that
//! losing one never loses the other). Without one it reports `Used::Tokens`: it never invents
//! a percent.
//!
//! Where things are: this file runs a scan (from the summary or the whole log) and keeps the
//! log and its summary in step; [`scan`] reads transcripts; [`log`] and [`index`] are the state
//! on disk; [`blocks`] is the time arithmetic of 5-hour blocks; [`calibration`] is tokens into
//! percents and the estimate reported; the tests are in `tests.rs`.
//!
//! What it deliberately does not do: run on the hot path (only the background worker calls
//! [`update`], under its single-flight lock, so two scans never race on the state files), know
//! plan sizes, or see usage from other machines (which is why calibration can drift; see below).
//!
//! ## Cost (issue #15)
//! The log is the truth, but a scan does not load it: it works from its summary ([`index`],
//! `store.sidecar("scan.idx")`: file marks, the sorted de-dup keys with their records' offsets,
//! the sorted timeline from the block chain's anchor on). A scan with nothing new reads the
//! summary, `stat`s every transcript and writes nothing. A scan after an append reads the
//! appended bytes, looks each message up in the summary (binary search, one `pread` of its
//! record when it was seen before), appends records and marks to the log and rewrites the
//! summary (a few MB at the heaviest, ~24 bytes a kept message; measured in the bench). The log
//! is loaded in full only when the summary is missing or does not describe it, and when at
//! least half of the log is dead (superseded or expired records) and it is compacted, so that
//! cost is amortised over as many appends.
//! Progress is saved at every file end and every [`CHECKPOINT_BYTES`] inside a big file, so a
//! worker stopped at any point (its watchdog stops it after 15 s) leaves a state the next run
//! continues from. Lines longer than 64 kB that do not mention usage (pasted images, big tool
//! results) are streamed past, not held.
//!
//! ## Decisions
//! - **Token weighting** (the same for calibration and estimate, so their ratio means something):
//!   `input + output + cache_creation + cache_read / 10`. Cache reads are billed and rate-limited
//!   at roughly a tenth of fresh input; counting them in full would let one long cached session
//!   swamp everything else. Kept in integer tenths of a token so sums are exact.
//! - **One message counts for at most one context window** ([`scan::MAX_MESSAGE_TOKENS`], 1M:
//!   the largest window of any Claude model, response included): a line claiming billions is
//!   corrupt or forged and is scaled down to that, not believed.
//! - **Duplicates**: the key is `message.id:requestId` (falling back to the line's `uuid`). Claude
//!   Code writes one streamed message as several lines, the later ones with larger `output_tokens`,
//!   and copies history into new files on resume: one record per key, each count the maximum seen.
//!   On disk the key is a 64-bit hash: a collision among a million messages has odds ~1e-8.
//! - **Blocks** (as ccusage): a block starts at the hour floor of a message at or after the end
//!   (start + 5 h) of the previous block; it is active while `now < start + 5 h`. The chain is
//!   *anchored*: the first scan starts it at the first message it reads (old ones included), and
//!   before messages are pruned the anchor moves to the last block start at or before the
//!   pruning horizon. Without the anchor, pruning would move the chain's start every hour for
//!   someone who never pauses for 5 h, and their block would never reset on its own boundaries.
//!   Messages found later that are older than the anchor do not move it.
//! - **7 days** is rolling (`now - 7 d, now]`), so `resets_at` is `None`: there is no reset, only
//!   a slow roll-off, and a reset time would make the renderer's countdown lie.
//! - **Known windows win**: while the window of the newest calibration (its authoritative
//!   `resets_at`) is still running, both windows count tokens in it and report its reset time
//!   instead: right after a weekly reset a rolling week would still hold last week's usage.
//! - **Calibration**: an authoritative snapshot (stdin or oauth) taken within the last 10 minutes
//!   with `percent >= 1` for a window records `(local weighted tokens in that window, percent)`.
//!   The window is the authoritative one when it says when it resets (`[resets_at - len,
//!   taken_at]`), else our own block / rolling week at `taken_at`. Later readings of the same
//!   window replace earlier ones (integer percents are coarse, so the latest is the most precise);
//!   up to [`MAX_CALIBRATIONS`] windows are kept, none older than [`MAX_CALIBRATION_AGE_S`].
//!   Capacity = Σ wᵢ·tokensᵢ / Σ wᵢ·(percentᵢ/100) with wᵢ = 0.5^(ageᵢ / 3 days): newer readings
//!   count more (plans and model mixes change), and big readings weigh more than 1 % ones whose
//!   rounding error is large. For one calibration this is exactly tokens / (percent / 100).
//! - **Bounded state**: only messages from the last 7 days + 5 h are kept; files not modified
//!   within that horizon are marked as read without being read. Past [`MAX_MESSAGES`] the oldest
//!   messages are dropped: there is no size at which the state is thrown away.
//! - **Robustness**: malformed lines are skipped; a last line without its newline is parsed if it
//!   is already complete JSON, and the offset stays at its start so it is read again when it is
//!   finished (de-duplication makes that count once). A torn, corrupt or foreign state file is
//!   read up to its last good record, never an error.

mod blocks;
mod calibration;
mod index;
// Public for the fuzz targets (`fuzz/`): they drive the log's decoder and the transcript line
// parser directly.
pub mod log;
pub mod scan;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::store::Store;
use crate::usage::Snapshot;
use blocks::chain_anchor;
use calibration::{Calibrations, estimate};
use index::{Index, LogId};
use log::{Appender, KeyMap, Mark, Msg};

pub use calibration::{MAX_CALIBRATION_AGE_S, MAX_CALIBRATIONS};

const HOUR: i64 = 3600;
const FIVE_HOURS: i64 = 5 * HOUR;
const SEVEN_DAYS: i64 = 7 * 24 * HOUR;
/// How far back messages are kept: the week plus one block.
const HORIZON: i64 = SEVEN_DAYS + FIVE_HOURS;
/// Progress is saved at least this often inside one big file (and at every file end).
pub const CHECKPOINT_BYTES: u64 = 64 * 1024 * 1024;
/// Messages kept at most (128 MB of log); past it the oldest are dropped.
pub const MAX_MESSAGES: usize = 4_000_000;
/// A log with fewer dead records than this is not worth rewriting.
const COMPACT_MIN_DEAD: usize = 4096;

/// What one scan did, for `ccmeter refresh --wait`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Files that had new bytes read.
    pub files: usize,
    /// Bytes read from transcripts in this scan.
    pub bytes_read: u64,
    /// Messages not seen before (after de-duplication).
    pub entries: usize,
}

impl fmt::Display for ScanStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "scanned {} files, {} new bytes, {} messages",
            self.files, self.bytes_read, self.entries
        )
    }
}

/// Knobs the tests turn: when progress is saved, when a scan is cut short, when the log is
/// compacted, how many messages are kept.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    checkpoint_bytes: u64,
    /// Stop (as if killed) before reading past this many bytes.
    budget: Option<u64>,
    compact_min_dead: usize,
    max_messages: usize,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            checkpoint_bytes: CHECKPOINT_BYTES,
            budget: None,
            compact_min_dead: COMPACT_MIN_DEAD,
            max_messages: MAX_MESSAGES,
        }
    }
}

/// Scan incrementally, calibrate against `authoritative` when given and recent, and return the
/// estimate. `config_dir` is Claude Code's config dir (transcripts under `projects/`).
pub fn update(
    store: &Store,
    config_dir: &Path,
    authoritative: Option<&Snapshot>,
    now: i64,
) -> io::Result<(Snapshot, ScanStats)> {
    update_with(store, config_dir, authoritative, now, &Tuning::default())
}

fn update_with(
    store: &Store,
    config_dir: &Path,
    authoritative: Option<&Snapshot>,
    now: i64,
    tuning: &Tuning,
) -> io::Result<(Snapshot, ScanStats)> {
    let paths = Paths {
        log: store.sidecar("scan.log"),
        index: store.sidecar("scan.idx"),
        projects: config_dir.join("projects"),
    };
    let index = Index::load(&paths.index);
    // A summary of a later `now` cannot answer for this one (a clock set back); it is still
    // the log's, so it is neither used nor replaced.
    let current = index.as_ref().is_some_and(|i| i.as_of > now);
    let found = match index.filter(|i| i.as_of <= now) {
        Some(index) => quick(&paths, index, now, tuning)?,
        None => Quick::Full(None),
    };
    let (timeline, anchor, stats) = match found {
        Quick::Done(done) => done,
        Quick::Full(settle) => full(&paths, now, tuning, current, settle)?,
    };
    let mut calibrations = Calibrations::load(store, now);
    if let Some(auth) = authoritative
        && calibrations.calibrate(auth, &timeline, anchor, now)
    {
        calibrations.save(store)?;
    }
    let snapshot = estimate(&timeline, anchor, &calibrations, now);
    Ok((snapshot, stats))
}

struct Paths {
    log: PathBuf,
    index: PathBuf,
    projects: PathBuf,
}

type Scanned = (Vec<(i64, u64)>, Option<i64>, ScanStats);

fn interrupted(_: scan::Interrupted) -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "scan cut short")
}

enum Quick {
    Done(Scanned),
    /// Load the log in full; with what this run already found when it appended to the log
    /// (then the log is to be settled even if the full scan finds nothing more).
    Full(Option<ScanStats>),
}

/// The scan from the summary, without loading the log. Falls back to a full load when the
/// summary does not describe the log, a lookup finds the log not as described, or the log is
/// due for compaction (whatever was appended by then stays valid: merging is idempotent).
fn quick(paths: &Paths, mut index: Index, now: i64, tuning: &Tuning) -> io::Result<Quick> {
    let Ok(log_file) = log::open_state(&paths.log) else {
        return Ok(Quick::Full(None));
    };
    if log_file.metadata().ok().map(|m| LogId::of_meta(&m)) != Some(index.log) {
        return Ok(Quick::Full(None));
    }
    let loaded = log::Loaded {
        good_len: index.log.len,
        file_len: index.log.len,
        ..log::Loaded::default()
    };
    let mut out = Appender::new(paths.log.clone(), &loaded);
    let mut state = State {
        anchor: index.anchor,
        marks: std::mem::take(&mut index.marks),
        base: Some(Base {
            index,
            log: log_file,
            before: KeyMap::default(),
            broken: false,
        }),
        ..State::default()
    };
    let mut stats = ScanStats::default();
    let seen = scan::scan(
        &mut state,
        &mut out,
        &paths.projects,
        now,
        tuning,
        &mut stats,
    )
    .map_err(interrupted)?;
    let Some(base) = state.base.take() else {
        return Ok(Quick::Full(None));
    };
    let wrote = out.flushes > 0 || !out.is_empty();
    if base.broken {
        out.flush()?;
        return Ok(Quick::Full(wrote.then_some(stats)));
    }
    if !wrote {
        // Nothing new: nothing is written, and the summary's timeline is the answer.
        return Ok(Quick::Done((base.index.timeline, base.index.anchor, stats)));
    }
    // What this run changed in the timeline: each touched message's old weight out, its new in.
    let mut removed: Vec<(i64, u64)> = Vec::new();
    let mut added: Vec<(i64, u64)> = Vec::new();
    for (k, m) in &state.messages {
        let old = base.before.get(k);
        if old != Some(m) {
            removed.extend(old.map(|o| (i64::from(o.time), o.tenths())));
            added.push((i64::from(m.time), m.tenths()));
        }
    }
    removed.sort_unstable();
    added.sort_unstable();
    let timeline = index::apply(&base.index.timeline, &removed, &added);
    let records = base.index.records as usize + out.appended;
    let live_marks = state.marks.keys().filter(|k| seen.contains(k)).count();
    let Some(anchor) = plan(&timeline, state.anchor, records, live_marks, now, tuning) else {
        out.flush()?;
        return Ok(Quick::Full(Some(stats)));
    };
    if anchor != state.anchor
        && let Some(a) = anchor
    {
        state.anchor = anchor;
        out.anchor(a);
    }
    out.flush()?;
    let mut keys = base.index.keys();
    keys.extend(out.written.iter().map(|(k, o)| (*k, *o)));
    let keys = latest_per_key(keys);
    let records = base.index.records as usize + out.appended;
    write_index(paths, &out, &state, records, &keys, &timeline, now);
    Ok(Quick::Done((timeline, state.anchor, stats)))
}

/// The scan from the whole log, as it was before the summary existed, which it then writes.
/// `keep_index`: a summary of a later `now` exists and describes the log; leave it be.
/// `earlier`: what a run from the summary found and appended before handing over.
fn full(
    paths: &Paths,
    now: i64,
    tuning: &Tuning,
    keep_index: bool,
    earlier: Option<ScanStats>,
) -> io::Result<Scanned> {
    let loaded = log::load(&paths.log);
    let mut out = Appender::new(paths.log.clone(), &loaded);
    let loaded_records = loaded.records;
    let clean = loaded.good_len >= log::HEADER as u64 && loaded.good_len == loaded.file_len;
    let mut state = State {
        anchor: loaded.anchor,
        messages: loaded.messages,
        marks: loaded.marks,
        base: None,
    };
    let mut stats = earlier.unwrap_or_default();
    let seen = scan::scan(
        &mut state,
        &mut out,
        &paths.projects,
        now,
        tuning,
        &mut stats,
    )
    .map_err(interrupted)?;
    let mut timeline = state.timeline();
    let wrote = earlier.is_some() || out.flushes > 0 || !out.is_empty();
    if !wrote && (keep_index || !clean) {
        return Ok((timeline, state.anchor, stats));
    }
    let mut offsets = loaded.offsets;
    let records = loaded_records + out.appended;
    // Something new was written: the moment to move the anchor and, when enough of the log
    // is dead, to compact it. A scan with nothing new writes nothing to the log.
    if wrote && state.settle(&timeline, records, &seen, now, tuning, &mut out)? {
        offsets = log::rewrite(
            &paths.log,
            state.anchor,
            state.messages.iter().map(|(k, m)| (*k, m)),
            state.marks.iter().map(|(k, m)| (*k, m)),
        )?;
        let records = usize::from(state.anchor.is_some()) + offsets.len() + state.marks.len();
        timeline = state.timeline();
        if let Some(id) = LogId::of(&paths.log) {
            let keys = latest_per_key(offsets);
            write_summary(paths, id, &state, records, &keys, &timeline, now);
        }
        return Ok((timeline, state.anchor, stats));
    }
    // `settle` may have queued an anchor record.
    let records = loaded_records + out.appended;
    offsets.extend(out.written.iter().map(|(k, o)| (*k, *o)));
    let keys = latest_per_key(offsets);
    write_index(paths, &out, &state, records, &keys, &timeline, now);
    Ok((timeline, state.anchor, stats))
}

/// One `(key, offset)` per key, the last given for it, sorted by key.
fn latest_per_key(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    // Stable: of a key's entries, the last stays last.
    v.sort_by_key(|(k, _)| *k);
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for e in v {
        match out.last_mut() {
            Some(last) if last.0 == e.0 => *last = e,
            _ => out.push(e),
        }
    }
    out
}

/// Writes the summary of what this run left in the log, if the log is exactly that: every
/// checkpoint written and nothing after it.
fn write_index(
    paths: &Paths,
    out: &Appender,
    state: &State,
    records: usize,
    keys: &[(u64, u64)],
    timeline: &[(i64, u64)],
    now: i64,
) {
    if out.failed || !out.is_empty() {
        return;
    }
    match LogId::of(&paths.log) {
        Some(id) if id.len == out.end() => {
            write_summary(paths, id, state, records, keys, timeline, now)
        }
        _ => {}
    }
}

fn write_summary(
    paths: &Paths,
    log: LogId,
    state: &State,
    records: usize,
    keys: &[(u64, u64)],
    timeline: &[(i64, u64)],
    now: i64,
) {
    let summary = index::Summary {
        log,
        as_of: now,
        anchor: state.anchor,
        records: records as u64,
        marks: &state.marks,
        keys,
        timeline,
    };
    // Failing to write it costs the next scan a full load, nothing else.
    let _ = index::write(&paths.index, &summary);
}

/// A summary to look messages up in, and what this run found there.
#[derive(Debug)]
struct Base {
    index: Index,
    log: std::fs::File,
    /// Touched messages' usage as the log had it.
    before: KeyMap<Msg>,
    /// A lookup did not find the record the summary promised.
    broken: bool,
}

/// The scan state in memory: what the log says plus what this run added.
#[derive(Debug, Default)]
struct State {
    /// A block start the 5-hour chain is computed from; `None` before the first scan ends.
    anchor: Option<i64>,
    /// De-dup key hash -> the message's usage: all of them after a full load, only those this
    /// run touched when working from the summary (`base`).
    messages: KeyMap<Msg>,
    /// Path hash (relative to `projects/`) -> how far it was read.
    marks: KeyMap<Mark>,
    base: Option<Base>,
}

impl State {
    /// Folds one message line in, queueing a record when it taught us something.
    fn add(&mut self, key: u64, m: Msg, now: i64, out: &mut Appender, stats: &mut ScanStats) {
        let t = i64::from(m.time);
        if let Some(base) = &mut self.base
            && !self.messages.contains_key(&key)
            && let Some(offset) = base.index.offset(key)
        {
            match index::read_msg(&base.log, offset, key) {
                Some(old) => {
                    base.before.insert(key, old);
                    self.messages.insert(key, old);
                }
                None => base.broken = true,
            }
        }
        match self.messages.get_mut(&key) {
            Some(old) => {
                if old.merge(&m) {
                    out.msg(key, old);
                }
            }
            None => {
                let recent = t >= now - HORIZON;
                // Older messages only matter to the block chain, and only before it has an
                // anchor (the first scan anchors it on everything it reads).
                if recent || self.anchor.is_none() {
                    stats.entries += usize::from(recent);
                    self.messages.insert(key, m);
                    out.msg(key, &m);
                }
            }
        }
    }

    /// Message times and weights, oldest first.
    fn timeline(&self) -> Vec<(i64, u64)> {
        let mut v: Vec<(i64, u64)> = self
            .messages
            .values()
            .map(|m| (i64::from(m.time), m.tenths()))
            .collect();
        v.sort_unstable();
        v
    }

    /// After a scan that wrote something: moves the anchor up to the pruning horizon and
    /// either queues it (returning `false`) or prunes everything dead and returns `true`, for
    /// the caller to rewrite the log. `records` is how many records the log holds now.
    fn settle(
        &mut self,
        timeline: &[(i64, u64)],
        records: usize,
        seen: &HashSet<u64>,
        now: i64,
        tuning: &Tuning,
        out: &mut Appender,
    ) -> io::Result<bool> {
        let live_marks = self.marks.keys().filter(|k| seen.contains(k)).count();
        let Some(anchor) = plan(timeline, self.anchor, records, live_marks, now, tuning) else {
            let cutoff = cutoff(timeline, now, tuning);
            self.anchor = chain_anchor(timeline, self.anchor, cutoff);
            self.messages.retain(|_, m| i64::from(m.time) >= cutoff);
            self.marks.retain(|k, _| seen.contains(k));
            return Ok(true);
        };
        if anchor != self.anchor
            && let Some(a) = anchor
        {
            self.anchor = anchor;
            out.anchor(a);
        }
        out.flush()?;
        Ok(false)
    }
}

/// Messages before this are dropped when the log is compacted.
fn cutoff(timeline: &[(i64, u64)], now: i64, tuning: &Tuning) -> i64 {
    let cutoff = now - HORIZON;
    let recent = timeline.len() - timeline.partition_point(|(t, _)| *t < cutoff);
    if recent > tuning.max_messages {
        // No cliff: past the cap the oldest go, as if the horizon were shorter.
        return timeline[timeline.len() - tuning.max_messages].0;
    }
    cutoff
}

/// After a scan that wrote something: the chain's anchor moved up to the pruning horizon, or
/// `None` when the log (`records` records, `live_marks` marks of files still there) is at least
/// half dead and is to be compacted.
fn plan(
    timeline: &[(i64, u64)],
    anchor: Option<i64>,
    records: usize,
    live_marks: usize,
    now: i64,
    tuning: &Tuning,
) -> Option<Option<i64>> {
    let cutoff = cutoff(timeline, now, tuning);
    let live = timeline.len() - timeline.partition_point(|(t, _)| *t < cutoff) + live_marks + 1;
    let dead = records.saturating_sub(live);
    if dead >= live.max(tuning.compact_min_dead) {
        return None;
    }
    Some(chain_anchor(timeline, anchor, cutoff))
}
