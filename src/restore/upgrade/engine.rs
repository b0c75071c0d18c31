//! Carrying the rows of OpenCode 1.18's v2 engine into a 2.x session.
//!
//! A session 1.18.34 ran through its v2 engine (`POST /api/session`) has no `message`/`part`
//! rows: its transcript is only in 1.18's `session_message`, which 2.x's upgrade drops
//! (opencode-2x.md §1.4), so 2.x shows the session empty. The 1.x archive keeps those rows
//! in the extra record (`session_message`), and 2.x's table has the same columns, so they
//! can be carried over, which 2.x itself cannot do.
//!
//! The rows are nearly 2.x rows already. The differences, seen in rows the real 1.18.34
//! wrote (tests/it/common/v2.rs) against 2.x's union (§2, §2.2), are normalised:
//! - text and reasoning items carry an `id` (`text-0`), which 2.x's items do not have;
//! - tool items keep `executed` under `provider`, where 2.x has it on the item;
//! - a completed tool state has `outputPaths` and `structured`, which 2.x's state does not
//!   have: they are kept inside the state's free-form `metadata` rather than lost.
//!
//! `seq` is kept (event seqs, with gaps, as in a native 2.x session).

use super::{V2Message, V2Session};
use crate::json;
use serde_json::{Map, Value};

/// Appends the 1.18 v2-engine rows of `extra` to `session` when the transformation gave it
/// none; returns how many were carried. A session with v1 messages keeps only those (the two
/// histories would share `seq` numbers).
pub fn carry_engine_rows(session: &mut V2Session, extra: &Map<String, Value>) -> usize {
    if !session.messages.is_empty() {
        return 0;
    }
    let rows = extra
        .get("session_message")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut carried: Vec<V2Message> = rows.iter().filter_map(row).collect();
    carried.sort_by_key(|m| m.seq);
    carried.dedup_by_key(|m| m.seq);
    let n = carried.len();
    session.messages = carried;
    n
}

/// One archived `session_message` row (columns by name, `data` as JSON text), normalised.
fn row(value: &Value) -> Option<V2Message> {
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(String::from);
    let int = |k: &str| value.get(k).and_then(Value::as_i64);
    let mut data = match value.get("data")? {
        Value::String(s) => json::parse(s).ok()?,
        other => other.clone(),
    };
    let data = data.as_object_mut()?;
    data.remove("id");
    data.remove("type");
    let kind = text("type")?;
    if kind == "assistant" {
        if let Some(items) = data.get_mut("content").and_then(Value::as_array_mut) {
            items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(item);
        }
    }
    Some(V2Message {
        id: text("id")?,
        kind,
        seq: int("seq")?,
        time_created: int("time_created")?,
        time_updated: int("time_updated")?,
        data: std::mem::take(data),
    })
}

fn item(item: &mut Map<String, Value>) {
    match item.get("type").and_then(Value::as_str) {
        Some("text" | "reasoning") => {
            item.remove("id");
        }
        Some("tool") => {
            if let Some(Value::Object(provider)) = item.remove("provider") {
                if let Some(executed) = provider.get("executed").filter(|e| e.is_boolean()) {
                    item.insert("executed".into(), executed.clone());
                }
            }
            let Some(state) = item.get_mut("state").and_then(Value::as_object_mut) else {
                return;
            };
            for key in ["outputPaths", "structured"] {
                if let Some(value) = state.remove(key) {
                    let metadata = state
                        .entry("metadata")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(m) = metadata.as_object_mut() {
                        m.entry(key).or_insert(value);
                    }
                }
            }
        }
        _ => {}
    }
}
