//! `git opencode restore <ZIP|REF>`: archived sessions back into the local OpenCode store.

use crate::archive::{self, Checksums};
use crate::cli::RestoreArgs;
use crate::config::{Ctx, Verbosity};
use crate::error::UserError;
use crate::restore::{self, Action, Options, Report};
use anyhow::{bail, Result};
use std::io::Write;

pub fn run(ctx: &Ctx, args: &RestoreArgs, out: &mut dyn Write) -> Result<()> {
    let archive = super::open_archive(&ctx.repo, &args.source, Checksums::Enforce)?;
    if archive.sessions.is_empty() {
        bail!("{} holds no sessions; nothing to restore", archive.label);
    }
    check_source(ctx, args, &archive.label)?;
    let report = restore::restore(
        ctx,
        &archive,
        &Options {
            dry_run: args.dry_run,
            only: &args.sessions,
        },
    )?;
    print_report(
        &report,
        args.dry_run,
        ctx.verbosity == Verbosity::Quiet,
        out,
    )
}

/// Refuses an archive written in another repository without `--force`: restore would file
/// that repository's sessions under this one. With `--force` (or `--dry-run`), warns.
fn check_source(ctx: &Ctx, args: &RestoreArgs, label: &str) -> Result<()> {
    let Some(source) = archive::source_repository(&ctx.repo, &args.source)? else {
        return Ok(());
    };
    if !source.is_other_than(&ctx.facts) {
        return Ok(());
    }
    let what = format!(
        "{label} was written in another repository, {}",
        source.describe()
    );
    if args.force || args.dry_run {
        eprintln!("warning: {what}; restore files its sessions under this repository");
        return Ok(());
    }
    bail!(UserError::new(what).hint(
        "restore files its sessions under this repository's project; pass --force to do that anyway"
    ))
}

/// What a report line says was done (or would be) with a session.
fn verb(action: Action, dry_run: bool) -> &'static str {
    match (action, dry_run) {
        (Action::Add, false) => "added",
        (Action::Add, true) => "would add",
        (Action::Update, false) => "updated",
        (Action::Update, true) => "would update",
        (Action::Unchanged, _) => "unchanged",
        (Action::KeepLocal | Action::KeepDiverged, false) => "kept",
        (Action::KeepLocal | Action::KeepDiverged, true) => "would keep",
    }
}

/// Writes the human report of a restore; `quiet`: nothing but a dry run's summary.
fn print_report(report: &Report, dry_run: bool, quiet: bool, out: &mut dyn Write) -> Result<()> {
    if quiet && !dry_run {
        return Ok(());
    }
    if !quiet {
        for (id, title, action) in &report.sessions {
            let why = match action {
                Action::KeepLocal => " (the local copy is newer)",
                Action::KeepDiverged => " (the local copy is as new, with other content)",
                _ => "",
            };
            writeln!(
                out,
                "{:<12} {id}  {}{why}",
                verb(*action, dry_run),
                one_line(title)
            )?;
        }
        for note in &report.notes {
            writeln!(out, "note: {note}")?;
        }
        if let Some(backup) = &report.backup {
            writeln!(out, "backup: {}", backup.display())?;
        }
    }
    let mut counts = format!(
        "{} added, {} updated, {} unchanged, {} kept (newer locally)",
        report.count(Action::Add),
        report.count(Action::Update),
        report.count(Action::Unchanged),
        report.count(Action::KeepLocal),
    );
    // A local copy as new as the archived one, with other content, is kept too, but it is
    // not newer: counted apart, and named only when there is one (the usual line stays).
    let diverged = report.count(Action::KeepDiverged);
    if diverged > 0 {
        counts.push_str(&format!(
            ", {diverged} kept (as new locally, with other content)"
        ));
    }
    if dry_run {
        writeln!(
            out,
            "dry run: {} into {} (project {}, {}); nothing was changed",
            counts
                .replace("added", "to add")
                .replace("updated", "to update")
                .replace("kept", "to keep"),
            report.target.display(),
            report.project_id,
            report.checkout.display()
        )?;
    } else {
        writeln!(
            out,
            "restored into {} (project {}, {}): {counts}",
            report.target.display(),
            report.project_id,
            report.checkout.display()
        )?;
    }
    Ok(())
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_as_new_locally_are_not_counted_as_newer() {
        let report = Report {
            sessions: vec![
                ("ses_a".into(), "a".into(), Action::KeepLocal),
                ("ses_b".into(), "b".into(), Action::KeepDiverged),
                ("ses_c".into(), "c".into(), Action::Unchanged),
            ],
            backup: None,
            target: "/s/opencode.db".into(),
            project_id: "p".into(),
            checkout: "/r".into(),
            notes: Vec::new(),
        };
        let summary = |dry_run: bool| {
            let mut out = Vec::new();
            print_report(&report, dry_run, true, &mut out).unwrap();
            print_report(&report, dry_run, false, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            summary(false),
            "kept         ses_a  a (the local copy is newer)\n\
             kept         ses_b  b (the local copy is as new, with other content)\n\
             unchanged    ses_c  c\n\
             restored into /s/opencode.db (project p, /r): 0 added, 0 updated, 1 unchanged, \
             1 kept (newer locally), 1 kept (as new locally, with other content)\n"
        );
        assert!(summary(true).starts_with(
            "dry run: 0 to add, 0 to update, 1 unchanged, 1 to keep (newer locally), \
             1 to keep (as new locally, with other content) into /s/opencode.db"
        ));
    }
}
