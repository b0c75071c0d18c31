//! `git opencode remap [<range>] [--dry-run]`: note the commits of a range that have no note
//! (a forge's squash or rebase merge, a cherry-pick) with the sessions of the noted commits
//! they contain (see `notes::remap`).

use crate::cli::RemapArgs;
use crate::config::{Ctx, Verbosity};
use crate::error::UserError;
use crate::git::{Oid, Repo};
use crate::notes::{self, remap};
use anyhow::{bail, Result};
use std::io::Write;

/// Where the default range starts when the branch has no upstream, first found first.
const DEFAULT_BRANCHES: [&str; 5] = [
    "refs/remotes/origin/HEAD",
    "refs/heads/main",
    "refs/heads/master",
    "refs/remotes/origin/main",
    "refs/remotes/origin/master",
];

/// How many source commits a line names.
const SHOWN: usize = 5;

pub fn run(ctx: &Ctx, args: &RemapArgs, out: &mut dyn Write) -> Result<()> {
    let repo = &ctx.repo;
    let notes_ref = notes::resolve_ref(repo, None)?;
    let (range, commits, base) = resolve_range(repo, args.range.as_deref())?;
    let plan = remap::plan(repo, &notes_ref, &commits, base)?;
    let quiet = ctx.verbosity == Verbosity::Quiet;
    let short = |id: &Oid| id.to_string()[..12].to_owned();
    if !quiet {
        writeln!(
            out,
            "{range}: {} commit(s), {} with a note already",
            commits.len(),
            plan.noted
        )?;
        for carry in &plan.carries {
            // A squashed branch may have hundreds of commits: name a few.
            let mut sources: Vec<String> = carry.sources.iter().take(SHOWN).map(short).collect();
            if carry.sources.len() > SHOWN {
                sources.push(format!("{} more", carry.sources.len() - SHOWN));
            }
            let how = match carry.how {
                remap::How::SamePatch => "same patch",
                remap::How::SquashedBranch => "squash of their branch",
                remap::How::ContainsChanges => "contains their changes",
            };
            writeln!(
                out,
                "carried to {} from {} ({how}): {}",
                short(&carry.target),
                sources.join(", "),
                carry.sessions.join(", ")
            )?;
        }
        let unmatched: Vec<String> = plan.unmatched.iter().take(SHOWN).map(short).collect();
        match plan.unmatched.len() {
            0 => {}
            n if n <= SHOWN => writeln!(out, "no noted commit found for {}", unmatched.join(", "))?,
            n => writeln!(
                out,
                "no noted commit found for {} and {} more",
                unmatched.join(", "),
                n - SHOWN
            )?,
        }
    }
    if args.dry_run {
        if !quiet {
            writeln!(out, "dry run: nothing written")?;
        }
        return Ok(());
    }
    let written = remap::write(repo, &notes_ref, &plan)?;
    if !quiet && !plan.carries.is_empty() {
        writeln!(out, "{notes_ref}: {} note(s) written", written.len())?;
    }
    Ok(())
}

/// The range to remap as shown, its commits (newest first), and its base: where the
/// commits not in it start.
fn resolve_range(repo: &Repo, given: Option<&str>) -> Result<(String, Vec<Oid>, Option<Oid>)> {
    if let Some(range) = given {
        if range.contains("...") {
            bail!(
                UserError::new(format!("cannot remap the symmetric range '{range}'"))
                    .hint("give A..B (the commits of B that A lacks) or one commit")
            );
        }
        return Ok(match range.split_once("..") {
            Some((from, _)) => {
                let commits = repo.commits_in(range)?;
                let from = if from.is_empty() { "HEAD" } else { from };
                (range.to_owned(), commits, Some(repo.resolve_commit(from)?))
            }
            None => {
                let commit = repo.resolve_commit(range)?;
                (range.to_owned(), vec![commit], repo.first_parent(commit))
            }
        });
    }
    if repo.head_commit().is_none() {
        bail!(UserError::new(
            "HEAD has no commits yet, so there is nothing to remap"
        ));
    }
    let upstream = repo
        .head_branch()
        .and_then(|branch| repo.upstream_of(&branch));
    let since = upstream
        .into_iter()
        .chain(DEFAULT_BRANCHES.iter().map(|b| (*b).to_owned()))
        .find(|name| repo.ref_target(name).ok().flatten().is_some());
    let Some(since) = since else {
        bail!(UserError::new(
            "the current branch has no upstream, and there is no default branch (origin/HEAD, main or master) to remap since"
        )
        .hint("give the commits to remap: git opencode remap <A..B>"));
    };
    let shown = since
        .strip_prefix("refs/remotes/")
        .or_else(|| since.strip_prefix("refs/heads/"))
        .unwrap_or(&since);
    let commits = repo.commits_in(&format!("{since}..HEAD"))?;
    let base = repo.resolve_commit(&since)?;
    Ok((format!("{shown}..HEAD"), commits, Some(base)))
}
