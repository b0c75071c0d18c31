//! Refs and revisions: resolving names, moving refs by compare-and-swap with a reflog entry,
//! ancestry, and the commits of a revision range.

use super::{Oid, Repo};
use crate::error::UserError;
use anyhow::{bail, Context, Result};
use gix::refs::transaction::PreviousValue;
use gix::refs::Target;

/// `name` as a full ref name: `refs/…` as given, anything else under `refs/heads/`. Refused:
/// what git refuses as a ref name or a branch name (`git check-ref-format --branch`), and
/// names that would shadow git's own refs (see [`shadowed_git_ref`]).
pub fn full_ref_name(name: &str) -> Result<String> {
    let full = if name.starts_with("refs/") {
        name.to_owned()
    } else {
        format!("refs/heads/{name}")
    };
    if let Err(e) = gix::refs::FullName::try_from(full.as_str()) {
        // The reason is the whole story: its only source is gix's "Validation" class marker.
        bail!(UserError::new(format!("invalid ref name '{name}': {e}")));
    }
    if full.ends_with('/') || full.contains("..") {
        bail!(UserError::new(format!("invalid ref name '{name}'")));
    }
    if let Some(reason) = shadowed_git_ref(&full) {
        bail!(UserError::new(format!(
            "invalid ref name '{name}': {reason}"
        )));
    }
    Ok(full)
}

/// Whether `full` is a valid full ref name (`git check-ref-format`).
pub fn is_valid_ref_name(full: &str) -> bool {
    gix::refs::FullName::try_from(full).is_ok()
}

/// Names of git's own root refs that do not end in `_HEAD` (git's `is_root_ref`).
const IRREGULAR_ROOT_REFS: [&str; 5] = [
    "AUTO_MERGE",
    "BISECT_EXPECTED_REV",
    "NOTES_MERGE_PARTIAL",
    "NOTES_MERGE_REF",
    "MERGE_AUTOSTASH",
];

/// Refs git's own commands write and read (a trailing `/`: everything under it), and why.
const GIT_OWNED: [(&str, &str); 6] = [
    ("refs/stash", "it is git stash's ref"),
    ("refs/bisect/", "git bisect keeps its refs there"),
    ("refs/rewritten/", "git rebase keeps its refs there"),
    ("refs/prefetch/", "git maintenance keeps its refs there"),
    ("refs/worktree/", "refs there are private to one worktree"),
    (
        "refs/replace/",
        "refs there replace objects for every git command",
    ),
];

/// Why the valid full ref name `full` would confuse git, if it would: its short name (what
/// is left after `refs/heads/`, `refs/tags/`, `refs/remotes/` or `refs/`) is `HEAD`, `@` or
/// another root ref such as `ORIG_HEAD` (git then warns "refname is ambiguous" and prefers
/// its own), starts with `-` (git takes it for an option), or `full` lies in a namespace a
/// git command owns, such as `refs/stash`.
fn shadowed_git_ref(full: &str) -> Option<String> {
    for (prefix, why) in GIT_OWNED {
        let inside = if prefix.ends_with('/') {
            full.starts_with(prefix)
        } else {
            full == prefix
        };
        if inside {
            return Some(why.to_owned());
        }
    }
    let short = ["refs/heads/", "refs/tags/", "refs/remotes/", "refs/"]
        .iter()
        .find_map(|prefix| full.strip_prefix(prefix))
        .unwrap_or(full);
    if short.starts_with('-') {
        return Some("a branch name cannot start with '-'".to_owned());
    }
    if short == "@" {
        return Some("'@' is git's shorthand for HEAD".to_owned());
    }
    let root_ref_syntax = short
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-');
    if root_ref_syntax
        && (short == "HEAD" || short.ends_with("_HEAD") || IRREGULAR_ROOT_REFS.contains(&short))
    {
        return Some(format!("it would shadow git's own {short}"));
    }
    None
}

/// Why a compare-and-swap ref update did not happen.
#[derive(Debug)]
pub struct RefMoved {
    pub name: String,
}

impl std::fmt::Display for RefMoved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ref {} was changed by someone else meanwhile", self.name)
    }
}

impl std::error::Error for RefMoved {}

/// Most commits a revision range may hold (notes are written for each).
const MAX_RANGE: usize = 10_000;

impl Repo {
    /// The commit a ref points at, if the ref exists.
    pub fn ref_target(&self, name: &str) -> Result<Option<Oid>> {
        let Some(mut reference) = self
            .repo
            .try_find_reference(name)
            .with_context(|| format!("failed to read ref {name}"))?
        else {
            return Ok(None);
        };
        let commit = reference
            .peel_to_commit()
            .with_context(|| format!("ref {name} does not point at a commit"))?;
        Ok(Some(commit.id))
    }

    /// The full name of the existing ref `name` names as git resolves it (`git rev-parse
    /// --verify`): `name` itself or under `refs/`, `refs/tags/`, `refs/heads/`, `refs/remotes/`.
    /// `None` when it names no ref here, or is no valid ref name (a path such as `/tmp/x.zip`).
    pub fn existing_ref(&self, name: &str) -> Option<String> {
        let reference = self.repo.try_find_reference(name).ok()??;
        Some(reference.name().as_bstr().to_string())
    }

    /// The full names of the refs under `prefix` (`refs/remotes/`), sorted.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<String>> {
        let platform = self.repo.references().context("failed to read refs")?;
        let mut names: Vec<String> = platform
            .prefixed(prefix)
            .with_context(|| format!("failed to read refs under {prefix}"))?
            .filter_map(|r| r.ok().map(|r| r.name().as_bstr().to_string()))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Moves `name` to `new` only if it still points at `expected` (`None`: must not exist),
    /// with a reflog entry. Fails with [`RefMoved`] when someone else moved it.
    pub fn update_ref(
        &self,
        name: &str,
        new: Oid,
        expected: Option<Oid>,
        log_message: &str,
    ) -> Result<()> {
        let previous = match expected {
            Some(old) => PreviousValue::MustExistAndMatch(Target::Object(old)),
            None => PreviousValue::MustNotExist,
        };
        match self.repo.reference(name, new, previous, log_message) {
            Ok(_) => Ok(()),
            Err(e) if e.is_conflict() => Err(anyhow::Error::new(RefMoved {
                name: name.to_owned(),
            })),
            Err(e) => Err(anyhow::Error::new(e).context(format!("failed to update {name}"))),
        }
    }

    /// Whether `ancestor` is reachable from `descendant` (or equal to it).
    pub fn is_ancestor(&self, ancestor: Oid, descendant: Oid) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        match self.repo.merge_base(ancestor, descendant) {
            Ok(base) => Ok(base.is_some_and(|b| b.detach() == ancestor)),
            Err(_) => Ok(false), // unrelated histories have no merge base
        }
    }

    /// The object a revision (`HEAD~2`, a ref, an ID) names; `None` when it names nothing.
    pub fn rev_parse(&self, spec: &str) -> Option<Oid> {
        self.repo.rev_parse_single(spec).ok().map(|id| id.detach())
    }

    /// The commit a revision names.
    pub fn resolve_commit(&self, spec: &str) -> Result<Oid> {
        let id = self
            .repo
            .rev_parse_single(spec)
            .with_context(|| format!("unknown revision '{spec}'"))?;
        let commit = id
            .object()
            .with_context(|| format!("unknown revision '{spec}'"))?
            .peel_to_commit()
            .with_context(|| format!("'{spec}' is not a commit"))?;
        Ok(commit.id)
    }

    /// The commits of a revision range: `REV` alone is that one commit; `A..B` the commits
    /// reachable from B but not from A (an empty side is HEAD).
    pub fn commits_in(&self, range: &str) -> Result<Vec<Oid>> {
        let Some((from, to)) = range.split_once("..") else {
            return Ok(vec![self.resolve_commit(range)?]);
        };
        let to = self.resolve_commit(if to.is_empty() { "HEAD" } else { to })?;
        let from = self.resolve_commit(if from.is_empty() { "HEAD" } else { from })?;
        let walk = self
            .repo
            .rev_walk([to])
            .with_hidden([from])
            .all()
            .with_context(|| format!("failed to walk {range}"))?;
        let mut commits = Vec::new();
        for info in walk {
            commits.push(info.with_context(|| format!("failed to walk {range}"))?.id);
        }
        if commits.len() > MAX_RANGE {
            bail!(
                "the range {range} has {} commits; pass a smaller --range",
                commits.len()
            );
        }
        Ok(commits)
    }
}

#[cfg(test)]
mod tests {
    use super::full_ref_name;

    #[test]
    fn names_git_allows_are_kept_and_short_ones_become_branches() {
        for (name, full) in [
            ("opencode/sessions", "refs/heads/opencode/sessions"),
            (
                "refs/heads/opencode/sessions",
                "refs/heads/opencode/sessions",
            ),
            ("refs/notes/opencode", "refs/notes/opencode"),
            ("archive/HEAD", "refs/heads/archive/HEAD"),
            ("Head", "refs/heads/Head"),
            ("HEADS", "refs/heads/HEADS"),
            ("stash", "refs/heads/stash"),
            ("a-b", "refs/heads/a-b"),
        ] {
            assert_eq!(full_ref_name(name).unwrap(), full, "{name}");
        }
    }

    #[test]
    fn names_that_confuse_git_are_refused() {
        for name in [
            "HEAD",
            "@",
            "ORIG_HEAD",
            "CHERRY_PICK_HEAD",
            "BISECT_EXPECTED_REV",
            "MERGE_AUTOSTASH",
            "refs/HEAD",
            "refs/heads/HEAD",
            "refs/remotes/FETCH_HEAD",
            "-x",
            "refs/heads/-x",
            "refs/stash",
            "refs/bisect/bad",
            "refs/rewritten/onto",
            "refs/prefetch/remotes/origin/main",
            "refs/worktree/x",
            "refs/replace/x",
            "bad..name",
            "a@{1}",
            "refs/heads/x/",
        ] {
            assert!(full_ref_name(name).is_err(), "{name} was accepted");
        }
    }
}
