//! `git opencode completions <SHELL>`: clap's completion script for `git-opencode`, and for
//! bash and zsh the glue that makes `git opencode <TAB>` complete under git's own completion.

use crate::cli::{self, CompletionsArgs, Shell};
use anyhow::{Context, Result};
use std::io::Write;

/// git-completion.bash completes `git <cmd>` for a command it does not know by calling
/// `_git_<cmd>`: this one hands the words from `opencode` on to clap's function (its name
/// replaces `CLAP_FUNCTION`), as if `git-opencode` had been typed (global options such as
/// `git -C dir` before it are skipped).
const BASH_GIT: &str = r#"
# `git opencode <TAB>`: git's completion calls _git_opencode for the `opencode` command.
_git_opencode() {
    local i start=-1
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == opencode ]]; then
            start=$i
            break
        fi
    done
    ((start < 0)) && return 0
    local COMP_WORDS=(git-opencode "${COMP_WORDS[@]:start+1}")
    local COMP_CWORD=$((COMP_CWORD - start))
    local COMP_LINE="${COMP_WORDS[*]}"
    local COMP_POINT=${#COMP_LINE}
    CLAP_FUNCTION git-opencode "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
}
"#;

/// git's zsh completion (`_git`) completes a command it does not know by calling
/// `_git-<cmd>` with the words from the command on: clap's `_git-opencode`, autoloaded from a
/// file of that name in `$fpath`, is what it calls. Listing `opencode` among git's commands
/// is the user's `user-commands` style, named in the comment.
const ZSH_GIT: &str = "
# `git opencode <TAB>`: git's _git calls _git-opencode (install this file as _git-opencode
# in a directory of $fpath). To list `opencode` among git's commands too:
#   zstyle ':completion:*:*:git:*' user-commands opencode:'keep and read OpenCode sessions'
";

pub fn run(args: &CompletionsArgs, out: &mut dyn Write) -> Result<()> {
    // clap's generator panics on a write error: write it here, where a closed pipe is none.
    let mut script = Vec::new();
    cli::write_completions(args.shell, &mut script);
    if args.shell == Shell::Bash {
        script = bash_subcommand_names(&String::from_utf8_lossy(&script)).into_bytes();
    }
    out.write_all(&script)?;
    match args.shell {
        Shell::Bash => {
            let script = String::from_utf8_lossy(&script);
            let function = bash_function(&script).context("clap's bash script has no function")?;
            out.write_all(BASH_GIT.replace("CLAP_FUNCTION", function).as_bytes())?;
        }
        Shell::Zsh => out.write_all(ZSH_GIT.as_bytes())?,
        _ => {}
    }
    Ok(())
}

/// clap_complete 4.6 names the states of a hyphenated program's subcommands inconsistently:
/// `git__opencode__subcmd__log` where it sets them, `git__subcmd__opencode__subcmd__log`
/// where it completes them, so nothing after `git-opencode log` would complete. One name.
fn bash_subcommand_names(script: &str) -> String {
    script.replace("git__subcmd__opencode__", "git__opencode__")
}

/// The completion function clap's bash script defines first (`_git__opencode() {`).
fn bash_function(script: &str) -> Option<&str> {
    script
        .lines()
        .find_map(|line| line.strip_suffix("() {"))
        .filter(|name| !name.contains(char::is_whitespace))
}
