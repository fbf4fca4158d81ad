//! Windows Credential Manager, read the way Claude Code writes it when its Credential Manager
//! rollout is on (`CLAUDE_CODE_FORCE_WINDOWS_CREDMAN=1`, or the `tengu_windows_credman` feature
//! flag Claude Code caches in its global config).
//!
//! What the win32 client (2.1.332) does, read from its bundle: it stores the credentials JSON
//! through `Bun.secrets` with service `Claude Code-credentials[-<hash>]` (the macOS keychain's
//! name, same hash) and name `claude-code-user`; Bun makes that a generic credential whose
//! TargetName is `<service>/<name>` and whose blob is the UTF-8 value (oven-sh/bun,
//! `SecretsWindows.cpp`). A blob holds at most 2560 bytes, so a larger value is written as base64
//! in parts of 2400 characters, `<name>#0` … `<name>#<n-1>`, plus a manifest `<name>#m` holding
//! `{"n": parts, "l": total characters}` (at most 256 parts). Its reader looks for the manifest
//! first, then the single item, and gives up when a part is missing or the lengths disagree;
//! an unparsable manifest counts as none. ccmeter reads in that order, then falls back to the
//! credentials file as Claude Code does.
//!
//! The assembly, the manifest and the base64 are pure and take the item reader as a parameter,
//! so they are tested on every platform with stand-in items; only Windows calls `CredReadW`
//! (hand-declared: two advapi32 functions do not earn a crate). Read-only: nothing here writes,
//! and no reason ever quotes an item's value.
#![cfg_attr(not(windows), allow(dead_code))]

use super::SecretBytes;
use serde_json::Value;

/// The name (account) Claude Code always uses on Windows.
pub(super) const NAME: &str = "claude-code-user";
/// Claude Code's limits: characters of base64 per part, and parts per value.
const PART_CHARS: u64 = 2400;
const MAX_PARTS: u64 = 256;

/// One Credential Manager lookup.
pub(super) enum Item {
    Missing,
    Value(SecretBytes),
    /// The reason, safe to print.
    Failed(String),
}

/// What assembling the credential gave.
pub(super) enum Read {
    NotFound,
    Found(SecretBytes),
    Unreadable(String),
}

/// The TargetName Claude Code's value lives under: `<service>/claude-code-user`.
pub(super) fn target(service: &str) -> String {
    format!("{service}/{NAME}")
}

/// Reads the credential under `target` with `read_item`, manifest and parts first, as Claude
/// Code does.
pub(super) fn assemble(read_item: &dyn Fn(&str) -> Item, target: &str) -> Read {
    let manifest = match read_item(&format!("{target}#m")) {
        Item::Missing => None,
        Item::Failed(reason) => return Read::Unreadable(reason),
        Item::Value(bytes) => manifest(&bytes.0),
    };
    let Some((parts, len)) = manifest else {
        return match read_item(target) {
            Item::Missing => Read::NotFound,
            Item::Value(bytes) => Read::Found(bytes),
            Item::Failed(reason) => Read::Unreadable(reason),
        };
    };
    let mut joined = SecretBytes(Vec::with_capacity(len as usize));
    for i in 0..parts {
        match read_item(&format!("{target}#{i}")) {
            Item::Value(bytes) => joined.0.extend_from_slice(&bytes.0),
            Item::Missing => {
                return Read::Unreadable(format!("part {i} of {parts} is missing"));
            }
            Item::Failed(reason) => return Read::Unreadable(reason),
        }
    }
    if joined.0.len() as u64 != len {
        return Read::Unreadable(format!(
            "the {parts} parts hold {} characters, the manifest says {len}",
            joined.0.len()
        ));
    }
    match base64_decode(&joined.0) {
        Some(json) => Read::Found(SecretBytes(json)),
        None => Read::Unreadable(format!("the {parts} parts are not base64")),
    }
}

/// `{"n": parts, "l": characters}` with Claude Code's own bounds, or `None` (which Claude Code
/// also treats as "no manifest").
fn manifest(bytes: &[u8]) -> Option<(u64, u64)> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let whole = |key: &str| {
        let x = v.get(key)?.as_f64()?;
        (x.fract() == 0.0 && x > 0.0 && x <= u32::MAX as f64).then_some(x as u64)
    };
    let (n, l) = (whole("n")?, whole("l")?);
    (n <= MAX_PARTS && l <= n * PART_CHARS).then_some((n, l))
}

/// Standard base64 (what Node's `Buffer#toString("base64")` writes), padding optional.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let body = match text {
        [rest @ .., b'=', b'='] | [rest @ .., b'='] => rest,
        _ => text,
    };
    if body.len() % 4 == 1 {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    for chunk in body.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = acc << 6 | value(c)?;
        }
        acc <<= 6 * (4 - chunk.len() as u32);
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Whether Claude Code's cached feature flags (`cachedGrowthBookFeatures`, or the older
/// `cachedFeatureFlags`) turn the Credential Manager on, as its `tengu_windows_credman` check
/// reads them from its global config.
pub(super) fn flag_in_config(json: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Config {
        #[serde(rename = "cachedGrowthBookFeatures", default)]
        growthbook: Option<Value>,
        #[serde(rename = "cachedFeatureFlags", default)]
        legacy: Option<Value>,
    }
    let Ok(config) = serde_json::from_slice::<Config>(json) else {
        return false;
    };
    config
        .growthbook
        .or(config.legacy)
        .and_then(|flags| flags.get("tengu_windows_credman").cloned())
        == Some(Value::Bool(true))
}

/// Whether Claude Code on this machine keeps its login in the Credential Manager: the
/// environment override, else the cached flag in `<config dir>/.config.json` (when it has any
/// bytes) or `<CLAUDE_CONFIG_DIR or home>/.claude.json`, the two files Claude Code reads it from.
#[cfg(windows)]
pub(super) fn enabled() -> bool {
    if std::env::var_os("CLAUDE_CODE_FORCE_WINDOWS_CREDMAN").is_some_and(|v| v == "1") {
        return true;
    }
    let configured = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|v| !v.is_empty());
    let home = crate::paths::home_dir().unwrap_or_default();
    let config_dir = configured
        .clone()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| home.join(".claude"));
    let global_dir = configured.map(std::path::PathBuf::from).unwrap_or(home);
    // The global config keeps project histories: tens of MB are possible, 64 MiB is not it.
    const MAX: u64 = 64 << 20;
    let read = |path: std::path::PathBuf| {
        use std::io::Read;
        let mut buf = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX).read_to_end(&mut buf))
            .ok()
            .map(|_| buf)
    };
    let text = read(config_dir.join(".config.json"))
        .filter(|b| !b.is_empty())
        .or_else(|| read(global_dir.join(".claude.json")));
    text.is_some_and(|t| flag_in_config(&t))
}

/// Reads one generic credential with `CredReadW`.
#[cfg(windows)]
pub(super) fn read_item(target: &str) -> Item {
    use std::ffi::c_void;

    #[repr(C)]
    struct Credential {
        flags: u32,
        kind: u32,
        target_name: *mut u16,
        comment: *mut u16,
        last_written: [u32; 2],
        blob_size: u32,
        blob: *mut u8,
        persist: u32,
        attribute_count: u32,
        attributes: *mut c_void,
        target_alias: *mut u16,
        user_name: *mut u16,
    }
    #[link(name = "advapi32")]
    unsafe extern "system" {
        fn CredReadW(target: *const u16, kind: u32, flags: u32, out: *mut *mut Credential) -> i32;
        fn CredFree(buffer: *mut c_void);
    }
    const CRED_TYPE_GENERIC: u32 = 1;
    const ERROR_NOT_FOUND: i32 = 1168;

    let wide: Vec<u16> = target.encode_utf16().chain(std::iter::once(0)).collect();
    let mut cred: *mut Credential = std::ptr::null_mut();
    // SAFETY: a NUL-terminated UTF-16 name and a valid out pointer.
    let ok = unsafe { CredReadW(wide.as_ptr(), CRED_TYPE_GENERIC, 0, &mut cred) };
    if ok == 0 || cred.is_null() {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(ERROR_NOT_FOUND) => Item::Missing,
            Some(code) => Item::Failed(format!("Credential Manager error {code}")),
            None => Item::Failed("Credential Manager error".into()),
        };
    }
    // SAFETY: on success `cred` points at a CREDENTIALW that stays valid until CredFree; its blob
    // holds `blob_size` bytes. The OS copy is zeroed before it is freed.
    unsafe {
        let c = &*cred;
        let item = if c.blob.is_null() || c.blob_size == 0 {
            // Bun's `get` answers null for an empty blob: Claude Code sees no item.
            Item::Missing
        } else {
            let bytes = std::slice::from_raw_parts(c.blob, c.blob_size as usize).to_vec();
            std::ptr::write_bytes(c.blob, 0, c.blob_size as usize);
            Item::Value(SecretBytes(bytes))
        };
        CredFree(cred.cast());
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SAMPLE: &str = include_str!("../../fixtures/credentials.json");
    const TARGET: &str = "Claude Code-credentials/claude-code-user";

    fn encode(bytes: &[u8]) -> String {
        const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let mut b = [0u8; 3];
            b[..chunk.len()].copy_from_slice(chunk);
            let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// A stand-in Credential Manager holding `items` (TargetName → value).
    fn store(items: &[(String, String)]) -> impl Fn(&str) -> Item + use<> {
        let map: HashMap<String, String> = items.iter().cloned().collect();
        move |target: &str| match map.get(target) {
            Some(v) if v == "<fail>" => Item::Failed("Credential Manager error 5".into()),
            Some(v) => Item::Value(SecretBytes(v.clone().into_bytes())),
            None => Item::Missing,
        }
    }

    /// Claude Code's writer: parts of 2400 characters of base64 and a manifest.
    fn chunked(json: &str) -> Vec<(String, String)> {
        let b64 = encode(json.as_bytes());
        let parts: Vec<&str> = b64
            .as_bytes()
            .chunks(2400)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let mut items: Vec<(String, String)> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("{TARGET}#{i}"), p.to_string()))
            .collect();
        items.push((
            format!("{TARGET}#m"),
            format!(r#"{{"n":{},"l":{}}}"#, parts.len(), b64.len()),
        ));
        items
    }

    fn found(read: Read) -> Vec<u8> {
        match read {
            Read::Found(bytes) => bytes.0.clone(),
            Read::NotFound => panic!("not found"),
            Read::Unreadable(r) => panic!("unreadable: {r}"),
        }
    }

    fn unreadable(read: Read) -> String {
        match read {
            Read::Unreadable(r) => r,
            _ => panic!("expected unreadable"),
        }
    }

    #[test]
    fn target_is_service_slash_claude_code_user() {
        assert_eq!(target("Claude Code-credentials"), TARGET);
        assert_eq!(
            target("Claude Code-credentials-be865d75"),
            "Claude Code-credentials-be865d75/claude-code-user"
        );
    }

    #[test]
    fn a_small_value_is_one_utf8_item() {
        let read = store(&[(TARGET.to_string(), SAMPLE.to_string())]);
        assert_eq!(found(assemble(&read, TARGET)), SAMPLE.as_bytes());
    }

    #[test]
    fn no_item_and_no_manifest_is_not_found() {
        let read = store(&[("other/claude-code-user".into(), SAMPLE.into())]);
        assert!(matches!(assemble(&read, TARGET), Read::NotFound));
    }

    #[test]
    fn a_large_value_is_assembled_from_its_parts() {
        // Over one blob's 2560 bytes, as a login with many scopes and an MCP OAuth entry gets.
        let padding = "x".repeat(6000);
        let json = SAMPLE.replacen('{', &format!(r#"{{"mcpOAuth":"{padding}","#), 1);
        let items = chunked(&json);
        assert_eq!(items.len(), 5, "4 parts + manifest");
        let read = store(&items);
        assert_eq!(found(assemble(&read, TARGET)), json.as_bytes());
    }

    #[test]
    fn the_manifest_wins_over_a_leftover_single_item() {
        let mut items = chunked(SAMPLE);
        items.push((TARGET.to_string(), r#"{"stale":true}"#.to_string()));
        assert_eq!(found(assemble(&store(&items), TARGET)), SAMPLE.as_bytes());
    }

    #[test]
    fn a_missing_part_or_wrong_length_is_unreadable_and_says_so() {
        let padding = "x".repeat(3000);
        let json = SAMPLE.replacen('{', &format!(r#"{{"pad":"{padding}","#), 1);
        let mut items = chunked(&json);
        items.retain(|(k, _)| !k.ends_with("#1"));
        let why = unreadable(assemble(&store(&items), TARGET));
        assert_eq!(why, "part 1 of 2 is missing");

        let mut items = chunked(SAMPLE);
        let m = items.iter_mut().find(|(k, _)| k.ends_with("#m")).unwrap();
        m.1 = r#"{"n":1,"l":7}"#.into();
        let why = unreadable(assemble(&store(&items), TARGET));
        assert!(why.starts_with("the 1 parts hold "), "{why}");
        assert!(!why.contains("SAMPLE") && !why.contains("sk-ant"), "{why}");
    }

    #[test]
    fn parts_that_are_not_base64_are_unreadable_without_quoting_them() {
        let items = vec![
            (format!("{TARGET}#0"), "sk-ant-oat01-SAMPLE!".to_string()),
            (format!("{TARGET}#m"), r#"{"n":1,"l":20}"#.to_string()),
        ];
        let why = unreadable(assemble(&store(&items), TARGET));
        assert_eq!(why, "the 1 parts are not base64");
    }

    #[test]
    fn a_manifest_outside_claude_codes_bounds_counts_as_none() {
        for bad in [
            r#"{"n":0,"l":0}"#,
            r#"{"n":257,"l":10}"#,
            r#"{"n":1,"l":2401}"#,
            r#"{"n":1.5,"l":10}"#,
            r#"{"n":"1","l":10}"#,
            r#"{"n":1}"#,
            "not json",
        ] {
            let items = vec![
                (format!("{TARGET}#m"), bad.to_string()),
                (TARGET.to_string(), SAMPLE.to_string()),
            ];
            assert_eq!(
                found(assemble(&store(&items), TARGET)),
                SAMPLE.as_bytes(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_failing_lookup_is_unreadable_with_its_error() {
        let items = vec![(format!("{TARGET}#m"), "<fail>".to_string())];
        assert_eq!(
            unreadable(assemble(&store(&items), TARGET)),
            "Credential Manager error 5"
        );
        let items = vec![(TARGET.to_string(), "<fail>".to_string())];
        assert_eq!(
            unreadable(assemble(&store(&items), TARGET)),
            "Credential Manager error 5"
        );
    }

    #[test]
    fn base64_round_trips_every_length_and_rejects_strangers() {
        let data: Vec<u8> = (0u8..=255).collect();
        for n in 0..40 {
            let text = encode(&data[..n]);
            assert_eq!(base64_decode(text.as_bytes()).unwrap(), &data[..n], "{n}");
            let bare = text.trim_end_matches('=');
            assert_eq!(base64_decode(bare.as_bytes()).unwrap(), &data[..n], "{n}");
        }
        assert_eq!(base64_decode(b"aGk=").unwrap(), b"hi");
        for bad in [&b"a"[..], b"aGk*", b"aG k", b"aGk=x", b"-_-_"] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_flag_is_read_from_claude_codes_cached_features() {
        assert!(flag_in_config(
            br#"{"numStartups":3,"cachedGrowthBookFeatures":{"tengu_windows_credman":true}}"#
        ));
        assert!(flag_in_config(
            br#"{"cachedFeatureFlags":{"tengu_windows_credman":true}}"#
        ));
        for off in [
            &br#"{"cachedGrowthBookFeatures":{"tengu_windows_credman":false}}"#[..],
            br#"{"cachedGrowthBookFeatures":{"tengu_windows_credman":"true"}}"#,
            br#"{"cachedGrowthBookFeatures":{},"cachedFeatureFlags":{"tengu_windows_credman":true}}"#,
            br#"{"projects":{}}"#,
            b"[]",
            b"not json",
        ] {
            assert!(!flag_in_config(off), "{}", String::from_utf8_lossy(off));
        }
    }
}
