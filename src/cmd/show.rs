//! `git opencode show`: the Markdown transcript of a session, or of every session a commit's
//! note names, through git's pager, from the store or, lacking it, the archive branch.
//!
//! Transcripts redact secret-shaped strings as `export --format markdown` does, unless
//! `--no-redact`.

use crate::cli::ShowArgs;
use crate::config::Ctx;
use crate::error::UserError;
use crate::history::lookup::{Found, Sources};
use crate::pager::{self, Pager};
use crate::redact::Redactor;
use crate::transcript;
use anyhow::{bail, Result};
use std::io::Write;

pub fn run(ctx: &Ctx, args: &ShowArgs, out: &mut dyn Write) -> Result<()> {
    let sources = Sources::open(ctx)?;
    let sessions = resolve(ctx, &sources, &args.target)?;
    let redactor = (!args.no_redact).then(Redactor::new);
    let mut text = String::new();
    for (i, found) in sessions.into_iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&render(found, redactor.as_ref()));
    }
    let pager = match args.no_pager {
        true => None,
        false => Pager::start(ctx.repo.config_string("core.pager").as_deref())?,
    };
    let colour = pager::colour(ctx.repo.config_string("color.ui").as_deref());
    let text = if colour { coloured(&text) } else { text };
    match pager {
        Some(pager) => pager.show(text.as_bytes()),
        None => Ok(out.write_all(text.as_bytes())?),
    }
}

/// The sessions `target` names: a session ID, else a commit whose note names sessions.
fn resolve(ctx: &Ctx, sources: &Sources, target: &str) -> Result<Vec<Found>> {
    if let Some(found) = sources.find(target)? {
        return Ok(vec![found]);
    }
    let Ok(commit) = ctx.repo.resolve_commit(target) else {
        let message = match sources.is_empty() {
            true => format!(
                "no session or commit {target}: there is no OpenCode store and no archive {}",
                sources.archive_ref
            ),
            false => format!("no session or commit {target} in {}", sources.searched()),
        };
        let mut error = UserError::new(message)
        .hint("`git opencode log` shows the sessions linked to commits, `git opencode list` those of the store");
        if !sources.has_archive() {
            error = error.hint(format!(
                "in a clone, fetch the archive first: git fetch origin {0}:{0}",
                sources.archive_ref
            ));
        }
        bail!(error);
    };
    let Some(noted) = sources.noted(commit)? else {
        bail!(UserError::new(format!(
            "commit {target} has no git-opencode note naming its sessions"
        ))
        .hint(format!(
            "`git opencode push-sessions --notes --range {target}` writes one; in a clone, fetch them: git fetch origin {0}:{0}",
            sources.notes_ref
        )));
    };
    let mut sessions = Vec::with_capacity(noted.len());
    for n in noted {
        match sources.find(&n.id)? {
            Some(found) => sessions.push(found),
            None => bail!(UserError::new(format!(
                "session {}, named in the note on commit {target}, is not in {}",
                n.id,
                sources.searched()
            ))
            .hint("fetch the archive branch, or restore the session from a pack")),
        }
    }
    Ok(sessions)
}

/// The transcript of `found`, redacted when `redactor` is given.
fn render(mut found: Found, redactor: Option<&Redactor>) -> String {
    if let Some(r) = redactor {
        r.redact_value(&mut found.doc);
        let mut extra = serde_json::Value::Object(std::mem::take(&mut found.extra));
        r.redact_value(&mut extra);
        if let serde_json::Value::Object(map) = extra {
            found.extra = map;
        }
    }
    let extra = (!found.extra.is_empty()).then_some(&found.extra);
    transcript::render_linked(&found.doc, extra, None, &[])
}

/// Markdown with its headings bold and its message lines (`<sub>…</sub>`) dim, for a terminal.
fn coloured(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut in_fence = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        if body.starts_with("```") || body.starts_with("~~~") {
            in_fence = !in_fence;
        }
        let style = match () {
            _ if in_fence => None,
            _ if body.starts_with('#') => Some("\x1b[1;33m"),
            _ if body.starts_with("<sub>") => Some("\x1b[2m"),
            _ => None,
        };
        match style {
            Some(style) => {
                out.push_str(style);
                out.push_str(body);
                out.push_str("\x1b[m");
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::coloured;

    #[test]
    fn headings_and_message_lines_are_coloured_outside_fences() {
        let text = "# Title\n\n<sub>x</sub>\n```text\n# not a heading\n```\nplain\n";
        assert_eq!(
            coloured(text),
            "\x1b[1;33m# Title\x1b[m\n\n\x1b[2m<sub>x</sub>\x1b[m\n```text\n# not a heading\n```\nplain\n"
        );
    }
}
