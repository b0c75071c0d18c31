//! The archive branch: this repository's sessions as files in an orphan history.
//!
//! ```text
//! README.md
//! manifest.json
//! sessions/<YYYY-MM>/index.json                  that month's sessions and change stamps
//! sessions/<YYYY-MM>/<sessionID>/session.json     the export document
//! sessions/<YYYY-MM>/<sessionID>/extra.json       todos, diffs, v2 rows (when non-empty)
//! sessions/<YYYY-MM>/<sessionID>/transcript.md    a readable rendering
//! ```
//! Sessions are sharded by creation month, so a commit rewrites only the trees on the paths
//! of the sessions that changed. The month indexes record a change stamp per session; a
//! session whose stamp is unchanged is not even read from the store. A session is written
//! only when the store's copy is newer than the archived one ([`freshness`]), so a store
//! that holds an older copy (a clone whose archive got a teammate's newer one) never moves
//! it back.

use super::documents::{Documents, ReadSession};
use super::freshness::{self, ContentDigest};
use super::read::{parse_session, Listed, Place, Source, MAX_ENTRY, MAX_TOTAL};
use super::{
    documents, Archive, ArchivedSession, ManifestHeader, ProjectEntry, RepositoryInfo, SourceKind,
    Tool, BRANCH_FORMAT, DEFAULT_REF, MANIFEST, PACK_FORMAT, VERSION,
};
use crate::config::Ctx;
use crate::error::UserError;
use crate::git::COMMIT_MESSAGE_PREFIX;
use crate::git::{BlobMaker, Edit, ObjectWriter, Oid, ReadyBlob, Repo};
use crate::membership::{Member, ProjectIds};
use crate::redact::Redactor;
use crate::store::{ChangeStamp, Generation, Session, Store, Unreadable};
use crate::transcript;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::cell::OnceCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The branch's `manifest.json`. The sessions are listed in the month indexes.
#[derive(Debug, Serialize)]
pub struct BranchManifest {
    pub format: &'static str,
    pub version: u32,
    pub tool: Tool,
    /// Secret-shaped strings were replaced by placeholders.
    pub redacted: bool,
    pub repository: RepositoryInfo,
    pub projects: Vec<ProjectEntry>,
    /// Where the sessions are listed: `sessions/<YYYY-MM>/index.json`.
    #[serde(rename = "sessionIndex")]
    pub session_index: String,
}

/// One session in the index of its month.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The session's directory: `sessions/<YYYY-MM>/<sessionID>`.
    pub path: String,
    #[serde(default)]
    pub title: String,
    #[serde(rename = "parentID", default)]
    pub parent_id: Option<String>,
    #[serde(rename = "projectID", default)]
    pub project_id: String,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub updated: i64,
    /// The membership rule that found the session.
    #[serde(default)]
    pub rule: String,
    /// The store's change stamp when the session was archived.
    #[serde(default)]
    pub stamp: String,
    /// When the archived copy last changed (see [`ChangeStamp::changed`]); archives written
    /// before it was recorded have only `updated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<i64>,
    /// The generation of the archived document (absent in archives written before OpenCode
    /// 2.x support: those are all 1).
    #[serde(default)]
    pub generation: Generation,
}

impl IndexEntry {
    /// When the archived copy last changed, as [`freshness::compare`] weighs it.
    pub fn last_change(&self) -> i64 {
        self.changed.unwrap_or(self.updated)
    }

    /// The month directory (`YYYY-MM`) of the entry's path.
    pub fn month(&self) -> Option<&str> {
        self.path.split('/').nth(1)
    }
}

/// The current tip of an archive ref.
#[derive(Debug, Clone)]
pub struct Tip {
    pub commit: Oid,
    pub tree: Oid,
    pub manifest: ManifestHeader,
}

/// The manifest of the archive tree `tree`, if it is a branch archive.
fn branch_manifest(repo: &Repo, tree: Oid) -> Result<Option<ManifestHeader>> {
    let header = repo
        .read_blob_at(tree, MANIFEST)?
        .and_then(|bytes| serde_json::from_slice::<ManifestHeader>(&bytes).ok());
    Ok(header.filter(|h| h.format.as_deref() == Some(BRANCH_FORMAT)))
}

/// Reads the tip of `ref_name`; fails when the ref exists but is not a git-opencode archive.
pub fn read_tip(repo: &Repo, ref_name: &str) -> Result<Option<Tip>> {
    let Some(commit) = repo.ref_target(ref_name)? else {
        return Ok(None);
    };
    let tree = repo.commit_tree(commit)?;
    match branch_manifest(repo, tree)? {
        Some(manifest) => Ok(Some(Tip {
            commit,
            tree,
            manifest,
        })),
        None => bail!(UserError::new(format!(
            "{ref_name} exists and is not a git-opencode archive (no {MANIFEST} of format {BRANCH_FORMAT})"
        ))
        .hint(format!(
            "pass another --ref, or set git config {}",
            crate::config::keys::REF
        ))),
    }
}

/// Per month, `sessions/<YYYY-MM>/index.json` lists that month's sessions (path, title,
/// parent, project, times, rule, change stamp). Keeping the list per month, not in
/// `manifest.json`, makes a commit's new objects proportional to what changed, not to the
/// size of the archive.
pub const INDEX: &str = "index.json";

/// Every session entry of the archive tree `tree`, by session ID.
pub fn read_entries(repo: &Repo, tree: Oid) -> Result<BTreeMap<String, IndexEntry>> {
    let mut entries = BTreeMap::new();
    let Some(sessions) = repo.entry_at(tree, "sessions")?.filter(|e| e.is_tree) else {
        return Ok(entries);
    };
    for month in repo.tree_entries(sessions.id, "the archive")? {
        if !month.is_tree {
            continue;
        }
        let Some(bytes) = repo.read_blob_at(month.id, INDEX)? else {
            continue;
        };
        // Titles may hold lone surrogates, written as `JSON.stringify` escapes them.
        let index = crate::json::parse_slice_as::<BTreeMap<String, IndexEntry>>(&bytes);
        match index {
            Ok(index) => entries.extend(index),
            Err(_) => bail!("malformed sessions/{}/{INDEX} in the archive", month.name),
        }
    }
    Ok(entries)
}

/// The index of month `m`: the entries whose path lies under `sessions/<m>/`.
pub fn month_index(
    entries: &BTreeMap<String, IndexEntry>,
    m: &str,
    redactor: Option<&Redactor>,
) -> Result<Vec<u8>> {
    let prefix = format!("sessions/{m}/");
    let month: BTreeMap<&String, &IndexEntry> = entries
        .iter()
        .filter(|(_, e)| e.path.starts_with(&prefix))
        .collect();
    let mut index = serde_json::to_value(month).context("failed to write a month index")?;
    if let Some(r) = redactor {
        r.redact_value(&mut index);
    }
    Ok(crate::json::pretty_line(&index))
}

/// The directory of a session in the archive tree.
pub fn session_dir(session: &Session) -> String {
    format!("sessions/{}/{}", month(session.time_created), session.id)
}

fn month(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", t.year(), t.month() as u8)
}

/// What a snapshot did. `skipped` are this repository's sessions that could not be read
/// (damaged rows); everything else was archived.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing to write; `commit` is the tip, `None` when there is no archive yet (no session
    /// to put in one).
    UpToDate {
        commit: Option<Oid>,
        deferred: usize,
        skipped: Vec<Unreadable>,
    },
    Committed {
        commit: Oid,
        added: Vec<String>,
        updated: Vec<String>,
        deferred: usize,
        skipped: Vec<Unreadable>,
    },
}

impl Outcome {
    /// The sessions left out because they could not be read.
    pub fn skipped(&self) -> &[Unreadable] {
        match self {
            Outcome::UpToDate { skipped, .. } | Outcome::Committed { skipped, .. } => skipped,
        }
    }
}

/// Options of a snapshot.
pub struct Options<'a> {
    pub ref_name: &'a str,
    pub redactor: Option<&'a Redactor>,
    /// Stop rendering changed sessions after this instant (hooks are time-bounded); the
    /// ones left keep their old stamp, so the next run picks them up.
    pub deadline: Option<std::time::Instant>,
}

/// Resolves this repository's sessions once and archives them; returns them too, for the
/// notes of the same run.
pub fn snapshot_repository(
    ctx: &Ctx,
    store: &Store,
    options: &Options<'_>,
) -> Result<(Outcome, Vec<Member>)> {
    // What a killed earlier run left half-written; git's own gc would never remove it.
    ctx.repo.remove_stale_temp_objects();
    let (ids, members) = ctx.members(store)?;
    let outcome = snapshot(ctx, store, (&ids, &members), options)?;
    Ok((outcome, members))
}

/// Archives `members`, the sessions of this repository (see [`Ctx::members`]), onto
/// `options.ref_name`.
fn snapshot(
    ctx: &Ctx,
    store: &Store,
    (ids, members): (&ProjectIds, &[Member]),
    options: &Options<'_>,
) -> Result<Outcome> {
    let repo = &ctx.repo;
    let tip = read_tip(repo, options.ref_name)?;
    let stamps = store.change_stamps()?;
    let redacted = options.redactor.is_some();
    let old_sessions = match &tip {
        Some(t) => read_entries(repo, t.tree)?,
        None => BTreeMap::new(),
    };
    // A different tool version or redaction mode renders differently: rewrite everything.
    let same_mode = tip.as_ref().is_some_and(|t| {
        t.manifest.tool.as_ref().map(|tool| tool.version.as_str())
            == Some(env!("CARGO_PKG_VERSION"))
            && t.manifest.redacted == Some(redacted)
    });

    // A tie with an archived copy is decided on content in the form the archive holds it.
    let held_form = HeldForm {
        redacted: tip.as_ref().is_some_and(|t| t.manifest.is_redacted()),
        ours: options.redactor,
        fallback: OnceCell::new(),
    };
    let links = Links::new(members, options.redactor);
    let mut collected = Collected {
        entries: old_sessions,
        touched_months: BTreeSet::new(),
        edits: Vec::new(),
        added: Vec::new(),
        updated: Vec::new(),
        unreadable: Vec::new(),
    };
    let mut deferred = 0;
    let mut skipped = ctx.unreadable_members(store, ids);
    // This thread reads the store (one read transaction cannot be shared) and puts the blobs
    // in place; workers redact, render, hash and compress each session. Sessions are
    // collected in reading order, so the tree does not depend on the threads. (Blobs written
    // from several threads, each with its own gix handle, made the kernel time four times
    // larger.)
    // Up to four objects per session to write (its files and its directory): a pack when
    // that makes many. Unchanged is the loop's own test below (the loop cannot call this
    // closure: it borrows what the loop's writes change).
    let unchanged = |member: &Member| {
        let stamp = stamps
            .get(&member.session.id)
            .map_or("", |s| s.text.as_str());
        let held = collected.entries.get(&member.session.id);
        same_mode && held.is_some_and(|held| held.stamp == stamp)
    };
    let to_write = members.iter().filter(|m| !unchanged(m)).count();
    let mut writer = repo.object_writer(4 * to_write)?;
    let format = writer.blob_format();
    let work =
        |maker: &mut BlobMaker, job: Job| job.render(members, &links, options.redactor, maker);
    // A session whose rows the worker could not write out is read and rendered here.
    let mut maker = BlobMaker::new(format);
    let mut by_hand = |job: Job| -> Result<Rendered> {
        let session = &members[job.member].session;
        let docs = read_documents(store, session, None)?;
        let job = Job {
            read: ReadSession::Parsed(docs),
            ..job
        };
        match job.render(members, &links, options.redactor, &mut maker)? {
            Ok(rendered) => Ok(rendered),
            Err(_) => unreachable!("parsed documents are always rendered"),
        }
    };
    let threads = crate::parallel::threads();
    let init = || BlobMaker::new(format);
    crate::parallel::with_pool_state(threads, init, work, |pool| -> Result<()> {
        for (index, member) in members.iter().enumerate() {
            let session = &member.session;
            let stamp = stamps.get(&session.id).cloned().unwrap_or_default();
            let previous = collected.entries.get(&session.id);
            if same_mode && previous.is_some_and(|p| p.stamp == stamp.text) {
                continue;
            }
            if options
                .deadline
                .is_some_and(|d| std::time::Instant::now() > d)
            {
                deferred += 1;
                continue;
            }
            // Whether the store's copy is newer, and that copy (redacted now, or to be
            // redacted by the worker); a damaged session is left out and reported, so that
            // it keeps none of the others out of the archive.
            let newer_copy = || -> Result<Option<(ReadSession, bool)>> {
                let mut read = None;
                let order = match (previous, &tip) {
                    // Rendered by another version or mode: a digest under other rules (new
                    // secret formats, say) says nothing, so a copy as new as the held one is
                    // rendered again.
                    (Some(held), Some(_)) if !same_mode => {
                        match stamp.changed.cmp(&held.last_change()) {
                            Ordering::Less => Ordering::Less,
                            _ => Ordering::Greater,
                        }
                    }
                    (Some(held), Some(tip)) => {
                        freshness::compare(stamp.changed, held.last_change(), || {
                            let docs = read_documents(store, session, options.redactor)?;
                            let digest = held_form.digest(store, session, &docs)?;
                            read = Some(docs);
                            Ok((digest, archived_digest(repo, tip.tree, held)))
                        })?
                    }
                    _ => Ordering::Greater,
                };
                // An equal copy is rewritten only to render it the way this version and
                // mode do.
                let write = order == Ordering::Greater || (order == Ordering::Equal && !same_mode);
                if !write {
                    return Ok(None);
                }
                match read {
                    Some(docs) => Ok(Some((ReadSession::Parsed(docs), false))),
                    None => read_for_worker(store, session)
                        .map(|read| Some((read, options.redactor.is_some()))),
                }
            };
            let (read, to_redact) = match newer_copy() {
                Ok(Some(read)) => read,
                Ok(None) => continue,
                Err(e) => {
                    skipped.push(super::unreadable(session, &e));
                    continue;
                }
            };
            let job = Job {
                member: index,
                archived: previous.is_some(),
                stamp,
                read,
                redact: to_redact,
            };
            let size = job.read.size();
            pool.push(job, size, &mut |made| {
                collected.take(&mut writer, made?, members, &mut by_hand)
            })?;
        }
        pool.finish(&mut |made| collected.take(&mut writer, made?, members, &mut by_hand))
    })?;
    let Collected {
        entries,
        touched_months,
        mut edits,
        added,
        updated,
        unreadable,
    } = collected;
    skipped.extend(unreadable);

    // Each touched month's index is rewritten whole; the others are shared with the tip.
    for m in &touched_months {
        edits.push(Edit::Blob(
            format!("sessions/{m}/{INDEX}"),
            month_index(&entries, m, options.redactor)?,
        ));
    }
    let manifest = manifest(ctx, ids, options.redactor)?;
    let old_manifest = tip
        .as_ref()
        .and_then(|t| repo.read_blob_at(t.tree, MANIFEST).ok().flatten());
    // Nothing to archive and no archive yet: no branch holding only a manifest. Nor a commit
    // for a manifest that differs only in the clone that wrote it (see `same_but_for_clone`).
    let manifest_holds = old_manifest
        .as_deref()
        .is_some_and(|old| same_but_for_clone(old, &manifest));
    if edits.is_empty() && (tip.is_none() || manifest_holds) {
        return Ok(Outcome::UpToDate {
            commit: tip.map(|t| t.commit),
            deferred,
            skipped,
        });
    }
    edits.push(Edit::Blob(MANIFEST.into(), manifest));
    edits.push(Edit::Blob(
        "README.md".into(),
        readme(options.ref_name).into_bytes(),
    ));
    let tree = writer.write_tree(tip.as_ref().map(|t| t.tree), edits)?;
    writer.finish()?;
    if tip.as_ref().is_some_and(|t| t.tree == tree) {
        return Ok(Outcome::UpToDate {
            commit: tip.map(|t| t.commit),
            deferred,
            skipped,
        });
    }
    let message = commit_message(&added, &updated);
    let parents: Vec<Oid> = tip.iter().map(|t| t.commit).collect();
    let floor = ctx.facts.all_roots.first().map(String::as_str);
    let commit = repo.write_commit(tree, parents, &message, floor)?;
    repo.update_ref(
        options.ref_name,
        commit,
        tip.as_ref().map(|t| t.commit),
        "git-opencode: push-sessions",
    )?;
    Ok(Outcome::Committed {
        commit,
        added,
        updated,
        deferred,
        skipped,
    })
}

/// One session to render and write: read by the store's thread, done by a worker.
struct Job {
    /// Which of the members.
    member: usize,
    /// Whether the archive already holds a copy (it is then updated, else added).
    archived: bool,
    stamp: ChangeStamp,
    read: ReadSession,
    /// Redact the documents first (they were read verbatim).
    redact: bool,
}

/// What a worker made of a job: the session rendered, or (rows it could not write out) the
/// job back, for the store's thread to read the slow way.
type Made = std::result::Result<Rendered, Box<Job>>;

/// A session's rendered files, as blobs ready to be put in place.
struct Rendered {
    member: usize,
    archived: bool,
    stamp: ChangeStamp,
    dir: String,
    title: String,
    /// File name and blob: `session.json`, `extra.json` when there is one, `transcript.md`.
    blobs: Vec<(&'static str, ReadyBlob)>,
}

impl Job {
    fn render(
        self,
        members: &[Member],
        links: &Links,
        redactor: Option<&Redactor>,
        maker: &mut BlobMaker,
    ) -> Result<Made> {
        // The document as printed, when the rows were written out and nothing redacts it.
        let mut printed = None;
        let mut docs = match self.read {
            ReadSession::Parsed(docs) => docs,
            ReadSession::Rows(rows, extra) => {
                // The text is `JSON.stringify`'s of the rows: parsed, it is the document the
                // slow path builds (see `json_pretty`); the transcript needs it parsed.
                let text = rows.render();
                let doc = text
                    .as_deref()
                    .and_then(|t| crate::json::parse_slice(t).ok());
                match doc {
                    Some(doc) => {
                        printed = text;
                        Documents { doc, extra }
                    }
                    None => {
                        let read = ReadSession::Rows(rows, extra);
                        return Ok(Err(Box::new(Job { read, ..self })));
                    }
                }
            }
            ReadSession::V2(rows) => {
                // Written out of the rows as 1.x ones are; parsed for the transcript.
                let rendered = rows.render().and_then(|(text, extra)| {
                    let doc = crate::json::parse_slice(&text).ok()?;
                    Some((doc, extra, text))
                });
                match rendered {
                    Some((doc, extra, text)) => {
                        printed = Some(text);
                        Documents { doc, extra }
                    }
                    None => match rows.documents() {
                        Ok((doc, extra)) => Documents { doc, extra },
                        // Damaged rows: the store's thread reads them again, and names the
                        // session.
                        Err(_) => {
                            let read = ReadSession::V2(rows);
                            return Ok(Err(Box::new(Job { read, ..self })));
                        }
                    },
                }
            }
        };
        let Job {
            member,
            archived,
            stamp,
            redact,
            ..
        } = self;
        // Most sessions hold no secret: their document as printed stays valid.
        if let Some(r) = redactor.filter(|_| redact) {
            if docs.redact(r) > 0 {
                printed = None;
            }
        }
        let session = &members[member].session;
        let dir = session_dir(session);
        let files = render_session(session, docs, printed, links);
        let mut blobs = vec![("session.json", maker.make(&files.session_json)?)];
        if let Some(extra) = &files.extra_json {
            blobs.push(("extra.json", maker.make(extra)?));
        }
        blobs.push(("transcript.md", maker.make(&files.transcript)?));
        Ok(Ok(Rendered {
            member,
            archived,
            stamp,
            dir,
            title: files.title,
            blobs,
        }))
    }
}

/// What the sessions written so far add to the archive, in reading order.
struct Collected {
    entries: BTreeMap<String, IndexEntry>,
    touched_months: BTreeSet<String>,
    edits: Vec<Edit>,
    added: Vec<String>,
    updated: Vec<String>,
    /// Sessions whose rows turned out damaged when they were rendered.
    unreadable: Vec<Unreadable>,
}

impl Collected {
    /// Writes the session's blobs (each as it comes: nothing waits in memory); a job the
    /// worker handed back is done with `by_hand`.
    fn take(
        &mut self,
        writer: &mut ObjectWriter,
        made: Made,
        members: &[Member],
        by_hand: &mut dyn FnMut(Job) -> Result<Rendered>,
    ) -> Result<()> {
        let r = match made {
            Ok(rendered) => rendered,
            Err(job) => {
                let member = job.member;
                match by_hand(*job) {
                    Ok(rendered) => rendered,
                    Err(e) => {
                        let session = &members[member].session;
                        self.unreadable.push(super::unreadable(session, &e));
                        return Ok(());
                    }
                }
            }
        };
        let member = &members[r.member];
        let session = &member.session;
        for (name, blob) in &r.blobs {
            let path = format!("{}/{name}", r.dir);
            let id = writer.write_blob(&path, blob)?;
            self.edits.push(Edit::BlobId(path, id));
        }
        let title = r.title;
        let line = format!("{} {title}", session.id);
        if r.archived {
            self.updated.push(line);
        } else {
            self.added.push(line);
        }
        self.touched_months.insert(month(session.time_created));
        self.entries.insert(
            session.id.clone(),
            index_entry(member, &r.dir, &r.stamp, &title),
        );
        Ok(())
    }
}

/// The rendered files of one session.
struct SessionFiles {
    title: String,
    session_json: Vec<u8>,
    extra_json: Option<Vec<u8>>,
    transcript: Vec<u8>,
}

/// A session's documents for a worker to render (see [`ReadSession::read`]); a failure names
/// the session.
fn read_for_worker(store: &Store, session: &Session) -> Result<ReadSession> {
    ReadSession::read(store, session, true)
        .with_context(|| format!("failed to read session {}", session.id))
}

/// A session's documents for the branch; a failure names the session (the text the
/// skipped-session reasons and the hook log have always shown).
fn read_documents(
    store: &Store,
    session: &Session,
    redactor: Option<&Redactor>,
) -> Result<Documents> {
    Documents::read(store, session, redactor)
        .with_context(|| format!("failed to read session {}", session.id))
}

/// The form the archive holds its copies in, for comparing a store's copy with them: the
/// store's copy is digested redacted exactly when the archive is.
struct HeldForm<'a> {
    redacted: bool,
    /// The redactor of this run, if it redacts.
    ours: Option<&'a Redactor>,
    /// A redactor for comparing with a redacted archive in a `--no-redact` run.
    fallback: OnceCell<Redactor>,
}

impl HeldForm<'_> {
    /// The digest of the store's copy of `session` (`docs`, read in this run's form) in the
    /// archive's form.
    fn digest(&self, store: &Store, session: &Session, docs: &Documents) -> Result<ContentDigest> {
        if self.redacted == self.ours.is_some() {
            return Ok(ContentDigest::of(&docs.doc, Some(&docs.extra)));
        }
        let redactor = self.redacted.then(|| {
            self.ours
                .unwrap_or_else(|| self.fallback.get_or_init(Redactor::new))
        });
        let other = read_documents(store, session, redactor)?;
        Ok(ContentDigest::of(&other.doc, Some(&other.extra)))
    }
}

/// The digest of the copy `entry` names in the archive tree `tree`;
/// [`ContentDigest::UNREADABLE`] when its files are missing or malformed.
fn archived_digest(repo: &Repo, tree: Oid, entry: &IndexEntry) -> ContentDigest {
    let read = || -> Result<ContentDigest> {
        let session = repo
            .read_blob_at(tree, &format!("{}/session.json", entry.path))?
            .ok_or_else(|| anyhow!("no session.json"))?;
        let extra = repo.read_blob_at(tree, &format!("{}/extra.json", entry.path))?;
        ContentDigest::of_files(&session, extra.as_deref(), &entry.path)
    };
    read().unwrap_or(ContentDigest::UNREADABLE)
}

/// A session's archive files from its documents; `printed` is the document already
/// printed, if it was ([`crate::store::ExportRows::render`] writes exactly the bytes
/// `crate::json::pretty_line` would).
fn render_session(
    session: &Session,
    docs: Documents,
    printed: Option<Vec<u8>>,
    links: &Links,
) -> SessionFiles {
    let Documents { doc, extra } = docs;
    let title = doc["info"]["title"].as_str().unwrap_or_default();
    let title = crate::json::replace_lone_surrogates(title).replace(['\n', '\r'], " ");
    let transcript = transcript::render_linked(
        &doc,
        (!extra.is_empty()).then_some(&extra),
        links.parent_of(session),
        &links.children_of(session),
    )
    .into_bytes();
    let extra_json = documents::extra_json(&session.id, extra);
    SessionFiles {
        title,
        session_json: printed.unwrap_or_else(|| crate::json::pretty_line(&doc)),
        extra_json,
        transcript,
    }
}

/// Links between the transcripts of parent and subagent sessions in the archive tree.
struct Links {
    by_id: HashMap<String, transcript::SessionLink>,
    children: HashMap<String, Vec<String>>,
}

impl Links {
    /// Titles are redacted like everything else that reaches a git object.
    fn new(members: &[Member], redactor: Option<&Redactor>) -> Links {
        let mut by_id = HashMap::new();
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for m in members {
            let s = &m.session;
            let title = match redactor {
                Some(r) => r.redact_str(&s.title).into_owned(),
                None => s.title.clone(),
            };
            let href = format!("../../{}/{}/transcript.md", month(s.time_created), s.id);
            by_id.insert(
                s.id.clone(),
                transcript::SessionLink {
                    id: s.id.clone(),
                    title,
                    href,
                },
            );
            if let Some(parent) = &s.parent_id {
                children
                    .entry(parent.clone())
                    .or_default()
                    .push(s.id.clone());
            }
        }
        Links { by_id, children }
    }

    fn parent_of(&self, session: &Session) -> Option<&transcript::SessionLink> {
        session.parent_id.as_ref().and_then(|p| self.by_id.get(p))
    }

    fn children_of(&self, session: &Session) -> Vec<transcript::SessionLink> {
        self.children
            .get(&session.id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.by_id.get(id).cloned())
            .collect()
    }
}

fn index_entry(member: &Member, dir: &str, stamp: &ChangeStamp, title: &str) -> IndexEntry {
    let s = &member.session;
    IndexEntry {
        path: dir.to_owned(),
        title: title.to_owned(),
        parent_id: s.parent_id.clone(),
        project_id: s.project_id.clone(),
        created: s.time_created,
        updated: s.time_updated,
        rule: member.rule.as_str().to_owned(),
        stamp: stamp.text.clone(),
        changed: Some(stamp.changed),
        generation: s.generation,
    }
}

/// Whether the manifests `old` and `new` are the same but for the `repository` they name:
/// the checkout's name, its origin URL and roots are the facts of the clone that wrote it.
/// Rewriting the manifest for those alone would have two clones that sync take turns: each
/// one's next run commits its own name over the other's, and the next sync merges that.
fn same_but_for_clone(old: &[u8], new: &[u8]) -> bool {
    if old == new {
        return true;
    }
    let without_repository = |bytes: &[u8]| {
        let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        value.as_object_mut()?.remove("repository");
        Some(value)
    };
    without_repository(old).is_some_and(|old| Some(old) == without_repository(new))
}

/// The manifest's bytes, redacted like everything else that reaches a git object.
fn manifest(ctx: &Ctx, ids: &ProjectIds, redactor: Option<&Redactor>) -> Result<Vec<u8>> {
    let manifest = BranchManifest {
        format: BRANCH_FORMAT,
        version: VERSION,
        tool: Tool::this(),
        redacted: redactor.is_some(),
        repository: RepositoryInfo::of(&ctx.facts),
        projects: ProjectEntry::list(ids),
        session_index: format!("sessions/<YYYY-MM>/{INDEX}"),
    };
    let mut manifest = serde_json::to_value(manifest).context("failed to write the manifest")?;
    if let Some(r) = redactor {
        r.redact_value(&mut manifest);
    }
    Ok(crate::json::pretty_line(&manifest))
}

fn commit_message(added: &[String], updated: &[String]) -> String {
    let mut message = match (added.len(), updated.len()) {
        (0, 0) => format!("{COMMIT_MESSAGE_PREFIX}refresh the archive\n"),
        (a, u) => format!("{COMMIT_MESSAGE_PREFIX}{a} added, {u} updated\n"),
    };
    if !added.is_empty() || !updated.is_empty() {
        message.push('\n');
    }
    for line in added {
        message.push_str(&format!("added {line}\n"));
    }
    for line in updated {
        message.push_str(&format!("updated {line}\n"));
    }
    message
}

fn readme(ref_name: &str) -> String {
    format!(
        "# OpenCode sessions archive\n\n\
         This branch (`{ref_name}`) is written by `git opencode push-sessions` and holds the\n\
         OpenCode agent sessions of this repository. It is an orphan history: it shares no commits\n\
         with your code. Do not merge it, open pull requests from it, or pick it as a default branch.\n\n\
         - `sessions/<YYYY-MM>/<sessionID>/session.json`: the session as `opencode export` prints it\n\
           (`opencode import` accepts it)\n\
         - `sessions/<YYYY-MM>/<sessionID>/extra.json`: todos, diffs and v2 records, when there are any\n\
         - `sessions/<YYYY-MM>/<sessionID>/transcript.md`: a readable transcript\n\
         - `sessions/<YYYY-MM>/index.json`: that month's sessions, with project and change stamp\n\
         - `manifest.json`: the archive's format, repository and project IDs\n\n\
         Secret-shaped strings (API keys, tokens, private keys, URL passwords) were replaced by\n\
         `[REDACTED:<kind>]` before anything was written, unless `--no-redact` was given.\n\n\
         Restore on another machine with `git opencode restore {ref_name}`; search with\n\
         `git grep <text> {ref_name}`.\n"
    )
}

/// Fails unless the tree `tree` is a branch archive.
fn check_is_archive(repo: &Repo, tree: Oid) -> Result<()> {
    let bytes = repo
        .read_blob_at(tree, MANIFEST)?
        .ok_or_else(|| anyhow!("archive commit without {MANIFEST}"))?;
    let header: ManifestHeader =
        serde_json::from_slice(&bytes).context("malformed archive manifest")?;
    if header.format.as_deref() != Some(BRANCH_FORMAT) {
        bail!("the remote's archive is not a git-opencode archive");
    }
    Ok(())
}

/// Merges two archive trees (see [`crate::git::Merge`]): sessions only they have, or that they have
/// newer ([`freshness::compare`]), come over as whole session directories; the month indexes
/// they touch are rewritten as the union. Our manifest stays.
pub fn union(repo: &Repo, ours: Oid, theirs: Oid) -> Result<Vec<Edit>> {
    check_is_archive(repo, ours)?;
    check_is_archive(repo, theirs)?;
    let mut our_sessions = read_entries(repo, ours)?;
    let their_sessions = read_entries(repo, theirs)?;
    let mut edits = Vec::new();
    let mut touched_months = BTreeSet::new();
    for (id, entry) in their_sessions {
        let Some(month) = entry.month().map(str::to_owned) else {
            continue;
        };
        let Some(their_tree) = repo.entry_at(theirs, &entry.path)?.filter(|e| e.is_tree) else {
            continue;
        };
        let newer = match our_sessions.get(&id) {
            None => true,
            Some(held) => {
                let our_tree = repo.entry_at(ours, &held.path)?.map(|e| e.id);
                our_tree != Some(their_tree.id)
                    && freshness::compare(entry.last_change(), held.last_change(), || {
                        Ok((
                            archived_digest(repo, theirs, &entry),
                            archived_digest(repo, ours, held),
                        ))
                    })? == Ordering::Greater
            }
        };
        if newer {
            edits.push(Edit::Tree(entry.path.clone(), their_tree.id));
            touched_months.insert(month);
            our_sessions.insert(id, entry);
        }
    }
    for month in touched_months {
        edits.push(Edit::Blob(
            format!("sessions/{month}/{INDEX}"),
            month_index(&our_sessions, &month, None)?,
        ));
    }
    Ok(edits)
}

/// Reads and checks the archive tree of `id` (a commit or tree of the archive branch);
/// `spec` names it in messages.
pub(super) fn read(repo: &Repo, spec: &str, id: Oid) -> Result<Archive> {
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
    let mut ours = false;
    if let Some(manifest) = root.iter().find(|e| e.name == MANIFEST && !e.is_tree) {
        let data = repo.read_blob(manifest.id, &format!("{MANIFEST} of {spec}"))?;
        let manifest: ManifestHeader = serde_json::from_slice(&data)
            .with_context(|| format!("malformed {MANIFEST} in {spec}"))?;
        match manifest.format.as_deref() {
            Some(BRANCH_FORMAT) | Some(PACK_FORMAT) | None => {}
            Some(other) => bail!(UserError::new(format!(
                "{spec} holds an archive of unknown format {other}"
            ))
            .hint("upgrade git-opencode")),
        }
        redacted = manifest.is_redacted();
        ours = manifest.format.as_deref() == Some(BRANCH_FORMAT);
    }
    // Our manifest without sessions/ is an archive of no session (earlier versions wrote one
    // when there was nothing to archive).
    let sessions_dir = match root.iter().find(|e| e.name == "sessions" && e.is_tree) {
        Some(dir) => Some(dir.id),
        None if ours => None,
        None => return Err(not_archive()),
    };
    // sessions/<YYYY-MM>/<id>/ (also accepted: sessions/<id>/).
    let mut dirs = Vec::new();
    let shards = match sessions_dir {
        Some(dir) => repo.tree_entries(dir, spec)?,
        None => Vec::new(),
    };
    for shard in shards {
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
    // Every session is read and checked now, one at a time, and only listed: nothing is
    // written anywhere before the whole archive has been checked.
    let mut sessions = BTreeMap::new();
    let mut total: u64 = 0;
    for (path, id, files) in dirs {
        let Some(doc) = files
            .iter()
            .find(|e| e.name == "session.json" && !e.is_tree)
        else {
            continue;
        };
        let extra = files.iter().find(|e| e.name == "extra.json" && !e.is_tree);
        check_blob_size(
            repo,
            doc.id,
            &format!("{path}/session.json in {spec}"),
            &mut total,
        )?;
        if let Some(e) = extra {
            check_blob_size(
                repo,
                e.id,
                &format!("{path}/extra.json in {spec}"),
                &mut total,
            )?;
        }
        let extra = extra.map(|e| e.id);
        let session = read_session(repo, &label, &id, &path, doc.id, extra)?;
        let listed = Listed::new(
            &session,
            Place::Blob {
                dir: path,
                doc: doc.id,
                extra,
            },
        );
        drop(session);
        if sessions.insert(id.clone(), listed).is_some() {
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
        source: Source::Git(Box::new(repo.clone())),
    })
}

/// Session `id` of the archive `label`, from the blobs of its directory `dir`: parsed and
/// checked ([`parse_session`]). The bytes of a blob are dropped once it is parsed.
pub(super) fn read_session(
    repo: &Repo,
    label: &str,
    id: &str,
    dir: &str,
    doc: Oid,
    extra: Option<Oid>,
) -> Result<ArchivedSession> {
    let extra = match extra {
        Some(blob) => Some(repo.read_blob(blob, &format!("{dir}/extra.json in {label}"))?),
        None => None,
    };
    let origin = format!("{dir}/session.json in {label}");
    let doc = repo.read_blob(doc, &origin)?;
    let extra = extra.as_deref().map(|d| (format!("{dir}/extra.json"), d));
    parse_session(id, &origin, &doc, extra, label)
}

/// Fails when blob `id` is larger than [`MAX_ENTRY`], or when it takes the archive's
/// `total` past [`MAX_TOTAL`].
fn check_blob_size(repo: &Repo, id: Oid, what: &str, total: &mut u64) -> Result<()> {
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
    Ok(())
}
