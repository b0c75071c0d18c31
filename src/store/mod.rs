//! OpenCode's session stores, read into one domain model.
//!
//! Two kinds exist: the SQLite database (`opencode.db`, OpenCode ≥ 1.2) and the JSON file tree
//! (`storage/`, OpenCode ≤ 1.1). A user who upgraded has both; [`Store`] reads both and keeps
//! one copy per session ID, preferring SQLite (1.2's migration copied the JSON files in and
//! left them behind). Everything here is read-only.
//!
//! The database holds one of two [`Generation`]s of sessions, or both: OpenCode 2.x upgrades
//! the file in place, adds `session_v2` and keeps the 1.x tables frozen beside it. Which copy
//! of a session counts is decided in [`authority`].

pub mod authority;
mod columns;
mod export_rows;
pub mod gen2;
mod legacy;
pub mod location;
pub mod scan;
mod sqlite;

pub use authority::{Hidden, HiddenReason};
pub use export_rows::ExportRows;
pub use gen2::{Migration, V2Extra, V2Rows};
pub use location::StoreLocation;
pub use sqlite::{open_read_only, REQUIRED_COLUMNS};

use crate::error::UserError;
use anyhow::Result;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// Which kind of store a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Json,
}

/// Which OpenCode generation's tables a session is stored in; archives record it as
/// `"generation": 1` or `2` (absent means 1: archives from before 2.x support).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generation {
    /// OpenCode ≤ 1.x: the JSON tree, or SQLite `session`/`message`/`part` (with 1.18's
    /// v2-engine `session_message` rows kept in the extra record).
    #[default]
    V1,
    /// OpenCode 2.x: `session_v2` and its `session_message` rows.
    V2,
}

impl Generation {
    pub fn number(self) -> u8 {
        match self {
            Generation::V1 => 1,
            Generation::V2 => 2,
        }
    }

    pub fn from_number(n: u64) -> Option<Generation> {
        match n {
            1 => Some(Generation::V1),
            2 => Some(Generation::V2),
            _ => None,
        }
    }
}

impl serde::Serialize for Generation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

impl<'de> serde::Deserialize<'de> for Generation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Generation, D::Error> {
        let n = <u64 as serde::Deserialize>::deserialize(d)?;
        Generation::from_number(n)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown store generation {n}")))
    }
}

/// A project row, reduced to what decides membership.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub worktree: String,
    pub sandboxes: Vec<String>,
    /// `project_directory` rows (OpenCode ≥ 1.15): every checkout seen for this project.
    /// `project_directory` (OpenCode 1.15–1.18) and `worktree` (2.x) rows: every checkout
    /// seen for this project.
    pub directories: Vec<String>,
    /// `git`, `hg`, or `None` for `global` and 2.x's markerless `directory:` projects.
    pub vcs: Option<String>,
}

/// One session as listed: the columns that decide membership and listing, and a summary.
///
/// The full `info` object (which holds the session's summary diffs, often many kilobytes) is
/// not kept here: [`Store::export_document`] reads it again for the one session it exports,
/// so listing or packing thousands of sessions holds only this much per session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub project_id: String,
    pub parent_id: Option<String>,
    pub title: String,
    pub directory: String,
    pub time_created: i64,
    pub time_updated: i64,
    pub kind: StoreKind,
    pub generation: Generation,
    /// A 2.x session whose 1.x copy 1.x changed after the import: that copy is kept in the
    /// session's extra record as `legacy` (see [`authority::resolve`]).
    pub divergent: bool,
    pub summary: SessionSummary,
}

/// What notes and the pack manifest show of a session, taken from its `info` when listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSummary {
    /// The OpenCode version that created the session.
    pub version: Option<String>,
    /// `providerID/id` of the session's model, when it records one.
    pub model: Option<String>,
    pub tokens_input: i64,
    pub tokens_output: i64,
}

impl SessionSummary {
    /// The summary of an `info` object as `opencode export` prints it.
    pub fn of(info: &Map<String, Value>) -> SessionSummary {
        let model = info.get("model");
        let model_field = |key: &str| model.and_then(|m| m.get(key)).and_then(Value::as_str);
        let tokens = |key: &str| {
            info.get("tokens")
                .and_then(|t| t.get(key))
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        SessionSummary {
            version: info
                .get("version")
                .and_then(Value::as_str)
                .map(String::from),
            model: model_field("providerID")
                .zip(model_field("id"))
                .map(|(provider, id)| format!("{provider}/{id}")),
            tokens_input: tokens("input"),
            tokens_output: tokens("output"),
        }
    }
}

/// How a session stands in the store, read without reading the session: see
/// [`Store::change_stamps`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeStamp {
    /// A fingerprint that changes whenever the session's content does; only equality means
    /// anything.
    pub text: String,
    /// When the session last changed (ms since the epoch): the newest of its own update time
    /// and its messages' (OpenCode 1.18 leaves the session's time alone when a v2 turn adds
    /// `session_message` rows).
    pub changed: i64,
}

/// What a file that is not a regular file is, in words.
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// A session the store holds but cannot read: a damaged row or file. Which project it is
/// filed under is kept, so that only this repository's damaged sessions are reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub session_id: String,
    pub project_id: String,
    /// What is wrong with which row or file.
    pub reason: String,
}

/// The opened stores of one OpenCode data directory.
pub struct Store {
    location: StoreLocation,
    sqlite: Option<sqlite::SqliteStore>,
    legacy: Option<legacy::LegacyStore>,
    /// The sessions the last [`Store::sessions`] could not read.
    unreadable: RefCell<Vec<Unreadable>>,
    /// The 1.x copies the last [`Store::sessions`] did not list as live.
    hidden: RefCell<Vec<Hidden>>,
}

impl Store {
    /// Ends the read snapshot of the SQLite store, so that a writer on the same file can
    /// commit (see [`sqlite::SqliteStore::end_snapshot`]).
    pub fn end_snapshot(&self) -> Result<()> {
        match &self.sqlite {
            Some(sqlite) => sqlite.end_snapshot(),
            None => Ok(()),
        }
    }

    /// Opens whatever stores exist at `location`; fails when there is none.
    pub fn open(location: StoreLocation) -> Result<Store> {
        let sqlite = match std::fs::metadata(&location.db) {
            Ok(meta) if meta.is_file() => Some(sqlite::SqliteStore::open(&location.db)?),
            // Opening a named pipe would wait for a writer forever; nothing else is a database.
            Ok(meta) => anyhow::bail!(UserError::new(format!(
                "OpenCode database {} is not a regular file (it is {})",
                location.db.display(),
                file_kind(&meta.file_type())
            ))
            .hint("point --store at OpenCode's data directory or opencode.db")),
            Err(_) => None,
        };
        let legacy = legacy::LegacyStore::open(&location.data_dir.join("storage"))?;
        if sqlite.is_none() && legacy.is_none() {
            anyhow::bail!(UserError::new(format!(
                "no OpenCode session store at {}",
                location.db.display()
            ))
            .hint(
                "run opencode in this repository first, or point at a store with --store <path>"
            ));
        }
        Ok(Store {
            location,
            sqlite,
            legacy,
            unreadable: RefCell::new(Vec::new()),
            hidden: RefCell::new(Vec::new()),
        })
    }

    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// The kinds of store present, SQLite first.
    pub fn kinds(&self) -> Vec<StoreKind> {
        let mut kinds = Vec::new();
        if self.sqlite.is_some() {
            kinds.push(StoreKind::Sqlite);
        }
        if self.legacy.is_some() {
            kinds.push(StoreKind::Json);
        }
        kinds
    }

    /// Every project row in the store(s).
    pub fn projects(&self) -> Result<Vec<Project>> {
        let mut projects = Vec::new();
        if let Some(db) = &self.sqlite {
            projects.extend(db.projects()?);
        }
        if let Some(json) = &self.legacy {
            projects.extend(json.projects()?);
        }
        Ok(projects)
    }

    /// Every readable session in the store(s), one per ID, sorted by ID. A damaged session
    /// row or file does not stop the listing: it is left out and kept for [`Store::unreadable`].
    pub fn sessions(&self) -> Result<Vec<Session>> {
        let mut sessions = Vec::new();
        let mut unreadable = Vec::new();
        let mut seen = HashSet::new();
        let mut hidden = Vec::new();
        if let Some(db) = &self.sqlite {
            let (mut readable, damaged) = db.sessions()?;
            unreadable.extend(damaged);
            if db.is_v2() {
                let gen2 = db.gen2();
                let migration = self.migration()?;
                let imported_at = match migration {
                    Migration::Completed { at } => Some(at),
                    _ => None,
                };
                let legacy_updated: HashMap<&str, i64> = (readable.iter())
                    .map(|s| (s.id.as_str(), s.time_updated))
                    .collect();
                let continued_in_1x = |id: &str, updated: i64| {
                    legacy_updated
                        .get(id)
                        .is_some_and(|&legacy| legacy > updated)
                };
                let (v2, damaged) = gen2.sessions(imported_at, continued_in_1x)?;
                unreadable.extend(damaged);
                (readable, hidden) = authority::resolve(readable, v2, migration);
                // A JSON-tree copy of a hidden session is no more alive than its SQLite one.
                seen.extend(hidden.iter().map(|h| h.session.id.clone()));
            }
            for s in readable {
                seen.insert(s.id.clone());
                sessions.push(s);
            }
        }
        if let Some(json) = &self.legacy {
            let (readable, damaged) = json.sessions()?;
            for s in readable {
                if seen.insert(s.id.clone()) {
                    sessions.push(s);
                }
            }
            unreadable.extend(
                damaged
                    .into_iter()
                    .filter(|u| !seen.contains(&u.session_id)),
            );
        }
        sessions.sort_by(|a, b| a.id.cmp(&b.id));
        *self.unreadable.borrow_mut() = unreadable;
        *self.hidden.borrow_mut() = hidden;
        Ok(sessions)
    }

    /// The 1.x copies the last [`Store::sessions`] left out of the live list, and why.
    pub fn hidden(&self) -> Vec<Hidden> {
        self.hidden.borrow().clone()
    }

    /// The generations of sessions the database holds: `[V1]`, `[V2]` (a fresh 2.x file) or
    /// `[V1, V2]` (upgraded); a JSON tree alone is `[V1]`.
    pub fn generations(&self) -> Vec<Generation> {
        let mut out = Vec::new();
        let v1 = self.legacy.is_some()
            || self
                .sqlite
                .as_ref()
                .is_some_and(|db| db.has_table("session"));
        if v1 {
            out.push(Generation::V1);
        }
        if self.sqlite.as_ref().is_some_and(|db| db.is_v2()) {
            out.push(Generation::V2);
        }
        out
    }

    /// A 2.x database upgraded in place from 1.x: it keeps the frozen 1.x `session` tables
    /// that 2.x's one-shot import reads (a JSON tree beside it is not imported by 2.x).
    pub fn is_upgraded_2x(&self) -> bool {
        self.sqlite
            .as_ref()
            .is_some_and(|db| db.is_v2() && db.has_table("session"))
    }

    /// How far OpenCode 2.x's import of the 1.x sessions got (`NotStarted` on a 1.x store).
    pub fn migration(&self) -> Result<Migration> {
        match &self.sqlite {
            Some(db) if db.is_v2() => db.gen2().migration(db.has_table("kv")),
            _ => Ok(Migration::NotStarted),
        }
    }

    /// The sessions the last [`Store::sessions`] left out because they cannot be read.
    pub fn unreadable(&self) -> Vec<Unreadable> {
        self.unreadable.borrow().clone()
    }

    /// The number of messages of a session (v1 `message` or v2 `session_message` rows).
    pub fn message_count(&self, session: &Session) -> Result<usize> {
        if session.generation == Generation::V2 {
            return self.sqlite().gen2().message_count(&session.id);
        }
        match session.kind {
            StoreKind::Sqlite => self.sqlite().message_count(&session.id),
            StoreKind::Json => self.legacy().message_count(&session.id),
        }
    }

    /// A cheap fingerprint per session that changes whenever its content does: the session's
    /// `time_updated`, its message count and the newest message update (v1 messages, and v2
    /// `session_message` rows where a session has them). Every OpenCode step
    /// ends by updating its assistant message, so part changes show up here too. Lets the
    /// archive skip unchanged sessions without reading them.
    pub fn change_stamps(&self) -> Result<HashMap<String, ChangeStamp>> {
        let mut stamps = HashMap::new();
        if let Some(json) = &self.legacy {
            stamps.extend(json.change_stamps()?);
        }
        if let Some(db) = &self.sqlite {
            stamps.extend(db.change_stamps()?);
            if db.is_v2() {
                // A 2.x session's stamp includes its 1.x copy's: a divergent session's
                // archived `legacy` copy changes when 1.x goes on writing it.
                for (id, v2) in db.gen2().change_stamps()? {
                    let stamp = match stamps.remove(&id) {
                        Some(v1) => ChangeStamp {
                            text: format!("{}/v1/{}", v2.text, v1.text),
                            changed: v2.changed.max(v1.changed),
                        },
                        None => v2,
                    };
                    stamps.insert(id, stamp);
                }
            }
        }
        Ok(stamps)
    }

    /// The messages of a session, oldest first, each `{info, parts}` as `opencode export` has them.
    pub fn messages(&self, session: &Session) -> Result<Vec<Value>> {
        if session.generation == Generation::V2 {
            let doc = self.sqlite().gen2().export_document(&session.id)?;
            return Ok(match doc.get("messages") {
                Some(Value::Array(messages)) => messages.clone(),
                _ => Vec::new(),
            });
        }
        match session.kind {
            StoreKind::Sqlite => self.sqlite().messages(&session.id),
            StoreKind::Json => self.legacy().messages(&session.id),
        }
    }

    /// What a session has beyond the export document (todos, diffs, v2 rows, share URL), as a
    /// JSON object; empty when there is nothing.
    pub fn extra(&self, session: &Session) -> Result<Map<String, Value>> {
        if session.generation == Generation::V2 {
            return self.extra_v2(session);
        }
        let mut extra = match session.kind {
            StoreKind::Sqlite => self.sqlite().extra(&session.id)?,
            StoreKind::Json => self.legacy().extra(&session.id)?,
        };
        let diff_file = self
            .location
            .data_dir
            .join("storage/session_diff")
            .join(format!("{}.json", session.id));
        if let Some(diff) = legacy::read_json_if_exists(&diff_file)? {
            extra.insert("session_diff".into(), diff);
        }
        Ok(extra)
    }

    /// The stored records of a project (project row, directories, permissions) for an archive.
    pub fn project_record(&self, project_id: &str) -> Result<Option<Value>> {
        if let Some(db) = &self.sqlite {
            if let Some(record) = db.project_record(project_id)? {
                return Ok(Some(record));
            }
        }
        match &self.legacy {
            Some(json) => json.project_record(project_id),
            None => Ok(None),
        }
    }

    /// The `info` document of a session followed by its messages: the `opencode export` shape.
    pub fn export_document(&self, session: &Session) -> Result<Value> {
        if session.generation == Generation::V2 {
            return self.sqlite().gen2().export_document(&session.id);
        }
        let mut doc = Map::new();
        let info = match session.kind {
            StoreKind::Sqlite => self.sqlite().session_info(&session.id)?,
            StoreKind::Json => self.legacy().session_info(session)?,
        };
        doc.insert("info".into(), Value::Object(info));
        doc.insert("messages".into(), Value::Array(self.messages(session)?));
        Ok(Value::Object(doc))
    }

    /// A 2.x session's rows, read but not parsed ([`V2Rows::documents`] gives what
    /// [`Self::documents`] does, on any thread); `None` for any other session.
    pub fn v2_rows(&self, session: &Session) -> Result<Option<V2Rows>> {
        if session.generation == Generation::V2 && !session.divergent {
            return self.sqlite().gen2().rows(&session.id).map(Some);
        }
        Ok(None)
    }

    /// [`Self::export_document`] and [`Self::extra`] together; a 2.x session's rows are
    /// read (and parsed) once for both.
    pub fn documents(&self, session: &Session) -> Result<(Value, Map<String, Value>)> {
        match self.v2_rows(session)? {
            Some(rows) => rows.documents(),
            None => Ok((self.export_document(session)?, self.extra(session)?)),
        }
    }

    /// [`Self::export_document`] as `crate::json::pretty_line` prints it (what `opencode
    /// export` prints); a 1.x SQLite session is written straight from its stored text
    /// ([`sqlite::SqliteStore::export_text`]) when its rows allow it.
    pub fn export_text(&self, session: &Session) -> Result<Vec<u8>> {
        match self.export_text_direct(session)? {
            Some(text) => Ok(text),
            None => Ok(crate::json::pretty_line(&self.export_document(session)?)),
        }
    }

    /// [`Self::export_text`] written straight from the stored rows, without parsing them;
    /// `None` where that cannot be done (not a 1.x SQLite session, or a row not in
    /// `JSON.stringify`'s canonical form).
    pub fn export_text_direct(&self, session: &Session) -> Result<Option<Vec<u8>>> {
        if session.generation == Generation::V1 && session.kind == StoreKind::Sqlite {
            return self.sqlite().export_text(&session.id);
        }
        Ok(None)
    }

    /// The rows of [`Self::export_text_direct`], read but not yet written (the writing can
    /// go to another thread: [`ExportRows::render`]); `None` where there is no direct path.
    pub fn export_rows(&self, session: &Session) -> Result<Option<ExportRows>> {
        if session.generation == Generation::V1 && session.kind == StoreKind::Sqlite {
            return self.sqlite().export_rows(&session.id);
        }
        Ok(None)
    }

    /// The 2.x extra record: the `session_v2` row, unsettled `session_message` rows, and a
    /// divergent session's 1.x copy as `legacy: {document, extra}`.
    fn extra_v2(&self, session: &Session) -> Result<Map<String, Value>> {
        let mut extra = self.sqlite().gen2().extra(&session.id)?;
        if session.divergent {
            let legacy = Session {
                generation: Generation::V1,
                divergent: false,
                ..session.clone()
            };
            let mut copy = Map::new();
            copy.insert("document".into(), self.export_document(&legacy)?);
            copy.insert("extra".into(), Value::Object(self.extra(&legacy)?));
            extra.insert("legacy".into(), Value::Object(copy));
        }
        Ok(extra)
    }

    fn sqlite(&self) -> &sqlite::SqliteStore {
        self.sqlite
            .as_ref()
            .expect("session came from the SQLite store")
    }

    fn legacy(&self) -> &legacy::LegacyStore {
        self.legacy
            .as_ref()
            .expect("session came from the JSON store")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn summary_takes_version_model_and_tokens_from_info() {
        let full = info(json!({
            "version": "1.18.34",
            "model": {"id": "mock", "providerID": "fake", "variant": "x"},
            "tokens": {"input": 120, "output": 7, "reasoning": 0},
            "summary": {"diffs": [{"file": "a", "before": "…", "after": "…"}]},
        }));
        assert_eq!(
            SessionSummary::of(&full),
            SessionSummary {
                version: Some("1.18.34".into()),
                model: Some("fake/mock".into()),
                tokens_input: 120,
                tokens_output: 7,
            }
        );
        // Sessions of older versions have no model and may lack tokens.
        let bare = info(json!({"version": "1.1.65", "model": {"id": "mock"}}));
        assert_eq!(
            SessionSummary::of(&bare),
            SessionSummary {
                version: Some("1.1.65".into()),
                ..SessionSummary::default()
            }
        );
    }
}
