//! Writing git objects and moving refs with gix, without touching HEAD, the index or the
//! work tree. Callers get plain object IDs back.

use anyhow::{bail, Context, Result};
use gix::objs::tree::EntryKind;
use gix::refs::transaction::PreviousValue;
use gix::refs::Target;
use gix::ObjectId;

pub use gix::ObjectId as Oid;

/// `name` as a full ref name: `refs/…` as given, anything else under `refs/heads/`.
pub fn full_ref_name(name: &str) -> Result<String> {
    let full = if name.starts_with("refs/") {
        name.to_owned()
    } else {
        format!("refs/heads/{name}")
    };
    gix::refs::FullName::try_from(full.as_str())
        .with_context(|| format!("invalid ref name '{name}'"))?;
    if full.ends_with('/') || full.contains("..") {
        bail!("invalid ref name '{name}'");
    }
    Ok(full)
}

/// The commit a ref points at, if the ref exists.
pub fn ref_target(repo: &gix::Repository, name: &str) -> Result<Option<ObjectId>> {
    let Some(mut reference) = repo
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

/// The tree of a commit.
pub fn commit_tree(repo: &gix::Repository, commit: ObjectId) -> Result<ObjectId> {
    let commit = repo
        .find_commit(commit)
        .with_context(|| format!("failed to read commit {commit}"))?;
    Ok(commit
        .tree_id()
        .context("failed to read a commit's tree")?
        .detach())
}

/// The bytes of the blob at `path` in `tree`, if there is one.
pub fn read_blob_at(repo: &gix::Repository, tree: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
    let tree = repo
        .find_tree(tree)
        .with_context(|| format!("failed to read tree {tree}"))?;
    let Some(entry) = tree
        .lookup_entry(path.split('/'))
        .with_context(|| format!("failed to look up {path}"))?
    else {
        return Ok(None);
    };
    if !entry.mode().is_blob() {
        return Ok(None);
    }
    let object = entry
        .object()
        .with_context(|| format!("failed to read {path}"))?;
    Ok(Some(object.detach().data))
}

/// The object ID of the entry at `path` in `tree` (a blob or a tree), if any.
pub fn entry_at(
    repo: &gix::Repository,
    tree: ObjectId,
    path: &str,
) -> Result<Option<(ObjectId, bool)>> {
    let tree = repo
        .find_tree(tree)
        .with_context(|| format!("failed to read tree {tree}"))?;
    Ok(tree
        .lookup_entry(path.split('/'))
        .with_context(|| format!("failed to look up {path}"))?
        .map(|e| (e.object_id(), e.mode().is_tree())))
}

/// Every blob under `tree` with its path (`a/b/c`), depth first.
pub fn list_blobs(repo: &gix::Repository, tree: ObjectId) -> Result<Vec<(String, ObjectId)>> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), tree)];
    while let Some((prefix, tree)) = stack.pop() {
        for (name, id, is_tree) in tree_entries(repo, Some(tree))? {
            let path = format!("{prefix}{name}");
            if is_tree {
                stack.push((format!("{path}/"), id));
            } else {
                out.push((path, id));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// An edit of a tree: a blob's content or an existing subtree placed at a path.
pub enum Edit {
    Blob(String, Vec<u8>),
    /// A blob that already exists.
    BlobId(String, ObjectId),
    Tree(String, ObjectId),
}

/// Applies `edits` to `base` (or an empty tree) and writes the changed trees. Unchanged
/// blobs and subtrees are shared with `base`, so an unchanged archive writes nothing new
/// beyond what git already has (identical objects are not duplicated).
pub fn write_tree(
    repo: &gix::Repository,
    base: Option<ObjectId>,
    edits: Vec<Edit>,
) -> Result<ObjectId> {
    let base = base.unwrap_or_else(|| ObjectId::empty_tree(repo.object_hash()));
    let mut editor = repo
        .edit_tree(base)
        .context("failed to edit the archive tree")?;
    for edit in edits {
        match edit {
            Edit::Blob(path, data) => {
                let id = repo
                    .write_blob(&data)
                    .with_context(|| format!("failed to write {path}"))?;
                editor
                    .upsert(path.as_str(), EntryKind::Blob, id.detach())
                    .with_context(|| format!("failed to place {path}"))?;
            }
            Edit::BlobId(path, id) => {
                editor
                    .upsert(path.as_str(), EntryKind::Blob, id)
                    .with_context(|| format!("failed to place {path}"))?;
            }
            Edit::Tree(path, id) => {
                editor
                    .upsert(path.as_str(), EntryKind::Tree, id)
                    .with_context(|| format!("failed to place {path}"))?;
            }
        }
    }
    Ok(editor
        .write()
        .context("failed to write the archive tree")?
        .detach())
}

fn signature(
    configured: Option<gix::Result<gix::actor::SignatureRef<'_>>>,
) -> Result<gix::actor::Signature> {
    match configured {
        Some(sig) => Ok(sig.context("bad identity in git config")?.to_owned()?),
        None => Ok(gix::actor::Signature {
            name: "git-opencode".into(),
            email: "git-opencode@localhost".into(),
            time: gix::date::Time::now_local_or_utc(),
        }),
    }
}

/// Writes a commit as the configured user (or `git-opencode` when none is configured).
/// A parentless commit gets a `nonce` trailer varied until its ID sorts after `root_floor`:
/// OpenCode ≤ 1.2 takes the smallest root commit of all refs as the project ID, and our
/// archive must never become it.
pub fn write_commit(
    repo: &gix::Repository,
    tree: ObjectId,
    parents: Vec<ObjectId>,
    message: &str,
    root_floor: Option<&str>,
) -> Result<ObjectId> {
    let author = signature(repo.author())?;
    let committer = signature(repo.committer())?;
    let mut commit = gix::objs::Commit {
        tree,
        parents: parents.into_iter().collect(),
        author,
        committer,
        encoding: None,
        message: message.into(),
        extra_headers: Default::default(),
    };
    if commit.parents.is_empty() {
        if let Some(floor) = root_floor {
            let mut nonce = 0u32;
            loop {
                let id = hash_of(repo, &commit)?;
                if id.to_string().as_str() > floor {
                    break;
                }
                nonce += 1;
                commit.message = format!("{message}\nNonce: {nonce}\n").into();
            }
        }
    }
    Ok(repo
        .write_object(&commit)
        .context("failed to write the archive commit")?
        .detach())
}

fn hash_of(repo: &gix::Repository, commit: &gix::objs::Commit) -> Result<ObjectId> {
    use gix::objs::WriteTo;
    let mut buf = Vec::new();
    commit.write_to(&mut buf)?;
    Ok(gix::objs::compute_hash(
        repo.object_hash(),
        gix::objs::Kind::Commit,
        &buf,
    )?)
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

/// Moves `name` to `new` only if it still points at `expected` (`None`: must not exist),
/// with a reflog entry.
pub fn update_ref(
    repo: &gix::Repository,
    name: &str,
    new: ObjectId,
    expected: Option<ObjectId>,
    log_message: &str,
) -> Result<()> {
    let previous = match expected {
        Some(old) => PreviousValue::MustExistAndMatch(Target::Object(old)),
        None => PreviousValue::MustNotExist,
    };
    match repo.reference(name, new, previous, log_message) {
        Ok(_) => Ok(()),
        Err(e) if e.is_conflict() => Err(anyhow::Error::new(RefMoved {
            name: name.to_owned(),
        })),
        Err(e) => Err(anyhow::Error::new(e).context(format!("failed to update {name}"))),
    }
}

/// Whether `ancestor` is reachable from `descendant` (or equal to it).
pub fn is_ancestor(
    repo: &gix::Repository,
    ancestor: ObjectId,
    descendant: ObjectId,
) -> Result<bool> {
    if ancestor == descendant {
        return Ok(true);
    }
    match repo.merge_base(ancestor, descendant) {
        Ok(base) => Ok(base.is_some_and(|b| b.detach() == ancestor)),
        Err(_) => Ok(false), // unrelated histories have no merge base
    }
}

/// Paths (relative to the repository root) whose blobs differ between a commit and its first
/// parent (all paths of a root commit).
pub fn changed_paths(
    repo: &gix::Repository,
    commit: ObjectId,
) -> Result<(Vec<String>, i64, Option<i64>)> {
    let c = repo
        .find_commit(commit)
        .with_context(|| format!("failed to read commit {commit}"))?;
    let time = c.time().context("bad commit time")?.seconds;
    let tree = c.tree_id()?.detach();
    let parent = c.parent_ids().next().map(|p| p.detach());
    let (parent_tree, parent_time) = match parent {
        Some(p) => {
            let pc = repo.find_commit(p)?;
            (Some(pc.tree_id()?.detach()), Some(pc.time()?.seconds))
        }
        None => (None, None),
    };
    let mut out = Vec::new();
    diff_trees(repo, parent_tree, Some(tree), "", &mut out)?;
    Ok((out, time, parent_time))
}

/// The entries of `tree` (none for `None`): name, object ID, whether it is a tree.
pub fn tree_entries(
    repo: &gix::Repository,
    tree: Option<ObjectId>,
) -> Result<Vec<(String, ObjectId, bool)>> {
    let Some(tree) = tree else {
        return Ok(Vec::new());
    };
    let tree = repo.find_tree(tree)?;
    let decoded = tree.decode()?;
    Ok(decoded
        .entries
        .iter()
        .map(|e| (e.filename.to_string(), e.oid.to_owned(), e.mode.is_tree()))
        .collect())
}

fn diff_trees(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    prefix: &str,
    out: &mut Vec<String>,
) -> Result<()> {
    if old == new {
        return Ok(());
    }
    let old_entries = tree_entries(repo, old)?;
    let new_entries = tree_entries(repo, new)?;
    let mut names: Vec<&String> = old_entries
        .iter()
        .chain(&new_entries)
        .map(|e| &e.0)
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let o = old_entries.iter().find(|e| &e.0 == name);
        let n = new_entries.iter().find(|e| &e.0 == name);
        let path = format!("{prefix}{name}");
        match (o, n) {
            (Some(o), Some(n)) if o.1 == n.1 && o.2 == n.2 => {}
            (o, n) => {
                let old_tree = o.filter(|e| e.2).map(|e| e.1);
                let new_tree = n.filter(|e| e.2).map(|e| e.1);
                if old_tree.is_some() || new_tree.is_some() {
                    diff_trees(repo, old_tree, new_tree, &format!("{path}/"), out)?;
                }
                if o.is_some_and(|e| !e.2) || n.is_some_and(|e| !e.2) {
                    out.push(path);
                }
            }
        }
    }
    Ok(())
}
