//! Everything a command needs to know, resolved once from flags, `git config opencode.*`
//! and the environment. Every `opencode.*` key is named in [`keys`].

use crate::git::{self, Repo, RepoFacts};
use crate::membership::{self, Member, ProjectIds};
use crate::store::{location::StoreEnv, HiddenReason, Migration, Store, StoreLocation, Unreadable};
use anyhow::Result;
use std::path::PathBuf;
use std::time::Duration;

/// The `git config` keys git-opencode reads.
pub mod keys {
    /// The OpenCode store: a data directory or a database file (relative to the work tree).
    pub const STORE: &str = "opencode.store";
    /// The archive branch (default `refs/heads/opencode/sessions`).
    pub const REF: &str = "opencode.ref";
    /// The notes ref (default `refs/notes/opencode`).
    pub const NOTES_REF: &str = "opencode.notesRef";
    /// Push the archive (and notes) with every `git push` (the pre-push hook).
    pub const PUSH_WITH_CODE: &str = "opencode.pushWithCode";
    /// Seconds a hook may spend before leaving the rest for the next run.
    pub const HOOK_TIMEOUT: &str = "opencode.hookTimeout";
}

/// A ref setting: `explicit` (a flag), else the `git config` value of `key` (an empty value
/// counts as unset), else `default`; a short name is a branch. Validated as a ref name.
pub fn ref_setting(
    repo: &Repo,
    explicit: Option<&str>,
    key: &str,
    default: &str,
) -> Result<String> {
    git::full_ref_name(&setting(repo, explicit, key, default))
}

/// A notes ref setting, as [`ref_setting`] finds it; a short name is read as `git notes
/// --ref` and `git log --notes=` read it: `notes/x` and `x` are `refs/notes/x`.
pub fn notes_ref_setting(
    repo: &Repo,
    explicit: Option<&str>,
    key: &str,
    default: &str,
) -> Result<String> {
    let name = setting(repo, explicit, key, default);
    let full = if name.starts_with("refs/") {
        name
    } else {
        format!(
            "refs/notes/{}",
            name.strip_prefix("notes/").unwrap_or(&name)
        )
    };
    git::full_ref_name(&full)
}

/// `explicit`, else the non-empty `git config` value of `key`, else `default`.
fn setting(repo: &Repo, explicit: Option<&str>, key: &str, default: &str) -> String {
    match explicit {
        Some(name) => name.to_owned(),
        None => repo
            .config_string(key)
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| default.to_owned()),
    }
}

/// `opencode.pushWithCode`, false unless set.
pub fn push_with_code(repo: &Repo) -> bool {
    repo.config_bool(keys::PUSH_WITH_CODE).unwrap_or(false)
}

/// How long a hook may work when `opencode.hookTimeout` is not set.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// `opencode.hookTimeout`, [`DEFAULT_HOOK_TIMEOUT`] unless set.
pub fn hook_timeout(repo: &Repo) -> Duration {
    repo.config_integer(keys::HOOK_TIMEOUT)
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_HOOK_TIMEOUT)
}

/// Output verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// The repository and store a command works on.
pub struct Ctx {
    pub repo: Repo,
    pub facts: RepoFacts,
    pub store_location: StoreLocation,
    pub verbosity: Verbosity,
}

/// What the global flags say, clap-free.
pub struct GlobalOptions {
    pub store: Option<PathBuf>,
    pub verbosity: Verbosity,
}

impl Ctx {
    /// Discovers the repository from the current directory and resolves the store location:
    /// `--store`, else `git config opencode.store`, else OpenCode's own rule.
    pub fn new(options: GlobalOptions) -> Result<Ctx> {
        let repo = Repo::discover()?;
        let facts = repo.facts()?;
        let configured = repo
            .config_path(keys::STORE)?
            .map(|p| match &facts.workdir {
                Some(dir) if p.is_relative() => dir.join(p),
                _ => p,
            });
        let store_location = match options.store.or(configured) {
            Some(path) => StoreLocation::from_path(&path),
            None => StoreLocation::from_env(&StoreEnv::from_process())?,
        };
        Ok(Ctx {
            repo,
            facts,
            store_location,
            verbosity: options.verbosity,
        })
    }

    pub fn open_store(&self) -> Result<Store> {
        Store::open(self.store_location.clone())
    }

    /// This repository's project IDs and sessions in `store`.
    pub fn members(&self, store: &Store) -> Result<(ProjectIds, Vec<Member>)> {
        let ids = ProjectIds::resolve(&self.facts, &store.projects()?);
        let members = membership::members(&self.facts, &ids, store.sessions()?);
        // Archiving goes on (the 1.x copies are read as live, which they are until 2.x
        // imports them), but the user should know why 2.x does not show them yet.
        if store.migration()? == Migration::InProgress && self.verbosity != Verbosity::Quiet {
            eprintln!(
                "warning: OpenCode 2.x has not finished importing the 1.x sessions of {}; \
                 their 1.x copies are read as they are",
                store.location().db.display()
            );
            eprintln!("hint: start OpenCode 2.x once and let it finish, then archive again");
        }
        Ok((ids, members))
    }

    /// The sessions of this repository that the store holds but does not list as live (see
    /// [`Store::hidden`]), each with the rule that would have matched it. Call after
    /// [`Ctx::members`].
    pub fn hidden_members(&self, store: &Store, ids: &ProjectIds) -> Vec<(Member, HiddenReason)> {
        let hidden = store.hidden();
        let reasons: std::collections::HashMap<String, HiddenReason> = hidden
            .iter()
            .map(|h| (h.session.id.clone(), h.reason))
            .collect();
        let sessions = hidden.into_iter().map(|h| h.session).collect();
        membership::members(&self.facts, ids, sessions)
            .into_iter()
            .map(|m| {
                let reason = reasons[&m.session.id];
                (m, reason)
            })
            .collect()
    }

    /// The sessions filed under this repository's project IDs `ids` that `store` could not
    /// read when [`Ctx::members`] listed them (damaged rows or files of other projects are
    /// none of this repository's business).
    pub fn unreadable_members(&self, store: &Store, ids: &ProjectIds) -> Vec<Unreadable> {
        store
            .unreadable()
            .into_iter()
            .filter(|u| ids.ids.contains_key(&u.project_id))
            .collect()
    }
}
