//! Writing a 2.x restore's sessions into `opencode.db`: after an online backup, in one
//! `BEGIN IMMEDIATE` transaction, each session re-checked against the store (one that
//! changed since the plan was made is kept) and written by the 2.x writer, parents first;
//! then this checkout's `worktree` row, which 2.x keeps for every checkout of a project
//! (opencode-2x.md §5: main = strategy NULL, a linked worktree = `git`).

use super::gen2_write::{self, ProjectSeed, Written};
use super::into2::Item;
use super::sqlite::{back_up, open_for_writing, sql_fail, Applied};
use super::upgrade::V2Session;
use super::{now_ms, Action, Home};
use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Map;
use std::path::Path;

pub(super) fn apply(db: &Path, home: &Home, items: &mut [Item]) -> Result<Applied> {
    let mut conn = open_for_writing(db)?;
    let backup = back_up(&conn, db)?;
    let result = (|| -> Result<Vec<String>> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_fail(db, "lock", e))?;
        let notes = write_all(&tx, home, items)?;
        tx.commit().map_err(|e| sql_fail(db, "commit to", e))?;
        Ok(notes)
    })();
    match result {
        Ok(notes) => Ok(Applied { backup, notes }),
        Err(e) => {
            // Nothing was changed: the backup is not needed.
            let _ = std::fs::remove_file(&backup);
            Err(e)
        }
    }
}

fn write_all(tx: &Connection, home: &Home, items: &mut [Item]) -> Result<Vec<String>> {
    let now = now_ms();
    let mut sessions = Vec::new();
    for item in items.iter_mut() {
        if !matches!(item.action, Action::Add | Action::Update) {
            continue;
        }
        let local: Option<i64> = tx
            .query_row(
                "SELECT time_updated FROM session_v2 WHERE id = ?1",
                [&item.id],
                |r| r.get(0),
            )
            .optional()
            .with_context(|| format!("failed to read session {}", item.id))?;
        // Changed since the plan was made (OpenCode wrote it meanwhile): keep the store's.
        if local != item.local_updated {
            item.action = Action::KeepLocal;
            continue;
        }
        let empty = V2Session {
            row: Map::new(),
            messages: Vec::new(),
        };
        sessions.push(std::mem::replace(&mut item.rows, empty));
    }
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let seed = ProjectSeed {
        id: home.project_id.clone(),
        worktree: if home.is_global() {
            "/".to_owned()
        } else {
            home.main_worktree.to_string_lossy().into_owned()
        },
        vcs: (!home.is_global()).then(|| "git".to_owned()),
        time: now,
    };
    let written = gen2_write::write_sessions(tx, &sessions, Some(&seed))?;
    record_worktree(tx, home, now)?;
    Ok(notes(&written))
}

/// This checkout's `worktree` row, when the store has the table and the project is not
/// `global` (2.x keeps none for it).
fn record_worktree(tx: &Connection, home: &Home, now: i64) -> Result<()> {
    let has_table: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'worktree')",
        [],
        |r| r.get(0),
    )?;
    if !has_table || home.is_global() {
        return Ok(());
    }
    let strategy = home.is_linked().then_some("git");
    tx.execute(
        "INSERT OR IGNORE INTO worktree (project_id, directory, strategy, time_created) \
         VALUES (?1, ?2, ?3, ?4)",
        params![
            home.project_id,
            home.checkout.to_string_lossy(),
            strategy,
            now
        ],
    )
    .context("failed to record this checkout in the worktree table")?;
    Ok(())
}

/// What the user should know of the writes: children whose parent is not in the store,
/// values an older 2.x's `session_v2` has no column for.
fn notes(written: &[Written]) -> Vec<String> {
    let mut notes = Vec::new();
    for w in written {
        if let Some(parent) = &w.missing_parent {
            notes.push(format!(
                "session {} is a subagent session of {parent}, which is not in the store; OpenCode lists it as a top-level session",
                w.session_id
            ));
        }
        if !w.dropped_columns.is_empty() {
            notes.push(format!(
                "session {}: this store's session_v2 has no column {}; those values were not written",
                w.session_id,
                w.dropped_columns.join(", ")
            ));
        }
    }
    notes
}
