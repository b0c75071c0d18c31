//! `git opencode pack`: one deterministic zip of all of this repository's sessions.

use crate::archive::PackWriter;
use crate::config::{Ctx, Verbosity};
use crate::error::UserError;
use crate::export;
use crate::fsutil::{persist, temp_beside};
use crate::membership::{self, Member, ProjectIds};
use crate::progress::Progress;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The zip format this writes (the manifest's `version`).
pub const FORMAT_VERSION: u32 = 1;

pub fn run(ctx: &Ctx, output: Option<&Path>, out: &mut dyn Write) -> Result<()> {
    let store = ctx.open_store()?;
    let (ids, members) = ctx.members(&store)?;
    if members.is_empty() {
        bail!(UserError::new(format!("no OpenCode sessions for this repository in {}", store.location().db.display())).hint("`git opencode list -v` explains which sessions belong here; --store <path> reads another store"));
    }
    if output == Some(Path::new("-")) {
        // A zip needs a seekable file; build it in an anonymous temporary file, then copy
        // the same bytes a file would get to standard output.
        let file = tempfile::tempfile().context("failed to create a temporary file")?;
        let written = write_pack(ctx, &store, &ids, &members, BufWriter::new(file))?;
        let mut file = written.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        std::io::copy(&mut file, out).context("failed to write the zip to standard output")?;
        return Ok(());
    }
    let path = match output {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(default_name(ctx, &ids)),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!(
                "cannot write {}: directory {} does not exist",
                path.display(),
                dir.display()
            );
        }
    }
    let temp = temp_beside(&path)?;
    let file = temp
        .reopen()
        .with_context(|| format!("failed to write {}", path.display()))?;
    let written = write_pack(ctx, &store, &ids, &members, BufWriter::new(file))
        .with_context(|| format!("failed to write {}", path.display()))?;
    written
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("failed to write {}", path.display()))?;
    persist(temp, &path)?;
    writeln!(out, "{}", path.display())?;
    Ok(())
}

fn default_name(ctx: &Ctx, ids: &ProjectIds) -> String {
    let id = membership::current_id(&ctx.facts)
        .or_else(|| ids.ids.keys().next().cloned())
        .unwrap_or_else(|| membership::GLOBAL.to_owned());
    let today = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}{:02}{:02}",
        today.year(),
        today.month() as u8,
        today.day()
    );
    let name: String = ctx
        .facts
        .name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "opencode-sessions-{name}-{}-{date}.zip",
        &id[..id.len().min(8)]
    )
}

/// Writes every entry, one session at a time, then the manifest.
fn write_pack<W: Write + std::io::Seek>(
    ctx: &Ctx,
    store: &Store,
    ids: &ProjectIds,
    members: &[Member],
    sink: W,
) -> Result<W> {
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
        if let Some(record) = store.project_record(project_id)? {
            zip.add(
                &format!("project/{project_id}.json"),
                &crate::json::pretty_line(&record),
            )?;
        }
    }

    let mut progress = Progress::new(
        "packing sessions",
        members.len(),
        ctx.verbosity != Verbosity::Quiet,
    );
    let mut versions = BTreeSet::new();
    for member in members {
        let session = &member.session;
        if let Some(v) = &session.summary.version {
            versions.insert(v.clone());
        }
        zip.add(
            &format!("sessions/{}.json", session.id),
            &export::session_json(store, session)?,
        )?;
        if let Some(extra) = export::extra_json(store, session)? {
            zip.add(&format!("sessions/{}.extra.json", session.id), &extra)?;
        }
        progress.tick();
    }
    progress.finish();

    let manifest = manifest(ctx, store, ids, members, &versions, created, zip.entries())?;
    zip.add("manifest.json", &crate::json::pretty_line(&manifest))?;
    zip.finish()
}

fn manifest(
    ctx: &Ctx,
    store: &Store,
    ids: &ProjectIds,
    members: &[Member],
    versions: &BTreeSet<String>,
    created: time::OffsetDateTime,
    entries: &[crate::archive::EntryRecord],
) -> Result<Value> {
    let created = created
        .format(&time::format_description::well_known::Rfc3339)
        .context("failed to format the pack time")?;
    let projects: Vec<Value> = ids
        .ids
        .iter()
        .map(|(id, rule)| json!({ "id": id, "rule": rule }))
        .collect();
    let sessions: Vec<Value> = members
        .iter()
        .map(|m| {
            json!({
                "id": m.session.id,
                "projectID": m.session.project_id,
                "parentID": m.session.parent_id,
                "title": m.session.title,
                "updated": m.session.time_updated,
                "rule": m.rule,
            })
        })
        .collect();
    Ok(json!({
        "format": "git-opencode-pack",
        "version": FORMAT_VERSION,
        "tool": { "name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION") },
        "created": created,
        "repository": {
            "name": ctx.facts.name,
            "roots": ctx.facts.all_roots,
            "origin": ctx.facts.origin_url.as_deref().map(strip_credentials),
        },
        "projects": projects,
        "store": { "kinds": store.kinds(), "opencodeVersions": versions },
        "sessions": sessions,
        "entries": entries,
    }))
}

/// `https://user:token@host/x` → `https://host/x`; scp-like `user@host:x` keeps its user
/// (it is a login name, not a secret).
pub fn strip_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_owned()
}

#[cfg(test)]
mod tests {
    use super::strip_credentials;

    #[test]
    fn credentials_are_stripped_from_urls() {
        assert_eq!(
            strip_credentials("https://u:t0k@github.com/a/b.git"),
            "https://github.com/a/b.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:a/b.git"),
            "git@github.com:a/b.git"
        );
        assert_eq!(
            strip_credentials("https://github.com/a@b"),
            "https://github.com/a@b"
        );
    }
}
