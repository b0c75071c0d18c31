//! Acceptance of the git hooks: install/uninstall keep the user's hook byte for byte, the
//! post-commit hook archives the sessions, and nothing the hook meets breaks a commit or a
//! push (real git runs the hooks).

use crate::common::fixtures::{rich_store, Fixture};
use crate::common::git::{git_command, git_in};
use crate::common::{make_executable, path_with_our_binary, run, CommandOutput, Scrub, TestEnv};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ARCHIVE: &str = "refs/heads/opencode/sessions";

/// Real git with our binary on PATH and the env's OpenCode store, as a user's shell has.
fn git_with_hooks(
    env: &TestEnv,
    dir: &Path,
    data_home: &Path,
) -> impl Fn(&[&str]) -> CommandOutput {
    let (env_home, dir, data_home) = (env.home.clone(), dir.to_path_buf(), data_home.to_path_buf());
    move |args: &[&str]| run(git_command_with_hooks(&env_home, &dir, &data_home, args))
}

/// The command [`git_with_hooks`] runs.
fn git_command_with_hooks(home: &Path, dir: &Path, data_home: &Path, args: &[&str]) -> Command {
    let mut cmd = git_command(dir);
    cmd.args(args)
        .env("PATH", path_with_our_binary())
        .env("HOME", home)
        .env("XDG_DATA_HOME", data_home);
    cmd
}

/// Runs `cmd` to completion and says how long it took; fails the test, rather than hanging
/// it, when `cmd` is still running after `limit`. Output goes through files: a process a
/// hook leaves behind could hold a pipe open.
fn timed(env: &TestEnv, mut cmd: Command, limit: Duration) -> (CommandOutput, Duration) {
    let out_path = env.root.join("timed.stdout");
    let err_path = env.root.join("timed.stderr");
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let output = std::process::Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    (CommandOutput::new(output), took)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Lock files left under the git dir (a stopped hook must leave none).
fn lock_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            found.extend(lock_files(&path));
        } else if path.extension().is_some_and(|e| e == "lock") {
            found.push(path);
        }
    }
    found
}

fn hook_path(env: &TestEnv, name: &str) -> PathBuf {
    env.repo.path.join(".git/hooks").join(name)
}

#[test]
fn install_commit_uninstall_keeps_the_users_hook() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    let user_hook = "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/user-hook-ran\"\n";
    std::fs::write(hook_path(&env, "post-commit"), user_hook).unwrap();
    make_executable(&hook_path(&env, "post-commit"));

    insta::assert_snapshot!(env.run(&["hook", "install"]).success(), @"
    installed $TEST_ENV/repo/.git/hooks/post-commit
    installed $TEST_ENV/repo/.git/hooks/pre-push
    [EOF]
    [exit status: 0]
    ");
    let installed = std::fs::read(hook_path(&env, "post-commit")).unwrap();
    insta::assert_snapshot!(env.run(&["hook", "install"]).success(), @"
    already installed $TEST_ENV/repo/.git/hooks/post-commit
    already installed $TEST_ENV/repo/.git/hooks/pre-push
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        std::fs::read(hook_path(&env, "post-commit")).unwrap(),
        installed,
        "install twice"
    );
    assert!(hook_path(&env, "pre-push").is_file());

    let git = git_with_hooks(&env, &env.repo.path, &env.data_home);
    std::fs::write(env.repo.path.join("change.txt"), "x\n").unwrap();
    git(&["add", "change.txt"]).success();
    git(&["commit", "-q", "-m", "a change"]).success();
    assert!(
        env.repo.path.join(".git/user-hook-ran").is_file(),
        "the user's hook still runs"
    );
    let files = env.git(&["ls-tree", "-r", "--name-only", ARCHIVE]);
    assert!(
        files.contains(&format!("/{}/session.json", store.tools)),
        "{files}"
    );
    let status = env.run(&["hook", "status"]).success();
    insta::assert_snapshot!(scrub.apply(&status), @r#"
    hooks directory: $TEST_ENV/repo/.git/hooks
    post-commit: installed
    pre-push: installed
    post-rewrite: not installed
    notes over amend and rebase: not carried (refs/notes/opencode); `git opencode hook install --notes` carries them
    opencode.pushWithCode: false
    last run: {"hook":"post-commit","time":"[TIME]","ms":[DURATION],"ok":true,"message":"refs/heads/opencode/sessions: 5 added, 0 updated, 0 deferred"}
    [EOF]
    [exit status: 0]
    "#);

    // A second commit with nothing new in OpenCode: no new archive commit.
    let tip = env.git(&["rev-parse", ARCHIVE]);
    std::fs::write(env.repo.path.join("change.txt"), "y\n").unwrap();
    git(&["commit", "-q", "-am", "another change"]).success();
    assert_eq!(env.git(&["rev-parse", ARCHIVE]), tip);

    insta::assert_snapshot!(env.run(&["hook", "uninstall"]).success(), @"
    uninstalled from $TEST_ENV/repo/.git/hooks/post-commit
    removed $TEST_ENV/repo/.git/hooks/pre-push
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        std::fs::read_to_string(hook_path(&env, "post-commit")).unwrap(),
        user_hook
    );
    assert!(
        !hook_path(&env, "pre-push").exists(),
        "the hook we created is removed"
    );
}

#[test]
fn hooks_path_and_linked_worktrees_are_honoured() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    env.git(&["config", "core.hooksPath", ".githooks"]);
    let out = env.run(&["hook", "install", "--post-commit"]);
    insta::assert_snapshot!(out.success(), @"
    installed $TEST_ENV/repo/.githooks/post-commit
    [EOF]
    [exit status: 0]
    ");
    assert!(env.repo.path.join(".githooks/post-commit").is_file());
    assert!(
        !env.repo.path.join(".githooks/pre-push").exists(),
        "only the hook asked for"
    );
    let git = git_with_hooks(&env, &env.repo.path, &env.data_home);
    std::fs::write(env.repo.path.join("a.txt"), "a\n").unwrap();
    git(&["add", "a.txt"]).success();
    git(&["commit", "-q", "-m", "with hooksPath"]).success();
    assert!(!env.git(&["rev-parse", ARCHIVE]).is_empty());
    env.git(&["config", "--unset", "core.hooksPath"]);

    // From a linked worktree: hooks go to the common hooks dir; the commit there archives.
    let wt = env.add_linked_worktree();
    let out = env.run_in(&wt, &["hook", "install", "--post-commit"]);
    insta::assert_snapshot!(out.success(), @"
    installed $TEST_ENV/repo/.git/hooks/post-commit
    [EOF]
    [exit status: 0]
    ");
    let before = env.git(&["rev-parse", ARCHIVE]);
    std::fs::remove_dir_all(env.data_home.join("opencode/storage")).ok();
    let git = git_with_hooks(&env, &wt, &env.data_home);
    std::fs::write(wt.join("b.txt"), "b\n").unwrap();
    git(&["add", "b.txt"]).success();
    git(&["commit", "-q", "-m", "in the worktree"]).success();
    let status = env.run_in(&wt, &["hook", "status"]).success();
    insta::assert_snapshot!(scrub.apply(&status), @r#"
    hooks directory: $TEST_ENV/repo/.git/hooks
    post-commit: installed
    pre-push: not installed
    post-rewrite: not installed
    notes over amend and rebase: not carried (refs/notes/opencode); `git opencode hook install --notes` carries them
    opencode.pushWithCode: false
    last run: {"hook":"post-commit","time":"[TIME]","ms":[DURATION],"ok":true,"message":"refs/heads/opencode/sessions up to date, 0 deferred"}
    [EOF]
    [exit status: 0]
    "#);
    assert_eq!(
        env.git(&["rev-parse", ARCHIVE]),
        before,
        "nothing new to archive"
    );
}

#[test]
fn a_broken_store_never_breaks_a_commit() {
    let env = rich_store().copy_env();
    env.run(&["hook", "install"]).success();
    let commit = |git: &dyn Fn(&[&str]) -> CommandOutput, name: &str| {
        std::fs::write(env.repo.path.join(name), name).unwrap();
        git(&["add", name]).success();
        git(&["commit", "-q", "-m", name]).success();
        assert!(env.git(&["log", "-1", "--format=%s"]).trim() == name);
    };
    let status = || Scrub::new().apply(env.run(&["hook", "status"]).success());

    // No store at all.
    let missing = env.root.join("nothing-here");
    commit(
        &git_with_hooks(&env, &env.repo.path, &missing),
        "missing.txt",
    );
    insta::assert_snapshot!(status(), @r#"
    hooks directory: $TEST_ENV/repo/.git/hooks
    post-commit: installed
    pre-push: installed
    post-rewrite: not installed
    notes over amend and rebase: not carried (refs/notes/opencode); `git opencode hook install --notes` carries them
    opencode.pushWithCode: false
    last run: {"hook":"post-commit","time":"[TIME]","ms":[DURATION],"ok":false,"message":"no OpenCode session store at $TEST_ENV/nothing-here/opencode/opencode.db hint: run opencode in this repository first, or point at a store with --store <path>"}
    last errors ($TEST_ENV/repo/.git/git-opencode/hook.log):
      [TIME] post-commit error: no OpenCode session store at $TEST_ENV/nothing-here/opencode/opencode.db hint: run opencode in this repository first, or point at a store with --store <path> ([DURATION])
    [EOF]
    [exit status: 0]
    "#);

    // A corrupt database.
    let corrupt = env.root.join("corrupt");
    std::fs::create_dir_all(corrupt.join("opencode")).unwrap();
    std::fs::write(corrupt.join("opencode/opencode.db"), vec![7u8; 8192]).unwrap();
    commit(
        &git_with_hooks(&env, &env.repo.path, &corrupt),
        "corrupt.txt",
    );
    insta::assert_snapshot!(status(), @r#"
    hooks directory: $TEST_ENV/repo/.git/hooks
    post-commit: installed
    pre-push: installed
    post-rewrite: not installed
    notes over amend and rebase: not carried (refs/notes/opencode); `git opencode hook install --notes` carries them
    opencode.pushWithCode: false
    last run: {"hook":"post-commit","time":"[TIME]","ms":[DURATION],"ok":false,"message":"$TEST_ENV/corrupt/opencode/opencode.db is not an SQLite database: file is not a database hint: point --store at OpenCode's data directory or opencode.db"}
    last errors ($TEST_ENV/repo/.git/git-opencode/hook.log):
      [TIME] post-commit error: no OpenCode session store at $TEST_ENV/nothing-here/opencode/opencode.db hint: run opencode in this repository first, or point at a store with --store <path> ([DURATION])
      [TIME] post-commit error: $TEST_ENV/corrupt/opencode/opencode.db is not an SQLite database: file is not a database hint: point --store at OpenCode's data directory or opencode.db ([DURATION])
    [EOF]
    [exit status: 0]
    "#);

    // A database locked by another writer (exclusive locking mode keeps everyone out).
    let db = env.data_home.join("opencode/opencode.db");
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder
        .execute_batch(
            "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; CREATE TABLE lock_holder (x);",
        )
        .unwrap();
    commit(
        &git_with_hooks(&env, &env.repo.path, &env.data_home),
        "locked.txt",
    );
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    // SQLite says "locked" or "busy", depending on where the hook met the lock.
    let s = status();
    assert!(s.contains("locked") || s.contains("busy"), "{s}");

    // Skipped once on request: no run recorded.
    let before =
        std::fs::read_to_string(env.repo.path.join(".git/git-opencode/hook-last-run.json"))
            .unwrap();
    let git = git_with_hooks(&env, &env.repo.path, &env.data_home);
    std::fs::write(env.repo.path.join("skip.txt"), "s").unwrap();
    git(&["add", "skip.txt"]).success();
    let mut skipped = git_command(&env.repo.path);
    skipped
        .args(["commit", "-q", "-m", "skipped"])
        .env("GIT_OPENCODE_SKIP", "1")
        .env("PATH", path_with_our_binary());
    run(skipped).success();
    let after = std::fs::read_to_string(env.repo.path.join(".git/git-opencode/hook-last-run.json"))
        .unwrap();
    assert_eq!(before, after);
}

/// A damaged row of one session: the commit goes through, the other sessions are archived,
/// and the log names the damaged session.
#[test]
fn a_damaged_session_is_logged_and_the_others_archived() {
    let store = rich_store();
    let env = store.copy_env();
    let part = crate::bad_input::break_a_part(&env, &store.plain);
    env.run(&["hook", "install"]).success();
    let git = git_with_hooks(&env, &env.repo.path, &env.data_home);
    std::fs::write(env.repo.path.join("d.txt"), "d\n").unwrap();
    git(&["add", "d.txt"]).success();
    git(&["commit", "-q", "-m", "d"]).success();
    assert_eq!(env.git(&["log", "-1", "--format=%s"]).trim(), "d");
    let tree = env.git(&["ls-tree", "-r", "--name-only", ARCHIVE]);
    assert_eq!(
        tree.matches("/session.json").count(),
        store.sessions().len() - 1
    );
    let scrub = Scrub::of(store).literal(&part, "[PART:broken]");
    insta::assert_snapshot!(scrub.apply(env.run(&["hook", "status"]).success()), @r#"
    hooks directory: $TEST_ENV/repo/.git/hooks
    post-commit: installed
    pre-push: installed
    post-rewrite: not installed
    notes over amend and rebase: not carried (refs/notes/opencode); `git opencode hook install --notes` carries them
    opencode.pushWithCode: false
    last run: {"hook":"post-commit","time":"[TIME]","ms":[DURATION],"ok":false,"message":"refs/heads/opencode/sessions: 4 added, 0 updated, 0 deferred: 1 session of this repository could not be read and was left out of refs/heads/opencode/sessions: session [SESSION:plain] (failed to read session [SESSION:plain]: part [PART:broken] of session [SESSION:plain] in $TEST_ENV/opencode/data/opencode/opencode.db: data is not valid UTF-8 (invalid byte at offset 23)) hint: the store has a damaged row or file, named above; every other session was archived"}
    last errors ($TEST_ENV/repo/.git/git-opencode/hook.log):
      [TIME] post-commit error: refs/heads/opencode/sessions: 4 added, 0 updated, 0 deferred: 1 session of this repository could not be read and was left out of refs/heads/opencode/sessions: session [SESSION:plain] (failed to read session [SESSION:plain]: part [PART:broken] of session [SESSION:plain] in $TEST_ENV/opencode/data/opencode/opencode.db: data is not valid UTF-8 (invalid byte at offset 23)) hint: the store has a damaged row or file, named above; every other session was archived ([DURATION])
    [EOF]
    [exit status: 0]
    "#);
}

#[test]
fn pre_push_pushes_the_archive_with_the_code() {
    let env = rich_store().copy_env();
    let bare = env.root.join("remote.git");
    git_in(&env.root, &["init", "-q", "--bare", bare.to_str().unwrap()]);
    env.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    env.git(&["config", "opencode.pushWithCode", "true"]);
    env.run(&["hook", "install"]).success();
    let git = git_with_hooks(&env, &env.repo.path, &env.data_home);
    std::fs::write(env.repo.path.join("c.txt"), "c\n").unwrap();
    git(&["add", "c.txt"]).success();
    git(&["commit", "-q", "-m", "code"]).success();
    git(&["push", "-q", "origin", "main"]).success();
    let remote_refs = git_in(&bare, &["show-ref"]);
    assert!(
        remote_refs.contains("refs/heads/main") && remote_refs.contains(ARCHIVE),
        "{remote_refs}"
    );
    assert_eq!(
        git_in(&bare, &["rev-parse", ARCHIVE]),
        env.git(&["rev-parse", ARCHIVE])
    );

    // A remote that refuses the archive: the user's push still succeeds.
    let strict = env.root.join("strict.git");
    git_in(
        &env.root,
        &["init", "-q", "--bare", strict.to_str().unwrap()],
    );
    let update = strict.join("hooks/update");
    std::fs::write(
        &update,
        "#!/bin/sh\ncase \"$1\" in refs/heads/opencode/*) echo no archives >&2; exit 1;; esac\n",
    )
    .unwrap();
    make_executable(&update);
    env.git(&["remote", "add", "strict", strict.to_str().unwrap()]);
    git(&["push", "-q", "strict", "main"]).success();
    let refs = git_in(&strict, &["show-ref"]);
    assert!(
        refs.contains("refs/heads/main") && !refs.contains(ARCHIVE),
        "{refs}"
    );
    let status = env.run(&["hook", "status"]).success();
    insta::assert_snapshot!(Scrub::new().apply(&status), @r#"
    hooks directory: $TEST_ENV/repo/.git/hooks
    post-commit: installed
    pre-push: installed
    post-rewrite: not installed
    notes over amend and rebase: not carried (refs/notes/opencode); `git opencode hook install --notes` carries them
    opencode.pushWithCode: true
    last run: {"hook":"pre-push","time":"[TIME]","ms":[DURATION],"ok":false,"message":"failed to push refs/heads/opencode/sessions: the remote 'strict' rejected refs/heads/opencode/sessions: !\trefs/heads/opencode/sessions:refs/heads/opencode/sessions\t[remote rejected] (hook declined)"}
    last errors ($TEST_ENV/repo/.git/git-opencode/hook.log):
      [TIME] pre-push error: failed to push refs/heads/opencode/sessions: the remote 'strict' rejected refs/heads/opencode/sessions: !	refs/heads/opencode/sessions:refs/heads/opencode/sessions	[remote rejected] (hook declined) ([DURATION])
    [EOF]
    [exit status: 0]
    "#);
}

/// Hooks owned by a hook manager are left alone, with the line to add to its configuration.
#[test]
fn hook_managers_get_the_line_to_add() {
    let env = TestEnv::new();
    env.git(&["config", "core.hooksPath", ".husky/_"]);
    let out = env.run(&["hook", "install", "--post-commit"]);
    insta::assert_snapshot!(out.failure(), @"
    [stderr]
    error: the post-commit hook in $TEST_ENV/repo/.husky/_ is managed by husky; git-opencode leaves it alone
    hint: add this line to .husky/post-commit: git opencode hook run post-commit
    [EOF]
    [exit status: 1]
    ");
    assert!(!env.repo.path.join(".husky").exists(), "nothing written");

    env.git(&["config", "--unset", "core.hooksPath"]);
    let lefthook = "#!/bin/sh\n# lefthook hook\nexec lefthook run post-commit \"$@\"\n";
    std::fs::write(hook_path(&env, "post-commit"), lefthook).unwrap();
    insta::assert_snapshot!(env.run(&["hook", "install"]).failure(), @"
    [stderr]
    error: the post-commit hook in $TEST_ENV/repo/.git/hooks is managed by lefthook; git-opencode leaves it alone
    hint: add to lefthook.yml under post-commit: commands: git-opencode: run: git opencode hook run post-commit
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(
        std::fs::read_to_string(hook_path(&env, "post-commit")).unwrap(),
        lefthook
    );
}

/// git keeps notes on amended or rebased commits only for refs named by `notes.rewriteRef`;
/// `hook install --notes` installs the post-rewrite hook that carries them instead, and
/// `hook status` says what carries them, if anything.
#[test]
fn notes_hook_says_how_notes_survive_rewrites() {
    let env = rich_store().copy_env();
    let carried = |env: &TestEnv| {
        let status = env.run(&["hook", "status"]).success();
        status
            .stdout()
            .lines()
            .find(|l| l.starts_with("notes over amend and rebase:"))
            .unwrap_or_else(|| panic!("{status}"))
            .to_owned()
    };
    env.run(&["hook", "install"]).success();
    insta::assert_snapshot!(carried(&env), @"notes over amend and rebase: not carried (refs/notes/opencode); `git opencode hook install --notes` carries them");
    let out = env.run(&["hook", "install", "--notes"]).success();
    // The plain hook becomes a notes hook (issue 11: it used to stay plain), and the
    // post-rewrite hook comes with it: no advice about notes.rewriteRef is needed.
    insta::assert_snapshot!(out, @"
    updated $TEST_ENV/repo/.git/hooks/post-commit
    already installed $TEST_ENV/repo/.git/hooks/pre-push
    installed $TEST_ENV/repo/.git/hooks/post-rewrite
    [EOF]
    [exit status: 0]
    ");
    assert!(std::fs::read_to_string(hook_path(&env, "post-commit"))
        .unwrap()
        .contains("git opencode hook run post-commit --notes"));
    insta::assert_snapshot!(carried(&env), @"notes over amend and rebase: carried by the post-rewrite hook (refs/notes/opencode)");
    assert!(env
        .run(&["hook", "install", "-q", "--notes"])
        .success()
        .stdout()
        .is_empty());
    env.run(&["hook", "uninstall"]).success();
    assert!(!hook_path(&env, "post-rewrite").exists());

    // Without our hook, git's own setting carries them, when it covers our ref.
    env.git(&["config", "--add", "notes.rewriteRef", "refs/notes/opencode"]);
    env.git(&[
        "notes",
        "--ref",
        "opencode",
        "add",
        "-m",
        "a session",
        "HEAD",
    ]);
    env.git(&["commit", "-q", "--amend", "-m", "amended"]);
    assert_eq!(
        env.git(&["notes", "--ref", "opencode", "show", "HEAD"])
            .trim(),
        "a session"
    );
    insta::assert_snapshot!(carried(&env), @"notes over amend and rebase: carried by git (notes.rewriteRef covers refs/notes/opencode)");
    env.git(&["config", "--unset-all", "notes.rewriteRef"]);
    env.git(&["config", "--add", "notes.rewriteRef", "refs/notes/*"]);
    assert!(carried(&env).contains("carried by git"));
}

/// A hook ending in `exit` (or `exec`) never reached lines appended after it: ours go above
/// that line, `hook status` tells when ours cannot run, and a hook that ends earlier is
/// refused with the line to add by hand.
#[test]
fn a_hook_that_ends_with_exit_still_runs_ours() {
    let env = rich_store().copy_env();
    let user_hook = "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/user-hook-ran\"\nexit 0\n";
    // Where an older git-opencode put its lines: after the exit.
    let old_install = format!(
        "{user_hook}# >>> git-opencode >>>\ngit opencode hook run post-commit\n# <<< git-opencode <<<\n"
    );
    std::fs::write(hook_path(&env, "post-commit"), old_install).unwrap();
    make_executable(&hook_path(&env, "post-commit"));
    insta::assert_snapshot!(Scrub::new().apply(env.run(&["hook", "status"]).success()), @"
    hooks directory: $TEST_ENV/repo/.git/hooks
    post-commit: installed, but never runs: line 3 (`exit 0`) ends the hook first (`git opencode hook install` moves our lines above it)
    pre-push: not installed
    post-rewrite: not installed
    notes over amend and rebase: not carried (refs/notes/opencode); `git opencode hook install --notes` carries them
    opencode.pushWithCode: false
    last run: never
    [EOF]
    [exit status: 0]
    ");

    insta::assert_snapshot!(env.run(&["hook", "install", "--post-commit"]).success(), @"
    updated $TEST_ENV/repo/.git/hooks/post-commit
    [EOF]
    [exit status: 0]
    ");
    let status = env.run(&["hook", "status"]).success();
    assert!(
        status.stdout().contains("post-commit: installed\n"),
        "{status}"
    );
    let git = git_with_hooks(&env, &env.repo.path, &env.data_home);
    std::fs::write(env.repo.path.join("change.txt"), "x\n").unwrap();
    git(&["add", "change.txt"]).success();
    git(&["commit", "-q", "-m", "a change"]).success();
    assert!(env.repo.path.join(".git/user-hook-ran").is_file());
    assert!(!env.git(&["rev-parse", ARCHIVE]).is_empty(), "ours ran too");
    env.run(&["hook", "uninstall"]).success();
    assert_eq!(
        std::fs::read_to_string(hook_path(&env, "post-commit")).unwrap(),
        user_hook
    );

    // An exit before the hook's end: refused, nothing written.
    let early_exit = "#!/bin/sh\nexit 0\necho never\n";
    std::fs::write(hook_path(&env, "post-commit"), early_exit).unwrap();
    insta::assert_snapshot!(env.run(&["hook", "install", "--post-commit"]).failure(), @"
    [stderr]
    error: cannot add to the existing hook $TEST_ENV/repo/.git/hooks/post-commit: line 2 (`exit 0`) ends it before git-opencode's lines could run
    hint: make that line the hook's last one, or add this line above it yourself: git opencode hook run post-commit
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(
        std::fs::read_to_string(hook_path(&env, "post-commit")).unwrap(),
        early_exit
    );
}

/// A hook keeps its mode through install and uninstall (a private 0700 hook stays private),
/// a hook git does not run (not executable) is refused, and `-q` silences install.
#[test]
fn hooks_keep_their_mode_and_q_is_quiet() {
    let env = TestEnv::new();
    let user_hook = "#!/bin/sh\necho pushing\n";
    let pre_push = hook_path(&env, "pre-push");
    std::fs::write(&pre_push, user_hook).unwrap();
    std::fs::set_permissions(&pre_push, std::fs::Permissions::from_mode(0o700)).unwrap();
    insta::assert_snapshot!(env.run(&["hook", "install", "-q", "--pre-push"]).success(), @"[exit status: 0]");
    assert!(std::fs::read_to_string(&pre_push)
        .unwrap()
        .contains("hook run pre-push"));
    assert_eq!(mode(&pre_push), 0o700);
    insta::assert_snapshot!(env.run(&["hook", "uninstall", "-q"]).success(), @"[exit status: 0]");
    assert_eq!(std::fs::read_to_string(&pre_push).unwrap(), user_hook);
    assert_eq!(mode(&pre_push), 0o700);

    // Created by us: executable like git's own hooks.
    env.run(&["hook", "install", "-q", "--post-commit"])
        .success();
    assert_eq!(mode(&hook_path(&env, "post-commit")), 0o755);
    env.run(&["hook", "uninstall", "-q"]).success();

    let disabled = hook_path(&env, "post-commit");
    std::fs::write(&disabled, user_hook).unwrap();
    std::fs::set_permissions(&disabled, std::fs::Permissions::from_mode(0o644)).unwrap();
    insta::assert_snapshot!(env.run(&["hook", "install", "--post-commit"]).failure(), @"
    [stderr]
    error: the post-commit hook $TEST_ENV/repo/.git/hooks/post-commit is not executable, so git never runs it (nor would it run ours)
    hint: if it should run, `chmod +x $TEST_ENV/repo/.git/hooks/post-commit` and install again
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(std::fs::read_to_string(&disabled).unwrap(), user_hook);
    assert_eq!(mode(&disabled), 0o644);
}

/// A hook that is a symbolic link (to a script kept in the repository, say) stays one:
/// install and uninstall edit the file it links to, and a link to nothing is refused.
#[test]
fn a_linked_hook_stays_a_link() {
    let env = TestEnv::new();
    let shared = env.repo.path.join("tools/post-commit");
    std::fs::create_dir_all(shared.parent().unwrap()).unwrap();
    let user_hook = "#!/bin/sh\necho shared hook\n";
    std::fs::write(&shared, user_hook).unwrap();
    make_executable(&shared);
    let link = hook_path(&env, "post-commit");
    std::os::unix::fs::symlink("../../tools/post-commit", &link).unwrap();
    let is_link = |path: &Path| std::fs::symlink_metadata(path).unwrap().is_symlink();

    insta::assert_snapshot!(env.run(&["hook", "install", "--post-commit"]).success(), @"
    installed $TEST_ENV/repo/.git/hooks/post-commit -> $TEST_ENV/repo/tools/post-commit
    [EOF]
    [exit status: 0]
    ");
    assert!(is_link(&link), "the hook is still a link");
    let installed = std::fs::read_to_string(&shared).unwrap();
    assert!(installed.starts_with(user_hook), "{installed}");
    assert!(installed.contains("hook run post-commit"), "{installed}");
    let status = env.run(&["hook", "status"]).success();
    assert!(
        status.stdout().contains("\npost-commit: installed\n"),
        "{status}"
    );

    insta::assert_snapshot!(env.run(&["hook", "uninstall"]).success(), @"
    uninstalled from $TEST_ENV/repo/.git/hooks/post-commit -> $TEST_ENV/repo/tools/post-commit
    [EOF]
    [exit status: 0]
    ");
    assert!(is_link(&link));
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), user_hook);

    // A link to nothing: refused, and left as it is.
    std::fs::remove_file(&shared).unwrap();
    insta::assert_snapshot!(env.run(&["hook", "install", "--post-commit"]).failure(), @"
    [stderr]
    error: the post-commit hook $TEST_ENV/repo/.git/hooks/post-commit is a symbolic link to ../../tools/post-commit, which cannot be resolved
    hint: point it at a hook script, or remove it, then install again
    [EOF]
    [exit status: 1]
    ");
    assert!(is_link(&link));
    assert!(!shared.exists());
}

/// Whatever blocks the post-commit hook's work (a database locked by a writer, for which
/// SQLite would wait 5 s; a store that is a named pipe, which would block forever), the
/// commit is done within `opencode.hookTimeout`, and the rest is left for the next run.
#[test]
fn the_post_commit_hook_stops_at_its_timeout_whatever_blocks() {
    let env = rich_store().copy_env();
    env.run(&["hook", "install"]).success();
    env.git(&["config", "opencode.hookTimeout", "1"]);
    let git = git_with_hooks(&env, &env.repo.path, &env.data_home);
    let commit = |name: &str| {
        std::fs::write(env.repo.path.join(name), name).unwrap();
        git(&["add", name]).success();
        let cmd = git_command_with_hooks(
            &env.home,
            &env.repo.path,
            &env.data_home,
            &["commit", "-q", "-m", name],
        );
        let (out, took) = timed(&env, cmd, Duration::from_secs(60));
        out.success();
        assert_eq!(env.git(&["log", "-1", "--format=%s"]).trim(), name);
        took
    };
    let last_run = || {
        let status = Scrub::new().apply(env.run(&["hook", "status"]).success());
        let line = status
            .lines()
            .find(|l| l.starts_with("last run: "))
            .unwrap();
        line.to_owned()
    };

    let db = env.data_home.join("opencode/opencode.db");
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder
        .execute_batch(
            "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; CREATE TABLE lock_holder (x);",
        )
        .unwrap();
    let took = commit("locked.txt");
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert!(took < Duration::from_secs(4), "commit took {took:?}");
    insta::assert_snapshot!(last_run(), @r#"last run: {"hook":"post-commit","time":"[TIME]","ms":[DURATION],"ok":false,"message":"stopped after [DURATION] (opencode.hookTimeout) while reading the OpenCode store $TEST_ENV/opencode/data/opencode/opencode.db; the rest is left for the next run"}"#);
    assert!(lock_files(&env.repo.path.join(".git")).is_empty());

    // The next commit, with the store free again, archives the sessions (given the time a
    // first run takes on a busy test machine).
    env.git(&["config", "opencode.hookTimeout", "60"]);
    commit("free.txt");
    env.git(&["config", "opencode.hookTimeout", "1"]);
    assert!(last_run().contains(r#""ok":true"#), "{}", last_run());
    assert!(!env.git(&["rev-parse", ARCHIVE]).is_empty());

    let fifo = env.root.join("opencode.db");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    env.git(&["config", "opencode.store", fifo.to_str().unwrap()]);
    let took = commit("fifo.txt");
    assert!(took < Duration::from_secs(4), "commit took {took:?}");
    insta::assert_snapshot!(last_run(), @r#"last run: {"hook":"post-commit","time":"[TIME]","ms":[DURATION],"ok":false,"message":"OpenCode database $TEST_ENV/opencode.db is not a regular file (it is a named pipe) hint: point --store at OpenCode's data directory or opencode.db"}"#);
    // Commands refuse such a store too, rather than wait for a writer forever.
    let (out, _) = timed(&env, env.cmd(&["list"]), Duration::from_secs(60));
    insta::assert_snapshot!(out.failure(), @"
    [stderr]
    error: OpenCode database $TEST_ENV/opencode.db is not a regular file (it is a named pipe)
    hint: point --store at OpenCode's data directory or opencode.db
    [EOF]
    [exit status: 1]
    ");
}

/// `opencode.pushWithCode` with a remote that takes 15 s to answer: the user's `git push`
/// is done within `opencode.hookTimeout`, leaves no lock behind, and the next push sends
/// the archive.
#[test]
fn the_pre_push_hook_stops_at_its_timeout_with_a_slow_remote() {
    let env = rich_store().copy_env();
    let bare = env.root.join("slow.git");
    git_in(&env.root, &["init", "-q", "--bare", bare.to_str().unwrap()]);
    env.git(&["remote", "add", "slow", bare.to_str().unwrap()]);
    // Fetching (what the hook does first) waits 15 s; the user's own push is not slowed.
    env.git(&[
        "config",
        "remote.slow.uploadpack",
        "sleep 15; git-upload-pack",
    ]);
    env.git(&["config", "opencode.pushWithCode", "true"]);
    env.run(&["hook", "install"]).success();
    let git = git_with_hooks(&env, &env.repo.path, &env.data_home);
    std::fs::write(env.repo.path.join("c.txt"), "c\n").unwrap();
    git(&["add", "c.txt"]).success();
    git(&["commit", "-q", "-m", "code"]).success();
    assert!(!env.git(&["rev-parse", ARCHIVE]).is_empty());
    env.git(&["config", "opencode.hookTimeout", "1"]);
    let push = || {
        git_command_with_hooks(
            &env.home,
            &env.repo.path,
            &env.data_home,
            &["push", "-q", "slow", "main"],
        )
    };
    let (out, took) = timed(&env, push(), Duration::from_secs(60));
    out.success();
    assert!(took < Duration::from_secs(4), "git push took {took:?}");
    let refs = git_in(&bare, &["show-ref"]);
    assert!(
        refs.contains("refs/heads/main") && !refs.contains(ARCHIVE),
        "{refs}"
    );
    let status = env.run(&["hook", "status"]).success();
    insta::assert_snapshot!(Scrub::new().apply(&status), @r#"
    hooks directory: $TEST_ENV/repo/.git/hooks
    post-commit: installed
    pre-push: installed
    post-rewrite: not installed
    notes over amend and rebase: not carried (refs/notes/opencode); `git opencode hook install --notes` carries them
    opencode.pushWithCode: true
    last run: {"hook":"pre-push","time":"[TIME]","ms":[DURATION],"ok":false,"message":"stopped after [DURATION] (opencode.hookTimeout) while pushing refs/heads/opencode/sessions to slow; the rest is left for the next run"}
    last errors ($TEST_ENV/repo/.git/git-opencode/hook.log):
      [TIME] pre-push error: stopped after [DURATION] (opencode.hookTimeout) while pushing refs/heads/opencode/sessions to slow; the rest is left for the next run ([DURATION])
    [EOF]
    [exit status: 0]
    "#);
    assert!(lock_files(&env.repo.path.join(".git")).is_empty());
    assert!(lock_files(&bare).is_empty());

    // The remote answers quickly again: the next push sends the archive.
    env.git(&["config", "--unset", "remote.slow.uploadpack"]);
    env.git(&["config", "--unset", "opencode.hookTimeout"]);
    std::fs::write(env.repo.path.join("c.txt"), "d\n").unwrap();
    git(&["commit", "-q", "-am", "more code"]).success();
    let (out, _) = timed(&env, push(), Duration::from_secs(60));
    out.success();
    assert_eq!(
        git_in(&bare, &["rev-parse", ARCHIVE]),
        env.git(&["rev-parse", ARCHIVE])
    );
}
