//! `export --format markdown` against stores written by the real OpenCode binary: every text
//! and reasoning part verbatim, tool names, todos, attachments, subtasks, compactions and
//! their summaries, parent and child links, bounded tool output, and `<id>.md` files for
//! every session with `-o DIR`.

use crate::common::fixtures::{legacy_store, parts_store, rich_store, Fixture, SUBTASK_COMMAND};
use crate::common::{file_names, Scrub, TestEnv};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

fn export_json(env: &TestEnv, id: &str) -> Value {
    env.run(&["export", id]).success().json()
}

/// The transcript of `id` as printed (real paths: texts are compared with the store's).
fn export_markdown(env: &TestEnv, id: &str) -> String {
    let out = env.run(&["export", "--format", "markdown", id]).success();
    out.raw_stdout().to_owned()
}

/// Checks the transcript of `id` against its export document; returns the transcript.
fn check_session(env: &TestEnv, id: &str) -> String {
    let doc = export_json(env, id);
    let md = export_markdown(env, id);
    assert!(md.starts_with("# "), "{id}: no title heading:\n{md}");
    assert!(md.contains(&format!("- **Session:** `{id}`")), "{id}");
    let mut texts = 0;
    for message in doc["messages"].as_array().unwrap() {
        if message["info"]["summary"] == true {
            assert!(
                md.contains("### Assistant (compaction summary)"),
                "{id}: the summary message is not marked:\n{md}"
            );
        }
        // The files a turn changed, when OpenCode recorded them (see `without_turn_diffs`).
        let diffs = message["info"]["summary"]["diffs"].as_array();
        for diff in diffs.into_iter().flatten() {
            let name = diff["file"].as_str().unwrap().rsplit('/').next().unwrap();
            let counts = format!("+{} −{}", diff["additions"], diff["deletions"]);
            assert!(
                md.contains("Files changed in this turn:")
                    && md.lines().any(|l| {
                        l.starts_with("- `") && l.contains(name) && l.contains(&counts)
                    }),
                "{id}: changed file {name} {counts} missing:\n{md}"
            );
        }
        for part in message["parts"].as_array().unwrap() {
            match part["type"].as_str().unwrap() {
                kind @ ("text" | "reasoning") => {
                    let text = part["text"].as_str().unwrap();
                    assert!(
                        md.contains(text),
                        "{id}: part {} is not verbatim in the transcript:\n{text}\n---\n{md}",
                        part["id"]
                    );
                    if kind == "reasoning" {
                        assert!(md.contains("<summary>Reasoning</summary>"), "{id}");
                    }
                    texts += 1;
                }
                "tool" => {
                    let tool = part["tool"].as_str().unwrap();
                    assert!(
                        md.contains(&format!("**Tool** `{tool}`")),
                        "{id}: tool {tool} missing"
                    );
                }
                "file" => {
                    let name = part["filename"].as_str().unwrap();
                    assert!(md.contains(name), "{id}: file {name} missing");
                }
                "patch" => assert!(md.contains("**Patch**"), "{id}: patch part missing"),
                "subtask" => {
                    let agent = part["agent"].as_str().unwrap();
                    assert!(
                        md.contains(&format!("**Subtask** for agent `{agent}`")),
                        "{id}: subtask for {agent} missing:\n{md}"
                    );
                    for key in ["description", "prompt"] {
                        let value = part[key].as_str().unwrap();
                        assert!(md.contains(value), "{id}: subtask {key} {value:?} missing");
                    }
                }
                "compaction" => assert!(
                    md.contains("**Compaction:** the conversation so far was summarized"),
                    "{id}: compaction part missing:\n{md}"
                ),
                _ => {}
            }
        }
    }
    assert!(texts > 0, "{id}: the fixture has no text parts");
    assert!(
        !md.contains(";base64,"),
        "{id}: a data: URL was written out"
    );
    assert_eq!(md, export_markdown(env, id), "{id}: not deterministic");
    md
}

/// OpenCode 1.1.65 reads a prompt's attachments concurrently, so which of the synthetic "Called
/// the Read tool" parts gets the smaller part ID (their order) varies from run to run: puts
/// the two of the legacy attachment fixture in one order.
fn attachment_reads_in_order(md: &str) -> String {
    let read = |file: &str| {
        format!(
            "<details>\n<summary>Added by OpenCode</summary>\n\n```text\nCalled the Read tool \
             with the following input: {{\"filePath\":\"$FIXTURES/legacy/repo/docs/{file}\"}}\n\
             ```\n\n</details>\n\n"
        )
    };
    let (text, image) = (read("attach.txt"), read("red.png"));
    md.replace(&format!("{image}{text}"), &format!("{text}{image}"))
}

/// `md` without its "**Patch** (snapshot …) changed:" lists. OpenCode 1.1.65 writes a step's
/// patch part once its worktree snapshot is taken, and under load `opencode run` can exit
/// before that; so the legacy snapshot leaves them out, and [`check_session`] checks that
/// every patch part the export document has is in the transcript.
fn without_patches(md: &str) -> String {
    let mut out = Vec::new();
    let mut lines = md.lines().peekable();
    while let Some(line) = lines.next() {
        if !(line.starts_with("**Patch** (snapshot `") && line.ends_with("changed:")) {
            out.push(line);
            continue;
        }
        lines.next_if_eq(&"");
        while lines.next_if(|l| l.starts_with("- ")).is_some() {}
        lines.next_if_eq(&"");
    }
    let mut text = out.join("\n");
    if md.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// `md` without its "Files changed in this turn" lists. OpenCode writes a turn's changed
/// files (`summary.diffs` of its user message) in the background once the turn is over, and
/// whether `opencode run` lived long enough to finish that differs from one generation of a
/// fixture to the next; so the snapshots leave these lists out, and [`check_session`] checks
/// each one that is there against the export document.
fn without_turn_diffs(md: &str) -> String {
    let mut out = Vec::new();
    let mut lines = md.lines().peekable();
    while let Some(line) = lines.next() {
        if line != "Files changed in this turn:" {
            out.push(line);
            continue;
        }
        lines.next_if_eq(&"");
        while lines.next_if(|l| l.starts_with("- ")).is_some() {}
        lines.next_if_eq(&"");
    }
    let mut text = out.join("\n");
    if md.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// [`check_session`] for each of `ids`, in order; returns the transcripts by session ID.
fn check_sessions<'a>(
    env: &TestEnv,
    ids: impl IntoIterator<Item = &'a str>,
) -> HashMap<&'a str, String> {
    ids.into_iter()
        .map(|id| (id, check_session(env, id)))
        .collect()
}

fn assert_todos(md: &str, todos: &[String]) {
    assert!(!todos.is_empty(), "the fixture has no todos");
    assert!(md.contains("## Todos"));
    for todo in todos {
        assert!(md.contains(todo.as_str()), "todo {todo} missing:\n{md}");
    }
}

/// The transcripts of `parent` and `child` (taken from `transcripts`) link to each other.
fn assert_links(transcripts: &HashMap<&str, String>, parent: &str, child: &str) {
    let (parent_md, child_md) = (&transcripts[parent], &transcripts[child]);
    assert!(
        parent_md.contains(&format!("]({child}.md) (`{child}`)")),
        "no link from the task parent to {child}:\n{parent_md}"
    );
    assert!(parent_md.contains("## Subagent sessions"));
    assert!(
        parent_md.contains("Subagent session: ["),
        "the task call does not link its child"
    );
    assert!(
        child_md.contains("- **Parent:** [") && child_md.contains(&format!("]({parent}.md)")),
        "no link from the child to {parent}:\n{child_md}"
    );
}

#[test]
fn markdown_export_of_every_rich_session_is_complete() {
    let store = rich_store();
    let env = store.copy_env();
    let transcripts = check_sessions(&env, store.sessions());
    let md = |id: &str| &transcripts[id];

    let db = env.opencode.as_ref().unwrap().open_db();
    let mut stmt = db
        .prepare("SELECT content FROM todo WHERE session_id = ?1 ORDER BY position")
        .unwrap();
    let todos: Vec<String> = stmt
        .query_map([&store.tools], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_todos(md(&store.tools), &todos);
    assert!(md(&store.tools).contains("- [ ] ship it 🚀 *(in progress, low priority)*"));

    // The 96 KB bash output is cut to a bounded size, with a note.
    let tools = md(&store.tools);
    let json_len = env
        .run(&["export", &store.tools])
        .success()
        .stdout_bytes()
        .len();
    assert!(json_len > 96_000, "fixture: the export is {json_len} bytes");
    assert!(tools.len() < 30_000, "transcript is {} bytes", tools.len());
    assert!(tools.contains("characters not shown"));
    for tool in ["write", "edit", "bash", "todowrite"] {
        assert!(tools.contains(&format!("**Tool** `{tool}`")), "{tool}");
    }

    let attachment = md(&store.attachment);
    assert!(attachment.contains("**File** `attach.txt` · text/plain"));
    assert!(attachment.contains("**File** `red.png` · image/png · inline data, 69 bytes"));

    assert_links(&transcripts, &store.task_parent, &store.task_child);

    // The whole transcripts, as users read them.
    let scrub = Scrub::of(store);
    insta::assert_snapshot!(scrub.apply(without_turn_diffs(md(&store.tools))), @r##"
    # Tools ✍️ session

    - **Session:** `[SESSION:tools]`
    - **Directory:** `$FIXTURES/rich/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.18.34
    - **Agent:** `build`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 960 input, 136 output, 0 reasoning, 0 cache read, 0 cache write

    ## Todos

    - [x] write the notes ✍️ *(high priority)*
    - [x] review 校对 *(medium priority)*
    - [ ] ship it 🚀 *(in progress, low priority)*

    ## Conversation

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    "Tidy the notes 🎉 héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    {{step:eyJ0b29sIjoid3JpdGUiLCJhcmdzIjp7ImZpbGVQYXRoIjoibm90ZXMubWQiLCJjb250ZW50IjoiIyBOb3Rlc1xuXG5ow6lsbG8gd8O2cmxkIPCfjokg8J-RqeKAjfCfkrsg8J-HuvCfh6Yg8J-RjfCfj70g4oCUIOa8ouWtl-OBi-OBquS6pOOBmOOCiuaWhyDigJQg5L-u5aSN5paH5Lu2IOKAlCBjYWZlzIEgbsyDIOKAlCDXqdec15XXnVxuIn19}} {{step:eyJ0b29sIjoiZWRpdCIsImFyZ3MiOnsiZmlsZVBhdGgiOiJub3Rlcy5tZCIsIm9sZFN0cmluZyI6IiMgTm90ZXMiLCJuZXdTdHJpbmciOiIjIE5vdGVzIOKcje-4jyJ9fQ}} {{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImVjaG8gJ2Jhc2ggc2F5cyDwn5CaIOOBk-OCk-OBq-OBoeOBryciLCJkZXNjcmlwdGlvbiI6ImdyZWV0IGluIHVuaWNvZGUifX0}} {{step:eyJ0b29sIjoidG9kb3dyaXRlIiwiYXJncyI6eyJ0b2RvcyI6W3siaWQiOiIxIiwiY29udGVudCI6IndyaXRlIHRoZSBub3RlcyDinI3vuI8iLCJzdGF0dXMiOiJjb21wbGV0ZWQiLCJwcmlvcml0eSI6ImhpZ2gifSx7ImlkIjoiMiIsImNvbnRlbnQiOiJyZXZpZXcg5qCh5a-5Iiwic3RhdHVzIjoiaW5fcHJvZ3Jlc3MiLCJwcmlvcml0eSI6Im1lZGl1bSJ9LHsiaWQiOiIzIiwiY29udGVudCI6InNoaXAgaXQg8J-agCIsInN0YXR1cyI6InBlbmRpbmciLCJwcmlvcml0eSI6ImxvdyJ9XX19}} {{reply:QWxsIGRvbmUg4pyFIGjDqWxsbyB3w7ZybGQg8J-OiSDwn5Gp4oCN8J-SuyDwn4e68J-HpiDwn5GN8J-PvSDigJQg5ryi5a2X44GL44Gq5Lqk44GY44KK5paHIOKAlCDkv67lpI3mlofku7Yg4oCUIGNhZmXMgSBuzIMg4oCUINep15zXlded}}"

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `write` · notes.md · completed · [DURATION]

    ```json
    {
      "filePath": "notes.md",
      "content": "# Notes\n\nhéllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום\n"
    }
    ```

    Output:

    ```text
    Wrote file successfully.
    ```

    **Patch** (snapshot `904ab2e971`) changed:

    - `notes.md`

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `edit` · notes.md · completed · [DURATION]

    ```diff
    Index: $FIXTURES/rich/repo/notes.md
    ===================================================================
    --- $FIXTURES/rich/repo/notes.md
    +++ $FIXTURES/rich/repo/notes.md
    @@ -1,3 +1,3 @@
    -# Notes
    +# Notes ✍️
     
     héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    ```

    Output:

    ```text
    Edit applied successfully.
    ```

    **Patch** (snapshot `4253e39d33`) changed:

    - `notes.md`

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `bash` · greet in unicode · completed · [DURATION]

    ```sh
    echo 'bash says 🐚 こんにちは'
    ```

    Output:

    ```text
    bash says 🐚 こんにちは
    ```

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `todowrite` · 2 todos · completed · [DURATION]

    ```json
    {
      "todos": [
        {
          "id": "1",
          "content": "write the notes ✍️",
          "status": "completed",
          "priority": "high"
        },
        {
          "id": "2",
          "content": "review 校对",
          "status": "in_progress",
          "priority": "medium"
        },
        {
          "id": "3",
          "content": "ship it 🚀",
          "status": "pending",
          "priority": "low"
        }
      ]
    }
    ```

    <details>
    <summary>Output (17 lines)</summary>

    ```text
    [
      {
        "content": "write the notes ✍️",
        "status": "completed",
        "priority": "high"
      },
      {
        "content": "review 校对",
        "status": "in_progress",
        "priority": "medium"
      },
      {
        "content": "ship it 🚀",
        "status": "pending",
        "priority": "low"
      }
    ]
    ```

    </details>

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    All done ✅ héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    "Now print the log 📜
    {{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImZvciBpIGluICQoc2VxIDEgMTUwMCk7IGRvIHByaW50ZiAnbGluZSAlMDRkIMO8bsOvY8O4ZMOpIOaXpeacrOiqniBvdXRwdXQgLi4uLi4uLi4uLi4uLi4uLi4uLi4uLi4uXFxuJyAkaTsgZG9uZTsgc2xlZXAgMiIsImRlc2NyaXB0aW9uIjoicHJpbnQgYSBsb25nIGxvZyJ9fQ}} {{step:eyJ0b29sIjoidG9kb3dyaXRlIiwiYXJncyI6eyJ0b2RvcyI6W3siaWQiOiIxIiwiY29udGVudCI6IndyaXRlIHRoZSBub3RlcyDinI3vuI8iLCJzdGF0dXMiOiJjb21wbGV0ZWQiLCJwcmlvcml0eSI6ImhpZ2gifSx7ImlkIjoiMiIsImNvbnRlbnQiOiJyZXZpZXcg5qCh5a-5Iiwic3RhdHVzIjoiY29tcGxldGVkIiwicHJpb3JpdHkiOiJtZWRpdW0ifSx7ImlkIjoiMyIsImNvbnRlbnQiOiJzaGlwIGl0IPCfmoAiLCJzdGF0dXMiOiJpbl9wcm9ncmVzcyIsInByaW9yaXR5IjoibG93In1dfX0}} {{reply:VGhlIGxvZyBpcyBsb25nIPCfk5w}}"

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `bash` · print a long log · completed · [DURATION]

    ```sh
    for i in $(seq 1 1500); do printf 'line %04d ünïcødé 日本語 output ........................\n' $i; done; sleep 2
    ```

    <details>
    <summary>Output (804 lines)</summary>

    ```text
    ...output truncated...

    Full output saved to: $FIXTURES/rich/opencode/data/opencode/tool-output/[TOOL_OUTPUT_ID]

    line 0701 ünïcødé 日本語 output ........................
    [… more lines of this output]
    ```

    *… [COUNT] of [COUNT] characters not shown.*

    </details>

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `todowrite` · 1 todos · completed · [DURATION]

    ```json
    {
      "todos": [
        {
          "id": "1",
          "content": "write the notes ✍️",
          "status": "completed",
          "priority": "high"
        },
        {
          "id": "2",
          "content": "review 校对",
          "status": "completed",
          "priority": "medium"
        },
        {
          "id": "3",
          "content": "ship it 🚀",
          "status": "in_progress",
          "priority": "low"
        }
      ]
    }
    ```

    <details>
    <summary>Output (17 lines)</summary>

    ```text
    [
      {
        "content": "write the notes ✍️",
        "status": "completed",
        "priority": "high"
      },
      {
        "content": "review 校对",
        "status": "completed",
        "priority": "medium"
      },
      {
        "content": "ship it 🚀",
        "status": "in_progress",
        "priority": "low"
      }
    ]
    ```

    </details>

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    The log is long 📜
    "##);
    insta::assert_snapshot!(scrub.apply(without_turn_diffs(md(&store.task_parent))), @r#"
    # Task parent 🤝

    - **Session:** `[SESSION:task_parent]`
    - **Directory:** `$FIXTURES/rich/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.18.34
    - **Agent:** `build`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 240 input, 34 output, 0 reasoning, 0 cache read, 0 cache write

    ## Subagent sessions

    - [delegate 委任 (@general subagent)]([SESSION:task_child].md) (`[SESSION:task_child]`)

    ## Conversation

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    "Delegate this 🤝
    {{step:eyJ0b29sIjoidGFzayIsImFyZ3MiOnsiZGVzY3JpcHRpb24iOiJkZWxlZ2F0ZSDlp5Tku7siLCJwcm9tcHQiOiJDaGlsZCB0YXNrIPCfp5Jcbnt7c3RlcDpleUowYjI5c0lqb2lZbUZ6YUNJc0ltRnlaM01pT25zaVkyOXRiV0Z1WkNJNkltVmphRzhnSjJaeWIyMGdkR2hsSUdOb2FXeGtJUENma2JZbklpd2laR1Z6WTNKcGNIUnBiMjRpT2lKamFHbHNaQ0JsWTJodkluMTl9fSB7e3JlcGx5OlkyaHBiR1FnWkc5dVpTRGluSlFnNWEyUX19Iiwic3ViYWdlbnRfdHlwZSI6ImdlbmVyYWwifX0}} {{reply:VGhlIGNoaWxkIGZpbmlzaGVkIPCfkY0}}"

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `task` · delegate 委任 · completed · [DURATION]

    ```json
    {
      "description": "delegate 委任",
      "prompt": "Child task 🧒\n{{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImVjaG8gJ2Zyb20gdGhlIGNoaWxkIPCfkbYnIiwiZGVzY3JpcHRpb24iOiJjaGlsZCBlY2hvIn19}} {{reply:Y2hpbGQgZG9uZSDinJQg5a2Q}}",
      "subagent_type": "general"
    }
    ```

    Subagent session: [delegate 委任 (@general subagent)]([SESSION:task_child].md) (`[SESSION:task_child]`)

    Output:

    ```text
    <task id="[SESSION:task_child]" state="completed">
    <task_result>
    child done ✔ 子
    </task_result>
    </task>
    ```

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    The child finished 👍
    "#);
    insta::assert_snapshot!(scrub.apply(without_turn_diffs(md(&store.task_child))), @"
    # delegate 委任 (@general subagent)

    - **Session:** `[SESSION:task_child]`
    - **Parent:** [Task parent 🤝]([SESSION:task_parent].md) (`[SESSION:task_parent]`)
    - **Directory:** `$FIXTURES/rich/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.18.34
    - **Agent:** `general`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 240 input, 34 output, 0 reasoning, 0 cache read, 0 cache write

    ## Conversation

    ### User

    <sub>[TIME] · agent `general` · model `mock/mock-1`</sub>

    Child task 🧒
    {{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImVjaG8gJ2Zyb20gdGhlIGNoaWxkIPCfkbYnIiwiZGVzY3JpcHRpb24iOiJjaGlsZCBlY2hvIn19}} {{reply:Y2hpbGQgZG9uZSDinJQg5a2Q}}

    ### Assistant

    <sub>[TIME] · agent `general` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `bash` · child echo · completed · [DURATION]

    ```sh
    echo 'from the child 👶'
    ```

    Output:

    ```text
    from the child 👶
    ```

    ### Assistant

    <sub>[TIME] · agent `general` · model `mock/mock-1` · 137 tokens</sub>

    child done ✔ 子
    ");
    insta::assert_snapshot!(scrub.apply(without_turn_diffs(md(&store.attachment))), @r#"
    # Attachment 📎

    - **Session:** `[SESSION:attachment]`
    - **Directory:** `$FIXTURES/rich/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.18.34
    - **Agent:** `build`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 120 input, 17 output, 0 reasoning, 0 cache read, 0 cache write

    ## Conversation

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    <details>
    <summary>Added by OpenCode</summary>

    ```text
    Called the Read tool with the following input: {"filePath":"$FIXTURES/rich/repo/docs/attach.txt"}
    ```

    </details>

    <details>
    <summary>Added by OpenCode</summary>

    ```text
    <path>$FIXTURES/rich/repo/docs/attach.txt</path>
    <type>file</type>
    <content>
    1: Attached notes 📎
    2: héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום

    (End of file - total 2 lines)
    </content>
    ```

    </details>

    **File** `attach.txt` · text/plain · `file://$FIXTURES/rich/repo/docs/attach.txt`

    <details>
    <summary>Added by OpenCode</summary>

    ```text
    Called the Read tool with the following input: {"filePath":"$FIXTURES/rich/repo/docs/red.png"}
    ```

    </details>

    <details>
    <summary>Added by OpenCode</summary>

    ```text
    Image read successfully
    ```

    </details>

    **File** `red.png` · image/png · inline data, 69 bytes

    "Summarize the attached file 📎
    {{reply:VGhlIGF0dGFjaG1lbnQgc2F5cyBoZWxsbyDwn5OO}}"

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    The attachment says hello 📎
    "#);
    insta::assert_snapshot!(scrub.apply(without_turn_diffs(md(&store.plain))), @r#"
    # Mock title

    - **Session:** `[SESSION:plain]`
    - **Directory:** `$FIXTURES/rich/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.18.34
    - **Agent:** `build`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 120 input, 17 output, 0 reasoning, 0 cache read, 0 cache write

    ## Conversation

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    "Just say hi 👋 héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום"

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    Done. All finished.
    "#);
}

/// Reasoning, a subtask (its agent, description, command and prompt, and the child it ran
/// in), a compaction marker with its summary, text and tool calls: every part type of
/// [`parts_store`], as the real OpenCode wrote them.
#[test]
fn markdown_export_renders_reasoning_subtask_and_compaction() {
    let store = parts_store();
    let env = store.copy_env();
    let transcripts = check_sessions(&env, store.sessions());
    let md = |id: &str| &transcripts[id];

    let mut types = BTreeSet::new();
    for id in store.sessions() {
        for message in export_json(&env, id)["messages"].as_array().unwrap() {
            for part in message["parts"].as_array().unwrap() {
                types.insert(part["type"].as_str().unwrap().to_owned());
            }
        }
    }
    for kind in [
        "text",
        "reasoning",
        "tool",
        "patch",
        "subtask",
        "compaction",
    ] {
        assert!(
            types.contains(kind),
            "the fixture has no {kind} part: {types:?}"
        );
    }

    let compacted = md(&store.compacted);
    assert_eq!(
        compacted
            .matches("<details>\n<summary>Reasoning</summary>")
            .count(),
        2,
        "{compacted}"
    );
    // The marker comes before the summary, and the conversation goes on after both.
    let marker = compacted.find("**Compaction:**").unwrap();
    let summary = compacted.find("Summary: plan.md holds the plan").unwrap();
    let after = compacted.find("Nothing left to do ✅").unwrap();
    assert!(marker < summary && summary < after, "{compacted}");
    assert!(compacted.contains("summarized on request"));
    assert!(compacted.contains("**Tool** `write` · plan.md · completed"));

    let parent = md(&store.subtask_parent);
    assert!(
        parent.contains(&format!(
            "**Subtask** for agent `general` · model `mock/mock-1` · Review the notes in a \
             subagent 🔍 · command `{SUBTASK_COMMAND}`"
        )),
        "{parent}"
    );
    assert!(parent.contains("**Tool** `task`"));
    assert_links(&transcripts, &store.subtask_parent, &store.subtask_child);
    assert!(md(&store.subtask_child).contains("**Tool** `bash` · read the plan"));

    // The whole transcripts, as users read them.
    let scrub = Scrub::of(store);
    insta::assert_snapshot!(scrub.apply(without_turn_diffs(md(&store.compacted))), @r##"
    # Compacted 🗜️

    - **Session:** `[SESSION:compacted]`
    - **Directory:** `$FIXTURES/parts/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.18.34
    - **Agent:** `build`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 480 input, 68 output, 0 reasoning, 0 cache read, 0 cache write

    ## Conversation

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    "Think about the plan 🤔
    {{step:eyJ0b29sIjoid3JpdGUiLCJhcmdzIjp7ImZpbGVQYXRoIjoicGxhbi5tZCIsImNvbnRlbnQiOiIjIFBsYW4g8J-Xuu-4j1xuXG5ow6lsbG8gd8O2cmxkIPCfjokg8J-RqeKAjfCfkrsg8J-HuvCfh6Yg8J-RjfCfj70g4oCUIOa8ouWtl-OBi-OBquS6pOOBmOOCiuaWhyDigJQg5L-u5aSN5paH5Lu2IOKAlCBjYWZlzIEgbsyDIOKAlCDXqdec15XXnVxuIn19}} {{think:eyJyZWFzb25pbmciOiJUaGUgdXNlciB3YW50cyBhIHBsYW4uIOiAg-iZkSDigJQgd3JpdGUgaXQgdG8gcGxhbi5tZCBmaXJzdCwgdGhlbiByZXBvcnQuIPCfp6AiLCJyZXBseSI6IlRoZSBwbGFuIGlzIHdyaXR0ZW4g8J-Xuu-4jyJ9}} {{summary:U3VtbWFyeTogcGxhbi5tZCBob2xkcyB0aGUgcGxhbiDwn5e677iPOyBub3RoaW5nIGVsc2UgaXMgcGVuZGluZy4g6KaB57SE}}"

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `write` · plan.md · completed · [DURATION]

    ```json
    {
      "filePath": "plan.md",
      "content": "# Plan 🗺️\n\nhéllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום\n"
    }
    ```

    Output:

    ```text
    Wrote file successfully.
    ```

    **Patch** (snapshot `963078362b`) changed:

    - `plan.md`

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    <details>
    <summary>Reasoning</summary>

    The user wants a plan. 考虑 — write it to plan.md first, then report. 🧠

    </details>

    The plan is written 🗺️

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    **Compaction:** the conversation so far was summarized on request.

    ### Assistant (compaction summary)

    <sub>[TIME] · agent `compaction` · model `mock/mock-1` · 137 tokens</sub>

    Summary: plan.md holds the plan 🗺️; nothing else is pending. 要約

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    "And after the summary? 🔁
    {{think:eyJyZWFzb25pbmciOiJUaGUgc3VtbWFyeSBzYXlzIHRoZSBwbGFuIGlzIGRvbmUuIPCfp6AiLCJyZXBseSI6Ik5vdGhpbmcgbGVmdCB0byBkbyDinIUifQ}}"

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    <details>
    <summary>Reasoning</summary>

    The summary says the plan is done. 🧠

    </details>

    Nothing left to do ✅
    "##);
    insta::assert_snapshot!(scrub.apply(without_turn_diffs(md(&store.subtask_parent))), @r#"
    # Subtask 🔍

    - **Session:** `[SESSION:subtask_parent]`
    - **Directory:** `$FIXTURES/parts/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.18.34
    - **Agent:** `build`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 120 input, 17 output, 0 reasoning, 0 cache read, 0 cache write

    ## Subagent sessions

    - [Review the notes in a subagent 🔍 (@general subagent)]([SESSION:subtask_child].md) (`[SESSION:subtask_child]`)

    ## Conversation

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    **Subtask** for agent `general` · model `mock/mock-1` · Review the notes in a subagent 🔍 · command `review-notes`

    ```text
    Review the notes 🔍 "{{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImNhdCBwbGFuLm1kIiwiZGVzY3JpcHRpb24iOiJyZWFkIHRoZSBwbGFuIn19}} {{think:eyJyZWFzb25pbmciOiJUaGUgcGxhbiByZWFkcyBmaW5lLiDwn5GAIiwicmVwbHkiOiJUaGUgbm90ZXMgbG9vayBnb29kIPCfkY0g6Imv44GEIn0}}"
    ```

    ### Assistant

    <sub>[TIME] · agent `general` · model `mock/mock-1`</sub>

    **Tool** `task` · Review the notes in a subagent 🔍 · completed · [DURATION]

    ```json
    {
      "prompt": "Review the notes 🔍 \"{{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImNhdCBwbGFuLm1kIiwiZGVzY3JpcHRpb24iOiJyZWFkIHRoZSBwbGFuIn19}} {{think:eyJyZWFzb25pbmciOiJUaGUgcGxhbiByZWFkcyBmaW5lLiDwn5GAIiwicmVwbHkiOiJUaGUgbm90ZXMgbG9vayBnb29kIPCfkY0g6Imv44GEIn0}}\"",
      "description": "Review the notes in a subagent 🔍",
      "subagent_type": "general",
      "command": "review-notes"
    }
    ```

    Subagent session: [Review the notes in a subagent 🔍 (@general subagent)]([SESSION:subtask_child].md) (`[SESSION:subtask_child]`)

    Output:

    ```text
    <task id="[SESSION:subtask_child]" state="completed">
    <task_result>
    The notes look good 👍 良い
    </task_result>
    </task>
    ```

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    <details>
    <summary>Added by OpenCode</summary>

    ```text
    Summarize the task tool output above and continue with your task.
    ```

    </details>

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    Done. All finished.
    "#);
    insta::assert_snapshot!(scrub.apply(without_turn_diffs(md(&store.subtask_child))), @r#"
    # Review the notes in a subagent 🔍 (@general subagent)

    - **Session:** `[SESSION:subtask_child]`
    - **Parent:** [Subtask 🔍]([SESSION:subtask_parent].md) (`[SESSION:subtask_parent]`)
    - **Directory:** `$FIXTURES/parts/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.18.34
    - **Agent:** `general`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 240 input, 34 output, 0 reasoning, 0 cache read, 0 cache write

    ## Conversation

    ### User

    <sub>[TIME] · agent `general` · model `mock/mock-1`</sub>

    Review the notes 🔍 "{{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImNhdCBwbGFuLm1kIiwiZGVzY3JpcHRpb24iOiJyZWFkIHRoZSBwbGFuIn19}} {{think:eyJyZWFzb25pbmciOiJUaGUgcGxhbiByZWFkcyBmaW5lLiDwn5GAIiwicmVwbHkiOiJUaGUgbm90ZXMgbG9vayBnb29kIPCfkY0g6Imv44GEIn0}}"

    ### Assistant

    <sub>[TIME] · agent `general` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `bash` · read the plan · completed · [DURATION]

    ```sh
    cat plan.md
    ```

    Output:

    ```text
    # Plan 🗺️

    héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    ```

    ### Assistant

    <sub>[TIME] · agent `general` · model `mock/mock-1` · 137 tokens</sub>

    <details>
    <summary>Reasoning</summary>

    The plan reads fine. 👀

    </details>

    The notes look good 👍 良い
    "#);
}

#[test]
fn markdown_export_of_every_legacy_session_is_complete() {
    let store = legacy_store();
    let env = store.copy_env();
    let transcripts = check_sessions(&env, store.sessions());
    let md = |id: &str| &transcripts[id];

    let oc = env.opencode.as_ref().unwrap();
    let file = oc
        .storage_dir()
        .join("todo")
        .join(format!("{}.json", store.tools));
    let todos: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let todos: Vec<String> = todos
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["content"].as_str().unwrap().to_owned())
        .collect();
    assert_todos(md(&store.tools), &todos);
    // 1.1.65 sessions carry no model or token totals: they come from the messages.
    assert!(md(&store.tools).contains("- **Model:** `mock/mock-1`"));
    assert!(md(&store.attachment).contains("red.png"));
    assert_links(&transcripts, &store.task_parent, &store.task_child);

    // The whole transcripts, as users read them.
    let scrub = Scrub::of(store);
    insta::assert_snapshot!(scrub.apply(without_patches(&without_turn_diffs(md(&store.tools)))), @r##"
    # Legacy tools

    - **Session:** `[SESSION:tools]`
    - **Directory:** `$FIXTURES/legacy/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.1.65
    - **Agent:** `build`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 840 input, 119 output, 0 reasoning, 0 cache read, 0 cache write
    - **Changes:** 1 files, +1 −1

    ## Todos

    - [ ] first 一 *(in progress, high priority)*
    - [ ] second 二 *(low priority)*

    ## Changed files

    - `notes.md` +1 −1 *(modified)*

    ## Conversation

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    "Legacy tools 🎉
    {{step:eyJ0b29sIjoid3JpdGUiLCJhcmdzIjp7ImZpbGVQYXRoIjoibm90ZXMubWQiLCJjb250ZW50IjoiIyBOb3Rlc1xuXG5ow6lsbG8gd8O2cmxkIPCfjokg8J-RqeKAjfCfkrsg8J-HuvCfh6Yg8J-RjfCfj70g4oCUIOa8ouWtl-OBi-OBquS6pOOBmOOCiuaWhyDigJQg5L-u5aSN5paH5Lu2IOKAlCBjYWZlzIEgbsyDIOKAlCDXqdec15XXnVxuIn19}} {{step:eyJ0b29sIjoiZWRpdCIsImFyZ3MiOnsiZmlsZVBhdGgiOiJub3Rlcy5tZCIsIm9sZFN0cmluZyI6IiMgTm90ZXMiLCJuZXdTdHJpbmciOiIjIE5vdGVzIOKcje-4jyJ9fQ}} {{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImVjaG8gJ2Jhc2ggc2F5cyDwn5CaJyIsImRlc2NyaXB0aW9uIjoiZ3JlZXQifX0}} {{step:eyJ0b29sIjoidG9kb3dyaXRlIiwiYXJncyI6eyJ0b2RvcyI6W3siaWQiOiIxIiwiY29udGVudCI6ImZpcnN0IOS4gCIsInN0YXR1cyI6ImluX3Byb2dyZXNzIiwicHJpb3JpdHkiOiJoaWdoIn0seyJpZCI6IjIiLCJjb250ZW50Ijoic2Vjb25kIOS6jCIsInN0YXR1cyI6InBlbmRpbmciLCJwcmlvcml0eSI6ImxvdyJ9XX19}} {{reply:RG9uZSDinIUgaMOpbGxvIHfDtnJsZCDwn46JIPCfkanigI3wn5K7IPCfh7rwn4emIPCfkY3wn4-9IOKAlCDmvKLlrZfjgYvjgarkuqTjgZjjgormlocg4oCUIOS_ruWkjeaWh-S7tiDigJQgY2FmZcyBIG7MgyDigJQg16nXnNeV150}}"

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `write` · notes.md · completed · [DURATION]

    ```json
    {
      "filePath": "notes.md",
      "content": "# Notes\n\nhéllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום\n"
    }
    ```

    Output:

    ```text
    Wrote file successfully.
    ```

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `edit` · notes.md · completed · [DURATION]

    ```diff
    Index: $FIXTURES/legacy/repo/notes.md
    ===================================================================
    --- $FIXTURES/legacy/repo/notes.md
    +++ $FIXTURES/legacy/repo/notes.md
    @@ -1,3 +1,3 @@
    -# Notes
    +# Notes ✍️
     
     héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    ```

    Output:

    ```text
    Edit applied successfully.
    ```

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `bash` · greet · completed · [DURATION]

    ```sh
    echo 'bash says 🐚'
    ```

    Output:

    ```text
    bash says 🐚
    ```

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `todowrite` · 2 todos · completed · [DURATION]

    ```json
    {
      "todos": [
        {
          "id": "1",
          "content": "first 一",
          "status": "in_progress",
          "priority": "high"
        },
        {
          "id": "2",
          "content": "second 二",
          "status": "pending",
          "priority": "low"
        }
      ]
    }
    ```

    <details>
    <summary>Output (14 lines)</summary>

    ```text
    [
      {
        "id": "1",
        "content": "first 一",
        "status": "in_progress",
        "priority": "high"
      },
      {
        "id": "2",
        "content": "second 二",
        "status": "pending",
        "priority": "low"
      }
    ]
    ```

    </details>

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    Done ✅ héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    "More 📜
    {{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImZvciBpIGluICQoc2VxIDEgMTUwMCk7IGRvIHByaW50ZiAnbGluZSAlMDRkIMO8bsOvY8O4ZMOpIOaXpeacrOiqniBvdXRwdXQgLi4uLi4uLi4uLi4uLi4uLi4uLi4uLi4uXFxuJyAkaTsgZG9uZTsgc2xlZXAgMiIsImRlc2NyaXB0aW9uIjoicHJpbnQgYSBsb25nIGxvZyJ9fQ}} {{reply:TG9uZyBsb2cg8J-TnA}}"

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `bash` · print a long log · completed · [DURATION]

    ```sh
    for i in $(seq 1 1500); do printf 'line %04d ünïcødé 日本語 output ........................\n' $i; done; sleep 2
    ```

    <details>
    <summary>Output (805 lines)</summary>

    ```text
    line 0001 ünïcødé 日本語 output ........................
    [… more lines of this output]
    ```

    *… [COUNT] of [COUNT] characters not shown.*

    </details>

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    Long log 📜
    "##);
    insta::assert_snapshot!(scrub.apply(without_turn_diffs(md(&store.task_parent))), @r#"
    # Legacy task

    - **Session:** `[SESSION:task_parent]`
    - **Directory:** `$FIXTURES/legacy/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.1.65
    - **Agent:** `build`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 240 input, 34 output, 0 reasoning, 0 cache read, 0 cache write

    ## Subagent sessions

    - [delegate (@general subagent)]([SESSION:task_child].md) (`[SESSION:task_child]`)

    ## Conversation

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    "Delegate 🤝
    {{step:eyJ0b29sIjoidGFzayIsImFyZ3MiOnsiZGVzY3JpcHRpb24iOiJkZWxlZ2F0ZSIsInByb21wdCI6IkNoaWxkIHRhc2tcbnt7c3RlcDpleUowYjI5c0lqb2lZbUZ6YUNJc0ltRnlaM01pT25zaVkyOXRiV0Z1WkNJNkltVmphRzhnWTJocGJHUWlMQ0prWlhOamNtbHdkR2x2YmlJNkltTm9hV3hrSUdWamFHOGlmWDB9fSB7e3JlcGx5OlkyaHBiR1FnWkc5dVpRfX0iLCJzdWJhZ2VudF90eXBlIjoiZ2VuZXJhbCJ9fQ}} {{reply:VGhlIGNoaWxkIGZpbmlzaGVk}}"

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `task` · delegate · completed · [DURATION]

    ```json
    {
      "description": "delegate",
      "prompt": "Child task\n{{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImVjaG8gY2hpbGQiLCJkZXNjcmlwdGlvbiI6ImNoaWxkIGVjaG8ifX0}} {{reply:Y2hpbGQgZG9uZQ}}",
      "subagent_type": "general"
    }
    ```

    Subagent session: [delegate (@general subagent)]([SESSION:task_child].md) (`[SESSION:task_child]`)

    Output:

    ```text
    task_id: [SESSION:task_child] (for resuming to continue this task if needed)

    <task_result>
    child done
    </task_result>
    ```

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    The child finished
    "#);
    insta::assert_snapshot!(scrub.apply(without_turn_diffs(md(&store.task_child))), @"
    # delegate (@general subagent)

    - **Session:** `[SESSION:task_child]`
    - **Parent:** [Legacy task]([SESSION:task_parent].md) (`[SESSION:task_parent]`)
    - **Directory:** `$FIXTURES/legacy/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.1.65
    - **Agent:** `general`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 240 input, 34 output, 0 reasoning, 0 cache read, 0 cache write

    ## Conversation

    ### User

    <sub>[TIME] · agent `general` · model `mock/mock-1`</sub>

    Child task
    {{step:eyJ0b29sIjoiYmFzaCIsImFyZ3MiOnsiY29tbWFuZCI6ImVjaG8gY2hpbGQiLCJkZXNjcmlwdGlvbiI6ImNoaWxkIGVjaG8ifX0}} {{reply:Y2hpbGQgZG9uZQ}}

    ### Assistant

    <sub>[TIME] · agent `general` · model `mock/mock-1` · 137 tokens</sub>

    **Tool** `bash` · child echo · completed · [DURATION]

    ```sh
    echo child
    ```

    Output:

    ```text
    child
    ```

    ### Assistant

    <sub>[TIME] · agent `general` · model `mock/mock-1` · 137 tokens</sub>

    child done
    ");
    insta::assert_snapshot!(attachment_reads_in_order(&scrub.apply(without_turn_diffs(md(&store.attachment)))), @r#"
    # Legacy attachment

    - **Session:** `[SESSION:attachment]`
    - **Directory:** `$FIXTURES/legacy/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.1.65
    - **Agent:** `build`
    - **Model:** `mock/mock-1`
    - **Cost:** $0.0000
    - **Tokens:** 120 input, 17 output, 0 reasoning, 0 cache read, 0 cache write

    ## Conversation

    ### User

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    "Look at these 📎
    {{reply:U2VlbiDwn5GA}}"

    <details>
    <summary>Added by OpenCode</summary>

    ```text
    Called the Read tool with the following input: {"filePath":"$FIXTURES/legacy/repo/docs/attach.txt"}
    ```

    </details>

    <details>
    <summary>Added by OpenCode</summary>

    ```text
    Called the Read tool with the following input: {"filePath":"$FIXTURES/legacy/repo/docs/red.png"}
    ```

    </details>

    **File** `red.png` · image/png · inline data, 69 bytes

    <details>
    <summary>Added by OpenCode</summary>

    ```text
    Image read successfully
    ```

    </details>

    <details>
    <summary>Added by OpenCode</summary>

    ```text
    <path>$FIXTURES/legacy/repo/docs/attach.txt</path>
    <type>file</type>
    <content>1: Attached notes 📎
    2: héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    3: 

    (End of file - total 3 lines)
    </content>
    ```

    </details>

    **File** `attach.txt` · text/plain · `file://$FIXTURES/legacy/repo/docs/attach.txt`

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1` · 137 tokens</sub>

    Seen 👀
    "#);
}

#[test]
fn markdown_export_to_a_directory_writes_every_session() {
    let store = rich_store();
    let env = store.copy_env();
    let dir = env.new_dir("out");
    let out = env.run(&[
        "export",
        "--format",
        "markdown",
        "-o",
        dir.to_str().unwrap(),
    ]);
    let out = out.success();
    let expected: BTreeSet<String> = store
        .sessions()
        .into_iter()
        .map(|id| format!("{id}.md"))
        .collect();
    let written: BTreeSet<String> = file_names(&dir).into_iter().collect();
    assert_eq!(written, expected);
    assert_eq!(
        out.stdout().lines().count(),
        expected.len(),
        "one path per file:\n{out}"
    );
    insta::assert_snapshot!(Scrub::of(store).apply(&out), @"
    $TEST_ENV/out/[SESSION:plain].md
    $TEST_ENV/out/[SESSION:attachment].md
    $TEST_ENV/out/[SESSION:task_child].md
    $TEST_ENV/out/[SESSION:task_parent].md
    $TEST_ENV/out/[SESSION:tools].md
    [EOF]
    [exit status: 0]
    ");
    for name in &expected {
        let id = name.strip_suffix(".md").unwrap();
        let file = std::fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(file, export_markdown(&env, id), "{name}");
    }
    // The links between the files resolve.
    let parent = std::fs::read_to_string(dir.join(format!("{}.md", store.task_parent))).unwrap();
    let child = format!("{}.md", store.task_child);
    assert!(parent.contains(&format!("]({child})")) && dir.join(&child).is_file());
}

#[test]
fn markdown_export_of_several_sessions_to_stdout_separates_them() {
    let store = rich_store();
    let env = store.copy_env();
    let both = env.run(&[
        "export",
        "--format",
        "markdown",
        &store.plain,
        &store.attachment,
    ]);
    let both = both.success().raw_stdout().to_owned();
    let first = export_markdown(&env, &store.plain);
    let second = export_markdown(&env, &store.attachment);
    assert_eq!(both, format!("{first}\n{second}"));
}
