//! Writing sessions into the JSON file store of OpenCode ≤ 1.1 (`<data>/storage/`).
//!
//! Files as OpenCode writes them (`JSON.stringify(x, null, 2)`): `session/<projectID>/<id>.json`,
//! `message/<sessionID>/<messageID>.json`, `part/<messageID>/<partID>.json`,
//! `todo/<sessionID>.json`, `project/<projectID>.json`. Each file is written to a temporary
//! name and renamed; a session's file comes last, so a session appears only when its
//! messages are in place. Every file that is overwritten (or moved) is first copied into
//! `storage.git-opencode-backup-<time>/` beside `storage/`.

use super::{backup_path, create_dirs, now_ms, Action, Home, Item};
use crate::fsutil::write_atomic;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// What [`apply`] did.
pub struct Applied {
    pub backup: Option<PathBuf>,
    pub notes: Vec<String>,
}

/// Copies of the files a restore overwrites, created on first use.
struct FileBackup {
    storage: PathBuf,
    dir: Option<PathBuf>,
}

impl FileBackup {
    fn save(&mut self, file: &Path) -> Result<()> {
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => {
                let d = backup_path(&self.storage);
                create_dirs(&d)?;
                self.dir = Some(d.clone());
                d
            }
        };
        let rel = file.strip_prefix(&self.storage).unwrap_or(file);
        let dest = dir.join(rel);
        if let Some(parent) = dest.parent() {
            create_dirs(parent)?;
        }
        std::fs::copy(file, &dest).with_context(|| {
            format!("failed to back up {} to {}", file.display(), dest.display())
        })?;
        Ok(())
    }
}

/// The JSON tree open for writing sessions into, one at a time.
pub struct Writer<'a> {
    storage: &'a Path,
    home: &'a Home,
    backup: FileBackup,
    /// A written session had v2 rows (which have no place here).
    skipped_v2: bool,
    /// A written session had a share record.
    shared: bool,
}

impl<'a> Writer<'a> {
    /// Adds this checkout's project file when missing.
    pub fn begin(storage: &'a Path, home: &'a Home) -> Result<Writer<'a>> {
        let mut backup = FileBackup {
            storage: storage.to_path_buf(),
            dir: None,
        };
        let now = now_ms();
        let project = storage
            .join("project")
            .join(format!("{}.json", home.project_id));
        if !project.exists() {
            let worktree = if home.is_global() {
                "/".to_owned()
            } else {
                home.main_worktree.to_string_lossy().into_owned()
            };
            let record = json!({
                "id": home.project_id,
                "worktree": worktree,
                "vcs": "git",
                "sandboxes": [],
                "time": { "created": now, "updated": now },
            });
            write_file(&project, &record, &mut backup)?;
        }
        Ok(Writer {
            storage,
            home,
            backup,
            skipped_v2: false,
            shared: false,
        })
    }

    /// Writes `item` when it adds or updates.
    pub fn write(&mut self, item: &Item<'_>) -> Result<()> {
        if !matches!(item.action, Action::Add | Action::Update) {
            return Ok(());
        }
        let id = item.session.id.as_str();
        write_session(self.storage, self.home, item, &mut self.backup).with_context(|| {
            format!(
                "failed to restore session {id} (from {})",
                item.session.origin
            )
        })?;
        self.skipped_v2 |= ["session_message", "session_input", "session_context_epoch"]
            .iter()
            .any(|k| item.session.extra.contains_key(*k));
        self.shared |= item.session.extra.contains_key("share");
        Ok(())
    }

    pub fn finish(self) -> Applied {
        let mut notes = Vec::new();
        if self.skipped_v2 {
            notes.push("OpenCode v2 records (session_message, session_input, session_context_epoch) have no place in a JSON store and were not restored".to_owned());
        }
        if self.shared {
            notes.push(
                "share records were not restored (their secret is never archived)".to_owned(),
            );
        }
        Applied {
            backup: self.backup.dir,
            notes,
        }
    }
}

fn write_session(
    storage: &Path,
    home: &Home,
    item: &Item<'_>,
    backup: &mut FileBackup,
) -> Result<()> {
    let id = item.session.id.as_str();
    for message in &item.rows.messages {
        let mid = message.info["id"].as_str().expect("validated on load");
        for part in &message.parts {
            let pid = part["id"].as_str().expect("validated on load");
            let file = storage.join("part").join(mid).join(format!("{pid}.json"));
            write_file(&file, part, backup)?;
        }
        if message.write_info {
            let file = storage.join("message").join(id).join(format!("{mid}.json"));
            write_file(&file, &message.info, backup)?;
        }
    }
    if let Some(todos) = &item.rows.todos {
        let list: Vec<Value> = todos
            .iter()
            .enumerate()
            .map(|(index, t)| {
                let field = |k: &str| t.get(k).cloned().unwrap_or(Value::String(String::new()));
                let todo_id = t
                    .get("id")
                    .cloned()
                    .or_else(|| t.get("position").map(|p| Value::String(p.to_string())))
                    .unwrap_or_else(|| Value::String(index.to_string()));
                json!({
                    "content": field("content"),
                    "status": field("status"),
                    "priority": field("priority"),
                    "id": todo_id,
                })
            })
            .collect();
        let file = storage.join("todo").join(format!("{id}.json"));
        write_file(&file, &Value::Array(list), backup)?;
    }
    // The session file last: OpenCode lists a session only once this exists. A copy filed
    // under another project is moved here (it is kept in the backup).
    let Some(info) = &item.rows.info else {
        return Ok(());
    };
    let target_dir = storage.join("session").join(&home.project_id);
    let session_root = storage.join("session");
    if let Ok(dirs) = std::fs::read_dir(&session_root) {
        for dir in dirs.flatten() {
            let old = dir.path().join(format!("{id}.json"));
            if dir.path() != target_dir && old.is_file() {
                backup.save(&old)?;
                std::fs::remove_file(&old)
                    .with_context(|| format!("failed to move {}", old.display()))?;
            }
        }
    }
    write_file(&target_dir.join(format!("{id}.json")), info, backup)
}

/// Writes `value` as OpenCode does, unless the file already holds exactly that; an existing
/// file is backed up first.
fn write_file(path: &Path, value: &impl serde::Serialize, backup: &mut FileBackup) -> Result<()> {
    let bytes = crate::json::pretty(value);
    if path.exists() {
        if std::fs::read(path).is_ok_and(|old| old == bytes) {
            return Ok(());
        }
        backup.save(path)?;
    } else if let Some(parent) = path.parent() {
        create_dirs(parent)?;
    }
    write_atomic(path, &bytes)
}
