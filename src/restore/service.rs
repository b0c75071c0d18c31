//! Whether OpenCode 2.x's background service is running (opencode-2x.md §3.3): it registers
//! itself in `$XDG_STATE_HOME/opencode/service.json` (`service-<channel>.json` for other
//! channels) and removes the file on a clean shutdown. A running service writes the store
//! on its own, so restore must not write beside it.
//!
//! The file also holds the service's `password`, a credential: only `pid` is read (the
//! file is parsed into a struct that has no other field), and nothing of it is printed
//! but its path and the pid.

use crate::error::UserError;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// A registered service whose process is alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub file: PathBuf,
    pub pid: u32,
}

#[derive(serde::Deserialize)]
struct Registration {
    pid: Option<u32>,
}

/// The directory 2.x registers its service in: `$XDG_STATE_HOME/opencode`, by default
/// `~/.local/state/opencode`.
pub fn state_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(state.join("opencode"))
}

/// The first registered service in `dir` whose process is alive. A file left behind by a
/// crashed service (its pid gone) or one that cannot be read does not count.
pub fn running(dir: &Path) -> Option<Running> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name == "service.json" || (name.starts_with("service-") && name.ends_with(".json"))
        })
        .collect();
    files.sort();
    files.into_iter().find_map(|file| {
        let bytes = std::fs::read(&file).ok()?;
        let pid = serde_json::from_slice::<Registration>(&bytes).ok()?.pid?;
        alive(pid).then_some(Running { file, pid })
    })
}

/// Fails with one `error:` line while a service registered in `dir` is running; `what` says
/// what was therefore not done.
pub fn refuse_while_running(dir: Option<&Path>, what: &str) -> Result<()> {
    let Some(running) = dir.and_then(running) else {
        return Ok(());
    };
    bail!(UserError::new(format!(
        "OpenCode's service is running (process {}, registered in {}); {what}",
        running.pid,
        running.file.display()
    ))
    .hint(
        "stop OpenCode (every window, `opencode` CLI and the background service), then try again"
    ))
}

/// Whether process `pid` exists (a signal-0 probe; "not permitted" means it exists).
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    // No cheap probe: a registered service is taken to be running.
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_pid_counts_and_a_dead_one_or_garbage_does_not() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(running(dir.path()), None);
        let file = dir.path().join("service.json");
        std::fs::write(&file, "not json").unwrap();
        assert_eq!(running(dir.path()), None);
        // A pid far above any pid_max: no such process.
        std::fs::write(&file, r#"{"pid": 2000000000, "password": "x"}"#).unwrap();
        assert_eq!(running(dir.path()), None);
        let me = std::process::id();
        std::fs::write(
            dir.path().join("service-beta.json"),
            format!(r#"{{"id":"s","version":"2.0.25","url":"http://127.0.0.1:1","pid":{me},"password":"secret"}}"#),
        )
        .unwrap();
        let found = running(dir.path()).unwrap();
        assert_eq!(found.pid, me);
        assert!(found.file.ends_with("service-beta.json"));
    }
}
