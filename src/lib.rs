//! git-opencode: keep, move and link OpenCode agent sessions with git.
#![warn(clippy::print_stdout)]

pub mod archive;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod export;
pub mod fsutil;
pub mod jsjson;
pub mod membership;
pub mod progress;
pub mod repo;
pub mod store;

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
    let ctx = Ctx::new(GlobalOptions {
        store: cli.store,
        verbosity,
    })?;
    match cli.command {
        Command::List(args) => cmd::list::run(&ctx, args.json, out),
        Command::Export(args) => {
            cmd::export::run(&ctx, &args.sessions, args.output.as_deref(), out)
        }
        Command::Pack(args) => cmd::pack::run(&ctx, args.output.as_deref(), out),
    }?;
    out.flush()?;
    Ok(())
}
