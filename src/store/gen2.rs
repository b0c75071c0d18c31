//! OpenCode 2.x sessions: `session_v2` and its `session_message` rows, read from the same
//! `opencode.db` the 1.x reader opens (2.x upgrades that file in place and keeps the frozen
//! 1.x tables beside the new ones; a fresh 2.x file has only the new ones).
//!
//! Facts and their sources are in `opencode-2x.md`: the DDL (§1), the row shapes (§2), the
//! export document (§6). Columns are selected by name: an upgraded file has the columns 2.x
//! added at the end of `session_v2`, a fresh one has them in the middle.

use super::columns::{column_names, Columns};
use super::sqlite::sql_to_json;
use super::{ChangeStamp, Generation, Session, SessionSummary, StoreKind, Unreadable};
use crate::error::UserError;
use crate::json_pretty::{indent, nested, object_around, Around};
use anyhow::{bail, Context, Result};
use rusqlite::Connection;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Columns without which 2.x sessions cannot be read: a file that lacks one was written by a
/// 2.x release this version does not know.
pub const REQUIRED_V2_COLUMNS: &[(&str, &[&str])] = &[
    (
        "session_v2",
        &[
            "id",
            "project_id",
            "slug",
            "directory",
            "version",
            "time_created",
            "time_updated",
        ],
    ),
    (
        "session_message",
        &[
            "id",
            "session_id",
            "type",
            "seq",
            "time_created",
            "time_updated",
            "data",
        ],
    ),
];

/// The message types the V1→V2 import writes (opencode-2x.md §4.2). A row of any other type
/// in a session, or one written after the import completed, is 2.x's own activity.
const IMPORTED_TYPES: &str = "'user','assistant','synthetic','compaction','system'";

/// Fails with one `error:` and a `hint:` when a 2.x table lacks a column 2.0.25 has.
pub fn check_schema(path: &Path, columns: &HashMap<String, HashSet<String>>) -> Result<()> {
    for (table, needed) in REQUIRED_V2_COLUMNS {
        let have = columns.get(*table);
        let missing = match have {
            None => Some(None),
            Some(have) => needed.iter().find(|c| !have.contains(**c)).map(Some),
        };
        if let Some(missing) = missing {
            let what = match missing {
                Some(column) => format!("table {table} has no column {column}"),
                None => format!("it has session_v2 but no {table} table"),
            };
            bail!(UserError::new(format!(
                "OpenCode database {} has an unknown OpenCode 2.x schema: {what}",
                path.display()
            ))
            .hint("this store was written by an OpenCode 2.x release git-opencode does not know; upgrade git-opencode"));
        }
    }
    Ok(())
}

/// How far OpenCode 2.x's one-shot import of the 1.x sessions got: the `kv` row
/// `migration.v1-v2` (opencode-2x.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migration {
    /// No row: the import has not started (or the file has no `kv` table).
    NotStarted,
    /// `{"phase":"sessions"}`: started and not finished; it resumes on 2.x's next start.
    InProgress,
    /// `{"phase":"completed"}`, stamped (`time_updated`, ms) when it finished.
    Completed { at: i64 },
}

/// A 2.x session as listed, with what the authority rule needs to know of its transcript.
pub struct V2Listed {
    pub session: Session,
    /// The transcript has rows 2.x wrote itself (not the import's): see [`IMPORTED_TYPES`].
    /// Only worked out where the authority rule needs it (see [`Gen2::sessions`]): `false`
    /// elsewhere.
    pub native_activity: bool,
}

/// The 2.x half of an opened database.
pub struct Gen2<'a> {
    pub conn: &'a Connection,
    pub path: &'a Path,
    /// The column names of `session_v2` rows, kept by the database for every session read.
    pub session_names: &'a RefCell<Option<Arc<[String]>>>,
}

impl Gen2<'_> {
    fn context(&self, what: &str) -> String {
        format!("failed to read {what} from {}", self.path.display())
    }

    /// The `migration.v1-v2` row; a value that is not the JSON 2.x writes reads as
    /// [`Migration::InProgress`] (2.x itself would run the import again).
    pub fn migration(&self, has_kv: bool) -> Result<Migration> {
        if !has_kv {
            return Ok(Migration::NotStarted);
        }
        let row = self
            .conn
            .query_row(
                "SELECT value, time_updated FROM kv WHERE key = 'migration.v1-v2'",
                [],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .with_context(|| self.context("the 2.x migration state"))?;
        Ok(match row {
            None => Migration::NotStarted,
            Some((value, at)) => {
                let phase = crate::json::parse(&value)
                    .ok()
                    .and_then(|v| v.get("phase").and_then(Value::as_str).map(String::from));
                match phase.as_deref() {
                    Some("completed") => Migration::Completed { at },
                    _ => Migration::InProgress,
                }
            }
        })
    }

    /// Every `session_v2` row, and the rows that cannot be read. `imported_at` is when the
    /// V1→V2 import completed: a message created after it is 2.x's own activity.
    /// `continued_in_1x` tells the sessions whose 1.x copy changed after the 2.x copy last
    /// did (by ID and the 2.x copy's `time_updated`): the authority rule looks at the
    /// activity of those only, so only their rows are read for it.
    pub fn sessions(
        &self,
        imported_at: Option<i64>,
        continued_in_1x: impl Fn(&str, i64) -> bool,
    ) -> Result<(Vec<V2Listed>, Vec<Unreadable>)> {
        let mut stmt = self.conn.prepare("SELECT * FROM session_v2 ORDER BY id")?;
        let names: Arc<[String]> = stmt.column_names().map(String::from).collect();
        let mut rows = stmt.query([])?;
        let (mut sessions, mut unreadable) = (Vec::new(), Vec::new());
        while let Some(row) = rows.next().with_context(|| self.context("2.x sessions"))? {
            let cols = V2Row(Columns::read(row, &names)?);
            let (id, project_id) = (cols.text("id"), cols.text("project_id"));
            let model = match cols.json("model") {
                Ok(model) => model,
                Err(e) => {
                    unreadable.push(Unreadable {
                        session_id: id.clone(),
                        project_id,
                        reason: format!(
                            "malformed session_v2 row {id} in {}: {}",
                            self.path.display(),
                            crate::error::message(&e)
                        ),
                    });
                    continue;
                }
            };
            let model_field = |k: &str| model.get(k).and_then(Value::as_str);
            let time_updated = cols.int("time_updated");
            let native_activity =
                continued_in_1x(&id, time_updated) && self.native_activity(&id, imported_at)?;
            sessions.push(V2Listed {
                session: Session {
                    parent_id: cols.opt_text("parent_id"),
                    title: cols.text("title"),
                    directory: cols.text("directory"),
                    time_created: cols.int("time_created"),
                    time_updated,
                    kind: StoreKind::Sqlite,
                    generation: Generation::V2,
                    divergent: false,
                    summary: SessionSummary {
                        version: cols.opt_text("version"),
                        model: model_field("providerID")
                            .zip(model_field("id"))
                            .map(|(p, m)| format!("{p}/{m}")),
                        tokens_input: cols.int("tokens_input"),
                        tokens_output: cols.int("tokens_output"),
                    },
                    id,
                    project_id,
                },
                native_activity,
            });
        }
        Ok((sessions, unreadable))
    }

    /// Whether the session's transcript has rows 2.x wrote itself: of a type the import
    /// does not write, or created after the import completed (`imported_at`).
    fn native_activity(&self, session_id: &str, imported_at: Option<i64>) -> Result<bool> {
        let (other_type, newest): (Option<bool>, Option<i64>) = self
            .conn
            .prepare_cached(&format!(
                "SELECT max(type NOT IN ({IMPORTED_TYPES})), max(time_created) \
                 FROM session_message WHERE session_id = ?1"
            ))?
            .query_row([session_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .with_context(|| self.context("2.x messages"))?;
        let newest = newest.unwrap_or(0);
        Ok(other_type.unwrap_or(false) || imported_at.is_some_and(|t| newest > t))
    }

    /// The `session_message` rows of a session.
    pub fn message_count(&self, session_id: &str) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM session_message WHERE session_id = ?1",
                [session_id],
                |r| r.get(0),
            )
            .with_context(|| self.context("2.x messages"))?;
        Ok(n as usize)
    }

    /// Per session: `session_v2.time_updated`, the message count and the newest message
    /// update. 2.x updates assistant, shell and compaction rows in place, so the count alone
    /// would miss a streamed turn.
    pub fn change_stamps(&self) -> Result<HashMap<String, ChangeStamp>> {
        let mut stamps = HashMap::new();
        let rows = super::sqlite::message_stamps(self.conn, "session_v2", "session_message")
            .with_context(|| self.context("2.x sessions"))?;
        for (id, updated, count, newest) in rows {
            stamps.insert(
                id,
                ChangeStamp {
                    text: format!("v2/{updated}/{count}/{newest}"),
                    changed: updated.max(newest),
                },
            );
        }
        Ok(stamps)
    }

    /// The `session_v2` row of a session, every column by name.
    fn row(&self, session_id: &str) -> Result<V2Row> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM session_v2 WHERE id = ?1")?;
        let names = column_names(&stmt, &mut self.session_names.borrow_mut());
        let mut rows = stmt.query([session_id])?;
        let row = rows
            .next()
            .with_context(|| self.context("2.x sessions"))?
            .with_context(|| {
                format!(
                    "session {session_id} is no longer in {}",
                    self.path.display()
                )
            })?;
        Ok(V2Row(Columns::read(row, &names)?))
    }

    /// The document `opencode session export` prints (opencode-2x.md §6): `{info, messages}`,
    /// settled messages only, each `{id, type, ...data}` in `seq` order.
    pub fn export_document(&self, session_id: &str) -> Result<Value> {
        Ok(self.rows(session_id)?.documents()?.0)
    }

    /// What the export leaves out, so that a restore needs nothing else: the `session_v2` row
    /// (JSON columns kept as the text 2.x stored) and the unsettled `session_message` rows.
    pub fn extra(&self, session_id: &str) -> Result<Map<String, Value>> {
        Ok(self.rows(session_id)?.documents()?.1)
    }

    /// The session's rows as stored, not yet parsed ([`V2Rows::documents`] parses them, on
    /// any thread).
    pub fn rows(&self, session_id: &str) -> Result<V2Rows> {
        let row = self.row(session_id)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, type, seq, time_created, time_updated, data FROM session_message \
             WHERE session_id = ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([session_id])?;
        let mut read = V2Rows::new(session_id, self.path, row);
        while let Some(row) = rows.next().with_context(|| self.context("2.x messages"))? {
            read.push(
                row.get_ref(0)?.as_str()?,
                row.get_ref(1)?.as_str()?,
                row.get(2)?,
                [sql_to_json(row.get_ref(3)?), sql_to_json(row.get_ref(4)?)],
                row.get_ref(5)?.as_bytes()?,
            );
        }
        Ok(read)
    }
}

/// A 2.x session's rows as read: its `session_v2` row and its `session_message` rows in
/// `seq` order, their `data` not yet parsed.
pub struct V2Rows {
    session_id: String,
    /// The database, for errors.
    path: PathBuf,
    row: V2Row,
    /// Every row's `id` and `type`, one after the other, and every row's `data`: a few
    /// buffers per session rather than a few allocations per row (each freed by another
    /// thread than the one that made it).
    labels: String,
    data: Vec<u8>,
    messages: Vec<StoredMessage>,
}

/// One `session_message` row's columns as stored, its texts as places in [`V2Rows`]'
/// buffers.
struct StoredMessage {
    id: Range<usize>,
    kind: Range<usize>,
    seq: i64,
    /// `time_created` and `time_updated`.
    times: [Value; 2],
    data: Range<usize>,
}

/// A `session_message` row as read (see [`V2Rows::messages`]).
struct Message<'a> {
    id: &'a str,
    kind: &'a str,
    seq: i64,
    times: &'a [Value; 2],
    data: &'a [u8],
}

impl V2Rows {
    /// Session `session_id` of the database at `path`, its `session_v2` row and no
    /// `session_message` row yet (see [`V2Rows::push`]).
    fn new(session_id: &str, path: &Path, row: V2Row) -> V2Rows {
        V2Rows {
            session_id: session_id.to_owned(),
            path: path.to_path_buf(),
            row,
            labels: String::new(),
            data: Vec::new(),
            messages: Vec::new(),
        }
    }

    /// About how many bytes the rows take in memory (their `data`, which is nearly all).
    pub fn size(&self) -> u64 {
        (self.data.len() + self.labels.len() + 64 * self.messages.len()) as u64
    }

    /// Adds a `session_message` row, the next in `seq` order.
    fn push(&mut self, id: &str, kind: &str, seq: i64, times: [Value; 2], data: &[u8]) {
        let mut label = |text: &str| {
            let start = self.labels.len();
            self.labels.push_str(text);
            start..self.labels.len()
        };
        let (id, kind) = (label(id), label(kind));
        let start = self.data.len();
        self.data.extend_from_slice(data);
        let data = start..self.data.len();
        self.messages.push(StoredMessage {
            id,
            kind,
            seq,
            times,
            data,
        });
    }

    /// The rows in `seq` order.
    fn messages(&self) -> impl Iterator<Item = Message<'_>> {
        self.messages.iter().map(|m| Message {
            id: &self.labels[m.id.clone()],
            kind: &self.labels[m.kind.clone()],
            seq: m.seq,
            times: &m.times,
            data: &self.data[m.data.clone()],
        })
    }

    /// The export document and the extra record (the `session_v2` row and the unsettled
    /// messages); a row whose `data` is not a JSON object fails naming the session and row.
    pub fn documents(&self) -> Result<(Value, Map<String, Value>)> {
        let (session_id, path) = (&self.session_id, self.path.display());
        let mut settled = Vec::new();
        let mut unsettled = Vec::new();
        for m in self.messages() {
            let what = || {
                format!(
                    "malformed session_message row {} (seq {}) of session {session_id} in {path}",
                    m.id, m.seq
                )
            };
            let text = match std::str::from_utf8(m.data) {
                Ok(text) => text,
                Err(_) => bail!("{}: data is not valid UTF-8", what()),
            };
            let data = match crate::json::parse(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => bail!("{}: data is not a JSON object", what()),
                Err(e) => bail!("{}: {e}", what()),
            };
            if !is_settled(m.kind, &data) {
                unsettled.push(m.unsettled(text));
                continue;
            }
            let mut exported = Map::new();
            exported.insert("id".into(), Value::from(m.id));
            exported.insert("type".into(), Value::from(m.kind));
            for (k, v) in data {
                if k != "id" && k != "type" {
                    exported.insert(k, v);
                }
            }
            settled.push(Value::Object(exported));
        }
        let info = (self.row.info())
            .with_context(|| format!("malformed session {session_id} in {path}"))?;
        let mut doc = Map::new();
        doc.insert("info".into(), Value::Object(info));
        doc.insert("messages".into(), Value::Array(settled));
        Ok((Value::Object(doc), self.extra(unsettled).into_map()))
    }
}

impl V2Rows {
    /// What [`V2Rows::documents`] gives, the document already printed (`pretty_line`),
    /// written out of the rows without parsing them (see `json_pretty`):
    /// each row's `data` is copied through, re-indented, with `id` and `type` set first.
    /// `None` when a row is not in canonical `JSON.stringify` form, holds its own `id` or
    /// `type`, or is damaged: the caller then uses `documents`, which names a damaged row.
    pub fn render(&self) -> Option<(Vec<u8>, Map<String, Value>)> {
        let (doc, extra) = self.render_printable()?;
        Some((doc, extra.into_map()))
    }

    /// [`V2Rows::render`] with the extra record left as it serialises, for a caller that
    /// only prints it.
    pub fn render_printable(&self) -> Option<(Vec<u8>, V2Extra<'_>)> {
        let info = self.row.info_fields().ok()?;
        // Indented, the rows take about twice their compact size.
        let mut out = Vec::with_capacity(self.size() as usize * 5 / 2 + 1024);
        out.extend_from_slice(b"{\n  \"info\": ");
        nested(&mut out, &info, 1);
        out.extend_from_slice(b",\n  \"messages\": [");
        let mut keys = Vec::new();
        let mut unsettled = Vec::new();
        let mut settled_any = false;
        for m in self.messages() {
            let text = std::str::from_utf8(m.data).ok()?;
            let mark = out.len();
            out.extend_from_slice(if settled_any { b",\n" } else { b"\n" });
            indent(&mut out, 2);
            let leading = [("id", m.id), ("type", m.kind)];
            let around = Around {
                leading: &leading,
                trailing: &[],
            };
            let field = settled_field(m.kind);
            let found = object_around(&mut out, text, 2, around, &mut keys, field).ok()?;
            if field.is_some() && !is_settled_text(m.kind, found)? {
                out.truncate(mark);
                unsettled.push(m.unsettled(text));
                continue;
            }
            settled_any = true;
        }
        out.extend_from_slice(if settled_any {
            b"\n  ]\n}\n"
        } else {
            b"]\n}\n"
        });
        Some((out, self.extra(unsettled)))
    }

    /// The extra record: the `session_v2` row and the unsettled rows, when there are some.
    fn extra(&self, unsettled: Vec<Value>) -> V2Extra<'_> {
        V2Extra {
            row: &self.row.0,
            unsettled,
        }
    }
}

/// A 2.x session's extra record, which serialises as its map does without being one (for
/// a caller that only prints it): the `session_v2` row and the unsettled rows.
pub struct V2Extra<'a> {
    row: &'a Columns,
    unsettled: Vec<Value>,
}

impl V2Extra<'_> {
    /// The record as a map: what it serialises as (see below), so that its shape has one
    /// definition.
    pub fn into_map(self) -> Map<String, Value> {
        match serde_json::to_value(&self) {
            Ok(Value::Object(extra)) => extra,
            _ => unreachable!("the extra record serialises as an object"),
        }
    }
}

impl serde::Serialize for V2Extra<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("session_v2", self.row)?;
        if !self.unsettled.is_empty() {
            map.serialize_entry("session_message", &self.unsettled)?;
        }
        map.end()
    }
}

impl Message<'_> {
    /// The row as the extra record keeps one the export leaves out, `data` as stored.
    fn unsettled(&self, data: &str) -> Value {
        let [time_created, time_updated] = self.times;
        serde_json::json!({
            "id": self.id,
            "type": self.kind,
            "seq": self.seq,
            "time_created": time_created,
            "time_updated": time_updated,
            "data": data,
        })
    }
}

/// The field of a row's `data` that tells whether [`is_settled`] holds, for the kinds of row
/// that may not be.
fn settled_field(kind: &str) -> Option<&'static str> {
    match kind {
        "assistant" => Some("time"),
        "shell" | "compaction" => Some("status"),
        _ => None,
    }
}

/// [`is_settled`] from the text of the row's [`settled_field`] (`None`: the row has none);
/// `None` when that text does not parse.
fn is_settled_text(kind: &str, field: Option<&str>) -> Option<bool> {
    let Some(text) = field else {
        return Some(kind != "assistant");
    };
    if kind == "assistant" {
        /// `time.completed`, present and not null; the rest of `time` is skipped unread.
        #[derive(serde::Deserialize)]
        struct Time {
            completed: Option<serde::de::IgnoredAny>,
        }
        let time: Time = serde_json::from_str(text).ok()?;
        return Some(time.completed.is_some());
    }
    // The text is canonical (`object_around` checked it): `running` has one spelling.
    Some(text != "\"running\"")
}

/// Whether `opencode session export` includes a row (opencode-2x.md §6): an assistant still
/// streaming (no `time.completed`) and a `running` shell or compaction are left out.
pub fn is_settled(kind: &str, data: &Map<String, Value>) -> bool {
    match kind {
        "assistant" => data
            .get("time")
            .and_then(|t| t.get("completed"))
            .is_some_and(|c| !c.is_null()),
        "shell" | "compaction" => data.get("status").and_then(Value::as_str) != Some("running"),
        _ => true,
    }
}

/// `info` of the export document of a session whose `session_v2` row is `row` (by column
/// name, JSON columns as text): what restore compares a row it is about to write with.
pub fn info_of_row(row: &Map<String, Value>) -> Result<Map<String, Value>> {
    V2Row(Columns::from_map(row.clone())).info()
}

/// One `session_v2` row by column name.
struct V2Row(Columns);

impl std::ops::Deref for V2Row {
    type Target = Columns;
    fn deref(&self) -> &Columns {
        &self.0
    }
}

impl V2Row {
    /// `Session.Info` as a map (see [`InfoFields`]).
    fn info(&self) -> Result<Map<String, Value>> {
        match serde_json::to_value(self.info_fields()?)? {
            Value::Object(info) => Ok(info),
            _ => unreachable!("`Session.Info` serialises as an object"),
        }
    }

    /// `Session.Info` ready to print: the JSON columns it holds parsed (the fork's boundary
    /// only when there is a fork), the others read in place.
    fn info_fields(&self) -> Result<InfoFields<'_>> {
        let fork_boundary = match self.present("fork_session_id") {
            Some(_) => self.json("fork_boundary")?,
            None => Value::Null,
        };
        Ok(InfoFields {
            row: &self.0,
            fork_boundary,
            metadata: self.json("metadata")?,
            revert: self.json("revert")?,
            permission: self.json("permission")?,
            model: self.json("model")?,
        })
    }
}

/// `Session.Info` of a `session_v2` row, which serialises as 2.0.25 encodes it
/// (opencode-2x.md §6): keys in the order that section lists them, unset ones left out.
/// `slug`, `version`, `share_url` and the diff summary are not part of it; they stay in the
/// extra record's `session_v2` row. Serialised straight from the row, it is printed without
/// a map being built for it (`V2Rows::render`).
struct InfoFields<'a> {
    row: &'a Columns,
    fork_boundary: Value,
    metadata: Value,
    revert: Value,
    permission: Value,
    model: Value,
}

impl serde::Serialize for InfoFields<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let row = self.row;
        let column = |name| set(row.get(name));
        let zero = Value::from(0);
        let number = |name| column(name).unwrap_or(&zero);
        let mut info = serializer.serialize_map(None)?;
        info.serialize_entry("id", row.get("id"))?;
        if let Some(parent) = column("parent_id") {
            info.serialize_entry("parentID", parent)?;
        }
        if let Some(fork) = column("fork_session_id") {
            let members = [
                ("sessionID", Some(fork)),
                ("boundary", set(&self.fork_boundary)),
            ];
            info.serialize_entry("fork", &Members(&members))?;
        }
        info.serialize_entry("projectID", row.get("project_id"))?;
        let location = [
            ("directory", Some(row.get("directory"))),
            ("workspaceID", column("workspace_id")),
        ];
        info.serialize_entry("location", &Members(&location))?;
        if let Some(path) = column("path") {
            info.serialize_entry("subpath", path)?;
        }
        if let Some(title) = column("title") {
            info.serialize_entry("title", title)?;
        }
        if let Some(metadata) = set(&self.metadata) {
            info.serialize_entry("metadata", metadata)?;
        }
        info.serialize_entry("cost", number("cost"))?;
        let tokens = Tokens {
            input: number("tokens_input"),
            output: number("tokens_output"),
            reasoning: number("tokens_reasoning"),
            cache: TokensCache {
                read: number("tokens_cache_read"),
                write: number("tokens_cache_write"),
            },
        };
        info.serialize_entry("tokens", &tokens)?;
        if let Some(revert) = set(&self.revert) {
            info.serialize_entry("revert", revert)?;
        }
        if let Some(permission) = set(&self.permission) {
            info.serialize_entry("permissions", permission)?;
        }
        if let Some(agent) = column("agent") {
            info.serialize_entry("agent", agent)?;
        }
        if let Value::Object(model) = &self.model {
            let default = Value::from("default");
            let variant = model.get("variant").and_then(set).unwrap_or(&default);
            let members = [
                ("id", model.get("id")),
                ("providerID", model.get("providerID")),
                ("variant", Some(variant)),
            ];
            info.serialize_entry("model", &Members(&members))?;
        }
        // 0 is how 2.x writes "not archived".
        let archived = column("time_archived").filter(|v| v.as_i64() != Some(0));
        let time = [
            ("created", Some(row.get("time_created"))),
            ("updated", Some(row.get("time_updated"))),
            ("idle", column("time_idle")),
            ("viewed", column("time_viewed")),
            ("archived", archived),
        ];
        info.serialize_entry("time", &Members(&time))?;
        if let Some(outcome) = column("idle_outcome") {
            info.serialize_entry("outcome", outcome)?;
        }
        info.end()
    }
}

/// `value` unless it is `null`.
fn set(value: &Value) -> Option<&Value> {
    Some(value).filter(|v| !v.is_null())
}

/// An object of `(key, value)` members in this order, the `None` ones left out.
struct Members<'a>(&'a [(&'a str, Option<&'a Value>)]);

impl serde::Serialize for Members<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let members = self.0.iter().filter_map(|(k, v)| v.map(|v| (k, v)));
        serializer.collect_map(members)
    }
}

#[derive(serde::Serialize)]
struct Tokens<'a> {
    input: &'a Value,
    output: &'a Value,
    reasoning: &'a Value,
    cache: TokensCache<'a>,
}

#[derive(serde::Serialize)]
struct TokensCache<'a> {
    read: &'a Value,
    write: &'a Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn unsettled_rows_are_the_streaming_and_running_ones() {
        let done = obj(json!({"time": {"created": 1, "completed": 2}}));
        let streaming = obj(json!({"time": {"created": 1, "streamed": 2}}));
        assert!(is_settled("assistant", &done));
        assert!(!is_settled("assistant", &streaming));
        assert!(!is_settled("shell", &obj(json!({"status": "running"}))));
        assert!(is_settled("shell", &obj(json!({"status": "exited"}))));
        assert!(!is_settled(
            "compaction",
            &obj(json!({"status": "running"}))
        ));
        assert!(is_settled("compaction", &obj(json!({"status": "failed"}))));
        assert!(is_settled("idle", &obj(json!({"outcome": "succeeded"}))));
    }

    fn session_row() -> V2Row {
        V2Row(Columns::from_map(obj(json!({
            "id": "ses_a", "project_id": "p", "workspace_id": null, "parent_id": null,
            "fork_session_id": null, "fork_boundary": null, "slug": "s", "directory": "/r",
            "path": null, "title": "T", "version": "2.0.25", "share_url": null,
            "metadata": "{\"k\":[1,2.5,{}]}", "cost": 0.5, "tokens_input": 3,
            "tokens_output": 4, "tokens_reasoning": 0, "tokens_cache_read": 1,
            "tokens_cache_write": 0, "revert": null, "permission": null, "agent": "build",
            "model": "{\"id\":\"m1\",\"providerID\":\"fake\"}",
            "time_created": 10, "time_updated": 20, "time_idle": 19, "time_viewed": null,
            "idle_outcome": "succeeded", "time_archived": 0,
        }))))
    }

    /// Session rows whose `data` columns are `rows`, as (type, data) pairs.
    fn rows(rows: &[(&str, &str)]) -> V2Rows {
        let mut read = V2Rows::new("ses_a", Path::new("/store/opencode.db"), session_row());
        for (seq, (kind, data)) in rows.iter().enumerate() {
            let id = format!("msg_{seq}");
            let times = [json!(100 + seq), Value::Null];
            read.push(&id, kind, seq as i64, times, data.as_bytes());
        }
        read
    }

    /// `render` gives what `documents` does, printed; `None` sends the caller to `documents`.
    fn rendered_as_parsed(rows: &V2Rows) -> Option<()> {
        let (text, extra) = rows.render()?;
        let (doc, parsed_extra) = rows.documents().unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            String::from_utf8(crate::json::pretty_line(&doc)).unwrap()
        );
        assert_eq!(extra, parsed_extra);
        // Printed without being made a map first, the extra record is the same file.
        use crate::archive::documents::{extra_json, extra_json_of};
        let (_, printable) = rows.render_printable()?;
        assert_eq!(
            String::from_utf8(extra_json_of("ses_a", &printable)).unwrap(),
            String::from_utf8(extra_json("ses_a", parsed_extra).unwrap()).unwrap()
        );
        Some(())
    }

    #[test]
    fn rendered_rows_print_the_parsed_document() {
        let cases: &[&[(&str, &str)]] = &[
            &[],
            &[("user", "{}")],
            // Whitespace between tokens does not change what is printed.
            &[("user", r#" { "a" : [ 1 , { } ] } "#)],
            &[
                ("system", r#"{"text":"be brief","time":{"created":1}}"#),
                (
                    "user",
                    r#"{"text":"héllo \"q\"\n","files":[],"time":{"created":2}}"#,
                ),
                (
                    "assistant",
                    r#"{"agent":"build","content":[{"type":"text","text":"ok"}],"cost":0.25,"time":{"created":3,"completed":4}}"#,
                ),
                ("assistant", r#"{"time":{"created":5}}"#),
                ("shell", r#"{"command":"ls","status":"running"}"#),
                ("shell", r#"{"command":"ls","status":"exited","exit":0}"#),
                ("compaction", r#"{"status":"running"}"#),
                ("assistant", r#"{"time":{"created":6,"completed":null}}"#),
                (
                    "assistant",
                    r#"{"cost":1e+21,"time":{"created":7,"completed":8}}"#,
                ),
            ],
            // Only unsettled rows: the messages are `[]`.
            &[("assistant", r#"{"time":{"created":5}}"#)],
        ];
        for case in cases {
            assert!(rendered_as_parsed(&rows(case)).is_some(), "{case:?}");
        }
    }

    #[test]
    fn rows_not_in_canonical_form_are_left_to_the_parser() {
        for data in [
            r#"{"id":"own","text":"x"}"#,
            r#"{"type":"user"}"#,
            r#"{"a":1.0}"#,
            r#"{"a":1,"a":2}"#,
            "[1]",
        ] {
            let rows = rows(&[("user", data)]);
            assert!(rows.render().is_none(), "{data}");
        }
        // A `time` that is not an object: the parser decides (the row is unsettled).
        let odd = rows(&[("assistant", r#"{"time":5}"#)]);
        assert!(odd.render().is_none());
        assert!(odd.documents().unwrap().1.contains_key("session_message"));
        let damaged = rows(&[("user", "{\"a\":")]);
        assert!(damaged.render().is_none());
        assert!(damaged.documents().is_err());
    }

    #[test]
    fn info_follows_the_2_0_25_shape() {
        let row = V2Row(Columns::from_map(obj(json!({
            "id": "ses_a", "project_id": "p", "workspace_id": null, "parent_id": null,
            "fork_session_id": null, "fork_boundary": null, "slug": "s", "directory": "/r",
            "path": null, "title": "T", "version": "2.0.25", "share_url": null,
            "metadata": null, "cost": 0.5, "tokens_input": 3, "tokens_output": 4,
            "tokens_reasoning": 0, "tokens_cache_read": 1, "tokens_cache_write": 0,
            "revert": null, "permission": null, "agent": null,
            "model": "{\"id\":\"m1\",\"providerID\":\"fake\"}",
            "time_created": 10, "time_updated": 20, "time_idle": 19, "time_viewed": null,
            "idle_outcome": "succeeded", "time_archived": 0,
        }))));
        let info = row.info().unwrap();
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"id":"ses_a","projectID":"p","location":{"directory":"/r"},"title":"T","cost":0.5,"tokens":{"input":3,"output":4,"reasoning":0,"cache":{"read":1,"write":0}},"model":{"id":"m1","providerID":"fake","variant":"default"},"time":{"created":10,"updated":20,"idle":19},"outcome":"succeeded"}"#
        );
        // Every optional member set, a model with a null variant and no id.
        let row = V2Row(Columns::from_map(obj(json!({
            "id": "ses_b", "project_id": "p", "workspace_id": "wrk_1", "parent_id": "ses_p",
            "fork_session_id": "ses_f", "fork_boundary": "{\"messageID\":\"msg_1\"}",
            "slug": "s", "directory": "/r", "path": "sub/dir", "title": null,
            "version": "2.0.25", "share_url": null, "metadata": "{\"k\":[1,2.5,{}]}",
            "cost": null, "tokens_input": 3, "tokens_output": null, "tokens_reasoning": 1,
            "tokens_cache_read": null, "tokens_cache_write": 2,
            "revert": "{\"messageID\":\"msg_2\"}", "permission": "[{\"allow\":true}]",
            "agent": "plan", "model": "{\"providerID\":\"fake\",\"variant\":null}",
            "time_created": 10, "time_updated": 20, "time_idle": null, "time_viewed": 15,
            "idle_outcome": null, "time_archived": 30,
        }))));
        let info = row.info().unwrap();
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"id":"ses_b","parentID":"ses_p","fork":{"sessionID":"ses_f","boundary":{"messageID":"msg_1"}},"projectID":"p","location":{"directory":"/r","workspaceID":"wrk_1"},"subpath":"sub/dir","metadata":{"k":[1,2.5,{}]},"cost":0,"tokens":{"input":3,"output":0,"reasoning":1,"cache":{"read":0,"write":2}},"revert":{"messageID":"msg_2"},"permissions":[{"allow":true}],"agent":"plan","model":{"providerID":"fake","variant":"default"},"time":{"created":10,"updated":20,"viewed":15,"archived":30}}"#
        );
        // Printed without a map in between, it is the same text.
        let printed = crate::json::pretty(&row.info_fields().unwrap());
        assert_eq!(printed, crate::json::pretty(&info));
        // A fork's boundary is read only when there is a fork.
        let Ok(Value::Object(mut columns)) = serde_json::to_value(&row.0) else {
            unreachable!("a row serialises as an object")
        };
        columns.insert("fork_session_id".into(), Value::Null);
        columns.insert("fork_boundary".into(), json!("{not json"));
        let info = V2Row(Columns::from_map(columns.clone())).info().unwrap();
        assert!(!info.contains_key("fork"));
        columns.insert("fork_session_id".into(), json!("ses_f"));
        assert!(V2Row(Columns::from_map(columns.clone())).info().is_err());
        columns.insert("fork_boundary".into(), Value::Null);
        let info = V2Row(Columns::from_map(columns)).info().unwrap();
        assert_eq!(info["fork"], json!({"sessionID": "ses_f"}));
    }
}
