//! Every session of this repository, wherever a copy of it is: the OpenCode store, the
//! archive branch, and the archive's remote-tracking copies (`git clone` makes
//! `refs/remotes/<remote>/…`, `push-sessions --remote` fetches into
//! `refs/opencode/remotes/<remote>/…`). Each session is listed once, newest first, with the
//! copy to read.
//!
//! Which copy: the store's, unless an archive holds a newer one (it changed later, by the
//! change times [`freshness`] weighs); a store copy whose change stamp the archive recorded
//! is the archived copy itself. Among archives, the newest copy; the local branch on a tie.
//! Nothing is read here but the store's session list and stamps and the archives' month
//! indexes: what a session says is read by the search, only for the copies it needs.
//!
//! [`freshness`]: crate::archive::freshness

use crate::archive::branch::{self, IndexEntry};
use crate::config::Ctx;
use crate::git::{Oid, Repo};
use crate::store::{Session, Store, Unreadable};
use anyhow::Result;
use std::collections::HashMap;

/// One session and the copy of it to read.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub title: String,
    /// When the session was last updated (ms), which orders the list.
    pub updated: i64,
    pub source: Source,
}

/// Where the copy to read is.
#[derive(Debug, Clone)]
pub enum Source {
    Store(Session),
    Archive(Archived),
}

/// A session's copy in an archive tree.
#[derive(Debug, Clone)]
pub struct Archived {
    /// The ref the archive was read from.
    pub ref_name: String,
    /// The archive's tree.
    pub tree: Oid,
    /// The session's directory in it (`sessions/<YYYY-MM>/<id>`).
    pub dir: String,
    pub last_change: i64,
}

/// This repository's sessions, newest first, and the store they were listed from.
pub struct Corpus {
    pub store: Option<Store>,
    pub entries: Vec<Entry>,
    /// The archive refs read, local first.
    pub refs: Vec<String>,
    /// This repository's sessions the store could not read.
    pub unreadable: Vec<Unreadable>,
}

/// Lists every session of this repository once; `archive_ref` is the archive branch (see
/// [`crate::archive::resolve_ref`]). A missing store is no error (a fresh clone needs none):
/// the archives are then all there is.
pub fn gather(ctx: &Ctx, archive_ref: &str) -> Result<Corpus> {
    let location = &ctx.store_location;
    let has_store = location.db.exists() || location.data_dir.join("storage").is_dir();
    let store = if has_store {
        Some(ctx.open_store()?)
    } else {
        None
    };
    let mut entries: HashMap<String, Entry> = HashMap::new();
    let mut stamps = HashMap::new();
    let mut unreadable = Vec::new();
    if let Some(store) = &store {
        let (ids, members) = ctx.members(store)?;
        unreadable = ctx.unreadable_members(store, &ids);
        stamps = store.change_stamps()?;
        for m in members {
            let s = m.session;
            let entry = Entry {
                id: s.id.clone(),
                title: s.title.clone(),
                updated: s.time_updated,
                source: Source::Store(s),
            };
            entries.insert(entry.id.clone(), entry);
        }
    }
    let refs = archive_refs(&ctx.repo, archive_ref)?;
    let mut read_refs = Vec::new();
    for ref_name in refs {
        // A ref of that name that is no archive (someone's own branch) is not ours to read.
        let tip = match branch::read_tip(&ctx.repo, &ref_name) {
            Ok(Some(tip)) => tip,
            Ok(None) => continue,
            Err(e) if ref_name == archive_ref => return Err(e),
            Err(_) => continue,
        };
        for (id, index) in branch::read_entries(&ctx.repo, tip.tree)? {
            let archived = Archived {
                ref_name: ref_name.clone(),
                tree: tip.tree,
                dir: index.path.clone(),
                last_change: index.last_change(),
            };
            match entries.get_mut(&id) {
                None => {
                    entries.insert(id.clone(), archive_entry(id, &index, archived));
                }
                Some(held) if archive_wins(held, &index, stamps.get(&held.id)) => {
                    *held = archive_entry(id, &index, archived);
                }
                Some(_) => {}
            }
        }
        read_refs.push(ref_name);
    }
    let mut entries: Vec<Entry> = entries.into_values().collect();
    entries.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| a.id.cmp(&b.id)));
    Ok(Corpus {
        store,
        entries,
        refs: read_refs,
        unreadable,
    })
}

fn archive_entry(id: String, index: &IndexEntry, archived: Archived) -> Entry {
    Entry {
        id,
        title: index.title.clone(),
        updated: index.updated,
        source: Source::Archive(archived),
    }
}

/// Whether the archived copy `index` replaces the copy `held` lists: it changed later. The
/// store's copy is archived when its stamp is the one the archive recorded.
fn archive_wins(
    held: &Entry,
    index: &IndexEntry,
    stamp: Option<&crate::store::ChangeStamp>,
) -> bool {
    match &held.source {
        Source::Store(_) => match stamp {
            Some(stamp) if stamp.text == index.stamp => false,
            Some(stamp) => index.last_change() > stamp.changed,
            None => index.last_change() > held.updated,
        },
        Source::Archive(other) => index.last_change() > other.last_change,
    }
}

/// The archive branch `archive_ref` and its remote-tracking copies that exist here, local
/// first: `refs/remotes/<remote>/<branch>` for a branch under `refs/heads/`, and
/// `refs/opencode/remotes/<remote>/<ref>` (what `push-sessions --remote` fetches).
pub(super) fn archive_refs(repo: &Repo, archive_ref: &str) -> Result<Vec<String>> {
    let mut refs = vec![archive_ref.to_owned()];
    let mut tracking = Vec::new();
    if let Some(branch) = archive_ref.strip_prefix("refs/heads/") {
        tracking.extend(
            repo.refs_under("refs/remotes/")?
                .into_iter()
                .filter(|r| is_remote_copy(r, "refs/remotes/", branch)),
        );
    }
    let rest = archive_ref.trim_start_matches("refs/");
    tracking.extend(
        repo.refs_under("refs/opencode/remotes/")?
            .into_iter()
            .filter(|r| is_remote_copy(r, "refs/opencode/remotes/", rest)),
    );
    refs.extend(tracking);
    Ok(refs)
}

/// Whether `name` is `<prefix><remote>/<rest>` for a remote name without a slash.
fn is_remote_copy(name: &str, prefix: &str, rest: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(remote, tail)| !remote.is_empty() && tail == rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ChangeStamp;

    fn index(stamp: &str, changed: i64) -> IndexEntry {
        serde_json::from_value(serde_json::json!({
            "path": "sessions/2026-11/ses_1", "stamp": stamp, "updated": changed,
            "changed": changed,
        }))
        .unwrap()
    }

    fn archived(changed: i64) -> Entry {
        let tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904".parse().unwrap();
        let copy = Archived {
            ref_name: "refs/heads/opencode/sessions".into(),
            tree,
            dir: "sessions/2026-11/ses_1".into(),
            last_change: changed,
        };
        archive_entry("ses_1".into(), &index("x", changed), copy)
    }

    fn in_store(updated: i64) -> Entry {
        let session = Session {
            id: "ses_1".into(),
            project_id: "p".into(),
            parent_id: None,
            title: String::new(),
            directory: "/r".into(),
            time_created: 1,
            time_updated: updated,
            kind: crate::store::StoreKind::Sqlite,
            generation: crate::store::Generation::V1,
            divergent: false,
            summary: Default::default(),
        };
        Entry {
            id: "ses_1".into(),
            title: String::new(),
            updated,
            source: Source::Store(session),
        }
    }

    #[test]
    fn the_store_copy_wins_unless_an_archive_is_newer() {
        let stamp = |text: &str, changed| ChangeStamp {
            text: text.into(),
            changed,
        };
        let held = in_store(100);
        let s1 = Some(stamp("s1", 100));
        // The archived copy of this very stamp is the store's copy: the store is read.
        assert!(!archive_wins(&held, &index("s1", 500), s1.as_ref()));
        // Another stamp: the later change wins; a tie stays with the store.
        assert!(archive_wins(&held, &index("s2", 101), s1.as_ref()));
        assert!(!archive_wins(&held, &index("s2", 100), s1.as_ref()));
        assert!(!archive_wins(&held, &index("s2", 99), s1.as_ref()));
        // Between archives: the newer copy; the first read (the local branch) on a tie.
        assert!(archive_wins(&archived(5), &index("y", 6), None));
        assert!(!archive_wins(&archived(5), &index("y", 5), None));
    }

    #[test]
    fn remote_copies_are_told_by_name() {
        let branch = "opencode/sessions";
        assert!(is_remote_copy(
            "refs/remotes/origin/opencode/sessions",
            "refs/remotes/",
            branch
        ));
        assert!(!is_remote_copy(
            "refs/remotes/origin/main",
            "refs/remotes/",
            branch
        ));
        assert!(!is_remote_copy(
            "refs/remotes/opencode/sessions",
            "refs/remotes/",
            branch
        ));
        assert!(is_remote_copy(
            "refs/opencode/remotes/origin/heads/opencode/sessions",
            "refs/opencode/remotes/",
            "heads/opencode/sessions"
        ));
    }
}
