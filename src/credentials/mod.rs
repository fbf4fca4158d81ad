//! Claude Code's OAuth login, found the way Claude Code finds it: the only code that ever holds
//! the token.
//!
//! Order: `CLAUDE_CODE_OAUTH_TOKEN`, then (macOS) the keychain item named after the config dir,
//! read through `/usr/bin/security` as Claude Code does (see `keychain.rs` for why), or (Windows,
//! when Claude Code keeps its login there) the Credential Manager item of the same name (see
//! `credman.rs`), then `<config dir>/.credentials.json`. The result is a state ([`Lookup`]), not a string, plus
//! a list of what was looked at for `doctor`.
//!
//! Deliberately read-only: refresh tokens are single-use, so refreshing one would log Claude Code
//! out. An expired token stays expired until Claude Code refreshes it.
//!
//! The token cannot be printed: [`Token`] has no `Display`, a redacted `Debug`, and leaves this
//! module only as an `Authorization` header via [`Token::authorize`]. No error or probe text
//! carries file contents.

mod credman;
mod file;
mod keychain;

use crate::paths::ConfigDir;
use crate::store::KeychainWait;
use crate::usage::Problem;
use std::fmt;
use std::path::PathBuf;

const ENV_VAR: &str = "CLAUDE_CODE_OAUTH_TOKEN";
const KEYCHAIN_SERVICE: &str = "Claude Code-credentials";
const FALLBACK_ACCOUNT: &str = "claude-code-user";
/// The scope the usage endpoint needs.
const USAGE_SCOPE: &str = "user:profile";
/// A token this close to its expiry counts as expired: clocks differ, and a request that lands
/// after expiry gets a 401, which would wrongly tell the user to log in again.
const EXPIRY_SKEW_MS: i64 = 60_000;
/// How long each keychain trouble keeps ccmeter from running `security` again. A locked
/// keychain without a GUI (exit 36) may be unlocked any minute; a refusal is the user's answer;
/// no answer at all means a dialog is probably on screen, and another must not pile on it.
const KEYCHAIN_LOCKED_WAIT_S: i64 = 60;
const KEYCHAIN_DENIED_WAIT_S: i64 = 3600;
const KEYCHAIN_NO_ANSWER_WAIT_S: i64 = 900;

/// The OAuth access token. Cannot be printed, cloned or serialised; wiped when dropped.
pub struct Token {
    secret: String,
}

impl Token {
    fn new(secret: String) -> Token {
        Token { secret }
    }

    /// Adds `Authorization: Bearer …`: the only way the token leaves this module.
    pub fn authorize(&self, req: minreq::Request) -> minreq::Request {
        req.with_header("Authorization", format!("Bearer {}", self.secret))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        wipe(std::mem::take(&mut self.secret).into_bytes());
    }
}

/// Raw credentials bytes (file or keychain), wiped when dropped. No `Debug` on purpose.
struct SecretBytes(Vec<u8>);

impl Drop for SecretBytes {
    fn drop(&mut self) {
        wipe(std::mem::take(&mut self.0));
    }
}

/// Best effort: overwrite before freeing. Copies made by serde_json's scratch buffer or by the
/// HTTP client's header are beyond reach without another crate.
fn wipe(mut bytes: Vec<u8>) {
    bytes.fill(0);
    std::hint::black_box(&bytes);
}

/// Where a token came from. Never holds the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Env,
    Keychain {
        service: String,
        account: String,
    },
    /// A Windows Credential Manager generic credential, by TargetName.
    CredentialManager(String),
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env => write!(f, "env {ENV_VAR}"),
            Origin::Keychain { service, account } => {
                write!(f, "keychain \"{service}\" (account {account})")
            }
            Origin::CredentialManager(target) => {
                write!(f, "Windows Credential Manager \"{target}\"")
            }
            Origin::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// A usable login.
#[derive(Debug)]
pub struct Found {
    pub token: Token,
    pub origin: Origin,
    /// `subscriptionType` (`pro`, `max`, …) when recorded.
    pub subscription: Option<String>,
    /// `None` when unknown (always so for `CLAUDE_CODE_OAUTH_TOKEN`).
    pub scopes: Option<Vec<String>>,
    /// Unix milliseconds; `None` when unknown.
    pub expires_at_ms: Option<i64>,
}

impl Found {
    /// Which credentials these are, without anything secret: where they came from and when they
    /// expire. Claude Code rewrites `expiresAt` on every /login and token refresh, so a change
    /// here is how a rejected login is known to have been replaced. (An env token has no expiry:
    /// a new one there is not told apart, and waits out the 401's backoff.)
    pub fn fingerprint(&self) -> String {
        match self.expires_at_ms {
            Some(ms) => format!("{} expiresAt {ms}", self.origin),
            None => format!("{} expiresAt unknown", self.origin),
        }
    }
}

/// What discovery concluded.
#[derive(Debug)]
pub enum Lookup {
    Ready(Found),
    /// No env token, no keychain item, no file; or one that says logged out.
    NotLoggedIn,
    Expired {
        origin: Origin,
        expires_at_ms: i64,
    },
    /// The token cannot read usage, so asking would only earn a 403.
    MissingScope {
        origin: Origin,
        scopes: Vec<String>,
    },
    /// Exists but could not be read or parsed. `reason` never quotes the contents.
    Unreadable {
        origin: Origin,
        reason: String,
    },
    /// `security` said the keychain is locked, or did not answer (a dialog is up); the reason
    /// says which. No credentials file either.
    KeychainLocked {
        service: String,
        reason: String,
    },
    /// The keychain refused the item (exit 51, or Deny pressed). No credentials file either.
    KeychainDenied {
        service: String,
        reason: String,
    },
    /// The keychain item holds a `keychainOverflow` pointer and no login: Claude Code moved its
    /// larger sections, the login among them, to a second item encrypted with a key from the
    /// first (`overflow`, e.g. `Claude Code-credentials-overflow-a`), which ccmeter does not
    /// read. No credentials file either.
    KeychainOverflow {
        service: String,
        overflow: String,
    },
}

impl Lookup {
    /// What the line shows instead of fresh numbers; `None` when a request can be made.
    pub fn problem(&self) -> Option<Problem> {
        match self {
            Lookup::Ready(_) => None,
            Lookup::NotLoggedIn => Some(Problem::NotLoggedIn),
            Lookup::Expired { .. } => Some(Problem::TokenExpired),
            Lookup::MissingScope { .. } => Some(Problem::NoUsageData),
            Lookup::Unreadable { .. } => Some(Problem::CredentialsUnreadable),
            Lookup::KeychainLocked { .. } => Some(Problem::KeychainLocked),
            Lookup::KeychainDenied { .. } => Some(Problem::KeychainDenied),
            Lookup::KeychainOverflow { .. } => Some(Problem::CredentialsUnreadable),
        }
    }

    /// The full story for `doctor`.
    pub fn explain(&self) -> String {
        match self {
            Lookup::Ready(found) => {
                let plan = found.subscription.as_deref().unwrap_or("plan not recorded");
                let expiry = match found.expires_at_ms {
                    Some(ms) => format!("expires {}", format_ms(ms)),
                    None => "expiry not recorded".to_string(),
                };
                let scopes = match &found.scopes {
                    Some(s) => format!("scopes {}", s.join(" ")),
                    None => format!(
                        "scopes unknown ({ENV_VAR} tokens often cannot read usage; a 403 then means no usage data)"
                    ),
                };
                format!(
                    "logged in: token from {}, {plan}, {expiry}, {scopes}",
                    found.origin
                )
            }
            Lookup::NotLoggedIn => Problem::NotLoggedIn.explain().to_string(),
            Lookup::Expired {
                origin,
                expires_at_ms,
            } => format!(
                "the OAuth token from {origin} expired at {}; Claude Code refreshes it the next time it runs (ccmeter never does)",
                format_ms(*expires_at_ms)
            ),
            Lookup::MissingScope { origin, scopes } => format!(
                "the token from {origin} lacks the {USAGE_SCOPE} scope needed to read usage (it has: {}); showing stdin data or estimates. /login in Claude Code gives a full-scope token",
                if scopes.is_empty() {
                    "none".to_string()
                } else {
                    scopes.join(" ")
                }
            ),
            Lookup::Unreadable { origin, reason } => {
                format!("Claude Code's credentials in {origin} could not be read: {reason}")
            }
            Lookup::KeychainLocked { service, reason } => format!(
                "the keychain item \"{service}\" could not be read because the keychain is locked ({reason}), and there is no credentials file; {}",
                Problem::KeychainLocked.explain()
            ),
            Lookup::KeychainDenied { service, reason } => format!(
                "the keychain refused the item \"{service}\" ({reason}), and there is no credentials file; {}",
                Problem::KeychainDenied.explain()
            ),
            Lookup::KeychainOverflow { service, overflow } => format!(
                "logged in, but out of ccmeter's reach: Claude Code moved the login from the keychain item \"{service}\" to a second, encrypted item \"{overflow}\" (keychainOverflow), which ccmeter does not read, and there is no credentials file; the status line still shows Claude Code's own 5h/7d numbers from its stdin, but the usage endpoint is not asked (no per-model windows or extra usage)"
            ),
        }
    }
}

/// The verdict plus what was looked at, one line per place, for `doctor`.
#[derive(Debug)]
pub struct Discovery {
    pub lookup: Lookup,
    pub probes: Vec<String>,
    /// The pause on keychain reads the store should hold after this lookup: a new one when
    /// `security` was locked, refused or silent; the running one when it was not asked; `None`
    /// once it answered normally.
    pub keychain_wait: Option<KeychainWait>,
}

/// What one keychain lookup gave. Defined on every platform so the reader and the discovery
/// order are tested everywhere with stand-ins (only macOS reads the real keychain).
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
enum KeychainRead {
    /// Exit 44: no such item.
    NotFound,
    Found(SecretBytes),
    /// Exit 36: locked, and no GUI session to unlock it in.
    Locked,
    /// Exit 51, or the user canceled: the reason, for `doctor`.
    Denied(String),
    /// No answer within the timeout: killed, and probably a dialog on screen.
    TimedOut,
    /// Anything else; the reason never quotes the output.
    Unreadable(String),
}

/// Looks up `(service, account)`: the real keychain on macOS, a stand-in in tests.
type KeychainReader<'a> = &'a dyn Fn(&str, &str) -> KeychainRead;

/// Looks up one Credential Manager item by TargetName: `CredReadW` on Windows, a stand-in in
/// tests.
type CredmanReader<'a> = &'a dyn Fn(&str) -> credman::Item;

/// `CLAUDE_CODE_OAUTH_TOKEN`, or `None` when unset or empty.
pub fn env_token() -> Option<String> {
    let raw = std::env::var_os(ENV_VAR)?;
    // Lossy rather than dropped: a garbled token should be reported, not silently ignored.
    let s = raw
        .into_string()
        .unwrap_or_else(|raw| raw.to_string_lossy().into_owned());
    if s.is_empty() { None } else { Some(s) }
}

/// The keychain service Claude Code uses for this config dir: the bare name for the default dir,
/// else suffixed with the first 8 hex digits of SHA-256 of the NFC-normalised dir string exactly
/// as configured (a trailing slash changes the name, as it does for Claude Code).
pub fn keychain_service(config_dir: &ConfigDir) -> String {
    use sha2::{Digest, Sha256};
    use unicode_normalization::UnicodeNormalization;
    match &config_dir.configured {
        None => KEYCHAIN_SERVICE.to_string(),
        Some(dir) => {
            let nfc: String = dir.nfc().collect();
            let digest = Sha256::digest(nfc.as_bytes());
            let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
            format!("{KEYCHAIN_SERVICE}-{hex}")
        }
    }
}

/// The keychain account: `$USER` when it is `[A-Za-z0-9._-]+`, else `claude-code-user`.
pub fn keychain_account(user: Option<&str>) -> String {
    match user {
        Some(u)
            if !u.is_empty()
                && u.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) =>
        {
            u.to_string()
        }
        _ => FALLBACK_ACCOUNT.to_string(),
    }
}

/// [`discover`] with this process's `CLAUDE_CODE_OAUTH_TOKEN` and `$USER`, at `now` (unix
/// seconds), honouring the keychain pause the store holds: what the worker and `doctor` call.
pub fn discover_from_env(
    config_dir: &ConfigDir,
    now: i64,
    keychain_wait: Option<&KeychainWait>,
) -> Discovery {
    let user = std::env::var("USER").ok();
    #[cfg(windows)]
    let credman = credman::enabled();
    #[cfg(not(windows))]
    let credman = false;
    discover(
        config_dir,
        env_token(),
        user.as_deref(),
        now.saturating_mul(1000),
        keychain_wait,
        credman,
    )
}

/// Finds the login. `env_token` is [`env_token()`]'s value, `user` is `$USER`, `now_ms` unix ms.
/// Reads the keychain (macOS, unless `keychain_wait` still runs), the Credential Manager
/// (Windows, when `credman` says Claude Code keeps its login there) and the file; writes nothing.
pub fn discover(
    config_dir: &ConfigDir,
    env_token: Option<String>,
    user: Option<&str>,
    now_ms: i64,
    keychain_wait: Option<&KeychainWait>,
    credman: bool,
) -> Discovery {
    #[cfg(target_os = "macos")]
    let keychain: Option<KeychainReader> = Some(&keychain::read);
    #[cfg(not(target_os = "macos"))]
    let keychain: Option<KeychainReader> = None;
    #[cfg(windows)]
    let credman: Option<CredmanReader> = credman.then_some(&credman::read_item);
    // Claude Code keeps its login in the Credential Manager only on Windows.
    #[cfg(not(windows))]
    let credman: Option<CredmanReader> = credman.then_some(&no_credman);
    discover_with(
        config_dir,
        env_token,
        user,
        now_ms,
        keychain,
        keychain_wait,
        credman,
    )
}

#[cfg(not(windows))]
fn no_credman(_target: &str) -> credman::Item {
    credman::Item::Missing
}

fn discover_with(
    config_dir: &ConfigDir,
    env_token: Option<String>,
    user: Option<&str>,
    now_ms: i64,
    keychain: Option<KeychainReader>,
    keychain_wait: Option<&KeychainWait>,
    credman: Option<CredmanReader>,
) -> Discovery {
    let now = now_ms.div_euclid(1000);
    // Unless the keychain is asked below, a pause still running stays as it is.
    let mut new_wait = keychain_wait.filter(|w| w.until > now).cloned();
    let mut probes = Vec::new();
    let path = config_dir.path.join(".credentials.json");
    let file_origin = Origin::File(path.clone());
    let keychain =
        keychain.map(|read| (read, keychain_service(config_dir), keychain_account(user)));
    let keychain_origin = keychain
        .as_ref()
        .map(|(_, service, account)| Origin::Keychain {
            service: service.clone(),
            account: account.clone(),
        });
    let credman = credman.map(|read| (read, credman::target(&keychain_service(config_dir))));
    let credman_origin = credman
        .as_ref()
        .map(|(_, target)| Origin::CredentialManager(target.clone()));
    let skipped = |origin: &Origin, why: &str| format!("{origin}: not checked ({why})");

    if let Some(secret) = env_token.filter(|t| !t.is_empty()) {
        let lookup = from_env(secret);
        probes.push(format!("{}: {}", Origin::Env, summary(&lookup, now_ms)));
        let why = format!("{ENV_VAR} comes first");
        probes.extend(keychain_origin.iter().map(|o| skipped(o, &why)));
        probes.extend(credman_origin.iter().map(|o| skipped(o, &why)));
        probes.push(skipped(&file_origin, &why));
        return Discovery {
            lookup,
            probes,
            keychain_wait: new_wait,
        };
    }
    probes.push(format!("{}: not set", Origin::Env));

    // Like Claude Code, a keychain item that is missing, unreadable or refused falls back to the
    // file; the keychain's own trouble is reported only when the file has nothing either.
    let mut keychain_trouble = None;
    if let (Some((read, service, account)), Some(origin)) = (keychain, keychain_origin) {
        let trouble = |problem: Problem, reason: String| match problem {
            Problem::KeychainDenied => Lookup::KeychainDenied {
                service: service.clone(),
                reason,
            },
            _ => Lookup::KeychainLocked {
                service: service.clone(),
                reason,
            },
        };
        if let Some(wait) = &new_wait {
            probes.push(format!(
                "{origin}: not checked ({}; waiting {} more so no second dialog stacks up)",
                wait.reason,
                human_span((wait.until - now) * 1000)
            ));
            keychain_trouble = Some(trouble(wait.problem, wait.reason.clone()));
        } else {
            // (problem, how long to leave the keychain alone, why) when it needs a pause.
            let mut pause = None;
            match read(&service, &account) {
                KeychainRead::NotFound => probes.push(format!("{origin}: not found")),
                KeychainRead::Locked => {
                    pause = Some((
                        Problem::KeychainLocked,
                        KEYCHAIN_LOCKED_WAIT_S,
                        "locked (security exit 36: no GUI session to unlock it)".to_string(),
                    ));
                }
                KeychainRead::Denied(why) => {
                    pause = Some((
                        Problem::KeychainDenied,
                        KEYCHAIN_DENIED_WAIT_S,
                        format!("access denied ({why})"),
                    ));
                }
                KeychainRead::TimedOut => {
                    pause = Some((
                        Problem::KeychainLocked,
                        KEYCHAIN_NO_ANSWER_WAIT_S,
                        format!(
                            "no answer from security within {} s (a keychain dialog is probably on screen)",
                            keychain::TIMEOUT.as_secs()
                        ),
                    ));
                }
                KeychainRead::Unreadable(reason) => {
                    probes.push(format!("{origin}: unreadable: {reason}"));
                    keychain_trouble = Some(Lookup::Unreadable {
                        origin: origin.clone(),
                        reason,
                    });
                }
                KeychainRead::Found(bytes) => {
                    let lookup = match file::parse(&bytes.0) {
                        file::Parsed::Overflow { slot } => Lookup::KeychainOverflow {
                            overflow: format!("{service}-overflow-{slot}"),
                            service: service.clone(),
                        },
                        parsed => judge(parsed, origin.clone(), now_ms),
                    };
                    drop(bytes);
                    probes.push(format!("{origin}: {}", summary(&lookup, now_ms)));
                    // Like an unreadable item, a login ccmeter cannot reach leaves the file to
                    // try; the trouble is reported only when the file has nothing either.
                    if let Lookup::Unreadable { .. } | Lookup::KeychainOverflow { .. } = lookup {
                        keychain_trouble = Some(lookup);
                    } else {
                        probes.push(skipped(&file_origin, "the keychain item comes first"));
                        return Discovery {
                            lookup,
                            probes,
                            keychain_wait: None,
                        };
                    }
                }
            }
            new_wait = None;
            if let Some((problem, wait_s, reason)) = pause {
                probes.push(format!(
                    "{origin}: {reason}; not asked again for {}",
                    human_span(wait_s * 1000)
                ));
                new_wait = Some(KeychainWait {
                    until: now + wait_s,
                    problem,
                    reason: reason.clone(),
                });
                keychain_trouble = Some(trouble(problem, reason));
            }
        }
    }

    // Claude Code reads the Credential Manager first and falls back to the file when the item is
    // missing or unreadable; so does this, reporting the item's trouble only when the file has
    // nothing either.
    if let (Some((read, target)), Some(origin)) = (credman, credman_origin) {
        match credman::assemble(read, &target) {
            credman::Read::NotFound => probes.push(format!("{origin}: not found")),
            credman::Read::Unreadable(reason) => {
                probes.push(format!("{origin}: unreadable: {reason}"));
                keychain_trouble = Some(Lookup::Unreadable { origin, reason });
            }
            credman::Read::Found(bytes) => {
                let lookup = judge(file::parse(&bytes.0), origin.clone(), now_ms);
                drop(bytes);
                probes.push(format!("{origin}: {}", summary(&lookup, now_ms)));
                if let Lookup::Unreadable { .. } = lookup {
                    keychain_trouble = Some(lookup);
                } else {
                    probes.push(skipped(
                        &file_origin,
                        "the Credential Manager item comes first",
                    ));
                    return Discovery {
                        lookup,
                        probes,
                        keychain_wait: new_wait,
                    };
                }
            }
        }
    }

    let lookup = match file::read(&path) {
        file::Raw::NotFound => {
            probes.push(format!("{file_origin}: not found"));
            return Discovery {
                lookup: keychain_trouble.unwrap_or(Lookup::NotLoggedIn),
                probes,
                keychain_wait: new_wait,
            };
        }
        file::Raw::Unreadable(reason) => Lookup::Unreadable {
            origin: file_origin.clone(),
            reason,
        },
        file::Raw::Bytes(bytes) => judge(file::parse(&bytes.0), file_origin.clone(), now_ms),
    };
    probes.push(format!("{file_origin}: {}", summary(&lookup, now_ms)));
    Discovery {
        lookup,
        probes,
        keychain_wait: new_wait,
    }
}

/// An env token's scopes and expiry are unknown, so it is usable if it can be sent at all.
fn from_env(secret: String) -> Lookup {
    let trimmed = secret.trim();
    let lookup = if file::header_safe(trimmed) {
        Lookup::Ready(Found {
            token: Token::new(trimmed.to_string()),
            origin: Origin::Env,
            subscription: None,
            scopes: None,
            expires_at_ms: None,
        })
    } else {
        Lookup::Unreadable {
            origin: Origin::Env,
            reason: "the token holds characters that cannot go in an HTTP header".into(),
        }
    };
    wipe(secret.into_bytes());
    lookup
}

/// Judges a parsed document against the clock. A missing scope wins over expiry: refreshing
/// does not add scopes, so "no usage data" is the lasting truth.
fn judge(parsed: file::Parsed, origin: Origin, now_ms: i64) -> Lookup {
    match parsed {
        // Claude Code keeps an overflow item beside a keychain item only (its file has no size
        // limit to overflow): in a file the pointer says nothing, and no login is no login.
        file::Parsed::LoggedOut | file::Parsed::Overflow { .. } => Lookup::NotLoggedIn,
        file::Parsed::Malformed(reason) => Lookup::Unreadable { origin, reason },
        file::Parsed::Token {
            token,
            subscription,
            scopes,
            expires_at_ms,
        } => {
            if let Some(s) = &scopes
                && !s.iter().any(|s| s == USAGE_SCOPE)
            {
                return Lookup::MissingScope {
                    origin,
                    scopes: s.clone(),
                };
            }
            if let Some(ms) = expires_at_ms
                && ms <= now_ms.saturating_add(EXPIRY_SKEW_MS)
            {
                return Lookup::Expired {
                    origin,
                    expires_at_ms: ms,
                };
            }
            Lookup::Ready(Found {
                token,
                origin,
                subscription,
                scopes,
                expires_at_ms,
            })
        }
    }
}

/// What was found at one place, for a probe line (the place itself is prefixed by the caller).
fn summary(lookup: &Lookup, now_ms: i64) -> String {
    match lookup {
        Lookup::Ready(found) => {
            let plan = found.subscription.as_deref().unwrap_or("plan not recorded");
            match (found.origin == Origin::Env, found.expires_at_ms) {
                (true, _) => "set (scopes unknown: a 403 would mean no usage data)".to_string(),
                (false, Some(ms)) => {
                    format!("found, {plan}, expires in {}", human_span(ms - now_ms))
                }
                (false, None) => format!("found, {plan}, expiry not recorded"),
            }
        }
        Lookup::NotLoggedIn => "found, logged out".to_string(),
        Lookup::Expired { expires_at_ms, .. } if *expires_at_ms > now_ms => format!(
            "found, expires in {} (too soon to use)",
            human_span(expires_at_ms - now_ms)
        ),
        Lookup::Expired { expires_at_ms, .. } => {
            format!("found, expired {} ago", human_span(now_ms - expires_at_ms))
        }
        Lookup::MissingScope { .. } => format!("found, but without the {USAGE_SCOPE} scope"),
        Lookup::Unreadable { reason, .. } => format!("unreadable: {reason}"),
        Lookup::KeychainLocked { reason, .. } | Lookup::KeychainDenied { reason, .. } => {
            reason.clone()
        }
        Lookup::KeychainOverflow { overflow, .. } => format!(
            "found, but holding no login: it is in Claude Code's encrypted item \"{overflow}\" (keychainOverflow), not read"
        ),
    }
}

/// `42s`, `17m`, `3h`, `5d`.
fn human_span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..90 => format!("{s}s"),
        90..5400 => format!("{}m", s / 60),
        5400..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Unix ms as RFC 3339 (UTC), or the raw number if it is out of range.
fn format_ms(ms: i64) -> String {
    crate::usage::format_rfc3339(ms.div_euclid(1000))
        .unwrap_or_else(|| format!("{ms} ms since 1970"))
}

#[cfg(test)]
mod tests;
