//! `git opencode pack`: one deterministic zip of all of this repository's sessions.

use crate::archive::{self, pack};
use crate::cli::PackArgs;
use crate::config::{Ctx, Verbosity};
use crate::error::UserError;
use crate::fsutil::{output_target, persist, temp_beside, OutputTarget};
use crate::membership::{self, Member, ProjectIds};
use crate::redact::Redactor;
use crate::store::{Store, Unreadable};
use anyhow::{bail, Context, Result};
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub fn run(ctx: &Ctx, args: &PackArgs, out: &mut dyn Write) -> Result<()> {
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    // A bad -o is refused before the store is read.
    let explicit = match args.output.as_deref() {
        Some(path) if !to_stdout => Some(destination(ctx, path)?),
        _ => None,
    };
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
    let packer = Packer {
        ctx,
        args,
        store: &store,
        sessions: (&ids, &members),
    };
    if to_stdout {
        packer.write_stream(|| Ok(&mut *out), "the zip to standard output", &mut skipped)?;
        return report(&skipped, "the zip on standard output");
    }
    let (path, target) = match explicit {
        Some(destination) => destination,
        None => destination(ctx, Path::new(&default_name(ctx, &ids)))?,
    };
    let failed = || format!("failed to write {}", path.display());
    match target {
        OutputTarget::File(real) => {
            let temp = temp_beside(&real)?;
            let file = temp.reopen().with_context(failed)?;
            // Renamed into place when complete, so no reader sees half a zip; not flushed to
            // disk first, as `git bundle create` and `git archive -o` do not (about a tenth of the
            // time on a small store went to waiting for that flush).
            packer.write_file(file, &mut skipped).with_context(failed)?;
            persist(temp, &real)?;
        }
        OutputTarget::Stream(device) => {
            // Written through in place: what `> /dev/null` or a named pipe expects.
            let open = || {
                OpenOptions::new()
                    .write(true)
                    .open(&device)
                    .with_context(failed)
            };
            let what = path.display().to_string();
            packer.write_stream(open, &what, &mut skipped)?;
        }
    }
    writeln!(out, "{}", path.display())?;
    report(&skipped, &path.display().to_string())
}

/// Fails, after the zip of every other session is written, when sessions were left out.
fn report(skipped: &[Unreadable], zip: &str) -> Result<()> {
    if skipped.is_empty() {
        return Ok(());
    }
    Err(archive::skipped_error(skipped, zip, "archived"))
}

/// `path` as given and where the zip really goes, refused inside the store's directories.
fn destination(ctx: &Ctx, path: &Path) -> Result<(PathBuf, OutputTarget)> {
    let target = output_target(path)?;
    super::refuse_output_in_store(ctx, path, target.path())?;
    Ok((path.to_path_buf(), target))
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

/// This repository's sessions and how to pack them: all a pack needs but where it goes.
struct Packer<'a> {
    ctx: &'a Ctx,
    args: &'a PackArgs,
    store: &'a Store,
    sessions: (&'a ProjectIds, &'a [Member]),
}

impl Packer<'_> {
    /// Writes the pack into `file` and hands the file back, every byte written.
    fn write_file(&self, file: File, skipped: &mut Vec<Unreadable>) -> Result<File> {
        let redactor = self.args.redact.then(Redactor::new);
        let options = pack::Options {
            show_progress: self.ctx.verbosity != Verbosity::Quiet,
            redactor: redactor.as_ref(),
        };
        let sink = pack::buffered(file);
        let written = pack::write(
            &self.ctx.facts,
            self.store,
            self.sessions,
            &options,
            sink,
            skipped,
        )?;
        Ok(written.into_inner().map_err(|e| e.into_error())?)
    }

    /// Writes the pack to the sink `open` gives (`what` names it in errors), opened once the
    /// pack is written, through an anonymous temporary file: a pack that fails half-way (or
    /// leaves sessions out) must not have streamed half a zip into a pipe already.
    fn write_stream<W: Write>(
        &self,
        open: impl FnOnce() -> Result<W>,
        what: &str,
        skipped: &mut Vec<Unreadable>,
    ) -> Result<()> {
        let file = tempfile::tempfile().context("failed to create a temporary file")?;
        let mut file = self.write_file(file, skipped)?;
        file.seek(SeekFrom::Start(0))?;
        let mut sink = open()?;
        std::io::copy(&mut file, &mut sink)
            .and_then(|_| sink.flush())
            .with_context(|| format!("failed to write {what}"))?;
        Ok(())
    }
}
