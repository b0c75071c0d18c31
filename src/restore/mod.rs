//! Putting archived sessions back into the local OpenCode store, re-homed to this checkout.
//!
//! The archive is read and checked completely first ([`crate::archive::open`]); then a plan
//! decides per session (union by ID, `plan.rs`): *add* what the store lacks, *update* a
//! local copy that is as old or older than the archived one, leave a newer local copy
//! alone, and skip identical ones. An update writes only the rows the store lacks or the
//! archive holds newer, never a redacted row over the store's (`merge.rs`). Only then is the
//! store changed: the SQLite store
//! (`sqlite.rs`) inside one transaction after an online backup, or the legacy JSON tree
//! (`json.rs`) after copying every file that will be overwritten.

pub mod gen2_write;
mod json;
mod merge;
mod plan;
mod rehome;
pub mod rescue;
mod schema;
pub mod service;
mod sqlite;
pub mod upgrade;

pub use merge::{MessageRows, Rows};
pub use plan::{compare, content_key, v2_row_ids, Action, Difference, Newer, State};
pub use rehome::rehome;

use crate::archive::{is_safe_id, Archive, ArchivedSession};
use crate::config::Ctx;
use crate::error::UserError;
use crate::membership;
use crate::store::{StoreKind, StoreLocation};
use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The checkout restored sessions are moved to.
#[derive(Debug, Clone)]
pub struct Home {
    /// The project ID the installed OpenCode computes here.
    pub project_id: String,
    /// This checkout (the work tree we run in).
    pub checkout: PathBuf,
    /// The repository's main checkout (differs from `checkout` in a linked worktree).
    pub main_worktree: PathBuf,
}

impl Home {
    /// The home for a store whose OpenCode computes project IDs by `rule`.
    fn new(ctx: &Ctx, rule: IdRule) -> Result<Home> {
        let Some(checkout) = ctx.facts.workdir.clone() else {
            bail!(UserError::new(format!(
                "cannot restore into a bare repository ({}): sessions need a checkout to live in",
                ctx.facts.common_dir.display()
            ))
            .hint("run git opencode restore in a work tree of this repository"));
        };
        let facts = &ctx.facts;
        let id = match rule {
            IdRule::Current => membership::current_id(facts),
            IdRule::Legacy => facts
                .cached_id
                .clone()
                .or_else(|| facts.all_roots.first().cloned()),
        };
        let project_id = id.unwrap_or_else(|| membership::GLOBAL.to_owned());
        if !is_safe_id(&project_id) {
            bail!(UserError::new(format!(
                "the project ID {project_id:?} of this repository is not usable as a file name"
            ))
            .hint(format!(
                "check {}",
                facts.common_dir.join("opencode").display()
            )));
        }
        let main_worktree = facts.checkouts.first().cloned().unwrap_or(checkout.clone());
        Ok(Home {
            project_id,
            checkout,
            main_worktree,
        })
    }

    fn is_global(&self) -> bool {
        self.project_id == membership::GLOBAL
    }

    /// This checkout is a linked worktree of the repository.
    fn is_linked(&self) -> bool {
        self.checkout != self.main_worktree
    }
}

/// How the OpenCode owning a store computes project IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdRule {
    /// OpenCode ≥ 1.15: origin remote, else cache file, else first root of HEAD.
    Current,
    /// OpenCode ≤ 1.2: cache file, else first root of all refs.
    Legacy,
}

/// One session as it will be written.
pub struct Item<'a> {
    pub session: &'a ArchivedSession,
    pub action: Action,
    /// The re-homed rows to write.
    pub rows: Rows,
    /// The store's `time_updated` of the session when the plan was made (`None`: absent).
    pub local_updated: Option<i64>,
}

/// What a restore did (or would do).
pub struct Report {
    /// `(id, title, action)` by session ID.
    pub sessions: Vec<(String, String, Action)>,
    pub backup: Option<PathBuf>,
    /// The database file or JSON storage directory written.
    pub target: PathBuf,
    pub project_id: String,
    pub checkout: PathBuf,
    pub notes: Vec<String>,
}

impl Report {
    pub fn count(&self, action: Action) -> usize {
        self.sessions
            .iter()
            .filter(|(_, _, a)| *a == action)
            .count()
    }
}

/// Options of a restore.
pub struct Options<'a> {
    pub dry_run: bool,
    /// Restore only these sessions and their subagent sessions (all when empty).
    pub only: &'a [String],
}

/// Which kind of store to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetKind {
    Sqlite,
    Json,
}

fn target_kind(location: &StoreLocation) -> Result<TargetKind> {
    if location.db.is_file() {
        return Ok(TargetKind::Sqlite);
    }
    if location.db.exists() {
        bail!("{} is not a file", location.db.display());
    }
    if location.data_dir.join("storage").is_dir() {
        return Ok(TargetKind::Json);
    }
    bail!(
        UserError::new(format!("no OpenCode store at {}", location.db.display())).hint(
            "run opencode once in this repository (it creates and migrates its database), \
             then restore again; or pass --store <path>"
        )
    )
}

/// Restores `archive` into the store of `ctx`. The archived sessions' messages are moved
/// into what is written, not copied: they are gone from `archive` afterwards.
pub fn restore(ctx: &Ctx, archive: &mut Archive, options: &Options<'_>) -> Result<Report> {
    let ids: Vec<String> = select(archive, options.only)?
        .into_iter()
        .map(|s| s.id.clone())
        .collect();
    let location = &ctx.store_location;
    let kind = target_kind(location)?;
    let (rule, schema) = match kind {
        TargetKind::Sqlite => {
            let schema = schema::Schema::check(&location.db)?;
            let rule = if schema.is_legacy() {
                IdRule::Legacy
            } else {
                IdRule::Current
            };
            (rule, Some(schema))
        }
        TargetKind::Json => (IdRule::Legacy, None),
    };
    let home = Home::new(ctx, rule)?;
    let mut docs = Vec::with_capacity(ids.len());
    for id in &ids {
        let Archive {
            sessions,
            worktrees,
            ..
        } = &mut *archive;
        let session = sessions.get_mut(id).expect("selected from the archive");
        docs.push(rehome::rehome_taking_messages(session, worktrees, &home));
    }
    let archive = &*archive;
    let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let want = match kind {
        TargetKind::Sqlite => StoreKind::Sqlite,
        TargetKind::Json => StoreKind::Json,
    };
    let local = plan::LocalSessions::open(location, want, &wanted)?;
    let mut items = Vec::new();
    for (id, doc) in ids.iter().zip(docs) {
        let session = &archive.sessions[id];
        let copy = local.copy(id)?;
        let local_updated = copy.as_ref().map(|c| c.updated);
        let (action, rows) = plan::decide(
            copy,
            session,
            doc,
            archive.redacted,
            kind == TargetKind::Sqlite,
        );
        items.push(Item {
            session,
            action,
            rows,
            local_updated,
        });
    }
    let mut notes = Vec::new();
    if archive.redacted {
        notes.push("this archive was redacted: secret-shaped strings are placeholders".to_owned());
    }
    let mut report = Report {
        sessions: Vec::new(),
        backup: None,
        target: match kind {
            TargetKind::Sqlite => location.db.clone(),
            TargetKind::Json => location.data_dir.join("storage"),
        },
        project_id: home.project_id.clone(),
        checkout: home.checkout.clone(),
        notes,
    };
    let writes = items
        .iter()
        .any(|i| matches!(i.action, Action::Add | Action::Update));
    if !options.dry_run && writes {
        match (kind, schema) {
            (TargetKind::Sqlite, Some(schema)) => {
                let done = sqlite::apply(&location.db, &schema, &home, &mut items)?;
                report.backup = Some(done.backup);
                report.notes.extend(done.notes);
            }
            _ => {
                let done = json::apply(&location.data_dir.join("storage"), &home, &items)?;
                report.backup = done.backup;
                report.notes.extend(done.notes);
            }
        }
        write_session_diffs(&location.data_dir, &items)?;
    }
    report.sessions = items
        .iter()
        .map(|i| (i.session.id.clone(), i.session.title().to_owned(), i.action))
        .collect();
    Ok(report)
}

/// The archived sessions named in `only` and all their descendants; every session when
/// `only` is empty.
fn select<'a>(archive: &'a Archive, only: &[String]) -> Result<Vec<&'a ArchivedSession>> {
    if only.is_empty() {
        return Ok(archive.sessions.values().collect());
    }
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    for id in only {
        if !archive.sessions.contains_key(id) {
            bail!(
                UserError::new(format!("session {id} is not in {}", archive.label)).hint(format!(
                    "check the session ID; the archive holds {} sessions",
                    archive.sessions.len()
                ))
            );
        }
        wanted.insert(id.as_str());
    }
    loop {
        let before = wanted.len();
        for s in archive.sessions.values() {
            if s.parent_id().is_some_and(|p| wanted.contains(p)) {
                wanted.insert(s.id.as_str());
            }
        }
        if wanted.len() == before {
            break;
        }
    }
    Ok(archive
        .sessions
        .values()
        .filter(|s| wanted.contains(s.id.as_str()))
        .collect())
}

/// `<data>/storage/session_diff/<id>.json` for restored sessions, only where none exists.
fn write_session_diffs(data_dir: &Path, items: &[Item<'_>]) -> Result<()> {
    for item in items {
        if !matches!(item.action, Action::Add | Action::Update) {
            continue;
        }
        let Some(diff) = item.session.extra.get("session_diff") else {
            continue;
        };
        let dir = data_dir.join("storage").join("session_diff");
        let path = dir.join(format!("{}.json", item.session.id));
        if path.exists() {
            continue;
        }
        create_dirs(&dir)?;
        crate::fsutil::write_atomic(&path, &crate::json::pretty(diff))?;
    }
    Ok(())
}

fn create_dirs(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))
}

/// A UTC stamp for backup names: `20261126T081600Z`.
fn backup_stamp() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `<path>.git-opencode-backup-<stamp>`, with a counter if that exists already.
fn backup_path(path: &Path) -> PathBuf {
    let stamp = backup_stamp();
    let base = format!("{}.git-opencode-backup-{stamp}", path.display());
    let mut candidate = PathBuf::from(&base);
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    candidate
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// An object minus the given keys, serialized without copying the rest (a part can be
/// hundreds of MB).
struct Without<'a>(&'a Map<String, Value>, &'a [&'a str]);

impl serde::Serialize for Without<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().filter(|(k, _)| !self.1.contains(&k.as_str())))
    }
}
