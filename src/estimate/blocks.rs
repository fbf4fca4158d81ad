//! The 5-hour blocks as ccusage draws them, on a timeline of `(time, weight)` sorted by time: a
//! block starts at the hour floor of a message at or after the end of the previous one, and the
//! chain starts at an *anchor* so that pruning old messages never moves it (see the module
//! docs of `estimate`). Pure arithmetic: no files, no clock.

use super::{FIVE_HOURS, HOUR};

/// The block chain from `anchor` (or from the first message): the last block start at or
/// before `cutoff`, which stays exact when everything before `cutoff` is dropped (messages
/// between it and `cutoff` all lie in that block, which ended before any window we report).
/// Without one, the first block start, so the chain never depends on what is pruned later.
pub(super) fn chain_anchor(
    timeline: &[(i64, u64)],
    anchor: Option<i64>,
    cutoff: i64,
) -> Option<i64> {
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
pub(super) fn active_block(timeline: &[(i64, u64)], anchor: Option<i64>, now: i64) -> Option<i64> {
    let mut start = anchor;
    for t in chain_times(timeline, anchor).take_while(|t| *t <= now) {
        if start.is_none_or(|s| t >= s + FIVE_HOURS) {
            start = Some(floor_hour(t));
        }
    }
    start.filter(|s| *s <= now && now < s + FIVE_HOURS)
}

/// Sum of weights with `from <= t <= to`.
pub(super) fn sum_between(timeline: &[(i64, u64)], from: i64, to: i64) -> u64 {
    let lo = timeline.partition_point(|(t, _)| *t < from);
    let hi = timeline.partition_point(|(t, _)| *t <= to);
    timeline[lo..hi.max(lo)].iter().map(|(_, w)| w).sum()
}
