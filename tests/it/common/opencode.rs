//! The real OpenCode binary: finding or downloading it, and running it in a hermetic home.

use super::fake_llm::FakeLlm;
use super::process::{assert_success, run_with_timeout};
use serde_json::{json, Value};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The current SQLite-store version the fixtures use.
pub const CURRENT: &str = "1.18.34";
/// The last JSON-store (`storage/`) version the fixtures use.
pub const LEGACY: &str = "1.1.65";

/// How long one OpenCode invocation may take before the harness kills it and fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// `${XDG_CACHE_HOME:-$HOME/.cache}/git-opencode-tests`: downloaded binaries and warm caches.
pub fn cache_root() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("neither XDG_CACHE_HOME nor HOME is set");
    base.join("git-opencode-tests")
}

fn npm_package() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("opencode-{os}-{arch}")
}

/// The OpenCode binary of `version`.
///
/// `OPENCODE_BIN_1_18_34`-style variables (dots become underscores) override it; otherwise it is
/// `<cache_root>/<version>/package/bin/opencode`, downloaded there with `npm pack` on first use.
/// Panics with instructions when it can be neither found nor downloaded.
pub fn opencode_bin(version: &str) -> PathBuf {
    let var = bin_var(version);
    if let Some(path) = std::env::var_os(&var).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "{var}={} is not a file", path.display());
        return path;
    }
    let dir = cache_root().join(version);
    let bin = dir.join("package").join("bin").join("opencode");
    if bin.is_file() {
        return bin;
    }
    static DOWNLOAD: Mutex<()> = Mutex::new(());
    let _guard = DOWNLOAD.lock().unwrap_or_else(|e| e.into_inner());
    if !bin.is_file() {
        download(version, &dir);
    }
    bin
}

/// `OPENCODE_BIN_1_18_34` for `1.18.34`.
fn bin_var(version: &str) -> String {
    format!("OPENCODE_BIN_{}", version.replace(['.', '-'], "_"))
}

fn download(version: &str, dir: &Path) {
    let spec = format!("{}@{version}", npm_package());
    let how = format!(
        "OpenCode {version} is needed by the integration tests and could not be downloaded.\n\
         Get it with:\n  mkdir -p {dir} && cd {dir} && npm pack {spec} && tar xzf *.tgz\n\
         or point {var} at an existing `opencode` {version} binary.",
        dir = dir.display(),
        var = bin_var(version),
    );
    let root = dir.parent().unwrap();
    fs::create_dir_all(root).unwrap_or_else(|e| panic!("{how}\n\ncreate {}: {e}", root.display()));
    // Download into a private temp dir, then rename into place: other test processes may race.
    let tmp = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(root)
        .unwrap_or_else(|e| panic!("{how}\n\ntemp dir in {}: {e}", root.display()));
    eprintln!("downloading {spec} with npm pack into {}", dir.display());
    let out = Command::new("npm")
        .args(["pack", &spec, "--silent", "--pack-destination"])
        .arg(tmp.path())
        .current_dir(tmp.path())
        .output()
        .unwrap_or_else(|e| panic!("{how}\n\nrunning npm: {e}"));
    assert!(
        out.status.success(),
        "{how}\n\nnpm pack failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let tgz = fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .unwrap_or_else(|| panic!("{how}\n\nnpm pack wrote no .tgz"));
    let out = Command::new("tar")
        .arg("xzf")
        .arg(&tgz)
        .current_dir(tmp.path())
        .output()
        .unwrap_or_else(|e| panic!("{how}\n\nrunning tar: {e}"));
    assert!(
        out.status.success(),
        "{how}\n\ntar failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::create_dir_all(dir).unwrap();
    let target = dir.join("package");
    if let Err(e) = fs::rename(tmp.path().join("package"), &target) {
        // Another process may have won the race; accept its copy.
        assert!(
            target.join("bin/opencode").is_file(),
            "{how}\n\nrename into {}: {e}",
            target.display()
        );
    }
}

/// The `opencode.json` that points OpenCode at the fake LLM listening on `port`.
pub fn config_json(port: u16) -> Value {
    json!({
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": false,
        "share": "disabled",
        "model": "mock/mock-1",
        "small_model": "mock/mock-1",
        "provider": {
            "mock": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Mock",
                "options": { "baseURL": format!("http://127.0.0.1:{port}/v1"), "apiKey": "x" },
                "models": { "mock-1": { "name": "Mock 1" } }
            }
        }
    })
}

/// A private OpenCode installation: its own HOME and XDG dirs under one temp dir.
pub struct OpencodeHome {
    _tmp: Option<TempDir>,
    /// The OpenCode version this home runs.
    pub version: String,
    /// The binary.
    pub bin: PathBuf,
    /// The temp dir holding everything below.
    pub root: PathBuf,
    /// `HOME`.
    pub home: PathBuf,
    /// `XDG_DATA_HOME` (OpenCode's data dir is `<data_home>/opencode`).
    pub data_home: PathBuf,
    /// `XDG_CONFIG_HOME`.
    pub config_home: PathBuf,
    /// `XDG_CACHE_HOME`.
    pub cache_home: PathBuf,
    /// `XDG_STATE_HOME`.
    pub state_home: PathBuf,
    /// The fake LLM's port written in the config.
    pub port: u16,
    /// Let OpenCode's `npm install`s reach the configured npm registry. Off by default: the
    /// pinned versions bundle the provider, and 1.18.34's background install of
    /// `@opencode-ai/plugin` then fails at once on loopback instead of going online.
    pub allow_npm: bool,
}

impl OpencodeHome {
    /// A fresh home in a new temp dir (removed on drop) whose config points at `llm`.
    pub fn new(version: &str, llm: &FakeLlm) -> OpencodeHome {
        let tmp = tempfile::Builder::new()
            .prefix("oc-home-")
            .tempdir()
            .unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let mut home = OpencodeHome::at(version, &root, llm.port());
        home._tmp = Some(tmp);
        home
    }

    /// A home in the existing directory `root` (kept), for the config port `port`.
    pub fn at(version: &str, root: &Path, port: u16) -> OpencodeHome {
        let mut home = OpencodeHome {
            _tmp: None,
            version: version.to_owned(),
            bin: opencode_bin(version),
            root: root.to_owned(),
            home: root.join("home"),
            data_home: root.join("data"),
            config_home: root.join("config"),
            cache_home: root.join("cache"),
            state_home: root.join("state"),
            port,
            allow_npm: false,
        };
        for d in [
            &home.home,
            &home.data_home,
            &home.config_home,
            &home.cache_home,
            &home.state_home,
        ] {
            fs::create_dir_all(d).unwrap();
        }
        home.set_port(port);
        home
    }

    /// Rewrites `opencode.json` to use the fake LLM on `port`.
    pub fn set_port(&mut self, port: u16) {
        self.port = port;
        let dir = self.config_home.join("opencode");
        fs::create_dir_all(&dir).unwrap();
        let text = serde_json::to_string_pretty(&config_json(port)).unwrap();
        fs::write(dir.join("opencode.json"), text).unwrap();
    }

    /// OpenCode's data dir, `<data_home>/opencode`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_home.join("opencode")
    }

    /// The environment every OpenCode run gets (after `env_clear`).
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = Vec::new();
        let mut pass = vec![
            "PATH",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "NODE_EXTRA_CA_CERTS",
        ];
        if self.allow_npm {
            pass.extend(["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"]);
            // The fake LLM must never go through a proxy.
            env.push(("NO_PROXY".into(), "127.0.0.1,localhost".into()));
            env.push(("no_proxy".into(), "127.0.0.1,localhost".into()));
        }
        for var in pass {
            if let Some(v) = std::env::var_os(var) {
                env.push((var.into(), v));
            }
        }
        let paths = [
            ("HOME", &self.home),
            ("XDG_DATA_HOME", &self.data_home),
            ("XDG_CONFIG_HOME", &self.config_home),
            ("XDG_CACHE_HOME", &self.cache_home),
            ("XDG_STATE_HOME", &self.state_home),
        ];
        for (k, v) in paths {
            env.push((k.into(), v.into()));
        }
        let fixed = [
            ("LANG", "C.UTF-8"),
            ("TZ", "UTC"),
            ("TERM", "dumb"),
            ("NO_COLOR", "1"),
            ("CI", "1"),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("GIT_CONFIG_GLOBAL", "/dev/null"),
            ("OPENCODE_DISABLE_AUTOUPDATE", "1"),
            ("OPENCODE_DISABLE_MODELS_FETCH", "1"),
            ("OPENCODE_DISABLE_SHARE", "1"),
            ("OPENCODE_DISABLE_LSP_DOWNLOAD", "1"),
            ("OPENCODE_DISABLE_DEFAULT_PLUGINS", "1"),
            ("OPENCODE_DISABLE_CLAUDE_CODE", "1"),
            ("OPENCODE_DISABLE_EXTERNAL_SKILLS", "1"),
        ];
        for (k, v) in fixed {
            env.push((k.into(), v.into()));
        }
        if !self.allow_npm {
            let registry = format!("http://127.0.0.1:{}/npm/", self.port);
            env.push(("npm_config_registry".into(), registry.into()));
        }
        env.push((
            "OPENCODE_TEST_MANAGED_CONFIG_DIR".into(),
            self.root.join("managed-config").into(),
        ));
        env
    }

    /// A `Command` for the binary with the hermetic env, run in `dir`.
    pub fn command(&self, dir: &Path) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(dir).env_clear().envs(self.env());
        cmd
    }

    /// Runs `opencode <args>` in `dir` to completion (with [`RUN_TIMEOUT`]).
    pub fn exec(&self, dir: &Path, args: &[&str]) -> Output {
        let mut cmd = self.command(dir);
        cmd.args(args);
        run_with_timeout(cmd, RUN_TIMEOUT)
    }

    /// Like [`exec`](Self::exec), panicking with the output unless it exits 0.
    pub fn exec_ok(&self, dir: &Path, args: &[&str]) -> Output {
        let out = self.exec(dir, args);
        assert_success(&out, &format!("opencode {}", args.join(" ")));
        out
    }

    /// `opencode run --format json <prompt> <extra_args>` in `dir` (a git work tree): one turn
    /// of a new session, or of an existing one with `extra_args = ["--session", id]`. Panics
    /// unless it exits 0 without an `error` event.
    pub fn run(&self, dir: &Path, prompt: &str, extra_args: &[&str]) -> Run {
        // The prompt goes first: `-f` takes an array and would swallow a later positional.
        let mut args = vec!["run", "--format", "json", prompt];
        args.extend_from_slice(extra_args);
        let output = self.exec_ok(dir, &args);
        let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        let what = || {
            format!(
                "opencode {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        };
        assert!(
            !events.iter().any(|e| e["type"] == "error"),
            "error event from {}",
            what()
        );
        let session_id = events
            .iter()
            .find_map(|e| e["sessionID"].as_str())
            .unwrap_or_else(|| panic!("no sessionID in the JSON events of {}", what()))
            .to_owned();
        Run {
            session_id,
            events,
            output,
        }
    }

    /// Continues session `id` with one more turn (`run --session <id>`).
    pub fn continue_session(&self, dir: &Path, id: &str, prompt: &str, extra_args: &[&str]) -> Run {
        let mut args = vec!["--session", id];
        args.extend_from_slice(extra_args);
        let run = self.run(dir, prompt, &args);
        assert_eq!(
            run.session_id, id,
            "opencode run --session {id} used another session"
        );
        run
    }

    /// `opencode export <id>` run in `dir`, its stdout captured through a file (a pipe
    /// truncates the export at 64 KiB).
    pub fn export(&self, dir: &Path, id: &str) -> Vec<u8> {
        self.exec_ok(dir, &["export", id]).stdout
    }

    /// `opencode import <file>` run in `dir`; the output whatever the exit status (1.18.34
    /// rewrites the session's project and directory to those of `dir`).
    pub fn import(&self, dir: &Path, file: &Path) -> Output {
        let file = file.to_str().expect("UTF-8 path");
        self.exec(dir, &["import", file])
    }

    /// `opencode session list --format json` run in `dir` (root sessions of that project
    /// only: children are not listed). An empty list when there are no sessions.
    pub fn session_list_json(&self, dir: &Path) -> Value {
        let out = self.exec_ok(dir, &["session", "list", "--format", "json"]);
        let text = String::from_utf8_lossy(&out.stdout);
        // 1.2.x reports its one-time migration of the JSON store on stdout, on the first
        // start in a home, before the list: the JSON starts at the first line that opens it.
        let start = text
            .lines()
            .position(|l| l.starts_with('['))
            .map_or(text.len(), |n| {
                text.split_inclusive('\n').take(n).map(str::len).sum()
            });
        let (progress, list) = text.split_at(start);
        assert!(
            !progress.contains(['[', '{']),
            "session list printed JSON that is not a list:\n{text}"
        );
        if list.trim().is_empty() {
            return json!([]);
        }
        serde_json::from_str(list).unwrap_or_else(|e| panic!("session list JSON: {e}\n{text}"))
    }

    /// The SQLite store `<data_dir>/opencode.db` (1.2 and later; release builds use the
    /// `latest` channel, hence no channel suffix).
    pub fn db_path(&self) -> PathBuf {
        self.data_dir().join("opencode.db")
    }

    /// `opencode db <sql> --format json` (1.18.34): the rows as JSON objects.
    pub fn db_query(&self, dir: &Path, sql: &str) -> Value {
        let out = self.exec_ok(dir, &["db", sql, "--format", "json"]);
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("opencode db JSON: {e}\n{text}"))
    }

    /// Opens the SQLite store read-only with rusqlite.
    pub fn open_db(&self) -> rusqlite::Connection {
        let path = self.db_path();
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
    }

    /// PIDs of live processes started with this home's `XDG_DATA_HOME` (Linux `/proc`).
    pub fn live_processes(&self) -> Vec<u32> {
        let needle = format!("XDG_DATA_HOME={}\0", self.data_home.display());
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let Ok(env) = fs::read(format!("/proc/{pid}/environ")) else {
                    return false;
                };
                env.windows(needle.len()).any(|w| w == needle.as_bytes())
            })
            .collect()
    }

    /// Stops `llm`, panicking if it met a request it could not answer, then waits up to 10 s
    /// for every OpenCode process of this home to exit and panics if one is left: a finished
    /// scenario must leave neither a broken script nor a stray process behind.
    pub fn stop_llm_and_wait(&self, llm: FakeLlm) {
        let errors = llm.errors();
        drop(llm);
        assert!(errors.is_empty(), "fake LLM errors: {errors:#?}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.live_processes().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let live = self.live_processes();
        assert!(
            live.is_empty(),
            "OpenCode processes still running: {live:?}"
        );
    }

    /// The JSON storage root of ≤ 1.1 versions, `<data_dir>/storage`.
    pub fn storage_dir(&self) -> PathBuf {
        self.data_dir().join("storage")
    }
}

/// The result of one `opencode run`.
#[derive(Debug)]
pub struct Run {
    /// The session the turn ran in.
    pub session_id: String,
    /// The `--format json` events, one per stdout line.
    pub events: Vec<Value>,
    /// The raw process output.
    pub output: Output,
}

impl Run {
    /// The parts of `tool_use` events for `tool`.
    pub fn tool_parts(&self, tool: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["type"] == "tool_use" && e["part"]["tool"] == tool)
            .map(|e| &e["part"])
            .collect()
    }
}
