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
use crate::git::Repo;
use crate::notes;
use anyhow::Result;

/// What a `<ZIP|REF>` argument names: a pack zip, a notes ref (the sessions its notes name),
/// or a ref or commit of the archive branch.
pub fn open_archive(repo: &Repo, spec: &str, checksums: Checksums) -> Result<Archive> {
    if !std::path::Path::new(spec).exists() {
        if let Some(archive) = notes::open_archive(repo, spec)? {
            return Ok(archive);
        }
    }
    archive::open(repo, spec, checksums)
}

/// `2026-11-26 08:16` (UTC) for a Unix time in milliseconds.
pub fn format_time_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.format(&format).unwrap_or_default()
}
