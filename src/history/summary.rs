//! `summary`'s Markdown: the sessions behind the commits of a range (by note), for a pull
//! request. Each with its first prompt, the files it changed, tokens, cost and the path of
//! its transcript on the archive branch; then the totals. Secret-shaped strings are redacted
//! as the archive redacts them: in every string of the sessions read, and once more in the
//! finished text (the notes' titles, the commit subjects).

use super::lookup::{Found, Sources};
use super::{dollars, duration, thousands};
use crate::git::LogCommit;
use crate::redact::Redactor;
use crate::transcript::Tokens;
use anyhow::Result;
use std::fmt::Write as _;

/// How much of a first prompt is shown.
const PROMPT_LIMIT: usize = 1_000;
/// How many changed files a session lists.
const MAX_FILES: usize = 20;

/// One session behind the range.
struct Item {
    id: String,
    title: String,
    /// The commits of the range its notes link it to, oldest first.
    commits: Vec<LogCommit>,
    /// `None` when neither the store nor an archive holds it.
    read: Option<Read>,
}

/// What was read of a session.
struct Read {
    agents: Vec<String>,
    models: Vec<String>,
    tokens: Option<Tokens>,
    cost: Option<f64>,
    duration_ms: Option<i64>,
    first_prompt: Option<String>,
    files: Vec<String>,
    transcript: String,
}

/// Where to link transcripts on the web: `<server>/<owner>/<repo>/blob/<branch>` (GitHub's
/// layout), or nothing.
pub type WebBase<'a> = Option<&'a str>;

/// The summary of `commits` (as `git log` lists them, newest first), titled with `range`.
pub fn markdown(
    sources: &Sources,
    range: &str,
    commits: &[LogCommit],
    web: WebBase,
    redactor: &Redactor,
) -> Result<String> {
    let mut items: Vec<Item> = Vec::new();
    let mut noted = 0;
    for commit in commits.iter().rev() {
        let Some(list) = sources.noted(commit.id)? else {
            continue;
        };
        noted += 1;
        for n in list {
            if let Some(item) = items.iter_mut().find(|i| i.id == n.id) {
                item.commits.push(commit.clone());
                continue;
            }
            let found = sources.find(&n.id)?;
            let title = found
                .as_ref()
                .map_or(n.title.clone(), |f| f.title().to_owned());
            let read = found.map(|f| read(sources, f, redactor));
            items.push(Item {
                id: n.id,
                title,
                commits: vec![commit.clone()],
                read,
            });
        }
    }
    let mut out = String::new();
    render(&mut out, range, commits.len(), noted, &items, web);
    Ok(redactor.redact_str(&out).into_owned())
}

fn read(sources: &Sources, mut found: Found, redactor: &Redactor) -> Read {
    redactor.redact_value(&mut found.doc);
    let facts = found.facts();
    Read {
        files: found.files_changed(),
        transcript: sources.transcript_path(&found),
        agents: facts.agents,
        models: facts.models,
        tokens: facts.tokens,
        cost: facts.cost,
        duration_ms: facts.duration_ms,
        first_prompt: facts.first_prompt,
    }
}

fn render(
    out: &mut String,
    range: &str,
    commits: usize,
    noted: usize,
    items: &[Item],
    web: WebBase,
) {
    let _ = writeln!(out, "## OpenCode sessions\n");
    let plural = |n: usize, one: &str, many: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    let _ = writeln!(
        out,
        "{}: {}, {} linked to sessions by git-opencode's notes.\n",
        code(range),
        plural(commits, "commit", "commits"),
        noted
    );
    if items.is_empty() {
        let _ = writeln!(out, "*No session is linked to these commits.*");
        return;
    }
    let _ = writeln!(out, "| Session | Commits | Tokens | Cost | Duration |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|");
    let (mut tokens, mut cost, mut ms) = (0.0, 0.0, 0);
    for item in items {
        let shorts: Vec<String> = item.commits.iter().map(|c| code(&c.short)).collect();
        let (t, c, d) = match &item.read {
            Some(r) => {
                tokens += r.tokens.as_ref().map_or(0.0, Tokens::total);
                cost += r.cost.unwrap_or(0.0);
                ms += r.duration_ms.unwrap_or(0);
                (
                    r.tokens
                        .as_ref()
                        .map_or("–".into(), |t| thousands(t.total())),
                    r.cost.map_or("–".into(), dollars),
                    r.duration_ms.map_or("–".into(), duration),
                )
            }
            None => ("–".into(), "–".into(), "–".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {t} | {c} | {d} |",
            cell(&title_of(item)),
            shorts.join(" ")
        );
    }
    let _ = writeln!(
        out,
        "| **Total:** {} | {} | {} | {} | {} |\n",
        plural(items.len(), "session", "sessions"),
        noted,
        thousands(tokens),
        dollars(cost),
        duration(ms)
    );
    for item in items {
        session_section(out, item, web);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
}

fn session_section(out: &mut String, item: &Item, web: WebBase) {
    let _ = writeln!(out, "### {}\n", cell(&title_of(item)));
    let mut lines = vec![format!("- **Session:** {}", code(&item.id))];
    let commits: Vec<String> = item
        .commits
        .iter()
        .map(|c| format!("{} {}", code(&c.short), cell(&c.subject)))
        .collect();
    lines.push(format!("- **Commits:** {}", commits.join("; ")));
    let Some(r) = &item.read else {
        lines.push("- *Not in the OpenCode store nor in the archive branch.*".into());
        let _ = writeln!(out, "{}\n", lines.join("\n"));
        return;
    };
    let join = |v: &[String]| v.iter().map(|s| code(s)).collect::<Vec<_>>().join(", ");
    if !r.agents.is_empty() || !r.models.is_empty() {
        lines.push(format!(
            "- **Agent:** {} · **Model:** {}",
            join(&r.agents),
            join(&r.models)
        ));
    }
    let mut figures = Vec::new();
    if let Some(t) = &r.tokens {
        figures.push(format!(
            "**Tokens:** {} ({} in, {} out)",
            thousands(t.total()),
            thousands(t.input),
            thousands(t.output)
        ));
    }
    if let Some(c) = r.cost {
        figures.push(format!("**Cost:** {}", dollars(c)));
    }
    if let Some(ms) = r.duration_ms {
        figures.push(format!("**Duration:** {}", duration(ms)));
    }
    if !figures.is_empty() {
        lines.push(format!("- {}", figures.join(" · ")));
    }
    if !r.files.is_empty() {
        let mut files: Vec<String> = r.files.iter().take(MAX_FILES).map(|f| code(f)).collect();
        if r.files.len() > MAX_FILES {
            files.push(format!("and {} more", r.files.len() - MAX_FILES));
        }
        lines.push(format!("- **Files changed:** {}", files.join(", ")));
    }
    let path = code(&r.transcript);
    let transcript = match (web, r.transcript.split_once(':')) {
        (Some(base), Some((_, file))) => format!("[{path}]({base}/{file})"),
        _ => path,
    };
    lines.push(format!("- **Transcript:** {transcript}"));
    let _ = writeln!(out, "{}\n", lines.join("\n"));
    if let Some(prompt) = &r.first_prompt {
        let (shown, cut) = match prompt.char_indices().nth(PROMPT_LIMIT) {
            Some((at, _)) => (&prompt[..at], true),
            None => (prompt.as_str(), false),
        };
        let _ = writeln!(out, "First prompt:\n\n{}\n", fence(shown));
        if cut {
            let _ = writeln!(out, "*(cut at {PROMPT_LIMIT} characters)*\n");
        }
    }
}

fn title_of(item: &Item) -> String {
    match item.title.trim() {
        "" => "Untitled session".to_owned(),
        title => title.to_owned(),
    }
}

/// Text for one line of Markdown (a table cell, a heading): no line breaks, no table pipes,
/// no HTML.
fn cell(text: &str) -> String {
    text.replace(['\n', '\r', '\t'], " ")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

/// Inline code, its backtick fence longer than any run of backticks inside.
fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let ticks = "`".repeat(longest_run(&text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// A fenced block, its fence longer than any run of backticks inside.
fn fence(text: &str) -> String {
    let ticks = "`".repeat(longest_run(text, '`').max(2) + 1);
    format!("{ticks}text\n{}\n{ticks}", text.trim_end())
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::{cell, code, fence};

    #[test]
    fn markdown_pieces_cannot_break_the_page() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(fence("has ``` inside"), "````text\nhas ``` inside\n````");
        assert_eq!(cell("a | b\n<script>"), "a \\| b &lt;script&gt;");
    }
}
