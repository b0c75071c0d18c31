//! A session as readable Markdown: `export --format markdown` and the archive's `transcript.md`.
//!
//! The input is an export document plus the session's extra records (todos, session diff,
//! share, v2 rows). Two generations of documents are rendered by the one renderer: OpenCode
//! 1.x's `{info, messages:[{info, parts}]}` and OpenCode 2.x's `{info, messages}` with flat typed
//! messages (see [`flat`]); [`is_gen2`] tells them apart by shape, since an archived document
//! carries no generation of its own. The output is CommonMark as git forges render it, and it is
//! deterministic: it depends only on the input (no clock, no hash-map order).
//!
//! Promises:
//! - every text and reasoning part's text appears verbatim: as Markdown when it cannot break
//!   the page's structure, otherwise inside a fence;
//! - everything else (tool inputs and outputs, errors, unknown parts) is cut to [`LIMIT`]
//!   characters with a note of how much was cut, and `data:` URLs are never written out;
//! - a fence is always longer than any backtick run it encloses;
//! - part types this module does not know are shown generically, never dropped silently.

mod facts;
mod flat;
mod md;
mod parts;
mod tool_item;

pub use facts::Facts;
use md::{code, fenced, group, html_escape, inline, is_safe_markdown, link_to, shorten};
use parts::json;
use serde_json::{Map, Value};

/// How many characters of a tool input, output, error or unknown part are shown.
pub const LIMIT: usize = 2_000;

/// How many file names a patch or diff list shows.
const MAX_FILES: usize = 50;

/// Outputs up to this many lines and characters are shown open; longer ones are folded.
const OPEN_LINES: usize = 10;
const OPEN_CHARS: usize = 800;

/// A link from one transcript to another session's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLink {
    /// The other session's ID.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The path of its transcript, relative to this one (`<id>.md`, or
    /// `../../<YYYY-MM>/<id>/transcript.md` in the archive).
    pub href: String,
}

/// The transcript of the export document `doc`, with `extra` (todos, session diff, share, v2
/// rows: see `Store::extra`), a link to the parent session's transcript when there is one, and
/// links to the session's child (subagent) sessions, in the given order.
pub fn render_linked(
    doc: &Value,
    extra: Option<&Map<String, Value>>,
    parent: Option<&SessionLink>,
    children: &[SessionLink],
) -> String {
    let empty = Map::new();
    let extra = extra.unwrap_or(&empty);
    let info = &doc["info"];
    let messages: &[Value] = doc["messages"].as_array().map_or(&[], Vec::as_slice);
    let mut r = Renderer {
        out: String::with_capacity(16 * 1024),
        directory: directory(info).unwrap_or_default().to_owned(),
        children,
    };
    r.header(info, messages, extra, parent);
    r.todos(extra.get("todos"));
    r.child_list();
    r.session_diff(extra.get("session_diff"));
    let v2 = extra.get("session_message").and_then(Value::as_array);
    match v2 {
        // A 2.x extra record's `session_message` rows are the unsettled ones the document
        // leaves out, not 1.18's v2-engine rows.
        _ if is_gen2(doc) => r.gen2_conversation(messages, v2.map_or(&[], Vec::as_slice)),
        Some(rows) if messages.is_empty() && !rows.is_empty() => {
            r.heading(2, "Conversation");
            for row in rows {
                r.v2_message(row);
            }
        }
        _ if messages.is_empty() => r.para("*No messages.*"),
        _ => {
            r.heading(2, "Conversation");
            for message in messages {
                r.message(message);
            }
        }
    }
    while r.out.ends_with("\n\n") {
        r.out.pop();
    }
    match crate::json::replace_lone_surrogates(&r.out) {
        std::borrow::Cow::Owned(shown) => shown,
        std::borrow::Cow::Borrowed(_) => r.out,
    }
}

struct Renderer<'a> {
    out: String,
    /// The session's directory: paths under it are shown relative.
    directory: String,
    children: &'a [SessionLink],
}

impl Renderer<'_> {
    /// Appends one block and the blank line that ends it.
    fn block(&mut self, text: &str) {
        self.out.push_str(text);
        if !text.ends_with('\n') {
            self.out.push('\n');
        }
        self.out.push('\n');
    }

    fn para(&mut self, text: &str) {
        self.block(text);
    }

    fn heading(&mut self, level: usize, text: &str) {
        self.block(&format!("{} {text}", "#".repeat(level)));
    }

    fn fence(&mut self, lang: &str, body: &str) {
        self.block(&fenced(lang, body));
    }

    /// A fence of at most [`LIMIT`] characters of `body`, with a note when cut.
    fn fence_cut(&mut self, lang: &str, body: &str) {
        let (head, note) = shorten(body, LIMIT);
        self.fence(lang, head);
        if let Some(note) = note {
            self.para(&note);
        }
    }

    /// Like [`fence_cut`](Self::fence_cut), folded under `summary` when long.
    fn output(&mut self, summary: &str, body: &str) {
        let lines = body.lines().count();
        if lines <= OPEN_LINES && body.len() <= OPEN_CHARS {
            self.para(&format!("{summary}:"));
            self.fence_cut("text", body);
        } else {
            self.open_details(&format!("{summary} ({} lines)", group(lines as f64)));
            self.fence_cut("text", body);
            self.close_details();
        }
    }

    fn open_details(&mut self, summary: &str) {
        self.block(&format!(
            "<details>\n<summary>{}</summary>",
            html_escape(summary)
        ));
    }

    fn close_details(&mut self) {
        self.block("</details>");
    }

    /// Text that must appear verbatim: as Markdown when safe, else fenced.
    fn verbatim(&mut self, text: &str) {
        if is_safe_markdown(text) {
            self.block(text);
        } else {
            self.fence("text", text);
        }
    }

    fn path<'p>(&self, path: &'p str) -> &'p str {
        if self.directory.is_empty() {
            return path;
        }
        path.strip_prefix(self.directory.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|rest| !rest.is_empty())
            .unwrap_or(path)
    }

    fn header(
        &mut self,
        info: &Value,
        messages: &[Value],
        extra: &Map<String, Value>,
        parent: Option<&SessionLink>,
    ) {
        let title = info["title"].as_str().filter(|t| !t.trim().is_empty());
        self.heading(1, &inline(title.unwrap_or("Untitled session")));
        let mut items = Vec::new();
        let mut item = |key: &str, value: String| items.push(format!("- **{key}:** {value}"));
        if let Some(id) = info["id"].as_str() {
            item("Session", code(id));
        }
        match (parent, info["parentID"].as_str()) {
            (Some(link), _) => item(
                "Parent",
                format!("{} ({})", link_to(&link.title, &link.href), code(&link.id)),
            ),
            (None, Some(id)) => item("Parent", code(id)),
            (None, None) => {}
        }
        if let Some(dir) = directory(info) {
            item("Directory", code(dir));
        }
        if let Some(source) = info["fork"]["sessionID"].as_str() {
            item("Forked from", code(source));
        }
        for (key, label) in [
            ("created", "Created"),
            ("updated", "Updated"),
            ("archived", "Archived"),
        ] {
            if let Some(t) = utc(&info["time"][key]) {
                item(label, t);
            }
        }
        // A 2.x `info` has no version: its `session_v2` row (in the extra record) does.
        let session_v2 = extra.get("session_v2").unwrap_or(&Value::Null);
        if let Some(version) = info["version"].as_str().or(session_v2["version"].as_str()) {
            item("OpenCode", inline(version));
        }
        if let Some(outcome) = info["outcome"].as_str() {
            item("Outcome", inline(outcome));
        }
        let facts = Facts::of_parts(info, messages);
        if !facts.agents.is_empty() {
            item("Agent", join_code(&facts.agents));
        }
        if !facts.models.is_empty() {
            item("Model", join_code(&facts.models));
        }
        if let Some(cost) = facts.cost {
            item("Cost", format!("${cost:.4}"));
        }
        if let Some(tokens) = &facts.tokens {
            item("Tokens", tokens.describe());
        }
        let summary = &info["summary"];
        if summary["files"].as_f64().is_some_and(|n| n > 0.0) {
            item(
                "Changes",
                format!(
                    "{} files, +{} −{}",
                    group(summary["files"].as_f64().unwrap_or(0.0)),
                    group(summary["additions"].as_f64().unwrap_or(0.0)),
                    group(summary["deletions"].as_f64().unwrap_or(0.0))
                ),
            );
        }
        let share = info["share"]["url"]
            .as_str()
            .or_else(|| extra.get("share").and_then(|s| s["url"].as_str()))
            .or(session_v2["share_url"].as_str());
        if let Some(url) = share {
            item("Shared", format!("<{}>", url.replace(['<', '>', ' '], "")));
        }
        if let Some(message) = info["revert"]["messageID"].as_str() {
            item("Reverted", format!("back to message {}", code(message)));
        }
        let list = items.join("\n");
        self.block(&list);
    }

    fn todos(&mut self, todos: Option<&Value>) {
        let Some(todos) = todos.and_then(Value::as_array).filter(|t| !t.is_empty()) else {
            return;
        };
        self.heading(2, "Todos");
        let mut lines = Vec::new();
        for todo in todos {
            let content = todo["content"].as_str().unwrap_or_default();
            let status = todo["status"].as_str().unwrap_or_default();
            let mut line = match status {
                "completed" => format!("- [x] {}", inline(content)),
                "cancelled" => format!("- [ ] ~~{}~~", inline(content)),
                _ => format!("- [ ] {}", inline(content)),
            };
            let mut notes = Vec::new();
            if !matches!(status, "completed" | "pending" | "") {
                notes.push(inline(&status.replace('_', " ")));
            }
            if let Some(priority) = todo["priority"].as_str().filter(|p| !p.is_empty()) {
                notes.push(format!("{} priority", inline(priority)));
            }
            if !notes.is_empty() {
                line.push_str(&format!(" *({})*", notes.join(", ")));
            }
            lines.push(line);
        }
        self.block(&lines.join("\n"));
    }

    fn child_list(&mut self) {
        if self.children.is_empty() {
            return;
        }
        self.heading(2, "Subagent sessions");
        let lines: Vec<String> = self
            .children
            .iter()
            .map(|c| format!("- {} ({})", link_to(&c.title, &c.href), code(&c.id)))
            .collect();
        self.block(&lines.join("\n"));
    }

    fn session_diff(&mut self, diff: Option<&Value>) {
        let Some(files) = diff.and_then(Value::as_array).filter(|d| !d.is_empty()) else {
            return;
        };
        self.heading(2, "Changed files");
        let list = self.file_changes(files);
        self.block(&list);
    }

    /// A bounded list of `{file, additions, deletions, status}` entries.
    fn file_changes(&self, files: &[Value]) -> String {
        let mut lines: Vec<String> = files
            .iter()
            .take(MAX_FILES)
            .map(|f| {
                let mut line = format!("- {}", code(self.path(f["file"].as_str().unwrap_or("?"))));
                let (add, del) = (f["additions"].as_f64(), f["deletions"].as_f64());
                if add.is_some() || del.is_some() {
                    line.push_str(&format!(
                        " +{} −{}",
                        group(add.unwrap_or(0.0)),
                        group(del.unwrap_or(0.0))
                    ));
                }
                if let Some(status) = f["status"].as_str() {
                    line.push_str(&format!(" *({})*", inline(status)));
                }
                line
            })
            .collect();
        if files.len() > MAX_FILES {
            lines.push(format!("- … and {} more", files.len() - MAX_FILES));
        }
        lines.join("\n")
    }

    fn message(&mut self, message: &Value) {
        let info = &message["info"];
        let role = info["role"].as_str().unwrap_or("message");
        let compaction = info["summary"] == true || info["mode"] == "compaction";
        let title = match role {
            "user" => "User".to_owned(),
            "assistant" if compaction => "Assistant (compaction summary)".to_owned(),
            "assistant" => "Assistant".to_owned(),
            other => inline(&capitalize(other)),
        };
        self.heading(3, &title);
        let mut meta = Vec::new();
        if let Some(t) = utc(&info["time"]["created"]) {
            meta.push(t);
        }
        if let Some(agent) = info["agent"].as_str().or(info["mode"].as_str()) {
            meta.push(format!("agent {}", code(agent)));
        }
        if let Some(model) = message_model(info) {
            meta.push(format!("model {}", code(&model)));
        }
        if role == "assistant" {
            let tokens = Tokens::of(&info["tokens"]);
            if tokens.total() > 0.0 {
                meta.push(format!("{} tokens", group(tokens.total())));
            }
            if let Some(cost) = info["cost"].as_f64().filter(|c| *c > 0.0) {
                meta.push(format!("${cost:.4}"));
            }
        }
        if !meta.is_empty() {
            self.para(&format!("<sub>{}</sub>", meta.join(" · ")));
        }
        if let Some(parts) = message["parts"].as_array() {
            for part in parts {
                self.part(part);
            }
        }
        if let Some(error) = info.get("error").filter(|e| !e.is_null()) {
            self.error(error);
        }
        if role == "user" {
            if let Some(diffs) = info["summary"]["diffs"]
                .as_array()
                .filter(|d| !d.is_empty())
            {
                self.para("Files changed in this turn:");
                let list = self.file_changes(diffs);
                self.block(&list);
            }
        }
    }

    /// A v2 `session_message` row: `{id, type, seq, data}` with `data` JSON text or an object.
    fn v2_message(&mut self, row: &Value) {
        let data = match &row["data"] {
            Value::String(text) => crate::json::parse(text).unwrap_or(Value::String(text.clone())),
            other => other.clone(),
        };
        let role = row["type"].as_str().unwrap_or("message");
        self.heading(3, &inline(&capitalize(role)));
        let mut meta = Vec::new();
        if let Some(t) = utc(&data["time"]["created"]).or_else(|| utc(&row["time_created"])) {
            meta.push(t);
        }
        if let Some(agent) = data["agent"].as_str() {
            meta.push(format!("agent {}", code(agent)));
        }
        if let Some(model) = model_name(&data["model"]) {
            meta.push(format!("model {}", code(&model)));
        }
        if !meta.is_empty() {
            self.para(&format!("<sub>{}</sub>", meta.join(" · ")));
        }
        let mut shown = false;
        if let Some(text) = data["text"].as_str() {
            if !text.trim().is_empty() {
                self.verbatim(text);
            }
            shown = true;
        }
        if let Some(files) = data["files"].as_array() {
            for file in files {
                self.file(file);
            }
            shown = true;
        }
        if let Some(content) = data["content"].as_array() {
            for part in content {
                self.part(part);
            }
            shown = true;
        }
        if !shown {
            self.fence_cut("json", &json(&data));
        }
    }
}

/// Whether `doc` is an OpenCode 2.x export document: its `info` has a `location` (1.x has a
/// `directory`), or its messages are flat (`type` inline, no `info`).
pub fn is_gen2(doc: &Value) -> bool {
    doc["info"]["location"].is_object()
        || doc["messages"].as_array().is_some_and(|messages| {
            messages
                .iter()
                .any(|m| m["type"].is_string() && m.get("info").is_none())
        })
}

/// The session's directory: 1.x `info.directory`, 2.x `info.location.directory`.
fn directory(info: &Value) -> Option<&str> {
    info["directory"]
        .as_str()
        .or(info["location"]["directory"].as_str())
}

/// What describes a message: a 1.x message's `info`, or a flat 2.x message itself.
fn message_info(message: &Value) -> &Value {
    match message.get("info") {
        Some(info) => info,
        None => message,
    }
}

/// Token counts `{input, output, reasoning, cache:{read, write}}`.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub input: f64,
    pub output: f64,
    pub reasoning: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

impl Tokens {
    fn of(v: &Value) -> Tokens {
        let n = |x: &Value| x.as_f64().unwrap_or(0.0);
        Tokens {
            input: n(&v["input"]),
            output: n(&v["output"]),
            reasoning: n(&v["reasoning"]),
            cache_read: n(&v["cache"]["read"]),
            cache_write: n(&v["cache"]["write"]),
        }
    }

    fn plus(self, o: &Tokens) -> Tokens {
        Tokens {
            input: self.input + o.input,
            output: self.output + o.output,
            reasoning: self.reasoning + o.reasoning,
            cache_read: self.cache_read + o.cache_read,
            cache_write: self.cache_write + o.cache_write,
        }
    }

    pub fn total(&self) -> f64 {
        self.input + self.output + self.reasoning + self.cache_read + self.cache_write
    }

    fn describe(&self) -> String {
        format!(
            "{} input, {} output, {} reasoning, {} cache read, {} cache write",
            group(self.input),
            group(self.output),
            group(self.reasoning),
            group(self.cache_read),
            group(self.cache_write)
        )
    }
}

/// `provider/model` of a session `model` (`{id, providerID}`) or user message `model`
/// (`{providerID, modelID}`).
fn model_name(model: &Value) -> Option<String> {
    let id = model["id"].as_str().or(model["modelID"].as_str())?;
    Some(match model["providerID"].as_str() {
        Some(provider) => format!("{provider}/{id}"),
        None => id.to_owned(),
    })
}

/// The model of a message: assistant `providerID`/`modelID`, or user `model`.
fn message_model(info: &Value) -> Option<String> {
    match (info["providerID"].as_str(), info["modelID"].as_str()) {
        (Some(provider), Some(id)) => Some(format!("{provider}/{id}")),
        (None, Some(id)) => Some(id.to_owned()),
        _ => model_name(&info["model"]),
    }
}

/// The values in first-seen order, without repeats.
fn distinct(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn join_code(values: &[String]) -> String {
    values
        .iter()
        .map(|v| code(v))
        .collect::<Vec<_>>()
        .join(", ")
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A Unix-ms time as `2026-11-24 12:34:56 UTC`.
fn utc(ms: &Value) -> Option<String> {
    let ms = ms.as_f64()?;
    let nanos = (ms as i128).checked_mul(1_000_000)?;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.format(&format).ok()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_gen2;
