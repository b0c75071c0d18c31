//! Root commits (the parentless commits older OpenCode versions take a project ID from),
//! remembered between runs.
//!
//! Finding the roots means walking the whole history: about a second per 300,000 commits
//! without a commit-graph. The post-commit hook runs on every commit, so the roots of each
//! ref tip are kept in `<common-dir>/git-opencode/roots`. History is immutable, so a commit's
//! roots never change: the next run walks only from the new tips and stops at any commit it
//! already knows (usually the new commit's parent), taking that commit's roots as they were.
//!
//! Shallow repositories and replaced objects (`refs/replace/`) change what the parents of a
//! commit are; while either is in effect nothing is read from or written to the cache.

use anyhow::{Context, Result};
use gix::ObjectId;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

/// The roots of commits computed so far: from the cache file, and from this run's walks.
pub struct RootCache {
    /// Where the cache lives; `None` when it must not be used.
    path: Option<PathBuf>,
    known: HashMap<ObjectId, Vec<ObjectId>>,
    /// The tips asked for in this run: what the file keeps next time.
    used: BTreeSet<ObjectId>,
}

impl RootCache {
    /// The cache of `repo`, in `dir`; empty when missing, unreadable or not to be used.
    pub fn load(repo: &gix::Repository, dir: PathBuf) -> RootCache {
        let usable = repo.is_shallow().is_ok_and(|shallow| !shallow) && !has_replacements(repo);
        let path = usable.then(|| dir.join("roots"));
        let known = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|text| parse(&text))
            .unwrap_or_default();
        RootCache {
            path,
            known,
            used: BTreeSet::new(),
        }
    }

    /// Parentless commits reachable from any of `tips`, as sorted hex strings.
    pub fn roots(&mut self, repo: &gix::Repository, tips: &[ObjectId]) -> Result<Vec<String>> {
        let mut all = BTreeSet::new();
        let mut unknown = Vec::new();
        for &tip in tips {
            self.used.insert(tip);
            match self.known.get(&tip) {
                Some(roots) => all.extend(roots.iter().copied()),
                None => unknown.push(tip),
            }
        }
        // Oldest first: a newer tip's walk then stops at an older tip it descends from. Only
        // the tips walked need their commit read for this.
        unknown.sort_by_cached_key(|&tip| commit_time(repo, tip));
        for tip in unknown {
            if !self.known.contains_key(&tip) {
                let roots = self.walk(repo, tip)?;
                self.known.insert(tip, roots);
            }
            all.extend(self.known[&tip].iter().copied());
        }
        Ok(all.into_iter().map(|id| id.to_string()).collect())
    }

    /// The roots of `tip`: the walk stops at commits whose roots are known.
    fn walk(&self, repo: &gix::Repository, tip: ObjectId) -> Result<Vec<ObjectId>> {
        let found = RefCell::new(BTreeSet::new());
        let walk = repo
            .rev_walk([tip])
            .selected(|id| match self.known.get(id) {
                Some(roots) => {
                    found.borrow_mut().extend(roots.iter().copied());
                    false
                }
                None => true,
            })
            .context("failed to walk the commit history")?;
        let mut parentless = Vec::new();
        for info in walk {
            let info = info.context("failed to walk the commit history")?;
            if info.parent_ids.is_empty() {
                parentless.push(info.id);
            }
        }
        let mut roots = found.into_inner();
        roots.extend(parentless);
        Ok(roots.into_iter().collect())
    }

    /// Writes the roots of this run's tips back, when they differ from the file. Best effort:
    /// a read-only repository only loses the speed-up.
    pub fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let mut text = String::new();
        for tip in &self.used {
            text.push_str(&tip.to_string());
            for root in &self.known[tip] {
                text.push(' ');
                text.push_str(&root.to_string());
            }
            text.push('\n');
        }
        if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
            return;
        }
        let _ = write_atomically(path, &text);
    }
}

/// `<tip> <root> <root>…` per line; a line that does not parse is skipped.
fn parse(text: &str) -> HashMap<ObjectId, Vec<ObjectId>> {
    let mut known = HashMap::new();
    for line in text.lines() {
        let ids: Option<Vec<ObjectId>> = line
            .split(' ')
            .map(|hex| ObjectId::from_hex(hex.as_bytes()).ok())
            .collect();
        if let Some(ids) = ids {
            if let Some((tip, roots)) = ids.split_first() {
                known.insert(*tip, roots.to_vec());
            }
        }
    }
    known
}

fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().expect("the cache file is in a directory");
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut temp, text.as_bytes())?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn commit_time(repo: &gix::Repository, id: ObjectId) -> i64 {
    repo.find_commit(id)
        .ok()
        .and_then(|c| c.time().ok())
        .map_or(0, |t| t.seconds)
}

/// Whether any `refs/replace/` ref exists (git then walks replaced parents).
fn has_replacements(repo: &gix::Repository) -> bool {
    repo.references()
        .ok()
        .and_then(|refs| {
            refs.prefixed("refs/replace/")
                .ok()
                .map(|mut i| i.next().is_some())
        })
        .unwrap_or(false)
}
