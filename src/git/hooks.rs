//! Where git looks for hooks.

use super::Repo;
use anyhow::{Context, Result};
use std::path::PathBuf;

impl Repo {
    /// `core.hooksPath` (relative to the work tree, `~` expanded), else `<common-dir>/hooks`,
    /// as `git rev-parse --git-path hooks` answers.
    pub fn hooks_dir(&self) -> Result<PathBuf> {
        let configured = self
            .repo
            .config_snapshot()
            .trusted_path("core.hooksPath")
            .context("bad core.hooksPath")?;
        if let Some(path) = configured {
            let base = self.repo.workdir().unwrap_or_else(|| self.repo.git_dir());
            return Ok(if path.is_absolute() {
                path
            } else {
                base.join(path)
            });
        }
        // gix gives a linked worktree's common dir as `.git/worktrees/<wt>/../..`.
        Ok(self.common_dir().join("hooks"))
    }
}
