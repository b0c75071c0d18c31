//! Reading history the way git shows it: the commits of a revision range (with `-- <path>`
//! limiting) and the refs under a prefix, for `log` and `summary`.

use super::{Oid, Repo};
use crate::error::UserError;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// One commit as `git log --oneline` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCommit {
    pub id: Oid,
    /// The abbreviated ID, as long as git makes it (`core.abbrev` honoured).
    pub short: String,
    /// The first line of the message.
    pub subject: String,
}

impl Repo {
    /// The commits `git log <revisions> -- <paths>` lists, in its order (newest first).
    ///
    /// The user's own `git` walks them, so that revision syntax (`A..B`, `A...B`, `^A`,
    /// `--all`-free ranges), path limiting and history simplification are exactly git's;
    /// no revision is read as an option (`--end-of-options`).
    pub fn log_commits(
        &self,
        revisions: &[String],
        paths: &[PathBuf],
        max_count: Option<usize>,
    ) -> Result<Vec<LogCommit>> {
        let mut cmd = self.git();
        // %x1f (unit separator) cannot appear in an ID, and %s is one line.
        cmd.args(["log", "--no-color", "--format=%H%x1f%h%x1f%s"]);
        if let Some(n) = max_count {
            cmd.arg(format!("--max-count={n}"));
        }
        cmd.arg("--end-of-options")
            .args(revisions)
            .arg("--")
            .args(paths);
        let output = cmd.output().context("failed to run git log")?;
        let range = if revisions.is_empty() {
            "HEAD".to_owned()
        } else {
            revisions.join(" ")
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let reason = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("git log failed")
                .trim_start_matches("fatal: ")
                .to_owned();
            bail!(
                UserError::new(format!("cannot list the commits of {range}: {reason}"))
                    .hint("pass a revision range as `git log` takes it, such as main..HEAD")
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut commits = Vec::new();
        for line in stdout.lines() {
            let mut fields = line.splitn(3, '\u{1f}');
            let (Some(id), Some(short), Some(subject)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let id = Oid::from_hex(id.as_bytes())
                .with_context(|| format!("git log printed a bad commit ID {id}"))?;
            commits.push(LogCommit {
                id,
                short: short.to_owned(),
                subject: subject.to_owned(),
            });
        }
        Ok(commits)
    }
}
