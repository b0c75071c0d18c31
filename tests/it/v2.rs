//! v2 sessions as the real OpenCode 1.18.34 writes them (see [`v2_store`]): their messages
//! live only in `session_message` (plus `session_input` and `session_context_epoch`), none in
//! `message`/`part`. `list`, `export` (JSON and Markdown), `pack`, `push-sessions`, `verify`
//! and `restore` must carry them, and OpenCode must serve and continue a restored one.

use crate::common::archive::{another_machine, pack};
use crate::common::fake_llm::{script, FakeLlm, Step};
use crate::common::fixtures::Fixture;
use crate::common::opencode::OpencodeHome;
use crate::common::serve::Server;
use crate::common::v2::{backup_db, v2_store, V2Api, V2Store, TURNS, WRITTEN_FILE};
use crate::common::{ours, query_one, zip_entries, Scrub, TestEnv};
use rusqlite::types::ValueRef;
use serde_json::{Map, Value};
use std::fs;
use std::path::Path;

/// The v2 tables and the column our archive orders their rows by.
const V2_TABLES: [(&str, &str); 3] = [
    ("session_message", "seq"),
    ("session_input", "admitted_seq"),
    ("session_context_epoch", "session_id"),
];

const ARCHIVE: &str = "refs/heads/opencode/sessions";

/// The rows of `table` for `session`, every column by name, read with plain SQL (not with
/// the code under test): integers as numbers, text as strings.
fn db_rows(conn: &rusqlite::Connection, table: &str, order: &str, session: &str) -> Vec<Value> {
    let sql = format!("SELECT * FROM {table} WHERE session_id = ?1 ORDER BY {order}");
    let mut stmt = conn.prepare(&sql).unwrap();
    let names: Vec<String> = stmt.column_names().map(String::from).collect();
    let mut rows = stmt.query([session]).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        let mut obj = Map::new();
        for (i, name) in names.iter().enumerate() {
            let value = match row.get_ref(i).unwrap() {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Text(t) => Value::String(String::from_utf8(t.to_vec()).unwrap()),
                other => panic!("{table}.{name}: unexpected {other:?}"),
            };
            obj.insert(name.clone(), value);
        }
        out.push(Value::Object(obj));
    }
    out
}

/// Every v2 table's rows for `session` in the store of `oc`.
fn v2_rows(oc: &OpencodeHome, session: &str) -> Vec<(&'static str, Vec<Value>)> {
    let conn = oc.open_db();
    V2_TABLES
        .iter()
        .map(|(table, order)| (*table, db_rows(&conn, table, order, session)))
        .collect()
}

/// The OpenCode home of an env copied from the fixture.
fn env_home(env: &TestEnv) -> &OpencodeHome {
    env.opencode
        .as_ref()
        .expect("an env copied from an OpenCode home")
}

/// Replaces the store of `oc` by a copy of the database file `db` (without `-wal`/`-shm`:
/// `db` is a self-contained copy made with [`backup_db`]).
fn use_db(oc: &OpencodeHome, db: &Path) {
    let path = oc.db_path();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        if Path::new(&file).exists() {
            fs::remove_file(&file).unwrap();
        }
    }
    fs::copy(db, &path).unwrap();
}

/// A copy of the fixture whose store is the session one turn earlier; `final.db` under its
/// root keeps the store after both turns for [`use_db`].
fn env_at_first_turn(store: &V2Store) -> TestEnv {
    let env = store.copy_env();
    let oc = env_home(&env);
    backup_db(&oc.db_path(), &env.root.join("final.db"));
    use_db(oc, &store.first_turn_db);
    env
}

/// The texts of [`TURNS`] in the order a transcript shows them: prompt, reasoning, reply.
fn turn_texts() -> Vec<&'static str> {
    TURNS
        .iter()
        .flat_map(|t| [Some(t.text), t.reasoning, Some(t.reply)])
        .flatten()
        .collect()
}

/// Panics unless every text of [`TURNS`] (prompts, reasoning, replies) appears in `md`, in
/// order, and the first turn's `write` call is shown as a tool with its output.
fn assert_transcript_has_turns(md: &str, what: &str) {
    let mut at = 0;
    for text in turn_texts() {
        let found = md[at..]
            .find(text)
            .unwrap_or_else(|| panic!("{what}: {text:?} missing or out of order:\n{md}"));
        at += found + text.len();
    }
    assert!(md.contains("**Tool** `write` · completed"), "{what}:\n{md}");
    assert!(
        md.contains(&format!("Created file successfully: {WRITTEN_FILE}")),
        "{what}:\n{md}"
    );
    assert!(!md.contains("*No messages.*"), "{what}:\n{md}");
}

/// The fixture really is a v2 session: messages only in `session_message`, an input and a
/// context epoch, and no v1 rows.
#[test]
fn the_fixture_is_a_v2_session() {
    let store = v2_store();
    let conn = store.home.open_db();
    let count = |sql: &str| -> i64 { query_one(&conn, sql, &store.session) };
    assert_eq!(
        count("SELECT count(*) FROM message WHERE session_id = ?1"),
        0
    );
    assert_eq!(count("SELECT count(*) FROM part WHERE session_id = ?1"), 0);
    // 2 prompts, 2 + 1 assistant messages (a tool step, then the answer; then turn 2).
    assert_eq!(
        count("SELECT count(*) FROM session_message WHERE session_id = ?1"),
        5
    );
    assert_eq!(
        count("SELECT count(*) FROM session_input WHERE session_id = ?1"),
        2
    );
    assert_eq!(
        count("SELECT count(*) FROM session_context_epoch WHERE session_id = ?1"),
        1
    );
    assert_eq!(store.served_messages.len(), 5);
    assert!(
        store.repo.path.join(WRITTEN_FILE).is_file(),
        "the v2 write tool did not run"
    );
    eprintln!("v2_store generated in {:.1?}", store.elapsed);
}

/// `list --json` lists the v2 session as one of this repository's (the project real
/// OpenCode lists it under), with its v2 messages counted.
#[test]
fn list_includes_the_v2_session() {
    let store = v2_store();
    let env = store.copy_env();
    let list = env.run(&["list", "--json"]).success().json();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == store.session.as_str())
        .unwrap_or_else(|| panic!("{} not listed: {list:#}", store.session));
    assert_eq!(entry["store"], "sqlite");
    assert_eq!(entry["parentID"], Value::Null);
    assert_eq!(entry["messages"], 5, "{entry:#}");
    assert_eq!(entry["directory"], store.repo.path.to_str().unwrap());

    let theirs = env_home(&env).session_list_json(&env.repo.path);
    let listed = theirs
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == store.session.as_str())
        .unwrap_or_else(|| panic!("opencode session list lacks it: {theirs:#}"));
    assert_eq!(entry["projectID"], listed["projectId"]);
}

/// `export` prints the bytes `opencode export` writes (to a file): for a v2 session that is
/// the session info and `"messages": []`.
#[test]
fn export_is_byte_equal_to_opencode_export() {
    let store = v2_store();
    let env = store.copy_env();
    let ours = env.run(&["export", &store.session]).success();
    let theirs = env_home(&env).export(&env.repo.path, &store.session);
    assert_eq!(ours.raw_stdout(), String::from_utf8_lossy(&theirs));
    assert_eq!(ours.stdout_bytes(), theirs);
    let doc: Value = serde_json::from_slice(&theirs).unwrap();
    assert_eq!(doc["messages"], serde_json::json!([]));
}

/// `pack` puts the v2 rows into `sessions/<id>.extra.json` exactly as the database holds
/// them, and the export document into `sessions/<id>.json`.
#[test]
fn pack_keeps_the_v2_rows_exactly() {
    let store = v2_store();
    let env = store.copy_env();
    let zip = pack(&env, "v2.zip");
    let entries = zip_entries(&zip);
    let entry = |name: String| {
        entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, data)| data.clone())
            .unwrap_or_else(|| panic!("{name} missing from the pack"))
    };
    let extra: Value =
        serde_json::from_slice(&entry(format!("sessions/{}.extra.json", store.session))).unwrap();
    for (table, rows) in v2_rows(env_home(&env), &store.session) {
        assert!(!rows.is_empty(), "the fixture has no {table} rows");
        assert_eq!(extra[table], Value::Array(rows), "{table} in extra.json");
    }
    let doc = entry(format!("sessions/{}.json", store.session));
    let export = env.run(&["export", &store.session]).success();
    assert_eq!(doc, export.stdout_bytes());
}

/// `export --format markdown` renders the v2 turns: prompts, reasoning, the tool call and
/// the replies, in order.
#[test]
fn markdown_renders_the_v2_messages() {
    let store = v2_store();
    let env = store.copy_env();
    let out = env.run(&["export", "--format", "markdown", &store.session]);
    let md = out.success().raw_stdout().to_owned();
    assert_transcript_has_turns(&md, "export --format markdown");
    for prompt in &store.prompts {
        assert!(md.contains(prompt.as_str()), "prompt not verbatim:\n{md}");
    }
    insta::assert_snapshot!(Scrub::of(store).apply(md), @r##"
    # New session - [TIME]

    - **Session:** `[SESSION:v2]`
    - **Directory:** `$FIXTURES/v2/repo`
    - **Created:** [TIME]
    - **Updated:** [TIME]
    - **OpenCode:** 1.18.34
    - **Cost:** $0.0000
    - **Tokens:** 0 input, 0 output, 0 reasoning, 0 cache read, 0 cache write

    ## Conversation

    ### User

    <sub>[TIME]</sub>

    Write the v2 notes 📝
    {{step:eyJ0b29sIjoid3JpdGUiLCJhcmdzIjp7InBhdGgiOiJ2Mi1ub3Rlcy5tZCIsImNvbnRlbnQiOiIjIHYyIG5vdGVzXG5cbmjDqWxsbyB3w7ZybGQg8J-OiSDwn5Gp4oCN8J-SuyDwn4e68J-HpiDwn5GN8J-PvSDigJQg5ryi5a2X44GL44Gq5Lqk44GY44KK5paHIOKAlCDkv67lpI3mlofku7Yg4oCUIGNhZmXMgSBuzIMg4oCUINep15zXldedXG4ifX0}} {{think:eyJyZWFzb25pbmciOiJUaGUgbm90ZXMgbmVlZCBhIGhlYWRpbmcg8J-klCIsInJlcGx5IjoiVGhlIHYyIG5vdGVzIGFyZSB3cml0dGVuIOKchSJ9}}

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    **Tool** `write` · completed

    ```json
    {
      "path": "v2-notes.md",
      "content": "# v2 notes\n\nhéllo wörld 🎉 👩‍💻 🇺🇦 👍🏽 — 漢字かな交じり文 — 修复文件 — café ñ — שלום\n"
    }
    ```

    Output:

    ```text
    Created file successfully: v2-notes.md
    ```

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    <details>
    <summary>Reasoning</summary>

    The notes need a heading 🤔

    </details>

    The v2 notes are written ✅

    ### User

    <sub>[TIME]</sub>

    Second v2 turn 👋 just say hi
    {{reply:SGkgZnJvbSB0aGUgc2Vjb25kIHYyIHR1cm4g8J-RiyDjgZPjgpPjgavjgaHjga8}}

    ### Assistant

    <sub>[TIME] · agent `build` · model `mock/mock-1`</sub>

    Hi from the second v2 turn 👋 こんにちは
    "##);
}

/// `push-sessions` archives the v2 transcript, and picks up a later turn: OpenCode does not
/// bump `session.time_updated` for v2 turns, so only the v2 rows show the change.
#[test]
fn push_sessions_archives_v2_turns_and_later_ones() {
    let store = v2_store();
    let env = env_at_first_turn(store);
    let scrub = Scrub::of(store);
    let out = env.run(&["push-sessions"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    refs/heads/opencode/sessions [COMMIT]: 1 added, 0 updated
    [EOF]
    [exit status: 0]
    ");
    let files = env.git(&["ls-tree", "-r", "--name-only", ARCHIVE]);
    let dir = files
        .lines()
        .find_map(|f| f.strip_suffix(&format!("/{}/transcript.md", store.session)))
        .unwrap_or_else(|| panic!("no transcript.md for {} in:\n{files}", store.session))
        .to_owned();
    let show =
        |name: &str| env.git(&["show", &format!("{ARCHIVE}:{dir}/{}/{name}", store.session)]);
    let first = show("transcript.md");
    assert!(first.contains(TURNS[0].reply), "{first}");
    assert!(!first.contains(TURNS[1].reply), "{first}");

    use_db(env_home(&env), &env.root.join("final.db"));
    // The second turn is archived.
    let out = env.run(&["push-sessions"]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    refs/heads/opencode/sessions [COMMIT]: 0 added, 1 updated
    [EOF]
    [exit status: 0]
    ");
    assert_transcript_has_turns(&show("transcript.md"), "archived transcript.md");
    let extra: Value = serde_json::from_str(&show("extra.json")).unwrap();
    let rows = &v2_rows(env_home(&env), &store.session)[0];
    assert_eq!(extra["session_message"], Value::Array(rows.1.clone()));
}

/// Restore into a fresh OpenCode home and a clone elsewhere: the v2 rows come back as they
/// were; real `opencode serve` there serves the same v2 messages and context as the original
/// server did, and continues the session with a new turn.
///
/// `GET /api/session/:id/history` is not compared: it replays the durable event log
/// (`event` table), which git-opencode does not archive (OpenCode's own migrations treat it
/// as disposable); the v2 conversation is what `/message` and `/context` serve.
#[test]
fn restore_brings_back_a_v2_session_opencode_serves_and_continues() {
    let store = v2_store();
    let env = store.copy_env();
    let zip = pack(&env, "v2.zip");
    let llm = FakeLlm::start();
    let (fresh, clone) = another_machine(&env, &llm, "elsewhere/clone");
    let out = ours(&fresh, &clone.path, &["restore", zip.to_str().unwrap()]).success();
    assert!(out.stdout().contains("1 added"), "{out}");
    assert_eq!(
        v2_rows(&fresh, &store.session),
        v2_rows(&store.home, &store.session)
    );

    let server = Server::start(&fresh, &clone.path);
    let api = V2Api(&server);
    assert_eq!(api.messages(&store.session), store.served_messages);
    assert_eq!(
        api.get(&format!("/api/session/{}/context", store.session)),
        store.served_context
    );

    let reply = "Continued after restore 🔁";
    api.prompt(
        &store.session,
        &format!("Go on 🔁\n{}", script(&[Step::reply(reply)])),
    );
    api.wait_for_replies(&store.session, 3);
    let messages = api.messages(&store.session);
    assert_eq!(
        messages[..store.served_messages.len()],
        store.served_messages
    );
    assert!(
        messages[store.served_messages.len()..]
            .iter()
            .any(|m| m["content"][0]["text"] == reply),
        "{messages:#?}"
    );
    drop(server);
    fresh.stop_llm_and_wait(llm);
}

/// Restoring an archive of the session one turn earlier, then the newer archive, adds the
/// later turn (a v2 session's `time_updated` and export document do not change); restoring
/// either again changes nothing. `verify` tells the older archive from the store.
#[test]
fn restore_adds_the_turns_a_newer_archive_has() {
    let store = v2_store();
    let env = env_at_first_turn(store);
    let older = pack(&env, "older.zip");
    use_db(env_home(&env), &env.root.join("final.db"));
    let newer = pack(&env, "newer.zip");
    let older = older.to_str().unwrap();
    let newer = newer.to_str().unwrap();

    let scrub = Scrub::of(store);
    insta::assert_snapshot!(scrub.apply(env.run(&["verify", older]).failure()), @"
    archive: $TEST_ENV/older.zip (1 session; checksums of 3 entries ok)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (1 session of this repository)
    changed  [SESSION:v2]  New session - [TIME] (same update time, different content)
    [EOF]
    [stderr]
    error: $TEST_ENV/older.zip does not match the store: 1 changed, 0 missing, 0 extra
    hint: `git opencode restore $TEST_ENV/older.zip` brings archived sessions back; `git opencode pack` or `push-sessions` archives new ones
    [EOF]
    [exit status: 1]
    ");
    insta::assert_snapshot!(scrub.apply(env.run(&["verify", newer]).success()), @"
    archive: $TEST_ENV/newer.zip (1 session; checksums of 3 entries ok)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (1 session of this repository)
    complete: all 1 archived sessions match the store
    [EOF]
    [exit status: 0]
    ");

    let llm = FakeLlm::start();
    let (fresh, clone) = another_machine(&env, &llm, "elsewhere/clone");
    let restore = |zip: &str| {
        let out = ours(&fresh, &clone.path, &["restore", zip]).success();
        out.stdout().to_owned()
    };
    let count = || -> i64 {
        query_one(
            &fresh.open_db(),
            "SELECT count(*) FROM session_message WHERE session_id = ?1",
            &store.session,
        )
    };
    let out = restore(older);
    assert!(out.contains("1 added"), "{out}");
    assert_eq!(count(), 3);
    let out = restore(newer);
    assert!(out.contains("1 updated"), "{out}");
    assert_eq!(
        v2_rows(&fresh, &store.session),
        v2_rows(&store.home, &store.session)
    );
    for zip in [newer, older] {
        let out = restore(zip);
        assert!(out.contains("0 updated, 1 unchanged"), "{zip}: {out}");
    }
    fresh.stop_llm_and_wait(llm);
}
