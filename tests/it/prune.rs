//! Acceptance of `git opencode prune` on stores the real OpenCode wrote: the plan changes no
//! byte; `--force` deletes exactly the sessions the archive holds (families whole, other
//! projects' rows untouched, the database clean), after a backup zip; `restore` gives back
//! what `opencode export` printed before; a session changed after archiving, a redacted
//! copy and a running OpenCode are refused; the legacy JSON tree and a 2.x store too.

use crate::common::fake_llm::{script, Step};
use crate::common::fixtures::{legacy_store, rich_store, Fixture};
use crate::common::gen2::native_store;
use crate::common::git::Repo;
use crate::common::{file_sha256, query_one, zip_entries, Scrub, TestEnv, FAKE_KEY};
use crate::restore::{integrity_ok, without_home};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ARCHIVE_BRANCH: &str = "refs/heads/opencode/sessions";

/// The SHA-256 of every file under `dir`, but SQLite's `-shm` files: the shared-memory index
/// every reader may update, which holds no data (README, Safety).
fn hashes(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().ends_with("-shm") {
                out.insert(p.clone(), file_sha256(&p));
            }
        }
    }
    out
}

/// Every row of every table of `db`, as text, by table.
fn dump(db: &Path) -> BTreeMap<String, BTreeSet<Vec<String>>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            let v: rusqlite::types::Value = r.get(i)?;
                            Ok(format!("{v:?}"))
                        })
                        .collect::<Result<Vec<String>, _>>()
                })
                .unwrap()
                .collect::<Result<BTreeSet<_>, _>>()
                .unwrap();
            (t, rows)
        })
        .collect()
}

/// `before` without the rows that name one of `ids` in a column (the pruned sessions' own
/// rows and those keyed by them).
fn without(
    before: &BTreeMap<String, BTreeSet<Vec<String>>>,
    ids: &[&str],
) -> BTreeMap<String, BTreeSet<Vec<String>>> {
    let names: Vec<String> = ids.iter().map(|id| format!("Text({id:?})")).collect();
    before
        .iter()
        .map(|(t, rows)| {
            let kept = rows
                .iter()
                .filter(|row| !row.iter().any(|v| names.contains(v)))
                .cloned()
                .collect();
            (t.clone(), kept)
        })
        .collect()
}

/// Sizes vary with the length of the fixture's temp path, and event counts with how
/// OpenCode's stream was cut into deltas.
fn sizes(text: &str) -> String {
    let size = Regex::new(r"\b\d+(\.\d)? (B|kB|MB)\b").unwrap();
    let events = Regex::new(r"\b(\d+ rows|event \d+)").unwrap();
    // Two prunes within a second count their backups up: `<time>-2.zip`.
    let counter = Regex::new(r"\[TIME\]-\d+\.zip").unwrap();
    let text = size.replace_all(text, "[SIZE]");
    let text = counter.replace_all(&text, "[TIME]-[N].zip");
    events
        .replace_all(&text, |c: &regex::Captures| {
            if c[1].starts_with("event") {
                "event [N]".to_owned()
            } else {
                "[N] rows".to_owned()
            }
        })
        .into_owned()
}

/// The backup zips of `env`'s repository.
fn backups(env: &TestEnv) -> Vec<PathBuf> {
    let dir = env.repo.path.join(".git/git-opencode/pruned");
    let mut zips: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    zips.sort();
    zips
}

/// The session IDs a pack zip holds.
fn zip_sessions(zip: &Path) -> BTreeSet<String> {
    zip_entries(zip)
        .into_iter()
        .filter_map(|(n, _)| {
            let id = n.strip_prefix("sessions/")?.strip_suffix(".json")?;
            (!id.ends_with(".extra")).then(|| id.to_owned())
        })
        .collect()
}

/// 1.18.34: a store with another project's session, a family (a parent and the subagent
/// session of its `task` call) archived as it is, and one whose parent went on after it was
/// archived. The plan changes no byte; a process holding the database stops `--force`;
/// then the archived families go (the changed parent keeps its child), other rows stay, the
/// database checks clean, and `restore` brings back the exact `opencode export` bytes.
#[test]
fn prune_deletes_what_the_archive_holds_and_restore_brings_it_back() {
    let store = rich_store();
    let mut env = store.copy_env();
    let llm = env.start_llm();
    let oc = env.opencode.as_ref().unwrap();
    let repo = env.repo.path.clone();
    // Another project: its origin remote gives it its own project ID.
    let other = Repo::init(&env.root.join("other"));
    other.git(&["remote", "add", "origin", "https://example.com/other.git"]);
    let elsewhere = oc
        .run(&other.path, &script(&[Step::reply("elsewhere")]), &[])
        .session_id;
    // Families made in this checkout (OpenCode continues only sessions of a checkout it
    // finds; the fixture's sessions name the fixture's).
    let db = oc.db_path();
    let family = |name: &str| -> (String, String) {
        let child_script = script(&[Step::reply(&format!("hi from {name}"))]);
        let parent = oc
            .run(
                &repo,
                &script(&[
                    Step::task(name, &format!("say hi\n{child_script}")),
                    Step::reply("the child said hi"),
                ]),
                &[],
            )
            .session_id;
        let child: String = query_one(
            &rusqlite::Connection::open(&db).unwrap(),
            "SELECT id FROM session WHERE parent_id = ?1",
            &parent,
        );
        (parent, child)
    };
    let (parent, child) = family("archived");
    let (changed, changed_child) = family("changed");
    env.run(&["push-sessions", "-q", "--no-redact"]).success();
    oc.continue_session(
        &repo,
        &changed,
        &format!("one more\n{}", script(&[Step::reply("again")])),
        &[],
    );
    drop(llm);
    let scrub = Scrub::of(store)
        .session(&parent, "parent")
        .session(&child, "child")
        .session(&changed, "changed")
        .session(&changed_child, "changed_child")
        .session(&elsewhere, "elsewhere");
    let fixture = [
        &store.tools,
        &store.task_parent,
        &store.task_child,
        &store.attachment,
        &store.plain,
    ];
    let ours = [&parent, &child];
    let export = |id: &str| oc.export(&repo, id);
    let exports: Vec<Vec<u8>> = ours.iter().map(|id| export(id)).collect();
    let fixture_exports: Vec<Vec<u8>> = fixture.iter().map(|id| export(id)).collect();
    let data = oc.data_dir();

    // The plan: nothing changes.
    let before = hashes(&data);
    let plan = env.run(&["prune", "--all"]).success();
    insta::assert_snapshot!(sizes(&scrub.apply(&plan)), @"
    archive: refs/heads/opencode/sessions
    would prune  [SESSION:child]  archived (@general subagent) (updated [TIME])
    would prune  [SESSION:parent]  Mock title (updated [TIME])
    would prune  [SESSION:plain]  Mock title (updated [TIME])
    would prune  [SESSION:attachment]  Attachment 📎 (updated [TIME])
    would prune  [SESSION:task_child]  delegate 委任 (@general subagent) (updated [TIME])
    would prune  [SESSION:task_parent]  Task parent 🤝 (updated [TIME])
    would prune  [SESSION:tools]  Tools ✍️ session (updated [TIME])
    kept         [SESSION:changed_child]  changed (@general subagent) (updated [TIME]; its family stays with [SESSION:changed])
    kept         [SESSION:changed]  Mock title (updated [TIME]; changed since archived)
    would prune 7 sessions: [N] rows ([SIZE])
    rows: event [N], event_sequence 7, message 25, part 67, session 7, todo 3
    nothing was deleted; run with --force to prune
    [EOF]
    [exit status: 0]
    ");
    assert_eq!(hashes(&data), before, "the plan changed the store");

    // A process holding the database open: refused, nothing changed.
    let mut holder = std::process::Command::new("sleep")
        .arg("60")
        .stdin(std::fs::File::open(&db).unwrap())
        .spawn()
        .unwrap();
    let refused = env.run(&["prune", "--all", "--force"]).failure();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let refused = scrub
        .apply(&refused)
        .replace(&holder.id().to_string(), "[PID]");
    insta::assert_snapshot!(refused, @"
    [stderr]
    error: process [PID] (sleep) has $TEST_ENV/opencode/data/opencode/opencode.db open; nothing was pruned
    hint: stop OpenCode (every window, `opencode` CLI and server), then prune again
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(hashes(&data), before, "a refused prune changed the store");
    assert!(backups(&env).is_empty());

    let rows = dump(&db);
    let out = env.run(&["prune", "--all", "--force"]).success();
    insta::assert_snapshot!(sizes(&scrub.apply(&out)), @"
    archive: refs/heads/opencode/sessions
    pruned       [SESSION:child]  archived (@general subagent) (updated [TIME])
    pruned       [SESSION:parent]  Mock title (updated [TIME])
    pruned       [SESSION:plain]  Mock title (updated [TIME])
    pruned       [SESSION:attachment]  Attachment 📎 (updated [TIME])
    pruned       [SESSION:task_child]  delegate 委任 (@general subagent) (updated [TIME])
    pruned       [SESSION:task_parent]  Task parent 🤝 (updated [TIME])
    pruned       [SESSION:tools]  Tools ✍️ session (updated [TIME])
    kept         [SESSION:changed_child]  changed (@general subagent) (updated [TIME]; its family stays with [SESSION:changed])
    kept         [SESSION:changed]  Mock title (updated [TIME]; changed since archived)
    pruned 7 sessions: [N] rows ([SIZE])
    backup: $TEST_ENV/repo/.git/git-opencode/pruned/[TIME]-[N].zip
    undo with: git opencode restore $TEST_ENV/repo/.git/git-opencode/pruned/[TIME]-[N].zip
    [EOF]
    [exit status: 0]
    ");
    integrity_ok(&db);
    let ids: Vec<&str> = fixture.iter().chain(&ours).map(|s| s.as_str()).collect();
    assert_eq!(
        dump(&db),
        without(&rows, &ids),
        "rows other than the pruned sessions' changed"
    );
    let left = dump(&db);
    for id in [&elsewhere, &changed, &changed_child] {
        assert!(
            left["session"]
                .iter()
                .any(|row| row[0] == format!("Text({id:?})")),
            "{id} is gone"
        );
    }
    let zips = backups(&env);
    assert_eq!(zips.len(), 1);
    let expected: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
    assert_eq!(zip_sessions(&zips[0]), expected);

    // Nothing more to prune; restore gives the sessions back byte for byte (the fixture's
    // moved to this checkout: they name the fixture's).
    let again = env.run(&["prune", "--all"]).success();
    assert!(again.stdout().contains("nothing to prune"), "{again}");
    env.run(&["restore", "-q", ARCHIVE_BRANCH]).success();
    for (id, before) in ours.iter().zip(&exports) {
        assert_eq!(
            String::from_utf8_lossy(&export(id)),
            String::from_utf8_lossy(before),
            "{id} did not come back as it was"
        );
    }
    for (id, before) in fixture.iter().zip(&fixture_exports) {
        let json = |bytes: &[u8]| without_home(&serde_json::from_slice(bytes).unwrap());
        assert_eq!(json(&export(id)), json(before), "{id} did not come back");
    }
    integrity_ok(&db);

    // A store a newer OpenCode migrated: refused before anything is compared.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO migration (id, time_completed) VALUES ('29990101000000_future', 0)",
            [],
        )
        .unwrap();
    let newer = env.run(&["prune", "--all"]).failure();
    insta::assert_snapshot!(scrub.apply(&newer), @"
    [stderr]
    error: $TEST_ENV/opencode/data/opencode/opencode.db was written by a newer OpenCode than git-opencode knows (schema migration 29990101000000_future)
    hint: upgrade git-opencode; nothing was changed
    [EOF]
    [exit status: 1]
    ");
}

/// A session holding a secret, archived redacted: kept, and named; with `--allow-redacted`
/// pruned, and the backup zip (unredacted) restores it byte for byte. Sessions without
/// secrets in the same redacted archive go as usual.
#[test]
fn a_redacted_copy_is_kept_unless_allowed_and_the_backup_restores_it() {
    let mut env = rich_store().copy_env();
    let llm = env.start_llm();
    let oc = env.opencode.as_ref().unwrap();
    let repo = env.repo.path.clone();
    let secret = oc.run(
        &repo,
        &format!(
            "use my token {FAKE_KEY} please\n{}",
            script(&[Step::reply("done with the token")])
        ),
        &[],
    );
    drop(llm);
    let id = secret.session_id.as_str();
    let plain = rich_store().plain.as_str();
    let original = oc.export(&repo, id);
    env.run(&["push-sessions", "-q"]).success();
    let scrub = Scrub::of(rich_store()).session(id, "secret");

    let out = env
        .run(&["prune", "--session", id, "--session", plain, "--force"])
        .success();
    insta::assert_snapshot!(sizes(&scrub.apply(&out)), @"
    archive: refs/heads/opencode/sessions
    pruned       [SESSION:plain]  Mock title (updated [TIME])
    kept         [SESSION:secret]  Mock title (updated [TIME]; archived redacted, its secrets would be lost (--allow-redacted))
    pruned 1 session: [N] rows ([SIZE])
    backup: $TEST_ENV/repo/.git/git-opencode/pruned/[TIME]-[N].zip
    undo with: git opencode restore $TEST_ENV/repo/.git/git-opencode/pruned/[TIME]-[N].zip
    [EOF]
    [exit status: 0]
    ");
    assert!(env.run(&["list"]).success().stdout().contains(id));

    let out = env
        .run(&["prune", "--session", id, "--allow-redacted", "--force"])
        .success();
    insta::assert_snapshot!(sizes(&scrub.apply(&out)), @"
    archive: refs/heads/opencode/sessions
    pruned       [SESSION:secret]  Mock title (updated [TIME]; archived redacted: its secrets go)
    pruned 1 session: [N] rows ([SIZE])
    backup: $TEST_ENV/repo/.git/git-opencode/pruned/[TIME]-[N].zip
    undo with: git opencode restore $TEST_ENV/repo/.git/git-opencode/pruned/[TIME]-[N].zip
    note: 1 pruned session had secrets the archive holds redacted; only the backup zip keeps them
    [EOF]
    [exit status: 0]
    ");
    assert!(!env.run(&["list"]).success().stdout().contains(id));
    let zips = backups(&env);
    assert_eq!(zips.len(), 2);
    // The archive holds placeholders where the secret was; the backup zip holds the secret.
    env.run(&["restore", "-q", zips[1].to_str().unwrap()])
        .success();
    assert_eq!(
        String::from_utf8_lossy(&oc.export(&repo, id)),
        String::from_utf8_lossy(&original)
    );
}

/// 1.1.65's JSON tree: pruned file by file (every file of the session, nothing else), and
/// restored (moved to this checkout) as `opencode export` printed it.
#[test]
fn a_legacy_json_store_is_pruned_per_file() {
    let store = legacy_store();
    let env = store.copy_env();
    let oc = env.opencode.as_ref().unwrap();
    let repo = env.repo.path.clone();
    env.run(&["push-sessions", "-q", "--no-redact"]).success();
    let ids: Vec<&str> = [&store.task_parent, &store.task_child]
        .iter()
        .map(|s| s.as_str())
        .collect();
    let exports: Vec<Vec<u8>> = ids.iter().map(|id| oc.export(&repo, id)).collect();
    let storage = oc.data_dir().join("storage");
    let before = hashes(&storage);
    let texts: BTreeMap<&PathBuf, String> = before
        .keys()
        .map(|p| (p, std::fs::read_to_string(p).unwrap_or_default()))
        .collect();
    let scrub = Scrub::of(store);
    let out = env
        .run(&["prune", "--session", &store.task_parent, "--force"])
        .success();
    insta::assert_snapshot!(sizes(&scrub.apply(&out)), @"
    archive: refs/heads/opencode/sessions
    pruned       [SESSION:task_child]  delegate (@general subagent) (updated [TIME])
    pruned       [SESSION:task_parent]  Legacy task (updated [TIME])
    pruned 2 sessions: 24 files ([SIZE])
    backup: $TEST_ENV/repo/.git/git-opencode/pruned/[TIME]-[N].zip
    undo with: git opencode restore $TEST_ENV/repo/.git/git-opencode/pruned/[TIME]-[N].zip
    [EOF]
    [exit status: 0]
    ");
    let after = hashes(&storage);
    let gone: Vec<&PathBuf> = before.keys().filter(|p| !after.contains_key(*p)).collect();
    assert!(!gone.is_empty());
    for path in &gone {
        let name = path.to_string_lossy();
        assert!(
            ids.iter()
                .any(|id| name.contains(id) || texts[path].contains(id)),
            "{} is not a file of the pruned sessions",
            path.display()
        );
    }
    for (path, hash) in &after {
        assert_eq!(&before[path], hash, "{} changed", path.display());
    }
    // Back, moved to this checkout (the fixture's sessions name the fixture's).
    env.run(&["restore", "-q", ARCHIVE_BRANCH]).success();
    for (id, before) in ids.iter().zip(&exports) {
        let json = |bytes: &[u8]| without_home(&serde_json::from_slice(bytes).unwrap());
        assert_eq!(
            json(&oc.export(&repo, id)),
            json(before),
            "{id} did not come back"
        );
    }
}

/// A 2.x store (the 2.0.25 schema with captured rows): `session_v2` and its rows go, other
/// sessions' rows stay, the database checks clean, `--vacuum` shrinks the file, and a
/// restore from the backup brings the sessions back as they were. Ages and dates select
/// whole families; an archive that cannot be read stops everything.
#[test]
fn a_2x_store_is_pruned() {
    let env = TestEnv::new();
    let root = env.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let db = env.data_home.join("opencode/opencode.db");
    let ids = native_store(&db, &env.repo.path, root.trim());
    env.run(&["push-sessions", "-q", "--no-redact"]).success();
    let before_export = env.run(&["export", ids.parent]).success();

    // The sessions were last updated in October 2026.
    let old = env.run(&["prune", "--older-than", "2026-10-01"]).success();
    assert!(old.stdout().contains("nothing to prune"), "{old}");
    let old = env.run(&["prune", "--older-than", "1d"]).success();
    assert!(old.stdout().contains("would prune 5 sessions"), "{old}");
    let future = env.run(&["prune", "--older-than", "2999-01-01"]).failure();
    insta::assert_snapshot!(future, @"
    [stderr]
    error: --older-than 2999-01-01 lies in the future
    hint: give a past date, or an age such as 30d
    [EOF]
    [exit status: 1]
    ");
    let unreadable = env
        .run(&["prune", "--all", "--force", "--from", "no-such.zip"])
        .failure();
    insta::assert_snapshot!(unreadable, @"
    [stderr]
    error: no such file: no-such.zip
    hint: pass a zip written by `git opencode pack`, or a ref such as refs/heads/opencode/sessions
    [EOF]
    [exit status: 1]
    ");

    let rows = dump(&db);
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let wal = db.with_extension("db-wal");
    let before = size(&db) + size(&wal);
    let out = env
        .run(&["prune", "--session", ids.parent, "--force", "--vacuum"])
        .success();
    // Every size is the same run after run: the store is built from fixed rows.
    insta::assert_snapshot!(Scrub::new().apply(&out), @"
    archive: refs/heads/opencode/sessions
    pruned       [SESSION_ID]  Look around (updated [TIME])
    pruned       [SESSION_ID]  Look around (@general subagent) (updated [TIME])
    pruned 2 sessions: 8 rows (2.3 kB)
    backup: $TEST_ENV/repo/.git/git-opencode/pruned/[TIME]-1.zip
    undo with: git opencode restore $TEST_ENV/repo/.git/git-opencode/pruned/[TIME]-1.zip
    vacuum: $TEST_ENV/data/opencode/opencode.db went from 213.0 kB to 204.8 kB: 8.2 kB freed
    [EOF]
    [exit status: 0]
    ");
    assert!(
        size(&db) + size(&wal) <= before,
        "--vacuum grew the database"
    );
    integrity_ok(&db);
    assert_eq!(dump(&db), without(&rows, &[ids.parent, ids.child]));
    let zips = backups(&env);
    env.run(&["restore", "-q", zips[0].to_str().unwrap()])
        .success();
    assert_eq!(
        env.run(&["export", ids.parent]).success().stdout(),
        before_export.stdout()
    );
    integrity_ok(&db);
}

/// A shared session (a `session_share` row, as OpenCode writes when sharing, which needs the
/// network here) stays: its share secret is not archived. `--include-shared` prunes it, the
/// share row with it.
#[test]
fn a_shared_session_is_kept_unless_included() {
    let store = rich_store();
    let env = store.copy_env();
    let db = env.opencode.as_ref().unwrap().db_path();
    let plain = store.plain.as_str();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO session_share (session_id, id, secret, url, time_created, time_updated) \
             VALUES (?1, 'shr_1', 'the-secret', 'https://opncd.ai/share/shr_1', 1, 1)",
            [plain],
        )
        .unwrap();
    env.run(&["push-sessions", "-q", "--no-redact"]).success();
    let scrub = Scrub::of(store);
    let kept = env.run(&["prune", "--session", plain, "--force"]).success();
    insta::assert_snapshot!(sizes(&scrub.apply(&kept)), @"
    archive: refs/heads/opencode/sessions
    kept         [SESSION:plain]  Mock title (updated [TIME]; shared, its share secret would be lost (--include-shared))
    nothing to prune
    [EOF]
    [exit status: 0]
    ");
    assert!(backups(&env).is_empty());
    let out = env
        .run(&["prune", "--session", plain, "--include-shared", "--force"])
        .success();
    assert!(out.stdout().contains("pruned 1 session"), "{out}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let shares: i64 = conn
        .query_row("SELECT count(*) FROM session_share", [], |r| r.get(0))
        .unwrap();
    assert_eq!(shares, 0);
    integrity_ok(&db);
}
