//! Acceptance of `git opencode verify`: a complete archive passes (exit 0); a new OpenCode
//! turn makes its session "changed", a new session is "extra", a deleted one "missing"
//! (exit 1); a tampered zip entry is named as failing its checksum.

use crate::common::archive::{another_machine, build_archive_branch, pack};
use crate::common::fake_llm::{script, FakeLlm, Step};
use crate::common::fixtures::{rich_store, Fixture};
use crate::common::{file_sha256, ours, zip_entries, Scrub};
use std::io::Write;

/// Acceptance 5.
#[test]
fn verify_reports_complete_changed_extra_and_tampered() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    let zip = pack(&env, "sessions.zip");
    let zip_arg = zip.to_str().unwrap();

    let out = env.run(&["verify", zip_arg]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    archive: $TEST_ENV/sessions.zip (5 sessions; checksums of 7 entries ok)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (5 sessions of this repository)
    complete: all 5 archived sessions match the store
    [EOF]
    [exit status: 0]
    ");
    let report = env.run(&["verify", "--json", zip_arg]).success();
    assert_eq!(report.json()["complete"], true);
    assert_eq!(report.json()["checksums"]["ok"], true);
    assert_eq!(report.json()["matching"], 5);
    insta::assert_snapshot!(scrub.apply(&report), @r#"
    {
      "source": "$TEST_ENV/sessions.zip",
      "kind": "zip",
      "complete": true,
      "checksums": {
        "checked": 7,
        "ok": true,
        "failures": []
      },
      "archived": 5,
      "store": {
        "path": "$TEST_ENV/opencode/data/opencode/opencode.db",
        "sessions": 5
      },
      "matching": 5,
      "missing": [],
      "changed": [],
      "extra": [],
      "unreadable": []
    }
    [EOF]
    [exit status: 0]
    "#);

    // The same archive restored elsewhere (re-homed) still verifies as complete.
    let llm = FakeLlm::start();
    let (oc, clone) = another_machine(&env, &llm, "other/clone");
    ours(&oc, &clone.path, &["restore", "-q", zip_arg]).success();
    let out = ours(&oc, &clone.path, &["verify", zip_arg]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    archive: $TEST_ENV/sessions.zip (5 sessions; checksums of 7 entries ok)
    store:   $OC_HOME/data/opencode/opencode.db (5 sessions of this repository)
    complete: all 5 archived sessions match the store
    [EOF]
    [exit status: 0]
    ");

    // A new turn in one session, and a new session.
    oc.continue_session(
        &clone.path,
        &store.plain,
        &format!("and one more\n{}", script(&[Step::reply("more 🆕")])),
        &[],
    );
    let new = oc.run(&clone.path, &script(&[Step::reply("brand new")]), &[]);
    drop(llm);
    let scrub = scrub.session(&new.session_id, "new");
    let out = ours(&oc, &clone.path, &["verify", zip_arg]).failure();
    insta::assert_snapshot!(scrub.apply(&out), @"
    archive: $TEST_ENV/sessions.zip (5 sessions; checksums of 7 entries ok)
    store:   $OC_HOME/data/opencode/opencode.db (6 sessions of this repository)
    changed  [SESSION:plain]  Mock title (newer in the store)
    extra    [SESSION:new]  Mock title (in the store, not in the archive)
    [EOF]
    [stderr]
    error: $TEST_ENV/sessions.zip does not match the store: 1 changed, 0 missing, 1 extra
    hint: `git opencode restore $TEST_ENV/sessions.zip` brings archived sessions back; `git opencode pack` or `push-sessions` archives new ones
    [EOF]
    [exit status: 1]
    ");
    let report = ours(&oc, &clone.path, &["verify", "--json", zip_arg]).failure();
    let json = report.json();
    assert_eq!(json["complete"], false);
    assert_eq!(json["changed"][0]["id"], store.plain.as_str());
    assert_eq!(json["changed"][0]["newer"], "store");
    assert_eq!(json["extra"][0]["id"], new.session_id.as_str());
    assert_eq!(json["matching"], 4);
    insta::assert_snapshot!(scrub.apply(&report), @r#"
    {
      "source": "$TEST_ENV/sessions.zip",
      "kind": "zip",
      "complete": false,
      "checksums": {
        "checked": 7,
        "ok": true,
        "failures": []
      },
      "archived": 5,
      "store": {
        "path": "$OC_HOME/data/opencode/opencode.db",
        "sessions": 6
      },
      "matching": 4,
      "missing": [],
      "changed": [
        {
          "id": "[SESSION:plain]",
          "title": "Mock title",
          "newer": "store"
        }
      ],
      "extra": [
        {
          "id": "[SESSION:new]",
          "title": "Mock title"
        }
      ],
      "unreadable": []
    }
    [EOF]
    [stderr]
    error: $TEST_ENV/sessions.zip does not match the store: 1 changed, 0 missing, 1 extra
    hint: `git opencode restore $TEST_ENV/sessions.zip` brings archived sessions back; `git opencode pack` or `push-sessions` archives new ones
    [EOF]
    [exit status: 1]
    "#);

    // A tampered entry: the zip itself is valid (CRCs match), the manifest's SHA-256 is not.
    let name = format!("sessions/{}.json", store.tools);
    let tampered = env.root.join("tampered.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&tampered).unwrap());
    for (entry, data) in zip_entries(&zip) {
        let data = if entry == name {
            String::from_utf8(data)
                .unwrap()
                .replacen("Tools", "Tampered", 1)
                .into_bytes()
        } else {
            data
        };
        writer
            .start_file(entry.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(&data).unwrap();
    }
    writer.finish().unwrap();
    let out = env.run(&["verify", tampered.to_str().unwrap()]).failure();
    insta::assert_snapshot!(scrub.apply(&out), @"
    archive: $TEST_ENV/tampered.zip (4 sessions; 1 of 7 entries failed their checksum)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (5 sessions of this repository)
    bad      sessions/[SESSION:tools].json: checksum mismatch
    extra    [SESSION:tools]  Tools ✍️ session (in the store, not in the archive)
    [EOF]
    [stderr]
    error: entry sessions/[SESSION:tools].json of $TEST_ENV/tampered.zip: checksum mismatch
    hint: the zip was changed after it was written; write a new one with `git opencode pack`
    [EOF]
    [exit status: 1]
    ");
    let report = env.run(&["verify", "--json", tampered.to_str().unwrap()]);
    assert_eq!(
        report.failure().json()["checksums"]["failures"][0]["entry"],
        name.as_str()
    );

    // restore refuses it and writes nothing.
    let db = oc.db_path();
    let before = file_sha256(&db);
    let out = ours(&oc, &clone.path, &["restore", tampered.to_str().unwrap()]).failure();
    insta::assert_snapshot!(scrub.apply(&out), @"
    [stderr]
    error: entry sessions/[SESSION:tools].json of $TEST_ENV/tampered.zip: checksum mismatch
    hint: the zip was changed after it was written; nothing was restored
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(file_sha256(&db), before);
}

/// Without an argument verify reads the archive branch; a session missing from the store is
/// reported; without the branch it says what to pass instead.
#[test]
fn verify_defaults_to_the_archive_branch() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    insta::assert_snapshot!(env.run(&["verify"]).failure(), @"
    [stderr]
    error: no archive branch refs/heads/opencode/sessions in this repository
    hint: pass a pack zip (git opencode verify <ZIP>), or archive first with git opencode push-sessions
    [EOF]
    [exit status: 1]
    ");

    let zip = pack(&env, "sessions.zip");
    build_archive_branch(&env.repo, &zip);
    let out = env.run(&["verify"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    archive: refs/heads/opencode/sessions (5 sessions; stored in git)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (5 sessions of this repository)
    complete: all 5 archived sessions match the store
    [EOF]
    [exit status: 0]
    ");

    let db = env.opencode.as_ref().unwrap().db_path();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    conn.execute("DELETE FROM session WHERE id = ?1", [&store.attachment])
        .unwrap();
    drop(conn);
    let out = env.run(&["verify", "--json"]).failure();
    let report = out.json();
    assert_eq!(report["missing"][0]["id"], store.attachment.as_str());
    assert_eq!(report["kind"], "git");
    insta::assert_snapshot!(scrub.apply(&out), @r#"
    {
      "source": "refs/heads/opencode/sessions",
      "kind": "git",
      "complete": false,
      "checksums": {
        "checked": 0,
        "ok": true,
        "failures": []
      },
      "archived": 5,
      "store": {
        "path": "$TEST_ENV/opencode/data/opencode/opencode.db",
        "sessions": 4
      },
      "matching": 4,
      "missing": [
        {
          "id": "[SESSION:attachment]",
          "title": "Attachment 📎"
        }
      ],
      "changed": [],
      "extra": [],
      "unreadable": []
    }
    [EOF]
    [stderr]
    error: refs/heads/opencode/sessions does not match the store: 0 changed, 1 missing, 0 extra
    hint: `git opencode restore refs/heads/opencode/sessions` brings archived sessions back; `git opencode pack` or `push-sessions` archives new ones
    [EOF]
    [exit status: 1]
    "#);
    let out = env.run(&["verify"]).failure();
    insta::assert_snapshot!(scrub.apply(&out), @"
    archive: refs/heads/opencode/sessions (5 sessions; stored in git)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (4 sessions of this repository)
    missing  [SESSION:attachment]  Attachment 📎 (in the archive, not in the store)
    [EOF]
    [stderr]
    error: refs/heads/opencode/sessions does not match the store: 0 changed, 1 missing, 0 extra
    hint: `git opencode restore refs/heads/opencode/sessions` brings archived sessions back; `git opencode pack` or `push-sessions` archives new ones
    [EOF]
    [exit status: 1]
    ");

    // restore from the branch brings it back; then verify passes again.
    let restored = env.run(&["restore", "refs/heads/opencode/sessions"]);
    insta::assert_snapshot!(scrub.apply(restored.success()), @"
    unchanged    [SESSION:plain]  Mock title
    added        [SESSION:attachment]  Attachment 📎
    unchanged    [SESSION:task_child]  delegate 委任 (@general subagent)
    unchanged    [SESSION:task_parent]  Task parent 🤝
    unchanged    [SESSION:tools]  Tools ✍️ session
    backup: $TEST_ENV/opencode/data/opencode/opencode.db.git-opencode-backup-[TIME]
    restored into $TEST_ENV/opencode/data/opencode/opencode.db (project a76aebe1bac55953ccb1f217d023da9cd3a522a0, $TEST_ENV/repo): 1 added, 0 updated, 4 unchanged, 0 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
    let quiet = env.run(&["verify", "-q"]).success();
    insta::assert_snapshot!(quiet, @"
    archive: refs/heads/opencode/sessions (5 sessions; stored in git)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (5 sessions of this repository)
    complete: all 5 archived sessions match the store
    [EOF]
    [exit status: 0]
    ");
}
