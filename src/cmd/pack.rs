//! `git opencode pack`: one deterministic zip of all of this repository's sessions.

use crate::archive::{self, pack};
use crate::cli::PackArgs;
use crate::config::{Ctx, Verbosity};
use crate::error::UserError;
use crate::fsutil::{persist, temp_beside};
use crate::membership::{self, Member, ProjectIds};
use crate::store::{Store, Unreadable};
use anyhow::{bail, Context, Result};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub fn run(ctx: &Ctx, args: &PackArgs, out: &mut dyn Write) -> Result<()> {
    let output = args.output.as_deref();
    let store = ctx.open_store()?;
    let (ids, members) = ctx.members(&store)?;
    let mut skipped = ctx.unreadable_members(&store, &ids);
    if members.is_empty() && skipped.is_empty() {
        bail!(UserError::new(format!(
            "no OpenCode sessions for this repository in {}",
            store.location().db.display()
        ))
        .hint("`git opencode list -v` explains which sessions belong here; --store <path> reads another store"));
    }
    if output == Some(Path::new("-")) {
        // A zip needs a seekable file; build it in an anonymous temporary file, then copy
        // the same bytes a file would get to standard output.
        let file = tempfile::tempfile().context("failed to create a temporary file")?;
        let sink = BufWriter::new(file);
        let written = write(ctx, &store, (&ids, &members), sink, &mut skipped)?;
        let mut file = written.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        std::io::copy(&mut file, out).context("failed to write the zip to standard output")?;
        return report(&skipped, "the zip on standard output");
    }
    let path = match output {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(default_name(ctx, &ids)),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!(
                "cannot write {}: directory {} does not exist",
                path.display(),
                dir.display()
            );
        }
    }
    let temp = temp_beside(&path)?;
    let file = temp
        .reopen()
        .with_context(|| format!("failed to write {}", path.display()))?;
    let written = write(
        ctx,
        &store,
        (&ids, &members),
        BufWriter::new(file),
        &mut skipped,
    )
    .with_context(|| format!("failed to write {}", path.display()))?;
    written
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("failed to write {}", path.display()))?;
    persist(temp, &path)?;
    writeln!(out, "{}", path.display())?;
    report(&skipped, &path.display().to_string())
}

/// Fails, after the zip of every other session is written, when sessions were left out.
fn report(skipped: &[Unreadable], zip: &str) -> Result<()> {
    if skipped.is_empty() {
        return Ok(());
    }
    Err(archive::skipped_error(skipped, zip))
}

fn default_name(ctx: &Ctx, ids: &ProjectIds) -> String {
    let id = membership::current_id(&ctx.facts)
        .or_else(|| ids.ids.keys().next().cloned())
        .unwrap_or_else(|| membership::GLOBAL.to_owned());
    let today = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}{:02}{:02}",
        today.year(),
        today.month() as u8,
        today.day()
    );
    let name: String = ctx
        .facts
        .name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "opencode-sessions-{name}-{}-{date}.zip",
        &id[..id.len().min(8)]
    )
}

/// Writes the pack of this repository's sessions into `sink`.
fn write<W: Write + Seek>(
    ctx: &Ctx,
    store: &Store,
    sessions: (&ProjectIds, &[Member]),
    sink: W,
    skipped: &mut Vec<Unreadable>,
) -> Result<W> {
    let show_progress = ctx.verbosity != Verbosity::Quiet;
    pack::write(&ctx.facts, store, sessions, show_progress, sink, skipped)
}
