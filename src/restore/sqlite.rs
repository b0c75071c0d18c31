//! Writing sessions into OpenCode's SQLite store (1.2.x and 1.18.x schemas).
//!
//! Columns are written by name and only where the table has them (1.2.x lacks many of
//! 1.18's); which schemas can be written at all is [`super::schema`]'s to decide.
//! Everything happens in one `BEGIN IMMEDIATE` transaction with `foreign_keys=ON` and a
//! 5 s busy timeout, after a consistent copy of the database made with SQLite's online
//! backup API; sessions are written into it one at a time ([`Writer`]).

use super::schema::Schema;
use super::{backup_path, now_ms, Action, Home, Item, Without};
use crate::error::UserError;
use crate::json;
use anyhow::{bail, Context, Result};
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What [`apply`] did.
pub struct Applied {
    pub backup: PathBuf,
    pub notes: Vec<String>,
}

/// The store open for writing: one `BEGIN IMMEDIATE` transaction, after a backup, that
/// sessions are written into one at a time. Dropped without [`Writer::commit`], it rolls
/// back and removes the backup (nothing was changed).
pub struct Writer<'a> {
    conn: Connection,
    schema: Schema,
    db: &'a Path,
    backup: PathBuf,
    /// A written session had a share record.
    shared: bool,
    open: bool,
}

impl<'a> Writer<'a> {
    /// Opens `db` (whose schema was checked as `schema`), backs it up, begins the
    /// transaction and adds this checkout's project rows when missing.
    pub fn begin(db: &'a Path, schema: &Schema, home: &Home) -> Result<Writer<'a>> {
        let conn = open_for_writing(db)?;
        // The schema could have changed since the read-only check (an OpenCode upgrade).
        let current = Schema::read(&conn, db)?;
        if current.table_count() != schema.table_count() {
            bail!(UserError::new(format!(
                "the schema of {} changed while restoring; nothing was restored",
                db.display()
            ))
            .hint("run git opencode restore again"));
        }
        let backup = back_up(&conn, db)?;
        let mut writer = Writer {
            conn,
            schema: current,
            db,
            backup,
            shared: false,
            open: false,
        };
        writer
            .conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| sql_fail(db, "lock", e))?;
        writer.open = true;
        ensure_project(&writer.conn, &writer.schema, home, now_ms())?;
        Ok(writer)
    }

    /// Writes `item` when it adds or updates; re-checks it against the store inside the
    /// transaction (a session that became newer locally meanwhile is kept).
    pub fn write(&mut self, item: &mut Item<'_>) -> Result<()> {
        if !matches!(item.action, Action::Add | Action::Update) {
            return Ok(());
        }
        let tx = &self.conn;
        let id = item.session.id.as_str();
        let local: Option<i64> = tx
            .query_row(
                "SELECT time_updated FROM session WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .with_context(|| format!("failed to read session {id}"))?;
        // Changed since the plan was made (OpenCode wrote it meanwhile): keep the store's.
        if local != item.local_updated {
            item.action = Action::KeepLocal;
            return Ok(());
        }
        write_session(tx, &self.schema, item).with_context(|| {
            format!(
                "failed to restore session {id} (from {})",
                item.session.origin
            )
        })?;
        self.shared |= item.session.extra.contains_key("share");
        Ok(())
    }

    /// Commits what was written.
    pub fn commit(mut self) -> Result<Applied> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| sql_fail(self.db, "commit to", e))?;
        self.open = false;
        let mut notes = Vec::new();
        if self.shared {
            notes.push(
                "share records were not restored (their secret is never archived); the share URL stays on the session"
                    .to_owned(),
            );
        }
        Ok(Applied {
            backup: std::mem::take(&mut self.backup),
            notes,
        })
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        // Not committed: nothing was changed, and the backup is not needed.
        if !self.backup.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.backup);
        }
    }
}

/// The project row (and this checkout's `project_directory` row) when missing.
fn ensure_project(tx: &Connection, schema: &Schema, home: &Home, now: i64) -> Result<()> {
    let exists: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM project WHERE id = ?1)",
            [&home.project_id],
            |r| r.get(0),
        )
        .context("failed to read the project table")?;
    if !exists {
        let worktree = if home.is_global() {
            "/".to_owned()
        } else {
            home.main_worktree.to_string_lossy().into_owned()
        };
        let row = vec![
            ("id", text(&home.project_id)),
            ("worktree", Sql::Text(worktree)),
            ("vcs", text("git")),
            ("time_created", Sql::Integer(now)),
            ("time_updated", Sql::Integer(now)),
            ("sandboxes", text("[]")),
        ];
        write_row(tx, schema, "project", row, Conflict::Ignore)
            .with_context(|| format!("failed to create project {}", home.project_id))?;
    }
    if !home.is_global() && schema.has("project_directory") {
        let strategy = if home.is_linked() {
            text("git_worktree")
        } else {
            Sql::Null
        };
        let row = vec![
            ("project_id", text(&home.project_id)),
            (
                "directory",
                Sql::Text(home.checkout.to_string_lossy().into_owned()),
            ),
            ("strategy", strategy),
            ("time_created", Sql::Integer(now)),
        ];
        write_row(tx, schema, "project_directory", row, Conflict::Ignore)
            .context("failed to record this checkout in project_directory")?;
    }
    Ok(())
}

/// Writes the rows of `item`; its parts are moved out and each dropped once it is bound
/// (a part can be hundreds of MB).
fn write_session(tx: &Connection, schema: &Schema, item: &mut Item<'_>) -> Result<()> {
    let id = item.session.id.as_str();
    if let Some(info) = &item.rows.info {
        write_row(
            tx,
            schema,
            "session",
            session_row(info),
            Conflict::Upsert {
                keys: &["id"],
                only_if: None,
            },
        )?;
    }
    let session_created = item.session.time_created();
    for message in &mut item.rows.messages {
        let minfo = &message.info;
        let mid = minfo["id"].as_str().expect("validated on load");
        let created = time(minfo, "created").unwrap_or(session_created);
        let updated = time(minfo, "completed").unwrap_or(created).max(created);
        let row = vec![
            ("id", text(mid)),
            ("session_id", text(id)),
            ("time_created", Sql::Integer(created)),
            ("time_updated", Sql::Integer(updated)),
            (
                "data",
                Sql::Text(json::compact(&Without(minfo, &["id", "sessionID"]))),
            ),
        ];
        if message.write_info {
            write_row(
                tx,
                schema,
                "message",
                row,
                Conflict::Upsert {
                    keys: &["id"],
                    only_if: Some("message.session_id = excluded.session_id"),
                },
            )?;
        }
        for part in std::mem::take(&mut message.parts) {
            let pid = part["id"].as_str().expect("validated on load");
            let start = part
                .get("time")
                .and_then(|t| t.get("start"))
                .and_then(as_i64);
            let end = part.get("time").and_then(|t| t.get("end")).and_then(as_i64);
            let pcreated = start.unwrap_or(created);
            let row = vec![
                ("id", text(pid)),
                ("message_id", text(mid)),
                ("session_id", text(id)),
                ("time_created", Sql::Integer(pcreated)),
                (
                    "time_updated",
                    Sql::Integer(end.unwrap_or(pcreated).max(pcreated)),
                ),
                (
                    "data",
                    Sql::Text(json::compact(&Without(
                        &part,
                        &["id", "sessionID", "messageID"],
                    ))),
                ),
            ];
            drop(part);
            write_row(
                tx,
                schema,
                "part",
                row,
                Conflict::Upsert {
                    keys: &["id"],
                    only_if: Some("part.message_id = excluded.message_id"),
                },
            )?;
        }
    }
    let extra = &item.session.extra;
    if let (Some(todos), true) = (&item.rows.todos, schema.has("todo")) {
        // A todo list is one snapshot: the archived (newer) list replaces the local one.
        tx.execute("DELETE FROM todo WHERE session_id = ?1", [id])?;
        let updated = item.session.time_updated();
        for (index, todo) in todos.iter().enumerate() {
            let field = |k: &str| todo.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let position = todo
                .get("position")
                .and_then(as_i64)
                .unwrap_or(index as i64);
            let row = vec![
                ("session_id", text(id)),
                ("content", Sql::Text(field("content"))),
                ("status", Sql::Text(field("status"))),
                ("priority", Sql::Text(field("priority"))),
                ("position", Sql::Integer(position)),
                (
                    "time_created",
                    Sql::Integer(todo.get("time_created").and_then(as_i64).unwrap_or(updated)),
                ),
                (
                    "time_updated",
                    Sql::Integer(todo.get("time_updated").and_then(as_i64).unwrap_or(updated)),
                ),
            ];
            write_row(tx, schema, "todo", row, Conflict::Ignore)?;
        }
    }
    for table in ["session_message", "session_input", "session_context_epoch"] {
        let (Some(rows), true) = (
            extra.get(table).and_then(Value::as_array),
            schema.has(table),
        ) else {
            continue;
        };
        for archived in rows {
            let Some(archived) = archived.as_object() else {
                continue;
            };
            let mut row: Vec<(&str, Sql)> = archived
                .iter()
                .filter(|(k, _)| k.as_str() != "session_id")
                .map(|(k, v)| (k.as_str(), json_to_sql(v)))
                .collect();
            row.push(("session_id", text(id)));
            write_row(tx, schema, table, row, Conflict::Ignore)?;
        }
    }
    advance_event_sequence(tx, schema, id, extra)
}

/// Moves the session's event counter (`event_sequence.seq`) past every sequence number its
/// restored v2 rows carry.
///
/// Each v2 row records the number of the event that produced it, and `session_message` and
/// `session_input` are unique per session and number. Events are not archived, so without
/// this OpenCode would number the next turn's events from 0 again, and its insert into
/// `session_message` would fail on a number a restored row holds: the restored session could
/// not be continued. An existing higher counter is kept.
fn advance_event_sequence(
    tx: &Connection,
    schema: &Schema,
    id: &str,
    extra: &Map<String, Value>,
) -> Result<()> {
    const SEQ_COLUMNS: [(&str, &str); 4] = [
        ("session_message", "seq"),
        ("session_input", "admitted_seq"),
        ("session_input", "promoted_seq"),
        ("session_context_epoch", "baseline_seq"),
    ];
    let last = SEQ_COLUMNS
        .iter()
        .flat_map(|(table, column)| {
            let rows = extra.get(*table).and_then(Value::as_array);
            rows.into_iter()
                .flatten()
                .filter_map(move |row| row.get(*column).and_then(as_i64))
        })
        .max();
    let Some(last) = last else {
        return Ok(());
    };
    if !(schema.has_column("event_sequence", "aggregate_id")
        && schema.has_column("event_sequence", "seq"))
    {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO event_sequence (aggregate_id, seq) VALUES (?1, ?2) \
         ON CONFLICT (aggregate_id) DO UPDATE SET seq = max(seq, excluded.seq)",
        rusqlite::params![id, last],
    )
    .context("failed to write to table event_sequence")?;
    Ok(())
}

/// The inverse of OpenCode's `Session.fromRow` (what `Session.toRow` writes).
fn session_row(info: &Map<String, Value>) -> Vec<(&'static str, Sql)> {
    let get = |k: &str| info.get(k).filter(|v| !v.is_null());
    let opt_text = |k: &str| get(k).and_then(Value::as_str).map_or(Sql::Null, text);
    let opt_json = |v: Option<&Value>| {
        v.filter(|v| !v.is_null())
            .map_or(Sql::Null, |v| Sql::Text(json::compact(v)))
    };
    let summary = get("summary");
    let summary_num = |k: &str| {
        summary
            .and_then(|s| s.get(k))
            .map_or(Sql::Null, json_to_sql)
    };
    let tokens = get("tokens");
    let token = |path: &[&str]| {
        let mut v = tokens;
        for k in path {
            v = v.and_then(|x| x.get(*k));
        }
        v.filter(|v| v.is_number())
            .map_or(Sql::Integer(0), json_to_sql)
    };
    let time_field = |k: &str| info.get("time").and_then(|t| t.get(k)).and_then(as_i64);
    let created = time_field("created").unwrap_or(0);
    vec![
        ("id", opt_text("id")),
        ("project_id", opt_text("projectID")),
        ("workspace_id", Sql::Null),
        ("parent_id", opt_text("parentID")),
        (
            "slug",
            Sql::Text(get("slug").and_then(Value::as_str).unwrap_or("").to_owned()),
        ),
        ("directory", opt_text("directory")),
        ("path", opt_text("path")),
        (
            "title",
            Sql::Text(
                get("title")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ),
        ),
        (
            "version",
            Sql::Text(
                get("version")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ),
        ),
        (
            "share_url",
            get("share")
                .and_then(|s| s.get("url"))
                .and_then(Value::as_str)
                .map_or(Sql::Null, text),
        ),
        ("summary_additions", summary_num("additions")),
        ("summary_deletions", summary_num("deletions")),
        ("summary_files", summary_num("files")),
        (
            "summary_diffs",
            opt_json(summary.and_then(|s| s.get("diffs"))),
        ),
        ("metadata", opt_json(get("metadata"))),
        (
            "cost",
            get("cost")
                .filter(|v| v.is_number())
                .map_or(Sql::Integer(0), json_to_sql),
        ),
        ("tokens_input", token(&["input"])),
        ("tokens_output", token(&["output"])),
        ("tokens_reasoning", token(&["reasoning"])),
        ("tokens_cache_read", token(&["cache", "read"])),
        ("tokens_cache_write", token(&["cache", "write"])),
        ("revert", opt_json(get("revert"))),
        ("permission", opt_json(get("permission"))),
        ("agent", opt_text("agent")),
        ("model", opt_json(get("model"))),
        ("time_created", Sql::Integer(created)),
        (
            "time_updated",
            Sql::Integer(time_field("updated").unwrap_or(created)),
        ),
        (
            "time_compacting",
            time_field("compacting").map_or(Sql::Null, Sql::Integer),
        ),
        (
            "time_archived",
            time_field("archived").map_or(Sql::Null, Sql::Integer),
        ),
    ]
}

enum Conflict<'a> {
    /// `ON CONFLICT (keys) DO UPDATE SET <every other column> [WHERE only_if]`.
    Upsert {
        keys: &'a [&'a str],
        only_if: Option<&'a str>,
    },
    /// `INSERT OR IGNORE`: an existing row (by any unique key) stays as it is.
    Ignore,
}

/// Inserts `row`, keeping only the columns `table` has. Each value is dropped once SQLite
/// holds its copy, before the row is written.
fn write_row(
    tx: &Connection,
    schema: &Schema,
    table: &str,
    row: Vec<(&str, Sql)>,
    conflict: Conflict<'_>,
) -> Result<()> {
    let cols: Vec<(&str, Sql)> = row
        .into_iter()
        .filter(|(name, _)| schema.has_column(table, name))
        .collect();
    if cols.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = cols.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    let mut sql = match conflict {
        Conflict::Ignore => "INSERT OR IGNORE INTO".to_owned(),
        Conflict::Upsert { .. } => "INSERT INTO".to_owned(),
    };
    sql.push_str(&format!(
        " \"{table}\" ({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    ));
    if let Conflict::Upsert { keys, only_if } = conflict {
        let updates: Vec<String> = cols
            .iter()
            .filter(|(n, _)| !keys.contains(n))
            .map(|(n, _)| format!("\"{n}\" = excluded.\"{n}\""))
            .collect();
        let keys: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
        if updates.is_empty() {
            sql.push_str(&format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", ")));
        } else {
            sql.push_str(&format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                keys.join(", "),
                updates.join(", ")
            ));
            if let Some(condition) = only_if {
                sql.push_str(&format!(" WHERE {condition}"));
            }
        }
    }
    let mut stmt = tx
        .prepare_cached(&sql)
        .with_context(|| format!("failed to prepare a write to {table}"))?;
    for (index, (_, value)) in cols.into_iter().enumerate() {
        stmt.raw_bind_parameter(index + 1, value)
            .with_context(|| format!("failed to write to table {table}"))?;
    }
    stmt.raw_execute()
        .with_context(|| format!("failed to write to table {table}"))?;
    Ok(())
}

/// A consistent copy of the whole database in one backup step (one read lock; writers in
/// WAL mode are not blocked).
/// `db` opened for a restore's writes: foreign keys on, a 5 s busy timeout.
pub(super) fn open_for_writing(db: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| {
        format!(
            "failed to open OpenCode database {} for writing",
            db.display()
        )
    })?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| sql_fail(db, "configure", e))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(|e| sql_fail(db, "configure", e))?;
    Ok(conn)
}

/// A failure to `what` the database, with a hint when another program holds it.
pub(super) fn sql_fail(db: &Path, what: &str, e: rusqlite::Error) -> anyhow::Error {
    let busy = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    let error = UserError::new(format!("failed to {what} {}", db.display())).because(e);
    if busy {
        error
            .hint(
                "another program holds the database; close running opencode sessions or try again",
            )
            .into()
    } else {
        error.into()
    }
}

/// A consistent copy of the database beside it (SQLite's online backup); its path.
pub(super) fn back_up(conn: &Connection, db: &Path) -> Result<PathBuf> {
    let backup = backup_path(db);
    if let Err(e) = backup_to(conn, &backup) {
        let _ = std::fs::remove_file(&backup);
        return Err(e.context(format!(
            "failed to back up {} to {}; nothing was restored",
            db.display(),
            backup.display()
        )));
    }
    Ok(backup)
}

pub(super) fn backup_to(conn: &Connection, path: &Path) -> Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let mut dst =
        Connection::open(path).with_context(|| format!("failed to create {}", path.display()))?;
    {
        let backup = Backup::new(conn, &mut dst)?;
        let mut tries = 0;
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    tries += 1;
                    if tries > 50 {
                        bail!("the database stayed busy");
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => {}
            }
        }
    }
    dst.close().map_err(|(_, e)| e)?;
    Ok(())
}

fn text(s: &str) -> Sql {
    Sql::Text(s.to_owned())
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

fn time(info: &Map<String, Value>, key: &str) -> Option<i64> {
    info.get("time").and_then(|t| t.get(key)).and_then(as_i64)
}

fn json_to_sql(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => n.as_f64().map_or(Sql::Null, Sql::Real),
        },
        Value::String(s) => Sql::Text(s.clone()),
        other => Sql::Text(json::compact(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    #[test]
    fn session_rows_invert_from_row() {
        let info = json!({"id":"ses_1","slug":"s","projectID":"p","directory":"/d","path":"","title":"T",
            "version":"1.18.34","summary":{"additions":1,"deletions":2,"files":3},"cost":0.5,
            "tokens":{"input":1,"output":2,"reasoning":0,"cache":{"read":4,"write":5}},
            "permission":[{"permission":"task","pattern":"*","action":"deny"}],
            "model":{"id":"m","providerID":"p"},"share":{"url":"https://x/s"},
            "time":{"created":10,"updated":20,"archived":30}});
        let row: HashMap<&str, Sql> = session_row(info.as_object().unwrap()).into_iter().collect();
        assert_eq!(row["tokens_cache_read"], Sql::Integer(4));
        assert_eq!(row["cost"], Sql::Real(0.5));
        assert_eq!(row["summary_files"], Sql::Integer(3));
        assert_eq!(row["summary_diffs"], Sql::Null);
        assert_eq!(row["share_url"], Sql::Text("https://x/s".into()));
        assert_eq!(
            row["model"],
            Sql::Text(r#"{"id":"m","providerID":"p"}"#.into())
        );
        assert_eq!(row["time_archived"], Sql::Integer(30));
        assert_eq!(row["time_compacting"], Sql::Null);
        assert_eq!(row["workspace_id"], Sql::Null);
    }
}
