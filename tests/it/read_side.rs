//! Acceptance of the read side against stores written by the real OpenCode binary:
//! `list` (children included), `export` byte-equal to `opencode export`, `pack` verified
//! with unzip, Python and `opencode import`, and the store left untouched.

use crate::common::archive::{another_machine, pack};
use crate::common::fake_llm::{script, FakeLlm, Step};
use crate::common::fixtures::{legacy_store, parts_store, rich_store, Fixture};
use crate::common::opencode::{OpencodeHome, CURRENT};
use crate::common::{
    file_names, file_sha256, ours, query_one, session_ids, sha256_hex, zip_entries,
};
use crate::common::{git::Repo, Scrub, TestEnv};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

fn list_json(env: &TestEnv) -> Value {
    env.run(&["list", "--json"]).success().json()
}

/// Acceptance 1: `list` shows exactly the sessions OpenCode's DB holds for the project,
/// subagent sessions included, which `opencode session list` itself hides.
#[test]
fn list_shows_every_session_of_the_project_including_children() {
    let store = rich_store();
    let env = store.copy_env();
    let json = list_json(&env);
    let list = json.as_array().unwrap();
    let oc = env.opencode.as_ref().unwrap();
    let db = oc.open_db();
    let project: String = query_one(
        &db,
        "SELECT project_id FROM session WHERE id = ?1",
        &store.tools,
    );
    let mut stmt = db
        .prepare("SELECT id FROM session WHERE project_id = ?1")
        .unwrap();
    let in_db: BTreeSet<String> = stmt
        .query_map([&project], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(session_ids(&json), in_db);
    let expected: BTreeSet<String> = store.sessions().into_iter().map(String::from).collect();
    assert_eq!(session_ids(&json), expected);

    let child = list
        .iter()
        .find(|s| s["id"] == store.task_child.as_str())
        .unwrap();
    assert_eq!(child["parentID"], store.task_parent.as_str());
    assert!(list
        .iter()
        .all(|s| s["rule"] == "current" && s["projectID"] == project.as_str()));
    let tools = list
        .iter()
        .find(|s| s["id"] == store.tools.as_str())
        .unwrap();
    let messages: i64 = query_one(
        &db,
        "SELECT count(*) FROM message WHERE session_id = ?1",
        &store.tools,
    );
    assert_eq!(tools["messages"], messages);

    // OpenCode's own listing hides the child; ours adds exactly the children.
    let theirs = session_ids(&oc.session_list_json(&env.repo.path));
    let roots: BTreeSet<String> = store.roots().into_iter().map(String::from).collect();
    assert_eq!(theirs, roots);

    // What users read: the table names every session, -v says which rule matched and the
    // project; --json has every field.
    let scrub = Scrub::of(store);
    let table = env.run(&["list"]).success();
    insta::assert_snapshot!(scrub.clone().aligned().apply(&table), @"
    ID                              UPDATED (UTC)     MSGS  PARENT                          TITLE
    [SESSION:plain]                 [TIME]            2     -                               Mock title
    [SESSION:attachment]            [TIME]            2     -                               Attachment 📎
    [SESSION:task_child]            [TIME]            3     [SESSION:task_parent]           delegate 委任 (@general subagent)
    [SESSION:task_parent]           [TIME]            3     -                               Task parent 🤝
    [SESSION:tools]                 [TIME]            10    -                               Tools ✍️ session
    [EOF]
    [exit status: 0]
    ");
    let verbose = env.run(&["list", "-v"]).success();
    insta::assert_snapshot!(scrub.clone().aligned().apply(&verbose), @"
    ID                              UPDATED (UTC)     MSGS  PARENT                          RULE     GEN  PROJECT                                   TITLE
    [SESSION:plain]                 [TIME]            2     -                               current  1    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Mock title
    [SESSION:attachment]            [TIME]            2     -                               current  1    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Attachment 📎
    [SESSION:task_child]            [TIME]            3     [SESSION:task_parent]           current  1    a76aebe1bac55953ccb1f217d023da9cd3a522a0  delegate 委任 (@general subagent)
    [SESSION:task_parent]           [TIME]            3     -                               current  1    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Task parent 🤝
    [SESSION:tools]                 [TIME]            10    -                               current  1    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Tools ✍️ session
    [EOF]
    [exit status: 0]
    ");
    insta::assert_snapshot!(scrub.apply(env.run(&["list", "--json"]).success()), @r#"
    [
      {
        "id": "[SESSION:plain]",
        "title": "Mock title",
        "parentID": null,
        "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
        "directory": "$FIXTURES/rich/repo",
        "created": [TIME_MS],
        "updated": [TIME_MS],
        "messages": 2,
        "rule": "current",
        "store": "sqlite",
        "generation": 1,
        "divergent": false
      },
      {
        "id": "[SESSION:attachment]",
        "title": "Attachment 📎",
        "parentID": null,
        "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
        "directory": "$FIXTURES/rich/repo",
        "created": [TIME_MS],
        "updated": [TIME_MS],
        "messages": 2,
        "rule": "current",
        "store": "sqlite",
        "generation": 1,
        "divergent": false
      },
      {
        "id": "[SESSION:task_child]",
        "title": "delegate 委任 (@general subagent)",
        "parentID": "[SESSION:task_parent]",
        "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
        "directory": "$FIXTURES/rich/repo",
        "created": [TIME_MS],
        "updated": [TIME_MS],
        "messages": 3,
        "rule": "current",
        "store": "sqlite",
        "generation": 1,
        "divergent": false
      },
      {
        "id": "[SESSION:task_parent]",
        "title": "Task parent 🤝",
        "parentID": null,
        "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
        "directory": "$FIXTURES/rich/repo",
        "created": [TIME_MS],
        "updated": [TIME_MS],
        "messages": 3,
        "rule": "current",
        "store": "sqlite",
        "generation": 1,
        "divergent": false
      },
      {
        "id": "[SESSION:tools]",
        "title": "Tools ✍️ session",
        "parentID": null,
        "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
        "directory": "$FIXTURES/rich/repo",
        "created": [TIME_MS],
        "updated": [TIME_MS],
        "messages": 10,
        "rule": "current",
        "store": "sqlite",
        "generation": 1,
        "divergent": false
      }
    ]
    [EOF]
    [exit status: 0]
    "#);
}

/// Asserts that `git opencode export <id>` in `env` is byte-equal to `opencode export <id>`
/// (captured through a file) for each of `ids`.
fn assert_exports_equal_opencode<'a>(env: &TestEnv, ids: impl IntoIterator<Item = &'a str>) {
    let oc = env.opencode.as_ref().unwrap();
    for id in ids {
        let ours = env.run(&["export", id]).success();
        let theirs = oc.export(&env.repo.path, id);
        assert!(
            ours.stdout_bytes() == theirs.as_slice(),
            "export of {id} differs from opencode export:\n{}",
            first_difference(ours.stdout_bytes(), &theirs)
        );
    }
}

/// Acceptance 2: `export <id>` is byte-equal to `opencode export <id>` for every session.
#[test]
fn export_is_byte_equal_to_opencode_export() {
    let store = rich_store();
    let env = store.copy_env();
    assert_exports_equal_opencode(&env, store.sessions());
    // The big truncated tool output is in there, and nothing was cut at 64 KiB.
    let tools = env.run(&["export", &store.tools]).success();
    let tools = tools.stdout();
    assert!(
        tools.len() > 64 * 1024 || tools.contains("outputPath"),
        "{}",
        tools.len()
    );
}

/// The same for sessions holding reasoning, subtask and compaction parts, and the summary
/// message of a compaction.
#[test]
fn export_of_reasoning_subtask_and_compaction_is_byte_equal_to_opencode_export() {
    let store = parts_store();
    let env = store.copy_env();
    assert_exports_equal_opencode(&env, store.sessions());
}

/// A text part holding lone UTF-16 surrogates, as `JSON.stringify` writes half an emoji
/// (`\ud83d`) and OpenCode stores it: `export` keeps the escapes, byte-equal to
/// `opencode export`; pack, push-sessions and transcripts work; and a restore on another
/// machine gives OpenCode the same escapes back.
#[test]
fn lone_surrogates_are_kept_as_opencode_keeps_them() {
    let store = rich_store();
    let env = store.copy_env();
    let oc = env.opencode.as_ref().unwrap();
    let cut = r"cut in half \ud83d|\ude00|\ud83d\ude00 ";
    {
        let conn = rusqlite::Connection::open(oc.db_path()).unwrap();
        let part: String = query_one(
            &conn,
            "SELECT id FROM part WHERE session_id = ?1 AND json_extract(data, '$.type') = 'text' ORDER BY id LIMIT 1",
            &store.plain,
        );
        let sql = format!(
            r#"UPDATE part SET data = replace(data, '"text":"', '"text":"{cut}') WHERE id = ?1"#
        );
        assert_eq!(conn.execute(&sql, [&part]).unwrap(), 1);
    }
    // The pair of escapes is a whole emoji, which `JSON.stringify` writes as it is.
    let kept = r"cut in half \ud83d|\ude00|😀 ";
    let exported = env.run(&["export", &store.plain]).success();
    assert!(exported.stdout().contains(kept), "{exported}");
    assert_exports_equal_opencode(&env, [store.plain.as_str()]);

    let zip = pack(&env, "cut.zip");
    let doc = &zip_entries(&zip)
        .into_iter()
        .find(|(name, _)| *name == format!("sessions/{}.json", store.plain))
        .unwrap()
        .1;
    assert_eq!(doc, exported.stdout_bytes());
    env.run(&["push-sessions", "-q"]).success();
    let hits = env.git(&[
        "grep",
        "-F",
        "-l",
        kept,
        "opencode/sessions",
        "--",
        "*.json",
    ]);
    assert!(hits.contains(&store.plain), "{hits}");
    let markdown = env
        .run(&["export", "--format", "markdown", &store.plain])
        .success();
    assert!(
        markdown
            .stdout()
            .contains("cut in half \u{fffd}|\u{fffd}|😀 "),
        "{markdown}"
    );

    let llm = FakeLlm::start();
    let (fresh, clone) = another_machine(&env, &llm, "other/checkout");
    ours(
        &fresh,
        &clone.path,
        &["restore", "-q", zip.to_str().unwrap()],
    )
    .success();
    let back = fresh.export(&clone.path, &store.plain);
    assert!(
        String::from_utf8_lossy(&back).contains(kept),
        "{}",
        String::from_utf8_lossy(&back)
    );
    drop(llm);
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let from = at.saturating_sub(200);
    format!(
        "at byte {at} (lengths {} vs {}):\nours:   {}\ntheirs: {}",
        a.len(),
        b.len(),
        String::from_utf8_lossy(&a[from..(at + 200).min(a.len())]),
        String::from_utf8_lossy(&b[from..(at + 200).min(b.len())])
    )
}

/// Acceptance 2 (directory form): without IDs, every session of the repo lands in DIR.
#[test]
fn export_without_ids_writes_every_session_into_the_directory() {
    let store = rich_store();
    let env = store.copy_env();
    let dir = env.new_dir("out");
    let printed = env.run(&["export", "-o", dir.to_str().unwrap()]).success();
    let files = file_names(&dir);
    let mut want: Vec<String> = store
        .sessions()
        .into_iter()
        .map(|id| format!("{id}.json"))
        .collect();
    want.sort();
    assert_eq!(files, want);
    assert_eq!(printed.stdout().lines().count(), want.len());
    insta::assert_snapshot!(Scrub::of(store).apply(printed), @"
    $TEST_ENV/out/[SESSION:plain].json
    $TEST_ENV/out/[SESSION:attachment].json
    $TEST_ENV/out/[SESSION:task_child].json
    $TEST_ENV/out/[SESSION:task_parent].json
    $TEST_ENV/out/[SESSION:tools].json
    [EOF]
    [exit status: 0]
    ");
    let one = std::fs::read(dir.join(format!("{}.json", store.plain))).unwrap();
    let plain = env.run(&["export", &store.plain]).success();
    assert_eq!(one, plain.stdout_bytes());
}

/// Acceptance 2 and 3: the zip is valid for unzip and Python, its checksums match, two packs
/// are byte-identical, and every `sessions/<id>.json` imports into a fresh OpenCode store,
/// where `opencode export` gives back the same messages and parts.
#[test]
fn pack_is_verified_deterministic_and_importable() {
    let store = rich_store();
    let env = store.copy_env();
    let zip1 = env.root.join("one.zip");
    let zip2 = env.root.join("two.zip");
    let out = env.run(&["pack", "-o", zip1.to_str().unwrap()]).success();
    insta::assert_snapshot!(out, @"
    $TEST_ENV/one.zip
    [EOF]
    [exit status: 0]
    ");
    // -q leaves out progress, not the path of what it wrote.
    let quiet = env.run(&["pack", "-q", "-o", zip2.to_str().unwrap()]);
    insta::assert_snapshot!(quiet.success(), @"
    $TEST_ENV/two.zip
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        std::fs::read(&zip1).unwrap(),
        std::fs::read(&zip2).unwrap(),
        "packs differ"
    );
    // `-o -` streams the very same bytes to standard output.
    let streamed = env.run(&["pack", "-o", "-"]).success();
    assert_eq!(
        streamed.stdout_bytes(),
        std::fs::read(&zip1).unwrap(),
        "pack -o - differs"
    );

    let unzip = Command::new("unzip")
        .arg("-t")
        .arg(&zip1)
        .output()
        .expect("unzip is installed");
    assert!(
        unzip.status.success(),
        "{}",
        String::from_utf8_lossy(&unzip.stdout)
    );
    assert!(String::from_utf8_lossy(&unzip.stdout).contains("No errors detected"));
    let python = Command::new("python3")
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))"])
        .arg(&zip1)
        .output()
        .expect("python3 is installed");
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );

    let entries = zip_entries(&zip1);
    let (name, manifest) = entries.last().unwrap();
    assert_eq!(name, "manifest.json");
    let manifest: Value = serde_json::from_slice(manifest).unwrap();
    assert_eq!(manifest["version"], 1);
    let listed = manifest["entries"].as_array().unwrap();
    assert_eq!(listed.len(), entries.len() - 1);
    for (entry, (name, data)) in listed.iter().zip(&entries) {
        assert_eq!(entry["path"], name.as_str());
        assert_eq!(entry["size"], data.len());
        let digest: String = sha256_hex(data);
        assert_eq!(entry["sha256"], digest, "checksum of {name}");
    }
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    for id in store.sessions() {
        assert!(
            names.contains(&format!("sessions/{id}.json").as_str()),
            "{id} missing: {names:?}"
        );
    }
    let extra = entries
        .iter()
        .find(|(n, _)| *n == format!("sessions/{}.extra.json", store.tools))
        .expect("todos of the tools session are packed");
    let extra: Value = serde_json::from_slice(&extra.1).unwrap();
    assert_eq!(extra["todos"].as_array().unwrap().len(), 3);
    assert!(names.iter().any(|n| n.starts_with("project/")));
    assert!(!String::from_utf8_lossy(&std::fs::read(&zip1).unwrap()).contains("\"secret\""));

    // Import every session into a brand-new OpenCode home and a fresh repository.
    let llm = FakeLlm::start();
    let fresh = OpencodeHome::new(CURRENT, &llm);
    let target = Repo::init(&env.root.join("elsewhere"));
    let oc = env.opencode.as_ref().unwrap();
    for (name, data) in entries
        .iter()
        .filter(|(n, _)| n.starts_with("sessions/") && !n.ends_with(".extra.json"))
    {
        let file = env.root.join(name.replace('/', "_"));
        std::fs::write(&file, data).unwrap();
        let imported = fresh.import(&target.path, &file);
        assert!(
            imported.status.success(),
            "import {name}: {}",
            String::from_utf8_lossy(&imported.stderr)
        );
        let id = name
            .trim_start_matches("sessions/")
            .trim_end_matches(".json");
        let back: Value = serde_json::from_slice(&fresh.export(&target.path, id)).unwrap();
        let original: Value = serde_json::from_slice(&oc.export(&env.repo.path, id)).unwrap();
        assert_eq!(
            without_file_synthetic(&back["messages"]),
            without_file_synthetic(&original["messages"]),
            "messages of {id} after import"
        );
        assert_eq!(back["info"]["title"], original["info"]["title"]);
    }
}

/// OpenCode 1.18.34's `opencode import` drops `synthetic` from file parts (and only there);
/// that is the importer's doing, not the exported document's.
fn without_file_synthetic(messages: &Value) -> Value {
    let mut messages = messages.clone();
    for message in messages.as_array_mut().unwrap() {
        for part in message["parts"].as_array_mut().unwrap() {
            if part["type"] == "file" {
                part.as_object_mut().unwrap().remove("synthetic");
            }
        }
    }
    messages
}

/// Acceptance 3: right after OpenCode wrote (non-empty `-wal`), our read commands leave
/// `opencode.db` and `opencode.db-wal` byte-identical.
#[test]
fn read_commands_leave_the_store_byte_identical() {
    let store = rich_store();
    let mut env = store.copy_env();
    let llm = env.start_llm();
    let oc = env.opencode.as_ref().unwrap();
    let run = oc.run(
        &env.repo.path,
        &script(&[Step::reply("one more turn")]),
        &[],
    );
    drop(llm);
    let db = oc.db_path();
    let wal = db.with_file_name("opencode.db-wal");
    assert!(
        std::fs::metadata(&wal)
            .map(|m| m.len() > 0)
            .unwrap_or(false),
        "expected a live -wal"
    );
    let before = (file_sha256(&db), file_sha256(&wal));
    let out_dir = env.new_dir("exports");
    let zip = env.root.join("p.zip");
    env.run(&["list"]).success();
    env.run(&["list", "--json"]).success();
    env.run(&["export", &run.session_id]).success();
    env.run(&["export", "-o", out_dir.to_str().unwrap()])
        .success();
    env.run(&["pack", "-o", zip.to_str().unwrap()]).success();
    assert_eq!(
        (file_sha256(&db), file_sha256(&wal)),
        before,
        "the store changed"
    );
    // The new turn is in the pack: the WAL was read.
    let names: Vec<String> = zip_entries(&zip).into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&format!("sessions/{}.json", run.session_id)));
}

/// Acceptance 4: a JSON store written by OpenCode 1.1.65: every session, message and part.
#[test]
fn legacy_json_store_is_read_completely() {
    let store = legacy_store();
    let env = store.copy_env();
    let json = list_json(&env);
    let list = json.as_array().unwrap();
    let expected: BTreeSet<String> = store.sessions().into_iter().map(String::from).collect();
    assert_eq!(session_ids(&json), expected);
    assert!(list.iter().all(|s| s["store"] == "json"));
    let table = env.run(&["list", "-v"]).success();
    insta::assert_snapshot!(Scrub::of(store).aligned().apply(table), @"
    ID                              UPDATED (UTC)     MSGS  PARENT                          RULE     GEN  PROJECT                                   TITLE
    [SESSION:attachment]            [TIME]            2     -                               current  1    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Legacy attachment
    [SESSION:task_child]            [TIME]            3     [SESSION:task_parent]           current  1    a76aebe1bac55953ccb1f217d023da9cd3a522a0  delegate (@general subagent)
    [SESSION:task_parent]           [TIME]            3     -                               current  1    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Legacy task
    [SESSION:tools]                 [TIME]            9     -                               current  1    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Legacy tools
    [EOF]
    [exit status: 0]
    ");
    let storage = env.data_home.join("opencode/storage");
    let oc = env.opencode.as_ref().unwrap();
    for id in &expected {
        let doc = env.run(&["export", id]).success().json();
        let messages = doc["messages"].as_array().unwrap();
        let message_files = std::fs::read_dir(storage.join("message").join(id))
            .unwrap()
            .count();
        assert_eq!(messages.len(), message_files, "messages of {id}");
        for m in messages {
            let mid = m["info"]["id"].as_str().unwrap();
            let part_files = std::fs::read_dir(storage.join("part").join(mid))
                .map(|d| d.count())
                .unwrap_or(0);
            assert_eq!(
                m["parts"].as_array().unwrap().len(),
                part_files,
                "parts of {mid}"
            );
        }
        // The JSON-era binary prints the same document, byte for byte.
        let theirs = oc.export(&env.repo.path, id);
        let ours = env.run(&["export", id]).success();
        assert!(
            ours.stdout_bytes() == theirs,
            "legacy export of {id}:\n{}",
            first_difference(ours.stdout_bytes(), &theirs)
        );
    }
    let tools = list
        .iter()
        .find(|s| s["id"] == store.tools.as_str())
        .unwrap();
    assert!(tools["messages"].as_u64().unwrap() >= 4);
    let zip = env.root.join("legacy.zip");
    env.run(&["pack", "-o", zip.to_str().unwrap()]).success();
    let entries = zip_entries(&zip);
    let extra = entries
        .iter()
        .find(|(n, _)| *n == format!("sessions/{}.extra.json", store.tools))
        .expect("legacy todos are packed");
    assert!(String::from_utf8_lossy(&extra.1).contains("second 二"));
}
