//! Acceptance 6: bad input gets one `error:` line naming the thing (plus an optional
//! `hint:`), exit status 1, and nothing written.

use crate::common::fixtures::{legacy_store, rich_store, Fixture};
use crate::common::{file_names, query_one, run, CommandOutput, TestEnv};

/// A clean failure (exit 1, one `error:` line containing `needle`, then only `hint:` lines),
/// and nothing on stdout either: bad input must not produce partial output.
#[track_caller]
fn assert_error(output: CommandOutput, needle: &str) -> String {
    let output = output.failure();
    assert!(
        output.error().contains(needle),
        "{needle:?} missing:\n{output}"
    );
    assert_eq!(output.stdout(), "", "{output}");
    output.error().to_owned()
}

#[test]
fn outside_a_repository() {
    let env = TestEnv::new();
    let outside = env.new_dir("plain");
    let mut cmd = env.cmd_in(&outside, &["list"]);
    cmd.env("GIT_CEILING_DIRECTORIES", &env.root);
    let line = assert_error(run(cmd), "not a git repository");
    assert!(line.contains("$TEST_ENV/plain"), "{line}");
}

#[test]
fn no_store() {
    let env = TestEnv::new();
    let before = file_names(&env.repo.path);
    let out = env.run(&["pack"]);
    let line = assert_error(out, "no OpenCode session store");
    assert!(line.contains("$TEST_ENV/data"), "{line}");
    assert_eq!(file_names(&env.repo.path), before);
}

#[test]
fn empty_store() {
    let env = TestEnv::new();
    let dir = env.data_home.join("opencode");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("opencode.db"), b"").unwrap();
    assert_error(env.run(&["list"]), "has no session table");
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
    let line = assert_error(env.run(&["list"]), "opencode.db");
    assert!(line.contains("not a database"), "{line}");
    assert_eq!(std::fs::read(dir.join("opencode.db")).unwrap(), garbage);
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
    let line = assert_error(env.run(&["pack"]), "table session has no column slug");
    assert!(
        line.contains("$TEST_ENV/opencode/data/opencode/opencode.db"),
        "{line}"
    );
    assert!(db.is_file());
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
    let line = assert_error(env.run(&["pack", "-o", zip.to_str().unwrap()]), &part);
    assert!(line.contains(&store.plain), "{line}");
    assert!(!zip.exists());
    assert!(
        file_names(&env.root).iter().all(|n| !n.contains(".tmp")),
        "{:?}",
        file_names(&env.root)
    );
    assert_error(env.run(&["export", &store.plain]), &part);
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
    let line = assert_error(env.run(&["export", &store.tools]), &store.tools);
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        line.contains(&format!(
            "$TEST_ENV/opencode/data/opencode/storage/message/{}/{name}",
            store.tools
        )),
        "{line}"
    );
}

#[test]
fn output_into_a_missing_directory() {
    let store = rich_store();
    let env = store.copy_env();
    let missing = env.root.join("missing");
    assert_error(
        env.run(&["export", "-o", missing.to_str().unwrap()]),
        "$TEST_ENV/missing",
    );
    let zip = missing.join("x.zip");
    assert_error(
        env.run(&["pack", "-o", zip.to_str().unwrap()]),
        "$TEST_ENV/missing",
    );
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
    assert_error(out, "ses_doesnotexist");
    assert!(file_names(&out_dir).is_empty());
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    env.run(&["pack", "--no-such-flag"]).usage_error();
}
