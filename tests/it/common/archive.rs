//! Packs and archive branches, and the other machine a restore goes to.

use super::fake_llm::FakeLlm;
use super::git::{git_command, Repo};
use super::opencode::{OpencodeHome, CURRENT};
use super::process::assert_success;
use super::{zip_entries, TestEnv};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `git opencode pack -o <root>/<name>` in `env`.
pub fn pack(env: &TestEnv, name: &str) -> PathBuf {
    let zip = env.root.join(name);
    env.run(&["pack", "-q", "-o", zip.to_str().unwrap()])
        .success();
    zip
}

/// `git clone src dst` (real git); with `origin`, the clone's origin URL is set to it.
pub fn clone_to(src: &Repo, dst: &Path, origin: Option<&str>) -> Repo {
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    let out = git_command(dst.parent().unwrap())
        .args(["clone", "-q"])
        .arg(&src.path)
        .arg(dst)
        .output()
        .unwrap();
    assert_success(&out, "git clone");
    let repo = Repo::open(dst);
    if let Some(url) = origin {
        repo.git(&["remote", "set-url", "origin", url]);
    }
    repo
}

/// Another machine: a new OpenCode home whose (empty) store OpenCode has created by listing
/// once, and a clone of `env`'s repo at `root/<clone_at>`.
pub fn another_machine(env: &TestEnv, llm: &FakeLlm, clone_at: &str) -> (OpencodeHome, Repo) {
    let oc = OpencodeHome::new(CURRENT, llm);
    let clone = clone_to(&env.repo, &env.root.join(clone_at), None);
    oc.session_list_json(&clone.path);
    (oc, clone)
}

/// The session documents of a pack, by ID.
pub fn pack_docs(zip: &Path) -> BTreeMap<String, Value> {
    zip_entries(zip)
        .into_iter()
        .filter(|(n, _)| n.starts_with("sessions/") && !n.ends_with(".extra.json"))
        .map(|(n, d)| {
            let id = n
                .trim_start_matches("sessions/")
                .trim_end_matches(".json")
                .to_owned();
            (id, serde_json::from_slice(&d).unwrap())
        })
        .collect()
}

/// Builds `refs/heads/opencode/sessions` in `repo` from the files of a pack, with real git
/// plumbing only (`hash-object`, `update-index` on a private index, `write-tree`,
/// `commit-tree`, `update-ref`), in the archive branch layout:
/// `README.md`, `manifest.json`, `sessions/<YYYY-MM>/<id>/{session.json, extra.json, transcript.md}`.
/// Returns the commit ID.
pub fn build_archive_branch(repo: &Repo, zip: &Path) -> String {
    let work = tempfile::tempdir().unwrap();
    let index = work.path().join("index");
    let git = |args: &[&str]| -> String {
        let out = git_command(&repo.path)
            .env("GIT_INDEX_FILE", &index)
            .args(args)
            .output()
            .unwrap();
        assert_success(&out, &format!("git {}", args.join(" ")));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let mut n = 0;
    let mut add = |path: &str, data: &[u8]| {
        n += 1;
        let file = work.path().join(format!("blob{n}"));
        std::fs::write(&file, data).unwrap();
        let blob = git(&["hash-object", "-w", file.to_str().unwrap()]);
        git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("100644,{blob},{path}"),
        ]);
    };
    let entries = zip_entries(zip);
    let mut sessions = serde_json::Map::new();
    for (name, data) in &entries {
        let Some(rest) = name.strip_prefix("sessions/") else {
            continue;
        };
        if rest.ends_with(".extra.json") {
            continue;
        }
        let id = rest.trim_end_matches(".json");
        let doc: Value = serde_json::from_slice(data).unwrap();
        let created = doc["info"]["time"]["created"].as_i64().unwrap();
        let t = time::OffsetDateTime::from_unix_timestamp(created / 1000).unwrap();
        let dir = format!("sessions/{:04}-{:02}/{id}", t.year(), t.month() as u8);
        add(&format!("{dir}/session.json"), data);
        if let Some((_, extra)) = entries
            .iter()
            .find(|(n, _)| *n == format!("sessions/{id}.extra.json"))
        {
            add(&format!("{dir}/extra.json"), extra);
        }
        let title = doc["info"]["title"].as_str().unwrap_or("");
        add(
            &format!("{dir}/transcript.md"),
            format!("# {title}\n").as_bytes(),
        );
        sessions.insert(
            id.to_owned(),
            json!({ "path": dir, "title": title, "updated": doc["info"]["time"]["updated"] }),
        );
    }
    let manifest = json!({ "format": "git-opencode-archive", "version": 1, "sessions": sessions });
    add(
        "manifest.json",
        serde_json::to_string_pretty(&manifest).unwrap().as_bytes(),
    );
    add("README.md", b"# OpenCode sessions archive\n");
    let tree = git(&["write-tree"]);
    let commit = git(&["commit-tree", &tree, "-m", "git-opencode: archive"]);
    git(&["update-ref", "refs/heads/opencode/sessions", &commit]);
    commit
}
