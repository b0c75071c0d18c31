//! Deciding what differs between the store's copy of a session and an archive's: what
//! restore does with each archived session ([`action`]), and what verify reports
//! ([`compare`]). Both compare content ([`content_key`]) and, for v2 sessions, the rows only
//! their extra record holds ([`v2_row_ids`]).

use super::merge::{LocalCopy, Rows};
use crate::archive::freshness::ContentDigest;
use crate::archive::{Archive, ArchivedSession};
use crate::membership::Member;
use crate::redact::Redactor;
use crate::store::{Generation, Session, Store, StoreKind, StoreLocation};
use anyhow::Result;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

/// What restore does with one archived session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Not in the store: added.
    Add,
    /// In the store, as old or older: what the store lacks is added, and what the archive
    /// holds newer is updated.
    Update,
    /// In the store with the same content: nothing to do.
    Unchanged,
    /// In the store and newer there: left alone.
    KeepLocal,
    /// In the store, as new as the archived copy, with other content and nothing the store
    /// lacks: left alone.
    KeepDiverged,
}

/// What restore does with `session` (its re-homed document `doc`) and which rows it writes,
/// given the store's copy. `redacted`: the archive holds placeholders for secrets;
/// `with_v2_rows`: the target store keeps v2 rows, so they count as content.
pub(super) fn decide(
    local: Option<LocalCopy>,
    session: &ArchivedSession,
    doc: Value,
    redacted: bool,
    with_v2_rows: bool,
) -> (Action, Rows) {
    let Some(local) = local else {
        return (Action::Add, Rows::all(doc, &session.extra, with_v2_rows));
    };
    let updated = session.time_updated();
    if local.updated > updated {
        return (Action::KeepLocal, Rows::default());
    }
    let rows = Rows::merge(
        &doc,
        &session.extra,
        updated,
        &local,
        redacted,
        with_v2_rows,
    );
    if !rows.is_empty() {
        return (Action::Update, rows);
    }
    let mut local_doc = local.doc;
    if redacted {
        Redactor::new().redact_value(&mut local_doc);
    }
    let same = content_key(&doc) == content_key(&local_doc);
    let action = if same {
        Action::Unchanged
    } else {
        Action::KeepDiverged
    };
    (action, rows)
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

/// The target store's copies of the sessions a restore meets, read one at a time (a
/// session's document can be large).
pub(super) struct LocalSessions {
    store: Option<Store>,
    sessions: HashMap<String, Session>,
}

impl LocalSessions {
    /// The sessions of `wanted` in the store at `location` (of the target's kind).
    pub(super) fn open(
        location: &StoreLocation,
        want: StoreKind,
        wanted: &BTreeSet<&str>,
    ) -> Result<LocalSessions> {
        if want == StoreKind::Json && !location.data_dir.join("storage/session").is_dir() {
            return Ok(LocalSessions {
                store: None,
                sessions: HashMap::new(),
            });
        }
        let store = Store::open(location.clone())?;
        let sessions = store
            .sessions()?
            .into_iter()
            .filter(|s| s.kind == want && wanted.contains(s.id.as_str()))
            .map(|s| (s.id.clone(), s))
            .collect();
        Ok(LocalSessions {
            store: Some(store),
            sessions,
        })
    }

    /// Lets a writer commit to the store this reads (its snapshot would hold the lock in
    /// rollback-journal mode); later copies are read from the store as it is then.
    pub(super) fn end_snapshot(&self) -> Result<()> {
        match &self.store {
            Some(store) => store.end_snapshot(),
            None => Ok(()),
        }
    }

    /// The store's copy of session `id`, if it holds one.
    pub(super) fn copy(&self, id: &str) -> Result<Option<LocalCopy>> {
        let (Some(store), Some(session)) = (&self.store, self.sessions.get(id)) else {
            return Ok(None);
        };
        Ok(Some(LocalCopy {
            updated: session.time_updated,
            doc: store.export_document(session)?,
            extra: store.extra(session)?,
        }))
    }
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
    /// Same only once redacted: the store's copy holds secret-shaped strings the (redacted)
    /// archive has placeholders for. Told only by [`Depth::Everything`].
    pub redacted: bool,
}

/// How much of two copies [`compare_with`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// What restore writes back: the content digest of the document, and v2 rows by ID
    /// (verify; restore merges todos row by row and never writes share records).
    Content,
    /// Everything the store holds of the session: the document's content digest with its
    /// extra record (todos, diffs, v2 rows, share URL, a divergent 1.x copy), and every field
    /// of `info` but where the session ran. What prune needs before it deletes the store's
    /// copy. A 1.x session restore converted into a 2.x store is compared as [`Depth::Content`]
    /// (its extra record has no 2.x form to compare).
    Everything,
}

/// Compares every archived session with the store's copy (looked up in the whole store),
/// then lists `members`, this repository's sessions, that the archive lacks. Sessions are
/// read one at a time, and each copy is reduced to its digest before the other is read: a
/// session can be hundreds of MB.
pub fn compare(store: &Store, members: &[Member], archive: &Archive) -> Result<Vec<Difference>> {
    compare_with(store, members, archive, Depth::Content, None)
}

/// [`compare`], as deep as `depth` says, of the sessions `only` (all when `None`).
pub fn compare_with(
    store: &Store,
    members: &[Member],
    archive: &Archive,
    depth: Depth,
    only: Option<&BTreeSet<String>>,
) -> Result<Vec<Difference>> {
    let all: HashMap<String, Session> = store
        .sessions()?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let strict = depth == Depth::Everything;
    let mut rows = Vec::new();
    archive.for_each(only, |mut archived| {
        let title = archived.title().to_owned();
        let mut redacted = false;
        let (state, newer) = match all.get(&archived.id) {
            None => (State::Missing, None),
            Some(local) => {
                let updated = archived.time_updated();
                // A 1.x session restored into a 2.x store is kept there as converted rows:
                // compared in that form.
                let converted =
                    local.generation == Generation::V2 && !super::v2rows::is_v2(&archived);
                let mut archived_digest = None;
                let mut archived_whole = None;
                if !converted {
                    // Reduced to its digest before the store's copy is read.
                    archived_digest =
                        Some((content_key(&archived.doc), v2_row_ids(&archived.extra)));
                    if strict {
                        archived_whole = Some(Whole::of(&archived.doc, &archived.extra));
                    }
                    drop(std::mem::take(&mut archived.doc));
                }
                let mut doc = store.export_document(local)?;
                let mut extra = store.extra(local)?;
                if strict && archived_whole.is_some() {
                    if archive.redacted {
                        // Should the copies be equal, they are so only once redacted when
                        // redaction replaced something: the archive lacks those secrets.
                        redacted = redact(&mut doc, &mut extra) > 0;
                    }
                } else if archive.redacted {
                    // A redacted archive holds what redaction makes of the store's copy.
                    Redactor::new().redact_value(&mut doc);
                }
                let (archived_key, archived_v2) = match archived_digest {
                    Some(digest) => digest,
                    None => {
                        let (archived_doc, archived_extra) =
                            as_stored(&archived, archive, local.generation, &doc)?;
                        (content_key(&archived_doc), v2_row_ids(&archived_extra))
                    }
                };
                let same = match &archived_whole {
                    Some(whole) => *whole == Whole::of(&doc, &extra),
                    // A v2 session's turns are only in its extra rows, not in the document.
                    None => content_key(&doc) == archived_key && v2_row_ids(&extra) == archived_v2,
                };
                drop(doc);
                if same {
                    (State::Same, None)
                } else {
                    redacted = false;
                    let newer = match local.time_updated.cmp(&updated) {
                        std::cmp::Ordering::Greater => Newer::Store,
                        std::cmp::Ordering::Less => Newer::Archive,
                        std::cmp::Ordering::Equal => Newer::Neither,
                    };
                    (State::Changed, Some(newer))
                }
            }
        };
        rows.push(Difference {
            id: archived.id,
            title,
            state,
            newer,
            redacted,
        });
        Ok(())
    })?;
    for member in members {
        let id = &member.session.id;
        if !archive.sessions.contains_key(id) && only.is_none_or(|only| only.contains(id)) {
            rows.push(Difference {
                id: member.session.id.clone(),
                title: member.session.title.clone(),
                state: State::Extra,
                newer: None,
                redacted: false,
            });
        }
    }
    Ok(rows)
}

/// A copy of a session reduced for [`Depth::Everything`]: the content digest of its
/// document and extra record (the archive's own digest), and its `info` without where it
/// ran, in canonical JSON (the digest leaves most of `info` out).
#[derive(PartialEq, Eq)]
struct Whole(ContentDigest, Vec<u8>);

impl Whole {
    fn of(doc: &Value, extra: &Map<String, Value>) -> Whole {
        // Where the session ran: rewritten by restore for the checkout it restores to.
        const LOCATION: [&str; 6] = [
            "projectID",
            "directory",
            "path",
            "workspaceID",
            "location",
            "subpath",
        ];
        let mut info = Vec::new();
        if let Some(map) = doc["info"].as_object() {
            let rest: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| !LOCATION.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            crate::json::write_canonical(&mut info, &Value::Object(rest))
                .expect("writing to memory cannot fail");
        }
        Whole(ContentDigest::of(doc, Some(extra)), info)
    }
}

/// Redacts a copy of a session as a redacted archive holds it; how many strings it replaced.
fn redact(doc: &mut Value, extra: &mut Map<String, Value>) -> usize {
    let redactor = Redactor::new();
    let mut record = Value::Object(std::mem::take(extra));
    let replaced = redactor.redact_value(doc) + redactor.redact_value(&mut record);
    if let Value::Object(map) = record {
        *extra = map;
    }
    replaced
}

/// An archived document and extra record, as they are or as the store keeps them.
type Stored<'a> = (Cow<'a, Value>, Cow<'a, Map<String, Value>>);

/// The archived session in the form the store keeps it: a 1.x session that restore
/// converted into a 2.x store is compared as those 2.x rows, whose unsettled rows stand
/// for the extra record's.
///
/// Restore converted the session after moving it to the checkout it went to (which moves
/// the files patch parts name): so is it here, to where the store's copy (`local_doc`) is.
fn as_stored<'a>(
    archived: &'a ArchivedSession,
    archive: &Archive,
    generation: Generation,
    local_doc: &Value,
) -> Result<Stored<'a>> {
    if generation != Generation::V2 || super::v2rows::is_v2(archived) {
        return Ok((Cow::Borrowed(&archived.doc), Cow::Borrowed(&archived.extra)));
    }
    let info = &local_doc["info"];
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let directory = text(&info["location"]["directory"]);
    let subpath = text(&info["subpath"]);
    let root = directory
        .trim_end_matches('/')
        .strip_suffix(subpath.trim_matches('/'))
        .filter(|_| !subpath.is_empty())
        .map_or(directory.clone(), |r| r.trim_end_matches('/').to_owned());
    let home = super::Home {
        project_id: text(&info["projectID"]),
        checkout: root.clone().into(),
        main_worktree: root.into(),
    };
    let doc = super::rehome(archived, &archive.worktrees, &home);
    let rows = super::v2rows::from_v1(&doc, &archived.extra)?;
    let mut extra = Map::new();
    let unsettled: Vec<Value> = super::v2rows::unsettled_ids(&rows)
        .into_iter()
        .map(|id| serde_json::json!({ "id": id }))
        .collect();
    if !unsettled.is_empty() {
        extra.insert("session_message".into(), Value::Array(unsettled));
    }
    Ok((
        Cow::Owned(super::v2rows::export_document(&rows)?),
        Cow::Owned(extra),
    ))
}

/// What decides whether two copies of a session differ for restore and verify: the one
/// content digest every command uses, without the extra record (v2 rows are compared by
/// [`v2_row_ids`], todos are merged row by row, and share records are not restored).
pub fn content_key(doc: &Value) -> ContentDigest {
    ContentDigest::of(doc, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_session_counts_but_where_it_ran() {
        let doc = |directory: &str, revert: Value| {
            serde_json::json!({"info":{"title":"t","directory":directory,"projectID":directory,
                "revert":revert,"time":{"updated":5}},"messages":[]})
        };
        let todos = |status: &str| {
            Map::from_iter([(
                "todos".to_owned(),
                serde_json::json!([{ "content": "x", "status": status }]),
            )])
        };
        let a = Whole::of(&doc("/a", Value::Null), &todos("done"));
        assert!(a == Whole::of(&doc("/b", Value::Null), &todos("done")));
        // A field the content digest leaves out, and a todo, are part of the whole.
        assert!(
            a != Whole::of(
                &doc("/a", serde_json::json!({"messageID": "m"})),
                &todos("done")
            )
        );
        assert!(a != Whole::of(&doc("/a", Value::Null), &todos("pending")));
        assert_eq!(
            content_key(&doc("/a", Value::Null)),
            content_key(&doc("/a", serde_json::json!({"messageID": "m"})))
        );
    }

    #[test]
    fn content_key_ignores_location_order_and_number_spelling() {
        let a: Value = serde_json::from_str(r#"{"info":{"title":"t","directory":"/a","time":{"updated":5}},"messages":[{"info":{"id":"m","cost":1.0,"path":{"cwd":"/a"}},"parts":[{"id":"p","x":1}]}]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"info":{"title":"t","directory":"/b","time":{"updated":5}},"messages":[{"info":{"path":{"cwd":"/b"},"cost":1,"id":"m"},"parts":[{"x":1,"id":"p"}]}]}"#).unwrap();
        assert_eq!(content_key(&a), content_key(&b));
        let c: Value =
            serde_json::from_str(r#"{"info":{"title":"t","time":{"updated":6}},"messages":[]}"#)
                .unwrap();
        assert_ne!(content_key(&a), content_key(&c));
        // Patch parts name files of the checkout the session lives in.
        let patch = |dir: &str, file: &str| {
            serde_json::json!({"info":{"title":"t","directory":dir,"path":"","time":{"updated":5}},
                "messages":[{"info":{"id":"m"},"parts":[{"id":"p","type":"patch","files":[file]}]}]})
        };
        assert_eq!(
            content_key(&patch("/a", "/a/x.rs")),
            content_key(&patch("/b", "/b/x.rs"))
        );
        assert_ne!(
            content_key(&patch("/a", "/a/x.rs")),
            content_key(&patch("/b", "/b/y.rs"))
        );
    }
}
