//! The `session_v2` row of a transformed 1.x session.
//!
//! The importer copies the legacy `session` row column for column (opencode-2x.md §4.1 step
//! 5) and then overwrites what it recomputes. From an export, each column is read back from
//! the `info` key `Session.fromRow` made of it; what 1.x has no column for is NULL.

use super::decode::{obj_of, part_type, str_of, Message};
use crate::json;
use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

/// Every column of 2.0.25's `session_v2`, in the order of its DDL.
pub const COLUMNS: [&str; 36] = [
    "id",
    "project_id",
    "workspace_id",
    "parent_id",
    "fork_session_id",
    "fork_boundary",
    "slug",
    "directory",
    "path",
    "title",
    "version",
    "share_url",
    "summary_additions",
    "summary_deletions",
    "summary_files",
    "summary_diffs",
    "metadata",
    "cost",
    "tokens_input",
    "tokens_output",
    "tokens_reasoning",
    "tokens_cache_read",
    "tokens_cache_write",
    "revert",
    "permission",
    "agent",
    "model",
    "time_created",
    "time_updated",
    "time_idle",
    "time_viewed",
    "idle_outcome",
    "time_compacting",
    "time_archived",
    "time_suspended",
    "resume_attempts",
];

/// The row: copied columns from `info`; `permission`, `revert`, `time_compacting` NULL (a
/// 1.x permission set, a staged revert and a running compaction do not carry over); usage
/// summed over every assistant message (summaries and subtask calls included); `agent` and
/// `model` kept, else taken from the latest ordinary user message.
pub(super) fn row(info: &Map<String, Value>, messages: &[Message]) -> Result<Map<String, Value>> {
    let text = |key: &str| info.get(key).filter(|v| v.is_string()).cloned();
    let required = |key: &str| match text(key) {
        Some(v) => Ok(v),
        None => bail!(
            "session {}: info has no {key}",
            str_of(info, "id").unwrap_or_default()
        ),
    };
    let time = obj_of(info, "time");
    let time_of = |key: &str| {
        time.and_then(|t| t.get(key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let summary = obj_of(info, "summary");
    let summary_of = |key: &str| {
        summary
            .and_then(|s| s.get(key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let json_text = |value: Option<&Value>| match value {
        None | Some(Value::Null) => Value::Null,
        Some(v) => Value::String(json::compact(v)),
    };
    let (agent, model) = selection(info, messages);
    let usage = Usage::of(messages);
    let mut row = Map::new();
    for column in COLUMNS {
        let value = match column {
            "id" => required("id")?,
            "project_id" => required("projectID")?,
            "workspace_id" => text("workspaceID").unwrap_or_default(),
            "parent_id" => text("parentID").unwrap_or_default(),
            // OpenCode ≤ 1.0.65 sessions have no slug; 1.2's JSON migration stored "".
            "slug" => text("slug").unwrap_or_else(|| "".into()),
            "directory" => required("directory")?,
            "path" => text("path").unwrap_or_default(),
            "title" => text("title").unwrap_or_default(),
            "version" => required("version")?,
            "share_url" => obj_of(info, "share")
                .and_then(|s| s.get("url"))
                .filter(|u| u.is_string())
                .cloned()
                .unwrap_or_default(),
            "summary_additions" => summary_of("additions"),
            "summary_deletions" => summary_of("deletions"),
            "summary_files" => summary_of("files"),
            "summary_diffs" => json_text(summary.and_then(|s| s.get("diffs"))),
            "metadata" => json_text(info.get("metadata")),
            "cost" => json!(usage.cost),
            "tokens_input" => usage.tokens[0].into(),
            "tokens_output" => usage.tokens[1].into(),
            "tokens_reasoning" => usage.tokens[2].into(),
            "tokens_cache_read" => usage.tokens[3].into(),
            "tokens_cache_write" => usage.tokens[4].into(),
            "agent" => agent.clone(),
            "model" => model.clone(),
            "time_created" => time_of("created"),
            "time_updated" => time_of("updated"),
            "time_archived" => time_of("archived"),
            "resume_attempts" => 0.into(),
            _ => Value::Null,
        };
        row.insert(column.into(), value);
    }
    if !row["time_created"].is_i64() || !row["time_updated"].is_i64() {
        bail!(
            "session {}: info.time has no created or updated time",
            row["id"].as_str().unwrap_or_default()
        );
    }
    Ok(row)
}

/// The session's `agent` and `model` (JSON text): its own, else those of the latest user
/// message that is neither a compaction marker nor only subtask markers.
fn selection(info: &Map<String, Value>, messages: &[Message]) -> (Value, Value) {
    let latest = messages.iter().rev().find(|m| {
        m.role() == "user"
            && !m.has_part("compaction")
            && !(m.has_part("subtask") && m.parts.iter().all(|p| part_type(p) == "subtask"))
    });
    let agent = match info.get("agent").filter(|a| a.is_string()) {
        Some(a) => a.clone(),
        None => latest.map_or(Value::Null, |m| m.info["agent"].clone()),
    };
    let model = match info.get("model").filter(|m| m.is_object()) {
        Some(m) => Value::String(json::compact(m)),
        None => latest.map_or(Value::Null, |m| {
            let model = &m.info["model"];
            let variant = model
                .get("variant")
                .filter(|v| !v.is_null())
                .cloned()
                .unwrap_or_else(|| "default".into());
            Value::String(json::compact(&json!({
                "id": model["modelID"],
                "providerID": model["providerID"],
                "variant": variant,
            })))
        }),
    };
    (agent, model)
}

/// Cost and tokens (input, output, reasoning, cache read, cache write) of all assistants.
struct Usage {
    cost: f64,
    tokens: [i64; 5],
}

impl Usage {
    fn of(messages: &[Message]) -> Usage {
        let mut usage = Usage {
            cost: 0.0,
            tokens: [0; 5],
        };
        for m in messages.iter().filter(|m| m.role() == "assistant") {
            usage.cost += m.info["cost"].as_f64().unwrap_or_default();
            let t = &m.info["tokens"];
            let values = [
                &t["input"],
                &t["output"],
                &t["reasoning"],
                &t["cache"]["read"],
                &t["cache"]["write"],
            ];
            for (sum, v) in usage.tokens.iter_mut().zip(values) {
                *sum += v
                    .as_i64()
                    .unwrap_or_else(|| v.as_f64().unwrap_or_default() as i64);
            }
        }
        usage
    }
}
