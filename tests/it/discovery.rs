//! Finding the repository and the store as git and OpenCode do: `git opencode` dispatch,
//! subdirectories, `-C`, `GIT_DIR`/`GIT_WORK_TREE`, linked worktrees, `--store`,
//! `git config opencode.store` and `OPENCODE_DB`.

use crate::common::fixtures::{rich_store, Fixture};
use crate::common::{path_with_our_binary, run, CommandOutput};
use std::path::Path;

/// The session IDs of the `list` table of a successful run, sorted.
#[track_caller]
fn listed_ids(output: CommandOutput) -> Vec<String> {
    let output = output.success();
    let mut ids: Vec<String> = output
        .stdout()
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn expected_ids() -> Vec<String> {
    let store = rich_store();
    let mut ids: Vec<String> = store.sessions().into_iter().map(String::from).collect();
    ids.sort();
    ids
}

#[test]
fn git_runs_us_as_git_opencode() {
    let env = rich_store().copy_env();
    let path = path_with_our_binary();
    let git = |args: &[&str]| {
        let mut cmd = std::process::Command::new("git");
        cmd.args(args)
            .current_dir(&env.repo.path)
            .env("PATH", &path)
            .env("HOME", &env.home)
            .env("XDG_DATA_HOME", &env.data_home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null");
        run(cmd)
    };
    let help = git(&["opencode", "-h"]).success();
    assert!(help.stdout().contains("Usage: git opencode"), "{help}");
    assert_eq!(listed_ids(git(&["opencode", "list"])), expected_ids());
    let zip = env.root.join("via-git.zip");
    git(&["opencode", "pack", "-o", zip.to_str().unwrap()]).success();
    assert!(zip.is_file());
}

#[test]
fn works_from_a_subdirectory_with_dash_c_and_with_git_dir() {
    let env = rich_store().copy_env();
    let sub = env.repo.path.join("src");
    assert_eq!(listed_ids(env.run_in(&sub, &["list"])), expected_ids());

    let outside = env.root.clone();
    let repo = env.repo.path.to_str().unwrap();
    let out = env.run_in(&outside, &["-C", repo, "list"]);
    assert_eq!(listed_ids(out), expected_ids());
    let out = env.run_in(&outside, &["-C", repo, "-C", "src", "list"]);
    assert_eq!(listed_ids(out), expected_ids());

    let mut cmd = env.cmd_in(&outside, &["list"]);
    cmd.env("GIT_DIR", env.repo.path.join(".git"))
        .env("GIT_WORK_TREE", &env.repo.path);
    assert_eq!(listed_ids(run(cmd)), expected_ids());
}

#[test]
fn works_from_a_linked_worktree() {
    let env = rich_store().copy_env();
    let wt = env.add_linked_worktree();
    assert_eq!(listed_ids(env.run_in(&wt, &["list"])), expected_ids());
}

#[test]
fn store_from_flag_git_config_and_opencode_db() {
    let store = rich_store();
    let env = store.copy_env();
    let data_dir = env.data_home.join("opencode");
    let db = data_dir.join("opencode.db");
    // Point the default lookup somewhere empty, then find the store each other way.
    let empty = env.new_dir("empty-data");
    let ours = |args: &[&str], extra_env: &[(&str, &str)]| {
        let mut cmd = env.cmd(args);
        cmd.env("XDG_DATA_HOME", &empty);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        run(cmd)
    };
    insta::assert_snapshot!(ours(&["list"], &[]).failure(), @"
    [stderr]
    error: no OpenCode session store at $TEST_ENV/empty-data/opencode/opencode.db
    hint: run opencode in this repository first, or point at a store with --store <path>
    [EOF]
    [exit status: 1]
    ");
    let by_dir = ours(&["--store", data_dir.to_str().unwrap(), "list"], &[]);
    assert_eq!(listed_ids(by_dir), expected_ids());
    let by_file = ours(&["list", "--store", db.to_str().unwrap()], &[]);
    assert_eq!(listed_ids(by_file), expected_ids());
    let absolute = ours(&["list"], &[("OPENCODE_DB", db.to_str().unwrap())]);
    assert_eq!(listed_ids(absolute), expected_ids());

    // OPENCODE_DB relative to the data dir, as OpenCode resolves it.
    std::fs::create_dir_all(empty.join("opencode")).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = format!("{}{suffix}", db.display());
        if Path::new(&from).exists() {
            std::fs::copy(&from, empty.join(format!("opencode/custom.db{suffix}"))).unwrap();
        }
    }
    let relative = ours(&["list"], &[("OPENCODE_DB", "custom.db")]);
    assert_eq!(listed_ids(relative), expected_ids());

    env.git(&["config", "opencode.store", data_dir.to_str().unwrap()]);
    let by_config = ours(&["list"], &[]);
    assert_eq!(listed_ids(by_config), expected_ids());
    // --store wins over git config.
    let flag_wins = ours(&["--store", empty.to_str().unwrap(), "list"], &[]);
    insta::assert_snapshot!(flag_wins.failure(), @"
    [stderr]
    error: no OpenCode session store at $TEST_ENV/empty-data/opencode.db
    hint: run opencode in this repository first, or point at a store with --store <path>
    [EOF]
    [exit status: 1]
    ");
}
