//! The estimate end to end: transcripts on disk, `update` at a pinned `now`, the state files it
//! leaves. (The pieces have their own tests beside them: `scan`, `log`, `index`, `calibration`.)

use super::blocks::active_block;
use super::calibration::{CALIBRATION_MAX_AGE_S, Calibration, HALF_LIFE_S, capacity, record};
use super::*;
use crate::usage::{Source, Used, Window};
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
    let long = msg("1", NOW - 60, 3, 4).replace("\"hi\"", &format!("\"{}\"", "y".repeat(200_000)));
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
