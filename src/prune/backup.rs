//! The backup a forced prune writes before it deletes anything: a pack zip of exactly the
//! pruned sessions, unredacted (it must restore them byte for byte, secrets included), at
//! `<git-common-dir>/git-opencode/pruned/<UTC stamp>-<n>.zip`, `n` counting up from 1 for
//! prunes within the same second. Written to a temporary file, read back and checked to
//! hold every pruned session, then renamed into place; it keeps the temporary file's
//! owner-only permissions, since it holds whatever secrets the sessions held.

use crate::archive::{self, pack, Checksums};
use crate::config::Ctx;
use crate::membership::{Member, ProjectIds};
use crate::store::Store;
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Writes the backup of `ids` (the sessions of `members`) and returns its path.
pub fn write(
    ctx: &Ctx,
    store: &Store,
    (project_ids, members): &(ProjectIds, Vec<Member>),
    ids: &BTreeSet<String>,
) -> Result<PathBuf> {
    let dir = ctx.facts.common_dir.join("git-opencode").join("pruned");
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let temp = crate::fsutil::temp_beside(&dir.join("backup.zip"))?;
    let failed = || format!("failed to write the backup zip in {}", dir.display());
    let file = temp.reopen().with_context(failed)?;
    let mut skipped = Vec::new();
    let options = pack::Options {
        show_progress: false,
        redactor: None,
    };
    let written = pack::write(
        &ctx.facts,
        store,
        (project_ids, members),
        &options,
        pack::buffered(file),
        &mut skipped,
    )
    .with_context(failed)?;
    let file = written
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(failed)?;
    file.sync_all().with_context(failed)?;
    if let Some(s) = skipped.first() {
        bail!(
            "session {} cannot be read ({}); nothing was deleted",
            s.session_id,
            s.reason
        );
    }
    check(temp.path(), ids, ctx)?;
    persist_next(temp, &dir, 1)
}

/// Tries `<stamp>-<n>.zip`, `<stamp>-<n+1>.zip`, … until a name is free.
fn persist_next(mut temp: tempfile::NamedTempFile, dir: &Path, mut n: u32) -> Result<PathBuf> {
    loop {
        let path = dir.join(format!("{}-{n}.zip", stamp()));
        match temp.persist_noclobber(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                temp = e.file;
                n += 1;
            }
            Err(e) => {
                return Err(e.error).with_context(|| format!("failed to write {}", path.display()))
            }
        }
    }
}

/// Reads the zip back: every entry's checksum, and exactly the sessions `ids`.
fn check(zip: &Path, ids: &BTreeSet<String>, ctx: &Ctx) -> Result<()> {
    let spec = zip.to_string_lossy();
    let archive = archive::open(&ctx.repo, &spec, Checksums::Enforce)
        .context("the backup zip does not read back; nothing was deleted")?;
    let held: BTreeSet<String> = archive.sessions.keys().cloned().collect();
    if &held != ids {
        bail!("the backup zip does not hold exactly the sessions to prune; nothing was deleted");
    }
    Ok(())
}

/// `20261126T081600Z`.
fn stamp() -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}
