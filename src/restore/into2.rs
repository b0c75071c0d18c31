//! Restoring into an OpenCode 2.x store (`session_v2` present): every archived session
//! becomes 2.x rows (`v2rows`: a 2.x session as archived, a 1.x one through the V1→V2
//! transformation), re-homed to this checkout, and is written by the 2.x writer
//! (`gen2_write`, inside `sqlite2`'s transaction).
//!
//! Union by ID, with 2.x's own unit of change: a session is one row plus a transcript that
//! 2.x renumbers and rewrites in place, so rows are not merged one by one as 1.x restore
//! does. A session the store lacks is added; the store's copy is replaced only when the
//! archived one is strictly newer, and kept when it is as new or newer. A redacted archive
//! never puts placeholders over the store's text: where the archived text is what redaction
//! makes of the store's, the store's is written.
//!
//! Nothing is written while OpenCode's service runs (it writes the store itself) or while a
//! session to be replaced is busy (opencode-2x.md §7.2).

use super::upgrade::V2Session;
use super::{content_key, rehome, service, sqlite2, v2rows, Action, Home, Options, Report};
use crate::archive::Archive;
use crate::error::UserError;
use crate::redact::Redactor;
use crate::store::{self, Generation, Session, Store, StoreLocation};
use anyhow::{Context, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// One archived session as it will be written into the 2.x store.
pub(super) struct Item {
    pub id: String,
    pub title: String,
    pub action: Action,
    pub rows: V2Session,
    /// The store's `session_v2.time_updated` when the plan was made (`None`: absent).
    pub local_updated: Option<i64>,
    /// A 1.x session, converted to 2.x rows.
    pub converted: bool,
}

/// Restores the sessions `ids` of `archive` into the 2.x store at `location`. The archive is
/// read one session at a time; what is kept of each is the rows to write.
pub(super) fn restore(
    location: &StoreLocation,
    archive: &Archive,
    ids: &BTreeSet<String>,
    options: &Options<'_>,
    home: &Home,
) -> Result<Report> {
    let redacted = archive.redacted;
    let worktrees = &archive.worktrees;
    let mut items = Vec::with_capacity(ids.len());
    archive.for_each(Some(ids), |mut session| {
        let id = session.id.clone();
        let title = session.title().to_owned();
        let origin = session.origin.clone();
        let converted = !v2rows::is_v2(&session);
        let rows = if converted {
            let doc = rehome::rehome_taking_messages(&mut session, worktrees, home);
            v2rows::from_v1(&doc, &session.extra)
        } else {
            v2rows::from_v2(&id, &session.doc, &session.extra, worktrees, home)
        }
        .with_context(|| format!("cannot restore session {id} (from {origin})"))?;
        items.push(Item {
            id,
            title,
            action: Action::Add,
            rows,
            local_updated: None,
            converted,
        });
        Ok(())
    })?;
    let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let store = Store::open(location.clone())?;
    let unfinished_import = match refuse_unfinished_import(&store) {
        Err(e) if !options.dry_run => return Err(e),
        result => result.err(),
    };
    // 2.x sees only `session_v2`: a 1.x copy in the frozen tables is not the store's copy.
    let local: HashMap<String, Session> = store
        .sessions()?
        .into_iter()
        .filter(|s| s.generation == Generation::V2 && wanted.contains(s.id.as_str()))
        .map(|s| (s.id.clone(), s))
        .collect();
    let redactor = redacted.then(Redactor::new);
    for item in &mut items {
        let copy = local.get(&item.id);
        item.local_updated = copy.map(|c| c.time_updated);
        item.action = decide(&store, copy, &mut item.rows, redactor.as_ref())?;
    }
    drop(store);
    let mut notes = Vec::new();
    if redacted {
        notes.push("this archive was redacted: secret-shaped strings are placeholders".to_owned());
    }
    if let Some(e) = unfinished_import {
        notes.push(format!("a restore would be refused: {e:#}"));
    }
    let converted = items
        .iter()
        .filter(|i| matches!(i.action, Action::Add | Action::Update))
        .filter(|i| i.converted)
        .count();
    if converted > 0 {
        notes.push(format!(
            "{converted} OpenCode 1.x session(s) converted to OpenCode 2.x rows, as 2.x's own upgrade does"
        ));
    }
    let writes = items
        .iter()
        .any(|i| matches!(i.action, Action::Add | Action::Update));
    let mut report = Report {
        sessions: Vec::new(),
        backup: None,
        target: location.db.clone(),
        project_id: home.project_id.clone(),
        checkout: home.checkout.clone(),
        notes,
    };
    if writes {
        match (preflight(&location.db, &items), options.dry_run) {
            (Err(e), true) => report
                .notes
                .push(format!("a restore would be refused: {e:#}")),
            (Err(e), false) => return Err(e),
            (Ok(()), _) => {}
        }
    }
    if writes && !options.dry_run {
        let done = sqlite2::apply(&location.db, home, &mut items)?;
        report.backup = Some(done.backup);
        report.notes.extend(done.notes);
    }
    report.sessions = items
        .into_iter()
        .map(|i| (i.id, i.title, i.action))
        .collect();
    Ok(report)
}

/// What to do with the archived `rows` given the store's copy; with a redacted archive, the
/// rows to write take the store's text where the archived text is its redaction.
fn decide(
    store: &Store,
    local: Option<&Session>,
    rows: &mut V2Session,
    redactor: Option<&Redactor>,
) -> Result<Action> {
    let Some(local) = local else {
        return Ok(Action::Add);
    };
    let updated = rows.row.get("time_updated").and_then(Value::as_i64);
    let updated = updated.unwrap_or_default();
    if local.time_updated > updated {
        return Ok(Action::KeepLocal);
    }
    let local_doc = store.export_document(local)?;
    let local_extra = store.extra(local)?;
    let mut seen_doc = local_doc.clone();
    if let Some(r) = redactor {
        r.redact_value(&mut seen_doc);
    }
    let archived_doc = v2rows::export_document(rows)?;
    let local_unsettled: Vec<&str> = local_extra
        .get("session_message")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("id").and_then(Value::as_str))
        .collect();
    if content_key(&archived_doc) == content_key(&seen_doc)
        && local_unsettled == v2rows::unsettled_ids(rows)
    {
        return Ok(Action::Unchanged);
    }
    if local.time_updated == updated {
        return Ok(Action::KeepDiverged);
    }
    if let Some(r) = redactor {
        keep_local_text(rows, &local_doc, &local_extra, r);
    }
    Ok(Action::Update)
}

/// Puts the store's text back wherever the archived value is what redaction makes of it:
/// message data by message ID, and `session_v2` columns one by one.
fn keep_local_text(
    rows: &mut V2Session,
    local_doc: &Value,
    local_extra: &Map<String, Value>,
    redactor: &Redactor,
) {
    let mut local: HashMap<&str, Map<String, Value>> = HashMap::new();
    for m in local_doc["messages"].as_array().into_iter().flatten() {
        if let (Some(id), Some(obj)) = (m.get("id").and_then(Value::as_str), m.as_object()) {
            let mut data = obj.clone();
            data.shift_remove("id");
            data.shift_remove("type");
            local.insert(id, data);
        }
    }
    for raw in local_extra
        .get("session_message")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = raw.get("id").and_then(Value::as_str);
        let data = raw.get("data").and_then(Value::as_str);
        if let (Some(id), Some(Ok(Value::Object(data)))) = (id, data.map(crate::json::parse)) {
            local.insert(id, data);
        }
    }
    let redacts_to = |mine: &Value, theirs: &Value| {
        let mut seen = mine.clone();
        redactor.redact_value(&mut seen);
        seen == *theirs
    };
    for m in &mut rows.messages {
        let Some(mine) = local.remove(m.id.as_str()) else {
            continue;
        };
        let mine = Value::Object(mine);
        if redacts_to(&mine, &Value::Object(m.data.clone())) {
            if let Value::Object(mine) = mine {
                m.data = mine;
            }
        }
    }
    if let Some(Value::Object(local_row)) = local_extra.get("session_v2") {
        for (column, theirs) in rows.row.iter_mut() {
            match local_row.get(column) {
                Some(mine) if mine.is_string() && redacts_to(mine, theirs) => {
                    *theirs = mine.clone()
                }
                _ => {}
            }
        }
    }
}

/// The reasons not to write now, checked before anything is: OpenCode's service is running,
/// or a session to be replaced is busy.
/// An upgraded store whose one-shot import of the 1.x sessions has not finished: 2.x
/// resumes the import on its next start and writes each legacy session into `session_v2`
/// again, so a session restored now could be overwritten by an older 1.x copy.
fn refuse_unfinished_import(store: &Store) -> Result<()> {
    if !store.is_upgraded_2x() || matches!(store.migration()?, store::Migration::Completed { .. }) {
        return Ok(());
    }
    anyhow::bail!(UserError::new(format!(
        "cannot restore into {}: OpenCode 2.x has not finished importing its 1.x sessions (kv row migration.v1-v2); nothing was written",
        store.location().db.display()
    ))
    .hint("start OpenCode 2.x once and let it finish its upgrade (git opencode doctor shows when it has), then run git opencode restore again"))
}

fn preflight(db: &std::path::Path, items: &[Item]) -> Result<()> {
    let first = items
        .iter()
        .find(|i| matches!(i.action, Action::Add | Action::Update))
        .map_or("", |i| i.id.as_str());
    if let Some(running) = service::state_dir().and_then(|d| service::running(&d)) {
        anyhow::bail!(UserError::new(format!(
            "cannot restore session {first} while OpenCode is running (its service, pid {}, is registered in {}); nothing was written",
            running.pid,
            running.file.display()
        ))
        .hint("quit OpenCode and its background service, then run git opencode restore again"));
    }
    let conn = store::open_read_only(db)
        .with_context(|| format!("failed to open OpenCode database {}", db.display()))?;
    for item in items.iter().filter(|i| i.action == Action::Update) {
        if let Some(reason) = super::gen2_write::busy_reason(&conn, &item.id)? {
            anyhow::bail!(super::gen2_write::busy_error(&item.id, &reason));
        }
    }
    Ok(())
}
