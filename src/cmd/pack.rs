//! `git opencode pack`: one deterministic zip of all of this repository's sessions.

use crate::archive::pack;
use crate::cli::PackArgs;
use crate::config::{Ctx, Verbosity};
use crate::error::UserError;
use crate::fsutil::{persist, temp_beside};
use crate::membership::{self, Member, ProjectIds};
use crate::redact::Redactor;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub fn run(ctx: &Ctx, args: &PackArgs, out: &mut dyn Write) -> Result<()> {
    let output = args.output.as_deref();
    let store = ctx.open_store()?;
    let (ids, members) = ctx.members(&store)?;
    if members.is_empty() {
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
        let written = write(ctx, args, &store, (&ids, &members), BufWriter::new(file))?;
        let mut file = written.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        std::io::copy(&mut file, out).context("failed to write the zip to standard output")?;
        return Ok(());
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
    let written = write(ctx, args, &store, (&ids, &members), BufWriter::new(file))
        .with_context(|| format!("failed to write {}", path.display()))?;
    written
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("failed to write {}", path.display()))?;
    persist(temp, &path)?;
    writeln!(out, "{}", path.display())?;
    Ok(())
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
    args: &PackArgs,
    store: &Store,
    sessions: (&ProjectIds, &[Member]),
    sink: W,
) -> Result<W> {
    let show_progress = ctx.verbosity != Verbosity::Quiet;
    let redactor = args.redact.then(Redactor::new);
    let options = pack::Options {
        show_progress,
        redactor: redactor.as_ref(),
    };
    pack::write(&ctx.facts, store, sessions, &options, sink)
}
