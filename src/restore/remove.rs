//! Removing sessions from OpenCode's store, for `prune`: the only deletions git-opencode
//! makes there, kept beside restore's writes (the one module that writes the store).
//!
//! Which rows belong to a session is read from the database's own schema, not from a list
//! of tables: every table with a foreign key to `session` or `session_v2` (by that column),
//! every other table with a `session_id` column, the event tables by `aggregate_id` (the
//! session ID, opencode-storage.md §2.3), then the `session`/`session_v2` rows themselves.
//! That covers 1.2's tables, 1.18's v2-engine rows, 2.x's and the frozen 1.x copies in an
//! upgraded 2.x file alike. Tables are emptied children first, so OpenCode's `ON DELETE
//! CASCADE` foreign keys find nothing left to cascade and every row is counted.
//!
//! The database changes in one `BEGIN IMMEDIATE` transaction that first checks that no
//! session changed since the plan (else nothing is deleted) and ends with a
//! `foreign_key_check` that must find no new violation. The legacy JSON tree has no
//! transactions: its files go one by one, the session file first, so an interrupted prune
//! leaves unreferenced message files, never a half session OpenCode would show.

use super::sqlite::{open_for_writing, sql_fail};
use crate::error::UserError;
use crate::store::open_read_only;
use anyhow::{bail, Context, Result};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// What removing some sessions deletes (or would).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// Rows by table.
    pub rows: BTreeMap<String, u64>,
    /// Bytes of the rows' values (what their columns hold, not the pages they fill).
    pub row_bytes: u64,
    /// Files of the legacy JSON tree (and `storage/session_diff`).
    pub files: u64,
    pub file_bytes: u64,
}

impl Removal {
    pub fn row_count(&self) -> u64 {
        self.rows.values().sum()
    }
}

/// The database's tables that hold rows of a session, and the column naming it; children
/// first.
fn session_tables(conn: &Connection, db: &Path) -> Result<Vec<(String, String)>> {
    let fail = |e| sql_fail(db, "read the schema of", e);
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(fail)?;
    let roots = ["session", "session_v2"];
    let mut keyed: Vec<(String, String)> = Vec::new();
    // Which tables each table refers to, for the order.
    let mut refers: HashMap<String, BTreeSet<String>> = HashMap::new();
    for table in &names {
        let fks: Vec<(String, String)> = conn
            .prepare("SELECT \"table\", \"from\" FROM pragma_foreign_key_list(?1)")
            .and_then(|mut s| {
                s.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(fail)?;
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .and_then(|mut s| s.query_map([table], |r| r.get(0))?.collect())
            .map_err(fail)?;
        refers.insert(table.clone(), fks.iter().map(|(t, _)| t.clone()).collect());
        let has = |c: &str| columns.iter().any(|col| col == c);
        let key = if roots.contains(&table.as_str()) {
            Some("id".to_owned())
        } else if let Some((_, from)) = fks.iter().find(|(t, _)| roots.contains(&t.as_str())) {
            Some(from.clone())
        } else if has("session_id") {
            Some("session_id".to_owned())
        } else if matches!(table.as_str(), "event" | "event_sequence") && has("aggregate_id") {
            Some("aggregate_id".to_owned())
        } else {
            None
        };
        if let Some(key) = key {
            keyed.push((table.clone(), key));
        }
    }
    // Children first: a table goes once no remaining table refers to it.
    let mut ordered = Vec::new();
    while !keyed.is_empty() {
        let next = keyed
            .iter()
            .position(|(t, _)| {
                !keyed
                    .iter()
                    .any(|(other, _)| other != t && refers[other].contains(t))
            })
            .unwrap_or(0);
        ordered.push(keyed.remove(next));
    }
    Ok(ordered)
}

/// Refuses a database this code cannot safely delete from: a 1.x schema from a newer
/// OpenCode (restore's own check, `schema.rs`). A 2.x file (`session_v2`) has no such check
/// yet; its session tables are read from its schema like any other's. Whether it is 2.x.
pub fn check_schema(db: &Path) -> Result<bool> {
    if super::schema::is_v2(db)? {
        return Ok(true);
    }
    super::schema::Schema::check(db)?;
    Ok(false)
}

/// The sum of the lengths of every column of `table`, as SQL.
fn row_bytes_sql(conn: &Connection, table: &str) -> rusqlite::Result<String> {
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info(?1)")?
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let terms: Vec<String> = columns
        .iter()
        .map(|c| format!("coalesce(length(CAST({} AS BLOB)), 0)", quote(c)))
        .collect();
    Ok(if terms.is_empty() {
        "0".to_owned()
    } else {
        terms.join(" + ")
    })
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Counts what removing `ids` would delete from the database `db`, read-only.
pub fn count_sqlite(db: &Path, ids: &BTreeSet<String>) -> Result<Removal> {
    let conn = open_read_only(db).map_err(|e| sql_fail(db, "open", e))?;
    count_in(&conn, db, ids)
}

fn count_in(conn: &Connection, db: &Path, ids: &BTreeSet<String>) -> Result<Removal> {
    let mut removal = Removal::default();
    for (table, key) in session_tables(conn, db)? {
        let sql = format!(
            "SELECT count(*), coalesce(sum({}), 0) FROM {} WHERE {} = ?1",
            row_bytes_sql(conn, &table).map_err(|e| sql_fail(db, "read", e))?,
            quote(&table),
            quote(&key)
        );
        let mut stmt = conn.prepare(&sql).map_err(|e| sql_fail(db, "read", e))?;
        for id in ids {
            let (rows, bytes): (i64, i64) = stmt
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| sql_fail(db, "read", e))?;
            let (rows, bytes) = (rows.unsigned_abs(), bytes.unsigned_abs());
            if rows > 0 {
                *removal.rows.entry(table.clone()).or_default() += rows;
                removal.row_bytes += bytes;
            }
        }
    }
    Ok(removal)
}

/// Deletes the sessions `expected` (ID → the `time_updated` the plan saw) and every row of
/// theirs from the database `db`, in one transaction. When any of them changed since (or is
/// gone), nothing is deleted.
pub fn delete_sqlite(db: &Path, expected: &BTreeMap<String, i64>) -> Result<Removal> {
    let mut conn = open_for_writing(db)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| sql_fail(db, "lock", e))?;
    let roots: Vec<&str> = ["session_v2", "session"]
        .into_iter()
        .filter(|t| has_table(&tx, t))
        .collect();
    for (id, updated) in expected {
        let now = roots.iter().find_map(|table| {
            tx.query_row(
                &format!("SELECT time_updated FROM {table} WHERE id = ?1"),
                [id],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .transpose()
        });
        let now = now.transpose().map_err(|e| sql_fail(db, "read", e))?;
        if now != Some(*updated) {
            bail!(UserError::new(format!(
                "session {id} changed while prune was running; nothing was deleted"
            ))
            .hint("run git opencode prune again (archive the session first if it should go)"));
        }
    }
    let violations_before = fk_violations(&tx, db)?;
    let ids: BTreeSet<String> = expected.keys().cloned().collect();
    let removal = count_in(&tx, db, &ids)?;
    for (table, key) in session_tables(&tx, db)? {
        let mut stmt = tx
            .prepare(&format!(
                "DELETE FROM {} WHERE {} = ?1",
                quote(&table),
                quote(&key)
            ))
            .map_err(|e| sql_fail(db, "write", e))?;
        for id in &ids {
            stmt.execute([id]).map_err(|e| sql_fail(db, "write", e))?;
        }
    }
    let violations_after = fk_violations(&tx, db)?;
    if let Some(v) = violations_after.difference(&violations_before).next() {
        bail!(
            "deleting the sessions would leave a row of table {} without its parent in {}; \
             nothing was deleted",
            v.0,
            v.1
        );
    }
    tx.commit().map_err(|e| sql_fail(db, "commit to", e))?;
    Ok(removal)
}

fn has_table(conn: &Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |_| Ok(()),
    )
    .is_ok()
}

/// `PRAGMA foreign_key_check`: (table, parent table, rowid) of every row whose parent is
/// missing.
fn fk_violations(conn: &Connection, db: &Path) -> Result<BTreeSet<(String, String, i64)>> {
    conn.prepare("PRAGMA foreign_key_check")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(2)?,
                    r.get::<_, Option<i64>>(1)?.unwrap_or(-1),
                ))
            })?
            .collect()
        })
        .map_err(|e| sql_fail(db, "check the foreign keys of", e))
}

/// The files of session `id` in the legacy JSON tree `storage` (also where a SQLite store
/// keeps `session_diff`), the session file first.
pub fn json_files(storage: &Path, id: &str) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let json = format!("{id}.json");
    for project in read_dir(&storage.join("session"))? {
        let file = project.join(&json);
        if file.is_file() {
            files.push(file);
        }
    }
    for message in read_dir(&storage.join("message").join(id))? {
        if let Some(message_id) = message.file_stem().and_then(|s| s.to_str()) {
            files.extend(read_dir(&storage.join("part").join(message_id))?);
        }
        files.push(message);
    }
    for dir in ["todo", "session_diff", "share", "session_share"] {
        let file = storage.join(dir).join(&json);
        if file.is_file() {
            files.push(file);
        }
    }
    Ok(files)
}

/// The entries of `dir`, sorted; none when it does not exist.
fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("failed to read {}", dir.display())),
    };
    let mut paths = entries
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("failed to read {}", dir.display()))?;
    paths.sort();
    Ok(paths)
}

/// Counts the JSON-tree files of `ids`.
pub fn count_json(storage: &Path, ids: &BTreeSet<String>) -> Result<Removal> {
    let mut removal = Removal::default();
    for id in ids {
        for file in json_files(storage, id)? {
            removal.files += 1;
            removal.file_bytes += std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        }
    }
    Ok(removal)
}

/// Deletes the JSON-tree files of `ids` one by one (each session's file first), and the
/// message and part directories they leave empty.
pub fn delete_json(storage: &Path, ids: &BTreeSet<String>) -> Result<Removal> {
    let mut removal = Removal::default();
    for id in ids {
        for file in json_files(storage, id)? {
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            std::fs::remove_file(&file)
                .with_context(|| format!("failed to delete {}", file.display()))?;
            removal.files += 1;
            removal.file_bytes += size;
            if let Some(dir) = file.parent() {
                if dir.starts_with(storage.join("message")) || dir.starts_with(storage.join("part"))
                {
                    // Only once empty; another file there is not ours to judge.
                    let _ = std::fs::remove_dir(dir);
                }
            }
        }
    }
    Ok(removal)
}

/// The size of a database with its `-wal` file, in bytes.
pub fn database_bytes(db: &Path) -> u64 {
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    size(db.to_path_buf()) + size(PathBuf::from(wal))
}

/// Moves the `-wal` file's pages into the database and truncates it, so file sizes say
/// what the database holds.
pub fn checkpoint(db: &Path) -> Result<()> {
    let conn = open_for_writing(db)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| sql_fail(db, "checkpoint", e))
}

/// Rebuilds the database `db` without its free pages (SQLite `VACUUM`), then checkpoints.
pub fn vacuum(db: &Path) -> Result<()> {
    let conn = open_for_writing(db)?;
    conn.execute_batch("VACUUM")
        .map_err(|e| sql_fail(db, "vacuum", e))?;
    drop(conn);
    checkpoint(db)
}

/// Bytes free for an unprivileged user on the file system holding `path`; `None` where
/// that cannot be told.
#[cfg(unix)]
pub fn free_bytes(path: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(path).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
pub fn free_bytes(_path: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 1.18.34 tables that hold a session's rows (opencode-storage.md §2.1), abridged.
    const SCHEMA: &str = "
        CREATE TABLE project (id text PRIMARY KEY);
        CREATE TABLE session (id text PRIMARY KEY, project_id text NOT NULL, time_updated integer NOT NULL,
          FOREIGN KEY (project_id) REFERENCES project(id) ON DELETE CASCADE);
        CREATE TABLE message (id text PRIMARY KEY, session_id text NOT NULL, data text NOT NULL,
          FOREIGN KEY (session_id) REFERENCES session(id) ON DELETE CASCADE);
        CREATE TABLE part (id text PRIMARY KEY, message_id text NOT NULL, session_id text NOT NULL, data text NOT NULL,
          FOREIGN KEY (message_id) REFERENCES message(id) ON DELETE CASCADE);
        CREATE TABLE todo (session_id text NOT NULL, position integer NOT NULL, content text,
          PRIMARY KEY (session_id, position), FOREIGN KEY (session_id) REFERENCES session(id) ON DELETE CASCADE);
        CREATE TABLE event_sequence (aggregate_id text PRIMARY KEY, seq integer NOT NULL);
        CREATE TABLE event (id text PRIMARY KEY, aggregate_id text NOT NULL, data text,
          FOREIGN KEY (aggregate_id) REFERENCES event_sequence(aggregate_id) ON DELETE CASCADE);
        CREATE TABLE permission (id text PRIMARY KEY, project_id text NOT NULL);
        INSERT INTO project VALUES ('p');
        INSERT INTO session VALUES ('ses_a', 'p', 5), ('ses_b', 'p', 6);
        INSERT INTO message VALUES ('m1', 'ses_a', 'abc'), ('m2', 'ses_b', 'xyz');
        INSERT INTO part VALUES ('p1', 'm1', 'ses_a', '0123456789'), ('p2', 'm2', 'ses_b', 'q');
        INSERT INTO todo VALUES ('ses_a', 0, 'do');
        INSERT INTO event_sequence VALUES ('ses_a', 1);
        INSERT INTO event VALUES ('e1', 'ses_a', 'd');
        INSERT INTO permission VALUES ('x', 'p');
    ";

    fn db() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opencode.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(SCHEMA)
            .unwrap();
        (dir, path)
    }

    #[test]
    fn tables_come_from_the_schema_children_first() {
        let (_dir, path) = db();
        let conn = Connection::open(&path).unwrap();
        let tables = session_tables(&conn, &path).unwrap();
        let names: Vec<&str> = tables.iter().map(|(t, _)| t.as_str()).collect();
        let at = |t: &str| names.iter().position(|n| *n == t).unwrap();
        assert!(at("part") < at("message") && at("message") < at("session"));
        assert!(at("event") < at("event_sequence"));
        assert!(!names.contains(&"permission") && !names.contains(&"project"));
        assert!(tables.contains(&("event".into(), "aggregate_id".into())));
        assert!(tables.contains(&("session".into(), "id".into())));
    }

    #[test]
    fn counts_then_deletes_only_the_sessions_rows() {
        let (_dir, path) = db();
        let ids = BTreeSet::from(["ses_a".to_owned()]);
        let counted = count_sqlite(&path, &ids).unwrap();
        assert_eq!(counted.row_count(), 6);
        assert_eq!(counted.rows["part"], 1);
        let deleted = delete_sqlite(&path, &BTreeMap::from([("ses_a".into(), 5)])).unwrap();
        assert_eq!(deleted, counted);
        let conn = Connection::open(&path).unwrap();
        let n = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(n("SELECT count(*) FROM session"), 1);
        assert_eq!(n("SELECT count(*) FROM part WHERE session_id = 'ses_b'"), 1);
        assert_eq!(n("SELECT count(*) FROM event"), 0);
        assert_eq!(n("SELECT count(*) FROM permission"), 1);
    }

    #[test]
    fn a_session_changed_since_the_plan_stops_the_whole_deletion() {
        let (_dir, path) = db();
        let expected = BTreeMap::from([("ses_a".into(), 5), ("ses_b".into(), 5)]);
        let err = delete_sqlite(&path, &expected).unwrap_err();
        assert_eq!(
            err.to_string(),
            "session ses_b changed while prune was running; nothing was deleted"
        );
        let conn = Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM message", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }
}
