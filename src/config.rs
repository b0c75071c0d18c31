//! Everything a command needs to know, resolved once from flags, `git config opencode.*`
//! and the environment.

use crate::git::{Repo, RepoFacts};
use crate::membership::{self, Member, ProjectIds};
use crate::store::{location::StoreEnv, Store, StoreLocation};
use anyhow::Result;
use std::path::PathBuf;

/// `git config` key naming the OpenCode store (a data directory or a database file).
pub const STORE_KEY: &str = "opencode.store";

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
        let configured = repo.config_path(STORE_KEY)?.map(|p| match &facts.workdir {
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
        Ok((ids, members))
    }
}
