//! Shared test harness.
//!
//! - [`fake_llm`]: a scripted OpenAI-compatible server on loopback ([`fake_llm::script`]).
//! - [`opencode`]: the real OpenCode binary ([`opencode::opencode_bin`]) run in a hermetic
//!   [`opencode::OpencodeHome`].
//! - [`serve`]: a running `opencode serve` ([`serve::Server`]) and HTTP requests to it.
//! - [`git`]: real git under a fixed environment ([`git::Repo`]).
//! - [`fixtures`]: stores written by real OpenCode, generated once per test process
//!   ([`fixtures::rich_store`], [`fixtures::legacy_store`]).
//! - [`v2`]: a v2 session (`session_message` rows) written through `opencode serve`
//!   ([`v2::v2_store`]).
//! - [`archive`]: packs, archive branches and the other machine a restore goes to.
//! - [`TestEnv`]: runs our binary against a repo and an OpenCode data dir; every run gives
//!   a [`CommandOutput`] ([`output`]), whose paths are normalised ([`normalize`]), to check
//!   with `.success()`/`.failure()` and to snapshot with insta, after a [`Scrub`] of what
//!   differs between fixture generations.
#![allow(dead_code)]

pub mod archive;
pub mod fake_llm;
pub mod fixtures;
pub mod gen2;
pub mod git;
pub mod normalize;
pub mod opencode;
pub mod output;
pub mod process;
pub mod serve;
pub mod shapes2;
pub mod upgrade2;
pub mod v2;

// The perf bench includes this module too and does not use it.
#[allow(unused_imports)]
pub use normalize::Scrub;
pub use output::CommandOutput;

use fake_llm::FakeLlm;
use git::{Repo, GIT_ENV};
use opencode::OpencodeHome;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// Our binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_git-opencode");

/// A GitHub token shape the redaction knows: planted in sessions to check that nothing
/// `push-sessions`, `summary` or `show` writes or prints holds it.
pub const FAKE_KEY: &str = "ghp_Zx9Kq2Lm4Np6Rs8Tv0Wy1Ab3Cd5Ef7Gh9Ij1K";

/// A repo plus the HOME and `XDG_DATA_HOME` our binary sees, under one temp dir.
pub struct TestEnv {
    _tmp: TempDir,
    /// The temp dir (canonicalized); a [`CommandOutput`] shows it as `$TEST_ENV`.
    pub root: PathBuf,
    /// `HOME`.
    pub home: PathBuf,
    /// `XDG_DATA_HOME`: OpenCode's data dir is `<data_home>/opencode`.
    pub data_home: PathBuf,
    /// The git work tree the commands run in.
    pub repo: Repo,
    /// The OpenCode home, when this env was copied from one.
    pub opencode: Option<OpencodeHome>,
}

impl Default for TestEnv {
    fn default() -> TestEnv {
        TestEnv::new()
    }
}

impl TestEnv {
    /// An empty env: `root/home`, `root/data` and `root/repo` (`git init -b main` + 1 commit).
    pub fn new() -> TestEnv {
        let tmp = tempfile::Builder::new()
            .prefix("git-opencode-")
            .tempdir()
            .unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (home, data_home) = (root.join("home"), root.join("data"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&data_home).unwrap();
        let repo = Repo::init(&root.join("repo"));
        TestEnv {
            _tmp: tmp,
            root,
            home,
            data_home,
            repo,
            opencode: None,
        }
    }

    /// A writable copy of `repo` (as `root/repo`) and of the OpenCode home `oc` (as
    /// `root/opencode`), whose HOME and `XDG_DATA_HOME` our binary then uses.
    pub fn copy_of(repo: &Repo, oc: &OpencodeHome) -> TestEnv {
        let tmp = tempfile::Builder::new()
            .prefix("git-opencode-")
            .tempdir()
            .unwrap();
        let root = tmp.path().canonicalize().unwrap();
        fixtures::copy_dir_all(&repo.path, &root.join("repo"));
        fixtures::copy_dir_all(&oc.root, &root.join("opencode"));
        let oc = OpencodeHome::at(&oc.version, &root.join("opencode"), 0);
        TestEnv {
            _tmp: tmp,
            home: oc.home.clone(),
            data_home: oc.data_home.clone(),
            repo: Repo::open(&root.join("repo")),
            root,
            opencode: Some(oc),
        }
    }

    /// `git-opencode <args>` in the repo, with `env_clear()`, `PATH`, `HOME`,
    /// `XDG_DATA_HOME` and the fixed git environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_in(&self.repo.path, args)
    }

    /// Like [`cmd`](Self::cmd), in `dir`.
    pub fn cmd_in(&self, dir: &Path, args: &[&str]) -> Command {
        our_command(dir, &self.home, &self.data_home, args)
    }

    /// Runs `git-opencode <args>` in the repo to completion.
    #[must_use]
    pub fn run(&self, args: &[&str]) -> CommandOutput {
        run(self.cmd(args))
    }

    /// Runs `git-opencode <args>` in `dir` to completion.
    #[must_use]
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> CommandOutput {
        run(self.cmd_in(dir, args))
    }

    /// Starts a fake LLM and points this env's copy of the OpenCode home at it, so new turns
    /// can run in the copy (the fixture's own LLM is stopped). Keep the server alive while
    /// they run.
    pub fn start_llm(&mut self) -> FakeLlm {
        let llm = FakeLlm::start();
        self.opencode
            .as_mut()
            .expect("an env copied from an OpenCode home")
            .set_port(llm.port());
        llm
    }

    /// Creates the empty directory `root/<name>`; returns its path.
    pub fn new_dir(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        dir
    }

    /// `git <args>` in the repo (real git, hermetic env); stdout.
    pub fn git(&self, args: &[&str]) -> String {
        self.repo.git(args)
    }

    /// Adds a linked worktree of the repo at `root/wt`, on a new branch `feature`; returns
    /// its path.
    pub fn add_linked_worktree(&self) -> PathBuf {
        let wt = self.root.join("wt");
        self.git(&[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            wt.to_str().unwrap(),
        ]);
        wt
    }
}

/// Runs `cmd` to completion.
#[must_use]
pub fn run(mut cmd: Command) -> CommandOutput {
    let output = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    CommandOutput::new(output)
}

/// `git-opencode <args>` in `dir` against the store of the OpenCode home `oc` (rather than
/// a [`TestEnv`]'s), with the same hermetic environment as [`TestEnv::cmd_in`].
pub fn ours_cmd(oc: &OpencodeHome, dir: &Path, args: &[&str]) -> Command {
    our_command(dir, &oc.home, &oc.data_home, args)
}

/// [`ours_cmd`] run to completion.
#[must_use]
pub fn ours(oc: &OpencodeHome, dir: &Path, args: &[&str]) -> CommandOutput {
    run(ours_cmd(oc, dir, args))
}

/// Our binary in `dir` with `env_clear()`, `PATH`, the given `HOME` and `XDG_DATA_HOME`,
/// and the fixed git environment: nothing of the user's setup leaks in.
fn our_command(dir: &Path, home: &Path, data_home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", data_home)
        .envs(GIT_ENV.iter().copied());
    cmd
}

/// `$PATH` with the directory of our binary first, so that git finds `git-opencode` (for
/// `git opencode …` and in hooks) as it would on a user's machine.
pub fn path_with_our_binary() -> String {
    let bin_dir = Path::new(BIN).parent().unwrap();
    format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap())
}

/// Makes the file at `path` executable (mode 755), as a hook must be.
pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// The single value `sql` selects for its one parameter `id` (a session ID, mostly).
pub fn query_one<T: rusqlite::types::FromSql>(
    conn: &rusqlite::Connection,
    sql: &str,
    id: &str,
) -> T {
    conn.query_row(sql, [id], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql} with {id}: {e}"))
}

/// The names of the entries of `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The `id`s of a JSON array of sessions (`list --json`, `opencode session list`).
pub fn session_ids(list: &serde_json::Value) -> std::collections::BTreeSet<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// [`sha256_hex`] of the file at `path`, or `absent`.
pub fn file_sha256(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => sha256_hex(&bytes),
        Err(_) => "absent".to_owned(),
    }
}

/// SHA-256 of `bytes` as lowercase hex, computed independently of the code under test.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every entry of the zip at `path`, in archive order, as (name, content).
pub fn zip_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().unwrap().to_string(), data)
        })
        .collect()
}
