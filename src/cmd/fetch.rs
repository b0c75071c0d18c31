//! `git opencode fetch [<remote>]`: get the team's archive branch and notes without pushing.
//! Each is fetched into its private tracking ref and merged into the local ref by the same
//! code (and the same union) as `push-sessions --remote`, which then also pushes.

use crate::archive::{self, branch};
use crate::cli::FetchArgs;
use crate::config::{Ctx, Verbosity};
use crate::git::{Fetched, Merge};
use crate::notes;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Ctx, args: &FetchArgs, out: &mut dyn Write) -> Result<()> {
    let remote = match &args.remote {
        Some(remote) => remote.clone(),
        None => ctx.repo.default_remote(),
    };
    ctx.repo.check_remote(&remote)?;
    let refs = [
        (
            archive::resolve_ref(&ctx.repo, None)?,
            branch::union as Merge,
        ),
        (notes::resolve_ref(&ctx.repo, None)?, notes::union),
    ];
    for (name, merge) in refs {
        let fetched = ctx.repo.fetch_and_merge(&remote, &name, merge)?;
        if ctx.verbosity != Verbosity::Quiet {
            writeln!(out, "{remote} {name}: {}", summary(fetched, &remote))?;
        }
    }
    Ok(())
}

fn summary(fetched: Fetched, remote: &str) -> String {
    let short = |id: crate::git::Oid| id.to_string()[..12].to_owned();
    match fetched {
        Fetched::Neither => format!("not on {remote}, nor here"),
        Fetched::OnlyHere => format!("not on {remote}; yours is unchanged"),
        Fetched::InSync => "up to date".to_owned(),
        Fetched::Ahead => "up to date; yours has commits the remote lacks".to_owned(),
        Fetched::FastForwarded(id) => format!("fast-forwarded to {}", short(id)),
        Fetched::Merged(id) => format!("merged into {} (union by session)", short(id)),
    }
}
