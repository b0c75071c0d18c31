//! A v2 session written by the real OpenCode 1.18.34, generated once per test process.
//!
//! `opencode run` and the v1 HTTP API only write `message`/`part` rows. The v2 session engine
//! (`session_message`, `session_input`, `session_context_epoch`) is reached through the v2
//! HTTP API of `opencode serve`: `POST /api/session` creates a session, `POST
//! /api/session/:id/prompt` admits a prompt and starts the agent loop, and `GET
//! /api/session/:id/message` reads the v2 messages back. 1.18.34 has a `POST
//! /api/session/:id/wait` route, but it answers 503 "Session wait is not available yet", so
//! completion is polled on the message route (and `GET /api/session/active`) with a deadline.

use super::fake_llm::{script, FakeLlm, Step};
use super::fixtures::{fixture_dir, fixture_paths, once, Fixture, UNICODE};
use super::git::Repo;
use super::opencode::{OpencodeHome, CURRENT};
use super::serve::Server;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// How long one v2 turn may take to complete.
const TURN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one HTTP request to the server may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The file the first turn's `write` tool creates (relative to the repo).
pub const WRITTEN_FILE: &str = "v2-notes.md";

/// One turn of the v2 session, as the fake LLM is scripted to play it.
pub struct Turn {
    /// What the user typed (the script tokens follow it on the next line of the prompt).
    pub text: &'static str,
    /// Whether the model first calls the `write` tool to create [`WRITTEN_FILE`].
    pub writes_file: bool,
    /// Reasoning streamed before the reply, if any.
    pub reasoning: Option<&'static str>,
    /// The model's final text.
    pub reply: &'static str,
}

/// The two turns: a tool call, then reasoning and a reply; then plain text.
pub const TURNS: [Turn; 2] = [
    Turn {
        text: "Write the v2 notes 📝",
        writes_file: true,
        reasoning: Some("The notes need a heading 🤔"),
        reply: "The v2 notes are written ✅",
    },
    Turn {
        text: "Second v2 turn 👋 just say hi",
        writes_file: false,
        reasoning: None,
        reply: "Hi from the second v2 turn 👋 こんにちは",
    },
];

/// The shared v2 fixture; see [`v2_store`].
pub struct V2Store {
    /// The git repository the session ran in.
    pub repo: Repo,
    /// The OpenCode home (its server and fake LLM are stopped).
    pub home: OpencodeHome,
    /// The v2 session (rows in `session_message`, none in `message`).
    pub session: String,
    /// The full prompt texts of [`TURNS`] as admitted (text plus script), in order.
    pub prompts: Vec<String>,
    /// A consistent copy of `opencode.db` taken after the first turn completed (online
    /// backup while the server ran): the same session one turn earlier.
    pub first_turn_db: PathBuf,
    /// `GET /api/session/:id/message` of the original server after the last turn, every page.
    pub served_messages: Vec<Value>,
    /// `GET /api/session/:id/context` of the original server after the last turn.
    pub served_context: Value,
    /// How long generation took.
    pub elapsed: Duration,
}

impl Fixture for V2Store {
    fixture_paths!();

    fn roots(&self) -> Vec<&str> {
        vec![self.session.as_str()]
    }

    fn labels(&self) -> Vec<(&'static str, &str)> {
        vec![("v2", &self.session)]
    }
}

/// The shared v2 store (generated on first use in this process, a few seconds). A failure is
/// kept and reported to every caller, not retried.
pub fn v2_store() -> &'static V2Store {
    static STORE: OnceLock<Result<V2Store, String>> = OnceLock::new();
    once(&STORE, "v2_store", generate)
}

/// The prompt of `turn`: its text, then the fake LLM's script on the next line.
fn prompt_of(turn: &Turn) -> String {
    let mut steps = Vec::new();
    if turn.writes_file {
        // The v2 `write` tool takes `path`, not the v1 tool's `filePath`.
        steps.push(Step::tool(
            "write",
            json!({ "path": WRITTEN_FILE, "content": format!("# v2 notes\n\n{UNICODE}\n") }),
        ));
    }
    steps.push(match turn.reasoning {
        Some(reasoning) => Step::think(reasoning, turn.reply),
        None => Step::reply(turn.reply),
    });
    format!("{}\n{}", turn.text, script(&steps))
}

fn generate() -> V2Store {
    let start = Instant::now();
    let root = fixture_dir("v2");
    let repo = Repo::init(&root.join("repo"));
    let llm = FakeLlm::start();
    let home = OpencodeHome::at(CURRENT, &root.join("opencode"), llm.port());
    let first_turn_db = root.join("first-turn.db");

    let server = Server::start(&home, &repo.path);
    let api = V2Api(&server);
    let session = api.create_session();
    let mut prompts = Vec::new();
    for (n, turn) in TURNS.iter().enumerate() {
        let prompt = prompt_of(turn);
        api.prompt(&session, &prompt);
        api.wait_for_replies(&session, n + 1);
        prompts.push(prompt);
        if n == 0 {
            backup_db(&home.db_path(), &first_turn_db);
        }
    }
    let served_messages = api.messages(&session);
    let served_context = api.get(&format!("/api/session/{session}/context"));
    // Stopped (SIGTERM first) before the LLM, so that it finishes its writes.
    drop(server);
    home.stop_llm_and_wait(llm);
    repo.commit_all("agent work");

    let elapsed = start.elapsed();
    eprintln!("v2_store: OpenCode {CURRENT} v2 fixture generated in {elapsed:.1?}");
    V2Store {
        repo,
        home,
        session,
        prompts,
        first_turn_db,
        served_messages,
        served_context,
        elapsed,
    }
}

/// Copies the live database `db` to `to` with `VACUUM INTO`: one consistent snapshot taken
/// in a read transaction (a plain file copy would miss what is still in the `-wal`).
pub fn backup_db(db: &Path, to: &Path) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute("VACUUM INTO ?1", [to.to_str().expect("UTF-8 path")])
        .unwrap_or_else(|e| panic!("back up {} to {}: {e}", db.display(), to.display()));
}

/// The v2 HTTP API of a running [`Server`]: JSON in, JSON out.
pub struct V2Api<'a>(pub &'a Server);

impl V2Api<'_> {
    /// `method path` with an optional JSON body; panics unless it answers 200 with JSON.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let body = body.map(Value::to_string).unwrap_or_default();
        let response = self
            .0
            .request(method, path, &body, REQUEST_TIMEOUT)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.0.output()));
        let text = response.body;
        assert_eq!(response.status, 200, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Value {
        self.call("GET", path, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Value {
        self.call("POST", path, Some(body))
    }

    /// `POST /api/session`: a new v2 session in the server's directory; its ID.
    pub fn create_session(&self) -> String {
        let created = self.post("/api/session", &json!({}));
        created["data"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("POST /api/session: no data.id in {created}"))
            .to_owned()
    }

    /// `POST /api/session/:id/prompt`: admits `text` as the next prompt of `session` and
    /// starts its agent loop (the answer comes before the loop runs).
    pub fn prompt(&self, session: &str, text: &str) {
        let admitted = self.post(
            &format!("/api/session/{session}/prompt"),
            &json!({ "prompt": { "text": text } }),
        );
        assert!(
            admitted["data"]["id"].is_string(),
            "prompt not admitted: {admitted}"
        );
    }

    /// `GET /api/session/:id/message`, every page: the v2 messages, oldest first.
    pub fn messages(&self, session: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut path = format!("/api/session/{session}/message?order=asc&limit=200");
        loop {
            let page = self.get(&path);
            let data = page["data"].as_array().expect("data array");
            all.extend(data.iter().cloned());
            match page["cursor"]["next"].as_str() {
                Some(next) if !data.is_empty() => {
                    // A cursor carries the order; the route refuses both together.
                    path = format!("/api/session/{session}/message?limit=200&cursor={next}");
                }
                _ => return all,
            }
        }
    }

    /// Waits until `session` has `n` finished assistant messages and is no longer active.
    pub fn wait_for_replies(&self, session: &str, n: usize) {
        let deadline = Instant::now() + TURN_TIMEOUT;
        loop {
            let messages = self.messages(session);
            let done = messages
                .iter()
                .filter(|m| m["type"] == "assistant" && m["finish"] == "stop")
                .count();
            let active = self.get("/api/session/active");
            if done >= n && active["data"].get(session).is_none() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "session {session}: {done} of {n} replies after {TURN_TIMEOUT:?}; messages: {messages:#?}\n{}",
                self.0.output()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}
