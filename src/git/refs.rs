//! Refs and revisions: resolving names, moving refs by compare-and-swap with a reflog entry,
//! ancestry, and the commits of a revision range.

use super::{Oid, Repo};
use crate::error::UserError;
use anyhow::{bail, Context, Result};
use gix::refs::transaction::PreviousValue;
use gix::refs::Target;

/// `name` as a full ref name: `refs/…` as given, anything else under `refs/heads/`.
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
    Ok(full)
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
