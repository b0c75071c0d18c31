//! `git opencode verify [ZIP|REF]`: checksums, and which sessions are missing, changed or
//! extra between an archive and the live store.

use crate::archive::{self, Archive, Checksums, SourceKind};
use crate::cli::VerifyArgs;
use crate::config::Ctx;
use crate::error::UserError;
use crate::restore::{self, Difference, Newer, State};
use crate::store::Unreadable;
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::io::Write;

pub fn run(ctx: &Ctx, args: &VerifyArgs, out: &mut dyn Write) -> Result<()> {
    let spec = match &args.source {
        Some(s) => s.clone(),
        None => default_ref(ctx)?,
    };
    let archive = super::open_archive(&ctx.repo, &spec, Checksums::Report)?;
    let store = ctx.open_store()?;
    let (ids, members) = ctx.members(&store)?;
    let rows = restore::compare(&store, &members, &archive)?;
    // Sessions of this repository or of the archive that the store cannot read are reported
    // as unreadable (like pack and push-sessions do), not as missing from the store.
    let unreadable: Vec<Unreadable> = store
        .unreadable()
        .into_iter()
        .filter(|u| {
            ids.ids.contains_key(&u.project_id) || archive.sessions.contains_key(&u.session_id)
        })
        .collect();
    let rows: Vec<Difference> = rows
        .into_iter()
        .filter(|r| !unreadable.iter().any(|u| u.session_id == r.id))
        .collect();
    let count = |s: State| rows.iter().filter(|r| r.state == s).count();
    let (missing, changed, extra) = (
        count(State::Missing),
        count(State::Changed),
        count(State::Extra),
    );
    let complete = archive.checksum_failures.is_empty()
        && missing + changed + extra == 0
        && unreadable.is_empty();
    let report = Report {
        archive: &archive,
        db: &store.location().db,
        members: members.len(),
        rows: &rows,
        unreadable: &unreadable,
        complete,
    };
    if args.json {
        report.print_json(out)?;
    } else {
        report.print_human(out)?;
    }
    out.flush()?;
    if complete {
        return Ok(());
    }
    if let Some((entry, problem)) = archive.checksum_failures.first() {
        let more = archive.checksum_failures.len() - 1;
        let more = if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        };
        bail!(UserError::new(format!(
            "entry {entry} of {}: {problem}{more}",
            archive.label
        ))
        .hint(
            "the zip was changed after it was written; write a new one with `git opencode pack`"
        ));
    }
    let label = &archive.label;
    if missing + changed + extra == 0 {
        return Err(archive::skipped_error(
            &unreadable,
            "the comparison",
            "compared",
        ));
    }
    bail!(UserError::new(format!(
        "{label} does not match the store: {changed} changed, {missing} missing, {extra} extra"
    ))
    .hint(format!(
        "`git opencode restore {label}` brings archived sessions back; \
         `git opencode pack` or `push-sessions` archives new ones"
    )))
}

/// The archive ref (`git config opencode.ref`, else the default archive branch); it must
/// exist.
fn default_ref(ctx: &Ctx) -> Result<String> {
    let name = archive::resolve_ref(&ctx.repo, None)?;
    if ctx.repo.ref_target(&name)?.is_none() {
        bail!(UserError::new(format!("no archive branch {name} in this repository")).hint(
            "pass a pack zip (git opencode verify <ZIP>), or archive first with git opencode push-sessions"
        ));
    }
    Ok(name)
}

/// What verify found, for either printer.
struct Report<'a> {
    archive: &'a Archive,
    /// The live store's database.
    db: &'a std::path::Path,
    /// How many of the store's sessions belong to this repository.
    members: usize,
    rows: &'a [Difference],
    /// Sessions the store cannot read (a damaged row or file).
    unreadable: &'a [Unreadable],
    complete: bool,
}

impl Report<'_> {
    fn print_human(&self, out: &mut dyn Write) -> Result<()> {
        let checks = match self.archive.kind {
            SourceKind::Zip if self.archive.checksum_failures.is_empty() => {
                format!("checksums of {} entries ok", self.archive.checked)
            }
            SourceKind::Zip => format!(
                "{} of {} entries failed their checksum",
                self.archive.checksum_failures.len(),
                self.archive.checked
            ),
            SourceKind::Git => "stored in git".to_owned(),
        };
        writeln!(
            out,
            "archive: {} ({}; {checks})",
            self.archive.label,
            sessions(self.archive.sessions.len())
        )?;
        writeln!(
            out,
            "store:   {} ({} of this repository)",
            self.db.display(),
            sessions(self.members)
        )?;
        for (entry, problem) in &self.archive.checksum_failures {
            writeln!(out, "bad      {entry}: {problem}")?;
        }
        for row in self.rows {
            let what = match (row.state, row.newer) {
                (State::Same, _) => continue,
                (State::Missing, _) => "missing  ",
                (State::Changed, _) => "changed  ",
                (State::Extra, _) => "extra    ",
            };
            let why = match (row.state, row.newer) {
                (State::Missing, _) => " (in the archive, not in the store)".to_owned(),
                (State::Extra, _) => " (in the store, not in the archive)".to_owned(),
                (State::Changed, Some(Newer::Neither)) => {
                    " (same update time, different content)".to_owned()
                }
                (State::Changed, Some(Newer::Store)) => " (newer in the store)".to_owned(),
                (State::Changed, Some(Newer::Archive)) => " (newer in the archive)".to_owned(),
                _ => String::new(),
            };
            writeln!(
                out,
                "{what}{}  {}{why}",
                row.id,
                row.title.replace(['\n', '\r'], " ")
            )?;
        }
        for u in self.unreadable {
            writeln!(
                out,
                "unread   {}  (cannot be read: {})",
                u.session_id, u.reason
            )?;
        }
        if self.complete {
            writeln!(
                out,
                "complete: all {} archived sessions match the store",
                self.archive.sessions.len()
            )?;
        }
        Ok(())
    }

    fn print_json(&self, out: &mut dyn Write) -> Result<()> {
        let list = |state: State| -> Vec<Value> {
            self.rows
                .iter()
                .filter(|r| r.state == state)
                .map(|r| {
                    let mut v = json!({ "id": r.id, "title": r.title });
                    if let Some(newer) = r.newer {
                        v["newer"] = json!(newer);
                    }
                    v
                })
                .collect()
        };
        let failures: Vec<Value> = self
            .archive
            .checksum_failures
            .iter()
            .map(|(entry, problem)| json!({ "entry": entry, "problem": problem }))
            .collect();
        let json = json!({
            "source": self.archive.label,
            "kind": self.archive.kind,
            "complete": self.complete,
            "checksums": {
                "checked": self.archive.checked,
                "ok": failures.is_empty(),
                "failures": failures,
            },
            "archived": self.archive.sessions.len(),
            "store": { "path": self.db.display().to_string(), "sessions": self.members },
            "matching": self.rows.iter().filter(|r| r.state == State::Same).count(),
            "missing": list(State::Missing),
            "changed": list(State::Changed),
            "extra": list(State::Extra),
            "unreadable": self.unreadable.iter()
                .map(|u| json!({ "id": u.session_id, "reason": u.reason }))
                .collect::<Vec<Value>>(),
        });
        out.write_all(&crate::json::pretty_line(&json))?;
        Ok(())
    }
}

/// "1 session", "2 sessions".
fn sessions(count: usize) -> String {
    match count {
        1 => "1 session".to_owned(),
        n => format!("{n} sessions"),
    }
}
