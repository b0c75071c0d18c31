//! New objects: blobs made ready on any thread (hashed and compressed), put in place by one
//! [`ObjectWriter`] as loose files or, for many, as one pack.
//!
//! `push-sessions` writes three blobs per session. gix compresses each with a fresh zlib
//! state (see [`crate::deflate`] for what that did to the heap) on the thread that writes;
//! here the workers hash and compress with one reused state each, and the writing thread only
//! writes the bytes (creating files from several threads made the kernel time four times
//! larger).

use super::packfile::{read_only_temp, PackWriter};
use super::{Edit, Oid, Repo};
use crate::deflate::Deflater;
use anyhow::{anyhow, bail, Context, Result};
use gix::objs::tree::EntryKind;
use gix::objs::{Kind, WriteTo};
use std::io::Write;

/// git's `transfer.unpackLimit` default: a fetch of fewer objects is stored loose.
const UNPACK_LIMIT: usize = 100;

/// How an [`ObjectWriter`] stores blobs, for the [`BlobMaker`]s that prepare them.
#[derive(Clone, Copy)]
pub struct BlobFormat {
    hash: gix::hash::Kind,
    level: u32,
    /// A pack entry compresses the data alone; a loose object, `blob <size>\0` and the data.
    packed: bool,
}

/// An object (a blob, unless made by [`ObjectWriter`] itself) hashed and compressed, ready
/// for [`ObjectWriter::write_blob`].
pub struct ReadyBlob {
    pub id: Oid,
    kind: Kind,
    size: u64,
    packed: bool,
    compressed: Vec<u8>,
}

/// Makes [`ReadyBlob`]s; one per thread.
pub struct BlobMaker {
    format: BlobFormat,
    /// Made with the first blob: most runs (the hooks, with nothing changed) write none,
    /// and each thread would otherwise allocate a zlib state for nothing.
    deflater: Option<Deflater>,
}

impl BlobMaker {
    pub fn new(format: BlobFormat) -> Self {
        BlobMaker {
            format,
            deflater: None,
        }
    }

    /// `data` as a blob in the writer's format.
    pub fn make(&mut self, data: &[u8]) -> Result<ReadyBlob> {
        self.make_object(Kind::Blob, data)
    }

    /// `data` as an object of `kind` in the writer's format.
    fn make_object(&mut self, kind: Kind, data: &[u8]) -> Result<ReadyBlob> {
        let BlobFormat {
            hash,
            level,
            packed,
        } = self.format;
        let id = gix::objs::compute_hash(hash, kind, data)
            .map_err(|e| anyhow!("failed to hash a {kind}: {e}"))?;
        let deflater = self.deflater.get_or_insert_with(|| Deflater::zlib(level));
        let compressed = if packed {
            deflater.deflate(&[data])?
        } else {
            let header = gix::objs::encode::loose_header(kind, data.len() as u64);
            deflater.deflate(&[&header, data])?
        };
        Ok(ReadyBlob {
            id,
            kind,
            size: data.len() as u64,
            packed,
            compressed,
        })
    }
}

/// Puts new objects into the repository: loose, or all into one pack that git sees once
/// [`ObjectWriter::finish`] has run.
pub struct ObjectWriter<'r> {
    repo: &'r Repo,
    format: BlobFormat,
    pack: Option<PackWriter>,
    /// For the trees and the blobs made on the writing thread.
    maker: BlobMaker,
}

impl Repo {
    /// A writer for about `expected` new objects: a pack when that is at least git's
    /// `transfer.unpackLimit` (100 unless configured; the limit under which git stores the
    /// objects it receives loose), else loose objects.
    pub fn object_writer(&self, expected: usize) -> Result<ObjectWriter<'_>> {
        let limit = self
            .config_integer("transfer.unpackLimit")
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(UNPACK_LIMIT);
        let packed = expected >= limit;
        // git's levels: `core.looseCompression` (else `core.compression`, else 1) for loose
        // objects; `pack.compression` (else `core.compression`, else zlib's default) for packs.
        let keys: &[&str] = if packed {
            &["pack.compression", "core.compression"]
        } else {
            &["core.looseCompression", "core.compression"]
        };
        let level = keys
            .iter()
            .find_map(|key| self.config_integer(key))
            .unwrap_or(if packed { -1 } else { 1 });
        let level = if level < 0 { 6 } else { level.min(9) as u32 };
        let hash = self.repo.object_hash();
        let objects = self.repo.objects.store_ref().path();
        let pack = packed.then(|| PackWriter::new(objects, hash)).transpose()?;
        let format = BlobFormat {
            hash,
            level,
            packed,
        };
        Ok(ObjectWriter {
            repo: self,
            format,
            pack,
            maker: BlobMaker::new(format),
        })
    }
}

impl ObjectWriter<'_> {
    /// The format [`BlobMaker`]s must make this writer's blobs in.
    pub fn blob_format(&self) -> BlobFormat {
        self.format
    }

    /// Whether `id` is in the repository or among the objects written so far. Without
    /// looking for packs added since the repository was opened: a miss there only writes
    /// an object twice, which git tolerates, and looking made every new object a directory
    /// listing.
    fn has(&self, id: &Oid) -> bool {
        self.pack.as_ref().is_some_and(|p| p.contains(id))
            || id.is_empty_tree()
            || self.repo.repo.objects.exists_without_refresh(id)
    }

    /// Puts `blob` (for the archive file `path`, named in errors) in place; nothing is
    /// written when the object is already there.
    pub fn write_blob(&mut self, path: &str, blob: &ReadyBlob) -> Result<Oid> {
        if blob.packed != self.pack.is_some() {
            bail!("{path}: a blob made for another object writer");
        }
        if self.has(&blob.id) {
            return Ok(blob.id);
        }
        match &mut self.pack {
            Some(pack) => pack
                .add(blob.id, blob.kind, blob.size, &blob.compressed)
                .with_context(|| format!("failed to write {path}"))?,
            None => write_loose(self.repo, &blob.id, &blob.compressed)
                .with_context(|| format!("failed to write {path}"))?,
        }
        Ok(blob.id)
    }

    /// Writes `data` as a blob; `path` names it in errors.
    pub fn write_data(&mut self, path: &str, data: &[u8]) -> Result<Oid> {
        let blob = self.maker.make(data)?;
        self.write_blob(path, &blob)
    }

    /// Applies `edits` to `base` (or an empty tree) and writes the changed trees. Unchanged
    /// blobs and subtrees are shared with `base`, so an unchanged archive writes nothing new
    /// beyond what git already has (identical objects are not duplicated).
    pub fn write_tree(&mut self, base: Option<Oid>, edits: Vec<Edit>) -> Result<Oid> {
        let repo = &self.repo.repo;
        let base = base.unwrap_or_else(|| Oid::empty_tree(repo.object_hash()));
        // The plumbing editor, so that trees go where this writer's blobs went; the checks
        // gix's own editor makes before writing a tree are made here.
        let mut editor = repo
            .edit_tree(base)
            .context("failed to edit the archive tree")?
            .detach();
        for edit in edits {
            let (path, kind, id) = match edit {
                Edit::Blob(path, data) => {
                    let id = self.write_data(&path, &data)?;
                    (path, EntryKind::Blob, id)
                }
                Edit::BlobId(path, id) => (path, EntryKind::Blob, id),
                Edit::Tree(path, id) => (path, EntryKind::Tree, id),
            };
            editor
                .upsert(path.split('/'), kind, id)
                .with_context(|| format!("failed to place {path}"))?;
        }
        let id = editor
            .write(|tree| self.write_tree_object(tree))
            .context("failed to write the archive tree")?;
        Ok(id)
    }

    /// Writes one tree whose entries have valid names and exist.
    fn write_tree_object(&mut self, tree: &gix::objs::Tree) -> Result<Oid> {
        for entry in &tree.entries {
            let leaf = entry
                .mode
                .is_link()
                .then_some(gix::validate::path::component::Mode::Symlink);
            gix::validate::path::component(entry.filename.as_ref(), leaf, Default::default())
                .map_err(|e| anyhow!("invalid file name {:?} in a tree: {e}", entry.filename))?;
            // A pack fetched since the repository was opened is looked for here.
            let exists = |id: &Oid| self.has(id) || self.repo.repo.has_object(id);
            if !entry.mode.is_commit() && !exists(&entry.oid) {
                bail!("object {} at {:?} not found", entry.oid, entry.filename);
            }
        }
        let mut data = Vec::with_capacity(tree.entries.len() * 48);
        tree.write_to(&mut data)?;
        let ready = self.maker.make_object(Kind::Tree, &data)?;
        self.write_blob("a tree of the archive", &ready)
    }

    /// Makes the objects written visible to git: completes the pack, if one was begun.
    /// Dropped without this, the pack is removed.
    pub fn finish(self) -> Result<()> {
        match self.pack {
            Some(pack) => pack.finish(),
            None => Ok(()),
        }
    }
}

/// Puts a loose object's file in place as gix does: a read-only temporary file in the
/// objects directory, renamed into place.
fn write_loose(repo: &Repo, id: &Oid, compressed: &[u8]) -> Result<()> {
    let objects = repo.repo.objects.store_ref().path();
    let hex = id.to_hex().to_string();
    let (fan_out, rest) = hex.split_at(2);
    let dir = objects.join(fan_out);
    match std::fs::create_dir(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(e).with_context(|| format!("failed to create {}", dir.display()));
        }
        _ => {}
    }
    // `.tmp` is the `tempfile` crate's own prefix, which gix's temporary objects have too.
    let mut file = read_only_temp(objects, ".tmp")?;
    file.write_all(compressed)?;
    file.persist(dir.join(rest)).map_err(|e| e.error)?;
    Ok(())
}
