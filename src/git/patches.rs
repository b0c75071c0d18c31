//! What commits changed, as text, for telling which commits carry the same work: each
//! commit's patch ID (the real `git patch-id --stable`, so a rebased or cherry-picked commit
//! matches as `git cherry` would match it) and its added and removed lines per file.
//!
//! Both come from one `git log -p` run over the commits, through the user's own `git` (as
//! remotes do): diffs as git makes them, with its rename, binary and quoting rules.

use super::{Oid, Repo};
use anyhow::{bail, Context, Result};
use std::collections::HashSet;
use std::io::Write;
use std::process::Stdio;

/// The lines one commit added to and removed from one file (trailing whitespace trimmed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileLines {
    pub path: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// One commit's change against its first parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitDiff {
    pub commit: Oid,
    /// `git patch-id --stable`; `None` for a commit without a textual diff.
    pub patch_id: Option<String>,
    pub files: Vec<FileLines>,
}

impl Repo {
    /// The diffs of `commits` (merges give no diff: leave them out).
    pub fn commit_diffs(&self, commits: &[Oid]) -> Result<Vec<CommitDiff>> {
        if commits.is_empty() {
            return Ok(Vec::new());
        }
        let list: String = commits.iter().map(|c| format!("{c}\n")).collect();
        let patch = self.piped(
            &[
                "log",
                "--no-walk=unsorted",
                "--stdin",
                "-p",
                "--format=commit %H",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--no-renames",
            ],
            list.into_bytes(),
        )?;
        let ids = self.piped(&["patch-id", "--stable"], patch.clone())?;
        let mut diffs = parse_log_patch(&String::from_utf8_lossy(&patch));
        for line in String::from_utf8_lossy(&ids).lines() {
            let mut words = line.split_whitespace();
            let (Some(patch_id), Some(commit)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(commit) = Oid::from_hex(commit.as_bytes()) else {
                continue;
            };
            if let Some(diff) = diffs.iter_mut().find(|d| d.commit == commit) {
                diff.patch_id = Some(patch_id.to_owned());
            }
        }
        Ok(diffs)
    }

    /// `git <args>` with `input` on stdin (written from a thread, so a large input and
    /// output cannot block each other); its stdout.
    fn piped(&self, args: &[&str], input: Vec<u8>) -> Result<Vec<u8>> {
        let what = format!("git {}", args[0]);
        let mut child = self
            .git()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("failed to run {what}"))?;
        let mut stdin = child.stdin.take().context("no stdin")?;
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child
            .wait_with_output()
            .with_context(|| format!("failed to run {what}"))?;
        let _ = writer.join();
        if !output.status.success() {
            bail!(
                "{what} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(output.stdout)
    }

    /// The `git patch-id --stable` of the diff from `from` to `to` (two commits): the net
    /// change of a whole branch; `None` when they do not differ in text.
    pub fn net_patch_id(&self, from: Oid, to: Oid) -> Result<Option<String>> {
        let (from, to) = (from.to_string(), to.to_string());
        let diff = self.piped(
            &[
                "diff-tree",
                "-p",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--no-renames",
                &from,
                &to,
            ],
            Vec::new(),
        )?;
        let ids = self.piped(&["patch-id", "--stable"], diff)?;
        Ok(String::from_utf8_lossy(&ids)
            .split_whitespace()
            .next()
            .map(str::to_owned))
    }

    /// The best common ancestor of `a` and `b`, if they have one.
    pub fn merge_base(&self, a: Oid, b: Oid) -> Option<Oid> {
        self.repo
            .merge_base(a, b)
            .ok()
            .flatten()
            .map(|id| id.detach())
    }

    /// The committer time of `commit` (Unix seconds); 0 when it cannot be read.
    pub fn commit_time(&self, commit: Oid) -> i64 {
        self.repo
            .find_commit(commit)
            .ok()
            .and_then(|c| c.time().ok())
            .map_or(0, |t| t.seconds)
    }

    /// How many parents `commit` has; `None` when it is not a commit of this repository (a
    /// note may name an object that was never fetched here).
    pub fn parent_count(&self, commit: Oid) -> Option<usize> {
        let commit = self.repo.find_commit(commit).ok()?;
        Some(commit.parent_ids().count())
    }

    /// The first parent of `commit`, if it has one.
    pub fn first_parent(&self, commit: Oid) -> Option<Oid> {
        let commit = self.repo.find_commit(commit).ok()?;
        let parent = commit.parent_ids().next().map(|p| p.detach());
        parent
    }

    /// Which of `wanted` are reachable from `wanted` themselves but not from `hidden`: walks
    /// at most `limit` commits, and leaves out those it did not reach.
    pub fn not_reachable_from(
        &self,
        wanted: &[Oid],
        hidden: Option<Oid>,
        limit: usize,
    ) -> Result<HashSet<Oid>> {
        let wanted_set: HashSet<Oid> = wanted.iter().copied().collect();
        let mut found = HashSet::new();
        if wanted.is_empty() {
            return Ok(found);
        }
        let walk = self
            .repo
            .rev_walk(wanted.iter().copied())
            .with_hidden(hidden)
            .all()
            .context("failed to walk the noted commits")?;
        for (i, info) in walk.enumerate() {
            if i >= limit || found.len() == wanted_set.len() {
                break;
            }
            let id = info.context("failed to walk the noted commits")?.id;
            if wanted_set.contains(&id) {
                found.insert(id);
            }
        }
        Ok(found)
    }
}

/// The commits of `git log -p --format="commit %H"` output, with their changed lines.
fn parse_log_patch(text: &str) -> Vec<CommitDiff> {
    let mut diffs: Vec<CommitDiff> = Vec::new();
    let mut in_header = false;
    for line in text.lines() {
        if let Some(hex) = line.strip_prefix("commit ") {
            if let Ok(commit) = Oid::from_hex(hex.trim().as_bytes()) {
                diffs.push(CommitDiff {
                    commit,
                    patch_id: None,
                    files: Vec::new(),
                });
                in_header = false;
                continue;
            }
        }
        let Some(diff) = diffs.last_mut() else {
            continue;
        };
        if line.starts_with("diff --git ") {
            diff.files.push(FileLines::default());
            in_header = true;
            continue;
        }
        let Some(file) = diff.files.last_mut() else {
            continue;
        };
        if in_header {
            // `--- a/<path>` then `+++ b/<path>`; /dev/null on the side that does not exist.
            if let Some(path) = line.strip_prefix("--- a/") {
                file.path = path.to_owned();
            } else if let Some(path) = line.strip_prefix("+++ b/") {
                file.path = path.to_owned();
            } else if line.starts_with("@@") {
                in_header = false;
            }
            continue;
        }
        if let Some(added) = line.strip_prefix('+') {
            file.added.push(added.trim_end().to_owned());
        } else if let Some(removed) = line.strip_prefix('-') {
            file.removed.push(removed.trim_end().to_owned());
        }
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_lines_of_each_file_of_each_commit() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let text = format!(
            "commit {a}\n\ndiff --git a/x.txt b/x.txt\nindex 1..2 100644\n--- a/x.txt\n+++ b/x.txt\n\
             @@ -1,2 +1,2 @@\n keep\n-old  \n+new\n++++ looks like a header\n\
             diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n--- a/gone.txt\n+++ /dev/null\n\
             @@ -1 +0,0 @@\n-bye\n\\ No newline at end of file\n\
             commit {b}\n"
        );
        let diffs = parse_log_patch(&text);
        assert_eq!(diffs.len(), 2);
        assert_eq!(
            diffs[0].files,
            [
                FileLines {
                    path: "x.txt".into(),
                    added: vec!["new".into(), "+++ looks like a header".into()],
                    removed: vec!["old".into()],
                },
                FileLines {
                    path: "gone.txt".into(),
                    added: vec![],
                    removed: vec!["bye".into()],
                },
            ]
        );
        assert!(diffs[1].files.is_empty());
    }
}
