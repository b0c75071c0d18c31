//! One test per rule of the transformation, on small hand-written 1.x documents shaped like
//! OpenCode 1.18.34's export (opencode-storage.md appendix).

use super::*;
use serde_json::json;

const SES: &str = "ses_df22ede48ffeIzDwpNekNpI0Ze";

fn info() -> Value {
    json!({
        "id": SES, "slug": "tidy-canyon", "projectID": "3ff407b7", "directory": "/r/repo",
        "path": "", "title": "a session", "version": "1.18.34",
        "summary": {"additions": 1, "deletions": 2, "files": 3},
        "cost": 9, "tokens": {"input": 9, "output": 9, "reasoning": 9, "cache": {"read": 9, "write": 9}},
        "permission": [{"permission": "task", "pattern": "*", "action": "deny"}],
        "time": {"created": 100, "updated": 900}
    })
}

fn user_msg(id: &str, created: i64, parts: Vec<Value>) -> Value {
    json!({
        "info": {"role": "user", "time": {"created": created}, "agent": "build",
                 "model": {"providerID": "mock", "modelID": "mock-1"}, "id": id, "sessionID": SES},
        "parts": parts,
    })
}

fn assistant_msg(id: &str, parent: &str, created: i64, parts: Vec<Value>) -> Value {
    json!({
        "info": {"parentID": parent, "role": "assistant", "mode": "build", "agent": "build",
                 "path": {"cwd": "/r/repo", "root": "/r/repo"}, "cost": 0.5,
                 "tokens": {"total": 137, "input": 120, "output": 17, "reasoning": 0, "cache": {"write": 1, "read": 2}},
                 "modelID": "mock-1", "providerID": "mock",
                 "time": {"created": created, "completed": created + 10}, "finish": "stop",
                 "id": id, "sessionID": SES},
        "parts": parts,
    })
}

fn text(id: &str, text: &str) -> Value {
    json!({"type": "text", "text": text, "id": id})
}

fn doc(messages: Vec<Value>) -> Value {
    json!({"info": info(), "messages": messages})
}

fn run(messages: Vec<Value>) -> Converted {
    convert(&doc(messages), &RowTimes::new()).unwrap()
}

fn data(m: &V2Message) -> Value {
    Value::Object(m.data.clone())
}

#[test]
fn session_row_copies_columns_and_recomputes_usage() {
    let out = run(vec![
        user_msg("msg_1", 200, vec![text("prt_1", "hi")]),
        assistant_msg("msg_2", "msg_1", 210, vec![text("prt_2", "hello")]),
        assistant_msg("msg_3", "msg_1", 230, vec![]),
    ]);
    let row = Value::Object(out.session.row.clone());
    assert_eq!(out.session.row.len(), 36);
    assert_eq!(row["id"], SES);
    assert_eq!(row["project_id"], "3ff407b7");
    assert_eq!(row["slug"], "tidy-canyon");
    assert_eq!(row["path"], "");
    assert_eq!(row["summary_files"], 3);
    assert_eq!(row["summary_diffs"], Value::Null);
    // Recomputed from the two assistants, not the session's 9s.
    assert_eq!(row["cost"], 1.0);
    assert_eq!(row["tokens_input"], 240);
    assert_eq!(row["tokens_cache_read"], 4);
    assert_eq!(row["tokens_cache_write"], 2);
    // Dropped: the 1.x permission set.
    assert_eq!(row["permission"], Value::Null);
    assert_eq!(row["revert"], Value::Null);
    // No agent/model on the session: the latest user message's, variant defaulted.
    assert_eq!(row["agent"], "build");
    assert_eq!(
        row["model"],
        r#"{"id":"mock-1","providerID":"mock","variant":"default"}"#
    );
    assert_eq!(row["time_created"], 100);
    assert_eq!(row["time_updated"], 900);
    assert_eq!(row["resume_attempts"], 0);
    assert_eq!(row["time_suspended"], Value::Null);
}

#[test]
fn session_keeps_its_own_agent_and_model() {
    let mut d = doc(vec![user_msg("msg_1", 200, vec![text("prt_1", "hi")])]);
    d["info"]["agent"] = "plan".into();
    d["info"]["model"] = json!({"id": "m", "providerID": "p", "variant": "high"});
    let row = transform_session(&d, &Map::new()).unwrap().row;
    assert_eq!(row["agent"], "plan");
    assert_eq!(
        row["model"],
        r#"{"id":"m","providerID":"p","variant":"high"}"#
    );
}

#[test]
fn user_text_joins_visible_parts_and_skips_ignored() {
    let out = run(vec![user_msg(
        "msg_1",
        200,
        vec![
            text("prt_1", "one"),
            json!({"type": "text", "text": "hidden", "ignored": true, "id": "prt_2"}),
            text("prt_3", "two"),
        ],
    )]);
    let [m] = &out.session.messages[..] else {
        panic!()
    };
    assert_eq!((m.kind.as_str(), m.seq), ("user", 0));
    assert_eq!(
        data(m),
        json!({"text": "one\n\ntwo", "time": {"created": 200}})
    );
}

#[test]
fn user_files_data_urls_inline_others_become_text() {
    let out = run(vec![user_msg(
        "msg_1",
        200,
        vec![
            text("prt_1", "look"),
            json!({"type": "file", "mime": "text/plain", "filename": "note.txt",
                   "url": "file:///r/repo/note.txt", "id": "prt_2",
                   "source": {"type": "file", "path": "note.txt", "text": {"value": "@note.txt", "start": 0, "end": 9}}}),
            json!({"type": "file", "mime": "image/png", "filename": "red.png",
                   "url": "data:image/png;base64,iVBORw0K", "id": "prt_3"}),
            json!({"type": "file", "mime": "text/plain", "url": "data:text/plain,hello%20world", "id": "prt_4"}),
            json!({"type": "file", "mime": "text/plain", "url": "data:text/plain,bad%zz", "id": "prt_5"}),
            json!({"type": "agent", "name": "review", "source": {"value": "@review", "start": 2, "end": 9}, "id": "prt_6"}),
        ],
    )]);
    let [m] = &out.session.messages[..] else {
        panic!()
    };
    assert_eq!(
        data(m),
        json!({
            "text": "look\n\n[Attachment unavailable after migration: note.txt (text/plain)]\n\n[Attachment unavailable after migration: inline attachment (text/plain)]",
            "files": [
                {"data": "iVBORw0K", "mime": "image/png", "source": {"type": "inline"}, "name": "red.png"},
                {"data": "aGVsbG8gd29ybGQ=", "mime": "text/plain", "source": {"type": "inline"}},
            ],
            "agents": [{"name": "review", "mention": {"text": "@review", "start": 2, "end": 9}}],
            "time": {"created": 200},
        })
    );
}

#[test]
fn synthetic_text_splits_into_its_own_row() {
    let synthetic =
        |id: &str, t: &str| json!({"type": "text", "text": t, "synthetic": true, "id": id});
    let out = run(vec![
        user_msg(
            "msg_20dd121be001pe8Iu9Dq3FynRw",
            200,
            vec![
                text("prt_1", "asked"),
                synthetic("prt_2", "Called the Read tool"),
            ],
        ),
        user_msg(
            "msg_20dd121be002aaaaaaaaaaaaaa",
            300,
            vec![synthetic("prt_3", "only synthetic")],
        ),
    ]);
    let kinds: Vec<_> = out
        .session
        .messages
        .iter()
        .map(|m| (m.kind.as_str(), m.id.as_str()))
        .collect();
    let split = &out.session.messages[1];
    assert_eq!(
        kinds,
        [
            ("user", "msg_20dd121be001pe8Iu9Dq3FynRw"),
            ("synthetic", split.id.as_str()),
            ("synthetic", "msg_20dd121be002aaaaaaaaaaaaaa"),
        ]
    );
    // Derived ID: the source's first 16 characters and 14 base-62 digits of a hash.
    assert!(split.id.starts_with("msg_20dd121be001") && split.id.len() == 30);
    assert_ne!(split.id, "msg_20dd121be001pe8Iu9Dq3FynRw");
    assert_eq!(
        data(split),
        json!({"text": "Called the Read tool", "time": {"created": 200}})
    );
    // Deterministic.
    assert_eq!(
        run(vec![user_msg(
            "msg_20dd121be001pe8Iu9Dq3FynRw",
            200,
            vec![
                text("prt_1", "asked"),
                synthetic("prt_2", "Called the Read tool")
            ]
        )])
        .session
        .messages[1]
            .id,
        split.id
    );
}

#[test]
fn synthetic_id_hash_digits() {
    // Expected values computed independently in Python from the importer's rule:
    // int(sha256(b"v1-synthetic:<source>[:<salt>]").hexdigest(), 16), 14 base-62 digits.
    let mut used = HashSet::new();
    assert_eq!(
        content::synthetic_id("msg_20dd121be001pe8Iu9Dq3FynRw", &mut used),
        "msg_20dd121be001F0mmWO7uSZ9ud2"
    );
    assert_eq!(
        content::synthetic_id("msg_1", &mut used),
        "msg_1AANNSEEFfOzG99"
    );
    // Taken: salted with ":1".
    assert_eq!(
        content::synthetic_id("msg_1", &mut used),
        "msg_1Sf4T4Qv0zoKDCM"
    );
}

#[test]
fn compaction_user_and_summary_become_one_row() {
    let out = run(vec![
        user_msg("msg_1", 200, vec![text("prt_1", "first")]),
        assistant_msg(
            "msg_2",
            "msg_1",
            210,
            vec![
                text("prt_2", "answer"),
                json!({"type": "reasoning", "text": "think", "time": {"start": 211}, "id": "prt_2b"}),
            ],
        ),
        user_msg(
            "msg_3",
            300,
            vec![
                json!({"type": "compaction", "auto": false, "tail_start_id": "msg_1", "id": "prt_3"}),
            ],
        ),
        {
            let mut a = assistant_msg(
                "msg_4",
                "msg_3",
                310,
                vec![text("prt_4", "We did X."), text("prt_5", "")],
            );
            a["info"]["summary"] = true.into();
            a["info"]["mode"] = "compaction".into();
            a
        },
        user_msg("msg_5", 400, vec![text("prt_6", "next")]),
    ]);
    let kinds: Vec<_> = out
        .session
        .messages
        .iter()
        .map(|m| (m.kind.as_str(), m.seq))
        .collect();
    assert_eq!(
        kinds,
        [
            ("user", 0),
            ("assistant", 1),
            ("compaction", 2),
            ("user", 3)
        ]
    );
    let c = &out.session.messages[2];
    assert_eq!(c.id, "msg_3");
    assert_eq!(
        c.time_updated, 320,
        "the later of the marker and the summary"
    );
    assert_eq!(
        data(c),
        json!({"status": "completed", "reason": "manual", "summary": "We did X.",
               "recent": "[User]: first\n\n[Assistant]: answer\n\n[Assistant reasoning]: think",
               "time": {"created": 300}})
    );
    // The summary's usage still counts.
    assert_eq!(out.session.row["cost"], 1.0);
}

#[test]
fn unfinished_compaction_is_dropped() {
    let mut summary = assistant_msg("msg_4", "msg_3", 310, vec![text("prt_4", "partial")]);
    summary["info"]["summary"] = true.into();
    summary["info"]["time"] = json!({"created": 310});
    let out = run(vec![
        user_msg(
            "msg_3",
            300,
            vec![json!({"type": "compaction", "auto": true, "id": "prt_3"})],
        ),
        summary,
    ]);
    assert!(out.session.messages.is_empty());
}

#[test]
fn assistant_content_model_snapshot_and_times() {
    let out = run(vec![
        user_msg("msg_1", 200, vec![text("prt_1", "go")]),
        assistant_msg(
            "msg_2",
            "msg_1",
            210,
            vec![
                json!({"type": "step-start", "snapshot": "s1", "id": "prt_a"}),
                json!({"type": "reasoning", "text": "hmm", "metadata": {"k": 1}, "time": {"start": 211, "end": 212}, "id": "prt_b"}),
                json!({"type": "text", "text": "done", "time": {"start": 213, "end": 214}, "id": "prt_c"}),
                json!({"type": "patch", "hash": "h0", "files": ["/r/a", "/r/b"], "id": "prt_d"}),
                json!({"type": "patch", "hash": "h1", "files": ["/r/b", "/r/c"], "id": "prt_e"}),
                json!({"type": "step-finish", "snapshot": "s2", "reason": "stop", "id": "prt_f"}),
                json!({"type": "step-finish", "snapshot": "s3", "reason": "stop", "id": "prt_g"}),
            ],
        ),
    ]);
    let a = &out.session.messages[1];
    assert_eq!(
        data(a),
        json!({
            "agent": "build",
            "model": {"providerID": "mock", "id": "mock-1", "variant": "default"},
            "content": [
                {"type": "reasoning", "text": "hmm", "state": {"k": 1}, "time": {"created": 211, "completed": 212}},
                {"type": "text", "text": "done"},
            ],
            "snapshot": {"start": "s1", "end": "s3", "files": ["/r/a", "/r/b", "/r/c"]},
            "finish": "stop",
            "cost": 0.5,
            "tokens": {"input": 120, "output": 17, "reasoning": 0, "cache": {"write": 1, "read": 2}},
            "time": {"created": 210, "completed": 220},
        })
    );
}

#[test]
fn assistant_completed_time_is_the_rows_last_update() {
    let d = doc(vec![
        user_msg("msg_1", 200, vec![]),
        assistant_msg("msg_2", "msg_1", 210, vec![]),
    ]);
    let times = RowTimes::from([("msg_2".to_owned(), (210, 555))]);
    let out = convert(&d, &times).unwrap();
    assert_eq!(
        out.session.messages[1].data["time"],
        json!({"created": 210, "completed": 555})
    );
    assert_eq!(out.session.messages[1].time_updated, 555);
    // An empty user message is kept, with empty text.
    assert_eq!(
        data(&out.session.messages[0]),
        json!({"text": "", "time": {"created": 200}})
    );
}

#[test]
fn tool_states_map_to_2x_states() {
    let tool = |id: &str, name: &str, state: Value| json!({"type": "tool", "tool": name, "callID": id, "state": state, "id": format!("prt_{id}")});
    let out = run(vec![
        user_msg("msg_1", 200, vec![]),
        assistant_msg(
            "msg_2",
            "msg_1",
            210,
            vec![
                tool(
                    "c1",
                    "bash",
                    json!({"status": "completed", "input": {"command": "ls"}, "output": "a\n",
                "title": "ls", "metadata": {"exit": 0}, "time": {"start": 1, "end": 2},
                "attachments": [{"type": "file", "mime": "image/png", "url": "data:x", "filename": "x.png"}]}),
                ),
                tool(
                    "c2",
                    "read",
                    json!({"status": "completed", "input": {}, "output": "big", "title": "", "metadata": {},
                "time": {"start": 3, "end": 4, "compacted": 5}}),
                ),
                tool(
                    "c3",
                    "edit",
                    json!({"status": "error", "input": {"filePath": "a"}, "error": "no such file",
                "metadata": {"output": "partial"}, "time": {"start": 5, "end": 6}}),
                ),
                tool(
                    "c4",
                    "write",
                    json!({"status": "running", "input": {"filePath": "b"}, "metadata": {"m": 1}, "time": {"start": 7}}),
                ),
                tool(
                    "c5",
                    "todowrite",
                    json!({"status": "pending", "input": {}, "raw": ""}),
                ),
            ],
        ),
    ]);
    let content = &out.session.messages[1].data["content"];
    assert_eq!(
        content,
        &json!([
            {"type": "tool", "id": "c1", "name": "bash", "state": {"status": "completed", "input": {"command": "ls"},
              "content": [{"type": "text", "text": "a\n"}, {"type": "file", "uri": "data:x", "mime": "image/png", "name": "x.png"}],
              "metadata": {"exit": 0}}, "time": {"created": 1, "completed": 2}},
            {"type": "tool", "id": "c2", "name": "read", "state": {"status": "completed", "input": {},
              "content": [{"type": "text", "text": "[Old tool result content cleared]"}], "metadata": {}},
              "time": {"created": 3, "completed": 4}},
            {"type": "tool", "id": "c3", "name": "edit", "state": {"status": "error", "input": {"filePath": "a"},
              "error": {"type": "tool.execution", "message": "no such file"},
              "content": [{"type": "text", "text": "partial"}], "metadata": {"output": "partial"}},
              "time": {"created": 5, "completed": 6}},
            {"type": "tool", "id": "c4", "name": "write", "state": {"status": "error", "input": {"filePath": "b"},
              "error": {"type": "tool.interrupted", "message": "Tool execution was interrupted before V2 migration"},
              "metadata": {"m": 1}}, "time": {"created": 7}},
            {"type": "tool", "id": "c5", "name": "todowrite", "state": {"status": "error", "input": {},
              "error": {"type": "tool.interrupted", "message": "Tool execution was interrupted before V2 migration"}},
              "time": {"created": 210}},
        ])
    );
    // The notice names every changed tool called; it is the last row, after the last one.
    let notice = out.session.messages.last().unwrap();
    assert_eq!((notice.kind.as_str(), notice.seq), ("system", 2));
    assert_eq!(
        notice.data["text"],
        "The available tools have changed.\n\n\
         The `bash` tool is now `shell` and must be called by that name.\n\n\
         The following tools now take `path` instead of `filePath`: `read`, `edit`, `write`.\n\n\
         The `todowrite` tool is no longer available and must not be called."
    );
    assert_eq!(notice.time_created, 210);
}

#[test]
fn notice_text_of_the_capture() {
    // Verbatim from a 2.0.26-upgraded database (opencode-2x.md §2.1).
    let called = HashSet::from(["bash"]);
    assert_eq!(
        content::tool_notice(&called).unwrap(),
        "The available tools have changed.\n\nThe `bash` tool is now `shell` and must be called by that name."
    );
    assert_eq!(content::tool_notice(&HashSet::from(["glob", "grep"])), None);
    let several = content::tool_notice(&HashSet::from(["task", "apply_patch", "skill"])).unwrap();
    assert_eq!(
        several,
        "The available tools have changed.\n\n\
         The following tools were renamed and must be called by their new names: `task` is now `subagent`; `apply_patch` is now `patch`.\n\n\
         The `subagent` tool takes `agent` instead of `subagent_type` and `sessionID` instead of `task_id`.\n\n\
         The `skill` tool now takes `id` instead of `name`."
    );
}

#[test]
fn notice_counts_only_calls_after_the_last_compaction() {
    let bash = json!({"type": "tool", "tool": "bash", "callID": "c1", "id": "prt_t",
        "state": {"status": "completed", "input": {}, "output": "", "title": "", "metadata": {}, "time": {"start": 1, "end": 2}}});
    let mut summary = assistant_msg("msg_4", "msg_3", 310, vec![text("prt_4", "sum")]);
    summary["info"]["summary"] = true.into();
    let out = run(vec![
        user_msg("msg_1", 200, vec![text("prt_1", "go")]),
        assistant_msg("msg_2", "msg_1", 210, vec![bash]),
        user_msg(
            "msg_3",
            300,
            vec![json!({"type": "compaction", "auto": true, "id": "prt_3"})],
        ),
        summary,
    ]);
    assert_eq!(out.session.messages.last().unwrap().kind, "compaction");
}

#[test]
fn subtask_marker_and_its_task_call_are_dropped() {
    let task = json!({"type": "tool", "tool": "task", "callID": "c1", "id": "prt_t",
        "state": {"status": "completed", "input": {}, "output": "", "title": "", "metadata": {}, "time": {"start": 1, "end": 2}}});
    let out = run(vec![
        user_msg("msg_1", 200, vec![text("prt_1", "hi")]),
        user_msg(
            "msg_2",
            300,
            vec![
                json!({"type": "subtask", "prompt": "p", "description": "d", "agent": "general", "id": "prt_2"}),
            ],
        ),
        assistant_msg("msg_3", "msg_2", 310, vec![task]),
        assistant_msg("msg_4", "msg_1", 320, vec![text("prt_4", "ok")]),
    ]);
    let ids: Vec<_> = out.session.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["msg_1", "msg_4"]);
    // The latest user message for agent/model is not the subtask-only one, and the
    // dropped assistant still counts in the usage.
    assert_eq!(out.session.row["cost"], 1.0);
}

#[test]
fn assistant_errors_and_finish_reasons_are_normalised() {
    let mut a = assistant_msg("msg_2", "msg_1", 210, vec![]);
    a["info"]["error"] =
        json!({"name": "APIError", "data": {"message": "boom", "isRetryable": false}});
    a["info"]["finish"] = "weird".into();
    let mut b = assistant_msg("msg_3", "msg_1", 220, vec![]);
    b["info"]["error"] = json!({"name": "MessageOutputLengthError", "data": {}});
    b["info"]["finish"] = "tool-calls".into();
    let out = run(vec![user_msg("msg_1", 200, vec![]), a, b]);
    assert_eq!(
        out.session.messages[1].data["error"],
        json!({"type": "provider.error", "message": "boom"})
    );
    assert_eq!(out.session.messages[1].data["finish"], "unknown");
    assert_eq!(
        out.session.messages[2].data["error"],
        json!({"type": "provider.invalid-output", "message": "The model exceeded its output limit"})
    );
    assert_eq!(out.session.messages[2].data["finish"], "tool-calls");
}

#[test]
fn messages_are_ordered_by_time_then_id_and_bad_rows_skipped() {
    let out = run(vec![
        user_msg(
            "msg_b",
            300,
            vec![
                text("prt_1", "second"),
                json!({"type": "mystery", "id": "prt_x"}),
            ],
        ),
        user_msg("msg_a", 300, vec![text("prt_2", "first")]),
        json!({"info": {"role": "assistant", "id": "msg_c", "time": {"created": 1}}, "parts": []}),
    ]);
    let ids: Vec<_> = out
        .session
        .messages
        .iter()
        .map(|m| (m.id.as_str(), m.seq))
        .collect();
    assert_eq!(ids, [("msg_a", 0), ("msg_b", 1)]);
    let reasons: Vec<_> = out
        .warnings
        .iter()
        .map(|w| {
            (
                w.reason,
                w.message_id.as_deref(),
                w.observed_type.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("invalid-part", Some("msg_b"), Some("mystery")),
            ("invalid-message", Some("msg_c"), None)
        ]
    );
}

#[test]
fn messages_of_opencode_1_0_get_agent_and_model_from_their_reply() {
    let mut u = user_msg("msg_1", 200, vec![text("prt_1", "hi")]);
    let m = u["info"].as_object_mut().unwrap();
    m.remove("agent");
    m.remove("model");
    let mut a = assistant_msg("msg_2", "msg_1", 210, vec![]);
    a["info"].as_object_mut().unwrap().remove("agent");
    a["info"]["mode"] = "plan".into();
    let out = run(vec![u, a]);
    assert!(out.warnings.is_empty());
    assert_eq!(out.session.messages[1].data["agent"], "plan");
    assert_eq!(out.session.row["agent"], "plan");
    assert_eq!(
        out.session.row["model"],
        r#"{"id":"mock-1","providerID":"mock","variant":"default"}"#
    );
}

#[test]
fn not_an_export_document_is_an_error() {
    assert!(transform_session(&json!({"messages": []}), &Map::new()).is_err());
    let mut d = doc(vec![]);
    d["info"].as_object_mut().unwrap().remove("version");
    let err = transform_session(&d, &Map::new()).unwrap_err().to_string();
    assert!(err.contains("has no version"), "{err}");
}

#[test]
fn base64_round_trips_and_decodes_leniently() {
    for bytes in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0xff, 0x00, 0x80]] {
        let text = content::base64_encode(bytes);
        assert_eq!(content::base64_decode(&text), bytes);
    }
    assert_eq!(content::base64_encode(b"hello world"), "aGVsbG8gd29ybGQ=");
    // URL-safe digits, whitespace and missing padding, as Node's Buffer accepts them.
    assert_eq!(content::base64_decode("aGVsbG8g\nd29y bGQ"), b"hello world");
    assert_eq!(content::base64_decode("-_8"), [0xfb, 0xff]);
}

/// `session_message` rows as the 1.x extra record keeps them, shaped as the real 1.18.34 v2
/// engine wrote them (tests/it/common/v2.rs; trimmed).
fn engine_extra() -> Map<String, Value> {
    let row = |id: &str, kind: &str, seq: i64, t: i64, data: Value| {
        json!({"id": id, "session_id": SES, "type": kind, "seq": seq, "time_created": t,
               "time_updated": t, "data": crate::json::compact(&data)})
    };
    object(json!({"session_message": [
        row("msg_2", "assistant", 3, 20, json!({"time": {"created": 20, "completed": 30}, "agent": "build",
            "model": {"id": "mock-1", "providerID": "mock"},
            "content": [{"type": "tool", "id": "call_1", "name": "write", "provider": {"executed": false},
                "state": {"status": "completed", "input": {"path": "a.md", "content": "x"},
                          "content": [{"type": "text", "text": "Created file successfully: a.md"}],
                          "outputPaths": [], "structured": {"operation": "write", "resource": "a.md", "existed": false}},
                "time": {"created": 21, "ran": 22, "completed": 23}}],
            "snapshot": {"start": "a6", "end": "b0", "files": ["a.md"]}, "finish": "tool-calls", "cost": 0,
            "tokens": {"input": 120, "output": 17, "reasoning": 0, "cache": {"read": 0, "write": 0}}})),
        row("msg_1", "user", 2, 10, json!({"time": {"created": 10}, "text": "Write the notes"})),
        row("msg_3", "assistant", 9, 40, json!({"time": {"created": 40, "completed": 50}, "agent": "build",
            "model": {"id": "mock-1", "providerID": "mock"},
            "content": [{"type": "reasoning", "id": "reasoning-0", "text": "hm", "time": {"created": 41, "completed": 42}},
                        {"type": "text", "id": "text-0", "text": "Done"}],
            "finish": "stop", "cost": 0, "tokens": {"input": 1, "output": 2, "reasoning": 0, "cache": {"read": 0, "write": 0}}})),
    ]}))
}

#[test]
fn engine_rows_of_1_18_are_carried_into_an_empty_session() {
    let session = transform_session(&doc(vec![]), &engine_extra()).unwrap();
    let rows: Vec<_> = session
        .messages
        .iter()
        .map(|m| (m.id.as_str(), m.kind.as_str(), m.seq))
        .collect();
    assert_eq!(
        rows,
        [
            ("msg_1", "user", 2),
            ("msg_2", "assistant", 3),
            ("msg_3", "assistant", 9)
        ]
    );
    assert_eq!(
        session.messages[1].data["content"][0],
        json!({"type": "tool", "id": "call_1", "name": "write",
               "state": {"status": "completed", "input": {"path": "a.md", "content": "x"},
                         "content": [{"type": "text", "text": "Created file successfully: a.md"}],
                         "metadata": {"outputPaths": [], "structured": {"operation": "write", "resource": "a.md", "existed": false}}},
               "time": {"created": 21, "ran": 22, "completed": 23}, "executed": false})
    );
    assert_eq!(
        session.messages[2].data["content"],
        json!([{"type": "reasoning", "text": "hm", "time": {"created": 41, "completed": 42}},
               {"type": "text", "text": "Done"}])
    );
    // A session with v1 messages keeps only those; 2.x's own import carries nothing.
    let with_v1 =
        transform_session(&doc(vec![user_msg("msg_9", 5, vec![])]), &engine_extra()).unwrap();
    assert_eq!(with_v1.messages.len(), 1);
    assert!(convert(&doc(vec![]), &RowTimes::new())
        .unwrap()
        .session
        .messages
        .is_empty());
}
