//! What Claude Code hands us on stdin: the statusLine JSON (with `rate_limits` in current
//! versions) or a hook's JSON. Reading is bounded in size and time; parsing never fails.
//!
//! Starship custom modules and tmux give an empty or closed stdin, and some wrappers leave a
//! pipe open without ever writing: neither may delay the prompt, so the first byte is waited for
//! only [`FIRST_BYTE_WAIT`]. A wrapper may also write the whole JSON and then keep the pipe open
//! (`(printf '{…}'; sleep 3) | ccmeter`): reading stops as soon as a complete JSON value has
//! arrived, not at EOF, because starship kills a module after 500 ms.

use std::io::Read;
use std::time::{Duration, Instant};

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::usage::{
    Snapshot, Source, Window, f64_from_str, plausible_reset, readable_percent, time_from_f64,
    time_from_str,
};

/// Input beyond this is not something Claude Code sent: ignored whole.
pub const MAX_INPUT: usize = 1024 * 1024;
/// How long to wait for a pipe that has not written anything yet.
pub const FIRST_BYTE_WAIT: Duration = Duration::from_millis(100);
/// How long to wait for the rest once data started flowing. Claude Code writes its ~2 KB at
/// once and complete JSON ends the read at once, so this only bounds a writer that stalls
/// mid-value: under starship's 500 ms module timeout, with room to print the stored line.
const TOTAL_WAIT: Duration = Duration::from_millis(400);

/// The parts of the stdin JSON ccmeter uses. Everything is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    /// `rate_limits` turned into a snapshot taken `now`; `None` when neither window was sent.
    pub rate_limits: Option<Snapshot>,
    pub hook_event_name: Option<String>,
    pub session_id: Option<String>,
    /// `cost.total_api_duration_ms`: the session's time spent in API requests so far. It grows
    /// with every request and only then, so a `rate_limits` sent with the same session and the
    /// same API time as before is a re-send of an old reading, not news (docs/DESIGN.md, merging rule 6).
    pub api_duration_ms: Option<f64>,
    pub transcript_path: Option<String>,
    /// True when the JSON looks like Claude Code's statusLine payload (it renders ANSI colour).
    pub is_statusline: bool,
    /// Claude Code's `version` (`2.1.197`), when it looks like one: it goes into the usage
    /// endpoint's User-Agent, so nothing but a short run of version characters is taken.
    pub claude_code_version: Option<String>,
    /// Claude Code's own facts about the session, for the `--format` status-line fields:
    /// raw as sent (never printed without `text::clean`).
    pub session: Session,
}

/// What a status line shows besides the limits: `model.display_name`, the working directory
/// (`workspace.current_dir`, else `cwd`), `context_window.used_percentage` and
/// `cost.total_cost_usd`. Each is `None` when absent or of the wrong type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub model_name: Option<String>,
    pub current_dir: Option<String>,
    pub context_percent: Option<f64>,
    pub cost_usd: Option<f64>,
}

impl Session {
    fn of(top: &mut Top) -> Session {
        let text = |s: &Scalar| s.text();
        Session {
            model_name: top.model.as_ref().and_then(|m| text(&m.display_name)),
            current_dir: top
                .workspace
                .as_ref()
                .and_then(|w| text(&w.current_dir))
                .filter(|d| !d.is_empty())
                .or_else(|| text(&top.cwd)),
            context_percent: top
                .context_window
                .as_ref()
                .and_then(|c| c.used_percentage.number()),
            cost_usd: top.cost.as_ref().and_then(|c| c.total_cost_usd.number()),
        }
    }

    /// The last component of the working directory: `shop` for `/home/dev/shop/`.
    pub fn dir_name(&self) -> Option<&str> {
        let dir = self.current_dir.as_deref()?;
        #[cfg(windows)]
        let seps: &[char] = &['/', '\\'];
        #[cfg(not(windows))]
        let seps: &[char] = &['/'];
        let trimmed = dir.trim_end_matches(seps);
        if trimmed.is_empty() {
            // The root itself.
            return (!dir.is_empty()).then_some(&dir[..1]);
        }
        trimmed.rsplit(seps).next()
    }
}

/// Longer than any real version string; anything beyond is not one.
const MAX_VERSION_LEN: usize = 32;

/// `2.1.197`, `2.2.0-beta.1`, `2.1.0+build`: a digit first, then digits, letters, `.`, `-`, `+`.
fn plausible_version(v: &str) -> Option<String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= MAX_VERSION_LEN
        && v.starts_with(|c: char| c.is_ascii_digit())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
    ok.then(|| v.to_string())
}

/// Reads stdin when it is not a terminal. `None` means no (usable) input.
pub fn read_stdin() -> Option<Vec<u8>> {
    read_stdin_sized().ok().flatten()
}

/// Input larger than [`MAX_INPUT`]: whatever sent it, it was not Claude Code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

/// [`read_stdin`], telling an input too large to be Claude Code's apart from no input: the
/// hook must not take a payload it could not read for a hand run and answer it.
pub fn read_stdin_sized() -> Result<Option<Vec<u8>>, TooLarge> {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    read_bounded(&mut stdin.lock(), wait_readable)
}

/// How long [`read_pending`] waits for the EOF after the JSON: Claude Code closes stdin right
/// after writing it, so this is only ever spent on a writer that holds the pipe open.
const PENDING_WAIT: Duration = Duration::from_millis(50);

/// Appends to `buf` whatever follows the JSON [`read_stdin`] stopped at (Claude Code's trailing
/// newline, which may arrive in a later read when a large payload is split), up to the EOF or
/// [`PENDING_WAIT`]: so `ccmeter wrap` hands the command it runs the very bytes it was given.
pub fn read_pending(buf: &mut Vec<u8>) {
    if !cfg!(unix) {
        // No way to wait without blocking; Claude Code writes its JSON and newline at once.
        return;
    }
    let start = Instant::now();
    let mut chunk = [0u8; 4096];
    let mut stdin = std::io::stdin().lock();
    while buf.len() < MAX_INPUT && wait_readable(PENDING_WAIT.saturating_sub(start.elapsed())) {
        match stdin.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n.min(MAX_INPUT - buf.len())]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

#[cfg(unix)]
fn wait_readable(timeout: Duration) -> bool {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: std::io::stdin().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    // Readable, hung up or in error: a read will not block (it returns data, EOF or an error).
    n > 0
}

#[cfg(windows)]
fn wait_readable(timeout: Duration) -> bool {
    crate::windows::stdin_readable(timeout)
}

#[cfg(not(any(unix, windows)))]
fn wait_readable(_timeout: Duration) -> bool {
    true
}

/// Tracks where a JSON object or array that started at the first non-blank byte closes,
/// byte by byte across reads (so a large input costs one pass, not one parse per read).
/// Public for the fuzz target that checks it against serde_json on every split of the input.
#[derive(Debug, Default)]
pub struct Completion {
    depth: u32,
    started: bool,
    in_string: bool,
    escaped: bool,
    /// Not an object or array: only EOF ends it.
    scalar: bool,
}

impl Completion {
    /// Feeds more bytes; true once the top-level object or array has closed.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        self.close_in(bytes).is_some()
    }

    /// Feeds more bytes; where in them the top-level object or array closed, if it did.
    fn close_in(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            if self.scalar {
                return None;
            }
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => {}
                b'{' | b'[' => {
                    self.started = true;
                    self.depth += 1;
                }
                _ if !self.started => self.scalar = true,
                b'"' => self.in_string = true,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

/// Whether `buf` is one complete JSON value (trailing blanks allowed). The read loop does not
/// need it (see there); public for the fuzz target, which holds [`Completion`] to it.
pub fn is_complete_json(buf: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(buf).is_ok()
}

/// One read's worth: Claude Code's payload (~2 KB) in one read, without touching more stack
/// pages than that needs.
const CHUNK: usize = 4096;

/// Reads `r` to its EOF, or to a complete JSON value that a writer holding the pipe open sent,
/// within the waits above. `ready(timeout)` says whether a read would not block (a real pipe:
/// [`wait_readable`]).
fn read_bounded(
    r: &mut impl Read,
    mut ready: impl FnMut(Duration) -> bool,
) -> Result<Option<Vec<u8>>, TooLarge> {
    let start = Instant::now();
    let mut buf = Vec::new();
    let mut chunk = [0u8; CHUNK];
    let mut completion = Completion::default();
    // How much of `buf` the tracker has seen.
    let mut fed = 0;
    // Known to be readable already (the check after a read said so).
    let mut pending = false;
    loop {
        let budget = if buf.is_empty() {
            FIRST_BYTE_WAIT
        } else {
            TOTAL_WAIT.saturating_sub(start.elapsed())
        };
        if budget.is_zero() || !(std::mem::take(&mut pending) || ready(budget)) {
            // A writer that stalls: use what arrived, if it is complete JSON.
            break;
        }
        match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                if buf.len() + n > MAX_INPUT {
                    return Err(TooLarge);
                }
                buf.extend_from_slice(&chunk[..n]);
                // More bytes, or the EOF, are already there (Claude Code writes its JSON and
                // closes the pipe): read on, with no need to look for the end of the JSON.
                if ready(Duration::ZERO) {
                    pending = true;
                    continue;
                }
                // Nothing more for now. If the closing brace arrived, done, without waiting
                // for an EOF that a writer holding the pipe open may never send. Bytes after
                // it other than blanks (which no real writer sends) make it invalid, and then
                // reading goes on as before. Whether what came before it is valid JSON is the
                // parser's business: if it is not, no more bytes could make it so (the
                // tracker closes where a valid value ends), so stopping here reads the same
                // as reading on.
                if let Some(at) = completion.close_in(&buf[fed..]) {
                    if buf[fed + at + 1..]
                        .iter()
                        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    {
                        break;
                    }
                    completion.scalar = true;
                }
                fed = buf.len();
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Ok((!buf.is_empty()).then_some(buf))
}

/// Pure and total: any bytes -> the parts we understand. Invalid JSON, invalid UTF-8 and
/// non-object JSON are "no input".
///
/// Read straight into the few fields ccmeter uses, the rest skipped unread (no tree of the
/// whole payload built and dropped): on the hot path this was a third of ccmeter's own work.
/// As lenient as a tree: a field of an unexpected type is absent, never an error, and of keys
/// sent twice the last one counts.
pub fn parse(bytes: &[u8], now: i64) -> Input {
    // The UTF-8 check up front (one fast pass) keeps "invalid UTF-8 is no input" for the
    // skipped fields too, which the JSON reader does not decode.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Input::default();
    };
    let Ok(Obj(Some(mut top))) = serde_json::from_str::<Obj<Top>>(text) else {
        return Input::default();
    };
    let window = |w: Option<RawWindow>| -> Option<Window> {
        let w = w?;
        // `-50` or `1e308` is no reading: the stored one stays on the line.
        let used = readable_percent(w.used_percentage.number()?)?;
        Some(Window::percent(
            used,
            plausible_reset(w.resets_at.time(), now),
        ))
    };
    let limits = top.rate_limits.take().unwrap_or_default();
    let (five_hour, seven_day) = (window(limits.five_hour), window(limits.seven_day));
    let rate_limits = (five_hour.is_some() || seven_day.is_some()).then(|| Snapshot {
        five_hour,
        seven_day,
        scoped: Vec::new(),
        extra: None,
        source: Source::Stdin,
        taken_at: now,
    });
    let hook_event_name = top.hook_event_name.text();
    let is_statusline = rate_limits.is_some()
        || ((top.has_model || top.has_workspace)
            && hook_event_name.as_deref().is_none_or(|e| e == "Status"));
    Input {
        rate_limits,
        hook_event_name,
        session_id: top.session_id.text(),
        api_duration_ms: top
            .cost
            .as_ref()
            .and_then(|c| c.total_api_duration_ms.number())
            .filter(|ms| *ms >= 0.0),
        transcript_path: top.transcript_path.text(),
        is_statusline,
        claude_code_version: top.version.as_str().and_then(plausible_version),
        session: Session::of(&mut top),
    }
}

/// The top level of the payload: only what [`parse`] reads.
#[derive(Default)]
struct Top<'a> {
    rate_limits: Option<RawLimits>,
    hook_event_name: Scalar<'a>,
    session_id: Scalar<'a>,
    transcript_path: Scalar<'a>,
    version: Scalar<'a>,
    cost: Option<RawCost>,
    model: Option<RawModel>,
    workspace: Option<RawWorkspace>,
    cwd: Scalar<'a>,
    context_window: Option<RawContext>,
    /// Present at all, whatever the value: a statusLine payload's marks.
    has_model: bool,
    has_workspace: bool,
}

impl<'de> Fields<'de> for Top<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "rate_limits" => self.rate_limits = map.next_value::<Obj<RawLimits>>()?.0,
            "hook_event_name" => self.hook_event_name = map.next_value()?,
            "session_id" => self.session_id = map.next_value()?,
            "transcript_path" => self.transcript_path = map.next_value()?,
            "version" => self.version = map.next_value()?,
            "cost" => self.cost = map.next_value::<Obj<RawCost>>()?.0,
            "model" => {
                self.has_model = true;
                self.model = map.next_value::<Obj<RawModel>>()?.0;
            }
            "workspace" => {
                self.has_workspace = true;
                self.workspace = map.next_value::<Obj<RawWorkspace>>()?.0;
            }
            "cwd" => self.cwd = map.next_value()?,
            "context_window" => {
                self.context_window = map.next_value::<Obj<RawContext>>()?.0;
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct RawLimits {
    five_hour: Option<RawWindow>,
    seven_day: Option<RawWindow>,
}

impl<'de> Fields<'de> for RawLimits {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "five_hour" => self.five_hour = map.next_value::<Obj<RawWindow>>()?.0,
            "seven_day" => self.seven_day = map.next_value::<Obj<RawWindow>>()?.0,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct RawWindow {
    used_percentage: Scalar<'static>,
    resets_at: Scalar<'static>,
}

impl<'de> Fields<'de> for RawWindow {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "used_percentage" => self.used_percentage = map.next_value::<Scalar>()?.owned(),
            "resets_at" => self.resets_at = map.next_value::<Scalar>()?.owned(),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct RawCost {
    total_api_duration_ms: Scalar<'static>,
    total_cost_usd: Scalar<'static>,
}

impl<'de> Fields<'de> for RawCost {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "total_api_duration_ms" => {
                self.total_api_duration_ms = map.next_value::<Scalar>()?.owned();
            }
            "total_cost_usd" => self.total_cost_usd = map.next_value::<Scalar>()?.owned(),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// An object of which one field is read: `model.display_name`, `workspace.current_dir`,
/// `context_window.used_percentage`.
macro_rules! one_field {
    ($name:ident, $field:ident) => {
        #[derive(Default)]
        struct $name {
            $field: Scalar<'static>,
        }

        impl<'de> Fields<'de> for $name {
            fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
                if key == stringify!($field) {
                    self.$field = map.next_value::<Scalar>()?.owned();
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
                Ok(())
            }
        }
    };
}

one_field!(RawModel, display_name);
one_field!(RawWorkspace, current_dir);
one_field!(RawContext, used_percentage);

/// A JSON object's fields, one key at a time; each must consume its value.
trait Fields<'de>: Default {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// An object read into `T`, or `None` for any other value (an array, a string, null): a
/// field of the wrong type is absent, not an error.
struct Obj<T>(Option<T>);

impl<'de, T: Fields<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Fields<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Obj<T>, A::Error> {
                let mut t = T::default();
                while let Some(key) = map.next_key::<Key>()? {
                    t.field(&key.0, &mut map)?;
                }
                Ok(Obj(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Obj<T>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Obj(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_unit<E>(self) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// An object key, borrowed from the input unless it holds an escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A field's value as far as a lenient reading cares: a string, a number, or anything else
/// (skipped unread).
#[derive(Debug, Default, Clone, PartialEq)]
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    #[default]
    Other,
}

impl Scalar<'_> {
    fn owned(self) -> Scalar<'static> {
        match self {
            Scalar::Str(s) => Scalar::Str(Cow::Owned(s.into_owned())),
            Scalar::Num(n) => Scalar::Num(n),
            Scalar::Other => Scalar::Other,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    fn text(&self) -> Option<String> {
        self.as_str().map(String::from)
    }

    /// [`crate::usage::lenient_f64`]: a number, or a string holding one; finite.
    fn number(&self) -> Option<f64> {
        match self {
            Scalar::Num(n) => n.is_finite().then_some(*n),
            Scalar::Str(s) => f64_from_str(s),
            Scalar::Other => None,
        }
    }

    /// [`crate::usage::lenient_time`].
    fn time(&self) -> Option<i64> {
        match self {
            Scalar::Num(n) => time_from_f64(*n),
            Scalar::Str(s) => time_from_str(s),
            Scalar::Other => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(s.to_string())))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Num(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Num(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Num(n))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Used;

    const NOW: i64 = 1_790_000_000;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn full_statusline_carries_both_windows() {
        let input = parse(&fixture("statusline-full.json"), NOW);
        let s = input.rate_limits.unwrap();
        assert_eq!(
            s.five_hour,
            Some(Window::percent(61.4, Some(1_795_000_000)))
        );
        assert_eq!(
            s.seven_day,
            Some(Window::percent(23.0, Some(1_795_400_000)))
        );
        assert_eq!((s.source, s.taken_at), (Source::Stdin, NOW));
        assert!(input.is_statusline);
    }

    #[test]
    fn payloads_without_rate_limits() {
        for name in [
            "statusline-before-first-reply.json",
            "statusline-legacy-status-event.json",
        ] {
            let input = parse(&fixture(name), NOW);
            assert_eq!(input.rate_limits, None, "{name}");
            assert!(input.is_statusline, "{name}");
        }
        let hook = parse(&fixture("hook-user-prompt-submit.json"), NOW);
        assert_eq!(hook.hook_event_name.as_deref(), Some("UserPromptSubmit"));
        assert!(!hook.is_statusline);
    }

    #[test]
    fn strings_nulls_and_partial_windows() {
        let input = parse(
            br#"{"rate_limits":{"five_hour":{"used_percentage":"12.5","resets_at":"1795000000"},"seven_day":null}}"#,
            NOW,
        );
        let s = input.rate_limits.unwrap();
        assert_eq!(s.five_hour.unwrap().used, Used::Percent(12.5));
        assert_eq!(s.seven_day, None);
        let input = parse(
            br#"{"rate_limits":{"five_hour":{"used_percentage":null}}}"#,
            NOW,
        );
        assert_eq!(input.rate_limits, None);
    }

    #[test]
    fn session_and_api_time_tell_news_from_a_re_send() {
        // Captured from Claude Code 2.1.197 (scripts/e2e-claude-code.sh).
        let input = parse(&fixture("statusline-captured-claude-code.json"), NOW);
        assert_eq!(
            input.session_id.as_deref(),
            Some("ad01e7d6-a003-49fa-ad51-f7fe52362af8")
        );
        assert_eq!(input.api_duration_ms, Some(100.0));
        assert_eq!(
            parse(&fixture("statusline-full.json"), NOW).api_duration_ms,
            Some(211_800.0)
        );
        // Old clients send no cost; a string or a negative is read leniently or not at all.
        let legacy = parse(&fixture("statusline-legacy-status-event.json"), NOW);
        assert_eq!(legacy.api_duration_ms, None);
        let api = |v: &str| {
            parse(
                format!(r#"{{"cost":{{"total_api_duration_ms":{v}}}}}"#).as_bytes(),
                NOW,
            )
            .api_duration_ms
        };
        assert_eq!(api(r#""2300""#), Some(2300.0));
        assert_eq!(api("-1"), None);
        assert_eq!(api("null"), None);
    }

    #[test]
    fn unreadable_percentages_are_no_window() {
        for bad in ["-50", "1e308", "-0.5", "100000", r#""NaN""#, r#""inf""#] {
            let body = format!(
                r#"{{"rate_limits":{{"five_hour":{{"used_percentage":{bad},"resets_at":1795000000}},"seven_day":{{"used_percentage":18,"resets_at":1795400000}}}}}}"#
            );
            let s = parse(body.as_bytes(), NOW).rate_limits.unwrap();
            assert_eq!(s.five_hour, None, "{bad}");
            assert_eq!(s.seven_day.unwrap().used, Used::Percent(18.0), "{bad}");
        }
        let only =
            br#"{"rate_limits":{"five_hour":{"used_percentage":-50,"resets_at":1795000000}}}"#;
        assert_eq!(parse(only, NOW).rate_limits, None);
        let edge =
            br#"{"rate_limits":{"five_hour":{"used_percentage":1000,"resets_at":1795000000}}}"#;
        let s = parse(edge, NOW).rate_limits.unwrap();
        assert_eq!(s.five_hour.unwrap().used, Used::Percent(1000.0));
    }

    #[test]
    fn session_fields_for_the_status_line() {
        let session = parse(&fixture("statusline-full.json"), NOW).session;
        assert_eq!(
            session,
            Session {
                model_name: Some("Sonnet 4.5".into()),
                current_dir: Some("/home/dev/shop".into()),
                context_percent: Some(24.0),
                cost_usd: Some(1.2734),
            }
        );
        assert_eq!(session.dir_name(), Some("shop"));
        let session = |json: &str| parse(json.as_bytes(), NOW).session;
        // `cwd` when the workspace has no directory; odd types are absent, never an error.
        let s = session(
            r#"{"cwd":"/srv/app/","workspace":{"current_dir":""},"model":{"display_name":7},
                "context_window":{"used_percentage":"12.5"},"cost":{"total_cost_usd":null}}"#,
        );
        assert_eq!(s.current_dir.as_deref(), Some("/srv/app/"));
        assert_eq!(s.dir_name(), Some("app"));
        assert_eq!(
            (s.model_name, s.context_percent, s.cost_usd),
            (None, Some(12.5), None)
        );
        assert_eq!(session(r#"{"cwd":"/"}"#).dir_name(), Some("/"));
        assert_eq!(session(r#"{"model":"opus"}"#), Session::default());
    }

    #[test]
    fn claude_code_version_is_taken_only_when_plausible() {
        let version =
            |v: &str| parse(format!(r#"{{"version":{v}}}"#).as_bytes(), NOW).claude_code_version;
        assert_eq!(
            parse(&fixture("statusline-captured-claude-code.json"), NOW).claude_code_version,
            Some("2.1.197".into())
        );
        assert_eq!(version(r#"" 2.2.0-beta.1 ""#), Some("2.2.0-beta.1".into()));
        for odd in [
            r#""""#,
            r#""v2.1""#,
            r#""2.1 (Claude Code)""#,
            r#""2.1\r\nX-Evil: 1""#,
            r#""2.1.1111111111111111111111111111111""#,
            "2.1",
            "null",
            "{}",
        ] {
            assert_eq!(version(odd), None, "{odd}");
        }
    }

    #[test]
    fn non_objects_are_no_input() {
        for bytes in [
            &b"[]"[..],
            b"42",
            b"null",
            b"\xff\xfe{",
            b"",
            b"{\"rate_limits\":",
        ] {
            assert_eq!(parse(bytes, NOW), Input::default());
        }
    }

    #[test]
    fn completion_is_seen_at_the_closing_brace_and_not_before() {
        let json = br#" {"a":"} ] \" {","b":[1,{"c":[]}],"d":"\\"} "#;
        let close = json.iter().rposition(|&b| b == b'}').unwrap();
        let mut c = Completion::default();
        assert!(!c.feed(&json[..close]));
        assert!(c.feed(&json[close..]));
        assert!(is_complete_json(json));
        // One byte at a time, as a slow writer would send it.
        let mut c = Completion::default();
        let done_at = json.iter().position(|&b| c.feed(&[b])).unwrap();
        assert_eq!(done_at, close);
        for scalar in [&b"42"[..], b"\"{}\"", b"null"] {
            assert!(!Completion::default().feed(scalar));
        }
    }

    /// A pipe whose writer holds it open: each read finds data, but nothing more is waiting
    /// once it is taken.
    fn held_open(timeout: Duration) -> bool {
        !timeout.is_zero()
    }

    /// A reader that hands out `data` and then, instead of EOF, fails the test: the loop must
    /// stop at the closing brace without asking for more.
    #[test]
    fn bounded_read_stops_at_complete_json() {
        struct NoEof<'a>(&'a [u8]);
        impl Read for NoEof<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                assert!(!self.0.is_empty(), "read past the complete JSON");
                let n = self.0.len().min(out.len()).min(7);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let json = fixture("statusline-full.json");
        assert_eq!(
            read_bounded(&mut NoEof(&json), held_open),
            Ok(Some(json.clone()))
        );
        // Blanks after the brace in the same read are fine; anything else (not one JSON value)
        // is read on to the EOF, as before.
        let blank = b"{\"a\":[1]} \r\n".to_vec();
        assert_eq!(
            read_bounded(&mut &blank[..], held_open),
            Ok(Some(blank.clone()))
        );
        let two = b"{\"a\":1} {\"b\":2}";
        let mut split = Read::chain(&two[..9], &two[9..]);
        assert_eq!(read_bounded(&mut split, held_open), Ok(Some(two.to_vec())));
        // A writer that closes the pipe (the EOF is waiting): read to it.
        let eof_waiting = |_: Duration| true;
        assert_eq!(
            read_bounded(&mut &two[..], eof_waiting),
            Ok(Some(two.to_vec()))
        );
        // A writer that sends nothing at all, or stalls after part of the JSON.
        assert_eq!(read_bounded(&mut &two[..], |_: Duration| false), Ok(None));
    }

    #[test]
    fn bounded_read_rejects_oversized_input() {
        let big = vec![b' '; MAX_INPUT + 1];
        assert_eq!(read_bounded(&mut &big[..], held_open), Err(TooLarge));
        let ok = b"{}".to_vec();
        assert_eq!(read_bounded(&mut &ok[..], held_open), Ok(Some(ok)));
        assert_eq!(read_bounded(&mut &b""[..], held_open), Ok(None));
    }

    /// The reading [`parse`] replaced, through a whole `serde_json::Value` tree: the reference
    /// the direct reading must agree with wherever that tree could be built.
    fn parse_as_tree(bytes: &[u8], now: i64) -> Input {
        use crate::usage::{lenient_f64, lenient_time};
        use serde_json::Value;
        let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(bytes) else {
            return Input::default();
        };
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(String::from);
        let window = |name: &str| -> Option<Window> {
            let w = obj.get("rate_limits")?.get(name)?;
            let used = readable_percent(lenient_f64(w.get("used_percentage")?)?)?;
            Some(Window::percent(
                used,
                plausible_reset(w.get("resets_at").and_then(lenient_time), now),
            ))
        };
        let (five_hour, seven_day) = (window("five_hour"), window("seven_day"));
        let rate_limits = (five_hour.is_some() || seven_day.is_some()).then(|| Snapshot {
            five_hour,
            seven_day,
            scoped: Vec::new(),
            extra: None,
            source: Source::Stdin,
            taken_at: now,
        });
        let hook_event_name = text("hook_event_name");
        let is_statusline = rate_limits.is_some()
            || ((obj.contains_key("model") || obj.contains_key("workspace"))
                && hook_event_name.as_deref().is_none_or(|e| e == "Status"));
        Input {
            rate_limits,
            hook_event_name,
            session_id: text("session_id"),
            api_duration_ms: obj
                .get("cost")
                .and_then(|c| c.get("total_api_duration_ms"))
                .and_then(lenient_f64)
                .filter(|ms| *ms >= 0.0),
            transcript_path: text("transcript_path"),
            is_statusline,
            claude_code_version: obj
                .get("version")
                .and_then(Value::as_str)
                .and_then(plausible_version),
            session: session_as_tree(&obj),
        }
    }

    /// `Session`'s reading through a tree, as it was first written.
    fn session_as_tree(obj: &serde_json::Map<String, serde_json::Value>) -> Session {
        use crate::usage::lenient_f64;
        use serde_json::Value;
        let at = |path: &[&str]| -> Option<&Value> {
            let (first, rest) = path.split_first()?;
            rest.iter().try_fold(obj.get(*first)?, |v, k| v.get(*k))
        };
        let text = |path: &[&str]| at(path).and_then(Value::as_str).map(String::from);
        let number = |path: &[&str]| at(path).and_then(lenient_f64);
        Session {
            model_name: text(&["model", "display_name"]),
            current_dir: text(&["workspace", "current_dir"])
                .filter(|d| !d.is_empty())
                .or_else(|| text(&["cwd"])),
            context_percent: number(&["context_window", "used_percentage"]),
            cost_usd: number(&["cost", "total_cost_usd"]),
        }
    }

    /// Odd shapes read as a tree reads them: wrong types are absent, the last of a key sent
    /// twice counts, escapes in keys and values are decoded, `model: null` still marks a
    /// statusLine payload.
    #[test]
    fn direct_reading_agrees_with_a_tree_on_odd_shapes() {
        for json in [
            r#"{"rate_limits":[1,2],"cost":"x","model":null}"#,
            r#"{"rate_limits":{"five_hour":[],"seven_day":{"used_percentage":{"a":1}}}}"#,
            r#"{"rate_limits":{"five_hour":{"used_percentage":5}},"rate_limits":null}"#,
            r#"{"rate_limits":null,"rate_limits":{"five_hour":{"used_percentage":5}}}"#,
            r#"{"session_id":"a","session_id":7,"version":"2.1.0","version":"2.1.1"}"#,
            r#"{"sess\u0069on_id":"\u00e9t\u00e9","cost":{"total_api_duration_ms":true}}"#,
            r#"{"rate_limits":{"five_hour":{"used_percentage":" 7 ","resets_at":"2026-11-20T10:00:00Z"}}}"#,
            r#"{"rate_limits":{"seven_day":{"used_percentage":18446744073709551615,"resets_at":-5}}}"#,
            r#"{"hook_event_name":"Status","workspace":{},"x":[{"y":[null,true,1.5e3]}]}"#,
            r#"{"hook_event_name":["Stop"],"model":"m","transcript_path":"/t.jsonl"}"#,
            r#"{"model":{"display_name":"Opus","display_name":null},"workspace":{"current_dir":""},"cwd":"/a"}"#,
            r#"{"workspace":{"current_dir":"/w"},"cwd":"/a","cost":{"total_cost_usd":"0.5"},"cost":{"total_cost_usd":1}}"#,
            r#"{"context_window":{"used_percentage":" 12.5"},"model":{"display_name":{"x":1}},"workspace":7}"#,
            "{\"a\":1}\n",
            "{} x",
            "{\"a\":\"\u{1}\"}",
        ] {
            assert_eq!(
                parse(json.as_bytes(), NOW),
                parse_as_tree(json.as_bytes(), NOW),
                "{json}"
            );
        }
    }

    /// Arbitrary bytes and mutated samples never panic the parser, and read as a tree would.
    #[test]
    fn parser_survives_random_and_mutated_input() {
        let mut rng = crate::testutil::Rng(0x9e37_79b9_7f4a_7c15);
        let samples: Vec<Vec<u8>> =
            std::fs::read_dir(format!("{}/fixtures", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file())
                .map(|p| std::fs::read(p).unwrap())
                .collect();
        for i in 0..4000 {
            let bytes = if i % 2 == 0 {
                let len = rng.below(512);
                rng.bytes(len)
            } else {
                let pick = rng.below(samples.len());
                rng.mutate(&samples[pick])
            };
            let parsed = parse(&bytes, NOW);
            // Where a tree can be built at all, the direct reading sees the same.
            if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
                assert_eq!(parsed, parse_as_tree(&bytes, NOW), "{bytes:?}");
            }
        }
    }
}
