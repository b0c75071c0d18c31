//! Transcripts of OpenCode 2.x documents (`{info, messages}` with flat typed messages).
//!
//! The messages are built from the rows of opencode-2x.md §2.1. Rows marked "capture" there are
//! verbatim `session_message.data` of real 2.0.12/2.0.26 databases (only the parts the fact
//! sheet itself trims, `[…]` and `{…}`, are filled in); rows marked "shape" follow the schema
//! or third-party fixtures because no real row was published. Each message is the row's data
//! with `id` and `type` put back, as `opencode session export` prints it.

use super::*;
use serde_json::json;

/// `data` of a row plus its `id` and `type`.
fn msg(id: &str, kind: &str, data: Value) -> Value {
    let mut m = data.as_object().cloned().expect("row data is an object");
    m.insert("id".into(), json!(id));
    m.insert("type".into(), json!(kind));
    Value::Object(m)
}

/// `info` of the §6 example (built there from the 2.0.12 capture).
fn info() -> Value {
    json!({"id": "ses_eed07b19affeqL6wrtBlxM40fP",
           "projectID": "62be6de141bedc44a6210f1ad43b67ba5e1fcd73",
           "location": {"directory": "/tmp/chatstrata-oc2-throwaway"},
           "title": "chatstrata oc2 fixture",
           "model": {"id": "z-ai/glm-5.3-flash", "providerID": "openrouter", "variant": "default"},
           "cost": 0.00213123,
           "tokens": {"input": 9941, "output": 80, "reasoning": 52,
                      "cache": {"read": 19136, "write": 0}},
           "time": {"created": 1791319625346_i64, "updated": 1791319625382_i64,
                    "idle": 1791319649882_i64},
           "outcome": "succeeded"})
}

/// A tool item in the envelope of the captured `shell` call, for the tools no capture shows;
/// one still streaming has not run yet.
fn tool(id: &str, name: &str, state: Value) -> Value {
    let time = match state["status"].as_str() {
        Some("streaming") => json!({"created": 1791500491860_i64}),
        _ => json!({"created": 1791500491860_i64, "ran": 1791500491864_i64,
                    "completed": 1791500491903_i64}),
    };
    json!({"type": "tool", "id": id, "name": name, "executed": false, "state": state,
           "time": time})
}

/// An assistant (agent and model of the 2.0.26 capture) with `content`.
fn assistant(content: Value) -> Value {
    json!({"time": {"created": 1791500492000_i64, "completed": 1791500492100_i64},
           "agent": "build", "model": {"id": "m1", "providerID": "fake"},
           "content": content, "finish": "tool-calls"})
}

/// Every message type of the 2.x union, and each kind of content item and tool state.
fn rich() -> Value {
    let messages = vec![
        // capture 2.0.26
        msg(
            "msg_112f84e89001Xoi4Q9FR7Zqk4x",
            "user",
            json!(
            {"time": {"created": 1791500491631_i64}, "text": "\"Please USE A TOOL to print hi\"",
             "files": []}),
        ),
        // capture 2.0.26
        msg(
            "msg_112f84e8a001AAAAAAAAAAAAAA",
            "assistant",
            json!(
            {"time": {"created": 1791500491651_i64, "streamed": 1791500491865_i64,
                      "completed": 1791500491905_i64},
             "agent": "build", "model": {"id": "m1", "providerID": "fake"},
             "content": [{"type": "tool", "id": "call_00491653", "name": "shell", "executed": false,
               "state": {"status": "completed",
                         "input": {"command": "echo hi > note.txt && echo hi",
                                   "description": "Print hi"},
                         "content": [{"type": "text", "text": "hi\n"}],
                         "metadata": {"status": "completed", "truncated": false, "exit": 0}},
               "time": {"created": 1791500491860_i64, "ran": 1791500491864_i64,
                        "completed": 1791500491903_i64}}],
             "finish": "tool-calls", "rawFinish": "tool_calls", "cost": 0.00357,
             "tokens": {"input": 1000, "output": 34, "reasoning": 0,
                        "cache": {"read": 200, "write": 0}}}),
        ),
        // capture 2.0.12 (`reasoningDetails` trimmed in the fact sheet)
        msg(
            "msg_112f8ae5a001BBBBBBBBBBBBBB",
            "assistant",
            json!(
            {"time": {"created": 1791319628697_i64, "streamed": 1791319649879_i64,
                      "completed": 1791319649880_i64},
             "agent": "build",
             "model": {"id": "z-ai/glm-5.3-flash", "providerID": "openrouter", "variant": "default"},
             "content": [{"type": "reasoning", "text": "The file says \"hi\". Simple confirmation.",
                          "state": {"reasoningField": "reasoning", "reasoningDetails": []},
                          "time": {"created": 1791319647929_i64, "completed": 1791319649876_i64}},
                         {"type": "text", "text": "Done. I created `hello.txt` containing `hi`, read it back, and it says exactly that: **hi**."}],
             "finish": "stop", "rawFinish": "stop", "cost": 0.00032975,
             "tokens": {"input": 155, "output": 28, "reasoning": 9,
                        "cache": {"read": 9600, "write": 0}}}),
        ),
        // capture 2.0.26: the subagent call (its `time` is trimmed in the fact sheet)
        msg(
            "msg_112f8ae5b001CCCCCCCCCCCCCC",
            "assistant",
            assistant(json!([
            {"type": "tool", "id": "call_00492530", "name": "subagent", "executed": false,
             "state": {"status": "completed",
                       "input": {"agent": "general", "description": "Look around",
                                 "prompt": "List the files and summarise them."},
                       "content": [{"type": "text", "text": "<subagent sessionID=\"ses_ee23fe0f4ffeylWZL6V350JpvY\" state=\"completed\">\nHello … \n</subagent>"}],
                       "metadata": {"sessionID": "ses_ee23fe0f4ffeylWZL6V350JpvY",
                                    "status": "completed", "truncated": false}},
             "time": {"created": 1791500492530_i64}}])),
        ),
        // shape: the 2.x file tools, named and with inputs as §2.2 says
        msg(
            "msg_112f8ae5c001DDDDDDDDDDDDDD",
            "assistant",
            assistant(json!([
                tool(
                    "call_1",
                    "write",
                    json!({"status": "completed",
                "input": {"path": "hello.txt", "content": "hi\n"},
                "content": [{"type": "text", "text": "Wrote file successfully."}]})
                ),
                tool(
                    "call_2",
                    "read",
                    json!({"status": "completed", "input": {"path": "logo.png"},
                "content": [{"type": "text", "text": "Image read successfully"},
                            {"type": "file", "uri": "data:image/png;base64,iVBORw0KGgo=",
                             "mime": "image/png", "name": "logo.png"}]})
                ),
                tool(
                    "call_3",
                    "patch",
                    json!({"status": "completed",
                "input": {"patchText": "*** Begin Patch\n*** Update File: hello.txt\n@@\n-hi\n+hello\n*** End Patch"},
                "content": [{"type": "text", "text": "Success. Updated the following files:\nM hello.txt"}]})
                ),
                tool(
                    "call_4",
                    "edit",
                    json!({"status": "error",
                "input": {"path": "hello.txt", "oldString": "x", "newString": "y"},
                "error": {"type": "tool.execution", "message": "oldString not found in content"}})
                ),
                tool(
                    "call_5",
                    "write",
                    json!({"status": "streaming",
                "input": "{\"path\":\"draft.md\",\"content\":\"# Dra"})
                )
            ])),
        ),
        // capture 2.0.12
        msg(
            "msg_112f8ae5a001FdWqF58Lk0uqWg",
            "idle",
            json!({"time": {"created": 1791319649882_i64}, "outcome": "succeeded"}),
        ),
        // shape: the importer's user row with an inline file (§4.2); the agent mention's
        // fields are a guess (the schema names only `agents?`)
        msg(
            "msg_112f8ae5c101PPPPPPPPPPPPPP",
            "user",
            json!(
            {"time": {"created": 1791500493000_i64}, "text": "Now @explore the notes",
             "files": [{"data": "aGVsbG8=", "mime": "text/plain", "name": "notes.txt",
                        "source": {"type": "file", "path": "/tmp/chatstrata-oc2-throwaway/notes.txt"}}],
             "agents": [{"name": "explore"}]}),
        ),
        // capture 2.0.26 (the reminder text is trimmed in the fact sheet)
        msg(
            "msg_112f8ae5d001EEEEEEEEEEEEEE",
            "synthetic",
            json!(
            {"time": {"created": 1791500493820_i64},
             "text": "<system-reminder>\nYou are in Plan mode. …\n</system-reminder>"}),
        ),
        // shapes: schema and third-party fixtures
        msg(
            "msg_112f8ae5d002FFFFFFFFFFFFFF",
            "agent-switched",
            json!({"agent": "plan", "previous": "build", "time": {"created": 1791500493821_i64}}),
        ),
        // capture beta-19296
        msg(
            "msg_112f8ae5e001GGGGGGGGGGGGGG",
            "model-switched",
            json!(
            {"time": {"created": 1791556750236_i64}, "model": {"id": "big-pickle", "providerID": "opencode"},
             "previous": {"id": "exo-free", "providerID": "opencode", "variant": "default"}}),
        ),
        // capture 2.0.26
        msg(
            "msg_112f8ae5e002HHHHHHHHHHHHHH",
            "model-switched",
            json!(
            {"time": {"created": 1791541660850_i64},
             "model": {"id": "mimo-v2.6-flash-free", "providerID": "opencode"}}),
        ),
        // capture 2.0.26 (the response body is trimmed in the fact sheet)
        msg(
            "msg_112f8ae5f001IIIIIIIIIIIIII",
            "assistant",
            json!(
            {"time": {"created": 1791541653521_i64, "completed": 1791541653886_i64},
             "agent": "build", "model": {"id": "exo-free", "providerID": "opencode"},
             "content": [], "finish": "error",
             "error": {"type": "provider.invalid-request",
                       "message": "Model exo-free has been deprecated.", "status": 410,
                       "response": {"body": "…"}}}),
        ),
        // capture 2.0.26
        msg(
            "msg_112f8ae5f002JJJJJJJJJJJJJJ",
            "idle",
            json!({"time": {"created": 1791541653888_i64}, "outcome": "failed"}),
        ),
        // shape: the importer's compaction
        msg(
            "msg_112f8ae60001KKKKKKKKKKKKKK",
            "compaction",
            json!(
            {"status": "completed", "reason": "auto", "summary": "We fixed the build.",
             "recent": "[User]: …\n\n[Assistant]: …", "time": {"created": 1800000006000_i64}}),
        ),
        // shape: third-party clients' tests
        msg(
            "msg_112f8ae61001LLLLLLLLLLLLLL",
            "shell",
            json!(
            {"shellID": "sh_1", "command": "git status", "status": "exited", "exit": 0,
             "output": {"output": "clean", "cursor": 5, "size": 5, "truncated": false},
             "time": {"created": 1800000006020_i64, "completed": 1800000006030_i64}}),
        ),
        msg(
            "msg_112f8ae62001MMMMMMMMMMMMMM",
            "location-switched",
            json!(
            {"location": {"directory": "/fixture/B"},
             "previous": {"location": {"directory": "/fixture/A"}},
             "time": {"created": 1800000006100_i64}}),
        ),
        msg(
            "msg_112f8ae63001NNNNNNNNNNNNNN",
            "skill",
            json!(
            {"skill": "skl_release", "name": "release", "text": "Tag, build, publish.",
             "time": {"created": 1800000006200_i64}}),
        ),
        // capture: the importer's notice in a 2.0.26-upgraded database
        msg(
            "msg_112f8ae64001OOOOOOOOOOOOOO",
            "system",
            json!(
            {"text": "The available tools have changed.\n\nThe `bash` tool is now `shell` and must be called by that name.",
             "time": {"created": 1791541806661_i64}}),
        ),
    ];
    json!({"info": info(), "messages": messages})
}

fn child() -> SessionLink {
    SessionLink {
        id: "ses_ee23fe0f4ffeylWZL6V350JpvY".into(),
        title: "Look around (@general subagent)".into(),
        href: "../../2026-10/ses_ee23fe0f4ffeylWZL6V350JpvY/transcript.md".into(),
    }
}

#[test]
fn the_shape_tells_the_generations_apart() {
    assert!(is_gen2(&rich()));
    assert!(is_gen2(&json!({"info": info(), "messages": []})));
    assert!(!is_gen2(&json!({"info": {"directory": "/r"}, "messages": [
        {"info": {"role": "user"}, "parts": []}]})));
    assert!(!is_gen2(
        &json!({"info": {"directory": "/r"}, "messages": []})
    ));
}

#[test]
fn an_empty_2x_session_has_its_header_and_no_messages() {
    let out = render_linked(&json!({"info": info(), "messages": []}), None, None, &[]);
    assert!(out.contains("- **Directory:** `/tmp/chatstrata-oc2-throwaway`"));
    assert!(out.ends_with("*No messages.*\n"), "{out}");
}

/// Unsettled rows (kept in the extra record, not in the document) follow the conversation.
#[test]
fn unsettled_rows_are_shown_after_the_settled_messages() {
    let doc = json!({"info": info(), "messages": [msg("msg_1", "user", json!(
        {"time": {"created": 1791500491631_i64}, "text": "go", "files": []}))]});
    let extra = json!({
        "session_v2": {"version": "2.0.25", "share_url": null},
        "session_message": [{"id": "msg_2", "type": "assistant", "seq": 7,
            "time_created": 1791500491651_i64, "time_updated": 1791500491700_i64,
            "data": "{\"time\":{\"created\":1791500491651},\"agent\":\"build\",\"model\":{\"id\":\"m1\",\"providerID\":\"fake\"},\"content\":[{\"type\":\"text\",\"text\":\"Half an ans\"}]}"}]
    });
    let out = render_linked(&doc, extra.as_object(), None, &[]);
    assert!(out.contains("- **OpenCode:** 2.0.25"), "{out}");
    let settled = out.find("\ngo\n").expect("the prompt");
    let unsettled = out
        .find("## Unsettled messages")
        .expect("the unsettled heading");
    assert!(settled < unsettled);
    assert!(out[unsettled..].contains("### Assistant\n\n<sub>2026-10-08"));
    assert!(out.ends_with("Half an ans\n"), "{out}");
}

/// Sessions migrated from 1.x keep the 1.x tool names (`bash`, `task`, `apply_patch`), and a
/// 1.x task's child is named by `metadata.sessionId`.
#[test]
fn migrated_sessions_render_their_1x_tool_names() {
    let doc = json!({"info": info(), "messages": [msg("msg_1", "assistant", assistant(json!([
        tool("c1", "bash", json!({"status": "completed",
            "input": {"command": "cargo test", "description": "Run tests"},
            "content": [{"type": "text", "text": "ok"}]})),
        tool("c2", "task", json!({"status": "completed",
            "input": {"description": "delegate", "prompt": "go"},
            "content": [{"type": "text", "text": "done"}],
            "metadata": {"sessionId": "ses_ee23fe0f4ffeylWZL6V350JpvY"}})),
        tool("c3", "apply_patch", json!({"status": "error",
            "input": {"patchText": "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch"},
            "error": {"type": "tool.interrupted", "message": "Tool execution was interrupted"}}))
    ])))]});
    let out = render_linked(&doc, None, None, &[child()]);
    assert!(
        out.contains("**Tool** `bash` · Run tests · completed · 39 ms\n\n```sh\ncargo test\n```")
    );
    assert!(out.contains("Subagent session: [Look around (@general subagent)]("));
    assert!(out.contains("```diff\n*** Begin Patch\n*** Add File: a.txt"));
    assert!(
        out.contains("Error (tool.interrupted):\n\n```text\nTool execution was interrupted\n```")
    );
}

#[test]
fn a_rich_2x_session() {
    let out = render_linked(&rich(), None, None, &[child()]);
    assert!(!out.contains("base64,"), "no data: URL is written out");
    insta::assert_snapshot!(out, @r##"
    # chatstrata oc2 fixture

    - **Session:** `ses_eed07b19affeqL6wrtBlxM40fP`
    - **Directory:** `/tmp/chatstrata-oc2-throwaway`
    - **Created:** 2026-10-06 20:47:05 UTC
    - **Updated:** 2026-10-06 20:47:05 UTC
    - **Outcome:** succeeded
    - **Agent:** `build`, `plan`
    - **Model:** `openrouter/z-ai/glm-5.3-flash`
    - **Cost:** $0.0021
    - **Tokens:** 9,941 input, 80 output, 52 reasoning, 19,136 cache read, 0 cache write

    ## Subagent sessions

    - [Look around (@general subagent)](../../2026-10/ses_ee23fe0f4ffeylWZL6V350JpvY/transcript.md) (`ses_ee23fe0f4ffeylWZL6V350JpvY`)

    ## Conversation

    ### User

    <sub>2026-10-08 23:01:31 UTC</sub>

    "Please USE A TOOL to print hi"

    ### Assistant

    <sub>2026-10-08 23:01:31 UTC · agent `build` · model `fake/m1` · 1,234 tokens · $0.0036</sub>

    **Tool** `shell` · Print hi · completed · 39 ms

    ```sh
    echo hi > note.txt && echo hi
    ```

    Output:

    ```text
    hi
    ```

    ### Assistant

    <sub>2026-10-06 20:47:08 UTC · agent `build` · model `openrouter/z-ai/glm-5.3-flash` · 9,792 tokens · $0.0003</sub>

    <details>
    <summary>Reasoning</summary>

    The file says "hi". Simple confirmation.

    </details>

    Done. I created `hello.txt` containing `hi`, read it back, and it says exactly that: **hi**.

    ### Assistant

    <sub>2026-10-08 23:01:32 UTC · agent `build` · model `fake/m1`</sub>

    **Tool** `subagent` · Look around · completed

    ```json
    {
      "agent": "general",
      "description": "Look around",
      "prompt": "List the files and summarise them."
    }
    ```

    Subagent session: [Look around (@general subagent)](../../2026-10/ses_ee23fe0f4ffeylWZL6V350JpvY/transcript.md) (`ses_ee23fe0f4ffeylWZL6V350JpvY`)

    Output:

    ```text
    <subagent sessionID="ses_ee23fe0f4ffeylWZL6V350JpvY" state="completed">
    Hello … 
    </subagent>
    ```

    ### Assistant

    <sub>2026-10-08 23:01:32 UTC · agent `build` · model `fake/m1`</sub>

    **Tool** `write` · completed · 39 ms

    ```json
    {
      "path": "hello.txt",
      "content": "hi\n"
    }
    ```

    Output:

    ```text
    Wrote file successfully.
    ```

    **Tool** `read` · completed · 39 ms

    ```json
    {
      "path": "logo.png"
    }
    ```

    Output:

    ```text
    Image read successfully
    ```

    **File** `logo.png` · image/png · inline data, 8 bytes

    **Tool** `patch` · completed · 39 ms

    ```diff
    *** Begin Patch
    *** Update File: hello.txt
    @@
    -hi
    +hello
    *** End Patch
    ```

    Output:

    ```text
    Success. Updated the following files:
    M hello.txt
    ```

    **Tool** `edit` · error · 39 ms

    ```json
    {
      "path": "hello.txt",
      "oldString": "x",
      "newString": "y"
    }
    ```

    Error (tool.execution):

    ```text
    oldString not found in content
    ```

    **Tool** `write` · streaming

    ```text
    {"path":"draft.md","content":"# Dra
    ```

    *Turn ended: succeeded* · <sub>2026-10-06 20:47:29 UTC</sub>

    ### User

    <sub>2026-10-08 23:01:33 UTC</sub>

    Now @explore the notes

    **File** `notes.txt` · text/plain · inline data, 5 bytes

    **Agent** `@explore`

    ### Synthetic

    <sub>2026-10-08 23:01:33 UTC</sub>

    <details>
    <summary>Added by OpenCode</summary>

    ```text
    <system-reminder>
    You are in Plan mode. …
    </system-reminder>
    ```

    </details>

    *Agent switched to `plan` (from `build`)* · <sub>2026-10-08 23:01:33 UTC</sub>

    *Model switched to `opencode/big-pickle` (from `opencode/exo-free`)* · <sub>2026-10-09 14:39:10 UTC</sub>

    *Model set to `opencode/mimo-v2.6-flash-free`* · <sub>2026-10-09 10:27:40 UTC</sub>

    ### Assistant

    <sub>2026-10-09 10:27:33 UTC · agent `build` · model `opencode/exo-free`</sub>

    **Error** `provider.invalid-request`

    ```text
    Model exo-free has been deprecated.
    ```

    *Turn ended: failed* · <sub>2026-10-09 10:27:33 UTC</sub>

    ### Compaction

    <sub>2027-01-15 08:00:06 UTC</sub>

    **Compaction:** the conversation so far was summarized automatically.

    <details>
    <summary>Summary</summary>

    We fixed the build.

    </details>

    ### Shell

    <sub>2027-01-15 08:00:06 UTC</sub>

    **Shell** · exited · exit 0 · 10 ms

    ```sh
    git status
    ```

    Output:

    ```text
    clean
    ```

    *Moved to `/fixture/B` (from `/fixture/A`)* · <sub>2027-01-15 08:00:06 UTC</sub>

    ### Skill

    <sub>2027-01-15 08:00:06 UTC</sub>

    **Skill** `release` (`skl_release`)

    <details>
    <summary>Skill instructions</summary>

    ```text
    Tag, build, publish.
    ```

    </details>

    ### System

    <sub>2026-10-09 10:30:06 UTC</sub>

    The available tools have changed.

    The `bash` tool is now `shell` and must be called by that name.
    "##);
}

/// Markdown export redacts the document and its extra record before rendering (as for 1.x):
/// a secret in a 2.x tool input, a shell row's output or an unsettled row's JSON text never
/// reaches the transcript.
#[test]
fn redaction_reaches_every_2x_field_shown() {
    let token = format!("ghp_{}", "A1b2".repeat(9));
    let mut doc = json!({"info": info(), "messages": [
        msg("msg_1", "assistant", assistant(json!([tool("c1", "shell", json!({
            "status": "completed", "input": {"command": format!("gh auth login --with-token {token}")},
            "content": [{"type": "text", "text": format!("token {token} ok")}]}))]))),
        msg("msg_2", "shell", json!({"shellID": "sh_1", "command": "env", "status": "exited",
            "exit": 0, "output": {"output": format!("GH_TOKEN={token}"), "cursor": 1, "size": 1,
            "truncated": false}, "time": {"created": 20, "completed": 30}}))
    ]});
    let mut extra = json!({"session_message": [{"id": "msg_3", "type": "user", "seq": 9,
        "time_created": 1, "time_updated": 1,
        "data": format!("{{\"time\":{{\"created\":1}},\"text\":\"use {token}\",\"files\":[]}}")}]});
    let redactor = crate::redact::Redactor::new();
    assert!(redactor.redact_value(&mut doc) >= 3);
    assert_eq!(redactor.redact_value(&mut extra), 1);
    let out = render_linked(&doc, extra.as_object(), None, &[]);
    assert!(!out.contains(&token), "{out}");
    assert!(out.contains("GH_TOKEN=[REDACTED:github-token]"), "{out}");
    assert!(out.contains("use [REDACTED:github-token]"), "{out}");
}
