//! The command line, as clap types: the global flags, then one args struct per command,
//! which its `cmd::<command>::run` takes as it is.

use clap::{Args, Parser, Subcommand, ValueEnum};
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
    /// Write sessions as the JSON `opencode export` prints (byte for byte), or as Markdown
    Export(ExportArgs),
    /// Write all of this repository's sessions into one deterministic zip
    Pack(PackArgs),
    /// Commit the sessions to the archive branch (and notes), incrementally; sync with a remote
    PushSessions(PushSessionsArgs),
    /// Install, remove or inspect the post-commit, pre-push and post-rewrite hooks
    Hook(HookArgs),
    /// Put archived sessions back into the local OpenCode store, re-homed to this checkout
    Restore(RestoreArgs),
    /// Compare an archive with the live store: checksums, missing, changed and extra sessions
    Verify(VerifyArgs),
    /// Why sessions seem gone (OpenCode 2.x upgrade, hooks, archive); --fix brings them back.
    /// Exits 0 when nothing needs attention, 1 when something does
    Doctor(DoctorArgs),
    /// Commits like `git log --oneline`, each with the sessions its notes link to it: ID,
    /// title, agent, model, tokens, cost and duration
    Log(LogArgs),
    /// The Markdown transcript of a session, or of every session a commit's note names,
    /// through git's pager; from the store, else the archive branch
    Show(ShowArgs),
    /// Search the conversations of this repository's sessions, in the store and the archive
    /// branch (and its remote-tracking copies): literal by default, -E for a regex
    Search(SearchArgs),
    /// A Markdown summary of the sessions behind a range's commits, for a pull request
    Summary(SummaryArgs),
    /// Print a shell completion script (bash and zsh: also for `git opencode` under git's own
    /// completion)
    Completions(CompletionsArgs),
    /// Delete from the local store the sessions the archive holds exactly; a plan without -f
    Prune(PruneArgs),
    /// Note the commits of a range that have no note yet (squash or rebase merges, cherry-picks)
    /// with the sessions of the noted commits they contain
    Remap(RemapArgs),
    /// Fetch the remote's archive branch and notes and merge them into yours (union by
    /// session), without pushing
    Fetch(FetchArgs),
}

#[derive(Debug, Args)]
pub struct RemapArgs {
    /// The commits to note: A..B, or one commit [default: the current branch since its
    /// upstream, else since the default branch (origin/HEAD, main or master)]
    #[arg(value_name = "RANGE")]
    pub range: Option<String>,

    /// Say which notes would be carried, and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The remote to fetch from [default: the current branch's remote, else origin]
    #[arg(value_name = "REMOTE")]
    pub remote: Option<String>,
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

    /// Write <SESSION>.json (or .md) files into this existing directory instead of standard
    /// output (without SESSION the default is the current directory)
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// json: what `opencode export` prints; markdown: a readable transcript
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,

    /// Markdown only: keep secret-shaped strings (API keys, tokens, private keys) instead of
    /// redacting them; JSON is always written verbatim
    #[arg(long)]
    pub no_redact: bool,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The `opencode export` JSON, byte for byte (`<SESSION>.json`)
    Json,
    /// A readable Markdown transcript (`<SESSION>.md`)
    Markdown,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// Zip file to write, or - for standard output [default: opencode-sessions-<repo>-<id8>-<YYYYMMDD>.zip in the current directory]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace secret-shaped strings (API keys, tokens, private keys) by [REDACTED:<kind>];
    /// without it the pack is a full-fidelity backup that holds them verbatim
    #[arg(long)]
    pub redact: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A zip written by `git opencode pack`, or a ref or commit of the archive branch
    /// (such as refs/heads/opencode/sessions)
    #[arg(value_name = "ZIP|REF")]
    pub source: String,

    /// Say what would be added, updated or kept, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Restore only this session and its subagent sessions; may be repeated or comma-separated
    #[arg(long = "session", value_name = "ID", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub sessions: Vec<String>,

    /// Restore an archive written in another repository (its sessions are filed under this one)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A zip written by `git opencode pack`, or a ref or commit of the archive branch
    /// [default: git config opencode.ref, else refs/heads/opencode/sessions]
    #[arg(value_name = "ZIP|REF")]
    pub source: Option<String>,

    /// Print a JSON report for scripts instead of a summary
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print one JSON object for scripts instead of the report
    #[arg(long)]
    pub json: bool,

    /// Bring this repository's sessions OpenCode 2.x cannot see into session_v2 (stranded
    /// and divergent 1.x copies; misfiled sessions re-pointed), after a backup of the store
    #[arg(long)]
    pub fix: bool,

    /// With --fix: say what would be done, and change nothing
    #[arg(long, requires = "fix")]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for in each line: a literal string, or with -E a regular expression
    pub pattern: String,

    /// Read PATTERN as a regular expression (Rust regex syntax), matched line by line
    #[arg(short = 'E', long)]
    pub extended_regexp: bool,

    /// Ignore case (Unicode case folding)
    #[arg(short, long)]
    pub ignore_case: bool,

    /// Only text written by the user, the assistant, or a tool call (its input and output)
    #[arg(long, value_enum, value_name = "ROLE")]
    pub role: Option<SearchRole>,

    /// Only the input and output of calls to the tool NAME (bash, read, edit, …)
    #[arg(long, value_name = "NAME")]
    pub tool: Option<String>,

    /// Only sessions that changed PATH (a file, or a file under a directory)
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Only sessions last updated at or after DATE: 2026-11-30, "2026-11-30 14:05" (UTC),
    /// or an age such as 3d, 12h, "2 weeks ago"
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,

    /// Only sessions last updated at or before DATE (as for --since)
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,

    /// Print only the IDs of the sessions that match, one a line
    #[arg(short = 'l', long)]
    pub files_with_matches: bool,

    /// Print one JSON object per matching line for scripts
    #[arg(long, conflicts_with = "files_with_matches")]
    pub json: bool,

    /// Highlight matches: auto (on a terminal, unless NO_COLOR is set), always or never
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// Archive branch [default: git config opencode.ref, else refs/heads/opencode/sessions]
    #[arg(long = "ref", value_name = "REF")]
    pub archive_ref: Option<String>,
}

/// Whose text `search --role` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchRole {
    User,
    Assistant,
    Tool,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["older_than", "sessions", "all"])))]
pub struct PruneArgs {
    /// Sessions last updated before this: an age (30d, 2w, 6m, 1y) or a date (2026-01-31,
    /// or RFC 3339 such as 2026-01-31T12:00:00Z)
    #[arg(long, value_name = "AGE|DATE")]
    pub older_than: Option<String>,

    /// This session (with its subagent sessions); may be repeated or comma-separated
    #[arg(long = "session", value_name = "ID", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub sessions: Vec<String>,

    /// Every session of this repository
    #[arg(long)]
    pub all: bool,

    /// The archive to check against: a pack zip, or a ref or commit of the archive branch
    /// [default: git config opencode.ref, else refs/heads/opencode/sessions]
    #[arg(long, value_name = "ZIP|REF")]
    pub from: Option<String>,

    /// Delete (without it prune only prints what it would delete)
    #[arg(short, long)]
    pub force: bool,

    /// Also prune sessions whose archived copy was redacted: their secrets are gone for good
    /// (the backup zip keeps them)
    #[arg(long)]
    pub allow_redacted: bool,

    /// Also prune shared sessions (their share secret, which unsharing needs, is lost)
    #[arg(long)]
    pub include_shared: bool,

    /// Do not write the backup zip of the pruned sessions under <git-common-dir>/git-opencode/pruned/
    #[arg(long)]
    pub no_backup: bool,

    /// Then shrink the database file (SQLite VACUUM; needs free space of twice its size)
    #[arg(long)]
    pub vacuum: bool,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Commits to show, as `git log` takes them (main..HEAD, a branch, a commit…)
    /// [default: HEAD]
    #[arg(value_name = "REVISION RANGE")]
    pub revisions: Vec<String>,

    /// Only commits that changed these paths (given after --)
    #[arg(last = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Show at most this many commits
    #[arg(short = 'n', long, value_name = "N")]
    pub max_count: Option<usize>,

    /// Print JSON for scripts: one object per commit, its linked sessions in `sessions`
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A session ID, or a commit whose git-opencode note names sessions
    #[arg(value_name = "SESSION|COMMIT")]
    pub target: String,

    /// Write to standard output even on a terminal
    #[arg(long)]
    pub no_pager: bool,

    /// Keep secret-shaped strings (API keys, tokens, private keys) instead of redacting them
    #[arg(long)]
    pub no_redact: bool,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Commits to summarize, as `git log` takes them (origin/main..HEAD, …)
    #[arg(value_name = "REVISION RANGE", required = true)]
    pub revisions: Vec<String>,

    /// Append the summary to $GITHUB_STEP_SUMMARY (GitHub Actions) instead of printing it
    #[arg(long)]
    pub github: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

/// A shell `completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

/// Writes clap's completion script for `shell`, for the executable `git-opencode`.
pub fn write_completions(shell: Shell, out: &mut dyn std::io::Write) {
    use clap::CommandFactory;
    use clap_complete::Shell as S;
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
        Shell::Elvish => S::Elvish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "git-opencode", out);
}

#[derive(Debug, Args)]
pub struct PushSessionsArgs {
    /// Also write a note on each commit of --range naming the sessions that produced it
    #[arg(long)]
    pub notes: bool,

    /// Archive branch [default: git config opencode.ref, else refs/heads/opencode/sessions]
    #[arg(long = "ref", value_name = "REF")]
    pub archive_ref: Option<String>,

    /// Notes ref; a short name is under refs/notes/, as for git notes --ref [default: git
    /// config opencode.notesRef, else refs/notes/opencode]
    #[arg(long, value_name = "REF")]
    pub notes_ref: Option<String>,

    /// Commits to annotate with --notes: one revision, or A..B [default: HEAD]
    #[arg(long, value_name = "RANGE", requires = "notes")]
    pub range: Option<String>,

    /// Fetch the remote's archive, merge it (union by session) and push, without force
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,

    /// Keep secret-shaped strings (API keys, tokens, private keys) instead of redacting them
    #[arg(long)]
    pub no_redact: bool,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub action: HookAction,
}

#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Install the hooks where git looks for them (core.hooksPath honoured); default: both
    Install(HookInstallArgs),
    /// Remove git-opencode's lines from the hooks, leaving the rest byte for byte
    Uninstall(HookSelectArgs),
    /// Show which hooks are installed, the last run and the last errors
    Status,
    /// Run a hook's work (called by the installed hooks; always exits 0)
    #[command(hide = true)]
    Run(HookRunArgs),
}

#[derive(Debug, Args)]
pub struct HookSelectArgs {
    /// Only the post-commit hook (snapshot the sessions after every commit)
    #[arg(long)]
    pub post_commit: bool,

    /// Only the pre-push hook (push the archive with the code when opencode.pushWithCode is true)
    #[arg(long)]
    pub pre_push: bool,

    /// Only the post-rewrite hook (carry the notes to amended and rebased commits)
    #[arg(long)]
    pub post_rewrite: bool,
}

#[derive(Debug, Args)]
pub struct HookInstallArgs {
    #[command(flatten)]
    pub select: HookSelectArgs,

    /// Also note each new commit with the sessions that produced it, and install the
    /// post-rewrite hook that carries notes to amended and rebased commits
    #[arg(long)]
    pub notes: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum HookName {
    PostCommit,
    PrePush,
    PostRewrite,
}

impl From<HookName> for crate::hooks::Hook {
    fn from(name: HookName) -> Self {
        match name {
            HookName::PostCommit => crate::hooks::Hook::PostCommit,
            HookName::PrePush => crate::hooks::Hook::PrePush,
            HookName::PostRewrite => crate::hooks::Hook::PostRewrite,
        }
    }
}

#[derive(Debug, Args)]
pub struct HookRunArgs {
    /// Do the work in this process: set on the process `hook run` starts and stops at
    /// opencode.hookTimeout
    #[arg(long, hide = true)]
    pub worker: bool,

    /// Which hook is running
    pub hook: HookName,

    /// Also write the note for the new commit (post-commit)
    #[arg(long)]
    pub notes: bool,

    /// The hook's own arguments (pre-push: remote name and URL; post-rewrite: amend or rebase)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    /// `git opencode --help` opens the man page, so it must document every visible command
    /// and subcommand (`hook install`, …) and every long flag, at any depth.
    #[test]
    fn man_page_documents_every_command_and_long_flag() {
        let man = include_str!("../man/git-opencode.1").replace("\\-", "-");
        let cli = Cli::command();
        let mut missing = Vec::new();
        let mut stack = vec![(String::new(), &cli)];
        while let Some((path, cmd)) = stack.pop() {
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    if !man.contains(&format!("--{long}")) {
                        missing.push(format!("{path} --{long}"));
                    }
                }
            }
            for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
                let name = format!("{path} {}", sub.get_name()).trim().to_owned();
                if !man.contains(&format!(".B {name}")) {
                    missing.push(format!("command {name}"));
                }
                stack.push((name, sub));
            }
        }
        assert!(missing.is_empty(), "not in man/git-opencode.1: {missing:?}");
    }
}
