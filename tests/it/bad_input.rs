//! Acceptance 6: bad input gets one `error:` line naming the thing (plus an optional
//! `hint:`), exit status 1, nothing on stdout (no partial output), and nothing written.
//! Each case checks `.failure()` and snapshots the whole output.

use crate::common::fixtures::{legacy_store, rich_store, Fixture};
use crate::common::{
    file_names, file_sha256, query_one, run, session_ids, zip_entries, Scrub, TestEnv,
};
use std::collections::BTreeSet;

#[test]
fn outside_a_repository() {
    let env = TestEnv::new();
    let outside = env.new_dir("plain");
    let mut cmd = env.cmd_in(&outside, &["list"]);
    cmd.env("GIT_CEILING_DIRECTORIES", &env.root);
    insta::assert_snapshot!(run(cmd).failure(), @"
    [stderr]
    error: not a git repository (or any of the parent directories): $TEST_ENV/plain
    hint: run git opencode inside a repository, or pass -C <path>
    [EOF]
    [exit status: 1]
    ");
}

#[test]
fn no_store() {
    let env = TestEnv::new();
    let before = file_names(&env.repo.path);
    insta::assert_snapshot!(env.run(&["pack"]).failure(), @"
    [stderr]
    error: no OpenCode session store at $TEST_ENV/data/opencode/opencode.db
    hint: run opencode in this repository first, or point at a store with --store <path>
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(file_names(&env.repo.path), before);
}

#[test]
fn empty_store() {
    let env = TestEnv::new();
    let dir = env.data_home.join("opencode");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("opencode.db"), b"").unwrap();
    insta::assert_snapshot!(env.run(&["list"]).failure(), @"
    [stderr]
    error: $TEST_ENV/data/opencode/opencode.db is not an OpenCode database (it has no session table)
    hint: point --store at OpenCode's data directory or opencode.db
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(std::fs::read(dir.join("opencode.db")).unwrap(), b"");
    assert_eq!(
        file_names(&dir),
        vec!["opencode.db".to_owned()],
        "nothing created beside the DB"
    );
}

#[test]
fn corrupt_database() {
    let env = TestEnv::new();
    let dir = env.data_home.join("opencode");
    std::fs::create_dir_all(&dir).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(dir.join("opencode.db"), &garbage).unwrap();
    insta::assert_snapshot!(env.run(&["list"]).failure(), @"
    [stderr]
    error: $TEST_ENV/data/opencode/opencode.db is not an SQLite database: file is not a database
    hint: point --store at OpenCode's data directory or opencode.db
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(std::fs::read(dir.join("opencode.db")).unwrap(), garbage);
}

/// A copy of the rich store in rollback-journal mode (`journal_mode=DELETE`, no `-wal`),
/// and a writer on `db` that has written a new session into the main file without
/// committing it: its transaction holds the exclusive lock and a `-journal`.
fn rollback_store_with_a_writer(env: &TestEnv, db: &std::path::Path) -> rusqlite::Connection {
    let live = env.opencode.as_ref().unwrap().db_path();
    let conn = rusqlite::Connection::open(&live).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    drop(conn);
    if db != live {
        std::fs::rename(&live, db).unwrap();
    }
    let writer = rusqlite::Connection::open(db).unwrap();
    writer
        .execute_batch(
            "BEGIN IMMEDIATE;
             CREATE TEMP TABLE new_session AS SELECT * FROM session ORDER BY id LIMIT 1;
             UPDATE new_session SET id = 'ses_uncommitted', title = 'never committed';
             INSERT INTO session SELECT * FROM new_session;",
        )
        .unwrap();
    // Uncommitted pages go into the main file, as when a big transaction spills its cache.
    writer.cache_flush().unwrap();
    let mut journal = db.as_os_str().to_owned();
    journal.push("-journal");
    assert!(std::path::Path::new(&journal).exists());
    writer
}

/// While a rollback-journal writer holds uncommitted pages in the main file, `list` waits
/// for its lock and never shows them; after the writer rolls back, they are gone.
#[test]
fn uncommitted_rows_of_a_rollback_journal_writer_are_not_listed() {
    let env = rich_store().copy_env();
    let db = env.opencode.as_ref().unwrap().db_path();
    let writer = rollback_store_with_a_writer(&env, &db);
    let rollback = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        writer.execute_batch("ROLLBACK").unwrap();
    });
    let listed = env.run(&["list", "--json"]);
    rollback.join().unwrap();
    let ids = session_ids(&listed.success().json());
    assert!(!ids.contains("ses_uncommitted"), "{ids:?}");
    assert_eq!(ids.len(), 5, "{ids:?}");
}

/// A writer that holds its lock longer than the busy timeout: one clear error and a hint.
#[test]
fn a_locked_store() {
    let env = rich_store().copy_env();
    let db = env.opencode.as_ref().unwrap().db_path();
    let writer = rollback_store_with_a_writer(&env, &db);
    insta::assert_snapshot!(env.run(&["list"]).failure(), @"
    [stderr]
    error: OpenCode database $TEST_ENV/opencode/data/opencode/opencode.db is locked: another process held it for 5 s
    hint: try again when opencode is idle, or read a copy with --store <path>
    [EOF]
    [exit status: 1]
    ");
    drop(writer);
}

/// A writer that stopped mid-transaction left a hot journal: `list` must not show its rows,
/// and cannot roll it back read-only, so it says what to do; the store stays as it was.
#[test]
fn a_hot_journal() {
    let env = rich_store().copy_env();
    let db = env.opencode.as_ref().unwrap().db_path();
    let staging = db.with_file_name("staging.db");
    let writer = rollback_store_with_a_writer(&env, &staging);
    // A copy taken mid-transaction is what a crash leaves: pages and journal, no lock.
    std::fs::copy(&staging, &db).unwrap();
    std::fs::copy(
        staging.with_file_name("staging.db-journal"),
        db.with_file_name("opencode.db-journal"),
    )
    .unwrap();
    drop(writer);
    let before = (
        file_sha256(&db),
        file_sha256(&db.with_file_name("opencode.db-journal")),
    );
    insta::assert_snapshot!(env.run(&["list"]).failure(), @"
    [stderr]
    error: OpenCode database $TEST_ENV/opencode/data/opencode/opencode.db has a transaction that a stopped writer left unfinished (a hot journal)
    hint: start opencode once, which rolls the transaction back, then try again
    [EOF]
    [exit status: 1]
    ");
    let after = (
        file_sha256(&db),
        file_sha256(&db.with_file_name("opencode.db-journal")),
    );
    assert_eq!(before, after);
}

#[test]
fn newer_schema_without_a_needed_column() {
    let env = rich_store().copy_env();
    let db = env.opencode.as_ref().unwrap().db_path();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "ALTER TABLE session DROP COLUMN slug; ALTER TABLE session ADD COLUMN future_thing TEXT;",
    )
    .unwrap();
    drop(conn);
    insta::assert_snapshot!(env.run(&["pack"]).failure(), @"
    [stderr]
    error: OpenCode database $TEST_ENV/opencode/data/opencode/opencode.db has an unknown schema: table session has no column slug
    hint: this store was written by an OpenCode version git-opencode does not know; upgrade git-opencode
    [EOF]
    [exit status: 1]
    ");
}

#[test]
fn extra_columns_and_tables_of_a_newer_opencode_are_tolerated() {
    let store = rich_store();
    let env = store.copy_env();
    let db = env.opencode.as_ref().unwrap().db_path();
    let before = env.run(&["export", &store.tools]).success();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "ALTER TABLE session ADD COLUMN future_flag INTEGER; ALTER TABLE message ADD COLUMN future_col TEXT;
         CREATE TABLE future_table (id TEXT PRIMARY KEY);",
    )
    .unwrap();
    drop(conn);
    let after = env.run(&["export", &store.tools]).success();
    assert_eq!(after.stdout_bytes(), before.stdout_bytes());
}

#[test]
fn malformed_json_in_a_row() {
    let store = rich_store();
    let env = store.copy_env();
    let db = env.opencode.as_ref().unwrap().db_path();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let part: String = query_one(
        &conn,
        "SELECT id FROM part WHERE session_id = ?1 LIMIT 1",
        &store.plain,
    );
    conn.execute(
        "UPDATE part SET data = '{\"type\": \"text\", broken' WHERE id = ?1",
        [&part],
    )
    .unwrap();
    drop(conn);
    let zip = env.root.join("out.zip");
    let scrub = Scrub::of(store).literal(&part, "[PART:broken]");
    let out = env.run(&["pack", "-o", zip.to_str().unwrap()]).failure();
    insta::assert_snapshot!(scrub.apply(out), @"
    $TEST_ENV/out.zip
    [EOF]
    [stderr]
    error: 1 session of this repository could not be read and was left out of $TEST_ENV/out.zip: session [SESSION:plain] (malformed JSON in part [PART:broken] of session [SESSION:plain] in $TEST_ENV/opencode/data/opencode/opencode.db: key must be a string at line 1 column 18)
    hint: the store has a damaged row or file, named above; every other session was archived
    [EOF]
    [exit status: 1]
    ");
    // The zip holds every other session (see a_row_that_is_not_utf8_leaves_out_only_its_session).
    assert!(zip.is_file());
    assert!(
        file_names(&env.root).iter().all(|n| !n.contains(".tmp")),
        "{:?}",
        file_names(&env.root)
    );
    let out = env.run(&["export", &store.plain]).failure();
    insta::assert_snapshot!(scrub.apply(out), @"
    [stderr]
    error: malformed JSON in part [PART:broken] of session [SESSION:plain] in $TEST_ENV/opencode/data/opencode/opencode.db: key must be a string at line 1 column 18
    [EOF]
    [exit status: 1]
    ");
}

/// Puts a byte that is not UTF-8 into the first text part of `session`; returns the part.
pub fn break_a_part(env: &TestEnv, session: &str) -> String {
    let conn = rusqlite::Connection::open(env.opencode.as_ref().unwrap().db_path()).unwrap();
    let part: String = query_one(
        &conn,
        "SELECT id FROM part WHERE session_id = ?1 AND json_extract(data, '$.type') = 'text' ORDER BY id LIMIT 1",
        session,
    );
    let sql = r#"UPDATE part SET data = replace(data, '"text":"', '"text":"' || CAST(X'E9' AS TEXT)) WHERE id = ?1"#;
    assert_eq!(conn.execute(sql, [&part]).unwrap(), 1);
    part
}

/// One row that is not UTF-8 keeps only its own session out: pack and push-sessions archive
/// every other session, name the damaged one (session, row, reason) and exit 1.
#[test]
fn a_row_that_is_not_utf8_leaves_out_only_its_session() {
    let store = rich_store();
    let env = store.copy_env();
    let part = break_a_part(&env, &store.plain);
    let scrub = Scrub::of(store).literal(&part, "[PART:broken]");
    let others: BTreeSet<&str> = store
        .sessions()
        .into_iter()
        .filter(|id| *id != store.plain)
        .collect();

    let zip = env.root.join("out.zip");
    let out = env.run(&["pack", "-q", "-o", zip.to_str().unwrap()]);
    insta::assert_snapshot!(scrub.apply(out.failure()), @"
    $TEST_ENV/out.zip
    [EOF]
    [stderr]
    error: 1 session of this repository could not be read and was left out of $TEST_ENV/out.zip: session [SESSION:plain] (part [PART:broken] of session [SESSION:plain] in $TEST_ENV/opencode/data/opencode/opencode.db: data is not valid UTF-8 (invalid byte at offset 23))
    hint: the store has a damaged row or file, named above; every other session was archived
    [EOF]
    [exit status: 1]
    ");
    let packed: BTreeSet<String> = zip_entries(&zip)
        .into_iter()
        .filter_map(|(name, _)| {
            let id = name.strip_prefix("sessions/")?.strip_suffix(".json")?;
            (!id.ends_with(".extra")).then(|| id.to_owned())
        })
        .collect();
    assert_eq!(packed, others.iter().map(|s| s.to_string()).collect());

    let out = env.run(&["push-sessions", "-q"]);
    insta::assert_snapshot!(scrub.apply(out.failure()), @"
    [stderr]
    error: 1 session of this repository could not be read and was left out of refs/heads/opencode/sessions: session [SESSION:plain] (failed to read session [SESSION:plain]: part [PART:broken] of session [SESSION:plain] in $TEST_ENV/opencode/data/opencode/opencode.db: data is not valid UTF-8 (invalid byte at offset 23))
    hint: the store has a damaged row or file, named above; every other session was archived
    [EOF]
    [exit status: 1]
    ");
    let tree = env.git(&["ls-tree", "-r", "--name-only", "opencode/sessions"]);
    for id in &others {
        assert!(tree.contains(&format!("{id}/session.json")), "{id}: {tree}");
    }
    assert!(!tree.contains(&store.plain), "{tree}");
    env.git(&["fsck", "--strict"]);
}

/// In a JSON (≤ 1.1) store a damaged session file of another project changes nothing here;
/// one of this repository's is left out of list and pack, named, and fails the run.
#[test]
fn a_damaged_legacy_session_file() {
    let store = legacy_store();
    let env = store.copy_env();
    let storage = env.data_home.join("opencode/storage/session");
    std::fs::create_dir_all(storage.join("other_project")).unwrap();
    std::fs::write(storage.join("other_project/ses_other.json"), b"{ broken").unwrap();
    let listed = env.run(&["list", "--json"]).success().json();
    assert_eq!(session_ids(&listed).len(), store.sessions().len());
    let zip = env.root.join("all.zip");
    env.run(&["pack", "-q", "-o", zip.to_str().unwrap()])
        .success();

    let file = std::fs::read_dir(&storage)
        .unwrap()
        .map(|dir| {
            dir.unwrap()
                .path()
                .join(format!("{}.json", store.attachment))
        })
        .find(|file| file.is_file())
        .unwrap();
    std::fs::write(&file, b"{ broken").unwrap();
    let project = file
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let scrub = Scrub::of(store).literal(project, "[PROJECT]");
    let out = env.run(&["list", "--json"]).failure();
    assert_eq!(session_ids(&out.json()).len(), store.sessions().len() - 1);
    insta::assert_snapshot!(scrub.apply(out.error()), @"error: 1 session of this repository could not be read and was left out of the list: session [SESSION:attachment] (malformed JSON in $TEST_ENV/opencode/data/opencode/storage/session/[PROJECT]/[SESSION:attachment].json: key must be a string at line 1 column 3)");
    let zip = env.root.join("some.zip");
    let out = env
        .run(&["pack", "-q", "-o", zip.to_str().unwrap()])
        .failure();
    insta::assert_snapshot!(scrub.apply(out.error()), @"error: 1 session of this repository could not be read and was left out of $TEST_ENV/some.zip: session [SESSION:attachment] (malformed JSON in $TEST_ENV/opencode/data/opencode/storage/session/[PROJECT]/[SESSION:attachment].json: key must be a string at line 1 column 3)");
    assert!(zip.is_file());

    // verify names the damaged session and fails, whether the archive lacks it (a pack
    // written after the damage) or holds it (one written before: not "missing").
    let out = env.run(&["verify", zip.to_str().unwrap()]).failure();
    insta::assert_snapshot!(scrub.apply(out.to_string()), @"
    archive: $TEST_ENV/some.zip (3 sessions; checksums of 7 entries ok)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (3 sessions of this repository)
    unread   [SESSION:attachment]  (cannot be read: malformed JSON in $TEST_ENV/opencode/data/opencode/storage/session/[PROJECT]/[SESSION:attachment].json: key must be a string at line 1 column 3)
    [EOF]
    [stderr]
    error: 1 session of this repository could not be read and was left out of the comparison: session [SESSION:attachment] (malformed JSON in $TEST_ENV/opencode/data/opencode/storage/session/[PROJECT]/[SESSION:attachment].json: key must be a string at line 1 column 3)
    hint: the store has a damaged row or file, named above; every other session was compared
    [EOF]
    [exit status: 1]
    ");
    let out = env
        .run(&[
            "verify",
            "--json",
            env.root.join("all.zip").to_str().unwrap(),
        ])
        .failure();
    let report = out.json();
    assert_eq!(report["missing"], serde_json::json!([]));
    assert_eq!(report["unreadable"][0]["id"], store.attachment.as_str());
    assert_eq!(report["complete"], false);
}

#[test]
fn malformed_legacy_file() {
    let store = legacy_store();
    let env = store.copy_env();
    let dir = env
        .data_home
        .join("opencode/storage/message")
        .join(&store.tools);
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&file, b"{ \"id\": ").unwrap();
    let message = file.file_stem().unwrap().to_str().unwrap();
    let scrub = Scrub::of(store).literal(message, "[MESSAGE:broken]");
    let out = env.run(&["export", &store.tools]).failure();
    insta::assert_snapshot!(scrub.apply(out), @"
    [stderr]
    error: malformed JSON in $TEST_ENV/opencode/data/opencode/storage/message/[SESSION:tools]/[MESSAGE:broken].json: EOF while parsing a value at line 1 column 8
    [EOF]
    [exit status: 1]
    ");
}

#[test]
fn output_into_a_missing_directory() {
    let store = rich_store();
    let env = store.copy_env();
    let missing = env.root.join("missing");
    let out = env.run(&["export", "-o", missing.to_str().unwrap()]);
    insta::assert_snapshot!(out.failure(), @"
    [stderr]
    error: output directory $TEST_ENV/missing does not exist
    hint: create it first, or pass another -o <DIR>
    [EOF]
    [exit status: 1]
    ");
    let zip = missing.join("x.zip");
    let out = env.run(&["pack", "-o", zip.to_str().unwrap()]);
    insta::assert_snapshot!(out.failure(), @"
    [stderr]
    error: cannot write $TEST_ENV/missing/x.zip: directory $TEST_ENV/missing does not exist
    hint: create it first, or pass another -o <FILE>
    [EOF]
    [exit status: 1]
    ");
    assert!(!missing.exists());
}

#[test]
fn unknown_session_id() {
    let env = rich_store().copy_env();
    let out_dir = env.new_dir("out");
    let out = env.run(&[
        "export",
        "-o",
        out_dir.to_str().unwrap(),
        "ses_doesnotexist",
    ]);
    insta::assert_snapshot!(out.failure(), @"
    [stderr]
    error: no session ses_doesnotexist in the OpenCode store $TEST_ENV/opencode/data/opencode/opencode.db
    hint: `git opencode list` shows this repository's sessions
    [EOF]
    [exit status: 1]
    ");
    assert!(file_names(&out_dir).is_empty());
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    let out = env.run(&["pack", "--no-such-flag"]);
    insta::assert_snapshot!(out.usage_error(), @"
    [stderr]
    error: unexpected argument '--no-such-flag' found

    Usage: git opencode pack [OPTIONS]

    For more information, try '--help'.
    [EOF]
    [exit status: 2]
    ");
}

/// A project row whose `sandboxes` list is damaged fails no command: the directories it
/// still names in quotes count, so a session found through one of them stays listed.
#[test]
fn a_damaged_sandboxes_list_is_read_for_the_paths_it_still_names() {
    let store = rich_store();
    let env = store.copy_env();
    let db = env.opencode.as_ref().unwrap().db_path();
    let before = session_ids(&env.run(&["list", "--json"]).success().json());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let checkout = env.repo.path.to_str().unwrap();
    conn.execute(
        "INSERT INTO project (id, worktree, vcs, time_created, time_updated, sandboxes) \
         VALUES ('elsewhere', '/elsewhere', 'git', 1, 1, ?1)",
        [format!(r#"["/tmp/a", "{checkout}", {{broken"#)],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO project (id, worktree, vcs, time_created, time_updated, sandboxes) \
         VALUES ('unrelated', '/unrelated', 'git', 1, 1, '[\"/tmp/b\",')",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE session SET project_id = 'elsewhere' WHERE id = ?1",
        [&store.plain],
    )
    .unwrap();
    drop(conn);
    let after = session_ids(&env.run(&["list", "--json"]).success().json());
    assert_eq!(after, before);
}
