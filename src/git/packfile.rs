//! One pack of new objects, written as `git fast-import` writes one: every object whole (no
//! deltas), zlib-compressed, then the count patched into the header, the checksum appended,
//! the version-2 index beside it, both flushed to disk and renamed into `objects/pack`.
//!
//! A first `push-sessions` run writes four objects per session. As loose objects that is a
//! file each (40,000 files for 10,000 sessions); creating them took from 0.5 s to several
//! seconds of kernel time on the same machine, with the file system's state. A pack is one
//! file written front to back.

use super::Oid;
use anyhow::{bail, Context, Result};
use gix::objs::Kind;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// Offsets from this one on go into the index's table of 8-byte offsets.
const LARGE_OFFSET: u64 = 1 << 31;

/// A pack being written; nothing is visible to git until [`PackWriter::finish`].
pub struct PackWriter {
    hash: gix::hash::Kind,
    dir: PathBuf,
    file: BufWriter<NamedTempFile>,
    /// Bytes written so far: where the next entry starts.
    offset: u64,
    /// Each object's ID, the CRC-32 of its entry and where the entry starts.
    entries: Vec<(Oid, u32, u64)>,
    written: HashSet<Oid>,
}

impl PackWriter {
    /// Starts a pack in `objects_dir/pack`.
    pub fn new(objects_dir: &Path, hash: gix::hash::Kind) -> Result<PackWriter> {
        let dir = objects_dir.join("pack");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
        // git's own name for a pack being written: `git gc` removes one left by a killed run.
        let file = read_only_temp(&dir, "tmp_pack_")?;
        let mut file = BufWriter::with_capacity(1 << 16, file);
        // The count is patched in by `finish`.
        file.write_all(b"PACK\0\0\0\x02\0\0\0\0")
            .with_context(|| format!("failed to write a pack in {}", dir.display()))?;
        Ok(PackWriter {
            hash,
            dir,
            file,
            offset: 12,
            entries: Vec::new(),
            written: HashSet::new(),
        })
    }

    /// Whether `id` is already in this pack.
    pub fn contains(&self, id: &Oid) -> bool {
        self.written.contains(id)
    }

    /// Appends the object `id` of `kind`, `size` bytes whose zlib stream is `compressed`;
    /// an object already in the pack is not written twice.
    pub fn add(&mut self, id: Oid, kind: Kind, size: u64, compressed: &[u8]) -> Result<()> {
        if !self.written.insert(id) {
            return Ok(());
        }
        let header = entry_header(kind, size);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header);
        crc.update(compressed);
        self.file
            .write_all(&header)
            .and_then(|()| self.file.write_all(compressed))
            .with_context(|| format!("failed to write a pack in {}", self.dir.display()))?;
        self.entries.push((id, crc.finalize(), self.offset));
        self.offset += (header.len() + compressed.len()) as u64;
        Ok(())
    }

    /// Completes the pack and its index and puts both in place (the index last: a pack is
    /// seen by git once its index is there). Writes nothing when no object was added.
    pub fn finish(self) -> Result<()> {
        let PackWriter {
            hash,
            dir,
            file,
            mut entries,
            ..
        } = self;
        if entries.is_empty() {
            return Ok(());
        }
        let fail = || format!("failed to write a pack in {}", dir.display());
        let mut temp = file
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(fail)?;
        let count = u32::try_from(entries.len()).context("too many objects for one pack")?;
        let pack_checksum = seal(temp.as_file_mut(), count, hash).with_context(fail)?;
        entries.sort_unstable_by_key(|e| e.0);
        let index = index_bytes(&entries, &pack_checksum, hash)?;
        let mut index_file = read_only_temp(&dir, "tmp_idx_")?;
        index_file.write_all(&index).with_context(fail)?;
        // git flushes packs and their indexes to disk by default (`core.fsync`): the ref
        // about to name these objects must not outlive them in a crash.
        index_file.as_file().sync_all().with_context(fail)?;
        let name = format!("pack-{}", pack_checksum.to_hex());
        temp.persist(dir.join(format!("{name}.pack")))
            .map_err(|e| e.error)
            .with_context(fail)?;
        index_file
            .persist(dir.join(format!("{name}.idx")))
            .map_err(|e| e.error)
            .with_context(fail)?;
        Ok(())
    }
}

/// A temporary file in `dir`, read-only once closed (as git leaves its objects).
pub(super) fn read_only_temp(dir: &Path, prefix: &str) -> Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o444));
    }
    builder
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in {}", dir.display()))
}

/// A pack entry's header: the kind and, seven bits at a time after the first four, the size.
fn entry_header(kind: Kind, size: u64) -> Vec<u8> {
    let kind: u8 = match kind {
        Kind::Commit => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
        Kind::Tag => 4,
    };
    let mut header = Vec::with_capacity(10);
    let mut byte = (kind << 4) | (size & 0x0f) as u8;
    let mut rest = size >> 4;
    while rest != 0 {
        header.push(byte | 0x80);
        byte = (rest & 0x7f) as u8;
        rest >>= 7;
    }
    header.push(byte);
    header
}

/// Writes `count` into the pack's header, then appends the checksum of the whole file.
fn seal(file: &mut File, count: u32, hash: gix::hash::Kind) -> Result<Oid> {
    file.seek(SeekFrom::Start(8))?;
    file.write_all(&count.to_be_bytes())?;
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = gix::hash::hasher(hash);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let checksum = hasher
        .try_finalize()
        .map_err(|e| anyhow::anyhow!("failed to hash the pack: {e}"))?;
    file.write_all(checksum.as_bytes())?;
    file.sync_all()?;
    Ok(checksum)
}

/// The version-2 index of a pack whose `entries` are sorted by ID.
fn index_bytes(
    entries: &[(Oid, u32, u64)],
    pack_checksum: &Oid,
    hash: gix::hash::Kind,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(8 + 256 * 4 + entries.len() * (hash.len_in_bytes() + 8) + 64);
    out.extend_from_slice(b"\xfftOc\0\0\0\x02");
    // How many IDs start with each byte or a smaller one.
    let mut fan_out = [0u32; 256];
    for (id, _, _) in entries {
        fan_out[id.as_bytes()[0] as usize] += 1;
    }
    let mut total = 0;
    for n in fan_out {
        total += n;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in entries {
        out.extend_from_slice(id.as_bytes());
    }
    for (_, crc, _) in entries {
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for &(_, _, offset) in entries {
        let small = if offset < LARGE_OFFSET {
            offset as u32
        } else {
            let slot = u32::try_from(large.len()).context("pack too large")?;
            if slot >= 1 << 31 {
                bail!("pack too large");
            }
            large.push(offset);
            slot | 1 << 31
        };
        out.extend_from_slice(&small.to_be_bytes());
    }
    for offset in large {
        out.extend_from_slice(&offset.to_be_bytes());
    }
    out.extend_from_slice(pack_checksum.as_bytes());
    let mut hasher = gix::hash::hasher(hash);
    hasher.update(&out);
    let checksum = hasher
        .try_finalize()
        .map_err(|e| anyhow::anyhow!("failed to hash the pack index: {e}"))?;
    out.extend_from_slice(checksum.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_headers_carry_the_kind_and_the_size_in_seven_bit_groups() {
        assert_eq!(entry_header(Kind::Blob, 0), [0x30]);
        assert_eq!(entry_header(Kind::Blob, 15), [0x3f]);
        assert_eq!(entry_header(Kind::Tree, 16), [0xa0, 0x01]);
        // 1000 = 0b1111101000: low four bits 1000, then 0111110.
        assert_eq!(entry_header(Kind::Commit, 1000), [0x98, 0x3e]);
        // 1 << 20: four zero bits, then 1 << 16 as 0000000, 0000000, 0000100.
        assert_eq!(entry_header(Kind::Blob, 1 << 20), [0xb0, 0x80, 0x80, 0x04]);
    }

    #[test]
    fn offsets_past_two_gibibytes_go_into_the_large_offset_table() {
        let id = |b: u8| Oid::from_bytes_or_panic(&[b; 20]);
        let entries = [(id(1), 7, 12), (id(2), 8, 3 << 30), (id(0xff), 9, 5 << 30)];
        let checksum = id(0xaa);
        let index = index_bytes(&entries, &checksum, gix::hash::Kind::Sha1).unwrap();
        let word = |at: usize| u32::from_be_bytes(index[at..at + 4].try_into().unwrap());
        let fan_out = 8;
        assert_eq!(word(fan_out), 0);
        assert_eq!(word(fan_out + 4), 1);
        assert_eq!(word(fan_out + 4 * 255), 3);
        let offsets = fan_out + 1024 + 3 * 20 + 3 * 4;
        assert_eq!(word(offsets), 12);
        assert_eq!(word(offsets + 4), 1 << 31);
        assert_eq!(word(offsets + 8), 1 << 31 | 1);
        let large = offsets + 12;
        assert_eq!(&index[large..large + 8], &(3u64 << 30).to_be_bytes());
        assert_eq!(&index[large + 8..large + 16], &(5u64 << 30).to_be_bytes());
        assert_eq!(&index[large + 16..large + 36], checksum.as_bytes());
        assert_eq!(index.len(), large + 36 + 20);
    }
}
