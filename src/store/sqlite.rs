//! The SQLite store (`opencode.db`, OpenCode ≥ 1.2), read-only inside one read transaction.
//!
//! Columns are always selected by name: upgraded databases have a different column order
//! than fresh ones, 1.2.x lacks columns that 1.18 has, and newer versions may add more.

use super::columns::{column_names, Columns};
use super::export_rows::ExportRows;
use super::{ChangeStamp, Generation, Project, Session, SessionSummary, StoreKind, Unreadable};
use crate::error::UserError;
use anyhow::{bail, Context, Result};
use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Parts whose data is larger than this (bytes) are parsed as they are read from the table.
const LARGE_PART: i64 = 1 << 20;

/// Columns without which a table cannot be read (or written back) at all.
pub const REQUIRED_COLUMNS: &[(&str, &[&str])] = &[
    (
        "session",
        &[
            "id",
            "project_id",
            "slug",
            "directory",
            "title",
            "version",
            "time_created",
            "time_updated",
        ],
    ),
    ("message", &["id", "session_id", "time_created", "data"]),
    ("part", &["id", "message_id", "session_id", "data"]),
    ("project", &["id", "worktree"]),
];

pub struct SqliteStore {
    path: PathBuf,
    conn: Connection,
    columns: HashMap<String, HashSet<String>>,
    /// Which tables have no row at all in the read snapshot, as found so far: most stores
    /// have none in several of the tables each session's extra record looks in.
    empty: RefCell<HashMap<String, bool>>,
    /// The column names of `session` rows, read once for all of them.
    session_names: RefCell<Option<Arc<[String]>>>,
    /// The same for `session_v2` rows (see [`super::gen2::Gen2`]).
    v2_session_names: RefCell<Option<Arc<[String]>>>,
}

impl SqliteStore {
    /// Ends the read transaction [`SqliteStore::open`] started; later queries each take
    /// their own snapshot. A writer on the same file needs this in rollback-journal mode,
    /// where an open read transaction keeps the lock its commit must take.
    pub fn end_snapshot(&self) -> Result<()> {
        // Later queries see later snapshots, where an empty table may have rows.
        self.empty.borrow_mut().clear();
        if !self.conn.is_autocommit() {
            self.conn
                .execute_batch("COMMIT")
                .map_err(|e| store_error(&self.path, e))?;
        }
        Ok(())
    }

    /// Opens `path` read-only and starts the read transaction every later query shares.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let fail = |e: rusqlite::Error| store_error(path, e);
        let conn = open_read_only(path).map_err(fail)?;
        // One snapshot for every query below; it starts at the first SELECT.
        conn.execute_batch("BEGIN DEFERRED").map_err(fail)?;
        let mut columns: HashMap<String, HashSet<String>> = HashMap::new();
        {
            let mut stmt = conn
                .prepare(
                    "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                     WHERE m.type = 'table'",
                )
                .map_err(fail)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(fail)?;
            for row in rows {
                let (table, column) = row.map_err(fail)?;
                columns.entry(table).or_default().insert(column);
            }
        }
        // The generation is told by the schema, never by a version: 2.x has `session_v2`
        // (an upgraded file keeps the 1.x `session` beside it), 1.x only `session`.
        let (v1, v2) = (
            columns.contains_key("session"),
            columns.contains_key("session_v2"),
        );
        if !v1 && !v2 {
            bail!(UserError::new(format!(
                "{} is not an OpenCode database (it has no session table)",
                path.display()
            ))
            .hint("point --store at OpenCode's data directory or opencode.db"));
        }
        if v2 {
            super::gen2::check_schema(path, &columns)?;
        }
        let legacy_tables: &[(&str, &[&str])] = if v1 { REQUIRED_COLUMNS } else { &[] };
        for (table, needed) in legacy_tables {
            let Some(have) = columns.get(*table) else {
                bail!("OpenCode database {} has no {table} table", path.display());
            };
            if let Some(missing) = needed.iter().find(|c| !have.contains(**c)) {
                bail!(UserError::new(format!(
                    "OpenCode database {} has an unknown schema: table {table} has no column {missing}",
                    path.display()
                ))
                .hint("this store was written by an OpenCode version git-opencode does not know; upgrade git-opencode"));
            }
        }
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn,
            columns,
            empty: RefCell::default(),
            session_names: RefCell::default(),
            v2_session_names: RefCell::default(),
        })
    }

    /// The connection, in its read transaction, for the other readers of this store
    /// (`scan.rs`).
    pub(super) fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn has_table(&self, table: &str) -> bool {
        self.columns.contains_key(table)
    }

    /// Whether `table` (which exists) has no row; remembered while the read snapshot lasts.
    fn is_empty(&self, table: &str) -> Result<bool> {
        if let Some(&empty) = self.empty.borrow().get(table) {
            return Ok(empty);
        }
        let empty = !self
            .conn
            .query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM \"{table}\")"),
                [],
                |r| r.get::<_, bool>(0),
            )
            .with_context(|| self.context(table))?;
        if !self.conn.is_autocommit() {
            self.empty.borrow_mut().insert(table.to_owned(), empty);
        }
        Ok(empty)
    }

    /// Whether OpenCode 2.x has opened this file (fresh or upgraded): from then on
    /// `session_message` belongs to `session_v2`, and the 1.x tables are frozen.
    pub fn is_v2(&self) -> bool {
        self.has_table("session_v2")
    }

    /// The 2.x tables of this file (see [`SqliteStore::is_v2`]).
    pub fn gen2(&self) -> super::gen2::Gen2<'_> {
        super::gen2::Gen2 {
            conn: &self.conn,
            path: &self.path,
            session_names: &self.v2_session_names,
        }
    }

    /// `session_message` rows of a 1.x session: 1.18's v2 engine writes them; in a file
    /// 2.x has opened the table is 2.x's own (its 1.18 rows were dropped by the upgrade).
    fn has_v1_session_messages(&self) -> bool {
        self.has_table("session_message") && !self.is_v2()
    }

    fn context(&self, what: &str) -> String {
        format!("failed to read {what} from {}", self.path.display())
    }

    pub fn projects(&self) -> Result<Vec<Project>> {
        let mut directories: HashMap<String, Vec<String>> = HashMap::new();
        // `project_directory` (1.15–1.18) and 2.x's `worktree`: every checkout seen.
        for table in ["project_directory", "worktree"] {
            if !self.has_table(table) {
                continue;
            }
            let mut stmt = self.conn.prepare(&format!(
                "SELECT project_id, directory FROM \"{table}\" ORDER BY project_id, directory"
            ))?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (project, dir) = row.with_context(|| self.context("project directories"))?;
                let dirs = directories.entry(project).or_default();
                if !dirs.contains(&dir) {
                    dirs.push(dir);
                }
            }
        }
        let sandboxes = if self.columns["project"].contains("sandboxes") {
            "sandboxes"
        } else {
            "NULL"
        };
        let vcs = if self.columns["project"].contains("vcs") {
            "vcs"
        } else {
            "NULL"
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, worktree, {sandboxes}, {vcs} FROM project ORDER BY id"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        let mut projects = Vec::new();
        for row in rows {
            let (id, worktree, sandboxes, vcs) = row.with_context(|| self.context("projects"))?;
            let sandboxes = match sandboxes {
                // A damaged list (of another project, usually) must not stop every command:
                // the directories it still names whole are read, and only they decide.
                Some(text) => crate::json::parse_as::<Vec<String>>(&text)
                    .unwrap_or_else(|_| quoted_strings(&text)),
                None => Vec::new(),
            };
            projects.push(Project {
                directories: directories.remove(&id).unwrap_or_default(),
                id,
                worktree,
                sandboxes,
                vcs,
            });
        }
        Ok(projects)
    }

    /// The readable sessions, and the rows that cannot be read.
    pub fn sessions(&self) -> Result<(Vec<Session>, Vec<Unreadable>)> {
        if !self.has_table("session") {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut stmt = self.conn.prepare("SELECT * FROM session ORDER BY id")?;
        let names: Arc<[String]> = stmt.column_names().map(String::from).collect();
        let mut rows = stmt.query([])?;
        let mut sessions = Vec::new();
        let mut unreadable = Vec::new();
        while let Some(row) = rows.next().with_context(|| self.context("sessions"))? {
            let cols = SessionColumns::read(row, &names)?;
            let summary = match cols.summary() {
                Ok(summary) => summary,
                Err(e) => {
                    unreadable.push(Unreadable {
                        session_id: cols.text("id"),
                        project_id: cols.text("project_id"),
                        reason: format!(
                            "malformed session row in {}: {}",
                            self.path.display(),
                            crate::error::message(&e)
                        ),
                    });
                    continue;
                }
            };
            sessions.push(Session {
                id: cols.text("id"),
                project_id: cols.text("project_id"),
                parent_id: cols.opt_text("parent_id"),
                title: cols.text("title"),
                directory: cols.text("directory"),
                time_created: cols.int("time_created"),
                time_updated: cols.int("time_updated"),
                kind: StoreKind::Sqlite,
                generation: Generation::V1,
                divergent: false,
                summary,
            });
        }
        Ok((sessions, unreadable))
    }

    /// The `info` object of one session, as `opencode export` prints it.
    pub fn session_info(&self, session_id: &str) -> Result<Map<String, Value>> {
        self.session_columns(session_id)?
            .info()
            .with_context(|| format!("malformed session {session_id} in {}", self.path.display()))
    }

    /// The `session` row of one session, not yet made into its `info`.
    pub(super) fn session_columns(&self, session_id: &str) -> Result<SessionColumns> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM session WHERE id = ?1")?;
        let names = column_names(&stmt, &mut self.session_names.borrow_mut());
        let mut rows = stmt.query([session_id])?;
        let row = rows
            .next()
            .with_context(|| self.context("sessions"))?
            .with_context(|| {
                format!(
                    "session {session_id} is no longer in {}",
                    self.path.display()
                )
            })?;
        SessionColumns::read(row, &names)
    }

    /// See [`super::Store::change_stamps`]; one aggregate query over the message index, and
    /// one over `session_message` for v2 sessions: OpenCode 1.18 does not touch
    /// `session.time_updated` when a v2 turn adds messages, so without their count and newest
    /// update a v2 session would look unchanged after its first archive.
    pub fn change_stamps(&self) -> Result<HashMap<String, ChangeStamp>> {
        if !self.has_table("session") {
            return Ok(HashMap::new());
        }
        let mut stamps = HashMap::new();
        for (id, updated, count, newest) in message_stamps(&self.conn, "session", "message")
            .with_context(|| self.context("sessions"))?
        {
            let stamp = ChangeStamp {
                text: format!("{updated}/{count}/{newest}"),
                changed: updated.max(newest),
            };
            stamps.insert(id, stamp);
        }
        if self.has_v1_session_messages() {
            // Only sessions with v2 rows get the suffix: v1 stamps stay as they were.
            let mut stmt = self.conn.prepare(
                "SELECT session_id, count(*), max(time_updated) FROM session_message GROUP BY session_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })?;
            for row in rows {
                let (id, count, newest) = row.with_context(|| self.context("v2 messages"))?;
                if let Some(stamp) = stamps.get_mut(&id) {
                    let newest = newest.unwrap_or(0);
                    stamp.text.push_str(&format!("/v2/{count}/{newest}"));
                    stamp.changed = stamp.changed.max(newest);
                }
            }
        }
        Ok(stamps)
    }

    /// The messages of a session: v1 `message` rows plus v2 `session_message` rows (a session
    /// has one kind or the other).
    pub fn message_count(&self, session_id: &str) -> Result<usize> {
        let mut tables = vec!["message"];
        if self.has_v1_session_messages() {
            tables.push("session_message");
        }
        let mut total = 0;
        for table in tables {
            let n: i64 = self
                .conn
                .query_row(
                    &format!("SELECT count(*) FROM {table} WHERE session_id = ?1"),
                    [session_id],
                    |r| r.get(0),
                )
                .with_context(|| self.context("messages"))?;
            total += n as usize;
        }
        Ok(total)
    }

    /// Messages ordered as OpenCode's `MessageV2.page` returns them (by `time_created`, then
    /// `id`), each `{...data, id, sessionID}`, with parts `{...data, id, sessionID, messageID}`
    /// ordered by part ID.
    pub fn messages(&self, session_id: &str) -> Result<Vec<Value>> {
        let mut parts: HashMap<String, Vec<Value>> = HashMap::new();
        // A large part's data is left out of the row (SQLite would assemble it in memory)
        // and parsed as it is read from the table ([`Self::parse_large`]).
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, message_id, session_id, \
             CASE WHEN octet_length(data) > ?2 THEN NULL ELSE data END, rowid FROM part \
             WHERE message_id IN (SELECT id FROM message WHERE session_id = ?1) ORDER BY message_id, id",
        )?;
        let mut rows = stmt.query(rusqlite::params![session_id, LARGE_PART])?;
        while let Some(row) = rows.next().with_context(|| self.context("parts"))? {
            let id: String = row.get(0)?;
            let message_id: String = row.get(1)?;
            let part_session: String = row.get(2)?;
            let what = || format!("part {id} of session {session_id}");
            let mut part = match row.get_ref(3)? {
                ValueRef::Null => self.parse_large(row.get(4)?, &id, session_id, what)?,
                _ => self.parse_object(self.text_at(row, 3, what)?, "part", &id, session_id)?,
            };
            part.insert("id".into(), Value::String(id));
            part.insert("sessionID".into(), Value::String(part_session));
            part.insert("messageID".into(), Value::String(message_id.clone()));
            parts
                .entry(message_id)
                .or_default()
                .push(Value::Object(part));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, session_id, data FROM message WHERE session_id = ?1 ORDER BY time_created, id",
        )?;
        let mut rows = stmt.query([session_id])?;
        let mut messages = Vec::new();
        while let Some(row) = rows.next().with_context(|| self.context("messages"))? {
            let id: String = row.get(0)?;
            let data = self.text_at(row, 2, || format!("message {id} of session {session_id}"))?;
            let mut info = self.parse_object(data, "message", &id, session_id)?;
            // `{...data, id, sessionID}`: a key already in data keeps its place (IndexMap
            // insert does the same), new keys go last.
            info.insert("id".into(), Value::String(id.clone()));
            info.insert("sessionID".into(), Value::String(row.get(1)?));
            let mut message = Map::new();
            message.insert("info".into(), Value::Object(info));
            message.insert(
                "parts".into(),
                Value::Array(parts.remove(&id).unwrap_or_default()),
            );
            messages.push(Value::Object(message));
        }
        Ok(messages)
    }

    /// The export document of session `session_id` exactly as `crate::json::pretty_line`
    /// prints [`Self::session_info`] and [`Self::messages`] in it, written straight from the
    /// stored text (see [`crate::json_pretty`]): no row is parsed into a tree. `None` when a
    /// row is not in the canonical form that allows this; the caller parses the rows then.
    pub fn export_text(&self, session_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.export_rows(session_id)?.and_then(|rows| rows.render()))
    }

    /// The rows [`Self::export_text`] writes the document from, copied out of SQLite as
    /// they are; `None` when a row is not text (the slow path reports it).
    pub fn export_rows(&self, session_id: &str) -> Result<Option<ExportRows>> {
        let mut export = ExportRows::new(self.session_columns(session_id)?);
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, message_id, session_id, \
             CASE WHEN octet_length(data) > ?2 THEN NULL ELSE data END, rowid FROM part \
             WHERE message_id IN (SELECT id FROM message WHERE session_id = ?1) ORDER BY message_id, id",
        )?;
        let mut rows = stmt.query(rusqlite::params![session_id, LARGE_PART])?;
        while let Some(row) = rows.next().with_context(|| self.context("parts"))? {
            let Some([id, message_id, part_session]) = texts(row) else {
                return Ok(None);
            };
            let large;
            let data = match row.get_ref(3)? {
                ValueRef::Null => {
                    let id = String::from_utf8_lossy(id);
                    match self.parse_large(row.get(4)?, &id, session_id, String::new) {
                        Ok(map) => {
                            large = crate::json::compact(&Value::Object(map));
                            large.as_bytes()
                        }
                        Err(_) => return Ok(None),
                    }
                }
                value => match value.as_bytes() {
                    Ok(data) => data,
                    Err(_) => return Ok(None),
                },
            };
            export.push_part([id, message_id, part_session, data]);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, session_id, data FROM message WHERE session_id = ?1 ORDER BY time_created, id",
        )?;
        let mut rows = stmt.query([session_id])?;
        while let Some(row) = rows.next().with_context(|| self.context("messages"))? {
            let Some(columns) = texts(row) else {
                return Ok(None);
            };
            export.push_message(columns);
        }
        Ok(Some(export))
    }

    /// The data of the part at `rowid` (larger than [`LARGE_PART`]) parsed as it is read
    /// from the table, so that its text is never in memory twice (SQLite's copy and the
    /// parsed one). Data the streaming parser refuses (lone surrogate escapes, say) is read
    /// whole and parsed, or reported, the way every other row is.
    fn parse_large(
        &self,
        rowid: i64,
        id: &str,
        session_id: &str,
        what: impl Fn() -> String,
    ) -> Result<Map<String, Value>> {
        let open = || {
            self.conn
                .blob_open(rusqlite::MAIN_DB, "part", "data", rowid, true)
                .with_context(|| self.context("parts"))
        };
        let streamed: serde_json::Result<Value> =
            serde_json::from_reader(std::io::BufReader::new(open()?));
        if let Ok(Value::Object(map)) = streamed {
            return Ok(map);
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut open()?, &mut bytes)
            .with_context(|| self.context("parts"))?;
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => bail!(
                "{} in {}: data is not valid UTF-8 (invalid byte at offset {})",
                what(),
                self.path.display(),
                e.valid_up_to()
            ),
        };
        self.parse_object(text, "part", id, session_id)
    }

    /// Column `i` of `row` as text, borrowed from SQLite (a part can be hundreds of MB: it
    /// is parsed where SQLite holds it, not copied first); text that is not UTF-8 fails
    /// naming its row (`what`).
    fn text_at<'r>(
        &self,
        row: &'r Row<'_>,
        i: usize,
        what: impl Fn() -> String,
    ) -> Result<&'r str> {
        let bytes = row.get_ref(i)?.as_bytes()?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text),
            Err(e) => bail!(
                "{} in {}: data is not valid UTF-8 (invalid byte at offset {})",
                what(),
                self.path.display(),
                e.valid_up_to()
            ),
        }
    }

    fn parse_object(
        &self,
        data: &str,
        what: &str,
        id: &str,
        session_id: &str,
    ) -> Result<Map<String, Value>> {
        match crate::json::parse(data) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => bail!(
                "malformed {what} {id} of session {session_id} in {}: data is not a JSON object",
                self.path.display()
            ),
            Err(e) => bail!(
                "malformed JSON in {what} {id} of session {session_id} in {}: {e}",
                self.path.display()
            ),
        }
    }

    /// Todos, share URL and v2 rows of a session; keys only for what exists.
    pub fn extra(&self, session_id: &str) -> Result<Map<String, Value>> {
        let mut extra = Map::new();
        // Each table's rows in the order OpenCode reads them, by the first choice of columns
        // the table has: `session_message.seq` came with 1.17 (migration
        // `session_message_projection_order`); 1.15 has no `seq` and reads its rows by
        // `time_created`, then `id`.
        let tables: &[(&str, &str, &[&[&str]])] = &[
            ("todos", "todo", &[&["position"]]),
            (
                "session_message",
                "session_message",
                &[&["seq"], &["time_created", "id"]],
            ),
            ("session_input", "session_input", &[&["admitted_seq"]]),
            (
                "session_context_epoch",
                "session_context_epoch",
                &[&["session_id"]],
            ),
        ];
        for (key, table, orders) in tables {
            if !self.has_table(table)
                || (*table == "session_message" && self.is_v2())
                || self.is_empty(table)?
            {
                continue;
            }
            let order = self.order_by(table, orders);
            let rows = self.rows_of(table, "session_id", session_id, &order)?;
            if !rows.is_empty() {
                extra.insert((*key).into(), Value::Array(rows));
            }
        }
        if self.has_table("session_share") {
            // Never the `secret` column: it is a credential.
            let share = self
                .conn
                .prepare_cached("SELECT id, url FROM session_share WHERE session_id = ?1")
                .and_then(|mut stmt| {
                    stmt.query_row([session_id], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .optional()
                })
                .with_context(|| self.context("session shares"))?;
            if let Some((id, url)) = share {
                extra.insert("share".into(), serde_json::json!({ "id": id, "url": url }));
            }
        }
        Ok(extra)
    }

    /// The first of `choices` whose columns `table` all has, as an `ORDER BY` list; else
    /// `rowid` (insertion order), so that an unknown schema still reads deterministically.
    fn order_by(&self, table: &str, choices: &[&[&str]]) -> String {
        let have = &self.columns[table];
        choices
            .iter()
            .find(|cols| cols.iter().all(|c| have.contains(*c)))
            .map_or_else(
                || "rowid".to_owned(),
                |cols| {
                    let quoted: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
                    quoted.join(", ")
                },
            )
    }

    /// The project row with its `project_directory` and `permission` rows.
    pub fn project_record(&self, project_id: &str) -> Result<Option<Value>> {
        let mut project = self.rows_of("project", "id", project_id, "id")?;
        let Some(row) = project.pop() else {
            return Ok(None);
        };
        let mut record = Map::new();
        record.insert("project".into(), row);
        for table in ["project_directory", "worktree", "permission"] {
            if self.has_table(table) && self.columns[table].contains("project_id") {
                let rows = self.rows_of(table, "project_id", project_id, "rowid")?;
                record.insert(table.into(), Value::Array(rows));
            }
        }
        Ok(Some(Value::Object(record)))
    }

    /// Every row of `table` whose `key` equals `value`, as objects of all their columns by
    /// name (text stays text: the archive keeps the rows as OpenCode stored them).
    fn rows_of(&self, table: &str, key: &str, value: &str, order: &str) -> Result<Vec<Value>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT * FROM \"{table}\" WHERE \"{key}\" = ?1 ORDER BY {order}"
        ))?;
        let names: Vec<String> = stmt.column_names().map(String::from).collect();
        let mut rows = stmt.query([value])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().with_context(|| self.context(table))? {
            let mut obj = Map::new();
            for (i, name) in names.iter().enumerate() {
                obj.insert(name.clone(), sql_to_json(row.get_ref(i)?));
            }
            out.push(Value::Object(obj));
        }
        Ok(out)
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // End the read transaction promptly: an open reader holds back WAL checkpoints.
        let _ = self.conn.execute_batch("COMMIT");
    }
}

/// The JSON strings that stand whole in the damaged JSON `text`, in order.
fn quoted_strings(text: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let body = &rest[start + 1..];
        // The closing quote: the first one no backslash escapes.
        let mut escaped = false;
        let end = body.char_indices().find_map(|(i, c)| match c {
            '"' if !escaped => Some(i),
            '\\' => {
                escaped = !escaped;
                None
            }
            _ => {
                escaped = false;
                None
            }
        });
        let Some(end) = end else { break };
        if let Ok(string) = crate::json::parse_as::<String>(&rest[start..start + end + 2]) {
            strings.push(string);
        }
        rest = &body[end + 1..];
    }
    strings
}

/// Per row of `session_table`: its ID, its `time_updated`, and the number and newest
/// `time_updated` (0 when none) of its rows in `message_table`. One aggregate query, for
/// the change stamps of 1.x (`session`/`message`) and 2.x (`session_v2`/`session_message`).
pub(super) fn message_stamps(
    conn: &Connection,
    session_table: &str,
    message_table: &str,
) -> rusqlite::Result<Vec<(String, i64, i64, i64)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT s.id, s.time_updated, count(m.id), max(m.time_updated) \
         FROM {session_table} s LEFT JOIN {message_table} m ON m.session_id = s.id GROUP BY s.id"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<i64>>(3)?.unwrap_or(0),
        ))
    })?;
    rows.collect()
}

/// The first `N` columns of `row` as text or blob bytes, borrowed from SQLite; `None` when
/// one is neither (a damaged row: the slow path names it).
fn texts<'r, const N: usize>(row: &'r Row<'_>) -> Option<[&'r [u8]; N]> {
    let mut out = [&[][..]; N];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = row.get_ref(i).ok()?.as_bytes().ok()?;
    }
    Some(out)
}

/// Opens without ever writing, and without reading what a writer has not committed.
///
/// `immutable=1` (no locks, no journal) only where nothing but the main file can hold the
/// store's state: a WAL-mode database with neither `-wal` nor `-journal` beside it. There a
/// plain read-only open would create `-wal`/`-shm` files in OpenCode's directory (or fail
/// where it is not writable). Everywhere else `mode=ro` keeps SQLite's locks and journal
/// logic: a `-wal` holds committed pages; a rollback-journal database may have a writer that
/// has already written uncommitted pages into the main file, or one that stopped and left a
/// hot journal, and read as immutable either would show rows that were never committed.
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let mode = if may_open_immutable(path) {
        "mode=ro&immutable=1"
    } else {
        "mode=ro"
    };
    let uri = format!("file:{}?{mode}", uri_escape(&path.to_string_lossy()));
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // One plan per statement whatever its parameters: otherwise SQLite marks a cached
    // statement to be compiled again whenever a parameter is bound anew (a sixth of what
    // `pack` spent per session was that compiling).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// How long a read waits for a writer's lock before it gives up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn may_open_immutable(path: &Path) -> bool {
    let beside = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name).exists()
    };
    !beside("-wal") && !beside("-journal") && is_wal_mode(path)
}

/// Whether the database header says WAL mode (read and write versions 2, bytes 18–19).
fn is_wal_mode(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| header.starts_with(b"SQLite format 3\0") && header[18..20] == [2, 2])
}

/// A failure to open or read the store as the user reads it: what is wrong with which file,
/// SQLite's own words (without the URI it was opened by), and what to do.
pub(crate) fn store_error(path: &Path, e: rusqlite::Error) -> anyhow::Error {
    use rusqlite::ErrorCode;
    let db = path.display();
    let reason = match &e {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message
            .split(": file:")
            .next()
            .unwrap_or(message)
            .to_owned(),
        rusqlite::Error::SqliteFailure(failure, None) => {
            rusqlite::ffi::code_to_str(failure.extended_code).to_owned()
        }
        other => other.to_string(),
    };
    let extended = e.sqlite_extended_error_code();
    let error = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => UserError::new(format!(
            "OpenCode database {db} is locked: another process held it for {} s",
            BUSY_TIMEOUT.as_secs()
        ))
        .hint("try again when opencode is idle, or read a copy with --store <path>"),
        _ if extended == Some(rusqlite::ffi::SQLITE_READONLY_ROLLBACK) => UserError::new(
            format!(
                "OpenCode database {db} has a transaction that a stopped writer left unfinished (a hot journal)"
            ),
        )
        .hint("start opencode once, which rolls the transaction back, then try again"),
        Some(ErrorCode::NotADatabase) => UserError::new(format!(
            "{db} is not an SQLite database: {reason}"
        ))
        .hint("point --store at OpenCode's data directory or opencode.db"),
        Some(ErrorCode::DatabaseCorrupt) => UserError::new(format!(
            "OpenCode database {db} is damaged: {reason}"
        ))
        .hint("restore it from a backup, or point --store at another store"),
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::SystemIoFailure) => {
            UserError::new(format!("cannot read OpenCode database {db}: {reason}"))
                .hint("check that the file and its directory are readable, or pass --store <path>")
        }
        _ => UserError::new(format!("failed to read OpenCode database {db}: {reason}")),
    };
    anyhow::Error::new(error)
}

fn uri_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn sql_to_json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
    }
}

/// One `session` row by column name; a column an older schema lacks reads as NULL, and the
/// keys that only exist with their columns (`cost`, `tokens`) are left out, as that
/// schema's OpenCode prints them.
pub(super) struct SessionColumns(Columns);

impl std::ops::Deref for SessionColumns {
    type Target = Columns;
    fn deref(&self) -> &Columns {
        &self.0
    }
}

impl SessionColumns {
    fn read(row: &Row<'_>, names: &Arc<[String]>) -> Result<SessionColumns> {
        Ok(SessionColumns(Columns::read(row, names)?))
    }

    /// OpenCode 1.18's `Session.fromRow`, key for key (undefined values are left out, as
    /// `JSON.stringify` does).
    pub(super) fn info(&self) -> Result<Map<String, Value>> {
        let mut info = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(v) = value {
                info.insert(key.into(), v);
            }
        };
        let present = |v: &Value| (!v.is_null()).then(|| v.clone());
        put("id", Some(self.get("id").clone()));
        put("slug", Some(self.get("slug").clone()));
        put("projectID", Some(self.get("project_id").clone()));
        put("workspaceID", present(self.get("workspace_id")));
        put("directory", Some(self.get("directory").clone()));
        put("path", present(self.get("path")));
        put("parentID", present(self.get("parent_id")));
        put("title", Some(self.get("title").clone()));
        put("agent", present(self.get("agent")));
        let JsonColumns {
            model,
            diffs,
            metadata,
            revert,
            permission,
        } = self.json_columns()?;
        put(
            "model",
            truthy(&model).then(|| pick(&model, &["id", "providerID", "variant"])),
        );
        put("version", Some(self.get("version").clone()));
        if let Some(diffs) = diffs {
            let mut summary = Map::new();
            summary.insert("additions".into(), self.number_or_zero("summary_additions"));
            summary.insert("deletions".into(), self.number_or_zero("summary_deletions"));
            summary.insert("files".into(), self.number_or_zero("summary_files"));
            if !diffs.is_null() {
                summary.insert("diffs".into(), diffs);
            }
            put("summary", Some(Value::Object(summary)));
        }
        // `cost` and `tokens` only where the schema has them (1.2 and 1.3 have neither, and
        // their `opencode export` prints neither): never a field the store lacks.
        put(
            "cost",
            self.has("cost").then(|| self.number_or_zero("cost")),
        );
        put(
            "tokens",
            self.has("tokens_input").then(|| {
                serde_json::json!({
                    "input": self.number_or_zero("tokens_input"),
                    "output": self.number_or_zero("tokens_output"),
                    "reasoning": self.number_or_zero("tokens_reasoning"),
                    "cache": {
                        "read": self.number_or_zero("tokens_cache_read"),
                        "write": self.number_or_zero("tokens_cache_write"),
                    },
                })
            }),
        );
        let share = self.get("share_url");
        put(
            "share",
            truthy(share).then(|| serde_json::json!({ "url": share })),
        );
        put("metadata", present(&metadata));
        put(
            "revert",
            truthy(&revert).then(|| {
                let mut r = pick(&revert, &["messageID"]);
                if let (Value::Object(map), Some(part)) =
                    (&mut r, revert.get("partID").filter(|p| truthy(p)))
                {
                    map.insert("partID".into(), part.clone());
                }
                if let (Value::Object(map), Value::Object(rest)) =
                    (&mut r, pick(&revert, &["snapshot", "diff"]))
                {
                    map.extend(rest);
                }
                r
            }),
        );
        put("permission", truthy(&permission).then_some(permission));
        let mut time = Map::new();
        time.insert("created".into(), self.get("time_created").clone());
        time.insert("updated".into(), self.get("time_updated").clone());
        if let Some(v) = present(self.get("time_compacting")) {
            time.insert("compacting".into(), v);
        }
        if let Some(v) = present(self.get("time_archived")) {
            time.insert("archived".into(), v);
        }
        put("time", Some(Value::Object(time)));
        Ok(info)
    }
}

/// The JSON-text columns of a `session` row, parsed.
struct JsonColumns {
    model: Value,
    /// `None` when the row has no summary (all its summary columns NULL).
    diffs: Option<Value>,
    metadata: Value,
    revert: Value,
    permission: Value,
}

impl SessionColumns {
    /// Parses the columns [`SessionColumns::info`] parses: it fails exactly when they do.
    fn json_columns(&self) -> Result<JsonColumns> {
        let model = self.json("model")?;
        let summary_cols = ["summary_additions", "summary_deletions", "summary_files"];
        let diffs = if summary_cols.iter().any(|c| !self.get(c).is_null()) {
            Some(self.json("summary_diffs")?)
        } else {
            None
        };
        Ok(JsonColumns {
            model,
            diffs,
            metadata: self.json("metadata")?,
            revert: self.json("revert")?,
            permission: self.json("permission")?,
        })
    }

    /// `SessionSummary::of(&self.info()?)` without making the `info` (the listing of every
    /// session needs only this); fails where `info` fails.
    fn summary(&self) -> Result<SessionSummary> {
        let JsonColumns { model, .. } = self.json_columns()?;
        let model_field = |key: &str| model.get(key).and_then(Value::as_str);
        let tokens = |column: &str| self.get(column).as_i64().unwrap_or(0);
        let has_tokens = self.has("tokens_input");
        Ok(SessionSummary {
            version: self.get("version").as_str().map(String::from),
            model: (truthy(&model).then_some(()))
                .and(model_field("providerID").zip(model_field("id")))
                .map(|(provider, id)| format!("{provider}/{id}")),
            tokens_input: if has_tokens {
                tokens("tokens_input")
            } else {
                0
            },
            tokens_output: if has_tokens {
                tokens("tokens_output")
            } else {
                0
            },
        })
    }
}

/// JavaScript truthiness of a parsed JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `{a: v.a, b: v.b}` with undefined (missing) keys left out.
fn pick(v: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for key in keys {
        if let Some(x) = v.get(key) {
            out.insert((*key).into(), x.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store with the columns every release has, `session_columns` more in `session`
    /// and the extra tables of `more_tables`; one session `ses_1`.
    fn store(session_columns: &str, more_tables: &str) -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opencode.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE project (id text PRIMARY KEY, worktree text NOT NULL);
             CREATE TABLE session (id text PRIMARY KEY, project_id text NOT NULL, parent_id text,
               slug text NOT NULL, directory text NOT NULL, title text NOT NULL,
               version text NOT NULL, time_created integer NOT NULL,
               time_updated integer NOT NULL{session_columns});
             CREATE TABLE message (id text PRIMARY KEY, session_id text NOT NULL,
               time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);
             CREATE TABLE part (id text PRIMARY KEY, message_id text NOT NULL,
               session_id text NOT NULL, data text NOT NULL);
             {more_tables}
             INSERT INTO project VALUES ('p', '/r');
             INSERT INTO session (id, project_id, slug, directory, title, version,
               time_created, time_updated) VALUES ('ses_1', 'p', 's', '/r', 't', '1.2.1', 1, 2);"
        ))
        .unwrap();
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        (dir, store)
    }

    fn keys(info: &Map<String, Value>) -> Vec<&str> {
        info.keys().map(String::as_str).collect()
    }

    /// A damaged `sandboxes` list gives the strings that stand whole in it, escapes read.
    #[test]
    fn a_damaged_list_still_gives_its_whole_strings() {
        assert_eq!(
            quoted_strings(r#"["/a", "/b \"q\" \\", {broken"#),
            ["/a", r#"/b "q" \"#]
        );
        assert_eq!(quoted_strings(r#"["/a", "/cut"#), ["/a"]);
        assert!(quoted_strings("[").is_empty());
    }

    /// The listing's summary of a row is what the row's `info` says, and a row whose `info`
    /// fails fails the summary with the same message.
    #[test]
    fn the_summary_of_a_row_is_the_summary_of_its_info() {
        let columns = ", model text, summary_additions integer, summary_diffs text, \
                       metadata text, revert text, permission text, tokens_input integer, \
                       tokens_output real, cost real";
        let (dir, store) = store(columns, "");
        drop(store);
        let path = dir.path().join("opencode.db");
        let conn = Connection::open(&path).unwrap();
        let rows: &[&str] = &[
            "model = NULL",
            r#"model = '{"id":"m","providerID":"p","variant":"v"}', tokens_input = 12, tokens_output = 3.0"#,
            r#"model = '{"id":"m"}', tokens_input = 5, tokens_output = 2.5"#,
            r#"model = '""', summary_additions = 1, summary_diffs = '[{"file":"a"}]'"#,
            r#"model = '"a string"', metadata = '{"k":1}', revert = '{"messageID":"x"}'"#,
            r#"model = '{"id":1,"providerID":"p"}', permission = '[]'"#,
            // Malformed JSON in each parsed column, and in the diffs only with a summary.
            "model = '{'",
            "summary_additions = 2, summary_diffs = '[1,'",
            "summary_diffs = '[1,'",
            "metadata = 'nope', revert = '{'",
            "permission = '{\"a\":}'",
        ];
        let reset =
            "model = NULL, summary_additions = NULL, summary_diffs = NULL, metadata = NULL, \
                     revert = NULL, permission = NULL, tokens_input = NULL, tokens_output = NULL";
        for set in rows {
            conn.execute_batch(&format!(
                "UPDATE session SET {reset}; UPDATE session SET {set};"
            ))
            .unwrap();
            let store = SqliteStore::open(&path).unwrap();
            let mut stmt = store.conn.prepare("SELECT * FROM session").unwrap();
            let names: Arc<[String]> = stmt.column_names().map(String::from).collect();
            let mut found = stmt.query([]).unwrap();
            let cols = SessionColumns::read(found.next().unwrap().unwrap(), &names).unwrap();
            let (listed, unreadable) = store.sessions().unwrap();
            match (cols.info(), cols.summary()) {
                (Ok(info), Ok(summary)) => {
                    assert_eq!(summary, SessionSummary::of(&info), "{set}");
                    assert_eq!(listed[0].summary, summary, "{set}");
                }
                (Err(a), Err(b)) => {
                    assert_eq!(format!("{a:#}"), format!("{b:#}"), "{set}");
                    assert!(listed.is_empty() && unreadable.len() == 1, "{set}");
                }
                (info, summary) => panic!("{set}: info {info:?}, summary {summary:?}"),
            }
        }
    }

    /// 1.2 and 1.3 have no cost or token columns, and their export prints no such keys.
    #[test]
    fn info_has_no_cost_or_tokens_where_the_schema_has_none() {
        let (_dir, store) = store("", "");
        let info = store.session_info("ses_1").unwrap();
        assert_eq!(
            keys(&info),
            [
                "id",
                "slug",
                "projectID",
                "directory",
                "title",
                "version",
                "time"
            ]
        );
    }

    #[test]
    fn info_has_cost_and_tokens_where_the_schema_has_them() {
        let columns = ", cost real DEFAULT 0 NOT NULL, tokens_input integer DEFAULT 0 NOT NULL, \
             tokens_output integer DEFAULT 0 NOT NULL, tokens_reasoning integer DEFAULT 0 NOT NULL, \
             tokens_cache_read integer DEFAULT 0 NOT NULL, tokens_cache_write integer DEFAULT 0 NOT NULL";
        let (_dir, store) = store(columns, "");
        let info = store.session_info("ses_1").unwrap();
        assert_eq!(info["cost"].as_f64(), Some(0.0));
        assert_eq!(
            info["tokens"],
            serde_json::json!({"input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}})
        );
    }

    fn message_ids(store: &SqliteStore) -> Vec<String> {
        let extra = store.extra("ses_1").unwrap();
        extra["session_message"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// 1.15 has `session_message` without `seq`, and reads it by creation time, then ID.
    #[test]
    fn session_messages_without_seq_are_read_by_time_then_id() {
        let table = "CREATE TABLE session_message (id text PRIMARY KEY, session_id text NOT NULL,
               type text NOT NULL, time_created integer NOT NULL, time_updated integer NOT NULL,
               data text NOT NULL);
             INSERT INTO session_message VALUES
               ('m_a', 'ses_1', 'user', 2, 2, '{}'),
               ('m_c', 'ses_1', 'user', 1, 1, '{}'),
               ('m_b', 'ses_1', 'user', 1, 1, '{}');";
        let (_dir, store) = store("", table);
        assert_eq!(message_ids(&store), ["m_b", "m_c", "m_a"]);
    }

    #[test]
    fn session_messages_with_seq_are_read_by_seq() {
        let table = "CREATE TABLE session_message (id text PRIMARY KEY, session_id text NOT NULL,
               type text NOT NULL, time_created integer NOT NULL, time_updated integer NOT NULL,
               data text NOT NULL, seq integer NOT NULL);
             INSERT INTO session_message VALUES
               ('m_a', 'ses_1', 'user', 1, 1, '{}', 3),
               ('m_b', 'ses_1', 'user', 2, 2, '{}', 1);";
        let (_dir, store) = store("", table);
        assert_eq!(message_ids(&store), ["m_b", "m_a"]);
    }

    #[test]
    fn large_parts_read_as_they_are_streamed_like_small_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opencode.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT, slug TEXT, directory TEXT,
                title TEXT, version TEXT, time_created INTEGER, time_updated INTEGER);
             CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT, time_created INTEGER, data TEXT);
             CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT, session_id TEXT, data TEXT);
             CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT);
             INSERT INTO message VALUES ('msg_1', 'ses_1', 1, '{\"role\":\"user\"}');",
        )
        .unwrap();
        // Escapes, a lone surrogate (the streaming parser refuses it), and a small part.
        let big = "line \u{e9}\t\"quoted\"\n".repeat(100_000);
        let parts = [
            (
                "prt_1",
                serde_json::json!({"type": "text", "text": big}).to_string(),
            ),
            (
                "prt_2",
                format!(
                    r#"{{"type":"text","text":"{}\ud800"}}"#,
                    "x".repeat(1 << 21)
                ),
            ),
            ("prt_3", r#"{"type":"text","text":"small"}"#.to_owned()),
            ("prt_4", format!("[{}]", "1,".repeat(1 << 20) + "1")),
        ];
        for (id, data) in &parts[..3] {
            conn.execute(
                "INSERT INTO part VALUES (?1, 'msg_1', 'ses_1', ?2)",
                [id, data.as_str()],
            )
            .unwrap();
        }
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        let messages = store.messages("ses_1").unwrap();
        let read = messages[0]["parts"].as_array().unwrap();
        assert_eq!(read.len(), 3);
        for ((id, data), part) in parts.iter().zip(read) {
            let mut want = crate::json::parse(data).unwrap();
            want["id"] = Value::from(*id);
            want["sessionID"] = Value::from("ses_1");
            want["messageID"] = Value::from("msg_1");
            assert!(part == &want, "{id} differs");
        }

        // A large part that is not an object fails as a small one does.
        drop(store);
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO part VALUES ('prt_4', 'msg_1', 'ses_1', ?1)",
            [&parts[3].1],
        )
        .unwrap();
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        let err = store.messages("ses_1").unwrap_err().to_string();
        assert!(
            err.starts_with("malformed part prt_4 of session ses_1 in")
                && err.ends_with("data is not a JSON object"),
            "{err}"
        );
    }
}
