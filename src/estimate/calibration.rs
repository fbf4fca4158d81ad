//! Tokens into percents: what an authoritative reading taught about local usage (a
//! *calibration*: local weighted tokens in a window against the percent the server gave it),
//! kept in `calibration.json`, and the estimate those calibrations turn the timeline into. See
//! `estimate`'s module docs ("Calibration", "Known windows win") for the decisions.

use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::blocks::{active_block, sum_between};
use super::log;
use super::{FIVE_HOURS, SEVEN_DAYS};
use crate::store::Store;
use crate::usage::{Snapshot, Source, Used, Window};

/// An authoritative reading older than this is not used to calibrate: usage moves in minutes.
pub(super) const CALIBRATION_MAX_AGE_S: i64 = 600;
/// A reading dated further ahead than this comes from a broken clock.
const FUTURE_SKEW_S: i64 = 300;
/// Half-life of a calibration's weight.
pub(super) const HALF_LIFE_S: f64 = 3.0 * 24.0 * 3600.0;
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

/// Local usage observed alongside an authoritative percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct Calibration {
    pub(super) taken_at: i64,
    /// The authoritative window's reset time, when it had one: identifies the window.
    pub(super) window_end: Option<i64>,
    pub(super) percent: f64,
    /// Local weighted tokens (tenths) in that window up to `taken_at`.
    pub(super) tenths: u64,
}

/// What turns tokens into percents, kept in its own small file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Calibrations {
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
    pub(super) fn load(store: &Store, now: i64) -> Calibrations {
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

    pub(super) fn save(&self, store: &Store) -> io::Result<()> {
        crate::files::ensure_dir(store.dir())?;
        let bytes = serde_json::to_vec(self).map_err(io::Error::other)?;
        crate::files::write_atomic(&store.sidecar("calibration.json"), &bytes)
    }

    /// Records what `auth` says about local usage; returns whether anything was recorded.
    pub(super) fn calibrate(
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

/// The estimate at `now`: the current block and week (or the running authoritative windows),
/// as percents through the calibrations when there are any, else as token counts.
pub(super) fn estimate(
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
pub(super) fn window(
    tenths: Option<u64>,
    resets_at: Option<i64>,
    capacity: Option<f64>,
) -> Option<Window> {
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
pub(super) fn record(list: &mut Vec<Calibration>, c: Calibration) -> bool {
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
pub(super) fn capacity(list: &[Calibration], now: i64) -> Option<f64> {
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
}
