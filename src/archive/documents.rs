//! The JSON documents a session is archived as, in both forms and by `export`.

use crate::redact::Redactor;
use crate::store::{Session, Store};
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
    /// that it can run on another thread than the store's).
    pub fn redact(&mut self, redactor: &Redactor) {
        redactor.redact_value(&mut self.doc);
        let mut extra = Value::Object(std::mem::take(&mut self.extra));
        redactor.redact_value(&mut extra);
        let Value::Object(extra) = extra else {
            unreachable!("redaction keeps an object an object")
        };
        self.extra = extra;
    }
}

/// The exact bytes `opencode export <id>` prints: `JSON.stringify(doc, null, 2)` and a newline.
pub fn session_json(store: &Store, session: &Session) -> Result<Vec<u8>> {
    store.export_text(session)
}

/// The extra record of session `id` (todos, diffs, v2 rows, share URL) as a file, with the
/// session's ID first; `None` when there is nothing to record.
pub fn extra_json(id: &str, extra: Map<String, Value>) -> Option<Vec<u8>> {
    if extra.is_empty() {
        return None;
    }
    let mut doc = Map::new();
    doc.insert("sessionID".into(), Value::String(id.to_owned()));
    doc.extend(extra);
    Some(crate::json::pretty_line(&Value::Object(doc)))
}
