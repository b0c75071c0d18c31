//! The JSON documents a session is archived as, in both forms and by `export`.

use crate::redact::Redactor;
use crate::store::{ExportRows, Session, Store, V2Rows};
use anyhow::Result;
use serde_json::{Map, Value};

/// A session's export document and extra record as read from the store, redacted when a
/// redactor is given: what both archive forms write for it.
pub struct Documents {
    pub doc: Value,
    pub extra: Map<String, Value>,
}

impl Documents {
    /// Reads `session` from `store`; errors are the store's own (they name the row or file).
    pub fn read(store: &Store, session: &Session, redactor: Option<&Redactor>) -> Result<Self> {
        let (doc, extra) = store.documents(session)?;
        let mut docs = Documents { doc, extra };
        if let Some(r) = redactor {
            docs.redact(r);
        }
        Ok(docs)
    }

    /// Replaces the secret-shaped strings of both documents (done apart from reading, so
    /// that it can run on another thread than the store's); returns how many there were, so
    /// that a caller knows when the documents are as they were read.
    pub fn redact(&mut self, redactor: &Redactor) -> usize {
        let in_doc = redactor.redact_value(&mut self.doc);
        let mut extra = Value::Object(std::mem::take(&mut self.extra));
        let in_extra = redactor.redact_value(&mut extra);
        let Value::Object(extra) = extra else {
            unreachable!("redaction keeps an object an object")
        };
        self.extra = extra;
        in_doc + in_extra
    }
}

/// A session as the store's thread read it, for a worker to write out (`pack`,
/// `push-sessions`): a 1.x session's stored rows and its extra record, a 2.x session's rows
/// (which hold both), or the parsed documents.
pub enum ReadSession {
    /// Not parsed: the worker writes the document out of them ([`ExportRows::render`]).
    Rows(ExportRows, Map<String, Value>),
    /// Parsed by the worker.
    V2(V2Rows),
    Parsed(Documents),
}

impl ReadSession {
    /// Reads `session`: a 1.x session's rows as stored when `as_rows` (a caller that redacts
    /// the document itself wants it parsed) and the store has them, a 2.x session's rows,
    /// else the parsed documents, not redacted. Errors are the store's own.
    pub fn read(store: &Store, session: &Session, as_rows: bool) -> Result<ReadSession> {
        if as_rows {
            if let Some(rows) = store.export_rows(session)? {
                return Ok(ReadSession::Rows(rows, store.extra(session)?));
            }
        }
        if let Some(rows) = store.v2_rows(session)? {
            return Ok(ReadSession::V2(rows));
        }
        Documents::read(store, session, None).map(ReadSession::Parsed)
    }

    /// About how many bytes it holds; `None` for parsed documents, whose size is not known.
    pub fn size(&self) -> Option<u64> {
        match self {
            ReadSession::Rows(rows, _) => Some(rows.size()),
            ReadSession::V2(rows) => Some(rows.size()),
            ReadSession::Parsed(_) => None,
        }
    }
}

/// The exact bytes `opencode export <id>` prints: `JSON.stringify(doc, null, 2)` and a newline.
pub fn session_json(store: &Store, session: &Session) -> Result<Vec<u8>> {
    store.export_text(session)
}

/// The extra record of session `id` (todos, diffs, v2 rows, share URL) as a file, with the
/// session's ID first; `None` when there is nothing to record.
pub fn extra_json(id: &str, extra: Map<String, Value>) -> Option<Vec<u8>> {
    (!extra.is_empty()).then(|| extra_json_of(id, &extra))
}

/// [`extra_json`] of a record that serialises as a map with at least one entry (its keys
/// name store tables, never `sessionID`), printed without building a `Map` of it first.
pub fn extra_json_of<E: serde::Serialize>(id: &str, entries: &E) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct WithId<'a, E> {
        #[serde(rename = "sessionID")]
        id: &'a str,
        #[serde(flatten)]
        entries: &'a E,
    }
    crate::json::pretty_line(&WithId { id, entries })
}
