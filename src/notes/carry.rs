//! Carrying notes to other commits: merging two git-opencode notes into one (union by
//! session), and writing merged notes onto commits in one notes commit. The post-rewrite
//! hook carries notes from rewritten commits to their new ones; `remap` carries them to
//! commits a forge squashed or rebased.

use super::{note_text_of, HEADER};
use crate::git::{Edit, Oid, RefMoved, Repo};
use anyhow::Result;
use std::collections::BTreeMap;

/// The prefix of the line that says where a note was carried from.
pub const CARRIED: &str = "carried from ";

/// A note in our notes ref, parsed: what someone else wrote in it, our session entries (id,
/// and the entry's lines), and the lines that say where it was carried from.
#[derive(Debug, Default, PartialEq, Eq)]
struct Note {
    foreign: Vec<String>,
    ours: bool,
    entries: Vec<(String, String)>,
    carried: Vec<String>,
}

fn parse(text: &str) -> Note {
    let mut note = Note::default();
    let mut in_ours = false;
    for line in text.lines() {
        if line == HEADER {
            // git's own copy in "concatenate" mode may leave several of our sections.
            in_ours = true;
            note.ours = true;
            continue;
        }
        if in_ours {
            if let Some(rest) = line.strip_prefix("- ") {
                let id = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                note.entries.push((id, format!("{line}\n")));
                continue;
            }
            if line.starts_with("  ") {
                if let Some((_, entry)) = note.entries.last_mut() {
                    entry.push_str(line);
                    entry.push('\n');
                    continue;
                }
            }
            if line.starts_with(CARRIED) {
                note.carried.push(line.to_owned());
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
        }
        note.foreign.push(line.to_owned());
    }
    while note.foreign.last().is_some_and(|l| l.trim().is_empty()) {
        note.foreign.pop();
    }
    note
}

fn render(note: &Note) -> String {
    let mut text = String::new();
    for line in &note.foreign {
        text.push_str(line);
        text.push('\n');
    }
    if !note.ours {
        return text;
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(HEADER);
    text.push('\n');
    for (_, entry) in &note.entries {
        text.push_str(entry);
    }
    for line in &note.carried {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// One note holding both: every session of either (ours first, an entry of `theirs` only
/// for a session `ours` does not name), every "carried from" line, and what others wrote in
/// either.
pub fn merge_texts(ours: &str, theirs: &str) -> String {
    let mut merged = parse(ours);
    let other = parse(theirs);
    merged.ours |= other.ours;
    for line in other.foreign {
        if !merged.foreign.contains(&line) {
            merged.foreign.push(line);
        }
    }
    for (id, entry) in other.entries {
        if !merged.entries.iter().any(|(known, _)| *known == id) {
            merged.entries.push((id, entry));
        }
    }
    for line in other.carried {
        if !merged.carried.contains(&line) {
            merged.carried.push(line);
        }
    }
    render(&merged)
}

/// The session IDs a note names.
pub fn sessions_of(text: &str) -> Vec<String> {
    parse(text).entries.into_iter().map(|(id, _)| id).collect()
}

/// The text of the note on `commit` in the notes tree `tree`, if any.
pub fn note_on(repo: &Repo, tree: Option<Oid>, commit: Oid) -> Result<Option<String>> {
    match tree {
        Some(tree) => Ok(repo.find_note(tree, &commit.to_string())?.1),
        None => Ok(None),
    }
}

/// Every note of the notes tree at `notes_ref`'s tip, by annotated object.
pub fn all_notes(repo: &Repo, notes_ref: &str) -> Result<BTreeMap<Oid, String>> {
    let Some(tip) = repo.ref_target(notes_ref)? else {
        return Ok(BTreeMap::new());
    };
    let tree = repo.commit_tree(tip)?;
    let mut notes = BTreeMap::new();
    for (path, blob) in repo.list_blobs(tree)? {
        if let Ok(object) = Oid::from_hex(crate::git::annotated_object(&path).as_bytes()) {
            notes.insert(object, note_text_of(repo, blob)?);
        }
    }
    Ok(notes)
}

/// How often writing notes is tried again when someone else moved the notes ref meanwhile.
const ATTEMPTS: usize = 3;

/// Merges `texts` (target commit, note text) into the notes of `notes_ref` (see
/// [`merge_texts`]; the note already there comes first) in one notes commit, moved by
/// compare-and-swap, read afresh and tried again when another writer got in between.
/// Returns the targets whose note changed.
pub fn write_merged(
    repo: &Repo,
    notes_ref: &str,
    texts: &[(Oid, String)],
    message: &str,
) -> Result<Vec<Oid>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match write_once(repo, notes_ref, texts, message) {
            Err(e) if attempt < ATTEMPTS && e.downcast_ref::<RefMoved>().is_some() => continue,
            done => return done,
        }
    }
}

fn write_once(
    repo: &Repo,
    notes_ref: &str,
    texts: &[(Oid, String)],
    message: &str,
) -> Result<Vec<Oid>> {
    let tip = repo.ref_target(notes_ref)?;
    let base_tree = tip.map(|t| repo.commit_tree(t)).transpose()?;
    let mut merged: BTreeMap<Oid, (String, Option<String>, String)> = BTreeMap::new();
    for (target, text) in texts {
        let entry = match merged.remove(target) {
            Some((path, existing, sofar)) => (path, existing, merge_texts(&sofar, text)),
            None => {
                let hex = target.to_string();
                let (path, existing) = match base_tree {
                    Some(tree) => repo.find_note(tree, &hex)?,
                    None => (hex, None),
                };
                let start = match &existing {
                    Some(old) => merge_texts(old, text),
                    None => merge_texts(text, ""),
                };
                (path, existing, start)
            }
        };
        merged.insert(*target, entry);
    }
    let mut edits = Vec::new();
    let mut changed = Vec::new();
    for (target, (path, existing, text)) in merged {
        if existing.as_deref() == Some(text.as_str()) {
            continue;
        }
        edits.push(Edit::Blob(path, text.into_bytes()));
        changed.push(target);
    }
    if edits.is_empty() {
        return Ok(changed);
    }
    let tree = repo.write_tree(base_tree, edits)?;
    let commit = repo.write_commit(tree, tip.into_iter().collect(), message, None)?;
    repo.update_ref(notes_ref, commit, tip, message.trim_end())?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(entries: &[&str]) -> String {
        let mut text = format!("{HEADER}\n");
        for id in entries {
            text.push_str(&format!(
                "- {id} title of {id}\n  model: m; tokens: 1 in, 2 out; archive: a:{id}/\n"
            ));
        }
        text
    }

    #[test]
    fn merging_is_a_union_by_session() {
        let a = note(&["ses_a"]);
        let b = note(&["ses_b", "ses_a"]);
        assert_eq!(merge_texts(&a, &b), note(&["ses_a", "ses_b"]));
        assert_eq!(merge_texts(&a, &a), a, "idempotent");
        assert_eq!(merge_texts(&a, ""), a);
        assert_eq!(sessions_of(&merge_texts(&b, &a)), ["ses_b", "ses_a"]);
    }

    #[test]
    fn carried_lines_and_other_peoples_text_are_kept() {
        let a = format!("{}carried from 1111 by remap\n", note(&["ses_a"]));
        let b = format!("reviewed by bob\n\n{}", note(&["ses_b"]));
        assert_eq!(
            merge_texts(&a, &b),
            format!(
                "reviewed by bob\n\n{}carried from 1111 by remap\n",
                note(&["ses_a", "ses_b"])
            )
        );
        // A note that is not ours at all stays as it was.
        assert_eq!(merge_texts("just text\n", ""), "just text\n");
    }

    #[test]
    fn gits_concatenated_copy_is_folded_into_one_section() {
        // What `notes.rewriteMode=concatenate` leaves after a squash.
        let concatenated = format!("{}\n{}", note(&["ses_a"]), note(&["ses_b"]));
        assert_eq!(merge_texts(&concatenated, ""), note(&["ses_a", "ses_b"]));
    }
}
