//! The facts of a repository that decide which OpenCode sessions belong to it (its root
//! commits come from [`super::roots`]).

use super::roots::RootCache;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Refs written by git-opencode itself; they must never change which sessions belong here.
pub const OWN_REF_PREFIXES: &[&str] = &[
    "refs/heads/opencode/",
    "refs/notes/opencode",
    "refs/opencode/",
];

/// What OpenCode looks at to identify a repository, gathered once.
#[derive(Debug, Clone, Default)]
pub struct RepoFacts {
    /// The git dir shared by all worktrees (holds OpenCode's `opencode` cache file).
    pub common_dir: PathBuf,
    /// The checkout we run in, if any (canonical).
    pub workdir: Option<PathBuf>,
    /// Every checkout of this repository: the main one and linked worktrees (canonical).
    pub checkouts: Vec<PathBuf>,
    /// The origin's URL as `git remote get-url origin` prints it (insteadOf applied).
    pub origin_url: Option<String>,
    /// The content of `<common-dir>/opencode`, OpenCode's cached project ID.
    pub cached_id: Option<String>,
    /// Root commits reachable from HEAD, sorted.
    pub head_roots: Vec<String>,
    /// Root commits reachable from any ref but git-opencode's own, sorted.
    pub all_roots: Vec<String>,
    /// A short name for the repository: the main checkout's directory name.
    pub name: String,
}

pub(super) fn canonical(path: &Path) -> PathBuf {
    gix::path::realpath(path)
        .or_else(|_| std::fs::canonicalize(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Gathers [`RepoFacts`] for `repo`.
pub(super) fn facts(repo: &gix::Repository) -> Result<RepoFacts> {
    let common_dir = canonical(repo.common_dir());
    let workdir = repo.workdir().map(canonical);
    let mut checkouts = Vec::new();
    // The main checkout: the directory holding the common `.git` (none for a bare repo).
    let main_repo = repo.main_repo().ok();
    if let Some(main) = main_repo.as_ref().and_then(|m| m.workdir().map(canonical)) {
        checkouts.push(main);
    }
    if let Some(w) = &workdir {
        if !checkouts.contains(w) {
            checkouts.push(w.clone());
        }
    }
    for proxy in repo
        .worktrees()
        .context("failed to list linked worktrees")?
    {
        if let Ok(base) = proxy.base() {
            let base = canonical(&base);
            if !checkouts.contains(&base) {
                checkouts.push(base);
            }
        }
    }
    let config = repo.config_snapshot();
    let origin_url = origin_url(&config);
    let cached_id = std::fs::read_to_string(common_dir.join("opencode"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let mut root_cache = RootCache::load(repo, common_dir.join("git-opencode"));
    let head_roots = match repo.head_id() {
        Ok(id) => root_cache.roots(repo, &[id.detach()])?,
        Err(_) => Vec::new(), // unborn HEAD: no commits yet
    };
    // The first commit of an archive branch or notes ref git-opencode wrote under another
    // name than its own (`opencode.ref`, `--notes-ref`) is no root of the project's history.
    let all_roots = (root_cache.roots(repo, &ref_tips(repo)?)?.into_iter())
        .filter(|root| !written_by_git_opencode(repo, root))
        .collect();
    root_cache.save();
    let name = checkouts
        .first()
        .and_then(|p| p.file_name())
        .or_else(|| common_dir.file_name())
        .map(|n| n.to_string_lossy().trim_end_matches(".git").to_owned())
        .unwrap_or_else(|| "repo".to_owned());
    Ok(RepoFacts {
        common_dir,
        workdir,
        checkouts,
        origin_url,
        cached_id,
        head_roots,
        all_roots,
        name,
    })
}

/// What `git remote get-url origin` prints, which is what OpenCode hashes: the first
/// `remote.origin.url`, with `url.<base>.insteadOf` applied (the longest matching prefix wins).
fn origin_url(config: &gix::config::Snapshot<'_>) -> Option<String> {
    let url = config.strings("remote.origin.url")?.first()?.to_string();
    let mut best: Option<(usize, String)> = None;
    for section in config
        .plumbing()
        .sections_by_name("url")
        .into_iter()
        .flatten()
    {
        let Some(base) = section.header().subsection_name() else {
            continue;
        };
        for prefix in section.values("insteadOf") {
            let prefix = prefix.to_string();
            let longer = best.as_ref().is_none_or(|(len, _)| prefix.len() > *len);
            if url.starts_with(&prefix) && longer {
                best = Some((prefix.len(), format!("{base}{}", &url[prefix.len()..])));
            }
        }
    }
    Some(best.map_or(url, |(_, rewritten)| rewritten))
}

/// The start of the message of every commit git-opencode writes (how a root commit of its
/// own is told from the project's).
pub const COMMIT_MESSAGE_PREFIX: &str = "git-opencode: ";

/// Whether the commit `hex` is one git-opencode wrote.
fn written_by_git_opencode(repo: &gix::Repository, hex: &str) -> bool {
    let commit =
        (gix::ObjectId::from_hex(hex.as_bytes()).ok()).and_then(|id| repo.find_commit(id).ok());
    commit.is_some_and(|c| {
        c.message_raw_sloppy()
            .starts_with(COMMIT_MESSAGE_PREFIX.as_bytes())
    })
}

/// Tips of every ref except git-opencode's own (and HEAD, which may be detached).
fn ref_tips(repo: &gix::Repository) -> Result<Vec<gix::ObjectId>> {
    let mut tips = Vec::new();
    if let Ok(id) = repo.head_id() {
        tips.push(id.detach());
    }
    let platform = repo.references().context("failed to read refs")?;
    for reference in platform.all().context("failed to read refs")? {
        let Ok(mut reference) = reference else {
            continue;
        };
        let name = reference.name().as_bstr().to_string();
        if OWN_REF_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        if let Ok(commit) = reference.peel_to_commit() {
            tips.push(commit.id);
        }
    }
    tips.sort();
    tips.dedup();
    Ok(tips)
}
