//! A scripted fake OpenAI-compatible LLM on loopback, in std only.
//!
//! OpenCode talks to it through the `@ai-sdk/openai-compatible` provider. The user prompt
//! carries the script: [`script`] turns a list of [`Step`]s into `{{step:…}}` / `{{reply:…}}`
//! tokens (base64url JSON). For every chat request the server finds the last user message that
//! holds tokens, counts the assistant tool-call messages after it, and answers the next tool
//! step not yet answered, or, once all are answered, the final reply text (streamed after
//! its reasoning for a [`Step::Think`]). Requests without `tools` (titles, summaries) get the
//! text of the last [`Step::Summary`] found in any of their messages, or else a short title.

use serde_json::{json, Value};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Title answered to requests that carry no tools (title and summary generation) and no
/// [`Step::Summary`].
pub const TITLE: &str = "Mock title";
/// Final text answered when a script has no [`Step::Reply`].
pub const DEFAULT_REPLY: &str = "Done. All finished.";

const MAX_HEADER: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;
const POLL: Duration = Duration::from_millis(50);

/// One scripted move of the fake model.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Call tool `name` with `args` (one tool call per model turn).
    Tool { name: String, args: Value },
    /// The final plain-text answer, sent after every tool step was answered.
    Reply(String),
    /// Like [`Reply`](Step::Reply), with `reasoning` streamed first as
    /// `delta.reasoning_content`, which OpenCode stores as a `reasoning` part.
    Think { reasoning: String, reply: String },
    /// The answer to tool-less requests whose messages carry this step: OpenCode's compaction
    /// request quotes the conversation, script included, and so gets this text as its summary.
    /// Title requests quote it too: give such a session a fixed title (`--title`).
    Summary(String),
}

impl Step {
    /// A call of any tool.
    pub fn tool(name: &str, args: Value) -> Step {
        Step::Tool {
            name: name.to_owned(),
            args,
        }
    }
    /// `write` a file (path relative to the session directory, or absolute).
    pub fn write(path: &str, content: &str) -> Step {
        Step::tool("write", json!({ "filePath": path, "content": content }))
    }
    /// `read` a file.
    pub fn read(path: &str) -> Step {
        Step::tool("read", json!({ "filePath": path }))
    }
    /// `edit` a file: replace `old` by `new` (the file must have been read or written first).
    pub fn edit(path: &str, old: &str, new: &str) -> Step {
        Step::tool(
            "edit",
            json!({ "filePath": path, "oldString": old, "newString": new }),
        )
    }
    /// Run a `bash` command.
    pub fn bash(command: &str, description: &str) -> Step {
        Step::tool(
            "bash",
            json!({ "command": command, "description": description }),
        )
    }
    /// `todowrite` with `(content, status, priority)` triples.
    pub fn todowrite(todos: &[(&str, &str, &str)]) -> Step {
        let todos: Vec<Value> = todos
            .iter()
            .enumerate()
            .map(|(i, (content, status, priority))| {
                json!({ "id": (i + 1).to_string(), "content": content, "status": status, "priority": priority })
            })
            .collect();
        Step::tool("todowrite", json!({ "todos": todos }))
    }
    /// `task`: start a `general` subagent (a child session) with `prompt`, which may itself
    /// carry a [`script`].
    pub fn task(description: &str, prompt: &str) -> Step {
        Step::tool(
            "task",
            json!({ "description": description, "prompt": prompt, "subagent_type": "general" }),
        )
    }
    /// The final text answer.
    pub fn reply(text: &str) -> Step {
        Step::Reply(text.to_owned())
    }
    /// The final text answer `reply`, after the model's `reasoning`.
    pub fn think(reasoning: &str, reply: &str) -> Step {
        Step::Think {
            reasoning: reasoning.to_owned(),
            reply: reply.to_owned(),
        }
    }
    /// The summary answered when OpenCode compacts the session.
    pub fn summary(text: &str) -> Step {
        Step::Summary(text.to_owned())
    }
}

/// Encodes `steps` as prompt text the fake LLM understands (`{{step:…}} {{reply:…}}`, and
/// `{{think:…}}`, `{{summary:…}}`).
pub fn script(steps: &[Step]) -> String {
    let token = |kind: &str, data: &[u8]| format!("{{{{{kind}:{}}}}}", b64_encode(data));
    let tokens: Vec<String> = steps
        .iter()
        .map(|step| match step {
            Step::Tool { name, args } => {
                let body = json!({ "tool": name, "args": args }).to_string();
                token("step", body.as_bytes())
            }
            Step::Reply(text) => token("reply", text.as_bytes()),
            Step::Think { reasoning, reply } => {
                let body = json!({ "reasoning": reasoning, "reply": reply }).to_string();
                token("think", body.as_bytes())
            }
            Step::Summary(text) => token("summary", text.as_bytes()),
        })
        .collect();
    tokens.join(" ")
}

/// Decodes the script tokens found in `text` (the inverse of [`script`]).
pub fn parse_script(text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("}}") else { break };
        let token = &rest[..end];
        let Some((kind, data)) = token.split_once(':') else {
            continue;
        };
        if !["step", "reply", "think", "summary"].contains(&kind) {
            continue;
        }
        let bytes = b64_decode(data).ok_or_else(|| format!("bad base64 in {kind} {data}"))?;
        let text = String::from_utf8(bytes).map_err(|e| format!("bad {kind}: {e}"))?;
        let json = || serde_json::from_str::<Value>(&text).map_err(|e| format!("bad {kind}: {e}"));
        let string = |v: &Value, key: &str| {
            v[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{kind} without {key}"))
        };
        steps.push(match kind {
            "step" => {
                let v = json()?;
                Step::Tool {
                    name: string(&v, "tool")?,
                    args: v["args"].clone(),
                }
            }
            "think" => {
                let v = json()?;
                Step::Think {
                    reasoning: string(&v, "reasoning")?,
                    reply: string(&v, "reply")?,
                }
            }
            "summary" => Step::Summary(text),
            _ => Step::Reply(text),
        });
        rest = &rest[end + 2..];
    }
    Ok(steps)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    out
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A request the server received (for assertions and debugging).
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The JSON body, if there was one and it parsed.
    pub body: Option<Value>,
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Request>>,
    errors: Mutex<Vec<String>>,
    calls: AtomicU64,
}

/// The running fake LLM. Dropping it stops the server and joins all its threads.
pub struct FakeLlm {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    state: Arc<State>,
    acceptor: Option<JoinHandle<()>>,
    workers: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl FakeLlm {
    /// Starts the server on `127.0.0.1:0`.
    pub fn start() -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake LLM on 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(State::default());
        let workers = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (stop, state, workers) = (stop.clone(), state.clone(), workers.clone());
            thread::Builder::new()
                .name("fake-llm-accept".into())
                .spawn(move || accept_loop(listener, stop, state, workers))
                .unwrap()
        };
        FakeLlm {
            addr,
            stop,
            state,
            acceptor: Some(acceptor),
            workers,
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The OpenAI base URL, `http://127.0.0.1:<port>/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port())
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Problems the server met (bad scripts, unknown paths); empty when all went well.
    pub fn errors(&self) -> Vec<String> {
        self.state.errors.lock().unwrap().clone()
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let workers = std::mem::take(&mut *self.workers.lock().unwrap());
        for worker in workers {
            let _ = worker.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    state: Arc<State>,
    workers: Arc<Mutex<Vec<JoinHandle<()>>>>,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        if !stream.peer_addr().is_ok_and(|a| a.ip().is_loopback()) {
            continue;
        }
        let (stop, state) = (stop.clone(), state.clone());
        let handle = thread::Builder::new()
            .name("fake-llm-conn".into())
            .spawn(move || {
                let _ = serve_connection(stream, &stop, &state);
            })
            .unwrap();
        let mut workers = workers.lock().unwrap();
        workers.retain(|w| !w.is_finished());
        workers.push(handle);
    }
}

struct Conn<'a> {
    stream: TcpStream,
    buf: Vec<u8>,
    stop: &'a AtomicBool,
}

impl Conn<'_> {
    /// Reads more bytes into `buf`; `Ok(false)` on EOF or shutdown.
    fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return Ok(false);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes bytes up to and including `delim`, reading as needed.
    fn take_until(&mut self, delim: &[u8], limit: usize) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(pos) = find(&self.buf, delim) {
                let rest = self.buf.split_off(pos + delim.len());
                return Ok(Some(std::mem::replace(&mut self.buf, rest)));
            }
            if self.buf.len() > limit {
                return Err(io::Error::other("request head too large"));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn take_exact(&mut self, n: usize) -> io::Result<Option<Vec<u8>>> {
        while self.buf.len() < n {
            if !self.fill()? {
                return Ok(None);
            }
        }
        let rest = self.buf.split_off(n);
        Ok(Some(std::mem::replace(&mut self.buf, rest)))
    }

    fn read_chunked(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut body = Vec::new();
        loop {
            let Some(line) = self.take_until(b"\r\n", MAX_HEADER)? else {
                return Ok(None);
            };
            let line = String::from_utf8_lossy(&line);
            let size = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size.trim(), 16)
                .map_err(|_| io::Error::other(format!("bad chunk size {size:?}")))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let Some(line) = self.take_until(b"\r\n", MAX_HEADER)? else {
                        return Ok(None);
                    };
                    if line == b"\r\n" {
                        return Ok(Some(body));
                    }
                }
            }
            if body.len() + size > MAX_BODY {
                return Err(io::Error::other("request body too large"));
            }
            let Some(data) = self.take_exact(size + 2)? else {
                return Ok(None);
            };
            body.extend_from_slice(&data[..size]);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn serve_connection(stream: TcpStream, stop: &AtomicBool, state: &State) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    stream.set_nodelay(true)?;
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        stop,
    };
    while let Some(head) = conn.take_until(b"\r\n\r\n", MAX_HEADER)? {
        let head = String::from_utf8_lossy(&head).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or("").split_whitespace();
        let method = request_line.next().unwrap_or("").to_owned();
        let path = request_line.next().unwrap_or("").to_owned();
        let version = request_line.next().unwrap_or("HTTP/1.1").to_owned();
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut close = version == "HTTP/1.0"
            || header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
            conn.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let body = if header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            conn.read_chunked()?
        } else {
            let len: usize = header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if len > MAX_BODY {
                return Err(io::Error::other("request body too large"));
            }
            conn.take_exact(len)?
        };
        let Some(body) = body else { break };
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        state.requests.lock().unwrap().push(Request {
            method: method.clone(),
            path: path.clone(),
            body: json.clone(),
        });
        let (status, content_type, payload) = route(&method, &path, json.as_ref(), state);
        if stop.load(Ordering::SeqCst) {
            close = true;
        }
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: {}\r\n\r\n",
            payload.len(),
            if close { "close" } else { "keep-alive" }
        );
        conn.stream.write_all(response.as_bytes())?;
        conn.stream.write_all(payload.as_bytes())?;
        conn.stream.flush()?;
        if close {
            break;
        }
    }
    let _ = conn.stream.shutdown(Shutdown::Both);
    Ok(())
}

fn route(
    method: &str,
    path: &str,
    body: Option<&Value>,
    state: &State,
) -> (&'static str, &'static str, String) {
    let path = path.split('?').next().unwrap_or("");
    match (method, path.trim_end_matches('/')) {
        ("GET", "/v1/models" | "/models") => (
            "200 OK",
            "application/json",
            json!({ "object": "list", "data": [
                { "id": "mock-1", "object": "model", "created": 0, "owned_by": "mock" }
            ]})
            .to_string(),
        ),
        ("POST", "/v1/chat/completions" | "/chat/completions") => {
            let Some(body) = body else {
                state
                    .errors
                    .lock()
                    .unwrap()
                    .push(format!("{method} {path}: body is not JSON"));
                return (
                    "400 Bad Request",
                    "application/json",
                    error_json("body is not JSON"),
                );
            };
            let answer = answer(body, state);
            let n = state.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if body["stream"].as_bool() == Some(true) {
                ("200 OK", "text/event-stream", stream_response(n, &answer))
            } else {
                ("200 OK", "application/json", plain_response(n, &answer))
            }
        }
        // OpenCode's background `npm install`s are pointed here (see `OpencodeHome::env`):
        // refuse them at once, without leaving loopback.
        _ if path.starts_with("/npm/") => {
            ("404 Not Found", "application/json", error_json("not found"))
        }
        _ => {
            state
                .errors
                .lock()
                .unwrap()
                .push(format!("unexpected request {method} {path}"));
            ("404 Not Found", "application/json", error_json("not found"))
        }
    }
}

fn error_json(message: &str) -> String {
    json!({ "error": { "message": message, "type": "invalid_request_error" } }).to_string()
}

enum Answer {
    /// Plain text, after the `reasoning` (if not empty).
    Text {
        reasoning: String,
        text: String,
    },
    ToolCall {
        name: String,
        args: String,
    },
}

impl Answer {
    fn text(text: &str) -> Answer {
        Answer::Text {
            reasoning: String::new(),
            text: text.to_owned(),
        }
    }
}

/// Text of a message's `content`, a string or an array of `{type:"text", text}` parts.
fn content_text(message: &Value) -> String {
    match &message["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The last [`Step::Summary`] in any of `messages`, scripts that do not parse skipped.
fn summary(messages: &[Value]) -> Option<String> {
    messages.iter().rev().find_map(|m| {
        let steps = parse_script(&content_text(m)).ok()?;
        steps.into_iter().rev().find_map(|s| match s {
            Step::Summary(text) => Some(text),
            _ => None,
        })
    })
}

fn answer(body: &Value, state: &State) -> Answer {
    let empty = Vec::new();
    let messages = body["messages"].as_array().unwrap_or(&empty);
    let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    if !has_tools {
        return Answer::text(&summary(messages).unwrap_or_else(|| TITLE.to_owned()));
    }
    // The last user message that carries a script.
    let mut found = None;
    for (i, m) in messages.iter().enumerate().rev() {
        if m["role"] != "user" {
            continue;
        }
        match parse_script(&content_text(m)) {
            Ok(steps) if !steps.is_empty() => {
                found = Some((i, steps));
                break;
            }
            Ok(_) => {}
            Err(e) => {
                state.errors.lock().unwrap().push(e.clone());
                return Answer::text(&format!("fake LLM error: {e}"));
            }
        }
    }
    let Some((at, steps)) = found else {
        return Answer::text(DEFAULT_REPLY);
    };
    let answered = messages[at + 1..]
        .iter()
        .filter(|m| {
            m["role"] == "assistant" && m["tool_calls"].as_array().is_some_and(|c| !c.is_empty())
        })
        .count();
    let mut tools = steps.iter().filter_map(|s| match s {
        Step::Tool { name, args } => Some((name, args)),
        _ => None,
    });
    if let Some((name, args)) = tools.nth(answered) {
        return Answer::ToolCall {
            name: name.clone(),
            args: args.to_string(),
        };
    }
    let reply = steps.iter().rev().find_map(|s| match s {
        Step::Reply(text) => Some(Answer::text(text)),
        Step::Think { reasoning, reply } => Some(Answer::Text {
            reasoning: reasoning.clone(),
            text: reply.clone(),
        }),
        _ => None,
    });
    reply.unwrap_or_else(|| Answer::text(DEFAULT_REPLY))
}

fn usage() -> Value {
    json!({ "prompt_tokens": 120, "completion_tokens": 17, "total_tokens": 137 })
}

fn stream_response(n: u64, answer: &Answer) -> String {
    let chunk = |delta: Value, finish: Value, usage: Option<Value>| {
        let mut c = json!({
            "id": format!("chatcmpl-{n}"),
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": "mock-1",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        if let Some(u) = usage {
            c["usage"] = u;
        }
        format!("data: {c}\n\n")
    };
    let mut out = String::new();
    match answer {
        Answer::Text { reasoning, text } => {
            out += &chunk(
                json!({ "role": "assistant", "content": "" }),
                Value::Null,
                None,
            );
            // Split in a few pieces on char boundaries, as a real stream would; the reasoning
            // first, as thinking models do.
            for piece in reasoning.split_inclusive(' ') {
                out += &chunk(json!({ "reasoning_content": piece }), Value::Null, None);
            }
            for piece in text.split_inclusive(' ') {
                out += &chunk(json!({ "content": piece }), Value::Null, None);
            }
            out += &chunk(json!({}), json!("stop"), Some(usage()));
        }
        Answer::ToolCall { name, args } => {
            let call = json!({
                "index": 0,
                "id": format!("call_{n}"),
                "type": "function",
                "function": { "name": name, "arguments": args },
            });
            out += &chunk(
                json!({ "role": "assistant", "content": null, "tool_calls": [call] }),
                Value::Null,
                None,
            );
            out += &chunk(json!({}), json!("tool_calls"), Some(usage()));
        }
    }
    out += "data: [DONE]\n\n";
    out
}

fn plain_response(n: u64, answer: &Answer) -> String {
    let (message, finish) = match answer {
        Answer::Text { reasoning, text } if !reasoning.is_empty() => (
            json!({ "role": "assistant", "content": text, "reasoning_content": reasoning }),
            "stop",
        ),
        Answer::Text { text, .. } => (json!({ "role": "assistant", "content": text }), "stop"),
        Answer::ToolCall { name, args } => (
            json!({ "role": "assistant", "content": null, "tool_calls": [{
                "id": format!("call_{n}"),
                "type": "function",
                "function": { "name": name, "arguments": args },
            }]}),
            "tool_calls",
        ),
    };
    json!({
        "id": format!("chatcmpl-{n}"),
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "mock-1",
        "choices": [{ "index": 0, "message": message, "finish_reason": finish }],
        "usage": usage(),
    })
    .to_string()
}
