//! Deciding what differs between two copies of a session: the store's and an archive's.

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
