//! The worker's history trim, any bytes: `history::trim_lines` (the pure trim, over a reader
//! and a writer) against a line-by-line reading with `history::parse_line`, and `history::trim`
//! on the bytes as a file. Never a panic; every readable point taken since the cutoff is kept,
//! in order, and nothing else; the counts add up; trimming again changes nothing; a garbage line
//! of any length around the points costs none of them (#21 item 2); the file the real trim
//! leaves holds exactly the kept points.
#![no_main]

use std::io::{self, BufReader};

use ccmeter::history::{self, Counts, Point, Trimmed};
use ccmeter_fuzz::NOW;
use libfuzzer_sys::fuzz_target;

/// The worker's cutoff: eight days back.
const CUTOFF: i64 = NOW - history::KEEP_S;

fuzz_target!(|data: &[u8]| {
    let (kept, old, bad) = reference(data, CUTOFF);
    let oldest = kept.iter().chain(&old).map(|p| p.taken_at).min();

    // Read in small pieces too: a line may straddle any number of reads.
    let cap = 1 + data.iter().fold(0usize, |h, &b| h.wrapping_mul(31) ^ usize::from(b)) % 64;
    for reader_cap in [cap, 8 * 1024] {
        let mut out = Vec::new();
        let c = history::trim_lines(BufReader::with_capacity(reader_cap, data), &mut out, CUTOFF, true)
            .expect("in memory");
        assert_eq!(
            (c.kept, c.old, c.bad, c.oldest, c.consumed),
            (kept.len(), old.len(), bad, oldest, data.len() as u64),
            "counts (read {reader_cap} at a time)"
        );
        assert_eq!(points(&out), kept, "what was kept");
        // A second trim keeps the same bytes.
        let mut again = Vec::new();
        let c2 = history::trim_lines(&out[..], &mut again, CUTOFF, true).expect("in memory");
        assert_eq!((c2.kept, c2.old, c2.bad, &again), (c.kept, 0, 0, &out), "trimmed twice");
    }

    // Without `to_end` an unterminated last line is left for later.
    let whole = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let c = history::trim_lines(data, &mut io::sink(), CUTOFF, false).expect("in memory");
    let (k, o, b) = reference(&data[..whole], CUTOFF);
    assert_eq!(
        (c.kept, c.old, c.bad, c.consumed),
        (k.len(), o.len(), b, whole as u64),
        "without to_end"
    );

    // A garbage line longer than any reader holds, between two copies: every point of both.
    let mut big = data.to_vec();
    big.push(b'\n');
    big.extend(std::iter::repeat_n(b'x', 100 * 1024));
    big.push(b'\n');
    big.extend_from_slice(data);
    let mut out = Vec::new();
    let c: Counts = history::trim_lines(&big[..], &mut out, CUTOFF, true).expect("in memory");
    let both: Vec<Point> = kept.iter().chain(&kept).cloned().collect();
    assert_eq!(points(&out), both, "around a garbage line");
    assert_eq!(c.bad, 2 * bad + 1, "garbage counted");

    // The real trim on a file: it leaves exactly the kept points.
    let path = ccmeter_fuzz::scratch("k.history.jsonl");
    std::fs::write(&path, data).expect("scratch file");
    match history::trim(&path, NOW, || Ok(())).expect("trims") {
        Trimmed::Rewritten { kept: n, dropped } => {
            assert_eq!((n, dropped), (kept.len(), old.len() + bad), "trim's counts");
            assert_eq!(points(&std::fs::read(&path).expect("reads")), kept, "the trimmed file");
            assert_eq!(history::trim(&path, NOW, || Ok(())).expect("trims"), Trimmed::Nothing);
        }
        Trimmed::Nothing => {
            // Only an unterminated last line (an append under way) may be left as it is.
            assert_eq!(reference(&data[..whole], CUTOFF).2, 0, "a bad line left in place");
            assert_eq!(std::fs::read(&path).expect("reads"), data, "changed without a rewrite");
        }
    }
});

/// The lines of `data` as `parse_line` reads them one by one: the points taken since `cutoff`,
/// the older ones, and how many non-empty lines are not points.
fn reference(data: &[u8], cutoff: i64) -> (Vec<Point>, Vec<Point>, usize) {
    let (mut kept, mut old, mut bad) = (Vec::new(), Vec::new(), 0);
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        // Longer than any point: streamed past unread (the trim's `MAX_LINE`, 64 KiB).
        if line.len() > 64 * 1024 {
            bad += 1;
            continue;
        }
        match history::parse_line(line) {
            Some(p) if p.taken_at >= cutoff => kept.push(p),
            Some(p) => old.push(p),
            None => bad += 1,
        }
    }
    (kept, old, bad)
}

/// The points of a trimmed output, which holds nothing else.
fn points(out: &[u8]) -> Vec<Point> {
    assert!(out.is_empty() || out.ends_with(b"\n"), "a torn last line written");
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| history::parse_line(l).expect("only points are written"))
        .collect()
}
