//! Shared test harness.
//!
//! - [`fake_llm`]: a scripted OpenAI-compatible server on loopback ([`fake_llm::script`]).
//! - [`opencode`]: the real OpenCode binary ([`opencode::opencode_bin`]) run in a hermetic
//!   [`opencode::OpencodeHome`].
//! - [`git`]: real git under a fixed environment ([`git::Repo`]).
//! - [`fixtures`]: stores written by real OpenCode, generated once per test process
//!   ([`fixtures::rich_store`], [`fixtures::legacy_store`]).
//! - [`TestEnv`]: runs our binary against a repo and an OpenCode data dir.
#![allow(dead_code)]

pub mod fake_llm;
pub mod fixtures;
pub mod git;
pub mod opencode;
pub mod process;

use git::{Repo, GIT_ENV};
use opencode::OpencodeHome;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

/// Our binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_git-opencode");

/// A repo plus the HOME and `XDG_DATA_HOME` our binary sees, under one temp dir.
pub struct TestEnv {
    _tmp: TempDir,
    /// The temp dir (canonicalized); [`normalize`](Self::normalize) shows it as `$TEST_ENV`.
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
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_DATA_HOME", &self.data_home)
            .envs(GIT_ENV.iter().copied());
        cmd
    }

    /// Runs `git-opencode <args>` in the repo to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// `git <args>` in the repo (real git, hermetic env); stdout.
    pub fn git(&self, args: &[&str]) -> String {
        self.repo.git(args)
    }

    /// `text` with this env's root shown as `$TEST_ENV`.
    pub fn normalize(&self, text: &str) -> String {
        text.replace(self.root.to_str().unwrap(), "$TEST_ENV")
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
