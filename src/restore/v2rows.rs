//! The rows an archived session becomes in an OpenCode 2.x store, re-homed to this checkout:
//! a 2.x session from its export document plus extra record (`session_v2` row, unsettled
//! `session_message` rows), a 1.x session through the V1→V2 transformation. And back: the
//! export document 2.x would print for such rows, which is what restore compares.

use super::upgrade::{transform_session, V2Message, V2Session};
use super::Home;
use crate::archive::checkout::{archived_root, join_str, under};
use crate::archive::ArchivedSession;
use crate::error::UserError;
use crate::store::gen2;
use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The rows of a 1.x session (its export document already re-homed by `rehome`): 2.x's own
/// V1→V2 transformation, plus the 1.18 v2-engine rows of its extra record.
pub(super) fn from_v1(doc: &Value, extra: &Map<String, Value>) -> Result<V2Session> {
    transform_session(doc, extra)
}

/// The rows of an archived 2.x session, moved to `home`. `doc` is its export document (the
/// settled messages), `extra` its extra record.
///
/// The export leaves out each message's `seq`; rows are numbered 1…n in document order, as
/// 2.x's own `session import` does (§7.3), with the unsettled rows of the extra record put
/// back among them by creation time. A claim by a service (`time_suspended`) and a running
/// compaction (`time_compacting`) belonged to the store it was archived from: cleared.
pub(super) fn from_v2(
    id: &str,
    doc: &Value,
    extra: &Map<String, Value>,
    worktrees: &HashMap<String, String>,
    home: &Home,
) -> Result<V2Session> {
    let Some(Value::Object(row)) = extra.get("session_v2") else {
        bail!(UserError::new(format!(
            "archived OpenCode 2.x session {id} has no session_v2 row in its extra record"
        ))
        .hint("archive it again with this version of git-opencode (git opencode pack)"));
    };
    let mut row = row.clone();
    if row.get("id").and_then(Value::as_str) != Some(id) {
        bail!("the session_v2 row in the extra record of session {id} is another session's");
    }
    row.insert("time_suspended".into(), Value::Null);
    row.insert("time_compacting".into(), Value::Null);
    let old_root = archived_root(&row, worktrees);
    rehome_row(&mut row, &old_root, home);
    let mut messages = Vec::new();
    for m in doc["messages"].as_array().into_iter().flatten() {
        messages.push(settled_row(id, m)?);
    }
    let unsettled = extra.get("session_message").and_then(Value::as_array);
    for raw in unsettled.into_iter().flatten() {
        let m = unsettled_row(id, raw)?;
        // Before the first settled row created after it: where it was when archived.
        let at = messages
            .iter()
            .position(|s| s.time_created > m.time_created)
            .unwrap_or(messages.len());
        messages.insert(at, m);
    }
    for (i, m) in messages.iter_mut().enumerate() {
        m.seq = i as i64 + 1;
        move_location(m, &old_root, home);
    }
    Ok(V2Session { row, messages })
}

/// The document `opencode session export` prints for `session`: `info` from the row,
/// settled messages as `{id, type, ...data}` in `seq` order.
pub(super) fn export_document(session: &V2Session) -> Result<Value> {
    let info = gen2::info_of_row(&session.row)
        .with_context(|| format!("malformed session_v2 row of session {}", session.id()))?;
    let messages: Vec<Value> = session
        .messages
        .iter()
        .filter(|m| gen2::is_settled(&m.kind, &m.data))
        .map(|m| {
            let mut out = Map::new();
            out.insert("id".into(), Value::String(m.id.clone()));
            out.insert("type".into(), Value::String(m.kind.clone()));
            out.extend(m.data.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(out)
        })
        .collect();
    Ok(serde_json::json!({ "info": info, "messages": messages }))
}

/// The IDs of the rows an export leaves out (streaming assistants, running shells).
pub(super) fn unsettled_ids(session: &V2Session) -> Vec<&str> {
    session
        .messages
        .iter()
        .filter(|m| !gen2::is_settled(&m.kind, &m.data))
        .map(|m| m.id.as_str())
        .collect()
}

/// One exported message as a row: `data` is the message without `id` and `type`;
/// `time_created` is `time.created`, `time_updated` the completion where there is one.
fn settled_row(session: &str, message: &Value) -> Result<V2Message> {
    let Some(obj) = message.as_object() else {
        bail!("session {session}: a message is not an object");
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let (id, kind) = (text("id"), text("type"));
    let mut data = obj.clone();
    data.shift_remove("id");
    data.shift_remove("type");
    let time = |k: &str| data.get("time").and_then(|t| t.get(k)).and_then(as_ms);
    let Some(created) = time("created") else {
        bail!("session {session}: message {id} has no time.created");
    };
    let updated = time("completed").unwrap_or(created).max(created);
    Ok(V2Message {
        id,
        kind,
        seq: 0,
        time_created: created,
        time_updated: updated,
        data,
    })
}

/// One unsettled row of the extra record: `{id, type, seq, time_created, time_updated,
/// data}`, `data` as the text 2.x stored.
fn unsettled_row(session: &str, raw: &Value) -> Result<V2Message> {
    let text = |k: &str| raw.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let id = text("id");
    let data = match raw.get("data") {
        Some(Value::String(s)) => crate::json::parse(s).ok(),
        Some(v) => Some(v.clone()),
        None => None,
    };
    let Some(Value::Object(data)) = data else {
        bail!("session {session}: unsettled message {id} in the extra record has no data object");
    };
    let created = raw.get("time_created").and_then(as_ms).unwrap_or(0);
    Ok(V2Message {
        id,
        kind: text("type"),
        seq: 0,
        time_created: created,
        time_updated: raw
            .get("time_updated")
            .and_then(as_ms)
            .unwrap_or(created)
            .max(created),
        data,
    })
}

fn as_ms(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

fn new_dir(home: &Home, rel: &str) -> String {
    join_str(&home.checkout.to_string_lossy().replace('\\', "/"), rel)
}

/// `project_id`, `directory`, `path` as 1.x restore rewrites them (the subdirectory kept);
/// `workspace_id` cleared: workspaces are local to the store.
fn rehome_row(row: &mut Map<String, Value>, old_root: &str, home: &Home) {
    let directory = row
        .get("directory")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned();
    let rel = under(&directory, old_root).unwrap_or("").to_owned();
    row.insert("project_id".into(), Value::String(home.project_id.clone()));
    row.insert("directory".into(), Value::String(new_dir(home, &rel)));
    if !row.get("path").is_none_or(Value::is_null) || !rel.is_empty() {
        row.insert("path".into(), Value::String(rel));
    }
    row.insert("workspace_id".into(), Value::Null);
}

/// A `location-switched` row names directories of the old checkout: moved along.
fn move_location(m: &mut V2Message, old_root: &str, home: &Home) {
    if m.kind != "location-switched" {
        return;
    }
    let fix = |loc: Option<&mut Value>| {
        let Some(Value::Object(loc)) = loc else {
            return;
        };
        let dir = loc.get("directory").and_then(Value::as_str).unwrap_or("");
        if let Some(rel) = under(dir.trim_end_matches('/'), old_root) {
            let moved = new_dir(home, rel);
            loc.insert("directory".into(), Value::String(moved));
        }
    };
    fix(m.data.get_mut("location"));
    fix(m
        .data
        .get_mut("previous")
        .and_then(|p| p.get_mut("location")));
}

/// `true` for an archived session of OpenCode 2.x.
pub(super) fn is_v2(session: &ArchivedSession) -> bool {
    session.generation() == crate::store::Generation::V2
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn home() -> Home {
        Home {
            project_id: "p2".into(),
            checkout: PathBuf::from("/new/clone"),
            main_worktree: PathBuf::from("/new/clone"),
        }
    }

    #[test]
    fn an_archived_2x_session_is_rehomed_and_its_unsettled_rows_put_back_in_place() {
        let row = json!({"id": "ses_1", "project_id": "p1", "workspace_id": "wrk_1", "slug": "s",
            "directory": "/old/repo/sub", "path": "sub", "version": "2.0.25", "title": "t",
            "time_created": 1, "time_updated": 9, "time_suspended": 5, "cost": 0});
        let doc = json!({"info": {"id": "ses_1"}, "messages": [
            {"id": "msg_a", "type": "user", "time": {"created": 10}, "text": "hi", "files": []},
            {"id": "msg_c", "type": "idle", "time": {"created": 30}, "outcome": "succeeded"},
            {"id": "msg_d", "type": "location-switched", "time": {"created": 40},
             "location": {"directory": "/old/repo/x"}, "previous": {"location": {"directory": "/else"}}}]});
        let extra = json!({"session_v2": row, "session_message": [
            {"id": "msg_b", "type": "assistant", "seq": 7, "time_created": 20, "time_updated": 25,
             "data": "{\"time\":{\"created\":20},\"agent\":\"build\",\"model\":{\"id\":\"m\",\"providerID\":\"p\"},\"content\":[]}"}]});
        let extra = extra.as_object().unwrap();
        let worktrees = HashMap::from([("p1".to_owned(), "/old/repo".to_owned())]);
        let s = from_v2("ses_1", &doc, extra, &worktrees, &home()).unwrap();
        assert_eq!(s.row["project_id"], "p2");
        assert_eq!(s.row["directory"], "/new/clone/sub");
        assert_eq!(s.row["path"], "sub");
        assert_eq!(s.row["workspace_id"], Value::Null);
        assert_eq!(s.row["time_suspended"], Value::Null);
        let order: Vec<(&str, i64)> = s.messages.iter().map(|m| (m.id.as_str(), m.seq)).collect();
        assert_eq!(
            order,
            [("msg_a", 1), ("msg_b", 2), ("msg_c", 3), ("msg_d", 4)]
        );
        assert_eq!(s.messages[1].time_updated, 25);
        assert!(!s.messages[1].data.contains_key("id"));
        assert_eq!(s.messages[3].data["location"]["directory"], "/new/clone/x");
        assert_eq!(
            s.messages[3].data["previous"]["location"]["directory"],
            "/else"
        );
        // The export of the rows is the archived document minus the unsettled row.
        let exported = export_document(&s).unwrap();
        let ids: Vec<&str> = exported["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["msg_a", "msg_c", "msg_d"]);
        // Byte for byte: key order is kept (2.x stores `data` as the text it was given).
        assert_eq!(
            exported["messages"][0].to_string(),
            doc["messages"][0].to_string()
        );
        assert_eq!(unsettled_ids(&s), ["msg_b"]);
    }

    #[test]
    fn a_global_session_inside_the_checkout_keeps_its_subdirectory() {
        let row = json!({"id": "ses_g", "project_id": "global", "slug": "s", "directory": "/old/repo/src",
            "version": "2.0.25", "time_created": 1, "time_updated": 2});
        let extra = json!({"session_v2": row});
        let doc = json!({"info": {"id": "ses_g"}, "messages": []});
        let worktrees = HashMap::from([
            ("global".to_owned(), "/".to_owned()),
            ("p1".to_owned(), "/old/repo".to_owned()),
            ("d1".to_owned(), "/old/repo/src".to_owned()),
        ]);
        let s = from_v2(
            "ses_g",
            &doc,
            extra.as_object().unwrap(),
            &worktrees,
            &home(),
        )
        .unwrap();
        assert_eq!(s.row["directory"], "/new/clone/src");
        assert_eq!(s.row["path"], "src");
        assert_eq!(s.row["project_id"], "p2");
    }

    #[test]
    fn a_2x_session_without_its_row_is_refused() {
        let doc = json!({"info": {"id": "ses_1"}, "messages": []});
        let err = from_v2("ses_1", &doc, &Map::new(), &HashMap::new(), &home()).unwrap_err();
        assert!(err.to_string().contains("has no session_v2 row"), "{err}");
    }
}
