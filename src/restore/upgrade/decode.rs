//! Reading a 1.x export document into checked messages and parts, the way OpenCode 2.x's V1
//! importer decodes `message`/`part` rows before it transforms them.
//!
//! 2.x decodes each row against its `SessionV1` schema and skips (with a warning) what does
//! not decode, so one damaged row never loses the session. We check the fields the
//! transformation reads, with their types, and skip the same way; fields it never reads are
//! not checked. Before checking, messages of OpenCode ≤ 1.0.65 (no `agent`/`model`) are
//! completed from their neighbours, as the importer's `normalizeLegacyMessage` does.

use super::Warning;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A part, as its JSON object (`type` checked, the fields the transformation reads present).
pub(super) type Part = Map<String, Value>;

/// One decoded 1.x message with its parts (ordered by part ID) and its row times.
#[derive(Debug, Clone)]
pub(super) struct Message {
    pub id: String,
    /// The `info` object, completed for old versions.
    pub info: Map<String, Value>,
    pub parts: Vec<Part>,
    /// `message.time_created` (the row's column; `info.time.created` in an export).
    pub time_created: i64,
    /// `message.time_updated` (not in an export; see [`super::RowTimes`]).
    pub time_updated: i64,
}

impl Message {
    pub fn role(&self) -> &str {
        str_of(&self.info, "role").unwrap_or_default()
    }

    pub fn has_part(&self, kind: &str) -> bool {
        self.parts.iter().any(|p| part_type(p) == kind)
    }
}

pub(super) fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

pub(super) fn obj_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    map.get(key).and_then(Value::as_object)
}

pub(super) fn part_type(part: &Part) -> &str {
    str_of(part, "type").unwrap_or_default()
}

/// JavaScript's `value ? … : …` for a JSON value that may be missing.
pub(super) fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

fn is_num(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).is_some_and(Value::is_number)
}

fn is_str(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).is_some_and(Value::is_string)
}

/// The messages of `doc`, decoded, ordered by `(time_created, id)` like the importer; the
/// ones that do not decode are left out and reported.
pub(super) fn messages(
    session_id: &str,
    doc_messages: &[Value],
    session_agent: Option<&str>,
    session_model: Option<&Map<String, Value>>,
    row_times: &HashMap<String, (i64, i64)>,
    warnings: &mut Vec<Warning>,
) -> Vec<Message> {
    let infos: Vec<Option<&Map<String, Value>>> = doc_messages
        .iter()
        .map(|m| m.get("info").and_then(Value::as_object))
        .collect();
    let mut out = Vec::new();
    for (i, message) in doc_messages.iter().enumerate() {
        let id = infos[i]
            .and_then(|info| str_of(info, "id"))
            .unwrap_or_default();
        let decoded =
            infos[i].map(|info| normalize_legacy(info, &infos, session_agent, session_model));
        let Some(info) = decoded.filter(|info| !id.is_empty() && message_ok(info)) else {
            warnings.push(Warning::new(
                "invalid-message",
                session_id,
                Some(id),
                None,
                None,
            ));
            continue;
        };
        let created = info
            .get("time")
            .and_then(|t| t.get("created"))
            .and_then(Value::as_i64)
            .unwrap_or_default();
        let (time_created, time_updated) = row_times
            .get(id)
            .copied()
            .unwrap_or_else(|| (created, export_time_updated(&info, created)));
        let mut parts = Vec::new();
        for part in message
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(part) = part.as_object() else {
                warnings.push(Warning::new(
                    "invalid-part",
                    session_id,
                    Some(id),
                    None,
                    None,
                ));
                continue;
            };
            let part_id = str_of(part, "id").unwrap_or_default();
            if !part_ok(part) || part_id.is_empty() {
                let observed = part.get("type").map(|t| match t {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                warnings.push(Warning::new(
                    "invalid-part",
                    session_id,
                    Some(id),
                    Some(part_id),
                    observed,
                ));
                continue;
            }
            parts.push(part.clone());
        }
        parts.sort_by(|a, b| str_of(a, "id").cmp(&str_of(b, "id")));
        out.push(Message {
            id: id.to_owned(),
            info,
            parts,
            time_created,
            time_updated,
        });
    }
    out.sort_by(|a, b| (a.time_created, &a.id).cmp(&(b.time_created, &b.id)));
    out
}

/// An export has no `message.time_updated`. OpenCode updates an assistant row last when it
/// sets `time.completed`, so that time stands in for it; a user row is not updated after
/// it is created.
fn export_time_updated(info: &Map<String, Value>, created: i64) -> i64 {
    info.get("time")
        .and_then(|t| t.get("completed"))
        .and_then(Value::as_i64)
        .map_or(created, |completed| completed.max(created))
}

/// Fills `agent`/`model` that messages of OpenCode ≤ 1.0.65 lack: an assistant's agent from
/// its `mode` (else `build`); a user's from its first reply, else the session's, else
/// `build` and an empty model. [upstream source: the V1 importer's `normalizeLegacyMessage`]
fn normalize_legacy(
    info: &Map<String, Value>,
    all: &[Option<&Map<String, Value>>],
    session_agent: Option<&str>,
    session_model: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut info = info.clone();
    match str_of(&info, "role") {
        Some("assistant") if !is_str(&info, "agent") => {
            let agent = str_of(&info, "mode").unwrap_or("build").to_owned();
            info.insert("agent".into(), Value::String(agent));
        }
        Some("user") if !is_str(&info, "agent") || obj_of(&info, "model").is_none() => {
            let id = str_of(&info, "id");
            let child = all.iter().flatten().find(|m| {
                str_of(m, "role") == Some("assistant")
                    && str_of(m, "parentID") == id
                    && id.is_some()
            });
            if !is_str(&info, "agent") {
                let agent = child
                    .and_then(|c| str_of(c, "agent").or_else(|| str_of(c, "mode")))
                    .or(session_agent)
                    .unwrap_or("build");
                info.insert("agent".into(), Value::String(agent.to_owned()));
            }
            if obj_of(&info, "model").is_none() {
                let mut model = Map::new();
                let from_child = child.filter(|c| is_str(c, "providerID") && is_str(c, "modelID"));
                let (provider, model_id, variant) = match from_child {
                    Some(c) => (
                        str_of(c, "providerID"),
                        str_of(c, "modelID"),
                        str_of(c, "variant"),
                    ),
                    None => (
                        session_model.and_then(|m| str_of(m, "providerID")),
                        session_model.and_then(|m| str_of(m, "id")),
                        session_model
                            .and_then(|m| str_of(m, "variant"))
                            .filter(|v| !v.is_empty()),
                    ),
                };
                model.insert("providerID".into(), provider.unwrap_or_default().into());
                model.insert("modelID".into(), model_id.unwrap_or_default().into());
                if let Some(v) = variant {
                    model.insert("variant".into(), v.into());
                }
                info.insert("model".into(), Value::Object(model));
            }
        }
        _ => {}
    }
    info
}

/// The fields the transformation reads, with their types.
fn message_ok(info: &Map<String, Value>) -> bool {
    let created = info
        .get("time")
        .and_then(Value::as_object)
        .is_some_and(|t| is_num(t, "created"));
    if !created || !is_str(info, "agent") {
        return false;
    }
    match str_of(info, "role") {
        Some("user") => {
            obj_of(info, "model").is_some_and(|m| is_str(m, "providerID") && is_str(m, "modelID"))
        }
        Some("assistant") => {
            let tokens_ok = obj_of(info, "tokens").is_some_and(|t| {
                ["input", "output", "reasoning"]
                    .iter()
                    .all(|k| is_num(t, k))
                    && obj_of(t, "cache").is_some_and(|c| is_num(c, "read") && is_num(c, "write"))
            });
            is_str(info, "modelID")
                && is_str(info, "providerID")
                && is_num(info, "cost")
                && tokens_ok
                && info
                    .get("error")
                    .is_none_or(|e| e.is_object() || e.is_null())
        }
        _ => false,
    }
}

/// A part of a known type with the fields the transformation reads.
fn part_ok(part: &Part) -> bool {
    let time = obj_of(part, "time");
    match part_type(part) {
        "text" => is_str(part, "text"),
        "reasoning" => is_str(part, "text") && time.is_some_and(|t| is_num(t, "start")),
        "file" => is_str(part, "mime") && is_str(part, "url"),
        "tool" => is_str(part, "callID") && is_str(part, "tool") && tool_state_ok(part),
        "patch" => {
            is_str(part, "hash")
                && part
                    .get("files")
                    .and_then(Value::as_array)
                    .is_some_and(|f| f.iter().all(Value::is_string))
        }
        "snapshot" => is_str(part, "snapshot"),
        "agent" => is_str(part, "name"),
        "compaction" => true,
        "step-start" | "step-finish" | "subtask" | "retry" => true,
        _ => false,
    }
}

fn tool_state_ok(part: &Part) -> bool {
    let Some(state) = obj_of(part, "state") else {
        return false;
    };
    let timed =
        |keys: &[&str]| obj_of(state, "time").is_some_and(|t| keys.iter().all(|k| is_num(t, k)));
    match str_of(state, "status") {
        Some("completed") => is_str(state, "output") && timed(&["start", "end"]),
        Some("error") => is_str(state, "error") && timed(&["start", "end"]),
        Some("running") => timed(&["start"]),
        Some("pending") => true,
        _ => false,
    }
}
