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
//! session whose stamp is unchanged is not even read from the store.

use crate::config::Ctx;
use crate::error::UserError;
use crate::git::{self, Edit, Oid, Repo};
use crate::membership::{Member, ProjectIds};
use crate::redact::Redactor;
use crate::store::{Session, Store};
use crate::transcript;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Default ref of the archive branch.
pub const DEFAULT_REF: &str = "refs/heads/opencode/sessions";
/// `git config` key overriding [`DEFAULT_REF`].
pub const REF_KEY: &str = "opencode.ref";
/// The manifest's `format` value, which marks a tree as ours.
pub const FORMAT: &str = "git-opencode-archive";
pub const MANIFEST: &str = "manifest.json";

/// The archive ref: `explicit`, else `git config opencode.ref`, else [`DEFAULT_REF`].
pub fn configured_ref(repo: &Repo, explicit: Option<&str>) -> Result<String> {
    let name = match explicit {
        Some(name) => name.to_owned(),
        None => repo
            .config_string(REF_KEY)
            .unwrap_or_else(|| DEFAULT_REF.to_owned()),
    };
    git::full_ref_name(&name)
}

/// The current tip of an archive ref.
#[derive(Debug, Clone)]
pub struct Tip {
    pub commit: Oid,
    pub tree: Oid,
    pub manifest: Map<String, Value>,
}

/// Reads the tip of `ref_name`; fails when the ref exists but is not a git-opencode archive.
pub fn read_tip(repo: &Repo, ref_name: &str) -> Result<Option<Tip>> {
    let Some(commit) = repo.ref_target(ref_name)? else {
        return Ok(None);
    };
    let tree = repo.commit_tree(commit)?;
    let manifest = repo
        .read_blob_at(tree, MANIFEST)?
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|v| match v {
            Value::Object(map) if map.get("format").and_then(Value::as_str) == Some(FORMAT) => {
                Some(map)
            }
            _ => None,
        });
    match manifest {
        Some(manifest) => Ok(Some(Tip { commit, tree, manifest })),
        None => bail!(UserError::new(format!("{ref_name} exists and is not a git-opencode archive (no {MANIFEST} of format {FORMAT})")).hint(format!("pass another --ref, or set git config {REF_KEY}"))),
    }
}

/// Per month, `sessions/<YYYY-MM>/index.json` lists that month's sessions (path, title,
/// parent, project, times, rule, change stamp). Keeping the list per month, not in
/// `manifest.json`, makes a commit's new objects proportional to what changed, not to the
/// size of the archive.
pub const INDEX: &str = "index.json";

/// Every session entry of the archive tree `tree`, by session ID.
pub fn read_entries(repo: &Repo, tree: Oid) -> Result<BTreeMap<String, Value>> {
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
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => entries.extend(map),
            _ => bail!("malformed sessions/{}/{INDEX} in the archive", month.name),
        }
    }
    Ok(entries)
}

/// The index of month `m`: the entries whose path lies under `sessions/<m>/`.
pub fn month_index(
    entries: &BTreeMap<String, Value>,
    m: &str,
    redactor: Option<&Redactor>,
) -> Vec<u8> {
    let prefix = format!("sessions/{m}/");
    let mut index: Value = Value::Object(
        entries
            .iter()
            .filter(|(_, e)| e["path"].as_str().is_some_and(|p| p.starts_with(&prefix)))
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect::<Map<String, Value>>(),
    );
    if let Some(r) = redactor {
        r.redact_value(&mut index);
    }
    crate::json::pretty_line(&index)
}

/// The month directory (`YYYY-MM`) of an entry's path `sessions/<YYYY-MM>/<id>`.
pub fn entry_month(entry: &Value) -> Option<String> {
    entry["path"].as_str()?.split('/').nth(1).map(String::from)
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

/// What a snapshot did.
#[derive(Debug)]
pub enum Outcome {
    UpToDate {
        commit: Option<Oid>,
        deferred: usize,
    },
    Committed {
        commit: Oid,
        added: Vec<String>,
        updated: Vec<String>,
        deferred: usize,
    },
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
        t.manifest
            .get("tool")
            .and_then(|v| v.get("version"))
            .and_then(Value::as_str)
            == Some(env!("CARGO_PKG_VERSION"))
            && t.manifest.get("redacted").and_then(Value::as_bool) == Some(redacted)
    });

    let links = Links::new(members, options.redactor);
    let mut entries = old_sessions;
    let mut touched_months = BTreeSet::new();
    let mut edits = Vec::new();
    let (mut added, mut updated) = (Vec::new(), Vec::new());
    let mut deferred = 0;
    let mut pending = 0;
    for member in members {
        let session = &member.session;
        let stamp = stamps.get(&session.id).cloned().unwrap_or_default();
        let previous = entries.get(&session.id);
        if same_mode
            && previous
                .and_then(|p| p.get("stamp"))
                .and_then(Value::as_str)
                == Some(stamp.as_str())
        {
            continue;
        }
        if options
            .deadline
            .is_some_and(|d| std::time::Instant::now() > d)
        {
            deferred += 1;
            continue;
        }
        let dir = session_dir(session);
        let files = render_session(store, session, &links, options.redactor)?;
        let line = format!("{} {}", session.id, files.title);
        if previous.is_some() {
            updated.push(line);
        } else {
            added.push(line);
        }
        touched_months.insert(month(session.time_created));
        entries.insert(
            session.id.clone(),
            manifest_entry(member, &dir, &stamp, &files.title),
        );
        pending += files.session_json.len() + files.transcript.len();
        edits.push(Edit::Blob(
            format!("{dir}/session.json"),
            files.session_json,
        ));
        if let Some(extra) = files.extra_json {
            pending += extra.len();
            edits.push(Edit::Blob(format!("{dir}/extra.json"), extra));
        }
        edits.push(Edit::Blob(format!("{dir}/transcript.md"), files.transcript));
        if pending >= WRITE_BATCH {
            write_blobs(repo, &mut edits)?;
            pending = 0;
        }
    }

    // Each touched month's index is rewritten whole; the others are shared with the tip.
    for m in &touched_months {
        edits.push(Edit::Blob(
            format!("sessions/{m}/{INDEX}"),
            month_index(&entries, m, options.redactor),
        ));
    }
    let manifest = crate::json::pretty_line(&manifest(ctx, ids, redacted, options.redactor));
    let old_manifest = tip
        .as_ref()
        .and_then(|t| repo.read_blob_at(t.tree, MANIFEST).ok().flatten());
    if edits.is_empty() && old_manifest.as_deref() == Some(manifest.as_slice()) {
        return Ok(Outcome::UpToDate {
            commit: tip.map(|t| t.commit),
            deferred,
        });
    }
    edits.push(Edit::Blob(MANIFEST.into(), manifest));
    edits.push(Edit::Blob(
        "README.md".into(),
        readme(options.ref_name).into_bytes(),
    ));
    let tree = repo.write_tree(tip.as_ref().map(|t| t.tree), edits)?;
    if tip.as_ref().is_some_and(|t| t.tree == tree) {
        return Ok(Outcome::UpToDate {
            commit: tip.map(|t| t.commit),
            deferred,
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
    })
}

/// Rendered files are written as blobs whenever this many bytes are waiting: a run that
/// renders every session (the first one, or after an upgrade) then holds a bounded amount,
/// not the whole archive. Writing in batches rather than one blob per session keeps the
/// compressor's buffer reused; interleaving each write with rendering fragmented the heap.
const WRITE_BATCH: usize = 16 << 20;

/// Writes the blobs of `edits` that are still in memory, keeping only their IDs.
fn write_blobs(repo: &Repo, edits: &mut [Edit]) -> Result<()> {
    for edit in edits.iter_mut() {
        if let Edit::Blob(path, data) = edit {
            let id = repo.write_blob(path, data)?;
            *edit = Edit::BlobId(std::mem::take(path), id);
        }
    }
    Ok(())
}

/// The rendered files of one session.
struct SessionFiles {
    title: String,
    session_json: Vec<u8>,
    extra_json: Option<Vec<u8>>,
    transcript: Vec<u8>,
}

fn render_session(
    store: &Store,
    session: &Session,
    links: &Links,
    redactor: Option<&Redactor>,
) -> Result<SessionFiles> {
    let mut doc = store
        .export_document(session)
        .with_context(|| format!("failed to read session {}", session.id))?;
    let mut extra = Value::Object(store.extra(session)?);
    if let Some(r) = redactor {
        r.redact_value(&mut doc);
        r.redact_value(&mut extra);
    }
    let extra = match extra {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let title = doc["info"]["title"]
        .as_str()
        .unwrap_or_default()
        .replace(['\n', '\r'], " ");
    let transcript = transcript::render_linked(
        &doc,
        (!extra.is_empty()).then_some(&extra),
        links.parent_of(session),
        &links.children_of(session),
    )
    .into_bytes();
    let extra_json = (!extra.is_empty()).then(|| {
        let mut with_id = Map::new();
        with_id.insert("sessionID".into(), Value::String(session.id.clone()));
        with_id.extend(extra);
        crate::json::pretty_line(&Value::Object(with_id))
    });
    Ok(SessionFiles {
        title,
        session_json: crate::json::pretty_line(&doc),
        extra_json,
        transcript,
    })
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

fn manifest_entry(member: &Member, dir: &str, stamp: &str, title: &str) -> Value {
    let s = &member.session;
    json!({
        "path": dir,
        "title": title,
        "parentID": s.parent_id,
        "projectID": s.project_id,
        "created": s.time_created,
        "updated": s.time_updated,
        "rule": member.rule,
        "stamp": stamp,
    })
}

fn manifest(ctx: &Ctx, ids: &ProjectIds, redacted: bool, redactor: Option<&Redactor>) -> Value {
    let projects: Vec<Value> = ids
        .ids
        .iter()
        .map(|(id, rule)| json!({ "id": id, "rule": rule }))
        .collect();
    let mut manifest = json!({
        "format": FORMAT,
        "version": 1,
        "tool": { "name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION") },
        "redacted": redacted,
        "repository": {
            "name": ctx.facts.name,
            "roots": ctx.facts.all_roots,
            "origin": ctx.facts.origin_url.as_deref().map(crate::cmd::pack::strip_credentials),
        },
        "projects": projects,
        "sessionIndex": format!("sessions/<YYYY-MM>/{INDEX}"),
    });
    if let Some(r) = redactor {
        r.redact_value(&mut manifest);
    }
    manifest
}

fn commit_message(added: &[String], updated: &[String]) -> String {
    let mut message = match (added.len(), updated.len()) {
        (0, 0) => "git-opencode: refresh the archive\n".to_owned(),
        (a, u) => format!("git-opencode: {a} added, {u} updated\n"),
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

fn manifest_of(repo: &Repo, tree: Oid) -> Result<Map<String, Value>> {
    let bytes = repo
        .read_blob_at(tree, MANIFEST)?
        .ok_or_else(|| anyhow!("archive commit without {MANIFEST}"))?;
    match serde_json::from_slice(&bytes).context("malformed archive manifest")? {
        Value::Object(map) if map.get("format").and_then(Value::as_str) == Some(FORMAT) => Ok(map),
        _ => bail!("the remote's archive is not a git-opencode archive"),
    }
}

/// Merges two archive trees (see [`git::Merge`]): sessions only they have, or that they have
/// newer, come over as whole session directories; the month indexes they touch are
/// rewritten as the union. Our manifest stays.
pub fn union(repo: &Repo, ours: Oid, theirs: Oid) -> Result<Vec<Edit>> {
    manifest_of(repo, ours)?;
    manifest_of(repo, theirs)?;
    let mut our_sessions = read_entries(repo, ours)?;
    let their_sessions = read_entries(repo, theirs)?;
    let mut edits = Vec::new();
    let mut touched_months = BTreeSet::new();
    for (id, entry) in their_sessions {
        let newer = match our_sessions.get(&id) {
            None => true,
            Some(ours) => {
                entry["updated"].as_i64().unwrap_or(0) > ours["updated"].as_i64().unwrap_or(0)
            }
        };
        if !newer {
            continue;
        }
        let (Some(dir), Some(month)) = (entry["path"].as_str(), entry_month(&entry)) else {
            continue;
        };
        if let Some(tree) = repo.entry_at(theirs, dir)?.filter(|e| e.is_tree) {
            edits.push(Edit::Tree(dir.to_owned(), tree.id));
            touched_months.insert(month);
            our_sessions.insert(id, entry);
        }
    }
    for month in touched_months {
        edits.push(Edit::Blob(
            format!("sessions/{month}/{INDEX}"),
            month_index(&our_sessions, &month, None),
        ));
    }
    Ok(edits)
}
