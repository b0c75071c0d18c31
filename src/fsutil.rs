//! Files are written whole or not at all: a temporary file beside the target, then a rename.
//! An output path from the command line is resolved first ([`output_target`]): a symbolic
//! link is written through, and a FIFO or device is written to in place, never renamed over.

use crate::error::UserError;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A temporary file in `path`'s directory, to be persisted over `path` when complete.
pub fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(".git-opencode-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in {}", dir.display()))
}

/// Moves a finished temporary file to `path`.
pub fn persist(temp: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    // Temporary files are private (0600); what we hand the user is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("failed to write {}", path.display()))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut temp = temp_beside(path)?;
    temp.write_all(bytes)
        .and_then(|()| temp.flush())
        .with_context(|| format!("failed to write {}", path.display()))?;
    persist(temp, path)
}

/// Where an output file named on the command line (`-o FILE`) goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// A regular file, existing or new, at this path with symbolic links resolved: written
    /// to a temporary file beside it and renamed over it, so a symlink stays a symlink and
    /// its target gets the content.
    File(PathBuf),
    /// An existing FIFO, device or socket (symbolic links resolved): written to in place.
    /// Renaming over it would replace `/dev/full` or a named pipe with a regular file.
    Stream(PathBuf),
}

impl OutputTarget {
    /// The resolved path.
    pub fn path(&self) -> &Path {
        match self {
            OutputTarget::File(p) | OutputTarget::Stream(p) => p,
        }
    }

    /// Writes `bytes` there: a file atomically (the link to it, if any, stays a link), a
    /// FIFO or device in place.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        match self {
            OutputTarget::File(path) => write_atomic(path, bytes),
            OutputTarget::Stream(path) => std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut stream| stream.write_all(bytes))
                .with_context(|| format!("failed to write {}", path.display())),
        }
    }
}

/// Resolves the output file `path`: its directory must exist; a directory, a dangling
/// symbolic link or a symlink loop is refused.
pub fn output_target(path: &Path) -> Result<OutputTarget> {
    let cannot = || format!("cannot write {}", path.display());
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let Some(name) = path.file_name() else {
                bail!(
                    UserError::new(format!("{}: not a file name", cannot())).hint("pass -o <FILE>")
                );
            };
            match std::fs::metadata(dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => bail!(UserError::new(format!(
                    "{}: {} is not a directory",
                    cannot(),
                    dir.display()
                ))),
                Err(_) => bail!(UserError::new(format!(
                    "{}: directory {} does not exist",
                    cannot(),
                    dir.display()
                ))
                .hint("create it first, or pass another -o <FILE>")),
            }
            let dir = std::fs::canonicalize(dir).with_context(cannot)?;
            Ok(OutputTarget::File(dir.join(name)))
        }
        Err(e) => Err(anyhow::Error::new(e).context(cannot())),
        Ok(_) => {
            let real = match std::fs::canonicalize(path) {
                Ok(real) => real,
                Err(e) => {
                    let link = std::fs::read_link(path).unwrap_or_default();
                    bail!(UserError::new(format!(
                        "{}: it is a symbolic link to {}, which cannot be resolved",
                        cannot(),
                        link.display()
                    ))
                    .because(e)
                    .hint("pass -o with the file itself"));
                }
            };
            let meta = std::fs::metadata(&real).with_context(cannot)?;
            if meta.is_dir() {
                bail!(UserError::new(format!("{}: it is a directory", cannot()))
                    .hint("pass -o <FILE> with a file name"));
            }
            Ok(if meta.is_file() {
                OutputTarget::File(real)
            } else {
                OutputTarget::Stream(real)
            })
        }
    }
}
