//! Putting archived sessions back into the local OpenCode store, re-homed to this checkout.
//!
//! The archive is read and checked completely first ([`crate::archive::open`]); then a plan
//! decides per session (union by ID, `plan.rs`): *add* what the store lacks, *update* a
//! local copy that is as old or older than the archived one, leave a newer local copy
//! alone, and skip identical ones. An update writes only the rows the store lacks or the
//! archive holds newer, never a redacted row over the store's (`merge.rs`). Only then is the
//! store changed: the SQLite store (`sqlite.rs`) inside one transaction after an online
//! backup, or the legacy JSON tree (`json.rs`) after copying every file that will be
//! overwritten. Planning and writing each read the archive's sessions one at a time
//! ([`crate::archive::Archive::for_each`]): a session can be hundreds of MB.

pub mod gen2_write;
mod into2;
mod json;
mod merge;
mod plan;
mod rehome;
pub mod remove;
pub mod rescue;
mod schema;
pub mod service;
mod sqlite;
mod sqlite2;
pub mod upgrade;
mod v2rows;

pub use merge::{MessageRows, Rows};
pub use plan::{
    compare, compare_with, content_key, v2_row_ids, Action, Depth, Difference, Newer, State,
};
pub use rehome::rehome;

use crate::archive::{is_safe_id, Archive, ArchivedSession};
use crate::config::Ctx;
use crate::error::UserError;
use crate::membership;
use crate::store::{StoreKind, StoreLocation};
use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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

/// Restores `archive` into the store of `ctx`, in two passes over the archive, each reading
/// one session at a time (a session can be hundreds of MB): the plan decides for every
/// session before anything is written, then the sessions to add or update are read again
/// and written.
pub fn restore(ctx: &Ctx, archive: &Archive, options: &Options<'_>) -> Result<Report> {
    let ids = select(archive, options.only)?;
    let location = &ctx.store_location;
    let kind = target_kind(location)?;
    if kind == TargetKind::Sqlite && schema::is_v2(&location.db)? {
        let home = Home::new(ctx, IdRule::Current)?;
        return into2::restore(location, archive, &ids, options, &home);
    }
    refuse_v2_sessions(archive, &ids, location, kind)?;
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
    let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let want = match kind {
        TargetKind::Sqlite => StoreKind::Sqlite,
        TargetKind::Json => StoreKind::Json,
    };
    let local = plan::LocalSessions::open(location, want, &wanted)?;
    let planner = Planner {
        local: &local,
        worktrees: &archive.worktrees,
        home: &home,
        redacted: archive.redacted,
        with_v2_rows: kind == TargetKind::Sqlite,
    };
    // The plan: only the decision of each session is kept.
    let mut planned: BTreeMap<String, Planned> = BTreeMap::new();
    archive.for_each(Some(&ids), |mut session| {
        let (action, _, local_updated) = planner.decide(&mut session)?;
        planned.insert(
            session.id.clone(),
            Planned {
                title: session.title().to_owned(),
                action,
                local_updated,
            },
        );
        Ok(())
    })?;
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
    let writes: BTreeSet<String> = planned
        .iter()
        .filter(|(_, p)| p.writes())
        .map(|(id, _)| id.clone())
        .collect();
    if !options.dry_run && !writes.is_empty() {
        let storage = location.data_dir.join("storage");
        local.end_snapshot()?;
        let mut writer = match (kind, &schema) {
            (TargetKind::Sqlite, Some(schema)) => {
                Writer::Sqlite(sqlite::Writer::begin(&location.db, schema, &home)?)
            }
            _ => Writer::Json(json::Writer::begin(&storage, &home)?),
        };
        let mut diffs = Vec::new();
        archive.for_each(Some(&writes), |mut session| {
            let plan = planned
                .get_mut(&session.id)
                .expect("planned from the same archive");
            // Decided again on the same copies (the store's is checked once more when it
            // is written): the rows are not kept from the plan, so no two sessions are
            // held at once.
            let (action, rows, _) = planner.decide(&mut session)?;
            let mut item = Item {
                session: &session,
                action,
                rows,
                local_updated: plan.local_updated,
            };
            match &mut writer {
                Writer::Sqlite(w) => w.write(&mut item)?,
                Writer::Json(w) => w.write(&item)?,
            }
            plan.action = item.action;
            drop(item);
            if plan.writes() {
                if let Some(diff) = session.extra.remove("session_diff") {
                    diffs.push((session.id.clone(), diff));
                }
            }
            Ok(())
        })?;
        let done = match writer {
            Writer::Sqlite(w) => {
                let done = w.commit()?;
                (Some(done.backup), done.notes)
            }
            Writer::Json(w) => {
                let done = w.finish();
                (done.backup, done.notes)
            }
        };
        report.backup = done.0;
        report.notes.extend(done.1);
        write_session_diffs(&location.data_dir, &diffs)?;
    }
    report.sessions = planned
        .into_iter()
        .map(|(id, p)| (id, p.title, p.action))
        .collect();
    Ok(report)
}

/// What the plan decided for one session.
struct Planned {
    title: String,
    action: Action,
    /// The store's `time_updated` of the session when the plan was made (`None`: absent).
    local_updated: Option<i64>,
}

impl Planned {
    fn writes(&self) -> bool {
        matches!(self.action, Action::Add | Action::Update)
    }
}

/// The store a restore writes, open for writing.
enum Writer<'a> {
    Sqlite(sqlite::Writer<'a>),
    Json(json::Writer<'a>),
}

/// What is needed to decide for one archived session.
struct Planner<'a> {
    local: &'a plan::LocalSessions,
    worktrees: &'a HashMap<String, String>,
    home: &'a Home,
    redacted: bool,
    with_v2_rows: bool,
}

impl Planner<'_> {
    /// What to do with `session` and the rows to write, given the store's copy now, and
    /// that copy's `time_updated`. The session's messages are moved into the rows.
    fn decide(&self, session: &mut ArchivedSession) -> Result<(Action, Rows, Option<i64>)> {
        let doc = rehome::rehome_taking_messages(session, self.worktrees, self.home);
        let copy = self.local.copy(&session.id)?;
        let local_updated = copy.as_ref().map(|c| c.updated);
        let (action, rows) = plan::decide(copy, session, doc, self.redacted, self.with_v2_rows);
        Ok((action, rows, local_updated))
    }
}

/// A 1.x store cannot hold what OpenCode 2.x wrote: refused before anything is written.
fn refuse_v2_sessions(
    archive: &Archive,
    ids: &BTreeSet<String>,
    location: &StoreLocation,
    kind: TargetKind,
) -> Result<()> {
    let Some(id) = ids
        .iter()
        .find(|id| archive.sessions[*id].generation == crate::store::Generation::V2)
    else {
        return Ok(());
    };
    let store = match kind {
        TargetKind::Sqlite => location.db.clone(),
        TargetKind::Json => location.data_dir.join("storage"),
    };
    bail!(UserError::new(format!(
        "session {id} was written by OpenCode 2.x; the store at {} is OpenCode 1.x",
        store.display()
    ))
    .hint("upgrade OpenCode to 2.x (it upgrades the store on its first start) and restore again, or restore into a 2.x store with --store; nothing was restored"))
}

/// The IDs of the archived sessions named in `only` and all their descendants; every
/// session when `only` is empty.
fn select(archive: &Archive, only: &[String]) -> Result<BTreeSet<String>> {
    if only.is_empty() {
        return Ok(archive.sessions.keys().cloned().collect());
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
            if s.parent_id.as_deref().is_some_and(|p| wanted.contains(p)) {
                wanted.insert(s.id.as_str());
            }
        }
        if wanted.len() == before {
            break;
        }
    }
    Ok(wanted.into_iter().map(str::to_owned).collect())
}

/// `<data>/storage/session_diff/<id>.json` for restored sessions (`(id, diff)`), only
/// where none exists; written after the store, so a failed restore leaves none.
fn write_session_diffs(data_dir: &Path, diffs: &[(String, Value)]) -> Result<()> {
    for (id, diff) in diffs {
        let dir = data_dir.join("storage").join("session_diff");
        let path = dir.join(format!("{id}.json"));
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
