//! Whether an OpenCode process has the store open: prune must not delete under a running
//! OpenCode, which would write the sessions back from memory or fail on rows gone missing.
//!
//! On Linux every process's open files are links under `/proc/<pid>/fd`: one pointing at the
//! database, its `-wal` or `-shm` file, or into the legacy `storage/` tree, is a process
//! holding the store. Processes of other users cannot be inspected (their links are not
//! readable); they are not OpenCode writing this user's store. Elsewhere there is no such
//! view: the caller is told the check could not be made, and warns.

use std::path::{Path, PathBuf};

/// A process holding one of the store's files open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// Its command name (`/proc/<pid>/comm`), when readable.
    pub name: String,
    pub file: PathBuf,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Free,
    Held(Holder),
    /// No way to look on this system.
    Unchecked,
}

/// Looks for a process other than this one holding `db` (with its `-wal`, `-shm` and
/// `-journal` files) or a file under `storage` open.
pub fn check(db: &Path, storage: &Path) -> Check {
    if !cfg!(target_os = "linux") || !Path::new("/proc/self/fd").is_dir() {
        return Check::Unchecked;
    }
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let db = canonical(db);
    let files: Vec<PathBuf> = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect();
    let storage = canonical(storage);
    let holds = |target: &Path| files.iter().any(|f| f == target) || target.starts_with(&storage);
    match holder(Path::new("/proc"), std::process::id(), &holds) {
        Some(found) => Check::Held(found),
        None => Check::Free,
    }
}

/// The first process under `proc` (a `/proc`-shaped tree), not `me`, with a file descriptor
/// whose target `holds` accepts.
fn holder(proc: &Path, me: u32, holds: &dyn Fn(&Path) -> bool) -> Option<Holder> {
    let mut pids: Vec<u32> = std::fs::read_dir(proc)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid| *pid != me)
        .collect();
    pids.sort_unstable();
    pids.into_iter().find_map(|pid| {
        let dir = proc.join(pid.to_string());
        let fds = std::fs::read_dir(dir.join("fd")).ok()?;
        let file = fds
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .find(|target| holds(target))?;
        let name = std::fs::read_to_string(dir.join("comm"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        Some(Holder { pid, name, file })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_process_holding_the_database_is_found_and_this_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("opencode.db");
        std::fs::write(&db, b"x").unwrap();
        let storage = dir.path().join("storage");
        // This process holds the file: not counted.
        let _open = std::fs::File::open(&db).unwrap();
        assert_eq!(check(&db, &storage), Check::Free);
        // A child holding it through a redirected descriptor is.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .stdin(std::fs::File::open(&db).unwrap())
            .spawn()
            .unwrap();
        let found = check(&db, &storage);
        child.kill().unwrap();
        child.wait().unwrap();
        match found {
            Check::Held(h) => {
                assert_eq!(h.pid, child.id());
                assert_eq!(h.name, "sleep");
                assert_eq!(h.file, std::fs::canonicalize(&db).unwrap());
            }
            other => panic!("not found: {other:?}"),
        }
    }
}
