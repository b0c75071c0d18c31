//! Where a session ran: the checkout its `info` names, and the files its `patch` parts name
//! inside it. Restore moves these to the checkout it restores to; the content digest
//! ([`super::freshness::ContentDigest`]) reads them relative to the checkout, so a session
//! is the same content wherever it was restored.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// The checkout a session's `info` says it ran in: its directory minus its `path` (the
/// subdirectory), else the directory itself.
pub fn session_root(info: &Value) -> String {
    let text = |key: &str| info.get(key).and_then(Value::as_str);
    root_of(text("directory").unwrap_or(""), text("path"))
}

/// Where an archived session's checkout was, from `session`'s `directory` and `path` (a 1.x
/// `info` or a 2.x `session_v2` row): the outermost of the archived projects' worktrees
/// (`worktrees`, by project ID) that holds its directory (the repository's checkout, also
/// for a `global` session, or a 2.x `directory:` one, made inside it), else the directory
/// minus `path`, else the directory itself.
pub fn archived_root(session: &Map<String, Value>, worktrees: &HashMap<String, String>) -> String {
    let text = |key: &str| session.get(key).and_then(Value::as_str);
    let (directory, path) = (text("directory").unwrap_or(""), text("path"));
    let directory = directory.trim_end_matches('/');
    let outermost = worktrees
        .values()
        .map(|w| w.trim_end_matches('/'))
        .filter(|w| !w.is_empty() && under(directory, w).is_some())
        .min_by_key(|w| w.len());
    match outermost {
        Some(worktree) => worktree.to_owned(),
        None => root_of(directory, path),
    }
}

/// `directory` minus its subdirectory `path`, else `directory`.
fn root_of(directory: &str, path: Option<&str>) -> String {
    let directory = directory.trim_end_matches('/');
    let path = path.unwrap_or("").trim_matches('/');
    if !path.is_empty() {
        let root = directory
            .strip_suffix(path)
            .and_then(|r| r.strip_suffix('/'));
        if let Some(root) = root.filter(|r| !r.is_empty()) {
            return root.to_owned();
        }
    }
    directory.to_owned()
}

/// Moves the files a `patch` part names from the checkout `from` to `to` (an empty `to`
/// leaves them relative to the checkout); files elsewhere stay as they are.
pub fn move_patch_files(part: &mut Value, from: &str, to: &str) {
    if part.get("type").and_then(Value::as_str) != Some("patch") {
        return;
    }
    let files = part.get_mut("files").and_then(Value::as_array_mut);
    for file in files.into_iter().flatten() {
        let moved = file
            .as_str()
            .and_then(|f| under(f.trim_end_matches('/'), from))
            .map(|rest| match to {
                "" => rest.to_owned(),
                to => join_str(to, rest),
            });
        if let Some(moved) = moved {
            *file = Value::String(moved);
        }
    }
}

/// `Some(rest)` when `path` is `root` or inside it (`rest` without a leading slash).
pub fn under<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    if path == root {
        return Some("");
    }
    if root == "/" {
        return path.strip_prefix('/');
    }
    path.strip_prefix(root)?.strip_prefix('/')
}

/// `base` and the relative path `rel` joined by one slash (`base` itself when `rel` is empty).
pub fn join_str(base: &str, rel: &str) -> String {
    if rel.is_empty() {
        base.to_owned()
    } else {
        format!("{}/{rel}", base.trim_end_matches('/'))
    }
}
