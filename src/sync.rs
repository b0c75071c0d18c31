//! Syncing archive refs with a remote: fetch into a private tracking ref, merge, push
//! without force, retry when someone pushed in between.
//!
//! Transport is the user's own `git` (credentials, SSH config, insteadOf all apply); every
//! object is written with gix. The branch merges as a union by session ID, the newer
//! `updated` winning; notes merge as a union of lines per commit.

use crate::error::UserError;
use crate::gitobj::{self, Edit, Oid};
use crate::snapshot::{self, MANIFEST};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::process::Command;

/// How many times a push rejected because the remote moved is retried.
pub const MAX_ATTEMPTS: usize = 5;

/// Which merge a ref needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Archive,
    Notes,
}

/// What syncing one ref did.
#[derive(Debug, Default)]
pub struct SyncOutcome {
    pub merged: bool,
    pub fast_forwarded: bool,
    pub pushed: bool,
    pub attempts: usize,
}

/// Fails unless `remote` is a configured remote (or a URL or path, as git accepts).
pub fn check_remote(repo: &gix::Repository, remote: &str) -> Result<()> {
    let is_location = remote.contains('/') || remote.contains(':');
    if is_location
        || repo
            .config_snapshot()
            .string(format!("remote.{remote}.url").as_str())
            .is_some()
    {
        return Ok(());
    }
    bail!(UserError::new(format!("no such remote '{remote}'"))
        .hint("`git remote -v` lists the remotes of this repository"))
}

/// The private ref a remote's copy of `local_ref` is fetched into. Under `refs/opencode/`,
/// which git-opencode's membership rules ignore and `git fetch` of branches never touches.
pub fn tracking_ref(remote: &str, local_ref: &str) -> String {
    let safe: String = remote
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "refs/opencode/remotes/{safe}/{}",
        local_ref.trim_start_matches("refs/")
    )
}

fn git(repo: &gix::Repository) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir").arg(repo.git_dir());
    if let Some(work) = repo.workdir() {
        cmd.arg("--work-tree").arg(work);
    }
    // Never hang on a credential prompt (hooks and scripts have no terminal).
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    cmd.stdin(std::process::Stdio::null());
    cmd
}

/// Fetches the remote's `local_ref` into its tracking ref; `None` when the remote has none.
fn fetch(repo: &gix::Repository, remote: &str, local_ref: &str) -> Result<Option<Oid>> {
    let tracking = tracking_ref(remote, local_ref);
    let output = git(repo)
        .args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            remote,
        ])
        .arg(format!("+{local_ref}:{tracking}"))
        .output()
        .context("failed to run git fetch")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("couldn't find remote ref") {
            return Ok(None);
        }
        bail!("git fetch {remote} {local_ref} failed: {}", stderr.trim());
    }
    gitobj::ref_target(repo, &tracking)
}

enum PushResult {
    Pushed,
    Rejected,
}

fn push(repo: &gix::Repository, remote: &str, local_ref: &str) -> Result<PushResult> {
    let output = git(repo)
        .args(["push", "--porcelain", "--no-verify", remote])
        .arg(format!("{local_ref}:{local_ref}"))
        .output()
        .context("failed to run git push")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() {
        return Ok(PushResult::Pushed);
    }
    // Rejections that mean "someone else pushed meanwhile": the remote moved, or its ref
    // was locked by a concurrent push.
    const RACES: &[&str] = &[
        "fetch first",
        "non-fast-forward",
        "stale info",
        "failed to update ref",
        "cannot lock ref",
        "failed to lock",
    ];
    let racy = stdout
        .lines()
        .any(|l| l.starts_with('!') && RACES.iter().any(|r| l.contains(r)));
    if racy {
        return Ok(PushResult::Rejected);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = stdout
        .lines()
        .find(|l| l.starts_with('!'))
        .map(str::to_owned)
        .unwrap_or_else(|| stderr.trim().to_owned());
    Err(anyhow!(
        "the remote '{remote}' rejected {local_ref}: {reason}"
    ))
    .context(format!("failed to push {local_ref}"))
}

/// Fetch, merge and push `local_ref` until the remote has everything we have.
pub fn sync_ref(
    repo: &gix::Repository,
    remote: &str,
    local_ref: &str,
    kind: RefKind,
) -> Result<SyncOutcome> {
    let mut outcome = SyncOutcome::default();
    for attempt in 1..=MAX_ATTEMPTS {
        outcome.attempts = attempt;
        let theirs = fetch(repo, remote, local_ref)?;
        let ours = gitobj::ref_target(repo, local_ref)?;
        let to_push = match (ours, theirs) {
            (None, None) => return Ok(outcome),
            (Some(_), None) => true,
            (None, Some(t)) => {
                gitobj::update_ref(
                    repo,
                    local_ref,
                    t,
                    None,
                    "git-opencode: fast-forward from remote",
                )?;
                outcome.fast_forwarded = true;
                false
            }
            (Some(o), Some(t)) if o == t => false,
            (Some(o), Some(t)) if gitobj::is_ancestor(repo, t, o)? => true,
            (Some(o), Some(t)) if gitobj::is_ancestor(repo, o, t)? => {
                gitobj::update_ref(
                    repo,
                    local_ref,
                    t,
                    Some(o),
                    "git-opencode: fast-forward from remote",
                )?;
                outcome.fast_forwarded = true;
                false
            }
            (Some(o), Some(t)) => {
                let merged = merge(repo, o, t, kind, remote)?;
                gitobj::update_ref(
                    repo,
                    local_ref,
                    merged,
                    Some(o),
                    "git-opencode: merge from remote",
                )?;
                outcome.merged = true;
                true
            }
        };
        if !to_push {
            return Ok(outcome);
        }
        match push(repo, remote, local_ref)? {
            PushResult::Pushed => {
                outcome.pushed = true;
                return Ok(outcome);
            }
            PushResult::Rejected => {
                // Someone pushed meanwhile: back off a little (staggered by process, so two
                // racing pushers do not collide again), then fetch and merge again.
                let jitter = u64::from(std::process::id() % 7) * 30;
                std::thread::sleep(std::time::Duration::from_millis(
                    100 * attempt as u64 + jitter,
                ));
            }
        }
    }
    bail!(UserError::new(format!(
        "the remote '{remote}' kept moving: {local_ref} was rejected {MAX_ATTEMPTS} times"
    ))
    .hint("run the command again"))
}

/// A merge commit of `ours` and `theirs` whose tree is the union of both.
fn merge(
    repo: &gix::Repository,
    ours: Oid,
    theirs: Oid,
    kind: RefKind,
    remote: &str,
) -> Result<Oid> {
    let our_tree = gitobj::commit_tree(repo, ours)?;
    let their_tree = gitobj::commit_tree(repo, theirs)?;
    let edits = match kind {
        RefKind::Archive => archive_union(repo, our_tree, their_tree)?,
        RefKind::Notes => notes_union(repo, our_tree, their_tree)?,
    };
    let tree = gitobj::write_tree(repo, Some(our_tree), edits)?;
    let message = format!("git-opencode: merge the archive from {remote}\n");
    gitobj::write_commit(repo, tree, vec![ours, theirs], &message, None)
}

fn manifest_of(repo: &gix::Repository, tree: Oid) -> Result<Map<String, Value>> {
    let bytes = gitobj::read_blob_at(repo, tree, MANIFEST)?
        .ok_or_else(|| anyhow!("archive commit without {MANIFEST}"))?;
    match serde_json::from_slice(&bytes).context("malformed archive manifest")? {
        Value::Object(map)
            if map.get("format").and_then(Value::as_str) == Some(snapshot::FORMAT) =>
        {
            Ok(map)
        }
        _ => bail!("the remote's archive is not a git-opencode archive"),
    }
}

/// Sessions only they have, or that they have newer, come over as whole session
/// directories; the month indexes they touch are rewritten as the union. Our manifest stays.
fn archive_union(repo: &gix::Repository, ours: Oid, theirs: Oid) -> Result<Vec<Edit>> {
    manifest_of(repo, ours)?;
    manifest_of(repo, theirs)?;
    let mut our_sessions = snapshot::read_entries(repo, ours)?;
    let their_sessions = snapshot::read_entries(repo, theirs)?;
    let mut edits = Vec::new();
    let mut touched_months = BTreeSet::new();
    for (id, entry) in their_sessions {
        let newer = match our_sessions.get(&id) {
            None => true,
            Some(ours) => {
                entry["updated"].as_i64().unwrap_or(0) > ours["updated"].as_i64().unwrap_or(0)
            }
        };
        if !newer {
            continue;
        }
        let (Some(dir), Some(month)) = (entry["path"].as_str(), snapshot::entry_month(&entry))
        else {
            continue;
        };
        if let Some((tree, true)) = gitobj::entry_at(repo, theirs, dir)? {
            edits.push(Edit::Tree(dir.to_owned(), tree));
            touched_months.insert(month);
            our_sessions.insert(id, entry);
        }
    }
    for month in touched_months {
        edits.push(Edit::Blob(
            format!("sessions/{month}/{}", snapshot::INDEX),
            snapshot::month_index(&our_sessions, &month, None),
        ));
    }
    Ok(edits)
}

/// Every note of both sides; where both noted a commit, the lines of both, ours first.
fn notes_union(repo: &gix::Repository, ours: Oid, theirs: Oid) -> Result<Vec<Edit>> {
    // Notes trees may fan out (`ab/cdef…`): compare by the annotated object's full hex.
    let our_notes: Vec<(String, String, Oid)> = gitobj::list_blobs(repo, ours)?
        .into_iter()
        .map(|(path, id)| (path.replace('/', ""), path, id))
        .collect();
    let mut edits = Vec::new();
    for (path, id) in gitobj::list_blobs(repo, theirs)? {
        let key = path.replace('/', "");
        match our_notes.iter().find(|(k, _, _)| *k == key) {
            None => edits.push(Edit::BlobId(path, id)),
            Some((_, _, our_id)) if *our_id == id => {}
            Some((_, our_path, our_id)) => {
                let mine = blob_text(repo, *our_id)?;
                let other = blob_text(repo, id)?;
                let mut text = mine.trim_end().to_owned();
                for line in other.lines() {
                    if !mine.lines().any(|l| l == line) {
                        text.push('\n');
                        text.push_str(line);
                    }
                }
                text.push('\n');
                edits.push(Edit::Blob(our_path.clone(), text.into_bytes()));
            }
        }
    }
    Ok(edits)
}

fn blob_text(repo: &gix::Repository, id: Oid) -> Result<String> {
    let object = repo
        .find_object(id)
        .with_context(|| format!("failed to read note {id}"))?;
    Ok(String::from_utf8_lossy(&object.detach().data).into_owned())
}
