//! One session of an archive tree, found by its ID without reading the others: what `show`,
//! `log` and `summary` need when the store lacks a session.

use super::branch;
use super::read::{is_safe_id, ArchivedSession};
use crate::git::{Oid, Repo};
use anyhow::Result;

/// Session `id` of the archive tree `tree` (of the ref or commit `label`), and its directory
/// in the tree: `sessions/<YYYY-MM>/<id>` (also read: `sessions/<id>`, as [`super::open`]
/// does). `None` when the tree does not hold it.
pub fn find_session(
    repo: &Repo,
    label: &str,
    tree: Oid,
    id: &str,
) -> Result<Option<(String, ArchivedSession)>> {
    // An ID is a path component here: anything else names no session.
    if !is_safe_id(id) {
        return Ok(None);
    }
    let Some(sessions) = repo.entry_at(tree, "sessions")?.filter(|e| e.is_tree) else {
        return Ok(None);
    };
    // The month a session is filed under comes from its creation time, which only the
    // session itself records: look in every month (one small tree each).
    let mut dirs = vec![format!("sessions/{id}")];
    for month in repo.tree_entries(sessions.id, label)? {
        if month.is_tree && month.name != id {
            dirs.push(format!("sessions/{}/{id}", month.name));
        }
    }
    for dir in dirs {
        let Some(entry) = repo.entry_at(tree, &dir)?.filter(|e| e.is_tree) else {
            continue;
        };
        let files = repo.tree_entries(entry.id, label)?;
        let blob = |name: &str| {
            files
                .iter()
                .find(|e| e.name == name && !e.is_tree)
                .map(|e| e.id)
        };
        let Some(doc) = blob("session.json") else {
            continue;
        };
        let session = branch::read_session(repo, label, id, &dir, doc, blob("extra.json"))?;
        return Ok(Some((dir, session)));
    }
    Ok(None)
}
