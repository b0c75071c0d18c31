//! git-opencode: keep, move and link OpenCode agent sessions with git.
#![warn(clippy::print_stdout)]

pub mod archive;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod error;
pub mod fsutil;
pub mod git;
pub mod hooks;
pub mod json;
pub mod membership;
pub mod notes;
pub mod progress;
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
    };
    result?;
    out.flush()?;
    Ok(())
}
