//! Which rows of one archived session a restore writes, given the store's copy.
//!
//! Restore is a union that never loses local content: a row the store lacks is added; a row
//! the store holds is replaced only when the archived session is newer and the archived row
//! differs. An archive written with redaction holds `[REDACTED:…]` placeholders where the
//! store holds the user's own text: a placeholder whose local original redacts to it is
//! replaced by that original, and a row left with any other placeholder never overwrites the
//! local row.

use super::plan::v2_row_ids;
use crate::json::canonical;
use crate::redact::{Redactor, PLACEHOLDER_PREFIX};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A message's `info` or a part, as a JSON object.
type Row = Map<String, Value>;

/// The store's copy of a session.
pub(super) struct LocalCopy {
    pub updated: i64,
    /// Its export document, as the store holds it (never redacted).
    pub doc: Value,
    pub extra: Map<String, Value>,
}

/// What to write of one session.
#[derive(Debug, Default)]
pub struct Rows {
    /// The session row (the re-homed `info`), when it is written.
    pub info: Option<Map<String, Value>>,
    /// Messages with something to write, in the archive's order.
    pub messages: Vec<MessageRows>,
    /// The todo list that replaces the store's.
    pub todos: Option<Vec<Value>>,
    /// The archive holds v2 rows the store lacks (they are inserted, never replaced).
    pub v2_rows: bool,
}

/// One message's rows to write.
#[derive(Debug)]
pub struct MessageRows {
    /// The message's `info` (also what its parts' times default to).
    pub info: Map<String, Value>,
    /// Whether the message row itself is written.
    pub write_info: bool,
    pub parts: Vec<Map<String, Value>>,
}

impl Rows {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.info.is_none() && self.messages.is_empty() && self.todos.is_none() && !self.v2_rows
    }

    /// Every row of `doc` (a session the store lacks), moved out of it.
    pub(super) fn all(doc: Value, extra: &Map<String, Value>, with_v2_rows: bool) -> Rows {
        let Value::Object(mut doc) = doc else {
            return Rows::default();
        };
        let messages = match doc.remove("messages") {
            Some(Value::Array(list)) => list.into_iter().filter_map(message_rows).collect(),
            _ => Vec::new(),
        };
        Rows {
            info: doc.remove("info").and_then(into_object),
            messages,
            todos: extra.get("todos").and_then(Value::as_array).cloned(),
            v2_rows: with_v2_rows && !v2_row_ids(extra).is_empty(),
        }
    }

    /// The rows of `doc` (re-homed, updated at `updated`) that `local` lacks, plus, when
    /// the archive is newer, those it holds newer. `redacted`: the archive was written with
    /// redaction.
    pub(super) fn merge(
        doc: &Value,
        extra: &Map<String, Value>,
        updated: i64,
        local: &LocalCopy,
        redacted: bool,
        with_v2_rows: bool,
    ) -> Rows {
        let newer = updated > local.updated;
        let merger = Merger {
            redactor: redacted.then(Redactor::new),
        };
        let local_messages: HashMap<&str, (&Row, HashMap<&str, &Row>)> = messages_of(&local.doc)
            .map(|(info, parts)| {
                let parts = parts.map(|p| (id_of(p), p)).collect();
                (id_of(info), (info, parts))
            })
            .collect();
        let mut messages = Vec::new();
        for (info, parts) in messages_of(doc) {
            let Some((local_info, local_parts)) = local_messages.get(id_of(info)) else {
                messages.push(MessageRows {
                    info: info.clone(),
                    write_info: true,
                    parts: parts.cloned().collect(),
                });
                continue;
            };
            let merged_info = newer
                .then(|| merger.updated_row(info, local_info, &["path"]))
                .flatten();
            let mut write = Vec::new();
            for part in parts {
                match local_parts.get(id_of(part)) {
                    None => write.push(part.clone()),
                    Some(local_part) if newer => {
                        write.extend(merger.updated_row(part, local_part, &[]));
                    }
                    Some(_) => {}
                }
            }
            if merged_info.is_some() || !write.is_empty() {
                messages.push(MessageRows {
                    write_info: merged_info.is_some(),
                    info: merged_info.unwrap_or_else(|| info.clone()),
                    parts: write,
                });
            }
        }
        let info = match (
            newer,
            doc["info"].as_object(),
            local.doc["info"].as_object(),
        ) {
            (true, Some(info), Some(local_info)) => merger.updated_row(
                info,
                local_info,
                &["projectID", "directory", "path", "workspaceID"],
            ),
            _ => None,
        };
        let todos = extra
            .get("todos")
            .and_then(Value::as_array)
            .filter(|t| !t.is_empty())
            .and_then(
                |archived| match local.extra.get("todos").and_then(Value::as_array) {
                    None => Some(archived.clone()),
                    Some(l) if l.is_empty() => Some(archived.clone()),
                    Some(l) if newer => merger.updated_list(archived, l),
                    Some(_) => None,
                },
            );
        let v2_rows = with_v2_rows && !v2_row_ids(extra).is_subset(&v2_row_ids(&local.extra));
        Rows {
            info,
            messages,
            todos,
            v2_rows,
        }
    }
}

/// The messages of an export document with their parts.
fn messages_of(
    doc: &Value,
) -> impl Iterator<
    Item = (
        &Map<String, Value>,
        impl Iterator<Item = &Map<String, Value>>,
    ),
> {
    doc["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let info = m["info"].as_object()?;
            let parts = m["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_object);
            Some((info, parts))
        })
}

/// A whole message (`{info, parts}`) as rows to write.
fn message_rows(message: Value) -> Option<MessageRows> {
    let Value::Object(mut message) = message else {
        return None;
    };
    let info = into_object(message.remove("info")?)?;
    let parts = match message.remove("parts") {
        Some(Value::Array(parts)) => parts.into_iter().filter_map(into_object).collect(),
        _ => Vec::new(),
    };
    Some(MessageRows {
        info,
        write_info: true,
        parts,
    })
}

fn into_object(value: Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn id_of(row: &Map<String, Value>) -> &str {
    row.get("id").and_then(Value::as_str).unwrap_or("")
}

/// Puts local originals back in place of placeholders.
struct Merger {
    /// Set when the archive was redacted.
    redactor: Option<Redactor>,
}

impl Merger {
    /// `archived` with its placeholders resolved, when it differs from `local` (apart from
    /// the `ignore`d keys) and no placeholder is left unresolved; `None`: keep `local`.
    fn updated_row(
        &self,
        archived: &Map<String, Value>,
        local: &Map<String, Value>,
        ignore: &[&str],
    ) -> Option<Map<String, Value>> {
        let mut merged = Value::Object(archived.clone());
        let local = Value::Object(local.clone());
        if !self.resolve(&mut merged, Some(&local), None) {
            return None;
        }
        let key = |v: &Value| {
            let mut v = v.clone();
            if let Some(obj) = v.as_object_mut() {
                for k in ignore {
                    obj.remove(*k);
                }
            }
            canonical(&v)
        };
        if key(&merged) == key(&local) {
            return None;
        }
        match merged {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// Like [`Merger::updated_row`] for a list that is replaced whole (todos).
    fn updated_list(&self, archived: &[Value], local: &[Value]) -> Option<Vec<Value>> {
        let mut merged = Value::Array(archived.to_vec());
        let local = Value::Array(local.to_vec());
        if !self.resolve(&mut merged, Some(&local), None) || canonical(&merged) == canonical(&local)
        {
            return None;
        }
        match merged {
            Value::Array(list) => Some(list),
            _ => None,
        }
    }

    /// Replaces each placeholder-holding string of `archived` by the string at the same place
    /// in `local` when that redacts to it (as the value of `key`); false when one is left.
    fn resolve(&self, archived: &mut Value, local: Option<&Value>, key: Option<&str>) -> bool {
        let Some(redactor) = &self.redactor else {
            return true;
        };
        match archived {
            Value::String(s) if s.contains(PLACEHOLDER_PREFIX) => {
                match local.and_then(Value::as_str) {
                    Some(original) if redactor.redact_field(key, original) == s.as_str() => {
                        *s = original.to_owned();
                        true
                    }
                    _ => false,
                }
            }
            Value::Array(items) => {
                let local = local.and_then(Value::as_array);
                items
                    .iter_mut()
                    .enumerate()
                    .all(|(i, item)| self.resolve(item, local.and_then(|l| l.get(i)), None))
            }
            Value::Object(map) => map
                .iter_mut()
                .all(|(k, v)| self.resolve(v, local.and_then(|l| l.get(k)), Some(k))),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    /// IDs of every message and part `rows` writes.
    fn row_ids(rows: &Rows) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for m in &rows.messages {
            if m.write_info {
                ids.insert(id_of(&m.info).to_owned());
            }
            ids.extend(m.parts.iter().map(|p| id_of(p).to_owned()));
        }
        ids
    }

    const KEY: &str = "ghp_Zx9Kq2Lm4Np6Rs8Tv0Wy1Ab3Cd5Ef7Gh9Ij1K";

    fn doc(updated: i64, text: &str, extra_part: bool) -> Value {
        let mut parts = vec![json!({"id": "prt_1", "type": "text", "text": text})];
        if extra_part {
            parts.push(json!({"id": "prt_2", "type": "text", "text": "more"}));
        }
        json!({
            "info": {"id": "ses_1", "title": "t", "directory": "/a", "time": {"created": 1, "updated": updated}},
            "messages": [{"info": {"id": "msg_1", "role": "user", "time": {"created": 1}}, "parts": parts}]
        })
    }

    fn local(doc: Value) -> LocalCopy {
        LocalCopy {
            updated: doc["info"]["time"]["updated"].as_i64().unwrap(),
            doc,
            extra: Map::new(),
        }
    }

    fn redacted(mut doc: Value) -> Value {
        Redactor::new().redact_value(&mut doc);
        doc
    }

    #[test]
    fn an_equal_redacted_copy_writes_nothing() {
        let mine = doc(5, &format!("my token {KEY}"), false);
        let archived = redacted(mine.clone());
        assert!(archived.to_string().contains("[REDACTED:"));
        let rows = Rows::merge(&archived, &Map::new(), 5, &local(mine), true, true);
        assert!(rows.is_empty(), "{rows:?}");
    }

    #[test]
    fn a_newer_redacted_copy_adds_rows_and_keeps_local_text() {
        let mine = doc(5, &format!("my token {KEY}"), false);
        let archived = redacted(doc(9, &format!("my token {KEY}"), true));
        let rows = Rows::merge(&archived, &Map::new(), 9, &local(mine), true, true);
        // The new part is added; the redacted text part is the local one, so not written.
        assert_eq!(row_ids(&rows), BTreeSet::from(["prt_2".to_owned()]));
        assert_eq!(rows.info.unwrap()["time"]["updated"], 9);
    }

    #[test]
    fn a_newer_redacted_part_that_differs_never_overwrites() {
        let mine = doc(5, "plain text", false);
        let archived = redacted(doc(9, &format!("edited {KEY}"), false));
        let rows = Rows::merge(&archived, &Map::new(), 9, &local(mine), true, true);
        assert!(row_ids(&rows).is_empty(), "{rows:?}");
        // Without redaction the newer part replaces the local one.
        let archived = doc(9, "edited", false);
        let rows = Rows::merge(
            &archived,
            &Map::new(),
            9,
            &local(doc(5, "plain", false)),
            false,
            true,
        );
        assert_eq!(row_ids(&rows), BTreeSet::from(["prt_1".to_owned()]));
    }

    #[test]
    fn a_copy_as_old_as_the_local_one_only_adds() {
        let archived = doc(9, "theirs", true);
        let rows = Rows::merge(
            &archived,
            &Map::new(),
            9,
            &local(doc(9, "mine", false)),
            false,
            true,
        );
        assert_eq!(row_ids(&rows), BTreeSet::from(["prt_2".to_owned()]));
        assert!(rows.info.is_none());
    }
}
