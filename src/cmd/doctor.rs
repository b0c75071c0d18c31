//! `git opencode doctor [--json] [--fix [--dry-run]]`: prints what `doctor` found or did.

use crate::cli::DoctorArgs;
use crate::config::{Ctx, Verbosity};
use crate::doctor::{self, fix, Diagnosis, Finding};
use crate::error::NeedsAttention;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Ctx, args: &DoctorArgs, out: &mut dyn Write) -> Result<()> {
    let (diagnosis, examined) = doctor::diagnose(ctx)?;
    if args.fix {
        let fixed = fix::fix(ctx, examined, args.dry_run)?;
        if args.json {
            serde_json::to_writer_pretty(&mut *out, &fixed)?;
            writeln!(out)?;
        } else {
            print_fixed(&fixed, out)?;
        }
        return Ok(());
    }
    drop(examined);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &diagnosis)?;
        writeln!(out)?;
    } else {
        print(ctx, &diagnosis, out)?;
    }
    if diagnosis.attention {
        out.flush()?;
        return Err(NeedsAttention.into());
    }
    Ok(())
}

fn print(ctx: &Ctx, d: &Diagnosis, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "store: {} ({})",
        d.store.path,
        d.store.generation.describe()
    )?;
    if let Some(import) = &d.store.import {
        match import.completed {
            Some(at) => writeln!(
                out,
                "import of the 1.x sessions: completed {} UTC",
                super::format_time_ms(at)
            )?,
            None if import.phase == "none" => {
                writeln!(out, "import of the 1.x sessions: not started")?
            }
            None => writeln!(out, "import of the 1.x sessions: started, not finished")?,
        }
    }
    writeln!(
        out,
        "sessions of this repository: {} ({} read from OpenCode 2.x's tables, {} from 1.x's)",
        d.sessions.total, d.sessions.gen2, d.sessions.gen1
    )?;
    if !d.versions.is_empty() {
        let versions: Vec<String> = d
            .versions
            .iter()
            .map(|(v, n)| format!("{v} ({n})"))
            .collect();
        writeln!(out, "written by OpenCode: {}", versions.join(", "))?;
    }
    let hooks: Vec<String> = d
        .hooks
        .iter()
        .map(|h| format!("{} {}", h.hook, h.state))
        .collect();
    writeln!(out, "hooks: {}", hooks.join(", "))?;
    let a = &d.archive;
    if a.exists {
        writeln!(
            out,
            "archive {}: {} not archived, {} newer in the store",
            a.ref_name,
            a.missing.len(),
            a.behind.len()
        )?;
        if a.prunable.sessions > 0 {
            let n = a.prunable.sessions;
            writeln!(
                out,
                "prune: {n} archived session{} could leave the store, about {} \
                 (git opencode prune --all shows which)",
                if n == 1 { "" } else { "s" },
                crate::prune::human_bytes(a.prunable.bytes)
            )?;
        }
    } else {
        writeln!(out, "archive {}: none yet", a.ref_name)?;
    }
    for f in &d.findings {
        writeln!(out)?;
        print_finding(f, out)?;
    }
    writeln!(out)?;
    let attention = d.findings.iter().filter(|f| f.attention).count();
    if ctx.verbosity != Verbosity::Quiet {
        match attention {
            0 => writeln!(out, "nothing needs attention")?,
            1 => writeln!(out, "1 finding needs attention")?,
            n => writeln!(out, "{n} findings need attention")?,
        }
    }
    Ok(())
}

fn print_finding(f: &Finding, out: &mut dyn Write) -> Result<()> {
    let label = serde_json::to_value(f.kind)?;
    let label = label.as_str().unwrap_or_default();
    match f.sessions.len() {
        0 => writeln!(out, "{label}: {}", f.message)?,
        1 => writeln!(out, "{label}: 1 session {}", f.message)?,
        n => writeln!(out, "{label}: {n} sessions {}", f.message)?,
    }
    for s in &f.sessions {
        writeln!(
            out,
            "  {}  {}  {}",
            s.id,
            super::format_time_ms(s.updated),
            s.title.replace(['\n', '\r', '\t'], " ")
        )?;
    }
    for d in &f.details {
        writeln!(out, "  {d}")?;
    }
    writeln!(out, "  hint: {}", f.hint)?;
    Ok(())
}

fn print_fixed(fixed: &fix::Fixed, out: &mut dyn Write) -> Result<()> {
    let verb = if fixed.dry_run { "would " } else { "" };
    if fixed.steps.is_empty() {
        writeln!(out, "nothing to fix")?;
    }
    for step in &fixed.steps {
        writeln!(
            out,
            "{verb}{}: {}  {}",
            step.action.describe(),
            step.id,
            step.title.replace(['\n', '\r', '\t'], " ")
        )?;
    }
    for id in &fixed.left {
        writeln!(
            out,
            "left alone: {id} (continued by both OpenCode 1.x and 2.x; its 2.x copy stays)"
        )?;
    }
    if let Some(backup) = &fixed.backup {
        writeln!(out, "backup of the store: {}", backup.display())?;
    }
    Ok(())
}
