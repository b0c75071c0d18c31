//! `git opencode doctor`: what a user needs when sessions seem gone after upgrading to
//! OpenCode 2.x, and `--fix`, which brings this repository's stranded 1.x sessions into
//! `session_v2`.
//!
//! The upgraded store is the real 1.18.34 store of `rich_store`, upgraded as 2.x does it
//! (`common::upgrade2`), then used by the real 1.18.34 binary after the import completed: it
//! continues one imported session (a divergent copy) and starts a new one (stranded). The
//! fresh store (`common::gen2`) holds rows shaped as the 2.0.25 captures, including sessions
//! misfiled under `global` and a markerless `directory:` project.

use crate::common::fake_llm::{script, Step};
use crate::common::fixtures::{rich_store, Fixture};
use crate::common::gen2::{native_store, Native, V2Db};
use crate::common::upgrade2::upgrade_to_2x;
use crate::common::{Scrub, TestEnv};
use git_opencode::restore::gen2_write::{write_session, ProjectSeed};
use git_opencode::restore::upgrade::transform_session;
use git_opencode::store::{Store, StoreLocation};
use rusqlite::Connection;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The upgraded store and the sessions in each state.
struct Upgraded {
    env: TestEnv,
    scrub: Scrub,
    /// Made by 1.18.34 after the import completed: only in the 1.x tables.
    stranded: String,
    /// Imported, then continued by 1.18.34: its 1.x copy is newer.
    divergent: String,
    /// Imported, then deleted in 2.x (legacy rows left behind, #50260).
    deleted: String,
    /// When the import completed (the `kv` row's `time_updated`).
    imported_at: i64,
}

fn upgraded() -> Upgraded {
    let store = rich_store();
    let mut env = store.copy_env();
    let db = env.opencode.as_ref().unwrap().db_path();
    let checkpoint = |path: &Path| {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    };
    // A session 2.x will import (sessions continue in the checkout they started in, so it
    // starts here in the copy).
    let llm = env.start_llm();
    let oc = env.opencode.as_ref().unwrap();
    let divergent = oc
        .run(
            &env.repo.path,
            &script(&[Step::reply("made by 1.x before the upgrade")]),
            &[],
        )
        .session_id;
    checkpoint(&db);
    let before = env.root.join("before.db");
    std::fs::copy(&db, &before).unwrap();
    let imported_at: i64 = Connection::open(&before)
        .unwrap()
        .query_row("SELECT max(time_updated) FROM session", [], |r| r.get(0))
        .unwrap();
    // 2.x imports the store as it is now (just after its last change)…
    let imported_at = imported_at + 1;
    std::thread::sleep(std::time::Duration::from_millis(5));

    // …then the real 1.18.34 goes on in 1.x's tables: a new session, and one more turn of
    // the imported one. It runs on the 1.x file, and its rows of the two sessions are
    // carried into the upgraded file below: 1.x writes only those tables, so the result is
    // the file 1.x would leave after the import.
    let stranded = oc
        .run(
            &env.repo.path,
            &script(&[Step::reply("made by 1.x after the upgrade")]),
            &[],
        )
        .session_id;
    oc.continue_session(
        &env.repo.path,
        &divergent,
        &script(&[Step::reply("1.x goes on")]),
        &[],
    );
    drop(llm);
    checkpoint(&db);
    let after = env.root.join("after.db");
    std::fs::copy(&db, &after).unwrap();
    std::fs::copy(&before, &db).unwrap();
    upgrade_to_2x(&db);

    let conn = Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE kv SET time_updated = ?1 WHERE key = 'migration.v1-v2'",
        [imported_at],
    )
    .unwrap();
    // What 1.x wrote after the import: its rows of the two sessions, as it wrote them.
    conn.execute("ATTACH DATABASE ?1 AS after", [after.to_str().unwrap()])
        .unwrap();
    for id in [&stranded, &divergent] {
        conn.execute("DELETE FROM part WHERE session_id = ?1", [id])
            .unwrap();
        conn.execute("DELETE FROM message WHERE session_id = ?1", [id])
            .unwrap();
        conn.execute("DELETE FROM session WHERE id = ?1", [id])
            .unwrap();
        conn.execute(
            "INSERT INTO session SELECT * FROM after.session WHERE id = ?1",
            [id],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO message SELECT * FROM after.message WHERE session_id = ?1",
            [id],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO part SELECT * FROM after.part WHERE session_id = ?1",
            [id],
        )
        .unwrap();
    }
    conn.execute("DETACH DATABASE after", []).unwrap();
    // 2.x's delete: the session_v2 row (messages cascade) and its event_sequence row.
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let deleted = store.attachment.clone();
    conn.execute("DELETE FROM session_v2 WHERE id = ?1", [&deleted])
        .unwrap();
    conn.execute(
        "DELETE FROM event_sequence WHERE aggregate_id = ?1",
        [&deleted],
    )
    .unwrap();
    drop(conn);
    std::fs::remove_file(&before).unwrap();
    std::fs::remove_file(&after).unwrap();
    let scrub = Scrub::of(store)
        .session(&stranded, "stranded")
        .session(&divergent, "divergent");
    Upgraded {
        env,
        scrub,
        stranded,
        divergent,
        deleted,
        imported_at,
    }
}

fn db_of(env: &TestEnv) -> PathBuf {
    env.data_home.join("opencode/opencode.db")
}

/// Every row of every table, as text, by table: what "untouched" is compared by.
fn dump(db: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = Connection::open(db).unwrap();
    let tables: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut out = BTreeMap::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1, 2"))
            .unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut cells = Vec::new();
                for i in 0..n {
                    use rusqlite::types::ValueRef;
                    cells.push(match r.get_ref(i)? {
                        ValueRef::Null => "NULL".to_owned(),
                        ValueRef::Integer(n) => n.to_string(),
                        ValueRef::Real(f) => f.to_string(),
                        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                        ValueRef::Blob(b) => format!(
                            "x'{}'",
                            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                        ),
                    });
                }
                Ok(cells.join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        out.insert(table, rows);
    }
    out
}

/// Fails naming the first table whose rows differ.
fn assert_same(got: &BTreeMap<String, Vec<String>>, want: &BTreeMap<String, Vec<String>>) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (table, rows) in got {
        let missing: Vec<_> = want[table].iter().filter(|r| !rows.contains(r)).collect();
        let extra: Vec<_> = rows.iter().filter(|r| !want[table].contains(r)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "table {table}: rows lost {missing:#?}, rows new {extra:#?}"
        );
    }
}

/// `dump` without the rows of `sessions` in the tables `doctor --fix` may write.
fn dump_without(db: &Path, sessions: &[&str]) -> BTreeMap<String, Vec<String>> {
    without(dump(db), sessions)
}

fn without(
    mut d: BTreeMap<String, Vec<String>>,
    sessions: &[&str],
) -> BTreeMap<String, Vec<String>> {
    for table in ["session_v2", "session_message", "event_sequence"] {
        if let Some(rows) = d.get_mut(table) {
            rows.retain(|r| !sessions.iter().any(|id| r.contains(id)));
        }
    }
    d
}

fn backups(db: &Path) -> Vec<PathBuf> {
    let name = db.file_name().unwrap().to_str().unwrap().to_owned();
    std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{name}.git-opencode-backup-"))
        })
        .collect()
}

/// A live OpenCode service: its registration names this test process.
fn live_service(home: &Path) -> PathBuf {
    let dir = home.join(".local/state/opencode");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("service.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"id":"svc","version":"2.0.25","url":"http://127.0.0.1:4096","pid":{},"password":"hunter2"}}"#,
            std::process::id()
        ),
    )
    .unwrap();
    file
}

/// What `git opencode export` must print for `id` once `--fix` wrote its converted rows: the
/// 1.x copy (the divergent session's `legacy` copy) transformed, written into an empty 2.x
/// store under `project`, and exported from there.
fn converted_export(db: &Path, id: &str, project: &str, worktree: &Path) -> Value {
    let data_dir = db.parent().unwrap().to_owned();
    let store = Store::open(StoreLocation {
        data_dir,
        db: db.to_owned(),
    })
    .unwrap();
    let session = store
        .sessions()
        .unwrap()
        .into_iter()
        .find(|s| s.id == id)
        .unwrap();
    let extra = store.extra(&session).unwrap();
    let v2 = match extra.get("legacy") {
        Some(legacy) => {
            transform_session(&legacy["document"], legacy["extra"].as_object().unwrap())
        }
        None => transform_session(&store.export_document(&session).unwrap(), &extra),
    }
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let scratch_db = scratch.path().join("opencode.db");
    let v2db = V2Db::create(&scratch_db);
    write_session(
        &v2db.conn,
        &v2,
        Some(&ProjectSeed {
            id: project.to_owned(),
            worktree: worktree.to_str().unwrap().to_owned(),
            vcs: Some("git".into()),
            time: 1,
        }),
    )
    .unwrap();
    drop(v2db);
    let scratch_store = Store::open(StoreLocation {
        data_dir: scratch.path().to_owned(),
        db: scratch_db,
    })
    .unwrap();
    let s = scratch_store
        .sessions()
        .unwrap()
        .into_iter()
        .find(|s| s.id == id)
        .unwrap();
    scratch_store.export_document(&s).unwrap()
}

#[test]
fn an_upgraded_store_with_stranded_divergent_and_deleted_sessions_is_diagnosed_and_fixed() {
    let u = upgraded();
    let env = &u.env;
    let db = db_of(env);
    let scrub = u
        .scrub
        .clone()
        .literal(&std::process::id().to_string(), "[PID]")
        .aligned();
    let out = env.run(&["doctor"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    insta::assert_snapshot!(scrub.apply(&out), @"
    store: $TEST_ENV/opencode/data/opencode/opencode.db (OpenCode 2.x, upgraded from 1.x)
    import of the 1.x sessions: completed [TIME]
    sessions of this repository: 6 (5 read from OpenCode 2.x's tables, 1 from 1.x's)
    written by OpenCode: 1.18.34 (6)
    hooks: post-commit absent, pre-push absent
    archive refs/heads/opencode/sessions: none yet

    stranded: 1 session made or continued by OpenCode 1.x after 2.x imported the 1.x sessions: only in the 1.x tables, OpenCode 2.x cannot see them
      [SESSION:stranded]              [TIME]            Mock title
      hint: git opencode doctor --fix (stop OpenCode first; the store is backed up)

    divergent: 1 session continued by OpenCode 1.x after the import: 2.x shows the older copy it imported
      [SESSION:divergent]             [TIME]            Mock title
      hint: git opencode doctor --fix (stop OpenCode first; the store is backed up)

    deleted-in-2x: 1 session deleted in OpenCode 2.x; their 1.x copies are still in the 1.x tables (not lost, not shown)
      [SESSION:attachment]            [TIME]            Attachment 📎
      hint: nothing to do if you deleted them; the archive branch keeps what was archived before

    hooks: sessions are archived on commit and push only with both hooks installed
      post-commit: absent
      pre-push: absent
      hint: git opencode hook install

    archive-behind: 6 sessions not in the archive branch, or newer in the store than there
      [SESSION:stranded]              [TIME]            Mock title
      [SESSION:divergent]             [TIME]            Mock title
      [SESSION:plain]                 [TIME]            Mock title
      [SESSION:task_child]            [TIME]            delegate 委任 (@general subagent)
      [SESSION:task_parent]           [TIME]            Task parent 🤝
      [SESSION:tools]                 [TIME]            Tools ✍️ session
      hint: git opencode push-sessions

    4 findings need attention
    [EOF]
    [exit status: 1]
    ");
    let json = env.run(&["doctor", "--json"]).json();
    insta::assert_snapshot!(u.scrub.apply(serde_json::to_string_pretty(&json).unwrap()), @r#"
    {
      "store": {
        "path": "$TEST_ENV/opencode/data/opencode/opencode.db",
        "generation": "upgraded-2x",
        "import": {
          "phase": "completed",
          "completed": [TIME_MS]
        }
      },
      "sessions": {
        "total": 6,
        "v2": 5,
        "v1": 1
      },
      "versions": {
        "1.18.34": 6
      },
      "hooks": [
        {
          "hook": "post-commit",
          "state": "absent"
        },
        {
          "hook": "pre-push",
          "state": "absent"
        }
      ],
      "archive": {
        "ref": "refs/heads/opencode/sessions",
        "exists": false,
        "missing": [
          "[SESSION:stranded]",
          "[SESSION:divergent]",
          "[SESSION:plain]",
          "[SESSION:task_child]",
          "[SESSION:task_parent]",
          "[SESSION:tools]"
        ],
        "behind": [],
        "prunable": {
          "sessions": 0,
          "rows": 0,
          "bytes": 0
        }
      },
      "findings": [
        {
          "kind": "stranded",
          "attention": true,
          "fixable": true,
          "message": "made or continued by OpenCode 1.x after 2.x imported the 1.x sessions: only in the 1.x tables, OpenCode 2.x cannot see them",
          "hint": "git opencode doctor --fix (stop OpenCode first; the store is backed up)",
          "sessions": [
            {
              "id": "[SESSION:stranded]",
              "title": "Mock title",
              "updated": [TIME_MS],
              "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
              "directory": "$TEST_ENV/repo",
              "version": "1.18.34"
            }
          ]
        },
        {
          "kind": "divergent",
          "attention": true,
          "fixable": true,
          "message": "continued by OpenCode 1.x after the import: 2.x shows the older copy it imported",
          "hint": "git opencode doctor --fix (stop OpenCode first; the store is backed up)",
          "sessions": [
            {
              "id": "[SESSION:divergent]",
              "title": "Mock title",
              "updated": [TIME_MS],
              "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
              "directory": "$TEST_ENV/repo",
              "version": "1.18.34"
            }
          ]
        },
        {
          "kind": "deleted-in-2x",
          "attention": false,
          "fixable": false,
          "message": "deleted in OpenCode 2.x; their 1.x copies are still in the 1.x tables (not lost, not shown)",
          "hint": "nothing to do if you deleted them; the archive branch keeps what was archived before",
          "sessions": [
            {
              "id": "[SESSION:attachment]",
              "title": "Attachment 📎",
              "updated": [TIME_MS],
              "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
              "directory": "$FIXTURES/rich/repo",
              "version": "1.18.34"
            }
          ]
        },
        {
          "kind": "hooks",
          "attention": true,
          "fixable": false,
          "message": "sessions are archived on commit and push only with both hooks installed",
          "hint": "git opencode hook install",
          "sessions": [],
          "details": [
            "post-commit: absent",
            "pre-push: absent"
          ]
        },
        {
          "kind": "archive-behind",
          "attention": true,
          "fixable": false,
          "message": "not in the archive branch, or newer in the store than there",
          "hint": "git opencode push-sessions",
          "sessions": [
            {
              "id": "[SESSION:stranded]",
              "title": "Mock title",
              "updated": [TIME_MS],
              "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
              "directory": "$TEST_ENV/repo",
              "version": "1.18.34"
            },
            {
              "id": "[SESSION:divergent]",
              "title": "Mock title",
              "updated": [TIME_MS],
              "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
              "directory": "$TEST_ENV/repo",
              "version": "1.18.34"
            },
            {
              "id": "[SESSION:plain]",
              "title": "Mock title",
              "updated": [TIME_MS],
              "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
              "directory": "$FIXTURES/rich/repo",
              "version": "1.18.34"
            },
            {
              "id": "[SESSION:task_child]",
              "title": "delegate 委任 (@general subagent)",
              "updated": [TIME_MS],
              "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
              "directory": "$FIXTURES/rich/repo",
              "version": "1.18.34"
            },
            {
              "id": "[SESSION:task_parent]",
              "title": "Task parent 🤝",
              "updated": [TIME_MS],
              "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
              "directory": "$FIXTURES/rich/repo",
              "version": "1.18.34"
            },
            {
              "id": "[SESSION:tools]",
              "title": "Tools ✍️ session",
              "updated": [TIME_MS],
              "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
              "directory": "$FIXTURES/rich/repo",
              "version": "1.18.34"
            }
          ]
        }
      ],
      "attention": true
    }
    "#);
    assert_eq!(json["store"]["import"]["completed"], u.imported_at);

    // Refused while OpenCode's service runs: nothing written, no backup, no password shown.
    let before = dump(&db);
    let service = live_service(&env.home);
    let refused = env.run(&["doctor", "--fix"]).failure();
    insta::assert_snapshot!(scrub.apply(refused.stderr()), @"
    error: OpenCode's service is running (process [PID], registered in $TEST_ENV/opencode/home/.local/state/opencode/service.json); doctor --fix wrote nothing
    hint: stop OpenCode (every window, `opencode` CLI and the background service), then try again
    ");
    assert!(!refused.stderr().contains("hunter2"));
    assert_eq!(dump(&db), before);
    assert!(backups(&db).is_empty());
    std::fs::remove_file(service).unwrap();

    let dry = env.run(&["doctor", "--fix", "--dry-run"]).success();
    insta::assert_snapshot!(scrub.apply(&dry), @"
    would add to OpenCode 2.x (1.x session): [SESSION:stranded]              Mock title
    would replace the 2.x copy with the 1.x continuation: [SESSION:divergent]             Mock title
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(dump(&db), before);
    assert!(backups(&db).is_empty());

    let project = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "stranded")
        .unwrap()["sessions"][0]["projectID"]
        .as_str()
        .unwrap()
        .to_owned();
    let want_stranded = converted_export(&db, &u.stranded, &project, &env.repo.path);
    let want_divergent = converted_export(&db, &u.divergent, &project, &env.repo.path);
    let fixed = env.run(&["doctor", "--fix"]).success();
    insta::assert_snapshot!(scrub.apply(&fixed), @"
    add to OpenCode 2.x (1.x session): [SESSION:stranded]              Mock title
    replace the 2.x copy with the 1.x continuation: [SESSION:divergent]             Mock title
    backup of the store: $TEST_ENV/opencode/data/opencode/opencode.db.git-opencode-backup-[TIME]
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(backups(&db).len(), 1);
    assert_eq!(dump(&backups(&db)[0]), before);
    // Nothing but the two sessions' rows changed: other sessions, kv, event, projects.
    let touched = [u.stranded.as_str(), u.divergent.as_str()];
    assert_same(
        &dump_without(&db, &touched),
        &without(before.clone(), &touched),
    );
    for (id, want) in [(&u.stranded, want_stranded), (&u.divergent, want_divergent)] {
        // Both as the exporter's bytes parse (a REAL 0 prints as `0`).
        let want: Value = serde_json::from_slice(&git_opencode::json::pretty(&want)).unwrap();
        let got = env.run(&["export", id]).success().json();
        assert_eq!(got, want, "{id}");
    }
    let list = env.run(&["list", "--json"]).success().json();
    for s in list.as_array().unwrap() {
        assert_eq!(s["generation"], 2, "{s}");
        assert_eq!(s["divergent"], false, "{s}");
    }

    // Hooks and archive in order: only the deleted session is left, which needs nothing.
    env.run(&["hook", "install"]).success();
    env.run(&["push-sessions"]).success();
    let out = env.run(&["doctor"]).success();
    // What a prune would free depends on the length of the fixture's paths.
    let report = regex::Regex::new(r"about \d+(\.\d)? (B|kB|MB)")
        .unwrap()
        .replace(&scrub.apply(&out), "about [SIZE]")
        .into_owned();
    insta::assert_snapshot!(report, @"
    store: $TEST_ENV/opencode/data/opencode/opencode.db (OpenCode 2.x, upgraded from 1.x)
    import of the 1.x sessions: completed [TIME]
    sessions of this repository: 6 (6 read from OpenCode 2.x's tables, 0 from 1.x's)
    written by OpenCode: 1.18.34 (6)
    hooks: post-commit installed, pre-push installed
    archive refs/heads/opencode/sessions: 0 not archived, 0 newer in the store
    prune: 6 archived sessions could leave the store, about [SIZE] (git opencode prune --all shows which)

    deleted-in-2x: 1 session deleted in OpenCode 2.x; their 1.x copies are still in the 1.x tables (not lost, not shown)
      [SESSION:attachment]            [TIME]            Attachment 📎
      hint: nothing to do if you deleted them; the archive branch keeps what was archived before

    nothing needs attention
    [EOF]
    [exit status: 0]
    ");
    assert!(out.stdout().contains(&u.deleted));
}

/// The fresh 2.x store; `global` and `directory:` sessions of this repository are misfiled.
fn native_env() -> (TestEnv, Native, Scrub) {
    let env = TestEnv::new();
    let root = env.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let root = root.trim().to_owned();
    let ids = native_store(&db_of(&env), &env.repo.path, &root);
    let scrub = Scrub::new()
        .literal(&root, "[PROJECT]")
        .session(ids.turns, "turns")
        .session(ids.parent, "parent")
        .session(ids.child, "child")
        .session(ids.global, "global")
        .session(ids.directory, "directory")
        .session(ids.elsewhere, "elsewhere")
        .aligned();
    (env, ids, scrub)
}

#[test]
fn a_healthy_2x_store_exits_0() {
    let (env, ids, scrub) = native_env();
    // Without the misfiled sessions (deleted as 2.x deletes), with hooks and an archive.
    let conn = Connection::open(db_of(&env)).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    for id in [ids.global, ids.directory] {
        conn.execute("DELETE FROM session_v2 WHERE id = ?1", [id])
            .unwrap();
    }
    drop(conn);
    let out = env.run(&["doctor"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    env.run(&["hook", "install"]).success();
    env.run(&["push-sessions"]).success();
    let out = env.run(&["doctor"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    store: $TEST_ENV/data/opencode/opencode.db (OpenCode 2.x)
    sessions of this repository: 3 (3 read from OpenCode 2.x's tables, 0 from 1.x's)
    written by OpenCode: 2.0.25 (3)
    hooks: post-commit installed, pre-push installed
    archive refs/heads/opencode/sessions: 0 not archived, 0 newer in the store
    prune: 3 archived sessions could leave the store, about 5.8 kB (git opencode prune --all shows which)

    nothing needs attention
    [EOF]
    [exit status: 0]
    ");
    let json = env.run(&["doctor", "--json"]).success().json();
    assert_eq!(json["attention"], false);
    assert_eq!(json["findings"], Value::Array(Vec::new()));
    assert_eq!(json["store"]["generation"], "fresh-2x");
    // What a prune would free: the three archived sessions, as prune's own plan finds.
    assert_eq!(json["archive"]["prunable"]["sessions"], 3);
    assert!(json["archive"]["prunable"]["rows"].as_u64().unwrap() > 3);
    let plan = env.run(&["prune", "--all"]).success();
    assert!(plan.stdout().contains("would prune 3 sessions"), "{plan}");
}

#[test]
fn misfiled_sessions_are_repointed_to_this_repository() {
    let (env, ids, scrub) = native_env();
    let db = db_of(&env);
    let json = env.run(&["doctor", "--json"]).json();
    let misfiled: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "misfiled")
        .flat_map(|f| f["sessions"].as_array().unwrap())
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(misfiled, vec![ids.global, ids.directory]);
    let before = dump(&db);
    let fixed = env.run(&["doctor", "--fix"]).success();
    insta::assert_snapshot!(scrub.apply(&fixed), @"
    move to this repository's project: [SESSION:global]                In global
    move to this repository's project: [SESSION:directory]             Before git init
    backup of the store: $TEST_ENV/data/opencode/opencode.db.git-opencode-backup-[TIME]
    [EOF]
    [exit status: 0]
    ");
    let conn = Connection::open(&db).unwrap();
    let row = |id: &str| -> (String, Option<String>, i64) {
        conn.query_row(
            "SELECT project_id, path, time_updated FROM session_v2 WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    let (project, path, _) = row(ids.global);
    assert_eq!(
        (project.as_str(), path.as_deref()),
        (ids.project.as_str(), Some("src"))
    );
    let (project, path, _) = row(ids.directory);
    assert_eq!(
        (project.as_str(), path.as_deref()),
        (ids.project.as_str(), Some("notes"))
    );
    // The session outside the checkout stays in `global`; nothing else changed.
    assert_eq!(row(ids.elsewhere).0, "global");
    drop(conn);
    let moved = [ids.global, ids.directory];
    assert_same(&dump_without(&db, &moved), &without(before.clone(), &moved));
    assert_eq!(dump(&db)["session_message"], before["session_message"]);
    assert_eq!(backups(&db).len(), 1);
    let json = env.run(&["doctor", "--json"]).json();
    assert!(
        !json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "misfiled"),
        "{json:#}"
    );
}
