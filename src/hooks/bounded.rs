//! A hook's work, bounded in time whatever blocks it: opening a named pipe, a locked
//! database, a slow remote. The work runs in a worker process with a process group of its
//! own (git and ssh started by it included); the hook stops waiting at the deadline and
//! terminates the group.
//!
//! Stopping the work at any point is safe: files are written to a temporary file and
//! renamed, refs move by compare-and-swap, SIGTERM makes gix remove its lock files (`main`
//! installs that handler) and git its own. What was not done is done by the next run.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// How the work ended.
pub enum Ended {
    /// It exited 0 (it recorded its own result).
    Finished,
    /// It failed before it could record anything: what it said.
    Failed(String),
    /// It was stopped at the deadline, while doing `stage` (its last [`report_stage`]).
    TimedOut { stage: Option<String> },
}

/// Prefix of the stderr lines that say what the worker is doing.
const STAGE: &str = "stage: ";

/// How long a terminated worker gets to clean up before it is killed.
const GRACE: Duration = Duration::from_millis(500);

/// Called in the worker: says what it is doing now, so a timeout can say where it stopped.
pub fn report_stage(what: &str) {
    // Nobody may be listening any more: never fail over it.
    let _ = writeln!(std::io::stderr(), "{STAGE}{what}");
}

/// Called in the worker: ends the work when the hook that started it is gone (killed by
/// Ctrl-C, say), since the worker's own process group does not get the terminal's signals.
/// The hook holds the worker's stdin open and never writes to it.
pub fn watch_parent() {
    #[cfg(unix)]
    std::thread::spawn(|| {
        let _ = std::io::stdin().read(&mut [0u8; 1]);
        let _ = rustix::process::kill_current_process_group(rustix::process::Signal::TERM);
    });
}

/// A started worker.
pub struct Running {
    child: Child,
    said: Receiver<String>,
    /// Held open, never written to: see [`watch_parent`].
    _lifeline: Option<std::process::ChildStdin>,
}

/// Starts `worker` in a process group of its own.
pub fn start(mut worker: Command) -> Result<Running, String> {
    worker
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut worker, 0);
    let mut child = worker
        .spawn()
        .map_err(|e| format!("cannot start the hook's work: {e}"))?;
    let lifeline = child.stdin.take();
    let said = read_lines(&mut child);
    Ok(Running {
        child,
        said,
        _lifeline: lifeline,
    })
}

impl Running {
    /// Waits for the worker until `deadline`, and stops it there.
    pub fn wait(mut self, deadline: Instant) -> Ended {
        let child = &mut self.child;
        // Short pauses first: most runs end within a few milliseconds.
        let mut pause = Duration::from_millis(1);
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ended::Finished,
                Ok(Some(status)) => {
                    let (_, lines) = drain(&self.said);
                    return Ended::Failed(failure(&status.to_string(), status.code(), &lines));
                }
                Ok(None) => {}
                Err(e) => {
                    stop(child);
                    return Ended::Failed(format!("lost the hook's work: {e}"));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                stop(child);
                let (stage, _) = drain(&self.said);
                return Ended::TimedOut { stage };
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

/// The worker's stderr, line by line, read by a thread of its own.
fn read_lines(child: &mut Child) -> Receiver<String> {
    let (send, receive) = mpsc::channel();
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
    }
    receive
}

/// The last stage the worker reported, and the other lines it wrote (its errors).
fn drain(said: &Receiver<String>) -> (Option<String>, Vec<String>) {
    let until = Instant::now() + GRACE;
    let (mut stage, mut lines) = (None, Vec::new());
    while let Ok(line) = said.recv_timeout(until.saturating_duration_since(Instant::now())) {
        match line.strip_prefix(STAGE) {
            Some(s) => stage = Some(s.to_owned()),
            None => lines.push(line),
        }
    }
    (stage, lines)
}

/// A failed worker's message: its `error:` line and hints as one line, as the log has them.
fn failure(status: &str, code: Option<i32>, lines: &[String]) -> String {
    let text = lines
        .iter()
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ");
    if code == Some(1) && lines.first().is_some_and(|l| l.starts_with("error: ")) {
        text
    } else {
        format!("the hook's work ended with {status}: {text}")
    }
}

/// Terminates the worker's process group; kills it if the worker is still there after
/// [`GRACE`].
fn stop(child: &mut Child) {
    #[cfg(unix)]
    {
        use rustix::process::{kill_process_group, Pid, Signal};
        let group = Pid::from_child(child);
        let _ = kill_process_group(group, Signal::TERM);
        if wait(child, GRACE) {
            return;
        }
        let _ = kill_process_group(group, Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = child.kill();
    wait(child, GRACE);
}

/// Waits at most `limit` for `child` to exit; whether it did.
fn wait(child: &mut Child, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= until => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}
