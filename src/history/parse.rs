//! Reading one line of the file: lines exactly as we write them by hand (fast, no allocation),
//! anything else with serde_json; torn, corrupt and foreign lines are `None`.

use super::{Point, Reading};
use crate::usage::Source;

pub(super) const PREFIX: &[u8] = b"{\"taken_at\":";

/// The time of a line we wrote, without parsing the rest of it.
pub(super) fn quick_time(line: &[u8]) -> Option<i64> {
    let rest = line.strip_prefix(PREFIX)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    value_of_digits(&rest[..digits])
}

/// ASCII digits as an i64, as `str::parse` reads them (`None` when empty or too large), by hand:
/// the hot path's search reads the time of a few hundred lines.
#[inline]
fn value_of_digits(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0i64, |n, &d| {
        n.checked_mul(10)?.checked_add(i64::from(d - b'0'))
    })
}

/// The offset of the first newline in `bytes`, eight bytes at a time: the search and the trim
/// step over lines of a few hundred bytes, or a garbage line of megabytes.
#[inline]
pub fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ NEWLINES;
        // A zero byte in `word` (a newline in the chunk) sets its high bit here, and only then.
        if word.wrapping_sub(ONES) & !word & HIGHS != 0 {
            break;
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| b == b'\n').map(|p| i + p)
}

/// The time of a line of ours, only when the bytes hold it and the source after it: a probe's
/// block may cut a line anywhere, a line torn inside its time (the next one glued on) would
/// read as a much older one, and another program's lines (an estimate) are not ours.
pub(super) fn time_of(line: &[u8]) -> Option<i64> {
    let rest = line.strip_prefix(PREFIX)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let after = &rest[digits..];
    if digits == 0
        || !(after.starts_with(b",\"source\":\"stdin\"")
            || after.starts_with(b",\"source\":\"oauth\""))
    {
        return None;
    }
    value_of_digits(&rest[..digits])
}

/// A line longer than this is not one of ours (a point is a few hundred bytes): readers that
/// stream the file skip it without holding it.
pub const MAX_LINE: usize = 64 * 1024;

/// Calls `f` with each line of `input` (without its newline), its length and whether it had a
/// newline (only the last may not); the line is `None` when longer than [`MAX_LINE`]: it is
/// skipped as it streams by, so a garbage line of any length costs a pass and no memory.
pub fn for_each_line<R: std::io::BufRead>(
    mut input: R,
    mut f: impl FnMut(Option<&[u8]>, u64, bool) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    // The length of the line being read, once it is known to be overlong.
    let mut overlong: Option<u64> = None;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        let (part, ends) = match find_newline(chunk) {
            Some(i) => (&chunk[..i], true),
            None => (chunk, false),
        };
        match &mut overlong {
            Some(n) => *n += part.len() as u64,
            None if line.len() + part.len() > MAX_LINE => {
                overlong = Some((line.len() + part.len()) as u64);
                line = Vec::new();
            }
            None => line.extend_from_slice(part),
        }
        let n = part.len() + usize::from(ends);
        input.consume(n);
        if ends {
            match overlong.take() {
                Some(n) => f(None, n, true)?,
                None => f(Some(&line), line.len() as u64, true)?,
            }
            line.clear();
        }
    }
    match overlong {
        Some(n) => f(None, n, false),
        None if !line.is_empty() => f(Some(&line), line.len() as u64, false),
        None => Ok(()),
    }
}

/// A line into a point; `None` for anything that is not one of ours. A line glued onto a torn
/// one (a write cut short, then the next append) is recovered from its last `{"taken_at":`.
pub fn parse_line(line: &[u8]) -> Option<Point> {
    match scan_line(line) {
        Some(s) => Some(s.to_point()),
        None => parse_slowly(line),
    }
}

/// [`parse_line`] by serde_json alone: every line that is not exactly as [`append`] writes it.
pub(super) fn parse_slowly(line: &[u8]) -> Option<Point> {
    let valid = |p: Point| {
        (p.taken_at >= 0
            && p.source != Source::Estimate
            && p.windows
                .values()
                .all(|r| r.p.is_finite() && r.r.is_none_or(|r| r >= 0)))
        .then_some(p)
    };
    if let Ok(p) = serde_json::from_slice::<Point>(line) {
        return valid(p);
    }
    let at = line.windows(PREFIX.len()).rposition(|w| w == PREFIX)?;
    if at == 0 {
        return None;
    }
    valid(serde_json::from_slice::<Point>(&line[at..]).ok()?)
}

/// Windows a line may hold and still be read by [`scan_line`]; more go through serde_json.
const SCAN_WINDOWS: usize = 8;

/// A line read by [`scan_line`], borrowing its window names from it.
pub(super) struct Scanned<'a> {
    pub(super) taken_at: i64,
    source: Source,
    windows: [(&'a str, Reading); SCAN_WINDOWS],
    n: usize,
}

impl<'a> Scanned<'a> {
    pub(super) fn windows(&self) -> &[(&'a str, Reading)] {
        &self.windows[..self.n]
    }

    pub(super) fn to_point(&self) -> Point {
        Point {
            taken_at: self.taken_at,
            source: self.source,
            windows: self
                .windows()
                .iter()
                .map(|(n, r)| (n.to_string(), *r))
                .collect(),
        }
    }
}

/// Reads a line that is exactly as [`append`] writes it (serde_json's compact form of a
/// [`Point`]) by hand, without allocating: drawing eight days of points is then mostly this
/// loop, not serde_json building maps and strings. `None` for anything else, which serde_json
/// then reads as before. Only what serde_json reads to the very same values is taken here:
/// unsigned integers, decimals of at most 15 digits without an exponent (where serde_json's
/// own float parsing is exact, as Rust's is), names without escapes, no name twice, nothing
/// after the closing brace. Such a line is always a valid point.
pub(super) fn scan_line(line: &[u8]) -> Option<Scanned<'_>> {
    let mut c = Scanner { b: line, i: 0 };
    c.lit(b"{\"taken_at\":")?;
    let taken_at = c.int()?;
    c.lit(b",\"source\":\"")?;
    let source = if c.lit(b"stdin").is_some() {
        Source::Stdin
    } else {
        c.lit(b"oauth")?;
        Source::Oauth
    };
    c.lit(b"\",\"windows\":{")?;
    let none = ("", Reading { p: 0.0, r: None });
    let mut out = Scanned {
        taken_at,
        source,
        windows: [none; SCAN_WINDOWS],
        n: 0,
    };
    if c.lit(b"}").is_none() {
        loop {
            c.lit(b"\"")?;
            let name = c.name()?;
            c.lit(b"\":{\"p\":")?;
            let p = c.decimal()?;
            let r = match c.lit(b",\"r\":") {
                Some(()) => Some(c.int()?),
                None => None,
            };
            c.lit(b"}")?;
            if out.n == SCAN_WINDOWS || out.windows().iter().any(|(n, _)| *n == name) {
                return None;
            }
            out.windows[out.n] = (name, Reading { p, r });
            out.n += 1;
            if c.lit(b"}").is_some() {
                break;
            }
            c.lit(b",")?;
        }
    }
    c.lit(b"}")?;
    (c.i == line.len()).then_some(out)
}

/// A cursor over one line. Its steps are `#[inline]`: under `opt-level = "s"` they otherwise
/// stay calls, and reading eight days of lines takes half as long again.
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn lit(&mut self, s: &[u8]) -> Option<()> {
        self.b[self.i..].starts_with(s).then(|| self.i += s.len())
    }

    #[inline]
    fn digits(&mut self) -> &'a [u8] {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        &self.b[start..self.i]
    }

    /// `0` or digits without a leading zero, at most 18 of them (always an i64).
    #[inline]
    fn int(&mut self) -> Option<i64> {
        let d = self.digits();
        if d.is_empty() || d.len() > 18 || (d.len() > 1 && d[0] == b'0') {
            return None;
        }
        Some(d.iter().fold(0, |n, &b| n * 10 + i64::from(b - b'0')))
    }

    /// `12`, `61.4`, `0.05`: no sign, no exponent, at most 15 digits. The value is an integer
    /// below 2^53 divided by a power of ten up to 10^15, both exact in an f64, so one division
    /// rounds it correctly, as serde_json does for such numbers (and Rust's own parser).
    #[inline]
    fn decimal(&mut self) -> Option<f64> {
        const POW10: [f64; 16] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        ];
        let whole = self.digits();
        if whole.is_empty() || (whole.len() > 1 && whole[0] == b'0') {
            return None;
        }
        let frac = match self.lit(b".") {
            Some(()) => self.digits(),
            None => &[],
        };
        let dot = self.b[self.i - 1] == b'.';
        if dot || whole.len() + frac.len() > 15 {
            return None;
        }
        let m = (whole.iter().chain(frac)).fold(0u64, |m, &b| m * 10 + u64::from(b - b'0'));
        Some(m as f64 / POW10[frac.len()])
    }

    /// A string's contents up to its closing quote, when it has no escape or control byte.
    #[inline]
    fn name(&mut self) -> Option<&'a str> {
        let start = self.i;
        while let Some(&b) = self.b.get(self.i) {
            match b {
                b'"' => return std::str::from_utf8(&self.b[start..self.i]).ok(),
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testdata::*;
    use crate::history::*;
    use crate::usage::{ScopedWindow, Source, Used, Window};

    #[test]
    fn the_hand_reader_reads_what_serde_json_reads() {
        // What append writes is read by hand, to the same point.
        let mut s = reading(Source::Oauth, NOW, 61.4, Some(23.0));
        s.scoped.push(ScopedWindow {
            name: "opus".into(),
            window: Window::percent(100.0, None),
            is_active: false,
        });
        for p in [0.0, 0.5, 61.4, 99.99, 104.0, 1.0 / 3.0, 12345.678] {
            s.five_hour.as_mut().unwrap().used = Used::Percent(p);
            let point = Point::of(&s).unwrap();
            let line = serde_json::to_vec(&point).unwrap();
            let scanned = scan_line(&line).map(|s| s.to_point());
            // 1/3 has 16 digits: serde_json's own reading is not exact there, so it reads it.
            if p == 1.0 / 3.0 {
                assert_eq!(scanned, None);
            } else {
                assert_eq!(scanned.as_ref(), Some(&point), "{p}");
            }
            assert_eq!(parse_line(&line), Some(point));
        }
        // Anything unusual goes to serde_json, which decides as before.
        for line in [
            r#"{"taken_at":1,"source":"oauth","windows":{}}"#,
            r#"{"taken_at":01,"source":"oauth","windows":{}}"#,
            r#"{"taken_at":1,"source":"estimate","windows":{}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1e2,"r":5}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":-1,"r":5}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1,"r":null}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1},"5h":{"p":2}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1.}}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1}}} "#,
            r#"{"taken_at":1,"source":"stdin","windows":{"5h":{"p":1}}}x"#,
            r#"{"taken_at":1, "source":"stdin","windows":{}}"#,
            r#"{"taken_at":99999999999999999999,"source":"stdin","windows":{}}"#,
            r#"{"taken_at":1,"source":"stdin","windows":{"a":{"p":1},"b":{"p":1},"c":{"p":1},"d":{"p":1},"e":{"p":1},"f":{"p":1},"g":{"p":1},"h":{"p":1},"i":{"p":1}}}"#,
        ] {
            let scanned = scan_line(line.as_bytes()).map(|s| s.to_point());
            if let Some(p) = &scanned {
                assert_eq!(Some(p), parse_slowly(line.as_bytes()).as_ref(), "{line}");
            }
            assert_eq!(
                parse_line(line.as_bytes()),
                scanned.or_else(|| parse_slowly(line.as_bytes())),
                "{line}"
            );
        }
        assert!(scan_line(br#"{"taken_at":1,"source":"oauth","windows":{}}"#).is_some());
        assert!(
            scan_line(br#"{"taken_at":1,"source":"stdin","windows":{"5\u0068":{"p":1}}}"#)
                .is_none()
        );
        // Whatever the hand reader takes, serde_json reads the same.
        let mut rng = crate::testutil::Rng(0x5ca9);
        let base = minutes(1, NOW);
        for _ in 0..20_000 {
            let at = rng.below(base.len() - 400);
            let start = at + base[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
            let line = rng.mutate(&base[start..start + 200]);
            let line = line.split(|&b| b == b'\n').next().unwrap();
            if let Some(s) = scan_line(line) {
                assert_eq!(Some(s.to_point()), parse_slowly(line), "{line:?}");
            }
        }
    }

    #[test]
    fn newlines_and_digits_are_found_as_std_finds_them() {
        let mut rng = crate::testutil::Rng(0x0a0a);
        for _ in 0..5000 {
            let len = rng.below(70);
            let bytes: Vec<u8> = (0..len)
                .map(|_| match rng.below(12) {
                    0 => b'\n',
                    1 => 0x8a,
                    2 => 0x0b,
                    3 => 0,
                    _ => rng.next() as u8,
                })
                .collect();
            assert_eq!(find_newline(&bytes), bytes.iter().position(|&b| b == b'\n'));
        }
        for d in [
            "",
            "0",
            "007",
            "1795000000",
            "9223372036854775807",
            "9223372036854775808",
            "99999999999999999999",
        ] {
            assert_eq!(value_of_digits(d.as_bytes()), d.parse::<i64>().ok(), "{d}");
        }
    }
}
