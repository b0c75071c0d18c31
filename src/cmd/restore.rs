//! `git opencode restore <ZIP|REF>`: archived sessions back into the local OpenCode store.

use crate::archive::{self, Checksums};
use crate::config::{Ctx, Verbosity};
use crate::restore::{self, Options};
use anyhow::{bail, Result};
use std::io::Write;

pub fn run(
    ctx: &Ctx,
    spec: &str,
    dry_run: bool,
    sessions: &[String],
    out: &mut dyn Write,
) -> Result<()> {
    let archive = archive::open(&ctx.repo, spec, Checksums::Enforce)?;
    if archive.sessions.is_empty() {
        bail!("{} holds no sessions; nothing to restore", archive.label);
    }
    let report = restore::restore(
        ctx,
        &archive,
        &Options {
            dry_run,
            only: sessions,
        },
    )?;
    restore::print_report(&report, dry_run, ctx.verbosity == Verbosity::Quiet, out)
}
