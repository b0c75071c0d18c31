//! Reading and writing git objects with gix, without touching HEAD, the index or the work
//! tree: blobs, trees (read as [`TreeEntry`] lists, written as [`Edit`]s on a base tree),
//! commits, and the paths a commit changed.

use super::{Oid, Repo};
use anyhow::{bail, Context, Result};
use std::time::{Duration, SystemTime};

/// How long a temporary object file must have been left untouched before it counts as left
/// over. gix writes each loose object into its own temporary file in one pass and renames
/// it into place, so a file idle this long has no writer left; were one still there, its
/// rename would fail with an error, never leave a corrupt object.
const STALE_TEMP_OBJECT: Duration = Duration::from_secs(60 * 60);

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    pub name: String,
    pub id: Oid,
    pub is_tree: bool,
}

/// An edit of a tree: a blob's content or an existing object placed at a path.
pub enum Edit {
    Blob(String, Vec<u8>),
    /// A blob that already exists.
    BlobId(String, Oid),
    Tree(String, Oid),
}

/// What a commit changed, for attributing it to sessions.
#[derive(Debug, Clone)]
pub struct ChangedPaths {
    /// Paths (relative to the repository root) whose blobs differ between the commit and its
    /// first parent (every path of a root commit).
    pub paths: Vec<String>,
    /// The commit's committer time (Unix seconds).
    pub time: i64,
    /// The first parent's committer time, if there is a parent.
    pub parent_time: Option<i64>,
}

impl Repo {
    /// Removes the temporary files a run killed while writing objects leaves: loose objects
    /// (`.tmpXXXXXX` in the objects directory, the `tempfile` crate's names, as gix and
    /// [`super::ObjectWriter`] make them) and packs (`tmp_pack_XXXXXX` and `tmp_idx_XXXXXX` in
    /// `objects/pack`, git's names). git never removes the first; `git gc` removes the others
    /// only after `gc.pruneExpire` (two weeks), and a first run's pack can be large. Best
    /// effort; returns how many were removed.
    pub fn remove_stale_temp_objects(&self) -> usize {
        let objects = self.repo.objects.store_ref().path();
        remove_stale_temp_files(objects, &[".tmp"])
            + remove_stale_temp_files(&objects.join("pack"), &["tmp_pack_", "tmp_idx_"])
    }

    /// The tree of a commit.
    pub fn commit_tree(&self, commit: Oid) -> Result<Oid> {
        let commit = self
            .repo
            .find_commit(commit)
            .with_context(|| format!("failed to read commit {commit}"))?;
        Ok(commit
            .tree_id()
            .context("failed to read a commit's tree")?
            .detach())
    }

    /// The tree `id` names: itself, or the tree of a commit or tag. `what` names it in errors.
    pub fn peel_to_tree(&self, id: Oid, what: &str) -> Result<Oid> {
        let object = self
            .repo
            .find_object(id)
            .with_context(|| format!("failed to read {what}"))?;
        let tree = object
            .peel_to_tree()
            .with_context(|| format!("{what} is not a commit or tree"))?;
        Ok(tree.id)
    }

    /// The entries of `tree`. `what` names the tree in errors.
    pub fn tree_entries(&self, tree: Oid, what: &str) -> Result<Vec<TreeEntry>> {
        let object = self
            .repo
            .find_tree(tree)
            .with_context(|| format!("failed to read tree {tree} of {what}"))?;
        let decoded = object
            .decode()
            .with_context(|| format!("failed to read tree {tree} of {what}"))?;
        Ok(decoded
            .entries
            .iter()
            .map(|e| TreeEntry {
                name: e.filename.to_string(),
                id: e.oid.to_owned(),
                is_tree: e.mode.is_tree(),
            })
            .collect())
    }

    /// The entry at `path` (`a/b/c`) in `tree`, if any.
    pub fn entry_at(&self, tree: Oid, path: &str) -> Result<Option<TreeEntry>> {
        let object = self
            .repo
            .find_tree(tree)
            .with_context(|| format!("failed to read tree {tree}"))?;
        Ok(object
            .lookup_entry(path.split('/'))
            .with_context(|| format!("failed to look up {path}"))?
            .map(|e| TreeEntry {
                name: e.filename().to_string(),
                id: e.object_id(),
                is_tree: e.mode().is_tree(),
            }))
    }

    /// The bytes of the blob at `path` in `tree`, if there is one.
    pub fn read_blob_at(&self, tree: Oid, path: &str) -> Result<Option<Vec<u8>>> {
        let object = self
            .repo
            .find_tree(tree)
            .with_context(|| format!("failed to read tree {tree}"))?;
        let Some(entry) = object
            .lookup_entry(path.split('/'))
            .with_context(|| format!("failed to look up {path}"))?
        else {
            return Ok(None);
        };
        if !entry.mode().is_blob() {
            return Ok(None);
        }
        let blob = entry
            .object()
            .with_context(|| format!("failed to read {path}"))?;
        Ok(Some(blob.detach().data))
    }

    /// The bytes of blob `id`; fails when it is not a blob. `what` names it in errors.
    pub fn read_blob(&self, id: Oid, what: &str) -> Result<Vec<u8>> {
        let object = self
            .repo
            .find_object(id)
            .with_context(|| format!("failed to read {what}"))?;
        if object.kind != gix::object::Kind::Blob {
            bail!("{what} is not a file");
        }
        Ok(object.detach().data)
    }

    /// The size of object `id` in bytes, read from its header only.
    pub fn object_size(&self, id: Oid, what: &str) -> Result<u64> {
        let header = self
            .repo
            .find_header(id)
            .with_context(|| format!("failed to read {what}"))?;
        Ok(header.size())
    }

    /// Every blob under `tree` with its path (`a/b/c`), sorted.
    pub fn list_blobs(&self, tree: Oid) -> Result<Vec<(String, Oid)>> {
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), tree)];
        while let Some((prefix, tree)) = stack.pop() {
            for entry in self.tree_entries(tree, "a tree")? {
                let path = format!("{prefix}{}", entry.name);
                if entry.is_tree {
                    stack.push((format!("{path}/"), entry.id));
                } else {
                    out.push((path, entry.id));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Applies `edits` to `base` (or an empty tree) and writes the changed trees as loose
    /// objects (see [`ObjectWriter::write_tree`](super::ObjectWriter::write_tree)).
    pub fn write_tree(&self, base: Option<Oid>, edits: Vec<Edit>) -> Result<Oid> {
        let mut writer = self.object_writer(0)?;
        let tree = writer.write_tree(base, edits)?;
        writer.finish()?;
        Ok(tree)
    }

    /// Writes a commit as the configured user (or `git-opencode` when none is configured).
    /// A parentless commit gets a `nonce` trailer varied until its ID sorts after
    /// `root_floor`: OpenCode ≤ 1.2 takes the smallest root commit of all refs as the
    /// project ID, and our archive must never become it.
    pub fn write_commit(
        &self,
        tree: Oid,
        parents: Vec<Oid>,
        message: &str,
        root_floor: Option<&str>,
    ) -> Result<Oid> {
        let author = signature(self.repo.author())?;
        let committer = signature(self.repo.committer())?;
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
                while self.hash_of(&commit)?.to_string().as_str() <= floor {
                    nonce += 1;
                    commit.message = format!("{message}\nNonce: {nonce}\n").into();
                }
            }
        }
        Ok(self
            .repo
            .write_object(&commit)
            .context("failed to write the archive commit")?
            .detach())
    }

    fn hash_of(&self, commit: &gix::objs::Commit) -> Result<Oid> {
        use gix::objs::WriteTo;
        let mut buf = Vec::new();
        commit.write_to(&mut buf)?;
        Ok(gix::objs::compute_hash(
            self.repo.object_hash(),
            gix::objs::Kind::Commit,
            &buf,
        )?)
    }

    /// The paths `commit` changed against its first parent, and both commit times.
    pub fn changed_paths(&self, commit: Oid) -> Result<ChangedPaths> {
        let c = self
            .repo
            .find_commit(commit)
            .with_context(|| format!("failed to read commit {commit}"))?;
        let time = c.time().context("bad commit time")?.seconds;
        let tree = c.tree_id()?.detach();
        let parent = c.parent_ids().next().map(|p| p.detach());
        let (parent_tree, parent_time) = match parent {
            Some(p) => {
                let pc = self.repo.find_commit(p)?;
                (Some(pc.tree_id()?.detach()), Some(pc.time()?.seconds))
            }
            None => (None, None),
        };
        let mut paths = Vec::new();
        self.diff_trees(parent_tree, Some(tree), "", &mut paths)?;
        Ok(ChangedPaths {
            paths,
            time,
            parent_time,
        })
    }

    fn diff_trees(
        &self,
        old: Option<Oid>,
        new: Option<Oid>,
        prefix: &str,
        out: &mut Vec<String>,
    ) -> Result<()> {
        if old == new {
            return Ok(());
        }
        let entries = |tree: Option<Oid>| match tree {
            Some(tree) => self.tree_entries(tree, "a commit"),
            None => Ok(Vec::new()),
        };
        let old_entries = entries(old)?;
        let new_entries = entries(new)?;
        let mut names: Vec<&String> = old_entries
            .iter()
            .chain(&new_entries)
            .map(|e| &e.name)
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let o = old_entries.iter().find(|e| &e.name == name);
            let n = new_entries.iter().find(|e| &e.name == name);
            if o.is_some() && o == n {
                continue;
            }
            let path = format!("{prefix}{name}");
            let old_tree = o.filter(|e| e.is_tree).map(|e| e.id);
            let new_tree = n.filter(|e| e.is_tree).map(|e| e.id);
            if old_tree.is_some() || new_tree.is_some() {
                self.diff_trees(old_tree, new_tree, &format!("{path}/"), out)?;
            }
            if o.is_some_and(|e| !e.is_tree) || n.is_some_and(|e| !e.is_tree) {
                out.push(path);
            }
        }
        Ok(())
    }
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

/// Removes the plain files in `dir` named one of `prefixes` and six random letters or
/// digits (what `tempfile` adds) that nobody has touched for [`STALE_TEMP_OBJECT`].
fn remove_stale_temp_files(dir: &std::path::Path, prefixes: &[&str]) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let random = prefixes.iter().find_map(|p| name.strip_prefix(p));
        let Some(random) = random else {
            continue;
        };
        if random.len() != 6 || !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        // `DirEntry::metadata` does not follow symlinks: only plain files are ours.
        let stale = entry.metadata().ok().is_some_and(|meta| {
            meta.is_file()
                && meta
                    .modified()
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| age >= STALE_TEMP_OBJECT)
        });
        if stale && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}
