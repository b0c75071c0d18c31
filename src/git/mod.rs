//! The git repository, and the only module that uses gix.
//!
//! Everything git-opencode does with git goes through [`Repo`]: discovering the repository
//! and the facts that decide which sessions belong to it (`facts.rs`, `roots.rs`), reading
//! and writing objects and trees (`objects.rs`; new ones loose or as one pack,
//! `object_writer.rs` and `packfile.rs`), moving refs by compare-and-swap (`refs.rs`), the
//! layout of notes trees (`notes.rs`), where hooks live (`hooks.rs`), what commits changed
//! as text (`patches.rs`) and talking to remotes through the user's own `git`
//! (`remote.rs`). Callers get plain data back: object
//! IDs ([`Oid`]), strings, paths and the named types re-exported here, never a gix type.

mod facts;
mod history;
mod hooks;
mod notes;
mod object_writer;
mod objects;
mod packfile;
mod patches;
mod refs;
mod remote;
mod roots;

pub use facts::{RepoFacts, COMMIT_MESSAGE_PREFIX, OWN_REF_PREFIXES};
pub use history::LogCommit;
pub use notes::annotated_object;
pub use object_writer::{BlobFormat, BlobMaker, ObjectWriter, ReadyBlob};
pub use objects::{ChangedPaths, Edit, TreeEntry};
pub use patches::{CommitDiff, FileLines};
pub use refs::{full_ref_name, is_valid_ref_name, RefMoved};
pub use remote::{Fetched, Merge, SyncOutcome};

use crate::error::UserError;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// A git object ID (SHA-1).
pub use gix::ObjectId as Oid;

/// An open repository. A clone shares its object store (an archive read from the branch
/// keeps one to read its sessions again).
#[derive(Clone)]
pub struct Repo {
    repo: gix::Repository,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Repo")
    }
}

impl Repo {
    /// The repository of the current directory, as git finds it: `GIT_DIR`, `GIT_WORK_TREE`
    /// and the like honoured (git sets them for hooks), else discovered upwards.
    pub fn discover() -> Result<Repo> {
        Ok(Repo { repo: discover()? })
    }

    /// Where to open this repository again on another thread ([`Repo::reopen`]): a `Repo`
    /// stays on the thread that opened it.
    pub fn git_dir(&self) -> PathBuf {
        self.repo.git_dir().to_path_buf()
    }

    /// The repository at `git_dir` (from [`Repo::git_dir`]), opened again on this thread to
    /// read its objects and refs.
    pub fn reopen(git_dir: &Path) -> Result<Repo> {
        let repo = gix::open(git_dir)
            .with_context(|| format!("cannot open the git repository at {}", git_dir.display()))?;
        Ok(Repo { repo })
    }

    /// Gathers the [`RepoFacts`] of this repository.
    pub fn facts(&self) -> Result<RepoFacts> {
        facts::facts(&self.repo)
    }

    /// The git dir shared by all worktrees, canonical.
    pub fn common_dir(&self) -> PathBuf {
        facts::canonical(self.repo.common_dir())
    }

    /// The directory git-opencode keeps its own state in: `<common-dir>/git-opencode`. Not
    /// `<common-dir>/opencode`, which is OpenCode's own project-ID cache file.
    pub fn state_dir(&self) -> PathBuf {
        self.repo.common_dir().join("git-opencode")
    }

    /// The work tree, if any (as gix gives it, not canonical).
    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The last value of a `git config` key, as a string.
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.repo
            .config_snapshot()
            .string(key)
            .map(|v| v.to_string())
    }

    /// Every value of a multi-valued `git config` key.
    pub fn config_strings(&self, key: &str) -> Vec<String> {
        self.repo
            .config_snapshot()
            .strings(key)
            .unwrap_or_default()
            .iter()
            .map(|v| v.to_string())
            .collect()
    }

    /// A boolean `git config` key; `None` when unset or not a boolean.
    pub fn config_bool(&self, key: &str) -> Option<bool> {
        self.repo.config_snapshot().boolean(key)
    }

    /// An integer `git config` key; `None` when unset or not an integer.
    pub fn config_integer(&self, key: &str) -> Option<i64> {
        self.repo.config_snapshot().integer(key)
    }

    /// A path-valued `git config` key, `~` expanded.
    pub fn config_path(&self, key: &str) -> Result<Option<PathBuf>> {
        self.repo
            .config_snapshot()
            .trusted_path(key)
            .with_context(|| format!("bad value for git config {key}"))
    }

    /// The commit HEAD points at; `None` while HEAD is unborn.
    pub fn head_commit(&self) -> Option<Oid> {
        self.repo.head_id().ok().map(|id| id.detach())
    }
}

/// Removes gix lock files on Ctrl-C, so an interrupted run never blocks the next one. Keep
/// the returned value alive for as long as the handler should stay installed.
pub fn remove_lock_files_on_interrupt() -> Option<impl Sized> {
    gix::interrupt::init_handler_default(0).ok()
}

/// The SHA-1 of `bytes` in lowercase hex (git's hash; OpenCode also names projects by it).
pub fn sha1_hex(bytes: &[u8]) -> String {
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(bytes);
    match hasher.try_finalize() {
        Ok(id) => id.to_string(),
        // Only a SHA-1 collision attack makes the hardened hasher refuse; such input names
        // no real project.
        Err(_) => String::new(),
    }
}

/// Opens the repository the way git would for `git opencode` (honours `GIT_DIR`,
/// `GIT_WORK_TREE` and friends, which git sets for hooks and `git --git-dir`).
fn discover() -> Result<gix::Repository> {
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let repo = gix::ThreadSafeRepository::discover_with_environment_overrides(&cwd)
        .map_err(|e| {
            if is_no_repository(&e) {
                UserError::new(format!(
                    "not a git repository (or any of the parent directories): {}",
                    cwd.display()
                ))
                .hint("run git opencode inside a repository, or pass -C <path>")
                .into()
            } else if is_unsupported_object_format(&e) {
                UserError::new(format!(
                    "the git repository at {} uses SHA-256 object names, which git-opencode does not support yet",
                    cwd.display()
                ))
                .hint("git-opencode works in SHA-1 repositories (git's default object format)")
                .into()
            } else {
                anyhow::Error::new(e).context(format!(
                    "cannot open the git repository at {}",
                    cwd.display()
                ))
            }
        })?
        .to_thread_local();
    with_fallback_identity(repo)
}

/// Whether discovery failed because there is no repository here (up to the root, a ceiling
/// directory or a file-system boundary), rather than because one could not be opened.
fn is_no_repository(err: &gix::Error) -> bool {
    use gix::discover::upwards::Error as Discover;
    err.downcast_any_ref::<Discover>().is_some_and(|e| {
        matches!(
            e,
            Discover::NoGitRepository { .. }
                | Discover::NoGitRepositoryWithinCeiling { .. }
                | Discover::NoGitRepositoryWithinFs { .. }
        )
    })
}

/// Whether opening failed on `extensions.objectFormat` naming a hash this build leaves out
/// (SHA-256: gix is built with SHA-1 only), rather than on a bad value or anything else.
fn is_unsupported_object_format(err: &gix::Error) -> bool {
    use gix::error::MetadataValue;
    err.is_unsupported()
        && err.metadata().any(|values| match values.get("key") {
            Some(MetadataValue::String(key)) => key == "extensions.objectFormat",
            _ => false,
        })
}

/// Commits and reflog entries need an author and a committer; where git has none configured
/// (a fresh machine, CI), ours are `git-opencode <git-opencode@localhost>` instead of an error.
fn with_fallback_identity(mut repo: gix::Repository) -> Result<gix::Repository> {
    use gix::config::tree::gitoxide;
    let mut config = repo.config_snapshot_mut();
    for (key, value) in [
        (&gitoxide::Author::NAME_FALLBACK, "git-opencode"),
        (&gitoxide::Author::EMAIL_FALLBACK, "git-opencode@localhost"),
        (&gitoxide::Committer::NAME_FALLBACK, "git-opencode"),
        (
            &gitoxide::Committer::EMAIL_FALLBACK,
            "git-opencode@localhost",
        ),
    ] {
        config
            .set_value(key, value)
            .context("failed to set the fallback identity")?;
    }
    config
        .commit()
        .context("failed to set the fallback identity")?;
    Ok(repo)
}
