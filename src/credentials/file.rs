//! Claude Code's credentials JSON: `<config dir>/.credentials.json`, and the same document as
//! stored in the macOS keychain item.
//!
//! Reads only the four fields ccmeter needs. The refresh token is skipped by the parser and never
//! becomes a Rust value; the raw bytes are wiped once parsed. Error reasons carry only a position
//! and a category, never the input: serde_json's messages can quote the value they choke on.

use super::{SecretBytes, Token, wipe};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// Claude Code's file is a few hundred bytes; anything this big is not it.
const MAX_BYTES: u64 = 1 << 20;

/// What reading the file gave, before looking inside.
pub(super) enum Raw {
    NotFound,
    /// Exists but could not be read; the reason names the I/O error kind only.
    Unreadable(String),
    Bytes(SecretBytes),
}

/// Reads the credentials file: only a regular file (a symlink to one is followed, as Claude
/// Code follows it), opened without blocking, at most [`MAX_BYTES`]. A FIFO at the path would
/// block a plain `open` until some writer came along, and the worker holds the refresh lock
/// while it reads (issue #21: it kept it until its watchdog fired).
pub(super) fn read(path: &Path) -> Raw {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opens a FIFO or a device at once instead of waiting; fstat then refuses it.
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Raw::NotFound,
        Err(e) => return Raw::Unreadable(io_reason(&e)),
    };
    // The descriptor's own metadata: what was opened, not what the path names a moment later.
    let len = match file.metadata() {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => return Raw::Unreadable("not a regular file".into()),
        Err(e) => return Raw::Unreadable(io_reason(&e)),
    };
    if len > MAX_BYTES {
        return Raw::Unreadable("larger than 1 MiB".into());
    }
    let mut buf = SecretBytes(Vec::with_capacity(len as usize));
    // Read one byte past the cap so "exactly at the cap" and "over it" differ (the file may
    // grow between the fstat and the read).
    match file.take(MAX_BYTES + 1).read_to_end(&mut buf.0) {
        Ok(n) if n as u64 > MAX_BYTES => Raw::Unreadable("larger than 1 MiB".into()),
        Ok(_) => Raw::Bytes(buf),
        Err(e) => Raw::Unreadable(io_reason(&e)),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    // The kind, not the error's Display: that is fine today but is not ours to vouch for.
    format!("cannot read it ({})", e.kind())
}

/// What the document says, before judging it against the clock.
pub(super) enum Parsed {
    /// No `claudeAiOauth`, an empty `accessToken`, or `expiresAt` 0: how Claude Code logs out.
    LoggedOut,
    Token {
        token: Token,
        subscription: Option<String>,
        scopes: Option<Vec<String>>,
        expires_at_ms: Option<i64>,
    },
    /// No `claudeAiOauth`, but a `keychainOverflow` pointer: Claude Code moved its larger
    /// sections (the login among them) to a second, encrypted keychain item,
    /// `<service>-overflow-<slot>`, which ccmeter does not read. Only the slot (`a` or `b`) is
    /// kept: the pointer's `key` decrypts that item and is as secret as the token.
    Overflow { slot: char },
    /// Not the shape we know; the reason is safe to print.
    Malformed(String),
}

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "claudeAiOauth", default)]
    oauth: Option<OauthEntry>,
    #[serde(rename = "keychainOverflow", default)]
    overflow: Option<OverflowPointer>,
}

/// Claude Code's `keychainOverflow` (2.1.332: `{slot: "a" | "b", key: <base64 AES-256-GCM
/// key>, login: <hash of the moved login>, …}`), read the way Claude Code reads it: a pointer
/// only when `slot` is `a` or `b` and `key` is a string; anything else is no pointer, never an
/// error. The key is looked at (is it a string?) and wiped, never kept.
struct OverflowPointer {
    slot: Option<char>,
}

impl<'de> Deserialize<'de> for OverflowPointer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, Visitor};
        struct Pointer;
        impl<'de> Visitor<'de> for Pointer {
            type Value = OverflowPointer;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OverflowPointer, A::Error> {
                let (mut slot, mut has_key) = (None, false);
                while let Some(name) = map.next_key::<String>()? {
                    match name.as_str() {
                        "slot" => {
                            slot = match map.next_value::<Value>()? {
                                Value::String(s) if s == "a" || s == "b" => s.chars().next(),
                                _ => None,
                            }
                        }
                        "key" => has_key = map.next_value::<IsString>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(OverflowPointer {
                    slot: slot.filter(|_| has_key),
                })
            }
            // Any other JSON value: no pointer.
            fn visit_bool<E>(self, _: bool) -> Result<OverflowPointer, E> {
                Ok(OverflowPointer { slot: None })
            }
            fn visit_i64<E>(self, _: i64) -> Result<OverflowPointer, E> {
                Ok(OverflowPointer { slot: None })
            }
            fn visit_u64<E>(self, _: u64) -> Result<OverflowPointer, E> {
                Ok(OverflowPointer { slot: None })
            }
            fn visit_f64<E>(self, _: f64) -> Result<OverflowPointer, E> {
                Ok(OverflowPointer { slot: None })
            }
            fn visit_str<E>(self, _: &str) -> Result<OverflowPointer, E> {
                Ok(OverflowPointer { slot: None })
            }
            fn visit_unit<E>(self) -> Result<OverflowPointer, E> {
                Ok(OverflowPointer { slot: None })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<OverflowPointer, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(OverflowPointer { slot: None })
            }
        }
        d.deserialize_any(Pointer)
    }
}

/// Whether a JSON value is a string, keeping nothing of it: an owned copy is wiped.
struct IsString(bool);

impl<'de> Deserialize<'de> for IsString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct Kind;
        impl<'de> Visitor<'de> for Kind {
            type Value = IsString;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, _: &str) -> Result<IsString, E> {
                Ok(IsString(true))
            }
            fn visit_string<E>(self, s: String) -> Result<IsString, E> {
                wipe(s.into_bytes());
                Ok(IsString(true))
            }
            fn visit_bool<E>(self, _: bool) -> Result<IsString, E> {
                Ok(IsString(false))
            }
            fn visit_i64<E>(self, _: i64) -> Result<IsString, E> {
                Ok(IsString(false))
            }
            fn visit_u64<E>(self, _: u64) -> Result<IsString, E> {
                Ok(IsString(false))
            }
            fn visit_f64<E>(self, _: f64) -> Result<IsString, E> {
                Ok(IsString(false))
            }
            fn visit_unit<E>(self) -> Result<IsString, E> {
                Ok(IsString(false))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IsString, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(IsString(false))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IsString, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(IsString(false))
            }
        }
        d.deserialize_any(Kind)
    }
}

#[derive(Deserialize)]
struct OauthEntry {
    #[serde(rename = "accessToken", default)]
    access_token: Option<SecretString>,
    #[serde(rename = "expiresAt", default)]
    expires_at: Option<Value>,
    #[serde(default)]
    scopes: Option<Value>,
    #[serde(rename = "subscriptionType", default)]
    subscription_type: Option<Value>,
}

/// A `String` that is wiped when dropped, so a parse that fails halfway leaves no copy behind.
struct SecretString(String);

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretString)
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        wipe(std::mem::take(&mut self.0).into_bytes());
    }
}

pub(super) fn parse(bytes: &[u8]) -> Parsed {
    let doc: Document = match serde_json::from_slice(bytes) {
        Ok(d) => d,
        Err(e) => return Parsed::Malformed(json_reason(&e)),
    };
    let Some(entry) = doc.oauth else {
        return match doc.overflow.and_then(|p| p.slot) {
            Some(slot) => Parsed::Overflow { slot },
            None => Parsed::LoggedOut,
        };
    };
    let expires_at_ms = match &entry.expires_at {
        None | Some(Value::Null) => None,
        Some(v) => match crate::usage::lenient_f64(v) {
            Some(ms) => Some(ms as i64),
            None => return Parsed::Malformed("expiresAt is not a number".into()),
        },
    };
    let mut access = match entry.access_token {
        Some(s) if !s.0.is_empty() => s,
        _ => return Parsed::LoggedOut,
    };
    if expires_at_ms == Some(0) {
        return Parsed::LoggedOut;
    }
    if !header_safe(&access.0) {
        return Parsed::Malformed(
            "accessToken holds characters that cannot go in an HTTP header".into(),
        );
    }
    let subscription = match entry.subscription_type {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    let scopes = match entry.scopes {
        Some(Value::Array(items)) => Some(
            items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
        ),
        // OAuth's wire format is a space-separated string; accept it if it ever lands here.
        Some(Value::String(s)) => Some(s.split_whitespace().map(String::from).collect()),
        _ => None,
    };
    Parsed::Token {
        token: Token::new(std::mem::take(&mut access.0)),
        subscription,
        scopes,
        expires_at_ms,
    }
}

/// Visible ASCII only: anything else could break or inject into the request's header block.
pub(super) fn header_safe(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "not valid JSON",
        Category::Eof => "truncated JSON",
        Category::Data => "JSON of an unexpected shape",
        Category::Io => "unreadable JSON",
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}
