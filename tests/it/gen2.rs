//! OpenCode 2.x stores (`session_v2`/`session_message`): reading, the authority rule of an
//! upgraded file, membership of `global` and `directory:` sessions, and every read-side
//! command. The stores are built in `common::gen2` from the verbatim 2.0.25 schema and
//! captured row shapes, and (upgraded) from a store the real 1.18.34 binary wrote.
//!
//! With `OPENCODE_2X_BIN` naming a real 2.x binary, [`real_2x_binary_exports_what_we_export`]
//! also lets that binary write a session and compares our export with its own.

use crate::common::fixtures::{rich_store, Fixture};
use crate::common::gen2::{db_path, native_env, Real2x, V2Db, T0};
use crate::common::{query_one, zip_entries, Scrub, TestEnv};
use serde_json::Value;

#[test]
fn list_shows_native_sessions_by_every_membership_rule() {
    let (env, ids) = native_env();
    let list = env.run(&["list"]).success();
    insta::assert_snapshot!(list, @"
    ID                              UPDATED (UTC)     MSGS  PARENT                          TITLE
    ses_ee23f0000001AAAAAAAAAAAAAA  2026-10-08 23:01  11    -                               Print hi
    ses_ee23f0000002AAAAAAAAAAAAAA  2026-10-08 23:01  3     -                               Look around
    ses_ee23f0000003AAAAAAAAAAAAAA  2026-10-08 23:01  3     ses_ee23f0000002AAAAAAAAAAAAAA  Look around (@general subagent)
    ses_ee23f0000004AAAAAAAAAAAAAA  2026-10-08 23:01  1     -                               In global
    ses_ee23f0000005AAAAAAAAAAAAAA  2026-10-08 23:01  1     -                               Before git init
    [EOF]
    [exit status: 0]
    ");
    let verbose = env.run(&["list", "-v"]).success();
    let verbose = Scrub::new()
        .literal(&ids.dir_project, "[DIR_PROJECT]")
        .aligned()
        .apply(&verbose);
    insta::assert_snapshot!(verbose, @"
    ID                              UPDATED (UTC)     MSGS  PARENT                          RULE       GEN  PROJECT                                   TITLE
    [SESSION_ID]                    [TIME]            11    -                               current    2    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Print hi
    [SESSION_ID]                    [TIME]            3     -                               current    2    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Look around
    [SESSION_ID]                    [TIME]            3     [SESSION_ID]                    current    2    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Look around (@general subagent)
    [SESSION_ID]                    [TIME]            1     -                               global     2    global                                    In global
    [SESSION_ID]                    [TIME]            1     -                               directory  2    [DIR_PROJECT]                             Before git init
    [EOF]
    [exit status: 0]
    ");
    let json = env.run(&["list", "--json"]).success().json();
    let child = json
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == ids.child)
        .unwrap();
    assert_eq!(child["parentID"], ids.parent);
    assert_eq!(child["generation"], 2);
    assert!(!json.to_string().contains(ids.elsewhere));
}

#[test]
fn export_is_the_2x_session_export_document() {
    let (env, ids) = native_env();
    let child = env.run(&["export", ids.child]).success();
    insta::assert_snapshot!(child.stdout(), @r#"
    {
      "info": {
        "id": "ses_ee23f0000003AAAAAAAAAAAAAA",
        "parentID": "ses_ee23f0000002AAAAAAAAAAAAAA",
        "projectID": "a76aebe1bac55953ccb1f217d023da9cd3a522a0",
        "location": {
          "directory": "$TEST_ENV/repo"
        },
        "title": "Look around (@general subagent)",
        "cost": 0.00357,
        "tokens": {
          "input": 1000,
          "output": 34,
          "reasoning": 0,
          "cache": {
            "read": 200,
            "write": 0
          }
        },
        "agent": "general",
        "model": {
          "id": "m1",
          "providerID": "fake",
          "variant": "default"
        },
        "time": {
          "created": 1791500501500,
          "updated": 1791500502500,
          "idle": 1791500502500
        },
        "outcome": "succeeded"
      },
      "messages": [
        {
          "id": "msg_112f8c000001Xoi4Q9FR7Zqk4x",
          "type": "user",
          "time": {
            "created": 1791500501566
          },
          "text": "You are a subagent spawned by another session.\nList the files and summarise them."
        },
        {
          "id": "msg_112f8c000002Xoi4Q9FR7Zqk4x",
          "type": "assistant",
          "time": {
            "created": 1791500501600,
            "completed": 1791500502400
          },
          "agent": "general",
          "model": {
            "id": "m1",
            "providerID": "fake"
          },
          "content": [
            {
              "type": "text",
              "text": "Hello from the child"
            }
          ],
          "finish": "stop"
        },
        {
          "id": "msg_112f8c000003Xoi4Q9FR7Zqk4x",
          "type": "idle",
          "time": {
            "created": 1791500502500
          },
          "outcome": "succeeded"
        }
      ]
    }
    "#);

    let turns = env.run(&["export", ids.turns]).success();
    let doc: Value = serde_json::from_str(turns.raw_stdout()).unwrap();
    // Settled messages only, in seq order: the streaming assistant and the running shell
    // are left out.
    let types: Vec<&str> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "user",
            "assistant",
            "assistant",
            "idle",
            "synthetic",
            "model-switched",
            "user",
            "assistant",
            "idle"
        ]
    );
    // `{id, type, ...data}`, and the row's data byte for byte (JSON.stringify, 2 spaces).
    assert!(
        turns.raw_stdout().contains(
            "    {\n      \"id\": \"msg_112f84e89001Xoi4Q9FR7Zqk4x\",\n      \"type\": \"user\",\n      \"time\": {\n        \"created\": 1791500491631\n      },\n      \"text\": \"\\\"Please USE A TOOL to print hi\\\"\",\n      \"files\": []\n    },"
        ),
        "{}",
        turns.raw_stdout()
    );
    assert_eq!(doc["info"]["outcome"], "failed");
    assert_eq!(
        doc["info"]["location"]["directory"],
        env.repo.path.to_str().unwrap()
    );

    // Markdown of a 2.x document does not fail (its rendering is the transcript's business).
    let md = env
        .run(&["export", "--format", "markdown", ids.turns])
        .success();
    assert!(md.stdout().contains("Print hi"), "{md}");
}

#[test]
fn pack_records_generation_and_the_2x_extra_record() {
    let (env, ids) = native_env();
    let out = env.run(&["pack", "-o", "s.zip"]).success();
    let zip = env.repo.path.join(out.stdout().trim());
    let entries = zip_entries(&zip);
    let get = |name: &str| -> Value {
        let (_, bytes) = entries
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name} in the pack"));
        serde_json::from_slice(bytes).unwrap()
    };
    let manifest = get("manifest.json");
    assert_eq!(manifest["store"]["generations"], serde_json::json!([2]));
    let sessions = manifest["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 5, "{manifest:#}");
    assert!(sessions.iter().all(|s| s["generation"] == 2));
    // The pack writes each document out of the rows; export parses them: same bytes.
    for session in sessions {
        let id = session["id"].as_str().unwrap();
        let exported = env.run(&["export", id]).success();
        let (_, packed) = entries
            .iter()
            .find(|(n, _)| *n == format!("sessions/{id}.json"))
            .unwrap();
        assert_eq!(packed.as_slice(), exported.stdout_bytes(), "{id}");
    }
    // The extra record: the session_v2 row and the two unsettled rows, raw.
    let extra = get(&format!("sessions/{}.extra.json", ids.turns));
    assert_eq!(extra["session_v2"]["slug"], "slug-ee23f0");
    assert_eq!(extra["session_v2"]["version"], "2.0.25");
    let unsettled: Vec<(i64, &str)> = extra["session_message"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["seq"].as_i64().unwrap(), r["type"].as_str().unwrap()))
        .collect();
    assert_eq!(unsettled, [(20, "assistant"), (21, "shell")]);
    assert!(extra["session_message"][1]["data"]
        .as_str()
        .unwrap()
        .contains("\"status\":\"running\""));
    assert!(entries
        .iter()
        .any(|(n, _)| *n == format!("project/{}.json", ids.project)));
}

#[test]
fn push_sessions_stamps_2x_messages_and_verify_agrees() {
    let (env, ids) = native_env();
    let first = env.run(&["push-sessions"]).success();
    assert!(first.stdout().contains("5 added, 0 updated"), "{first}");
    let again = env.run(&["push-sessions"]).success();
    assert!(again.stdout().contains("is up to date"), "{again}");
    env.run(&["verify"]).success();
    let index = env.git(&[
        "show",
        &format!("opencode/sessions:sessions/{}/index.json", month_of(T0)),
    ]);
    let index: Value = serde_json::from_str(&index).unwrap();
    assert_eq!(index[ids.child]["generation"], 2, "{index:#}");

    // 2.x settles the streaming assistant in place: only its row's time_updated moves.
    let db = V2Db::open(&db_path(&env));
    db.conn
        .execute(
            "UPDATE session_message SET time_updated = time_updated + 5000, \
             data = json_set(data, '$.time.completed', time_updated + 5000) \
             WHERE id = 'msg_112f84e8900aXoi4Q9FR7Zqk4x'",
            [],
        )
        .unwrap();
    drop(db);
    let verify = env.run(&["verify"]).failure();
    assert!(verify.stdout().contains(ids.turns), "{verify}");
    let third = env.run(&["push-sessions"]).success();
    assert!(third.stdout().contains("0 added, 1 updated"), "{third}");
    env.run(&["verify"]).success();
    env.git(&["fsck", "--strict"]);
}

fn month_of(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap();
    format!("{}-{:02}", t.year(), u8::from(t.month()))
}

#[test]
fn an_unknown_2x_schema_is_refused_with_a_hint() {
    let (env, _) = native_env();
    let db = V2Db::open(&db_path(&env));
    db.conn
        .execute_batch("ALTER TABLE session_v2 DROP COLUMN slug")
        .unwrap();
    drop(db);
    let out = env.run(&["list"]).failure();
    insta::assert_snapshot!(out, @"
    [stderr]
    error: OpenCode database $TEST_ENV/data/opencode/opencode.db has an unknown OpenCode 2.x schema: table session_v2 has no column slug
    hint: this store was written by an OpenCode 2.x release git-opencode does not know; upgrade git-opencode
    [EOF]
    [exit status: 1]
    ");
}

#[test]
fn a_corrupt_session_message_row_names_its_session_and_row() {
    let (env, ids) = native_env();
    let db = V2Db::open(&db_path(&env));
    db.conn
        .execute(
            "UPDATE session_message SET data = '{\"time\":' WHERE id = 'msg_112f8b000003Xoi4Q9FR7Zqk4x'",
            [],
        )
        .unwrap();
    drop(db);
    let out = env.run(&["pack", "-o", "s.zip"]).failure();
    insta::assert_snapshot!(out.stderr(), @"
    error: 1 session of this repository could not be read and was left out of s.zip: session ses_ee23f0000002AAAAAAAAAAAAAA (malformed session_message row msg_112f8b000003Xoi4Q9FR7Zqk4x (seq 8) of session ses_ee23f0000002AAAAAAAAAAAAAA in $TEST_ENV/data/opencode/opencode.db: EOF while parsing a value at line 1 column 8)
    hint: the store has a damaged row or file, named above; every other session was archived
    ");
    // Every other session is in the pack.
    let entries = zip_entries(&env.repo.path.join("s.zip"));
    let packed = |id: &str| {
        entries
            .iter()
            .any(|(n, _)| *n == format!("sessions/{id}.json"))
    };
    assert!(!packed(ids.parent));
    assert!(packed(ids.child) && packed(ids.turns) && packed(ids.global));
    // push-sessions (whose workers parse the rows) leaves out the same session only.
    let out = env.run(&["push-sessions", "-q"]).failure();
    assert!(
        out.stderr()
            .contains("malformed session_message row msg_112f8b000003Xoi4Q9FR7Zqk4x"),
        "{}",
        out.stderr()
    );
    let files = env.git(&[
        "ls-tree",
        "-r",
        "--name-only",
        "refs/heads/opencode/sessions",
    ]);
    let archived = |id: &str| files.contains(&format!("/{id}/session.json"));
    assert!(!archived(ids.parent));
    assert!(archived(ids.child) && archived(ids.turns) && archived(ids.global));
}

/// The 1.18.34 store upgraded to 2.x: `attachment` and `tools` imported (`tools` continued
/// by 1.x afterwards), `task_parent`/`task_child` deleted in 2.x, `plain` made by 1.x after
/// the import completed (at `attachment`'s last update).
fn upgraded_env(phase: &str) -> (TestEnv, Scrub) {
    let store = rich_store();
    let env = store.copy_env();
    let path = env.opencode.as_ref().unwrap().db_path();
    let db = V2Db::open(&path);
    let updated = |id: &str| -> i64 {
        query_one(
            &db.conn,
            "SELECT time_updated FROM session WHERE id = ?1",
            id,
        )
    };
    let imported_at = updated(&store.attachment);
    assert!(
        imported_at
            < query_one::<i64>(
                &db.conn,
                "SELECT time_created FROM session WHERE id = ?1",
                &store.plain
            )
    );
    assert!(updated(&store.task_parent) <= imported_at);
    db.upgrade_from_1x();
    db.import_session(&store.attachment, imported_at);
    // Imported before 1.x continued it: the 2.x copy is older than the 1.x one.
    let tools_created: i64 = query_one(
        &db.conn,
        "SELECT time_created FROM session WHERE id = ?1",
        &store.tools,
    );
    db.import_session(&store.tools, tools_created + 1);
    for (id, seq0) in [(&store.attachment, 0), (&store.tools, 0)] {
        // The import's rows (§4.2): contiguous seq from 0, the 1.x message ids kept.
        let mut stmt = db
            .conn
            .prepare("SELECT id, data FROM message WHERE session_id = ?1 ORDER BY time_created, id LIMIT 2")
            .unwrap();
        let rows: Vec<(String, String)> = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (i, (mid, data)) in rows.iter().enumerate() {
            let data: Value = serde_json::from_str(data).unwrap();
            let created = data["time"]["created"].as_i64().unwrap();
            let (kind, row) = if data["role"] == "user" {
                (
                    "user",
                    serde_json::json!({"text": "imported", "time": {"created": created}}),
                )
            } else {
                (
                    "assistant",
                    serde_json::json!({"agent": "build", "model": {"id": "mock", "providerID": "fake"}, "content": [], "time": {"created": created, "completed": created + 1}}),
                )
            };
            db.message(id, mid, kind, seq0 + i as i64, &row);
        }
    }
    db.migration(phase, imported_at);
    drop(db);
    let scrub = Scrub::of(store);
    (env, scrub)
}

#[test]
fn an_upgraded_store_follows_the_authority_rule() {
    let store = rich_store();
    let (env, scrub) = upgraded_env("completed");
    let verbose = env.run(&["list", "-v"]).success();
    insta::assert_snapshot!(scrub.clone().aligned().apply(&verbose), @"
    ID                              UPDATED (UTC)     MSGS  PARENT  RULE     GEN  PROJECT                                   TITLE
    [SESSION:plain]                 [TIME]            2     -       current  1    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Mock title
    [SESSION:attachment]            [TIME]            2     -       current  2    a76aebe1bac55953ccb1f217d023da9cd3a522a0  Attachment 📎
    [SESSION:tools]                 [TIME]            2     -       current  2+1  a76aebe1bac55953ccb1f217d023da9cd3a522a0  Tools ✍️ session
    hidden: [SESSION:task_child]           (delegate 委任 (@general subagent), rule current): 1.x copy only, last changed before OpenCode 2.x imported the 1.x sessions: deleted in 2.x
    hidden: [SESSION:task_parent]          (Task parent 🤝, rule current): 1.x copy only, last changed before OpenCode 2.x imported the 1.x sessions: deleted in 2.x
    [EOF]
    [exit status: 0]
    ");
    let json = env.run(&["list", "--json"]).success().json();
    let of = |id: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
    };
    assert_eq!(of(&store.attachment).unwrap()["generation"], 2);
    assert_eq!(of(&store.tools).unwrap()["divergent"], true);
    assert_eq!(of(&store.plain).unwrap()["generation"], 1);
    assert!(of(&store.task_parent).is_none() && of(&store.task_child).is_none());

    // The divergent session is archived as its 2.x copy with the 1.x copy inside.
    env.run(&["pack", "-o", "u.zip"]).success();
    let entries = zip_entries(&env.repo.path.join("u.zip"));
    let extra = entries
        .iter()
        .find(|(n, _)| *n == format!("sessions/{}.extra.json", store.tools))
        .map(|(_, b)| serde_json::from_slice::<Value>(b).unwrap())
        .unwrap();
    let legacy = &extra["legacy"];
    assert_eq!(legacy["document"]["info"]["id"], store.tools.as_str());
    assert!(legacy["document"]["messages"].as_array().unwrap().len() > 2);
    assert!(legacy["extra"]["todos"].is_array(), "{legacy:#}");
    let doc = entries
        .iter()
        .find(|(n, _)| *n == format!("sessions/{}.json", store.tools))
        .map(|(_, b)| serde_json::from_slice::<Value>(b).unwrap())
        .unwrap();
    assert_eq!(doc["messages"].as_array().unwrap().len(), 2);
    // A 2.x copy of a real 1.18.34 session, written out of its rows: the export's bytes.
    let packed = entries
        .iter()
        .find(|(n, _)| *n == format!("sessions/{}.json", store.attachment))
        .map(|(_, b)| b.as_slice());
    let exported = env.run(&["export", &store.attachment]).success();
    assert_eq!(packed, Some(exported.stdout_bytes()));
    // The live 1.x session is archived as 1.x, byte-equal to what 1.18.34 exports.
    let plain = env.run(&["export", &store.plain]).success();
    assert_eq!(
        plain.stdout_bytes(),
        store.home.export(&store.repo.path, &store.plain)
    );
    env.run(&["push-sessions"]).success();
    env.run(&["verify"]).success();

    // Once 2.x continues its copy too (a shell row, which the import never writes), the
    // 1.x continuation is hidden and the 2.x copy alone is live.
    let db = V2Db::open(&db_path(&env));
    let shell = serde_json::json!({"command": "ls", "status": "exited", "time": {"created": 1}});
    db.message(&store.tools, "msg_native_shell", "shell", 2, &shell);
    drop(db);
    let json = env.run(&["list", "--json"]).success().json();
    let tools = json
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == store.tools.as_str());
    assert_eq!(tools.unwrap()["divergent"], false, "{json:#}");
    let verbose = env.run(&["list", "-v"]).success();
    let hidden = format!("hidden: {}", store.tools);
    assert!(verbose.stdout().contains(&hidden), "{verbose}");
    assert!(
        verbose.stdout().contains("continued its own copy too"),
        "{verbose}"
    );
}

#[test]
fn a_half_finished_import_warns_and_reads_the_1x_copies_as_live() {
    let store = rich_store();
    let (env, scrub) = upgraded_env("sessions");
    let out = env.run(&["list"]).success();
    insta::assert_snapshot!(scrub.clone().aligned().apply(out.stderr()), @"
    warning: OpenCode 2.x has not finished importing the 1.x sessions of $TEST_ENV/opencode/data/opencode/opencode.db; their 1.x copies are read as they are
    hint: start OpenCode 2.x once and let it finish, then archive again
    ");
    let json = env.run(&["list", "--json"]).success().json();
    let ids: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&store.task_parent.as_str()) && ids.contains(&store.task_child.as_str()));
}

/// Opt-in (no 2.x binary is installable here): `OPENCODE_2X_BIN` names a real OpenCode 2.x
/// binary. It writes a session in a fresh data directory (through the fake LLM), then our
/// export must equal its `session export`.
#[test]
#[ignore = "needs OPENCODE_2X_BIN, a real OpenCode 2.x binary"]
fn real_2x_binary_exports_what_we_export() {
    let real = Real2x::from_env();
    let mut env = TestEnv::new();
    let llm = crate::common::fake_llm::FakeLlm::start();
    let config_dir = env.home.join(".config/opencode");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("opencode.json"),
        crate::common::opencode::config_json(llm.port()).to_string(),
    )
    .unwrap();
    real.run(&env, &["run", "--standalone", "Say hi"]);
    let listed = real.session_list(&env);
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let theirs = real.run(&env, &["session", "export", "--standalone", &id]);
    env.opencode = None;
    let ours = env.run(&["export", &id]).success();
    assert_eq!(
        String::from_utf8_lossy(ours.stdout_bytes()),
        String::from_utf8_lossy(&theirs)
    );
}
