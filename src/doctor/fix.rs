//! `git opencode doctor --fix`: this repository's sessions OpenCode 2.x cannot see, brought
//! into `session_v2`.
//!
//! - Stranded 1.x sessions (made or continued after the import) are transformed by the same
//!   V1→V2 transformation 2.x's importer runs (`restore::upgrade`) and added.
//! - A divergent session's 1.x continuation replaces its 2.x copy: the authority rule flags a
//!   session divergent only when the 2.x copy has no turns of 2.x's own, so nothing of 2.x's
//!   is lost. Sessions both generations continued are reported and left alone.
//! - Misfiled sessions are re-pointed to this repository's project, as 2.x's own
//!   `worktree.resolved` projector does (opencode-2x.md §5).
//!
//! The plan is made first and is all `--dry-run` shows; writing is `restore::rescue`'s.

use super::Examined;
use crate::config::Ctx;
use crate::error::UserError;
use crate::membership::{self, Member, GLOBAL};
use crate::restore::gen2_write::ProjectSeed;
use crate::restore::rescue::{self, Repoint, Rescue};
use crate::restore::upgrade::transform_session;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What `--fix` does to one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A stranded 1.x session, transformed and added to `session_v2`.
    Add,
    /// A divergent session: its 1.x continuation replaces the 2.x copy.
    Replace,
    /// A misfiled session moved to this repository's project.
    Repoint,
}

impl Action {
    pub fn describe(self) -> &'static str {
        match self {
            Action::Add => "add to OpenCode 2.x (1.x session)",
            Action::Replace => "replace the 2.x copy with the 1.x continuation",
            Action::Repoint => "move to this repository's project",
        }
    }
}

/// One planned step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub action: Action,
    /// The project the session ends up in.
    #[serde(rename = "projectID")]
    pub project_id: String,
}

/// What `--fix` did or, with `--dry-run`, would do.
#[derive(Debug, Clone, Serialize)]
pub struct Fixed {
    pub steps: Vec<Step>,
    pub dry_run: bool,
    /// The store's backup, when something was written.
    pub backup: Option<PathBuf>,
    /// Sessions left alone, with why (continued in both generations).
    pub left: Vec<String>,
}

/// Plans and, unless `dry_run`, applies the rescue.
pub fn fix(ctx: &Ctx, ex: Examined, dry_run: bool) -> Result<Fixed> {
    if !ex.generation.is_2x() {
        bail!(UserError::new(format!(
            "the store at {} is {}: there is nothing OpenCode 2.x cannot see",
            ex.store.location().db.display(),
            ex.generation.describe()
        ))
        .hint("doctor --fix brings 1.x sessions into an OpenCode 2.x store; run it after upgrading OpenCode"));
    }
    let current = membership::current_id(&ctx.facts);
    let home = Home::new(ctx, current.clone());
    let mut rescue = Rescue::default();
    let mut steps = Vec::new();
    for m in ex.stranded() {
        let s = &m.session;
        let doc = ex.store.export_document(s)?;
        let extra = ex.store.extra(s)?;
        let mut v2 = transform_session(&doc, &extra)
            .with_context(|| format!("cannot transform session {} into 2.x rows", s.id))?;
        let project = home.project_for(&ex, m);
        home.place(&mut v2.row, &project, &s.directory);
        steps.push(step(m, Action::Add, &project));
        rescue.sessions.push(v2);
    }
    for m in ex.divergent() {
        let s = &m.session;
        let extra = ex.store.extra(s)?;
        let Some(legacy) = extra.get("legacy") else {
            continue;
        };
        let empty = serde_json::Map::new();
        let legacy_extra = legacy["extra"].as_object().unwrap_or(&empty);
        let mut v2 = transform_session(&legacy["document"], legacy_extra)
            .with_context(|| format!("cannot transform the 1.x copy of session {}", s.id))?;
        let project = home.project_for(&ex, m);
        home.place(&mut v2.row, &project, &s.directory);
        steps.push(step(m, Action::Replace, &project));
        rescue.sessions.push(v2);
    }
    if let Some(to) = &current {
        for m in ex.misfiled(ctx) {
            rescue.repoint.push(Repoint {
                session_id: m.session.id.clone(),
                from: m.session.project_id.clone(),
                to: to.clone(),
                path: home.subpath(&m.session.directory),
            });
            steps.push(step(m, Action::Repoint, to));
        }
    }
    rescue.project = home.seed();
    let left = ctx
        .hidden_members(&ex.store, &ex.ids)
        .into_iter()
        .filter(|(_, r)| *r == crate::store::HiddenReason::ContinuedInBoth)
        .map(|(m, _)| m.session.id)
        .collect();
    let mut fixed = Fixed {
        steps,
        dry_run,
        backup: None,
        left,
    };
    if dry_run || fixed.steps.is_empty() {
        return Ok(fixed);
    }
    let db = ex.store.location().db.clone();
    // The store's read connection goes first: a reader's lock would block the commit.
    drop(ex);
    let service = crate::restore::service::state_dir();
    let done = rescue::apply(&db, &rescue, service.as_deref())?;
    fixed.backup = Some(done.backup);
    Ok(fixed)
}

fn step(m: &Member, action: Action, project: &str) -> Step {
    Step {
        id: m.session.id.clone(),
        title: m.session.title.clone(),
        action,
        project_id: project.to_owned(),
    }
}

/// Where rescued sessions go: this repository's project in 2.x's terms.
struct Home {
    /// The project ID 2.x computes here (`None`: an unborn repository, which 2.x files
    /// under `global` too).
    current: Option<String>,
    checkouts: Vec<PathBuf>,
    main: Option<PathBuf>,
}

impl Home {
    fn new(ctx: &Ctx, current: Option<String>) -> Home {
        Home {
            current,
            checkouts: ctx.facts.checkouts.clone(),
            main: ctx
                .facts
                .checkouts
                .first()
                .cloned()
                .or(ctx.facts.workdir.clone()),
        }
    }

    /// A session keeps its project unless that is `global`, a `directory:` project, or a
    /// project the store has no row for (2.x's importer would file it under `global`):
    /// then it goes to this repository's project.
    fn project_for(&self, ex: &Examined, m: &Member) -> String {
        let own = &m.session.project_id;
        let misfiled = own == GLOBAL || ex.ids.directory_projects.contains(own);
        let known =
            ex.ids.ids.contains_key(own) || ex.store.project_record(own).ok().flatten().is_some();
        match &self.current {
            Some(current) if misfiled || !known => current.clone(),
            None if !known => GLOBAL.to_owned(),
            _ => own.clone(),
        }
    }

    /// Sets the row's project, and its `path` when the project changes.
    fn place(&self, row: &mut serde_json::Map<String, Value>, project: &str, directory: &str) {
        let before = row
            .get("project_id")
            .and_then(Value::as_str)
            .map(String::from);
        if before.as_deref() != Some(project) {
            row.insert("project_id".into(), project.into());
            row.insert(
                "path".into(),
                self.subpath(directory).map_or(Value::Null, Value::from),
            );
        }
    }

    /// `directory` relative to the checkout it lies in (the innermost), as 2.x's `subpath`;
    /// `None` at a checkout's root or outside every checkout.
    fn subpath(&self, directory: &str) -> Option<String> {
        let dir = std::fs::canonicalize(directory).unwrap_or_else(|_| PathBuf::from(directory));
        self.checkouts
            .iter()
            .filter_map(|c| dir.strip_prefix(c).ok())
            .min_by_key(|rest| rest.components().count())
            .map(Path::to_string_lossy)
            .filter(|rest| !rest.is_empty())
            .map(|rest| rest.into_owned())
    }

    /// This repository's project row, for a store that lacks it.
    fn seed(&self) -> Option<ProjectSeed> {
        Some(ProjectSeed {
            id: self.current.clone()?,
            worktree: self.main.as_ref()?.to_string_lossy().into_owned(),
            vcs: Some("git".into()),
            time: now_ms(),
        })
    }
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
