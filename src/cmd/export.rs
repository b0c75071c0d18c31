//! `git opencode export`: sessions as the JSON `opencode export` prints.

use crate::config::{Ctx, Verbosity};
use crate::export;
use crate::fsutil::write_atomic;
use crate::store::Session;
use anyhow::{bail, Result};
use std::io::Write;
use std::path::Path;

pub fn run(ctx: &Ctx, ids: &[String], output: Option<&Path>, out: &mut dyn Write) -> Result<()> {
    if let Some(dir) = output {
        if !dir.is_dir() {
            bail!(
                "output directory {} does not exist\nhint: create it first, or pass another -o <DIR>",
                dir.display()
            );
        }
    }
    let store = ctx.open_store()?;
    let sessions: Vec<Session> = if ids.is_empty() {
        ctx.members(&store)?
            .1
            .into_iter()
            .map(|m| m.session)
            .collect()
    } else {
        // Like `opencode export <id>`, an explicit ID is looked up in the whole store.
        let all = store.sessions()?;
        let mut picked = Vec::with_capacity(ids.len());
        for id in ids {
            match all.iter().find(|s| &s.id == id) {
                Some(s) => picked.push(s.clone()),
                None => bail!(
                    "no session {id} in the OpenCode store {}\nhint: `git opencode list` shows this repository's sessions",
                    store.location().db.display()
                ),
            }
        }
        picked
    };
    let to_dir = match output {
        Some(dir) => Some(dir),
        None if ids.is_empty() => Some(Path::new(".")),
        None => None,
    };
    for session in &sessions {
        let bytes = export::session_json(&store, session)?;
        match to_dir {
            Some(dir) => {
                let path = dir.join(format!("{}.json", session.id));
                write_atomic(&path, &bytes)?;
                if ctx.verbosity != Verbosity::Quiet {
                    writeln!(out, "{}", path.display())?;
                }
            }
            None => out.write_all(&bytes)?,
        }
    }
    if to_dir.is_some() && sessions.is_empty() && ctx.verbosity != Verbosity::Quiet {
        eprintln!(
            "no OpenCode sessions for this repository in {}",
            store.location().db.display()
        );
    }
    Ok(())
}
