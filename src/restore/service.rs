//! Whether OpenCode 2.x's background service is running (opencode-2x.md §3.3, §7.2): while it
//! is, it may be writing the store any moment, so nothing may write it behind its back.
//!
//! The service registers itself in `$XDG_STATE_HOME/opencode/service.json` (default
//! `~/.local/state/opencode/service.json`) as `{id, version, url, pid, password}` and removes
//! the file on a clean shutdown. A file left by a crash names a process that is gone, so the
//! `pid` decides, not the file. The `password` is a credential: it is never read into memory
//! beyond the parse, and never printed.

use crate::error::UserError;
use anyhow::{bail, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The service registration file of the release channel, or `None` without a home.
pub fn service_file(xdg_state_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let non_empty = |v: Option<OsString>| v.filter(|v| !v.is_empty());
    let state = match (non_empty(xdg_state_home), non_empty(home)) {
        (Some(state), _) => PathBuf::from(state),
        (None, Some(home)) => Path::new(&home).join(".local").join("state"),
        (None, None) => return None,
    };
    Some(state.join("opencode").join("service.json"))
}

/// The service file as this process's environment names it.
pub fn service_file_of_process() -> Option<PathBuf> {
    service_file(
        std::env::var_os("XDG_STATE_HOME"),
        std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")),
    )
}

/// A running service: the registration file and its process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub file: PathBuf,
    pub pid: u32,
    pub version: Option<String>,
}

/// The service `file` registers, when its process is alive. An unreadable or malformed file
/// counts as a running service of unknown pid 0: refusing is the safe answer.
pub fn running(file: &Path) -> Option<Running> {
    let text = match std::fs::read(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(_) => {
            return Some(Running {
                file: file.to_owned(),
                pid: 0,
                version: None,
            })
        }
    };
    let value: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
    let version = value
        .get("version")
        .and_then(|v| v.as_str())
        .map(String::from);
    let pid = value.get("pid").and_then(|p| p.as_u64());
    match pid.and_then(|p| u32::try_from(p).ok()) {
        Some(pid) if !alive(pid) => None,
        pid => Some(Running {
            file: file.to_owned(),
            pid: pid.unwrap_or(0),
            version,
        }),
    }
}

/// Fails with one `error:` line while the service is running.
pub fn refuse_while_running(file: Option<&Path>, what: &str) -> Result<()> {
    let Some(running) = file.and_then(running) else {
        return Ok(());
    };
    let pid = match running.pid {
        0 => "an unknown process".to_owned(),
        pid => format!("process {pid}"),
    };
    bail!(UserError::new(format!(
        "OpenCode's service is running ({pid}, registered in {}); {what}",
        running.file.display()
    ))
    .hint(
        "stop OpenCode (every window, `opencode` CLI and the background service), then try again"
    ))
}

#[cfg(unix)]
fn alive(pid: u32) -> bool {
    use rustix::process::{test_kill_process, Pid};
    match i32::try_from(pid).ok().and_then(Pid::from_raw) {
        // EPERM: the process exists but belongs to another user.
        Some(pid) => !matches!(test_kill_process(pid), Err(rustix::io::Errno::SRCH)),
        None => false,
    }
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_follows_xdg_state_home_else_home() {
        let f = service_file(Some("/s".into()), Some("/h".into()));
        assert_eq!(f, Some(PathBuf::from("/s/opencode/service.json")));
        let f = service_file(Some("".into()), Some("/h".into()));
        assert_eq!(
            f,
            Some(PathBuf::from("/h/.local/state/opencode/service.json"))
        );
        assert_eq!(service_file(None, None), None);
    }

    #[test]
    fn only_a_live_pid_counts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("service.json");
        assert_eq!(running(&file), None);
        let me = std::process::id();
        std::fs::write(
            &file,
            format!(r#"{{"id":"x","version":"2.0.25","url":"http://127.0.0.1:1","pid":{me},"password":"secret"}}"#),
        )
        .unwrap();
        let r = running(&file).unwrap();
        assert_eq!((r.pid, r.version.as_deref()), (me, Some("2.0.25")));
        let err = refuse_while_running(Some(&file), "nothing was written").unwrap_err();
        assert!(!format!("{err:#}").contains("secret"));
        // A pid no process has (above Linux's pid_max).
        std::fs::write(&file, r#"{"pid":4194305}"#).unwrap();
        assert_eq!(running(&file), None);
        std::fs::write(&file, "not json").unwrap();
        assert_eq!(running(&file).map(|r| r.pid), Some(0));
    }
}
