//! One module per subcommand: each takes its clap args, does its work through the modules
//! below, and prints the result.

pub mod completions;
pub mod doctor;
pub mod export;
pub mod fetch;
pub mod hook;
pub mod list;
pub mod log;
pub mod pack;
pub mod prune;
pub mod push_sessions;
pub mod remap;
pub mod restore;
pub mod search;
pub mod show;
pub mod summary;
pub mod verify;

use crate::archive::{self, Archive, Checksums};
use crate::config::Ctx;
use crate::error::UserError;
use crate::git::Repo;
use crate::notes;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// What a `<ZIP|REF>` argument names: a pack zip, a notes ref (the sessions its notes name),
/// or a ref or commit of the archive branch. A name git resolves as a ref is that ref even
/// where a file of that name exists (in a bare repository or inside `.git`, the loose ref
/// `refs/heads/opencode/sessions` is such a file); `./name` means the file.
pub fn open_archive(repo: &Repo, spec: &str, checksums: Checksums) -> Result<Archive> {
    if repo.existing_ref(spec).is_some() || !Path::new(spec).exists() {
        if let Some(archive) = notes::open_archive(repo, spec)? {
            return Ok(archive);
        }
    }
    archive::open(repo, spec, checksums)
}

/// Refuses an output `given` on the command line whose `resolved` path (canonical, symbolic
/// links followed) lies inside the store's directories: only `restore` writes there, and
/// `pack -o …/opencode.db` would replace the whole store with a zip.
pub fn refuse_output_in_store(ctx: &Ctx, given: &Path, resolved: &Path) -> Result<()> {
    let canonical = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
    let location = &ctx.store_location;
    let dirs: Vec<PathBuf> = location.directories().into_iter().map(canonical).collect();
    let db = canonical(location.db.clone());
    let cwd = std::env::current_dir().map(canonical).unwrap_or_default();
    let Some(dir) = store_area_of(&dirs, &db, &cwd, resolved) else {
        return Ok(());
    };
    let what = if resolved == given {
        "it".to_owned()
    } else {
        format!("that is {}, which", resolved.display())
    };
    bail!(UserError::new(format!(
        "cannot write {}: {what} is inside OpenCode's store directory {}",
        given.display(),
        dir.display()
    ))
    .hint("only `git opencode restore` writes there; pass -o with a path outside it"))
}

/// The store directory `resolved` lies in, of `dirs` (the store's directories) and `db` (its
/// database), all canonical. A directory that holds the current directory `cwd` is no
/// directory of OpenCode's own (`--store ~/opencode.db` while working in `~/src/repo`):
/// there only the database and its `-wal`, `-shm` and `-journal` files count.
fn store_area_of(dirs: &[PathBuf], db: &Path, cwd: &Path, resolved: &Path) -> Option<PathBuf> {
    let is_db_file = ["", "-wal", "-shm", "-journal"].iter().any(|suffix| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        resolved == Path::new(&name)
    });
    if is_db_file {
        return db.parent().map(Path::to_path_buf);
    }
    dirs.iter()
        .find(|dir| resolved.starts_with(dir) && !cwd.starts_with(dir))
        .cloned()
}

/// `2026-11-26 08:16` (UTC) for a Unix time in milliseconds.
pub fn format_time_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::store_area_of;
    use std::path::{Path, PathBuf};

    #[test]
    fn outputs_inside_the_store_are_found() {
        let area = |dirs: &[&str], db: &str, resolved: &str| {
            let dirs: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
            let cwd = Path::new("/home/u/src/repo");
            store_area_of(&dirs, Path::new(db), cwd, Path::new(resolved))
        };
        // OpenCode's own data directory, and the directory of an OPENCODE_DB elsewhere.
        let (data, db) = (["/d/opencode", "/db"], "/db/o.db");
        assert_eq!(
            area(&data, db, "/d/opencode/x.zip"),
            Some("/d/opencode".into())
        );
        assert_eq!(
            area(&data, db, "/d/opencode/storage/session/p/s.json"),
            Some("/d/opencode".into())
        );
        assert_eq!(area(&data, db, "/db/x.zip"), Some("/db".into()));
        assert_eq!(area(&data, db, "/home/u/src/repo/x.zip"), None);
        assert_eq!(area(&data, db, "/d/opencode-other/x.zip"), None);
        // `--store ~/opencode.db` from a checkout under ~: only the database files.
        let (home, db) = (["/home/u"], "/home/u/opencode.db");
        assert_eq!(area(&home, db, "/home/u/src/repo/x.zip"), None);
        assert_eq!(area(&home, db, "/home/u/x.zip"), None);
        assert_eq!(
            area(&home, db, "/home/u/opencode.db"),
            Some("/home/u".into())
        );
        assert_eq!(
            area(&home, db, "/home/u/opencode.db-wal"),
            Some("/home/u".into())
        );
    }
}
