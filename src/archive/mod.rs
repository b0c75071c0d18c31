//! The archive: this repository's sessions kept outside OpenCode's store, in two forms.
//!
//! - The **pack** ([`pack`]): one deterministic zip, `git opencode pack`.
//! - The **branch** ([`branch`]): an orphan history of commits, `git opencode push-sessions`,
//!   written incrementally and merged with a remote's copy as a union by session; which copy
//!   of a session it keeps is decided in [`freshness`].
//!
//! Both hold every session as the document `opencode export` prints plus an extra record
//! ([`documents`]), and a `manifest.json` of the types below naming the format. [`open`]
//! checks either form whole, one session at a time, for restore and verify, which then read
//! the sessions again one at a time ([`Archive::for_each`]).

pub mod branch;
pub mod checkout;
pub mod documents;
pub mod freshness;
pub mod lookup;
pub mod pack;
mod read;
mod zip_out;

pub use read::{
    is_safe_id, open, open_sessions, source_repository, Archive, ArchivedSession, Checksums,
    Listed, SourceKind,
};

use crate::config;
use crate::error::UserError;
use crate::git::{Repo, RepoFacts};
use crate::membership::{ProjectIds, Rule};
use crate::store::{Session, Unreadable};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// The pack manifest's `format`.
pub const PACK_FORMAT: &str = "git-opencode-pack";
/// The branch manifest's `format`, which marks a tree as ours.
pub const BRANCH_FORMAT: &str = "git-opencode-archive";
/// The version of both formats this git-opencode writes and reads.
pub const VERSION: u32 = 1;
/// The manifest's name, at the top of the zip and of the branch's tree.
pub const MANIFEST: &str = "manifest.json";

/// The archive branch unless `git config opencode.ref` names another.
pub const DEFAULT_REF: &str = "refs/heads/opencode/sessions";

/// `session` as unreadable, because reading it failed with `error`.
pub fn unreadable(session: &Session, error: &anyhow::Error) -> Unreadable {
    Unreadable {
        session_id: session.id.clone(),
        project_id: session.project_id.clone(),
        reason: crate::error::message(error),
    }
}

/// The failure of a run that took every session but `skipped` into `archived` (an archive,
/// or a report such as "the list"): one line naming each skipped session with its damaged
/// row and what is wrong with it. `done` says what happened to the others ("archived").
pub fn skipped_error(skipped: &[Unreadable], archived: &str, done: &str) -> anyhow::Error {
    let list: Vec<String> = skipped
        .iter()
        .map(|u| format!("session {} ({})", u.session_id, u.reason))
        .collect();
    let (count, verb) = match skipped.len() {
        1 => ("1 session".to_owned(), "was"),
        n => (format!("{n} sessions"), "were"),
    };
    anyhow::Error::new(
        UserError::new(format!(
            "{count} of this repository could not be read and {verb} left out of {archived}: {}",
            list.join("; ")
        ))
        .hint(format!(
            "the store has a damaged row or file, named above; every other session was {done}"
        )),
    )
}

/// The archive ref every command uses: `explicit` (a flag), else `git config opencode.ref`,
/// else [`DEFAULT_REF`] (see [`config::ref_setting`]).
pub fn resolve_ref(repo: &Repo, explicit: Option<&str>) -> Result<String> {
    config::ref_setting(repo, explicit, config::keys::REF, DEFAULT_REF)
}

/// `https://user:token@host/x` → `https://host/x`; scp-like `user@host:x` keeps its user
/// (it is a login name, not a secret).
pub fn strip_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_owned()
}

/// The program that wrote an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

impl Tool {
    /// This build of git-opencode.
    pub fn this() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The repository an archive was written from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RepositoryInfo {
    pub name: String,
    /// Root commits of every ref but git-opencode's own.
    pub roots: Vec<String>,
    /// The origin's URL without credentials.
    pub origin: Option<String>,
}

impl RepositoryInfo {
    pub fn of(facts: &RepoFacts) -> RepositoryInfo {
        RepositoryInfo {
            name: facts.name.clone(),
            roots: facts.all_roots.clone(),
            origin: facts.origin_url.as_deref().map(strip_credentials),
        }
    }

    /// Whether this is a repository other than the one `facts` describe: it shares no root
    /// commit with it, and its origin (when both have one) is another. `false` when there is
    /// nothing to tell by (no roots on either side).
    pub fn is_other_than(&self, facts: &RepoFacts) -> bool {
        if self.roots.is_empty() || facts.all_roots.is_empty() {
            return false;
        }
        if self.roots.iter().any(|r| facts.all_roots.contains(r)) {
            return false;
        }
        // A shallow clone's roots are its cut-off commits: the same origin still says "same".
        let same_origin = match (&self.origin, &facts.origin_url) {
            (Some(a), Some(b)) => same_url(a, &strip_credentials(b)),
            _ => false,
        };
        !same_origin
    }

    /// `name (origin)`, else `name (root commit <id>)`.
    pub fn describe(&self) -> String {
        let name = if self.name.is_empty() {
            "a repository"
        } else {
            &self.name
        };
        match (&self.origin, self.roots.first()) {
            (Some(origin), _) => format!("{name} ({origin})"),
            (None, Some(root)) => format!("{name} (root commit {root})"),
            (None, None) => name.to_owned(),
        }
    }
}

/// Two remote URLs name the same repository (case, a trailing `/` or `.git` aside).
fn same_url(a: &str, b: &str) -> bool {
    let norm = |u: &str| {
        let u = u.trim_end_matches('/');
        u.strip_suffix(".git").unwrap_or(u).to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

/// One of this repository's OpenCode project IDs and the rule that found it.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectEntry {
    pub id: String,
    pub rule: Rule,
}

impl ProjectEntry {
    pub fn list(ids: &ProjectIds) -> Vec<ProjectEntry> {
        ids.ids
            .iter()
            .map(|(id, rule)| ProjectEntry {
                id: id.clone(),
                rule: *rule,
            })
            .collect()
    }
}

/// What every reader needs of a manifest, from either form and any version: which format it
/// is, and how it was written. Fields a manifest lacks are `None`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ManifestHeader {
    pub format: Option<String>,
    pub version: Option<u64>,
    pub tool: Option<Tool>,
    /// Secret-shaped strings were replaced by placeholders.
    pub redacted: Option<bool>,
}

impl ManifestHeader {
    pub fn is_redacted(&self) -> bool {
        self.redacted == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::strip_credentials;

    #[test]
    fn credentials_are_stripped_from_urls() {
        assert_eq!(
            strip_credentials("https://u:t0k@github.com/a/b.git"),
            "https://github.com/a/b.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:a/b.git"),
            "git@github.com:a/b.git"
        );
        assert_eq!(
            strip_credentials("https://github.com/a@b"),
            "https://github.com/a@b"
        );
    }
}
