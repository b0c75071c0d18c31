//! Unit tests of whole transcripts rendered by `render_linked`: the header, bounded tool output,
//! every part type, unknown and malformed parts, todos, links to the parent and child sessions,
//! v2 messages and deterministic output. The Markdown building blocks and part helpers are
//! tested next to their code in `md.rs` and `parts.rs`.

use super::*;
use serde_json::json;

fn doc(parts: Value) -> Value {
    json!({
        "info": {
            "id": "ses_1", "slug": "s", "projectID": "p", "directory": "/repo",
            "title": "A *title*", "version": "1.18.34",
            "time": {"created": 1795528139191_i64, "updated": 1795528139347_i64}
        },
        "messages": [
            {"info": {"role": "user", "time": {"created": 1795528139199_i64}, "agent": "build",
                      "model": {"providerID": "mock", "modelID": "mock-1"},
                      "id": "msg_1", "sessionID": "ses_1"},
             "parts": [{"type": "text", "text": "hello", "id": "prt_1"}]},
            {"info": {"role": "assistant", "mode": "build", "agent": "build",
                      "providerID": "mock", "modelID": "mock-1", "cost": 0.5,
                      "tokens": {"input": 1200, "output": 34, "reasoning": 5,
                                 "cache": {"read": 0, "write": 0}},
                      "time": {"created": 1795528139214_i64}, "id": "msg_2", "sessionID": "ses_1"},
             "parts": parts}
        ]
    })
}

#[test]
fn long_output_is_cut_with_a_note() {
    let long: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
    let out = render_linked(
        &doc(
            json!([{"type": "tool", "tool": "bash", "callID": "c", "state": {
            "status": "completed", "input": {"command": "seq 10000", "description": "count"},
            "output": long, "title": "seq 10000", "metadata": {}}}]),
        ),
        None,
        None,
        &[],
    );
    assert!(
        out.len() < 6_000,
        "the output is bounded: {} bytes",
        out.len()
    );
    assert!(out.contains("line 0\nline 1\n"));
    assert!(!out.contains("line 9999"));
    assert!(out.contains("characters not shown"));
    assert!(out.contains("<summary>Output (10,000 lines)</summary>"));
}

#[test]
fn unknown_and_malformed_parts_render_generically() {
    let out = render_linked(
        &doc(json!([
            {"type": "hologram", "beam": {"power": 9}, "id": "prt_x", "sessionID": "ses_1"},
            {"type": "text", "text": 42},
            {"type": "tool"},
            {"no_type": true},
            "not an object",
            {"type": "file", "mime": "image/png", "filename": "a.png",
             "url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVQI12P4z8AAAAMBAQAY3Y2wAAAAAElFTkSuQmCC"},
            {"type": "weird", "payload": "data:text/plain;base64,aGVsbG8="}
        ])),
        None,
        None,
        &[],
    );
    assert!(out.contains("**Part** `hologram`"));
    assert!(out.contains("\"power\": 9"));
    assert!(!out.contains("prt_x"), "ids are left out");
    assert!(out.contains("**Part** `text`"), "a text part without text");
    assert!(out.contains("**Part** `tool`"));
    assert!(out.contains("**Part** `unknown`"));
    assert!(out.contains("\"not an object\""));
    assert!(out.contains("**File** `a.png` · image/png · inline data, 69 bytes"));
    assert!(out.contains("[data URL, 5 bytes]"));
    assert!(!out.contains("base64,"), "no data: URL is written out");
}

#[test]
fn every_part_type_is_rendered() {
    let reasoning = "I think `x` matters\n\n```rust\nfn f() {}\n```";
    let unsafe_text = "Here:\n```\nnever closed";
    let out = render_linked(
        &doc(json!([
            {"type": "step-start", "snapshot": "abc"},
            {"type": "reasoning", "text": reasoning, "time": {"start": 1, "end": 2}},
            {"type": "text", "text": "Plain **markdown** answer."},
            {"type": "text", "text": unsafe_text},
            {"type": "text", "text": "a </details> tag"},
            {"type": "text", "synthetic": true, "text": "<content>file</content>"},
            {"type": "patch", "hash": "904ab2e9712c22f00b5779b9118d1d97c66064ea",
             "files": ["/repo/src/main.rs", "/elsewhere/x.rs"]},
            {"type": "subtask", "prompt": "Check the tests", "description": "run checks",
             "agent": "general", "model": {"providerID": "mock", "modelID": "mock-2"},
             "command": "check"},
            {"type": "agent", "name": "explore"},
            {"type": "compaction", "auto": true},
            {"type": "retry", "attempt": 2,
             "error": {"name": "APIError", "data": {"message": "rate limited"}}},
            {"type": "tool", "tool": "edit", "state": {"status": "error",
             "input": {"filePath": "a.txt", "oldString": "x", "newString": "y"},
             "error": "oldString not found", "time": {"start": 10, "end": 1510}}},
            {"type": "tool", "tool": "read", "state": {"status": "pending", "input": {}}},
            {"type": "step-finish", "tokens": {"input": 1}, "cost": 0}
        ])),
        None,
        None,
        &[],
    );
    assert!(out.contains(reasoning));
    assert!(out.contains("<details>\n<summary>Reasoning</summary>\n\nI think"));
    assert!(
        out.contains("Plain **markdown** answer.\n"),
        "safe text is raw Markdown"
    );
    assert!(out.contains(&format!("````text\n{unsafe_text}\n````")));
    assert!(out.contains("```text\na </details> tag\n```"));
    assert!(out.contains("<summary>Added by OpenCode</summary>"));
    assert!(out.contains("<content>file</content>"));
    assert!(out.contains("**Patch** (snapshot `904ab2e971`) changed:"));
    assert!(out.contains("- `src/main.rs`\n- `/elsewhere/x.rs`"));
    assert!(out.contains(
        "**Subtask** for agent `general` · model `mock/mock-2` · run checks · command `check`"
    ));
    assert!(out.contains("Check the tests"));
    assert!(out.contains("**Agent** `@explore`"));
    assert!(out.contains("summarized automatically"));
    assert!(out.contains("**Retry** (attempt 2)"));
    assert!(out.contains("rate limited"));
    assert!(out.contains("**Tool** `edit` · error · 1.5 s"));
    assert!(out.contains("oldString not found"));
    assert!(out.contains("**Tool** `read` · pending"));
    assert!(
        !out.contains("step-"),
        "step parts are folded into the totals"
    );
    assert!(out.contains("# A \\*title\\*"));
    assert!(out.contains("- **Created:** 2026-11-24"), "{out}");
    assert!(out.contains("- **Tokens:** 1,200 input, 34 output, 5 reasoning"));
    assert!(out.contains("- **Cost:** $0.5000"));
    assert!(out.contains("1,239 tokens · $0.5000"));
}

#[test]
fn todos_children_parent_and_v2_messages() {
    let mut d = doc(json!([{"type": "tool", "tool": "task", "state": {
        "status": "completed", "input": {"description": "delegate", "prompt": "go"},
        "output": "done", "title": "delegate",
        "metadata": {"sessionId": "ses_child", "parentSessionId": "ses_1"}}}]));
    d["info"]["parentID"] = json!("ses_parent");
    let extra = json!({
        "todos": [
            {"content": "first", "status": "completed", "priority": "high"},
            {"content": "second", "status": "in_progress", "priority": "low"},
            {"content": "third", "status": "cancelled", "priority": "low"}
        ],
        "session_diff": [{"file": "README", "before": "a", "after": "b",
                          "additions": 1, "deletions": 1, "status": "modified"}],
        "share": {"id": "x", "url": "https://opncd.ai/share/x"}
    });
    let children = [SessionLink {
        id: "ses_child".into(),
        title: "delegate (@general subagent)".into(),
        href: "../../2026-11/ses_child/transcript.md".into(),
    }];
    let parent = SessionLink {
        id: "ses_parent".into(),
        title: "Parent".into(),
        href: "ses_parent.md".into(),
    };
    let out = render_linked(&d, extra.as_object(), Some(&parent), &children);
    assert!(out.contains("- [x] first *(high priority)*"));
    assert!(out.contains("- [ ] second *(in progress, low priority)*"));
    assert!(out.contains("- [ ] ~~third~~"));
    assert!(out.contains(
        "- [delegate (@general subagent)](../../2026-11/ses_child/transcript.md) (`ses_child`)"
    ));
    assert!(out.contains("Subagent session: [delegate (@general subagent)]("));
    assert!(out.contains("- **Parent:** [Parent](ses_parent.md) (`ses_parent`)"));
    assert!(out.contains("- `README` +1 −1 *(modified)*"));
    assert!(!out.contains("before"), "diff contents are not dumped");
    assert!(out.contains("- **Shared:** <https://opncd.ai/share/x>"));
    assert!(render_linked(&d, None, None, &[]).contains("- **Parent:** `ses_parent`"));

    let mut v2 = doc(json!([]));
    v2["messages"] = json!([]);
    let rows = json!({"session_message": [
        {"id": "m1", "session_id": "ses_1", "type": "user", "seq": 2, "time_created": 1,
         "data": "{\"time\":{\"created\":1795528117396},\"text\":\"hello v2\"}"},
        {"id": "m2", "session_id": "ses_1", "type": "assistant", "seq": 9,
         "data": "{\"agent\":\"build\",\"model\":{\"id\":\"mock-1\",\"providerID\":\"mock\"},\"content\":[{\"type\":\"text\",\"id\":\"text-0\",\"text\":\"Done v2.\"}]}"}
    ]});
    let out = render_linked(&v2, rows.as_object(), None, &[]);
    assert!(
        !out.contains("**Cost:**") && !out.contains("**Tokens:**"),
        "no totals known"
    );
    assert!(out.contains("### User\n\n<sub>2026-11-24"));
    assert!(out.contains("hello v2"));
    assert!(out.contains("### Assistant\n\n<sub>agent `build` · model `mock/mock-1`</sub>"));
    assert!(out.contains("Done v2."));
    assert!(render_linked(&v2, None, None, &[]).contains("*No messages.*"));
}

#[test]
fn output_is_deterministic_and_never_ends_in_blank_lines() {
    let d = doc(json!([{"type": "text", "text": "x"}]));
    let a = render_linked(&d, None, None, &[]);
    assert_eq!(a, render_linked(&d, None, None, &[]));
    assert!(a.ends_with("x\n") && !a.ends_with("\n\n"), "{a:?}");
}
