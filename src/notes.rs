//! Notes mode: a git note on each commit naming the OpenCode sessions that produced it.
//!
//! A session produced a commit when one of its steps that changed files (a 1.x `patch` part,
//! a 2.x file-changing tool item: see [`touched`]) names a file the commit changed, and the
//! step happened in the commit's time window: after its parent was committed and before it
//! was (with a minute of slack either way).

pub mod carry;
pub mod remap;
pub mod touched;

use crate::archive::{self, Archive};
use crate::config::{self, Ctx};
use crate::error::UserError;
use crate::git::COMMIT_MESSAGE_PREFIX;
use crate::git::{self, Edit, Oid, Repo};
use crate::membership::Member;
use crate::redact::Redactor;
use crate::store::Store;
use anyhow::{bail, Result};
use std::collections::BTreeSet;
use std::path::Path;

/// Default notes ref.
pub const DEFAULT_REF: &str = "refs/notes/opencode";

/// The notes ref: `explicit` (a flag), else `git config opencode.notesRef`, else
/// [`DEFAULT_REF`]; a short name as git reads one (see [`config::notes_ref_setting`]).
pub fn resolve_ref(repo: &Repo, explicit: Option<&str>) -> Result<String> {
    config::notes_ref_setting(repo, explicit, config::keys::NOTES_REF, DEFAULT_REF)
}

/// Whether git copies the notes of `notes_ref` when commits are amended or rebased: only when
/// `notes.rewriteRef` names it or a glob covering it (git has no default).
pub fn rewrites_carry(repo: &Repo, notes_ref: &str) -> bool {
    repo.config_strings("notes.rewriteRef")
        .into_iter()
        .any(|value| match value.strip_suffix('*') {
            Some(prefix) => notes_ref.starts_with(prefix),
            None => value == notes_ref,
        })
}

/// The first line of every note we write; marks a note as ours.
pub const HEADER: &str = "OpenCode sessions (git-opencode):";
const SLACK_SECONDS: i64 = 60;

/// One step of a session that changed files.
#[derive(Debug, Clone)]
pub struct Patch {
    pub session_id: String,
    pub files: Vec<String>,
    /// When the step happened (Unix seconds): its 1.x message was created, or its 2.x tool
    /// call completed.
    pub time: i64,
}

/// Every step of `members` that changed files (see [`touched`]), with its time.
pub fn patches(store: &Store, members: &[Member]) -> Result<Vec<Patch>> {
    let mut out = Vec::new();
    for m in members {
        let messages = store.messages(&m.session)?;
        let s = &m.session;
        out.extend(touched::patches_of(&s.id, &s.directory, &messages));
    }
    Ok(out)
}

/// The files a session's `messages` say it changed (see [`touched`]), sorted, each relative
/// to `directory` (the checkout it ran in) when under it.
pub fn files_changed(
    session_id: &str,
    directory: &str,
    messages: &[serde_json::Value],
) -> Vec<String> {
    let root = Path::new(directory);
    let mut files: Vec<String> = touched::patches_of(session_id, directory, messages)
        .into_iter()
        .flat_map(|p| p.files)
        .map(|f| match Path::new(&f).strip_prefix(root) {
            Ok(rel) if !directory.is_empty() => rel.to_string_lossy().into_owned(),
            _ => f,
        })
        .collect();
    files.sort();
    files.dedup();
    files
}

/// The sessions whose patches touched `changed` (paths relative to the repository root)
/// within `(parent_time, commit_time]`, in order of first appearance.
pub fn matching_sessions(
    patches: &[Patch],
    checkouts: &[std::path::PathBuf],
    changed: &[String],
    commit_time: i64,
    parent_time: Option<i64>,
) -> Vec<String> {
    let mut sessions: Vec<String> = Vec::new();
    for patch in patches {
        let in_window = patch.time <= commit_time + SLACK_SECONDS
            && parent_time.is_none_or(|p| patch.time > p - SLACK_SECONDS);
        if !in_window || sessions.contains(&patch.session_id) {
            continue;
        }
        let touches = patch.files.iter().any(|file| {
            let file = Path::new(file);
            checkouts.iter().any(|root| {
                file.strip_prefix(root)
                    .ok()
                    .and_then(|rel| rel.to_str())
                    .is_some_and(|rel| changed.iter().any(|c| c == rel))
            })
        });
        if touches {
            sessions.push(patch.session_id.clone());
        }
    }
    sessions.sort();
    sessions
}

/// The note text for `sessions` of one commit.
pub fn note_text(members: &[Member], sessions: &[String], archive_ref: &str) -> String {
    let mut text = format!("{HEADER}\n");
    for id in sessions {
        let Some(m) = members.iter().find(|m| &m.session.id == id) else {
            continue;
        };
        let summary = &m.session.summary;
        text.push_str(&format!(
            "- {id} {}\n  model: {}; tokens: {} in, {} out; archive: {archive_ref}:{}/\n",
            m.session.title.replace(['\n', '\r'], " "),
            summary.model.as_deref().unwrap_or("unknown"),
            summary.tokens_input,
            summary.tokens_output,
            archive::branch::session_dir(&m.session),
        ));
    }
    text
}

/// A session a git-opencode note names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Noted {
    pub id: String,
    /// The title the note gave it (redacted as the note was).
    pub title: String,
}

/// The sessions our part of a note names (the `- <id> <title>` lines [`note_text`] writes
/// after [`HEADER`]); empty when the note has no part of ours. Someone else's text before
/// ours, as [`annotate`] keeps it, is skipped.
pub fn noted_sessions(text: &str) -> Vec<Noted> {
    let mut ours = false;
    let mut noted: Vec<Noted> = Vec::new();
    for line in text.lines() {
        if line == HEADER {
            ours = true;
            continue;
        }
        let Some(rest) = line.strip_prefix("- ").filter(|_| ours) else {
            continue;
        };
        let (id, title) = rest.split_once(' ').unwrap_or((rest, ""));
        if !id.is_empty() && !noted.iter().any(|n| n.id == id) {
            noted.push(Noted {
                id: id.to_owned(),
                title: title.to_owned(),
            });
        }
    }
    noted
}

/// The archive of the sessions the git-opencode notes of `spec` name (with their subagent
/// sessions), read from the archive branch the notes point at. `None` when `spec` is not an
/// existing ref under `refs/notes/`.
pub fn open_archive(repo: &Repo, spec: &str) -> Result<Option<Archive>> {
    let full = if spec.starts_with("refs/") {
        spec.to_owned()
    } else {
        format!("refs/notes/{spec}")
    };
    // A path such as `/tmp/x.zip` gives `refs/notes//tmp/x.zip`, which names no ref.
    if !full.starts_with("refs/notes/") || !git::is_valid_ref_name(&full) {
        return Ok(None);
    }
    let Some(tip) = repo.ref_target(&full)? else {
        return Ok(None);
    };
    let tree = repo.commit_tree(tip)?;
    let mut ids = BTreeSet::new();
    let mut archive_ref = None;
    for (_, blob) in repo.list_blobs(tree)? {
        let text = note_text_of(repo, blob)?;
        if !text.starts_with(HEADER) {
            continue; // someone else's note
        }
        // The lines `note_text` writes: `- <id> <title>` and `…; archive: <ref>:<dir>/`.
        for line in text.lines() {
            if let Some(id) = line
                .strip_prefix("- ")
                .and_then(|rest| rest.split_whitespace().next())
            {
                ids.insert(id.to_owned());
            }
            if let Some((_, tail)) = line.split_once("archive: ") {
                if let Some((name, _)) = tail.split_once(':') {
                    archive_ref.get_or_insert_with(|| name.to_owned());
                }
            }
        }
    }
    if ids.is_empty() {
        bail!(
            UserError::new(format!("{full} holds no git-opencode notes"))
                .hint("`git opencode push-sessions --notes` writes them")
        );
    }
    let archive_ref = archive_ref.unwrap_or_else(|| archive::DEFAULT_REF.to_owned());
    if repo.ref_target(&archive_ref)?.is_none() {
        bail!(UserError::new(format!(
            "the notes in {full} point at the archive {archive_ref}, which does not exist here"
        ))
        .hint("fetch it, or restore from a zip"));
    }
    archive::open_sessions(repo, &archive_ref, &ids, &full).map(Some)
}

/// What annotating did.
pub struct NotesOutcome {
    pub annotated: Vec<(Oid, Vec<String>)>,
    pub commit: Option<Oid>,
}

/// Notes every commit of `commits` that sessions produced; one notes commit for all.
pub fn annotate(
    ctx: &Ctx,
    store: &Store,
    members: &[Member],
    commits: &[Oid],
    notes_ref: &str,
    archive_ref: &str,
    redactor: Option<&Redactor>,
) -> Result<NotesOutcome> {
    let repo = &ctx.repo;
    let mut diffs = Vec::with_capacity(commits.len());
    for &commit in commits {
        let changed = repo.changed_paths(commit)?;
        diffs.push((commit, changed.paths, changed.time, changed.parent_time));
    }
    // Only sessions active after the oldest window opened can match: read just those.
    let since = diffs
        .iter()
        .map(|d| d.3.unwrap_or(i64::MIN))
        .min()
        .unwrap_or(i64::MIN);
    let active: Vec<Member> = members
        .iter()
        .filter(|m| m.session.time_updated / 1000 > since.saturating_sub(SLACK_SECONDS))
        .cloned()
        .collect();
    let patches = patches(store, &active)?;
    let tip = repo.ref_target(notes_ref)?;
    let base_tree = tip.map(|t| repo.commit_tree(t)).transpose()?;
    let mut edits = Vec::new();
    let mut annotated = Vec::new();
    for (commit, changed, time, parent_time) in diffs {
        let sessions =
            matching_sessions(&patches, &ctx.facts.checkouts, &changed, time, parent_time);
        if sessions.is_empty() {
            continue;
        }
        let mut text = note_text(members, &sessions, archive_ref);
        if let Some(r) = redactor {
            text = r.redact_str(&text).into_owned();
        }
        let hex = commit.to_string();
        let (path, existing) = match base_tree {
            Some(tree) => repo.find_note(tree, &hex)?,
            None => (hex.clone(), None),
        };
        // Keep what others wrote in this ref's note for the commit; replace only our part.
        let merged = match existing {
            Some(old) if old == text => continue,
            Some(old) if !old.starts_with(HEADER) => format!("{}\n\n{text}", old.trim_end()),
            _ => text,
        };
        edits.push(Edit::Blob(path, merged.into_bytes()));
        annotated.push((commit, sessions));
    }
    if edits.is_empty() {
        return Ok(NotesOutcome {
            annotated,
            commit: None,
        });
    }
    let tree = repo.write_tree(base_tree, edits)?;
    let message = format!(
        "{COMMIT_MESSAGE_PREFIX}notes for {} commit(s)\n",
        annotated.len()
    );
    let commit = repo.write_commit(tree, tip.into_iter().collect(), &message, None)?;
    repo.update_ref(notes_ref, commit, tip, "notes: git-opencode")?;
    Ok(NotesOutcome {
        annotated,
        commit: Some(commit),
    })
}

/// Merges two notes trees (see [`git::Merge`]): every note of both sides; where both noted
/// an object, the lines of both, ours first.
pub fn union(repo: &Repo, ours: Oid, theirs: Oid) -> Result<Vec<Edit>> {
    // Notes trees may fan out (`ab/cdef…`): compare by the annotated object.
    let our_notes: Vec<(String, String, Oid)> = repo
        .list_blobs(ours)?
        .into_iter()
        .map(|(path, id)| (git::annotated_object(&path), path, id))
        .collect();
    let mut edits = Vec::new();
    for (path, id) in repo.list_blobs(theirs)? {
        let key = git::annotated_object(&path);
        match our_notes.iter().find(|(k, _, _)| *k == key) {
            None => edits.push(Edit::BlobId(path, id)),
            Some((_, _, our_id)) if *our_id == id => {}
            Some((_, our_path, our_id)) => {
                let mine = note_text_of(repo, *our_id)?;
                let other = note_text_of(repo, id)?;
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

fn note_text_of(repo: &Repo, id: Oid) -> Result<String> {
    let bytes = repo.read_blob(id, &format!("note {id}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::{noted_sessions, Noted, HEADER};

    #[test]
    fn notes_name_their_sessions_after_our_header_only() {
        let text = format!(
            "someone else's note\n- not_a_session here\n\n{HEADER}\n\
             - ses_1 Fix the bug 🎉\n  model: mock/mock-1; tokens: 1 in, 2 out; archive: refs/heads/opencode/sessions:sessions/2026-11/ses_1/\n\
             - ses_2\n- ses_1 Fix the bug 🎉\n"
        );
        let noted = noted_sessions(&text);
        let expected = [("ses_1", "Fix the bug 🎉"), ("ses_2", "")].map(|(id, title)| Noted {
            id: id.into(),
            title: title.into(),
        });
        assert_eq!(noted, expected);
        assert!(noted_sessions("- ses_1 not ours\n").is_empty());
    }
}
