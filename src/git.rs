//! The git branch of a directory, for the `{branch}` status-line field, read from the files git
//! keeps rather than by running `git`: the status line is the hot path, where no subprocess may
//! run, and two small reads cost far less than starting a program.
//!
//! It follows what git itself reads (gitrepository-layout): the nearest `.git` walking up from
//! the directory, either a directory or a file `gitdir: <path>` (linked worktrees and
//! submodules), and that git dir's `HEAD`: `ref: refs/heads/<branch>`, or a commit id when the
//! HEAD is detached. It does not look at packed refs, the reftable or `$GIT_DIR`, and it never
//! says anything it is not sure of: no answer is an empty field, never a wrong branch.

use std::fs::OpenOptions;
use std::io::Read;
use std::path::{Path, PathBuf};

/// More than any `HEAD` or `.git` file git writes (a ref name is at most a few hundred bytes).
const MAX_FILE: u64 = 4096;

/// How many directories to walk up at most: deeper than any real checkout, and a bound on the
/// `stat` calls a status line can cost.
const MAX_DEPTH: usize = 64;

/// The branch checked out in `dir`'s repository (`main`, `feature/wrap`), the short commit id
/// (7 hex digits) for a detached HEAD, or `None` when `dir` is in no repository git would see or
/// its HEAD cannot be read.
pub fn branch(dir: &Path) -> Option<String> {
    let git_dir = find_git_dir(dir)?;
    let head = read_small(&git_dir.join("HEAD"))?;
    head_name(&head)
}

/// What a `HEAD` file's text names: the branch for a symbolic ref, the short id for a commit.
pub fn head_name(head: &str) -> Option<String> {
    let head = head.trim();
    if let Some(target) = head.strip_prefix("ref:") {
        let target = target.trim();
        let name = target.strip_prefix("refs/heads/")?;
        // The reftable backend leaves this placeholder in HEAD and keeps the real one elsewhere.
        if name.is_empty() || name == ".invalid" {
            return None;
        }
        return Some(name.to_string());
    }
    // SHA-1 (40) or SHA-256 (64) hex.
    let is_id = matches!(head.len(), 40 | 64) && head.bytes().all(|b| b.is_ascii_hexdigit());
    is_id.then(|| head[..7].to_ascii_lowercase())
}

/// The git dir for `dir`: the nearest `.git` directory walking up, or where the nearest `.git`
/// file's `gitdir:` line points (relative to the directory holding that file).
fn find_git_dir(dir: &Path) -> Option<PathBuf> {
    for d in dir.ancestors().take(MAX_DEPTH) {
        let dot_git = d.join(".git");
        let Ok(meta) = std::fs::metadata(&dot_git) else {
            continue;
        };
        if meta.is_dir() {
            return Some(dot_git);
        }
        if meta.is_file() {
            let text = read_small(&dot_git)?;
            let target = text.lines().next()?.strip_prefix("gitdir:")?.trim();
            if target.is_empty() {
                return None;
            }
            return Some(d.join(target));
        }
        // Anything else named `.git` (a FIFO, a socket) is no repository: git stops there too.
        return None;
    }
    None
}

/// A small regular file as text: never blocking on a FIFO, never more than [`MAX_FILE`] bytes.
fn read_small(path: &Path) -> Option<String> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = opts.open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut buf = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut buf).ok()?;
    if buf.len() as u64 > MAX_FILE {
        return None;
    }
    String::from_utf8(buf).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn head_text_names_a_branch_or_a_short_id() {
        assert_eq!(head_name("ref: refs/heads/main\n").as_deref(), Some("main"));
        assert_eq!(
            head_name("ref:refs/heads/feature/wrap").as_deref(),
            Some("feature/wrap")
        );
        let sha1 = "4F1C2B3A5D6E7F8091A2B3C4D5E6F708192A3B4C\n";
        assert_eq!(head_name(sha1).as_deref(), Some("4f1c2b3"));
        let sha256 = "a".repeat(64);
        assert_eq!(head_name(&sha256).as_deref(), Some("aaaaaaa"));
        for odd in [
            "",
            "ref: refs/heads/.invalid\n",
            "ref: refs/heads/",
            "ref: refs/remotes/origin/main",
            "4f1c2b3",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        ] {
            assert_eq!(head_name(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn branch_is_found_walking_up_from_a_subdirectory() {
        let t = tempfile::tempdir().unwrap();
        write(&t.path().join("repo/.git/HEAD"), "ref: refs/heads/main\n");
        fs::create_dir_all(t.path().join("repo/src/deep")).unwrap();
        assert_eq!(
            branch(&t.path().join("repo/src/deep")).as_deref(),
            Some("main")
        );
        assert_eq!(branch(&t.path().join("repo")).as_deref(), Some("main"));
    }

    #[test]
    fn a_worktree_gitdir_file_is_followed_relative_or_absolute() {
        let t = tempfile::tempdir().unwrap();
        let main = t.path().join("main");
        write(&main.join(".git/HEAD"), "ref: refs/heads/main\n");
        write(
            &main.join(".git/worktrees/wt/HEAD"),
            "ref: refs/heads/wrap\n",
        );
        // As `git worktree add` writes it: an absolute path.
        let abs = t.path().join("wt");
        write(
            &abs.join(".git"),
            &format!("gitdir: {}\n", main.join(".git/worktrees/wt").display()),
        );
        assert_eq!(branch(&abs).as_deref(), Some("wrap"));
        // As a submodule's `.git` file has it: relative to the directory holding the file.
        let rel = main.join("sub");
        write(&main.join(".git/modules/sub/HEAD"), &"0123abcd".repeat(5));
        write(&rel.join(".git"), "gitdir: ../.git/modules/sub\n");
        assert_eq!(branch(&rel).as_deref(), Some("0123abc"));
    }

    #[test]
    fn no_repository_or_an_unreadable_one_is_no_branch() {
        let t = tempfile::tempdir().unwrap();
        let plain = t.path().join("plain");
        fs::create_dir_all(&plain).unwrap();
        // The temp dir may itself sit inside a checkout; only say what this layout gives.
        let outside = branch(t.path());
        assert_eq!(branch(&plain), outside);
        let broken = t.path().join("broken");
        write(&broken.join(".git"), "not a gitdir line\n");
        assert_eq!(branch(&broken), None);
        let huge = t.path().join("huge");
        write(&huge.join(".git/HEAD"), &"x".repeat(10_000));
        assert_eq!(branch(&huge), None);
        #[cfg(unix)]
        {
            // A FIFO as HEAD must not hang the status line.
            let fifo = t.path().join("fifo");
            fs::create_dir_all(fifo.join(".git")).unwrap();
            let path =
                std::ffi::CString::new(fifo.join(".git/HEAD").as_os_str().as_encoded_bytes())
                    .unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
            assert_eq!(branch(&fifo), None);
        }
    }

    /// The same answers as git itself, for a real repository, a linked worktree and a detached
    /// HEAD, when git is installed (CI has it; the layouts above do not need it).
    #[test]
    fn agrees_with_real_git() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        let git = |dir: &Path, args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .current_dir(dir)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", t.path())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        fs::create_dir_all(&repo).unwrap();
        if git(&repo, &["init", "-q", "-b", "trunk"]).is_none() {
            eprintln!("git not installed: skipped");
            return;
        }
        let commit = [
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ];
        git(&repo, &commit).unwrap();
        assert_eq!(branch(&repo).as_deref(), Some("trunk"));
        let wt = t.path().join("wt");
        git(
            &repo,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "side/x",
                wt.to_str().unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(branch(&wt).as_deref(), Some("side/x"));
        git(&wt, &["checkout", "-q", "--detach"]).unwrap();
        let short = git(&wt, &["rev-parse", "--short=7", "HEAD"]).unwrap();
        assert_eq!(branch(&wt), Some(short));
        assert_eq!(branch(&repo).as_deref(), Some("trunk"));
    }
}
