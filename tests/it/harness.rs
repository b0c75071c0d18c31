//! Tests of the test harness itself: the fake LLM, and that the fixtures written by the real
//! OpenCode hold what they claim.

use crate::common::fake_llm::{parse_script, script, FakeLlm, Step, DEFAULT_REPLY, TITLE};
use crate::common::fixtures::{
    legacy_store, parts_store, read_json, rich_store, Fixture, SUBTASK_COMMAND, UNICODE,
};
use crate::common::normalize::normalize_paths;
use crate::common::opencode::{opencode_bin, CURRENT, LEGACY};
use crate::common::v2::v2_store;
use crate::common::{query_one, run, Scrub, TestEnv};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

// ---------------------------------------------------------------- fake LLM

/// Sends raw HTTP `requests` on one connection; returns the raw response text.
fn http(port: u16, requests: &[String]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for r in requests {
        stream.write_all(r.as_bytes()).unwrap();
    }
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

fn post(body: &Value, close: bool) -> String {
    let body = body.to_string();
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n{body}",
        body.len(),
        if close { "Connection: close\r\n" } else { "" }
    )
}

/// The JSON payload after the blank line of a single `Connection: close` response.
fn response_json(raw: &str) -> Value {
    let (_, body) = raw.split_once("\r\n\r\n").expect("no header end");
    serde_json::from_str(body).expect("response JSON")
}

fn chat(messages: Value, stream: bool) -> Value {
    json!({
        "model": "mock-1",
        "stream": stream,
        "messages": messages,
        "tools": [{ "type": "function", "function": { "name": "bash", "parameters": {} } }],
    })
}

#[test]
fn script_round_trips() {
    let steps = vec![
        Step::write("a.txt", UNICODE),
        Step::edit("a.txt", "é", "e\u{301}"),
        Step::bash("echo '}}{{'", "braces"),
        Step::task("job", &script(&[Step::reply("nested 🧒")])),
        Step::think("hmm 🤔 }}", UNICODE),
        Step::summary("all done 🗜️"),
        Step::reply(UNICODE),
    ];
    let text = format!("some words {{not a token}} {}", script(&steps));
    assert_eq!(parse_script(&text).unwrap(), steps);
    assert_eq!(parse_script("no script here").unwrap(), vec![]);
    assert!(parse_script("{{step:!!}}").is_err());
}

#[test]
fn fake_llm_serves_models_and_scripted_chat() {
    let llm = FakeLlm::start();
    let raw = http(
        llm.port(),
        &["GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into()],
    );
    assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
    assert_eq!(response_json(&raw)["data"][0]["id"], "mock-1");

    let prompt = script(&[Step::bash("ls", "list"), Step::reply("bye ✅")]);
    // First turn: the tool call.
    let raw = http(
        llm.port(),
        &[post(
            &chat(json!([{ "role": "user", "content": prompt }]), false),
            true,
        )],
    );
    let v = response_json(&raw);
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "bash");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["command"], "ls");

    // Second turn (content as parts): the final text.
    let messages = json!([
        { "role": "system", "content": "sys" },
        { "role": "user", "content": [{ "type": "text", "text": prompt }] },
        { "role": "assistant", "content": null, "tool_calls": [call] },
        { "role": "tool", "tool_call_id": call["id"], "content": "a.txt" },
    ]);
    let raw = http(llm.port(), &[post(&chat(messages, false), true)]);
    let v = response_json(&raw);
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["choices"][0]["message"]["content"], "bye ✅");

    // No tools: a title. No script: the default reply.
    let body = json!({ "model": "mock-1", "messages": [{ "role": "user", "content": "x" }] });
    let raw = http(llm.port(), &[post(&body, true)]);
    assert_eq!(
        response_json(&raw)["choices"][0]["message"]["content"],
        TITLE
    );
    let raw = http(
        llm.port(),
        &[post(
            &chat(json!([{ "role": "user", "content": "hi" }]), false),
            true,
        )],
    );
    assert_eq!(
        response_json(&raw)["choices"][0]["message"]["content"],
        DEFAULT_REPLY
    );
    assert!(llm.errors().is_empty(), "{:?}", llm.errors());
    assert_eq!(llm.requests().len(), 5);
}

#[test]
fn fake_llm_streams_sse_with_usage_and_done() {
    let llm = FakeLlm::start();
    let prompt = script(&[Step::reply("streamed 🎉 text")]);
    let raw = http(
        llm.port(),
        &[post(
            &chat(json!([{ "role": "user", "content": prompt }]), true),
            true,
        )],
    );
    assert!(raw.contains("Content-Type: text/event-stream\r\n"), "{raw}");
    let (_, body) = raw.split_once("\r\n\r\n").unwrap();
    let events: Vec<&str> = body
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: ").expect("SSE data line"))
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "streamed 🎉 text");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(last["usage"]["total_tokens"], 137);
}

/// A [`Step::Think`] answer streams its reasoning as `reasoning_content` before the text; a
/// [`Step::Summary`] answers tool-less requests quoting it, in place of the title.
#[test]
fn fake_llm_streams_reasoning_and_answers_summaries() {
    let llm = FakeLlm::start();
    let prompt = script(&[
        Step::think("first 🤔 think", "then answer ✅"),
        Step::summary("the summary 🗜️"),
    ]);
    let raw = http(
        llm.port(),
        &[post(
            &chat(json!([{ "role": "user", "content": prompt }]), true),
            true,
        )],
    );
    let (_, body) = raw.split_once("\r\n\r\n").unwrap();
    let deltas: Vec<Value> = body
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .map(|c| c["choices"][0]["delta"].clone())
        .collect();
    let joined = |key: &str| -> String { deltas.iter().filter_map(|d| d[key].as_str()).collect() };
    assert_eq!(joined("reasoning_content"), "first 🤔 think");
    assert_eq!(joined("content"), "then answer ✅");
    let first_text = deltas
        .iter()
        .position(|d| d["content"].as_str().is_some_and(|c| !c.is_empty()));
    let last_reasoning = deltas
        .iter()
        .rposition(|d| d["reasoning_content"].is_string());
    assert!(
        last_reasoning < first_text,
        "reasoning after text: {deltas:?}"
    );

    let raw = http(
        llm.port(),
        &[post(
            &chat(json!([{ "role": "user", "content": prompt }]), false),
            true,
        )],
    );
    let message = &response_json(&raw)["choices"][0]["message"];
    assert_eq!(message["reasoning_content"], "first 🤔 think");
    assert_eq!(message["content"], "then answer ✅");

    // Without tools: the summary of a quoted script, else the title.
    let quoted = format!("Here is the conversation so far:\n[User]: {prompt}");
    for (text, expected) in [(quoted.as_str(), "the summary 🗜️"), ("x", TITLE)] {
        let body = json!({ "model": "mock-1", "messages": [{ "role": "user", "content": text }] });
        let raw = http(llm.port(), &[post(&body, true)]);
        assert_eq!(
            response_json(&raw)["choices"][0]["message"]["content"],
            expected
        );
    }
    assert!(llm.errors().is_empty(), "{:?}", llm.errors());
}

#[test]
fn fake_llm_keeps_alive_and_reads_chunked_bodies() {
    let llm = FakeLlm::start();
    let body = chat(json!([{ "role": "user", "content": "hi" }]), false).to_string();
    let (a, b) = body.split_at(body.len() / 2);
    let chunked = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    // Two requests on one connection: a kept-alive chunked one, then one asking to close.
    let raw = http(llm.port(), &[chunked, post(&chat(json!([]), false), true)]);
    assert_eq!(raw.matches("HTTP/1.1 200 OK").count(), 2, "{raw}");
    assert!(raw.contains("Connection: keep-alive"));
    assert!(raw.contains("Connection: close"));
    assert_eq!(llm.requests().len(), 2);
    assert!(llm.errors().is_empty(), "{:?}", llm.errors());
}

#[test]
fn fake_llm_stops_when_dropped() {
    let llm = FakeLlm::start();
    let port = llm.port();
    // An idle kept-alive connection must not keep the server alive.
    let idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    drop(llm);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still listening after drop"
    );
    drop(idle);
}

// ---------------------------------------------------------------- binaries and TestEnv

#[test]
fn opencode_binaries_are_the_pinned_versions() {
    for version in [CURRENT, LEGACY] {
        let out = std::process::Command::new(opencode_bin(version))
            .arg("--version")
            .env_clear()
            .env("HOME", "/nonexistent")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), version);
    }
}

#[test]
fn test_env_has_a_hermetic_repo_and_runs_our_binary() {
    let env = TestEnv::new();
    assert_eq!(env.git(&["rev-list", "--count", "HEAD"]).trim(), "1");
    assert_eq!(
        env.git(&["log", "-1", "--format=%an <%ae> %aI|%cn <%ce> %cI"]).trim(),
        "Test Author <author@example.com> 2024-01-01T00:00:00Z|Test Committer <committer@example.com> 2024-01-01T00:00:00Z"
    );
    assert_eq!(env.git(&["branch", "--show-current"]).trim(), "main");
    // Fixed dates and identities make the commit ID stable across runs and machines.
    assert_eq!(env.repo.head(), TestEnv::new().repo.head());
    let out = env.run(&["--help"]).success();
    assert!(out.stdout().contains("Usage:"), "{out}");
}

// ---------------------------------------------------------------- CommandOutput and Scrub

/// A command that prints `out <path>` and fails with an `error:` and a `hint:` line.
fn failing_sh(env: &TestEnv, code: u8, stderr: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "echo \"out $1\"; printf \"$2\" >&2; exit $3", "sh"])
        .arg(env.root.join("x"))
        .arg(stderr)
        .arg(code.to_string());
    cmd
}

#[test]
fn command_output_normalises_paths_and_shows_everything() {
    let env = TestEnv::new();
    let out = run(failing_sh(&env, 1, "error: bad\nhint: try again\n")).failure();
    insta::assert_snapshot!(out, @"
    out $TEST_ENV/x
    [EOF]
    [stderr]
    error: bad
    hint: try again
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(out.stdout(), "out $TEST_ENV/x\n");
    assert_eq!(out.raw_stdout(), format!("out {}/x\n", env.root.display()));
    assert_eq!(out.error(), "error: bad");
    assert_eq!(out.status().code(), Some(1));

    // Each check panics, showing everything, when the run is not what it expects.
    let panics = |f: &dyn Fn()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err();
    assert!(panics(&|| {
        out.clone().success();
    }));
    for (code, stderr) in [
        (2, "error: bad\n"),
        (1, "oops\nerror: bad\n"),
        (1, "error: bad\nnote: extra\n"),
        (0, ""),
    ] {
        let out = run(failing_sh(&env, code, stderr));
        assert!(
            panics(&|| {
                out.clone().failure();
            }),
            "{out}"
        );
    }
    let ok = run(failing_sh(&env, 0, "")).success();
    insta::assert_snapshot!(ok, @"
    out $TEST_ENV/x
    [EOF]
    [exit status: 0]
    ");

    let oc_home = std::env::temp_dir()
        .canonicalize()
        .unwrap()
        .join("oc-home-AbC123/data");
    let fixture = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .canonicalize()
        .unwrap()
        .join("opencode-fixtures/4242-rich/repo");
    assert_eq!(
        normalize_paths(&format!("{} {}", oc_home.display(), fixture.display())),
        "$OC_HOME/data $FIXTURES/rich/repo"
    );
}

#[test]
fn scrub_names_sessions_and_hides_ids_times_and_durations() {
    let scrub = Scrub::new().session("ses_0123456789abABCDEFGHIJKLMN", "tools");
    let text = "ses_0123456789abABCDEFGHIJKLMN  2026-05-14 23:10  tools\n\
                ses_fedcba987654ZYXWVUTSRQPONM  2026-05-14 23:11  other\n\
                msg_0123456789abABCDEFGHIJKLMN prt_0123456789abABCDEFGHIJKLMN \
                2026-11-24 12:34:56 UTC 2026-05-14T23:10:05.123456789Z 1795528139191 85 ms 1.5 s\n\
                db.git-opencode-backup-20261202T000708Z {\"ms\":397} ea8fc09a92cd: \
                a76aebe1bac55953ccb1f217d023da9cd3a522a0\n\
                *… 41,418 of 43,369 characters not shown.*\n";
    insta::assert_snapshot!(scrub.apply(text), @r#"
    [SESSION:tools]  [TIME]  tools
    [SESSION_ID]  [TIME]  other
    [MESSAGE_ID] [PART_ID] [TIME] [TIME] [TIME_MS] [DURATION] [DURATION]
    db.git-opencode-backup-[TIME] {"ms":[DURATION]} [COMMIT]: a76aebe1bac55953ccb1f217d023da9cd3a522a0
    *… [COUNT] of [COUNT] characters not shown.*
    "#);
    insta::assert_snapshot!(scrub.aligned().apply(text), @r#"
    [SESSION:tools]                 [TIME]            tools
    [SESSION_ID]                    [TIME]            other
    [MESSAGE_ID]                   [PART_ID]                      [TIME]                  [TIME]                         [TIME_MS]     [DURATION] [DURATION]
    db.git-opencode-backup-[TIME]           {"ms":[DURATION]} [COMMIT]    : a76aebe1bac55953ccb1f217d023da9cd3a522a0
    *… [COUNT] of [COUNT] characters not shown.*
    "#);
}

#[test]
fn scrub_keeps_the_first_line_of_a_cut_long_output() {
    let line = |n: u32| format!("line {n:04} ünïcødé 日本語 output ........................\n");
    let text = format!("```text\n{}{}{}```\n", line(701), line(702), line(703));
    insta::assert_snapshot!(Scrub::new().apply(text), @"
    ```text
    line 0701 ünïcødé 日本語 output ........................
    [… more lines of this output]
    ```
    ");
}

/// Every fixture labels each of its sessions once, in the order of `sessions()`.
#[test]
fn fixture_labels_name_every_session() {
    let fixtures: [&dyn Fixture; 4] = [rich_store(), parts_store(), legacy_store(), v2_store()];
    for fixture in fixtures {
        let labelled: Vec<&str> = fixture.labels().into_iter().map(|(_, id)| id).collect();
        assert_eq!(labelled, fixture.sessions());
    }
}

// ---------------------------------------------------------------- rich store (1.18.34)

fn strings(conn: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt.query_map(params, |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

fn part_data(conn: &Connection, session: &str) -> Vec<Value> {
    strings(
        conn,
        "SELECT data FROM part WHERE session_id = ?1 ORDER BY id",
        &[&session],
    )
    .iter()
    .map(|d| serde_json::from_str(d).unwrap())
    .collect()
}

#[test]
fn rich_store_has_root_and_child_sessions() {
    let store = rich_store();
    let conn = store.home.open_db();
    let mut stmt = conn
        .prepare("SELECT id, parent_id, version FROM session ORDER BY time_created")
        .unwrap();
    let rows: Vec<(String, Option<String>, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(rows.len() >= 5, "{rows:?}");
    assert!(rows.iter().all(|r| r.2 == CURRENT));
    let roots: Vec<&str> = rows
        .iter()
        .filter(|r| r.1.is_none())
        .map(|r| r.0.as_str())
        .collect();
    assert_eq!(roots, store.roots());
    let children: Vec<(&str, &str)> = rows
        .iter()
        .filter_map(|r| Some((r.0.as_str(), r.1.as_deref()?)))
        .collect();
    assert_eq!(
        children,
        vec![(store.task_child.as_str(), store.task_parent.as_str())]
    );
    let title: String = query_one(
        &conn,
        "SELECT title FROM session WHERE id = ?1",
        &store.task_child,
    );
    assert_eq!(title, "delegate 委任 (@general subagent)");
    // The child talked to the fake LLM: a bash call and the scripted answer.
    let parts = part_data(&conn, &store.task_child);
    assert!(parts
        .iter()
        .any(|p| p["tool"] == "bash" && p["state"]["status"] == "completed"));
    assert!(parts
        .iter()
        .any(|p| p["type"] == "text" && p["text"] == "child done ✔ 子"));
}

#[test]
fn rich_store_covers_tools_todos_and_unicode() {
    let store = rich_store();
    let conn = store.home.open_db();
    let parts = part_data(&conn, &store.tools);
    for tool in ["write", "edit", "bash", "todowrite"] {
        assert!(
            parts
                .iter()
                .any(|p| p["tool"] == tool && p["state"]["status"] == "completed"),
            "no completed {tool} call"
        );
    }
    assert!(parts
        .iter()
        .any(|p| p["type"] == "text" && p["text"] == format!("All done ✅ {UNICODE}")));
    let todos = strings(
        &conn,
        "SELECT content || '|' || status FROM todo WHERE session_id = ?1 ORDER BY position",
        &[&store.tools],
    );
    assert_eq!(
        todos,
        [
            "write the notes ✍️|completed",
            "review 校对|completed",
            "ship it 🚀|in_progress"
        ]
    );
    // Continued with --session: two user turns in one session.
    let users = strings(
        &conn,
        "SELECT id FROM message WHERE session_id = ?1 AND json_extract(data, '$.role') = 'user'",
        &[&store.tools],
    );
    assert_eq!(users.len(), 2);
    let notes = fs::read_to_string(store.repo.path.join("notes.md")).unwrap();
    assert_eq!(notes, format!("# Notes ✍️\n\n{UNICODE}\n"));
}

#[test]
fn rich_store_has_a_truncated_tool_output_file() {
    let store = rich_store();
    let conn = store.home.open_db();
    let paths = strings(
        &conn,
        "SELECT json_extract(data, '$.state.metadata.outputPath') FROM part
         WHERE json_extract(data, '$.state.metadata.outputPath') IS NOT NULL",
        &[],
    );
    assert_eq!(paths.len(), 1, "{paths:?}");
    let path = Path::new(&paths[0]);
    assert!(
        path.starts_with(store.home.data_dir().join("tool-output")),
        "{path:?}"
    );
    let full = fs::read(path).unwrap();
    assert!(full.len() > 51_200, "{}", full.len());
    let full = String::from_utf8(full).unwrap();
    let tail: String = full
        .chars()
        .skip(full.chars().count().saturating_sub(100))
        .collect();
    assert!(
        full.contains("line 1500 ünïcødé 日本語"),
        "ends with: {tail:?}"
    );
}

#[test]
fn rich_store_has_an_attached_file() {
    let store = rich_store();
    let conn = store.home.open_db();
    let parts = part_data(&conn, &store.attachment);
    let files: Vec<&Value> = parts.iter().filter(|p| p["type"] == "file").collect();
    assert_eq!(files.len(), 2, "{parts:?}");
    let text = files
        .iter()
        .find(|p| p["filename"] == "attach.txt")
        .unwrap();
    assert_eq!(text["mime"], "text/plain");
    assert!(text["url"].as_str().unwrap().starts_with("file:///"));
    let png = files.iter().find(|p| p["filename"] == "red.png").unwrap();
    assert_eq!(png["mime"], "image/png");
    assert!(png["url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));
    // The text file's content is also stored, in a synthetic text part.
    assert!(parts.iter().any(|p| p["synthetic"] == true
        && p["text"]
            .as_str()
            .is_some_and(|t| t.contains("Attached notes 📎"))));
}

#[test]
fn rich_store_agrees_with_opencode_itself() {
    let store = rich_store();
    // Running OpenCode writes to its home, so ask it on a copy.
    let env = store.copy_env();
    let oc = env.opencode.as_ref().unwrap();
    let out = oc.exec_ok(&env.repo.path, &["db", "path"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        oc.db_path().to_str().unwrap()
    );
    let rows = oc.db_query(
        &env.repo.path,
        "SELECT count(*) AS n FROM session WHERE parent_id IS NOT NULL",
    );
    assert_eq!(rows[0]["n"], 1);
    // session list shows the roots only.
    let list = oc.session_list_json(&store.repo.path);
    let mut ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut roots = store.roots();
    roots.sort_unstable();
    assert_eq!(ids, roots);
    // export goes through a file: the session with the long output is over 64 KiB.
    let export = oc.export(&env.repo.path, &store.tools);
    let v: Value = serde_json::from_slice(&export).unwrap();
    assert_eq!(v["info"]["id"], store.tools.as_str());
    assert!(v["messages"].as_array().unwrap().len() >= 8);
}

// ---------------------------------------------------------------- legacy store (1.1.65)

/// Every part of `session` in the JSON `storage` dir, parsed: the files
/// `part/<message>/*.json` of each `message/<session>/<message>.json`.
fn legacy_parts(storage: &Path, session: &str) -> Vec<Value> {
    let mut parts = Vec::new();
    for m in fs::read_dir(storage.join("message").join(session))
        .unwrap()
        .flatten()
    {
        let msg_id = m.path().file_stem().unwrap().to_str().unwrap().to_owned();
        for p in fs::read_dir(storage.join("part").join(msg_id))
            .unwrap()
            .flatten()
        {
            parts.push(read_json(&p.path()));
        }
    }
    parts
}

#[test]
fn legacy_store_has_json_sessions_messages_and_parts() {
    let store = legacy_store();
    let storage = store.home.storage_dir();
    assert!(
        !store.home.db_path().exists(),
        "1.1.65 must not write SQLite"
    );
    let project_dirs: Vec<_> = fs::read_dir(storage.join("session"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(project_dirs.len(), 1);
    let project = project_dirs[0].path();
    let session = |id: &str| read_json(&project.join(format!("{id}.json")));
    for id in store.roots() {
        let s = session(id);
        assert_eq!(s["version"], LEGACY);
        assert!(s.get("parentID").is_none());
    }
    assert_eq!(
        session(&store.task_child)["parentID"],
        store.task_parent.as_str()
    );
    for id in store.sessions() {
        let messages: Vec<_> = fs::read_dir(storage.join("message").join(id))
            .unwrap()
            .flatten()
            .collect();
        assert!(messages.len() >= 2, "{id}");
        for m in messages {
            let msg_id = m.path().file_stem().unwrap().to_str().unwrap().to_owned();
            assert!(
                storage.join("part").join(&msg_id).is_dir(),
                "no parts for {msg_id}"
            );
        }
    }
    let todos = read_json(&storage.join("todo").join(format!("{}.json", store.tools)));
    assert_eq!(todos[0]["content"], "first 一");
    // Tool parts of the tools session, from the part files.
    let mut tools = Vec::new();
    for part in legacy_parts(&storage, &store.tools) {
        if part["type"] == "tool" {
            assert_eq!(part["state"]["status"], "completed", "{part}");
            tools.push(part["tool"].as_str().unwrap().to_owned());
        }
    }
    tools.sort();
    assert_eq!(tools, ["bash", "bash", "edit", "todowrite", "write"]);
    assert!(
        fs::read_dir(store.home.data_dir().join("tool-output"))
            .unwrap()
            .count()
            >= 1
    );
    // The attachment session has both kinds of file part.
    let mut urls = Vec::new();
    for part in legacy_parts(&storage, &store.attachment) {
        if part["type"] == "file" {
            urls.push(
                part["url"]
                    .as_str()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    urls.sort();
    assert_eq!(urls, ["data", "file"]);
}

// ---------------------------------------------------------------- parts store (1.18.34)

/// The reasoning, subtask and compaction parts are really in the store, as OpenCode wrote
/// them, along with the messages around them.
#[test]
fn parts_store_has_reasoning_subtask_and_compaction_parts() {
    let store = parts_store();
    eprintln!("parts_store generated in {:.1?}", store.elapsed);
    let conn = store.home.open_db();
    let parts = part_data(&conn, &store.compacted);
    let of_type = |parts: &[Value], kind: &str| -> Vec<Value> {
        parts
            .iter()
            .filter(|p| p["type"] == kind)
            .cloned()
            .collect()
    };
    let reasoning: Vec<String> = of_type(&parts, "reasoning")
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasoning,
        [
            "The user wants a plan. 考虑 — write it to plan.md first, then report. 🧠",
            "The summary says the plan is done. 🧠"
        ]
    );
    let compaction = of_type(&parts, "compaction");
    assert_eq!(compaction.len(), 1, "{parts:#?}");
    assert_eq!(compaction[0]["auto"], false);
    // The summary: an assistant message of the compaction agent, answered by the fake LLM.
    let summaries = strings(
        &conn,
        "SELECT id FROM message WHERE session_id = ?1 AND json_extract(data, '$.summary') = 1 \
         AND json_extract(data, '$.mode') = 'compaction'",
        &[&store.compacted],
    );
    assert_eq!(summaries.len(), 1);
    let summary_text = strings(
        &conn,
        "SELECT json_extract(data, '$.text') FROM part WHERE message_id = ?1 \
         AND json_extract(data, '$.type') = 'text'",
        &[&summaries[0]],
    );
    assert_eq!(
        summary_text,
        ["Summary: plan.md holds the plan 🗺️; nothing else is pending. 要約"]
    );

    let parts = part_data(&conn, &store.subtask_parent);
    let subtask = of_type(&parts, "subtask");
    assert_eq!(subtask.len(), 1, "{parts:#?}");
    assert_eq!(subtask[0]["agent"], "general");
    assert_eq!(subtask[0]["command"], SUBTASK_COMMAND);
    assert_eq!(
        subtask[0]["description"],
        "Review the notes in a subagent 🔍"
    );
    assert!(subtask[0]["prompt"]
        .as_str()
        .unwrap()
        .starts_with("Review the notes 🔍 "));
    let task = of_type(&parts, "tool");
    assert_eq!(task[0]["tool"], "task");
    assert_eq!(
        task[0]["state"]["metadata"]["sessionId"],
        store.subtask_child.as_str()
    );
    let parent: String = query_one(
        &conn,
        "SELECT parent_id FROM session WHERE id = ?1",
        &store.subtask_child,
    );
    assert_eq!(parent, store.subtask_parent);
    let parts = part_data(&conn, &store.subtask_child);
    assert!(parts
        .iter()
        .any(|p| p["tool"] == "bash" && p["state"]["status"] == "completed"));
    assert_eq!(
        of_type(&parts, "reasoning")[0]["text"],
        "The plan reads fine. 👀"
    );
}

#[test]
fn fixtures_leave_no_opencode_process_running() {
    assert!(rich_store().home.live_processes().is_empty());
    assert!(legacy_store().home.live_processes().is_empty());
    assert!(parts_store().home.live_processes().is_empty());
}
