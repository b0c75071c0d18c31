//! Real git, under a hermetic environment.

use super::process::assert_success;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Fixed identity and date for every commit the tests make, so commit IDs are stable.
pub const GIT_ENV: &[(&str, &str)] = &[
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_AUTHOR_NAME", "Test Author"),
    ("GIT_AUTHOR_EMAIL", "author@example.com"),
    ("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z"),
    ("GIT_COMMITTER_NAME", "Test Committer"),
    ("GIT_COMMITTER_EMAIL", "committer@example.com"),
    ("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z"),
    ("GIT_TERMINAL_PROMPT", "0"),
    ("TZ", "UTC"),
    ("LANG", "C.UTF-8"),
    ("NO_COLOR", "1"),
];

/// A `git` command in `dir` with `env_clear()`, `PATH`, `HOME=/dev/null` (so no user-level
/// ignore or attributes file is read) and [`GIT_ENV`].
pub fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/dev/null")
        .envs(GIT_ENV.iter().copied());
    cmd
}

/// Runs `git <args>` in `dir` (a work tree or a bare repository) under [`git_command`];
/// panics unless it exits 0; returns stdout.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run git {args:?}: {e}"));
    assert_success(
        &out,
        &format!("git {} in {}", args.join(" "), dir.display()),
    );
    String::from_utf8(out.stdout).expect("git output is not UTF-8")
}

/// Runs `git <args>` in `dir` like [`git_in`], authored and committed at the current time
/// (the fixed dates of [`GIT_ENV`] would put a commit outside a session's time window).
pub fn git_now(dir: &Path, args: &[&str]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = format!("@{now} +0000");
    let out = git_command(dir)
        .args(args)
        .env("GIT_AUTHOR_DATE", &now)
        .env("GIT_COMMITTER_DATE", &now)
        .output()
        .unwrap_or_else(|e| panic!("run git {args:?}: {e}"));
    assert_success(
        &out,
        &format!("git {} in {}", args.join(" "), dir.display()),
    );
    String::from_utf8(out.stdout).expect("git output is not UTF-8")
}

/// A git work tree driven with the real git CLI.
#[derive(Clone, Debug)]
pub struct Repo {
    /// The work tree (canonicalized).
    pub path: PathBuf,
}

impl Repo {
    /// `git init -b main` in `path` (created if needed), a README and one commit.
    pub fn init(path: &Path) -> Repo {
        fs::create_dir_all(path).unwrap();
        let repo = Repo {
            path: path.canonicalize().unwrap(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.write("README.md", "# test repo\n");
        repo.commit_all("initial commit");
        repo
    }

    /// An existing work tree.
    pub fn open(path: &Path) -> Repo {
        Repo {
            path: path.canonicalize().unwrap(),
        }
    }

    /// Runs `git <args>` here; panics unless it exits 0; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(&self.path, args)
    }

    /// Runs `git <args>` here and returns its output whatever the exit status.
    pub fn git_output(&self, args: &[&str]) -> Output {
        git_command(&self.path)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run git {args:?}: {e}"))
    }

    /// Writes `content` to `rel` under the work tree (creating parent dirs).
    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    /// `git add -A && git commit -m message`; returns the new commit ID.
    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    /// `git rev-parse HEAD`.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }
}
