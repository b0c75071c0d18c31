//! A 2.x assistant's tool item (opencode-2x.md §2): `{type:"tool", id, name, state, time}` with
//! `state` streaming (input as raw JSON text), running, completed (`content[]` of text and file
//! items) or error (`error{type, message}`).
//!
//! Native 2.x sessions use the 2.x tool names (`shell`, `subagent`, `patch`, `path` inputs);
//! sessions migrated from 1.x keep the 1.x names (`bash`, `task`, `apply_patch`, `filePath`),
//! so both are recognised.

use super::md::{code, inline};
use super::parts::{duration, json, v2_tool_output};
use super::Renderer;
use serde_json::Value;

impl Renderer<'_> {
    /// Returns false when `item` has no name, so that it is shown generically.
    pub(super) fn tool_item(&mut self, item: &Value) -> bool {
        let Some(name) = item["name"].as_str() else {
            return false;
        };
        let state = &item["state"];
        // While streaming, the input is the raw JSON the model has sent so far.
        let input = match &state["input"] {
            Value::String(raw) => crate::json::parse(raw).unwrap_or(Value::String(raw.clone())),
            other => other.clone(),
        };
        let mut head = format!("**Tool** {}", code(name));
        if let Some(label) = input["description"]
            .as_str()
            .filter(|l| !l.trim().is_empty())
        {
            head.push_str(&format!(" · {}", inline(label)));
        }
        if let Some(status) = state["status"].as_str() {
            head.push_str(&format!(" · {}", inline(status)));
        }
        let time = &item["time"];
        if let (Some(start), Some(end)) = (
            time["ran"].as_f64().or(time["created"].as_f64()),
            time["completed"].as_f64(),
        ) {
            head.push_str(&format!(" · {}", duration(end - start)));
        }
        self.para(&head);
        self.tool_input(name, &input, &state["metadata"]);
        if let Some(child) = child_session(state) {
            self.subagent_link(&child);
        }
        if let Some(output) = v2_tool_output(&state["content"]).filter(|o| !o.is_empty()) {
            self.output("Output", &output);
        }
        for file in state["content"].as_array().into_iter().flatten() {
            if file["type"] == "file" {
                self.flat_file(file);
            }
        }
        match &state["error"] {
            Value::Null => {}
            Value::Object(error) => {
                let kind = error.get("type").and_then(Value::as_str).unwrap_or("error");
                let message = match error.get("message").and_then(Value::as_str) {
                    Some(message) => message.to_owned(),
                    None => json(&state["error"]),
                };
                self.output(&format!("Error ({})", inline(kind)), &message);
            }
            Value::String(error) => self.output("Error", error),
            other => self.output("Error", &json(other)),
        }
        true
    }

    /// The input in the form that reads best: a shell command as `sh`, an edit's diff or a
    /// patch as `diff`, anything else as JSON.
    fn tool_input(&mut self, name: &str, input: &Value, metadata: &Value) {
        let command = matches!(name, "shell" | "bash")
            .then(|| input["command"].as_str())
            .flatten();
        let patch = input["patchText"].as_str().or(input["patch"].as_str());
        if let Some(command) = command {
            self.fence_cut("sh", command);
        } else if let Some(diff) = metadata["diff"].as_str().filter(|d| !d.is_empty()) {
            self.fence_cut("diff", diff);
        } else if let Some(patch) = patch {
            self.fence_cut("diff", patch);
        } else if let Value::String(raw) = input {
            self.fence_cut("text", raw);
        } else if input.as_object().is_some_and(|i| !i.is_empty()) {
            self.fence_cut("json", &json(input));
        }
    }
}

/// The subagent session a `subagent` (2.x) or `task` (1.x) call ran: `metadata.sessionID`, the
/// 1.x `metadata.sessionId`, or the `<subagent sessionID="…">` wrapper of its output.
fn child_session(state: &Value) -> Option<String> {
    let metadata = &state["metadata"];
    if let Some(id) = metadata["sessionID"]
        .as_str()
        .or(metadata["sessionId"].as_str())
    {
        return Some(id.to_owned());
    }
    let text = v2_tool_output(&state["content"])?;
    let rest = &text[text.find("<subagent sessionID=\"")? + "<subagent sessionID=\"".len()..];
    let id = &rest[..rest.find('"')?];
    (id.starts_with("ses_") && !id.contains(char::is_whitespace)).then(|| id.to_owned())
}
