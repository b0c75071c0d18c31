//! One module per subcommand: each takes its clap args, does its work through the modules
//! below, and prints the result.

pub mod export;
pub mod hook;
pub mod list;
pub mod pack;
pub mod push_sessions;
pub mod restore;
pub mod verify;

use crate::archive::{self, Archive, Checksums};
use crate::config::Ctx;
use crate::error::UserError;
use crate::git::Repo;
use crate::notes;
use anyhow::{bail, Result};
use std::path::Path;

/// What a `<ZIP|REF>` argument names: a pack zip, a notes ref (the sessions its notes name),
/// or a ref or commit of the archive branch. A name git resolves as a ref is that ref even
/// where a file of that name exists (in a bare repository or inside `.git`, the loose ref
/// `refs/heads/opencode/sessions` is such a file); `./name` means the file.
pub fn open_archive(repo: &Repo, spec: &str, checksums: Checksums) -> Result<Archive> {
    if repo.existing_ref(spec).is_some() || !Path::new(spec).exists() {
        if let Some(archive) = notes::open_archive(repo, spec)? {
            return Ok(archive);
        }
    }
    archive::open(repo, spec, checksums)
}

/// Refuses an output `given` on the command line whose `resolved` path (canonical, symbolic
/// links followed) lies inside the store's directories: only `restore` writes there, and
/// `pack -o …/opencode.db` would replace the whole store with a zip.
pub fn refuse_output_in_store(ctx: &Ctx, given: &Path, resolved: &Path) -> Result<()> {
    for dir in ctx.store_location.directories() {
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        if resolved.starts_with(&dir) {
            let what = if resolved == given {
                "it".to_owned()
            } else {
                format!("that is {}, which", resolved.display())
            };
            bail!(UserError::new(format!(
                "cannot write {}: {what} is inside OpenCode's store directory {}",
                given.display(),
                dir.display()
            ))
            .hint("only `git opencode restore` writes there; pass -o with a path outside it"));
        }
    }
    Ok(())
}

/// `2026-11-26 08:16` (UTC) for a Unix time in milliseconds.
pub fn format_time_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.format(&format).unwrap_or_default()
}
