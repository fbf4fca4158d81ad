//! How numbers read: percents rounded once, durations (`↻2h05m`, `full in 1h05m`, `12m ago`),
//! pace points and token counts. Pure functions with no knowledge of where the numbers came
//! from, so the line, the projection, the hook and the history chart all say them alike and
//! none of them has to import another for a formatter.

/// Rounds half up, after clamping to 0..=100. `f64::round` decides on the exact value; adding
/// 0.5 first and flooring rounds the sum instead, which turns 0.49999999999999994 into 1.
/// (Half away from zero is half up here: the value is never negative after the clamp.)
pub fn round_percent(p: f64) -> u8 {
    let p = p.clamp(0.0, 100.0);
    // Not `f64::round`, which is the C library's `round`: the one the windows-gnu build links
    // (run under Wine) rounds 0.49999999999999994 up. `p - floor(p)` is exact for these values
    // (Sterbenz), so this too decides on the exact value.
    let whole = p.floor();
    (if p - whole >= 0.5 { whole + 1.0 } else { whole }) as u8
}

/// Time until a reset: `42m` under 1 h, `2h13m` under 10 h (`2h05m`, `2h` on the hour: the same
/// two-digit minutes as `full in 1h05m`), `14h` under
/// 48 h, `3d` beyond. Always floors, except that a reset less than a minute away shows `1m`
/// rather than a misleading `0m`.
pub fn fmt_until(secs: i64) -> String {
    let secs = secs.max(0);
    let (m, h) = (secs / 60, secs / 3600);
    if secs < 3600 {
        format!("{}m", m.max(1))
    } else if secs < 10 * 3600 {
        match m % 60 {
            0 => format!("{h}h"),
            rest => format!("{h}h{rest:02}m"),
        }
    } else if secs < 48 * 3600 {
        format!("{h}h")
    } else {
        format!("{}d", secs / 86_400)
    }
}

/// Age of data: `45s`, `12m`, `3h`, `2d`.
pub fn fmt_age(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else if secs < 48 * 3600 {
        format!("{}h", secs / 3600)
    } else {
        format!("{}d", secs / 86_400)
    }
}

/// Token counts as people say them: `950`, `12.3k`, `1.2M`.
pub fn fmt_tokens(n: u64) -> String {
    if n < 1000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.1}k", n as f64 / 1e3)
    } else {
        format!("{:.1}M", n as f64 / 1e6)
    }
}

/// `+12`, `-5`, `0`: pace in whole points, as templates print it.
pub fn fmt_pace(pace: f64) -> String {
    let p = pace.round() as i64;
    if p > 0 {
        format!("+{p}")
    } else {
        p.to_string()
    }
}

/// Time until full: `42m` under an hour, `1h05m` under 10 h (`1h` on the hour), then like `↻`.
pub fn fmt_full_in(secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    if secs < 3600 {
        format!("{}m", m.max(1))
    } else if secs < 10 * 3600 {
        match m {
            0 => format!("{h}h"),
            m => format!("{h}h{m:02}m"),
        }
    } else {
        fmt_until(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::round_percent;

    #[test]
    fn percents_round_half_up_exactly() {
        assert_eq!(round_percent(41.5), 42);
        assert_eq!(round_percent(41.49), 41);
        assert_eq!(round_percent(0.5), 1);
        // The largest double below one half: adding 0.5 rounds the sum up to 1.0 in floating
        // point, so "add a half, then floor" showed 1 %.
        assert_eq!(round_percent(0.499_999_999_999_999_94), 0);
        assert_eq!(round_percent(79.499_999_999_999_99), 79);
        assert_eq!(round_percent(99.5), 100);
        assert_eq!(round_percent(104.0), 100);
        assert_eq!(round_percent(-3.0), 0);
        assert_eq!(round_percent(f64::NAN), 0);
    }
}
