//! The OpenCode releases between the JSON store and today's, each through one small scenario
//! driven by that release's own binary: a session with tool calls in a real git repository;
//! `list`; `export` byte-equal to the release's `opencode export`; `pack` and `verify`;
//! `push-sessions` twice (the second writes nothing) and `git fsck --strict`; then a restore
//! into a fresh store of the same release, which lists, exports and continues the session.
//!
//! Store generations differ in ways only a real release shows: 1.2 and 1.3 have no `cost`
//! or `tokens` columns (and their export prints no such keys); 1.15 writes `session_message`
//! rows on every run but has no `seq` column; 1.17 added `seq`. One test per release, so that
//! the test runner runs them in parallel.

use crate::common::archive::{clone_to, pack_docs};
use crate::common::fake_llm::{script, FakeLlm, Step};
use crate::common::git::Repo;
use crate::common::opencode::{OpencodeHome, CURRENT, LEGACY};
use crate::common::{ours, session_ids, Scrub};
use crate::restore::without_home;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Instant;

#[test]
fn release_1_1_65_json_store() {
    scenario(LEGACY);
}

/// The first SQLite release: no `workspace_id`, `cost` or `tokens` columns.
#[test]
fn release_1_2_1() {
    scenario("1.2.1");
}

#[test]
fn release_1_3_0() {
    scenario("1.3.0");
}

/// `session_message` without `seq`.
#[test]
fn release_1_15_0() {
    scenario("1.15.0");
}

/// `session_message.seq`, before 1.18's schema.
#[test]
fn release_1_17_0() {
    scenario("1.17.0");
}

#[test]
fn release_1_18_34() {
    scenario(CURRENT);
}

/// The one scenario every release goes through; see the module documentation.
fn scenario(version: &str) {
    let started = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("git-opencode-")
        .tempdir()
        .unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let repo = Repo::init(&root.join("repo"));
    repo.write("src/main.rs", "fn main() {}\n");
    repo.commit_all("add sources");

    let llm = FakeLlm::start();
    let oc = OpencodeHome::new(version, &llm);
    let prompt = format!(
        "Write the notes 📝 ({version})\n{}",
        script(&[
            Step::write("notes.md", "# Notes ✍️\n"),
            Step::bash("echo 'hello from bash 🐚'", "greet"),
            Step::reply("Done ✅"),
        ])
    );
    let run = oc.run(&repo.path, &prompt, &["--title", "Release session"]);
    for part in run.events.iter().filter(|e| e["type"] == "tool_use") {
        assert_eq!(
            part["part"]["state"]["status"], "completed",
            "{version}: {part}"
        );
    }
    assert_eq!(
        run.tool_parts("write").len(),
        1,
        "{version}: {:?}",
        run.events
    );
    let id = run.session_id.clone();
    let scrub = Scrub::new().session(&id, "session");
    let want = BTreeSet::from([id.clone()]);

    // `list` finds the session as OpenCode lists it.
    let list = ours(&oc, &repo.path, &["list", "--json"]).success().json();
    assert_eq!(session_ids(&list), want, "{version}: list");
    assert_eq!(
        session_ids(&oc.session_list_json(&repo.path)),
        want,
        "{version}: opencode session list"
    );
    let messages = list[0]["messages"].as_u64().unwrap();
    assert!(messages >= 2, "{version}: {list}");

    // `export` prints what this release's own `opencode export` prints, byte for byte.
    let ours_export = ours(&oc, &repo.path, &["export", &id]).success();
    let theirs = oc.export(&repo.path, &id);
    assert!(
        ours_export.stdout_bytes() == theirs.as_slice(),
        "{version}: export differs from opencode export\n--- ours ---\n{}\n--- opencode ---\n{}",
        ours_export.stdout(),
        String::from_utf8_lossy(&theirs)
    );

    // `pack`, and `verify` of the pack against the store.
    let zip = root.join("sessions.zip");
    let zip_arg = zip.to_str().unwrap();
    ours(&oc, &repo.path, &["pack", "-q", "-o", zip_arg]).success();
    let verified = ours(&oc, &repo.path, &["verify", zip_arg]).success();
    assert!(
        verified
            .stdout()
            .contains("complete: all 1 archived sessions match the store"),
        "{version}: {verified}"
    );

    // `push-sessions` twice: the second finds nothing to do; git finds nothing wrong.
    // Every release must print the same lines: one snapshot shared by all of them.
    let first = scrub.apply(ours(&oc, &repo.path, &["push-sessions"]).success());
    let second = scrub.apply(ours(&oc, &repo.path, &["push-sessions"]).success());
    insta::allow_duplicates! {
        insta::assert_snapshot!(format!("{first}\n{second}"), @"
        refs/heads/opencode/sessions [COMMIT]: 1 added, 0 updated
        [EOF]
        [exit status: 0]
        refs/heads/opencode/sessions is up to date
        [EOF]
        [exit status: 0]
        ");
    }
    repo.git(&["fsck", "--strict"]);
    ours(&oc, &repo.path, &["verify"]).success();

    // Restore into a fresh store of the same release, in a clone elsewhere: the release
    // lists the session, exports it as archived (re-homed), and continues it.
    let fresh = OpencodeHome::new(version, &llm);
    let clone = clone_to(&repo, &root.join("elsewhere/clone"), None);
    assert_eq!(
        fresh.session_list_json(&clone.path),
        serde_json::json!([]),
        "{version}: the fresh store is empty"
    );
    let restored = ours(&fresh, &clone.path, &["restore", "-q", zip_arg]);
    restored.success();
    assert_eq!(
        session_ids(&fresh.session_list_json(&clone.path)),
        want,
        "{version}: opencode session list after restore"
    );
    let archived = &pack_docs(&zip)[&id];
    let back: Value = serde_json::from_slice(&fresh.export(&clone.path, &id)).unwrap();
    assert_eq!(
        without_home(&back),
        without_home(archived),
        "{version}: opencode export after restore"
    );
    let more = script(&[Step::reply("continued after restore ✅")]);
    fresh.continue_session(&clone.path, &id, &format!("go on\n{more}"), &[]);
    let after = ours(&fresh, &clone.path, &["list", "--json"])
        .success()
        .json();
    assert_eq!(
        after[0]["messages"].as_u64(),
        Some(messages + 2),
        "{version}: one more turn after restore: {after}"
    );

    oc.stop_llm_and_wait(llm);
    eprintln!("release {version}: scenario took {:.1?}", started.elapsed());
}
