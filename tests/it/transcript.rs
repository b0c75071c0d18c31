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
