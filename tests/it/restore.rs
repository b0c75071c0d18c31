//! Acceptance of `git opencode restore` against the real OpenCode binaries: sessions packed in
//! one OpenCode home and checkout come back in another (SQLite 1.18.34 and JSON 1.1.65),
//! re-homed, listed, exported and continued by OpenCode itself; union by ID with a store that
//! already holds some of them; a concurrent `opencode serve`; hostile and broken zips.

use crate::common::archive::{another_machine, build_archive_branch, clone_to, pack, pack_docs};
use crate::common::fake_llm::{script, FakeLlm, Step};
use crate::common::fixtures::{legacy_store, rich_store, Fixture};
use crate::common::opencode::{OpencodeHome, CURRENT, LEGACY};
use crate::common::serve::{http, Server};
use crate::common::{
    file_names, file_sha256, ours, query_one, session_ids, sha256_hex, zip_entries, Scrub, TestEnv,
    FAKE_KEY,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An export document without the fields a restore re-homes: `info.projectID`,
/// `info.directory`, `info.path` and the messages' `path` (cwd, root); the files of patch
/// parts are made relative to the session's directory.
pub fn without_home(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let info = doc["info"].as_object_mut().unwrap();
    let directory = format!("{}/", info["directory"].as_str().unwrap());
    for key in ["projectID", "directory", "path"] {
        info.remove(key);
    }
    for message in doc["messages"].as_array_mut().unwrap() {
        message["info"].as_object_mut().unwrap().remove("path");
        for part in message["parts"].as_array_mut().unwrap() {
            if part["type"] != "patch" {
                continue;
            }
            for file in part["files"].as_array_mut().unwrap() {
                if let Some(rel) = file.as_str().unwrap().strip_prefix(&directory) {
                    *file = Value::String(rel.to_owned());
                }
            }
        }
    }
    doc
}

fn message_ids(doc: &Value) -> Vec<String> {
    doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["info"]["id"].as_str().unwrap().to_owned())
        .collect()
}

pub fn integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "integrity_check of {}", db.display());
    let fk: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0, "foreign key violations in {}", db.display());
}

/// Acceptance 1: pack in one home and checkout, restore into an empty home and a clone at
/// another path (with an origin remote, so OpenCode computes another project ID there): the
/// real OpenCode lists every root session, exports each as the original except the re-homed
/// fields, keeps children under their parents, and continues a restored session.
#[test]
fn restore_into_an_empty_store_and_another_checkout() {
    let store = rich_store();
    let env = store.copy_env();
    let zip = pack(&env, "sessions.zip");
    let original = env.opencode.as_ref().unwrap();

    let llm = FakeLlm::start();
    let fresh = OpencodeHome::new(CURRENT, &llm);
    let clone = clone_to(
        &env.repo,
        &env.root.join("elsewhere/clone"),
        Some("https://example.com/Team/App.git"),
    );
    assert_eq!(fresh.session_list_json(&clone.path), json!([]));
    let db = fresh.db_path();
    let before = file_sha256(&db);

    let scrub = Scrub::of(store);
    let dry = ours(
        &fresh,
        &clone.path,
        &["restore", "--dry-run", zip.to_str().unwrap()],
    );
    insta::assert_snapshot!(scrub.apply(dry.success()), @"
    would add    [SESSION:plain]  Mock title
    would add    [SESSION:attachment]  Attachment 📎
    would add    [SESSION:task_child]  delegate 委任 (@general subagent)
    would add    [SESSION:task_parent]  Task parent 🤝
    would add    [SESSION:tools]  Tools ✍️ session
    dry run: 5 to add, 0 to update, 0 unchanged, 0 to keep (newer locally) into $OC_HOME/data/opencode/opencode.db (project b10168d3809b4a25c98515571e7e43a63137c07e, $TEST_ENV/elsewhere/clone); nothing was changed
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(file_sha256(&db), before, "--dry-run changed the store");

    let started = Instant::now();
    let out = ours(&fresh, &clone.path, &["restore", zip.to_str().unwrap()]).success();
    eprintln!("restore of 5 sessions took {:.2?}", started.elapsed());
    insta::assert_snapshot!(scrub.apply(&out), @"
    added        [SESSION:plain]  Mock title
    added        [SESSION:attachment]  Attachment 📎
    added        [SESSION:task_child]  delegate 委任 (@general subagent)
    added        [SESSION:task_parent]  Task parent 🤝
    added        [SESSION:tools]  Tools ✍️ session
    backup: $OC_HOME/data/opencode/opencode.db.git-opencode-backup-[TIME]
    restored into $OC_HOME/data/opencode/opencode.db (project b10168d3809b4a25c98515571e7e43a63137c07e, $TEST_ENV/elsewhere/clone): 5 added, 0 updated, 0 unchanged, 0 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
    let backup = out
        .raw_stdout()
        .lines()
        .find_map(|l| l.strip_prefix("backup: "))
        .unwrap_or_else(|| panic!("no backup line in {out}"));
    assert!(Path::new(backup).is_file(), "{backup}");
    assert!(backup.starts_with(db.to_str().unwrap()), "{backup}");
    integrity_ok(&db);

    let roots: BTreeSet<String> = store.roots().into_iter().map(String::from).collect();
    let listed = fresh.session_list_json(&clone.path);
    assert_eq!(
        session_ids(&listed),
        roots,
        "opencode session list after restore"
    );
    let project = listed[0]["projectId"].as_str().unwrap().to_owned();
    assert_ne!(
        project,
        original.session_list_json(&env.repo.path)[0]["projectId"]
            .as_str()
            .unwrap(),
        "the clone has its own project ID"
    );

    let mut patch_files = 0;
    for id in store.sessions() {
        let theirs: Value = serde_json::from_slice(&original.export(&env.repo.path, id)).unwrap();
        let back: Value = serde_json::from_slice(&fresh.export(&clone.path, id)).unwrap();
        assert_eq!(
            without_home(&back),
            without_home(&theirs),
            "export of {id} after restore"
        );
        assert_eq!(back["info"]["projectID"], project.as_str());
        assert_eq!(back["info"]["directory"], clone.path.to_str().unwrap());
        for message in back["messages"].as_array().unwrap() {
            if let Some(cwd) = message["info"]["path"]["cwd"].as_str() {
                assert_eq!(cwd, clone.path.to_str().unwrap(), "path.cwd of {id}");
            }
            // Notes attribute commits of this clone to the session by these files.
            for part in message["parts"].as_array().unwrap() {
                for file in part["files"].as_array().into_iter().flatten() {
                    let file = Path::new(file.as_str().unwrap());
                    assert!(file.starts_with(&clone.path), "patch file {file:?} of {id}");
                    patch_files += 1;
                }
            }
        }
    }
    assert!(patch_files > 0, "no patch part names a file");
    let conn = fresh.open_db();
    let parent: Option<String> = query_one(
        &conn,
        "SELECT parent_id FROM session WHERE id = ?1",
        &store.task_child,
    );
    assert_eq!(parent.as_deref(), Some(store.task_parent.as_str()));
    let todos: i64 = query_one(
        &conn,
        "SELECT count(*) FROM todo WHERE session_id = ?1",
        &store.tools,
    );
    assert_eq!(todos, 3);
    drop(conn);

    // OpenCode continues a restored session.
    let run = fresh.continue_session(
        &clone.path,
        &store.plain,
        &format!(
            "go on\n{}",
            script(&[Step::reply("continued after restore ✅")])
        ),
        &[],
    );
    assert!(
        run.events.iter().any(|e| e["type"] == "text"),
        "{:?}",
        run.events
    );
    let after: Value = serde_json::from_slice(&fresh.export(&clone.path, &store.plain)).unwrap();
    let archived = &pack_docs(&zip)[&store.plain];
    assert_eq!(
        message_ids(&after)[..message_ids(archived).len()],
        message_ids(archived)[..]
    );
    assert_eq!(message_ids(&after).len(), message_ids(archived).len() + 2);

    // Restoring again changes nothing, and keeps the session continued here.
    let again = ours(&fresh, &clone.path, &["restore", zip.to_str().unwrap()]);
    insta::assert_snapshot!(scrub.apply(again.success()), @"
    kept         [SESSION:plain]  Mock title (the local copy is newer)
    unchanged    [SESSION:attachment]  Attachment 📎
    unchanged    [SESSION:task_child]  delegate 委任 (@general subagent)
    unchanged    [SESSION:task_parent]  Task parent 🤝
    unchanged    [SESSION:tools]  Tools ✍️ session
    restored into $OC_HOME/data/opencode/opencode.db (project b10168d3809b4a25c98515571e7e43a63137c07e, $TEST_ENV/elsewhere/clone): 0 added, 0 updated, 4 unchanged, 1 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
    let still: Value = serde_json::from_slice(&fresh.export(&clone.path, &store.plain)).unwrap();
    assert_eq!(message_ids(&still), message_ids(&after));
    drop(llm);
}

/// A store in rollback-journal mode (`journal_mode=DELETE`, as SQLite's default, no `-wal`):
/// restore's own read of the store must not hold the lock its write needs to commit.
#[test]
fn restore_into_a_rollback_journal_store() {
    let store = rich_store();
    let env = store.copy_env();
    let zip = pack(&env, "sessions.zip");
    let llm = FakeLlm::start();
    let fresh = OpencodeHome::new(CURRENT, &llm);
    let clone = clone_to(&env.repo, &env.root.join("elsewhere/clone"), None);
    assert_eq!(fresh.session_list_json(&clone.path), json!([]));
    let db = fresh.db_path();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    drop(conn);

    let out = ours(&fresh, &clone.path, &["restore", zip.to_str().unwrap()]).success();
    assert!(out.raw_stdout().contains(": 5 added, 0 updated"), "{out}");
    integrity_ok(&db);
    let roots: BTreeSet<String> = store.roots().into_iter().map(String::from).collect();
    assert_eq!(session_ids(&fresh.session_list_json(&clone.path)), roots);
    drop(llm);
}

/// Acceptance 2: restore from an archive-branch commit (built with real git from the pack's
/// files), by ref name and by commit ID.
#[test]
fn restore_from_an_archive_branch_commit() {
    let store = rich_store();
    let env = store.copy_env();
    let zip = pack(&env, "sessions.zip");
    let docs = pack_docs(&zip);

    let llm = FakeLlm::start();
    let (fresh, clone) = another_machine(&env, &llm, "other/checkout");
    let commit = build_archive_branch(&clone, &zip);
    let head = clone.head();

    let out = ours(&fresh, &clone.path, &["restore", "opencode/sessions"]).success();
    assert!(out.stdout().contains("5 added"), "{out}");
    assert_eq!(clone.head(), head, "HEAD moved");
    assert!(clone.git(&["status", "--porcelain"]).trim().is_empty());
    let roots: BTreeSet<String> = store.roots().into_iter().map(String::from).collect();
    assert_eq!(session_ids(&fresh.session_list_json(&clone.path)), roots);
    for (id, doc) in &docs {
        let back: Value = serde_json::from_slice(&fresh.export(&clone.path, id)).unwrap();
        assert_eq!(
            without_home(&back),
            without_home(doc),
            "{id} from the branch"
        );
    }
    integrity_ok(&fresh.db_path());

    let again = ours(&fresh, &clone.path, &["restore", &commit]).success();
    assert!(
        again.stdout().contains("0 added, 0 updated, 5 unchanged"),
        "{again}"
    );
    drop(llm);
}

/// Acceptance 2: restore into a store that already holds some of the sessions: one missing,
/// one older locally (a message lost), one newer locally (continued after the pack). Nothing
/// is lost, nothing duplicated, the newer local copy is kept; `--dry-run` says so first and
/// changes nothing.
#[test]
fn restore_unions_with_a_store_that_holds_some_sessions() {
    let store = rich_store();
    let env = store.copy_env();
    let zip = pack(&env, "sessions.zip");
    let zip_arg = zip.to_str().unwrap();
    let docs = pack_docs(&zip);

    // A store on another machine that got the sessions once, then lived on.
    let llm = FakeLlm::start();
    let (oc, clone) = another_machine(&env, &llm, "laptop/clone");
    ours(&oc, &clone.path, &["restore", "-q", zip_arg]).success();
    let db = oc.db_path();
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        conn.execute("DELETE FROM session WHERE id = ?1", [&store.plain])
            .unwrap();
        let last: String = query_one(
            &conn,
            "SELECT id FROM message WHERE session_id = ?1 ORDER BY time_created DESC, id DESC LIMIT 1",
            &store.attachment,
        );
        conn.execute("DELETE FROM message WHERE id = ?1", [&last])
            .unwrap();
        conn.execute(
            "UPDATE session SET time_updated = time_updated - 1000 WHERE id = ?1",
            [&store.attachment],
        )
        .unwrap();
    }
    oc.continue_session(
        &clone.path,
        &store.tools,
        &format!("one more 🔁\n{}", script(&[Step::reply("newer locally")])),
        &[],
    );
    let tools_local: Value = serde_json::from_slice(&oc.export(&clone.path, &store.tools)).unwrap();
    assert_eq!(
        message_ids(&tools_local).len(),
        message_ids(&docs[&store.tools]).len() + 2
    );

    let wal = db.with_file_name("opencode.db-wal");
    let before = (file_sha256(&db), file_sha256(&wal));
    let scrub = Scrub::of(store);
    let dry = ours(&oc, &clone.path, &["restore", "--dry-run", zip_arg]).success();
    insta::assert_snapshot!(scrub.apply(&dry), @"
    would add    [SESSION:plain]  Mock title
    would update [SESSION:attachment]  Attachment 📎
    unchanged    [SESSION:task_child]  delegate 委任 (@general subagent)
    unchanged    [SESSION:task_parent]  Task parent 🤝
    would keep   [SESSION:tools]  Tools ✍️ session (the local copy is newer)
    dry run: 1 to add, 1 to update, 2 unchanged, 1 to keep (newer locally) into $OC_HOME/data/opencode/opencode.db (project a76aebe1bac55953ccb1f217d023da9cd3a522a0, $TEST_ENV/laptop/clone); nothing was changed
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        (file_sha256(&db), file_sha256(&wal)),
        before,
        "--dry-run changed the store"
    );

    let out = ours(&oc, &clone.path, &["restore", zip_arg]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    added        [SESSION:plain]  Mock title
    updated      [SESSION:attachment]  Attachment 📎
    unchanged    [SESSION:task_child]  delegate 委任 (@general subagent)
    unchanged    [SESSION:task_parent]  Task parent 🤝
    kept         [SESSION:tools]  Tools ✍️ session (the local copy is newer)
    backup: $OC_HOME/data/opencode/opencode.db.git-opencode-backup-[TIME]
    restored into $OC_HOME/data/opencode/opencode.db (project a76aebe1bac55953ccb1f217d023da9cd3a522a0, $TEST_ENV/laptop/clone): 1 added, 1 updated, 2 unchanged, 1 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
    integrity_ok(&db);
    let conn = oc.open_db();
    let count = |sql: &str| -> (i64, i64) {
        conn.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
    };
    assert_eq!(
        count("SELECT count(*), count(DISTINCT id) FROM session"),
        (5, 5)
    );
    let (messages, distinct) = count("SELECT count(*), count(DISTINCT id) FROM message");
    assert_eq!(messages, distinct);
    let archived: usize = docs.values().map(|d| message_ids(d).len()).sum();
    assert_eq!(
        messages as usize,
        archived + 2,
        "every archived message plus the local turn"
    );
    drop(conn);
    let roots: BTreeSet<String> = store.roots().into_iter().map(String::from).collect();
    assert_eq!(session_ids(&oc.session_list_json(&clone.path)), roots);

    let export =
        |id: &str| -> Value { serde_json::from_slice(&oc.export(&clone.path, id)).unwrap() };
    // The newer local copy is untouched, its new turn included.
    assert_eq!(export(&store.tools), tools_local);
    // The missing session is back, the lost message too, nothing doubled.
    for id in [
        &store.plain,
        &store.attachment,
        &store.task_parent,
        &store.task_child,
    ] {
        assert_eq!(
            without_home(&export(id)),
            without_home(&docs[id.as_str()]),
            "{id}"
        );
    }
    drop(llm);
}

/// Acceptance 3: restoring while `opencode serve` writes to the same store succeeds or fails
/// cleanly; the database stays intact and OpenCode keeps working.
#[test]
fn restore_while_opencode_serve_writes() {
    let store = rich_store();
    let env = store.copy_env();
    let zip = pack(&env, "sessions.zip");
    let llm = FakeLlm::start();
    let (fresh, clone) = another_machine(&env, &llm, "served/clone");

    let server = Server::start(&fresh, &clone.path);
    let port = server.port;
    let first = server.post("/session", "{}");
    assert!(
        first.as_ref().is_ok_and(|r| r.is_ok()),
        "POST /session: {first:?}"
    );

    // A writer creating sessions through the server during the restore.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut created = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = "{\"title\":\"written while restoring\"}";
                if http(port, "POST", "/session", body, Duration::from_secs(20))
                    .is_ok_and(|r| r.is_ok())
                {
                    created += 1;
                }
            }
            created
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let out = ours(&fresh, &clone.path, &["restore", zip.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let created = writer.join().unwrap();
    eprintln!(
        "opencode serve created {created} sessions during the restore; restore {}",
        out.status()
    );
    assert!(created > 0, "the server wrote nothing during the restore");
    let restored = out.status().success();
    if restored {
        let out = out.success();
        assert!(out.stdout().contains("5 added"), "{out}");
    } else {
        out.failure();
    }
    // The server still answers, then goes away.
    assert!(server.post("/session", "{}").is_ok_and(|r| r.is_ok()));
    drop(server);

    integrity_ok(&fresh.db_path());
    let conn = fresh.open_db();
    let sessions: i64 = conn
        .query_row("SELECT count(*) FROM session", [], |r| r.get(0))
        .unwrap();
    assert!(
        sessions > created,
        "{sessions} sessions, {created} written by the server"
    );
    drop(conn);
    let run = fresh.run(
        &clone.path,
        &script(&[Step::reply("still working 👍")]),
        &[],
    );
    assert!(!run.session_id.is_empty());
    if restored {
        let listed = fresh.exec_ok(
            &clone.path,
            &["session", "list", "--format", "json", "-n", "100000"],
        );
        let listed = session_ids(&serde_json::from_slice(&listed.stdout).unwrap());
        for id in store.roots() {
            assert!(listed.contains(id), "{id} not listed");
        }
    }
    drop(llm);
}

/// A pack whose entries are changed as given (`None` removes one), with a manifest whose
/// checksums match again.
pub fn repack(zip: &Path, changes: &[(String, Option<Vec<u8>>)]) -> Vec<u8> {
    let mut entries: BTreeMap<String, Vec<u8>> = zip_entries(zip).into_iter().collect();
    let mut manifest: Value =
        serde_json::from_slice(&entries.remove("manifest.json").unwrap()).unwrap();
    for (name, data) in changes {
        match data {
            Some(d) => entries.insert(name.clone(), d.clone()),
            None => entries.remove(name),
        };
    }
    manifest["entries"] = entries
        .iter()
        .map(|(name, data)| {
            let sha: String = sha256_hex(data);
            json!({ "path": name, "size": data.len(), "sha256": sha })
        })
        .collect();
    let mut all: Vec<(String, Vec<u8>)> = entries.into_iter().collect();
    all.push((
        "manifest.json".into(),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    ));
    plain_zip(&all)
}

/// `--session` (with subagent sessions, comma-separated), and the records beyond the export
/// document: v2 rows, the session diff (only where none exists), share records (skipped).
#[test]
fn restore_selected_sessions_with_their_extra_records() {
    let store = rich_store();
    let env = store.copy_env();
    let zip = pack(&env, "sessions.zip");
    let extra = |id: &str, seq: i64| {
        let extra = json!({
            "sessionID": id,
            "session_diff": [{"file": "README.md", "before": "a\n", "after": "b\n", "additions": 1, "deletions": 1}],
            "session_message": [{"id": format!("msg_v2{seq}"), "session_id": id, "type": "user", "seq": seq,
                                 "time_created": 1, "time_updated": 1, "data": "{\"text\":\"hello v2\"}"}],
            "share": {"id": "shr_1", "url": "https://opncd.ai/share/x"},
        });
        (
            format!("sessions/{id}.extra.json"),
            Some(serde_json::to_vec_pretty(&extra).unwrap()),
        )
    };
    let changed = env.root.join("extra.zip");
    std::fs::write(
        &changed,
        repack(&zip, &[extra(&store.plain, 2), extra(&store.attachment, 3)]),
    )
    .unwrap();
    let changed = changed.to_str().unwrap();

    let llm = FakeLlm::start();
    let (fresh, clone) = another_machine(&env, &llm, "picked/clone");

    // The subagent session comes along.
    let scrub = Scrub::of(store);
    let dry = ours(
        &fresh,
        &clone.path,
        &[
            "restore",
            "--dry-run",
            "--session",
            &store.task_parent,
            changed,
        ],
    );
    insta::assert_snapshot!(scrub.apply(dry.success()), @"
    would add    [SESSION:task_child]  delegate 委任 (@general subagent)
    would add    [SESSION:task_parent]  Task parent 🤝
    dry run: 2 to add, 0 to update, 0 unchanged, 0 to keep (newer locally) into $OC_HOME/data/opencode/opencode.db (project a76aebe1bac55953ccb1f217d023da9cd3a522a0, $TEST_ENV/picked/clone); nothing was changed
    [EOF]
    [exit status: 0]
    ");

    let diffs = fresh.data_dir().join("storage/session_diff");
    std::fs::create_dir_all(&diffs).unwrap();
    let kept = diffs.join(format!("{}.json", store.attachment));
    std::fs::write(&kept, "[]").unwrap();
    let selection = format!("{},{}", store.plain, store.attachment);
    let out = ours(
        &fresh,
        &clone.path,
        &["restore", "--session", &selection, changed],
    );
    insta::assert_snapshot!(scrub.apply(out.success()), @"
    added        [SESSION:plain]  Mock title
    added        [SESSION:attachment]  Attachment 📎
    note: share records were not restored (their secret is never archived); the share URL stays on the session
    backup: $OC_HOME/data/opencode/opencode.db.git-opencode-backup-[TIME]
    restored into $OC_HOME/data/opencode/opencode.db (project a76aebe1bac55953ccb1f217d023da9cd3a522a0, $TEST_ENV/picked/clone): 2 added, 0 updated, 0 unchanged, 0 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
    let written = std::fs::read_to_string(diffs.join(format!("{}.json", store.plain))).unwrap();
    assert!(
        written.starts_with("[\n  {\n    \"file\": \"README.md\""),
        "{written}"
    );
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "[]",
        "an existing diff is kept"
    );
    let conn = fresh.open_db();
    let v2: i64 = conn
        .query_row(
            "SELECT count(*) FROM session_message WHERE session_id IN (?1, ?2)",
            [&store.plain, &store.attachment],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v2, 2);
    let shares: i64 = conn
        .query_row("SELECT count(*) FROM session_share", [], |r| r.get(0))
        .unwrap();
    assert_eq!(shares, 0);
    drop(conn);
    let listed = session_ids(&fresh.session_list_json(&clone.path));
    assert_eq!(
        listed,
        [store.plain.clone(), store.attachment.clone()]
            .into_iter()
            .collect()
    );
    let back: Value = serde_json::from_slice(&fresh.export(&clone.path, &store.plain)).unwrap();
    assert_eq!(
        without_home(&back),
        without_home(&pack_docs(&zip)[&store.plain])
    );
    integrity_ok(&fresh.db_path());
    drop(llm);
}

/// Acceptance 4: restore into a JSON store of OpenCode 1.1.65 (from the legacy fixture's pack
/// and from the 1.18.34 pack): the real 1.1.65 binary lists and exports the sessions.
#[test]
fn restore_into_a_legacy_json_store() {
    let legacy = legacy_store();
    let lenv = legacy.copy_env();
    let legacy_zip = pack(&lenv, "legacy.zip");
    let rich = rich_store();
    let renv = rich.copy_env();
    let rich_zip = pack(&renv, "rich.zip");

    let llm = FakeLlm::start();
    let fresh = OpencodeHome::new(LEGACY, &llm);
    let clone = clone_to(&lenv.repo, &lenv.root.join("moved/here"), None);
    assert_eq!(fresh.session_list_json(&clone.path), json!([]));
    let storage = fresh.storage_dir();
    assert!(storage.is_dir() && !fresh.db_path().exists());

    // Into the JSON store under `$OC_HOME/data/opencode/storage`.
    let out = ours(
        &fresh,
        &clone.path,
        &["restore", legacy_zip.to_str().unwrap()],
    );
    insta::assert_snapshot!(Scrub::of(legacy).apply(out.success()), @"
    added        [SESSION:attachment]  Legacy attachment
    added        [SESSION:task_child]  delegate (@general subagent)
    added        [SESSION:task_parent]  Legacy task
    added        [SESSION:tools]  Legacy tools
    restored into $OC_HOME/data/opencode/storage (project a76aebe1bac55953ccb1f217d023da9cd3a522a0, $TEST_ENV/moved/here): 4 added, 0 updated, 0 unchanged, 0 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
    let out = ours(
        &fresh,
        &clone.path,
        &["restore", rich_zip.to_str().unwrap()],
    )
    .success();
    assert!(out.stdout().contains("5 added"), "{out}");

    let listed = session_ids(&fresh.session_list_json(&clone.path));
    let want: BTreeSet<String> = legacy
        .roots()
        .into_iter()
        .chain(rich.roots())
        .map(String::from)
        .collect();
    assert_eq!(listed, want, "1.1.65 session list after restore");

    let mut docs = pack_docs(&legacy_zip);
    docs.extend(pack_docs(&rich_zip));
    for (id, doc) in &docs {
        let back: Value = serde_json::from_slice(&fresh.export(&clone.path, id)).unwrap();
        assert_eq!(
            back["info"]["directory"],
            clone.path.to_str().unwrap(),
            "{id}"
        );
        assert_eq!(
            without_home(&back),
            without_home(doc),
            "1.1.65 export of {id}"
        );
    }
    let child_file = std::fs::read_dir(storage.join("session"))
        .unwrap()
        .map(|d| {
            d.unwrap()
                .path()
                .join(format!("{}.json", legacy.task_child))
        })
        .find(|p| p.is_file())
        .expect("the child session file");
    let child: Value = serde_json::from_slice(&std::fs::read(&child_file).unwrap()).unwrap();
    assert_eq!(child["parentID"], legacy.task_parent.as_str());
    let text = std::fs::read_to_string(&child_file).unwrap();
    assert!(
        text.starts_with("{\n  \"id\""),
        "pretty JSON with 2 spaces: {text}"
    );
    let todos = storage.join("todo").join(format!("{}.json", rich.tools));
    let todos: Value = serde_json::from_slice(&std::fs::read(todos).unwrap()).unwrap();
    assert_eq!(todos.as_array().unwrap().len(), 3);

    let again = ours(
        &fresh,
        &clone.path,
        &["restore", legacy_zip.to_str().unwrap()],
    )
    .success();
    assert!(
        again.stdout().contains("0 added, 0 updated, 4 unchanged"),
        "{again}"
    );
    drop(llm);
}

/// Refusals: no store, a store from a newer OpenCode, an unknown session, a bare ref; none
/// writes anything.
#[test]
fn restore_refuses_what_it_cannot_do_safely() {
    let store = rich_store();
    let env = store.copy_env();
    let zip = pack(&env, "sessions.zip");
    let zip = zip.to_str().unwrap();

    // The empty env's data dir is `$TEST_ENV/data`; the fixture copy's `$TEST_ENV/opencode/data`.
    let empty = TestEnv::new();
    insta::assert_snapshot!(empty.run(&["restore", zip]).failure(), @"
    [stderr]
    error: no OpenCode store at $TEST_ENV/data/opencode/opencode.db
    hint: run opencode once in this repository (it creates and migrates its database), then restore again; or pass --store <path>
    [EOF]
    [exit status: 1]
    ");
    assert!(!empty.data_home.join("opencode").exists());

    let out = env.run(&["restore", "--session", "ses_nothere", zip]);
    insta::assert_snapshot!(out.failure(), @"
    [stderr]
    error: session ses_nothere is not in $TEST_ENV/sessions.zip
    hint: check the session ID; the archive holds 5 sessions
    [EOF]
    [exit status: 1]
    ");
    insta::assert_snapshot!(env.run(&["restore", "no-such-ref"]).failure(), @"
    [stderr]
    error: no-such-ref is neither a file nor a git ref or commit of this repository
    hint: pass a zip written by `git opencode pack`, or a ref such as refs/heads/opencode/sessions
    [EOF]
    [exit status: 1]
    ");
    insta::assert_snapshot!(env.run(&["restore", "missing.zip"]).failure(), @"
    [stderr]
    error: no such file: missing.zip
    hint: pass a zip written by `git opencode pack`, or a ref such as refs/heads/opencode/sessions
    [EOF]
    [exit status: 1]
    ");

    let db = env.opencode.as_ref().unwrap().db_path();
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "INSERT INTO migration (id, time_completed) VALUES ('29990101000000_from_the_future', 0)",
            [],
        )
        .unwrap();
    }
    let before = (file_sha256(&db), file_names(db.parent().unwrap()));
    insta::assert_snapshot!(env.run(&["restore", zip]).failure(), @"
    [stderr]
    error: $TEST_ENV/opencode/data/opencode/opencode.db was written by a newer OpenCode than git-opencode knows (schema migration 29990101000000_from_the_future)
    hint: upgrade git-opencode; nothing was changed
    [EOF]
    [exit status: 1]
    ");
    assert_eq!((file_sha256(&db), file_names(db.parent().unwrap())), before);
}

/// The tables of an OpenCode 1.2.x store (no `migration` table, fewer session columns, no
/// v2 or project_directory tables); `extra_session_column` adds one to `session`.
fn old_schema(extra_session_column: &str) -> String {
    format!(
        "CREATE TABLE `__drizzle_migrations` (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric);
         CREATE TABLE `project` (`id` text PRIMARY KEY, `worktree` text NOT NULL, `vcs` text, `name` text, `icon_url` text,
           `icon_color` text, `time_created` integer NOT NULL, `time_updated` integer NOT NULL, `time_initialized` integer,
           `sandboxes` text NOT NULL);
         CREATE TABLE `session` (`id` text PRIMARY KEY, `project_id` text NOT NULL, `parent_id` text, `slug` text NOT NULL,
           `directory` text NOT NULL, `title` text NOT NULL, `version` text NOT NULL, `share_url` text,
           `summary_additions` integer, `summary_deletions` integer, `summary_files` integer, `summary_diffs` text,
           `revert` text, `permission` text, `time_created` integer NOT NULL, `time_updated` integer NOT NULL,
           `time_compacting` integer, `time_archived` integer {extra_session_column},
           FOREIGN KEY (`project_id`) REFERENCES `project`(`id`) ON DELETE CASCADE);
         CREATE TABLE `message` (`id` text PRIMARY KEY, `session_id` text NOT NULL, `time_created` integer NOT NULL,
           `time_updated` integer NOT NULL, `data` text NOT NULL,
           FOREIGN KEY (`session_id`) REFERENCES `session`(`id`) ON DELETE CASCADE);
         CREATE TABLE `part` (`id` text PRIMARY KEY, `message_id` text NOT NULL, `session_id` text NOT NULL,
           `time_created` integer NOT NULL, `time_updated` integer NOT NULL, `data` text NOT NULL,
           FOREIGN KEY (`message_id`) REFERENCES `message`(`id`) ON DELETE CASCADE);
         CREATE TABLE `todo` (`session_id` text NOT NULL, `content` text NOT NULL, `status` text NOT NULL,
           `priority` text NOT NULL, `position` integer NOT NULL, `time_created` integer NOT NULL,
           `time_updated` integer NOT NULL, PRIMARY KEY(`session_id`, `position`),
           FOREIGN KEY (`session_id`) REFERENCES `session`(`id`) ON DELETE CASCADE);
         PRAGMA journal_mode = WAL;"
    )
}

/// A 1.2.x-shaped store gets only the columns it has (and the project ID older OpenCode
/// computes); a store whose session table requires a column nobody knows is refused.
#[test]
fn restore_writes_only_the_columns_an_older_schema_has() {
    let store = rich_store();
    let env = store.copy_env();
    let zip = pack(&env, "sessions.zip");
    let zip_arg = zip.to_str().unwrap();
    let docs = pack_docs(&zip);

    let newer = env.root.join("newer/opencode.db");
    std::fs::create_dir_all(newer.parent().unwrap()).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch(&old_schema(", `future_required` text NOT NULL"))
        .unwrap();
    let before = file_sha256(&newer);
    let out = env.run(&["--store", newer.to_str().unwrap(), "restore", zip_arg]);
    insta::assert_snapshot!(out.failure(), @"
    [stderr]
    error: OpenCode database $TEST_ENV/newer/opencode.db has a newer schema: table session requires column future_required, which git-opencode does not know
    hint: upgrade git-opencode; nothing was changed
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(file_sha256(&newer), before);

    let old = env.root.join("old/opencode.db");
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch(&old_schema(""))
        .unwrap();
    let store_arg = old.to_str().unwrap();
    let out = env
        .run(&["--store", store_arg, "restore", zip_arg])
        .success();
    assert!(out.stdout().contains("5 added"), "{out}");
    integrity_ok(&old);
    let conn = rusqlite::Connection::open(&old).unwrap();
    let project: String = conn
        .query_row("SELECT id FROM project", [], |r| r.get(0))
        .unwrap();
    let roots = env.git(&["rev-list", "--max-parents=0", "--all"]);
    let mut roots: Vec<&str> = roots.lines().collect();
    roots.sort();
    let cached = std::fs::read_to_string(env.repo.path.join(".git/opencode")).ok();
    assert_eq!(
        Some(project.as_str()),
        cached.as_deref().map(str::trim).or(roots.first().copied())
    );
    drop(conn);
    for (id, doc) in &docs {
        let back = env
            .run(&["--store", store_arg, "export", id])
            .success()
            .json();
        assert_eq!(
            without_home(&back)["messages"],
            without_home(doc)["messages"],
            "messages of {id}"
        );
        assert_eq!(back["info"]["title"], doc["info"]["title"]);
        assert_eq!(back["info"]["parentID"], doc["info"]["parentID"]);
    }
}

/// Acceptance 6: truncated, corrupted and hostile zips make `restore` and `verify` fail with
/// one `error:` line (exit 1), never panic, and write nothing anywhere.
#[test]
fn hostile_and_broken_zips_fail_cleanly() {
    let store = rich_store();
    let env = store.copy_env();
    let good = pack(&env, "good.zip");
    let bytes = std::fs::read(&good).unwrap();
    let cases_dir = env.new_dir("cases");

    let mut cases: Vec<(String, Vec<u8>, Option<&str>)> = Vec::new();
    // Truncated.
    let len = bytes.len();
    for cut in [
        0,
        1,
        4,
        30,
        100,
        len / 3,
        len / 2,
        len - 100,
        len - 22,
        len - 1,
    ] {
        cases.push((format!("truncated-{cut}"), bytes[..cut].to_vec(), None));
    }
    // Corrupted: deterministic pseudo-random bytes flipped.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..40 {
        let mut copy = bytes.clone();
        for _ in 0..(1 + i % 3) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (seed >> 33) as usize % len;
            copy[at] ^= 1 << ((seed >> 20) % 8);
        }
        cases.push((format!("corrupt-{i}"), copy, Some("maybe")));
    }
    cases.push((
        "garbage".into(),
        (0..4096u32).map(|i| (i * 31 + 7) as u8).collect(),
        None,
    ));
    // Hostile names and contents, with a manifest whose checksums match.
    let doc = |id: &str, mid: &str| {
        json!({"info": {"id": id, "title": "x", "directory": "/x", "time": {"created": 1, "updated": 2}},
               "messages": [{"info": {"id": mid, "sessionID": id, "role": "user", "time": {"created": 1}}, "parts": []}]})
        .to_string()
    };
    type Entries = Vec<(String, String)>;
    let hostile: Vec<(&str, Entries, &str)> = vec![
        (
            "zip-slip",
            vec![("../x.json".into(), "{}".into())],
            "unsafe entry name",
        ),
        (
            "zip-slip-deep",
            vec![("sessions/../../x.json".into(), "{}".into())],
            "unsafe entry name",
        ),
        (
            "absolute",
            vec![("/abs/x.json".into(), "{}".into())],
            "unsafe entry name",
        ),
        (
            "backslash",
            vec![("..\\x.json".into(), "{}".into())],
            "unsafe entry name",
        ),
        (
            "bad-message-id",
            vec![("sessions/ses_a.json".into(), doc("ses_a", "../../../evil"))],
            "no valid id",
        ),
        (
            "bad-session-name",
            vec![("sessions/..json".into(), doc(".", "msg_1"))],
            "not a valid session ID",
        ),
        (
            "id-mismatch",
            vec![("sessions/ses_a.json".into(), doc("ses_b", "msg_1"))],
            "info.id is not ses_a",
        ),
        (
            "not-json",
            vec![("sessions/ses_a.json".into(), "{\"info\":".into())],
            "malformed JSON",
        ),
    ];
    for (name, entries, needle) in hostile {
        cases.push((
            format!("hostile-{name}"),
            pack_like(&entries, true),
            Some(needle),
        ));
    }
    cases.push((
        "no-manifest".into(),
        plain_zip(&[(
            "sessions/ses_a.json".into(),
            doc("ses_a", "msg_1").into_bytes(),
        )]),
        Some("no manifest.json"),
    ));
    cases.push((
        "bad-checksum".into(),
        pack_like(
            &[("sessions/ses_a.json".into(), doc("ses_a", "msg_1"))],
            false,
        ),
        Some("sessions/ses_a.json"),
    ));
    // Duplicate entries: two names of equal length, then one renamed into the other.
    let dup = pack_like(
        &[
            ("sessions/ses_a.json".into(), doc("ses_a", "msg_1")),
            ("sessions/ses_b.json".into(), doc("ses_b", "msg_1")),
        ],
        true,
    );
    cases.push((
        "duplicate".into(),
        replace_all(&dup, b"sessions/ses_b.json", b"sessions/ses_a.json"),
        Some("duplicate entries"),
    ));
    // A declared size of 3 GiB in the central directory.
    let mut huge = pack_like(
        &[("sessions/ses_a.json".into(), doc("ses_a", "msg_1"))],
        true,
    );
    set_central_sizes(&mut huge, 3 << 30);
    cases.push(("huge-size".into(), huge, Some("declares 3221225472 bytes")));

    let snapshot = || tree_state(&env.root, &cases_dir);
    let before = snapshot();
    let started = Instant::now();
    // The errors of the zips made from literals (not from the fixture's pack), by case.
    let mut errors = String::new();
    for (name, data, needle) in &cases {
        let path = cases_dir.join(format!("{name}.zip"));
        std::fs::write(&path, data).unwrap();
        for cmd in ["restore", "verify"] {
            let out = env.run(&[cmd, path.to_str().unwrap()]);
            match needle {
                Some("maybe") if out.status().success() => {
                    out.success();
                }
                Some("maybe") | None => {
                    out.failure();
                }
                Some(needle) => {
                    let out = out.failure();
                    assert!(out.error().contains(needle), "{cmd} {name}: {out}");
                    errors.push_str(&format!("{name} ({cmd}):\n"));
                    for line in out.stderr().lines() {
                        errors.push_str(&format!("  {line}\n"));
                    }
                }
            }
        }
        assert_eq!(snapshot(), before, "something was written for {name}");
    }
    insta::assert_snapshot!(errors, @r#"
    hostile-zip-slip (restore):
      error: $TEST_ENV/cases/hostile-zip-slip.zip has an unsafe entry name "../x.json" (a '..' component)
      hint: this is not a zip written by `git opencode pack`; nothing was restored
    hostile-zip-slip (verify):
      error: $TEST_ENV/cases/hostile-zip-slip.zip has an unsafe entry name "../x.json" (a '..' component)
      hint: this is not a zip written by `git opencode pack`; nothing was restored
    hostile-zip-slip-deep (restore):
      error: $TEST_ENV/cases/hostile-zip-slip-deep.zip has an unsafe entry name "sessions/../../x.json" (a '..' component)
      hint: this is not a zip written by `git opencode pack`; nothing was restored
    hostile-zip-slip-deep (verify):
      error: $TEST_ENV/cases/hostile-zip-slip-deep.zip has an unsafe entry name "sessions/../../x.json" (a '..' component)
      hint: this is not a zip written by `git opencode pack`; nothing was restored
    hostile-absolute (restore):
      error: $TEST_ENV/cases/hostile-absolute.zip has an unsafe entry name "/abs/x.json" (an absolute path or a backslash)
      hint: this is not a zip written by `git opencode pack`; nothing was restored
    hostile-absolute (verify):
      error: $TEST_ENV/cases/hostile-absolute.zip has an unsafe entry name "/abs/x.json" (an absolute path or a backslash)
      hint: this is not a zip written by `git opencode pack`; nothing was restored
    hostile-backslash (restore):
      error: $TEST_ENV/cases/hostile-backslash.zip has an unsafe entry name "..\\x.json" (an absolute path or a backslash)
      hint: this is not a zip written by `git opencode pack`; nothing was restored
    hostile-backslash (verify):
      error: $TEST_ENV/cases/hostile-backslash.zip has an unsafe entry name "..\\x.json" (an absolute path or a backslash)
      hint: this is not a zip written by `git opencode pack`; nothing was restored
    hostile-bad-message-id (restore):
      error: malformed session document sessions/ses_a.json of $TEST_ENV/cases/hostile-bad-message-id.zip: a message has no valid id
    hostile-bad-message-id (verify):
      error: malformed session document sessions/ses_a.json of $TEST_ENV/cases/hostile-bad-message-id.zip: a message has no valid id
    hostile-bad-session-name (restore):
      error: sessions/..json of $TEST_ENV/cases/hostile-bad-session-name.zip: "." is not a valid session ID
    hostile-bad-session-name (verify):
      error: sessions/..json of $TEST_ENV/cases/hostile-bad-session-name.zip: "." is not a valid session ID
    hostile-id-mismatch (restore):
      error: malformed session document sessions/ses_a.json of $TEST_ENV/cases/hostile-id-mismatch.zip: info.id is not ses_a
    hostile-id-mismatch (verify):
      error: malformed session document sessions/ses_a.json of $TEST_ENV/cases/hostile-id-mismatch.zip: info.id is not ses_a
    hostile-not-json (restore):
      error: malformed JSON in sessions/ses_a.json of $TEST_ENV/cases/hostile-not-json.zip: EOF while parsing a value at line 1 column 8
    hostile-not-json (verify):
      error: malformed JSON in sessions/ses_a.json of $TEST_ENV/cases/hostile-not-json.zip: EOF while parsing a value at line 1 column 8
    no-manifest (restore):
      error: $TEST_ENV/cases/no-manifest.zip has no manifest.json
      hint: pass a zip written by `git opencode pack`
    no-manifest (verify):
      error: $TEST_ENV/cases/no-manifest.zip has no manifest.json
      hint: pass a zip written by `git opencode pack`
    bad-checksum (restore):
      error: entry sessions/ses_a.json of $TEST_ENV/cases/bad-checksum.zip: checksum mismatch
      hint: the zip was changed after it was written; nothing was restored
    bad-checksum (verify):
      error: entry sessions/ses_a.json of $TEST_ENV/cases/bad-checksum.zip: checksum mismatch
      hint: the zip was changed after it was written; write a new one with `git opencode pack`
    duplicate (restore):
      error: $TEST_ENV/cases/duplicate.zip has duplicate entries
      hint: the file may be truncated or corrupted; write it again with `git opencode pack`
    duplicate (verify):
      error: $TEST_ENV/cases/duplicate.zip has duplicate entries
      hint: the file may be truncated or corrupted; write it again with `git opencode pack`
    huge-size (restore):
      error: entry sessions/ses_a.json of $TEST_ENV/cases/huge-size.zip declares 3221225472 bytes, more than the 1024 MiB limit
      hint: the file may be truncated or corrupted; write it again with `git opencode pack`
    huge-size (verify):
      error: entry sessions/ses_a.json of $TEST_ENV/cases/huge-size.zip declares 3221225472 bytes, more than the 1024 MiB limit
      hint: the file may be truncated or corrupted; write it again with `git opencode pack`
    "#);
    eprintln!(
        "{} broken zips, restore + verify each, in {:.2?}",
        cases.len(),
        started.elapsed()
    );
}

/// Every file under `root` (except `skip` and SQLite `-shm` files) with its SHA-256.
fn tree_state(root: &Path, skip: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path == skip {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if !path.to_string_lossy().ends_with("-shm") {
                out.insert(path.clone(), file_sha256(&path));
            }
        }
    }
    out
}

fn plain_zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A zip shaped like a pack: the entries plus a `manifest.json` listing them, with correct
/// checksums when `honest`, else with a wrong one for the first entry.
fn pack_like(entries: &[(String, String)], honest: bool) -> Vec<u8> {
    let listed: Vec<Value> = entries
        .iter()
        .enumerate()
        .map(|(i, (name, data))| {
            let mut sha: String = sha256_hex(data.as_bytes());
            if !honest && i == 0 {
                sha = "0".repeat(64);
            }
            json!({ "path": name, "size": data.len(), "sha256": sha })
        })
        .collect();
    let manifest = json!({ "format": "git-opencode-pack", "version": 1, "entries": listed });
    let mut all: Vec<(String, Vec<u8>)> = entries
        .iter()
        .map(|(n, d)| (n.clone(), d.clone().into_bytes()))
        .collect();
    all.push(("manifest.json".into(), manifest.to_string().into_bytes()));
    plain_zip(&all)
}

fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = data.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Sets the uncompressed size of every central directory entry to `size`.
fn set_central_sizes(data: &mut [u8], size: u32) {
    let mut i = 0;
    while i + 46 <= data.len() {
        if data[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] {
            data[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
            i += 46;
        } else {
            i += 1;
        }
    }
}

const ARCHIVE_BRANCH: &str = "refs/heads/opencode/sessions";

/// `value` with every number as a float, so that `1` and `1.0` compare equal.
fn numbers_as_floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_floats).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_as_floats(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A session with a secret, archived (redacted) by `push-sessions`: verify finds the archive
/// complete, and restoring the branch over the store that holds the original never puts the
/// `[REDACTED:…]` placeholders in place of the user's text, whether the archived copy is as
/// new as the local one (nothing to do) or newer (only what the store lacks comes back).
#[test]
fn redacted_archive_verifies_and_restore_keeps_local_secrets() {
    let mut env = rich_store().copy_env();
    let llm = env.start_llm();
    let oc = env.opencode.as_ref().unwrap();
    let repo = env.repo.path.clone();
    let secret = oc.run(
        &repo,
        &format!(
            "use my token {FAKE_KEY} please\n{}",
            script(&[
                Step::bash(&format!("echo token={FAKE_KEY}"), "echo the token"),
                Step::reply("done with the token")
            ])
        ),
        &[],
    );
    drop(llm);
    let id = secret.session_id.as_str();
    let original = oc.export(&repo, id);
    assert!(String::from_utf8_lossy(&original).contains(FAKE_KEY));
    env.run(&["push-sessions", "-q"]).success();
    let files = env.git(&["ls-tree", "-r", "--name-only", ARCHIVE_BRANCH]);
    let path = files
        .lines()
        .find(|f| f.ends_with(&format!("{id}/session.json")))
        .unwrap_or_else(|| panic!("{id} is not in the archive:\n{files}"));
    let archived = env.git(&["show", &format!("{ARCHIVE_BRANCH}:{path}")]);
    assert!(archived.contains("[REDACTED:github-token]") && !archived.contains(FAKE_KEY));

    let scrub = Scrub::of(rich_store()).session(id, "secret");
    insta::assert_snapshot!(scrub.apply(env.run(&["verify"]).success()), @"
    archive: refs/heads/opencode/sessions (6 sessions; stored in git)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (6 sessions of this repository)
    complete: all 6 archived sessions match the store
    [EOF]
    [exit status: 0]
    ");

    // As new as the store's copy: nothing is written.
    let out = env
        .run(&["restore", "--session", id, ARCHIVE_BRANCH])
        .success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    unchanged    [SESSION:secret]  Mock title
    note: this archive was redacted: secret-shaped strings are placeholders
    restored into $TEST_ENV/opencode/data/opencode/opencode.db (project a76aebe1bac55953ccb1f217d023da9cd3a522a0, $TEST_ENV/repo): 0 added, 0 updated, 1 unchanged, 0 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        oc.export(&repo, id),
        original,
        "restore changed the session"
    );

    // Older in the store, with its last message lost: the archived copy is newer, so the
    // message comes back, and the parts holding the key stay as they are.
    let db = oc.db_path();
    let last: String = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        let last: String = query_one(
            &conn,
            "SELECT id FROM message WHERE session_id = ?1 ORDER BY time_created DESC, id DESC LIMIT 1",
            id,
        );
        conn.execute("DELETE FROM message WHERE id = ?1", [&last])
            .unwrap();
        conn.execute(
            "UPDATE session SET time_updated = time_updated - 1000 WHERE id = ?1",
            [id],
        )
        .unwrap();
        last
    };
    let out = env
        .run(&["restore", "--session", id, ARCHIVE_BRANCH])
        .success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    updated      [SESSION:secret]  Mock title
    note: this archive was redacted: secret-shaped strings are placeholders
    backup: $TEST_ENV/opencode/data/opencode/opencode.db.git-opencode-backup-[TIME]
    restored into $TEST_ENV/opencode/data/opencode/opencode.db (project a76aebe1bac55953ccb1f217d023da9cd3a522a0, $TEST_ENV/repo): 0 added, 1 updated, 0 unchanged, 0 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
    let restored: Value = serde_json::from_slice(&oc.export(&repo, id)).unwrap();
    let original: Value = serde_json::from_slice(&original).unwrap();
    assert!(
        message_ids(&restored).contains(&last),
        "the lost message is back"
    );
    assert_eq!(
        numbers_as_floats(&restored),
        numbers_as_floats(&original),
        "the restored session differs from the original"
    );
    assert!(!restored.to_string().contains("[REDACTED"));
    env.run(&["verify"]).success();

    // -q: nothing on success.
    let quiet = env.run(&["restore", "-q", ARCHIVE_BRANCH]).success();
    insta::assert_snapshot!(quiet, @"[exit status: 0]");
}

/// A pack written in another repository (no root commit in common, no origin) is refused with
/// its name and root commit, so that its sessions are not filed under this repository
/// unnoticed; `--dry-run` and `--force` warn and go on.
#[test]
fn restore_refuses_another_repositorys_pack_without_force() {
    let env = rich_store().copy_env();
    let zip = pack(&env, "sessions.zip");
    let zip_arg = zip.to_str().unwrap();
    let llm = FakeLlm::start();
    let oc = OpencodeHome::new(CURRENT, &llm);
    let other = TestEnv::new();
    // Its own first commit: the fixture's repository starts from the same one as TestEnv's.
    other
        .repo
        .git(&["commit", "--amend", "-q", "-m", "another project"]);
    oc.session_list_json(&other.repo.path);
    let db = oc.db_path();
    let before = file_sha256(&db);

    let scrub = Scrub::new().literal(other.repo.git(&["rev-parse", "HEAD"]).trim(), "[ROOT]");
    let out = ours(&oc, &other.repo.path, &["restore", zip_arg]).failure();
    insta::assert_snapshot!(out, @"
    [stderr]
    error: $TEST_ENV/sessions.zip was written in another repository, repo (root commit a76aebe1bac55953ccb1f217d023da9cd3a522a0)
    hint: restore files its sessions under this repository's project; pass --force to do that anyway
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(
        file_sha256(&db),
        before,
        "a refused restore changed the store"
    );

    let dry = ours(
        &oc,
        &other.repo.path,
        &["restore", "--dry-run", "-q", zip_arg],
    )
    .success();
    insta::assert_snapshot!(scrub.apply(&dry), @"
    dry run: 5 to add, 0 to update, 0 unchanged, 0 to keep (newer locally) into $OC_HOME/data/opencode/opencode.db (project [ROOT], $TEST_ENV/repo); nothing was changed
    [EOF]
    [stderr]
    warning: $TEST_ENV/sessions.zip was written in another repository, repo (root commit a76aebe1bac55953ccb1f217d023da9cd3a522a0); restore files its sessions under this repository
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(file_sha256(&db), before, "--dry-run changed the store");

    let forced = ours(
        &oc,
        &other.repo.path,
        &["restore", "--force", "-q", zip_arg],
    )
    .success();
    insta::assert_snapshot!(forced, @"
    [stderr]
    warning: $TEST_ENV/sessions.zip was written in another repository, repo (root commit a76aebe1bac55953ccb1f217d023da9cd3a522a0); restore files its sessions under this repository
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(
        session_ids(&oc.session_list_json(&other.repo.path)).len(),
        rich_store().roots().len()
    );
    drop(llm);
}
