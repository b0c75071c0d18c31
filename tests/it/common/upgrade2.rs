//! Turning a store written by the real OpenCode 1.18.34 into the file OpenCode 2.x makes of it
//! on its first start, for tests that need an upgraded 2.x store and no 2.x binary exists.
//!
//! Two steps, as 2.x does them (opencode-2x.md §1.4, §4.1):
//! 1. the schema migrations 2.x adds to 1.18.34's 38 (`loose_psylocke` and its successors):
//!    new tables from the verbatim 2.0.25 DDL, `session_message` dropped and recreated with its
//!    foreign key to `session_v2` (its 1.18 v2-engine rows are lost), `data_migration`,
//!    `session_context_epoch` and `session_input` dropped, columns added by `ALTER` so that
//!    they end up last, as in a real upgraded file;
//! 2. the one-shot V1→V2 import: the `global` project, the `kv` phases, `event` emptied, each
//!    legacy session by ID descending through the project's own transformation and writer,
//!    then `kv` completed. The legacy tables are left as they were.
//!
//! The session rows come from `git_opencode`'s export reader plus the message rows' times,
//! the same data the importer reads from `message`/`part`.

use git_opencode::restore::gen2_write;
use git_opencode::restore::upgrade::{convert, RowTimes, Warning};
use git_opencode::store::{Store, StoreLocation};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// The verbatim 2.0.25 schema (tests/fixtures).
pub const SCHEMA: &str = include_str!("../../fixtures/opencode-2.0.25-schema.sql");

/// The time the upgrade says it ran (fixed, so fixtures are reproducible).
pub const UPGRADED_AT: i64 = 1_800_000_000_000;

/// The 2.x migrations after 1.18.34's last, m38–m48 (§1.4).
const MIGRATIONS: [&str; 11] = [
    "20260804233008_loose_psylocke",
    "20260805200742_import_legacy_credentials",
    "20260808023530_workspace_domain",
    "20260811161259_execution_claim_attempts",
    "20260812181746_session_inbox",
    "20260812213948_worktree",
    "20260819222447_session_viewed_state",
    "20260823191254_nullable_workspace_binding",
    "20260910120000_clear_v1_session_permission",
    "20260923013825_project_time_active",
    "20261007190000_azure_cli_external_credential",
];

/// `session_v2` columns that later migrations add with `ALTER`: created without them, then
/// appended in migration order.
const LATER_SESSION_COLUMNS: [&str; 4] = [
    "resume_attempts",
    "time_idle",
    "time_viewed",
    "idle_outcome",
];

/// What the upgrade did.
#[derive(Debug, Default)]
pub struct UpgradeReport {
    /// Legacy sessions imported, in import order (ID descending).
    pub sessions: Vec<String>,
    /// `session_message` rows written.
    pub messages: usize,
    /// 1.18 v2-engine `session_message` rows the schema migration dropped.
    pub dropped_engine_rows: i64,
    /// `event` rows the import deleted.
    pub events_deleted: i64,
    /// Rows the transformation skipped.
    pub warnings: Vec<Warning>,
}

/// Upgrades the 1.18.34 database at `db` in place (pass a copy).
pub fn upgrade_to_2x(db: &Path) -> UpgradeReport {
    let data_dir = db.parent().unwrap().to_owned();
    // Read the legacy sessions first: the reader opens the file read-only.
    let store = Store::open(StoreLocation {
        data_dir,
        db: db.to_owned(),
    })
    .unwrap();
    let mut legacy: Vec<(String, String, serde_json::Value)> = store
        .sessions()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                s.project_id.clone(),
                store.export_document(s).unwrap(),
            )
        })
        .collect();
    assert!(store.unreadable().is_empty(), "{:?}", store.unreadable());
    drop(store);
    legacy.sort_by(|a, b| b.0.cmp(&a.0));

    let mut conn = Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    let mut report = UpgradeReport {
        dropped_engine_rows: count(&conn, "SELECT count(*) FROM session_message"),
        ..UpgradeReport::default()
    };
    migrate_schema(&mut conn);
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();

    // §4.1 step 2: the global project; step 3: first run, `event` emptied, phase "sessions".
    conn.execute(
        "INSERT OR IGNORE INTO project (id, worktree, time_created, time_updated, time_active, sandboxes) \
         VALUES ('global', '/', ?1, ?1, ?1, '[]')",
        [UPGRADED_AT],
    )
    .unwrap();
    let tx = conn.transaction().unwrap();
    report.events_deleted = tx.execute("DELETE FROM event", []).unwrap() as i64;
    tx.execute(
        "INSERT INTO kv (key, value, time_created, time_updated) VALUES ('migration.v1-v2', ?1, ?2, ?2)",
        params![r#"{"phase":"sessions"}"#, UPGRADED_AT],
    )
    .unwrap();
    tx.commit().unwrap();

    // Step 5: one transaction per session, by ID descending, the cursor saved first.
    for (id, project_id, doc) in &legacy {
        let tx = conn.transaction().unwrap();
        tx.execute(
            "UPDATE kv SET value = ?1, time_updated = ?2 WHERE key = 'migration.v1-v2'",
            params![
                format!(r#"{{"phase":"sessions","cursor":"{id}"}}"#),
                UPGRADED_AT
            ],
        )
        .unwrap();
        let times = row_times(&tx, id);
        let mut converted = convert(doc, &times).unwrap();
        let known = tx
            .query_row("SELECT 1 FROM project WHERE id = ?1", [project_id], |_| {
                Ok(())
            })
            .optional()
            .unwrap()
            .is_some();
        if !known {
            converted
                .session
                .row
                .insert("project_id".into(), "global".into());
        }
        let written = gen2_write::write_session(&tx, &converted.session, None).unwrap();
        // 2.x sets the watermark to exactly rows − 1 (its events are gone); the writer
        // never lowers one, so set it as 2.x does.
        tx.execute(
            "UPDATE event_sequence SET seq = ?2, owner_id = NULL WHERE aggregate_id = ?1",
            params![id, written.messages as i64 - 1],
        )
        .unwrap();
        tx.commit().unwrap();
        report.messages += written.messages;
        report.warnings.extend(converted.warnings);
        report.sessions.push(id.clone());
    }
    conn.execute(
        "UPDATE kv SET value = ?1, time_updated = ?2 WHERE key = 'migration.v1-v2'",
        params![r#"{"phase":"completed"}"#, UPGRADED_AT],
    )
    .unwrap();
    report
}

/// `message.time_created`/`time_updated` of a session's rows.
fn row_times(conn: &Connection, session: &str) -> RowTimes {
    let mut stmt = conn
        .prepare("SELECT id, time_created, time_updated FROM message WHERE session_id = ?1")
        .unwrap();
    stmt.query_map([session], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The 2.x schema migrations, in one transaction.
fn migrate_schema(conn: &mut Connection) {
    let tx = conn.transaction().unwrap();
    // m38 loose_psylocke.
    for table in [
        "kv",
        "instruction_blob",
        "instruction_entry",
        "instruction_state",
        "session_pending",
    ] {
        tx.execute_batch(&table_ddl(table)).unwrap();
    }
    let session_v2: String = table_ddl("session_v2")
        .lines()
        .filter(|l| {
            !LATER_SESSION_COLUMNS
                .iter()
                .any(|c| l.trim_start().starts_with(&format!("`{c}`")))
        })
        .collect::<Vec<_>>()
        .join("\n");
    tx.execute_batch(&session_v2).unwrap();
    tx.execute_batch("ALTER TABLE `event` ADD `created` integer DEFAULT 0 NOT NULL;")
        .unwrap();
    let new_message = table_ddl("session_message").replacen(
        "CREATE TABLE `session_message`",
        "CREATE TABLE `__new_session_message`",
        1,
    );
    tx.execute_batch(&new_message).unwrap();
    tx.execute_batch(
        "DROP TABLE `session_message`;
         ALTER TABLE `__new_session_message` RENAME TO `session_message`;
         DROP TABLE `data_migration`;
         DROP TABLE `session_context_epoch`;
         DROP TABLE `session_input`;",
    )
    .unwrap();
    for table in ["session_v2", "session_message", "session_pending"] {
        tx.execute_batch(&index_ddl(table)).unwrap();
    }
    // m40 workspace_domain: the 1.x workspace table is replaced, its rows lost.
    tx.execute_batch("DROP TABLE `workspace`;").unwrap();
    tx.execute_batch(&table_ddl("workspace")).unwrap();
    // m41 execution_claim_attempts.
    tx.execute_batch("ALTER TABLE `session_v2` ADD `resume_attempts` integer DEFAULT 0 NOT NULL;")
        .unwrap();
    // m42 session_inbox.
    tx.execute_batch(&table_ddl("session_inbox")).unwrap();
    tx.execute_batch(&index_ddl("session_inbox")).unwrap();
    // m43 worktree: project_directory rows copied, `git_worktree` renamed `git`.
    tx.execute_batch(&table_ddl("worktree")).unwrap();
    tx.execute_batch(
        "INSERT INTO `worktree` (project_id, directory, strategy, time_created)
         SELECT project_id, directory,
                CASE strategy WHEN 'git_worktree' THEN 'git' ELSE strategy END, time_created
         FROM `project_directory`;",
    )
    .unwrap();
    // m44 session_viewed_state.
    tx.execute_batch(
        "ALTER TABLE `session_v2` ADD `time_idle` integer;
         ALTER TABLE `session_v2` ADD `time_viewed` integer;
         ALTER TABLE `session_v2` ADD `idle_outcome` text;",
    )
    .unwrap();
    // m47 project_time_active. (m39, m45, m46, m48 touch credentials, the new workspace
    // table and the then empty session_v2 only.)
    tx.execute_batch("ALTER TABLE `project` ADD `time_active` integer DEFAULT 0 NOT NULL;")
        .unwrap();
    for id in MIGRATIONS {
        tx.execute(
            "INSERT INTO migration (id, time_completed) VALUES (?1, ?2)",
            params![id, UPGRADED_AT],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

/// The `CREATE TABLE` statement of `table` in the verbatim schema.
pub fn table_ddl(table: &str) -> String {
    let start = SCHEMA
        .find(&format!("CREATE TABLE `{table}` ("))
        .unwrap_or_else(|| panic!("no table {table} in the 2.0.25 schema"));
    let end = start + SCHEMA[start..].find(");").unwrap() + 2;
    SCHEMA[start..end].to_owned()
}

/// The `CREATE [UNIQUE] INDEX` statements on `table` in the verbatim schema.
pub fn index_ddl(table: &str) -> String {
    SCHEMA
        .lines()
        .filter(|l| {
            l.starts_with("CREATE")
                && l.contains(" INDEX ")
                && l.contains(&format!(" ON `{table}` "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}
