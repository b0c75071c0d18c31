//! The work the installed hooks run: snapshot the sessions after a commit (and note it),
//! push the archive with the code. It never fails the commit or the push: errors go to
//! `<common-dir>/git-opencode/hook.log`, which `hook status` shows, and the work is bounded
//! by `opencode.hookTimeout` (it runs in a worker process, see `bounded.rs`); what is left
//! is done by the next run.

use super::bounded::{self, Ended};
use super::Hook;
use crate::archive::{self, branch, branch::Outcome};
use crate::config::{self, Ctx, GlobalOptions};
use crate::error;
use crate::git::{Merge, Repo};
use crate::notes;
use crate::redact::Redactor;
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Environment variable that makes the hooks do nothing, once.
pub const SKIP_ENV: &str = "GIT_OPENCODE_SKIP";
/// Every hook run, one line each, in git-opencode's state directory.
pub const LOG_FILE: &str = "hook.log";
/// The last hook run, as JSON, in git-opencode's state directory.
const LAST_RUN_FILE: &str = "hook-last-run.json";

/// The record of the last hook run, if any.
pub fn last_run(repo: &Repo) -> Option<String> {
    std::fs::read_to_string(repo.state_dir().join(LAST_RUN_FILE))
        .ok()
        .map(|text| text.trim().to_owned())
}

/// The last `n` error lines of the hook log, oldest first.
pub fn last_errors(repo: &Repo, n: usize) -> Vec<String> {
    let Ok(log) = std::fs::read_to_string(repo.state_dir().join(LOG_FILE)) else {
        return Vec::new();
    };
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" error: ")).collect();
    errors[errors.len().saturating_sub(n)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
}

/// Runs a hook. Never fails: its work runs in a worker process ([`work`]) that gets at
/// most `opencode.hookTimeout`, whatever blocks it; errors and timeouts go to the hook log
/// and `hook status`.
pub fn run(options: GlobalOptions, hook: Hook, with_notes: bool, args: &[String]) {
    if std::env::var_os(SKIP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    let started = Instant::now();
    // Started first, so that it works while this process reads the timeout.
    let running = worker_command(&options, hook, with_notes, args)
        .map_err(|e| format!("cannot start the hook's work: {e}"))
        .and_then(bounded::start);
    let repo = match Repo::discover() {
        Ok(repo) => repo,
        Err(e) => {
            eprintln!("git-opencode {}: {}", hook.file_name(), error::one_line(&e));
            if let Ok(running) = running {
                running.wait(started + config::DEFAULT_HOOK_TIMEOUT);
            }
            return;
        }
    };
    let timeout = config::hook_timeout(&repo);
    let ended = match running {
        Ok(running) => running.wait(started + timeout),
        Err(message) => Ended::Failed(message),
    };
    let message = match ended {
        // The worker recorded its own run.
        Ended::Finished => return,
        Ended::Failed(message) => message,
        Ended::TimedOut { stage } => format!(
            "stopped after {} s ({}) while {}; the rest is left for the next run",
            timeout.as_secs(),
            config::keys::HOOK_TIMEOUT,
            stage.as_deref().unwrap_or("starting")
        ),
    };
    record(&repo.state_dir(), hook, false, &message, started.elapsed());
}

/// This same program, asked to do the hook's work in-process.
fn worker_command(
    options: &GlobalOptions,
    hook: Hook,
    with_notes: bool,
    args: &[String],
) -> std::io::Result<Command> {
    let mut worker = Command::new(std::env::current_exe()?);
    if let Some(store) = &options.store {
        worker.arg("--store").arg(store);
    }
    worker.args(["hook", "run", "--worker", hook.file_name()]);
    if with_notes {
        worker.arg("--notes");
    }
    worker.args(args);
    Ok(worker)
}

/// A hook's work, in the worker process [`run`] started: records its result in the hook log.
/// Fails only when it cannot find where to record it.
pub fn work(options: GlobalOptions, hook: Hook, with_notes: bool, args: &[String]) -> Result<()> {
    bounded::watch_parent();
    let started = Instant::now();
    bounded::report_stage("reading the repository");
    let ctx = Ctx::new(options)?;
    let result = match hook {
        Hook::PostCommit => post_commit(&ctx, with_notes, started),
        Hook::PrePush => pre_push(&ctx, args),
        // Runs in the hook's process (see `rewrite.rs`), never here.
        Hook::PostRewrite => Ok("nothing to do".to_owned()),
    };
    let (ok, message) = match &result {
        Ok(m) => (true, m.clone()),
        Err(e) => (false, error::one_line(e)),
    };
    record(&ctx.repo.state_dir(), hook, ok, &message, started.elapsed());
    Ok(())
}

/// Appends one line to the hook log and replaces the last-run record.
pub(super) fn record(dir: &Path, hook: Hook, ok: bool, message: &str, elapsed: Duration) {
    let elapsed_ms = elapsed.as_millis() as u64;
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let _ = std::fs::create_dir_all(dir);
    let last = json!({ "hook": hook.file_name(), "time": now, "ms": elapsed_ms, "ok": ok, "message": message });
    let _ = crate::fsutil::write_atomic(&dir.join(LAST_RUN_FILE), format!("{last}\n").as_bytes());
    let level = if ok { "ok" } else { "error" };
    let line = format!(
        "{now} {} {level}: {message} ({elapsed_ms} ms)\n",
        hook.file_name()
    );
    if let Ok(mut log) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(LOG_FILE))
    {
        let _ = log.write_all(line.as_bytes());
    }
}

fn archive_ref(ctx: &Ctx) -> Result<String> {
    archive::resolve_ref(&ctx.repo, None)
}

fn notes_ref(ctx: &Ctx) -> Result<String> {
    notes::resolve_ref(&ctx.repo, None)
}

fn post_commit(ctx: &Ctx, with_notes: bool, started: Instant) -> Result<String> {
    bounded::report_stage(&format!(
        "reading the OpenCode store {}",
        ctx.store_location.db.display()
    ));
    let store = ctx.open_store()?;
    let archive_ref = archive_ref(ctx)?;
    bounded::report_stage(&format!("archiving the sessions to {archive_ref}"));
    let redactor = Redactor::new();
    let (outcome, members) = branch::snapshot_repository(
        ctx,
        &store,
        &branch::Options {
            ref_name: &archive_ref,
            redactor: Some(&redactor),
            // Stop rendering early enough to write what was rendered: at the full timeout
            // the hook stops this process.
            deadline: Some(started + config::hook_timeout(&ctx.repo) * 3 / 4),
        },
    )?;
    let skipped = outcome.skipped().to_vec();
    let mut message = match outcome {
        Outcome::UpToDate {
            commit: None,
            deferred: 0,
            ..
        } => format!("{archive_ref} not written: no sessions to archive"),
        Outcome::UpToDate {
            commit: None,
            deferred,
            ..
        } => format!("{archive_ref} not written yet, {deferred} deferred"),
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
        bounded::report_stage(&format!("noting HEAD in {notes_ref}"));
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
    if !skipped.is_empty() {
        return Err(archive::skipped_error(&skipped, &archive_ref, "archived").context(message));
    }
    Ok(message)
}

fn pre_push(ctx: &Ctx, args: &[String]) -> Result<String> {
    if !config::push_with_code(&ctx.repo) {
        return Ok(format!(
            "{} is not set: nothing to push",
            config::keys::PUSH_WITH_CODE
        ));
    }
    let Some(remote) = args.first() else {
        bail!("pre-push without a remote name");
    };
    let mut synced = Vec::new();
    for (name, merge) in [
        (archive_ref(ctx)?, branch::union as Merge),
        (notes_ref(ctx)?, notes::union),
    ] {
        if ctx.repo.ref_target(&name)?.is_some() {
            bounded::report_stage(&format!("pushing {name} to {remote}"));
            let outcome = ctx.repo.sync_ref(remote, &name, merge)?;
            synced.push(format!("{name} {}", outcome.summary()));
        }
    }
    if synced.is_empty() {
        return Ok(format!(
            "nothing to push to {remote}: no archive or notes yet"
        ));
    }
    Ok(format!("{remote}: {}", synced.join(", ")))
}
