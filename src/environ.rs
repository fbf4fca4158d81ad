//! The process environment, read once: every `std::env::var_os` call locks the environment
//! and compares the name against each of its entries, and the hot path asks for a dozen names
//! (~22k instructions of a ~230k-instruction status line, measured with callgrind). Here one
//! pass over `environ` keeps the entries whose names ccmeter owns or reads (`CCMETER_*`,
//! `CLAUDE_*`, `NO_COLOR`) and every later lookup of those is a search of that short list.
//! Other names go to `std::env` as before. ccmeter never changes its own environment, so the
//! copy cannot go stale.

use std::ffi::OsString;

/// Names whose lookups are served from the copy: a prefix ending in `_`, or a whole name.
const KEPT: [&[u8]; 3] = [b"CCMETER_", b"CLAUDE_", b"NO_COLOR"];

fn kept(name: &[u8]) -> bool {
    // Most names start with none of the letters: one comparison each.
    matches!(name.first(), Some(b'C' | b'N'))
        && KEPT.iter().any(|k| {
            if k.ends_with(b"_") {
                name.starts_with(k)
            } else {
                name == *k
            }
        })
}

/// `std::env::var_os(name)`, from the copy when the name is one ccmeter keeps.
pub fn var_os(name: &str) -> Option<OsString> {
    match kept_vars() {
        Some(vars) if kept(name.as_bytes()) => vars
            .iter()
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, v)| os_string(v)),
        _ => std::env::var_os(name),
    }
}

/// [`var_os`] as text (lossy, like every caller wants).
pub fn var(name: &str) -> Option<String> {
    var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// A kept entry's name and value, as bytes.
type Entry = (&'static [u8], &'static [u8]);

/// The kept entries; `None` where the platform offers no cheap pass (then every lookup goes
/// to `std::env`).
fn kept_vars() -> Option<&'static [Entry]> {
    static KEPT_VARS: std::sync::OnceLock<Option<Vec<Entry>>> = std::sync::OnceLock::new();
    KEPT_VARS.get_or_init(read).as_deref()
}

#[cfg(all(unix, not(target_vendor = "apple")))]
fn read() -> Option<Vec<Entry>> {
    unsafe extern "C" {
        static environ: *const *const std::ffi::c_char;
    }
    // SAFETY: `environ` is the NULL-terminated array of NUL-terminated strings POSIX defines.
    // Nothing in ccmeter modifies the environment (no `set_var`), so the array and its
    // strings stay as they are for the life of the process: borrowing them as 'static is
    // sound.
    let mut kept_vars = Vec::with_capacity(16);
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            let entry = (*p).cast::<u8>();
            p = p.add(1);
            // Only the first bytes of most entries are looked at: no strlen of every value.
            if !matches!(*entry, b'C' | b'N') {
                continue;
            }
            let entry = std::ffi::CStr::from_ptr(entry.cast()).to_bytes();
            pick_into(&mut kept_vars, entry);
        }
    }
    Some(kept_vars)
}

#[cfg(not(all(unix, not(target_vendor = "apple"))))]
fn read() -> Option<Vec<Entry>> {
    None
}

#[cfg(unix)]
fn os_string(bytes: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes).to_owned()
}

#[cfg(not(unix))]
fn os_string(_: &[u8]) -> OsString {
    unreachable!("no copy is kept off Unix")
}

/// The kept `NAME=value` entries, the first of a name sent twice (what `getenv` returns).
#[cfg(all(test, unix))]
fn pick<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<(&'a [u8], &'a [u8])> {
    let mut kept_vars = Vec::new();
    for entry in entries {
        pick_into(&mut kept_vars, entry);
    }
    kept_vars
}

/// Keeps `entry` (`NAME=value`) when the name is kept and not already there.
#[cfg(all(unix, any(test, not(target_vendor = "apple"))))]
fn pick_into<'a>(kept_vars: &mut Vec<(&'a [u8], &'a [u8])>, entry: &'a [u8]) {
    // A leading `=` is part of the name (as std reads it), so search from the second byte.
    let Some(eq) = entry.iter().skip(1).position(|&b| b == b'=').map(|i| i + 1) else {
        return;
    };
    let (name, value) = (&entry[..eq], &entry[eq + 1..]);
    if kept(name) && !kept_vars.iter().any(|(n, _)| *n == name) {
        kept_vars.push((name, value));
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn keeps_our_names_first_of_each() {
        let entries: [&[u8]; 8] = [
            b"PATH=/bin",
            b"CCMETER_TTL=60",
            b"NO_COLOR=",
            b"NO_COLORS=1",
            b"CCMETER_TTL=90",
            b"CLAUDE_CONFIG_DIR=/c=d",
            b"CCMETER_BROKEN",
            b"=CCMETER_X=1",
        ];
        let want: [(&[u8], &[u8]); 3] = [
            (b"CCMETER_TTL", b"60"),
            (b"NO_COLOR", b""),
            (b"CLAUDE_CONFIG_DIR", b"/c=d"),
        ];
        assert_eq!(pick(entries), want);
    }

    /// The copy answers as `std::env` does, for kept names and others alike.
    #[test]
    fn lookups_agree_with_std() {
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            assert_eq!(var_os(&name), std::env::var_os(&*name), "{name}");
        }
        for name in ["CCMETER_SURELY_UNSET_1", "NO_COLOR", "CLAUDE_X_UNSET"] {
            assert_eq!(var_os(name), std::env::var_os(name), "{name}");
        }
    }
}
