//! Files are written whole or not at all: a temporary file beside the target, then a rename.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

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
