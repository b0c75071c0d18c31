//! Where OpenCode keeps its store, resolved exactly as OpenCode 1.18 does.

use crate::error::UserError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// An OpenCode data directory and the database file in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLocation {
    /// `$XDG_DATA_HOME/opencode` (holds `storage/`, `tool-output/`, …).
    pub data_dir: PathBuf,
    /// The SQLite database file (may not exist for a legacy JSON-only store).
    pub db: PathBuf,
}

/// The environment variables the resolution reads, so it can be tested without touching
/// the process environment.
#[derive(Debug, Default, Clone)]
pub struct StoreEnv {
    pub xdg_data_home: Option<OsString>,
    pub home: Option<OsString>,
    pub opencode_db: Option<OsString>,
}

impl StoreEnv {
    pub fn from_process() -> StoreEnv {
        StoreEnv {
            xdg_data_home: std::env::var_os("XDG_DATA_HOME"),
            home: std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")),
            opencode_db: std::env::var_os("OPENCODE_DB"),
        }
    }
}

fn non_empty(v: &Option<OsString>) -> Option<&OsString> {
    v.as_ref().filter(|v| !v.is_empty())
}

impl StoreLocation {
    /// OpenCode's own rule: data dir `$XDG_DATA_HOME/opencode` else `~/.local/share/opencode`
    /// (on every OS); DB `OPENCODE_DB` (absolute as is, relative under the data dir), else
    /// `opencode.db` (release builds use the `latest` channel).
    pub fn from_env(env: &StoreEnv) -> anyhow::Result<StoreLocation> {
        let data_home = match (non_empty(&env.xdg_data_home), non_empty(&env.home)) {
            (Some(xdg), _) => PathBuf::from(xdg),
            (None, Some(home)) => Path::new(home).join(".local").join("share"),
            (None, None) => anyhow::bail!(UserError::new(
                "cannot find the OpenCode store: neither XDG_DATA_HOME nor HOME is set"
            )
            .hint("pass --store <path>")),
        };
        let data_dir = data_home.join("opencode");
        let db = match non_empty(&env.opencode_db) {
            Some(v) if v == ":memory:" => anyhow::bail!(UserError::new(
                "OPENCODE_DB is :memory:, an in-memory store that nothing can read"
            )
            .hint("pass --store <path>")),
            Some(v) => data_dir.join(v), // join keeps an absolute value as is
            None => data_dir.join("opencode.db"),
        };
        Ok(StoreLocation { data_dir, db })
    }

    /// The directories this store lives in: the data directory and the database's (the same
    /// unless `OPENCODE_DB` names a file elsewhere). Only `restore` writes inside them.
    pub fn directories(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.data_dir.clone()];
        if let Some(parent) = self.db.parent().filter(|p| !p.as_os_str().is_empty()) {
            if parent != self.data_dir {
                dirs.push(parent.to_path_buf());
            }
        }
        dirs
    }

    /// An explicit `--store` / `opencode.store`: a data directory, or a database file.
    pub fn from_path(path: &Path) -> StoreLocation {
        if path.is_dir() {
            StoreLocation {
                data_dir: path.to_path_buf(),
                db: path.join("opencode.db"),
            }
        } else {
            let data_dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            StoreLocation {
                data_dir,
                db: path.to_path_buf(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(xdg: Option<&str>, home: Option<&str>, db: Option<&str>) -> StoreEnv {
        StoreEnv {
            xdg_data_home: xdg.map(Into::into),
            home: home.map(Into::into),
            opencode_db: db.map(Into::into),
        }
    }

    #[test]
    fn resolves_like_opencode() {
        let loc = StoreLocation::from_env(&env(Some("/x"), Some("/h"), None)).unwrap();
        assert_eq!(loc.db, Path::new("/x/opencode/opencode.db"));
        let loc = StoreLocation::from_env(&env(Some(""), Some("/h"), None)).unwrap();
        assert_eq!(loc.data_dir, Path::new("/h/.local/share/opencode"));
        let loc = StoreLocation::from_env(&env(None, Some("/h"), Some("custom.db"))).unwrap();
        assert_eq!(loc.db, Path::new("/h/.local/share/opencode/custom.db"));
        let loc = StoreLocation::from_env(&env(None, Some("/h"), Some("/abs/o.db"))).unwrap();
        assert_eq!(loc.db, Path::new("/abs/o.db"));
        assert!(StoreLocation::from_env(&env(None, Some("/h"), Some(":memory:"))).is_err());
        assert!(StoreLocation::from_env(&env(None, None, None)).is_err());
    }
}
