//! The conversation of an OpenCode 2.x document: flat typed messages (`{id, type, …data}`,
//! opencode-2x.md §2), one renderer per message type of the 2.x union.
//!
//! Conversational messages (user, assistant, synthetic, system, skill, shell, compaction) get a
//! heading like 1.x messages; the markers between them (agent, model and location switches, and
//! `idle`, the end of a turn) are one short line each, because they carry one fact. A type this
//! module does not know is shown generically, never dropped.

use super::md::{code, group, inline};
use super::parts::json;
use super::{capitalize, model_name, utc, Renderer, Tokens};
use serde_json::{Map, Value};

impl Renderer<'_> {
    /// The settled `messages`, then the `unsettled` raw rows the export leaves out (a turn in
    /// progress, or one cut off), so that the transcript shows everything the archive holds.
    pub(super) fn gen2_conversation(&mut self, messages: &[Value], unsettled: &[Value]) {
        if messages.is_empty() && unsettled.is_empty() {
            self.para("*No messages.*");
            return;
        }
        if !messages.is_empty() {
            self.heading(2, "Conversation");
            for message in messages {
                self.flat_message(message);
            }
        }
        if !unsettled.is_empty() {
            self.heading(2, "Unsettled messages");
            self.para(
                "*OpenCode had not finished these (a turn in progress, or one cut off); \
                 `opencode session export` leaves them out.*",
            );
            for row in unsettled {
                self.flat_message(&flat_of_row(row));
            }
        }
    }

    /// One 2.x message.
    pub(super) fn flat_message(&mut self, m: &Value) {
        let kind = m["type"].as_str().unwrap_or_default();
        if let Some(line) = marker_line(kind, m) {
            self.para(&line);
            return;
        }
        match kind {
            "user" => self.user(m),
            "assistant" => self.assistant(m),
            "synthetic" => self.synthetic(m),
            "system" => self.system(m),
            "skill" => self.skill(m),
            "shell" => self.shell(m),
            "compaction" => self.compaction(m),
            _ => self.unknown_message(m),
        }
    }

    /// The heading and the `<sub>` line of time, agent, model, tokens and cost.
    fn message_head(&mut self, title: &str, m: &Value) {
        self.heading(3, title);
        let mut meta = Vec::new();
        if let Some(t) = utc(&m["time"]["created"]) {
            meta.push(t);
        }
        if let Some(agent) = m["agent"].as_str() {
            meta.push(format!("agent {}", code(agent)));
        }
        if let Some(model) = model_name(&m["model"]) {
            meta.push(format!("model {}", code(&model)));
        }
        let tokens = Tokens::of(&m["tokens"]);
        if tokens.total() > 0.0 {
            meta.push(format!("{} tokens", group(tokens.total())));
        }
        if let Some(cost) = m["cost"].as_f64().filter(|c| *c > 0.0) {
            meta.push(format!("${cost:.4}"));
        }
        if !meta.is_empty() {
            self.para(&format!("<sub>{}</sub>", meta.join(" · ")));
        }
    }

    fn user(&mut self, m: &Value) {
        self.message_head("User", m);
        if let Some(text) = m["text"].as_str().filter(|t| !t.trim().is_empty()) {
            self.verbatim(text);
        }
        for file in m["files"].as_array().into_iter().flatten() {
            self.flat_file(file);
        }
        // Agents are mentioned as `@name`, as the prompt wrote them; skills by name.
        for (key, label, at) in [("agents", "Agent", "@"), ("skills", "Skill", "")] {
            for named in m[key].as_array().into_iter().flatten() {
                let name = named
                    .as_str()
                    .or(named["name"].as_str())
                    .or(named["id"].as_str());
                match name {
                    Some(name) => {
                        self.para(&format!("**{label}** {}", code(&format!("{at}{name}"))))
                    }
                    None => self.fence_cut("json", &json(named)),
                }
            }
        }
    }

    fn assistant(&mut self, m: &Value) {
        self.message_head("Assistant", m);
        for item in m["content"].as_array().into_iter().flatten() {
            self.content_item(item);
        }
        // Present only when snapshots are enabled: the files the turn changed.
        if let Some(files) = m["snapshot"]["files"].as_array().filter(|f| !f.is_empty()) {
            self.para("**Patch** changed:");
            let entries: Vec<Value> = files.iter().map(file_entry).collect();
            let list = self.file_changes(&entries);
            self.block(&list);
        }
        if m["retry"].is_object() {
            let attempt = m["retry"]["attempt"].as_f64().map_or("?".into(), group);
            self.para(&format!("**Retry** (attempt {attempt})"));
            if m["retry"]["error"].is_object() {
                self.error(&m["retry"]["error"]);
            }
        }
        if m["error"].is_object() {
            self.error(&m["error"]);
        }
    }

    /// An assistant content item. Text and reasoning items have the fields of 1.x text and
    /// reasoning parts (the reasoning item's timing aside, which no part shows), so the part
    /// renderer shows them, and anything unknown generically; tool items differ.
    fn content_item(&mut self, item: &Value) {
        if item["type"] == "tool" {
            if !self.tool_item(item) {
                self.unknown(item);
            }
        } else {
            self.part(item);
        }
    }

    /// A message OpenCode added to the conversation (a plan-mode reminder, say): folded, as
    /// 1.x synthetic text parts are.
    fn synthetic(&mut self, m: &Value) {
        self.message_head("Synthetic", m);
        let summary = m["description"].as_str().unwrap_or("Added by OpenCode");
        let text = m["text"].as_str().unwrap_or_default();
        self.open_details(summary);
        self.fence("text", text);
        self.close_details();
    }

    fn system(&mut self, m: &Value) {
        self.message_head("System", m);
        if let Some(description) = m["description"].as_str() {
            self.para(&format!("*{}*", inline(description)));
        }
        if let Some(text) = m["text"].as_str().filter(|t| !t.trim().is_empty()) {
            self.verbatim(text);
        }
    }

    fn skill(&mut self, m: &Value) {
        self.message_head("Skill", m);
        let name = m["name"].as_str().unwrap_or("?");
        let mut line = format!("**Skill** {}", code(name));
        if let Some(id) = m["skill"].as_str().filter(|id| *id != name) {
            line.push_str(&format!(" ({})", code(id)));
        }
        self.para(&line);
        if let Some(text) = m["text"].as_str().filter(|t| !t.trim().is_empty()) {
            self.open_details("Skill instructions");
            self.fence_cut("text", text);
            self.close_details();
        }
    }

    /// A command the user ran in the session's shell (`!command`), with its exit and output.
    fn shell(&mut self, m: &Value) {
        self.message_head("Shell", m);
        let mut head = "**Shell**".to_owned();
        if let Some(status) = m["status"].as_str() {
            head.push_str(&format!(" · {}", inline(status)));
        }
        if let Some(exit) = m["exit"].as_i64() {
            head.push_str(&format!(" · exit {exit}"));
        }
        if let (Some(start), Some(end)) = (
            m["time"]["created"].as_f64(),
            m["time"]["completed"].as_f64(),
        ) {
            head.push_str(&format!(" · {}", super::parts::duration(end - start)));
        }
        self.para(&head);
        if let Some(command) = m["command"].as_str() {
            self.fence_cut("sh", command);
        }
        let output = &m["output"];
        if let Some(text) = output["output"].as_str().filter(|o| !o.is_empty()) {
            self.output("Output", text);
        }
        if output["truncated"] == true {
            let size = output["size"].as_f64().map_or("?".into(), group);
            self.para(&format!(
                "*OpenCode kept only part of the output ({size} bytes in all).*"
            ));
        }
    }

    fn compaction(&mut self, m: &Value) {
        self.message_head("Compaction", m);
        let how = match m["reason"].as_str() {
            Some("manual") => "on request",
            _ => "automatically",
        };
        match m["status"].as_str() {
            Some("failed") => self.para(&format!("**Compaction** {how} failed.")),
            Some("running") => self.para(&format!("**Compaction** {how}, in progress.")),
            _ => self.para(&format!(
                "**Compaction:** the conversation so far was summarized {how}."
            )),
        }
        if let Some(summary) = m["summary"].as_str().filter(|s| !s.trim().is_empty()) {
            self.open_details("Summary");
            self.verbatim(summary);
            self.close_details();
        }
        if m["error"].is_object() {
            self.error(&m["error"]);
        }
    }

    /// A message of a type newer than this module: its heading and its fields as JSON.
    fn unknown_message(&mut self, m: &Value) {
        let kind = m["type"].as_str().unwrap_or("message");
        self.message_head(&inline(&capitalize(kind)), m);
        let mut shown = m.clone();
        if let Value::Object(map) = &mut shown {
            map.remove("id");
            map.remove("type");
        }
        self.fence_cut("json", &json(&shown));
    }

    /// A 2.x file (`{uri | data, mime, name?}`: `data` is bare base64), shown by the 1.x file
    /// renderer, which never writes out inline data.
    pub(super) fn flat_file(&mut self, file: &Value) {
        let mut part = Map::new();
        let url = match (file["uri"].as_str(), file["data"].as_str()) {
            (Some(uri), _) => uri.to_owned(),
            (None, Some(data)) => format!("data:;base64,{data}"),
            (None, None) => String::new(),
        };
        part.insert("url".into(), Value::String(url));
        for (from, to) in [("name", "filename"), ("mime", "mime"), ("source", "source")] {
            if let Some(value) = file.get(from) {
                part.insert(to.into(), value.clone());
            }
        }
        self.file(&Value::Object(part));
    }
}

/// The one-line rendering of a marker message (agent, model or location switched; idle), or
/// `None` for other types and for a marker missing what it says.
fn marker_line(kind: &str, m: &Value) -> Option<String> {
    let named = |v: &Value| v.as_str().map(String::from).or_else(|| model_name(v));
    let what = match kind {
        "agent-switched" => {
            let to = named(&m["agent"])?;
            match named(&m["previous"]) {
                Some(from) => format!("Agent switched to {} (from {})", code(&to), code(&from)),
                None => format!("Agent set to {}", code(&to)),
            }
        }
        "model-switched" => {
            let to = model_name(&m["model"])?;
            match model_name(&m["previous"]) {
                Some(from) => format!("Model switched to {} (from {})", code(&to), code(&from)),
                None => format!("Model set to {}", code(&to)),
            }
        }
        "location-switched" => {
            let to = m["location"]["directory"].as_str()?;
            match m["previous"]["location"]["directory"].as_str() {
                Some(from) => format!("Moved to {} (from {})", code(to), code(from)),
                None => format!("Moved to {}", code(to)),
            }
        }
        "idle" => format!("Turn ended: {}", inline(m["outcome"].as_str()?)),
        _ => return None,
    };
    Some(match utc(&m["time"]["created"]) {
        Some(t) => format!("*{what}* · <sub>{t}</sub>"),
        None => format!("*{what}*"),
    })
}

/// A `snapshot.files` entry as a `{file}` change entry.
fn file_entry(f: &Value) -> Value {
    match f {
        Value::String(_) => serde_json::json!({ "file": f }),
        Value::Object(o) if !o.contains_key("file") => {
            let path = o.get("path").or(o.get("filePath")).cloned();
            serde_json::json!({ "file": path.unwrap_or(Value::Null) })
        }
        other => other.clone(),
    }
}

/// A raw `session_message` row (`{id, type, seq, …, data}`, `data` JSON text or an object) as
/// a flat message: `data` with `id` and `type` put back.
fn flat_of_row(row: &Value) -> Value {
    let data = match &row["data"] {
        Value::String(text) => crate::json::parse(text).unwrap_or(Value::String(text.clone())),
        other => other.clone(),
    };
    let mut flat = match data {
        Value::Object(map) => map,
        other => Map::from_iter([("data".to_owned(), other)]),
    };
    for key in ["id", "type"] {
        if let Some(value) = row.get(key) {
            flat.insert(key.into(), value.clone());
        }
    }
    Value::Object(flat)
}
