//! Local usage from Claude Code's own transcripts, for when no authoritative numbers can be had
//! (API-key users, tokens without the usage scope, accounts without plan windows, `--offline`, a
//! failing endpoint). Always `Source::Estimate`: the line marks it `~`.
//!
//! What it does: scans `<config dir>/projects/**/*.jsonl` incrementally ([`scan`]: only appended
//! bytes are read, progress saved as it goes), keeps de-duplicated assistant messages in an
//! append-only binary log ([`log`], `store.sidecar("scan.log")`, 32 bytes a message), finds the
//! active 5-hour block and the rolling 7 days, and turns local token counts into a percent only
//! through a *calibration* learned from recent authoritative readings
//! (`store.sidecar("calibration.json")`, apart from the scan state so that losing one never
//! loses the other). Without one it reports `Used::Tokens`: it never invents a percent.
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

mod index;
mod log;
mod scan;

use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::Store;
use crate::usage::{Snapshot, Source, Used, Window};
use index::{Index, LogId};
use log::{Appender, KeyMap, Mark, Msg};

const HOUR: i64 = 3600;
const FIVE_HOURS: i64 = 5 * HOUR;
const SEVEN_DAYS: i64 = 7 * 24 * HOUR;
/// How far back messages are kept: the week plus one block.
const HORIZON: i64 = SEVEN_DAYS + FIVE_HOURS;
/// An authoritative reading older than this is not used to calibrate: usage moves in minutes.
const CALIBRATION_MAX_AGE_S: i64 = 600;
/// A reading dated further ahead than this comes from a broken clock.
const FUTURE_SKEW_S: i64 = 300;
/// Half-life of a calibration's weight.
const HALF_LIFE_S: f64 = 3.0 * 24.0 * 3600.0;
/// Distinct windows remembered per kind.
pub const MAX_CALIBRATIONS: usize = 8;
/// Calibrations older than this weigh < 0.1 % and are dropped.
pub const MAX_CALIBRATION_AGE_S: i64 = 30 * 24 * 3600;
/// Readings of windows whose ends differ by less than this are the same window (reset times
/// from the endpoint may carry jitter).
const SAME_WINDOW_S: i64 = 300;
/// Bumped when the calibrations' meaning changes; other versions are ignored.
const CALIBRATION_VERSION: u32 = 1;
/// Never parse a calibration (or legacy state) file larger than this.
const MAX_JSON_BYTES: u64 = 64 * 1024 * 1024;
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

/// The block chain from `anchor` (or from the first message): the last block start at or
/// before `cutoff`, which stays exact when everything before `cutoff` is dropped (messages
/// between it and `cutoff` all lie in that block, which ended before any window we report).
/// Without one, the first block start, so the chain never depends on what is pruned later.
fn chain_anchor(timeline: &[(i64, u64)], anchor: Option<i64>, cutoff: i64) -> Option<i64> {
    let mut start = anchor;
    let mut last = anchor;
    for t in chain_times(timeline, anchor) {
        if start.is_none_or(|s| t >= s + FIVE_HOURS) {
            let s = floor_hour(t);
            start = Some(s);
            if s > cutoff {
                break;
            }
            last = Some(s);
        }
    }
    last.or(start)
}

/// Times that take part in the chain: those at or after the anchor.
fn chain_times(timeline: &[(i64, u64)], anchor: Option<i64>) -> impl Iterator<Item = i64> + '_ {
    let from = anchor.map_or(0, |a| timeline.partition_point(|(t, _)| *t < a));
    timeline[from..].iter().map(|(t, _)| *t)
}

fn floor_hour(t: i64) -> i64 {
    t - t.rem_euclid(HOUR)
}

/// Start of the block active at `now`, if any. `timeline` is sorted by time.
fn active_block(timeline: &[(i64, u64)], anchor: Option<i64>, now: i64) -> Option<i64> {
    let mut start = anchor;
    for t in chain_times(timeline, anchor).take_while(|t| *t <= now) {
        if start.is_none_or(|s| t >= s + FIVE_HOURS) {
            start = Some(floor_hour(t));
        }
    }
    start.filter(|s| *s <= now && now < s + FIVE_HOURS)
}

/// Sum of weights with `from <= t <= to`.
fn sum_between(timeline: &[(i64, u64)], from: i64, to: i64) -> u64 {
    let lo = timeline.partition_point(|(t, _)| *t < from);
    let hi = timeline.partition_point(|(t, _)| *t <= to);
    timeline[lo..hi.max(lo)].iter().map(|(_, w)| w).sum()
}

/// Local usage observed alongside an authoritative percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Calibration {
    taken_at: i64,
    /// The authoritative window's reset time, when it had one: identifies the window.
    window_end: Option<i64>,
    percent: f64,
    /// Local weighted tokens (tenths) in that window up to `taken_at`.
    tenths: u64,
}

/// What turns tokens into percents, kept in its own small file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Calibrations {
    #[serde(default)]
    version: u32,
    #[serde(default)]
    five_hour: Vec<Calibration>,
    #[serde(default)]
    seven_day: Vec<Calibration>,
}

#[derive(Clone, Copy)]
enum Kind {
    FiveHour,
    SevenDay,
}

fn read_json(path: &Path) -> Option<Vec<u8>> {
    let file = log::open_state(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_JSON_BYTES + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= MAX_JSON_BYTES).then_some(bytes)
}

impl Calibrations {
    fn load(store: &Store, now: i64) -> Calibrations {
        let mut c = read_json(&store.sidecar("calibration.json"))
            .and_then(|b| serde_json::from_slice::<Calibrations>(&b).ok())
            .filter(|c| c.version == CALIBRATION_VERSION)
            .unwrap_or_default();
        // The JSON state of earlier versions held the calibrations too: adopt them once.
        let legacy = store.sidecar("scan.json");
        if std::fs::symlink_metadata(&legacy).is_ok() {
            if c.five_hour.is_empty()
                && c.seven_day.is_empty()
                && let Some(old) =
                    read_json(&legacy).and_then(|b| serde_json::from_slice::<Calibrations>(&b).ok())
                && old.version == 1
            {
                c.five_hour = old.five_hour;
                c.seven_day = old.seven_day;
                c.version = CALIBRATION_VERSION;
                if c.save(store).is_err() {
                    return c;
                }
            }
            log::remove(&legacy);
        }
        c.version = CALIBRATION_VERSION;
        for list in [&mut c.five_hour, &mut c.seven_day] {
            list.retain(|c| now - c.taken_at <= MAX_CALIBRATION_AGE_S);
        }
        c
    }

    fn save(&self, store: &Store) -> io::Result<()> {
        crate::files::ensure_dir(store.dir())?;
        let bytes = serde_json::to_vec(self).map_err(io::Error::other)?;
        crate::files::write_atomic(&store.sidecar("calibration.json"), &bytes)
    }

    /// Records what `auth` says about local usage; returns whether anything was recorded.
    fn calibrate(
        &mut self,
        auth: &Snapshot,
        timeline: &[(i64, u64)],
        anchor: Option<i64>,
        now: i64,
    ) -> bool {
        if auth.source == Source::Estimate
            || now - auth.taken_at > CALIBRATION_MAX_AGE_S
            || auth.taken_at - now > FUTURE_SKEW_S
        {
            return false;
        }
        let at = auth.taken_at;
        let mut changed = false;
        for (kind, window) in [
            (Kind::FiveHour, auth.five_hour),
            (Kind::SevenDay, auth.seven_day),
        ] {
            let Some(Window {
                used: Used::Percent(percent),
                resets_at,
                ..
            }) = window
            else {
                continue;
            };
            if !percent.is_finite() || percent < 1.0 {
                continue;
            }
            let window_end = resets_at.filter(|&r| r > at);
            let tenths = match (kind, window_end) {
                (Kind::FiveHour, Some(end)) => sum_between(timeline, end - FIVE_HOURS, at),
                (Kind::SevenDay, Some(end)) => sum_between(timeline, end - SEVEN_DAYS, at),
                (Kind::FiveHour, None) => match active_block(timeline, anchor, at) {
                    Some(start) => sum_between(timeline, start, at),
                    None => 0,
                },
                (Kind::SevenDay, None) => sum_between(timeline, at - SEVEN_DAYS + 1, at),
            };
            if tenths == 0 {
                // Usage from elsewhere only: nothing local to scale.
                continue;
            }
            let list = match kind {
                Kind::FiveHour => &mut self.five_hour,
                Kind::SevenDay => &mut self.seven_day,
            };
            changed |= record(
                list,
                Calibration {
                    taken_at: at,
                    window_end,
                    percent,
                    tenths,
                },
            );
        }
        changed
    }
}

fn estimate(
    timeline: &[(i64, u64)],
    anchor: Option<i64>,
    cal: &Calibrations,
    now: i64,
) -> Snapshot {
    // While the window of the newest calibration is still running, count in it: it is the
    // server's own window (after a weekly reset a rolling week would still hold the old week).
    let running =
        |list: &[Calibration]| list.first().and_then(|c| c.window_end).filter(|&e| now < e);
    let (five_tenths, five_end) = match running(&cal.five_hour) {
        Some(end) => (
            Some(sum_between(timeline, end - FIVE_HOURS, now)),
            Some(end),
        ),
        None => match active_block(timeline, anchor, now) {
            Some(start) => (
                Some(sum_between(timeline, start, now)),
                Some(start + FIVE_HOURS),
            ),
            None => (None, None),
        },
    };
    let (week_tenths, week_end) = match running(&cal.seven_day) {
        Some(end) => (
            Some(sum_between(timeline, end - SEVEN_DAYS, now)),
            Some(end),
        ),
        None => {
            let t = sum_between(timeline, now - SEVEN_DAYS + 1, now);
            ((t > 0).then_some(t), None)
        }
    };
    let five_hour = window(five_tenths, five_end, capacity(&cal.five_hour, now));
    let seven_day = window(week_tenths, week_end, capacity(&cal.seven_day, now));
    Snapshot {
        five_hour,
        seven_day,
        scoped: Vec::new(),
        extra: None,
        source: Source::Estimate,
        taken_at: now,
    }
}

/// Local usage and a learned capacity (both tenths) -> the window to report.
fn window(tenths: Option<u64>, resets_at: Option<i64>, capacity: Option<f64>) -> Option<Window> {
    match (capacity, tenths) {
        (Some(cap), t) => {
            let percent = t.unwrap_or(0) as f64 / cap * 100.0;
            Some(Window::percent(percent, resets_at))
        }
        (None, Some(t)) => Some(Window::tokens((t + 5) / 10, resets_at)),
        (None, None) => None,
    }
}

/// Adds `c`, replacing an earlier reading of the same window, keeping the newest few.
/// Returns whether the list changed.
fn record(list: &mut Vec<Calibration>, c: Calibration) -> bool {
    let same = |o: &Calibration| match (o.window_end, c.window_end) {
        (Some(a), Some(b)) => (a - b).abs() < SAME_WINDOW_S,
        _ => o.taken_at == c.taken_at,
    };
    if let Some(old) = list.iter_mut().find(|o| same(o)) {
        if c.taken_at < old.taken_at || *old == c {
            return false;
        }
        *old = c;
    } else {
        list.push(c);
    }
    list.sort_by_key(|o| std::cmp::Reverse(o.taken_at));
    list.truncate(MAX_CALIBRATIONS);
    true
}

/// Weighted tokens (tenths) per 100 %, from decayed calibrations; `None` without any.
fn capacity(list: &[Calibration], now: i64) -> Option<f64> {
    let (mut tokens, mut fraction) = (0.0, 0.0);
    // Ages count from the newest calibration, not from `now`: scaling every weight alike leaves
    // the ratio unchanged, and the newest weighing exactly 1 keeps a single calibration exact.
    let newest = list.iter().map(|c| c.taken_at).max().unwrap_or(now);
    for c in list {
        let age = (newest - c.taken_at).max(0) as f64;
        let w = half_power(age / HALF_LIFE_S);
        tokens += w * c.tenths as f64;
        fraction += w * c.percent / 100.0;
    }
    (fraction > 0.0 && tokens > 0.0).then(|| tokens / fraction)
}

/// `0.5^x` for `x >= 0` without libm: `powf` is the only libm call in the binary, and linking
/// libm costs every status line a shared-library load (measured ~0.1 ms, ~15 % of start-up).
/// Integer halvings are exact; the fraction uses the exp series, accurate to ~1e-12 on [0, 1).
fn half_power(x: f64) -> f64 {
    if !x.is_finite() || x > 1000.0 {
        return 0.0;
    }
    let x = x.max(0.0);
    let whole = x.trunc();
    let y = -(x - whole) * std::f64::consts::LN_2;
    let (mut term, mut sum) = (1.0, 1.0);
    for k in 1..=14 {
        term *= y / f64::from(k);
        sum += term;
    }
    sum * 0.5f64.powi(whole as i32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn half_power_matches_powf() {
        for i in 0..=4000 {
            let x = f64::from(i) / 100.0;
            let (got, want) = (super::half_power(x), 0.5f64.powf(x));
            assert!((got - want).abs() <= want * 1e-10, "{x}: {got} vs {want}");
        }
        assert_eq!(super::half_power(f64::INFINITY), 0.0);
    }

    use super::*;
    use std::fs;
    use std::io::Write;
    use std::path::PathBuf;

    /// Before any real file's mtime, so no test file is skipped as "too old to matter".
    const NOW: i64 = 1_790_000_000;

    struct Env {
        _dir: tempfile::TempDir,
        config: PathBuf,
        store: Store,
    }

    impl Env {
        fn new() -> Env {
            let dir = tempfile::tempdir().unwrap();
            let config = dir.path().join("claude");
            fs::create_dir_all(config.join("projects/p1")).unwrap();
            fs::create_dir_all(config.join("projects/p2")).unwrap();
            let store = Store::new(dir.path().join("cache"), "acct".into());
            Env {
                _dir: dir,
                config,
                store,
            }
        }

        fn file(&self, rel: &str) -> PathBuf {
            self.config.join("projects").join(rel)
        }

        fn append(&self, rel: &str, text: &str) {
            let mut f = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.file(rel))
                .unwrap();
            f.write_all(text.as_bytes()).unwrap();
        }

        fn update(&self, auth: Option<&Snapshot>, now: i64) -> (Snapshot, ScanStats) {
            update(&self.store, &self.config, auth, now).unwrap()
        }
    }

    fn rfc3339(t: i64) -> String {
        crate::usage::format_rfc3339(t).unwrap()
    }

    /// One assistant line with `input` input and `output` output tokens, newline included.
    fn msg(id: &str, t: i64, input: u64, output: u64) -> String {
        format!(
            concat!(
                r#"{{"parentUuid":null,"type":"assistant","uuid":"u-{id}","timestamp":"{ts}","requestId":"req_{id}","#,
                r#""message":{{"id":"msg_{id}","type":"message","role":"assistant","model":"claude-sonnet-4-5","#,
                r#""content":[{{"type":"text","text":"hi"}}],"usage":{{"input_tokens":{i},"output_tokens":{o},"#,
                r#""cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}}}}"#,
                "\n"
            ),
            id = id,
            ts = rfc3339(t),
            i = input,
            o = output
        )
    }

    fn tokens(w: Option<Window>) -> Option<u64> {
        match w?.used {
            Used::Tokens(n) => Some(n),
            Used::Percent(p) => panic!("unexpected percent {p}"),
        }
    }

    fn percent(w: Option<Window>) -> f64 {
        match w.expect("window").used {
            Used::Percent(p) => p,
            Used::Tokens(n) => panic!("unexpected tokens {n}"),
        }
    }

    fn auth(
        five: Option<(f64, Option<i64>)>,
        seven: Option<(f64, Option<i64>)>,
        taken_at: i64,
    ) -> Snapshot {
        Snapshot {
            five_hour: five.map(|(p, r)| Window::percent(p, r)),
            seven_day: seven.map(|(p, r)| Window::percent(p, r)),
            scoped: Vec::new(),
            extra: None,
            source: Source::Stdin,
            taken_at,
        }
    }

    #[test]
    fn stats_display_is_what_the_bench_parses() {
        let s = ScanStats {
            files: 3,
            bytes_read: 10240,
            entries: 42,
        };
        assert_eq!(
            s.to_string(),
            "scanned 3 files, 10240 new bytes, 42 messages"
        );
    }

    #[test]
    fn duplicates_across_files_and_streamed_lines_count_once() {
        let env = Env::new();
        let t = NOW - 600;
        // Streamed: the same message twice in one file, output growing; copied into another file.
        env.append("p1/a.jsonl", &(msg("1", t, 100, 5) + &msg("1", t, 100, 50)));
        env.append(
            "p2/b.jsonl",
            &(msg("1", t, 100, 50) + &msg("2", t + 1, 10, 10)),
        );
        let (snap, stats) = env.update(None, NOW);
        assert_eq!(stats.entries, 2);
        assert_eq!(stats.files, 2);
        assert_eq!(tokens(snap.five_hour), Some(150 + 20));
        assert_eq!(tokens(snap.seven_day), Some(170));
        assert_eq!(snap.source, Source::Estimate);
        assert_eq!(snap.taken_at, NOW);
    }

    /// One line with a token count in the billions (a corrupt or forged transcript) used to
    /// saturate its counts at u32::MAX and put 8.6 G tokens in the week; now it counts for at
    /// most what one request can hold.
    #[test]
    fn one_absurd_line_counts_at_most_one_full_context_window() {
        let env = Env::new();
        let t = NOW - 600;
        env.append(
            "p1/a.jsonl",
            &(msg("1", t, 8_600_000_000, 8_600_000_000) + &msg("2", t + 1, 100, 50)),
        );
        let (snap, _) = env.update(None, NOW);
        assert_eq!(tokens(snap.seven_day), Some(1_000_000 + 150));
        assert_eq!(tokens(snap.five_hour), Some(1_000_000 + 150));
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let env = Env::new();
        let t = NOW - 60;
        let mut text = String::new();
        text += "not json at all\n";
        text += "{\"type\":\"assistant\",\"message\":{\"usage\":\n";
        text += "\u{feff}\n\n";
        text += &msg("1", t, 1, 2);
        text += r#"{"type":"assistant","timestamp":"yesterday","message":{"id":"x","usage":{"input_tokens":5}}}"#;
        text += "\n";
        text += r#"{"type":"user","timestamp":"2026-01-01T00:00:00Z","message":{"id":"y","usage":{"input_tokens":5}}}"#;
        text += "\n";
        text += r#"{"type":"assistant","message":{"id":"z","usage":{"input_tokens":"many"}}}"#;
        text += "\n";
        env.append("p1/a.jsonl", &text);
        fs::write(env.file("p1/bin.jsonl"), b"\xff\xfe\"usage\"\n").unwrap();
        let (snap, stats) = env.update(None, NOW);
        assert_eq!(stats.entries, 1);
        assert_eq!(tokens(snap.five_hour), Some(3));
    }

    #[test]
    fn half_written_last_line_is_counted_once_when_finished() {
        let env = Env::new();
        let t = NOW - 60;
        let full = msg("1", t, 100, 200);
        let (head, tail) = full.split_at(full.len() / 2);
        env.append("p1/a.jsonl", &(msg("0", t, 1, 0) + head));
        let (snap, stats) = env.update(None, NOW);
        assert_eq!(stats.entries, 1);
        assert_eq!(tokens(snap.five_hour), Some(1));
        env.append("p1/a.jsonl", tail);
        let (snap, stats) = env.update(None, NOW + 1);
        assert_eq!(stats.entries, 1);
        // The half line is read again from its start.
        assert_eq!(stats.bytes_read, full.len() as u64);
        assert_eq!(tokens(snap.five_hour), Some(301));
        let (snap, stats) = env.update(None, NOW + 2);
        assert_eq!((stats.bytes_read, stats.entries), (0, 0));
        assert_eq!(tokens(snap.five_hour), Some(301));
    }

    #[test]
    fn complete_last_line_without_newline_counts_once() {
        let env = Env::new();
        let line = msg("1", NOW - 60, 7, 0);
        env.append("p1/a.jsonl", line.trim_end());
        let (snap, _) = env.update(None, NOW);
        assert_eq!(tokens(snap.five_hour), Some(7));
        env.append("p1/a.jsonl", "\n");
        let (snap, stats) = env.update(None, NOW + 1);
        assert_eq!(stats.entries, 0);
        assert_eq!(tokens(snap.five_hour), Some(7));
    }

    #[test]
    fn block_starts_at_hour_floor_and_a_new_one_after_five_hours() {
        let env = Env::new();
        // 10:20 and 14:50 are one block (10:00-15:00); 15:10 is past its end: new block 15:00-20:00.
        let day = NOW - NOW.rem_euclid(86_400) - 86_400;
        let at = |h: i64, m: i64| day + h * HOUR + m * 60;
        env.append(
            "p1/a.jsonl",
            &(msg("1", at(10, 20), 1, 0) + &msg("2", at(14, 50), 10, 0)),
        );
        let (snap, _) = env.update(None, at(14, 55));
        assert_eq!(snap.five_hour.unwrap().resets_at, Some(at(15, 0)));
        assert_eq!(tokens(snap.five_hour), Some(11));
        env.append("p1/a.jsonl", &msg("3", at(15, 10), 100, 0));
        let (snap, _) = env.update(None, at(15, 30));
        assert_eq!(snap.five_hour.unwrap().resets_at, Some(at(20, 0)));
        assert_eq!(tokens(snap.five_hour), Some(100));
        // The block ended and nothing new came: no active block, but the week still counts.
        let (snap, _) = env.update(None, at(20, 0));
        assert_eq!(snap.five_hour, None);
        assert_eq!(tokens(snap.seven_day), Some(111));
        assert_eq!(snap.seven_day.unwrap().resets_at, None);
    }

    #[test]
    fn block_chain_follows_block_ends_not_message_gaps() {
        // Continuous activity every hour: blocks 00-05, 05-10; a message at 09:30 belongs to the second.
        let tl: Vec<(i64, u64)> = (0..10).map(|h| (h * HOUR + 30 * 60, 1)).collect();
        assert_eq!(active_block(&tl, None, 9 * HOUR + 40 * 60), Some(5 * HOUR));
        // A 6 h gap after 00:30: the next block starts at the hour floor of the next message.
        let tl = [(30 * 60, 1), (6 * HOUR + 45 * 60, 1)];
        assert_eq!(active_block(&tl, None, 7 * HOUR), Some(6 * HOUR));
        assert_eq!(active_block(&tl, None, 11 * HOUR), None);
    }

    #[test]
    fn seven_days_roll_off_and_old_messages_leave_the_state() {
        let env = Env::new();
        env.append(
            "p1/a.jsonl",
            &(msg("old", NOW - SEVEN_DAYS - 10, 1000, 0) + &msg("new", NOW - 10, 1, 0)),
        );
        for i in 0..4 {
            env.append(
                "p1/a.jsonl",
                &msg(&format!("o{i}"), NOW - SEVEN_DAYS - 100 - i, 5, 0),
            );
        }
        let (snap, _) = env.update(None, NOW);
        assert_eq!(tokens(snap.seven_day), Some(1));
        let (snap, _) = env.update(None, NOW - 20);
        assert_eq!(
            tokens(snap.seven_day),
            Some(1000),
            "inside the week 20 s earlier"
        );
        let (snap, _) = env.update(None, NOW + SEVEN_DAYS);
        assert_eq!(snap.seven_day, None);
        assert_eq!(snap.five_hour, None);
        let (snap, _) = env.update(None, NOW + HORIZON);
        assert!(snap.is_empty());
        // Pruned when the log is next written (a scan with nothing new writes nothing).
        env.append("p2/b.jsonl", &msg("newer", NOW + HORIZON, 1, 0));
        let tight = Tuning {
            compact_min_dead: 0,
            ..Tuning::default()
        };
        update_with(&env.store, &env.config, None, NOW + HORIZON + 1, &tight).unwrap();
        let kept = log::load(&env.store.sidecar("scan.log"));
        assert_eq!(kept.messages.len(), 1);
        assert_eq!(kept.records, 1 + 1 + 2, "anchor, message, two marks");
    }

    #[test]
    fn calibration_turns_tokens_into_an_exact_percent() {
        let env = Env::new();
        let day = NOW - NOW.rem_euclid(86_400) - 86_400;
        let start = day + 10 * HOUR;
        env.append("p1/a.jsonl", &msg("1", start + 600, 400, 600));
        // 1000 local tokens were 10 % of the 5 h window and 2 % of the week.
        let reading = auth(
            Some((10.0, Some(start + FIVE_HOURS))),
            Some((2.0, Some(NOW + 86_400))),
            start + 700,
        );
        let (snap, _) = env.update(Some(&reading), start + 800);
        assert_eq!(percent(snap.five_hour), 10.0);
        assert_eq!(snap.five_hour.unwrap().resets_at, Some(start + FIVE_HOURS));
        assert_eq!(percent(snap.seven_day), 2.0);
        // 1500 more: 2500 / (1000 / 0.10) = 25 %; the week 2500 / 50000 = 5 %.
        env.append("p2/b.jsonl", &msg("2", start + 3600, 1000, 500));
        let (snap, _) = env.update(None, start + 3700);
        assert_eq!(percent(snap.five_hour), 25.0);
        assert_eq!(percent(snap.seven_day), 5.0);
        assert_eq!(snap.seven_day.unwrap().resets_at, Some(NOW + 86_400));
        // After the block: calibrated, so 0 % with no reset rather than nothing.
        let (snap, _) = env.update(None, start + FIVE_HOURS + 60);
        assert_eq!(snap.five_hour, Some(Window::percent(0.0, None)));
    }

    #[test]
    fn a_running_authoritative_week_is_counted_instead_of_the_rolling_one() {
        let env = Env::new();
        let day = 86_400;
        env.append(
            "p1/a.jsonl",
            &(msg("1", NOW - 3 * day, 1000, 0) + &msg("2", NOW - 60, 1000, 0)),
        );
        // The server's week started 2 days ago: only message 2 is in it, and it was 10 %.
        let reading = auth(None, Some((10.0, Some(NOW + 5 * day))), NOW);
        let (snap, _) = env.update(Some(&reading), NOW);
        assert_eq!(
            snap.seven_day,
            Some(Window::percent(10.0, Some(NOW + 5 * day)))
        );
        assert_eq!(tokens(snap.five_hour), Some(1000));
        // Once that week is over, the rolling week (message 2 only by then) with no reset time.
        let (snap, _) = env.update(None, NOW + 5 * day + 1);
        assert_eq!(snap.seven_day, Some(Window::percent(10.0, None)));
    }

    #[test]
    fn newer_readings_of_a_window_replace_older_and_windows_decay() {
        let mut list = Vec::new();
        let c = |taken_at, end, percent, tenths| Calibration {
            taken_at,
            window_end: Some(end),
            percent,
            tenths,
        };
        record(&mut list, c(100, 1000, 1.0, 10));
        record(&mut list, c(200, 1010, 10.0, 1000));
        assert_eq!(list.len(), 1);
        assert_eq!(capacity(&list, 200), Some(10_000.0));
        // Two windows of equal age weigh by size: (1000 + 3000) / (0.10 + 0.10).
        record(&mut list, c(200, 1_000_000, 10.0, 3000));
        assert_eq!(capacity(&list, 200), Some(20_000.0));
        // One half-life later the newer reading counts twice as much.
        let mut list = vec![c(0, 1, 10.0, 1000)];
        record(&mut list, c(HALF_LIFE_S as i64, 1_000_000, 10.0, 4000));
        let cap = capacity(&list, HALF_LIFE_S as i64).unwrap();
        assert!(
            (cap - (0.5 * 1000.0 + 4000.0) / (0.5 * 0.1 + 0.1)).abs() < 1e-6,
            "{cap}"
        );
        for i in 0..20 {
            record(&mut list, c(i, 10_000 * (i + 10), 5.0, 100));
        }
        assert_eq!(list.len(), MAX_CALIBRATIONS);
    }

    #[test]
    fn no_calibration_means_tokens_never_a_percent() {
        let env = Env::new();
        env.append("p1/a.jsonl", &msg("1", NOW - 60, 10, 20));
        // Unusable readings: stale, below 1 %, from an estimate, or no local usage in the window.
        let stale = auth(
            Some((50.0, None)),
            Some((50.0, None)),
            NOW - CALIBRATION_MAX_AGE_S - 1,
        );
        let tiny = auth(Some((0.5, None)), Some((0.9, None)), NOW);
        let mut estimate = auth(Some((50.0, None)), Some((50.0, None)), NOW);
        estimate.source = Source::Estimate;
        let elsewhere = auth(Some((50.0, Some(NOW - 30 + FIVE_HOURS))), None, NOW);
        for reading in [None, Some(&stale), Some(&tiny), Some(&estimate)] {
            let (snap, _) = env.update(reading, NOW);
            assert_eq!(tokens(snap.five_hour), Some(30));
            assert_eq!(tokens(snap.seven_day), Some(30));
        }
        // A window that started after our only message: nothing local to scale.
        let (snap, _) = env.update(Some(&elsewhere), NOW);
        assert_eq!(tokens(snap.five_hour), Some(30));
        let empty = Env::new();
        assert!(empty.update(None, NOW).0.is_empty());
    }

    #[test]
    fn cache_reads_weigh_a_tenth() {
        let line = msg("1", NOW, 1, 2).replace(
            r#""cache_creation_input_tokens":0,"cache_read_input_tokens":0"#,
            r#""cache_creation_input_tokens":3,"cache_read_input_tokens":1000"#,
        );
        let (key, rec) = scan::parse_line(line.as_bytes()).unwrap();
        assert_eq!(rec.tenths(), 60 + 1000);
        assert_eq!(key, log::hash_bytes(b"msg_1:req_1"));
    }

    #[test]
    fn second_scan_reads_only_appended_bytes() {
        let env = Env::new();
        let first = msg("1", NOW - 100, 1, 1) + &msg("2", NOW - 90, 1, 1);
        env.append("p1/a.jsonl", &first);
        env.append("p2/b.jsonl", &msg("3", NOW - 80, 1, 1));
        let (_, stats) = env.update(None, NOW);
        assert_eq!(
            stats.bytes_read,
            (first.len() + msg("3", NOW - 80, 1, 1).len()) as u64
        );
        let more = msg("4", NOW - 10, 5, 5);
        env.append("p1/a.jsonl", &more);
        let (snap, stats) = env.update(None, NOW);
        assert_eq!(
            stats,
            ScanStats {
                files: 1,
                bytes_read: more.len() as u64,
                entries: 1
            }
        );
        assert_eq!(tokens(snap.five_hour), Some(16));
    }

    #[test]
    fn truncated_and_replaced_files_are_rescanned() {
        let env = Env::new();
        let a = msg("1", NOW - 100, 1, 0) + &msg("2", NOW - 90, 2, 0);
        env.append("p1/a.jsonl", &a);
        env.append("p1/b.jsonl", &msg("3", NOW - 80, 4, 0));
        env.update(None, NOW);
        // Truncated: shorter than what we consumed.
        let short = msg("5", NOW - 50, 8, 0);
        fs::write(env.file("p1/a.jsonl"), &short).unwrap();
        // Replaced: a new file (new inode) renamed over the old one, longer than before.
        let replacement = msg("3", NOW - 80, 4, 0) + &msg("6", NOW - 40, 16, 0);
        fs::write(env.file("p1/b.new"), &replacement).unwrap();
        fs::rename(env.file("p1/b.new"), env.file("p1/b.jsonl")).unwrap();
        let (snap, stats) = env.update(None, NOW);
        assert_eq!(stats.bytes_read, (short.len() + replacement.len()) as u64);
        assert_eq!(stats.entries, 2);
        // Messages already counted stay counted (they happened); new ones add once.
        assert_eq!(tokens(snap.five_hour), Some(1 + 2 + 4 + 8 + 16));
    }

    #[test]
    fn file_rewritten_past_its_offset_is_rescanned() {
        let env = Env::new();
        let first = msg("1", NOW - 100, 1, 0);
        env.append("p1/a.jsonl", &first);
        env.update(None, NOW);
        // Same inode, rewritten with different content longer than before: the byte before
        // our offset is no longer a newline.
        let text = format!("{{\"type\":\"summary\"}}\n{}", msg("2", NOW - 50, 2, 0));
        fs::OpenOptions::new()
            .write(true)
            .open(env.file("p1/a.jsonl"))
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let (snap, stats) = env.update(None, NOW);
        assert_eq!(stats.bytes_read, text.len() as u64);
        assert_eq!(tokens(snap.five_hour), Some(3));
    }

    #[test]
    fn corrupt_state_means_a_fresh_scan() {
        let env = Env::new();
        let text = msg("1", NOW - 100, 1, 0);
        env.append("p1/a.jsonl", &text);
        env.update(None, NOW);
        let state = env.store.sidecar("scan.log");
        for junk in [
            &b"{\"version\":1,\"files\":{"[..],
            b"\xff\x00",
            b"ccmscan\x01",
            b"ccmscan\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            b"",
        ] {
            fs::write(&state, junk).unwrap();
            let (snap, stats) = env.update(None, NOW);
            assert_eq!(stats.bytes_read, text.len() as u64);
            assert_eq!(tokens(snap.five_hour), Some(1));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&state).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn missing_projects_dir_is_an_empty_estimate() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cache"), "k".into());
        let (snap, stats) = update(&store, &dir.path().join("nope"), None, NOW).unwrap();
        assert!(snap.is_empty());
        assert_eq!(stats, ScanStats::default());
    }

    fn with(tuning: Tuning) -> impl Fn(&Env, i64) -> io::Result<(Snapshot, ScanStats)> {
        move |env, now| update_with(&env.store, &env.config, None, now, &tuning)
    }

    /// The cache dir's files with their sizes and mtimes: what "writes nothing" is checked on.
    fn cache_files(env: &Env) -> Vec<(String, u64, std::time::SystemTime)> {
        let mut v: Vec<_> = fs::read_dir(env.store.dir())
            .unwrap()
            .flatten()
            .map(|e| {
                let m = e.metadata().unwrap();
                let name = e.file_name().to_string_lossy().into_owned();
                (name, m.len(), m.modified().unwrap())
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_scan_with_nothing_new_writes_nothing() {
        let env = Env::new();
        env.append("p1/a.jsonl", &msg("1", NOW - 100, 1, 0));
        env.append("p2/b.jsonl", &msg("2", NOW - 90, 2, 0));
        env.update(None, NOW);
        let before = cache_files(&env);
        assert_eq!(before.len(), 2, "the scan log and its summary: {before:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        for later in [NOW, NOW + 600, NOW + 3 * 86_400] {
            let (_, stats) = env.update(None, later);
            assert_eq!(stats, ScanStats::default());
            assert_eq!(cache_files(&env), before, "at {later}");
        }
        // An append costs its own bytes and appends one message and one mark (96 bytes).
        let more = msg("3", NOW + 10, 4, 0);
        env.append("p1/a.jsonl", &more);
        let (snap, stats) = env.update(None, NOW + 20);
        assert_eq!(stats.bytes_read, more.len() as u64);
        assert_eq!(tokens(snap.five_hour), Some(7));
        let after = cache_files(&env);
        assert_eq!(after[1].0, "acct.scan.log");
        assert_eq!(after[1].1, before[1].1 + 96);
    }

    /// Runs the scan from the summary, which must be usable, and a full load of the same log
    /// (which then finds nothing new and writes nothing): both must say the same.
    fn quick_and_full(env: &Env, now: i64, tuning: &Tuning) -> (Snapshot, ScanStats) {
        let paths = Paths {
            log: env.store.sidecar("scan.log"),
            index: env.store.sidecar("scan.idx"),
            projects: env.config.join("projects"),
        };
        let index = Index::load(&paths.index).expect("a summary");
        let (tl, anchor, stats) = match quick(&paths, index, now, tuning).unwrap() {
            Quick::Done(done) => done,
            Quick::Full(s) => {
                assert!(tuning.compact_min_dead == 0, "fell back to a full load");
                full(&paths, now, tuning, false, s).unwrap()
            }
        };
        let (full_tl, full_anchor, full_stats) = full(&paths, now, tuning, true, None).unwrap();
        assert_eq!(full_stats.bytes_read, 0);
        assert_eq!(anchor, full_anchor);
        let from = |tl: &[(i64, u64)]| -> Vec<(i64, u64)> {
            tl.iter()
                .filter(|(t, _)| anchor.is_none_or(|a| *t >= a))
                .copied()
                .collect()
        };
        assert_eq!(from(&tl), from(&full_tl), "at {now}");
        let cal = Calibrations::default();
        let snap = estimate(&tl, anchor, &cal, now);
        assert_eq!(snap, estimate(&full_tl, anchor, &cal, now));
        (snap, stats)
    }

    #[test]
    fn a_reply_longer_than_the_hold_limit_still_counts_once() {
        let env = Env::new();
        let long =
            msg("1", NOW - 60, 3, 4).replace("\"hi\"", &format!("\"{}\"", "y".repeat(200_000)));
        let blob = format!(
            "{{\"type\":\"user\",\"data\":\"{}\"}}\n",
            "A".repeat(300_000)
        );
        env.append(
            "p1/a.jsonl",
            &(blob.clone() + &long + &blob + &msg("2", NOW - 50, 1, 0)),
        );
        let (snap, stats) = env.update(None, NOW);
        assert_eq!(stats.entries, 2);
        assert_eq!(tokens(snap.five_hour), Some(8));
    }

    #[test]
    fn the_summary_answers_as_the_full_log_would() {
        let env = Env::new();
        let start = NOW - 3 * 86_400;
        env.append("p1/a.jsonl", &msg("old", NOW - 20 * 86_400, 100, 0));
        env.update(None, start);
        let mut want_week = 0;
        for tuning in [
            Tuning::default(),
            Tuning {
                compact_min_dead: 0,
                ..Tuning::default()
            },
        ] {
            for step in 0..30i64 {
                let now = start
                    + step * 2 * HOUR
                    + if tuning.compact_min_dead == 0 {
                        3 * 86_400
                    } else {
                        0
                    };
                let mut text = String::new();
                // A new reply streamed as two lines, the first of which came in the last step.
                text += &msg(&format!("{now}"), now - 60, 1, 1);
                if step > 0 {
                    text += &msg(&format!("{}", now - 2 * HOUR), now - 2 * HOUR - 60, 1, 5);
                }
                env.append("p1/a.jsonl", &text);
                // Every fifth step a resumed session copies the history so far; every seventh,
                // a message older than the horizon shows up.
                if step % 5 == 4 {
                    let copy = fs::read_to_string(env.file("p1/a.jsonl")).unwrap();
                    env.append(&format!("p2/{step}.jsonl"), &copy);
                }
                if step % 7 == 6 {
                    env.append(
                        "p2/old.jsonl",
                        &msg(&format!("o{step}"), now - 9 * 86_400, 7, 0),
                    );
                }
                let (snap, stats) = quick_and_full(&env, now, &tuning);
                assert!(stats.bytes_read >= text.len() as u64);
                want_week = tokens(snap.seven_day).unwrap();
                // Nothing new: the summary answers alone, and later too.
                let (again, stats) = quick_and_full(&env, now, &tuning);
                assert_eq!((again, stats.bytes_read), (snap, 0));
                quick_and_full(&env, now + 3 * HOUR, &tuning);
            }
        }
        assert!(want_week > 0);
        // The summary is gone or stale: the log is loaded in full and it is written again.
        fs::remove_file(env.store.sidecar("scan.idx")).unwrap();
        let now = start + 3 * 86_400 + 60 * HOUR;
        let (snap, stats) = env.update(None, now);
        assert_eq!(stats.bytes_read, 0);
        assert_eq!(quick_and_full(&env, now, &Tuning::default()).0, snap);
    }

    #[test]
    fn a_scan_cut_short_is_continued_not_restarted_and_totals_stay_exact() {
        let env = Env::new();
        let mut total_bytes = 0u64;
        let mut want = 0u64;
        for f in 0..3 {
            let mut text = String::new();
            for i in 0..300u64 {
                let id = format!("{f}-{i}");
                // Streamed: a first line with partial output, then the final one.
                text += &msg(&id, NOW - 3600 + i as i64, 1, 1);
                text += &msg(&id, NOW - 3600 + i as i64, 1, i);
                want += 1 + i.max(1);
            }
            // A resumed session copies the first file's history.
            if f == 2 {
                text = fs::read_to_string(env.file("p1/0.jsonl")).unwrap() + &text;
            }
            total_bytes += text.len() as u64;
            env.append(&format!("p1/{f}.jsonl"), &text);
        }
        let killed = |budget| Tuning {
            checkpoint_bytes: 16 * 1024,
            budget: Some(budget),
            ..Tuning::default()
        };
        let checkpointed = |env: &Env| -> u64 {
            let l = log::load(&env.store.sidecar("scan.log"));
            l.marks.values().map(|m| m.offset).sum()
        };
        // Killed after 100 kB: progress up to the last checkpoint survives.
        let err = with(killed(100_000))(&env, NOW).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
        let saved = checkpointed(&env);
        assert!(
            saved > 100_000 - 16 * 1024 - 1024 && saved <= 100_000,
            "{saved}"
        );
        // Killed again and again: every run moves on from where the last one saved.
        let mut runs = 0;
        loop {
            let before = checkpointed(&env);
            match with(killed(60_000))(&env, NOW) {
                Ok(_) => break,
                Err(_) => assert!(checkpointed(&env) > before, "no progress"),
            }
            runs += 1;
        }
        assert!(runs >= 2, "{runs}");
        let (snap, stats) = env.update(None, NOW);
        assert_eq!(stats.bytes_read, 0);
        assert_eq!(checkpointed(&env), total_bytes);
        assert_eq!(tokens(snap.five_hour), Some(want));
        assert_eq!(tokens(snap.seven_day), Some(want));
        // And the next run after a single kill reads exactly the remainder.
        let env2 = Env::new();
        for f in 0..3 {
            let text = fs::read_to_string(env.file(&format!("p1/{f}.jsonl"))).unwrap();
            env2.append(&format!("p1/{f}.jsonl"), &text);
        }
        with(killed(150_000))(&env2, NOW).unwrap_err();
        let saved = checkpointed(&env2);
        let (snap, stats) = env2.update(None, NOW);
        assert_eq!(stats.bytes_read, total_bytes - saved);
        assert_eq!(tokens(snap.five_hour), Some(want));
    }

    /// The issue's round-the-clock user: a message every 20 minutes for two weeks, never a
    /// 5-hour pause, scanned every hour. The chain started at 03:00 on day 0 puts a block start
    /// at 22:00 on day 14 (358 h = 71 blocks later).
    #[test]
    fn round_the_clock_use_resets_the_block_on_the_chains_own_boundaries() {
        let day0 = NOW - NOW.rem_euclid(86_400) - 15 * 86_400;
        let at = |d: i64, h: i64, m: i64| day0 + d * 86_400 + h * HOUR + m * 60;
        let env = Env::new();
        let tight = Tuning {
            compact_min_dead: 0,
            ..Tuning::default()
        };
        let mut next = at(0, 3, 0);
        let mut results = Vec::new();
        let mut scan_at = at(0, 3, 10);
        while scan_at <= at(14, 22, 10) {
            let mut text = String::new();
            while next <= scan_at {
                text += &msg(&next.to_string(), next, 1, 0);
                next += 20 * 60;
            }
            env.append("p1/a.jsonl", &text);
            let (snap, _) = with(tight)(&env, scan_at).unwrap();
            if scan_at >= at(14, 19, 10) {
                let w = snap.five_hour.unwrap();
                results.push((tokens(Some(w)).unwrap(), w.resets_at.unwrap()));
            }
            scan_at += HOUR;
        }
        assert_eq!(
            results,
            [
                (7, at(14, 22, 0)),
                (10, at(14, 22, 0)),
                (13, at(14, 22, 0)),
                (1, at(15, 3, 0))
            ]
        );
        // Pruning did happen (the log never holds more than twice what is live).
        let kept = log::load(&env.store.sidecar("scan.log"));
        assert!(kept.messages.len() < 2 * 7 * 72, "{}", kept.messages.len());
        assert!(
            kept.anchor.is_some_and(|a| a > at(6, 0, 0)),
            "{:?}",
            kept.anchor
        );
    }

    #[test]
    fn the_first_scan_anchors_the_chain_on_everything_it_reads() {
        // Ten days of a message every 20 minutes from 03:00, read in one first scan at day 9
        // 19:10: the chain over all of it (not only the kept week) says block 17:00.
        let day0 = NOW - NOW.rem_euclid(86_400) - 10 * 86_400;
        let at = |d: i64, h: i64, m: i64| day0 + d * 86_400 + h * HOUR + m * 60;
        let env = Env::new();
        let mut text = String::new();
        let mut t = at(0, 3, 0);
        while t <= at(9, 19, 10) {
            text += &msg(&t.to_string(), t, 1, 0);
            t += 20 * 60;
        }
        env.append("p1/a.jsonl", &text);
        let (snap, _) = env.update(None, at(9, 19, 10));
        assert_eq!(snap.five_hour, Some(Window::tokens(7, Some(at(9, 22, 0)))));
        // Later scans keep that chain although the first messages are long pruned.
        env.append("p1/a.jsonl", &msg("late", at(9, 22, 5), 1, 0));
        let (snap, _) = env.update(None, at(9, 22, 10));
        assert_eq!(snap.five_hour, Some(Window::tokens(1, Some(at(10, 3, 0)))));
    }

    #[test]
    fn calibrations_survive_a_lost_scan_state_and_come_over_from_the_old_format() {
        let env = Env::new();
        env.append("p1/a.jsonl", &msg("1", NOW - 600, 400, 600));
        let reading = auth(Some((10.0, None)), None, NOW - 60);
        let (snap, _) = env.update(Some(&reading), NOW);
        assert_eq!(percent(snap.five_hour), 10.0);
        fs::remove_file(env.store.sidecar("scan.log")).unwrap();
        let (snap, stats) = env.update(None, NOW + 60);
        assert_eq!(stats.entries, 1, "rescanned from scratch");
        assert_eq!(percent(snap.five_hour), 10.0, "still calibrated");
        // The JSON state of earlier versions carried the calibrations: they are adopted once
        // and the old file (up to 64 MB, rewritten on every scan) goes away.
        let old = env.store.sidecar("scan.json");
        let cal = fs::read_to_string(env.store.sidecar("calibration.json")).unwrap();
        fs::write(
            &old,
            cal.replace(
                "\"version\":1,",
                "\"version\":1,\"files\":{},\"messages\":{},",
            ),
        )
        .unwrap();
        fs::remove_file(env.store.sidecar("calibration.json")).unwrap();
        let (snap, _) = env.update(None, NOW + 120);
        assert_eq!(percent(snap.five_hour), 10.0);
        assert!(!old.exists());
        assert!(env.store.sidecar("calibration.json").exists());
    }

    #[test]
    fn past_the_message_cap_the_oldest_are_dropped_not_everything() {
        let env = Env::new();
        let mut text = String::new();
        for i in 0..100 {
            text += &msg(&i.to_string(), NOW - 1000 + i, 1, 0);
        }
        env.append("p1/a.jsonl", &text);
        let capped = Tuning {
            max_messages: 40,
            compact_min_dead: 0,
            ..Tuning::default()
        };
        let (snap, _) = with(capped)(&env, NOW).unwrap();
        // The newest 40 are kept.
        assert_eq!(tokens(snap.seven_day), Some(40));
        assert_eq!(log::load(&env.store.sidecar("scan.log")).messages.len(), 40);
        let (snap, stats) = with(capped)(&env, NOW + 1).unwrap();
        assert_eq!(stats.bytes_read, 0);
        assert_eq!(tokens(snap.seven_day), Some(40));
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_transcripts() {
        let env = Env::new();
        env.append("p1/a.jsonl", &msg("1", NOW - 60, 5, 0));
        let fifo = env.file("p1/x.jsonl");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        fs::create_dir(env.file("p2/dir.jsonl")).unwrap();
        std::os::unix::fs::symlink(&fifo, env.file("p2/link.jsonl")).unwrap();
        std::os::unix::fs::symlink(env.file("p1/a.jsonl"), env.file("p2/copy.jsonl")).unwrap();
        let (snap, stats) = env.update(None, NOW);
        assert_eq!(stats.files, 2, "a.jsonl and the link to it");
        assert_eq!(tokens(snap.five_hour), Some(5));
    }

    /// Rough speed figures: `cargo test --release estimate::tests::scan_speed -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn scan_speed() {
        let env = Env::new();
        let now = crate::now();
        let filler = format!(
            "{{\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":\"{}\"}}}}\n",
            "x".repeat(2000)
        );
        for f in 0..50 {
            let mut text = String::new();
            for i in 0..2000 {
                text += &msg(&format!("{f}-{i}"), now - 3 * 86_400 + i, 100, 200);
                if i % 2 == 0 {
                    text += &filler;
                }
            }
            env.append(&format!("p1/{f}.jsonl"), &text);
        }
        let t = std::time::Instant::now();
        let (_, stats) = update(&env.store, &env.config, None, now).unwrap();
        eprintln!("first: {stats} in {:?}", t.elapsed());
        env.append("p1/0.jsonl", &msg("extra", now - 1, 1, 1));
        let t = std::time::Instant::now();
        let (_, stats) = update(&env.store, &env.config, None, now).unwrap();
        eprintln!("incremental: {stats} in {:?}", t.elapsed());
    }
}
