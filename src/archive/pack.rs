//! The pack: one zip of this repository's sessions (format version 1), byte-identical for
//! the same store.
//!
//! ```text
//! manifest.json                    format, repository, projects, sessions, entry checksums
//! project/<projectID>.json         the project rows sessions were found under
//! sessions/<sessionID>.json        the export document (`opencode import` accepts it)
//! sessions/<sessionID>.extra.json  todos, diffs, v2 rows, share URL (when non-empty)
//! ```
//! Entries are added in a fixed order with one timestamp (the newest session's update),
//! fixed permissions and the Unix "made by" system, so nothing depends on the clock or the
//! host. Each entry's size and SHA-256 are recorded in the manifest, which comes last.

use super::documents::{self, Documents, ReadSession};
use super::read::{check_entry_name, check_session, Listed, Place, Source, MAX_ENTRY, MAX_TOTAL};
use super::zip_out::{entry_deflater, Deflated, ZipOut};
use super::{
    Archive, ArchivedSession, Checksums, ManifestHeader, ProjectEntry, RepositoryInfo, SourceKind,
    Tool, MANIFEST, PACK_FORMAT, VERSION,
};
use crate::deflate::Deflater;
use crate::error::UserError;
use crate::git::RepoFacts;
use crate::membership::{Member, ProjectIds, Rule};
use crate::progress::Progress;
use crate::redact::Redactor;
use crate::store::{Generation, Session, Store, StoreKind, Unreadable};
use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufWriter, Read, Write};
use std::path::Path;

/// The pack's `manifest.json`.
#[derive(Debug, Serialize)]
pub struct PackManifest<'a> {
    pub format: &'static str,
    pub version: u32,
    pub tool: Tool,
    /// Secret-shaped strings were replaced by placeholders (`pack --redact`); absent, not
    /// `false`, otherwise, so a full-fidelity pack keeps the bytes it always had.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// RFC 3339; the newest session's update time.
    pub created: String,
    pub repository: RepositoryInfo,
    pub projects: Vec<ProjectEntry>,
    pub store: StoreInfo<'a>,
    pub sessions: Vec<PackSession<'a>>,
    pub entries: &'a [EntryRecord],
}

/// Which store the sessions were read from.
#[derive(Debug, Serialize)]
pub struct StoreInfo<'a> {
    pub kinds: Vec<StoreKind>,
    /// The session generations the database holds (1: OpenCode 1.x tables, 2: `session_v2`).
    pub generations: Vec<Generation>,
    /// The OpenCode versions that created the sessions.
    #[serde(rename = "opencodeVersions")]
    pub opencode_versions: &'a BTreeSet<String>,
}

/// One session as the pack manifest lists it.
#[derive(Debug, Serialize)]
pub struct PackSession<'a> {
    pub id: &'a str,
    #[serde(rename = "projectID")]
    pub project_id: &'a str,
    #[serde(rename = "parentID")]
    pub parent_id: Option<&'a str>,
    pub title: Cow<'a, str>,
    pub updated: i64,
    pub rule: Rule,
    /// Which generation's document `sessions/<id>.json` is: 1 (`{info, messages:[{info,
    /// parts}]}`) or 2 (OpenCode 2.x's `{info, messages}` of flat typed messages).
    pub generation: Generation,
}

/// How a pack is written.
pub struct Options<'a> {
    pub show_progress: bool,
    /// Replace secret-shaped strings in every entry (`pack --redact`); `None` keeps the
    /// sessions verbatim, a full-fidelity backup.
    pub redactor: Option<&'a Redactor>,
}

/// `file` buffered for a pack to be written into: the zip goes out in few large writes. With
/// the default 8 KiB buffer, a store of a thousand small sessions took 1,000–2,000 `write`
/// calls (now 30–40), and about a tenth of `pack`'s CPU time.
pub fn buffered<W: Write>(file: W) -> BufWriter<W> {
    BufWriter::with_capacity(256 << 10, file)
}

/// Writes the pack of `members` (this repository's sessions in `store`) into `sink`: the
/// project rows, every session one at a time, then the manifest. A session that cannot be
/// read (a damaged row) is left out and added to `skipped`; the others are all packed.
pub fn write<W: Write>(
    facts: &RepoFacts,
    store: &Store,
    (ids, members): (&ProjectIds, &[Member]),
    options: &Options<'_>,
    sink: W,
    skipped: &mut Vec<Unreadable>,
) -> Result<W> {
    let redactor = options.redactor;
    let newest = members
        .iter()
        .map(|m| m.session.time_updated)
        .max()
        .unwrap_or(0);
    let created = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(newest) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut zip = PackWriter::new(sink, created)?;

    // Projects: every ID sessions were found under, plus this repository's own.
    let mut project_ids: BTreeSet<&str> = members
        .iter()
        .map(|m| m.session.project_id.as_str())
        .collect();
    project_ids.extend(ids.ids.keys().map(String::as_str));
    for project_id in &project_ids {
        if let Some(mut record) = store.project_record(project_id)? {
            if let Some(r) = redactor {
                r.redact_value(&mut record);
            }
            zip.add(
                &format!("project/{project_id}.json"),
                &crate::json::pretty_line(&record),
            )?;
        }
    }

    let mut progress = Progress::new("packing sessions", members.len(), options.show_progress);
    // Sessions left out, by their place in `members`: unreadable when read, or damaged rows
    // found when the worker wrote them out.
    let mut unread = BTreeMap::new();
    let mut unwritten = BTreeMap::new();
    // This thread reads the sessions (one SQLite read transaction cannot be shared) and
    // writes the zip; the workers write each document out of its rows, redact, serialise,
    // hash and deflate, each with its own reused deflate state. Entries are written in
    // reading order, so the zip is the same whatever the number of threads.
    let work = |deflater: &mut Deflater, (index, id, read)| {
        (index, prepare_session(id, read, redactor, deflater))
    };
    let threads = crate::parallel::threads();
    crate::parallel::with_pool_state(threads, entry_deflater, work, |pool| -> Result<()> {
        let mut deflater = entry_deflater();
        let mut write = |(index, made): (usize, Result<Made>)| -> Result<()> {
            let entries = match made? {
                Made::Entries(entries) => entries,
                Made::Unrendered(extra) => {
                    // Rows not in canonical form: parse them, which also names a damaged one.
                    let session: &Session = &members[index].session;
                    match store.export_document(session) {
                        Ok(doc) => {
                            let doc = crate::json::pretty_line(&doc);
                            entries_of(&session.id, &doc, extra, &mut deflater)?
                        }
                        Err(e) => {
                            unwritten.insert(index, super::unreadable(session, &e));
                            return Ok(());
                        }
                    }
                }
                Made::Failed(e) => {
                    let session = &members[index].session;
                    unwritten.insert(index, super::unreadable(session, &e));
                    return Ok(());
                }
            };
            for entry in entries {
                zip.add_prepared(entry)?;
            }
            Ok(())
        };
        for (index, member) in members.iter().enumerate() {
            let session = &member.session;
            progress.tick();
            // Redaction works on the parsed document.
            match ReadSession::read(store, session, redactor.is_none()) {
                Ok(read) => {
                    let size = read.size();
                    pool.push((index, session.id.as_str(), read), size, &mut write)?;
                }
                Err(e) => {
                    unread.insert(index, super::unreadable(session, &e));
                }
            }
        }
        pool.finish(&mut write)
    })?;
    progress.finish();
    unread.append(&mut unwritten);
    let packed: Vec<&Member> = (members.iter().enumerate())
        .filter(|(index, _)| !unread.contains_key(index))
        .map(|(_, member)| member)
        .collect();
    skipped.extend(unread.into_values());
    let versions: BTreeSet<String> = (packed.iter())
        .filter_map(|m| m.session.summary.version.clone())
        .collect();

    let created = created
        .format(&time::format_description::well_known::Rfc3339)
        .context("failed to format the pack time")?;
    let entries = zip.entries().to_vec();
    let manifest = PackManifest {
        format: PACK_FORMAT,
        version: VERSION,
        tool: Tool::this(),
        redacted: redactor.is_some(),
        created,
        repository: RepositoryInfo::of(facts),
        projects: ProjectEntry::list(ids),
        store: StoreInfo {
            kinds: store.kinds(),
            generations: store.generations(),
            opencode_versions: &versions,
        },
        sessions: packed
            .iter()
            .map(|m| PackSession {
                id: &m.session.id,
                project_id: &m.session.project_id,
                parent_id: m.session.parent_id.as_deref(),
                title: match redactor {
                    Some(r) => r.redact_str(&m.session.title),
                    None => Cow::Borrowed(&m.session.title),
                },
                updated: m.session.time_updated,
                rule: m.rule,
                generation: m.session.generation,
            })
            .collect(),
        entries: &entries,
    };
    zip.add(MANIFEST, &crate::json::pretty_line(&manifest))?;
    zip.finish()
}

/// One written entry, as the manifest lists it.
#[derive(Debug, Clone, Serialize)]
pub struct EntryRecord {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// What a worker makes of one session.
enum Made {
    Entries(Vec<Prepared>),
    /// The rows are not in canonical form (or damaged): the reading thread parses them
    /// (see [`ExportRows::render`]); the session's extra record is handed back for that.
    Unrendered(Map<String, Value>),
    /// A 2.x session whose rows turned out damaged when the worker parsed them.
    Failed(anyhow::Error),
}

/// The entries of one session, ready to be written: its document and its extra record,
/// redacted first when a redactor is given.
fn prepare_session(
    id: &str,
    read: ReadSession,
    redactor: Option<&Redactor>,
    deflater: &mut Deflater,
) -> Result<Made> {
    let (doc, extra) = match read {
        ReadSession::Rows(rows, extra) => match rows.render() {
            Some(text) => (text, extra),
            None => return Ok(Made::Unrendered(extra)),
        },
        ReadSession::V2(rows) => {
            // Written out of the rows, as 1.x ones are, unless something redacts them.
            let rendered = redactor
                .is_none()
                .then(|| rows.render_printable())
                .flatten();
            if let Some((doc, extra)) = rendered {
                let extra = documents::extra_json_of(id, &extra);
                return entries_of_printed(id, &doc, Some(&extra), deflater).map(Made::Entries);
            }
            match rows.documents() {
                Ok((doc, extra)) => print(Documents { doc, extra }, redactor),
                Err(e) => return Ok(Made::Failed(e)),
            }
        }
        ReadSession::Parsed(docs) => print(docs, redactor),
    };
    Ok(Made::Entries(entries_of(id, &doc, extra, deflater)?))
}

/// The document printed and the extra record, redacted first when a redactor is given.
fn print(mut docs: Documents, redactor: Option<&Redactor>) -> (Vec<u8>, Map<String, Value>) {
    if let Some(r) = redactor {
        docs.redact(r);
    }
    (crate::json::pretty_line(&docs.doc), docs.extra)
}

/// A session's entries: its document `doc` and, when not empty, its extra record.
fn entries_of(
    id: &str,
    doc: &[u8],
    extra: Map<String, Value>,
    deflater: &mut Deflater,
) -> Result<Vec<Prepared>> {
    let extra = documents::extra_json(id, extra);
    entries_of_printed(id, doc, extra.as_deref(), deflater)
}

/// [`entries_of`] with the extra record already printed.
fn entries_of_printed(
    id: &str,
    doc: &[u8],
    extra: Option<&[u8]>,
    deflater: &mut Deflater,
) -> Result<Vec<Prepared>> {
    let mut entries = vec![Prepared::new(
        &format!("sessions/{id}.json"),
        doc,
        deflater,
    )?];
    if let Some(extra) = extra {
        let path = format!("sessions/{id}.extra.json");
        entries.push(Prepared::new(&path, extra, deflater)?);
    }
    Ok(entries)
}

/// One entry deflated and checksummed, made ready on any thread.
pub struct Prepared {
    deflated: Deflated,
    record: EntryRecord,
}

impl Prepared {
    /// Entry `path` holding `data`.
    pub fn new(path: &str, data: &[u8], deflater: &mut Deflater) -> Result<Prepared> {
        let record = EntryRecord {
            path: path.to_owned(),
            size: data.len() as u64,
            sha256: sha256_hex(data),
        };
        let deflated = Deflated::new(deflater, data)?;
        Ok(Prepared { deflated, record })
    }
}

/// A zip whose entries are compressed alike, stamped with one time and recorded for the
/// manifest.
pub struct PackWriter<W: Write> {
    zip: ZipOut<W>,
    /// For the entries this thread deflates itself (project records, the manifest).
    deflater: Deflater,
    entries: Vec<EntryRecord>,
}

impl<W: Write> PackWriter<W> {
    /// `modified` is stamped on every entry (DOS time: 1980–2107, two-second steps).
    pub fn new(out: W, modified: time::OffsetDateTime) -> Result<Self> {
        Ok(PackWriter {
            zip: ZipOut::new(out, dos_time(modified)),
            deflater: entry_deflater(),
            entries: Vec::new(),
        })
    }

    /// Adds one entry and records its checksum.
    pub fn add(&mut self, path: &str, data: &[u8]) -> Result<()> {
        let entry = Prepared::new(path, data, &mut self.deflater)?;
        self.add_prepared(entry)
    }

    /// Adds an entry made ready with [`Prepared::new`] and records its checksum.
    pub fn add_prepared(&mut self, entry: Prepared) -> Result<()> {
        self.zip.add(&entry.record.path, &entry.deflated)?;
        self.entries.push(entry.record);
        Ok(())
    }

    pub fn entries(&self) -> &[EntryRecord] {
        &self.entries
    }

    pub fn finish(self) -> Result<W> {
        self.zip.finish()
    }
}

/// SHA-256 of `data` in lowercase hex, as the manifest records it.
pub fn sha256_hex(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

/// `t` in UTC as the DOS `(time, date)` pair zip headers hold, clamped to 1980–2107.
fn dos_time(t: time::OffsetDateTime) -> (u16, u16) {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = t.year().clamp(1980, 2107) as u16;
    let stamp = zip::DateTime::from_date_and_time(
        year,
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second() & !1,
    )
    .unwrap_or_default();
    (stamp.timepart(), stamp.datepart())
}

/// The bytes of the `manifest.json` of the zip at `path` (`None`: it has none).
pub(super) fn read_manifest(path: &Path) -> Result<Option<Vec<u8>>> {
    let label = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("failed to open {label}"))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .with_context(|| format!("{label} is not a readable zip"))?;
    let Ok(entry) = zip.by_name(MANIFEST) else {
        return Ok(None);
    };
    let mut data = Vec::new();
    entry
        .take(MAX_ENTRY)
        .read_to_end(&mut data)
        .with_context(|| format!("failed to read {MANIFEST} of {label}"))?;
    Ok(Some(data))
}

/// One entry of a zip being read: its size and SHA-256, and its bytes when it is small
/// metadata (the manifest, a project record). Session entries are only hashed here; they
/// are parsed one at a time afterwards.
struct Entry {
    size: u64,
    sha256: String,
    data: Option<Vec<u8>>,
}

/// A reader that counts and hashes what passes through it, and keeps its error (the zip
/// crate reports a bad CRC as one).
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    error: Option<std::io::Error>,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            read: 0,
            error: None,
        }
    }

    /// How many bytes were read, and their SHA-256 in lowercase hex.
    fn finish(self) -> (u64, String) {
        (self.read, format!("{:x}", self.hasher.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.read += n as u64;
                Ok(n)
            }
            Err(e) => {
                let copy = std::io::Error::new(e.kind(), e.to_string());
                self.error = Some(e);
                Err(copy)
            }
        }
    }
}

/// Anything wrong with a zip's structure: say so, and how to get a good one.
fn corrupt(message: String) -> UserError {
    UserError::new(message)
        .hint("the file may be truncated or corrupted; write it again with `git opencode pack`")
}

/// Whether entry `name` holds a session document or extra record.
fn is_session_entry(name: &str) -> bool {
    name.starts_with("sessions/") && name.ends_with(".json")
}

/// An open pack zip, for reading its session entries one at a time.
pub(super) struct Reader {
    zip: zip::ZipArchive<std::io::BufReader<std::fs::File>>,
    label: String,
}

impl Reader {
    pub(super) fn open(path: &Path, label: &str) -> Result<Reader> {
        let file = std::fs::File::open(path).with_context(|| format!("failed to open {label}"))?;
        let zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| corrupt(format!("{label} is not a readable zip")).because(e))?;
        Ok(Reader {
            zip,
            label: label.to_owned(),
        })
    }

    /// Session `id` from its document entry and extra record, each `(name, SHA-256)`:
    /// parsed as it is read and checked ([`check_session`]).
    pub(super) fn session(
        &mut self,
        id: &str,
        doc: &(String, String),
        extra: Option<&(String, String)>,
    ) -> Result<ArchivedSession> {
        let label = self.label.clone();
        let value = self.parse_entry(&doc.0, &doc.1)?;
        let extra = match extra {
            Some((name, sha)) => Some((name.clone(), self.parse_entry(name, sha)?)),
            None => None,
        };
        check_session(id, &format!("{} of {label}", doc.0), value, extra, &label)
    }

    /// Entry `name` parsed as it is read (never held as bytes and parsed at once: an entry
    /// can be hundreds of MB). Its SHA-256 must still be `sha256`: the one checked when the
    /// archive was opened.
    fn parse_entry(&mut self, name: &str, sha256: &str) -> Result<Value> {
        let label = self.label.clone();
        let failed = |e: &dyn std::fmt::Display| {
            corrupt(format!("failed to read entry {name} of {label}")).because(e.to_string())
        };
        let entry = self.zip.by_name(name).map_err(|e| failed(&e))?;
        let size = entry.size();
        let mut reader = Hashing::new(entry.take(size + 1));
        let parsed: serde_json::Result<Value> =
            serde_json::from_reader(std::io::BufReader::new(&mut reader));
        // What the parser left unread (after an error) still counts for the checksum.
        std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| failed(&e))?;
        if let Some(e) = reader.error.take() {
            return Err(failed(&e).into());
        }
        let (_, sha) = reader.finish();
        if sha != sha256 {
            bail!(UserError::new(format!(
                "entry {name} of {label} changed while it was being read"
            ))
            .hint("another program is writing the zip; run the command again when it is done"));
        }
        let parsed = match parsed {
            Ok(value) => Ok(value),
            // serde_json refuses the lone surrogate escapes `JSON.stringify` writes; such an
            // entry (rare) is read again whole and parsed the way the store's rows are.
            Err(_) => self.parse_again(name),
        };
        parsed.with_context(|| format!("malformed JSON in {name} of {label}"))
    }

    /// Entry `name` read whole and parsed with [`crate::json::parse_slice`].
    fn parse_again(&mut self, name: &str) -> serde_json::Result<Value> {
        let mut data = Vec::new();
        self.zip
            .by_name(name)
            .map_err(std::io::Error::other)
            .and_then(|mut entry| entry.read_to_end(&mut data))
            .map_err(serde_json::Error::io)?;
        crate::json::parse_slice(&data)
    }
}

/// Reads and checks a pack zip: entry names, declared sizes, every checksum, every session
/// (each read, checked and dropped in turn; see [`Archive::for_each`]).
pub(super) fn read(path: &Path, checksums: Checksums) -> Result<Archive> {
    let label = path.display().to_string();
    let mut reader = Reader::open(path, &label)?;
    let zip = &mut reader.zip;
    if zip.has_duplicate_names() {
        bail!(corrupt(format!("{label} has duplicate entries")));
    }
    // Every entry is hashed as it is read; only the small metadata entries are kept.
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut total: u64 = 0;
    for index in 0..zip.len() {
        let entry = zip
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
        let mut reader = Hashing::new(entry.take(size + 1));
        let keep = name == MANIFEST || name.starts_with("project/");
        let data = if keep {
            let mut data = Vec::new();
            reader.read_to_end(&mut data).map(|_| Some(data))
        } else {
            std::io::copy(&mut reader, &mut std::io::sink()).map(|_| None)
        };
        let data = data
            .map_err(|e| corrupt(format!("failed to read entry {name} of {label}")).because(e))?;
        if let Some(e) = reader.error.take() {
            return Err(corrupt(format!("failed to read entry {name} of {label}"))
                .because(e)
                .into());
        }
        let (read, sha256) = reader.finish();
        if read != size {
            bail!(corrupt(format!(
                "entry {name} of {label} has {read} bytes where its header says {size}"
            )));
        }
        let entry = Entry {
            size: read,
            sha256,
            data,
        };
        if entries.insert(name.clone(), entry).is_some() {
            bail!(corrupt(format!("{label} has the entry {name} twice")));
        }
    }

    let manifest_bytes = match entries.get(MANIFEST).and_then(|e| e.data.as_ref()) {
        Some(data) => data,
        None => bail!(UserError::new(format!("{label} has no {MANIFEST}"))
            .hint("pass a zip written by `git opencode pack`")),
    };
    let manifest: Value = crate::json::parse_slice(manifest_bytes)
        .with_context(|| format!("malformed {MANIFEST} in {label}"))?;
    let header: ManifestHeader = serde_json::from_value(manifest.clone())
        .with_context(|| format!("malformed {MANIFEST} in {label}"))?;
    if header.format.as_deref() != Some(PACK_FORMAT) {
        bail!("{label} is not a git-opencode pack (manifest format is not {PACK_FORMAT})");
    }
    match header.version {
        Some(v) if v == u64::from(VERSION) => {}
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
            Some(entry) => {
                let size_ok = item
                    .get("size")
                    .and_then(Value::as_u64)
                    .is_none_or(|s| s == entry.size);
                if !size_ok || entry.sha256 != sha.to_ascii_lowercase() {
                    failures.push((name.to_owned(), "checksum mismatch".to_owned()));
                }
            }
        }
    }
    for name in entries.keys() {
        if name != MANIFEST && !listed.contains(name) {
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
    for (name, entry) in &entries {
        if bad.contains(name.as_str()) {
            continue;
        }
        if is_session_entry(name) {
            let rest = name.strip_prefix("sessions/").unwrap_or(name);
            let place = (name.clone(), entry.sha256.clone());
            if let Some(id) = rest.strip_suffix(".extra.json") {
                extras.insert(id.to_owned(), place);
            } else if let Some(id) = rest.strip_suffix(".json") {
                docs.insert(id.to_owned(), place);
            }
            continue;
        }
        let (Some(id), Some(data)) = (
            name.strip_prefix("project/")
                .and_then(|r| r.strip_suffix(".json")),
            &entry.data,
        ) else {
            continue;
        };
        let record: Value = crate::json::parse_slice(data)
            .with_context(|| format!("malformed JSON in {name} of {label}"))?;
        if let Some(worktree) = record
            .get("project")
            .and_then(|p| p.get("worktree"))
            .and_then(Value::as_str)
        {
            worktrees.insert(id.to_owned(), worktree.to_owned());
        }
    }
    drop(entries);
    // Every session is read and checked now, one at a time, and only listed: nothing is
    // written anywhere before the whole archive has been checked.
    let mut sessions = BTreeMap::new();
    for (id, doc) in docs {
        let extra = extras.remove(&id);
        let session = reader.session(&id, &doc, extra.as_ref())?;
        let listed = Listed::new(&session, Place::Zip { doc, extra });
        drop(session);
        sessions.insert(id, listed);
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
        redacted: header.is_redacted(),
        source: Source::Zip(path.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a pack of sessions `(id, title)` to `path`, as `write` lays one out.
    fn write_pack(path: &Path, sessions: &[(&str, &str)]) {
        let file = std::fs::File::create(path).unwrap();
        let mut zip = PackWriter::new(file, time::OffsetDateTime::UNIX_EPOCH).unwrap();
        for (id, title) in sessions {
            let doc = serde_json::json!({
                "info": {"id": id, "title": title, "time": {"created": 1, "updated": 2}},
                "messages": [{"info": {"id": format!("msg_{id}")},
                              "parts": [{"id": format!("prt_{id}"), "type": "text", "text": title}]}]
            });
            zip.add(
                &format!("sessions/{id}.json"),
                &crate::json::pretty_line(&doc),
            )
            .unwrap();
        }
        let manifest = serde_json::json!({
            "format": PACK_FORMAT, "version": VERSION, "entries": zip.entries(),
        });
        zip.add(MANIFEST, &crate::json::pretty_line(&manifest))
            .unwrap();
        zip.finish().unwrap();
    }

    #[test]
    fn sessions_are_read_one_at_a_time_after_the_whole_zip_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.zip");
        write_pack(&path, &[("ses_1", "one"), ("ses_2", "two")]);
        let archive = read(&path, Checksums::Enforce).unwrap();
        // Opening lists the sessions and keeps no document.
        let titles: Vec<&str> = archive
            .sessions
            .values()
            .map(|l| l.title.as_str())
            .collect();
        assert_eq!(titles, ["one", "two"]);

        // Each session is read when the visitor gets to it, not before: the visitor owns
        // the first before the second is read. A session changed after the zip was checked
        // is refused rather than handed over unchecked.
        write_pack(&path, &[("ses_1", "one"), ("ses_2", "changed")]);
        let mut seen = Vec::new();
        let err = archive
            .for_each(None, |session| {
                seen.push((
                    session.id.clone(),
                    session.messages()[0]["parts"][0]["text"].clone(),
                ));
                Ok(())
            })
            .unwrap_err();
        assert_eq!(seen, [("ses_1".to_owned(), Value::from("one"))]);
        let message = crate::error::message(&err);
        assert!(
            message.contains("entry sessions/ses_2.json of"),
            "{message}"
        );
        assert!(
            message.contains("changed while it was being read"),
            "{message}"
        );

        // Only the sessions asked for are read.
        write_pack(&path, &[("ses_1", "one"), ("ses_2", "two")]);
        let mut seen = Vec::new();
        let only = BTreeSet::from(["ses_2".to_owned()]);
        archive
            .for_each(Some(&only), |session| {
                seen.push(session.id);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, ["ses_2"]);
    }
}
