//! Reading an archive: a pack zip (format version 1) or a commit of the archive branch.
//!
//! Everything is read and checked before anything is written anywhere: entry names (no `..`,
//! no absolute paths, no duplicates), declared sizes (capped), the manifest's SHA-256 of
//! every entry (zip), and the shape of every session document (IDs that are safe as file
//! names and consistent with each other).

use crate::archive::sha256_hex;
use crate::error::UserError;
use crate::git::{Oid, Repo};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

/// The largest entry (or blob) read, uncompressed.
pub const MAX_ENTRY: u64 = 1 << 30;
/// The largest archive read, uncompressed, all entries together.
pub const MAX_TOTAL: u64 = 4 << 30;
/// The archive branch's default ref.
pub const DEFAULT_REF: &str = "refs/heads/opencode/sessions";
/// `git config` key naming another archive ref.
pub const REF_KEY: &str = "opencode.ref";

const PACK_FORMAT: &str = "git-opencode-pack";
const BRANCH_FORMAT: &str = "git-opencode-archive";

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

    pub fn messages(&self) -> &[Value] {
        self.doc["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// A whole archive, read and checked.
#[derive(Debug)]
pub struct Archive {
    /// The path or ref as given, for messages.
    pub label: String,
    pub kind: SourceKind,
    /// By session ID.
    pub sessions: BTreeMap<String, ArchivedSession>,
    /// The archived project rows' worktrees, by project ID (zip only).
    pub worktrees: HashMap<String, String>,
    /// Entries whose content does not match the manifest (zip only), each with the problem.
    pub checksum_failures: Vec<(String, String)>,
    /// How many entries had their checksum checked.
    pub checked: usize,
    /// Secret-shaped strings were replaced by placeholders when this was written.
    pub redacted: bool,
}

/// How strictly to treat checksum failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksums {
    /// A mismatch is an error (restore).
    Enforce,
    /// Mismatches are collected in [`Archive::checksum_failures`] (verify).
    Report,
}

/// Opens `spec`: a zip file when such a file exists, else a git revision of `repo`.
pub fn open(repo: &Repo, spec: &str, checksums: Checksums) -> Result<Archive> {
    let path = Path::new(spec);
    if path.is_file() {
        return read_zip(path, checksums);
    }
    if path.is_dir() {
        bail!(UserError::new(format!(
            "{spec} is a directory, not a pack zip or a git ref"
        ))
        .hint(format!(
            "pass a zip written by `git opencode pack`, or a ref such as {DEFAULT_REF}"
        )));
    }
    if let Some(archive) = read_notes(repo, spec)? {
        return Ok(archive);
    }
    match repo.rev_parse(spec) {
        Some(id) => read_git(repo, spec, id),
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

/// A notes ref written by `push-sessions --notes`: the sessions its notes name (with their
/// subagent sessions), read from the archive branch the notes point at. `None` when `spec`
/// is not a ref under `refs/notes/`.
fn read_notes(repo: &Repo, spec: &str) -> Result<Option<Archive>> {
    let full = if spec.starts_with("refs/") {
        spec.to_owned()
    } else {
        format!("refs/notes/{spec}")
    };
    if !full.starts_with("refs/notes/") {
        return Ok(None);
    }
    let Some(tip) = repo.ref_target(&full)? else {
        return Ok(None);
    };
    let tree = repo.commit_tree(tip)?;
    let mut ids = std::collections::BTreeSet::new();
    let mut archive_ref = None;
    for (_, blob) in repo.list_blobs(tree)? {
        let text = String::from_utf8_lossy(&repo.read_blob(blob, &format!("a note in {full}"))?)
            .into_owned();
        if !text.starts_with(crate::notes::HEADER) {
            continue; // someone else's note
        }
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
    let archive_ref = archive_ref.unwrap_or_else(|| DEFAULT_REF.to_owned());
    let Some(archive_tip) = repo.ref_target(&archive_ref)? else {
        bail!(UserError::new(format!(
            "the notes in {full} point at the archive {archive_ref}, which does not exist here"
        ))
        .hint("fetch it, or restore from a zip"));
    };
    let mut archive = read_git(repo, &archive_ref, archive_tip)?;
    if let Some(missing) = ids.iter().find(|id| !archive.sessions.contains_key(*id)) {
        bail!("session {missing}, named in {full}, is not in the archive {archive_ref}");
    }
    // The noted sessions and, however deep, their subagent sessions.
    loop {
        let children: Vec<String> = archive
            .sessions
            .values()
            .filter(|s| s.parent_id().is_some_and(|p| ids.contains(p)))
            .map(|s| s.info()["id"].as_str().unwrap_or_default().to_owned())
            .filter(|id| !ids.contains(id))
            .collect();
        if children.is_empty() {
            break;
        }
        ids.extend(children);
    }
    archive.sessions.retain(|id, _| ids.contains(id));
    archive.label = full;
    Ok(Some(archive))
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
fn check_entry_name(name: &str) -> Result<(), &'static str> {
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

fn read_zip(path: &Path, checksums: Checksums) -> Result<Archive> {
    let label = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("failed to open {label}"))?;
    // Anything wrong with the zip's structure: say so, and how to get a good one.
    let corrupt = |message: String| {
        UserError::new(message)
            .hint("the file may be truncated or corrupted; write it again with `git opencode pack`")
    };
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| corrupt(format!("{label} is not a readable zip")).because(e))?;
    if zip.has_duplicate_names() {
        bail!(corrupt(format!("{label} has duplicate entries")));
    }
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut total: u64 = 0;
    for index in 0..zip.len() {
        let mut entry = zip
            .by_index(index)
            .map_err(|e| corrupt(format!("failed to read entry #{index} of {label}")).because(e))?;
        let name = std::str::from_utf8(entry.name_raw())
            .map_err(|_| anyhow!("{label} has an entry whose name is not UTF-8"))?
            .to_owned();
        if let Err(why) = check_entry_name(&name) {
            bail!(
                UserError::new(format!("{label} has an unsafe entry name {name:?} ({why})"))
                    .hint("this is not a zip written by `git opencode pack`; nothing was restored")
            );
        }
        if entry.is_dir() {
            continue;
        }
        if entry.encrypted() {
            bail!("entry {name} of {label} is encrypted");
        }
        let size = entry.size();
        if size > MAX_ENTRY {
            bail!(corrupt(format!(
                "entry {name} of {label} declares {size} bytes, more than the {} MiB limit",
                MAX_ENTRY >> 20
            )));
        }
        total = total.saturating_add(size);
        if total > MAX_TOTAL {
            bail!(corrupt(format!(
                "{label} declares more than {} GiB of content",
                MAX_TOTAL >> 30
            )));
        }
        let mut data = Vec::with_capacity(size.min(64 << 20) as usize);
        (&mut entry)
            .take(size + 1)
            .read_to_end(&mut data)
            .map_err(|e| corrupt(format!("failed to read entry {name} of {label}")).because(e))?;
        if data.len() as u64 != size {
            bail!(corrupt(format!(
                "entry {name} of {label} has {} bytes where its header says {size}",
                data.len()
            )));
        }
        if entries.insert(name.clone(), data).is_some() {
            bail!(corrupt(format!("{label} has the entry {name} twice")));
        }
    }

    let manifest_bytes = entries.get("manifest.json").ok_or_else(|| {
        anyhow::Error::new(
            UserError::new(format!("{label} has no manifest.json"))
                .hint("pass a zip written by `git opencode pack`"),
        )
    })?;
    let manifest: Value = serde_json::from_slice(manifest_bytes)
        .with_context(|| format!("malformed manifest.json in {label}"))?;
    if manifest.get("format").and_then(Value::as_str) != Some(PACK_FORMAT) {
        bail!("{label} is not a git-opencode pack (manifest format is not {PACK_FORMAT})");
    }
    match manifest.get("version").and_then(Value::as_u64) {
        Some(1) => {}
        other => bail!(UserError::new(format!(
            "{label} has pack format version {}, which this git-opencode does not know",
            other.map_or_else(|| "?".to_owned(), |v| v.to_string())
        ))
        .hint("upgrade git-opencode")),
    }

    // Checksums: every listed entry must be there with its size and SHA-256, and every entry
    // must be listed.
    let mut failures = Vec::new();
    let mut listed = HashSet::new();
    let mut checked = 0;
    let list = manifest
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("manifest.json of {label} has no entries list"))?;
    for item in list {
        let (Some(name), Some(sha)) = (
            item.get("path").and_then(Value::as_str),
            item.get("sha256").and_then(Value::as_str),
        ) else {
            bail!("manifest.json of {label} has a malformed entry: {item}");
        };
        listed.insert(name.to_owned());
        checked += 1;
        match entries.get(name) {
            None => failures.push((
                name.to_owned(),
                "listed in the manifest but missing".to_owned(),
            )),
            Some(data) => {
                let size_ok = item
                    .get("size")
                    .and_then(Value::as_u64)
                    .is_none_or(|s| s == data.len() as u64);
                if !size_ok || sha256_hex(data) != sha.to_ascii_lowercase() {
                    failures.push((name.to_owned(), "checksum mismatch".to_owned()));
                }
            }
        }
    }
    for name in entries.keys() {
        if name != "manifest.json" && !listed.contains(name) {
            failures.push((name.clone(), "not listed in the manifest".to_owned()));
        }
    }
    if checksums == Checksums::Enforce {
        if let Some((name, problem)) = failures.first() {
            bail!(
                UserError::new(format!("entry {name} of {label}: {problem}"))
                    .hint("the zip was changed after it was written; nothing was restored")
            );
        }
    }
    let bad: HashSet<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();

    let mut docs = BTreeMap::new();
    let mut extras = BTreeMap::new();
    let mut worktrees = HashMap::new();
    for (name, data) in &entries {
        if bad.contains(name.as_str()) {
            continue;
        }
        if let Some(rest) = name.strip_prefix("sessions/") {
            if let Some(id) = rest.strip_suffix(".extra.json") {
                extras.insert(id.to_owned(), (name.clone(), data));
            } else if let Some(id) = rest.strip_suffix(".json") {
                docs.insert(id.to_owned(), (name.clone(), data));
            }
        } else if let Some(id) = name
            .strip_prefix("project/")
            .and_then(|r| r.strip_suffix(".json"))
        {
            let record: Value = serde_json::from_slice(data)
                .with_context(|| format!("malformed JSON in {name} of {label}"))?;
            if let Some(worktree) = record
                .get("project")
                .and_then(|p| p.get("worktree"))
                .and_then(Value::as_str)
            {
                worktrees.insert(id.to_owned(), worktree.to_owned());
            }
        }
    }
    let mut sessions = BTreeMap::new();
    for (id, (name, data)) in docs {
        let extra = extras.remove(&id).map(|(n, d)| (n, d.as_slice()));
        let session = parse_session(&id, &format!("{name} of {label}"), data, extra, &label)?;
        sessions.insert(id, session);
    }
    // An extra record whose session document failed its checksum is already reported.
    if let Some((id, (name, _))) = extras
        .into_iter()
        .find(|(id, _)| !bad.contains(format!("sessions/{id}.json").as_str()))
    {
        bail!("{name} of {label} belongs to no session (sessions/{id}.json is missing)");
    }
    Ok(Archive {
        label,
        kind: SourceKind::Zip,
        sessions,
        worktrees,
        checksum_failures: failures,
        checked,
        redacted: manifest.get("redacted").and_then(Value::as_bool) == Some(true),
    })
}

fn read_git(repo: &Repo, spec: &str, id: Oid) -> Result<Archive> {
    let label = spec.to_owned();
    let tree = repo.peel_to_tree(id, spec)?;
    let not_archive = || {
        anyhow::Error::new(
            UserError::new(format!(
                "{spec} is not a git-opencode archive (no sessions/ directory)"
            ))
            .hint(format!(
                "pass the archive branch ({DEFAULT_REF}) or a zip written by `git opencode pack`"
            )),
        )
    };
    let root = repo.tree_entries(tree, spec)?;
    let mut redacted = false;
    if let Some(manifest) = root
        .iter()
        .find(|e| e.name == "manifest.json" && !e.is_tree)
    {
        let data = repo.read_blob(manifest.id, &format!("manifest.json of {spec}"))?;
        let manifest: Value = serde_json::from_slice(&data)
            .with_context(|| format!("malformed manifest.json in {spec}"))?;
        match manifest.get("format").and_then(Value::as_str) {
            Some(BRANCH_FORMAT) | Some(PACK_FORMAT) | None => {}
            Some(other) => bail!(UserError::new(format!(
                "{spec} holds an archive of unknown format {other}"
            ))
            .hint("upgrade git-opencode")),
        }
        redacted = manifest.get("redacted").and_then(Value::as_bool) == Some(true);
    }
    let sessions_dir = root
        .iter()
        .find(|e| e.name == "sessions" && e.is_tree)
        .ok_or_else(not_archive)?;
    // sessions/<YYYY-MM>/<id>/ (also accepted: sessions/<id>/).
    let mut dirs = Vec::new();
    for shard in repo.tree_entries(sessions_dir.id, spec)? {
        if !shard.is_tree {
            continue;
        }
        let inner = repo.tree_entries(shard.id, spec)?;
        if inner.iter().any(|e| e.name == "session.json") {
            dirs.push((
                format!("sessions/{}", shard.name),
                shard.name.clone(),
                inner,
            ));
            continue;
        }
        for dir in inner.into_iter().filter(|e| e.is_tree) {
            let files = repo.tree_entries(dir.id, spec)?;
            dirs.push((
                format!("sessions/{}/{}", shard.name, dir.name),
                dir.name,
                files,
            ));
        }
    }
    let mut sessions = BTreeMap::new();
    let mut total: u64 = 0;
    for (path, id, files) in dirs {
        let Some(doc) = files
            .iter()
            .find(|e| e.name == "session.json" && !e.is_tree)
        else {
            continue;
        };
        let doc_bytes = read_blob_capped(
            repo,
            doc.id,
            &format!("{path}/session.json in {spec}"),
            &mut total,
        )?;
        let extra_bytes = match files.iter().find(|e| e.name == "extra.json" && !e.is_tree) {
            Some(e) => Some(read_blob_capped(
                repo,
                e.id,
                &format!("{path}/extra.json in {spec}"),
                &mut total,
            )?),
            None => None,
        };
        let origin = format!("{path}/session.json in {spec}");
        let extra = extra_bytes
            .as_deref()
            .map(|d| (format!("{path}/extra.json"), d));
        let session = parse_session(&id, &origin, &doc_bytes, extra, &label)?;
        if sessions.insert(id.clone(), session).is_some() {
            bail!("{spec} holds session {id} twice");
        }
    }
    Ok(Archive {
        label,
        kind: SourceKind::Git,
        sessions,
        worktrees: HashMap::new(),
        checksum_failures: Vec::new(),
        checked: 0,
        redacted,
    })
}

fn read_blob_capped(repo: &Repo, id: Oid, what: &str, total: &mut u64) -> Result<Vec<u8>> {
    let size = repo.object_size(id, what)?;
    if size > MAX_ENTRY {
        bail!(
            "{what} is {size} bytes, more than the {} MiB limit",
            MAX_ENTRY >> 20
        );
    }
    *total = total.saturating_add(size);
    if *total > MAX_TOTAL {
        bail!("the archive holds more than {} GiB", MAX_TOTAL >> 30);
    }
    repo.read_blob(id, what)
}

/// Parses and checks one export document (and its extra record): IDs safe and consistent,
/// times numeric. Missing `sessionID`/`messageID` keys on messages and parts are filled in.
fn parse_session(
    id: &str,
    origin: &str,
    data: &[u8],
    extra: Option<(String, &[u8])>,
    label: &str,
) -> Result<ArchivedSession> {
    if !is_safe_id(id) {
        bail!("{origin}: {id:?} is not a valid session ID");
    }
    let bad = |what: String| anyhow!("malformed session document {origin}: {what}");
    let mut doc: Value =
        serde_json::from_slice(data).with_context(|| format!("malformed JSON in {origin}"))?;
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
    if !obj.contains_key("messages") {
        obj.insert("messages".into(), Value::Array(Vec::new()));
    }
    let messages = obj
        .get_mut("messages")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| bad("messages is not a list".into()))?;
    let mut seen = HashSet::new();
    for message in messages.iter_mut() {
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
        Some((name, bytes)) => {
            let value: Value = serde_json::from_slice(bytes)
                .with_context(|| format!("malformed JSON in {name} of {label}"))?;
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
