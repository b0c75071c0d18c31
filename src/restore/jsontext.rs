//! JSON text as OpenCode writes it into SQLite, and a canonical form to compare sessions.

use crate::jsjson;
use serde_json::Value;

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
    let mut out = Vec::new();
    write_canonical(&mut out, &key);
    out
}

/// `JSON.stringify(value)`: compact, keys in order, numbers and strings as JavaScript
/// writes them (what drizzle stores in OpenCode's JSON text columns).
pub fn compact_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_compact(&mut out, value, KeyOrder::AsWritten);
    String::from_utf8(out).expect("JSON text is UTF-8")
}

/// Whether compact output keeps object keys as written or sorts them (the canonical form).
#[derive(Clone, Copy)]
enum KeyOrder {
    AsWritten,
    Sorted,
}

fn write_canonical(out: &mut Vec<u8>, value: &Value) {
    write_compact(out, value, KeyOrder::Sorted);
}

fn write_compact(out: &mut Vec<u8>, value: &Value, order: KeyOrder) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(jsjson::format_number(n).as_bytes()),
        Value::String(s) => {
            let _ = jsjson::write_string(out, s);
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_compact(out, item, order);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if let KeyOrder::Sorted = order {
                entries.sort_unstable_by_key(|(key, _)| *key);
            }
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let _ = jsjson::write_string(out, key);
                out.push(b':');
                write_compact(out, item, order);
            }
            out.push(b'}');
        }
    }
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

    #[test]
    fn compact_json_is_javascript_json() {
        let v: Value = serde_json::from_str(r#"{"b":1.0,"a":[1e21,"x\u0001"]}"#).unwrap();
        assert_eq!(compact_json(&v), r#"{"b":1,"a":[1e+21,"x\u0001"]}"#);
    }
}
