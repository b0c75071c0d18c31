//! `git opencode restore` into an OpenCode 2.x store, and across generations.
//!
//! No 2.x binary can be installed here: the 2.x stores are the verbatim 2.0.25 schema
//! (`common::gen2`) holding rows shaped as the captures of opencode-2x.md §2.1, and the 1.x
//! archives are packs of stores the real OpenCode 1.18.34 and 1.1.65 wrote. What 2.x would
//! read is checked by plain SQL, by our own 2.x reader (`export`, `list`), and by the strict
//! decoder of 2.x's message union (`common::shapes2`). With `OPENCODE_2X_BIN` naming a real
//! 2.x binary, [`real_2x_binary_lists_and_exports_restored_sessions`] lets it read them too.

use crate::common::archive::{clone_to, pack, pack_docs};
use crate::common::fixtures::{legacy_store, rich_store, Fixture};
use crate::common::gen2::{db_path, native_env, Native, Real2x, V2Db};
use crate::common::shapes2::check_message;
use crate::common::{file_sha256, Scrub, TestEnv};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Replaces the store of `env` with an empty 2.x one (the 2.0.25 schema, no rows).
fn empty_2x_store(env: &TestEnv) -> PathBuf {
    let db = db_path(env);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    V2Db::create(&db);
    db
}

fn sql<T: rusqlite::types::FromSql>(db: &Path, query: &str) -> T {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(query, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}

/// `(type, seq)` of a session's rows, in `seq` order.
fn rows(db: &Path, session: &str) -> Vec<(String, i64, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, seq, data FROM session_message WHERE session_id = ?1 ORDER BY seq")
        .unwrap();
    stmt.query_map([session], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// What 2.x requires of a restored session: rows that decode as its union, `seq` unique and
/// increasing, `event_sequence` at least the largest `seq`, a project row.
fn assert_valid_2x(db: &Path, session: &str) {
    let rows = rows(db, session);
    for pair in rows.windows(2) {
        assert!(pair[1].1 > pair[0].1, "{session}: seqs {rows:?}");
    }
    for (kind, seq, data) in &rows {
        let data: Value = serde_json::from_str(data).unwrap();
        if let Err(e) = check_message(kind, &data) {
            panic!("{session}: {kind} row {seq} does not decode: {e}\n{data:#}");
        }
    }
    let watermark: i64 = sql(
        db,
        &format!("SELECT seq FROM event_sequence WHERE aggregate_id = '{session}'"),
    );
    assert!(watermark >= rows.last().map_or(-1, |r| r.1), "{session}");
    let project: i64 = sql(
        db,
        &format!("SELECT count(*) FROM project p JOIN session_v2 s ON s.project_id = p.id WHERE s.id = '{session}'"),
    );
    assert_eq!(project, 1, "{session}: no project row");
}

/// `info` without where the session lives (`projectID`, `location`, `subpath`).
fn without_home(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let info = doc["info"].as_object_mut().unwrap();
    for key in ["projectID", "location", "subpath"] {
        info.remove(key);
    }
    doc
}

/// Acceptance: a pack of a 2.x store restored into an empty 2.x store in the same checkout
/// exports byte for byte as packed; restoring again changes nothing.
#[test]
fn a_2x_pack_restores_into_an_empty_2x_store_as_it_was() {
    let (env, ids) = native_env();
    let zip = pack(&env, "s.zip");
    let zip_arg = zip.to_str().unwrap();
    let docs = pack_docs(&zip);
    let packed: std::collections::BTreeMap<String, Vec<u8>> =
        crate::common::zip_entries(&zip).into_iter().collect();
    let db = empty_2x_store(&env);

    let before = file_sha256(&db);
    let scrub = Scrub::new()
        .session(ids.turns, "turns")
        .session(ids.parent, "parent")
        .session(ids.child, "child")
        .session(ids.global, "global")
        .session(ids.directory, "directory")
        .literal(&ids.project, "[PROJECT]");
    let dry = env.run(&["restore", "--dry-run", zip_arg]).success();
    insta::assert_snapshot!(scrub.apply(&dry), @"
    would add    [SESSION:turns]  Print hi
    would add    [SESSION:parent]  Look around
    would add    [SESSION:child]  Look around (@general subagent)
    would add    [SESSION:global]  In global
    would add    [SESSION:directory]  Before git init
    dry run: 5 to add, 0 to update, 0 unchanged, 0 to keep (newer locally) into $TEST_ENV/data/opencode/opencode.db (project [PROJECT], $TEST_ENV/repo); nothing was changed
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(file_sha256(&db), before, "--dry-run changed the store");

    let out = env.run(&["restore", zip_arg]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    added        [SESSION:turns]  Print hi
    added        [SESSION:parent]  Look around
    added        [SESSION:child]  Look around (@general subagent)
    added        [SESSION:global]  In global
    added        [SESSION:directory]  Before git init
    backup: $TEST_ENV/data/opencode/opencode.db.git-opencode-backup-[TIME]
    restored into $TEST_ENV/data/opencode/opencode.db (project [PROJECT], $TEST_ENV/repo): 5 added, 0 updated, 0 unchanged, 0 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
    for (id, doc) in &docs {
        let back = env.run(&["export", id]).success();
        if id == ids.global || id == ids.directory {
            // Filed under this repository's project now; the rest is as archived.
            let back: Value = serde_json::from_slice(back.stdout_bytes()).unwrap();
            assert_eq!(back["info"]["projectID"], ids.project.as_str());
            assert_eq!(back["info"]["location"], doc["info"]["location"], "{id}");
            assert_eq!(without_home(&back), without_home(doc), "{id}");
        } else {
            assert_eq!(
                String::from_utf8_lossy(back.stdout_bytes()),
                String::from_utf8_lossy(&packed[&format!("sessions/{id}.json")]),
                "{id}"
            );
        }
        assert_valid_2x(&db, id);
    }
    // The unsettled rows came back from the extra record, after the settled ones.
    let turns = rows(&db, ids.turns);
    let kinds: Vec<&str> = turns.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(kinds[kinds.len() - 2..], ["assistant", "shell"]);
    assert_eq!(turns.first().unwrap().1, 1);
    assert_eq!(
        sql::<String>(&db, "SELECT worktree FROM project WHERE vcs = 'git'"),
        env.repo.path.to_str().unwrap()
    );
    assert_eq!(
        sql::<i64>(
            &db,
            "SELECT count(*) FROM worktree WHERE strategy IS NULL AND directory = (SELECT worktree FROM project WHERE vcs = 'git')"
        ),
        1
    );
    for table in ["kv", "event", "session_inbox", "session_pending"] {
        assert_eq!(sql::<i64>(&db, &format!("SELECT count(*) FROM {table}")), 0);
    }
    let listed = env.run(&["list", "--json"]).success();
    let listed: Value = serde_json::from_slice(listed.stdout_bytes()).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), docs.len(), "{listed:#}");
    env.run(&["verify", zip_arg]).success();

    let again = env.run(&["restore", zip_arg]).success();
    insta::assert_snapshot!(scrub.apply(&again), @"
    unchanged    [SESSION:turns]  Print hi
    unchanged    [SESSION:parent]  Look around
    unchanged    [SESSION:child]  Look around (@general subagent)
    unchanged    [SESSION:global]  In global
    unchanged    [SESSION:directory]  Before git init
    restored into $TEST_ENV/data/opencode/opencode.db (project [PROJECT], $TEST_ENV/repo): 0 added, 0 updated, 5 unchanged, 0 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
}

/// The archive branch of a 2.x store, restored into an empty 2.x store of a clone elsewhere:
/// every session re-homed to the clone, its content as archived.
#[test]
fn a_2x_archive_branch_restores_into_a_clone() {
    let (env, ids) = native_env();
    env.run(&["push-sessions"]).success();
    let zip = pack(&env, "s.zip");
    let docs = pack_docs(&zip);
    let clone = clone_to(&env.repo, &env.root.join("elsewhere/clone"), None);
    let db = empty_2x_store(&env);
    let out = env
        .run_in(&clone.path, &["restore", "origin/opencode/sessions"])
        .success();
    assert!(out.stdout().contains("5 added, 0 updated"), "{out}");
    let clone_dir = clone.path.to_str().unwrap();
    for (id, doc) in &docs {
        let back = env.run_in(&clone.path, &["export", id]).success();
        let back: Value = serde_json::from_slice(back.stdout_bytes()).unwrap();
        assert_eq!(without_home(&back), without_home(doc), "{id}");
        let dir = back["info"]["location"]["directory"].as_str().unwrap();
        assert!(dir.starts_with(clone_dir), "{id}: {dir}");
        assert_valid_2x(&db, id);
    }
    assert_eq!(
        sql::<String>(
            &db,
            &format!(
                "SELECT parent_id FROM session_v2 WHERE id = '{}'",
                ids.child
            )
        ),
        ids.parent
    );
    let listed = env.run_in(&clone.path, &["list", "--json"]).success();
    let listed: Value = serde_json::from_slice(listed.stdout_bytes()).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), docs.len(), "{listed:#}");
}

/// 1.x archives (a real 1.18.34 SQLite store, a real 1.1.65 JSON store) restored into a
/// 2.x store: converted as 2.x's own upgrade does, so 2.x lists and exports them.
#[test]
fn a_1x_archive_is_converted_into_a_2x_store() {
    for fixture in [rich_store() as &dyn Fixture, legacy_store() as &dyn Fixture] {
        let env = fixture.copy_env();
        let zip = pack(&env, "s.zip");
        let docs = pack_docs(&zip);
        let db = empty_2x_store(&env);
        let out = env.run(&["restore", zip.to_str().unwrap()]).success();
        let n = docs.len();
        assert!(
            out.stdout().contains(&format!("{n} added, 0 updated")),
            "{out}"
        );
        assert!(
            out.stdout().contains("converted to OpenCode 2.x rows"),
            "{out}"
        );
        for (id, doc) in &docs {
            assert_valid_2x(&db, id);
            let seqs: Vec<i64> = rows(&db, id).iter().map(|r| r.1).collect();
            assert_eq!(seqs, (0..seqs.len() as i64).collect::<Vec<_>>(), "{id}");
            let back = env.run(&["export", id]).success();
            let back: Value = serde_json::from_slice(back.stdout_bytes()).unwrap();
            assert!(back["info"]["location"].is_object(), "{id}: {back:#}");
            assert_eq!(back["info"]["title"], doc["info"]["title"], "{id}");
            assert_eq!(
                back["info"]["time"]["created"], doc["info"]["time"]["created"],
                "{id}"
            );
        }
        let listed = env.run(&["list", "--json"]).success();
        let listed: Value = serde_json::from_slice(listed.stdout_bytes()).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), n, "{listed:#}");
        assert!(listed
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["generation"] == 2));
        // verify compares the archived 1.x sessions as the 2.x rows they became.
        env.run(&["verify", zip.to_str().unwrap()]).success();
        let again = env.run(&["restore", zip.to_str().unwrap()]).success();
        assert!(
            again
                .stdout()
                .contains(&format!("0 added, 0 updated, {n} unchanged")),
            "{again}"
        );
    }
}

/// A strictly newer archived copy replaces the store's (its rows deleted and written again,
/// `event_sequence` never lowered); an older or equal archived copy is kept out.
#[test]
fn a_strictly_newer_archived_copy_replaces_the_stores() {
    let (env, ids) = native_env();
    let zip = pack(&env, "s.zip");
    let zip_arg = zip.to_str().unwrap();
    let db = db_path(&env);
    let full = rows(&db, ids.parent);
    let conn = rusqlite::Connection::open(&db).unwrap();
    // The store's copy: older, its first row other text, its second row missing, a high
    // event counter.
    conn.execute_batch(&format!(
        "UPDATE session_v2 SET time_updated = time_updated - 1000 WHERE id = '{p}';
         UPDATE session_message SET data = json_set(data, '$.text', 'older') WHERE session_id = '{p}' AND seq = (SELECT min(seq) FROM session_message WHERE session_id = '{p}');
         DELETE FROM session_message WHERE session_id = '{p}' AND seq = (SELECT seq FROM session_message WHERE session_id = '{p}' ORDER BY seq LIMIT 1 OFFSET 1);
         INSERT INTO event_sequence (aggregate_id, seq) VALUES ('{p}', 500);
         UPDATE session_v2 SET time_updated = time_updated + 1000, title = 'changed here' WHERE id = '{c}';",
        p = ids.parent,
        c = ids.child
    ))
    .unwrap();
    drop(conn);
    let out = env.run(&["restore", zip_arg]).success();
    let scrub = Scrub::new()
        .session(ids.turns, "turns")
        .session(ids.parent, "parent")
        .session(ids.child, "child")
        .session(ids.global, "global")
        .session(ids.directory, "directory")
        .literal(&ids.project, "[PROJECT]");
    insta::assert_snapshot!(scrub.apply(&out), @"
    unchanged    [SESSION:turns]  Print hi
    updated      [SESSION:parent]  Look around
    kept         [SESSION:child]  Look around (@general subagent) (the local copy is newer)
    unchanged    [SESSION:global]  In global
    unchanged    [SESSION:directory]  Before git init
    backup: $TEST_ENV/data/opencode/opencode.db.git-opencode-backup-[TIME]
    restored into $TEST_ENV/data/opencode/opencode.db (project [PROJECT], $TEST_ENV/repo): 0 added, 1 updated, 3 unchanged, 1 kept (newer locally)
    [EOF]
    [exit status: 0]
    ");
    let back = rows(&db, ids.parent);
    assert_eq!(back.len(), full.len());
    assert_eq!(
        back.iter().map(|r| &r.2).collect::<Vec<_>>(),
        full.iter().map(|r| &r.2).collect::<Vec<_>>()
    );
    assert_eq!(
        sql::<i64>(
            &db,
            &format!(
                "SELECT seq FROM event_sequence WHERE aggregate_id = '{}'",
                ids.parent
            )
        ),
        500
    );
    assert_eq!(
        sql::<String>(
            &db,
            &format!("SELECT title FROM session_v2 WHERE id = '{}'", ids.child)
        ),
        "changed here"
    );
    assert_valid_2x(&db, ids.parent);
}

fn older_parent(env: &TestEnv, ids: &Native, also: &str) {
    let conn = rusqlite::Connection::open(db_path(env)).unwrap();
    conn.execute_batch(&format!(
        "UPDATE session_v2 SET time_updated = time_updated - 1000 WHERE id = '{p}'; {also}",
        p = ids.parent
    ))
    .unwrap();
}

/// A session to be replaced that OpenCode is busy with, and a running OpenCode service,
/// refuse the restore with one error and nothing written (not even a backup).
#[test]
fn a_busy_session_or_a_live_service_refuses_with_nothing_written() {
    let (env, ids) = native_env();
    let zip = pack(&env, "s.zip");
    let zip_arg = zip.to_str().unwrap();
    let db = db_path(&env);
    let scrub = Scrub::new().session(ids.parent, "parent");
    older_parent(
        &env,
        &ids,
        &format!(
            "UPDATE session_v2 SET time_suspended = 1 WHERE id = '{}';",
            ids.parent
        ),
    );
    let before = file_sha256(&db);
    let out = env.run(&["restore", zip_arg]).failure();
    insta::assert_snapshot!(scrub.apply(&out), @"
    [stderr]
    error: session [SESSION:parent] is busy in OpenCode (OpenCode's service has claimed a running turn); nothing was written
    hint: let OpenCode finish the turn or stop it, then try again
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(file_sha256(&db), before);
    let files = crate::common::file_names(db.parent().unwrap());
    assert!(!files.iter().any(|f| f.contains("backup")), "{files:?}");

    // Not busy any more, but the service is running (a live pid: this test's).
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE session_v2 SET time_suspended = NULL", [])
        .unwrap();
    drop(conn);
    let state = env.home.join(".local/state/opencode");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("service.json"),
        format!(
            r#"{{"id":"svc","version":"2.0.25","url":"http://127.0.0.1:4096","pid":{},"password":"hunter2-secret"}}"#,
            std::process::id()
        ),
    )
    .unwrap();
    let before = file_sha256(&db);
    let out = env.run(&["restore", zip_arg]).failure();
    let text = scrub
        .clone()
        .literal(&std::process::id().to_string(), "[PID]")
        .apply(&out);
    assert!(!text.contains("hunter2"), "{text}");
    insta::assert_snapshot!(text, @"
    [stderr]
    error: cannot restore session [SESSION:parent] while OpenCode is running (its service, pid [PID], is registered in $TEST_ENV/home/.local/state/opencode/service.json); nothing was written
    hint: quit OpenCode and its background service, then run git opencode restore again
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(file_sha256(&db), before);

    // A file left by a service that is gone does not count.
    std::fs::write(state.join("service.json"), r#"{"pid":2000000000}"#).unwrap();
    let out = env.run(&["restore", zip_arg]).success();
    assert!(out.stdout().contains("0 added, 1 updated"), "{out}");
}

/// A 2.x archive restored into a 1.x store is refused before anything is written.
#[test]
fn a_2x_archive_into_a_1x_store_is_refused() {
    let (env, ids) = native_env();
    let zip = pack(&env, "s.zip");
    let db = db_path(&env);
    std::fs::remove_file(&db).unwrap();
    let real = rich_store().home().data_dir().join("opencode.db");
    std::fs::copy(real, &db).unwrap();
    let before = file_sha256(&db);
    let out = env.run(&["restore", zip.to_str().unwrap()]).failure();
    let scrub = Scrub::new().session(ids.turns, "turns");
    insta::assert_snapshot!(scrub.apply(&out), @"
    [stderr]
    error: session [SESSION:turns] was written by OpenCode 2.x; the store at $TEST_ENV/data/opencode/opencode.db is OpenCode 1.x
    hint: upgrade OpenCode to 2.x (it upgrades the store on its first start) and restore again, or restore into a 2.x store with --store; nothing was restored
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(file_sha256(&db), before);
}

/// Opt-in (no 2.x binary is installable here): `OPENCODE_2X_BIN` names a real OpenCode 2.x
/// binary, which must list and export the sessions restored from a 2.x pack and from a
/// 1.18.34 pack as we do.
#[test]
#[ignore = "needs OPENCODE_2X_BIN, a real OpenCode 2.x binary"]
fn real_2x_binary_lists_and_exports_restored_sessions() {
    let real = Real2x::from_env();
    let check = |env: &TestEnv| {
        let listed = real.session_list(env);
        let ours = env.run(&["list", "--json"]).success();
        let ours: Value = serde_json::from_slice(ours.stdout_bytes()).unwrap();
        for s in listed.as_array().unwrap() {
            let id = s["id"].as_str().unwrap();
            assert!(ours.to_string().contains(id), "{id} not listed by us");
            let theirs = real.run(env, &["session", "export", "--standalone", id]);
            let mine = env.run(&["export", id]).success();
            assert_eq!(
                String::from_utf8_lossy(mine.stdout_bytes()),
                String::from_utf8_lossy(&theirs)
            );
        }
        assert!(!listed.as_array().unwrap().is_empty());
    };
    let (env, _) = native_env();
    let zip = pack(&env, "s.zip");
    empty_2x_store(&env);
    env.run(&["restore", zip.to_str().unwrap()]).success();
    check(&env);
    let env = rich_store().copy_env();
    let zip = pack(&env, "s.zip");
    empty_2x_store(&env);
    env.run(&["restore", zip.to_str().unwrap()]).success();
    check(&env);
}

/// A redacted archive's placeholders never replace the store's text: replacing a strictly
/// older 2.x copy, the store's secret stays where the archive holds its placeholder.
#[test]
fn a_redacted_archive_never_puts_placeholders_over_local_text() {
    let (env, ids) = native_env();
    let db = db_path(&env);
    let fill: String = "FakeHuggingFace".chars().cycle().take(34).collect();
    let secret = format!("hf_{fill}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let first = format!(
        "(SELECT seq FROM session_message WHERE session_id = '{}' ORDER BY seq LIMIT 1)",
        ids.parent
    );
    conn.execute(
        &format!(
            "UPDATE session_message SET data = json_set(data, '$.text', ?1) WHERE session_id = '{}' AND seq = {first}",
            ids.parent
        ),
        [format!("use {secret} please")],
    )
    .unwrap();
    drop(conn);
    let zip = env.root.join("s.zip");
    env.run(&["pack", "--redact", "-q", "-o", zip.to_str().unwrap()])
        .success();
    let docs = pack_docs(&zip);
    let archived = docs[ids.parent]["messages"][0]["text"].as_str().unwrap();
    assert!(!archived.contains(&secret), "{archived}");
    // The store's copy is older and lacks its second row.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(&format!(
        "UPDATE session_v2 SET time_updated = time_updated - 1000 WHERE id = '{p}';
         DELETE FROM session_message WHERE session_id = '{p}' AND seq = (SELECT seq FROM session_message WHERE session_id = '{p}' ORDER BY seq LIMIT 1 OFFSET 1);",
        p = ids.parent
    ))
    .unwrap();
    drop(conn);
    let out = env.run(&["restore", zip.to_str().unwrap()]).success();
    assert!(out.stdout().contains("0 added, 1 updated"), "{out}");
    let back = rows(&db, ids.parent);
    assert_eq!(
        back.len(),
        docs[ids.parent]["messages"].as_array().unwrap().len()
    );
    assert!(back[0].2.contains(&secret), "{:?}", back[0]);
}

/// An upgraded store whose 1.x import has not finished: 2.x would import the legacy copies
/// again on its next start, over what a restore writes, so restore refuses and writes
/// nothing; `--dry-run` says so; once the import completed, the restore goes through.
#[test]
fn an_unfinished_import_refuses_a_restore() {
    let env = rich_store().copy_env();
    let zip = pack(&env, "s.zip");
    let db = db_path(&env);
    crate::common::upgrade2::upgrade_to_2x(&db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        r#"UPDATE kv SET value = '{"phase":"sessions","cursor":"ses_z"}' WHERE key = 'migration.v1-v2'"#,
        [],
    )
    .unwrap();
    conn.execute("DELETE FROM session_v2 WHERE parent_id IS NULL", [])
        .unwrap();
    drop(conn);
    let before = file_sha256(&db);
    let out = env.run(&["restore", zip.to_str().unwrap()]).failure();
    insta::assert_snapshot!(out, @"
    [stderr]
    error: cannot restore into $TEST_ENV/opencode/data/opencode/opencode.db: OpenCode 2.x has not finished importing its 1.x sessions (kv row migration.v1-v2); nothing was written
    hint: start OpenCode 2.x once and let it finish its upgrade (git opencode doctor shows when it has), then run git opencode restore again
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(file_sha256(&db), before);
    let dry = env
        .run(&["restore", "--dry-run", zip.to_str().unwrap()])
        .success();
    assert!(
        dry.stdout()
            .contains("a restore would be refused: cannot restore into"),
        "{dry}"
    );
    assert_eq!(file_sha256(&db), before);

    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        r#"UPDATE kv SET value = '{"phase":"completed"}' WHERE key = 'migration.v1-v2'"#,
        [],
    )
    .unwrap();
    drop(conn);
    let out = env.run(&["restore", zip.to_str().unwrap()]).success();
    assert!(out.stdout().contains("added"), "{out}");
}
