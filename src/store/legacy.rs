//! The JSON file store of OpenCode ≤ 1.1 (`<data>/storage/`).
//!
//! Keys as OpenCode wrote them: `session/<projectID>/<sessionID>.json`,
//! `message/<sessionID>/<messageID>.json`, `part/<messageID>/<partID>.json`,
//! `todo/<sessionID>.json`, `project/<projectID>.json`. Objects keep the key order of the
//! files, which is what a JSON-era `opencode export` printed.

use super::{ChangeStamp, Project, Session, SessionSummary, StoreKind, Unreadable};
use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct LegacyStore {
    root: PathBuf,
}

impl LegacyStore {
    /// `None` when there is no JSON session store at `root`.
    pub fn open(root: &Path) -> Result<Option<LegacyStore>> {
        if !root.join("session").is_dir() {
            return Ok(None);
        }
        Ok(Some(LegacyStore {
            root: root.to_path_buf(),
        }))
    }

    pub fn projects(&self) -> Result<Vec<Project>> {
        let mut projects = Vec::new();
        for file in json_files(&self.root.join("project"))? {
            // A damaged project file decides nothing: the other rules still find sessions.
            let Ok(value) = read_json(&file) else {
                continue;
            };
            let id = value["id"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| stem(&file));
            let strings = |key: &str| -> Vec<String> {
                value[key]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            projects.push(Project {
                worktree: value["worktree"].as_str().unwrap_or_default().to_owned(),
                sandboxes: strings("sandboxes"),
                directories: Vec::new(),
                vcs: value["vcs"].as_str().map(String::from),
                id,
            });
        }
        Ok(projects)
    }

    /// The readable sessions, and the session files that cannot be read.
    pub fn sessions(&self) -> Result<(Vec<Session>, Vec<Unreadable>)> {
        let mut sessions = Vec::new();
        let mut unreadable = Vec::new();
        for project_dir in sorted_dirs(&self.root.join("session"))? {
            // The folder, not the file's projectID, is what OpenCode lists the session under.
            let project_id = stem(&project_dir);
            for file in json_files(&project_dir)? {
                let info = match read_json(&file) {
                    Ok(Value::Object(map)) => map,
                    other => {
                        let reason = match other {
                            Err(e) => crate::error::message(&e),
                            Ok(_) => format!(
                                "malformed session file {}: not a JSON object",
                                file.display()
                            ),
                        };
                        unreadable.push(Unreadable {
                            session_id: stem(&file),
                            project_id: project_id.clone(),
                            reason,
                        });
                        continue;
                    }
                };
                let text = |key: &str| info.get(key).and_then(Value::as_str).map(String::from);
                let time = |key: &str| {
                    info.get("time")
                        .and_then(|t| t.get(key))
                        .and_then(Value::as_i64)
                };
                sessions.push(Session {
                    id: text("id").unwrap_or_else(|| stem(&file)),
                    project_id: project_id.clone(),
                    parent_id: text("parentID"),
                    title: text("title").unwrap_or_default(),
                    directory: text("directory").unwrap_or_default(),
                    time_created: time("created").unwrap_or(0),
                    time_updated: time("updated").or(time("created")).unwrap_or(0),
                    kind: StoreKind::Json,
                    generation: super::Generation::V1,
                    divergent: false,
                    summary: SessionSummary::of(&info),
                });
            }
        }
        Ok((sessions, unreadable))
    }

    /// The `info` object of one listed session: its file, read again. OpenCode names the file
    /// after the session ID; a file named otherwise is found by the ID inside it.
    pub fn session_info(&self, session: &Session) -> Result<Map<String, Value>> {
        let project_dir = self.root.join("session").join(&session.project_id);
        let named = project_dir.join(format!("{}.json", session.id));
        let candidates = if named.is_file() {
            vec![named]
        } else {
            json_files(&project_dir)?
        };
        for file in candidates {
            if let Value::Object(info) = read_json(&file)? {
                let id = info.get("id").and_then(Value::as_str);
                if id.map_or(stem(&file) == session.id, |id| id == session.id) {
                    return Ok(info);
                }
            }
        }
        bail!(
            "session {} is no longer in {}",
            session.id,
            project_dir.display()
        )
    }

    /// See [`super::Store::change_stamps`]: the session's update time and message file count.
    /// OpenCode ≤ 1.1 updates the session with every message, so its time is the last change.
    pub fn change_stamps(&self) -> Result<HashMap<String, ChangeStamp>> {
        let mut stamps = HashMap::new();
        for session in self.sessions()?.0 {
            let count = self.message_count(&session.id)?;
            let stamp = ChangeStamp {
                text: format!("{}/{count}/json", session.time_updated),
                changed: session.time_updated,
            };
            stamps.insert(session.id, stamp);
        }
        Ok(stamps)
    }

    pub fn message_count(&self, session_id: &str) -> Result<usize> {
        Ok(json_files(&self.root.join("message").join(session_id))?.len())
    }

    /// Messages by ID (ascending IDs are chronological), parts by ID.
    pub fn messages(&self, session_id: &str) -> Result<Vec<Value>> {
        let mut messages = Vec::new();
        for file in json_files(&self.root.join("message").join(session_id))? {
            let info = read_json(&file)?;
            let message_id = info["id"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| stem(&file));
            let mut parts = Vec::new();
            for part in json_files(&self.root.join("part").join(&message_id))? {
                parts.push(read_json(&part)?);
            }
            parts.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
            let mut message = Map::new();
            message.insert("info".into(), info);
            message.insert("parts".into(), Value::Array(parts));
            messages.push(Value::Object(message));
        }
        Ok(messages)
    }

    pub fn extra(&self, session_id: &str) -> Result<Map<String, Value>> {
        let mut extra = Map::new();
        let file = |dir: &str| self.root.join(dir).join(format!("{session_id}.json"));
        if let Some(todos) = read_json_if_exists(&file("todo"))? {
            if todos.as_array().is_some_and(|a| !a.is_empty()) {
                extra.insert("todos".into(), todos);
            }
        }
        // Share records hold a `secret` (a credential): keep only the public id and URL.
        for dir in ["session_share", "share"] {
            if let Some(share) = read_json_if_exists(&file(dir))? {
                let mut public = Map::new();
                for key in ["id", "url"] {
                    if let Some(v) = share.get(key) {
                        public.insert(key.into(), v.clone());
                    }
                }
                if !public.is_empty() {
                    extra.insert("share".into(), Value::Object(public));
                    break;
                }
            }
        }
        Ok(extra)
    }

    pub fn project_record(&self, project_id: &str) -> Result<Option<Value>> {
        let Some(project) =
            read_json_if_exists(&self.root.join("project").join(format!("{project_id}.json")))?
        else {
            return Ok(None);
        };
        let mut record = Map::new();
        record.insert("project".into(), project);
        if let Some(permission) = read_json_if_exists(
            &self
                .root
                .join("permission")
                .join(format!("{project_id}.json")),
        )? {
            record.insert("permission".into(), permission);
        }
        Ok(Some(Value::Object(record)))
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    crate::json::parse_slice(&text).with_context(|| format!("malformed JSON in {}", path.display()))
}

/// The parsed file, or `None` when it does not exist.
pub fn read_json_if_exists(path: &Path) -> Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(text) => crate::json::parse_slice(&text)
            .map(Some)
            .with_context(|| format!("malformed JSON in {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("failed to read {}", path.display())),
    }
}

/// `*.json` files directly in `dir`, sorted by name; none when `dir` does not exist.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = entries(dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = entries(dir)?.into_iter().filter(|p| p.is_dir()).collect();
    dirs.sort();
    Ok(dirs)
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("failed to list {}", dir.display())),
    };
    read.map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("failed to list {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_info_is_read_again_from_its_file_whatever_its_name() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("session/prj");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ses_a.json"), r#"{"id":"ses_a","title":"A"}"#).unwrap();
        std::fs::write(dir.join("renamed.json"), r#"{"id":"ses_b","title":"B"}"#).unwrap();
        let store = LegacyStore::open(root.path()).unwrap().unwrap();
        let sessions = store.sessions().unwrap().0;
        assert_eq!(sessions.len(), 2);
        for session in &sessions {
            let info = store.session_info(session).unwrap();
            assert_eq!(info["id"], session.id.as_str());
            assert_eq!(info["title"], session.title.as_str());
        }
        std::fs::remove_file(dir.join("renamed.json")).unwrap();
        let gone = sessions.iter().find(|s| s.id == "ses_b").unwrap();
        let error = store.session_info(gone).unwrap_err().to_string();
        assert!(error.contains("ses_b is no longer in"), "{error}");
    }
}
