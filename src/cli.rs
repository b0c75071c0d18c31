//! The command line, as clap types. They stop at this boundary: commands receive plain args.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Keep, move and link OpenCode agent sessions with git.
///
/// Reads OpenCode's session store (read-only) and works on the sessions that belong to the
/// current git repository, found under every project-ID rule OpenCode has used.
#[derive(Debug, Parser)]
#[command(
    name = "git-opencode",
    bin_name = "git opencode",
    version,
    about,
    long_about
)]
pub struct Cli {
    /// Run as if started in <path> (like git -C); may be given more than once
    #[arg(short = 'C', value_name = "path", global = true, action = clap::ArgAction::Append)]
    pub chdir: Vec<PathBuf>,

    /// OpenCode data directory or database file to read
    /// [default: git config opencode.store, else OPENCODE_DB / XDG_DATA_HOME as OpenCode does]
    #[arg(long, value_name = "path", global = true)]
    pub store: Option<PathBuf>,

    /// Say less: no progress and no informational messages
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Say more (for list: also which rule matched each session and its project)
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the sessions that belong to this repository, subagent sessions included
    List(ListArgs),
    /// Write sessions as the JSON `opencode export` prints (byte for byte)
    Export(ExportArgs),
    /// Write all of this repository's sessions into one deterministic zip
    Pack(PackArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON for scripts instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Sessions to export (IDs from `git opencode list`); none: all of this repository's sessions
    #[arg(value_name = "SESSION")]
    pub sessions: Vec<String>,

    /// Write <SESSION>.json files into this existing directory instead of standard output
    /// (without SESSION the default is the current directory)
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// Zip file to write [default: opencode-sessions-<repo>-<id8>-<YYYYMMDD>.zip in the current directory]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    /// `git opencode --help` opens the man page, so it must document every flag.
    #[test]
    fn man_page_documents_every_long_flag() {
        let man = include_str!("../man/git-opencode.1").replace("\\-", "-");
        let cli = Cli::command();
        let mut missing = Vec::new();
        for cmd in std::iter::once(&cli).chain(cli.get_subcommands()) {
            for arg in cmd.get_arguments() {
                if let Some(long) = arg.get_long() {
                    if !man.contains(&format!("--{long}")) {
                        missing.push(format!("{} --{long}", cmd.get_name()));
                    }
                }
            }
            if cmd.get_name() != cli.get_name() && !man.contains(&format!(".B {}", cmd.get_name()))
            {
                missing.push(format!("command {}", cmd.get_name()));
            }
        }
        assert!(missing.is_empty(), "not in man/git-opencode.1: {missing:?}");
    }
}
