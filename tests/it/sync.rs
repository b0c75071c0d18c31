//! Team sync of the archive branch: a copy of a session never replaces a newer one, in any
//! path that writes the archive (push-sessions, the post-commit hook, `--remote` and the
//! pre-push hook); nothing to archive writes nothing; hooks log what they really did. Real
//! git, clones of a real bare remote, stores written by the real OpenCode binary.

use crate::common::fake_llm::{script, FakeLlm, Step};
use crate::common::git::{git_command, git_in, Repo};
use crate::common::opencode::{OpencodeHome, CURRENT};
use crate::common::{ours, path_with_our_binary, query_one, CommandOutput, Scrub};
use serde_json::Value;
use std::path::Path;

const ARCHIVE: &str = "refs/heads/opencode/sessions";

/// The export document of `session` in the archive at `rev` of the repository `dir`.
fn archived_doc(dir: &Path, rev: &str, session: &str) -> Value {
    let files = git_in(dir, &["ls-tree", "-r", "--name-only", rev]);
    let path = files
        .lines()
        .find(|f| f.ends_with(&format!("/{session}/session.json")))
        .unwrap_or_else(|| panic!("{session} not in {rev} of {}:\n{files}", dir.display()));
    serde_json::from_str(&git_in(dir, &["show", &format!("{rev}:{path}")])).unwrap()
}

/// Asserts that `dir`'s archive at `rev` holds exactly the copy `want` of `session`.
fn assert_holds(dir: &Path, rev: &str, session: &str, want: &Value, what: &str) {
    let held = archived_doc(dir, rev, session);
    let brief = |doc: &Value| {
        format!(
            "{} messages, updated {}",
            doc["messages"].as_array().map_or(0, Vec::len),
            doc["info"]["time"]["updated"]
        )
    };
    assert!(
        held == *want,
        "{what}: {} holds {}, not {}",
        dir.display(),
        brief(&held),
        brief(want)
    );
}

/// Issue 11: two clones share a remote. Alice continues a session Bob restored earlier and
/// syncs; Bob's sync brings her newer copy into his archive. Neither Bob's next commit (the
/// post-commit hook), nor a plain push-sessions, nor his next `--remote` may put his older
/// copy back, locally or on the remote.
#[test]
fn team_sync_never_moves_a_session_backwards() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let seed = Repo::init(&root.join("seed"));
    let bare = root.join("remote.git");
    let url = bare.to_str().unwrap();
    git_in(
        &root,
        &["clone", "-q", "--bare", seed.path.to_str().unwrap(), url],
    );
    let (alice, bob) = (root.join("alice"), root.join("bob"));
    for dir in [&alice, &bob] {
        git_in(&root, &["clone", "-q", url, dir.to_str().unwrap()]);
    }
    let llm = FakeLlm::start();
    let (alice_oc, bob_oc) = (
        OpencodeHome::new(CURRENT, &llm),
        OpencodeHome::new(CURRENT, &llm),
    );
    let sync = &["push-sessions", "--remote", "origin"];

    // Alice starts session X and syncs; Bob syncs and restores it into his store.
    let x = alice_oc
        .run(&alice, &script(&[Step::reply("first turn")]), &[])
        .session_id;
    ours(&alice_oc, &alice, sync).success();
    bob_oc.session_list_json(&bob);
    ours(&bob_oc, &bob, sync).success();
    ours(&bob_oc, &bob, &["restore", ARCHIVE]).success();
    assert_eq!(
        archived_doc(&bob, ARCHIVE, &x)["messages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Alice continues X and syncs; Bob's sync brings her newer copy.
    alice_oc.continue_session(&alice, &x, &script(&[Step::reply("second turn")]), &[]);
    ours(&alice_oc, &alice, sync).success();
    let newer = archived_doc(&bare, ARCHIVE, &x);
    assert_eq!(newer["messages"].as_array().unwrap().len(), 4);
    let bob_sync = ours(&bob_oc, &bob, sync).success();
    assert_holds(&bob, ARCHIVE, &x, &newer, "Bob's sync");

    // Bob commits: the post-commit hook archives his store, which holds the older X.
    let in_bobs_store: i64 = query_one(
        &bob_oc.open_db(),
        "SELECT count(*) FROM message WHERE session_id = ?1",
        &x,
    );
    assert_eq!(in_bobs_store, 2);
    ours(&bob_oc, &bob, &["hook", "install", "--post-commit"]).success();
    let tip = git_in(&bob, &["rev-parse", ARCHIVE]);
    let commit = git_command(&bob)
        .args(["commit", "-q", "--allow-empty", "-m", "work"])
        .env("PATH", path_with_our_binary())
        .env("HOME", &bob_oc.home)
        .env("XDG_DATA_HOME", &bob_oc.data_home)
        .output()
        .unwrap();
    CommandOutput::new(commit).success();
    let log = std::fs::read_to_string(bob.join(".git/git-opencode/hook.log")).unwrap();
    assert!(log.contains("post-commit ok"), "{log}");
    assert_holds(&bob, ARCHIVE, &x, &newer, "the hook moved X back");
    assert_eq!(git_in(&bob, &["rev-parse", ARCHIVE]), tip);

    // A plain push-sessions does not either, and the remote keeps the newer copy.
    let out = ours(&bob_oc, &bob, &["push-sessions"]).success();
    insta::assert_snapshot!(out, @"
    refs/heads/opencode/sessions is up to date
    [EOF]
    [exit status: 0]
    ");
    assert_holds(&bob, ARCHIVE, &x, &newer, "push-sessions moved X back");
    ours(&bob_oc, &bob, sync).success();
    assert_holds(&bare, ARCHIVE, &x, &newer, "the remote moved X back");
    // Alice's next sync changes nothing on her side either.
    ours(&alice_oc, &alice, sync).success();
    assert_holds(&alice, ARCHIVE, &x, &newer, "Alice's sync");
    // Nor did Bob's sync archive his older copy before merging Alice's.
    assert!(
        bob_sync.stdout().contains(", 0 updated") || bob_sync.stdout().contains("is up to date"),
        "Bob's older X was archived: {bob_sync}"
    );
    alice_oc.stop_llm_and_wait(llm);
    for dir in [&alice, &bob, &bare] {
        git_in(dir, &["fsck", "--strict"]);
    }
}

/// Issue 11: in a repository without commits and without sessions, push-sessions writes no
/// archive commit (verify would then have rejected the tool's own branch); an archive that
/// holds no session, as earlier versions wrote one, verifies.
#[test]
fn nothing_to_archive_writes_nothing_and_an_empty_archive_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().canonicalize().unwrap().join("empty");
    git_in(
        tmp.path(),
        &["init", "-q", "-b", "main", empty.to_str().unwrap()],
    );
    // OpenCode's own store, with no session.
    let llm = FakeLlm::start();
    let oc = OpencodeHome::new(CURRENT, &llm);
    oc.session_list_json(&empty);
    oc.stop_llm_and_wait(llm);
    let out = ours(&oc, &empty, &["push-sessions"]).success();
    insta::assert_snapshot!(out, @"
    no sessions of this repository to archive: refs/heads/opencode/sessions not written
    [EOF]
    [exit status: 0]
    ");
    let refs = git_command(&empty).args(["show-ref"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&refs.stdout),
        "",
        "a ref was written"
    );
    assert!(git_in(&empty, &["count-objects"]).starts_with("0 objects"));
    // The post-commit hook of the first commit says so too, and writes no archive either.
    ours(&oc, &empty, &["hook", "install", "--post-commit"]).success();
    let commit = git_command(&empty)
        .args(["commit", "-q", "--allow-empty", "-m", "first"])
        .env("PATH", path_with_our_binary())
        .env("HOME", &oc.home)
        .env("XDG_DATA_HOME", &oc.data_home)
        .output()
        .unwrap();
    CommandOutput::new(commit).success();
    let log = std::fs::read_to_string(empty.join(".git/git-opencode/hook.log")).unwrap();
    assert!(
        log.contains(
            "post-commit ok: refs/heads/opencode/sessions not written: no sessions to archive ("
        ),
        "{log}"
    );
    let refs = git_in(&empty, &["show-ref"]);
    assert!(!refs.contains("opencode"), "{refs}");

    // The archive an earlier version wrote here: a manifest and a README, no sessions/.
    let manifest = r#"{"format":"git-opencode-archive","version":1,"redacted":true}"#;
    let blob = |text: &str| {
        let out = git_command(&empty)
            .args(["hash-object", "-w", "--stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(text.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let tree_spec = format!(
        "100644 blob {}\tREADME.md\n100644 blob {}\tmanifest.json\n",
        blob("# OpenCode sessions archive\n"),
        blob(manifest)
    );
    let tree = git_command(&empty)
        .arg("mktree")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(tree_spec.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let tree = String::from_utf8(tree.stdout).unwrap();
    let commit = git_in(
        &empty,
        &[
            "commit-tree",
            "-m",
            "git-opencode: refresh the archive",
            tree.trim(),
        ],
    );
    git_in(&empty, &["update-ref", ARCHIVE, commit.trim()]);
    let out = ours(&oc, &empty, &["verify"]).success();
    insta::assert_snapshot!(Scrub::new().apply(&out), @"
    archive: refs/heads/opencode/sessions (0 sessions; stored in git)
    store:   $OC_HOME/data/opencode/opencode.db (0 sessions of this repository)
    complete: all 0 archived sessions match the store
    [EOF]
    [exit status: 0]
    ");
    git_in(&empty, &["fsck", "--strict"]);
}

/// The pre-push hook logs what it did: nothing when there is nothing to push, else what
/// syncing each ref did (never "pushed  to origin").
#[test]
fn the_pre_push_hook_logs_what_it_pushed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let repo = Repo::init(&root.join("repo"));
    let bare = root.join("remote.git");
    git_in(&root, &["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    repo.git(&["config", "opencode.pushWithCode", "true"]);
    let llm = FakeLlm::start();
    let oc = OpencodeHome::new(CURRENT, &llm);
    oc.run(&repo.path, &script(&[Step::reply("hello")]), &[]);
    oc.stop_llm_and_wait(llm);
    ours(&oc, &repo.path, &["hook", "install", "--pre-push"]).success();
    let push = || {
        let mut cmd = git_command(&repo.path);
        cmd.args(["push", "-q", "origin", "main"])
            .env("PATH", path_with_our_binary())
            .env("HOME", &oc.home)
            .env("XDG_DATA_HOME", &oc.data_home);
        CommandOutput::new(cmd.output().unwrap()).success();
        let log = std::fs::read_to_string(repo.path.join(".git/git-opencode/hook.log")).unwrap();
        let last = log.lines().last().unwrap().to_owned();
        // `<time> pre-push ok: <message> (<n> ms)`
        let message = last.split_once(" ok: ").map(|(_, m)| m).unwrap_or(&last);
        message
            .rsplit_once(" (")
            .map(|(m, _)| m)
            .unwrap_or(message)
            .to_owned()
    };
    assert_eq!(push(), "nothing to push to origin: no archive or notes yet");
    ours(&oc, &repo.path, &["push-sessions"]).success();
    repo.git(&["commit", "-q", "--allow-empty", "-m", "more"]);
    assert_eq!(push(), "origin: refs/heads/opencode/sessions pushed");
    assert_eq!(
        git_in(&bare, &["rev-parse", ARCHIVE]),
        repo.git(&["rev-parse", ARCHIVE])
    );
    repo.git(&["commit", "-q", "--allow-empty", "-m", "again"]);
    assert_eq!(push(), "origin: refs/heads/opencode/sessions in sync");
}
