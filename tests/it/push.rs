//! Acceptance of `push-sessions` (branch, notes, remotes, redaction, bad input) with real
//! git and stores written by the real OpenCode binary.

use crate::common::fake_llm::{script, FakeLlm, Step};
use crate::common::fixtures::{rich_store, Fixture};
use crate::common::git::{git_command, git_in, git_now, Repo};
use crate::common::opencode::{OpencodeHome, CURRENT};
use crate::common::{
    make_executable, ours, ours_cmd, run, CommandOutput, Scrub, TestEnv, FAKE_KEY,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const ARCHIVE: &str = "refs/heads/opencode/sessions";

/// The session IDs the archive at `rev` lists, from its month indexes.
fn manifest_sessions(dir: &Path, rev: &str) -> BTreeSet<String> {
    let manifest: Value =
        serde_json::from_str(&git_in(dir, &["show", &format!("{rev}:manifest.json")])).unwrap();
    assert_eq!(manifest["format"], "git-opencode-archive");
    let mut ids = BTreeSet::new();
    for path in git_in(dir, &["ls-tree", "-r", "--name-only", rev]).lines() {
        if path.starts_with("sessions/") && path.ends_with("/index.json") {
            let index: Value =
                serde_json::from_str(&git_in(dir, &["show", &format!("{rev}:{path}")])).unwrap();
            ids.extend(index.as_object().unwrap().keys().cloned());
        }
    }
    ids
}

fn count_objects(dir: &Path) -> String {
    git_in(dir, &["count-objects", "-v"])
}

/// Acceptance 1 and 2: the layout for every session, a clean fsck, HEAD/index/work tree
/// untouched; a second run writes nothing; one more turn rewrites only that session.
#[test]
fn archive_branch_layout_and_incremental_updates() {
    let store = rich_store();
    let mut env = store.copy_env();
    let head = env.git(&["rev-parse", "HEAD"]);
    let status = env.git(&["status", "--porcelain"]);
    let index = std::fs::read(env.repo.path.join(".git/index")).unwrap();

    let scrub = Scrub::of(store);
    let out = env.run(&["push-sessions"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    refs/heads/opencode/sessions [COMMIT]: 5 added, 0 updated
    [EOF]
    [exit status: 0]
    ");
    env.git(&["fsck", "--strict"]);
    let files = env.git(&["ls-tree", "-r", "--name-only", ARCHIVE]);
    let files: Vec<&str> = files.lines().collect();
    assert!(files.contains(&"README.md") && files.contains(&"manifest.json"));
    for id in store.sessions() {
        for name in ["session.json", "transcript.md"] {
            assert!(
                files
                    .iter()
                    .any(|f| f.starts_with("sessions/") && f.ends_with(&format!("/{id}/{name}"))),
                "{id}/{name} missing from {files:?}"
            );
        }
    }
    let tools_dir = files
        .iter()
        .find(|f| f.ends_with(&format!("/{}/session.json", store.tools)))
        .map(|f| f.trim_end_matches("/session.json").to_owned())
        .unwrap();
    assert!(tools_dir.starts_with("sessions/20"), "{tools_dir}");
    assert!(
        files.contains(&format!("{tools_dir}/extra.json").as_str()),
        "todos go to extra.json"
    );
    // Parent and subagent transcripts link to each other inside the archive tree.
    let dir_of = |id: &str| {
        files
            .iter()
            .find(|f| f.ends_with(&format!("/{id}/transcript.md")))
            .map(|f| f.trim_end_matches("/transcript.md").to_owned())
            .unwrap()
    };
    let (parent_dir, child_dir) = (dir_of(&store.task_parent), dir_of(&store.task_child));
    let child_md = env.git(&["show", &format!("{ARCHIVE}:{child_dir}/transcript.md")]);
    assert!(
        child_md.contains(&format!(
            "../../{}/transcript.md",
            parent_dir.trim_start_matches("sessions/")
        )),
        "{child_md}"
    );
    let parent_md = env.git(&["show", &format!("{ARCHIVE}:{parent_dir}/transcript.md")]);
    assert!(parent_md.contains(&format!(
        "../../{}/transcript.md",
        child_dir.trim_start_matches("sessions/")
    )));
    // The archived session is the export document (bytes of `export`, redaction aside).
    let archived = env.git(&["show", &format!("{ARCHIVE}:{tools_dir}/session.json")]);
    let doc: Value = serde_json::from_str(&archived).unwrap();
    assert_eq!(doc["info"]["id"], store.tools.as_str());
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(env.git(&["status", "--porcelain"]), status);
    assert_eq!(
        std::fs::read(env.repo.path.join(".git/index")).unwrap(),
        index
    );
    let log = env.git(&["log", "--format=%s", ARCHIVE]);
    assert_eq!(log.lines().count(), 1);
    assert!(env
        .git(&["reflog", "show", ARCHIVE])
        .contains("git-opencode"));

    // Nothing changed: no commit, no object.
    let tip = env.git(&["rev-parse", ARCHIVE]);
    let objects = count_objects(&env.repo.path);
    let out = env.run(&["push-sessions"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    refs/heads/opencode/sessions is up to date
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(env.git(&["rev-parse", ARCHIVE]), tip);
    assert_eq!(count_objects(&env.repo.path), objects);

    // A new session, then one more OpenCode turn in it: each push writes only that
    // session's files (and the manifest). Sessions continue in the checkout they started
    // in, so the new one starts here in the copy.
    let llm = env.start_llm();
    let oc = env.opencode.as_ref().unwrap();
    let fresh = oc
        .run(&env.repo.path, &script(&[Step::reply("new here 🆕")]), &[])
        .session_id;
    let scrub = scrub.session(&fresh, "fresh");
    let out = env.run(&["push-sessions"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    refs/heads/opencode/sessions [COMMIT]: 1 added, 0 updated
    [EOF]
    [exit status: 0]
    ");
    let second = env.git(&["rev-parse", ARCHIVE]);
    assert_only_session_changed(&env, &tip, &second, &fresh);
    oc.continue_session(
        &env.repo.path,
        &fresh,
        &script(&[Step::reply("again 🔁")]),
        &[],
    );
    drop(llm);
    let out = env.run(&["push-sessions"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    refs/heads/opencode/sessions [COMMIT]: 0 added, 1 updated
    [EOF]
    [exit status: 0]
    ");
    let third = env.git(&["rev-parse", ARCHIVE]);
    assert_only_session_changed(&env, &second, &third, &fresh);
    assert!(env
        .git(&["log", "-1", "--format=%B", ARCHIVE])
        .contains(&format!("updated {fresh}")));
    env.git(&["fsck", "--strict"]);
}

/// Many objects go into one pack (as git stores a fetch of at least `transfer.unpackLimit`
/// objects), which git reads, checks and indexes exactly as we did; the archive is the one
/// loose objects make.
#[test]
fn a_first_run_of_many_sessions_writes_one_pack() {
    let store = rich_store();
    let loose = store.copy_env();
    loose.run(&["push-sessions"]).success();
    let packed = store.copy_env();
    // Five sessions are about twenty objects: at least this limit.
    packed.git(&["config", "transfer.unpackLimit", "8"]);
    packed.run(&["push-sessions"]).success();

    let tree = |env: &TestEnv| {
        let tree = env.git(&["rev-parse", &format!("{ARCHIVE}^{{tree}}")]);
        tree.trim().to_owned()
    };
    assert_eq!(tree(&packed), tree(&loose));
    packed.git(&["fsck", "--strict"]);
    let pack_dir = packed.repo.path.join(".git/objects/pack");
    let names: Vec<String> = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let pack = names.iter().find(|n| n.ends_with(".pack")).expect("a pack");
    assert_eq!(
        names.len(),
        2,
        "the pack and its index, no temporary file: {names:?}"
    );
    let pack = pack_dir.join(pack);
    let index = pack.with_extension("idx");
    packed.git(&["verify-pack", index.to_str().unwrap()]);
    // git's own index of our pack is our index, byte for byte.
    let theirs = packed.root.join("theirs.idx");
    packed.git(&[
        "index-pack",
        "-o",
        theirs.to_str().unwrap(),
        pack.to_str().unwrap(),
    ]);
    assert!(std::fs::read(&index).unwrap() == std::fs::read(&theirs).unwrap());
    #[cfg(unix)]
    for file in [&pack, &index] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o444, "{}", file.display());
    }
    // Every file of the archive is in the pack; only the commit (and the notes) are loose.
    let listed = packed.git(&["ls-tree", "-r", "-t", ARCHIVE]);
    let verify = packed.git(&["verify-pack", "-v", index.to_str().unwrap()]);
    for line in listed.lines() {
        let id = line.split_whitespace().nth(2).unwrap();
        assert!(verify.contains(id), "{line} not in the pack");
    }
    assert!(verify.contains(&tree(&packed)));

    // A later run reads the archive from the pack: nothing to write, no second pack.
    let out = packed.run(&["push-sessions"]).success();
    assert!(out.stdout().contains("is up to date"), "{out}");
    assert_eq!(std::fs::read_dir(&pack_dir).unwrap().count(), 2);
    // And sends it to a remote as any branch.
    let bare = packed.root.join("remote.git");
    let url = bare.to_str().unwrap();
    git_in(&packed.root, &["init", "-q", "--bare", url]);
    packed.git(&["remote", "add", "origin", url]);
    packed
        .run(&["push-sessions", "--remote", "origin"])
        .success();
    git_in(&bare, &["fsck", "--strict"]);
    let remote_tree = git_in(&bare, &["rev-parse", &format!("{ARCHIVE}^{{tree}}")]);
    assert_eq!(remote_tree.trim(), tree(&packed));
}

fn assert_only_session_changed(env: &TestEnv, from: &str, to: &str, session: &str) {
    let changed = env.git(&["diff", "--name-only", from.trim(), to.trim()]);
    assert!(!changed.is_empty());
    for path in changed.lines() {
        assert!(
            // The session's files and its month's index; not manifest.json, nor other months.
            path.contains(&format!("/{session}/"))
                || changed.lines().any(|p| {
                    p.contains(&format!("/{session}/"))
                        && path == format!("{}/index.json", p.rsplitn(3, '/').nth(2).unwrap())
                }),
            "{path} changed"
        );
    }
}

/// Acceptance 3: two clones of one bare remote each run OpenCode and push at the same time;
/// the remote ends with the union, and nobody force-pushed.
#[test]
fn two_clones_push_concurrently_and_the_remote_gets_the_union() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let origin = Repo::init(&root.join("seed"));
    let bare = root.join("remote.git");
    git_in(
        &root,
        &[
            "clone",
            "-q",
            "--bare",
            origin.path.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let llm = FakeLlm::start();
    let mut clones = Vec::new();
    for name in ["alice", "bob"] {
        let dir = root.join(name);
        git_in(
            &root,
            &["clone", "-q", bare.to_str().unwrap(), dir.to_str().unwrap()],
        );
        let home = OpencodeHome::new(CURRENT, &llm);
        let run = home.run(
            &dir,
            &script(&[Step::reply(&format!("hello from {name}"))]),
            &[],
        );
        clones.push((dir, home, run.session_id));
    }
    // The first push of each creates an unrelated root; both race for the remote.
    let children: Vec<_> = clones
        .iter()
        .map(|(dir, home, _)| {
            ours_cmd(home, dir, &["push-sessions", "--remote", "origin"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        CommandOutput::new(child.wait_with_output().unwrap()).success();
    }
    let remote_tip = git_in(&bare, &["rev-parse", ARCHIVE]).trim().to_owned();
    let want: BTreeSet<String> = clones.iter().map(|(_, _, id)| id.clone()).collect();
    assert_eq!(manifest_sessions(&bare, ARCHIVE), want);
    for (dir, _, _) in &clones {
        let local = git_in(dir, &["rev-parse", ARCHIVE]).trim().to_owned();
        // Asked in the remote, which has every commit both pushed.
        let status = git_command(&bare)
            .args(["merge-base", "--is-ancestor", &local, &remote_tip])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "a local archive commit was lost from the remote (force push?)\nlocal {local}, remote {remote_tip}\n{}",
            git_in(&bare, &["log", "--graph", "--oneline", "--all"])
        );
    }
    // Each side pushes once more: the other's session arrives locally, nothing is lost.
    for (dir, home, _) in &clones {
        ours(home, dir, &["push-sessions", "--remote", "origin"]).success();
        assert_eq!(manifest_sessions(dir, ARCHIVE), want);
        git_in(dir, &["fsck", "--strict"]);
    }
    git_in(&bare, &["fsck", "--strict"]);
    // In step and with nothing new, more rounds write no commit on either side: a manifest
    // that differs only in the clone that wrote it (its name) is left as it is.
    let settled = git_in(&bare, &["rev-parse", ARCHIVE]);
    for _ in 0..2 {
        for (dir, home, _) in &clones {
            ours(home, dir, &["push-sessions", "--remote", "origin"]).success();
        }
    }
    assert_eq!(
        git_in(&bare, &["rev-parse", ARCHIVE]),
        settled,
        "{}",
        git_in(&bare, &["log", "--graph", "--format=%h %s", ARCHIVE])
    );
}

/// Acceptance 4: a commit made from an OpenCode `write` gets a note naming the session;
/// a commit no session touched gets none.
#[test]
fn notes_name_the_sessions_that_produced_a_commit() {
    let mut env = rich_store().copy_env();
    let llm = env.start_llm();
    let oc = env.opencode.as_ref().unwrap();
    let run = oc.run(
        &env.repo.path,
        &script(&[
            Step::write("feature.txt", "a feature\n"),
            Step::reply("wrote it"),
        ]),
        &["--title", "Feature work"],
    );
    drop(llm);
    let commit_now = |args: &[&str]| git_now(&env.repo.path, args);
    commit_now(&["add", "feature.txt"]);
    commit_now(&["commit", "-q", "-m", "add the feature"]);
    let scrub = Scrub::new().session(&run.session_id, "feature");
    let out = env.run(&["push-sessions", "--notes"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    refs/heads/opencode/sessions [COMMIT]: 6 added, 0 updated
    refs/notes/opencode [COMMIT]: [SESSION:feature]
    [EOF]
    [exit status: 0]
    ");
    let note = env.git(&["notes", "--ref", "opencode", "show", "HEAD"]);
    assert!(note.contains(&run.session_id), "{note}");
    assert!(note.contains("Feature work"), "{note}");
    assert!(note.contains("mock"), "{note}");
    // The notes ref is a restore source too: exactly the noted sessions, from the archive.
    let plan = env.run(&["restore", "--dry-run", "refs/notes/opencode"]);
    let plan = plan.success();
    assert!(plan.stdout().contains(&run.session_id), "{plan}");
    assert!(!plan.stdout().contains(&rich_store().plain), "{plan}");
    let log = env.git(&["log", "-1", "--notes=opencode"]);
    assert!(
        log.contains("Notes (opencode)") && log.contains(&run.session_id),
        "{log}"
    );

    // A commit that no session touched: no note.
    std::fs::write(env.repo.path.join("manual.txt"), "by hand\n").unwrap();
    commit_now(&["add", "manual.txt"]);
    commit_now(&["commit", "-q", "-m", "manual change"]);
    env.run(&["push-sessions", "--notes"]).success();
    let none = git_command(&env.repo.path)
        .args(["notes", "--ref", "opencode", "show", "HEAD"])
        .output()
        .unwrap();
    assert!(
        !none.status.success(),
        "unexpected note: {}",
        String::from_utf8_lossy(&none.stdout)
    );
    // Other notes refs are left alone.
    env.git(&["notes", "add", "-m", "mine", "HEAD"]);
    env.run(&["push-sessions", "--notes", "--range", "HEAD~1"])
        .success();
    assert_eq!(env.git(&["notes", "show", "HEAD"]).trim(), "mine");

    // A short notes ref names what `git notes --ref` and `git log --notes=` name.
    env.git(&["config", "opencode.notesRef", "review"]);
    let out = env.run(&["push-sessions", "--notes", "--range", "HEAD~1"]);
    insta::assert_snapshot!(scrub.apply(out.success()), @"
    refs/heads/opencode/sessions is up to date
    refs/notes/review [COMMIT]: [SESSION:feature]
    [EOF]
    [exit status: 0]
    ");
    let log = env.git(&["log", "-1", "--notes=review", "HEAD~1"]);
    assert!(log.contains(&run.session_id), "{log}");
    let out = env.run(&[
        "push-sessions",
        "--notes",
        "--notes-ref",
        "notes/other",
        "--range",
        "HEAD~1",
    ]);
    // The new notes ref's first commit is git-opencode's, no root of the project: the
    // archive is not rewritten for it.
    insta::assert_snapshot!(scrub.apply(out.success()), @"
    refs/heads/opencode/sessions is up to date
    refs/notes/other [COMMIT]: [SESSION:feature]
    [EOF]
    [exit status: 0]
    ");
    let note = env.git(&["notes", "--ref", "other", "show", "HEAD~1"]);
    assert!(note.contains(&run.session_id), "{note}");
    let heads = env.git(&["for-each-ref", "--format=%(refname)", "refs/heads/"]);
    assert!(
        !heads.contains("review") && !heads.contains("other"),
        "{heads}"
    );
    env.git(&["fsck", "--strict"]);
}

/// Acceptance 5: a fake API key in a prompt and a tool output reaches no git object, unless
/// `--no-redact`.
#[test]
fn secrets_never_reach_a_git_object() {
    let mut env = rich_store().copy_env();
    let llm = env.start_llm();
    let oc = env.opencode.as_ref().unwrap();
    oc.run(
        &env.repo.path,
        &format!(
            "use my token {FAKE_KEY} please\n{}",
            script(&[
                Step::bash(&format!("echo token={FAKE_KEY}"), "echo the token"),
                Step::reply("ok")
            ])
        ),
        &[],
    );
    drop(llm);
    let all_objects = |dir: &Path| {
        let out = git_command(dir)
            .args(["cat-file", "--batch-all-objects", "--batch"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    env.run(&["push-sessions", "--notes"]).success();
    assert!(
        !all_objects(&env.repo.path).contains(FAKE_KEY),
        "the key reached a git object"
    );
    assert!(
        all_objects(&env.repo.path).contains("[REDACTED"),
        "redaction left no marker"
    );

    // The same store without redaction does contain it: the check above can see the key.
    env.run(&[
        "push-sessions",
        "--no-redact",
        "--ref",
        "refs/heads/opencode/raw",
    ])
    .success();
    assert!(all_objects(&env.repo.path).contains(FAKE_KEY));
}

/// Acceptance 7: bad input gets a clear error or works as in git, and nothing is lost.
#[test]
fn push_sessions_bad_input() {
    let env = rich_store().copy_env();
    let out = env.run(&["push-sessions", "--remote", "nope"]);
    insta::assert_snapshot!(out.failure(), @"
    [stderr]
    error: no such remote 'nope'
    hint: `git remote -v` lists the remotes of this repository
    [EOF]
    [exit status: 1]
    ");
    assert!(
        env.git(&["show-ref"])
            .lines()
            .all(|l| !l.contains("opencode")),
        "nothing written"
    );

    let out = env.run(&["push-sessions", "--ref", "bad..name"]);
    insta::assert_snapshot!(out.failure(), @"
    [stderr]
    error: invalid ref name 'bad..name': Reference name cannot contain repeated dots
    [EOF]
    [exit status: 1]
    ");

    // A normal branch where the archive would go.
    env.git(&["branch", "opencode/sessions"]);
    let before = env.git(&["rev-parse", ARCHIVE]);
    insta::assert_snapshot!(env.run(&["push-sessions"]).failure(), @"
    [stderr]
    error: refs/heads/opencode/sessions exists and is not a git-opencode archive (no manifest.json of format git-opencode-archive)
    hint: pass another --ref, or set git config opencode.ref
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(env.git(&["rev-parse", ARCHIVE]), before);
    env.git(&["branch", "-D", "opencode/sessions"]);

    // Detached HEAD: works, HEAD stays detached where it was.
    env.git(&["checkout", "-q", "--detach"]);
    let head = env.git(&["rev-parse", "HEAD"]);
    env.run(&["push-sessions", "--notes"]).success();
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head);
    let symbolic = git_command(&env.repo.path)
        .args(["symbolic-ref", "-q", "HEAD"])
        .status()
        .unwrap();
    assert_eq!(symbolic.code(), Some(1), "HEAD is still detached");

    // A push the remote rejects: a clear error; the local archive stays.
    let bare = env.root.join("strict.git");
    git_in(&env.root, &["init", "-q", "--bare", bare.to_str().unwrap()]);
    std::fs::write(
        bare.join("hooks/pre-receive"),
        "#!/bin/sh\necho 'archive refused' >&2\nexit 1\n",
    )
    .unwrap();
    make_executable(&bare.join("hooks/pre-receive"));
    env.git(&["remote", "add", "strict", bare.to_str().unwrap()]);
    let out = env.run(&["push-sessions", "--remote", "strict"]);
    insta::assert_snapshot!(out.failure(), @"
    refs/heads/opencode/sessions is up to date
    [EOF]
    [stderr]
    error: failed to push refs/heads/opencode/sessions: the remote 'strict' rejected refs/heads/opencode/sessions: !	refs/heads/opencode/sessions:refs/heads/opencode/sessions	[remote rejected] (pre-receive hook declined)
    [EOF]
    [exit status: 1]
    ");
    assert!(!env.git(&["rev-parse", ARCHIVE]).is_empty());
    env.git(&["fsck", "--strict"]);
}

/// A bare repository (no work tree): the archive is written all the same.
#[test]
fn push_sessions_in_a_bare_repository() {
    let env = rich_store().copy_env();
    let bare = env.root.join("bare.git");
    git_in(
        &env.root,
        &[
            "clone",
            "-q",
            "--bare",
            env.repo.path.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let out = env.run_in(&bare, &["push-sessions"]).success();
    assert!(out.stdout().contains("added"), "{out}");
    git_in(&bare, &["fsck", "--strict"]);
    assert!(!manifest_sessions(&bare, ARCHIVE).is_empty());
}

/// A machine where git has no identity configured: commits and reflog entries fall back to
/// `git-opencode <git-opencode@localhost>` instead of failing.
#[test]
fn push_sessions_without_a_configured_identity() {
    let env = rich_store().copy_env();
    let mut cmd = env.cmd(&["push-sessions"]);
    for var in [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ] {
        cmd.env_remove(var);
    }
    run(cmd).success();
    let author = env.git(&["log", "-1", "--format=%an <%ae>", ARCHIVE]);
    assert_eq!(author.trim(), "git-opencode <git-opencode@localhost>");
    assert!(env
        .git(&["reflog", "show", ARCHIVE])
        .contains("push-sessions"));
    env.git(&["fsck", "--strict"]);
}
