//! Rendering of message parts: text, reasoning, tool calls, files, patches, subtasks, agent,
//! compaction and retry parts, and anything else generically.

use super::md::{code, group, inline, link_to, shorten};
use super::{message_model, Renderer};
use serde_json::Value;

impl Renderer<'_> {
    /// An error object: 1.x `{name, data:{message}}` (message or part), 2.x `{type, message}`.
    pub(super) fn error(&mut self, error: &Value) {
        let name = error["name"]
            .as_str()
            .or(error["type"].as_str())
            .unwrap_or("Error");
        let message = error["data"]["message"]
            .as_str()
            .or(error["message"].as_str());
        self.para(&format!("**Error** {}", code(name)));
        match message {
            Some(text) => self.fence_cut("text", text),
            None => self.fence_cut("json", &json(error)),
        }
    }

    pub(super) fn part(&mut self, part: &Value) {
        let kind = part["type"].as_str().unwrap_or_default();
        let handled = match kind {
            "text" => self.text(part),
            "reasoning" => self.reasoning(part),
            "tool" => self.tool(part),
            "file" => self.file(part),
            "patch" => self.patch(part),
            "subtask" => self.subtask(part),
            "agent" => self.agent(part),
            "compaction" => {
                let how = if part["auto"] == true {
                    "automatically"
                } else {
                    "on request"
                };
                self.para(&format!(
                    "**Compaction:** the conversation so far was summarized {how}."
                ));
                true
            }
            "retry" => {
                let attempt = part["attempt"].as_f64().map_or("?".into(), group);
                self.para(&format!("**Retry** (attempt {attempt})"));
                if part["error"].is_object() {
                    self.error(&part["error"]);
                }
                true
            }
            // Token and cost totals are in the message header; snapshots are tree hashes.
            "step-start" | "step-finish" | "snapshot" => true,
            _ => false,
        };
        if !handled {
            self.unknown(part);
        }
    }

    fn text(&mut self, part: &Value) -> bool {
        let Some(text) = part["text"].as_str() else {
            return false;
        };
        if text.trim().is_empty() {
            return true;
        }
        if part["synthetic"] == true {
            self.open_details("Added by OpenCode");
            self.fence("text", text);
            self.close_details();
        } else {
            self.verbatim(text);
        }
        true
    }

    fn reasoning(&mut self, part: &Value) -> bool {
        let Some(text) = part["text"].as_str() else {
            return false;
        };
        if text.trim().is_empty() {
            self.para("*Reasoning (not shown by the provider)*");
            return true;
        }
        self.open_details("Reasoning");
        self.verbatim(text);
        self.close_details();
        true
    }

    /// A v1 tool part (`tool`, `state.output`) or a v2 `session_message` tool item (`name`,
    /// `state.content` as text items).
    fn tool(&mut self, part: &Value) -> bool {
        let Some(name) = part["tool"].as_str().or(part["name"].as_str()) else {
            return false;
        };
        let state = &part["state"];
        let input = &state["input"];
        let command = (name == "bash")
            .then(|| input["command"].as_str())
            .flatten();
        let mut head = format!("**Tool** {}", code(name));
        let label = match command {
            Some(_) => input["description"].as_str(),
            None => state["title"].as_str(),
        };
        if let Some(label) = label.filter(|l| !l.trim().is_empty()) {
            head.push_str(&format!(" · {}", inline(label)));
        }
        if let Some(status) = state["status"].as_str() {
            head.push_str(&format!(" · {}", inline(status)));
        }
        if let (Some(start), Some(end)) = (
            state["time"]["start"].as_f64(),
            state["time"]["end"].as_f64(),
        ) {
            head.push_str(&format!(" · {}", duration(end - start)));
        }
        self.para(&head);
        if let Some(command) = command {
            self.fence_cut("sh", command);
        } else if let Some(diff) = (name == "edit")
            .then(|| state["metadata"]["diff"].as_str())
            .flatten()
        {
            self.fence_cut("diff", diff);
        } else if input.as_object().is_some_and(|i| !i.is_empty()) {
            self.fence_cut("json", &json(input));
        }
        if let Some(child) = state["metadata"]["sessionId"].as_str() {
            self.subagent_link(child);
        }
        if let Some(attachments) = state["attachments"].as_array() {
            for file in attachments {
                self.file(file);
            }
        }
        let output = match state["output"].as_str() {
            Some(output) => Some(output.to_owned()),
            None => v2_tool_output(&state["content"]),
        };
        if let Some(output) = output.filter(|o| !o.is_empty()) {
            self.output("Output", &output);
        }
        match &state["error"] {
            Value::String(error) => self.output("Error", error),
            Value::Null => {}
            other => self.output("Error", &json(other)),
        }
        true
    }

    /// The line naming a subagent (child) session, linked to its transcript when known.
    pub(super) fn subagent_link(&mut self, child: &str) {
        let target = match self.children.iter().find(|c| c.id == child) {
            Some(link) => format!("{} ({})", link_to(&link.title, &link.href), code(child)),
            None => code(child),
        };
        self.para(&format!("Subagent session: {target}"));
    }

    pub(super) fn file(&mut self, part: &Value) -> bool {
        let url = part["url"].as_str().unwrap_or_default();
        let name = part["filename"]
            .as_str()
            .or(part["source"]["path"].as_str())
            .map(|n| self.path(n).to_owned());
        let mut line = format!("**File** {}", code(name.as_deref().unwrap_or("(unnamed)")));
        if let Some(mime) = part["mime"].as_str() {
            line.push_str(&format!(" · {}", inline(mime)));
        }
        if url.starts_with("data:") {
            line.push_str(&format!(
                " · inline data, {} bytes",
                group(data_url_size(url) as f64)
            ));
        } else if !url.is_empty() {
            line.push_str(&format!(" · {}", code(shorten(url, 500).0)));
        }
        self.para(&line);
        true
    }

    fn patch(&mut self, part: &Value) -> bool {
        let Some(files) = part["files"].as_array() else {
            return false;
        };
        let mut line = "**Patch**".to_owned();
        if let Some(hash) = part["hash"].as_str() {
            line.push_str(&format!(
                " (snapshot {})",
                code(&hash.chars().take(10).collect::<String>())
            ));
        }
        let entries: Vec<Value> = files
            .iter()
            .map(|f| match f {
                Value::String(_) => serde_json::json!({ "file": f }),
                other => other.clone(),
            })
            .collect();
        if entries.is_empty() {
            line.push_str(": no files");
            self.para(&line);
        } else {
            line.push_str(" changed:");
            self.para(&line);
            let list = self.file_changes(&entries);
            self.block(&list);
        }
        true
    }

    fn subtask(&mut self, part: &Value) -> bool {
        let mut line = "**Subtask**".to_owned();
        if let Some(agent) = part["agent"].as_str() {
            line.push_str(&format!(" for agent {}", code(agent)));
        }
        if let Some(model) = message_model(&part["model"]) {
            line.push_str(&format!(" · model {}", code(&model)));
        }
        if let Some(description) = part["description"].as_str() {
            line.push_str(&format!(" · {}", inline(description)));
        }
        if let Some(command) = part["command"].as_str() {
            line.push_str(&format!(" · command {}", code(command)));
        }
        self.para(&line);
        if let Some(prompt) = part["prompt"].as_str() {
            self.fence_cut("text", prompt);
        }
        true
    }

    fn agent(&mut self, part: &Value) -> bool {
        let Some(name) = part["name"].as_str() else {
            return false;
        };
        self.para(&format!("**Agent** {}", code(&format!("@{name}"))));
        true
    }

    pub(super) fn unknown(&mut self, part: &Value) {
        let kind = part["type"].as_str().unwrap_or("unknown");
        self.para(&format!("**Part** {}", code(kind)));
        let mut shown = part.clone();
        if let Value::Object(map) = &mut shown {
            for key in ["id", "sessionID", "messageID"] {
                map.remove(key);
            }
        }
        self.fence_cut("json", &json(&shown));
    }
}

/// The text items of a v2 tool result (`[{type:"text", text}]`), joined; `None` when it has
/// none.
pub(super) fn v2_tool_output(content: &Value) -> Option<String> {
    let texts: Vec<&str> = content
        .as_array()?
        .iter()
        .filter(|item| item["type"] == "text")
        .filter_map(|item| item["text"].as_str())
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

pub(super) fn duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", ms.max(0.0).round())
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// JSON for display: two-space indented, `data:` URLs replaced by their size.
pub(super) fn json(value: &Value) -> String {
    String::from_utf8(crate::json::pretty(&without_data_urls(value))).expect("JSON is UTF-8")
}

fn without_data_urls(value: &Value) -> Value {
    match value {
        Value::String(s) if s.starts_with("data:") => Value::String(format!(
            "[data URL, {} bytes]",
            group(data_url_size(s) as f64)
        )),
        Value::Array(items) => Value::Array(items.iter().map(without_data_urls).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), without_data_urls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The size of the content of a `data:` URL (decoded, for base64).
pub(super) fn data_url_size(url: &str) -> usize {
    let Some((meta, payload)) = url.split_once(',') else {
        return 0;
    };
    if meta.ends_with(";base64") {
        let payload = payload.trim_end();
        let padding = payload.bytes().rev().take_while(|b| *b == b'=').count();
        (payload.len() / 4 * 3 + payload.len() % 4 * 3 / 4).saturating_sub(padding.min(2))
    } else {
        payload.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_are_measured_not_shown() {
        assert_eq!(data_url_size("data:text/plain;base64,aGVsbG8="), 5);
        assert_eq!(data_url_size("data:text/plain;base64,aGVsbG8h"), 6);
        assert_eq!(data_url_size("data:text/plain;base64,aGVsbA"), 4);
        assert_eq!(data_url_size("data:,abc"), 3);
        let shown = json(&serde_json::json!({"a": ["data:image/png;base64,AAAA"], "b": "x"}));
        assert_eq!(
            shown,
            "{\n  \"a\": [\n    \"[data URL, 3 bytes]\"\n  ],\n  \"b\": \"x\"\n}"
        );
        assert_eq!(duration(85.4), "85 ms");
        assert_eq!(duration(1500.0), "1.5 s");
    }
}
