//! `git opencode doctor`: why this repository's sessions may seem gone, as data.
//!
//! OpenCode 2.x upgrades `opencode.db` in place and imports the 1.x sessions once
//! (opencode-2x.md §4). What it cannot see afterwards: 1.x sessions made or continued after
//! the import (stranded), 1.x continuations of imported sessions (divergent copies), and
//! sessions filed under `global` or a markerless `directory:` project although they ran in
//! this repository (misfiled, §5). Sessions 2.x deleted leave their 1.x rows behind and are
//! reported as such, not as lost. Then the archive side: are the hooks installed, and does
//! the archive branch hold what the store holds.
//!
//! [`diagnose`] reads and reports; [`fix`] plans and applies `--fix`. Printing is
//! `cmd::doctor`'s.

pub mod fix;

use crate::archive::{self, branch};
use crate::config::Ctx;
use crate::hooks::{self, Hook};
use crate::membership::{self, Member, ProjectIds, Rule};
use crate::store::{Generation, HiddenReason, Migration, Session, Store, StoreKind};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;

/// Which OpenCode wrote the store, told from its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreGeneration {
    /// Only the JSON file tree (`storage/`, OpenCode ≤ 1.1).
    JsonTree,
    /// `opencode.db` of OpenCode 1.2–1.18.
    #[serde(rename = "sqlite-1x")]
    Sqlite1x,
    /// A database OpenCode 2.x created: no 1.x tables.
    #[serde(rename = "fresh-2x")]
    Fresh2x,
    /// A 1.x database OpenCode 2.x upgraded in place: both generations' tables.
    #[serde(rename = "upgraded-2x")]
    Upgraded2x,
}

impl StoreGeneration {
    pub fn describe(self) -> &'static str {
        match self {
            StoreGeneration::JsonTree => "OpenCode 1.1 or older, JSON files",
            StoreGeneration::Sqlite1x => "OpenCode 1.x",
            StoreGeneration::Fresh2x => "OpenCode 2.x",
            StoreGeneration::Upgraded2x => "OpenCode 2.x, upgraded from 1.x",
        }
    }

    fn of(store: &Store) -> StoreGeneration {
        let generations = store.generations();
        match (
            store.kinds().contains(&StoreKind::Sqlite),
            generations.contains(&Generation::V1),
            generations.contains(&Generation::V2),
        ) {
            (false, _, _) => StoreGeneration::JsonTree,
            (true, _, false) => StoreGeneration::Sqlite1x,
            (true, false, true) => StoreGeneration::Fresh2x,
            (true, true, true) => StoreGeneration::Upgraded2x,
        }
    }

    pub fn is_2x(self) -> bool {
        matches!(self, StoreGeneration::Fresh2x | StoreGeneration::Upgraded2x)
    }
}

/// The store: where, which generation, and how far 2.x's import of the 1.x sessions got.
#[derive(Debug, Clone, Serialize)]
pub struct StoreFacts {
    pub path: String,
    pub generation: StoreGeneration,
    /// Upgraded 2.x stores only: the `kv` row `migration.v1-v2`.
    pub import: Option<Import>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Import {
    /// `none` (no row), `sessions` (started, not finished) or `completed`.
    pub phase: &'static str,
    /// When it completed (ms since the epoch).
    pub completed: Option<i64>,
}

/// A session named in a finding.
#[derive(Debug, Clone, Serialize)]
pub struct SessionRef {
    pub id: String,
    pub title: String,
    pub updated: i64,
    #[serde(rename = "projectID")]
    pub project_id: String,
    pub directory: String,
    pub version: Option<String>,
}

impl SessionRef {
    fn of(s: &Session) -> SessionRef {
        SessionRef {
            id: s.id.clone(),
            title: s.title.clone(),
            updated: s.time_updated,
            project_id: s.project_id.clone(),
            directory: s.directory.clone(),
            version: s.summary.version.clone(),
        }
    }
}

/// What is wrong (or worth knowing); the JSON `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// 2.x has not finished importing the 1.x sessions.
    ImportUnfinished,
    /// 1.x sessions made or continued after the import: only in the 1.x tables.
    Stranded,
    /// Imported sessions 1.x continued after the import; the 2.x copy has no turns of its own.
    Divergent,
    /// Imported sessions both 1.x and 2.x continued: the histories forked.
    ContinuedInBoth,
    /// Sessions of this repository 2.x files under `global` or a `directory:` project.
    Misfiled,
    /// 1.x copies of sessions deleted in 2.x (informational).
    #[serde(rename = "deleted-in-2x")]
    DeletedIn2x,
    /// Sessions whose rows cannot be read.
    Unreadable,
    /// A hook is not installed or never runs.
    Hooks,
    /// The archive branch lacks sessions or holds older copies.
    ArchiveBehind,
}

impl Kind {
    /// Whether the finding makes `doctor` exit 1.
    pub fn needs_attention(self) -> bool {
        self != Kind::DeletedIn2x
    }

    /// Whether `doctor --fix` deals with it.
    pub fn fixable(self) -> bool {
        matches!(self, Kind::Stranded | Kind::Divergent | Kind::Misfiled)
    }

    /// What the finding means, for `n` sessions (or hooks).
    pub fn describe(self) -> &'static str {
        match self {
            Kind::ImportUnfinished => "OpenCode 2.x has not finished importing the 1.x sessions; until it does, 2.x shows only part of them",
            Kind::Stranded => "made or continued by OpenCode 1.x after 2.x imported the 1.x sessions: only in the 1.x tables, OpenCode 2.x cannot see them",
            Kind::Divergent => "continued by OpenCode 1.x after the import: 2.x shows the older copy it imported",
            Kind::ContinuedInBoth => "continued by both OpenCode 1.x and 2.x after the import: 2.x shows its own copy, the 1.x turns are only in the 1.x tables",
            Kind::Misfiled => "of this repository, but filed by OpenCode 2.x under `global` or a directory project: 2.x does not list them here",
            Kind::DeletedIn2x => "deleted in OpenCode 2.x; their 1.x copies are still in the 1.x tables (not lost, not shown)",
            Kind::Unreadable => "damaged: the store holds sessions it cannot read",
            Kind::Hooks => "sessions are archived on commit and push only with both hooks installed",
            Kind::ArchiveBehind => "not in the archive branch, or newer in the store than there",
        }
    }

    /// What to do about it, in one line.
    pub fn hint(self) -> &'static str {
        match self {
            Kind::ImportUnfinished => "start OpenCode 2.x once and let it finish; never delete the kv row migration.v1-v2 (that empties the event table)",
            Kind::Stranded | Kind::Divergent | Kind::Misfiled => "git opencode doctor --fix (stop OpenCode first; the store is backed up)",
            Kind::ContinuedInBoth => "doctor --fix leaves these alone; OpenCode 1.x still shows its copy, and git opencode export shows the 2.x one",
            Kind::DeletedIn2x => "nothing to do if you deleted them; the archive branch keeps what was archived before",
            Kind::Unreadable => "git opencode verify names the damaged rows; other sessions are archived as usual",
            Kind::Hooks => "git opencode hook install",
            Kind::ArchiveBehind => "git opencode push-sessions",
        }
    }
}

/// One finding: its kind and what it concerns.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub attention: bool,
    pub fixable: bool,
    pub message: &'static str,
    pub hint: &'static str,
    /// The sessions concerned (empty for `hooks` and `import-unfinished`).
    pub sessions: Vec<SessionRef>,
    /// Further detail: the hooks not installed, the reason a session cannot be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Finding {
    fn new(kind: Kind, sessions: Vec<SessionRef>) -> Finding {
        Finding {
            kind,
            attention: kind.needs_attention(),
            fixable: kind.fixable(),
            message: kind.describe(),
            hint: kind.hint(),
            sessions,
            details: Vec::new(),
        }
    }
}

/// How many sessions of this repository the store holds, by where they are read from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub total: usize,
    /// Read from `session_v2`.
    #[serde(rename = "v2")]
    pub gen2: usize,
    /// Read from the 1.x tables (or JSON files).
    #[serde(rename = "v1")]
    pub gen1: usize,
}

/// One hook's state.
#[derive(Debug, Clone, Serialize)]
pub struct HookState {
    pub hook: &'static str,
    /// `installed`, `not-executable`, `unreachable`, `other-hook` or `absent`.
    pub state: &'static str,
}

/// The archive branch against the store.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveFacts {
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub exists: bool,
    /// Sessions of the store the archive does not hold.
    pub missing: Vec<String>,
    /// Sessions the store holds newer than the archive.
    pub behind: Vec<String>,
    /// What `git opencode prune --all` would free, judged by the archive's change stamps.
    pub prunable: crate::prune::Estimate,
}

/// Everything `doctor` found.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub store: StoreFacts,
    pub sessions: Counts,
    /// `version` of each session (`unknown` where none is recorded) and how many.
    pub versions: BTreeMap<String, usize>,
    pub hooks: Vec<HookState>,
    pub archive: ArchiveFacts,
    pub findings: Vec<Finding>,
    /// Some finding needs attention: `doctor` exits 1.
    pub attention: bool,
}

/// What [`diagnose`] read, kept for [`fix`].
pub struct Examined {
    pub store: Store,
    pub ids: ProjectIds,
    pub members: Vec<Member>,
    pub generation: StoreGeneration,
    pub migration: Migration,
}

impl Examined {
    /// Reads the store and this repository's sessions in it.
    pub fn read(ctx: &Ctx) -> Result<Examined> {
        let store = ctx.open_store()?;
        let ids = ProjectIds::resolve(&ctx.facts, &store.projects()?);
        // Not `ctx.members`: its warning about an unfinished import is a finding here.
        let members = membership::members(&ctx.facts, &ids, store.sessions()?);
        let generation = StoreGeneration::of(&store);
        let migration = store.migration()?;
        Ok(Examined {
            store,
            ids,
            members,
            generation,
            migration,
        })
    }

    /// 1.x sessions 2.x would show only after an import that has not run to its end.
    fn import_unfinished(&self) -> bool {
        self.generation == StoreGeneration::Upgraded2x
            && !matches!(self.migration, Migration::Completed { .. })
    }

    /// Live 1.x sessions of a 2.x store whose import completed.
    pub fn stranded(&self) -> Vec<&Member> {
        if !self.generation.is_2x() || !matches!(self.migration, Migration::Completed { .. }) {
            return Vec::new();
        }
        self.members
            .iter()
            .filter(|m| m.session.generation == Generation::V1)
            .collect()
    }

    pub fn divergent(&self) -> Vec<&Member> {
        self.members
            .iter()
            .filter(|m| m.session.divergent)
            .collect()
    }

    /// 2.x sessions of this repository filed under `global` or a `directory:` project,
    /// when 2.x resolves this repository to a project of its own.
    pub fn misfiled(&self, ctx: &Ctx) -> Vec<&Member> {
        if membership::current_id(&ctx.facts).is_none() {
            return Vec::new();
        }
        self.members
            .iter()
            .filter(|m| {
                m.session.generation == Generation::V2
                    && matches!(m.rule, Rule::Global | Rule::Directory)
            })
            .collect()
    }
}

/// Diagnoses this repository's sessions in the store of `ctx`.
pub fn diagnose(ctx: &Ctx) -> Result<(Diagnosis, Examined)> {
    let ex = Examined::read(ctx)?;
    let store = &ex.store;
    let refs = |members: Vec<&Member>| -> Vec<SessionRef> {
        members.iter().map(|m| SessionRef::of(&m.session)).collect()
    };
    let mut findings = Vec::new();
    let mut add = |kind: Kind, sessions: Vec<SessionRef>| {
        if !sessions.is_empty() {
            findings.push(Finding::new(kind, sessions));
        }
    };
    if ex.import_unfinished() {
        let legacy = ex
            .members
            .iter()
            .filter(|m| m.session.generation == Generation::V1)
            .collect();
        add(Kind::ImportUnfinished, refs(legacy));
    }
    add(Kind::Stranded, refs(ex.stranded()));
    add(Kind::Divergent, refs(ex.divergent()));
    let hidden = ctx.hidden_members(store, &ex.ids);
    let hidden_of = |reason: HiddenReason| -> Vec<SessionRef> {
        hidden
            .iter()
            .filter(|(_, r)| *r == reason)
            .map(|(m, _)| SessionRef::of(&m.session))
            .collect()
    };
    add(
        Kind::ContinuedInBoth,
        hidden_of(HiddenReason::ContinuedInBoth),
    );
    add(Kind::Misfiled, refs(ex.misfiled(ctx)));
    add(Kind::DeletedIn2x, hidden_of(HiddenReason::DeletedIn2x));
    let unreadable = ctx.unreadable_members(store, &ex.ids);
    if !unreadable.is_empty() {
        let mut finding = Finding::new(Kind::Unreadable, Vec::new());
        finding.details = unreadable.iter().map(|u| u.reason.clone()).collect();
        findings.push(finding);
    }

    let hooks = hook_states(ctx)?;
    let not_installed: Vec<String> = hooks
        .iter()
        .filter(|h| h.state != "installed")
        .map(|h| format!("{}: {}", h.hook, h.state))
        .collect();
    if !not_installed.is_empty() {
        let mut finding = Finding::new(Kind::Hooks, Vec::new());
        finding.details = not_installed;
        findings.push(finding);
    }

    let archive = archive_facts(ctx, &ex)?;
    let stale: Vec<&Member> = ex
        .members
        .iter()
        .filter(|m| {
            archive.missing.contains(&m.session.id) || archive.behind.contains(&m.session.id)
        })
        .collect();
    if !stale.is_empty() {
        findings.push(Finding::new(Kind::ArchiveBehind, refs(stale)));
    }

    let mut versions = BTreeMap::new();
    for m in &ex.members {
        let version = m.session.summary.version.clone();
        *versions
            .entry(version.unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
    }
    let gen2 = ex
        .members
        .iter()
        .filter(|m| m.session.generation == Generation::V2)
        .count();
    let diagnosis = Diagnosis {
        store: StoreFacts {
            path: store.location().db.display().to_string(),
            generation: ex.generation,
            // A fresh 2.x file has nothing to import (2.x reports it `completed`).
            import: (ex.generation == StoreGeneration::Upgraded2x).then_some(match ex.migration {
                Migration::NotStarted => Import {
                    phase: "none",
                    completed: None,
                },
                Migration::InProgress => Import {
                    phase: "sessions",
                    completed: None,
                },
                Migration::Completed { at } => Import {
                    phase: "completed",
                    completed: Some(at),
                },
            }),
        },
        sessions: Counts {
            total: ex.members.len(),
            gen2,
            gen1: ex.members.len() - gen2,
        },
        versions,
        hooks,
        archive,
        attention: findings.iter().any(|f| f.attention),
        findings,
    };
    Ok((diagnosis, ex))
}

fn hook_states(ctx: &Ctx) -> Result<Vec<HookState>> {
    let dir = ctx.repo.hooks_dir()?;
    Hook::ALL
        .into_iter()
        .map(|hook| {
            let state = match hooks::state(&dir, hook)? {
                hooks::State::Installed => "installed",
                hooks::State::NotExecutable => "not-executable",
                hooks::State::Unreachable(_) => "unreachable",
                hooks::State::OtherHook => "other-hook",
                hooks::State::Absent => "absent",
            };
            Ok(HookState {
                hook: hook.file_name(),
                state,
            })
        })
        .collect()
}

/// The archive branch's month indexes against the store's change stamps, the way
/// `push-sessions` weighs them: a session is behind when the store's copy changed since
/// (its stamp differs and it changed later than the archived copy).
fn archive_facts(ctx: &Ctx, ex: &Examined) -> Result<ArchiveFacts> {
    let ref_name = archive::resolve_ref(&ctx.repo, None)?;
    let tip = branch::read_tip(&ctx.repo, &ref_name)?;
    let entries = match &tip {
        Some(tip) => branch::read_entries(&ctx.repo, tip.tree)?,
        None => BTreeMap::new(),
    };
    let stamps = ex.store.change_stamps()?;
    let (mut missing, mut behind) = (Vec::new(), Vec::new());
    for m in &ex.members {
        let id = &m.session.id;
        match (entries.get(id), stamps.get(id)) {
            (None, _) => missing.push(id.clone()),
            (Some(entry), Some(stamp))
                if entry.stamp != stamp.text && stamp.changed > entry.last_change() =>
            {
                behind.push(id.clone())
            }
            _ => {}
        }
    }
    let prunable = if tip.is_some() {
        crate::prune::estimate(&ex.store, &ex.members, |id| {
            !missing.iter().any(|m| m == id) && !behind.iter().any(|b| b == id)
        })?
    } else {
        crate::prune::Estimate::default()
    };
    Ok(ArchiveFacts {
        ref_name,
        exists: tip.is_some(),
        missing,
        behind,
        prunable,
    })
}
