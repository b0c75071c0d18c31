//! `git opencode completions`: scripts every shell parses, and `git opencode <TAB>` completing
//! under git's own bash completion.

use crate::common::{path_with_our_binary, TestEnv};
use std::process::Command;

/// git's bash completion, as the git package installs it.
const GIT_COMPLETION: &str = "/usr/share/bash-completion/completions/git";

/// What bash completes for the words `line` (the last one being completed) under git's
/// completion with ours loaded.
fn complete(env: &TestEnv, script: &std::path::Path, line: &str) -> String {
    let program = format!(
        r#"source {GIT_COMPLETION}
source {script}
COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
__git_wrap__git_main git "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}" | sort"#,
        script = script.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .current_dir(&env.repo.path)
        .env("PATH", path_with_our_binary())
        .env("HOME", &env.home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_shell_gets_a_script_and_bash_parses_it() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = env.run(&["completions", shell]).success();
        assert!(out.stdout().contains("git-opencode"), "{shell}: {out}");
    }
    let bash = env.root.join("git-opencode.bash");
    std::fs::write(&bash, env.run(&["completions", "bash"]).success().stdout()).unwrap();
    let check = Command::new("bash").arg("-n").arg(&bash).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // zsh: git's _git calls `_git-opencode` for `git opencode`; the file must define it.
    let zsh = env.run(&["completions", "zsh"]).success();
    assert!(zsh.stdout().starts_with("#compdef git-opencode\n"), "{zsh}");
    assert!(zsh.stdout().contains("\n_git-opencode() {\n"), "{zsh}");
    insta::assert_snapshot!(env.run(&["completions", "nushell"]).usage_error(), @"
    [stderr]
    error: invalid value 'nushell' for '<SHELL>'
      [possible values: bash, zsh, fish, powershell, elvish]

    For more information, try '--help'.
    [EOF]
    [exit status: 2]
    ");
}

/// `git opencode <TAB>` under git's bash completion: commands, then each command's flags,
/// also after git's own options; and git lists `opencode` among its commands.
#[test]
fn git_opencode_completes_under_gits_bash_completion() {
    assert!(
        std::path::Path::new(GIT_COMPLETION).exists(),
        "{GIT_COMPLETION} is missing: install git's bash completion (Debian: the git package)"
    );
    let env = TestEnv::new();
    let script = env.root.join("git-opencode.bash");
    std::fs::write(
        &script,
        env.run(&["completions", "bash"]).success().stdout(),
    )
    .unwrap();
    let cases = [
        "git opencode s",
        "git opencode log --j",
        "git -C . opencode sum",
        "git opencode show --no",
        "git opencode hook install --",
        "git ope",
    ];
    let shown: Vec<String> = cases
        .iter()
        .map(|line| {
            format!(
                "{line} → {}",
                complete(&env, &script, line).trim().replace('\n', " ")
            )
        })
        .collect();
    insta::assert_snapshot!(shown.join("\n"), @"
    git opencode s → search show summary
    git opencode log --j → --json
    git -C . opencode sum → summary
    git opencode show --no → --no-pager --no-redact
    git opencode hook install -- → --help --notes --post-commit --post-rewrite --pre-push --quiet --store --verbose
    git ope → opencode
    ");
}
