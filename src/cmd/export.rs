//! `git opencode export`: sessions as the JSON `opencode export` prints, or as Markdown
//! transcripts.
//!
//! Transcripts are for reading and sharing, so secret-shaped strings are redacted in them
//! unless `--no-redact`; the JSON is for `opencode import` and stays byte for byte.

use crate::archive::documents::{self, Documents};
use crate::cli::{ExportArgs, ExportFormat};
use crate::config::{Ctx, Verbosity};
use crate::error::UserError;
use crate::fsutil::output_target;
use crate::redact::Redactor;
use crate::store::{Session, Store};
use crate::transcript::{self, SessionLink};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;

pub fn run(ctx: &Ctx, args: &ExportArgs, out: &mut dyn Write) -> Result<()> {
    let (ids, output, format) = (&args.sessions, args.output.as_deref(), args.format);
    if args.no_redact && format == ExportFormat::Json {
        bail!(UserError::new(
            "--no-redact applies to Markdown transcripts; JSON is always exported verbatim"
        )
        .hint("drop --no-redact, or add --format markdown"));
    }
    let redactor = (!args.no_redact).then(Redactor::new);
    if let Some(dir) = output {
        if !dir.is_dir() {
            bail!(
                UserError::new(format!("output directory {} does not exist", dir.display()))
                    .hint("create it first, or pass another -o <DIR>")
            );
        }
    }
    let to_dir = match output {
        Some(dir) => Some(dir),
        None if ids.is_empty() => Some(Path::new(".")),
        None => None,
    };
    if let Some(dir) = to_dir {
        // `-o <storage>/session/<project>` would overwrite a legacy store's session files.
        let resolved = std::fs::canonicalize(dir)
            .with_context(|| format!("cannot write to {}", dir.display()))?;
        super::refuse_output_in_store(ctx, dir, &resolved)?;
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
                None => bail!(UserError::new(format!(
                    "no session {id} in the OpenCode store {}",
                    store.location().db.display()
                ))
                .hint("`git opencode list` shows this repository's sessions")),
            }
        }
        picked
    };
    let extension = match format {
        ExportFormat::Json => "json",
        ExportFormat::Markdown => "md",
    };
    // Every file's target is resolved, and refused if it is in the store, before any is
    // written: `<DIR>/<id>.json` may be a link, as `pack -o FILE` may.
    let mut targets = Vec::new();
    if let Some(dir) = to_dir {
        for session in &sessions {
            let path = dir.join(format!("{}.{extension}", session.id));
            let target = output_target(&path)?;
            super::refuse_output_in_store(ctx, &path, target.path())?;
            targets.push((path, target));
        }
    }
    let mut targets = targets.into_iter();
    // Transcripts link their parent and children by the name this command gives their files.
    let all = match format {
        ExportFormat::Json => Vec::new(),
        ExportFormat::Markdown => store.sessions()?,
    };
    for (i, session) in sessions.iter().enumerate() {
        let bytes = match format {
            ExportFormat::Json => documents::session_json(&store, session)?,
            ExportFormat::Markdown => markdown(&store, session, &all, redactor.as_ref())?,
        };
        match targets.next() {
            Some((path, target)) => {
                target.write(&bytes)?;
                if ctx.verbosity != Verbosity::Quiet {
                    writeln!(out, "{}", path.display())?;
                }
            }
            None => {
                if i > 0 && format == ExportFormat::Markdown {
                    out.write_all(b"\n")?;
                }
                out.write_all(&bytes)?;
            }
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

/// The transcript of `session`, linking `<id>.md` of its parent and children among `all`,
/// with secret-shaped strings replaced when `redactor` is given.
fn markdown(
    store: &Store,
    session: &Session,
    all: &[Session],
    redactor: Option<&Redactor>,
) -> Result<Vec<u8>> {
    let link = |s: &Session| SessionLink {
        id: s.id.clone(),
        title: match redactor {
            Some(r) => r.redact_str(&s.title).into_owned(),
            None => s.title.clone(),
        },
        href: format!("{}.md", s.id),
    };
    let parent = session
        .parent_id
        .as_ref()
        .and_then(|id| all.iter().find(|s| &s.id == id))
        .map(link);
    let mut children: Vec<&Session> = all
        .iter()
        .filter(|s| s.parent_id.as_ref() == Some(&session.id))
        .collect();
    children.sort_by(|a, b| (a.time_created, &a.id).cmp(&(b.time_created, &b.id)));
    let children: Vec<SessionLink> = children.into_iter().map(link).collect();
    let Documents { doc, extra } = Documents::read(store, session, redactor)?;
    let text = transcript::render_linked(
        &doc,
        (!extra.is_empty()).then_some(&extra),
        parent.as_ref(),
        &children,
    );
    Ok(text.into_bytes())
}
