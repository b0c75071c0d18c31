//! Reading an archive back: a pack zip, a ref or commit of the archive branch, or the
//! sessions a notes ref names. The forms' own readers are [`super::pack::read`] and
//! [`super::branch::read`]; this module dispatches and holds what they share.
//!
//! Everything is read and checked before anything is written anywhere: entry names (no `..`,
//! no absolute paths, no duplicates), declared sizes (capped), the manifest's SHA-256 of
//! every entry (zip), and the shape of every session document (IDs that are safe as file
//! names and consistent with each other). Sessions are checked one at a time and only
//! listed ([`Listed`]); [`Archive::for_each`] reads them again, one at a time, for the
//! command to compare or write, so that no two are ever held at once.

use super::{branch, pack, RepositoryInfo, DEFAULT_REF, MANIFEST};
use crate::error::UserError;
use crate::git::{Oid, Repo};
use crate::store::Generation;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

/// The largest entry (or blob) read, uncompressed.
pub const MAX_ENTRY: u64 = 1 << 30;
/// The largest archive read, uncompressed, all entries together.
pub const MAX_TOTAL: u64 = 4 << 30;

/// Where an archive came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Zip,
    Git,
}

/// One archived session.
#[derive(Debug, Clone)]
pub struct ArchivedSession {
    pub id: String,
    /// The export document `{info, messages}`; every message and part carries its IDs.
    pub doc: Value,
    /// Todos, session diff, v2 rows and share URL (without `sessionID`); may be empty.
    pub extra: Map<String, Value>,
    /// The entry or tree path the document came from, for messages.
    pub origin: String,
}

impl ArchivedSession {
    pub fn info(&self) -> &Map<String, Value> {
        self.doc["info"].as_object().expect("validated on load")
    }

    pub fn title(&self) -> &str {
        self.info()
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn parent_id(&self) -> Option<&str> {
        self.info().get("parentID").and_then(Value::as_str)
    }

    pub fn project_id(&self) -> &str {
        self.info()
            .get("projectID")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn time_created(&self) -> i64 {
        time_of(self.info(), "created").unwrap_or(0)
    }

    /// `info.time.updated`, else `created`.
    pub fn time_updated(&self) -> i64 {
        time_of(self.info(), "updated").unwrap_or_else(|| self.time_created())
    }

    /// Which generation's document this is: OpenCode 2.x's `info` has a `location` object
    /// where 1.x's has `directory`.
    pub fn generation(&self) -> Generation {
        generation_of(&self.doc)
    }

    pub fn messages(&self) -> &[Value] {
        self.doc["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// One session of an archive as [`open`] found it: what listings and the choice of
/// sessions need, and where to read it again. Its document is not kept: a session can be
/// hundreds of MB, so [`Archive::for_each`] reads each again when it is needed.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    /// `info.title`.
    pub title: String,
    /// `info.parentID`.
    pub parent_id: Option<String>,
    /// Which OpenCode generation's document it is.
    pub generation: Generation,
    pub(super) place: Place,
}

/// Where a session's files are in its archive.
#[derive(Debug, Clone)]
pub(super) enum Place {
    /// Entries of the zip: the document and the extra record, with the SHA-256 each had
    /// when [`open`] read it.
    Zip {
        doc: (String, String),
        extra: Option<(String, String)>,
    },
    /// Blobs of the archive tree: `dir` is the session's directory.
    Blob {
        dir: String,
        doc: Oid,
        extra: Option<Oid>,
    },
}

impl Listed {
    pub(super) fn new(session: &ArchivedSession, place: Place) -> Listed {
        Listed {
            id: session.id.clone(),
            title: session.title().to_owned(),
            parent_id: session.parent_id().map(str::to_owned),
            generation: session.generation(),
            place,
        }
    }
}

/// An archive, opened and checked whole: every entry name, size and checksum, and every
/// session document, each read, checked and dropped in turn. Sessions are read again, one
/// at a time, by [`Archive::for_each`].
#[derive(Debug)]
pub struct Archive {
    /// The path or ref as given, for messages.
    pub label: String,
    pub kind: SourceKind,
    /// By session ID.
    pub sessions: BTreeMap<String, Listed>,
    /// The archived project rows' worktrees, by project ID (zip only).
    pub worktrees: HashMap<String, String>,
    /// Entries whose content does not match the manifest (zip only), each with the problem.
    pub checksum_failures: Vec<(String, String)>,
    /// How many entries had their checksum checked.
    pub checked: usize,
    /// Secret-shaped strings were replaced by placeholders when this was written.
    pub redacted: bool,
    /// Where to read the sessions again.
    pub(super) source: Source,
}

/// Where an [`Archive`]'s sessions are read again from.
#[derive(Debug)]
pub(super) enum Source {
    Zip(std::path::PathBuf),
    Git(Box<Repo>),
}

impl Archive {
    /// Reads the sessions `ids` (all when `None`) again, in ID order, and hands each to
    /// `visit`, which owns it: no two sessions are held at once. A zip entry that changed
    /// since [`open`] checked it is an error.
    pub fn for_each(
        &self,
        ids: Option<&BTreeSet<String>>,
        mut visit: impl FnMut(ArchivedSession) -> Result<()>,
    ) -> Result<()> {
        let (mut zip, repo) = match &self.source {
            Source::Zip(path) => (Some(pack::Reader::open(path, &self.label)?), None),
            Source::Git(repo) => (None, Some(repo)),
        };
        for listed in self.sessions.values() {
            if ids.is_some_and(|ids| !ids.contains(&listed.id)) {
                continue;
            }
            let session = match (&listed.place, zip.as_mut()) {
                (Place::Zip { doc, extra }, Some(zip)) => {
                    zip.session(&listed.id, doc, extra.as_ref())?
                }
                (Place::Blob { dir, doc, extra }, _) => {
                    let repo = repo.expect("a branch archive keeps its repository");
                    branch::read_session(repo, &self.label, &listed.id, dir, *doc, *extra)?
                }
                (Place::Zip { .. }, None) => unreachable!("a zip archive has its path"),
            };
            visit(session)?;
        }
        Ok(())
    }
}

/// How strictly to treat checksum failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksums {
    /// A mismatch is an error (restore).
    Enforce,
    /// Mismatches are collected in [`Archive::checksum_failures`] (verify).
    Report,
}

/// Opens `spec`: a ref of the archive branch when git resolves `spec` as a ref, else a zip
/// file when such a file exists, else a commit of the archive branch in `repo`.
pub fn open(repo: &Repo, spec: &str, checksums: Checksums) -> Result<Archive> {
    match locate(repo, spec)? {
        Location::Zip(path) => pack::read(path, checksums),
        Location::Commit(id) => branch::read(repo, spec, id),
    }
}

/// Where an archive named on the command line is: see [`open`].
enum Location<'a> {
    Zip(&'a Path),
    Commit(Oid),
}

/// The one decision between a zip file and a ref or commit, for [`open`] and
/// [`source_repository`]: a name git resolves as a ref is that ref, whatever files exist.
fn locate<'a>(repo: &Repo, spec: &'a str) -> Result<Location<'a>> {
    let path = Path::new(spec);
    let names_ref = repo.existing_ref(spec).is_some();
    if !names_ref && path.is_file() {
        return Ok(Location::Zip(path));
    }
    if !names_ref && path.is_dir() {
        bail!(UserError::new(format!(
            "{spec} is a directory, not a pack zip or a git ref"
        ))
        .hint(format!(
            "pass a zip written by `git opencode pack`, or a ref such as {DEFAULT_REF}"
        )));
    }
    match repo.rev_parse(spec) {
        Some(id) => Ok(Location::Commit(id)),
        None if looks_like_path(spec) => bail!(UserError::new(format!("no such file: {spec}"))
            .hint(format!(
                "pass a zip written by `git opencode pack`, or a ref such as {DEFAULT_REF}"
            ))),
        None => bail!(UserError::new(format!(
            "{spec} is neither a file nor a git ref or commit of this repository"
        ))
        .hint(format!(
            "pass a zip written by `git opencode pack`, or a ref such as {DEFAULT_REF}"
        ))),
    }
}

/// The sessions `ids` of the archive branch `archive_ref` and, however deep, their subagent
/// sessions; `label` names them in messages (a notes ref that names the sessions, say).
pub fn open_sessions(
    repo: &Repo,
    archive_ref: &str,
    ids: &BTreeSet<String>,
    label: &str,
) -> Result<Archive> {
    let Some(tip) = repo.ref_target(archive_ref)? else {
        bail!(UserError::new(format!(
            "{label} points at the archive {archive_ref}, which does not exist here"
        ))
        .hint("fetch it, or restore from a zip"));
    };
    let mut archive = branch::read(repo, archive_ref, tip)?;
    if let Some(missing) = ids.iter().find(|id| !archive.sessions.contains_key(*id)) {
        bail!("session {missing}, named in {label}, is not in the archive {archive_ref}");
    }
    let mut wanted = ids.clone();
    loop {
        let children: Vec<String> = archive
            .sessions
            .values()
            .filter(|s| s.parent_id.as_ref().is_some_and(|p| wanted.contains(p)))
            .map(|s| s.id.clone())
            .filter(|id| !wanted.contains(id))
            .collect();
        if children.is_empty() {
            break;
        }
        wanted.extend(children);
    }
    archive.sessions.retain(|id, _| wanted.contains(id));
    archive.label = label.to_owned();
    Ok(archive)
}

/// The repository the archive `spec` (as [`open`] takes it) says it was written from; `None`
/// when its manifest does not say (or it has none, as a notes ref).
pub fn source_repository(repo: &Repo, spec: &str) -> Result<Option<RepositoryInfo>> {
    // What cannot be located is left for `open` to report.
    let manifest = match locate(repo, spec) {
        Ok(Location::Zip(path)) => pack::read_manifest(path)?,
        Ok(Location::Commit(id)) => {
            let tree = repo.peel_to_tree(id, spec)?;
            repo.read_blob_at(tree, MANIFEST)?
        }
        Err(_) => None,
    };
    let Some(manifest) = manifest else {
        return Ok(None);
    };
    #[derive(serde::Deserialize)]
    struct Source {
        repository: Option<RepositoryInfo>,
    }
    let source: Source = crate::json::parse_slice(&manifest)
        .and_then(serde_json::from_value)
        .with_context(|| format!("malformed {MANIFEST} in {spec}"))?;
    Ok(source.repository)
}

fn looks_like_path(spec: &str) -> bool {
    spec.ends_with(".zip")
        || spec.starts_with('/')
        || spec.starts_with("./")
        || spec.starts_with("../")
        || spec.starts_with('~')
}

/// Whether `name` is safe as a file name component and looks like an OpenCode ID.
pub fn is_safe_id(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Rejects absolute names, `..`, `.` and empty components, backslashes, drive letters and
/// control characters.
pub(super) fn check_entry_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 1024 {
        return Err("an empty or overlong name");
    }
    if name.starts_with('/') || name.contains('\\') {
        return Err("an absolute path or a backslash");
    }
    if name.chars().any(char::is_control) {
        return Err("control characters");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err("a drive letter");
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    for component in trimmed.split('/') {
        match component {
            ".." => return Err("a '..' component"),
            "." | "" => return Err("an empty or '.' component"),
            _ => {}
        }
    }
    Ok(())
}

/// Parses and checks one export document (and its extra record): see [`check_session`].
pub(super) fn parse_session(
    id: &str,
    origin: &str,
    data: &[u8],
    extra: Option<(String, &[u8])>,
    label: &str,
) -> Result<ArchivedSession> {
    let doc: Value =
        crate::json::parse_slice(data).with_context(|| format!("malformed JSON in {origin}"))?;
    let extra = match extra {
        None => None,
        Some((name, bytes)) => {
            let value = crate::json::parse_slice(bytes)
                .with_context(|| format!("malformed JSON in {name} of {label}"))?;
            Some((name, value))
        }
    };
    check_session(id, origin, doc, extra, label)
}

/// Checks one parsed export document (and its extra record): IDs safe and consistent,
/// times numeric. Missing `sessionID`/`messageID` keys on messages and parts are filled in.
pub(super) fn check_session(
    id: &str,
    origin: &str,
    mut doc: Value,
    extra: Option<(String, Value)>,
    label: &str,
) -> Result<ArchivedSession> {
    if !is_safe_id(id) {
        bail!("{origin}: {id:?} is not a valid session ID");
    }
    let bad = |what: String| anyhow!("malformed session document {origin}: {what}");
    let Some(obj) = doc.as_object_mut() else {
        return Err(bad("not a JSON object".into()));
    };
    let info = obj
        .get("info")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no info object".into()))?;
    if info.get("id").and_then(Value::as_str) != Some(id) {
        return Err(bad(format!("info.id is not {id}")));
    }
    if time_of(info, "created").is_none() {
        return Err(bad("info.time.created is not a number".into()));
    }
    if let Some(parent) = info.get("parentID").filter(|p| !p.is_null()) {
        if !parent.as_str().is_some_and(is_safe_id) {
            return Err(bad("info.parentID is not a valid session ID".into()));
        }
    }
    let v2 = info.get("location").is_some_and(Value::is_object);
    if !obj.contains_key("messages") {
        obj.insert("messages".into(), Value::Array(Vec::new()));
    }
    let messages = obj
        .get_mut("messages")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| bad("messages is not a list".into()))?;
    let mut seen = HashSet::new();
    // A 2.x document's messages are flat: `{id, type, ...}` with no parts.
    for message in messages.iter_mut().filter(|_| v2) {
        let mid = message
            .get("id")
            .and_then(Value::as_str)
            .filter(|m| is_safe_id(m))
            .ok_or_else(|| bad("a message has no valid id".into()))?;
        if !message.get("type").is_some_and(Value::is_string) {
            return Err(bad(format!("message {mid} has no type")));
        }
        if !seen.insert(mid.to_owned()) {
            return Err(bad(format!("message {mid} appears twice")));
        }
    }
    for message in messages.iter_mut().filter(|_| !v2) {
        let message = message
            .as_object_mut()
            .ok_or_else(|| bad("a message is not an object".into()))?;
        let minfo = message
            .get_mut("info")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| bad("a message has no info object".into()))?;
        let mid = minfo
            .get("id")
            .and_then(Value::as_str)
            .filter(|m| is_safe_id(m))
            .ok_or_else(|| bad("a message has no valid id".into()))?
            .to_owned();
        if !seen.insert(mid.clone()) {
            return Err(bad(format!("message {mid} appears twice")));
        }
        check_owner(minfo, "sessionID", id).map_err(|w| bad(format!("message {mid}: {w}")))?;
        if !message.contains_key("parts") {
            message.insert("parts".into(), Value::Array(Vec::new()));
        }
        let parts = message
            .get_mut("parts")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| bad(format!("parts of message {mid} is not a list")))?;
        for part in parts.iter_mut() {
            let part = part
                .as_object_mut()
                .ok_or_else(|| bad(format!("a part of message {mid} is not an object")))?;
            let pid = part
                .get("id")
                .and_then(Value::as_str)
                .filter(|p| is_safe_id(p))
                .ok_or_else(|| bad(format!("a part of message {mid} has no valid id")))?
                .to_owned();
            if !seen.insert(pid.clone()) {
                return Err(bad(format!("part {pid} appears twice")));
            }
            check_owner(part, "sessionID", id).map_err(|w| bad(format!("part {pid}: {w}")))?;
            check_owner(part, "messageID", &mid).map_err(|w| bad(format!("part {pid}: {w}")))?;
        }
    }
    let extra = match extra {
        None => Map::new(),
        Some((name, value)) => {
            let Value::Object(mut map) = value else {
                bail!("malformed {name} of {label}: not a JSON object");
            };
            if let Some(owner) = map.remove("sessionID") {
                if owner.as_str() != Some(id) {
                    bail!("{name} of {label} belongs to another session ({owner})");
                }
            }
            map
        }
    };
    Ok(ArchivedSession {
        id: id.to_owned(),
        doc,
        extra,
        origin: origin.to_owned(),
    })
}

/// The generation of an export document (see [`ArchivedSession::generation`]).
pub fn generation_of(doc: &Value) -> Generation {
    if doc["info"].get("location").is_some_and(Value::is_object) {
        Generation::V2
    } else {
        Generation::V1
    }
}

/// `key` must be `owner` (it is added when missing).
fn check_owner(obj: &mut Map<String, Value>, key: &str, owner: &str) -> Result<(), String> {
    match obj.get(key) {
        None => {
            obj.insert(key.into(), Value::String(owner.to_owned()));
            Ok(())
        }
        Some(v) if v.as_str() == Some(owner) => Ok(()),
        Some(v) => Err(format!("{key} is {v}, not {owner}")),
    }
}

/// `info.time.<key>` as integer milliseconds.
pub fn time_of(info: &Map<String, Value>, key: &str) -> Option<i64> {
    let v = info.get("time")?.get(key)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_checked() {
        for ok in [
            "manifest.json",
            "sessions/ses_1.json",
            "project/abc.json",
            "dir/",
        ] {
            assert!(check_entry_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "../x",
            "a/../../x",
            "/abs",
            "a\\b",
            "C:x",
            "a//b",
            "./a",
            "",
            "a\nb",
        ] {
            assert!(check_entry_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_safe_file_names() {
        assert!(is_safe_id("ses_de8feebc5ffeNk8XPPw6PPoZvj"));
        assert!(is_safe_id("a76aebe1bac55953ccb1f217d023da9cd3a522a0"));
        for bad in ["", "..", "a/b", "a.json", "x y", "ü"] {
            assert!(!is_safe_id(bad), "{bad}");
        }
    }

    #[test]
    fn session_documents_are_validated() {
        let good = br#"{"info":{"id":"ses_1","time":{"created":1,"updated":2}},"messages":[{"info":{"id":"msg_1"},"parts":[{"id":"prt_1","type":"text"}]}]}"#;
        let s = parse_session("ses_1", "x", good, None, "z").unwrap();
        assert_eq!(s.messages()[0]["info"]["sessionID"], "ses_1");
        assert_eq!(s.messages()[0]["parts"][0]["messageID"], "msg_1");
        assert_eq!(s.time_updated(), 2);
        for bad in [
            &br#"{"info":{"id":"ses_2","time":{"created":1}},"messages":[]}"#[..],
            br#"{"info":{"id":"ses_1"},"messages":[]}"#,
            br#"{"info":{"id":"ses_1","time":{"created":1}},"messages":[{"info":{"id":"../x"},"parts":[]}]}"#,
            br#"{"info":{"id":"ses_1","time":{"created":1}},"messages":[{"info":{"id":"m","sessionID":"other"},"parts":[]}]}"#,
            br#"[1]"#,
            br#"{"info":{"id":"ses_1","time":{"created":1},"parentID":"../p"}}"#,
        ] {
            assert!(parse_session("ses_1", "x", bad, None, "z").is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
