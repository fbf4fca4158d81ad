//! The one place that decides where things live: Claude Code's config dir (which names the
//! account) and ccmeter's cache dir (which holds the store).
//!
//! Everything here is a pure function of an [`Env`] snapshot so tests can point every path at a
//! temp dir; nothing in this module touches the filesystem.

use std::path::PathBuf;

/// The environment variables ccmeter cares about, read once in `cli`.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub home: Option<PathBuf>,
    pub claude_config_dir: Option<String>,
    pub securestorage_config_dir: Option<String>,
    pub cache_dir: Option<PathBuf>,
}

/// Claude Code's config dir, resolved the way Claude Code resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDir {
    /// The directory itself.
    pub path: PathBuf,
    /// The string exactly as configured, when one was (the macOS keychain service name hashes
    /// it verbatim, trailing slash included). `None` means the default `~/.claude`.
    pub configured: Option<String>,
}

impl ConfigDir {
    /// `CLAUDE_SECURESTORAGE_CONFIG_DIR` if set (empty means the default), else
    /// `CLAUDE_CONFIG_DIR` (empty is treated as unset), else `~/.claude`.
    pub fn resolve(env: &Env) -> ConfigDir {
        let configured = match &env.securestorage_config_dir {
            Some(s) if s.is_empty() => None,
            Some(s) => Some(s.clone()),
            None => env.claude_config_dir.clone().filter(|s| !s.is_empty()),
        };
        let path = match &configured {
            Some(s) => PathBuf::from(s),
            None => home(env).join(".claude"),
        };
        ConfigDir { path, configured }
    }

    /// The store's key for this account: a hash of the config dir, never of the token.
    /// Trailing separators are trimmed so `~/.claude-work` and `~/.claude-work/` share numbers.
    pub fn account_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let s = self.path.to_string_lossy();
        let trimmed = s.trim_end_matches(['/', '\\']);
        let trimmed = if trimmed.is_empty() { &*s } else { trimmed };
        let digest = Sha256::digest(trimmed.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The home dir as Claude Code finds it. On Windows that is `%USERPROFILE%` first (Node's and
/// Bun's `os.homedir()`), which `dirs` does not read; elsewhere `$HOME`, then the password
/// database (`dirs`).
pub fn home_dir() -> Option<PathBuf> {
    #[cfg(windows)]
    if let Some(profile) = std::env::var_os("USERPROFILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(profile));
    }
    dirs::home_dir()
}

fn home(env: &Env) -> PathBuf {
    env.home.clone().unwrap_or_else(|| PathBuf::from("."))
}

/// `$CCMETER_CACHE_DIR`, else the platform cache dir + `ccmeter`
/// (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS).
pub fn cache_dir(env: &Env) -> PathBuf {
    if let Some(dir) = &env.cache_dir {
        return dir.clone();
    }
    dirs::cache_dir()
        .unwrap_or_else(|| home(env).join(".cache"))
        .join("ccmeter")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(secure: Option<&str>, config: Option<&str>) -> Env {
        Env {
            home: Some(PathBuf::from("/home/u")),
            claude_config_dir: config.map(String::from),
            securestorage_config_dir: secure.map(String::from),
            cache_dir: None,
        }
    }

    #[test]
    fn config_dir_precedence() {
        let d = ConfigDir::resolve(&env(None, None));
        assert_eq!(d.path, PathBuf::from("/home/u/.claude"));
        assert_eq!(d.configured, None);
        let d = ConfigDir::resolve(&env(None, Some("/w")));
        assert_eq!(
            (d.path, d.configured),
            (PathBuf::from("/w"), Some("/w".into()))
        );
        let d = ConfigDir::resolve(&env(Some("/s"), Some("/w")));
        assert_eq!(d.path, PathBuf::from("/s"));
        // Set but empty means the default dir, even when CLAUDE_CONFIG_DIR is set.
        let d = ConfigDir::resolve(&env(Some(""), Some("/w")));
        assert_eq!(
            (d.path, d.configured),
            (PathBuf::from("/home/u/.claude"), None)
        );
    }

    #[test]
    fn account_key_ignores_trailing_slash_and_differs_per_dir() {
        let a = ConfigDir::resolve(&env(None, Some("/w/.claude-work")));
        let b = ConfigDir::resolve(&env(None, Some("/w/.claude-work/")));
        let c = ConfigDir::resolve(&env(None, None));
        assert_eq!(a.account_key(), b.account_key());
        assert_ne!(a.account_key(), c.account_key());
        assert_eq!(a.account_key().len(), 16);
    }
}
