//! Session documents as files: the `opencode export` JSON and the archive's extra records.

use crate::store::{Session, Store};
use anyhow::Result;
use serde_json::Value;

/// The exact bytes `opencode export <id>` prints: `JSON.stringify(doc, null, 2)` and a newline.
pub fn session_json(store: &Store, session: &Session) -> Result<Vec<u8>> {
    let doc = store.export_document(session)?;
    Ok(crate::json::pretty_line(&doc))
}

/// `sessions/<id>.extra.json`: todos, diffs, v2 rows and share URL; `None` when empty.
pub fn extra_json(store: &Store, session: &Session) -> Result<Option<Vec<u8>>> {
    let extra = store.extra(session)?;
    if extra.is_empty() {
        return Ok(None);
    }
    let mut doc = serde_json::Map::new();
    doc.insert("sessionID".into(), Value::String(session.id.clone()));
    doc.extend(extra);
    Ok(Some(crate::json::pretty_line(&Value::Object(doc))))
}
