//! What text of a session `search` looks in, and who wrote it.
//!
//! A session's searchable text is its conversation: what the user wrote, what the assistant
//! wrote (and reasoned), and each tool call's input and output. Two forms carry it:
//! - a store's messages and parts (OpenCode 1.x parts, 2.x flat messages): the full text,
//!   read from the parts themselves ([`part_texts`], [`flat_texts`]);
//! - an archive's `transcript.md`, for a session only the archive holds: the text as the
//!   transcript shows it (tool input and output cut to [`crate::transcript::LIMIT`]
//!   characters), which is already text and needs no JSON parsing ([`transcript_lines`]).
//!
//! Both number a session's messages the same way, 1 upwards in the transcript's order, so a
//! match names the same message whichever copy it came from.

use serde::Serialize;
use serde_json::Value;

/// Who wrote a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    /// A tool call's input or output.
    Tool,
    /// Anything else a message holds (a 2.x system or shell message, say).
    Other,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
            Role::Other => "other",
        }
    }

    /// The role of a message's own text, from `info.role` or a 2.x message's `type`.
    pub fn of_message(role: Option<&str>) -> Role {
        match role {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            _ => Role::Other,
        }
    }
}

/// One searchable piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a> {
    pub role: Role,
    /// The tool, for a tool call's text.
    pub tool: Option<&'a str>,
    pub text: &'a str,
}

/// The searchable texts of a 1.x part of a message written by `role`: text and reasoning
/// parts, a subtask's prompt, and a tool call's input strings, output and error.
pub fn part_texts<'a>(part: &'a Value, role: Role, out: &mut Vec<Text<'a>>) {
    let mut push = |role: Role, tool: Option<&'a str>, value: &'a Value| {
        if let Some(text) = value.as_str().filter(|t| !t.is_empty()) {
            out.push(Text { role, tool, text });
        }
    };
    match part["type"].as_str() {
        Some("text" | "reasoning") => push(role, None, &part["text"]),
        Some("subtask") => {
            push(role, None, &part["description"]);
            push(role, None, &part["prompt"]);
        }
        Some("tool") => tool_texts(part, out),
        _ => {}
    }
}

/// A tool call's texts: every string in its input (not `data:` URLs), its diff, its output (1.x
/// `state.output`, 2.x text content items) and its error.
fn tool_texts<'a>(call: &'a Value, out: &mut Vec<Text<'a>>) {
    let tool = call["tool"].as_str().or(call["name"].as_str());
    let state = &call["state"];
    let mut strings = Vec::new();
    strings_in(&state["input"], &mut strings);
    // An `edit` call's diff, which its transcript shows in place of the input.
    strings.push(&state["metadata"]["diff"]);
    strings.push(&state["output"]);
    for item in state["content"].as_array().into_iter().flatten() {
        if item["type"] == "text" {
            strings.push(&item["text"]);
        }
    }
    strings.push(&state["error"]);
    for value in strings {
        if let Some(text) = value.as_str().filter(|t| !t.is_empty()) {
            out.push(Text {
                role: Role::Tool,
                tool,
                text,
            });
        }
    }
}

/// The strings inside `value`, depth first, but `data:` URLs (attachments: base64, never text
/// to search).
fn strings_in<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::String(s) if !s.starts_with("data:") => out.push(value),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

/// The searchable texts of a 1.x message `{info, parts}`.
pub fn message_texts<'a>(message: &'a Value, out: &mut Vec<Text<'a>>) {
    let role = Role::of_message(message["info"]["role"].as_str());
    for part in message["parts"].as_array().into_iter().flatten() {
        part_texts(part, role, out);
    }
}

/// Whether a 2.x message gets a heading of its own in the transcript (and so a number):
/// the markers between messages (agent, model and location switches, the end of a turn) do
/// not.
pub fn flat_is_numbered(message: &Value) -> bool {
    !matches!(
        message["type"].as_str(),
        Some("agent-switched" | "model-switched" | "location-switched" | "idle")
    )
}

/// The searchable texts of a 2.x flat message: its own text, and an assistant's content
/// items (text, reasoning, tool calls).
pub fn flat_texts<'a>(message: &'a Value, out: &mut Vec<Text<'a>>) {
    let role = Role::of_message(message["type"].as_str());
    if let Some(text) = message["text"].as_str().filter(|t| !t.is_empty()) {
        out.push(Text {
            role,
            tool: None,
            text,
        });
    }
    for item in message["content"].as_array().into_iter().flatten() {
        part_texts(item, role, out);
    }
}

/// One line of a transcript's conversation, with the message it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLine<'a> {
    /// The message's number, 1 upwards.
    pub message: usize,
    pub role: Role,
    pub tool: Option<&'a str>,
    pub line: &'a str,
}

/// Hands each line of the conversation in `transcript` (as [`crate::transcript`] renders it)
/// to `visit`, with its message, role and tool; the rendering's own lines (headings, the
/// `<sub>` line under each, fences, `<details>` folds, the line that opens a tool call) are
/// not text of the session and are left out.
///
/// A message starts at a `### <Role>` heading outside any fence that the `<sub>` line of its
/// time follows; a tool call's text runs from its `**Tool**` line to the next part. Text a
/// user wrote that looks like a message heading is shown in a fence, or is not followed by
/// a `<sub>` line of the transcript's own.
pub fn transcript_lines<'a>(transcript: &'a str, mut visit: impl FnMut(TranscriptLine<'a>)) {
    let lines: Vec<&str> = transcript.lines().collect();
    let mut in_conversation = false;
    let mut message = 0;
    let mut role = Role::Other;
    let mut tool: Option<&str> = None;
    let mut fence: Option<(u8, usize)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if let Some((ch, n)) = fence {
            if closes_fence(line, ch, n) {
                fence = None;
            } else if in_conversation && message > 0 {
                visit(TranscriptLine {
                    message,
                    role: if tool.is_some() { Role::Tool } else { role },
                    tool,
                    line,
                });
            }
            continue;
        }
        if let Some(opened) = opens_fence(line) {
            fence = Some(opened);
            continue;
        }
        if line.starts_with("## ") {
            // `## Conversation` (and 2.x's `## Unsettled messages`) start the messages; the
            // headings before them are the header's.
            in_conversation = line == "## Conversation" || line == "## Unsettled messages";
            continue;
        }
        if !in_conversation {
            continue;
        }
        if let Some(title) = line.strip_prefix("### ") {
            let next = lines[i..].iter().find(|l| !l.is_empty());
            if next.is_some_and(|l| l.starts_with("<sub>") && l.ends_with("</sub>")) {
                message += 1;
                role = heading_role(title);
                tool = None;
                i += 1 + lines[i..].iter().take_while(|l| l.is_empty()).count();
                continue;
            }
        }
        if message == 0 || line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("**Tool** `") {
            tool = rest.split('`').next();
            continue;
        }
        if is_markup(line) {
            if line == "<summary>Reasoning</summary>" {
                tool = None;
            }
            continue;
        }
        // Another part ends a tool call: any paragraph but those a call is shown with.
        if tool.is_some() && !is_tool_body(line) {
            tool = None;
        }
        visit(TranscriptLine {
            message,
            role: if tool.is_some() { Role::Tool } else { role },
            tool,
            line,
        });
    }
}

/// The role a message heading names: `User`, `Assistant`, `Assistant (compaction summary)`;
/// other titles (2.x system, shell, … messages) are [`Role::Other`].
fn heading_role(title: &str) -> Role {
    match title {
        "User" => Role::User,
        t if t == "Assistant" || t.starts_with("Assistant (") => Role::Assistant,
        _ => Role::Other,
    }
}

/// Lines of the transcript's own making inside a message: folds and tool-output labels.
fn is_markup(line: &str) -> bool {
    line == "<details>"
        || line == "</details>"
        || (line.starts_with("<summary>") && line.ends_with("</summary>"))
        || line == "Output:"
        || line == "Error:"
}

/// Paragraphs a tool call is shown with besides fences: its subagent, attachments and the
/// note of a cut output.
fn is_tool_body(line: &str) -> bool {
    line.starts_with("Subagent session: ")
        || line.starts_with("**File** ")
        || (line.starts_with("*… ") && line.ends_with(" characters not shown.*"))
}

/// A fence opening: three or more backticks or tildes after at most three spaces.
fn opens_fence(line: &str) -> Option<(u8, usize)> {
    let trimmed = strip_indent(line);
    let ch = *trimmed.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let n = trimmed.bytes().take_while(|b| *b == ch).count();
    // A backtick fence's info string holds no backtick (else it is inline code).
    (n >= 3 && !(ch == b'`' && trimmed[n..].contains('`'))).then_some((ch, n))
}

fn closes_fence(line: &str, ch: u8, n: usize) -> bool {
    let trimmed = strip_indent(line);
    let run = trimmed.bytes().take_while(|b| *b == ch).count();
    run >= n && trimmed[run..].trim().is_empty()
}

fn strip_indent(line: &str) -> &str {
    let spaces = line.bytes().take(3).take_while(|b| *b == b' ').count();
    &line[spaces..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn transcript(doc: &Value) -> String {
        crate::transcript::render_linked(doc, None, None, &[])
    }

    fn lines(md: &str) -> Vec<(usize, Role, Option<String>, String)> {
        let mut out = Vec::new();
        transcript_lines(md, |l| {
            out.push((
                l.message,
                l.role,
                l.tool.map(String::from),
                l.line.to_owned(),
            ))
        });
        out
    }

    #[test]
    fn transcript_lines_know_their_message_role_and_tool() {
        let doc = json!({
            "info": {"id": "ses_1", "title": "T", "directory": "/r",
                     "time": {"created": 1, "updated": 2}},
            "messages": [
                {"info": {"id": "m1", "role": "user", "time": {"created": 1}},
                 "parts": [{"type": "text", "text": "find the naïve café\n### User\nsecond line"}]},
                {"info": {"id": "m2", "role": "assistant", "time": {"created": 2}},
                 "parts": [
                    {"type": "reasoning", "text": "thinking about it"},
                    {"type": "tool", "tool": "bash", "state": {"status": "completed",
                      "input": {"command": "grep -r café .", "description": "Search"},
                      "output": "a.txt: café"}},
                    {"type": "text", "text": "Found it."}]}
            ]
        });
        let md = transcript(&doc);
        let got = lines(&md);
        let user = |l: &str| (1, Role::User, None, l.to_owned());
        let tool = |l: &str| (2, Role::Tool, Some("bash".to_owned()), l.to_owned());
        let assistant = |l: &str| (2, Role::Assistant, None, l.to_owned());
        assert_eq!(
            got,
            vec![
                user("find the naïve café"),
                user("### User"),
                user("second line"),
                assistant("thinking about it"),
                tool("grep -r café ."),
                tool("a.txt: café"),
                assistant("Found it."),
            ],
            "{md}"
        );
    }

    #[test]
    fn parts_give_their_text_and_tool_calls_their_input_and_output() {
        let message = json!({"info": {"role": "assistant"}, "parts": [
            {"type": "step-start"},
            {"type": "text", "text": "hello"},
            {"type": "tool", "tool": "read", "state": {
                "input": {"filePath": "/r/a.txt", "n": 3, "image": "data:image/png;base64,AAAA"},
                "output": "contents", "error": null}},
            {"type": "file", "url": "data:text/plain;base64,AAAA", "filename": "x"},
        ]});
        let mut out = Vec::new();
        message_texts(&message, &mut out);
        let got: Vec<(Role, Option<&str>, &str)> =
            out.iter().map(|t| (t.role, t.tool, t.text)).collect();
        assert_eq!(
            got,
            vec![
                (Role::Assistant, None, "hello"),
                (Role::Tool, Some("read"), "/r/a.txt"),
                (Role::Tool, Some("read"), "contents"),
            ]
        );
    }
}
