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
    // A hook must never fail the commit or push it runs in: its errors go to the hook log.
    if let Command::Hook(cli::HookArgs {
        action: cli::HookAction::Run(args),
    }) = &cli.command
    {
        cmd::hook::run(options, args.hook.into(), args.notes, &args.args);
        return Ok(());
    }
    let ctx = Ctx::new(options)?;
    match cli.command {
        Command::List(args) => cmd::list::run(&ctx, args.json, out),
        Command::Export(args) => cmd::export::run(
            &ctx,
            &args.sessions,
            args.output.as_deref(),
            args.format,
            out,
        ),
        Command::Pack(args) => cmd::pack::run(&ctx, args.output.as_deref(), out),
        Command::Restore(args) => {
            cmd::restore::run(&ctx, &args.source, args.dry_run, &args.sessions, out)
        }
        Command::PushSessions(args) => {
            let options = cmd::push_sessions::PushOptions {
                notes: args.notes,
                archive_ref: args.archive_ref,
                notes_ref: args.notes_ref,
                remote: args.remote,
                range: args.range,
                redact: !args.no_redact,
            };
            cmd::push_sessions::run(&ctx, &options, out)
        }
        Command::Hook(args) => match args.action {
            cli::HookAction::Install(a) => cmd::hook::install(
                &ctx,
                &cmd::hook::selected(a.post_commit, a.pre_push),
                a.notes,
                out,
            ),
            cli::HookAction::Uninstall(a) => {
                cmd::hook::uninstall(&ctx, &cmd::hook::selected(a.post_commit, a.pre_push), out)
            }
            cli::HookAction::Status => cmd::hook::status(&ctx, out),
            cli::HookAction::Run(_) => unreachable!("handled before opening the store"),
        },
        Command::Verify(args) => cmd::verify::run(&ctx, args.source.as_deref(), args.json, out),
    }?;
    out.flush()?;
    Ok(())
}
