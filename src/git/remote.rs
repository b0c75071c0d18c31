//! Syncing a ref with a remote: fetch into a private tracking ref, merge, push without
//! force, retry when someone pushed in between.
//!
//! Transport is the user's own `git` (credentials, SSH config, insteadOf all apply); every
//! object is written with gix. How two diverged tips merge is the caller's [`Merge`]: the
//! archive branch and the notes each have their own union.

use super::COMMIT_MESSAGE_PREFIX;
use super::{Edit, Oid, Repo};
use crate::error::UserError;
use anyhow::{anyhow, bail, Context, Result};
use std::process::Command;

/// How many times a push rejected because the remote moved is retried.
pub const MAX_ATTEMPTS: usize = 5;

/// The edits that turn our tree into the union of ours and theirs (both trees given).
pub type Merge = fn(&Repo, Oid, Oid) -> Result<Vec<Edit>>;

/// What bringing a remote's copy of a ref into the local ref did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// Neither the remote nor this repository has the ref.
    Neither,
    /// Only this repository has it.
    OnlyHere,
    /// Both point at the same commit.
    InSync,
    /// Ours already contains the remote's.
    Ahead,
    /// The local ref was created or moved to the remote's commit.
    FastForwarded(Oid),
    /// Both had moved: the local ref is now this merge commit.
    Merged(Oid),
}

/// What syncing one ref did.
#[derive(Debug, Default)]
pub struct SyncOutcome {
    pub merged: bool,
    pub fast_forwarded: bool,
    pub pushed: bool,
    pub attempts: usize,
}

impl SyncOutcome {
    /// What happened, in a few words: "merged and pushed", "pushed", "fast-forwarded from
    /// the remote" or "in sync".
    pub fn summary(&self) -> &'static str {
        match (self.merged, self.fast_forwarded, self.pushed) {
            (true, _, true) => "merged and pushed",
            (_, true, _) => "fast-forwarded from the remote",
            (false, false, true) => "pushed",
            _ => "in sync",
        }
    }
}

impl Repo {
    /// Fails unless `remote` is a configured remote (or a URL or path, as git accepts).
    pub fn check_remote(&self, remote: &str) -> Result<()> {
        let is_location = remote.contains('/') || remote.contains(':');
        if is_location
            || self
                .config_string(&format!("remote.{remote}.url"))
                .is_some()
        {
            return Ok(());
        }
        bail!(UserError::new(format!("no such remote '{remote}'"))
            .hint("`git remote -v` lists the remotes of this repository"))
    }
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

impl Repo {
    /// The user's `git`, run on this repository, never prompting.
    pub(super) fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(self.repo.git_dir());
        if let Some(work) = self.repo.workdir() {
            cmd.arg("--work-tree").arg(work);
        }
        // Never hang on a credential prompt (hooks and scripts have no terminal).
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        cmd.stdin(std::process::Stdio::null());
        cmd
    }

    /// Fetches the remote's `local_ref` into its tracking ref; `None` when the remote has none.
    fn fetch(&self, remote: &str, local_ref: &str) -> Result<Option<Oid>> {
        let tracking = tracking_ref(remote, local_ref);
        let output = self
            .git()
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
        self.ref_target(&tracking)
    }

    fn push(&self, remote: &str, local_ref: &str) -> Result<PushResult> {
        let output = self
            .git()
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

    /// Fetches the remote's `local_ref` into its private tracking ref and brings it into
    /// `local_ref`: created or fast-forwarded when only the remote moved, a merge commit (with
    /// `merge`'s union) when both did. Never pushes; `fetch` and [`sync_ref`](Self::sync_ref)
    /// share it.
    pub fn fetch_and_merge(&self, remote: &str, local_ref: &str, merge: Merge) -> Result<Fetched> {
        let theirs = self.fetch(remote, local_ref)?;
        let ours = self.ref_target(local_ref)?;
        Ok(match (ours, theirs) {
            (None, None) => Fetched::Neither,
            (Some(_), None) => Fetched::OnlyHere,
            (None, Some(t)) => {
                self.update_ref(local_ref, t, None, "git-opencode: fast-forward from remote")?;
                Fetched::FastForwarded(t)
            }
            (Some(o), Some(t)) if o == t => Fetched::InSync,
            (Some(o), Some(t)) if self.is_ancestor(t, o)? => Fetched::Ahead,
            (Some(o), Some(t)) if self.is_ancestor(o, t)? => {
                self.update_ref(
                    local_ref,
                    t,
                    Some(o),
                    "git-opencode: fast-forward from remote",
                )?;
                Fetched::FastForwarded(t)
            }
            (Some(o), Some(t)) => {
                let merged = self.merge(o, t, merge, remote)?;
                self.update_ref(
                    local_ref,
                    merged,
                    Some(o),
                    "git-opencode: merge from remote",
                )?;
                Fetched::Merged(merged)
            }
        })
    }

    /// Fetch, merge (with `merge` where both sides moved) and push `local_ref` until the remote
    /// has everything we have.
    pub fn sync_ref(&self, remote: &str, local_ref: &str, merge: Merge) -> Result<SyncOutcome> {
        let mut outcome = SyncOutcome::default();
        for attempt in 1..=MAX_ATTEMPTS {
            outcome.attempts = attempt;
            let to_push = match self.fetch_and_merge(remote, local_ref, merge)? {
                Fetched::Neither => return Ok(outcome),
                Fetched::OnlyHere | Fetched::Ahead => true,
                Fetched::InSync => false,
                Fetched::FastForwarded(_) => {
                    outcome.fast_forwarded = true;
                    false
                }
                Fetched::Merged(_) => {
                    outcome.merged = true;
                    true
                }
            };
            if !to_push {
                return Ok(outcome);
            }
            match self.push(remote, local_ref)? {
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

    /// The remote `fetch` uses by default: the current branch's (`branch.<name>.remote`),
    /// else `origin`.
    pub fn default_remote(&self) -> String {
        self.head_branch()
            .and_then(|branch| self.config_string(&format!("branch.{branch}.remote")))
            .filter(|remote| remote != ".")
            .unwrap_or_else(|| "origin".to_owned())
    }

    /// The short name of the branch HEAD is on; `None` on a detached HEAD.
    pub fn head_branch(&self) -> Option<String> {
        let name = self.repo.head_name().ok()??;
        name.as_bstr()
            .to_string()
            .strip_prefix("refs/heads/")
            .map(str::to_owned)
    }

    /// The full name of `branch`'s upstream (`branch.<name>.remote` and `.merge`, as
    /// `@{upstream}` resolves them), if it has one.
    pub fn upstream_of(&self, branch: &str) -> Option<String> {
        let remote = self.config_string(&format!("branch.{branch}.remote"))?;
        let merge = self.config_string(&format!("branch.{branch}.merge"))?;
        if remote == "." {
            return Some(merge);
        }
        let name = merge.strip_prefix("refs/heads/")?;
        Some(format!("refs/remotes/{remote}/{name}"))
    }

    /// A merge commit of `ours` and `theirs` whose tree is ours with `merge`'s edits.
    fn merge(&self, ours: Oid, theirs: Oid, merge: Merge, remote: &str) -> Result<Oid> {
        let our_tree = self.commit_tree(ours)?;
        let their_tree = self.commit_tree(theirs)?;
        let edits = merge(self, our_tree, their_tree)?;
        let tree = self.write_tree(Some(our_tree), edits)?;
        let message = format!("{COMMIT_MESSAGE_PREFIX}merge the archive from {remote}\n");
        self.write_commit(tree, vec![ours, theirs], &message, None)
    }
}

enum PushResult {
    Pushed,
    Rejected,
}
