//! git-opencode: keep, move and link OpenCode agent sessions with git.
//!
//! # Architecture
//!
//! One binary, `git opencode <command>`. A command line goes through four layers; each may
//! use the layers below it and never one above.
//!
//! 1. **Entry.** `main.rs` parses [`cli::Cli`] and prints errors; [`run`] dispatches.
//!    [`cli`] holds the clap types; [`error`] the [`error::UserError`] (message and hints)
//!    that `main` prints as `error:` and `hint:` lines.
//! 2. **Commands** ([`cmd`]): one file per command. Each takes its own args struct and a
//!    [`config::Ctx`], calls the domain, and is the only code that prints to stdout (through
//!    the `out` writer it is given).
//! 3. **Domain**, each concept in one home:
//!    - [`store`]: OpenCode's session store (SQLite and the legacy JSON tree), read-only, as
//!      one model: projects, sessions, export documents.
//!    - [`membership`]: which sessions belong to this repository, under every project-ID rule
//!      OpenCode has used.
//!    - [`archive`]: both archive forms, the pack zip and the archive branch: formats and
//!      manifests, writers, readers, the union merge, the archive ref.
//!    - [`restore`]: writing archived sessions back into a store, and comparing copies
//!      (restore's plan, verify's report, prune's check). The only module that writes to
//!      OpenCode's store, deletions included (`restore::remove`, for prune).
//!    - [`prune`]: which sessions may leave the store (selected in whole families, held
//!      exactly by the archive), the backup zip first; the deleting is `restore::remove`'s.
//!    - [`notes`]: linking commits to the sessions that produced them, as git notes.
//!    - [`hooks`]: the post-commit and pre-push hooks: installing them and their runtime.
//!    - [`doctor`]: why sessions seem gone (the 2.x upgrade, hooks, archive), and the rescue.
//!    - [`history`]: reading the sessions back from the store and the archive (`search`).
//!    - [`transcript`]: Markdown transcripts; [`redact`]: secret-shaped strings out.
//!    - [`history`]: reading the history back (`log`, `show`, `summary`): a session by ID
//!      from the store or the archive branch, the sessions notes link to commits.
//!    - [`config`]: every `git config opencode.*` key, and the [`config::Ctx`] a command
//!      works on (repository, its facts, store location, verbosity), resolved once.
//! 4. **Foundations**: [`git`], the only module that uses gix (repository facts, objects,
//!    refs, notes trees, hooks directory, remotes) and hands out plain data; [`json`]
//!    (JavaScript's `JSON.stringify` bytes) and [`json_pretty`] (stored JSON re-indented
//!    without parsing it); [`fsutil`] (atomic file writes); [`progress`]; [`parallel`] (a
//!    worker pool whose results come back in order); [`pager`] (git's pager and colour rules).
//!
//! Rules a change must keep:
//! - gix is imported only under `git/`, rusqlite only under `store/` and `restore/`, zip only
//!   in `archive/pack.rs`, clap only in `cli.rs` and `main.rs` (commands receive the args
//!   structs as they are).
//! - Nothing below `cmd/` prints to stdout; the domain returns data and the command prints it.
//! - `store` imports no other domain module, and no domain module imports `cmd`.
//! - Bad input fails with a [`error::UserError`] naming the path, ref or session, with a hint
//!   where one helps, before anything is written.
#![warn(clippy::print_stdout)]

pub mod archive;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod deflate;
pub mod doctor;
pub mod error;
pub mod fsutil;
pub mod git;
pub mod history;
pub mod hooks;
pub mod json;
pub mod json_pretty;
pub mod membership;
pub mod notes;
pub mod pager;
pub mod parallel;
pub mod progress;
pub mod prune;
pub mod redact;
pub mod restore;
pub mod store;
pub mod transcript;

use anyhow::{Context, Result};
use cli::{Cli, Command};
use config::{Ctx, GlobalOptions, Verbosity};
use std::io::Write;

/// Runs one parsed command line, writing its results to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    for dir in &cli.chdir {
        std::env::set_current_dir(dir)
            .with_context(|| format!("cannot change to '{}'", dir.display()))?;
    }
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, true) => Verbosity::Verbose,
        (false, false) => Verbosity::Normal,
    };
    let options = GlobalOptions {
        store: cli.store,
        verbosity,
    };
    let result = match &cli.command {
        Command::List(args) => cmd::list::run(&Ctx::new(options)?, args, out),
        Command::Export(args) => cmd::export::run(&Ctx::new(options)?, args, out),
        Command::Pack(args) => cmd::pack::run(&Ctx::new(options)?, args, out),
        Command::PushSessions(args) => cmd::push_sessions::run(&Ctx::new(options)?, args, out),
        // `hook run` must start even where no context can be had: it never fails a commit.
        Command::Hook(args) => cmd::hook::run(options, args, out),
        Command::Restore(args) => cmd::restore::run(&Ctx::new(options)?, args, out),
        Command::Verify(args) => cmd::verify::run(&Ctx::new(options)?, args, out),
        Command::Doctor(args) => cmd::doctor::run(&Ctx::new(options)?, args, out),
        Command::Log(args) => cmd::log::run(&Ctx::new(options)?, args, out),
        Command::Show(args) => cmd::show::run(&Ctx::new(options)?, args, out),
        Command::Summary(args) => cmd::summary::run(&Ctx::new(options)?, args, out),
        // Completions need no repository: they are installed once, from anywhere.
        Command::Completions(args) => cmd::completions::run(args, out),
        Command::Remap(args) => cmd::remap::run(&Ctx::new(options)?, args, out),
        Command::Fetch(args) => cmd::fetch::run(&Ctx::new(options)?, args, out),
        Command::Prune(args) => cmd::prune::run(&Ctx::new(options)?, args, out),
        Command::Search(args) => cmd::search::run(&Ctx::new(options)?, args, out),
    };
    result?;
    out.flush()?;
    Ok(())
}
