//! Safe file I/O for everything ccmeter writes or reads in its cache dir (and the user's
//! `settings.json`): opening without following symlinks and without blocking on a FIFO,
//! atomic writes through unpredictable temp names, the short-lived OS file lock, and the
//! positioned reads and file identities the transcript estimate keys on.
//!
//! It sits below every module that touches a file (store, history, estimate, setup), so those
//! import it and never each other for a helper.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why a cache dir is refused: it is not a directory, someone else owns it, or others may
/// write to it. Carried inside the `io::Error` that [`ensure_dir`] and [`read_cache_file`]
/// return, so `doctor` can say which dir and why.
#[derive(Debug)]
struct UnsafeDir(String);

impl std::fmt::Display for UnsafeDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnsafeDir {}

/// The reason, when `e` is a refusal of the cache dir itself.
pub fn unsafe_dir_reason(e: &io::Error) -> Option<String> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<UnsafeDir>())
        .map(|u| u.0.clone())
}

#[cfg(unix)]
fn refuse(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, UnsafeDir(why))
}

/// Checks an existing cache dir: a directory (a symlink to one is the user's choice), owned by
/// us, and writable by nobody else. Another user who can write to it could plant symlinks at
/// the names ccmeter is about to open.
pub fn check_dir(dir: &Path) -> io::Result<()> {
    let meta = fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            "not a directory",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(refuse(format!(
                "{} is owned by uid {}, not by you (uid {me}): another user could plant \
                 links in it; set CCMETER_CACHE_DIR to a dir of your own",
                dir.display(),
                meta.uid()
            )));
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(refuse(format!(
                "{} is writable by group or others (mode {mode:04o}): another user \
                 could plant links in it; run `chmod 700 {}`",
                dir.display(),
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Makes sure the cache dir exists and is safe to use. A dir ccmeter creates gets mode 0700;
/// an existing one keeps the mode its owner gave it (a user who made it 0500 meant it).
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    match check_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        done => return done,
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => Ok(()),
        // Another process created it a moment ago: judge it like any existing dir.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => check_dir(dir),
        Err(e) => Err(e),
    }
}

/// Whether a file can be created in `dir` right now (for `doctor`): creates and removes an
/// empty temp file, exactly as a store write would start.
pub fn probe_writable(dir: &Path) -> io::Result<()> {
    let (tmp, _file) = create_temp(dir, "probe")?;
    fs::remove_file(tmp)
}

/// Reads a small file from the cache dir: not through a symlink, only a regular file (a FIFO
/// planted there must not hang a prompt), at most `max` bytes (`FileTooLarge` beyond), and only
/// from a dir [`check_dir`] accepts.
pub fn read_cache_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    check_dir(path.parent().unwrap_or(Path::new(".")))?;
    read_regular_file(path, max).map(|(bytes, _)| bytes)
}

/// Reads a file that is not ccmeter's own (Claude Code's `settings.json`) the same careful way:
/// not through a symlink at the last component, only a regular file (a FIFO there must not hang
/// `doctor` or `setup`), at most `max` bytes (`FileTooLarge` beyond, checked before reading, so
/// a 2 GB file costs nothing). Also returns the metadata of the very file read.
pub fn read_regular_file(path: &Path, max: u64) -> io::Result<(Vec<u8>, fs::Metadata)> {
    let (f, meta) = open_regular_meta(path)?;
    if meta.len() > max {
        return Err(io::Error::from(io::ErrorKind::FileTooLarge));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    io::Read::read_to_end(&mut io::Read::take(f, max + 1), &mut buf)?;
    if buf.len() as u64 > max {
        return Err(io::Error::from(io::ErrorKind::FileTooLarge));
    }
    Ok((buf, meta))
}

/// Opens an existing file in the cache dir for reading, never through a symlink and never
/// blocking on a FIFO; anything but a regular file is an error.
pub fn open_cache_file(path: &Path) -> io::Result<File> {
    open_regular(path).map(|(f, _)| f)
}

/// [`open_cache_file`], plus the file's length from the same `fstat`.
fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    open_regular_meta(path).map(|(f, meta)| (f, meta.len()))
}

/// [`open_cache_file`], plus the file's metadata from the same `fstat`.
fn open_regular_meta(path: &Path) -> io::Result<(File, fs::Metadata)> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(windows)]
    windows_no_follow(&mut opts);
    let f = opts.open(path).map_err(not_followed)?;
    let meta = f.metadata()?;
    refuse_link(&meta)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok((f, meta))
}

/// Options for any file ccmeter creates or appends to in the cache dir: owner-only, and a
/// symlink at the name is an error rather than a way to write somewhere else.
pub fn cache_open_options() -> OpenOptions {
    #[cfg_attr(not(any(unix, windows)), allow(unused_mut))]
    let mut opts = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(windows)]
    windows_no_follow(&mut opts);
    opts
}

/// Windows has no `O_NOFOLLOW`: `FILE_FLAG_OPEN_REPARSE_POINT` opens a symlink or junction
/// itself instead of what it points to, so a planted link is never read or written through; the
/// caller's metadata check (or [`refuse_link`]) then sees a link, not a regular file. Nor are
/// there FIFOs to block on outside `\\.\pipe\`, so nothing stands for `O_NONBLOCK`.
#[cfg(windows)]
pub fn windows_no_follow(opts: &mut OpenOptions) {
    use std::os::windows::fs::OpenOptionsExt;
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    opts.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
}

/// The error `O_NOFOLLOW` gives on Unix, for a file opened on Windows that turns out to be a
/// link (opened as itself by [`windows_no_follow`]).
pub fn refuse_link(meta: &fs::Metadata) -> io::Result<()> {
    if meta.file_type().is_symlink() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a symbolic link (not followed)",
        ));
    }
    Ok(())
}

/// `ELOOP` from `O_NOFOLLOW` says "symlink loop", which would send a user hunting for a loop.
fn not_followed(e: io::Error) -> io::Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return io::Error::new(e.kind(), "is a symbolic link (not followed)");
    }
    e
}

/// Atomic and durable: temp file, fsync, rename. For files that are the user's own
/// (`settings.json` and its backups), which must survive a power cut.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_via_temp(path, bytes, true)
}

/// Atomic, not durable: temp file, rename, no fsync. For the cache dir, whose files are
/// re-read tolerantly and refilled within a TTL; an fsync here would cost more than the line.
pub fn write_cache_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_via_temp(path, bytes, false)
}

/// Readers see the old file or the new one, never a mix. The temp file is created exclusively
/// under a name nobody can guess, so a link planted in advance cannot redirect the write.
fn write_via_temp(path: &Path, bytes: &[u8], durable: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let (tmp, mut f) = create_temp(dir, &name)?;
    let result = (|| {
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `.<name>.<random>.tmp` in `dir` with `O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600.
pub(crate) fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..8 {
        let tmp = dir.join(format!(".{name}.{:016x}.tmp", unpredictable_u64()));
        match cache_open_options().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            // Taken (by chance or by someone planting names): draw again.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(not_followed(e)),
        }
    }
    Err(last)
}

/// 64 bits nobody else can predict, with no dependency and no extra syscall: std seeds each
/// thread's `RandomState` keys from the OS's random source, and SipHash under those secret
/// keys is unpredictable to anyone who does not know them.
fn unpredictable_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
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
    pub fn acquire_briefly(path: &Path) -> io::Result<FileLock> {
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
    let file = cache_open_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(not_followed)?;
    #[cfg(windows)]
    refuse_link(&file.metadata()?)?;
    Ok(file)
}

/// A positioned read that leaves the file offset alone (the scan log, its index and transcripts).
#[cfg(unix)]
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

/// A file's modification time in nanoseconds since the epoch (0 when unknown).
pub fn mtime_ns(meta: &fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

/// A file's inode number, to tell a replaced file from an appended one (0 off Unix).
#[cfg(unix)]
pub fn inode(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.ino()
}

#[cfg(not(unix))]
pub fn inode(_meta: &fs::Metadata) -> u64 {
    0
}
