//! Which files a session's messages say it changed, and when: the evidence notes attribution
//! matches against each commit.
//!
//! - OpenCode 1.x (`{info, parts}` messages): each `patch` part, the files one step changed as
//!   OpenCode's snapshots saw them, at the time of its message.
//! - OpenCode 2.x (flat typed messages): 2.x has no patch parts, so the evidence is each
//!   completed file-changing tool item: its input's `path` (2.x) or `filePath` (1.x names, kept
//!   by sessions migrated from 1.x) and the file headers of a patch it carries, at the item's
//!   `time.completed`; plus an assistant's `snapshot.files` when snapshots are on, at the
//!   assistant's `time.completed`. A failed or unfinished call changed nothing we can vouch for.
//!
//! Tools take paths relative to the session's directory, so relative paths are resolved against
//! it (as moved by `location-switched` messages); the matcher compares absolute paths.

use super::Patch;
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

/// Tools that write the files their input names: 2.x names, then 1.x names found in sessions
/// migrated from 1.x.
const WRITERS: [&str; 5] = ["patch", "write", "edit", "apply_patch", "multiedit"];

/// The file-changing steps of one session's `messages` (1.x or 2.x shape, told apart per
/// message), with `directory` the session's directory.
pub fn patches_of(session_id: &str, directory: &str, messages: &[Value]) -> Vec<Patch> {
    let mut out = Vec::new();
    let mut dir = PathBuf::from(directory);
    let mut push = |files: Vec<String>, time_ms: i64| {
        out.push(Patch {
            session_id: session_id.to_owned(),
            files,
            time: time_ms / 1000,
        });
    };
    for message in messages {
        if message.get("info").is_some() || message.get("parts").is_some() {
            let time = message["info"]["time"]["created"].as_i64().unwrap_or(0);
            for part in message["parts"].as_array().into_iter().flatten() {
                if part["type"] == "patch" {
                    push(strings(&part["files"]), time);
                }
            }
            continue;
        }
        match message["type"].as_str() {
            Some("location-switched") => {
                if let Some(to) = message["location"]["directory"].as_str() {
                    dir = PathBuf::from(to);
                }
            }
            Some("assistant") => {
                let time = &message["time"];
                let done = time["completed"].as_i64().or(time["created"].as_i64());
                for item in message["content"].as_array().into_iter().flatten() {
                    let files = tool_files(item);
                    let at = item["time"]["completed"]
                        .as_i64()
                        .or(item["time"]["ran"].as_i64())
                        .or(done);
                    if !files.is_empty() {
                        push(absolute(&dir, files), at.unwrap_or(0));
                    }
                }
                let snapshot: Vec<String> = message["snapshot"]["files"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str().or(f["file"].as_str()).or(f["path"].as_str()))
                    .map(String::from)
                    .collect();
                if !snapshot.is_empty() {
                    push(absolute(&dir, snapshot), done.unwrap_or(0));
                }
            }
            _ => {}
        }
    }
    out
}

/// The files a completed file-changing tool item names (as written, maybe relative).
fn tool_files(item: &Value) -> Vec<String> {
    let name = item["name"].as_str().unwrap_or_default();
    let state = &item["state"];
    if item["type"] != "tool" || !WRITERS.contains(&name) || state["status"] != "completed" {
        return Vec::new();
    }
    let input = &state["input"];
    let mut files: Vec<String> = ["path", "filePath"]
        .iter()
        .filter_map(|key| input[*key].as_str())
        .map(String::from)
        .collect();
    for key in ["patchText", "patch"] {
        if let Some(text) = input[key].as_str() {
            files.extend(patch_headers(text));
        }
    }
    files
}

/// The files a patch names: OpenCode's own patch format (`*** Add File: p`, `*** Update File:`,
/// `*** Delete File:`, `*** Move to:`) and unified diffs (`--- a/p`, `+++ b/p`).
fn patch_headers(text: &str) -> Vec<String> {
    let mut files = Vec::new();
    for line in text.lines() {
        let own = [
            "*** Add File:",
            "*** Update File:",
            "*** Delete File:",
            "*** Move to:",
        ]
        .iter()
        .find_map(|prefix| line.strip_prefix(prefix));
        let unified = ["+++ ", "--- "].iter().find_map(|prefix| {
            let path = line.strip_prefix(prefix)?.split('\t').next()?.trim_end();
            (path != "/dev/null").then(|| {
                path.strip_prefix("a/")
                    .or(path.strip_prefix("b/"))
                    .unwrap_or(path)
            })
        });
        if let Some(path) = own.map(str::trim).or(unified).filter(|p| !p.is_empty()) {
            files.push(path.to_owned());
        }
    }
    files
}

/// `files` made absolute against `dir`, with `.` and `..` resolved lexically; sorted, once each.
fn absolute(dir: &Path, files: Vec<String>) -> Vec<String> {
    let mut files: Vec<String> = files
        .into_iter()
        .map(|file| {
            let mut out = PathBuf::new();
            for component in dir.join(&file).components() {
                match component {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::CurDir => {}
                    other => out.push(other),
                }
            }
            out.to_string_lossy().into_owned()
        })
        .collect();
    files.sort();
    files.dedup();
    files
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(String::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An assistant in the shape of the 2.0.26 capture (opencode-2x.md §2.1) with `content`.
    fn assistant(content: Value) -> Value {
        json!({"id": "msg_a", "type": "assistant", "agent": "build",
               "model": {"id": "m1", "providerID": "fake"}, "content": content,
               "time": {"created": 1791500491651_i64, "completed": 1791500499000_i64}})
    }

    fn tool(name: &str, status: &str, input: Value, completed_ms: i64) -> Value {
        json!({"type": "tool", "id": "call_1", "name": name, "executed": false,
               "state": {"status": status, "input": input,
                         "content": [{"type": "text", "text": "ok"}]},
               "time": {"created": 1791500491860_i64, "ran": 1791500491864_i64,
                        "completed": completed_ms}})
    }

    fn files_and_times(patches: &[Patch]) -> Vec<(Vec<String>, i64)> {
        patches.iter().map(|p| (p.files.clone(), p.time)).collect()
    }

    #[test]
    fn completed_2x_writers_name_their_files_at_completion() {
        let messages = [assistant(json!([
            // verbatim 2.0.26 capture: a shell call changes files we cannot name
            {"type": "tool", "id": "call_00491653", "name": "shell", "executed": false,
             "state": {"status": "completed",
                       "input": {"command": "echo hi > note.txt && echo hi", "description": "Print hi"},
                       "content": [{"type": "text", "text": "hi\n"}],
                       "metadata": {"status": "completed", "truncated": false, "exit": 0}},
             "time": {"created": 1791500491860_i64, "ran": 1791500491864_i64,
                      "completed": 1791500491903_i64}},
            tool("write", "completed", json!({"path": "hello.txt", "content": "hi\n"}), 1791500492000),
            tool("patch", "completed", json!({"patchText":
                "*** Begin Patch\n*** Update File: src/a.rs\n@@\n-x\n+y\n*** Add File: ./docs/../b.md\n+b\n*** Delete File: /abs/c.txt\n*** End Patch"}),
                1791500493000),
            tool("edit", "error", json!({"path": "failed.txt"}), 1791500494000),
            tool("read", "completed", json!({"path": "read-only.txt"}), 1791500494000),
            {"type": "tool", "id": "call_9", "name": "write",
             "state": {"status": "streaming", "input": "{\"path\":\"draft"},
             "time": {"created": 1791500495000_i64}}
        ]))];
        let patches = patches_of("ses_2", "/repo", &messages);
        assert_eq!(
            files_and_times(&patches),
            [
                (vec!["/repo/hello.txt".to_owned()], 1791500492),
                (
                    vec![
                        "/abs/c.txt".to_owned(),
                        "/repo/b.md".into(),
                        "/repo/src/a.rs".into()
                    ],
                    1791500493
                ),
            ]
        );
        assert!(patches.iter().all(|p| p.session_id == "ses_2"));
    }

    /// Sessions migrated from 1.x keep 1.x tool names and `filePath`.
    #[test]
    fn migrated_1x_tool_names_count_too() {
        let messages = [assistant(json!([
            tool(
                "edit",
                "completed",
                json!({"filePath": "/repo/src/lib.rs",
                 "oldString": "a", "newString": "b"}),
                1791500492000
            ),
            tool(
                "apply_patch",
                "completed",
                json!({"patchText":
                "--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-a\n+b\n--- /dev/null\n+++ b/NEW.md\n"}),
                1791500493000
            ),
            tool(
                "bash",
                "completed",
                json!({"command": "touch x"}),
                1791500494000
            )
        ]))];
        assert_eq!(
            files_and_times(&patches_of("ses_m", "/repo", &messages)),
            [
                (vec!["/repo/src/lib.rs".to_owned()], 1791500492),
                (
                    vec!["/repo/NEW.md".to_owned(), "/repo/README.md".into()],
                    1791500493
                ),
            ]
        );
    }

    #[test]
    fn snapshot_files_and_location_switches() {
        let mut with_snapshot = assistant(json!([]));
        with_snapshot["snapshot"] = json!({"start": "a1", "end": "b2", "files": ["x.txt"]});
        let messages = [
            json!({"id": "msg_l", "type": "location-switched",
                   "location": {"directory": "/fixture/B"},
                   "previous": {"location": {"directory": "/fixture/A"}},
                   "time": {"created": 1700000000100_i64}}),
            with_snapshot,
            json!({"id": "msg_i", "type": "idle", "outcome": "succeeded",
                   "time": {"created": 1791500499001_i64}}),
        ];
        assert_eq!(
            files_and_times(&patches_of("ses_s", "/fixture/A", &messages)),
            [(vec!["/fixture/B/x.txt".to_owned()], 1791500499)]
        );
    }

    /// 1.x `patch` parts are read as before: absolute files, the message's creation time.
    #[test]
    fn v1_patch_parts_are_unchanged() {
        let messages = [json!({
            "info": {"role": "assistant", "time": {"created": 1795528139214_i64}},
            "parts": [{"type": "patch", "hash": "904a", "files": ["/repo/src/main.rs"]},
                      {"type": "tool", "tool": "write", "state": {"status": "completed",
                       "input": {"filePath": "/repo/other.rs"}}}]
        })];
        assert_eq!(
            files_and_times(&patches_of("ses_1", "/repo", &messages)),
            [(vec!["/repo/src/main.rs".to_owned()], 1795528139)]
        );
    }

    /// A 2.x write inside the commit's window attributes the commit to the session.
    #[test]
    fn a_2x_session_matches_the_commit_it_produced() {
        let messages = [assistant(json!([tool(
            "write",
            "completed",
            json!({"path": "hello.txt", "content": "hi\n"}),
            1791500492000
        )]))];
        let patches = patches_of("ses_2", "/repo", &messages);
        let checkouts = [PathBuf::from("/repo")];
        let changed = ["hello.txt".to_owned()];
        let matched = super::super::matching_sessions;
        assert_eq!(
            matched(&patches, &checkouts, &changed, 1791500500, Some(1791500400)),
            ["ses_2"]
        );
        // Committed again more than the slack after the write: that commit is not the write's.
        assert!(matched(&patches, &checkouts, &changed, 1791500700, Some(1791500600)).is_empty());
        assert!(matched(&patches, &checkouts, &["other".into()], 1791500500, None).is_empty());
    }
}
