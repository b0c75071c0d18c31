//! Notes that survive history (issue 15), with the real git: the post-rewrite hook carries
//! notes over `commit --amend`, `rebase` and `rebase -i` squashes; `remap` carries them to
//! squash- and rebase-merged commits; `fetch` brings a teammate's archive and notes.

use crate::common::git::{git_command, git_now};
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

/// A branch of two commits that two real OpenCode 1.18.34 sessions produced (the second
/// rewrites a line the first wrote), noted by `push-sessions --notes`, lands on main by a
/// squash merge and by a rebase merge: `remap` notes the new commits with the sessions and
/// where they came from; `--dry-run` writes nothing; a second run finds nothing to do.
#[test]
fn remap_carries_notes_to_squash_and_rebase_merges() {
    use crate::common::fake_llm::{script, Step};
    use crate::common::fixtures::{rich_store, Fixture};
    let mut env = rich_store().copy_env();
    let llm = env.start_llm();
    let oc = env.opencode.as_ref().unwrap();
    let dir = env.repo.path.clone();
    env.git(&["checkout", "-q", "-b", "feature"]);
    let first = oc.run(
        &dir,
        &script(&[
            Step::write("feature.txt", "one\ntwo\nthree\n"),
            Step::reply("wrote it"),
        ]),
        &["--title", "First"],
    );
    git_now(&dir, &["add", "feature.txt"]);
    git_now(&dir, &["commit", "-q", "-m", "first"]);
    let f1 = env.repo.head();
    let second = oc.run(
        &dir,
        &script(&[
            Step::read("feature.txt"),
            Step::edit("feature.txt", "two", "TWO"),
            Step::reply("edited it"),
        ]),
        &["--title", "Second"],
    );
    git_now(&dir, &["commit", "-q", "-am", "second"]);
    let f2 = env.repo.head();
    drop(llm);
    env.run(&["push-sessions", "-q", "--notes", "--range", "main..feature"])
        .success();
    assert!(show_note(&env, &f1).contains(&first.session_id));
    assert!(show_note(&env, &f2).contains(&second.session_id));

    // The forge squashes the branch onto a main that moved on.
    env.git(&["checkout", "-q", "main"]);
    commit_file(&env, "other.txt", "main moved on\n");
    let before_merge = env.repo.head();
    env.git(&["merge", "-q", "--squash", "feature"]);
    env.git(&["commit", "-q", "-m", "feature (#1)"]);
    let squash = env.repo.head();
    let scrub = Scrub::new()
        .session(&first.session_id, "first")
        .session(&second.session_id, "second")
        .literal(&f1, "[F1]")
        .literal(&f1[..12], "[F1]")
        .literal(&f2, "[F2]")
        .literal(&f2[..12], "[F2]")
        .literal(&squash[..12], "[SQUASH]");
    let notes_tip = env.git(&["rev-parse", "refs/notes/opencode"]);
    let dry = env.run(&["remap", "--dry-run", "HEAD~1..HEAD"]).success();
    insta::assert_snapshot!(scrub.apply(&dry), @"
    HEAD~1..HEAD: 1 commit(s), 0 with a note already
    carried to [SQUASH] from [F1], [F2] (squash of their branch): [SESSION:second], [SESSION:first]
    dry run: nothing written
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(env.git(&["rev-parse", "refs/notes/opencode"]), notes_tip);
    let out = env.run(&["remap", "HEAD~1..HEAD"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    HEAD~1..HEAD: 1 commit(s), 0 with a note already
    carried to [SQUASH] from [F1], [F2] (squash of their branch): [SESSION:second], [SESSION:first]
    refs/notes/opencode: 1 note(s) written
    [EOF]
    [exit status: 0]
    ");
    let note = show_note(&env, "HEAD");
    assert!(
        note.contains(&format!("carried from {f1} by remap")),
        "{note}"
    );
    assert!(
        note.contains(&format!("carried from {f2} by remap")),
        "{note}"
    );
    assert!(note.contains(&first.session_id) && note.contains(&second.session_id));
    let again = env.run(&["remap", "HEAD~1..HEAD"]).success();
    insta::assert_snapshot!(scrub.apply(&again), @"
    HEAD~1..HEAD: 1 commit(s), 1 with a note already
    [EOF]
    [exit status: 0]
    ");

    // The forge rebases the branch instead (a cherry-pick of each commit, no hook of ours):
    // the default range is the branch since its upstream.
    env.git(&["branch", "base", &before_merge]);
    env.git(&["checkout", "-q", "-b", "landed", "base"]);
    env.git(&["cherry-pick", &f1, &f2]);
    env.git(&["config", "branch.landed.remote", "."]);
    env.git(&["config", "branch.landed.merge", "refs/heads/base"]);
    let (r1, r2) = (env.git(&["rev-parse", "HEAD~1"]), env.repo.head());
    let scrub = scrub
        .literal(&r1.trim()[..12], "[R1]")
        .literal(&r2[..12], "[R2]");
    let out = env.run(&["remap"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    base..HEAD: 2 commit(s), 0 with a note already
    carried to [R2] from [F2] (same patch): [SESSION:second], [SESSION:first]
    carried to [R1] from [F1] (same patch): [SESSION:second], [SESSION:first]
    refs/notes/opencode: 2 note(s) written
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        show_note(&env, "HEAD"),
        format!("{}carried from {f2} by remap\n", show_note(&env, &f2))
    );
    assert_eq!(
        show_note(&env, "HEAD~1"),
        format!("{}carried from {f1} by remap\n", show_note(&env, &f1))
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

/// A squash that is more than the branch (the merger added a line of their own) is no
/// branch's net change: `remap` finds the noted commits whose every changed line it holds,
/// and leaves out one it does not hold.
#[test]
fn remap_finds_the_commits_a_squash_contains() {
    let env = TestEnv::new();
    env.git(&["checkout", "-q", "-b", "feature"]);
    env.repo.write("a.txt", "alpha\nbeta\n");
    let f1 = env.repo.commit_all("a");
    add_note(&env, &f1, &note(&["ses_a"]));
    env.repo.write("b.txt", "gamma\n");
    let f2 = env.repo.commit_all("b");
    add_note(&env, &f2, &note(&["ses_b"]));
    env.git(&["checkout", "-q", "-b", "other", "main"]);
    env.repo.write("a.txt", "something else\n");
    let other = env.repo.commit_all("elsewhere");
    add_note(&env, &other, &note(&["ses_other"]));
    env.git(&["checkout", "-q", "main"]);
    env.git(&["merge", "-q", "--squash", "feature"]);
    env.repo.write("CHANGES", "- a and b\n");
    env.repo
        .commit_all("feature, squashed, with a changelog line");
    let scrub = Scrub::new()
        .literal(&f1[..12], "[F1]")
        .literal(&f2[..12], "[F2]")
        .literal(&env.repo.head()[..12], "[SQUASH]");
    let out = env.run(&["remap", "HEAD"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    HEAD: 1 commit(s), 0 with a note already
    carried to [SQUASH] from [F1], [F2] (contains their changes): ses_a, ses_b
    refs/notes/opencode: 1 note(s) written
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        show_note(&env, "HEAD"),
        format!(
            "{}carried from {f1} by remap\ncarried from {f2} by remap\n",
            note(&["ses_a", "ses_b"])
        )
    );
    // A commit no noted commit went into is named, and left without a note.
    let manual = commit_file(&env, "manual.txt", "by hand\n");
    let scrub = scrub.literal(&manual[..12], "[MANUAL]");
    let out = env.run(&["remap", "HEAD~2..HEAD"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    HEAD~2..HEAD: 2 commit(s), 1 with a note already
    no noted commit found for [MANUAL]
    [EOF]
    [exit status: 0]
    ");
    assert!(!env
        .repo
        .git_output(&["notes", "--ref", "opencode", "show", "HEAD"])
        .status
        .success());
}
