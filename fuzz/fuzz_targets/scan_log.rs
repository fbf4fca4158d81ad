//! The estimate's scan log (`estimate::log`), two ways:
//! - any bytes through `log::decode`: never a panic; it stops at the last good record, and the
//!   good prefix alone decodes to the same state;
//! - the input as a script of records written by the real `Appender` (checkpoints included),
//!   then read back: exactly the state written; cut anywhere (a torn write), it reads as a
//!   prefix of it, and the next append cuts the torn tail off and reads back whole.
#![no_main]

use std::collections::HashMap;
use std::path::PathBuf;

use ccmeter::estimate::log::{self, Appender, Loaded, Mark, Msg};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    decode(data);
    write_and_read(data);
});

fn decode(data: &[u8]) {
    let l = log::decode(data);
    let good = l.good_len as usize;
    assert!(good <= data.len());
    assert!(good == 0 || good >= log::HEADER);
    assert_eq!(l.file_len, data.len() as u64);
    for &(_, at) in &l.offsets {
        assert!((at as usize) + log::MSG_LEN <= good && data[at as usize] == b'M');
    }
    same_state(&log::decode(&data[..good]), &l, "the good prefix");
}

fn same_state(a: &Loaded, b: &Loaded, what: &str) {
    assert_eq!(a.anchor, b.anchor, "{what}: anchor");
    assert_eq!(a.messages, b.messages, "{what}: messages");
    assert_eq!(a.marks, b.marks, "{what}: marks");
    assert_eq!(a.offsets, b.offsets, "{what}: offsets");
    assert_eq!(
        (a.records, a.good_len),
        (b.records, b.good_len),
        "{what}: records"
    );
}

/// Bytes as numbers; zeros once they run out.
struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }
}

/// What the log must say after a run: the state the writer's records add up to.
#[derive(Default)]
struct Expected {
    anchor: Option<i64>,
    messages: HashMap<u64, Msg>,
    marks: HashMap<u64, Mark>,
}

fn write_and_read(data: &[u8]) {
    let path = temp_path();
    let _ = std::fs::remove_file(&path);
    let mut s = Script(data);
    let mut out = Appender::new(path.clone(), &Loaded::default());
    let mut expected = Expected::default();
    // Messages since the last checkpoint: a key written twice there is written once, the later.
    let mut pending: HashMap<u64, Msg> = HashMap::new();
    let checkpoint = |pending: &mut HashMap<u64, Msg>, expected: &mut Expected| {
        for (k, m) in pending.drain() {
            expected
                .messages
                .entry(k)
                .and_modify(|old| {
                    old.merge(&m);
                })
                .or_insert(m);
        }
    };
    let mut ops = 0;
    while !s.0.is_empty() && ops < 64 {
        ops += 1;
        match s.u8() % 4 {
            0 => {
                // Few distinct keys, so the same message comes back.
                let key = u64::from(s.u8() % 8);
                let m = Msg {
                    time: s.u32(),
                    input: s.u32(),
                    output: s.u32(),
                    creation: s.u32(),
                    read: s.u32(),
                };
                out.msg(key, &m);
                pending.insert(key, m);
            }
            1 => {
                let key = u64::from(s.u8() % 4);
                let m = Mark {
                    offset: s.u64(),
                    size: s.u64(),
                    mtime: s.u64() as i64,
                    inode: s.u64(),
                };
                out.mark(key, &m);
                expected.marks.insert(key, m);
            }
            2 => {
                let a = s.u64() as i64;
                out.anchor(a);
                expected.anchor = Some(a);
            }
            _ => {
                out.flush().expect("appends");
                checkpoint(&mut pending, &mut expected);
            }
        }
    }
    out.flush().expect("appends");
    checkpoint(&mut pending, &mut expected);
    let bytes = std::fs::read(&path).unwrap_or_default();
    let l = log::load(&path);
    if !bytes.is_empty() {
        assert_eq!(l.good_len, bytes.len() as u64, "every record reads back");
    }
    assert_eq!(l.anchor, expected.anchor);
    assert_eq!(l.messages.len(), expected.messages.len());
    for (k, m) in &expected.messages {
        assert_eq!(l.messages.get(k), Some(m), "message {k}");
    }
    assert_eq!(l.marks.len(), expected.marks.len());
    for (k, m) in &expected.marks {
        assert_eq!(l.marks.get(k), Some(m), "mark {k}");
    }
    // The latest record of each key is where the writer says it put it.
    let mut latest = HashMap::new();
    for &(k, at) in &l.offsets {
        latest.insert(k, at);
    }
    assert_eq!(latest.len(), out.written.len());
    for (k, at) in &out.written {
        assert_eq!(latest.get(k), Some(at), "offset of {k}");
    }

    // A torn write: the file cut anywhere reads as a prefix of itself.
    if bytes.len() <= log::HEADER {
        return;
    }
    let cut = log::HEADER + usize::from(s.u8()) * 7 % (bytes.len() - log::HEADER);
    std::fs::write(&path, &bytes[..cut]).expect("cuts");
    let torn = log::load(&path);
    same_state(
        &torn,
        &log::decode(&bytes[..torn.good_len as usize]),
        "torn",
    );
    assert!(torn.good_len as usize <= cut && torn.records <= l.records);
    // The next run appends after the good prefix, cutting the torn tail off.
    let mut next = Appender::new(path.clone(), &torn);
    let m = Msg {
        time: 7,
        input: 1,
        output: 2,
        creation: 3,
        read: 4,
    };
    next.msg(99, &m);
    next.flush().expect("appends");
    let after = log::load(&path);
    assert_eq!(after.records, torn.records + 1, "torn tail not cut off");
    assert_eq!(after.messages.get(&99), Some(&m));
    assert_eq!(
        after.good_len,
        std::fs::metadata(&path).expect("stat").len()
    );
}

fn temp_path() -> PathBuf {
    ccmeter_fuzz::scratch("k.scan.log")
}
