//! Local usage from Claude Code's own transcripts, for when no authoritative numbers can be had
//! (API-key users, tokens without the usage scope, accounts without plan windows, `--offline`, a
//! failing endpoint). Always `Source::Estimate`: the line marks it `~`.
//!
//! What it does: scans `<config dir>/projects/**/*.jsonl` incrementally (only appended bytes are
//! read; state in `store.sidecar("scan.json")`), de-duplicates assistant messages, finds the
//! active 5-hour block and the rolling 7 days, and turns local token counts into a percent only
//! through a *calibration* learned from recent authoritative readings. Without one it reports
//! `Used::Tokens`: it never invents a percent.
//!
//! What it deliberately does not do: run on the hot path (only the background worker calls
//! [`update`], under its single-flight lock, so two scans never race on the state file), know
//! plan sizes, or see usage from other machines (which is why calibration can drift; see below).
//!
//! ## Decisions
//! - **Token weighting** (the same for calibration and estimate, so their ratio means something):
//!   `input + output + cache_creation + cache_read / 10`. Cache reads are billed and rate-limited
//!   at roughly a tenth of fresh input; counting them in full would let one long cached session
//!   swamp everything else. Kept in integer tenths of a token so sums are exact.
//! - **Duplicates**: the key is `message.id:requestId` (falling back to the line's `uuid`). Claude
//!   Code writes one streamed message as several lines, the later ones with larger `output_tokens`,
//!   and copies history into new files on resume: one record per key, each count the maximum seen.
//! - **Blocks** (as ccusage): a block starts at the hour floor of a message at or after the end
//!   (start + 5 h) of the previous block; it is active while `now < start + 5 h`.
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
//! - **Bounded state**: only messages from the last 7 days + 5 h are kept (the extra 5 h lets the
//!   block chain start before the week); files not modified within that horizon are marked as
//!   read without being read.
//! - **Robustness**: malformed lines are skipped; a last line without its newline is parsed if it
//!   is already complete JSON, and the offset stays at its start so it is read again when it is
//!   finished (de-duplication makes that count once). An unreadable or corrupt state file means a
//!   fresh scan, never an error.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::{self, Store};
use crate::usage::{Snapshot, Source, Used, Window};

const HOUR: i64 = 3600;
const FIVE_HOURS: i64 = 5 * HOUR;
const SEVEN_DAYS: i64 = 7 * 24 * HOUR;
/// How far back messages are kept: the week plus one block, so the block chain can start early.
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
/// Bumped when the state's meaning changes; other versions mean a fresh scan.
const STATE_VERSION: u32 = 1;
/// Never parse a state file larger than this (a week of heavy use is a few MB).
const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;
/// Directory depth under `projects/` that is searched (Claude Code uses one level).
const MAX_DEPTH: usize = 8;

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

/// Scan incrementally, calibrate against `authoritative` when given and recent, and return the estimate.
/// `config_dir` is Claude Code's config dir (transcripts under `projects/`). State lives in store.sidecar("scan.json").
pub fn update(
    store: &Store,
    config_dir: &Path,
    authoritative: Option<&Snapshot>,
    now: i64,
) -> io::Result<(Snapshot, ScanStats)> {
    let state_path = store.sidecar("scan.json");
    let mut state = read_state(&state_path);
    let stats = scan(&mut state, &config_dir.join("projects"), now);
    state.prune(now);
    if let Some(auth) = authoritative {
        state.calibrate(auth, now);
    }
    let snapshot = state.estimate(now);
    store::ensure_dir(store.dir())?;
    let bytes = serde_json::to_vec(&state).map_err(io::Error::other)?;
    store::write_atomic(&state_path, &bytes)?;
    Ok((snapshot, stats))
}

/// Everything remembered between scans.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    /// Keyed by path relative to `projects/`.
    files: BTreeMap<String, FileMark>,
    /// De-dup key -> the message's usage.
    messages: HashMap<String, Rec>,
    #[serde(default)]
    five_hour: Vec<Calibration>,
    #[serde(default)]
    seven_day: Vec<Calibration>,
}

/// How far a file has been read, and how to tell it was replaced or truncated since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FileMark {
    /// Start of the first byte not yet consumed (always at a line start).
    offset: u64,
    size: u64,
    /// Nanoseconds since the epoch.
    mtime: i64,
    inode: u64,
}

/// One message: (timestamp, input, output, cache_creation, cache_read, model). A tuple so a week
/// of messages stays compact on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Rec(i64, u64, u64, u64, u64, String);

impl Rec {
    fn time(&self) -> i64 {
        self.0
    }

    /// Weighted tokens in tenths (see the module docs): exact integer arithmetic.
    fn tenths(&self) -> u64 {
        let full = self.1.saturating_add(self.2).saturating_add(self.3);
        full.saturating_mul(10).saturating_add(self.4)
    }

    fn merge(&mut self, other: &Rec) {
        self.0 = self.0.min(other.0);
        self.1 = self.1.max(other.1);
        self.2 = self.2.max(other.2);
        self.3 = self.3.max(other.3);
        self.4 = self.4.max(other.4);
        if self.5.is_empty() {
            self.5.clone_from(&other.5);
        }
    }
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

#[derive(Clone, Copy)]
enum Kind {
    FiveHour,
    SevenDay,
}

fn read_state(path: &Path) -> State {
    let fresh = State {
        version: STATE_VERSION,
        ..State::default()
    };
    let Ok(f) = store::open_cache_file(path) else {
        return fresh;
    };
    let mut bytes = Vec::new();
    if f.take(MAX_STATE_BYTES + 1).read_to_end(&mut bytes).is_err()
        || bytes.len() as u64 > MAX_STATE_BYTES
    {
        return fresh;
    }
    match serde_json::from_slice::<State>(&bytes) {
        Ok(s) if s.version == STATE_VERSION => s,
        _ => fresh,
    }
}

/// Reads what is new in every transcript under `projects` into `state`.
fn scan(state: &mut State, projects: &Path, now: i64) -> ScanStats {
    let mut stats = ScanStats::default();
    let mut found = Vec::new();
    collect_jsonl(projects, 0, &mut found);
    let mut seen = BTreeMap::new();
    for path in found {
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        let rel = path
            .strip_prefix(projects)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let mark = FileMark {
            offset: 0,
            size: meta.len(),
            mtime: mtime_ns(&meta),
            inode: inode(&meta),
        };
        let start = match state.files.get(&rel) {
            Some(old) if old.inode == mark.inode && old.size <= mark.size => {
                if old.size == mark.size && old.mtime == mark.mtime {
                    seen.insert(rel, *old);
                    continue;
                }
                // Same size but rewritten in place: read it all again (de-dup makes it safe).
                if mark.size == old.size { 0 } else { old.offset }
            }
            // New, replaced (other inode) or truncated (shorter than it was; a fortiori shorter than
            // what we consumed).
            _ => 0,
        };
        if mark.mtime < (now - HORIZON).saturating_mul(1_000_000_000) {
            // Nothing in a file untouched for longer than the horizon can still count.
            seen.insert(
                rel,
                FileMark {
                    offset: mark.size,
                    ..mark
                },
            );
            continue;
        }
        match read_from(&path, start, mark.size, state, now, &mut stats) {
            Ok(offset) => {
                stats.files += 1;
                seen.insert(rel, FileMark { offset, ..mark });
            }
            // Unreadable now (permissions, vanished): try again from the old mark next time.
            Err(_) => {
                if let Some(old) = state.files.get(&rel) {
                    seen.insert(rel, *old);
                }
            }
        }
    }
    // Files that disappeared are forgotten; their messages stay until they age out.
    state.files = seen;
    stats
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

/// Reads `path` from `start` up to `size` (its length when stat'ed, so a file growing meanwhile
/// is picked up next time) and returns the offset of the first unconsumed byte.
fn read_from(
    path: &Path,
    start: u64,
    size: u64,
    state: &mut State,
    now: i64,
    stats: &mut ScanStats,
) -> io::Result<u64> {
    let mut file = File::open(path)?;
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
    let mut reader = BufReader::with_capacity(256 * 1024, file.take(size.saturating_sub(start)));
    let mut offset = start;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        stats.bytes_read += n as u64;
        let complete = line.last() == Some(&b'\n');
        if let Some((key, rec)) = parse_line(&line)
            && rec.time() >= now - HORIZON
        {
            state.add(key, rec, stats);
        }
        if !complete {
            // Possibly still being written: read it again from its start next time.
            break;
        }
        offset += n as u64;
    }
    Ok(offset)
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
    model: Option<String>,
    usage: Option<Tokens>,
}

#[derive(Deserialize)]
struct Tokens {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

/// One transcript line -> its de-dup key and usage, if it is an assistant message with usage.
fn parse_line(line: &[u8]) -> Option<(String, Rec)> {
    let text = std::str::from_utf8(line).ok()?;
    // Most lines (user turns, tool results, summaries) have no usage: skip them unparsed.
    if !text.contains("\"usage\"") {
        return None;
    }
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
    let rec = Rec(
        time,
        usage.input_tokens.unwrap_or(0),
        usage.output_tokens.unwrap_or(0),
        usage.cache_creation_input_tokens.unwrap_or(0),
        usage.cache_read_input_tokens.unwrap_or(0),
        msg.model.unwrap_or_default(),
    );
    Some((key, rec))
}

impl State {
    fn add(&mut self, key: String, rec: Rec, stats: &mut ScanStats) {
        match self.messages.get_mut(&key) {
            Some(old) => old.merge(&rec),
            None => {
                stats.entries += 1;
                self.messages.insert(key, rec);
            }
        }
    }

    fn prune(&mut self, now: i64) {
        self.messages.retain(|_, r| r.time() >= now - HORIZON);
        for list in [&mut self.five_hour, &mut self.seven_day] {
            list.retain(|c| now - c.taken_at <= MAX_CALIBRATION_AGE_S);
        }
    }

    /// Message times and weights, oldest first.
    fn timeline(&self) -> Vec<(i64, u64)> {
        let mut v: Vec<(i64, u64)> = self
            .messages
            .values()
            .map(|r| (r.time(), r.tenths()))
            .collect();
        v.sort_unstable();
        v
    }

    fn calibrate(&mut self, auth: &Snapshot, now: i64) {
        if auth.source == Source::Estimate
            || now - auth.taken_at > CALIBRATION_MAX_AGE_S
            || auth.taken_at - now > FUTURE_SKEW_S
        {
            return;
        }
        let timeline = self.timeline();
        let at = auth.taken_at;
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
                (Kind::FiveHour, Some(end)) => sum_between(&timeline, end - FIVE_HOURS, at),
                (Kind::SevenDay, Some(end)) => sum_between(&timeline, end - SEVEN_DAYS, at),
                (Kind::FiveHour, None) => match active_block(&timeline, at) {
                    Some(start) => sum_between(&timeline, start, at),
                    None => 0,
                },
                (Kind::SevenDay, None) => sum_between(&timeline, at - SEVEN_DAYS + 1, at),
            };
            if tenths == 0 {
                // Usage from elsewhere only: nothing local to scale.
                continue;
            }
            let list = match kind {
                Kind::FiveHour => &mut self.five_hour,
                Kind::SevenDay => &mut self.seven_day,
            };
            record(
                list,
                Calibration {
                    taken_at: at,
                    window_end,
                    percent,
                    tenths,
                },
            );
        }
    }

    fn estimate(&self, now: i64) -> Snapshot {
        let timeline = self.timeline();
        // While the window of the newest calibration is still running, count in it: it is the
        // server's own window (after a weekly reset a rolling week would still hold the old week).
        let anchor =
            |list: &[Calibration]| list.first().and_then(|c| c.window_end).filter(|&e| now < e);
        let (five_tenths, five_end) = match anchor(&self.five_hour) {
            Some(end) => (
                Some(sum_between(&timeline, end - FIVE_HOURS, now)),
                Some(end),
            ),
            None => match active_block(&timeline, now) {
                Some(start) => (
                    Some(sum_between(&timeline, start, now)),
                    Some(start + FIVE_HOURS),
                ),
                None => (None, None),
            },
        };
        let (week_tenths, week_end) = match anchor(&self.seven_day) {
            Some(end) => (
                Some(sum_between(&timeline, end - SEVEN_DAYS, now)),
                Some(end),
            ),
            None => {
                let t = sum_between(&timeline, now - SEVEN_DAYS + 1, now);
                ((t > 0).then_some(t), None)
            }
        };
        let five_hour = window(five_tenths, five_end, capacity(&self.five_hour, now));
        let seven_day = window(week_tenths, week_end, capacity(&self.seven_day, now));
        Snapshot {
            five_hour,
            seven_day,
            scoped: Vec::new(),
            extra: None,
            source: Source::Estimate,
            taken_at: now,
        }
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
fn record(list: &mut Vec<Calibration>, c: Calibration) {
    let same = |o: &Calibration| match (o.window_end, c.window_end) {
        (Some(a), Some(b)) => (a - b).abs() < SAME_WINDOW_S,
        _ => o.taken_at == c.taken_at,
    };
    if let Some(old) = list.iter_mut().find(|o| same(o)) {
        if c.taken_at >= old.taken_at {
            *old = c;
        }
    } else {
        list.push(c);
    }
    list.sort_by_key(|o| std::cmp::Reverse(o.taken_at));
    list.truncate(MAX_CALIBRATIONS);
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

/// Start of the block active at `now`, if any. `timeline` is sorted by time.
fn active_block(timeline: &[(i64, u64)], now: i64) -> Option<i64> {
    let mut start: Option<i64> = None;
    for &(t, _) in timeline.iter().take_while(|(t, _)| *t <= now) {
        if start.is_none_or(|s| t >= s + FIVE_HOURS) {
            start = Some(t - t.rem_euclid(HOUR));
        }
    }
    start.filter(|s| now < s + FIVE_HOURS)
}

/// Sum of weights with `from <= t <= to`.
fn sum_between(timeline: &[(i64, u64)], from: i64, to: i64) -> u64 {
    let lo = timeline.partition_point(|(t, _)| *t < from);
    let hi = timeline.partition_point(|(t, _)| *t <= to);
    timeline[lo..hi.max(lo)].iter().map(|(_, w)| w).sum()
}

fn mtime_ns(meta: &fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

#[cfg(unix)]
fn inode(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.ino()
}

#[cfg(not(unix))]
fn inode(_meta: &fs::Metadata) -> u64 {
    0
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
    use std::io::Write;

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
        assert_eq!(active_block(&tl, 9 * HOUR + 40 * 60), Some(5 * HOUR));
        // A 6 h gap after 00:30: the next block starts at the hour floor of the next message.
        let tl = [(30 * 60, 1), (6 * HOUR + 45 * 60, 1)];
        assert_eq!(active_block(&tl, 7 * HOUR), Some(6 * HOUR));
        assert_eq!(active_block(&tl, 11 * HOUR), None);
    }

    #[test]
    fn seven_days_roll_off_and_old_messages_leave_the_state() {
        let env = Env::new();
        env.append(
            "p1/a.jsonl",
            &(msg("old", NOW - SEVEN_DAYS - 10, 1000, 0) + &msg("new", NOW - 10, 1, 0)),
        );
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
        assert!(
            read_state(&env.store.sidecar("scan.json"))
                .messages
                .is_empty()
        );
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
        let (_, rec) = parse_line(line.as_bytes()).unwrap();
        assert_eq!(rec.tenths(), 60 + 1000);
        assert_eq!(rec.5, "claude-sonnet-4-5");
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
        let state = env.store.sidecar("scan.json");
        for junk in [
            &b"{\"version\":1,\"files\":{"[..],
            b"\xff\x00",
            b"[]",
            b"{\"version\":99}",
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
