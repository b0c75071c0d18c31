//! `git opencode log`: the commits of a range as `git log --oneline` lists them, each with
//! the sessions git-opencode's notes link to it.

use crate::cli::LogArgs;
use crate::config::Ctx;
use crate::history::log::{entries, Entry, Linked};
use crate::history::lookup::Sources;
use crate::history::{dollars, duration, thousands};
use crate::transcript::Tokens;
use anyhow::Result;
use serde_json::{json, Value};
use std::io::Write;

pub fn run(ctx: &Ctx, args: &LogArgs, out: &mut dyn Write) -> Result<()> {
    let commits = ctx
        .repo
        .log_commits(&args.revisions, &args.paths, args.max_count)?;
    let sources = Sources::open(ctx)?;
    let entries = entries(&sources, commits)?;
    if args.json {
        let list: Vec<Value> = entries.iter().map(entry_json).collect();
        serde_json::to_writer_pretty(&mut *out, &list)?;
        writeln!(out)?;
        return Ok(());
    }
    for entry in &entries {
        let subject = entry.commit.subject.replace(['\r', '\t'], " ");
        writeln!(out, "{} {subject}", entry.commit.short)?;
        if !entry.noted {
            writeln!(out, "    no note")?;
        }
        for s in &entry.sessions {
            writeln!(out, "    {}", session_line(s))?;
        }
    }
    Ok(())
}

/// `ses_…  Title  (build, mock/mock-1, 1,234 tokens, $0.0012, 5s)`.
fn session_line(s: &Linked) -> String {
    let title = s.title.replace(['\n', '\r', '\t'], " ");
    let title = if title.trim().is_empty() {
        "(untitled)".to_owned()
    } else {
        title
    };
    if s.origin.is_none() {
        return format!("{}  {title}  (not in the store or the archive)", s.id);
    }
    let mut facts = Vec::new();
    if !s.agents.is_empty() {
        facts.push(s.agents.join("+"));
    }
    if !s.models.is_empty() {
        facts.push(s.models.join("+"));
    }
    if let Some(tokens) = &s.tokens {
        facts.push(format!("{} tokens", thousands(tokens.total())));
    }
    if let Some(cost) = s.cost {
        facts.push(dollars(cost));
    }
    if let Some(ms) = s.duration_ms {
        facts.push(duration(ms));
    }
    match facts.is_empty() {
        true => format!("{}  {title}", s.id),
        false => format!("{}  {title}  ({})", s.id, facts.join(", ")),
    }
}

fn entry_json(entry: &Entry) -> Value {
    let sessions: Vec<Value> = entry
        .sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "title": s.title,
                "source": s.origin.as_ref().map(|o| o.describe()),
                "agents": s.agents,
                "models": s.models,
                "tokens": s.tokens.as_ref().map(tokens_json),
                "cost": s.cost,
                "durationMs": s.duration_ms,
            })
        })
        .collect();
    json!({
        "commit": entry.commit.id.to_string(),
        "abbrev": entry.commit.short,
        "subject": entry.commit.subject,
        "noted": entry.noted,
        "sessions": sessions,
    })
}

/// Token counts as JSON integers (OpenCode records whole tokens).
pub fn tokens_json(t: &Tokens) -> Value {
    let n = |x: f64| x.round() as i64;
    json!({
        "input": n(t.input),
        "output": n(t.output),
        "reasoning": n(t.reasoning),
        "cacheRead": n(t.cache_read),
        "cacheWrite": n(t.cache_write),
        "total": n(t.total()),
    })
}
