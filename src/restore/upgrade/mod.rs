//! The V1→V2 transformation: a 1.x session (its export document) as the rows OpenCode 2.x
//! keeps for it, a `session_v2` row and `session_message` rows.
//!
//! This is what 2.x's one-shot importer does to every legacy session on its first start
//! (opencode-2x.md §4.1 step 5 and §4.2), done here so that 1.x archives can be restored
//! into a 2.x store, and stranded 1.x sessions brought into 2.x, with the rows 2.x itself
//! would have written. The importer works on `message`/`part` rows; an export document holds
//! the same data (`{...data, id, sessionID}`), except the rows' `time_updated`, which a
//! caller that has the rows passes as [`RowTimes`].
//!
//! Pure: no I/O. Writing the result is `gen2_write`'s job.

mod content;
mod decode;
mod engine;
mod session;
#[cfg(test)]
mod tests;

pub use engine::carry_engine_rows;

use anyhow::{bail, Result};
use decode::{obj_of, part_type, str_of, truthy, Message};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// A 2.x session as rows: what `session_v2` and `session_message` hold for it.
#[derive(Debug, Clone, PartialEq)]
pub struct V2Session {
    /// The `session_v2` row by column name (JSON columns as JSON text, NULL as `null`).
    pub row: Map<String, Value>,
    /// The `session_message` rows, in `seq` order.
    pub messages: Vec<V2Message>,
}

impl V2Session {
    /// The session ID (`row.id`).
    pub fn id(&self) -> &str {
        self.row
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The parent session, for a subagent session.
    pub fn parent_id(&self) -> Option<&str> {
        self.row.get("parent_id").and_then(Value::as_str)
    }
}

/// One `session_message` row.
#[derive(Debug, Clone, PartialEq)]
pub struct V2Message {
    pub id: String,
    /// The `type` column: `user`, `assistant`, `synthetic`, `compaction`, `system`, …
    pub kind: String,
    pub seq: i64,
    pub time_created: i64,
    pub time_updated: i64,
    /// The `data` column, parsed: the message without `id` and `type`.
    pub data: Map<String, Value>,
}

/// A 1.x row the transformation skipped, as the importer logs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `invalid-message` or `invalid-part`.
    pub reason: &'static str,
    pub session_id: String,
    pub message_id: Option<String>,
    pub part_id: Option<String>,
    /// The part's `type`, when it has one.
    pub observed_type: Option<String>,
}

impl Warning {
    fn new(
        reason: &'static str,
        session_id: &str,
        message_id: Option<&str>,
        part_id: Option<&str>,
        observed_type: Option<String>,
    ) -> Warning {
        Warning {
            reason,
            session_id: session_id.to_owned(),
            message_id: message_id.map(String::from),
            part_id: part_id.map(String::from),
            observed_type,
        }
    }
}

/// `message.time_created` and `message.time_updated` by message ID, for a caller that read
/// the rows. Without them the times come from the export (see `decode`).
pub type RowTimes = HashMap<String, (i64, i64)>;

/// A transformed session and the rows it skipped.
#[derive(Debug, Clone)]
pub struct Converted {
    pub session: V2Session,
    pub warnings: Vec<Warning>,
}

/// A 1.x session as 2.x rows, for a restore: [`convert`] of its export document (without
/// row times, warnings dropped), then the 1.18 v2-engine rows of its extra record carried
/// over ([`carry_engine_rows`]), which 2.x's own import loses.
pub fn transform_session(doc: &Value, extra: &Map<String, Value>) -> Result<V2Session> {
    let mut session = convert(doc, &RowTimes::new())?.session;
    carry_engine_rows(&mut session, extra);
    Ok(session)
}

/// Transforms the 1.x export document `doc` (`{info, messages:[{info, parts}]}`) into the
/// rows 2.x's importer writes for it: `seq` runs 0…n−1 in `(time_created, id)` order.
pub fn convert(doc: &Value, row_times: &RowTimes) -> Result<Converted> {
    let Some(info) = doc.get("info").and_then(Value::as_object) else {
        bail!("not an OpenCode 1.x export document: no info object");
    };
    let Some(id) = str_of(info, "id").filter(|id| !id.is_empty()) else {
        bail!("not an OpenCode 1.x export document: info has no id");
    };
    let Some(doc_messages) = doc.get("messages").and_then(Value::as_array) else {
        bail!("session {id}: the export document has no messages array");
    };
    let mut warnings = Vec::new();
    let messages = decode::messages(
        id,
        doc_messages,
        str_of(info, "agent"),
        obj_of(info, "model"),
        row_times,
        &mut warnings,
    );
    let rows = project(&messages);
    let row = session::row(info, &messages)?;
    Ok(Converted {
        session: V2Session {
            row,
            messages: rows,
        },
        warnings,
    })
}

/// The `session_message` rows of the decoded messages, numbered, with the tool notice.
fn project(messages: &[Message]) -> Vec<V2Message> {
    let mut used: HashSet<String> = messages.iter().map(|m| m.id.clone()).collect();
    let by_id: HashMap<&str, &Message> = messages.iter().map(|m| (m.id.as_str(), m)).collect();
    let mut paired = HashSet::new();
    let mut rows = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        if paired.contains(&message.id) {
            continue;
        }
        match message.role() {
            "user" => {
                if message.has_part("compaction") {
                    rows.extend(compaction(messages, index, &mut paired));
                } else {
                    rows.extend(user(message, &mut used));
                }
            }
            "assistant" => rows.extend(assistant(message, &by_id)),
            _ => {}
        }
    }
    for (seq, row) in rows.iter_mut().enumerate() {
        row.seq = seq as i64;
    }
    if let Some(text) = notice(&rows) {
        let last = rows.last().expect("a notice needs a tool call").clone();
        rows.push(V2Message {
            id: content::synthetic_id(&last.id, &mut used),
            kind: "system".into(),
            seq: rows.len() as i64,
            time_created: last.time_created,
            time_updated: last.time_updated,
            data: object(json!({"text": text, "time": {"created": last.time_created}})),
        });
    }
    rows
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    }
}

fn message_row(source: &Message, id: String, kind: &str, data: Map<String, Value>) -> V2Message {
    V2Message {
        id,
        kind: kind.into(),
        seq: 0,
        time_created: source.time_created,
        time_updated: source.time_updated,
        data,
    }
}

/// A user message with a `compaction` part and its summary assistant (`summary: true`,
/// replying to it) as one `compaction` row; nothing when the summary is missing, failed or
/// unfinished.
fn compaction(
    messages: &[Message],
    index: usize,
    paired: &mut HashSet<String>,
) -> Option<V2Message> {
    let user = &messages[index];
    let part = user.parts.iter().find(|p| part_type(p) == "compaction")?;
    let summary = messages.iter().find(|m| {
        m.role() == "assistant"
            && str_of(&m.info, "parentID") == Some(&user.id)
            && m.info.get("summary") == Some(&Value::Bool(true))
    })?;
    paired.insert(summary.id.clone());
    let completed = summary
        .info
        .get("time")
        .and_then(|t| t.get("completed"))
        .is_some_and(|c| !c.is_null());
    if truthy(summary.info.get("error")) || !completed {
        return None;
    }
    let text: Vec<&str> = summary
        .parts
        .iter()
        .filter(|p| part_type(p) == "text")
        .filter_map(|p| str_of(p, "text"))
        .filter(|t| !t.is_empty())
        .collect();
    // The messages kept verbatim after the summary: from `tail_start_id` up to the marker.
    let tail = str_of(part, "tail_start_id")
        .and_then(|tail| messages.iter().position(|m| m.id == tail))
        .map_or(&[][..], |start| messages.get(start..index).unwrap_or(&[]));
    let data = object(json!({
        "status": "completed",
        "reason": if truthy(part.get("auto")) { "auto" } else { "manual" },
        "summary": text.join("\n\n"),
        "recent": recent(tail),
        "time": {"created": user.time_created},
    }));
    let mut row = message_row(user, user.id.clone(), "compaction", data);
    row.time_updated = user.time_updated.max(summary.time_updated);
    Some(row)
}

/// The compaction's `recent` text: `[User]: …`, `[Assistant]: …` and `[Assistant
/// reasoning]: …` blocks separated by blank lines.
fn recent(tail: &[Message]) -> String {
    let mut blocks = Vec::new();
    for message in tail {
        if message.role() == "user" {
            let visible: Vec<&str> = message
                .parts
                .iter()
                .filter(|p| part_type(p) == "text" && !truthy(p.get("ignored")))
                .map(|p| str_of(p, "text").unwrap_or_default())
                .collect();
            blocks.push(format!("[User]: {}", visible.join("\n\n")));
            continue;
        }
        for part in &message.parts {
            let text = str_of(part, "text").unwrap_or_default();
            match part_type(part) {
                "text" => blocks.push(format!("[Assistant]: {text}")),
                "reasoning" if !text.is_empty() => {
                    blocks.push(format!("[Assistant reasoning]: {text}"))
                }
                _ => {}
            }
        }
    }
    blocks.join("\n\n")
}

/// An ordinary user message: its `user` row (visible text, inline attachments, agent
/// mentions) and, when it carries synthetic text too, a `synthetic` row after it. A message
/// of only synthetic text is one `synthetic` row; one of only `subtask` parts is dropped.
fn user(message: &Message, used: &mut HashSet<String>) -> Vec<V2Message> {
    let parts = &message.parts;
    let visible: Vec<_> = parts
        .iter()
        .filter(|p| part_type(p) == "text" && !truthy(p.get("ignored")))
        .collect();
    let files: Vec<_> = parts.iter().filter(|p| part_type(p) == "file").collect();
    let agents: Vec<Value> = parts
        .iter()
        .filter(|p| part_type(p) == "agent")
        .map(|p| {
            let mut agent = Map::new();
            agent.insert("name".into(), p["name"].clone());
            if let Some(m) = content::mention(p.get("source")) {
                agent.insert("mention".into(), m);
            }
            Value::Object(agent)
        })
        .collect();
    if message.has_part("subtask") && visible.is_empty() && files.is_empty() && agents.is_empty() {
        return Vec::new();
    }
    let synthetic: Vec<&str> = visible
        .iter()
        .filter(|p| truthy(p.get("synthetic")))
        .filter_map(|p| str_of(p, "text"))
        .collect();
    let ordinary = visible.len() - synthetic.len();
    let attachments: Vec<Value> = files.iter().filter_map(|p| content::file(p)).collect();
    let unavailable = files.len() - attachments.len();
    let synthetic_row = |id: String| {
        let data = object(json!({
            "text": synthetic.join("\n\n"),
            "time": {"created": message.time_created},
        }));
        message_row(message, id, "synthetic", data)
    };
    if ordinary == 0
        && unavailable == 0
        && !synthetic.is_empty()
        && attachments.is_empty()
        && agents.is_empty()
    {
        return vec![synthetic_row(message.id.clone())];
    }
    // Text and the placeholders of unavailable attachments, in part order.
    let text: Vec<String> = parts
        .iter()
        .filter_map(|p| match part_type(p) {
            "text" if !truthy(p.get("ignored")) && !truthy(p.get("synthetic")) => {
                Some(str_of(p, "text").unwrap_or_default().to_owned())
            }
            "file" if content::file(p).is_none() => Some(content::unavailable(p)),
            _ => None,
        })
        .collect();
    let mut data = Map::new();
    data.insert("text".into(), text.join("\n\n").into());
    if !attachments.is_empty() {
        data.insert("files".into(), Value::Array(attachments));
    }
    if !agents.is_empty() {
        data.insert("agents".into(), Value::Array(agents));
    }
    data.insert("time".into(), json!({"created": message.time_created}));
    let mut rows = vec![message_row(message, message.id.clone(), "user", data)];
    if !synthetic.is_empty() {
        rows.push(synthetic_row(content::synthetic_id(&message.id, used)));
    }
    rows
}

/// An assistant message as an `assistant` row; nothing for the `task` call a `subtask`
/// marker started (the child session holds that work).
fn assistant(message: &Message, by_id: &HashMap<&str, &Message>) -> Option<V2Message> {
    let info = &message.info;
    let parent = str_of(info, "parentID").and_then(|p| by_id.get(p));
    let from_subtask = parent.is_some_and(|p| p.has_part("subtask"));
    let calls_task = message
        .parts
        .iter()
        .any(|p| part_type(p) == "tool" && str_of(p, "tool") == Some("task"));
    if from_subtask && calls_task {
        return None;
    }
    let content: Vec<Value> = message
        .parts
        .iter()
        .filter_map(|p| match part_type(p) {
            "text" | "reasoning" => Some(content::text_item(p)),
            "tool" => Some(content::tool_item(p, message.time_created)),
            _ => None,
        })
        .collect();
    let mut data = Map::new();
    data.insert("agent".into(), info["agent"].clone());
    data.insert(
        "model".into(),
        json!({
            "providerID": info["providerID"],
            "id": info["modelID"],
            "variant": info.get("variant").filter(|v| !v.is_null()).cloned().unwrap_or("default".into()),
        }),
    );
    data.insert("content".into(), Value::Array(content));
    if let Some(snapshot) = snapshot(&message.parts) {
        data.insert("snapshot".into(), snapshot);
    }
    if let Some(finish) = content::finish(info.get("finish")) {
        data.insert("finish".into(), finish.into());
    }
    data.insert("cost".into(), info["cost"].clone());
    let tokens = &info["tokens"];
    data.insert(
        "tokens".into(),
        json!({
            "input": tokens["input"],
            "output": tokens["output"],
            "reasoning": tokens["reasoning"],
            "cache": tokens["cache"],
        }),
    );
    if let Some(error) = obj_of(info, "error") {
        data.insert("error".into(), content::error(error));
    }
    let mut time = Map::new();
    time.insert("created".into(), message.time_created.into());
    let completed = info.get("time").and_then(|t| t.get("completed"));
    if completed.is_some_and(|c| !c.is_null()) {
        // The importer takes the row's last update, not `time.completed`.
        time.insert("completed".into(), message.time_updated.into());
    }
    data.insert("time".into(), Value::Object(time));
    Some(message_row(message, message.id.clone(), "assistant", data))
}

/// `{start, end, files}` from the step, snapshot and patch parts: start from the first
/// step-start (else the first snapshot part, else the first patch's hash), end from the
/// last step-finish, files from the patches without repeats.
fn snapshot(parts: &[decode::Part]) -> Option<Value> {
    let first = |kind: &str, key: &str| {
        parts
            .iter()
            .filter(|p| part_type(p) == kind)
            .filter_map(|p| p.get(key).filter(|v| truthy(Some(v))))
            .next()
            .cloned()
    };
    let start = first("step-start", "snapshot")
        .or_else(|| first("snapshot", "snapshot"))
        .or_else(|| first("patch", "hash"));
    let end = parts
        .iter()
        .filter(|p| part_type(p) == "step-finish")
        .filter_map(|p| p.get("snapshot").filter(|v| truthy(Some(v))))
        .next_back()
        .cloned();
    let mut seen = HashSet::new();
    let files: Vec<Value> = parts
        .iter()
        .filter(|p| part_type(p) == "patch")
        .flat_map(|p| p["files"].as_array().into_iter().flatten())
        .filter(|f| seen.insert(f.as_str().unwrap_or_default().to_owned()))
        .cloned()
        .collect();
    if start.is_none() && end.is_none() && files.is_empty() {
        return None;
    }
    let mut snapshot = Map::new();
    if let Some(s) = start {
        snapshot.insert("start".into(), s);
    }
    if let Some(e) = end {
        snapshot.insert("end".into(), e);
    }
    if !files.is_empty() {
        snapshot.insert("files".into(), Value::Array(files));
    }
    Some(Value::Object(snapshot))
}

/// The notice about changed tools, for the tools called after the last compaction.
fn notice(rows: &[V2Message]) -> Option<String> {
    let start = rows
        .iter()
        .rposition(|r| r.kind == "compaction")
        .map_or(0, |i| i + 1);
    let called: HashSet<&str> = rows[start..]
        .iter()
        .filter(|r| r.kind == "assistant")
        .flat_map(|r| r.data["content"].as_array().into_iter().flatten())
        .filter(|item| item["type"] == "tool")
        .filter_map(|item| item["name"].as_str())
        .collect();
    content::tool_notice(&called)
}
