//! The V1→V2 transformation and the 2.x writer on sessions the real OpenCode wrote: 1.18.34
//! (SQLite, with tools, a subagent, attachments, reasoning, a compaction, a subtask, and a
//! v2-engine session) and 1.1.65 (JSON files). Every row produced must decode as 2.x's
//! message union (`common::shapes2`); an upgraded store must look as 2.x leaves one.

use crate::common::fixtures::{legacy_store, parts_store, rich_store, Fixture};
use crate::common::shapes2::check_message;
use crate::common::upgrade2::upgrade_to_2x;
use crate::common::v2::v2_store;
use git_opencode::restore::upgrade::{convert, transform_session, RowTimes, V2Session};
use git_opencode::store::{Store, StoreLocation};
use rusqlite::Connection;
use serde_json::Value;
use sha1::{Digest, Sha1};
use std::collections::{BTreeMap, HashSet};

/// Every session of `fixture` as its export document, by ID.
fn documents(fixture: &dyn Fixture) -> BTreeMap<String, Value> {
    let data_dir = fixture.home().data_dir();
    let store = Store::open(StoreLocation {
        db: data_dir.join("opencode.db"),
        data_dir,
    })
    .unwrap();
    let docs = store
        .sessions()
        .unwrap()
        .iter()
        .map(|s| (s.id.clone(), store.export_document(s).unwrap()))
        .collect();
    assert!(store.unreadable().is_empty());
    docs
}

/// Every row decodes as §2's union, seqs run 0…n−1 and IDs are unique.
fn assert_valid(session: &V2Session) {
    let mut ids = HashSet::new();
    for (i, m) in session.messages.iter().enumerate() {
        assert_eq!(m.seq, i as i64, "{}: seq of {}", session.id(), m.id);
        assert!(ids.insert(&m.id), "{}: duplicate id {}", session.id(), m.id);
        assert!(m.id.starts_with("msg_"), "{}", m.id);
        assert_eq!(Some(m.time_created), m.data["time"]["created"].as_i64());
        if let Err(e) = check_message(&m.kind, &Value::Object(m.data.clone())) {
            panic!(
                "{}: {} row {} does not decode: {e}\n{:#?}",
                session.id(),
                m.kind,
                m.id,
                m.data
            );
        }
    }
}

fn convert_all(fixture: &dyn Fixture) -> BTreeMap<String, V2Session> {
    documents(fixture)
        .into_iter()
        .map(|(id, doc)| {
            let out = convert(&doc, &RowTimes::new()).unwrap();
            assert!(out.warnings.is_empty(), "{id}: {:?}", out.warnings);
            assert_valid(&out.session);
            (id, out.session)
        })
        .collect()
}

fn kinds(s: &V2Session) -> Vec<&str> {
    s.messages.iter().map(|m| m.kind.as_str()).collect()
}

fn tool_names(s: &V2Session) -> Vec<&str> {
    s.messages
        .iter()
        .filter(|m| m.kind == "assistant")
        .flat_map(|m| m.data["content"].as_array().unwrap())
        .filter(|c| c["type"] == "tool")
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[test]
fn real_1_18_sessions_transform_into_valid_2x_rows() {
    let rich = rich_store();
    let sessions = convert_all(rich);
    assert_eq!(sessions.len(), rich.sessions().len());

    // Tools: the notice names the renamed, re-argumented and removed tools it called.
    let tools = &sessions[&rich.tools];
    assert_eq!(
        tool_names(tools).into_iter().collect::<HashSet<_>>(),
        HashSet::from(["write", "edit", "bash", "todowrite"])
    );
    let notice = tools.messages.last().unwrap();
    assert_eq!(notice.kind, "system");
    assert_eq!(
        notice.data["text"],
        "The available tools have changed.\n\n\
         The `bash` tool is now `shell` and must be called by that name.\n\n\
         The following tools now take `path` instead of `filePath`: `edit`, `write`.\n\n\
         The `todowrite` tool is no longer available and must not be called."
    );
    // The truncated bash output is kept as the tool's text content.
    assert!(tools.messages.iter().any(|m| m
        .data
        .get("content")
        .is_some_and(|c| c.to_string().contains("...output truncated..."))));

    // The parent keeps its `task` call (the subagent ran as a child); the child is its own
    // session with its parent.
    assert!(tool_names(&sessions[&rich.task_parent]).contains(&"task"));
    assert_eq!(
        sessions[&rich.task_child].parent_id(),
        Some(rich.task_parent.as_str())
    );

    // Attachments: the inline PNG as a file (its base64 as stored), the file:// text file as
    // a placeholder, the synthetic "Called the Read tool" text as its own row.
    let attachment = &sessions[&rich.attachment];
    assert_eq!(kinds(attachment)[..2], ["user", "synthetic"]);
    let user = &attachment.messages[0].data;
    let files = user["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["mime"], "image/png");
    let doc = &documents(rich)[&rich.attachment];
    let png_url = doc["messages"][0]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["mime"] == "image/png")
        .unwrap()["url"]
        .as_str()
        .unwrap();
    assert_eq!(png_url.split_once(";base64,").unwrap().1, files[0]["data"]);
    let text = user["text"].as_str().unwrap();
    assert!(
        text.contains("[Attachment unavailable after migration: ")
            && text.contains("(text/plain)]"),
        "{text}"
    );

    // Usage is summed from the messages.
    let plain = &sessions[&rich.plain];
    let output: i64 = plain
        .messages
        .iter()
        .filter_map(|m| m.data.get("tokens"))
        .map(|t| t["output"].as_i64().unwrap())
        .sum();
    assert_eq!(plain.row["tokens_output"], output);
    assert!(output > 0);
}

#[test]
fn real_compaction_subtask_and_reasoning_transform_into_valid_2x_rows() {
    let parts = parts_store();
    let sessions = convert_all(parts);

    // The compaction marker and its summary are one completed `compaction` row.
    let compacted = &sessions[&parts.compacted];
    let compactions: Vec<_> = compacted
        .messages
        .iter()
        .filter(|m| m.kind == "compaction")
        .collect();
    assert_eq!(compactions.len(), 1);
    let c = &compactions[0].data;
    assert_eq!(c["status"], "completed");
    assert!(!c["summary"].as_str().unwrap().is_empty());
    let reasoning = compacted
        .messages
        .iter()
        .flat_map(|m| {
            m.data
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|c| c["type"] == "reasoning")
        .count();
    assert!(reasoning >= 2, "{reasoning}");

    // The subtask marker and the `task` call it started are dropped: the child holds them.
    let parent = &sessions[&parts.subtask_parent];
    assert!(!tool_names(parent).contains(&"task"), "{:?}", kinds(parent));
    let doc = &documents(parts)[&parts.subtask_parent];
    let has_subtask = doc["messages"].as_array().unwrap().iter().any(|m| {
        m["parts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["type"] == "subtask")
    });
    assert!(has_subtask, "the fixture has a subtask marker");
    assert!(!sessions[&parts.subtask_child].messages.is_empty());
}

#[test]
fn real_1_18_engine_rows_are_carried_into_valid_2x_rows() {
    // 2.x's import leaves this session empty (see the upgrade test below); a restore
    // carries its v2-engine rows over from the archive's extra record.
    let engine = v2_store();
    let data_dir = engine.home().data_dir();
    let store = Store::open(StoreLocation {
        db: data_dir.join("opencode.db"),
        data_dir,
    })
    .unwrap();
    let listed = store.sessions().unwrap();
    let session = listed.iter().find(|s| s.id == engine.session).unwrap();
    let doc = store.export_document(session).unwrap();
    let extra = store.extra(session).unwrap();
    let rows = extra["session_message"].as_array().unwrap().len();
    assert!(rows >= 4, "{rows}");
    let converted = transform_session(&doc, &extra).unwrap();
    assert_eq!(converted.messages.len(), rows);
    let kinds = kinds(&converted);
    assert_eq!(
        kinds.iter().filter(|k| **k == "user").count(),
        2,
        "{kinds:?}"
    );
    for m in &converted.messages {
        check_message(&m.kind, &Value::Object(m.data.clone()))
            .unwrap_or_else(|e| panic!("{} {}: {e}\n{:#?}", m.kind, m.id, m.data));
    }
    assert!(converted.messages.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(tool_names(&converted).contains(&"write"));
}

#[test]
fn real_1_1_json_sessions_transform_into_valid_2x_rows() {
    let legacy = legacy_store();
    let sessions = convert_all(legacy);
    assert_eq!(sessions.len(), legacy.sessions().len());
    let tools = &sessions[&legacy.tools];
    assert_eq!(tools.row["version"], "1.1.65");
    assert_eq!(tools.messages.last().unwrap().kind, "system");
}

/// Rows of a table, hashed in rowid order: equal before and after means untouched.
fn table_hash(conn: &Connection, table: &str) -> (i64, String) {
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
        .unwrap();
    let n = stmt.column_count();
    let mut hasher = Sha1::new();
    let mut count = 0;
    let mut rows = stmt.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        count += 1;
        for i in 0..n {
            hasher.update(format!("{:?}\u{0}", row.get_ref(i).unwrap()).as_bytes());
        }
    }
    (count, format!("{:x}", hasher.finalize()))
}

const LEGACY_TABLES: [&str; 7] = [
    "session",
    "message",
    "part",
    "todo",
    "session_share",
    "project_directory",
    "permission",
];

fn strings(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn int(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn upgraded_real_1_18_stores_hold_every_session_as_2x_would() {
    let rich = rich_store();
    let parts = parts_store();
    let engine = v2_store();
    for fixture in [rich as &dyn Fixture, parts, engine] {
        let env = fixture.copy_env();
        let db = env.opencode.as_ref().unwrap().db_path();
        let before = {
            let conn = Connection::open(&db).unwrap();
            LEGACY_TABLES.map(|t| table_hash(&conn, t))
        };
        let report = upgrade_to_2x(&db);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        let conn = Connection::open(&db).unwrap();

        // Legacy tables untouched; every legacy session imported, in ID-descending order.
        assert_eq!(LEGACY_TABLES.map(|t| table_hash(&conn, t)), before);
        let legacy = strings(&conn, "SELECT id FROM session ORDER BY id DESC");
        assert_eq!(report.sessions, legacy);
        assert_eq!(
            strings(&conn, "SELECT id FROM session_v2 ORDER BY id DESC"),
            legacy
        );

        // Columns copied as-is from the legacy row (compared by name: the upgraded
        // session_v2 has its later columns at the end).
        let copied = "id, project_id, workspace_id, parent_id, slug, directory, path, title, version, \
                      share_url, summary_additions, summary_deletions, summary_files, summary_diffs, \
                      metadata, time_created, time_updated, time_archived";
        assert_eq!(
            table_hash_of(&conn, &format!("SELECT {copied} FROM session ORDER BY id")),
            table_hash_of(
                &conn,
                &format!("SELECT {copied} FROM session_v2 ORDER BY id")
            )
        );
        assert_eq!(int(&conn, "SELECT count(*) FROM session_v2 WHERE permission IS NOT NULL OR revert IS NOT NULL"), 0);
        let last_columns = strings(
            &conn,
            "SELECT name FROM pragma_table_info('session_v2') ORDER BY cid DESC LIMIT 4",
        );
        assert_eq!(
            last_columns,
            [
                "idle_outcome",
                "time_viewed",
                "time_idle",
                "resume_attempts"
            ]
        );

        // Messages: valid rows, contiguous seq from 0, the watermark at the last seq.
        let mut stmt = conn
            .prepare(
                "SELECT session_id, type, seq, data FROM session_message ORDER BY session_id, seq",
            )
            .unwrap();
        let rows: Vec<(String, String, i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), report.messages);
        for (session, kind, _, data) in &rows {
            let data: Value = serde_json::from_str(data).unwrap();
            check_message(kind, &data).unwrap_or_else(|e| panic!("{session} {kind}: {e}"));
        }
        for id in &legacy {
            let seqs: Vec<i64> = rows.iter().filter(|r| &r.0 == id).map(|r| r.2).collect();
            assert_eq!(seqs, (0..seqs.len() as i64).collect::<Vec<_>>(), "{id}");
            let watermark = int(
                &conn,
                &format!("SELECT seq FROM event_sequence WHERE aggregate_id = '{id}'"),
            );
            assert_eq!(watermark, seqs.len() as i64 - 1, "{id}");
        }
        assert_eq!(
            int(&conn, "SELECT count(*) FROM session_v2 s WHERE (SELECT max(seq) FROM session_message WHERE session_id = s.id) > \
                        (SELECT seq FROM event_sequence WHERE aggregate_id = s.id)"),
            0
        );

        // The import's bookkeeping, and a consistent file.
        assert_eq!(int(&conn, "SELECT count(*) FROM event"), 0);
        assert_eq!(
            strings(&conn, "SELECT value FROM kv WHERE key = 'migration.v1-v2'"),
            [r#"{"phase":"completed"}"#]
        );
        assert_eq!(
            int(&conn, "SELECT count(*) FROM project WHERE id = 'global'"),
            1
        );
        assert_eq!(
            int(&conn, "SELECT count(*) FROM pragma_foreign_key_check"),
            0
        );
        assert_eq!(strings(&conn, "PRAGMA integrity_check"), ["ok"]);
        for gone in ["session_input", "session_context_epoch", "data_migration"] {
            assert_eq!(
                int(
                    &conn,
                    &format!("SELECT count(*) FROM sqlite_master WHERE name = '{gone}'")
                ),
                0
            );
        }
    }
    // The v2-engine session of 1.18.34 keeps its session row but loses its messages to the
    // upgrade (opencode-2x.md §2.2): its rows lived only in the dropped session_message.
    let env = engine.copy_env();
    let db = env.opencode.as_ref().unwrap().db_path();
    let report = upgrade_to_2x(&db);
    assert!(report.dropped_engine_rows > 0);
    let conn = Connection::open(&db).unwrap();
    let sql = format!(
        "SELECT count(*) FROM session_message WHERE session_id = '{}'",
        engine.session
    );
    assert_eq!(int(&conn, &sql), 0);
}

fn table_hash_of(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    let mut hasher = Sha1::new();
    let mut rows = stmt.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        for i in 0..n {
            hasher.update(format!("{:?}\u{0}", row.get_ref(i).unwrap()).as_bytes());
        }
    }
    format!("{:x}", hasher.finalize())
}

#[test]
fn shape_checker_accepts_captured_2x_rows_and_rejects_bad_ones() {
    // Real rows (opencode-2x.md §2.1: 2.0.12 and 2.0.26 captures, trimmed there as here).
    let captured = [
        (
            "user",
            r#"{"time":{"created":1791500491631},"text":"\"Please USE A TOOL to print hi\"","files":[]}"#,
        ),
        (
            "assistant",
            r#"{"time":{"created":1791500491651,"streamed":1791500491865,"completed":1791500491905},"agent":"build",
          "model":{"id":"m1","providerID":"fake"},
          "content":[{"type":"tool","id":"call_00491653","name":"shell","executed":false,
            "state":{"status":"completed","input":{"command":"echo hi > note.txt && echo hi","description":"Print hi"},
                     "content":[{"type":"text","text":"hi\n"}],"metadata":{"status":"completed","truncated":false,"exit":0}},
            "time":{"created":1791500491860,"ran":1791500491864,"completed":1791500491903}}],
          "finish":"tool-calls","rawFinish":"tool_calls","cost":0.00357,
          "tokens":{"input":1000,"output":34,"reasoning":0,"cache":{"read":200,"write":0}}}"#,
        ),
        (
            "assistant",
            r#"{"time":{"created":1791319628697,"streamed":1791319649879,"completed":1791319649880},"agent":"build",
          "model":{"id":"z-ai/glm-5.3-flash","providerID":"openrouter","variant":"default"},
          "content":[{"type":"reasoning","text":"The file says \"hi\".","state":{"reasoningField":"reasoning"},
                      "time":{"created":1791319647929,"completed":1791319649876}},
                     {"type":"text","text":"Done."}],
          "finish":"stop","rawFinish":"stop","cost":0.00032975,"tokens":{"input":155,"output":28,"reasoning":9,"cache":{"read":9600,"write":0}}}"#,
        ),
        (
            "assistant",
            r#"{"time":{"created":1791541653521,"completed":1791541653886},"agent":"build","model":{"id":"exo-free","providerID":"opencode"},
          "content":[],"finish":"error","error":{"type":"provider.invalid-request","message":"Model exo-free has been deprecated.","status":410}}"#,
        ),
        (
            "idle",
            r#"{"time":{"created":1791319649882},"outcome":"succeeded"}"#,
        ),
        (
            "synthetic",
            r#"{"time":{"created":1791500493820},"text":"<system-reminder>\nYou are in Plan mode.\n</system-reminder>"}"#,
        ),
        (
            "model-switched",
            r#"{"time":{"created":1791556750236},"model":{"id":"big-pickle","providerID":"opencode"},"previous":{"id":"exo-free","providerID":"opencode","variant":"default"}}"#,
        ),
        (
            "system",
            r#"{"text":"The available tools have changed.\n\nThe `bash` tool is now `shell` and must be called by that name.","time":{"created":1791541806661}}"#,
        ),
        (
            "compaction",
            r#"{"status":"completed","reason":"auto","summary":"We fixed the build.","recent":"[User]: …","time":{"created":1800000006000}}"#,
        ),
        (
            "shell",
            r#"{"shellID":"sh_1","command":"git status","status":"exited","exit":0,"output":{"output":"clean","cursor":5,"size":5,"truncated":false},"time":{"created":20,"completed":30}}"#,
        ),
    ];
    for (kind, data) in captured {
        let data: Value = serde_json::from_str(data).unwrap();
        check_message(kind, &data).unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    let bad = [
        (
            "user",
            r#"{"time":{"created":1},"text":"x","id":"msg_1"}"#,
            "data holds `id`",
        ),
        (
            "user",
            r#"{"time":{"created":1}}"#,
            "`text` is not a string",
        ),
        (
            "assistant",
            r#"{"time":{"created":1},"agent":"build","model":{"id":"m","providerID":"p"},
          "content":[{"type":"tool","id":"c","name":"shell","state":{"status":"completed","input":{},"content":[]},"time":{"created":1}}]}"#,
            "at least one content item",
        ),
        (
            "assistant",
            r#"{"time":{"created":1},"agent":"build","model":{"id":"m","providerID":"p"},
          "content":[{"type":"text","id":"text-0","text":"1.18 engine item"}]}"#,
            "unexpected key `id`",
        ),
        (
            "assistant",
            r#"{"time":{"created":1},"model":{"id":"m","providerID":"p"},"content":[]}"#,
            "`agent`",
        ),
        (
            "compaction",
            r#"{"status":"completed","reason":"auto","summary":"s","time":{"created":1}}"#,
            "`recent`",
        ),
        (
            "idle",
            r#"{"time":{"created":1},"outcome":"done"}"#,
            "outcome",
        ),
        ("note", r#"{"time":{"created":1}}"#, "unknown message type"),
    ];
    for (kind, data, why) in bad {
        let data: Value = serde_json::from_str(data).unwrap();
        let err = check_message(kind, &data).expect_err(why);
        assert!(err.contains(why), "{kind}: {err} (expected {why})");
    }
}
