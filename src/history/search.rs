//! `search`: the lines of this repository's sessions that match a pattern, session by
//! session, newest first (the order of the [`Corpus`]).
//!
//! Where time goes, and how little of it is spent:
//! - the store's 1.x SQLite sessions are read in two queries for all of them (messages with
//!   their roles, then parts, raw); a part whose JSON text cannot hold the pattern is never
//!   parsed: a literal pattern appears in the JSON text as JSON escapes it, so its escaped
//!   form is looked for in the raw bytes first ([`Pattern::may_be_in_json`]);
//! - a session only an archive holds is searched in its `transcript.md`, which is text
//!   already (one blob, no JSON to parse); its `session.json` is read only for `--file`;
//! - a session the store and an archive both hold is read once, from the copy the
//!   [`Corpus`] chose.

use super::archived;
use super::corpus::{Corpus, Entry, Source};
use super::lines::{self, Role, Text};
use crate::git::Repo;
use crate::notes::touched;
use crate::store::{scan::RawPart, Store};
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

/// What to look for: a literal string (default) or a regular expression (`-E`), either
/// maybe case-insensitive (`-i`). Matched line by line, like `git grep`.
pub struct Pattern {
    pub(super) regex: regex::Regex,
    /// Whether a match can span lines (a regular expression can: `\s`, `[^x]`), so that
    /// lines must be matched one at a time.
    per_line: bool,
    /// A necessary condition on a JSON text holding a matching string (literal patterns
    /// only): the pattern as JSON escapes it, or any `\u` escape (which may hide it).
    json: Option<regex::bytes::Regex>,
}

impl Pattern {
    pub fn new(pattern: &str, extended: bool, ignore_case: bool) -> Result<Pattern> {
        let source = if extended {
            pattern.to_owned()
        } else {
            regex::escape(pattern)
        };
        let regex = regex::RegexBuilder::new(&source)
            .case_insensitive(ignore_case)
            .multi_line(true)
            .build()
            .map_err(|e| {
                crate::error::UserError::new(format!("invalid regular expression {pattern:?}"))
                    .because(e)
                    .hint("without -E the pattern is a literal string")
            })?;
        let json = (!extended)
            .then(|| {
                let escaped = serde_json::to_string(pattern).ok()?;
                let escaped = &escaped[1..escaped.len() - 1];
                regex::bytes::RegexBuilder::new(&format!(r"{}|\\u", regex::escape(escaped)))
                    .case_insensitive(ignore_case)
                    .build()
                    .ok()
            })
            .flatten();
        Ok(Pattern {
            regex,
            per_line: extended,
            json,
        })
    }

    /// Whether the JSON text `raw` may hold a string this pattern matches; `false` only
    /// when it cannot.
    pub fn may_be_in_json(&self, raw: &[u8]) -> bool {
        self.json.as_ref().is_none_or(|re| re.is_match(raw))
    }

    /// The lines of `text` that match, each with the byte ranges of its matches.
    pub fn matching_lines<'t>(&self, text: &'t str) -> Vec<(&'t str, Vec<Range<usize>>)> {
        let mut out = Vec::new();
        if self.per_line {
            for line in text.lines() {
                let ranges: Vec<Range<usize>> =
                    self.regex.find_iter(line).map(|m| m.range()).collect();
                if !ranges.is_empty() {
                    out.push((line, ranges));
                }
            }
            return out;
        }
        // A literal has no line end in it: find matches in the whole text, then their lines.
        let mut current: Option<(usize, usize, Vec<Range<usize>>)> = None;
        for m in self.regex.find_iter(text) {
            if m.start() == m.end() {
                continue;
            }
            match &mut current {
                Some((start, end, ranges)) if m.start() < *end => {
                    ranges.push(m.start() - *start..m.end() - *start);
                }
                _ => {
                    if let Some((s, e, ranges)) = current.take() {
                        out.push((trim_cr(&text[s..e]), ranges));
                    }
                    let start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
                    let end = text[m.end()..]
                        .find('\n')
                        .map_or(text.len(), |i| m.end() + i);
                    let ranges = std::iter::once(m.start() - start..m.end() - start).collect();
                    current = Some((start, end, ranges));
                }
            }
        }
        if let Some((s, e, ranges)) = current {
            out.push((trim_cr(&text[s..e]), ranges));
        }
        // An empty pattern matches every line, as grep's does.
        if out.is_empty() && self.regex.is_match("") {
            out = text.lines().map(|l| (l, Vec::new())).collect();
        }
        out
    }
}

fn trim_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

/// Which sessions and which of their text count.
#[derive(Debug, Default)]
pub struct Filters {
    pub role: Option<Role>,
    pub tool: Option<String>,
    /// Sessions last updated at or after this (ms).
    pub since: Option<i64>,
    /// Sessions last updated at or before this (ms).
    pub until: Option<i64>,
    pub file: Option<FileFilter>,
}

impl Filters {
    fn admits_session(&self, entry: &Entry) -> bool {
        self.since.is_none_or(|t| entry.updated >= t)
            && self.until.is_none_or(|t| entry.updated <= t)
    }

    pub(super) fn admits(&self, role: Role, tool: Option<&str>) -> bool {
        self.role.is_none_or(|r| r == role)
            && self.tool.as_deref().is_none_or(|name| tool == Some(name))
    }
}

/// `--file PATH`: sessions that changed the file (or a file under the directory) `PATH`. A
/// session names the files it changed by absolute path in the checkout it ran in, which may
/// be another clone: a file there matches by its path inside the repository as well.
#[derive(Debug, Clone)]
pub struct FileFilter {
    absolute: String,
    /// The path inside the work tree, when `PATH` is in it.
    in_repo: Option<String>,
}

impl FileFilter {
    /// `path` as given, relative to `cwd`; `workdir` is the repository's work tree.
    pub fn new(path: &Path, cwd: &Path, workdir: Option<&Path>) -> FileFilter {
        let absolute = normalize(&cwd.join(path));
        let in_repo = workdir
            .and_then(|w| absolute.strip_prefix(normalize(w)).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| !p.is_empty());
        FileFilter {
            absolute: absolute.to_string_lossy().into_owned(),
            in_repo,
        }
    }

    pub fn matches(&self, file: &str) -> bool {
        let under = |file: &str, dir: &str| {
            file.strip_prefix(dir)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under(file, &self.absolute) {
            return true;
        }
        let Some(rel) = &self.in_repo else {
            return false;
        };
        under(file, rel)
            || file
                .match_indices(rel.as_str())
                .any(|(at, _)| file[..at].ends_with('/') && under(&file[at..], rel))
    }
}

/// `path` with `.` and `..` resolved lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// One matching line.
#[derive(Debug, Clone)]
pub struct Match {
    /// The message's number in its session, 1 upwards.
    pub message: usize,
    /// The message's ID, where the copy read has one (the archive's transcript has none).
    pub message_id: Option<String>,
    pub role: Role,
    pub tool: Option<String>,
    pub line: String,
    /// Byte ranges of the matches in `line`.
    pub ranges: Vec<Range<usize>>,
}

/// The matches of one session.
pub struct SessionMatches<'c> {
    pub entry: &'c Entry,
    pub matches: Vec<Match>,
}

/// Searches every session of `corpus` for `pattern` under `filters`, and hands each session
/// that matches to `visit`, newest first. `repo` holds the archives.
pub fn search(
    repo: &Repo,
    corpus: &Corpus,
    pattern: &Pattern,
    filters: &Filters,
    visit: &mut dyn FnMut(SessionMatches<'_>) -> Result<()>,
) -> Result<()> {
    let entries: Vec<&Entry> = corpus
        .entries
        .iter()
        .filter(|e| filters.admits_session(e))
        .collect();
    let in_archives: Vec<&Entry> = entries
        .iter()
        .copied()
        .filter(|e| matches!(e.source, Source::Archive(_)))
        .collect();
    // The archives are read on other threads while this one scans the store.
    let (scanned, archived) = std::thread::scope(|scope| {
        let git_dir = repo.git_dir();
        let archived =
            scope.spawn(move || archived::matches(&git_dir, &in_archives, pattern, filters));
        let scanned = match &corpus.store {
            Some(store) => scan_store(store, &entries, pattern, filters),
            None => Ok(HashMap::new()),
        };
        let archived = archived.join().expect("the archive readers do not panic");
        (scanned, archived)
    });
    let mut scanned = scanned?;
    let mut archived = archived?;
    for entry in entries {
        let matches = match &entry.source {
            Source::Store(session) => match scanned.remove(&entry.id) {
                Some(found) => found,
                None if corpus
                    .store
                    .as_ref()
                    .is_some_and(|s| s.is_scannable(session)) =>
                {
                    continue
                }
                None => {
                    let store = corpus
                        .store
                        .as_ref()
                        .expect("a store session has its store");
                    let messages = store
                        .messages(session)
                        .with_context(|| format!("failed to read session {}", entry.id))?;
                    if let Some(file) = &filters.file {
                        let patches = touched::patches_of(&entry.id, &session.directory, &messages);
                        if !touched_file(&patches, file) {
                            continue;
                        }
                    }
                    document_matches(&messages, pattern, filters)
                }
            },
            Source::Archive(_) => archived.remove(&entry.id).unwrap_or_default(),
        };
        if !matches.is_empty() {
            visit(SessionMatches { entry, matches })?;
        }
    }
    Ok(())
}

pub(super) fn touched_file(patches: &[crate::notes::Patch], file: &FileFilter) -> bool {
    patches
        .iter()
        .flat_map(|p| &p.files)
        .any(|f| file.matches(f))
}

/// The matches in the 1.x SQLite sessions among `entries`, by session: one pass over their
/// messages and one over their parts.
fn scan_store(
    store: &Store,
    entries: &[&Entry],
    pattern: &Pattern,
    filters: &Filters,
) -> Result<HashMap<String, Vec<Match>>> {
    let ids: Vec<&str> = entries
        .iter()
        .filter(|e| matches!(&e.source, Source::Store(s) if store.is_scannable(s)))
        .map(|e| e.id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // Each message's number (by time, then ID, as the transcript orders them) and role.
    let mut keys = store.scan_messages(&ids)?;
    keys.sort_by(|a, b| {
        (&a.session_id, a.time_created, &a.id).cmp(&(&b.session_id, b.time_created, &b.id))
    });
    let mut messages: HashMap<String, (usize, Role)> = HashMap::with_capacity(keys.len());
    let mut number = 0;
    let mut last_session: Option<&str> = None;
    for key in &keys {
        if last_session != Some(key.session_id.as_str()) {
            number = 0;
            last_session = Some(&key.session_id);
        }
        number += 1;
        messages.insert(
            key.id.clone(),
            (number, Role::of_message(key.role.as_deref())),
        );
    }
    let patch_marker = memchr::memmem::Finder::new(b"\"patch\"");
    let mut touched: HashSet<String> = HashSet::new();
    // (part ID order is creation order within a message), then the match.
    let mut found: HashMap<String, Vec<(usize, String, Match)>> = HashMap::new();
    // Attachments (file parts, written with their type first) hold no text to search.
    let wanted = |head: &[u8]| !head.starts_with(br#"{"type":"file""#);
    store.scan_parts(&ids, &wanted, &mut |part: RawPart<'_>| {
        let Some(&(number, role)) = messages.get(part.message_id) else {
            return Ok(());
        };
        if let Some(file) = &filters.file {
            if !touched.contains(part.session_id) && patch_marker.find(part.data).is_some() {
                if let Ok(value) = crate::json::parse_slice(part.data) {
                    let files = value["files"].as_array().into_iter().flatten();
                    if value["type"] == "patch"
                        && files.filter_map(Value::as_str).any(|f| file.matches(f))
                    {
                        touched.insert(part.session_id.to_owned());
                    }
                }
            }
        }
        if !pattern.may_be_in_json(part.data) {
            return Ok(());
        }
        // A damaged part has no text to find; `list` and `pack` report damaged rows.
        let Ok(value) = crate::json::parse_slice(part.data) else {
            return Ok(());
        };
        let mut texts = Vec::new();
        lines::part_texts(&value, role, &mut texts);
        let part_id = value["id"].as_str().unwrap_or_default().to_owned();
        for m in text_matches(&texts, number, Some(part.message_id), pattern, filters) {
            found
                .entry(part.session_id.to_owned())
                .or_default()
                .push((number, part_id.clone(), m));
        }
        Ok(())
    })?;
    Ok(found
        .into_iter()
        .filter(|(session, _)| filters.file.is_none() || touched.contains(session))
        .map(|(session, mut matches)| {
            // Stable: a part's matches stay in text order.
            matches.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            (session, matches.into_iter().map(|(_, _, m)| m).collect())
        })
        .collect())
}

/// The matches in `texts` of message `number`.
pub(super) fn text_matches(
    texts: &[Text<'_>],
    number: usize,
    message_id: Option<&str>,
    pattern: &Pattern,
    filters: &Filters,
) -> Vec<Match> {
    let mut out = Vec::new();
    for text in texts.iter().filter(|t| filters.admits(t.role, t.tool)) {
        for (line, ranges) in pattern.matching_lines(text.text) {
            out.push(Match {
                message: number,
                message_id: message_id.map(str::to_owned),
                role: text.role,
                tool: text.tool.map(str::to_owned),
                line: line.to_owned(),
                ranges,
            });
        }
    }
    out
}

/// The matches in a session read whole (a JSON-tree or 2.x session): its messages as
/// `opencode export` has them.
fn document_matches(messages: &[Value], pattern: &Pattern, filters: &Filters) -> Vec<Match> {
    let mut out = Vec::new();
    let mut number = 0;
    let mut texts = Vec::new();
    for message in messages {
        texts.clear();
        let id = if message.get("info").is_some() {
            lines::message_texts(message, &mut texts);
            message["info"]["id"].as_str()
        } else {
            if !lines::flat_is_numbered(message) {
                continue;
            }
            lines::flat_texts(message, &mut texts);
            message["id"].as_str()
        };
        number += 1;
        out.extend(text_matches(&texts, number, id, pattern, filters));
    }
    out
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    fn lines_of(p: &Pattern, text: &str) -> Vec<(String, Vec<Range<usize>>)> {
        p.matching_lines(text)
            .into_iter()
            .map(|(l, r)| (l.to_owned(), r))
            .collect()
    }

    #[test]
    fn literals_regexes_and_case() {
        let text = "one naïve café\nTwo CAFÉ café\nthree a.c\r\n";
        let literal = Pattern::new("café", false, false).unwrap();
        assert_eq!(
            lines_of(&literal, text),
            vec![
                ("one naïve café".to_owned(), vec![11..16]),
                ("Two CAFÉ café".to_owned(), vec![10..15]),
            ]
        );
        let folded = Pattern::new("CAFÉ", false, true).unwrap();
        assert_eq!(lines_of(&folded, text)[1].1, vec![4..9, 10..15]);
        let dot = Pattern::new("a.c", false, false).unwrap();
        assert_eq!(
            lines_of(&dot, text),
            vec![("three a.c".to_owned(), vec![6..9])]
        );
        let regex = Pattern::new(r"^t\w+", true, true).unwrap();
        assert_eq!(
            lines_of(&regex, text),
            vec![
                ("Two CAFÉ café".to_owned(), vec![0..3]),
                ("three a.c".to_owned(), vec![0..5])
            ]
        );
        // A regex does not match across lines.
        let across = Pattern::new(r"café\s+Two", true, false).unwrap();
        assert!(lines_of(&across, text).is_empty());
        assert!(Pattern::new("(", true, false).is_err());
        assert!(Pattern::new("(", false, false).is_ok());
    }

    #[test]
    fn the_json_prefilter_never_hides_a_match() {
        let p = Pattern::new("say \"hi\"\tnow", false, false).unwrap();
        let part = serde_json::json!({"type": "text", "text": "x\nsay \"hi\"\tnow"});
        let raw = serde_json::to_vec(&part).unwrap();
        assert!(p.may_be_in_json(&raw));
        assert!(!p.may_be_in_json(br#"{"type":"text","text":"say hi now"}"#));
        // An escape may hide the pattern: such text is always parsed.
        let hidden = br#"{"type":"text","text":"caf\u00e9"}"#;
        assert!(Pattern::new("café", false, false)
            .unwrap()
            .may_be_in_json(hidden));
        let folded = Pattern::new("CAFÉ", false, true).unwrap();
        assert!(folded.may_be_in_json("{\"text\":\"café\"}".as_bytes()));
    }

    #[test]
    fn files_match_by_absolute_path_and_path_in_the_repository() {
        let f = FileFilter::new(
            Path::new("../src/a.rs"),
            Path::new("/w/repo/docs"),
            Some(Path::new("/w/repo")),
        );
        assert!(f.matches("/w/repo/src/a.rs"));
        assert!(f.matches("/elsewhere/clone/src/a.rs"));
        assert!(f.matches("src/a.rs"));
        assert!(!f.matches("/w/repo/src/a.rs.bak"));
        assert!(!f.matches("/w/repo/xsrc/a.rs"));
        let dir = FileFilter::new(
            Path::new("src"),
            Path::new("/w/repo"),
            Some(Path::new("/w/repo")),
        );
        assert!(dir.matches("/w/repo/src/a.rs"));
        assert!(!dir.matches("/w/repo/srcs/a.rs"));
    }
}
