//! `git opencode list`: the sessions of this repository.

use crate::cli::ListArgs;
use crate::config::{Ctx, Verbosity};
use crate::membership::Member;
use crate::store::{Session, Store};
use anyhow::Result;
use serde_json::json;
use std::io::Write;

pub fn run(ctx: &Ctx, args: &ListArgs, out: &mut dyn Write) -> Result<()> {
    let store = ctx.open_store()?;
    let (ids, members) = ctx.members(&store)?;
    show(ctx, args, &store, &members, out)?;
    if ctx.verbosity == Verbosity::Verbose && !args.json {
        // Sessions the store holds but OpenCode no longer shows: say why they are left out.
        for (m, reason) in ctx.hidden_members(&store, &ids) {
            writeln!(
                out,
                "hidden: {} ({}, rule {}): {}",
                m.session.id,
                m.session.title.replace(['\n', '\r', '\t'], " "),
                m.rule.as_str(),
                reason.describe()
            )?;
        }
    }
    // Damaged sessions of this repository fail the run after the others are listed.
    let unreadable = ctx.unreadable_members(&store, &ids);
    if !unreadable.is_empty() {
        return Err(crate::archive::skipped_error(
            &unreadable,
            "the list",
            "listed",
        ));
    }
    Ok(())
}

fn show(
    ctx: &Ctx,
    args: &ListArgs,
    store: &Store,
    members: &[Member],
    out: &mut dyn Write,
) -> Result<()> {
    if args.json {
        return write_json(store, members, out);
    }
    let verbose = ctx.verbosity == Verbosity::Verbose;
    if members.is_empty() {
        if ctx.verbosity != Verbosity::Quiet {
            eprintln!(
                "no OpenCode sessions for this repository in {}",
                store.location().db.display()
            );
        }
        return Ok(());
    }
    let mut rows = Vec::with_capacity(members.len());
    for m in members {
        let s = &m.session;
        let mut row = vec![
            s.id.clone(),
            super::format_time_ms(s.time_updated),
            store.message_count(s)?.to_string(),
            s.parent_id.clone().unwrap_or_else(|| "-".into()),
        ];
        if verbose {
            row.push(m.rule.as_str().to_owned());
            row.push(generation(s));
            row.push(s.project_id.clone());
        }
        row.push(s.title.replace(['\n', '\r', '\t'], " "));
        rows.push(row);
    }
    let mut header = vec!["ID", "UPDATED (UTC)", "MSGS", "PARENT"];
    if verbose {
        header.extend(["RULE", "GEN", "PROJECT"]);
    }
    header.push("TITLE");
    let header: Vec<String> = header.into_iter().map(String::from).collect();
    let columns = header.len();
    let mut widths = vec![0; columns];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == columns {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The generation column: `1`, `2`, or `2+1` for a 2.x session whose 1.x copy 1.x changed
/// after the import (both copies are archived).
fn generation(s: &Session) -> String {
    match (s.generation.number(), s.divergent) {
        (n, false) => n.to_string(),
        (n, true) => format!("{n}+1"),
    }
}

fn write_json(store: &Store, members: &[Member], out: &mut dyn Write) -> Result<()> {
    let mut list = Vec::with_capacity(members.len());
    for m in members {
        let s = &m.session;
        list.push(json!({
            "id": s.id,
            "title": s.title,
            "parentID": s.parent_id,
            "projectID": s.project_id,
            "directory": s.directory,
            "created": s.time_created,
            "updated": s.time_updated,
            "messages": store.message_count(s)?,
            "rule": m.rule,
            "store": s.kind,
            "generation": s.generation,
            "divergent": s.divergent,
        }));
    }
    serde_json::to_writer_pretty(&mut *out, &list)?;
    writeln!(out)?;
    Ok(())
}
