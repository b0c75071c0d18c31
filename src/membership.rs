//! Which OpenCode sessions belong to this repository.
//!
//! OpenCode's project ID has followed different rules over its releases, so a user's sessions
//! for one repository can sit under several IDs. We take the union of:
//! 1. the ID OpenCode 1.18 computes now (origin remote hash, else cache file, else the sorted
//!    first root commit of HEAD);
//! 2. the IDs older versions computed (cache file; sorted first root of all refs, or of HEAD);
//! 3. projects whose worktree, sandboxes or project directories name a checkout of this repo;
//! 4. sessions in the `global` project whose directory is inside a checkout;
//! 5. sessions in an OpenCode 2.x markerless `directory:` project (a directory without `.git`
//!    when the session started: `vcs` NULL, ID `sha1("directory:" + dir)`) whose directory is
//!    inside a checkout: sessions started before `git init`.
//!
//! Child (subagent) sessions of a member are members too.

use crate::git::RepoFacts;
use crate::store::{Project, Session};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Why a session or project belongs to this repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The ID OpenCode 1.18 computes for this checkout.
    Current,
    /// An ID older OpenCode versions computed (cache file, first root of all refs).
    Legacy,
    /// A project row naming a checkout of this repository.
    Checkout,
    /// A `global` session whose directory is inside a checkout.
    Global,
    /// A session of a 2.x `directory:` project whose directory is inside a checkout.
    Directory,
    /// A subagent session whose parent belongs here.
    Parent,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Current => "current",
            Rule::Legacy => "legacy",
            Rule::Checkout => "checkout",
            Rule::Global => "global",
            Rule::Directory => "directory",
            Rule::Parent => "parent",
        }
    }
}

/// OpenCode's project ID for sessions outside any repository or before the first commit.
pub const GLOBAL: &str = "global";

/// The project IDs of this repository, each with the first rule that found it.
#[derive(Debug, Clone, Default)]
pub struct ProjectIds {
    pub ids: BTreeMap<String, Rule>,
    /// 2.x `directory:` projects: their sessions belong here when inside a checkout.
    pub directory_projects: BTreeSet<String>,
}

impl ProjectIds {
    pub fn resolve(facts: &RepoFacts, projects: &[Project]) -> ProjectIds {
        let mut ids = BTreeMap::new();
        let mut add = |id: Option<&str>, rule: Rule| {
            if let Some(id) = id.filter(|id| !id.is_empty() && *id != GLOBAL) {
                ids.entry(id.to_owned()).or_insert(rule);
            }
        };
        add(current_id(facts).as_deref(), Rule::Current);
        add(facts.cached_id.as_deref(), Rule::Legacy);
        add(facts.all_roots.first().map(String::as_str), Rule::Legacy);
        // 1.18 without a remote and cache: sessions made before `origin` was added stay here
        // until OpenCode runs again and migrates them.
        add(facts.head_roots.first().map(String::as_str), Rule::Legacy);
        let checkouts: Vec<PathBuf> = facts.checkouts.iter().map(|c| normalize(c)).collect();
        for project in projects {
            let names_checkout = std::iter::once(&project.worktree)
                .chain(&project.sandboxes)
                .chain(&project.directories)
                .any(|dir| checkouts.contains(&normalize(Path::new(dir))));
            if names_checkout {
                add(Some(&project.id), Rule::Checkout);
            }
        }
        let directory_projects = projects
            .iter()
            .filter(|p| is_directory_project(p))
            .map(|p| p.id.clone())
            .collect();
        ProjectIds {
            ids,
            directory_projects,
        }
    }
}

/// A project OpenCode 2.x made for a directory without a repository marker: no `vcs`, and
/// the ID is `sha1("directory:" + worktree)` (opencode-2x.md §5).
pub fn is_directory_project(project: &Project) -> bool {
    project.vcs.is_none()
        && project.id == crate::git::sha1_hex(format!("directory:{}", project.worktree).as_bytes())
}

/// The ID OpenCode 1.18 resolves: remote ?? cache ?? first sorted root of HEAD.
pub fn current_id(facts: &RepoFacts) -> Option<String> {
    facts
        .origin_url
        .as_deref()
        .and_then(remote_project_id)
        .or_else(|| facts.cached_id.clone())
        .or_else(|| facts.head_roots.first().cloned())
}

/// `sha1("git-remote:" + lower(host) + "/" + path)` as OpenCode 1.18 computes it from the
/// origin URL: parsed as a WHATWG URL (`file:` ignored), else as scp-like `[user@]host:path`.
pub fn remote_project_id(url: &str) -> Option<String> {
    let key = remote_key(url)?;
    Some(crate::git::sha1_hex(format!("git-remote:{key}").as_bytes()))
}

fn remote_key(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    match parse_url(url) {
        Some(UrlParts::File) => None,
        Some(UrlParts::Remote { host, path }) => host_path(&host, &path),
        None => {
            // `^([^@/:]+@)?([^/:]+):(.+)$`
            let (user_host, path) = url.split_once(':')?;
            let host = match user_host.split_once('@') {
                Some((user, host)) if !user.is_empty() && !user.contains('/') => host,
                Some(_) => return None,
                None => user_host,
            };
            if host.is_empty() || host.contains('/') || host.contains('@') || path.is_empty() {
                return None;
            }
            host_path(host, path)
        }
    }
}

fn host_path(host: &str, path: &str) -> Option<String> {
    let path = path.trim_start_matches('/');
    let path = path
        .strip_suffix(".git/")
        .or_else(|| path.strip_suffix(".git"))
        .unwrap_or(path);
    let path = path.trim_end_matches('/');
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some(format!("{}/{path}", host.to_lowercase()))
}

enum UrlParts {
    File,
    Remote { host: String, path: String },
}

/// Enough of the WHATWG URL parser for remote URLs: `None` where `new URL()` would throw.
fn parse_url(url: &str) -> Option<UrlParts> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    if !chars.next()?.is_ascii_alphabetic()
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "file" {
        return Some(UrlParts::File);
    }
    let special = matches!(scheme.as_str(), "http" | "https" | "ws" | "wss" | "ftp");
    let Some(after) = rest.strip_prefix("//") else {
        // No authority: `new URL("host:path")` parses with an empty hostname.
        return Some(UrlParts::Remote {
            host: String::new(),
            path: String::new(),
        });
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, tail) = after.split_at(end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or(host_port)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    if special && host.is_empty() {
        return None;
    }
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let mut path = percent_encode_path(&tail[..path_end]);
    if path.is_empty() && special {
        path.push('/');
    }
    Some(UrlParts::Remote {
        host: host.to_owned(),
        path,
    })
}

/// The WHATWG path percent-encode set (controls, space, `"`, `#`, `<`, `>`, `?`, `` ` ``,
/// `{`, `}`, non-ASCII).
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b <= 0x20
            || b >= 0x7f
            || matches!(b, b'"' | b'#' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}')
        {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// Paths as OpenCode stores them are absolute and usually canonical; resolve symlinks where
/// the path exists so `/tmp` vs `/private/tmp` style differences do not matter.
fn normalize(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A session of this repository and the rule that put it there.
#[derive(Debug, Clone)]
pub struct Member {
    pub session: Session,
    pub rule: Rule,
}

/// The sessions of `all` that belong to this repository (children included), sorted by ID.
pub fn members(facts: &RepoFacts, ids: &ProjectIds, all: Vec<Session>) -> Vec<Member> {
    let checkouts: Vec<PathBuf> = facts.checkouts.iter().map(|c| normalize(c)).collect();
    let inside_checkout = |dir: &str| {
        let dir = normalize(Path::new(dir));
        checkouts.iter().any(|c| dir.starts_with(c))
    };
    let mut rules: HashMap<String, Rule> = HashMap::new();
    for s in &all {
        let rule = match ids.ids.get(&s.project_id) {
            Some(rule) => Some(*rule),
            None if s.project_id == GLOBAL && inside_checkout(&s.directory) => Some(Rule::Global),
            None if ids.directory_projects.contains(&s.project_id)
                && inside_checkout(&s.directory) =>
            {
                Some(Rule::Directory)
            }
            None => None,
        };
        if let Some(rule) = rule {
            rules.insert(s.id.clone(), rule);
        }
    }
    // Children follow their parents, however deep.
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for s in &all {
        if let Some(parent) = &s.parent_id {
            children.entry(parent.as_str()).or_default().push(&s.id);
        }
    }
    let mut queue: Vec<String> = rules.keys().cloned().collect();
    let mut seen: HashSet<String> = queue.iter().cloned().collect();
    while let Some(id) = queue.pop() {
        for child in children.get(id.as_str()).into_iter().flatten() {
            if seen.insert((*child).to_owned()) {
                rules.entry((*child).to_owned()).or_insert(Rule::Parent);
                queue.push((*child).to_owned());
            }
        }
    }
    let mut members: Vec<Member> = all
        .into_iter()
        .filter_map(|session| {
            rules.get(&session.id).map(|rule| Member {
                rule: *rule,
                session,
            })
        })
        .collect();
    members.sort_by(|a, b| a.session.id.cmp(&b.session.id));
    members
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_projects_are_told_by_their_id_and_missing_vcs() {
        let project = |id: &str, vcs: Option<&str>| Project {
            id: id.into(),
            worktree: "/home/u/notes".into(),
            sandboxes: Vec::new(),
            directories: Vec::new(),
            vcs: vcs.map(String::from),
        };
        // sha1("directory:/home/u/notes"), as OpenCode 2.x's Project.resolve computes it.
        let id = crate::git::sha1_hex(b"directory:/home/u/notes");
        assert!(is_directory_project(&project(&id, None)));
        assert!(!is_directory_project(&project(&id, Some("git"))));
        assert!(!is_directory_project(&project("global", None)));
    }

    #[test]
    fn remote_ids_match_opencode() {
        let want = remote_project_id("https://github.com/Foo/Bar.git").unwrap();
        // sha1("git-remote:github.com/Foo/Bar"), recorded by OpenCode 1.18.34 (97c1d40d…).
        assert!(want.starts_with("97c1d40d"), "{want}");
        for url in [
            "git@github.com:Foo/Bar.git",
            "ssh://git@GitHub.com:22/Foo/Bar.git",
            "https://github.com/Foo/Bar/",
            "https://user:pw@github.com/Foo/Bar",
            "github.com:Foo/Bar.git/",
        ] {
            let got = remote_project_id(url);
            if url.starts_with("github.com:") {
                // A valid URL scheme `github.com:` with no host: OpenCode finds no remote ID.
                assert_eq!(got, None, "{url}");
            } else {
                assert_eq!(got.as_deref(), Some(want.as_str()), "{url}");
            }
        }
        assert_eq!(remote_project_id("file:///x/Bar.git"), None);
        assert_eq!(remote_project_id("/tmp/local/Bar"), None);
        assert_eq!(remote_project_id(""), None);
    }
}
