//! Deciding what differs between the store's copy of a session and an archive's: what
//! restore does with each archived session ([`action`]), and what verify reports
//! ([`compare`]). Both compare content ([`content_key`]) and, for v2 sessions, the rows only
//! their extra record holds ([`v2_row_ids`]).

use crate::archive::{Archive, ArchivedSession};
use crate::membership::Member;
use crate::store::{Session, Store, StoreKind, StoreLocation};
use anyhow::Result;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// What restore does with one archived session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Not in the store: added.
    Add,
    /// In the store, as old or older and different: updated (messages and parts upserted).
    Update,
    /// In the store with the same content: nothing to do.
    Unchanged,
    /// In the store and newer there: left alone.
    KeepLocal,
}

/// What restore does with `session` (its re-homed document `doc`), given the store's copy.
/// `with_v2_rows`: the target store keeps v2 rows, so they count as content.
pub(super) fn action(
    local: Option<&LocalSession>,
    session: &ArchivedSession,
    doc: &Value,
    with_v2_rows: bool,
) -> Action {
    match local {
        None => Action::Add,
        Some(l) if l.updated > session.time_updated() => Action::KeepLocal,
        Some(l)
            if l.key == content_key(doc)
                && (!with_v2_rows || v2_row_ids(&session.extra).is_subset(&l.v2_rows)) =>
        {
            Action::Unchanged
        }
        Some(_) => Action::Update,
    }
}

/// What decides the action for a session the store holds already.
pub(super) struct LocalSession {
    updated: i64,
    key: Vec<u8>,
    /// [`v2_row_ids`] of the local copy.
    v2_rows: BTreeSet<String>,
}

/// The v2 rows of a session's extra record (`session_message`, `session_input`,
/// `session_context_epoch`) by table and primary key.
///
/// A v2 session's export document has no messages, and OpenCode 1.18 leaves
/// `session.time_updated` alone when a v2 turn adds messages: these rows are the only sign
/// that one copy of a v2 session holds turns the other lacks.
pub fn v2_row_ids(extra: &Map<String, Value>) -> BTreeSet<String> {
    const KEYS: [(&str, &str); 3] = [
        ("session_message", "id"),
        ("session_input", "id"),
        ("session_context_epoch", "session_id"),
    ];
    let mut ids = BTreeSet::new();
    for (table, key) in KEYS {
        let rows = extra.get(table).and_then(Value::as_array);
        for row in rows.into_iter().flatten() {
            if let Some(id) = row.get(key).and_then(Value::as_str) {
                ids.insert(format!("{table}/{id}"));
            }
        }
    }
    ids
}

/// The sessions of `wanted` already in the target store (of the target's kind), with their
/// change key.
pub(super) fn local_sessions(
    location: &StoreLocation,
    want: StoreKind,
    wanted: &BTreeSet<&str>,
) -> Result<HashMap<String, LocalSession>> {
    let mut out = HashMap::new();
    if want == StoreKind::Json && !location.data_dir.join("storage/session").is_dir() {
        return Ok(out);
    }
    let store = Store::open(location.clone())?;
    for session in store
        .sessions()?
        .into_iter()
        .filter(|s| s.kind == want && wanted.contains(s.id.as_str()))
    {
        let doc = store.export_document(&session)?;
        out.insert(
            session.id.clone(),
            LocalSession {
                updated: session.time_updated,
                key: content_key(&doc),
                v2_rows: v2_row_ids(&store.extra(&session)?),
            },
        );
    }
    Ok(out)
}

/// How one session compares between an archive and the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Same,
    /// In the archive, not in the store.
    Missing,
    /// In both, with different content.
    Changed,
    /// In the store (a session of this repository), not in the archive.
    Extra,
}

/// Which copy of a changed session was updated last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Newer {
    Store,
    Archive,
    /// Both have the same update time.
    Neither,
}

/// One session of the archive or of this repository, compared.
#[derive(Debug, Clone)]
pub struct Difference {
    pub id: String,
    pub title: String,
    pub state: State,
    /// For changed sessions: which side was updated last.
    pub newer: Option<Newer>,
}

/// Compares every archived session with the store's copy (looked up in the whole store),
/// then lists `members`, this repository's sessions, that the archive lacks.
pub fn compare(store: &Store, members: &[Member], archive: &Archive) -> Result<Vec<Difference>> {
    let all: HashMap<String, Session> = store
        .sessions()?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let mut rows = Vec::new();
    for (id, archived) in &archive.sessions {
        let (state, newer) = match all.get(id) {
            None => (State::Missing, None),
            Some(local) => {
                let doc = store.export_document(local)?;
                // A v2 session's turns are only in its extra rows, not in the document.
                if content_key(&doc) == content_key(&archived.doc)
                    && v2_row_ids(&store.extra(local)?) == v2_row_ids(&archived.extra)
                {
                    (State::Same, None)
                } else {
                    let newer = match local.time_updated.cmp(&archived.time_updated()) {
                        std::cmp::Ordering::Greater => Newer::Store,
                        std::cmp::Ordering::Less => Newer::Archive,
                        std::cmp::Ordering::Equal => Newer::Neither,
                    };
                    (State::Changed, Some(newer))
                }
            }
        };
        rows.push(Difference {
            id: id.clone(),
            title: archived.title().to_owned(),
            state,
            newer,
        });
    }
    for member in members {
        if !archive.sessions.contains_key(&member.session.id) {
            rows.push(Difference {
                id: member.session.id.clone(),
                title: member.session.title.clone(),
                state: State::Extra,
                newer: None,
            });
        }
    }
    Ok(rows)
}

/// What decides whether two copies of a session differ: title, `time.updated`, and every
/// message and part, ignoring where the session lives (project, directory, `path`, the
/// assistant messages' `path`), key order and number spelling.
pub fn content_key(doc: &Value) -> Vec<u8> {
    let mut messages = doc.get("messages").cloned().unwrap_or(Value::Null);
    if let Some(list) = messages.as_array_mut() {
        for message in list {
            if let Some(info) = message.get_mut("info").and_then(Value::as_object_mut) {
                info.remove("path");
            }
        }
    }
    let info = &doc["info"];
    let key = serde_json::json!({
        "title": info.get("title"),
        "updated": info.get("time").and_then(|t| t.get("updated")),
        "messages": messages,
    });
    crate::json::canonical(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_key_ignores_location_order_and_number_spelling() {
        let a: Value = serde_json::from_str(r#"{"info":{"title":"t","directory":"/a","time":{"updated":5}},"messages":[{"info":{"id":"m","cost":1.0,"path":{"cwd":"/a"}},"parts":[{"id":"p","x":1}]}]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"info":{"title":"t","directory":"/b","time":{"updated":5}},"messages":[{"info":{"path":{"cwd":"/b"},"cost":1,"id":"m"},"parts":[{"x":1,"id":"p"}]}]}"#).unwrap();
        assert_eq!(content_key(&a), content_key(&b));
        let c: Value =
            serde_json::from_str(r#"{"info":{"title":"t","time":{"updated":6}},"messages":[]}"#)
                .unwrap();
        assert_ne!(content_key(&a), content_key(&c));
    }
}
