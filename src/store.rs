//! The shared on-disk store: the last known usage of each account, plus the refresh state every
//! process must agree on (backoff, last error).
//!
//! One JSON file per account, `<cache dir>/<account key>.json`. Reads take no lock and never
//! fail: a missing, corrupt, truncated, future-dated or foreign-version file reads as "nothing
//! known" and is replaced by the next write. Writes go through [`write_atomic`] (temp file,
//! fsync, rename) so a reader never sees half a file, and read-modify-write cycles go through
//! [`Store::update`] under a short-lived lock so a status line and the refresh worker cannot
//! undo each other's writes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::usage::{Problem, Snapshot};

/// Bumped whenever the file's meaning changes; other versions are ignored and replaced.
pub const VERSION: u32 = 1;

/// Files larger than this are not ours (or are corrupt): ignored rather than parsed.
const MAX_ENTRY_BYTES: u64 = 256 * 1024;

/// Snapshots dated further ahead than this are from a broken clock or a foreign writer.
const FUTURE_SKEW_S: i64 = 300;

/// Everything known about one account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub version: u32,
    /// The config dir this account key was derived from, for `doctor`.
    #[serde(default)]
    pub config_dir: String,
    /// The last authoritative numbers (stdin or oauth).
    #[serde(default)]
    pub snapshot: Option<Snapshot>,
    /// The last local estimate, written by the refresh worker.
    #[serde(default)]
    pub estimate: Option<Snapshot>,
    #[serde(default)]
    pub health: Health,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_code_version: Option<String>,
}

/// The outcome of the last refresh attempts, shared by every process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Why the last attempt did not produce numbers; `None` after a success.
    pub problem: Option<Problem>,
    /// No request before this time (unix seconds).
    pub backoff_until: Option<i64>,
    /// Consecutive transient failures, for exponential backoff.
    #[serde(default)]
    pub failures: u32,
    pub last_attempt: Option<i64>,
    pub last_success: Option<i64>,
    /// A human detail for `doctor` ("HTTP 503", "timed out"); never holds a token.
    pub detail: Option<String>,
    /// No keychain read before this time: a keychain that was locked, refused, or left a dialog
    /// on screen is not asked again (no two dialogs ever stack up). Kept across successes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keychain_wait: Option<KeychainWait>,
    /// After a 401: which credentials earned it (origin and expiry, never the token), so the
    /// next refresh asks again as soon as they change (a /login) and not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Rejected>,
}

/// A pause on keychain reads, and the problem to show while it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeychainWait {
    pub until: i64,
    pub problem: Problem,
    /// For `doctor`: what `security` did ("exit 36", "no answer within 2 s").
    pub reason: String,
}

/// The credentials the endpoint rejected with a 401.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// [`crate::credentials::Found::fingerprint`]: origin and `expiresAt`, nothing secret.
    pub credentials: String,
    /// Even unchanged credentials are tried again after this (a 401 can be a server's glitch).
    pub retry_at: i64,
}

impl Health {
    pub fn in_backoff(&self, now: i64) -> bool {
        self.backoff_until.is_some_and(|t| t > now)
    }
}

/// Why a store file was not used, for `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    Missing,
    Unreadable(String),
    TooLarge,
    Corrupt(String),
    ForeignVersion(u32),
    FutureDated,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Missing => write!(f, "no store file yet"),
            Unusable::Unreadable(e) => write!(f, "store file unreadable: {e}"),
            Unusable::TooLarge => write!(f, "store file too large; it will be replaced"),
            Unusable::Corrupt(e) => write!(f, "store file corrupt ({e}); it will be replaced"),
            Unusable::ForeignVersion(v) => {
                write!(
                    f,
                    "store file has version {v}, expected {VERSION}; it will be replaced"
                )
            }
            Unusable::FutureDated => {
                write!(f, "store file is dated in the future; it will be replaced")
            }
        }
    }
}

/// One account's files in the cache dir.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    key: String,
}

impl Store {
    pub fn new(dir: PathBuf, key: String) -> Store {
        Store { dir, key }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn entry_path(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.key))
    }

    /// A sibling file for this account, e.g. `sidecar("refresh.lock")`.
    pub fn sidecar(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}.{suffix}", self.key))
    }

    /// Reads the entry without locking. Never fails: see [`Unusable`] for why it may be absent.
    pub fn read(&self, now: i64) -> Result<Entry, Unusable> {
        let path = self.entry_path();
        let bytes = match File::open(&path) {
            Ok(f) => {
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                if len > MAX_ENTRY_BYTES {
                    return Err(Unusable::TooLarge);
                }
                let mut buf = Vec::with_capacity(len as usize);
                io::Read::read_to_end(&mut io::Read::take(f, MAX_ENTRY_BYTES + 1), &mut buf)
                    .map_err(|e| Unusable::Unreadable(e.kind().to_string()))?;
                buf
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Unusable::Missing),
            Err(e) => return Err(Unusable::Unreadable(e.kind().to_string())),
        };
        parse_entry(&bytes, now)
    }

    /// Read-modify-write under the account's write lock. `change` returns whether it changed
    /// anything; nothing is written when it did not. The lock is only ever held for the
    /// microseconds of a small write, so waiting briefly for it is safe even on the hot path.
    pub fn update(&self, now: i64, change: impl FnOnce(&mut Entry) -> bool) -> io::Result<bool> {
        ensure_dir(&self.dir)?;
        let _guard = FileLock::acquire_briefly(&self.sidecar("write.lock"))?;
        let mut entry = self.read(now).unwrap_or_default();
        if !change(&mut entry) {
            return Ok(false);
        }
        entry.version = VERSION;
        let bytes = serde_json::to_vec_pretty(&entry).map_err(io::Error::other)?;
        write_atomic(&self.entry_path(), &bytes)?;
        Ok(true)
    }
}

/// Pure: bytes of a store file -> an entry we are willing to trust.
pub fn parse_entry(bytes: &[u8], now: i64) -> Result<Entry, Unusable> {
    #[derive(Deserialize)]
    struct Versioned {
        version: u32,
    }
    let v: Versioned =
        serde_json::from_slice(bytes).map_err(|e| Unusable::Corrupt(e.classify_name()))?;
    if v.version != VERSION {
        return Err(Unusable::ForeignVersion(v.version));
    }
    let entry: Entry =
        serde_json::from_slice(bytes).map_err(|e| Unusable::Corrupt(e.classify_name()))?;
    // Every "when" in the file, so that age arithmetic downstream can never overflow or lie.
    let times = [
        entry.snapshot.as_ref().map(|s| s.taken_at),
        entry.estimate.as_ref().map(|s| s.taken_at),
        entry.health.last_attempt,
        entry.health.last_success,
    ];
    for t in times.into_iter().flatten() {
        if t < 0 {
            return Err(Unusable::Corrupt("negative timestamp".into()));
        }
        if t > now.saturating_add(FUTURE_SKEW_S) {
            return Err(Unusable::FutureDated);
        }
    }
    Ok(entry)
}

trait ClassifyName {
    fn classify_name(&self) -> String;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> String {
        let kind = match self.classify() {
            serde_json::error::Category::Io => "io error",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated",
        };
        format!("{kind} at line {} column {}", self.line(), self.column())
    }
}

/// Creates the cache dir with mode 0700 (and tightens an existing one we own).
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(dir)?;
        if meta.permissions().mode() & 0o777 != 0o700 {
            // Best effort: a shared dir set by CCMETER_CACHE_DIR may not be ours to chmod.
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        }
    }
    Ok(())
}

/// The one way ccmeter writes a file: a temp file in the same dir (mode 0600), fsync, rename.
/// Readers see the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = open_private(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Opens (creating or truncating) a file readable only by its owner.
pub fn open_private(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// An exclusive OS file lock, released when dropped (and by the OS if the process dies, so a
/// crashed worker can never wedge refreshes).
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Takes the lock if nobody holds it; `Ok(None)` when someone does.
    pub fn try_acquire(path: &Path) -> io::Result<Option<FileLock>> {
        let file = open_lock_file(path)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(fs4::TryLockError::WouldBlock) => Ok(None),
            Err(fs4::TryLockError::Error(e)) => Err(e),
        }
    }

    /// Waits up to ~50 ms for a lock that is only ever held for a moment.
    fn acquire_briefly(path: &Path) -> io::Result<FileLock> {
        for _ in 0..50 {
            if let Some(lock) = FileLock::try_acquire(path)? {
                return Ok(lock);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Err(io::Error::new(io::ErrorKind::WouldBlock, "store is busy"))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{Source, Window};

    const NOW: i64 = 1_795_000_000;

    fn snap(taken_at: i64) -> Snapshot {
        Snapshot {
            five_hour: Some(Window::percent(42.0, Some(NOW + 3600))),
            seven_day: None,
            scoped: vec![],
            extra: None,
            source: Source::Stdin,
            taken_at,
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cache"), "k".into());
        (dir, store)
    }

    #[test]
    fn round_trip_and_modes() {
        let (_d, store) = store();
        assert_eq!(store.read(NOW), Err(Unusable::Missing));
        assert!(
            store
                .update(NOW, |e| {
                    e.snapshot = Some(snap(NOW));
                    true
                })
                .unwrap()
        );
        assert_eq!(store.read(NOW).unwrap().snapshot, Some(snap(NOW)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.dir()), 0o700);
            assert_eq!(mode(&store.entry_path()), 0o600);
        }
    }

    #[test]
    fn unchanged_update_writes_nothing() {
        let (_d, store) = store();
        store
            .update(NOW, |e| {
                e.snapshot = Some(snap(NOW));
                true
            })
            .unwrap();
        let before = fs::metadata(store.entry_path())
            .unwrap()
            .modified()
            .unwrap();
        assert!(!store.update(NOW, |_| false).unwrap());
        assert_eq!(
            fs::metadata(store.entry_path())
                .unwrap()
                .modified()
                .unwrap(),
            before
        );
    }

    #[test]
    fn bad_files_are_ignored_and_replaced() {
        let (_d, store) = store();
        ensure_dir(store.dir()).unwrap();
        for (bytes, want) in [
            (&b"{\"version\":1,\"snapsh"[..], "truncated"),
            (b"\xff\xfe garbage", "not JSON"),
            (b"{\"version\":99}", "version 99"),
        ] {
            fs::write(store.entry_path(), bytes).unwrap();
            let err = store.read(NOW).unwrap_err();
            assert!(err.to_string().contains(want), "{err}");
        }
        let future = Entry {
            version: VERSION,
            snapshot: Some(snap(NOW + 86_400)),
            ..Entry::default()
        };
        fs::write(store.entry_path(), serde_json::to_vec(&future).unwrap()).unwrap();
        assert_eq!(store.read(NOW), Err(Unusable::FutureDated));
        let mut attempt_from_future = Entry {
            version: VERSION,
            ..Entry::default()
        };
        attempt_from_future.health.last_attempt = Some(NOW + 3600);
        fs::write(
            store.entry_path(),
            serde_json::to_vec(&attempt_from_future).unwrap(),
        )
        .unwrap();
        assert_eq!(store.read(NOW), Err(Unusable::FutureDated));
        let ancient = Entry {
            version: VERSION,
            snapshot: Some(snap(i64::MIN)),
            ..Entry::default()
        };
        fs::write(store.entry_path(), serde_json::to_vec(&ancient).unwrap()).unwrap();
        assert_eq!(
            store.read(NOW),
            Err(Unusable::Corrupt("negative timestamp".into()))
        );
        // The next write starts from nothing instead of failing.
        store
            .update(NOW, |e| {
                e.snapshot = Some(snap(NOW));
                true
            })
            .unwrap();
        assert_eq!(store.read(NOW).unwrap().snapshot, Some(snap(NOW)));
    }

    #[test]
    fn lock_is_exclusive_until_dropped() {
        let (_d, store) = store();
        ensure_dir(store.dir()).unwrap();
        let path = store.sidecar("refresh.lock");
        let held = FileLock::try_acquire(&path).unwrap().expect("free lock");
        assert!(FileLock::try_acquire(&path).unwrap().is_none());
        drop(held);
        assert!(FileLock::try_acquire(&path).unwrap().is_some());
    }

    /// Arbitrary bytes and mutations of a valid file never panic the reader.
    #[test]
    fn reader_survives_random_and_mutated_files() {
        let good = serde_json::to_vec_pretty(&Entry {
            version: VERSION,
            snapshot: Some(snap(NOW)),
            estimate: Some(snap(NOW - 5)),
            ..Entry::default()
        })
        .unwrap();
        let mut rng = crate::testutil::Rng(0x5eed);
        for i in 0..4000 {
            let bytes = if i % 2 == 0 {
                let len = rng.below(300);
                rng.bytes(len)
            } else {
                rng.mutate(&good)
            };
            let _ = parse_entry(&bytes, NOW);
        }
    }
}
