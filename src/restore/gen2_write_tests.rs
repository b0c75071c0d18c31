//! The writer against a database built from the verbatim 2.0.25 schema.

use super::*;
use crate::restore::upgrade::transform_session;
use serde_json::json;

const SCHEMA: &str = include_str!("../../tests/fixtures/opencode-2.0.25-schema.sql");

fn store() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    conn
}

fn seed() -> ProjectSeed {
    ProjectSeed {
        id: "proj1".into(),
        worktree: "/r/repo".into(),
        vcs: Some("git".into()),
        time: 5_000,
    }
}

/// A two-message 1.x session (a user prompt and a bash call), transformed: three rows with
/// the tool notice.
fn session(id: &str, parent: Option<&str>) -> V2Session {
    let mut info = json!({
        "id": id, "slug": "s", "projectID": "proj1", "directory": "/r/repo", "title": "t",
        "version": "1.18.34", "time": {"created": 100, "updated": 200}
    });
    if let Some(p) = parent {
        info["parentID"] = p.into();
    }
    let user = format!("msg_{id}_1");
    transform_session(&json!({"info": info, "messages": [
        {"info": {"role": "user", "time": {"created": 110}, "agent": "build",
                  "model": {"providerID": "mock", "modelID": "m"}, "id": user, "sessionID": id},
         "parts": [{"type": "text", "text": "hi", "id": "prt_1"}]},
        {"info": {"parentID": user, "role": "assistant", "mode": "build", "agent": "build", "cost": 0,
                  "tokens": {"input": 1, "output": 2, "reasoning": 0, "cache": {"read": 0, "write": 0}},
                  "modelID": "m", "providerID": "mock", "time": {"created": 120, "completed": 130},
                  "id": format!("msg_{id}_2"), "sessionID": id},
         "parts": [{"type": "tool", "tool": "bash", "callID": "c1", "id": "prt_2", "state": {"status": "completed",
                    "input": {"command": "ls"}, "output": "a", "title": "", "metadata": {}, "time": {"start": 121, "end": 122}}}]}
    ]}), &Map::new())
    .unwrap()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn writes_project_session_messages_and_watermark() {
    let conn = store();
    conn.execute_batch(
        "INSERT INTO kv VALUES ('migration.v1-v2', '{\"phase\":\"completed\"}', 1, 2);",
    )
    .unwrap();
    let s = session("ses_a", None);
    let written = write_session(&conn, &s, Some(&seed())).unwrap();
    assert_eq!(
        written,
        Written {
            session_id: "ses_a".into(),
            messages: 3,
            replaced: false,
            project_created: true,
            missing_parent: None,
            dropped_columns: vec![],
        }
    );
    let project: (String, String, i64, i64) = conn
        .query_row(
            "SELECT worktree, sandboxes, time_created, time_active FROM project WHERE id = 'proj1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(project, ("/r/repo".into(), "[]".into(), 5_000, 5_000));
    assert_eq!(read_row(&conn, "ses_a").unwrap().unwrap(), s.row);
    let rows: Vec<(String, String, i64, String)> = conn
        .prepare("SELECT id, type, seq, data FROM session_message WHERE session_id = 'ses_a' ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let kinds: Vec<_> = rows.iter().map(|r| (r.1.as_str(), r.2)).collect();
    assert_eq!(kinds, [("user", 0), ("assistant", 1), ("system", 2)]);
    assert_eq!(rows[0].3, r#"{"text":"hi","time":{"created":110}}"#);
    assert_eq!(
        count(
            &conn,
            "SELECT seq FROM event_sequence WHERE aggregate_id = 'ses_a'"
        ),
        2
    );
    // Untouched.
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM kv WHERE value = '{\"phase\":\"completed\"}'"
        ),
        1
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM event"), 0);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM pragma_foreign_key_check"),
        0
    );
}

#[test]
fn watermark_never_goes_down() {
    let conn = store();
    conn.execute_batch("INSERT INTO event_sequence VALUES ('ses_a', 50, NULL), ('ses_b', 0, NULL)")
        .unwrap();
    write_sessions(
        &conn,
        &[session("ses_a", None), session("ses_b", None)],
        Some(&seed()),
    )
    .unwrap();
    assert_eq!(
        count(
            &conn,
            "SELECT seq FROM event_sequence WHERE aggregate_id = 'ses_a'"
        ),
        50
    );
    assert_eq!(
        count(
            &conn,
            "SELECT seq FROM event_sequence WHERE aggregate_id = 'ses_b'"
        ),
        2
    );
}

#[test]
fn columns_are_matched_by_name_in_an_upgraded_order() {
    // An upgraded file: the columns of later migrations appended at the end (§1.4).
    let conn = store();
    conn.execute_batch(
        "DROP TABLE session_v2;
         CREATE TABLE session_v2 (id text PRIMARY KEY, project_id text NOT NULL, workspace_id text,
           parent_id text, fork_session_id text, fork_boundary text, slug text NOT NULL,
           directory text NOT NULL, path text, title text, version text NOT NULL, share_url text,
           summary_additions integer, summary_deletions integer, summary_files integer,
           summary_diffs text, metadata text, cost real DEFAULT 0 NOT NULL,
           tokens_input integer DEFAULT 0 NOT NULL, tokens_output integer DEFAULT 0 NOT NULL,
           tokens_reasoning integer DEFAULT 0 NOT NULL, tokens_cache_read integer DEFAULT 0 NOT NULL,
           tokens_cache_write integer DEFAULT 0 NOT NULL, revert text, permission text, agent text,
           model text, time_created integer NOT NULL, time_updated integer NOT NULL,
           time_compacting integer, time_archived integer, time_suspended integer,
           resume_attempts integer DEFAULT 0 NOT NULL, time_idle integer, time_viewed integer,
           idle_outcome text);",
    )
    .unwrap();
    let s = session("ses_a", None);
    write_session(&conn, &s, Some(&seed())).unwrap();
    let mut back = read_row(&conn, "ses_a").unwrap().unwrap();
    assert_eq!(back.keys().next_back().unwrap(), "idle_outcome");
    back.sort_keys();
    let mut expected = s.row.clone();
    expected.sort_keys();
    assert_eq!(back, expected);
}

#[test]
fn an_unknown_required_column_is_refused_and_a_missing_one_reported() {
    let conn = store();
    conn.execute_batch("ALTER TABLE session_v2 ADD COLUMN lineage text NOT NULL DEFAULT 'x'")
        .unwrap();
    // With a default it is fine.
    write_session(&conn, &session("ses_a", None), Some(&seed())).unwrap();
    let conn = store();
    conn.execute_batch(
        "DROP TABLE session_message; DROP TABLE session_inbox; DROP TABLE session_pending;
         DROP TABLE instruction_entry; DROP TABLE instruction_state; DROP TABLE session_v2;
         CREATE TABLE session_v2 (id text PRIMARY KEY, project_id text NOT NULL, slug text NOT NULL,
           directory text NOT NULL, title text, version text NOT NULL, time_created integer NOT NULL,
           time_updated integer NOT NULL, lineage text NOT NULL);",
    )
    .unwrap();
    let err = write_session(&conn, &session("ses_a", None), Some(&seed())).unwrap_err();
    assert!(
        err.to_string().contains("requires column lineage"),
        "{err:#}"
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM project"),
        0,
        "nothing written"
    );
    // An older 2.x without the idle columns: a value for them is reported, not written.
    let conn = store();
    conn.execute_batch(
        "DROP TABLE session_message; DROP TABLE session_inbox; DROP TABLE session_pending;
         DROP TABLE instruction_entry; DROP TABLE instruction_state; DROP TABLE session_v2;
         CREATE TABLE session_v2 (id text PRIMARY KEY, project_id text NOT NULL, parent_id text,
           slug text NOT NULL, directory text NOT NULL, title text, version text NOT NULL,
           time_created integer NOT NULL, time_updated integer NOT NULL);
         CREATE TABLE session_message (id text PRIMARY KEY, session_id text NOT NULL, type text NOT NULL,
           seq integer NOT NULL, time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);",
    )
    .unwrap();
    let mut s = session("ses_a", None);
    s.row.insert("time_idle".into(), 130.into());
    let written = write_session(&conn, &s, Some(&seed())).unwrap();
    assert_eq!(
        written.dropped_columns,
        [
            "tokens_input",
            "tokens_output",
            "agent",
            "model",
            "time_idle"
        ]
    );
}

#[test]
fn parents_are_written_before_children() {
    let conn = store();
    let child = session("ses_child", Some("ses_parent"));
    let parent = session("ses_parent", None);
    let orphan = session("ses_orphan", Some("ses_gone"));
    let written = write_sessions(&conn, &[child, orphan, parent], Some(&seed())).unwrap();
    let order: Vec<_> = written.iter().map(|w| w.session_id.as_str()).collect();
    assert_eq!(order, ["ses_orphan", "ses_parent", "ses_child"]);
    let rowids: Vec<String> = conn
        .prepare("SELECT id FROM session_v2 ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(rowids, ["ses_orphan", "ses_parent", "ses_child"]);
    assert_eq!(written[0].missing_parent.as_deref(), Some("ses_gone"));
    assert_eq!(written[2].missing_parent, None);
}

#[test]
fn a_missing_project_without_a_seed_is_an_error() {
    let conn = store();
    let err = write_session(&conn, &session("ses_a", None), None).unwrap_err();
    assert!(
        err.to_string()
            .contains("project proj1 is not in the store"),
        "{err:#}"
    );
}

#[test]
fn seqs_must_increase() {
    let conn = store();
    let mut s = session("ses_a", None);
    s.messages[2].seq = 1;
    let err = write_session(&conn, &s, Some(&seed())).unwrap_err();
    assert!(err.to_string().contains("seqs must increase"), "{err:#}");
    assert_eq!(
        count(&conn, "SELECT count(*) FROM session_v2"),
        0,
        "checked before writing"
    );
}

#[test]
fn a_copy_in_the_store_is_replaced_unless_busy() {
    let conn = store();
    write_session(&conn, &session("ses_a", None), Some(&seed())).unwrap();
    conn.execute_batch(
        "INSERT INTO session_message VALUES ('msg_native', 'ses_a', 'idle', 7, 1, 1, '{\"time\":{\"created\":1},\"outcome\":\"succeeded\"}');
         UPDATE event_sequence SET seq = 7 WHERE aggregate_id = 'ses_a';",
    )
    .unwrap();
    let mut newer = session("ses_a", None);
    newer.row.insert("title".into(), "renamed".into());
    let written = write_session(&conn, &newer, Some(&seed())).unwrap();
    assert!(written.replaced && !written.project_created);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM session_message WHERE session_id = 'ses_a'"
        ),
        3
    );
    assert_eq!(
        read_row(&conn, "ses_a").unwrap().unwrap()["title"],
        "renamed"
    );
    assert_eq!(
        count(
            &conn,
            "SELECT seq FROM event_sequence WHERE aggregate_id = 'ses_a'"
        ),
        7
    );

    conn.execute_batch("UPDATE session_v2 SET time_compacting = 1 WHERE id = 'ses_a'")
        .unwrap();
    let err = write_session(&conn, &newer, Some(&seed())).unwrap_err();
    assert!(
        err.to_string()
            .contains("session ses_a is busy in OpenCode (it is being compacted)"),
        "{err:#}"
    );
}

#[test]
fn busy_reasons() {
    let conn = store();
    let mut s = session("ses_a", None);
    s.row.insert("version".into(), "2.0.25".into());
    write_session(&conn, &s, Some(&seed())).unwrap();
    let reason = || busy_reason(&conn, "ses_a").unwrap();
    // A native session whose last message is not `idle`: a turn is running.
    assert_eq!(
        reason().as_deref(),
        Some("its last turn has not ended: the last message is system, not idle")
    );
    conn.execute_batch(
        "INSERT INTO session_message VALUES ('msg_i', 'ses_a', 'idle', 3, 1, 1, '{}');
         INSERT INTO session_message VALUES ('msg_m', 'ses_a', 'model-switched', 4, 1, 1, '{}');",
    )
    .unwrap();
    assert_eq!(reason(), None, "switches after idle do not count");
    conn.execute_batch(
        "INSERT INTO session_inbox VALUES ('in1', 'ses_a', 'user', '{}', 'queue', 5, 1)",
    )
    .unwrap();
    assert_eq!(reason().as_deref(), Some("1 queued input in session_inbox"));
    conn.execute_batch(
        "DELETE FROM session_inbox;
         INSERT INTO session_pending VALUES ('p1', 'ses_a', 'compaction', '{}', NULL, 5, 1);",
    )
    .unwrap();
    assert_eq!(
        reason().as_deref(),
        Some("1 pending input in session_pending")
    );
    conn.execute_batch("DELETE FROM session_pending; UPDATE session_v2 SET time_suspended = 9")
        .unwrap();
    assert_eq!(
        reason().as_deref(),
        Some("OpenCode's service has claimed a running turn")
    );
    // Imported from 1.x and never continued: no idle row, not busy.
    write_session(&conn, &session("ses_b", None), Some(&seed())).unwrap();
    assert_eq!(busy_reason(&conn, "ses_b").unwrap(), None);
    assert_eq!(busy_reason(&conn, "ses_none").unwrap(), None);
}
