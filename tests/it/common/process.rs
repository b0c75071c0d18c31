//! Running child processes with a timeout, output in files (not pipes), and no leftovers.

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `cmd` in its own process group with stdin from /dev/null and stdout/stderr captured
/// through temp files (a pipe would truncate large outputs of some programs). Kills the
/// group and panics with the output so far if it takes longer than `timeout`. After it
/// exits, any process left in its group is killed too.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Output {
    let dir = tempfile::Builder::new()
        .prefix("oc-out-")
        .tempdir()
        .unwrap();
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    cmd.stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .process_group(0);
    let what = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let pgid = child.id();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > timeout {
            kill_group(pgid);
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "timed out after {timeout:?}: {what}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&fs::read(&out_path).unwrap_or_default()),
                String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()),
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    if !group_members(pgid).is_empty() {
        kill_group(pgid);
    }
    Output {
        status,
        stdout: fs::read(&out_path).unwrap(),
        stderr: fs::read(&err_path).unwrap(),
    }
}

/// Panics with stdout and stderr unless `out` exited 0.
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

/// PIDs of the live processes in process group `pgid` (Linux `/proc`; empty elsewhere).
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // Fields after the parenthesised command: state ppid pgrp ...
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str())
        })
        .collect()
}

/// Sends SIGKILL to every process of group `pgid` (a group this harness started).
fn kill_group(pgid: u32) {
    signal_group(pgid, "KILL");
}

/// Stops process group `pgid` (a group this harness started): SIGTERM, so that servers can
/// finish their writes, then SIGKILL for whatever is still alive after 5 s.
pub fn stop_group(pgid: u32) {
    for signal in ["TERM", "KILL"] {
        if signal_group(pgid, signal) {
            return;
        }
    }
}

/// Sends `signal` to group `pgid`; true once the group is gone (waits up to 5 s).
fn signal_group(pgid: u32, signal: &str) -> bool {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !group_members(pgid).is_empty() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    group_members(pgid).is_empty()
}
