//! The pieces of one 1.x message that become pieces of a 2.x row: assistant content items
//! (text, reasoning, tool calls), user attachments, errors, finish reasons, the deterministic
//! IDs of rows the importer adds, and the tool-rename notice.
//!
//! Every mapping follows OpenCode 2.x's V1 importer (`v1-migration.bun.ts` /
//! `v1-transform.ts` of the 2.0.x line, described in opencode-2x.md §4.2); where revisions
//! differ the comment says which one is followed.

use super::decode::{obj_of, str_of, truthy, Part};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// A text or reasoning part as an assistant content item; part `metadata` becomes the
/// item's provider `state`.
pub(super) fn text_item(part: &Part) -> Value {
    let mut item = Map::new();
    item.insert("type".into(), part["type"].clone());
    item.insert("text".into(), part["text"].clone());
    if truthy(part.get("metadata")) {
        item.insert("state".into(), part["metadata"].clone());
    }
    if part["type"] == "reasoning" {
        let time = obj_of(part, "time").expect("decode checked reasoning time");
        let mut t = Map::new();
        t.insert("created".into(), time["start"].clone());
        if let Some(end) = time.get("end").filter(|v| !v.is_null()) {
            t.insert("completed".into(), end.clone());
        }
        item.insert("time".into(), Value::Object(t));
    }
    Value::Object(item)
}

/// A tool part as a tool content item. Completed output becomes the first text content
/// (attachments follow as files; compacted output is replaced); a V1 error becomes a
/// `tool.execution` error; a call still pending or running when 1.x stopped becomes a
/// `tool.interrupted` error, never resumed. `fallback` (the message's creation time) dates
/// a pending call, which has no start time.
pub(super) fn tool_item(part: &Part, fallback: i64) -> Value {
    let state = obj_of(part, "state").expect("decode checked tool state");
    let mut item = Map::new();
    item.insert("type".into(), "tool".into());
    item.insert("id".into(), part["callID"].clone());
    item.insert("name".into(), part["tool"].clone());
    if truthy(part.get("metadata")) {
        item.insert("providerState".into(), part["metadata"].clone());
    }
    let input = state.get("input").cloned().unwrap_or_else(|| json!({}));
    let time = obj_of(state, "time");
    let at = |key: &str| {
        time.and_then(|t| t.get(key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let metadata = state.get("metadata").filter(|m| !m.is_null());
    let mut out = Map::new();
    let item_time = match str_of(state, "status") {
        Some("completed") => {
            out.insert("status".into(), "completed".into());
            out.insert("input".into(), input);
            let compacted = time.is_some_and(|t| t.get("compacted").is_some_and(|v| !v.is_null()));
            let content = if compacted {
                vec![json!({"type": "text", "text": "[Old tool result content cleared]"})]
            } else {
                let mut content = vec![json!({"type": "text", "text": state["output"]})];
                for file in state
                    .get("attachments")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object)
                {
                    let mut f = Map::new();
                    f.insert("type".into(), "file".into());
                    f.insert("uri".into(), file.get("url").cloned().unwrap_or_default());
                    f.insert("mime".into(), file.get("mime").cloned().unwrap_or_default());
                    if truthy(file.get("filename")) {
                        f.insert("name".into(), file["filename"].clone());
                    }
                    content.push(Value::Object(f));
                }
                content
            };
            out.insert("content".into(), Value::Array(content));
            if let Some(m) = metadata {
                out.insert("metadata".into(), m.clone());
            }
            json!({"created": at("start"), "completed": at("end")})
        }
        Some("error") => {
            out.insert("status".into(), "error".into());
            out.insert("input".into(), input);
            out.insert(
                "error".into(),
                json!({"type": "tool.execution", "message": state["error"]}),
            );
            if let Some(text) = metadata
                .and_then(|m| m.get("output"))
                .and_then(Value::as_str)
            {
                out.insert("content".into(), json!([{"type": "text", "text": text}]));
            }
            if let Some(m) = metadata {
                out.insert("metadata".into(), m.clone());
            }
            json!({"created": at("start"), "completed": at("end")})
        }
        status => {
            let running = status == Some("running");
            out.insert("status".into(), "error".into());
            out.insert("input".into(), input);
            out.insert(
                "error".into(),
                json!({
                    "type": "tool.interrupted",
                    "message": "Tool execution was interrupted before V2 migration",
                }),
            );
            if let Some(m) = metadata.filter(|_| running) {
                out.insert("metadata".into(), m.clone());
            }
            let created = if running {
                at("start")
            } else {
                json!(fallback)
            };
            json!({ "created": created })
        }
    };
    item.insert("state".into(), Value::Object(out));
    item.insert("time".into(), item_time);
    Value::Object(item)
}

/// A V1 assistant error `{name, data:{message,…}}` as 2.x's `{type, message}`.
pub(super) fn error(error: &Map<String, Value>) -> Value {
    let name = str_of(error, "name").unwrap_or_default();
    let message = match error.get("data").and_then(|d| d.get("message")) {
        Some(m) => m.clone(),
        None if name == "MessageOutputLengthError" => "The model exceeded its output limit".into(),
        None => name.into(),
    };
    let kind = match name {
        "ProviderAuthError" => "provider.auth",
        "ContentFilterError" => "provider.content-filter",
        "ContextOverflowError" => "provider.invalid-request",
        "StructuredOutputError" | "MessageOutputLengthError" => "provider.invalid-output",
        "MessageAbortedError" => "aborted",
        "APIError" => "provider.error",
        _ => "unknown",
    };
    json!({"type": kind, "message": message})
}

/// The finish reasons 2.x knows are kept; any other non-empty one is `unknown`.
pub(super) fn finish(finish: Option<&Value>) -> Option<&'static str> {
    let finish = finish.and_then(Value::as_str).filter(|f| !f.is_empty())?;
    const KNOWN: [&str; 6] = [
        "stop",
        "length",
        "tool-calls",
        "content-filter",
        "error",
        "unknown",
    ];
    Some(
        KNOWN
            .into_iter()
            .find(|k| *k == finish)
            .unwrap_or("unknown"),
    )
}

/// A `data:` URL attachment as a 2.x user file; `None` when the URL is not inline data or
/// does not decode (the later importer revision catches decoding errors and treats the file
/// as unavailable; the earlier one let them fail the session).
pub(super) fn file(part: &Part) -> Option<Value> {
    let url = str_of(part, "url")?;
    let rest = url.strip_prefix("data:")?;
    let (header, payload) = rest.split_once(',')?;
    let bytes = if header.ends_with(";base64") {
        base64_decode(payload)
    } else {
        percent_decode(payload)?
    };
    let source = obj_of(part, "source");
    let mut f = Map::new();
    f.insert("data".into(), base64_encode(&bytes).into());
    f.insert("mime".into(), part["mime"].clone());
    f.insert(
        "source".into(),
        match source.filter(|s| str_of(s, "type") == Some("resource")) {
            Some(s) => json!({"type": "uri", "uri": s.get("uri").cloned().unwrap_or_default()}),
            None => json!({"type": "inline"}),
        },
    );
    if truthy(part.get("filename")) {
        f.insert("name".into(), part["filename"].clone());
    }
    if let Some(m) = source.and_then(|s| mention(s.get("text"))) {
        f.insert("mention".into(), m);
    }
    Some(Value::Object(f))
}

/// `{text: value, start, end}` of a V1 source text `{value, start, end}`.
pub(super) fn mention(text: Option<&Value>) -> Option<Value> {
    let text = text?.as_object()?;
    Some(json!({
        "text": text.get("value").cloned().unwrap_or_default(),
        "start": text.get("start").cloned().unwrap_or_default(),
        "end": text.get("end").cloned().unwrap_or_default(),
    }))
}

/// The text that stands for an attachment 2.x cannot hold (a file or web URL: the importer
/// reads neither disk nor network). Label: file name, else resource URI, else the URL
/// (an undecodable `data:` URL is called "inline attachment", as the later revision does).
pub(super) fn unavailable(part: &Part) -> String {
    let url = str_of(part, "url").unwrap_or_default();
    let source = obj_of(part, "source").filter(|s| str_of(s, "type") == Some("resource"));
    let label = match (part.get("filename").and_then(Value::as_str), source) {
        (Some(name), _) => name.to_owned(),
        (None, Some(s)) => str_of(s, "uri").unwrap_or_default().to_owned(),
        (None, None) if url.starts_with("data:") => "inline attachment".to_owned(),
        (None, None) => url.to_owned(),
    };
    let mime = str_of(part, "mime").unwrap_or_default();
    format!("[Attachment unavailable after migration: {label} ({mime})]")
}

/// The ID of a row the importer adds (a synthetic row split off a user message, the tool
/// notice): the source ID's first 16 characters (`msg_` and its time part) and 14 base-62
/// digits of sha256(`v1-synthetic:<source>[:<salt>]`), salted until unused. Deterministic,
/// so converting the same session twice gives the same IDs.
pub(super) fn synthetic_id(source: &str, used: &mut HashSet<String>) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let prefix: String = source.chars().take(16).collect();
    for salt in 0u64.. {
        let seed = match salt {
            0 => format!("v1-synthetic:{source}"),
            n => format!("v1-synthetic:{source}:{n}"),
        };
        // The hash as one big-endian number; its 14 lowest base-62 digits, most significant
        // first.
        let mut number: Vec<u8> = Sha256::digest(seed.as_bytes()).to_vec();
        let mut digits = Vec::with_capacity(14);
        for _ in 0..14 {
            let mut rem = 0u32;
            for byte in number.iter_mut() {
                let acc = (rem << 8) | u32::from(*byte);
                *byte = (acc / 62) as u8;
                rem = acc % 62;
            }
            digits.push(ALPHABET[rem as usize]);
        }
        digits.reverse();
        let id = format!("{prefix}{}", String::from_utf8(digits).expect("ASCII"));
        if used.insert(id.clone()) {
            return id;
        }
    }
    unreachable!("a free ID exists")
}

/// 2.x renamed these tools (the importer's `RENAMED_TOOLS`).
const RENAMED: [(&str, &str); 3] = [
    ("bash", "shell"),
    ("task", "subagent"),
    ("apply_patch", "patch"),
];
/// These now take `path` instead of `filePath` (`PATH_TOOLS`).
const PATH_TOOLS: [&str; 3] = ["read", "edit", "write"];
/// 2.x has no such tool (`REMOVED_TOOLS`).
const REMOVED: [&str; 1] = ["todowrite"];

/// The text of the `system` row that tells the model which of the tools it called (after
/// the last compaction) changed; `None` when none did.
///
/// Verbatim from a capture (opencode-2x.md §2.1, a 2.0.26-upgraded database): the heading
/// "The available tools have changed." and the one-rename sentence "The `bash` tool is now
/// `shell` and must be called by that name.", joined by a blank line. The other sentences
/// (several renames, `subagent` arguments, `path`, `skill`, removed tools) follow the
/// importer's source text (`legacyToolNotice`); no capture of them was found.
pub(super) fn tool_notice(called: &HashSet<&str>) -> Option<String> {
    let quote = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = vec!["The available tools have changed.".to_owned()];
    let renamed: Vec<(&str, &str)> = RENAMED
        .into_iter()
        .filter(|(old, _)| called.contains(old))
        .collect();
    match renamed.as_slice() {
        [] => {}
        [(old, new)] => parts.push(format!(
            "The `{old}` tool is now `{new}` and must be called by that name."
        )),
        many => parts.push(format!(
            "The following tools were renamed and must be called by their new names: {}.",
            many.iter()
                .map(|(old, new)| format!("`{old}` is now `{new}`"))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
    if called.contains("task") {
        parts.push(
            "The `subagent` tool takes `agent` instead of `subagent_type` and `sessionID` instead of `task_id`."
                .to_owned(),
        );
    }
    let paths: Vec<&str> = PATH_TOOLS
        .into_iter()
        .filter(|t| called.contains(t))
        .collect();
    match paths.as_slice() {
        [] => {}
        [one] => parts.push(format!(
            "The `{one}` tool now takes `path` instead of `filePath`."
        )),
        many => parts.push(format!(
            "The following tools now take `path` instead of `filePath`: {}.",
            quote(many)
        )),
    }
    if called.contains("skill") {
        parts.push("The `skill` tool now takes `id` instead of `name`.".to_owned());
    }
    let removed: Vec<&str> = REMOVED.into_iter().filter(|t| called.contains(t)).collect();
    match removed.as_slice() {
        [] => {}
        [one] => parts.push(format!(
            "The `{one}` tool is no longer available and must not be called."
        )),
        many => parts.push(format!(
            "The following tools are no longer available and must not be called: {}.",
            quote(many)
        )),
    }
    (parts.len() > 1).then(|| parts.join("\n\n"))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (Node's `toString("base64")`).
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Node's lenient `Buffer.from(text, "base64")`: URL-safe digits are accepted, anything
/// else (whitespace, padding) is skipped, a trailing partial group is dropped.
pub(super) fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// `decodeURIComponent`, then the string's UTF-8 bytes; `None` where JavaScript throws
/// (a malformed escape, or escapes that are not UTF-8).
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(String::into_bytes)
}
