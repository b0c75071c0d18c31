//! The JSON documents a session is archived as, in both forms and by `export`.

use crate::redact::Redactor;
use crate::store::{Session, Store};
use anyhow::Result;
use serde_json::{Map, Value};

/// The exact bytes `opencode export <id>` prints: `JSON.stringify(doc, null, 2)` and a newline.
pub fn session_json(store: &Store, session: &Session) -> Result<Vec<u8>> {
    session_json_redacted(store, session, None)
}

/// Like [`session_json`], with secret-shaped strings replaced when `redactor` is given.
pub fn session_json_redacted(
    store: &Store,
    session: &Session,
    redactor: Option<&Redactor>,
) -> Result<Vec<u8>> {
    let mut doc = store.export_document(session)?;
    if let Some(r) = redactor {
        r.redact_value(&mut doc);
    }
    Ok(crate::json::pretty_line(&doc))
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
