//! `git opencode hook install|uninstall|status|run`.

use crate::archive::{self, branch, branch::Outcome};
use crate::config::{Ctx, GlobalOptions, Verbosity};
use crate::error::{self, UserError};
use crate::git::Merge;
use crate::hooks::{self, Hook};
use crate::notes;
use crate::redact::Redactor;
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `git config` key: push the archive (and notes) with every `git push` (pre-push hook).
pub const PUSH_WITH_CODE_KEY: &str = "opencode.pushWithCode";
/// `git config` key: seconds a hook may spend before leaving the rest for the next run.
pub const HOOK_TIMEOUT_KEY: &str = "opencode.hookTimeout";
/// Environment variable that makes the hooks do nothing, once.
pub const SKIP_ENV: &str = "GIT_OPENCODE_SKIP";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn state_dir(ctx: &Ctx) -> PathBuf {
    ctx.repo.state_dir()
}

fn log_path(ctx: &Ctx) -> PathBuf {
    state_dir(ctx).join("hook.log")
}

fn last_run_path(ctx: &Ctx) -> PathBuf {
    state_dir(ctx).join("hook-last-run.json")
}

/// The hooks to act on: the flags given, else both.
pub fn selected(post_commit: bool, pre_push: bool) -> Vec<Hook> {
    match (post_commit, pre_push) {
        (false, false) => Hook::ALL.to_vec(),
        (p, q) => Hook::ALL
            .into_iter()
            .filter(|h| (*h == Hook::PostCommit && p) || (*h == Hook::PrePush && q))
            .collect(),
    }
}

pub fn install(ctx: &Ctx, which: &[Hook], with_notes: bool, out: &mut dyn Write) -> Result<()> {
    let dir = ctx.repo.hooks_dir()?;
    for &hook in which {
        let path = dir.join(hook.file_name());
        let existing = read_optional(&path)?;
        if let Some(manager) = hooks::hook_manager(&dir, existing.as_deref()) {
            bail!(UserError::new(format!(
                "the {} hook in {} is managed by {manager}; git-opencode leaves it alone",
                hook.file_name(),
                dir.display()
            ))
            .hint(hooks::manager_hint(manager, hook, with_notes)));
        }
        match hooks::with_block(existing.as_deref(), hook, with_notes)
            .with_context(|| format!("cannot add to the existing hook {}", path.display()))?
        {
            Some(content) => {
                hooks::write_hook(&path, &content)?;
                writeln!(out, "installed {}", path.display())?;
            }
            None => writeln!(out, "already installed {}", path.display())?,
        }
    }
    if with_notes && which.contains(&Hook::PostCommit) && ctx.verbosity != Verbosity::Quiet {
        let notes_ref = notes_ref(ctx)?;
        if !notes::rewrites_carry(&ctx.repo, &notes_ref) {
            eprintln!(
                "hint: git drops notes from amended and rebased commits unless told otherwise; to keep them:\nhint:   git config --add notes.rewriteRef {notes_ref}"
            );
        }
    }
    Ok(())
}

pub fn uninstall(ctx: &Ctx, which: &[Hook], out: &mut dyn Write) -> Result<()> {
    let dir = ctx.repo.hooks_dir()?;
    for &hook in which {
        let path = dir.join(hook.file_name());
        let Some(existing) = read_optional(&path)? else {
            continue;
        };
        match hooks::without_block(&existing) {
            None => {}
            Some(None) => {
                std::fs::remove_file(&path)
                    .with_context(|| format!("failed to remove {}", path.display()))?;
                writeln!(out, "removed {}", path.display())?;
            }
            Some(Some(rest)) => {
                hooks::write_hook(&path, &rest)?;
                writeln!(out, "uninstalled from {}", path.display())?;
            }
        }
    }
    Ok(())
}

pub fn status(ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let dir = ctx.repo.hooks_dir()?;
    writeln!(out, "hooks directory: {}", dir.display())?;
    for hook in Hook::ALL {
        let path = dir.join(hook.file_name());
        let state = match read_optional(&path)? {
            Some(text) if text.contains(hooks::BEGIN) => "installed",
            Some(_) => "not installed (another hook exists)",
            None => "not installed",
        };
        writeln!(out, "{}: {state}", hook.file_name())?;
    }
    let push_with_code = ctx.repo.config_bool(PUSH_WITH_CODE_KEY).unwrap_or(false);
    writeln!(out, "{PUSH_WITH_CODE_KEY}: {push_with_code}")?;
    match std::fs::read_to_string(last_run_path(ctx)) {
        Ok(text) => writeln!(out, "last run: {}", text.trim())?,
        Err(_) => writeln!(out, "last run: never")?,
    }
    if let Ok(log) = std::fs::read_to_string(log_path(ctx)) {
        let errors: Vec<&str> = log.lines().filter(|l| l.contains(" error: ")).collect();
        if !errors.is_empty() {
            writeln!(out, "last errors ({}):", log_path(ctx).display())?;
            for line in errors.iter().rev().take(5).rev() {
                writeln!(out, "  {line}")?;
            }
        }
    }
    Ok(())
}

fn read_optional(path: &std::path::Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("failed to read {}", path.display())),
    }
}

/// Runs a hook's work. Never fails: errors go to the hook log and `hook status`.
pub fn run(options: GlobalOptions, hook: Hook, with_notes: bool, args: &[String]) {
    if std::env::var_os(SKIP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    let started = Instant::now();
    let ctx = match Ctx::new(options) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("git-opencode {}: {}", hook.file_name(), error::one_line(&e));
            return;
        }
    };
    let result = match hook {
        Hook::PostCommit => post_commit(&ctx, with_notes, started),
        Hook::PrePush => pre_push(&ctx, args),
    };
    let elapsed = started.elapsed().as_millis() as u64;
    let (ok, message) = match &result {
        Ok(m) => (true, m.clone()),
        Err(e) => (false, error::one_line(e)),
    };
    record(&ctx, hook, ok, &message, elapsed);
}

fn record(ctx: &Ctx, hook: Hook, ok: bool, message: &str, elapsed_ms: u64) {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let dir = state_dir(ctx);
    let _ = std::fs::create_dir_all(&dir);
    let last = json!({ "hook": hook.file_name(), "time": now, "ms": elapsed_ms, "ok": ok, "message": message });
    let _ = crate::fsutil::write_atomic(&last_run_path(ctx), format!("{last}\n").as_bytes());
    let level = if ok { "ok" } else { "error" };
    let line = format!(
        "{now} {} {level}: {message} ({elapsed_ms} ms)\n",
        hook.file_name()
    );
    if let Ok(mut log) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(ctx))
    {
        let _ = log.write_all(line.as_bytes());
    }
}

fn timeout(ctx: &Ctx) -> Duration {
    ctx.repo
        .config_integer(HOOK_TIMEOUT_KEY)
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
}

fn archive_ref(ctx: &Ctx) -> Result<String> {
    archive::resolve_ref(&ctx.repo, None)
}

fn notes_ref(ctx: &Ctx) -> Result<String> {
    notes::configured_ref(&ctx.repo, None)
}

fn post_commit(ctx: &Ctx, with_notes: bool, started: Instant) -> Result<String> {
    let store = ctx.open_store()?;
    let archive_ref = archive_ref(ctx)?;
    let redactor = Redactor::new();
    let (outcome, members) = branch::snapshot_repository(
        ctx,
        &store,
        &branch::Options {
            ref_name: &archive_ref,
            redactor: Some(&redactor),
            deadline: Some(started + timeout(ctx)),
        },
    )?;
    let mut message = match outcome {
        Outcome::UpToDate { deferred, .. } => {
            format!("{archive_ref} up to date, {deferred} deferred")
        }
        Outcome::Committed {
            added,
            updated,
            deferred,
            ..
        } => format!(
            "{archive_ref}: {} added, {} updated, {deferred} deferred",
            added.len(),
            updated.len()
        ),
    };
    if with_notes {
        let head = ctx.repo.head_commit().context("HEAD has no commit")?;
        let notes_ref = notes_ref(ctx)?;
        let done = notes::annotate(
            ctx,
            &store,
            &members,
            &[head],
            &notes_ref,
            &archive_ref,
            Some(&redactor),
        )?;
        message.push_str(&format!("; {} note(s)", done.annotated.len()));
    }
    Ok(message)
}

fn pre_push(ctx: &Ctx, args: &[String]) -> Result<String> {
    if !ctx.repo.config_bool(PUSH_WITH_CODE_KEY).unwrap_or(false) {
        return Ok(format!("{PUSH_WITH_CODE_KEY} is not set: nothing to push"));
    }
    let Some(remote) = args.first() else {
        bail!("pre-push without a remote name");
    };
    let mut pushed = Vec::new();
    for (name, merge) in [
        (archive_ref(ctx)?, branch::union as Merge),
        (notes_ref(ctx)?, notes::union),
    ] {
        if ctx.repo.ref_target(&name)?.is_some() {
            ctx.repo.sync_ref(remote, &name, merge)?;
            pushed.push(name);
        }
    }
    Ok(format!("pushed {} to {remote}", pushed.join(", ")))
}
