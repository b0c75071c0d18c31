//! Searching the sessions only an archive holds, in their `transcript.md`.
//!
//! What costs time is reading objects, so each is read once: a month's tree when the first
//! of its sessions is searched, then per session its directory's tree and its transcript
//! blob (the same two reads per session `git grep` makes). The sessions are split between
//! threads, each opening the repository for itself, and the matches are gathered by
//! session for the caller to print in order.

use super::corpus::{Archived, Entry, Source};
use super::lines;
use super::search::{touched_file, FileFilter, Filters, Match, Pattern};
use crate::git::{Oid, Repo};
use crate::notes::touched;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::path::Path;

/// The matches of each of `entries` (sessions whose copy to read is archived) in the
/// repository at `git_dir`, by session ID; sessions without a match are left out.
pub fn matches(
    git_dir: &Path,
    entries: &[&Entry],
    pattern: &Pattern,
    filters: &Filters,
) -> Result<HashMap<String, Vec<Match>>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(entries.len().max(1));
    // Consecutive sessions share month trees: each thread takes one run of them.
    let chunk = entries.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = entries
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut reader = Reader::new(Repo::reopen(git_dir)?);
                    let mut found = HashMap::new();
                    for entry in part {
                        let Source::Archive(copy) = &entry.source else {
                            continue;
                        };
                        let matches = reader.search(&entry.id, copy, pattern, filters)?;
                        if !matches.is_empty() {
                            found.insert(entry.id.clone(), matches);
                        }
                    }
                    Ok::<_, anyhow::Error>(found)
                })
            })
            .collect();
        let mut all = HashMap::new();
        for worker in workers {
            all.extend(worker.join().expect("an archive reader does not panic")?);
        }
        Ok(all)
    })
}

/// Reads archived sessions, keeping the month trees it has listed.
struct Reader {
    repo: Repo,
    /// `(archive tree, month directory)` → the month's session directories by name.
    months: HashMap<(Oid, String), HashMap<String, Oid>>,
}

impl Reader {
    fn new(repo: Repo) -> Reader {
        Reader {
            repo,
            months: HashMap::new(),
        }
    }

    /// The tree of the session directory `copy.dir`, if the archive has it.
    fn session_tree(&mut self, copy: &Archived) -> Result<Option<Oid>> {
        let Some((month, name)) = copy.dir.rsplit_once('/') else {
            return Ok(None);
        };
        let key = (copy.tree, month.to_owned());
        if !self.months.contains_key(&key) {
            let listing = match self.repo.entry_at(copy.tree, month)? {
                Some(entry) if entry.is_tree => self
                    .repo
                    .tree_entries(entry.id, &format!("{month} in {}", copy.ref_name))?
                    .into_iter()
                    .filter(|e| e.is_tree)
                    .map(|e| (e.name, e.id))
                    .collect(),
                _ => HashMap::new(),
            };
            self.months.insert(key.clone(), listing);
        }
        Ok(self.months[&key].get(name).copied())
    }

    /// The matches in session `id`'s transcript (its `session.json` is read only to tell
    /// whether it changed `--file`).
    fn search(
        &mut self,
        id: &str,
        copy: &Archived,
        pattern: &Pattern,
        filters: &Filters,
    ) -> Result<Vec<Match>> {
        let Some(dir) = self.session_tree(copy)? else {
            return Ok(Vec::new());
        };
        let what = |file: &str| format!("{}/{file} in {}", copy.dir, copy.ref_name);
        let files: HashMap<String, Oid> = self
            .repo
            .tree_entries(dir, &what(""))?
            .into_iter()
            .map(|e| (e.name, e.id))
            .collect();
        if let Some(file) = &filters.file {
            if !self.touched(id, files.get("session.json"), file, &what("session.json"))? {
                return Ok(Vec::new());
            }
        }
        let Some(transcript) = files.get("transcript.md") else {
            return Ok(Vec::new());
        };
        let blob = self.repo.read_blob(*transcript, &what("transcript.md"))?;
        let text = String::from_utf8_lossy(&blob);
        // Most transcripts hold no match: one scan of the whole text tells.
        if !pattern.regex.is_match(&text) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        lines::transcript_lines(&text, |l| {
            if !filters.admits(l.role, l.tool) {
                return;
            }
            for (line, ranges) in pattern.matching_lines(l.line) {
                out.push(Match {
                    message: l.message,
                    message_id: None,
                    role: l.role,
                    tool: l.tool.map(str::to_owned),
                    line: line.to_owned(),
                    ranges,
                });
            }
        });
        Ok(out)
    }

    /// Whether the archived `session.json` (blob `doc`) says the session changed `file`.
    fn touched(&self, id: &str, doc: Option<&Oid>, file: &FileFilter, what: &str) -> Result<bool> {
        let Some(doc) = doc else {
            return Ok(false);
        };
        let doc = crate::json::parse_slice(&self.repo.read_blob(*doc, what)?)
            .with_context(|| format!("malformed {what}"))?;
        let info = &doc["info"];
        let directory = info["directory"]
            .as_str()
            .or(info["location"]["directory"].as_str())
            .unwrap_or_default();
        let messages = doc["messages"].as_array().map_or(&[][..], Vec::as_slice);
        Ok(touched_file(
            &touched::patches_of(id, directory, messages),
            file,
        ))
    }
}
