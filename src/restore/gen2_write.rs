//! Writing sessions into an OpenCode 2.x store by direct SQL (opencode-2x.md §7.3), the way
//! 2.x's own importer leaves them: a `project` row when missing, the `session_v2` row, its
//! `session_message` rows, and the `event_sequence` watermark at least their largest `seq`
//! (otherwise the next event 2.x publishes for the session collides with a row).
//!
//! Never touched: `kv` (deleting the import marker wipes `event`), `event`, `session_inbox`,
//! `session_pending`, `instruction_*`. Columns are matched by name: an upgraded file has
//! the columns later migrations added at the end, and an older 2.0.x lacks some.
//!
//! The caller owns the transaction (and the backup); nothing here commits.

use super::upgrade::{V2Message, V2Session};
use crate::error::UserError;
use crate::json;
use anyhow::{bail, Context, Result};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, ToSql};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The project row to create when a session's project is not in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSeed {
    pub id: String,
    /// The main checkout.
    pub worktree: String,
    /// `git`, or `None` for a directory project.
    pub vcs: Option<String>,
    /// Creation, update and activity time (ms).
    pub time: i64,
}

/// What writing one session did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub session_id: String,
    pub messages: usize,
    /// The session replaced a copy already in `session_v2`.
    pub replaced: bool,
    pub project_created: bool,
    /// `parent_id` names a session the store does not hold (2.x lists such a child as a
    /// root session).
    pub missing_parent: Option<String>,
    /// Columns with a value (other than NULL or 0) that this store's `session_v2` does not
    /// have (an older 2.x): not written.
    pub dropped_columns: Vec<String>,
}

/// Writes `sessions`, parents before their children, each as [`write_session`] does.
pub fn write_sessions(
    conn: &Connection,
    sessions: &[V2Session],
    project: Option<&ProjectSeed>,
) -> Result<Vec<Written>> {
    parents_first(sessions)
        .into_iter()
        .map(|s| write_session(conn, s, project))
        .collect()
}

/// `sessions` reordered so that a session comes after its parent when both are here.
fn parents_first(sessions: &[V2Session]) -> Vec<&V2Session> {
    let ids: HashSet<&str> = sessions.iter().map(V2Session::id).collect();
    let mut placed: HashSet<&str> = HashSet::new();
    let mut order = Vec::with_capacity(sessions.len());
    while order.len() < sessions.len() {
        let before = order.len();
        for s in sessions {
            let ready = s
                .parent_id()
                .is_none_or(|p| !ids.contains(p) || placed.contains(p) || p == s.id());
            if !placed.contains(s.id()) && ready {
                placed.insert(s.id());
                order.push(s);
            }
        }
        if order.len() == before {
            // A parent cycle: write the rest as they come.
            order.extend(sessions.iter().filter(|s| !placed.contains(s.id())));
            break;
        }
    }
    order
}

/// Writes one session into the 2.x store open on `conn` (inside the caller's transaction).
/// A copy already in `session_v2` is replaced (its row updated, its messages deleted and
/// written again), unless OpenCode is busy with it ([`busy_reason`]).
pub fn write_session(
    conn: &Connection,
    session: &V2Session,
    project: Option<&ProjectSeed>,
) -> Result<Written> {
    let id = session.id();
    check_seqs(session)?;
    let project_id = session.row.get("project_id").and_then(Value::as_str);
    let project_id = project_id.with_context(|| format!("session {id} has no project_id"))?;
    let exists: bool = conn
        .query_row("SELECT 1 FROM session_v2 WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        if let Some(reason) = busy_reason(conn, id)? {
            bail!(busy_error(id, &reason));
        }
    }
    let columns = table_columns(conn, "session_v2")?;
    let mut names = Vec::new();
    let mut values = Vec::new();
    let mut dropped_columns = Vec::new();
    for (name, value) in &session.row {
        if columns.iter().any(|c| c.name == *name) {
            names.push(name.as_str());
            values.push(Sql(value));
        } else if !value.is_null() && value.as_f64() != Some(0.0) {
            // 0 is what every numeric column 2.x added defaults to: nothing is lost.
            dropped_columns.push(name.clone());
        }
    }
    if let Some(c) = columns
        .iter()
        .find(|c| c.required() && session.row.get(&c.name).is_none_or(Value::is_null))
    {
        bail!(UserError::new(format!(
            "cannot write session {id}: the store's session_v2 requires column {}, which this \
             version of git-opencode does not know",
            c.name
        ))
        .hint("upgrade git-opencode"));
    }
    // Every check is done: from here on the store is written.
    let project_created = ensure_project(conn, project_id, project, id)?;
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let params: Vec<&dyn ToSql> = values.iter().map(|v| v as &dyn ToSql).collect();
    if exists {
        let set: Vec<String> = quoted.iter().map(|q| format!("{q} = ?")).collect();
        let sql = format!("UPDATE session_v2 SET {} WHERE id = ?", set.join(", "));
        let mut all = params.clone();
        all.push(&id);
        conn.execute(&sql, all.as_slice())
            .with_context(|| format!("failed to update session {id} in session_v2"))?;
        conn.execute("DELETE FROM session_message WHERE session_id = ?1", [id])
            .with_context(|| format!("failed to delete the messages of session {id}"))?;
    } else {
        let marks = vec!["?"; names.len()].join(", ");
        let sql = format!(
            "INSERT INTO session_v2 ({}) VALUES ({marks})",
            quoted.join(", ")
        );
        conn.execute(&sql, params.as_slice())
            .with_context(|| format!("failed to insert session {id} into session_v2"))?;
    }
    for m in &session.messages {
        insert_message(conn, id, m)?;
    }
    // The importer writes `rows - 1` (-1 for none); never lower what is there.
    let watermark = session.messages.last().map_or(-1, |m| m.seq);
    conn.execute(
        "INSERT INTO event_sequence (aggregate_id, seq, owner_id) VALUES (?1, ?2, NULL) \
         ON CONFLICT (aggregate_id) DO UPDATE SET seq = max(seq, excluded.seq)",
        params![id, watermark],
    )
    .with_context(|| format!("failed to update event_sequence of session {id}"))?;
    let missing_parent = match session.parent_id() {
        Some(parent) => conn
            .query_row("SELECT 1 FROM session_v2 WHERE id = ?1", [parent], |_| {
                Ok(())
            })
            .optional()?
            .is_none()
            .then(|| parent.to_owned()),
        None => None,
    };
    Ok(Written {
        session_id: id.to_owned(),
        messages: session.messages.len(),
        replaced: exists,
        project_created,
        missing_parent,
        dropped_columns,
    })
}

/// `seq` must be unique and increasing: 2.x orders by it and the index is unique.
fn check_seqs(session: &V2Session) -> Result<()> {
    for pair in session.messages.windows(2) {
        if pair[1].seq <= pair[0].seq {
            bail!(
                "session {}: message {} has seq {} after seq {}; seqs must increase",
                session.id(),
                pair[1].id,
                pair[1].seq,
                pair[0].seq
            );
        }
    }
    Ok(())
}

fn insert_message(conn: &Connection, session_id: &str, m: &V2Message) -> Result<()> {
    let data = json::compact(&Value::Object(m.data.clone()));
    conn.execute(
        "INSERT INTO session_message (id, session_id, type, seq, time_created, time_updated, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![m.id, session_id, m.kind, m.seq, m.time_created, m.time_updated, data],
    )
    .with_context(|| format!("failed to insert message {} of session {session_id}", m.id))?;
    Ok(())
}

/// Creates the session's project row from `seed` when the store lacks it; true if created.
fn ensure_project(
    conn: &Connection,
    project_id: &str,
    seed: Option<&ProjectSeed>,
    session_id: &str,
) -> Result<bool> {
    let exists = conn
        .query_row("SELECT 1 FROM project WHERE id = ?1", [project_id], |_| {
            Ok(())
        })
        .optional()?
        .is_some();
    if exists {
        return Ok(false);
    }
    let Some(seed) = seed.filter(|s| s.id == project_id) else {
        bail!("session {session_id}: project {project_id} is not in the store and no project row was given for it");
    };
    let has_active = table_columns(conn, "project")?
        .iter()
        .any(|c| c.name == "time_active");
    let (extra_col, extra_val) = if has_active {
        (", time_active", ", ?4")
    } else {
        ("", "")
    };
    let sql = format!(
        "INSERT INTO project (id, worktree, vcs, sandboxes, time_created, time_updated{extra_col}) \
         VALUES (?1, ?2, ?3, '[]', ?4, ?4{extra_val})"
    );
    conn.execute(&sql, params![seed.id, seed.worktree, seed.vcs, seed.time])
        .with_context(|| format!("failed to insert project {project_id}"))?;
    Ok(true)
}

/// The refusal to replace session `id` while OpenCode is busy with it for `reason`.
pub fn busy_error(id: &str, reason: &str) -> UserError {
    UserError::new(format!(
        "session {id} is busy in OpenCode ({reason}); nothing was written"
    ))
    .hint("let OpenCode finish the turn or stop it, then try again")
}

/// Why OpenCode is using session `id` right now, or `None` (opencode-2x.md §7.2): a
/// claimed turn (`time_suspended`), a compaction, queued input, or a turn that has not
/// ended (its last message, switches aside, is not `idle`). A session 2.x imported from 1.x
/// and never continued has no `idle` row at all and counts as ended.
pub fn busy_reason(conn: &Connection, id: &str) -> Result<Option<String>> {
    let row = conn
        .query_row(
            "SELECT time_suspended, time_compacting, version FROM session_v2 WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()
        .with_context(|| format!("failed to read session {id} from session_v2"))?;
    let Some((suspended, compacting, version)) = row else {
        return Ok(None);
    };
    if suspended.is_some() {
        return Ok(Some("OpenCode's service has claimed a running turn".into()));
    }
    if compacting.is_some() {
        return Ok(Some("it is being compacted".into()));
    }
    for (table, what) in [
        ("session_inbox", "queued input"),
        ("session_pending", "pending input"),
    ] {
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) FROM {table} WHERE session_id = ?1"),
            [id],
            |r| r.get(0),
        )?;
        if n > 0 {
            return Ok(Some(format!("{n} {what} in {table}")));
        }
    }
    let last: Option<String> = conn
        .query_row(
            "SELECT type FROM session_message WHERE session_id = ?1 \
             AND type NOT IN ('agent-switched', 'model-switched', 'location-switched') \
             ORDER BY seq DESC LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let ever_idle = conn
        .query_row(
            "SELECT 1 FROM session_message WHERE session_id = ?1 AND type = 'idle' LIMIT 1",
            [id],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    let migrated = version.starts_with("1.") || version.starts_with("0.");
    Ok(match last {
        Some(kind) if kind != "idle" && (ever_idle || !migrated) => Some(format!(
            "its last turn has not ended: the last message is {kind}, not idle"
        )),
        _ => None,
    })
}

/// A column of a table, from `PRAGMA table_info`.
struct Column {
    name: String,
    not_null: bool,
    has_default: bool,
    primary_key: bool,
}

impl Column {
    /// NOT NULL without a default: an insert must give it.
    fn required(&self) -> bool {
        self.not_null && !self.has_default && !self.primary_key
    }
}

fn table_columns(conn: &Connection, table: &str) -> Result<Vec<Column>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let rows = stmt.query_map([], |r| {
        Ok(Column {
            name: r.get(1)?,
            not_null: r.get::<_, i64>(3)? != 0,
            has_default: r.get::<_, Option<String>>(4)?.is_some(),
            primary_key: r.get::<_, i64>(5)? != 0,
        })
    })?;
    let columns = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    if columns.is_empty() {
        bail!("the store has no {table} table: it is not an OpenCode 2.x store");
    }
    Ok(columns)
}

/// A row value bound as SQLite stores it (JSON columns are already JSON text).
struct Sql<'a>(&'a Value);

impl ToSql for Sql<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Owned(match self.0 {
            Value::Null => SqlValue::Null,
            Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => SqlValue::Integer(i),
                None => SqlValue::Real(n.as_f64().unwrap_or_default()),
            },
            Value::String(s) => SqlValue::Text(s.clone()),
            other => SqlValue::Text(json::compact(other)),
        }))
    }
}

/// The `session_v2` row of `id` as [`V2Session::row`] holds it (by column name), for
/// callers and tests that read back what was written.
pub fn read_row(conn: &Connection, id: &str) -> Result<Option<Map<String, Value>>> {
    let mut stmt = conn.prepare("SELECT * FROM session_v2 WHERE id = ?1")?;
    let names: Vec<String> = stmt.column_names().map(String::from).collect();
    let mut rows = stmt.query([id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut map = Map::new();
    for (i, name) in names.iter().enumerate() {
        let value = match row.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(n) => n.into(),
            ValueRef::Real(f) => f.into(),
            ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
            ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned().into(),
        };
        map.insert(name.clone(), value);
    }
    Ok(Some(map))
}

#[cfg(test)]
#[path = "gen2_write_tests.rs"]
mod tests;
