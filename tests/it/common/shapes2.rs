//! A strict checker of OpenCode 2.x's `session_message` union (opencode-2x.md §2): what 2.x
//! decodes on read. 2.x fails export and history with `MessageDecodeError` on a row that does
//! not match (#42671), so rows we write must pass this. Strict on purpose: an unknown key is
//! an error, so a field we invent is caught even where 2.x would ignore it.
//!
//! Written from the §2 tables and the captured rows of §2.1, independently of the code
//! under test.

use serde_json::{Map, Value};

type Obj = Map<String, Value>;

/// Checks the `data` of a row of type `kind`; the error names the offending field.
pub fn check_message(kind: &str, data: &Value) -> Result<(), String> {
    let d = data.as_object().ok_or("data is not an object")?;
    for key in ["id", "type"] {
        if d.contains_key(key) {
            return Err(format!("data holds `{key}`, which belongs in the row"));
        }
    }
    let common = ["time", "metadata"];
    let time_keys: &[&str] = match kind {
        "assistant" => &["created", "streamed", "completed"],
        "shell" => &["created", "completed"],
        _ => &["created"],
    };
    let time = obj(d, "time")?;
    allowed(time, time_keys, "time")?;
    int(time, "created")?;
    for k in &time_keys[1..] {
        opt(time, k, |v| v.is_i64())?;
    }
    opt(d, "metadata", Value::is_object)?;
    match kind {
        "user" => {
            allowed(
                d,
                &[&common[..], &["text", "files", "agents", "skills"]].concat(),
                kind,
            )?;
            string(d, "text")?;
            if let Some(files) = d.get("files") {
                for f in files.as_array().ok_or("files is not an array")? {
                    file(f.as_object().ok_or("a file is not an object")?)?;
                }
            }
            if let Some(agents) = d.get("agents") {
                for a in agents.as_array().ok_or("agents is not an array")? {
                    let a = a.as_object().ok_or("an agent is not an object")?;
                    allowed(a, &["name", "mention"], "agent")?;
                    string(a, "name")?;
                    if let Some(m) = a.get("mention") {
                        mention(m)?;
                    }
                }
            }
            opt(d, "skills", Value::is_array)
        }
        "assistant" => assistant(d, &common),
        "synthetic" | "system" => {
            allowed(d, &[&common[..], &["text", "description"]].concat(), kind)?;
            string(d, "text")?;
            opt(d, "description", Value::is_string)
        }
        "skill" => {
            allowed(d, &[&common[..], &["skill", "name", "text"]].concat(), kind)?;
            ["skill", "name", "text"]
                .iter()
                .try_for_each(|k| string(d, k))
        }
        "shell" => {
            allowed(
                d,
                &[
                    &common[..],
                    &["shellID", "command", "status", "exit", "output"],
                ]
                .concat(),
                kind,
            )?;
            string(d, "shellID")?;
            string(d, "command")?;
            one_of(d, "status", &["running", "exited", "killed", "timeout"])?;
            opt(d, "exit", Value::is_i64)?;
            opt(d, "output", Value::is_object)
        }
        "compaction" => compaction(d, &common),
        "agent-switched" => {
            allowed(d, &[&common[..], &["agent", "previous"]].concat(), kind)?;
            string(d, "agent")?;
            opt(d, "previous", Value::is_string)
        }
        "model-switched" => {
            allowed(d, &[&common[..], &["model", "previous"]].concat(), kind)?;
            model(obj(d, "model")?)?;
            d.get("previous")
                .map_or(Ok(()), |p| model(p.as_object().ok_or("previous")?))
        }
        "location-switched" => {
            allowed(
                d,
                &[
                    &common[..],
                    &["location", "projectID", "subpath", "previous"],
                ]
                .concat(),
                kind,
            )?;
            string(obj(d, "location")?, "directory")?;
            opt(d, "projectID", Value::is_string)?;
            opt(d, "subpath", Value::is_string)?;
            opt(d, "previous", Value::is_object)
        }
        "idle" => {
            allowed(d, &[&common[..], &["outcome"]].concat(), kind)?;
            one_of(d, "outcome", &["succeeded", "failed", "interrupted"])
        }
        other => Err(format!("unknown message type {other:?}")),
    }
}

fn assistant(d: &Obj, common: &[&str]) -> Result<(), String> {
    let keys = [
        "agent",
        "model",
        "content",
        "snapshot",
        "finish",
        "rawFinish",
        "native",
        "providerState",
        "cost",
        "tokens",
        "error",
        "retry",
    ];
    allowed(d, &[common, &keys].concat(), "assistant")?;
    string(d, "agent")?;
    model(obj(d, "model")?)?;
    for item in d
        .get("content")
        .and_then(Value::as_array)
        .ok_or("content is not an array")?
    {
        content_item(item.as_object().ok_or("a content item is not an object")?)?;
    }
    if let Some(s) = d.get("snapshot") {
        let s = s.as_object().ok_or("snapshot is not an object")?;
        allowed(s, &["start", "end", "files"], "snapshot")?;
        opt(s, "start", Value::is_string)?;
        opt(s, "end", Value::is_string)?;
        opt(s, "files", |f| {
            f.as_array().is_some_and(|f| f.iter().all(Value::is_string))
        })?;
    }
    opt(d, "finish", Value::is_string)?;
    opt(d, "rawFinish", Value::is_string)?;
    opt(d, "cost", Value::is_number)?;
    if let Some(t) = d.get("tokens") {
        tokens(t)?;
    }
    if let Some(e) = d.get("error") {
        error(e)?;
    }
    opt(d, "retry", Value::is_object)
}

fn content_item(item: &Obj) -> Result<(), String> {
    match item.get("type").and_then(Value::as_str) {
        Some("text") => {
            allowed(item, &["type", "text", "native", "state"], "text item")?;
            string(item, "text")
        }
        Some("reasoning") => {
            allowed(
                item,
                &["type", "text", "native", "state", "time"],
                "reasoning item",
            )?;
            string(item, "text")?;
            if let Some(t) = item.get("time") {
                let t = t.as_object().ok_or("reasoning time")?;
                allowed(t, &["created", "completed"], "reasoning time")?;
                int(t, "created")?;
                opt(t, "completed", Value::is_i64)?;
            }
            Ok(())
        }
        Some("tool") => {
            let keys = [
                "type",
                "id",
                "name",
                "executed",
                "native",
                "providerState",
                "providerResultState",
                "state",
                "time",
            ];
            allowed(item, &keys, "tool item")?;
            string(item, "id")?;
            string(item, "name")?;
            opt(item, "executed", Value::is_boolean)?;
            let t = obj(item, "time")?;
            allowed(t, &["created", "ran", "completed"], "tool time")?;
            int(t, "created")?;
            opt(t, "ran", Value::is_i64)?;
            opt(t, "completed", Value::is_i64)?;
            tool_state(obj(item, "state")?)
        }
        other => Err(format!("unknown content item type {other:?}")),
    }
}

fn tool_state(s: &Obj) -> Result<(), String> {
    match s.get("status").and_then(Value::as_str) {
        Some("streaming") => {
            allowed(s, &["status", "input"], "streaming state")?;
            string(s, "input")
        }
        Some("running") => {
            allowed(s, &["status", "input", "metadata"], "running state")?;
            present(s, "input")?;
            present(s, "metadata")
        }
        Some("completed") => {
            allowed(
                s,
                &["status", "input", "content", "metadata"],
                "completed state",
            )?;
            present(s, "input")?;
            let content = s
                .get("content")
                .and_then(Value::as_array)
                .ok_or("completed tool content")?;
            if content.is_empty() {
                return Err("a completed tool needs at least one content item".into());
            }
            content.iter().try_for_each(tool_content)
        }
        Some("error") => {
            allowed(
                s,
                &["status", "input", "error", "content", "metadata"],
                "error state",
            )?;
            present(s, "input")?;
            error(s.get("error").ok_or("error state without error")?)?;
            match s.get("content") {
                Some(c) => c
                    .as_array()
                    .ok_or("error content")?
                    .iter()
                    .try_for_each(tool_content),
                None => Ok(()),
            }
        }
        other => Err(format!("unknown tool status {other:?}")),
    }
}

fn tool_content(c: &Value) -> Result<(), String> {
    let c = c.as_object().ok_or("tool content item")?;
    match c.get("type").and_then(Value::as_str) {
        Some("text") => {
            allowed(c, &["type", "text"], "tool text")?;
            string(c, "text")
        }
        Some("file") => {
            allowed(c, &["type", "uri", "mime", "name"], "tool file")?;
            string(c, "uri")?;
            string(c, "mime")?;
            opt(c, "name", Value::is_string)
        }
        other => Err(format!("unknown tool content type {other:?}")),
    }
}

fn compaction(d: &Obj, common: &[&str]) -> Result<(), String> {
    let status = d
        .get("status")
        .and_then(Value::as_str)
        .ok_or("compaction status")?;
    one_of(d, "reason", &["auto", "manual"])?;
    let extra: &[&str] = match status {
        "running" => &["summary", "recent"],
        "completed" => &[
            "summary",
            "recent",
            "model",
            "native",
            "providerContext",
            "cost",
            "tokens",
        ],
        "failed" => &["error"],
        other => return Err(format!("unknown compaction status {other:?}")),
    };
    allowed(
        d,
        &[common, &["status", "reason"], extra].concat(),
        "compaction",
    )?;
    if status == "failed" {
        return error(d.get("error").ok_or("failed compaction without error")?);
    }
    string(d, "summary")?;
    string(d, "recent")?;
    if let Some(m) = d.get("model") {
        model(m.as_object().ok_or("compaction model")?)?;
    }
    opt(d, "cost", Value::is_number)?;
    d.get("tokens").map_or(Ok(()), tokens)
}

fn file(f: &Obj) -> Result<(), String> {
    allowed(
        f,
        &["data", "mime", "source", "name", "mention", "description"],
        "file",
    )?;
    string(f, "data")?;
    string(f, "mime")?;
    let source = obj(f, "source")?;
    match source.get("type").and_then(Value::as_str) {
        Some("inline") => allowed(source, &["type"], "inline source")?,
        Some("uri") => {
            allowed(source, &["type", "uri"], "uri source")?;
            string(source, "uri")?;
        }
        other => return Err(format!("unknown file source {other:?}")),
    }
    opt(f, "name", Value::is_string)?;
    f.get("mention").map_or(Ok(()), mention)
}

fn mention(m: &Value) -> Result<(), String> {
    let m = m.as_object().ok_or("mention")?;
    allowed(m, &["text", "start", "end"], "mention")?;
    string(m, "text")?;
    int(m, "start")?;
    int(m, "end")
}

fn model(m: &Obj) -> Result<(), String> {
    allowed(m, &["id", "providerID", "variant"], "model")?;
    string(m, "id")?;
    string(m, "providerID")?;
    opt(m, "variant", Value::is_string)
}

fn tokens(t: &Value) -> Result<(), String> {
    let t = t.as_object().ok_or("tokens")?;
    allowed(t, &["input", "output", "reasoning", "cache"], "tokens")?;
    for k in ["input", "output", "reasoning"] {
        num(t, k)?;
    }
    let cache = obj(t, "cache")?;
    allowed(cache, &["read", "write"], "tokens.cache")?;
    num(cache, "read")?;
    num(cache, "write")
}

fn error(e: &Value) -> Result<(), String> {
    let e = e.as_object().ok_or("error is not an object")?;
    string(e, "type")?;
    string(e, "message")
}

fn allowed(o: &Obj, keys: &[&str], what: &str) -> Result<(), String> {
    match o.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(format!("{what}: unexpected key `{k}`")),
        None => Ok(()),
    }
}

fn obj<'a>(o: &'a Obj, key: &str) -> Result<&'a Obj, String> {
    o.get(key)
        .and_then(Value::as_object)
        .ok_or(format!("`{key}` is not an object"))
}

fn present(o: &Obj, key: &str) -> Result<(), String> {
    o.get(key).map(|_| ()).ok_or(format!("`{key}` is missing"))
}

fn string(o: &Obj, key: &str) -> Result<(), String> {
    o.get(key)
        .filter(|v| v.is_string())
        .map(|_| ())
        .ok_or(format!("`{key}` is not a string"))
}

fn int(o: &Obj, key: &str) -> Result<(), String> {
    o.get(key)
        .filter(|v| v.is_i64())
        .map(|_| ())
        .ok_or(format!("`{key}` is not an integer"))
}

fn num(o: &Obj, key: &str) -> Result<(), String> {
    o.get(key)
        .filter(|v| v.is_number())
        .map(|_| ())
        .ok_or(format!("`{key}` is not a number"))
}

fn one_of(o: &Obj, key: &str, values: &[&str]) -> Result<(), String> {
    match o.get(key).and_then(Value::as_str) {
        Some(v) if values.contains(&v) => Ok(()),
        other => Err(format!("`{key}` is {other:?}, not one of {values:?}")),
    }
}

fn opt(o: &Obj, key: &str, ok: impl Fn(&Value) -> bool) -> Result<(), String> {
    match o.get(key) {
        Some(v) if !ok(v) => Err(format!("`{key}` has the wrong type: {v}")),
        _ => Ok(()),
    }
}
