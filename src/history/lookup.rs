//! Finding a session by its ID wherever this repository keeps it: OpenCode's store first,
//! else the archive branch (the local ref, then the remote-tracking copies a clone or a
//! `fetch` made), so that a clone with no OpenCode at all reads its history too. Also the
//! notes that link commits to sessions, local first, then the fetched copies.

use crate::archive::{self, lookup::find_session};
use crate::config::Ctx;
use crate::git::{Oid, Repo};
use crate::notes::{self, Noted};
use crate::store::{Session, Store};
use crate::transcript::Facts;
use anyhow::Result;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Where a session was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// OpenCode's store.
    Store,
    /// The archive branch at this ref.
    Archive(String),
}

impl Origin {
    /// `store`, or the ref.
    pub fn describe(&self) -> &str {
        match self {
            Origin::Store => "store",
            Origin::Archive(name) => name,
        }
    }
}

/// One session, read whole: the model every reader of the history works on.
#[derive(Debug, Clone)]
pub struct Found {
    pub id: String,
    /// The export document `{info, messages}` (either generation).
    pub doc: Value,
    /// The extra record (todos, diffs, v2 rows); may be empty.
    pub extra: Map<String, Value>,
    pub origin: Origin,
    /// Its directory on the archive branch, `sessions/<YYYY-MM>/<id>` (where the store's
    /// copy is archived, or was read from).
    pub archive_dir: String,
}

impl Found {
    pub fn title(&self) -> &str {
        self.doc["info"]["title"].as_str().unwrap_or_default()
    }

    pub fn facts(&self) -> Facts {
        Facts::of(&self.doc)
    }

    /// The checkout the session ran in (1.x `directory` less its `path`, 2.x `location`).
    pub fn directory(&self) -> String {
        let info = &self.doc["info"];
        match info["location"]["directory"].as_str() {
            Some(dir) => dir.to_owned(),
            None => archive::checkout::session_root(info),
        }
    }

    /// The files its steps changed, relative to its checkout where under it.
    pub fn files_changed(&self) -> Vec<String> {
        let messages = self.doc["messages"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        notes::files_changed(&self.id, &self.directory(), messages)
    }
}

/// The places sessions and notes are read from, opened once.
pub struct Sources {
    repo: Repo,
    store: Option<(Store, HashMap<String, Session>)>,
    /// Archive trees, by ref: the local archive ref first, then its remote-tracking copies.
    archives: Vec<(String, Oid)>,
    /// Notes trees, by ref: the local notes ref first, then fetched copies.
    notes: Vec<(String, Oid)>,
    /// The archive ref (as configured), for paths shown to the user.
    pub archive_ref: String,
    /// The notes ref (as configured).
    pub notes_ref: String,
}

impl Sources {
    /// The store of `ctx` when there is one (a clone without OpenCode has none: that is no
    /// error here), and the archive and notes refs of its repository.
    pub fn open(ctx: &Ctx) -> Result<Sources> {
        let location = &ctx.store_location;
        let has_store = location.db.exists() || location.data_dir.join("storage").is_dir();
        let store = match has_store {
            true => {
                let store = ctx.open_store()?;
                let sessions = store
                    .sessions()?
                    .into_iter()
                    .map(|s| (s.id.clone(), s))
                    .collect();
                Some((store, sessions))
            }
            false => None,
        };
        let repo = ctx.repo.clone();
        let archive_ref = archive::resolve_ref(&repo, None)?;
        let notes_ref = notes::resolve_ref(&repo, None)?;
        let archives = with_copies(&repo, &archive_ref)?;
        let notes = with_copies(&repo, &notes_ref)?;
        Ok(Sources {
            repo,
            store,
            archives,
            notes,
            archive_ref,
            notes_ref,
        })
    }

    /// Whether there is anything to read sessions from.
    pub fn is_empty(&self) -> bool {
        self.store.is_none() && self.archives.is_empty()
    }

    /// Whether an archive (local or fetched) is there to read.
    pub fn has_archive(&self) -> bool {
        !self.archives.is_empty()
    }

    /// What was searched, for a message: `the OpenCode store <db> or the archive <ref>`.
    pub fn searched(&self) -> String {
        let mut places = Vec::new();
        if let Some((store, _)) = &self.store {
            places.push(format!(
                "the OpenCode store {}",
                store.location().db.display()
            ));
        }
        let refs: Vec<&str> = self
            .archives
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        if !refs.is_empty() {
            places.push(format!("the archive {}", refs.join(", ")));
        }
        match places.is_empty() {
            true => format!("no OpenCode store nor archive {}", self.archive_ref),
            false => places.join(" or "),
        }
    }

    /// Session `id`: the store's copy, else the first archive that holds it.
    pub fn find(&self, id: &str) -> Result<Option<Found>> {
        if let Some((store, sessions)) = &self.store {
            if let Some(session) = sessions.get(id) {
                let docs = archive::documents::Documents::read(store, session, None)?;
                return Ok(Some(Found {
                    id: id.to_owned(),
                    doc: docs.doc,
                    extra: docs.extra,
                    origin: Origin::Store,
                    archive_dir: archive::branch::session_dir(session),
                }));
            }
        }
        for (name, tree) in &self.archives {
            if let Some((dir, session)) = find_session(&self.repo, name, *tree, id)? {
                return Ok(Some(Found {
                    id: id.to_owned(),
                    doc: session.doc,
                    extra: session.extra,
                    origin: Origin::Archive(name.clone()),
                    archive_dir: dir,
                }));
            }
        }
        Ok(None)
    }

    /// The sessions git-opencode's notes link to `commit`, from every notes ref that has a
    /// note of ours on it (each session once); `None` when none has.
    pub fn noted(&self, commit: Oid) -> Result<Option<Vec<Noted>>> {
        let hex = commit.to_string();
        let mut found: Option<Vec<Noted>> = None;
        for (_, tree) in &self.notes {
            let (_, text) = self.repo.find_note(*tree, &hex)?;
            let Some(text) = text.filter(|t| t.contains(notes::HEADER)) else {
                continue;
            };
            let list = found.get_or_insert_with(Vec::new);
            for noted in notes::noted_sessions(&text) {
                if !list.iter().any(|n| n.id == noted.id) {
                    list.push(noted);
                }
            }
        }
        Ok(found)
    }

    /// The path a user passes to `git show` for a session's transcript on the archive
    /// branch: `<ref>:<dir>/transcript.md`, the branch named short.
    pub fn transcript_path(&self, found: &Found) -> String {
        let name = self
            .archive_ref
            .strip_prefix("refs/heads/")
            .unwrap_or(&self.archive_ref);
        format!("{name}:{}/transcript.md", found.archive_dir)
    }
}

/// The tree of `local` (a full ref name) when it exists, then of its copies fetched from
/// remotes: `refs/remotes/<remote>/<branch>` as `git clone` and `git fetch` make them for
/// a branch, and `refs/opencode/remotes/<remote>/…`, where `push-sessions --remote` fetches.
fn with_copies(repo: &Repo, local: &str) -> Result<Vec<(String, Oid)>> {
    let mut refs = Vec::new();
    for name in super::corpus::archive_refs(repo, local)? {
        if let Some(tip) = repo.ref_target(&name)? {
            refs.push((name, tip));
        }
    }
    let mut trees = Vec::with_capacity(refs.len());
    for (name, tip) in refs {
        trees.push((name, repo.commit_tree(tip)?));
    }
    Ok(trees)
}
