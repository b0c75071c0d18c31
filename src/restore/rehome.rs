//! Moving an archived session to this checkout: project ID, directory, `path`, the
//! assistant messages' working directory and the files patch parts name.

use super::{ArchivedSession, Home};
use crate::archive::checkout::{archived_root, join_str, move_patch_files, under};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

fn join(base: &Path, rel: &str) -> String {
    join_str(&base.to_string_lossy().replace('\\', "/"), rel)
}

/// The export document of `session` moved to `home`: `projectID`, `directory` and `path`
/// rewritten (keeping the subdirectory), `workspaceID` dropped (workspaces are local), and the
/// assistant messages' `path.cwd`/`path.root` moved along.
/// `worktrees` are the archived project rows' worktrees ([`crate::archive::Archive::worktrees`]).
pub fn rehome(
    session: &ArchivedSession,
    worktrees: &HashMap<String, String>,
    home: &Home,
) -> Value {
    let old_root = archived_root(session.info(), worktrees);
    let mut doc = session.doc.clone();
    move_doc(&mut doc, &old_root, home);
    doc
}

/// Like [`rehome`], moving the messages out of `session` rather than copying them (they
/// can be hundreds of MB); `session` keeps its `info` and extra record.
pub(super) fn rehome_taking_messages(
    session: &mut ArchivedSession,
    worktrees: &HashMap<String, String>,
    home: &Home,
) -> Value {
    let old_root = archived_root(session.info(), worktrees);
    let messages = std::mem::take(&mut session.doc["messages"]);
    let mut doc = serde_json::json!({ "info": session.doc["info"].clone(), "messages": messages });
    move_doc(&mut doc, &old_root, home);
    doc
}

fn move_doc(doc: &mut Value, old_root: &str, home: &Home) {
    let info = doc["info"].as_object_mut().expect("validated on load");
    let directory = info
        .get("directory")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned();
    let rel = under(&directory, old_root).unwrap_or("").to_owned();
    info.insert("projectID".into(), Value::String(home.project_id.clone()));
    info.insert(
        "directory".into(),
        Value::String(join(&home.checkout, &rel)),
    );
    if info.contains_key("path") || !rel.is_empty() {
        info.insert("path".into(), Value::String(rel));
    }
    info.remove("workspaceID");
    let move_path = |p: &str| -> Option<String> {
        under(p.trim_end_matches('/'), old_root).map(|rest| join(&home.checkout, rest))
    };
    let new_root = join(&home.checkout, "");
    if let Some(messages) = doc["messages"].as_array_mut() {
        for message in messages {
            // Notes attribute commits to sessions by the files their patch parts name.
            let parts = message.get_mut("parts").and_then(Value::as_array_mut);
            for part in parts.into_iter().flatten() {
                move_patch_files(part, old_root, &new_root);
            }
            let Some(path) = message["info"]
                .get_mut("path")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for key in ["cwd", "root"] {
                if let Some(new) = path.get(key).and_then(Value::as_str).and_then(move_path) {
                    path.insert(key.into(), Value::String(new));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};
    use std::path::PathBuf;

    fn archived(doc: Value) -> ArchivedSession {
        ArchivedSession {
            id: doc["info"]["id"].as_str().unwrap().to_owned(),
            doc,
            extra: Map::new(),
            origin: "test".into(),
        }
    }

    /// The worktrees of an archive's project rows.
    fn archive(worktrees: &[(&str, &str)]) -> HashMap<String, String> {
        worktrees
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    fn home() -> Home {
        Home {
            project_id: "p2".into(),
            checkout: PathBuf::from("/new/clone"),
            main_worktree: PathBuf::from("/new/clone"),
        }
    }

    #[test]
    fn rehoming_keeps_the_subdirectory() {
        let s = archived(json!({
            "info": {"id": "ses_1", "projectID": "p1", "directory": "/old/repo/sub/dir", "path": "sub/dir",
                     "workspaceID": "w", "time": {"created": 1, "updated": 2}},
            "messages": [{"info": {"id": "m", "sessionID": "ses_1", "path": {"cwd": "/old/repo/sub/dir", "root": "/old/repo"}},
                          "parts": [{"id": "p", "type": "patch", "hash": "h", "files": ["/old/repo/sub/a.rs", "/elsewhere/b.rs"]}]},
                         {"info": {"id": "n", "sessionID": "ses_1", "path": {"cwd": "/elsewhere", "root": "/old/repo"}}, "parts": []}]
        }));
        for a in [archive(&[("p1", "/old/repo")]), archive(&[])] {
            let doc = rehome(&s, &a, &home());
            assert_eq!(doc["info"]["projectID"], "p2");
            assert_eq!(doc["info"]["directory"], "/new/clone/sub/dir");
            assert_eq!(doc["info"]["path"], "sub/dir");
            assert!(doc["info"].get("workspaceID").is_none());
            assert_eq!(
                doc["messages"][0]["info"]["path"]["cwd"],
                "/new/clone/sub/dir"
            );
            assert_eq!(doc["messages"][0]["info"]["path"]["root"], "/new/clone");
            assert_eq!(
                doc["messages"][0]["parts"][0]["files"],
                json!(["/new/clone/sub/a.rs", "/elsewhere/b.rs"])
            );
            assert_eq!(doc["messages"][1]["info"]["path"]["cwd"], "/elsewhere");
        }
        // JSON-era sessions have no `path`: the project's worktree decides.
        let old = archived(
            json!({"info": {"id": "ses_2", "projectID": "p1", "directory": "/old/repo", "time": {"created": 1}}}),
        );
        let doc = rehome(&old, &archive(&[("p1", "/old/repo")]), &home());
        assert_eq!(doc["info"]["directory"], "/new/clone");
        assert!(doc["info"].get("path").is_none());
        let global = archived(
            json!({"info": {"id": "ses_3", "projectID": "global", "directory": "/old/repo", "path": "", "time": {"created": 1}}}),
        );
        let doc = rehome(&global, &archive(&[("global", "/")]), &home());
        assert_eq!(doc["info"]["directory"], "/new/clone");
        assert_eq!(doc["info"]["path"], "");
    }

    /// A 1.x `global` session made in a subdirectory of the checkout records no `path`: the
    /// archived repository's worktree says where the checkout was, as for a 2.x session.
    #[test]
    fn a_global_session_inside_the_checkout_keeps_its_subdirectory() {
        let global = archived(json!({
            "info": {"id": "ses_g", "projectID": "global", "directory": "/old/repo/src", "time": {"created": 1}},
            "messages": [{"info": {"id": "m", "sessionID": "ses_g", "path": {"cwd": "/old/repo/src", "root": "/"}},
                          "parts": [{"id": "p", "type": "patch", "hash": "h", "files": ["/old/repo/src/a.rs"]}]}]
        }));
        let worktrees = archive(&[("global", "/"), ("p1", "/old/repo")]);
        let doc = rehome(&global, &worktrees, &home());
        assert_eq!(doc["info"]["projectID"], "p2");
        assert_eq!(doc["info"]["directory"], "/new/clone/src");
        assert_eq!(doc["info"]["path"], "src");
        assert_eq!(doc["messages"][0]["info"]["path"]["cwd"], "/new/clone/src");
        assert_eq!(
            doc["messages"][0]["parts"][0]["files"],
            json!(["/new/clone/src/a.rs"])
        );
        // Outside every archived worktree, the directory itself is the checkout.
        let doc = rehome(&global, &archive(&[("global", "/")]), &home());
        assert_eq!(doc["info"]["directory"], "/new/clone");
    }

    #[test]
    fn a_restored_copy_is_the_same_content_as_its_original() {
        use crate::archive::freshness::{compare, ContentDigest};
        let original = archived(json!({
            "info": {"id": "ses_1", "projectID": "p1", "directory": "/old/repo/sub", "path": "sub",
                     "workspaceID": "w", "title": "t", "time": {"created": 1, "updated": 2}},
            "messages": [{"info": {"id": "m", "sessionID": "ses_1", "path": {"cwd": "/old/repo/sub", "root": "/old/repo"}},
                          "parts": [{"id": "p", "type": "patch", "hash": "h", "files": ["/old/repo/a.rs", "/elsewhere/b.rs"]}]}]
        }));
        let extra = Map::from_iter([("todos".to_owned(), json!([{"content": "x"}]))]);
        let restored = rehome(&original, &archive(&[("p1", "/old/repo")]), &home());
        let digest = |doc: &Value| ContentDigest::of(doc, Some(&extra));
        // Pushed from the clone it was restored to, the copy ties with the archived one and
        // leaves it in place, and verify calls it the same.
        let tie = compare(2, 2, || Ok((digest(&restored), digest(&original.doc)))).unwrap();
        assert_eq!(tie, std::cmp::Ordering::Equal);
        assert_eq!(
            crate::restore::content_key(&restored),
            crate::restore::content_key(&original.doc)
        );
        // Files outside the checkout are not moved, so they still count.
        let mut elsewhere = restored.clone();
        elsewhere["messages"][0]["parts"][0]["files"][1] = json!("/other/b.rs");
        assert_ne!(digest(&elsewhere), digest(&original.doc));
    }
}
