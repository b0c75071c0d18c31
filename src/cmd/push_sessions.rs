//! `git opencode push-sessions`: commit the sessions to the archive branch (and notes),
//! incrementally, and sync with a remote.

use crate::archive::{self, branch, branch::Outcome};
use crate::cli::PushSessionsArgs;
use crate::config::{Ctx, Verbosity};
use crate::error::UserError;
use crate::git::Merge;
use crate::notes;
use crate::redact::Redactor;
use anyhow::{bail, Result};
use std::io::Write;

pub fn run(ctx: &Ctx, args: &PushSessionsArgs, out: &mut dyn Write) -> Result<()> {
    let archive_ref = archive::resolve_ref(&ctx.repo, args.archive_ref.as_deref())?;
    let notes_ref = notes::resolve_ref(&ctx.repo, args.notes_ref.as_deref())?;
    if let Some(remote) = &args.remote {
        ctx.repo.check_remote(remote)?;
    }
    let commits = if args.notes {
        let range = args.range.as_deref().unwrap_or("HEAD");
        if range == "HEAD" && ctx.repo.head_commit().is_none() {
            bail!(
                UserError::new("HEAD has no commits yet, so there is nothing to annotate")
                    .hint("commit first, or run without --notes")
            );
        }
        ctx.repo.commits_in(range)?
    } else {
        Vec::new()
    };

    let store = ctx.open_store()?;
    let redactor = (!args.no_redact).then(Redactor::new);
    let (outcome, members) = branch::snapshot_repository(
        ctx,
        &store,
        &branch::Options {
            ref_name: &archive_ref,
            redactor: redactor.as_ref(),
            deadline: None,
        },
    )?;
    let quiet = ctx.verbosity == Verbosity::Quiet;
    match &outcome {
        Outcome::UpToDate { commit: None, .. } if !quiet => writeln!(
            out,
            "no sessions of this repository to archive: {archive_ref} not written"
        )?,
        Outcome::UpToDate { .. } if !quiet => writeln!(out, "{archive_ref} is up to date")?,
        Outcome::Committed {
            commit,
            added,
            updated,
            ..
        } if !quiet => {
            writeln!(
                out,
                "{archive_ref} {}: {} added, {} updated",
                &commit.to_string()[..12],
                added.len(),
                updated.len()
            )?;
            if ctx.verbosity == Verbosity::Verbose {
                for line in added {
                    writeln!(out, "  added {line}")?;
                }
                for line in updated {
                    writeln!(out, "  updated {line}")?;
                }
            }
        }
        _ => {}
    }

    if args.notes {
        let done = notes::annotate(
            ctx,
            &store,
            &members,
            &commits,
            &notes_ref,
            &archive_ref,
            redactor.as_ref(),
        )?;
        if !quiet {
            match done.commit {
                Some(_) => {
                    for (commit, sessions) in &done.annotated {
                        writeln!(
                            out,
                            "{notes_ref} {}: {}",
                            &commit.to_string()[..12],
                            sessions.join(", ")
                        )?;
                    }
                }
                None => writeln!(out, "{notes_ref} is up to date")?,
            }
        }
    }
    drop(store);

    if let Some(remote) = &args.remote {
        let mut refs = vec![(archive_ref.clone(), branch::union as Merge)];
        if args.notes {
            refs.push((notes_ref.clone(), notes::union));
        }
        for (name, merge) in refs {
            let synced = ctx.repo.sync_ref(remote, &name, merge)?;
            if !quiet {
                writeln!(out, "{remote} {name}: {}", synced.summary())?;
            }
        }
    }
    if !outcome.skipped().is_empty() {
        return Err(archive::skipped_error(
            outcome.skipped(),
            &archive_ref,
            "archived",
        ));
    }
    Ok(())
}
