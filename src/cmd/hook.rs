//! `git opencode hook install|uninstall|status|run`.

use crate::cli::{HookAction, HookArgs, HookName, HookSelectArgs};
use crate::config::{self, Ctx, GlobalOptions, Verbosity};
use crate::hooks::{self, Hook, Installed, State, Uninstalled};
use crate::notes;
use anyhow::Result;
use std::io::Write;

pub fn run(options: GlobalOptions, args: &HookArgs, out: &mut dyn Write) -> Result<()> {
    match &args.action {
        // Carrying notes is quick and needs git's input on stdin: done in the hook's process.
        HookAction::Run(run) if matches!(run.hook, HookName::PostRewrite) => {
            hooks::post_rewrite(options, &run.args, &mut std::io::stdin());
            Ok(())
        }
        // The process the hook started, bounded by it: does the work, records it.
        HookAction::Run(run) if run.worker => {
            hooks::work(options, run.hook.into(), run.notes, &run.args)
        }
        // Needs no context up front: it must start, and never fail, whatever is broken.
        HookAction::Run(run) => {
            hooks::run(options, run.hook.into(), run.notes, &run.args);
            Ok(())
        }
        HookAction::Install(install_args) => install(
            &Ctx::new(options)?,
            &selected(&install_args.select, install_args.notes),
            install_args.notes,
            out,
        ),
        HookAction::Uninstall(select) => {
            uninstall(&Ctx::new(options)?, &selected(select, true), out)
        }
        HookAction::Status => status(&Ctx::new(options)?, out),
    }
}

/// The hooks to act on: the flags given, else post-commit and pre-push. The post-rewrite
/// hook carries notes: it goes with `notes` (and the post-commit hook, which writes them).
fn selected(select: &HookSelectArgs, notes: bool) -> Vec<Hook> {
    let none = !(select.post_commit || select.pre_push || select.post_rewrite);
    Hook::EVERY
        .into_iter()
        .filter(|hook| match hook {
            Hook::PostCommit => none || select.post_commit,
            Hook::PrePush => none || select.pre_push,
            Hook::PostRewrite => select.post_rewrite || (notes && (none || select.post_commit)),
        })
        .collect()
}

fn install(ctx: &Ctx, which: &[Hook], with_notes: bool, out: &mut dyn Write) -> Result<()> {
    let dir = ctx.repo.hooks_dir()?;
    let quiet = ctx.verbosity == Verbosity::Quiet;
    for &hook in which {
        let (done, file) = match hooks::install(&dir, hook, with_notes)? {
            Installed::Added(file) => ("installed", file),
            Installed::Updated(file) => ("updated", file),
            Installed::Already(file) => ("already installed", file),
        };
        if !quiet {
            writeln!(out, "{done} {file}")?;
        }
    }
    Ok(())
}

fn uninstall(ctx: &Ctx, which: &[Hook], out: &mut dyn Write) -> Result<()> {
    let dir = ctx.repo.hooks_dir()?;
    let quiet = ctx.verbosity == Verbosity::Quiet;
    for &hook in which {
        let (done, file) = match hooks::uninstall(&dir, hook)? {
            None => continue,
            Some(Uninstalled::Removed(file)) => ("removed", file),
            Some(Uninstalled::BlockRemoved(file)) => ("uninstalled from", file),
        };
        if !quiet {
            writeln!(out, "{done} {file}")?;
        }
    }
    Ok(())
}

fn status(ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let dir = ctx.repo.hooks_dir()?;
    writeln!(out, "hooks directory: {}", dir.display())?;
    for hook in Hook::EVERY {
        let state = match hooks::state(&dir, hook)? {
            State::Installed => "installed".to_owned(),
            State::NotExecutable => format!(
                "installed, but never runs: the hook is not executable (chmod +x {})",
                dir.join(hook.file_name()).display()
            ),
            State::Unreachable(line) => format!(
                "installed, but never runs: {line} ends the hook first (`git opencode hook install` moves our lines above it)"
            ),
            State::OtherHook => "not installed (another hook exists)".to_owned(),
            State::Absent => "not installed".to_owned(),
        };
        writeln!(out, "{}: {state}", hook.file_name())?;
    }
    writeln!(out, "notes over amend and rebase: {}", rewrites(ctx, &dir)?)?;
    writeln!(
        out,
        "{}: {}",
        config::keys::PUSH_WITH_CODE,
        config::push_with_code(&ctx.repo)
    )?;
    match hooks::last_run(&ctx.repo) {
        Some(text) => writeln!(out, "last run: {text}")?,
        None => writeln!(out, "last run: never")?,
    }
    let errors = hooks::last_errors(&ctx.repo, 5);
    if !errors.is_empty() {
        let log = ctx.repo.state_dir().join(hooks::LOG_FILE);
        writeln!(out, "last errors ({}):", log.display())?;
        for line in errors {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(())
}

/// Whether notes reach the commits that `commit --amend` and `rebase` make, and by what.
fn rewrites(ctx: &Ctx, dir: &std::path::Path) -> Result<String> {
    let notes_ref = notes::resolve_ref(&ctx.repo, None)?;
    Ok(
        if hooks::state(dir, Hook::PostRewrite)? == State::Installed {
            format!("carried by the post-rewrite hook ({notes_ref})")
        } else if notes::rewrites_carry(&ctx.repo, &notes_ref) {
            format!("carried by git (notes.rewriteRef covers {notes_ref})")
        } else {
            format!("not carried ({notes_ref}); `git opencode hook install --notes` carries them")
        },
    )
}
