//! `git opencode search <PATTERN>`: matching lines of this repository's sessions, from the
//! store and the archive, as `<session>:<message>: <line>`, session IDs (`-l`) or JSON.

use crate::cli::{ColorWhen, SearchArgs, SearchRole};
use crate::config::Ctx;
use crate::error::{NeedsAttention, UserError};
use crate::history::corpus::{self, Source};
use crate::history::lines::Role;
use crate::history::search::{self, FileFilter, Filters, Match, Pattern, SessionMatches};
use crate::history::when;
use anyhow::{bail, Result};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::ops::Range;

/// Lines longer than this many characters are shown around their first match.
const MAX_LINE: usize = 300;
/// How much of a long line is shown before its first match.
const BEFORE: usize = 80;

pub fn run(ctx: &Ctx, args: &SearchArgs, out: &mut dyn Write) -> Result<()> {
    let pattern = Pattern::new(&args.pattern, args.extended_regexp, args.ignore_case)?;
    let filters = filters(ctx, args)?;
    let archive_ref = crate::archive::resolve_ref(&ctx.repo, args.archive_ref.as_deref())?;
    let corpus = corpus::gather(ctx, &archive_ref)?;
    if corpus.store.is_none() && corpus.refs.is_empty() {
        bail!(UserError::new(format!(
            "nothing to search: no OpenCode store at {} and no archive {archive_ref}",
            ctx.store_location.db.display()
        ))
        .hint("fetch the archive branch (git fetch origin opencode/sessions), or point --store at a store"));
    }
    let color = match args.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let mut any = false;
    search::search(&ctx.repo, &corpus, &pattern, &filters, &mut |found| {
        any = true;
        if args.files_with_matches {
            writeln!(out, "{}", found.entry.id)?;
        } else if args.json {
            write_json(&found, out)?;
        } else {
            for m in &found.matches {
                write_line(&found.entry.id, m, color, out)?;
            }
        }
        Ok(())
    })?;
    if !corpus.unreadable.is_empty() {
        return Err(crate::archive::skipped_error(
            &corpus.unreadable,
            "the search",
            "searched",
        ));
    }
    if !any {
        // Like `git grep`: nothing found exits 1, and says nothing.
        return Err(NeedsAttention.into());
    }
    Ok(())
}

fn filters(ctx: &Ctx, args: &SearchArgs) -> Result<Filters> {
    let now = when::now_ms();
    let since = args.since.as_deref();
    let until = args.until.as_deref();
    let file = match &args.file {
        Some(path) => {
            let cwd = std::env::current_dir()?;
            Some(FileFilter::new(path, &cwd, ctx.facts.workdir.as_deref()))
        }
        None => None,
    };
    Ok(Filters {
        role: args.role.map(|r| match r {
            SearchRole::User => Role::User,
            SearchRole::Assistant => Role::Assistant,
            SearchRole::Tool => Role::Tool,
        }),
        tool: args.tool.clone(),
        since: since.map(|t| when::parse(t, now, "--since")).transpose()?,
        until: until.map(|t| when::parse(t, now, "--until")).transpose()?,
        file,
    })
}

/// `<session>:<message>: <line>`, the matches highlighted like `git grep` does.
fn write_line(session: &str, m: &Match, color: bool, out: &mut dyn Write) -> Result<()> {
    let (line, ranges) = excerpt(&m.line, &m.ranges);
    let mut text = String::with_capacity(line.len() + 64);
    let paint = |text: &mut String, code: &str, s: &str| {
        if color {
            text.push_str(&format!("\x1b[{code}m{s}\x1b[m"));
        } else {
            text.push_str(s);
        }
    };
    paint(&mut text, "35", session);
    paint(&mut text, "36", ":");
    paint(&mut text, "32", &m.message.to_string());
    paint(&mut text, "36", ":");
    text.push(' ');
    let mut at = 0;
    for r in &ranges {
        text.push_str(&line[at..r.start]);
        paint(&mut text, "1;31", &line[r.clone()]);
        at = r.end;
    }
    text.push_str(&line[at..]);
    writeln!(out, "{text}")?;
    Ok(())
}

/// A long line cut to about [`MAX_LINE`] characters around its first match, with `…` where
/// it was cut, and the ranges of the matches shown in it.
fn excerpt(line: &str, ranges: &[Range<usize>]) -> (String, Vec<Range<usize>>) {
    if line.chars().count() <= MAX_LINE {
        return (line.to_owned(), ranges.to_vec());
    }
    let first = ranges.first().map_or(0, |r| r.start);
    let start = line[..first]
        .char_indices()
        .rev()
        .nth(BEFORE - 1)
        .map_or(0, |(i, _)| i);
    let end = line[start..]
        .char_indices()
        .nth(MAX_LINE)
        .map_or(line.len(), |(i, _)| start + i);
    let prefix = if start > 0 { "…" } else { "" };
    let suffix = if end < line.len() { "…" } else { "" };
    let shown = ranges
        .iter()
        .filter(|r| r.start >= start && r.end <= end)
        .map(|r| r.start - start + prefix.len()..r.end - start + prefix.len())
        .collect();
    (format!("{prefix}{}{suffix}", &line[start..end]), shown)
}

/// One JSON object per matching line.
fn write_json(found: &SessionMatches<'_>, out: &mut dyn Write) -> Result<()> {
    let entry = found.entry;
    let source = match &entry.source {
        Source::Store(_) => "store".to_owned(),
        Source::Archive(a) => a.ref_name.clone(),
    };
    for m in &found.matches {
        let ranges: Vec<[usize; 2]> = m.ranges.iter().map(|r| [r.start, r.end]).collect();
        let object = json!({
            "session": entry.id,
            "title": entry.title,
            "updated": entry.updated,
            "message": m.message,
            "messageID": m.message_id,
            "role": m.role,
            "tool": m.tool,
            "line": m.line,
            "ranges": ranges,
            "source": source,
        });
        serde_json::to_writer(&mut *out, &object)?;
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::excerpt;

    #[test]
    fn long_lines_are_cut_around_the_first_match() {
        let line = format!("{}needle{}", "a".repeat(500), "é".repeat(500));
        let (shown, ranges) = excerpt(&line, &[500..506]);
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert_eq!(shown.chars().count(), super::MAX_LINE + 2);
        assert_eq!(&shown[ranges[0].clone()], "needle");
        let short = excerpt("a needle", &[2..8]);
        assert_eq!(short, ("a needle".to_owned(), vec![2..8]));
    }
}
