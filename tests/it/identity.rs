//! Acceptance 5: which sessions belong to this repository, checked against the project IDs the
//! real OpenCode 1.18.34 records in `session.project_id` (opencode-storage.md §4, design.md
//! "Which sessions belong to this repository").
//!
//! Every test builds its own repository and OpenCode home, runs the real binary a few times
//! against the fake LLM (plain replies, no tools) and compares `git opencode list --json`
//! (`id`, `projectID`, `rule`) with what OpenCode wrote: `list` must show exactly the expected
//! sessions, each with the project ID the DB records for it.

use crate::common::fake_llm::FakeLlm;
use crate::common::git::{git_command, Repo};
use crate::common::opencode::{OpencodeHome, CURRENT};
use crate::common::{ours, CommandOutput};
use serde_json::Value;
use sha1::{Digest, Sha1};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;
use tempfile::TempDir;

/// `(projectID, rule)` of every session `list --json` printed, by session ID.
type Listing = BTreeMap<String, (String, String)>;

/// One scenario: a fake LLM, a hermetic OpenCode home and a temp dir for repositories.
struct Lab {
    name: &'static str,
    start: Instant,
    runs: Cell<usize>,
    llm: Option<FakeLlm>,
    oc: OpencodeHome,
    _tmp: TempDir,
    /// Canonical temp dir for repositories and worktrees.
    root: PathBuf,
}

impl Lab {
    fn new(name: &'static str) -> Lab {
        let llm = FakeLlm::start();
        let oc = OpencodeHome::new(CURRENT, &llm);
        let tmp = tempfile::Builder::new()
            .prefix("git-opencode-id-")
            .tempdir()
            .unwrap();
        let root = tmp.path().canonicalize().unwrap();
        Lab {
            name,
            start: Instant::now(),
            runs: Cell::new(0),
            llm: Some(llm),
            oc,
            _tmp: tmp,
            root,
        }
    }

    /// One `opencode run` turn of a new session in `dir` (plain reply); its session ID.
    fn opencode(&self, dir: &Path, prompt: &str) -> String {
        self.runs.set(self.runs.get() + 1);
        let run = self.oc.run(dir, prompt, &[]);
        assert!(
            run.events.iter().any(|e| e["type"] == "text"),
            "no text reply in {:#?}",
            run.events
        );
        run.session_id
    }

    /// `git-opencode <args>` in `dir`, reading this lab's OpenCode store (as a user's HOME
    /// and `XDG_DATA_HOME` would point it there), which must succeed.
    fn ours(&self, dir: &Path, args: &[&str]) -> CommandOutput {
        ours(&self.oc, dir, args).success()
    }

    /// `git opencode list --json` in `dir`, parsed.
    fn list_json(&self, dir: &Path) -> Value {
        self.ours(dir, &["list", "--json"]).json()
    }

    /// `git opencode list --json` in `dir` as `id → (projectID, rule)`; also checks that every
    /// listed session carries the project ID OpenCode's DB records for it.
    fn list(&self, dir: &Path) -> Listing {
        let db = self.db_sessions();
        let mut listing = Listing::new();
        for s in self.list_json(dir).as_array().unwrap() {
            let id = s["id"].as_str().unwrap().to_owned();
            let project = s["projectID"].as_str().unwrap().to_owned();
            assert_eq!(
                db.get(&id),
                Some(&project),
                "projectID of {id} in our list vs the DB"
            );
            assert_eq!(s["parentID"], Value::Null, "{s}");
            listing.insert(id, (project, s["rule"].as_str().unwrap().to_owned()));
        }
        listing
    }

    /// The manifest of `git opencode pack` run in `dir`: our project IDs with their rules
    /// (including IDs no session uses) and the repository's root commits.
    fn manifest(&self, dir: &Path) -> Value {
        let zip_path = self.root.join("pack.zip");
        self.ours(dir, &["pack", "-q", "-o", zip_path.to_str().unwrap()]);
        let mut zip = zip::ZipArchive::new(fs::File::open(&zip_path).unwrap()).unwrap();
        let mut text = String::new();
        zip.by_name("manifest.json")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        fs::remove_file(&zip_path).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// `session.id → session.project_id` for every session in OpenCode's DB (read-only).
    fn db_sessions(&self) -> BTreeMap<String, String> {
        let db = self.oc.open_db();
        let mut stmt = db.prepare("SELECT id, project_id FROM session").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// `session.project_id` of `id`.
    fn db_project(&self, id: &str) -> String {
        self.db_sessions()
            .remove(id)
            .unwrap_or_else(|| panic!("session {id} is not in the DB"))
    }

    /// `project.id` of every project row.
    fn db_project_rows(&self) -> BTreeSet<String> {
        let db = self.oc.open_db();
        let mut stmt = db.prepare("SELECT id FROM project").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// `project.worktree` of project `id`, if that row exists.
    fn db_project_worktree(&self, id: &str) -> Option<String> {
        let db = self.oc.open_db();
        db.query_row("SELECT worktree FROM project WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .ok()
    }

    /// `(project_id, directory, strategy)` rows of `project_directory`.
    fn db_project_directories(&self) -> BTreeSet<(String, String, String)> {
        let db = self.oc.open_db();
        let mut stmt = db
            .prepare("SELECT project_id, directory, coalesce(strategy, '') FROM project_directory")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// `id → (project ID from the DB, rule)`: what `list` must print.
    fn expect(&self, sessions: &[(&str, &str)]) -> Listing {
        sessions
            .iter()
            .map(|(id, rule)| ((*id).to_owned(), (self.db_project(id), (*rule).to_owned())))
            .collect()
    }

    /// Stops the fake LLM and checks that no OpenCode process of this home is left.
    fn finish(mut self) {
        self.oc.stop_llm_and_wait(self.llm.take().unwrap());
        eprintln!(
            "identity::{}: {} opencode runs, {:.1?}",
            self.name,
            self.runs.get(),
            self.start.elapsed()
        );
    }
}

/// `git <args>` in `repo` with `input` on stdin; stdout, trimmed.
fn git_stdin(repo: &Repo, args: &[&str], input: &[u8]) -> String {
    let mut child = git_command(&repo.path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a parentless commit holding `files` whose ID satisfies `accept`, varying a nonce in
/// its message (hashed in-process; the fixed identity and date of [`GIT_ENV`]). The commit is
/// stored but no ref is moved; returns its ID.
fn root_commit(
    repo: &Repo,
    files: &[(&str, &str)],
    message: &str,
    accept: impl Fn(&str) -> bool,
) -> String {
    let mut tree = String::new();
    for (name, content) in files {
        let blob = git_stdin(repo, &["hash-object", "-w", "--stdin"], content.as_bytes());
        tree.push_str(&format!("100644 blob {blob}\t{name}\n"));
    }
    let tree = git_stdin(repo, &["mktree"], tree.as_bytes());
    for nonce in 0..10_000_000u64 {
        let body = format!(
            "tree {tree}\n\
             author Test Author <author@example.com> 1704067200 +0000\n\
             committer Test Committer <committer@example.com> 1704067200 +0000\n\
             \n\
             {message}\n\nnonce {nonce}\n"
        );
        let mut hasher = Sha1::new();
        hasher.update(format!("commit {}\0", body.len()).as_bytes());
        hasher.update(body.as_bytes());
        let id = hex(&hasher.finalize());
        if accept(&id) {
            let written = git_stdin(
                repo,
                &["hash-object", "-t", "commit", "-w", "--stdin"],
                body.as_bytes(),
            );
            assert_eq!(written, id);
            return id;
        }
    }
    panic!("no nonce gave an acceptable commit ID for {message:?}");
}

/// Sorted output lines of `git <args>`.
fn sorted_lines(repo: &Repo, args: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = repo.git(args).lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// OpenCode's cache file `<git-common-dir>/opencode`, if present.
fn cache_file(repo: &Repo) -> Option<String> {
    let common = repo.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
    fs::read_to_string(Path::new(common.trim()).join("opencode"))
        .ok()
        .map(|s| s.trim().to_owned())
}

fn remove_cache_file(repo: &Repo) {
    let common = repo.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
    let path = Path::new(common.trim()).join("opencode");
    if path.exists() {
        fs::remove_file(path).unwrap();
    }
}

/// Our `list` in `repo` with OpenCode's cache file moved aside (and put back afterwards).
fn list_without_cache(lab: &Lab, repo: &Repo) -> Listing {
    let common = repo.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
    let path = Path::new(common.trim()).join("opencode");
    let aside = path.with_file_name("opencode.aside");
    fs::rename(&path, &aside).unwrap();
    let listing = lab.list(&repo.path);
    fs::rename(&aside, &path).unwrap();
    listing
}

/// `sha1("git-remote:" + key)`: OpenCode 1.18's ID for an origin remote (§4.1).
fn remote_id(key: &str) -> String {
    hex(&Sha1::digest(format!("git-remote:{key}").as_bytes()))
}

/// (a) Several root commits: OpenCode's ID is the sorted-first root of HEAD, which our tool
/// reports as `current`; sessions under the ID older versions computed (sorted-first root of
/// `--all`, here an unmerged orphan branch) are `legacy`; and git-opencode's own refs, even
/// when their orphan root sorts first, change neither.
#[test]
fn several_roots_current_and_legacy_ids_ignore_own_refs() {
    let lab = Lab::new("several_roots");
    let repo = Repo::init(&lab.root.join("repo"));
    let r1 = repo.head();
    // An unrelated history merged in, whose root sorts after main's, and an unmerged orphan
    // branch whose root sorts before both: as in §4.2, three methods give three answers.
    let r2 = root_commit(
        &repo,
        &[("other.txt", "an unrelated history\n")],
        "unrelated root",
        |id| id > r1.as_str(),
    );
    repo.git(&[
        "merge",
        "-q",
        "--allow-unrelated-histories",
        "-m",
        "merge unrelated history",
        &r2,
    ]);
    let head_first = r1.clone();
    let r3 = root_commit(&repo, &[("lonely.txt", "alone\n")], "lonely root", |id| {
        id < r1.as_str()
    });
    repo.git(&["update-ref", "refs/heads/lonely", &r3]);
    assert_eq!(
        sorted_lines(&repo, &["rev-list", "--max-parents=0", "HEAD"]),
        [r1.clone(), r2.clone()]
    );
    let mut all_roots = vec![r1.clone(), r2.clone(), r3.clone()];
    all_roots.sort();
    assert_eq!(
        sorted_lines(&repo, &["rev-list", "--max-parents=0", "--all"]),
        all_roots
    );
    // `git rev-list --max-parents=0 HEAD | tail -n 1` is r2, neither rule's answer.
    let git_order_last = repo
        .git(&["rev-list", "--max-parents=0", "HEAD"])
        .lines()
        .last()
        .unwrap()
        .to_owned();
    assert_eq!(git_order_last, r2);
    eprintln!("several_roots: r1 (main) {r1}, r2 (merged) {r2}, r3 (lonely) {r3}");

    // A session under the legacy ID: OpenCode run while HEAD was on `lonely` records r3 (the
    // ID OpenCode <= 1.2 computed here from --all); then the cache file is lost, as in a fresh
    // clone, so the next run computes the HEAD root again.
    repo.git(&["checkout", "-q", "lonely"]);
    let old = lab.opencode(&repo.path, "hello from the lonely branch");
    assert_eq!(lab.db_project(&old), r3);
    assert_eq!(cache_file(&repo).as_deref(), Some(r3.as_str()));
    repo.git(&["checkout", "-q", "main"]);
    remove_cache_file(&repo);

    let new = lab.opencode(&repo.path, "hello from main");
    // OpenCode 1.18: the sorted-first root of HEAD, not `tail -n 1`, not the --all root.
    assert_eq!(lab.db_project(&new), head_first);
    assert_eq!(cache_file(&repo).as_deref(), Some(head_first.as_str()));
    assert_eq!(
        lab.db_project(&old),
        r3,
        "OpenCode left the old session under r3"
    );

    let before = lab.list(&repo.path);
    assert_eq!(before, lab.expect(&[(&new, "current"), (&old, "legacy")]));
    // The same from the root rules alone, without the cache file OpenCode just wrote.
    assert_eq!(list_without_cache(&lab, &repo), before);
    let list_before = lab.list_json(&repo.path);
    let manifest = lab.manifest(&repo.path);
    let projects_before = manifest["projects"].clone();
    // Sorted by ID: r3 sorts first.
    assert_eq!(
        projects_before,
        serde_json::json!([{ "id": r3, "rule": "legacy" }, { "id": head_first, "rule": "current" }])
    );
    assert_eq!(
        manifest["repository"]["roots"],
        serde_json::json!(all_roots)
    );

    // git-opencode's own refs: an orphan root that sorts before every root of the repository.
    let own = root_commit(
        &repo,
        &[("README.md", "git-opencode archive\n")],
        "git-opencode sessions",
        |id| id < r3.as_str(),
    );
    repo.git(&["update-ref", "refs/heads/opencode/sessions", &own]);
    repo.git(&["update-ref", "refs/notes/opencode", &own]);
    let roots_with_own = sorted_lines(&repo, &["rev-list", "--max-parents=0", "--all"]);
    assert_eq!(
        roots_with_own.first(),
        Some(&own),
        "the archive root must sort first for this check"
    );

    assert_eq!(
        lab.list(&repo.path),
        before,
        "git-opencode's own refs changed the answer"
    );
    assert_eq!(
        list_without_cache(&lab, &repo),
        before,
        "git-opencode's own refs changed the answer"
    );
    assert_eq!(lab.list_json(&repo.path), list_before);
    let manifest = lab.manifest(&repo.path);
    assert_eq!(manifest["projects"], projects_before);
    assert_eq!(
        manifest["repository"]["roots"],
        serde_json::json!(all_roots)
    );
    lab.finish();
}

/// (b) origin in https, scp and ssh form, and a short form that `url.<base>.insteadOf`
/// expands: the real OpenCode records `sha1("git-remote:github.com/Foo/Bar")` for each, and
/// our tool computes the same from the URL and the repository's config alone (the cache file is removed before every OpenCode run and before every `list`, so
/// neither side can fall back on it; the root commit differs from the remote ID). The
/// trailing-slash form is checked on our side only (OpenCode gave the same ID in §4.2; one
/// run fewer).
#[test]
fn origin_url_forms_give_opencodes_remote_id() {
    let lab = Lab::new("origin_url_forms");
    let repo = Repo::init(&lab.root.join("repo"));
    let root = repo.head();
    let want = remote_id("github.com/Foo/Bar");
    assert!(want.starts_with("97c1d40d"), "{want}");
    assert_ne!(want, root);
    repo.git(&[
        "remote",
        "add",
        "origin",
        "https://example.invalid/placeholder.git",
    ]);
    // `gh:` expands to the scp form; the shorter prefix `gh` must lose to the longer match.
    repo.git(&["config", "url.git@github.com:.insteadOf", "gh:"]);
    repo.git(&["config", "url.https://example.invalid/.insteadOf", "gh"]);
    let mut sessions: Vec<String> = Vec::new();
    for url in [
        "https://github.com/Foo/Bar.git",
        "git@github.com:Foo/Bar.git",
        "ssh://git@GitHub.com:22/Foo/Bar.git",
        "gh:Foo/Bar.git",
    ] {
        repo.git(&["remote", "set-url", "origin", url]);
        remove_cache_file(&repo);
        let id = lab.opencode(&repo.path, &format!("hello with origin {url}"));
        assert_eq!(
            lab.db_project(&id),
            want,
            "OpenCode's project ID with origin {url}"
        );
        eprintln!(
            "origin_url_forms: {url} -> cache file {:?}",
            cache_file(&repo)
        );
        remove_cache_file(&repo);
        sessions.push(id);
        let expected: Vec<(&str, &str)> =
            sessions.iter().map(|s| (s.as_str(), "current")).collect();
        assert_eq!(
            lab.list(&repo.path),
            lab.expect(&expected),
            "our list with origin {url}"
        );
    }
    assert_eq!(lab.db_project_rows(), BTreeSet::from([want]));
    repo.git(&["remote", "set-url", "origin", "https://github.com/Foo/Bar/"]);
    remove_cache_file(&repo);
    let expected: Vec<(&str, &str)> = sessions.iter().map(|s| (s.as_str(), "current")).collect();
    assert_eq!(
        lab.list(&repo.path),
        lab.expect(&expected),
        "our list with a trailing slash"
    );
    lab.finish();
}

/// (c) The cache file decides: OpenCode run first in a linked worktree on an unmerged orphan
/// branch records that branch's root and writes it to `<git-common-dir>/opencode`; the main
/// checkout (whose own HEAD root differs and sorts first, so no root rule finds the cached ID)
/// then resolves to the cached ID, in OpenCode and in our tool.
#[test]
fn cache_file_written_by_opencode_names_the_current_id() {
    let lab = Lab::new("cache_file");
    let repo = Repo::init(&lab.root.join("repo"));
    let r1 = repo.head();
    let r3 = root_commit(&repo, &[("lonely.txt", "alone\n")], "lonely root", |id| {
        id > r1.as_str()
    });
    repo.git(&["update-ref", "refs/heads/lonely", &r3]);
    let wt = lab.root.join("wt");
    repo.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "lonely"]);
    assert_eq!(cache_file(&repo), None);

    let in_wt = lab.opencode(&wt, "hello from the lonely worktree");
    assert_eq!(lab.db_project(&in_wt), r3);
    assert_eq!(
        cache_file(&repo).as_deref(),
        Some(r3.as_str()),
        "OpenCode's cache in the common dir"
    );
    assert!(!repo
        .path
        .join(".git")
        .join("worktrees")
        .join("wt")
        .join("opencode")
        .exists());
    // The main checkout has never seen OpenCode; our tool still finds the session through the
    // cache, as `current` (without the cache, its root rules would give r1).
    assert_eq!(lab.list(&repo.path), lab.expect(&[(&in_wt, "current")]));

    let in_main = lab.opencode(&repo.path, "hello from main");
    assert_eq!(
        lab.db_project(&in_main),
        r3,
        "OpenCode in main uses the cached ID, not its root"
    );
    let want = lab.expect(&[(&in_wt, "current"), (&in_main, "current")]);
    assert_eq!(lab.list(&repo.path), want);
    assert_eq!(lab.list(&wt), want);
    lab.finish();
}

/// (d) A linked worktree shares the main checkout's project: sessions run in either show up in
/// `list` run from either (and from a subdirectory).
#[test]
fn linked_worktree_and_main_checkout_share_sessions() {
    let lab = Lab::new("linked_worktree");
    let repo = Repo::init(&lab.root.join("repo"));
    let root = repo.head();
    repo.write("src/lib.rs", "pub fn f() {}\n");
    repo.commit_all("add lib");
    let wt = lab.root.join("wt");
    repo.git(&["worktree", "add", "-q", "-b", "feat", wt.to_str().unwrap()]);

    let in_main = lab.opencode(&repo.path, "hello from main");
    let in_wt = lab.opencode(&wt, "hello from the worktree");
    assert_eq!(lab.db_project(&in_main), root);
    assert_eq!(lab.db_project(&in_wt), root);
    let dirs = lab.db_project_directories();
    eprintln!("linked_worktree: project_directory rows {dirs:?}");
    assert!(
        dirs.contains(&(
            root.clone(),
            wt.to_str().unwrap().to_owned(),
            "git_worktree".to_owned()
        )),
        "{dirs:?}"
    );

    let want = lab.expect(&[(&in_main, "current"), (&in_wt, "current")]);
    assert_eq!(lab.list(&repo.path), want);
    assert_eq!(lab.list(&wt), want);
    fs::create_dir_all(wt.join("src")).unwrap();
    assert_eq!(lab.list(&wt.join("src")), want);
    lab.finish();
}

/// (e) Before the first commit OpenCode files sessions under `global`; our list shows them
/// (rule `global`), but not a `global` session of an unrelated directory, even though
/// OpenCode's `global` project row then names this repository as its worktree. After the first
/// commit OpenCode moves the `global` sessions whose directory is the worktree to the new ID;
/// one started in a subdirectory stays in `global`, and our list still shows all of them.
#[test]
fn empty_repo_global_sessions_before_and_after_first_commit() {
    let lab = Lab::new("empty_repo");
    let dir = lab.root.join("repo");
    fs::create_dir_all(dir.join("sub")).unwrap();
    let out = git_command(&dir)
        .args(["init", "-q", "-b", "main"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let repo = Repo::open(&dir);
    repo.write("sub/notes.txt", "not committed yet\n");
    let elsewhere = lab.root.join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let unrelated = lab.opencode(&elsewhere, "hello from a directory outside any repository");
    assert_eq!(lab.db_project(&unrelated), "global");

    let at_top = lab.opencode(&repo.path, "hello before the first commit");
    let in_sub = lab.opencode(&repo.path.join("sub"), "hello from a subdirectory");
    assert_eq!(lab.db_project(&at_top), "global");
    assert_eq!(lab.db_project(&in_sub), "global");
    assert_eq!(
        lab.db_project_worktree("global").as_deref(),
        repo.path.to_str(),
        "OpenCode's global project row names the repository"
    );
    let want = lab.expect(&[(&at_top, "global"), (&in_sub, "global")]);
    assert_eq!(lab.list(&repo.path), want);
    assert_eq!(lab.list(&repo.path.join("sub")), want);

    let root = repo.commit_all("first commit");
    let after = lab.opencode(&repo.path, "hello after the first commit");
    assert_eq!(lab.db_project(&after), root);
    assert_eq!(
        lab.db_project(&at_top),
        root,
        "OpenCode moves the worktree's global session"
    );
    assert_eq!(
        lab.db_project(&in_sub),
        "global",
        "OpenCode leaves the subdirectory's session"
    );
    assert_eq!(lab.db_project(&unrelated), "global");
    let want = lab.expect(&[
        (&at_top, "current"),
        (&in_sub, "global"),
        (&after, "current"),
    ]);
    assert_eq!(lab.list(&repo.path), want);
    assert_eq!(lab.list(&repo.path.join("sub")), want);
    lab.finish();
}

/// (f) `git remote add origin` changes the ID: until OpenCode starts again the old sessions
/// sit under the root ID, which our tool finds through the cache file (`legacy`); the next
/// OpenCode start moves the project and all its sessions to the remote ID (`current`).
#[test]
fn remote_added_later_old_and_new_sessions() {
    let lab = Lab::new("remote_added");
    let repo = Repo::init(&lab.root.join("repo"));
    let root = repo.head();
    let first = lab.opencode(&repo.path, "hello without a remote");
    assert_eq!(lab.db_project(&first), root);
    assert_eq!(cache_file(&repo).as_deref(), Some(root.as_str()));
    assert_eq!(lab.list(&repo.path), lab.expect(&[(&first, "current")]));

    repo.git(&["remote", "add", "origin", "git@example.com:team/proj.git"]);
    let remote = remote_id("example.com/team/proj");
    // OpenCode has not run since: the session is still under the root ID.
    assert_eq!(lab.db_project(&first), root);
    assert_eq!(lab.list(&repo.path), lab.expect(&[(&first, "legacy")]));

    let second = lab.opencode(&repo.path, "hello with a remote");
    assert_eq!(lab.db_project(&second), remote);
    // OpenCode migrated everything: no session and no project row is left under the root ID.
    assert_eq!(
        lab.db_project(&first),
        remote,
        "OpenCode moved the old session"
    );
    assert_eq!(lab.db_project_rows(), BTreeSet::from([remote.clone()]));
    assert_eq!(cache_file(&repo).as_deref(), Some(remote.as_str()));
    assert_eq!(
        lab.list(&repo.path),
        lab.expect(&[(&first, "current"), (&second, "current")])
    );
    lab.finish();
}

/// (g) Root commits are remembered in `<common-dir>/git-opencode/roots` between runs (the
/// hook must not walk a long history on every commit): the answer stays what a full walk
/// (`git rev-list --max-parents=0 --all`) gives as history grows, branches come and go,
/// and when the file is damaged.
#[test]
fn remembered_roots_follow_the_history() {
    let lab = Lab::new("remembered_roots");
    let repo = Repo::init(&lab.root.join("repo"));
    let session = lab.opencode(&repo.path, "hello");
    let remembered = repo.path.join(".git/git-opencode/roots");
    let check = |what: &str| {
        let want = sorted_lines(&repo, &["rev-list", "--max-parents=0", "--all"]);
        let manifest = lab.manifest(&repo.path);
        assert_eq!(
            manifest["repository"]["roots"],
            serde_json::json!(want),
            "{what}"
        );
        want
    };

    assert!(!remembered.exists());
    check("first run, nothing remembered");
    let text = fs::read_to_string(&remembered).expect("roots remembered after a run");
    assert!(text.contains(&repo.head()), "{text}");
    check("second run, from the file");
    for i in 0..3 {
        repo.git(&["commit", "-q", "--allow-empty", "-m", &format!("step {i}")]);
    }
    check("after new commits");

    let unrelated = root_commit(&repo, &[("other.txt", "other\n")], "unrelated", |_| true);
    repo.git(&["update-ref", "refs/heads/other", &unrelated]);
    assert!(check("an unrelated branch").contains(&unrelated));
    repo.git(&[
        "merge",
        "-q",
        "--allow-unrelated-histories",
        "-m",
        "merge other",
        "other",
    ]);
    repo.git(&["branch", "-q", "-D", "other"]);
    assert!(check("merged, its branch deleted").contains(&unrelated));

    let lonely = root_commit(&repo, &[("lonely.txt", "alone\n")], "lonely", |_| true);
    repo.git(&["update-ref", "refs/heads/lonely", &lonely]);
    assert!(check("an unmerged orphan branch").contains(&lonely));
    repo.git(&["branch", "-q", "-D", "lonely"]);
    assert!(!check("the orphan branch deleted").contains(&lonely));

    fs::write(&remembered, "not a commit\n0123 4567\n\u{0}\n").unwrap();
    check("a damaged file");
    assert_eq!(lab.list(&repo.path), lab.expect(&[(&session, "current")]));
    lab.finish();
}
