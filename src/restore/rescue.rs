//! Writing `doctor --fix`'s rescue into an OpenCode 2.x store: 1.x sessions 2.x cannot see,
//! transformed into 2.x rows, and sessions misfiled under `global` or a markerless
//! `directory:` project re-pointed to this repository's project.
//!
//! The same safety as a restore: nothing while OpenCode's service runs or a session to be
//! replaced is busy (both checked before anything is written, the busy check again inside
//! the transaction by the writer), an online backup of the whole database first, then one
//! `BEGIN IMMEDIATE` transaction. Only `project` (a missing row for this repository),
//! `session_v2`, `session_message` and `event_sequence` rows of the named sessions change;
//! `kv`, `event`, inbox, pending and other projects' rows are never touched.

use super::gen2_write::{self, ProjectSeed, Written};
use super::upgrade::V2Session;
use super::{backup_path, service};
use crate::error::UserError;
use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A misfiled session moved to this repository's project, as 2.x's `worktree.resolved`
/// projector moves one (opencode-2x.md §5): `project_id` and `path` change, `time_updated`
/// is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repoint {
    pub session_id: String,
    /// The project the session is filed under now (`global` or a `directory:` project):
    /// the update applies only while it still is.
    pub from: String,
    pub to: String,
    /// The session's directory relative to the checkout it lies in; `None` at its root.
    pub path: Option<String>,
}

/// What to write.
#[derive(Debug, Default)]
pub struct Rescue {
    /// Transformed 1.x sessions: added, or replacing their 2.x copy.
    pub sessions: Vec<V2Session>,
    pub repoint: Vec<Repoint>,
    /// This repository's project row, created when the store lacks it.
    pub project: Option<ProjectSeed>,
}

/// What [`apply`] did.
#[derive(Debug)]
pub struct Rescued {
    pub backup: PathBuf,
    pub written: Vec<Written>,
    pub repointed: Vec<String>,
}

/// Writes `rescue` into the 2.x database `db`, after a backup next to it. `service_dir` is
/// where OpenCode's service registers (see [`service`]).
pub fn apply(db: &Path, rescue: &Rescue, service_dir: Option<&Path>) -> Result<Rescued> {
    service::refuse_while_running(service_dir, "doctor --fix wrote nothing")?;
    let mut conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("failed to open {} for writing", db.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Checked before the backup, so that a refusal leaves no file behind.
    for session in &rescue.sessions {
        if let Some(reason) = gen2_write::busy_reason(&conn, session.id())? {
            bail!(UserError::new(format!(
                "session {} is busy in OpenCode ({reason}); doctor --fix wrote nothing",
                session.id()
            ))
            .hint(
                "let OpenCode finish the turn or stop it, then run git opencode doctor --fix again"
            ));
        }
    }
    let backup = backup_path(db);
    if let Err(e) = super::sqlite::backup_to(&conn, &backup) {
        let _ = std::fs::remove_file(&backup);
        return Err(e.context(format!(
            "failed to back up {} to {}; nothing was written",
            db.display(),
            backup.display()
        )));
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .with_context(|| format!("failed to lock {}", db.display()))?;
    let written = gen2_write::write_sessions(&tx, &rescue.sessions, rescue.project.as_ref())?;
    let mut repointed = Vec::new();
    for r in &rescue.repoint {
        ensure_project(&tx, &r.to, rescue.project.as_ref())?;
        let n = tx
            .execute(
                "UPDATE session_v2 SET project_id = ?1, path = ?2 WHERE id = ?3 AND project_id = ?4",
                params![r.to, r.path, r.session_id, r.from],
            )
            .with_context(|| format!("failed to re-point session {}", r.session_id))?;
        if n == 1 {
            repointed.push(r.session_id.clone());
        }
    }
    tx.commit()
        .with_context(|| format!("failed to commit to {}", db.display()))?;
    Ok(Rescued {
        backup,
        written,
        repointed,
    })
}

/// The project row `id` exists, created from `seed` where missing (a re-point needs it as
/// much as a written session does: `session_v2.project_id` is a foreign key).
fn ensure_project(conn: &Connection, id: &str, seed: Option<&ProjectSeed>) -> Result<()> {
    let exists = conn
        .query_row("SELECT 1 FROM project WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        return Ok(());
    }
    let Some(seed) = seed.filter(|s| s.id == id) else {
        bail!("project {id} is not in the store");
    };
    let has_active: bool = conn.query_row(
        "SELECT count(*) FROM pragma_table_info('project') WHERE name = 'time_active'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    let sql = if has_active {
        "INSERT INTO project (id, worktree, vcs, sandboxes, time_created, time_updated, time_active) \
         VALUES (?1, ?2, ?3, '[]', ?4, ?4, ?4)"
    } else {
        "INSERT INTO project (id, worktree, vcs, sandboxes, time_created, time_updated) \
         VALUES (?1, ?2, ?3, '[]', ?4, ?4)"
    };
    conn.execute(sql, params![seed.id, seed.worktree, seed.vcs, seed.time])
        .with_context(|| format!("failed to insert project {id}"))?;
    Ok(())
}
