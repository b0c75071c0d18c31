//! The post-rewrite hook's work: carry git-opencode's notes from each commit that
//! `commit --amend` or `rebase` rewrote to the commit that replaced it, whatever
//! `notes.rewriteRef` says. Several commits squashed into one (`rebase -i` squash and fixup)
//! give that one the union of their notes.
//!
//! It reads no session store, only the notes tree, and writes one notes commit: it runs in
//! the hook's own process (no worker, no timeout needed) and never fails the rewrite; errors
//! go to the hook log like the other hooks'. `GIT_OPENCODE_SKIP` does not skip it: a skipped
//! snapshot is made up by the next one, a note not carried now is lost to this clone.

use super::run::record;
use super::Hook;
use crate::config::GlobalOptions;
use crate::error;
use crate::git::COMMIT_MESSAGE_PREFIX;
use crate::git::{Oid, Repo};
use crate::notes::{self, carry};
use anyhow::{Context, Result};
use std::io::Read;
use std::time::Instant;

/// Runs the hook: `args` are git's (`amend` or `rebase`), `input` its stdin.
pub fn post_rewrite(_options: GlobalOptions, args: &[String], input: &mut dyn Read) {
    let started = Instant::now();
    let repo = match Repo::discover() {
        Ok(repo) => repo,
        Err(e) => {
            eprintln!("git-opencode post-rewrite: {}", error::one_line(&e));
            return;
        }
    };
    let mut text = String::new();
    let result = input
        .read_to_string(&mut text)
        .context("failed to read the rewritten commits from git")
        .and_then(|_| carry_rewrites(&repo, args.first().map(String::as_str), &text));
    let (ok, message) = match result {
        Ok(message) => (true, message),
        Err(e) => (false, error::one_line(&e)),
    };
    record(
        &repo.state_dir(),
        Hook::PostRewrite,
        ok,
        &message,
        started.elapsed(),
    );
}

/// The (old, new) pairs of git's post-rewrite input: `<old> <new> [<extra>]` lines.
pub fn rewritten_pairs(input: &str) -> Vec<(Oid, Oid)> {
    input
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let old = Oid::from_hex(words.next()?.as_bytes()).ok()?;
            let new = Oid::from_hex(words.next()?.as_bytes()).ok()?;
            Some((old, new))
        })
        .collect()
}

fn carry_rewrites(repo: &Repo, command: Option<&str>, input: &str) -> Result<String> {
    let notes_ref = notes::resolve_ref(repo, None)?;
    let pairs = rewritten_pairs(input);
    let Some(tip) = repo.ref_target(&notes_ref)? else {
        return Ok(format!(
            "{} commit(s) rewritten; no notes in {notes_ref}",
            pairs.len()
        ));
    };
    let tree = Some(repo.commit_tree(tip)?);
    let mut texts = Vec::new();
    for (old, new) in &pairs {
        if let Some(text) = carry::note_on(repo, tree, *old)? {
            texts.push((*new, text));
        }
    }
    let command = command.unwrap_or("rewrite");
    let message = format!(
        "{COMMIT_MESSAGE_PREFIX}notes carried over {command} to {} commit(s)\n",
        texts.len()
    );
    let changed = carry::write_merged(repo, &notes_ref, &texts, &message)?;
    Ok(format!(
        "{command}: {} commit(s) rewritten, {} note(s) carried in {notes_ref}",
        pairs.len(),
        changed.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gits_input_lines() {
        let a = "1".repeat(40);
        let b = "2".repeat(40);
        let input = format!("{a} {b}\n{a} {b} extra info\nnot a line\n\n");
        let pairs = rewritten_pairs(&input);
        let (a, b) = (
            Oid::from_hex(a.as_bytes()).unwrap(),
            Oid::from_hex(b.as_bytes()).unwrap(),
        );
        assert_eq!(pairs, [(a, b), (a, b)]);
    }
}
