//! `git opencode search` on sessions the real OpenCode 1.18.34 wrote: from the store, from a
//! fresh clone that has only the archive branch, and from both at once (each session once).

use crate::common::archive::clone_to;
use crate::common::fixtures::{rich_store, Fixture};
use crate::common::{CommandOutput, Scrub, TestEnv};
use serde_json::Value;
use std::collections::BTreeSet;

/// A copy of the rich fixture whose sessions are archived on the branch too.
fn archived_env() -> TestEnv {
    let env = rich_store().copy_env();
    env.run(&["push-sessions", "-q"]).success();
    env
}

/// A clone of `env`'s repository (the archive comes over as `refs/remotes/origin/…`) and an
/// empty store directory: a machine without OpenCode.
fn clone_without_store(env: &TestEnv) -> (std::path::PathBuf, String) {
    let clone = clone_to(&env.repo, &env.root.join("clone"), None);
    let empty = env.new_dir("no-store");
    (clone.path, empty.to_str().unwrap().to_owned())
}

/// Nothing matched: exit status 1, and nothing printed (as `git grep`).
#[track_caller]
fn nothing_found(out: CommandOutput) {
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(out.stdout().is_empty() && out.stderr().is_empty(), "{out}");
}

fn ids(out: &str) -> Vec<String> {
    out.lines().map(String::from).collect()
}

#[test]
fn search_finds_unicode_text_in_the_store_line_by_line() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    // Sessions newest first; each line names its message (1 upwards).
    insta::assert_snapshot!(scrub.apply(env.run(&["search", "こんにちは"]).success()), @"
    [SESSION:tools]:4: echo 'bash says 🐚 こんにちは'
    [SESSION:tools]:4: bash says 🐚 こんにちは
    [EOF]
    [exit status: 0]
    ");
    insta::assert_snapshot!(scrub.apply(env.run(&["search", "漢字かな交じり文"]).success()), @r#"
    [SESSION:plain]:1: "Just say hi 👋 héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום"
    [SESSION:attachment]:1: 2: héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [SESSION:tools]:1: "Tidy the notes 🎉 héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [SESSION:tools]:2: héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [SESSION:tools]:3:  héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [SESSION:tools]:6: All done ✅ héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [EOF]
    [exit status: 0]
    "#);
    // Text of a long tool output that the transcript cuts is still found in the store.
    insta::assert_snapshot!(scrub.apply(env.run(&["search", "line 1499 ünïcødé 日本語"]).success()), @"
    [SESSION:tools]:8: line 1499 ünïcødé 日本語 output ........................
    [EOF]
    [exit status: 0]
    ");
}

#[test]
fn literal_regex_and_ignore_case() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    // Literal: `.` and `*` are themselves; nothing found exits 1 and prints nothing.
    nothing_found(env.run(&["search", "bash says .* こんにちは"]));
    insta::assert_snapshot!(scrub.apply(env.run(&["search", "-E", "bash says .* こんにちは"]).success()), @"
    [SESSION:tools]:4: echo 'bash says 🐚 こんにちは'
    [SESSION:tools]:4: bash says 🐚 こんにちは
    [EOF]
    [exit status: 0]
    ");
    nothing_found(env.run(&["search", "BASH SAYS"]));
    insta::assert_snapshot!(scrub.apply(env.run(&["search", "-i", "BASH SAYS"]).success()), @"
    [SESSION:tools]:4: echo 'bash says 🐚 こんにちは'
    [SESSION:tools]:4: bash says 🐚 こんにちは
    [EOF]
    [exit status: 0]
    ");
    insta::assert_snapshot!(scrub.apply(env.run(&["search", "-E", "-i", "^CHILD done"]).success()), @"
    [SESSION:task_parent]:2: child done ✔ 子
    [SESSION:task_child]:3: child done ✔ 子
    [EOF]
    [exit status: 0]
    ");
    insta::assert_snapshot!(env.run(&["search", "-E", "(unclosed"]).failure(), @r#"
    [stderr]
    error: invalid regular expression "(unclosed": regex parse error:     (unclosed     ^ error: unclosed group
    hint: without -E the pattern is a literal string
    [EOF]
    [exit status: 1]
    "#);
}

#[test]
fn role_tool_and_file_filters() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    let search = |args: &[&str]| {
        let mut all = vec!["search"];
        all.extend_from_slice(args);
        scrub.apply(env.run(&all).success())
    };
    insta::assert_snapshot!(search(&["--role", "user", "漢字かな交じり文"]), @r#"
    [SESSION:plain]:1: "Just say hi 👋 héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום"
    [SESSION:attachment]:1: 2: héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [SESSION:tools]:1: "Tidy the notes 🎉 héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [EOF]
    [exit status: 0]
    "#);
    insta::assert_snapshot!(search(&["--role", "assistant", "漢字かな交じり文"]), @"
    [SESSION:tools]:6: All done ✅ héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [EOF]
    [exit status: 0]
    ");
    insta::assert_snapshot!(search(&["--role", "tool", "漢字かな交じり文"]), @"
    [SESSION:tools]:2: héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [SESSION:tools]:3:  héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [EOF]
    [exit status: 0]
    ");
    insta::assert_snapshot!(search(&["--tool", "bash", "こんにちは"]), @"
    [SESSION:tools]:4: echo 'bash says 🐚 こんにちは'
    [SESSION:tools]:4: bash says 🐚 こんにちは
    [EOF]
    [exit status: 0]
    ");
    insta::assert_snapshot!(search(&["--tool", "edit", "Notes"]), @"
    [SESSION:tools]:3: # Notes
    [SESSION:tools]:3: # Notes ✍️
    [SESSION:tools]:3: -# Notes
    [SESSION:tools]:3: +# Notes ✍️
    [EOF]
    [exit status: 0]
    ");
    // Only the session that wrote notes.md; the plain chat and the attachment have the same
    // text but changed nothing. The path may be given from a subdirectory, or absolute.
    insta::assert_snapshot!(search(&["-l", "--file", "notes.md", "漢字かな交じり文"]), @"
    [SESSION:tools]
    [EOF]
    [exit status: 0]
    ");
    let abs = env.repo.path.join("notes.md");
    let from_abs = env.run(&["search", "-l", "--file", abs.to_str().unwrap(), "Notes"]);
    assert_eq!(ids(from_abs.success().stdout()), vec![store.tools.clone()]);
    let sub = env.repo.path.join("src");
    let from_sub = env.run_in(&sub, &["search", "-l", "--file", "../notes.md", "Notes"]);
    assert_eq!(ids(from_sub.success().stdout()), vec![store.tools.clone()]);
    nothing_found(env.run(&["search", "--file", "src/main.rs", "Notes"]));
    // Dates and ages: every session is from today.
    let since = env.run(&["search", "-l", "--since", "2 days ago", "漢字かな交じり文"]);
    assert_eq!(ids(since.success().stdout()).len(), 3);
    nothing_found(env.run(&["search", "--until", "2000-01-01", "漢字かな交じり文"]));
    insta::assert_snapshot!(env.run(&["search", "--since", "soon", "x"]).failure(), @r#"
    [stderr]
    error: --since "soon" is neither a date nor an age
    hint: write a date as 2026-11-30 or 2026-11-30 14:05 (UTC), or an age as 3d, 12h or "2 weeks ago"
    [EOF]
    [exit status: 1]
    "#);
}

#[test]
fn list_json_and_colour() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    let listed = env.run(&["search", "-l", "漢字かな交じり文"]).success();
    insta::assert_snapshot!(scrub.apply(&listed), @"
    [SESSION:plain]
    [SESSION:attachment]
    [SESSION:tools]
    [EOF]
    [exit status: 0]
    ");
    let json = env
        .run(&["search", "--json", "--tool", "bash", "こんにちは"])
        .success();
    let objects: Vec<Value> = json
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    insta::assert_snapshot!(scrub.apply(serde_json::to_string_pretty(&objects[0]).unwrap()), @r#"
    {
      "session": "[SESSION:tools]",
      "title": "Tools ✍️ session",
      "updated": [TIME_MS],
      "message": 4,
      "messageID": "[MESSAGE_ID]",
      "role": "tool",
      "tool": "bash",
      "line": "echo 'bash says 🐚 こんにちは'",
      "ranges": [
        [
          21,
          36
        ]
      ],
      "source": "store"
    }
    "#);
    assert!(objects.iter().all(|o| o["source"] == "store"));
    // Matches are highlighted on a terminal (forced here), as `git grep` colours them.
    let coloured = env.run(&[
        "search",
        "--color",
        "always",
        "--tool",
        "bash",
        "こんにちは",
    ]);
    insta::assert_snapshot!(scrub.apply(coloured.success().stdout().replace('\x1b', "\\e")), @r"
    \e[35m[SESSION:tools]\e[m\e[36m:\e[m\e[32m4\e[m\e[36m:\e[m echo 'bash says 🐚 \e[1;31mこんにちは\e[m'
    \e[35m[SESSION:tools]\e[m\e[36m:\e[m\e[32m4\e[m\e[36m:\e[m bash says 🐚 \e[1;31mこんにちは\e[m
    ");
}

#[test]
fn a_fresh_clone_searches_the_archive_alone() {
    let store = rich_store();
    let env = archived_env();
    let (clone, empty) = clone_without_store(&env);
    let scrub = Scrub::of(store);
    let search = |args: &[&str]| {
        let mut all = vec!["--store", &empty, "search"];
        all.extend_from_slice(args);
        env.run_in(&clone, &all)
    };
    // The same sessions and messages as from the store; lines as the transcript shows them.
    insta::assert_snapshot!(scrub.apply(search(&["こんにちは"]).success()), @"
    [SESSION:tools]:4: echo 'bash says 🐚 こんにちは'
    [SESSION:tools]:4: bash says 🐚 こんにちは
    [EOF]
    [exit status: 0]
    ");
    insta::assert_snapshot!(scrub.apply(search(&["--role", "user", "漢字かな交じり文"]).success()), @r#"
    [SESSION:plain]:1: "Just say hi 👋 héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום"
    [SESSION:attachment]:1: 2: héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [SESSION:tools]:1: "Tidy the notes 🎉 héllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום
    [EOF]
    [exit status: 0]
    "#);
    insta::assert_snapshot!(scrub.apply(search(&["--tool", "bash", "こんにちは"]).success()), @"
    [SESSION:tools]:4: echo 'bash says 🐚 こんにちは'
    [SESSION:tools]:4: bash says 🐚 こんにちは
    [EOF]
    [exit status: 0]
    ");
    let from_store = env.run(&["search", "-l", "漢字かな交じり文"]).success();
    let from_clone = search(&["-l", "漢字かな交じり文"]).success();
    assert_eq!(from_clone.stdout(), from_store.stdout());
    let notes = search(&["-l", "--file", "notes.md", "Notes"]).success();
    assert_eq!(ids(notes.stdout()), vec![store.tools.clone()]);
    let json = search(&["--json", "-i", "CHILD DONE"]).success();
    let first: Value = serde_json::from_str(json.stdout().lines().next().unwrap()).unwrap();
    assert_eq!(first["source"], "refs/remotes/origin/opencode/sessions");
    assert_eq!(first["messageID"], Value::Null);
    // A clone without the archive and no store has nothing to search.
    let bare = clone_to(&rich_store().repo, &env.root.join("plain-clone"), None);
    insta::assert_snapshot!(env.run_in(&bare.path, &["--store", &empty, "search", "x"]).failure(), @"
    [stderr]
    error: nothing to search: no OpenCode store at $TEST_ENV/no-store/opencode.db and no archive refs/heads/opencode/sessions
    hint: fetch the archive branch (git fetch origin opencode/sessions), or point --store at a store
    [EOF]
    [exit status: 1]
    ");
}

#[test]
fn a_session_in_the_store_and_the_archive_is_found_once() {
    let store = rich_store();
    let env = archived_env();
    let listed = env.run(&["search", "-l", "漢字かな交じり文"]).success();
    let found = ids(listed.stdout());
    let unique: BTreeSet<&String> = found.iter().collect();
    assert_eq!(found.len(), unique.len());
    assert_eq!(
        unique,
        [&store.tools, &store.plain, &store.attachment]
            .into_iter()
            .collect::<BTreeSet<_>>()
    );
    // The store's copy is the archived one: it is read from the store.
    let json = env.run(&["search", "--json", "漢字かな交じり文"]).success();
    for line in json.stdout().lines() {
        let object: Value = serde_json::from_str(line).unwrap();
        assert_eq!(object["source"], "store", "{line}");
    }
    // With a clone's remote-tracking copy as well, still once each.
    let (clone, _) = clone_without_store(&env);
    let env_clone = env
        .run_in(&clone, &["search", "-l", "漢字かな交じり文"])
        .success();
    assert_eq!(ids(env_clone.stdout()), found);
}
