//! Blobs made ready on any thread (hashed and compressed as git stores a loose object) and
//! put in place by one.
//!
//! `push-sessions` writes three blobs per session. gix compresses each with a fresh zlib
//! state (see [`crate::deflate`] for what that did to the heap) on the thread that writes;
//! here the workers hash and compress with one reused state each, and the writing thread only
//! creates the file (creating files from several threads made the kernel time four times
//! larger).

use super::{Oid, Repo};
use crate::deflate::Deflater;
use anyhow::{anyhow, Context, Result};
use gix::objs::Kind;
use std::io::Write;

/// How this repository stores loose objects: its hash and `core.looseCompression`.
#[derive(Clone, Copy)]
pub struct BlobFormat {
    hash: gix::hash::Kind,
    level: u32,
}

/// A blob hashed and compressed, ready for [`Repo::write_ready_blob`].
pub struct ReadyBlob {
    pub id: Oid,
    /// The loose object file's bytes: zlib of `blob <size>\0` and the data.
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

    /// `data` as a loose blob.
    pub fn make(&mut self, data: &[u8]) -> Result<ReadyBlob> {
        let id = gix::objs::compute_hash(self.format.hash, Kind::Blob, data)
            .map_err(|e| anyhow!("failed to hash a blob: {e}"))?;
        let header = gix::objs::encode::loose_header(Kind::Blob, data.len() as u64);
        let level = self.format.level;
        let deflater = self.deflater.get_or_insert_with(|| Deflater::zlib(level));
        let compressed = deflater.deflate(&[&header, data])?;
        Ok(ReadyBlob { id, compressed })
    }
}

impl Repo {
    /// The format [`BlobMaker`]s make this repository's blobs in. The level is git's:
    /// `core.looseCompression`, else `core.compression`, else 1 (-1: zlib's default, 6).
    pub fn blob_format(&self) -> BlobFormat {
        let level = ["core.looseCompression", "core.compression"]
            .iter()
            .find_map(|key| self.config_integer(key))
            .unwrap_or(1);
        let level = if level < 0 { 6 } else { level.min(9) as u32 };
        BlobFormat {
            hash: self.repo.object_hash(),
            level,
        }
    }

    /// Puts `blob` (for the archive file `path`, named in errors) into the object store, as
    /// gix does: a read-only temporary file in the objects directory, renamed into place;
    /// nothing is written when the object is already there.
    pub fn write_ready_blob(&self, path: &str, blob: &ReadyBlob) -> Result<Oid> {
        if self.repo.has_object(blob.id) {
            return Ok(blob.id);
        }
        let fail = || format!("failed to write {path}");
        let objects = self.repo.objects.store_ref().path();
        let hex = blob.id.to_hex().to_string();
        let (fan_out, rest) = hex.split_at(2);
        let dir = objects.join(fan_out);
        match std::fs::create_dir(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(e).with_context(|| format!("{}: {}", fail(), dir.display()));
            }
            _ => {}
        }
        let mut builder = tempfile::Builder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o444));
        }
        let mut file = builder.tempfile_in(objects).with_context(fail)?;
        file.write_all(&blob.compressed).with_context(fail)?;
        file.persist(dir.join(rest))
            .map_err(|e| e.error)
            .with_context(fail)?;
        Ok(blob.id)
    }
}
