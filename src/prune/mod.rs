//! `prune`: freeing the local store of sessions the archive holds exactly.
//!
//! A plan first ([`plan`]): the selected sessions of this repository, in whole families
//! (`select.rs`), each compared with the archive by restore's comparison at its deepest
//! ([`Depth::Everything`]: every message, part, todo and row by content). A family is
//! pruned only when the archive holds every session of it exactly; the others are kept,
//! each with its reason. Then, with `--force` ([`execute`]): a backup zip of exactly the
//! pruned sessions (`backup.rs`), and the deletions, which restore's `remove.rs` makes (the
//! one module that writes OpenCode's store).

pub mod age;
mod backup;
pub mod running;
mod select;

pub use select::Selection;

use crate::archive::Archive;
use crate::config::Ctx;
use crate::error::UserError;
use crate::membership::{Member, ProjectIds};
use crate::restore::remove::{self, Removal};
use crate::restore::{compare_with, Depth, Newer, State};
use crate::store::{Store, StoreKind};
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// What the user asked for.
pub struct Options {
    pub selection: Selection,
    /// Prune sessions whose archived copy is redacted (their secrets are then gone).
    pub allow_redacted: bool,
    /// Prune shared sessions (their share secret is then gone).
    pub include_shared: bool,
}

/// Why a selected session stays in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The archive does not hold it.
    NotArchived,
    /// The archive holds another copy.
    Changed(Newer),
    /// The archive holds it redacted: its secrets would be lost (`--allow-redacted`).
    Redacted,
    /// It is shared: the share secret would be lost (`--include-shared`).
    Shared,
    /// Another session of its family stays.
    WithFamily(String),
}

/// One session of the plan.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub updated: i64,
    /// Its archived copy is redacted (pruned only with `--allow-redacted`).
    pub redacted: bool,
}

/// What a prune deletes and keeps.
pub struct Plan {
    pub archive: String,
    pub prune: Vec<Entry>,
    pub kept: Vec<(Entry, Reason)>,
    /// What the deletion removes: database rows and JSON-tree files, counted.
    pub removal: Removal,
    /// The database, when the store has one.
    pub db: Option<PathBuf>,
    /// The SQLite sessions to delete with the `time_updated` the plan saw.
    sqlite: BTreeMap<String, i64>,
    /// This repository's project IDs and the sessions to delete, for the backup.
    members: (ProjectIds, Vec<Member>),
}

/// Plans the prune of the sessions `options` selects, checked against `archive`.
pub fn plan(ctx: &Ctx, store: &Store, archive: &Archive, options: &Options) -> Result<Plan> {
    let db = store
        .kinds()
        .contains(&StoreKind::Sqlite)
        .then(|| store.location().db.clone());
    if let Some(db) = &db {
        remove::check_schema(db)?;
    }
    let (ids, members) = ctx.members(store)?;
    let candidates = candidates(&members);
    let families = select::families(&candidates, &options.selection)?;
    let selected: BTreeSet<String> = families.iter().flatten().cloned().collect();
    let differences: HashMap<String, _> =
        compare_with(store, &members, archive, Depth::Everything, Some(&selected))?
            .into_iter()
            .map(|d| (d.id.clone(), d))
            .collect();
    let by_id: HashMap<&str, &Member> =
        members.iter().map(|m| (m.session.id.as_str(), m)).collect();
    let mut shared = BTreeSet::new();
    for id in &selected {
        if store
            .extra(&by_id[id.as_str()].session)?
            .contains_key("share")
        {
            shared.insert(id.clone());
        }
    }
    let verdict = |id: &str| -> Option<Reason> {
        let Some(d) = differences.get(id) else {
            return Some(Reason::NotArchived);
        };
        match d.state {
            State::Same if d.redacted && !options.allow_redacted => Some(Reason::Redacted),
            State::Same if shared.contains(id) && !options.include_shared => Some(Reason::Shared),
            State::Same => None,
            State::Changed => Some(Reason::Changed(d.newer.unwrap_or(Newer::Neither))),
            State::Missing | State::Extra => Some(Reason::NotArchived),
        }
    };
    let (prune, kept) = select::judge(families, verdict, |by| Reason::WithFamily(by.to_owned()));
    let entry = |id: &str| {
        let m = by_id[id];
        Entry {
            id: id.to_owned(),
            title: m.session.title.clone(),
            updated: m.session.time_updated,
            redacted: differences.get(id).is_some_and(|d| d.redacted),
        }
    };
    let pruned: BTreeSet<String> = prune.iter().cloned().collect();
    let sqlite: BTreeMap<String, i64> = prune
        .iter()
        .map(|id| &by_id[id.as_str()].session)
        .filter(|s| s.kind == StoreKind::Sqlite)
        .map(|s| (s.id.clone(), s.time_updated))
        .collect();
    let mut removal = match &db {
        Some(db) if !sqlite.is_empty() => {
            remove::count_sqlite(db, &sqlite.keys().cloned().collect())?
        }
        _ => Removal::default(),
    };
    let files = remove::count_json(&store.location().data_dir.join("storage"), &pruned)?;
    removal.files = files.files;
    removal.file_bytes = files.file_bytes;
    let plan = Plan {
        archive: archive.label.clone(),
        prune: prune.iter().map(|id| entry(id)).collect(),
        kept: kept.into_iter().map(|(id, r)| (entry(&id), r)).collect(),
        removal,
        db,
        sqlite,
        members: (
            ids,
            members
                .into_iter()
                .filter(|m| pruned.contains(&m.session.id))
                .collect(),
        ),
    };
    Ok(plan)
}

/// How a forced prune goes.
pub struct Force {
    /// Write the backup zip first.
    pub backup: bool,
    /// Then `VACUUM` the database.
    pub vacuum: bool,
}

/// What a forced prune did.
pub struct Done {
    pub backup: Option<PathBuf>,
    pub removal: Removal,
    /// The database's size (with its `-wal`) before and after `VACUUM`.
    pub vacuum: Option<(u64, u64)>,
}

/// Free space `VACUUM` of `db` needs: SQLite may hold two copies of the database while it
/// rebuilds it (the new one in a temporary file, then its pages in the `-wal` file).
pub fn vacuum_needs(db: &std::path::Path) -> u64 {
    remove::database_bytes(db).saturating_mul(2)
}

/// Refuses `--vacuum` when the file system holding `db` has less free space than
/// [`vacuum_needs`]; `Ok(None)` when the free space cannot be told.
pub fn check_vacuum_space(db: &std::path::Path) -> Result<Option<u64>> {
    let needs = vacuum_needs(db);
    let dir = db.parent().unwrap_or(std::path::Path::new("."));
    let Some(free) = remove::free_bytes(dir) else {
        return Ok(None);
    };
    if free < needs {
        bail!(UserError::new(format!(
            "--vacuum needs {} free next to {} and {} has {}; nothing was deleted",
            human_bytes(needs),
            db.display(),
            dir.display(),
            human_bytes(free)
        ))
        .hint(
            "free some space, or prune without --vacuum (the freed pages are reused by OpenCode)"
        ));
    }
    Ok(Some(free))
}

/// Deletes what `plan` prunes: the backup zip first (unless told not to), then the
/// database rows in one transaction, then the JSON-tree files; then `VACUUM` if asked.
/// `store` is closed before anything is deleted.
pub fn execute(ctx: &Ctx, store: Store, plan: Plan, force: &Force) -> Result<Done> {
    let mut done = Done {
        backup: None,
        removal: Removal::default(),
        vacuum: None,
    };
    if plan.prune.is_empty() {
        return Ok(done);
    }
    if force.backup {
        let ids: BTreeSet<String> = plan.prune.iter().map(|e| e.id.clone()).collect();
        done.backup = Some(backup::write(ctx, &store, &plan.members, &ids)?);
    }
    let location = store.location().clone();
    drop(store);
    let before = match (&plan.db, force.vacuum) {
        (Some(db), true) => {
            remove::checkpoint(db)?;
            Some(remove::database_bytes(db))
        }
        _ => None,
    };
    if let Some(db) = &plan.db {
        if !plan.sqlite.is_empty() {
            done.removal = remove::delete_sqlite(db, &plan.sqlite)?;
        }
    }
    let ids: BTreeSet<String> = plan.prune.iter().map(|e| e.id.clone()).collect();
    let files = remove::delete_json(&location.data_dir.join("storage"), &ids)?;
    done.removal.files = files.files;
    done.removal.file_bytes = files.file_bytes;
    if let (Some(db), Some(before)) = (&plan.db, before) {
        // The free space was checked before anything was deleted (`check_vacuum_space`).
        remove::vacuum(db)?;
        done.vacuum = Some((before, remove::database_bytes(db)));
    }
    Ok(done)
}

/// What pruning this repository's archived sessions would free, for `doctor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Estimate {
    pub sessions: usize,
    pub rows: u64,
    /// Bytes of the rows' values and of the JSON-tree files.
    pub bytes: u64,
}

/// Estimates what `prune --all` would free: whole families whose every session `archived`
/// says the archive holds as it is now. Judged by what the caller knows cheaply (doctor
/// weighs the archive's change stamps), not by content as prune itself does, so prune may
/// keep some of them.
pub fn estimate(
    store: &Store,
    members: &[Member],
    archived: impl Fn(&str) -> bool,
) -> Result<Estimate> {
    let candidates = candidates(members);
    let families = select::families(&candidates, &Selection::All)?;
    let (prune, _) = select::judge(families, |id| (!archived(id)).then_some(()), |_| ());
    let ids: BTreeSet<String> = prune.into_iter().collect();
    let sqlite: BTreeSet<String> = members
        .iter()
        .filter(|m| m.session.kind == StoreKind::Sqlite && ids.contains(&m.session.id))
        .map(|m| m.session.id.clone())
        .collect();
    let mut removal = Removal::default();
    if !sqlite.is_empty() {
        removal = remove::count_sqlite(&store.location().db, &sqlite)?;
    }
    let files = remove::count_json(&store.location().data_dir.join("storage"), &ids)?;
    Ok(Estimate {
        sessions: ids.len(),
        rows: removal.row_count(),
        bytes: removal.row_bytes + files.file_bytes,
    })
}

/// `1.2 MB`, `512 B`: sizes as people read them (powers of 1000).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The sessions of this repository as the selection sees them: ID, parent, last update.
fn candidates(members: &[Member]) -> Vec<select::Candidate> {
    members
        .iter()
        .map(|m| select::Candidate {
            id: m.session.id.clone(),
            parent_id: m.session.parent_id.clone(),
            updated: m.session.time_updated,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1000), "1.0 kB");
        assert_eq!(human_bytes(1_234_567), "1.2 MB");
        assert_eq!(human_bytes(64_000_000_000), "64.0 GB");
    }
}
