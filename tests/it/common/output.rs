//! What one run of a command printed: [`CommandOutput`], with its temp paths normalised, for
//! assertions and snapshots.

use super::normalize::normalize_paths;
use std::fmt;
use std::process::{ExitStatus, Output};

/// The stdout, stderr and exit status of a finished command (mostly our binary), with the
/// temp paths of the test shown as placeholders (see [`normalize_paths`]: a [`TestEnv`]
/// root is `$TEST_ENV`).
///
/// Check it with [`success`](Self::success) or [`failure`](Self::failure); snapshot it
/// through its [`Display`](fmt::Display). Every function that returns one is `#[must_use]`
/// (so a run cannot be dropped unchecked), while `.success();` as a statement stays allowed.
///
/// [`TestEnv`]: super::TestEnv
#[derive(Clone)]
pub struct CommandOutput {
    raw_stdout: Vec<u8>,
    stdout: String,
    stderr: String,
    status: ExitStatus,
}

impl From<Output> for CommandOutput {
    fn from(output: Output) -> CommandOutput {
        CommandOutput::new(output)
    }
}

impl CommandOutput {
    /// Wraps `output`, normalising the paths in its stdout and stderr.
    #[must_use]
    pub fn new(output: Output) -> CommandOutput {
        CommandOutput {
            stdout: normalize_paths(&String::from_utf8_lossy(&output.stdout)),
            stderr: normalize_paths(&String::from_utf8_lossy(&output.stderr)),
            raw_stdout: output.stdout,
            status: output.status,
        }
    }

    /// Panics, showing everything, unless the command exited 0 without a panic message.
    #[track_caller]
    pub fn success(self) -> Self {
        assert!(
            self.status.success() && !self.stderr.contains("panicked"),
            "expected success:\n{self}"
        );
        self
    }

    /// Panics, showing everything, unless this is a clean failure: exit status 1, stderr one
    /// `error: …` line followed only by `hint: …` lines, and no panic.
    #[track_caller]
    pub fn failure(self) -> Self {
        let mut lines = self.stderr.lines();
        let clean = self.status.code() == Some(1)
            && lines.next().is_some_and(|l| l.starts_with("error: "))
            && lines.all(|l| l.starts_with("hint: "));
        assert!(
            clean,
            "expected exit status 1, one `error:` line and only `hint:` lines:\n{self}"
        );
        self
    }

    /// Panics, showing everything, unless the command was refused as a usage error (exit
    /// status 2, clap's usage message on stderr).
    #[track_caller]
    pub fn usage_error(self) -> Self {
        assert!(
            self.status.code() == Some(2) && self.stderr.starts_with("error: "),
            "expected a usage error (exit status 2):\n{self}"
        );
        self
    }

    /// Standard output, paths normalised.
    pub fn stdout(&self) -> &str {
        &self.stdout
    }

    /// Standard error, paths normalised.
    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    /// Standard output exactly as written (for byte comparisons and binary output).
    pub fn stdout_bytes(&self) -> &[u8] {
        &self.raw_stdout
    }

    /// Standard output exactly as written, as text (real paths, not placeholders).
    #[track_caller]
    pub fn raw_stdout(&self) -> &str {
        std::str::from_utf8(&self.raw_stdout).expect("stdout is not UTF-8")
    }

    /// Standard output parsed as JSON (from the raw bytes: paths are the real ones).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.raw_stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{self}"))
    }

    /// The first line of stderr: the `error: …` line of a [`failure`](Self::failure).
    pub fn error(&self) -> &str {
        self.stderr.lines().next().unwrap_or_default()
    }

    /// The exit status.
    pub fn status(&self) -> ExitStatus {
        self.status
    }
}

/// Stdout, then stderr after a `[stderr]` line (each section only when not empty, each
/// ended by `[EOF]` so that a missing final newline shows), then `[exit status: N]`.
impl fmt::Display for CommandOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.stdout.is_empty() {
            writeln!(f, "{}[EOF]", self.stdout)?;
        }
        if !self.stderr.is_empty() {
            writeln!(f, "[stderr]")?;
            writeln!(f, "{}[EOF]", self.stderr)?;
        }
        match self.status.code() {
            Some(code) => write!(f, "[exit status: {code}]"),
            None => write!(f, "[{}]", self.status),
        }
    }
}

impl fmt::Debug for CommandOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
