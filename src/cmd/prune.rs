//! `git opencode prune`: delete from the local store the sessions the archive holds exactly.
//! Without `--force` it prints the plan and changes nothing, like `git clean`.

use crate::archive::{self, Checksums};
use crate::cli::PruneArgs;
use crate::config::{Ctx, Verbosity};
use crate::error::UserError;
use crate::prune::running::{self, Check};
use crate::prune::{self, human_bytes, Entry, Force, Options, Plan, Reason, Selection};
use crate::restore::remove::Removal;
use crate::restore::{service, Newer};
use anyhow::{bail, Result};
use std::io::Write;

pub fn run(ctx: &Ctx, args: &PruneArgs, out: &mut dyn Write) -> Result<()> {
    let selection = match (&args.older_than, args.all) {
        (Some(spec), _) => {
            Selection::OlderThan(prune::age::cutoff(spec, time::OffsetDateTime::now_utc())?)
        }
        (None, true) => Selection::All,
        (None, false) => Selection::Sessions(args.sessions.clone()),
    };
    let location = &ctx.store_location;
    let storage = location.data_dir.join("storage");
    if args.force {
        // Before anything is read: nothing is deleted beside a running OpenCode.
        refuse_running(ctx, &storage)?;
    }
    let spec = match &args.from {
        Some(spec) => spec.clone(),
        None => default_ref(ctx)?,
    };
    let archive = super::open_archive(&ctx.repo, &spec, Checksums::Enforce)?;
    let store = ctx.open_store()?;
    let options = Options {
        selection,
        allow_redacted: args.allow_redacted,
        include_shared: args.include_shared,
    };
    let plan = prune::plan(ctx, &store, &archive, &options)?;
    let vacuum_db = plan.db.clone().filter(|_| args.vacuum);
    if args.vacuum && vacuum_db.is_none() {
        eprintln!("warning: --vacuum: the store has no database to shrink (a JSON tree)");
    }
    print_sessions(&plan, args.force, out)?;
    if !args.force {
        print_plan_summary(&plan, out)?;
        if let Some(db) = &vacuum_db {
            writeln!(
                out,
                "--vacuum would need {} free next to {}",
                human_bytes(prune::vacuum_needs(db)),
                db.display()
            )?;
        }
        if !plan.prune.is_empty() {
            writeln!(out, "nothing was deleted; run with --force to prune")?;
        }
        return Ok(());
    }
    if let Some(db) = &vacuum_db {
        if prune::check_vacuum_space(db)?.is_none() {
            eprintln!(
                "warning: the free space next to {} could not be checked; --vacuum needs {}",
                db.display(),
                human_bytes(prune::vacuum_needs(db))
            );
        }
    }
    let redacted = plan.prune.iter().filter(|e| e.redacted).count();
    let pruned = plan.prune.len();
    let done = prune::execute(
        ctx,
        store,
        plan,
        &Force {
            backup: !args.no_backup,
            vacuum: vacuum_db.is_some(),
        },
    )?;
    if pruned == 0 {
        writeln!(out, "nothing to prune")?;
        return Ok(());
    }
    writeln!(
        out,
        "pruned {pruned} session{}: {}",
        plural(pruned),
        amounts(&done.removal)
    )?;
    if let Some(backup) = &done.backup {
        writeln!(out, "backup: {}", backup.display())?;
        writeln!(out, "undo with: git opencode restore {}", backup.display())?;
    }
    if redacted > 0 {
        let kept = if done.backup.is_some() {
            "only the backup zip keeps them"
        } else {
            "they are gone for good"
        };
        writeln!(
            out,
            "note: {redacted} pruned session{} had secrets the archive holds redacted; {kept}",
            plural(redacted)
        )?;
    }
    if let (Some(db), Some((before, after))) = (&vacuum_db, done.vacuum) {
        writeln!(
            out,
            "vacuum: {} went from {} to {}: {} freed",
            db.display(),
            human_bytes(before),
            human_bytes(after),
            human_bytes(before.saturating_sub(after))
        )?;
    }
    Ok(())
}

/// One line per selected session: pruned (or to be) and kept, with why.
fn print_sessions(plan: &Plan, force: bool, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "archive: {}", plan.archive)?;
    let verb = if force { "pruned" } else { "would prune" };
    for e in &plan.prune {
        let note = if e.redacted {
            "; archived redacted: its secrets go"
        } else {
            ""
        };
        line(out, verb, e, note)?;
    }
    for (e, reason) in &plan.kept {
        let why = match reason {
            Reason::NotArchived => "; not in the archive".to_owned(),
            Reason::Changed(Newer::Store) => "; changed since archived".to_owned(),
            Reason::Changed(Newer::Archive) => "; the archive holds a newer copy".to_owned(),
            Reason::Changed(Newer::Neither) => {
                "; the archive holds other content of the same time".to_owned()
            }
            Reason::Redacted => {
                "; archived redacted, its secrets would be lost (--allow-redacted)".to_owned()
            }
            Reason::Shared => {
                "; shared, its share secret would be lost (--include-shared)".to_owned()
            }
            Reason::WithFamily(by) => format!("; its family stays with {by}"),
        };
        line(out, "kept", e, &why)?;
    }
    Ok(())
}

fn line(out: &mut dyn Write, verb: &str, e: &Entry, why: &str) -> Result<()> {
    writeln!(
        out,
        "{verb:<12} {}  {} (updated {}{why})",
        e.id,
        e.title.replace(['\n', '\r'], " "),
        super::format_time_ms(e.updated)
    )?;
    Ok(())
}

/// What the plan would delete.
fn print_plan_summary(plan: &Plan, out: &mut dyn Write) -> Result<()> {
    let n = plan.prune.len();
    if n == 0 {
        writeln!(out, "nothing to prune")?;
        return Ok(());
    }
    let r = &plan.removal;
    writeln!(out, "would prune {n} session{}: {}", plural(n), amounts(r))?;
    if !r.rows.is_empty() {
        let tables: Vec<String> = r.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
        writeln!(out, "rows: {}", tables.join(", "))?;
    }
    Ok(())
}

/// `120 rows (1.2 MB), 3 files (4.5 kB)`: what went from the database and the JSON tree.
fn amounts(r: &Removal) -> String {
    let mut parts = Vec::new();
    if r.row_count() > 0 || r.files == 0 {
        parts.push(format!(
            "{} rows ({})",
            r.row_count(),
            human_bytes(r.row_bytes)
        ));
    }
    if r.files > 0 {
        parts.push(format!("{} files ({})", r.files, human_bytes(r.file_bytes)));
    }
    parts.join(", ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Fails while OpenCode has the store open (Linux: any process with one of its files open;
/// elsewhere only 2.x's registered service can be seen, and a warning says so).
fn refuse_running(ctx: &Ctx, storage: &std::path::Path) -> Result<()> {
    service::refuse_while_running(service::state_dir().as_deref(), "nothing was pruned")?;
    let db = &ctx.store_location.db;
    match running::check(db, storage) {
        Check::Free => Ok(()),
        Check::Held(h) => bail!(UserError::new(format!(
            "process {} ({}) has {} open; nothing was pruned",
            h.pid,
            if h.name.is_empty() {
                "unknown"
            } else {
                &h.name
            },
            h.file.display()
        ))
        .hint("stop OpenCode (every window, `opencode` CLI and server), then prune again")),
        Check::Unchecked => {
            if ctx.verbosity != Verbosity::Quiet {
                eprintln!(
                    "warning: whether OpenCode has {} open cannot be checked on this system; \
                     make sure it is not running",
                    db.display()
                );
            }
            Ok(())
        }
    }
}

/// The archive ref (`git config opencode.ref`, else the default archive branch); it must
/// exist.
fn default_ref(ctx: &Ctx) -> Result<String> {
    let name = archive::resolve_ref(&ctx.repo, None)?;
    if ctx.repo.ref_target(&name)?.is_none() {
        bail!(UserError::new(format!("no archive branch {name} in this repository")).hint(
            "archive first with git opencode push-sessions, or pass --from <ZIP|REF>; nothing was pruned"
        ));
    }
    Ok(name)
}
