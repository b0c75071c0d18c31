//! Carrying notes to commits a forge made: a squash merge or a rebase merge creates commits
//! with no note, whose work was done (and noted) in other commits. For each commit of a range
//! without a git-opencode note, the noted commits it contains are found, and their sessions
//! noted on it with where they were carried from.
//!
//! "Contains", in order of strength:
//! 1. **Same patch**: a candidate with the same `git patch-id --stable` (a rebase merge, a
//!    cherry-pick, a rebase done without our hook). Only these count when there are any.
//! 2. **Squashed branch**: the net change of a branch of candidates (from where it forked
//!    off the commit's history to a noted tip) has the commit's patch ID: a squash merge of
//!    the whole branch, however its commits rewrote each other's lines. Every noted commit of
//!    that branch counts.
//! 3. **Contains its changes**: for a squash commit, every candidate that changed only files
//!    the commit changed, and whose added lines and removed lines per file are each a
//!    sub-multiset of the commit's (trailing whitespace aside). A candidate whose lines a later
//!    commit of the same squash rewrote is not found this way; its session usually is, by
//!    that later commit.
//!
//! Candidates are the noted commits this clone has (the newest 2,000), outside the range and
//! not reachable from the range's base (those are noted where they are), found by one
//! bounded walk.

use super::carry::{self, CARRIED};
use crate::git::COMMIT_MESSAGE_PREFIX;
use crate::git::{CommitDiff, Oid, Repo};
use anyhow::Result;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Most commits the walk for candidates visits.
const WALK_LIMIT: usize = 100_000;
/// Most noted commits considered, the newest: the commits of squash-merged branches stay
/// outside every later range, and remap's cost must not grow with the repository's age.
const MAX_CANDIDATES: usize = 2_000;

/// How a target commit was found to contain its sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    SamePatch,
    SquashedBranch,
    ContainsChanges,
}

/// Most candidate branches tried for one commit (each costs a `git diff-tree`).
const BRANCH_TRIES: usize = 20;

/// One note to carry: the sessions of `sources`, onto `target`.
#[derive(Debug, Clone)]
pub struct Carry {
    pub target: Oid,
    pub sources: Vec<Oid>,
    pub how: How,
    pub sessions: Vec<String>,
    /// The note to merge onto `target`.
    pub text: String,
}

/// What remapping a range finds.
#[derive(Debug, Default)]
pub struct Plan {
    pub carries: Vec<Carry>,
    /// Commits of the range that already have a note.
    pub noted: usize,
    /// Commits of the range without a note, and nothing found to carry to them.
    pub unmatched: Vec<Oid>,
}

/// Finds the notes to carry to `range` (its commits, newest first) whose base (the commits
/// not in the range start there) is `base`.
pub fn plan(repo: &Repo, notes_ref: &str, range: &[Oid], base: Option<Oid>) -> Result<Plan> {
    let notes: BTreeMap<Oid, String> = carry::all_notes(repo, notes_ref)?
        .into_iter()
        .filter(|(_, text)| !carry::sessions_of(text).is_empty())
        .collect();
    let mut plan = Plan::default();
    let in_range: HashSet<Oid> = range.iter().copied().collect();
    let mut targets = Vec::new();
    for &commit in range {
        if notes.contains_key(&commit) {
            plan.noted += 1;
        } else if repo.parent_count(commit) == Some(1) {
            targets.push(commit);
        } else {
            plan.unmatched.push(commit); // a merge or a root: nothing to compare it with
        }
    }
    if targets.is_empty() {
        return Ok(plan);
    }
    let mut noted: Vec<(i64, Oid)> = notes
        .keys()
        .copied()
        .filter(|c| !in_range.contains(c) && repo.parent_count(*c).is_some_and(|n| n <= 1))
        .map(|c| (repo.commit_time(c), c))
        .collect();
    noted.sort_by(|a, b| b.cmp(a));
    let noted: Vec<Oid> = noted
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(_, c)| c)
        .collect();
    let outside = repo.not_reachable_from(&noted, base, WALK_LIMIT)?;
    let candidates: Vec<Oid> = noted.into_iter().filter(|c| outside.contains(c)).collect();
    let mut all = targets.clone();
    all.extend(&candidates);
    let diffs = repo.commit_diffs(&all)?;
    let diff_of: HashMap<Oid, &CommitDiff> = diffs.iter().map(|d| (d.commit, d)).collect();
    let candidate_diffs: Vec<&CommitDiff> = candidates
        .iter()
        .filter_map(|c| diff_of.get(c).copied())
        .collect();
    for &target in &targets {
        let Some(diff) = diff_of.get(&target) else {
            plan.unmatched.push(target);
            continue;
        };
        let (mut how, mut sources) = match_sources(diff, &candidate_diffs);
        if how == How::ContainsChanges {
            if let Some(branch) = squashed_branch(repo, diff, &candidate_diffs)? {
                (how, sources) = (How::SquashedBranch, branch);
            }
        }
        // In the order they were made, as the note and the output list them.
        sources.sort_by_key(|c| (repo.commit_time(*c), *c));
        if sources.is_empty() {
            plan.unmatched.push(target);
            continue;
        }
        let mut text = String::new();
        for source in &sources {
            let carried = format!("{}\n{CARRIED}{source} by remap\n", notes[source].trim_end());
            text = carry::merge_texts(&text, &carried);
        }
        plan.carries.push(Carry {
            target,
            sessions: carry::sessions_of(&text),
            sources,
            how,
            text,
        });
    }
    Ok(plan)
}

/// The candidates `target` contains, and how (see the module's doc).
fn match_sources(target: &CommitDiff, candidates: &[&CommitDiff]) -> (How, Vec<Oid>) {
    if let Some(id) = &target.patch_id {
        let same: Vec<Oid> = candidates
            .iter()
            .filter(|c| c.patch_id.as_ref() == Some(id))
            .map(|c| c.commit)
            .collect();
        if !same.is_empty() {
            return (How::SamePatch, same);
        }
    }
    let contained = candidates
        .iter()
        .filter(|c| contains(target, c))
        .map(|c| c.commit)
        .collect();
    (How::ContainsChanges, contained)
}

/// The noted commits of a candidate branch whose net change is `target`'s (see the module's
/// doc); `None` when no such branch is found.
fn squashed_branch(
    repo: &Repo,
    target: &CommitDiff,
    candidates: &[&CommitDiff],
) -> Result<Option<Vec<Oid>>> {
    let Some(wanted) = &target.patch_id else {
        return Ok(None);
    };
    // Only branches that touched the commit's files; newest first, so tips come first.
    let mut tips: Vec<(i64, Oid)> = candidates
        .iter()
        .filter(|c| {
            c.files
                .iter()
                .any(|f| target.files.iter().any(|t| t.path == f.path))
        })
        .map(|c| (repo.commit_time(c.commit), c.commit))
        .collect();
    tips.sort_by(|a, b| b.cmp(a));
    let noted: HashSet<Oid> = candidates.iter().map(|c| c.commit).collect();
    let mut tried: HashSet<Oid> = HashSet::new();
    for (_, tip) in tips.into_iter().take(BRANCH_TRIES) {
        if !tried.insert(tip) {
            continue;
        }
        let Some(fork) = repo.merge_base(tip, target.commit) else {
            continue;
        };
        let branch = repo.commits_in(&format!("{fork}..{tip}"))?;
        if repo.net_patch_id(fork, tip)?.as_ref() == Some(wanted) {
            return Ok(Some(
                branch.into_iter().filter(|c| noted.contains(c)).collect(),
            ));
        }
        // A commit inside a branch that did not match gives a part of it: not tried again.
        tried.extend(branch);
    }
    Ok(None)
}

/// Whether every added and removed line of `part` is among those of `whole` for the same
/// file (as multisets), and `part` changed at least one line.
pub fn contains(whole: &CommitDiff, part: &CommitDiff) -> bool {
    let mut lines = 0;
    for file in &part.files {
        let Some(big) = whole.files.iter().find(|f| f.path == file.path) else {
            return false;
        };
        if !sub_multiset(&file.added, &big.added) || !sub_multiset(&file.removed, &big.removed) {
            return false;
        }
        lines += file.added.len() + file.removed.len();
    }
    lines > 0
}

fn sub_multiset(part: &[String], whole: &[String]) -> bool {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for line in whole {
        *counts.entry(line).or_default() += 1;
    }
    part.iter().all(|line| match counts.get_mut(line.as_str()) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    })
}

/// Writes the notes of `plan` (merged with any note there meanwhile) in one notes commit;
/// the targets whose note changed.
pub fn write(repo: &Repo, notes_ref: &str, plan: &Plan) -> Result<Vec<Oid>> {
    let texts: Vec<(Oid, String)> = plan
        .carries
        .iter()
        .map(|c| (c.target, c.text.clone()))
        .collect();
    let message = format!(
        "{COMMIT_MESSAGE_PREFIX}notes carried by remap to {} commit(s)\n",
        texts.len()
    );
    carry::write_merged(repo, notes_ref, &texts, &message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::FileLines;

    fn diff(id: u8, files: &[(&str, &[&str], &[&str])]) -> CommitDiff {
        CommitDiff {
            commit: Oid::from_hex(format!("{id:02x}").repeat(20).as_bytes()).unwrap(),
            patch_id: None,
            files: files
                .iter()
                .map(|(path, added, removed)| FileLines {
                    path: (*path).to_owned(),
                    added: added.iter().map(|l| (*l).to_owned()).collect(),
                    removed: removed.iter().map(|l| (*l).to_owned()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_squash_contains_the_commits_whose_lines_it_has() {
        let squash = diff(
            1,
            &[
                ("a.rs", &["fn a() {}", "}", "}"], &["old a"]),
                ("b.rs", &["fn b() {}"], &[]),
            ],
        );
        assert!(contains(
            &squash,
            &diff(2, &[("a.rs", &["fn a() {}", "}"], &["old a"])])
        ));
        assert!(contains(
            &squash,
            &diff(3, &[("b.rs", &["fn b() {}"], &[])])
        ));
        // A line it does not have, a file it did not change, a line more often than it has.
        assert!(!contains(
            &squash,
            &diff(4, &[("a.rs", &["fn z() {}"], &[])])
        ));
        assert!(!contains(
            &squash,
            &diff(5, &[("c.rs", &["fn b() {}"], &[])])
        ));
        assert!(!contains(
            &squash,
            &diff(6, &[("b.rs", &["fn b() {}", "fn b() {}"], &[])])
        ));
        // Added is not removed: the direction counts.
        assert!(!contains(
            &squash,
            &diff(7, &[("a.rs", &[], &["fn a() {}"])])
        ));
        // A commit that changed no line (mode change, empty) is in everything: never matched.
        assert!(!contains(&squash, &diff(8, &[("a.rs", &[], &[])])));
        assert!(!contains(&squash, &diff(9, &[])));
    }

    #[test]
    fn the_same_patch_wins_over_containment() {
        let mut target = diff(1, &[("a.rs", &["x", "y"], &[])]);
        target.patch_id = Some("p".into());
        let mut same = diff(2, &[("a.rs", &["x", "y"], &[])]);
        same.patch_id = Some("p".into());
        let part = diff(3, &[("a.rs", &["x"], &[])]);
        assert_eq!(
            match_sources(&target, &[&part, &same]),
            (How::SamePatch, vec![same.commit])
        );
        assert_eq!(
            match_sources(&target, &[&part]),
            (How::ContainsChanges, vec![part.commit])
        );
    }
}
