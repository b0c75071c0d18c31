//! Notes that survive history (issue 15), with the real git: the post-rewrite hook carries
//! notes over `commit --amend`, `rebase` and `rebase -i` squashes; `remap` carries them to
//! squash- and rebase-merged commits; `fetch` brings a teammate's archive and notes.

use crate::common::git::git_command;
use crate::common::{make_executable, path_with_our_binary, run, CommandOutput, Scrub, TestEnv};

const HEADER: &str = "OpenCode sessions (git-opencode):";

/// A note as git-opencode writes it, naming `sessions`.
fn note(sessions: &[&str]) -> String {
    let mut text = format!("{HEADER}\n");
    for id in sessions {
        text.push_str(&format!(
            "- {id} Work on {id}\n  model: mock/mock-1; tokens: 1 in, 2 out; archive: refs/heads/opencode/sessions:sessions/2024-01/{id}/\n"
        ));
    }
    text
}

/// Real git with our binary on PATH (so the hooks run it), in the env's repo.
fn git_hooked(env: &TestEnv, args: &[&str], extra_env: &[(&str, &str)]) -> CommandOutput {
    let mut cmd = git_command(&env.repo.path);
    cmd.args(args)
        .env("PATH", path_with_our_binary())
        .env("HOME", &env.home)
        .env("XDG_DATA_HOME", &env.data_home)
        .envs(extra_env.iter().copied());
    run(cmd).success()
}

fn show_note(env: &TestEnv, rev: &str) -> String {
    env.git(&["notes", "--ref", "opencode", "show", rev])
}

fn add_note(env: &TestEnv, rev: &str, text: &str) {
    env.git(&[
        "notes",
        "--ref",
        "opencode",
        "add",
        "-f",
        "-m",
        text.trim_end(),
        rev,
    ]);
}

fn commit_file(env: &TestEnv, name: &str, content: &str) -> String {
    env.repo.write(name, content);
    env.repo.commit_all(&format!("add {name}"))
}

fn hook(env: &TestEnv, name: &str) -> std::path::PathBuf {
    env.repo.path.join(".git/hooks").join(name)
}

/// The post-rewrite hook carries notes over an amend, a rebase onto a new base and a
/// `rebase -i` squash (the union of both notes), whatever `notes.rewriteRef` and
/// `GIT_OPENCODE_SKIP` say; the user's own post-rewrite hook keeps running, with its input,
/// and comes back byte for byte.
#[test]
fn the_post_rewrite_hook_carries_notes_over_amend_rebase_and_squash() {
    let env = TestEnv::new();
    let user_hook = "#!/bin/sh\n# my own\ncat >> \"$(git rev-parse --git-dir)/user-rewritten\"\n";
    std::fs::write(hook(&env, "post-rewrite"), user_hook).unwrap();
    make_executable(&hook(&env, "post-rewrite"));

    insta::assert_snapshot!(env.run(&["hook", "install", "--notes"]).success(), @"
    installed $TEST_ENV/repo/.git/hooks/post-commit
    installed $TEST_ENV/repo/.git/hooks/pre-push
    installed $TEST_ENV/repo/.git/hooks/post-rewrite
    [EOF]
    [exit status: 0]
    ");
    insta::assert_snapshot!(env.run(&["hook", "install", "--notes"]).success(), @"
    already installed $TEST_ENV/repo/.git/hooks/post-commit
    already installed $TEST_ENV/repo/.git/hooks/pre-push
    already installed $TEST_ENV/repo/.git/hooks/post-rewrite
    [EOF]
    [exit status: 0]
    ");

    // Amend.
    let a = commit_file(&env, "a.txt", "a\n");
    add_note(&env, &a, &note(&["ses_a"]));
    git_hooked(
        &env,
        &["commit", "-q", "--amend", "-m", "add a.txt, amended"],
        &[],
    );
    let amended = env.repo.head();
    assert_ne!(amended, a);
    assert_eq!(show_note(&env, "HEAD"), note(&["ses_a"]));
    let seen = std::fs::read_to_string(env.repo.path.join(".git/user-rewritten")).unwrap();
    assert_eq!(
        seen,
        format!("{a} {amended}\n"),
        "the user's hook got git's input"
    );

    // Rebase onto a new base.
    env.git(&["checkout", "-q", "-b", "feature"]);
    let f1 = commit_file(&env, "f1.txt", "one\n");
    add_note(&env, &f1, &note(&["ses_1"]));
    let f2 = commit_file(&env, "f2.txt", "two\n");
    add_note(&env, &f2, &note(&["ses_2"]));
    env.git(&["checkout", "-q", "main"]);
    commit_file(&env, "main.txt", "main moved on\n");
    env.git(&["checkout", "-q", "feature"]);
    // GIT_OPENCODE_SKIP skips snapshots, never the note copy.
    git_hooked(
        &env,
        &["rebase", "-q", "main"],
        &[("GIT_OPENCODE_SKIP", "1")],
    );
    assert_ne!(env.repo.head(), f2);
    assert_eq!(show_note(&env, "HEAD~1"), note(&["ses_1"]));
    assert_eq!(show_note(&env, "HEAD"), note(&["ses_2"]));

    // `rebase -i` squashing both into one: the union.
    git_hooked(
        &env,
        &["rebase", "-q", "-i", "main"],
        &[
            ("GIT_SEQUENCE_EDITOR", "sed -i -e 2s/^pick/squash/"),
            ("GIT_EDITOR", "true"),
        ],
    );
    assert_eq!(env.git(&["rev-list", "--count", "main..HEAD"]).trim(), "1");
    insta::assert_snapshot!(show_note(&env, "HEAD"), @"
    OpenCode sessions (git-opencode):
    - ses_1 Work on ses_1
      model: mock/mock-1; tokens: 1 in, 2 out; archive: refs/heads/opencode/sessions:sessions/2024-01/ses_1/
    - ses_2 Work on ses_2
      model: mock/mock-1; tokens: 1 in, 2 out; archive: refs/heads/opencode/sessions:sessions/2024-01/ses_2/
    ");

    // git copying too (notes.rewriteRef, "concatenate"): still one note, no duplicates.
    env.git(&["config", "notes.rewriteRef", "refs/notes/opencode"]);
    git_hooked(&env, &["commit", "-q", "--amend", "-m", "squashed"], &[]);
    assert_eq!(show_note(&env, "HEAD"), note(&["ses_1", "ses_2"]));
    env.git(&["config", "--unset", "notes.rewriteRef"]);

    let status = env.run(&["hook", "status"]).success();
    insta::assert_snapshot!(Scrub::new().apply(&status), @r#"
    hooks directory: $TEST_ENV/repo/.git/hooks
    post-commit: installed
    pre-push: installed
    post-rewrite: installed
    notes over amend and rebase: carried by the post-rewrite hook (refs/notes/opencode)
    opencode.pushWithCode: false
    last run: {"hook":"post-rewrite","time":"[TIME]","ms":[DURATION],"ok":true,"message":"amend: 1 commit(s) rewritten, 0 note(s) carried in refs/notes/opencode"}
    last errors ($TEST_ENV/repo/.git/git-opencode/hook.log):
      [TIME] post-commit error: no OpenCode session store at $TEST_ENV/data/opencode/opencode.db hint: run opencode in this repository first, or point at a store with --store <path> ([DURATION])
      [TIME] post-commit error: no OpenCode session store at $TEST_ENV/data/opencode/opencode.db hint: run opencode in this repository first, or point at a store with --store <path> ([DURATION])
      [TIME] post-commit error: no OpenCode session store at $TEST_ENV/data/opencode/opencode.db hint: run opencode in this repository first, or point at a store with --store <path> ([DURATION])
    [EOF]
    [exit status: 0]
    "#);

    insta::assert_snapshot!(env.run(&["hook", "uninstall"]).success(), @"
    removed $TEST_ENV/repo/.git/hooks/post-commit
    removed $TEST_ENV/repo/.git/hooks/pre-push
    uninstalled from $TEST_ENV/repo/.git/hooks/post-rewrite
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        std::fs::read_to_string(hook(&env, "post-rewrite")).unwrap(),
        user_hook,
        "the user's hook, byte for byte"
    );
    let status = env.run(&["hook", "status"]).success();
    assert!(
        status
            .stdout()
            .contains("notes over amend and rebase: not carried"),
        "{status}"
    );
    env.git(&["fsck", "--strict"]);
}

/// A teammate's fresh clone gets the archive branch and the notes with `fetch`, merged with
/// what it has (union), and nothing is pushed.
#[test]
fn fetch_brings_the_archive_and_notes_into_a_fresh_clone_without_pushing() {
    use crate::common::fixtures::{rich_store, Fixture};
    use crate::common::git::git_in;
    let env = rich_store().copy_env();
    env.run(&["push-sessions", "-q"]).success();
    add_note(&env, "HEAD", &note(&["ses_mine"]));
    let bare = env.root.join("remote.git");
    let fresh = env.root.join("fresh");
    let (repo, bare_s, fresh_s) = (
        env.repo.path.to_str().unwrap(),
        bare.to_str().unwrap(),
        fresh.to_str().unwrap(),
    );
    git_in(&env.root, &["clone", "-q", "--mirror", repo, bare_s]);
    git_in(&env.root, &["clone", "-q", bare_s, fresh_s]);
    let remote_refs = || git_in(&bare, &["for-each-ref"]);
    let before = remote_refs();
    let scrub = Scrub::new();

    let out = env.run_in(&fresh, &["fetch"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    origin refs/heads/opencode/sessions: fast-forwarded to [COMMIT]
    origin refs/notes/opencode: fast-forwarded to [COMMIT]
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        git_in(&fresh, &["notes", "--ref", "opencode", "show", "HEAD"]),
        note(&["ses_mine"])
    );
    assert_eq!(
        git_in(&fresh, &["rev-parse", "refs/heads/opencode/sessions"]),
        env.git(&["rev-parse", "refs/heads/opencode/sessions"])
    );

    // Both sides add notes: the next fetch merges them, still pushing nothing.
    add_note(&env, "HEAD", &note(&["ses_mine", "ses_theirs"]));
    env.git(&["push", "-q", bare_s, "refs/notes/opencode"]);
    assert_ne!(remote_refs(), before);
    let before = remote_refs();
    std::fs::write(fresh.join("mine.txt"), "x\n").unwrap();
    git_in(&fresh, &["add", "mine.txt"]);
    git_in(&fresh, &["commit", "-q", "-m", "mine"]);
    git_in(
        &fresh,
        &[
            "notes",
            "--ref",
            "opencode",
            "add",
            "-m",
            "local note",
            "HEAD",
        ],
    );
    let out = env.run_in(&fresh, &["fetch", "origin"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    origin refs/heads/opencode/sessions: up to date
    origin refs/notes/opencode: merged into [COMMIT] (union by session)
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        git_in(&fresh, &["notes", "--ref", "opencode", "show", "HEAD~1"]),
        note(&["ses_mine", "ses_theirs"])
    );
    assert_eq!(
        git_in(&fresh, &["notes", "--ref", "opencode", "show", "HEAD"]),
        "local note\n"
    );
    let out = env.run_in(&fresh, &["fetch"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    origin refs/heads/opencode/sessions: up to date
    origin refs/notes/opencode: up to date; yours has commits the remote lacks
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(remote_refs(), before, "fetch pushed nothing");

    let bad = env.run_in(&fresh, &["fetch", "nosuch"]).failure();
    insta::assert_snapshot!(bad, @"
    [stderr]
    error: no such remote 'nosuch'
    hint: `git remote -v` lists the remotes of this repository
    [EOF]
    [exit status: 1]
    ");
    git_in(&fresh, &["fsck", "--strict"]);
}
