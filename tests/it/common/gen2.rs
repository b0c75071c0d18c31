//! OpenCode 2.x stores for tests. No 2.x binary can be installed here, so they are built from
//! what is real (opencode-2x.md): the verbatim 2.0.25 DDL in
//! `tests/fixtures/opencode-2.0.25-schema.sql`, native rows shaped exactly like the captured
//! rows of §2.1, and (for an upgraded file) a store the real 1.18.34 binary wrote, carried
//! through the schema changes of `loose_psylocke` (§1.4).

use rusqlite::{params, Connection};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use std::path::Path;

/// The verbatim 2.0.25 schema.
pub const SCHEMA: &str = include_str!("../../fixtures/opencode-2.0.25-schema.sql");

/// `sha1(text)` in hex, as OpenCode computes project IDs.
pub fn sha1_hex(text: &str) -> String {
    Sha1::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A 2.x database opened for writing fixture rows.
pub struct V2Db {
    pub conn: Connection,
}

/// One `session_v2` row's fixture fields; the other columns take 2.x's defaults.
pub struct V2Session<'a> {
    pub id: &'a str,
    pub project: &'a str,
    pub parent: Option<&'a str>,
    pub directory: &'a str,
    pub title: Option<&'a str>,
    pub agent: Option<&'a str>,
    pub created: i64,
    pub updated: i64,
    /// `time_idle` and `idle_outcome`.
    pub idle: Option<(i64, &'a str)>,
}

impl V2Db {
    /// A fresh 2.x database at `path`: the 2.0.25 schema and nothing else.
    pub fn create(path: &Path) -> V2Db {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        V2Db { conn }
    }

    /// An existing database (a copy of a real 1.x store) opened for writing.
    pub fn open(path: &Path) -> V2Db {
        V2Db {
            conn: Connection::open(path).unwrap(),
        }
    }

    pub fn project(&self, id: &str, worktree: &str, vcs: Option<&str>) {
        self.conn
            .execute(
                "INSERT INTO project (id, worktree, vcs, time_created, time_updated, sandboxes) \
                 VALUES (?1, ?2, ?3, 1791500000000, 1791500000000, '[]')",
                params![id, worktree, vcs],
            )
            .unwrap();
    }

    /// A `worktree` row: 2.x's record of a checkout of a project (main: strategy NULL).
    pub fn worktree(&self, project: &str, directory: &str, strategy: Option<&str>) {
        self.conn
            .execute(
                "INSERT INTO worktree (project_id, directory, strategy, time_created) \
                 VALUES (?1, ?2, ?3, 1791500000000)",
                params![project, directory, strategy],
            )
            .unwrap();
    }

    pub fn session(&self, s: &V2Session<'_>) {
        self.conn
            .execute(
                "INSERT INTO session_v2 (id, project_id, parent_id, slug, directory, title, \
                 version, agent, model, cost, tokens_input, tokens_output, tokens_cache_read, \
                 time_created, time_updated, time_idle, idle_outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, '2.0.25', ?7, \
                 '{\"id\":\"m1\",\"providerID\":\"fake\",\"variant\":\"default\"}', \
                 0.00357, 1000, 34, 200, ?8, ?9, ?10, ?11)",
                params![
                    s.id,
                    s.project,
                    s.parent,
                    format!("slug-{}", &s.id[4..10]),
                    s.directory,
                    s.title,
                    s.agent,
                    s.created,
                    s.updated,
                    s.idle.map(|i| i.0),
                    s.idle.map(|i| i.1),
                ],
            )
            .unwrap();
    }

    /// A `session_message` row: `time_created` is `data.time.created`, `time_updated` the
    /// row's last in-place update (`time.completed` where there is one).
    pub fn message(&self, session: &str, id: &str, kind: &str, seq: i64, data: &Value) {
        let created = data["time"]["created"].as_i64().unwrap();
        let updated = data["time"]["completed"].as_i64().unwrap_or(created);
        self.message_raw(session, id, kind, seq, created, updated, &data.to_string());
    }

    #[allow(clippy::too_many_arguments)]
    pub fn message_raw(
        &self,
        session: &str,
        id: &str,
        kind: &str,
        seq: i64,
        created: i64,
        updated: i64,
        data: &str,
    ) {
        self.conn
            .execute(
                "INSERT INTO session_message (id, session_id, type, seq, time_created, \
                 time_updated, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, session, kind, seq, created, updated, data],
            )
            .unwrap();
    }

    /// The `kv` row of the V1→V2 import.
    pub fn migration(&self, phase: &str, at: i64) {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO kv (key, value, time_created, time_updated) \
                 VALUES ('migration.v1-v2', ?1, ?2, ?2)",
                params![json!({ "phase": phase }).to_string(), at],
            )
            .unwrap();
    }

    /// What `loose_psylocke` and the later 2.x migrations do to a 1.18 file (§1.4):
    /// `session_message` dropped and recreated with its FK to `session_v2` (1.18's rows are
    /// lost), `session_input`, `session_context_epoch` and `data_migration` dropped, the
    /// `workspace` table redefined, the new tables created, the new columns appended. The
    /// 1.x `session`, `message`, `part`, `todo` tables stay.
    pub fn upgrade_from_1x(&self) {
        for table in [
            "session_message",
            "session_input",
            "session_context_epoch",
            "data_migration",
            "workspace",
        ] {
            self.conn
                .execute_batch(&format!("DROP TABLE IF EXISTS `{table}`"))
                .unwrap();
        }
        let has = |kind: &str, name: &str| -> bool {
            self.conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = ?1 AND name = ?2",
                    [kind, name],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                > 0
        };
        let has_column = |table: &str, column: &str| -> bool {
            self.conn
                .query_row(
                    "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
                    [table, column],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                > 0
        };
        if !has_column("project", "time_active") {
            self.conn
                .execute_batch("ALTER TABLE `project` ADD `time_active` integer DEFAULT 0 NOT NULL")
                .unwrap();
        }
        if has("table", "event") && !has_column("event", "created") {
            self.conn
                .execute_batch("ALTER TABLE `event` ADD `created` integer DEFAULT 0 NOT NULL")
                .unwrap();
        }
        for statement in SCHEMA.split(";\n") {
            let body: String = statement
                .lines()
                .filter(|l| !l.starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            let body = body.trim();
            let name = |prefix: &str| -> Option<String> {
                let rest = body.strip_prefix(prefix)?;
                Some(rest.split('`').nth(1)?.to_owned())
            };
            let create = if let Some(table) = name("CREATE TABLE ") {
                !has("table", &table)
            } else if let Some(index) = name("CREATE INDEX ").or(name("CREATE UNIQUE INDEX ")) {
                !has("index", &index)
            } else {
                false
            };
            if create {
                self.conn.execute_batch(body).unwrap();
            }
        }
    }

    /// The V1→V2 import's `INSERT … SELECT` of one legacy session into `session_v2`
    /// (§4.1 step 5: columns copied, `permission` NULL), with `time_updated` given.
    pub fn import_session(&self, id: &str, time_updated: i64) {
        self.conn
            .execute(
                "INSERT INTO session_v2 (id, project_id, workspace_id, parent_id, slug, directory, \
                 path, title, version, share_url, summary_additions, summary_deletions, \
                 summary_files, summary_diffs, metadata, cost, tokens_input, tokens_output, \
                 tokens_reasoning, tokens_cache_read, tokens_cache_write, agent, model, \
                 time_created, time_updated, time_archived) \
                 SELECT id, project_id, workspace_id, parent_id, slug, directory, path, title, \
                 version, share_url, summary_additions, summary_deletions, summary_files, \
                 summary_diffs, metadata, cost, tokens_input, tokens_output, tokens_reasoning, \
                 tokens_cache_read, tokens_cache_write, agent, model, time_created, ?2, \
                 time_archived FROM session WHERE id = ?1",
                params![id, time_updated],
            )
            .unwrap();
    }
}

/// The IDs of the native 2.x sessions [`native_store`] writes.
pub struct Native {
    pub project: String,
    /// The `directory:` project of `<repo>/notes` (its ID depends on the temp path).
    pub dir_project: String,
    /// user (`files:[]`), assistant with a `shell` tool, reasoning, idle, synthetic,
    /// model-switched, a failed assistant, and two unsettled rows (a streaming assistant, a
    /// running shell).
    pub turns: &'static str,
    /// Calls a `subagent` whose session is [`child`](Self::child).
    pub parent: &'static str,
    pub child: &'static str,
    /// In `global`, started in a subdirectory of the checkout.
    pub global: &'static str,
    /// In the markerless `directory:` project of `<repo>/notes`, made before `git init`.
    pub directory: &'static str,
    /// In `global`, outside the checkout: not this repository's.
    pub elsewhere: &'static str,
}

pub const T0: i64 = 1791500491000;

/// Writes a fresh 2.x `opencode.db` at `db` for the git checkout `repo` (whose project ID,
/// with no remote and no cache file, is `project`): the sessions of [`Native`].
pub fn native_store(db: &Path, repo: &Path, project: &str) -> Native {
    let mut ids = Native {
        project: project.to_owned(),
        dir_project: String::new(),
        turns: "ses_ee23f0000001AAAAAAAAAAAAAA",
        parent: "ses_ee23f0000002AAAAAAAAAAAAAA",
        child: "ses_ee23f0000003AAAAAAAAAAAAAA",
        global: "ses_ee23f0000004AAAAAAAAAAAAAA",
        directory: "ses_ee23f0000005AAAAAAAAAAAAAA",
        elsewhere: "ses_ee23f0000006AAAAAAAAAAAAAA",
    };
    let v2 = V2Db::create(db);
    let dir = repo.to_str().unwrap();
    v2.project(project, dir, Some("git"));
    v2.worktree(project, dir, None);
    v2.project("global", "/", None);
    let notes_dir = format!("{dir}/notes");
    ids.dir_project = sha1_hex(&format!("directory:{notes_dir}"));
    let src_dir = format!("{dir}/src");
    let dir_project = sha1_hex(&format!("directory:{notes_dir}"));
    v2.project(&dir_project, &notes_dir, None);

    let session = |id, project, parent, directory, title, agent, created, updated, idle| {
        v2.session(&V2Session {
            id,
            project,
            parent,
            directory,
            title,
            agent,
            created,
            updated,
            idle,
        })
    };
    let t = |ms: i64| T0 + ms;

    // The turns of §2.1, in one session.
    let s = ids.turns;
    session(
        s,
        project,
        None,
        dir,
        Some("Print hi"),
        None,
        t(0),
        t(9000),
        Some((t(5200), "failed")),
    );
    let m = |id: &str, kind: &str, seq: i64, data: Value| v2.message(s, id, kind, seq, &data);
    m(
        "msg_112f84e89001Xoi4Q9FR7Zqk4x",
        "user",
        4,
        json!({"time":{"created":t(631)},"text":"\"Please USE A TOOL to print hi\"","files":[]}),
    );
    m(
        "msg_112f84e89002Xoi4Q9FR7Zqk4x",
        "assistant",
        6,
        json!({"time":{"created":t(651),"streamed":t(865),"completed":t(905)},"agent":"build",
        "model":{"id":"m1","providerID":"fake"},
        "content":[{"type":"tool","id":"call_00491653","name":"shell","executed":false,
          "state":{"status":"completed","input":{"command":"echo hi > note.txt && echo hi","description":"Print hi"},
                   "content":[{"type":"text","text":"hi\n"}],"metadata":{"status":"completed","truncated":false,"exit":0}},
          "time":{"created":t(860),"ran":t(864),"completed":t(903)}}],
        "finish":"tool-calls","rawFinish":"tool_calls","cost":0.00357,
        "tokens":{"input":1000,"output":34,"reasoning":0,"cache":{"read":200,"write":0}}}),
    );
    m(
        "msg_112f84e89003Xoi4Q9FR7Zqk4x",
        "assistant",
        9,
        json!({"time":{"created":t(1000),"streamed":t(1200),"completed":t(1300)},"agent":"build",
        "model":{"id":"m1","providerID":"fake","variant":"default"},
        "content":[{"type":"reasoning","text":"The file says \"hi\". Simple confirmation.",
                    "state":{"reasoningField":"reasoning"},"time":{"created":t(1100),"completed":t(1190)}},
                   {"type":"text","text":"Done. I created `note.txt` containing `hi`."}],
        "finish":"stop","rawFinish":"stop","cost":0.00032975,"tokens":{"input":155,"output":28,"reasoning":9,"cache":{"read":9600,"write":0}}}),
    );
    m(
        "msg_112f84e89004Xoi4Q9FR7Zqk4x",
        "idle",
        10,
        json!({"time":{"created":t(1310)},"outcome":"succeeded"}),
    );
    m(
        "msg_112f84e89005Xoi4Q9FR7Zqk4x",
        "synthetic",
        12,
        json!({"time":{"created":t(2000)},"text":"<system-reminder>\nYou are in Plan mode.\n</system-reminder>"}),
    );
    m(
        "msg_112f84e89006Xoi4Q9FR7Zqk4x",
        "model-switched",
        13,
        json!({"time":{"created":t(2100)},"model":{"id":"exo-free","providerID":"opencode"},"previous":{"id":"m1","providerID":"fake","variant":"default"}}),
    );
    m(
        "msg_112f84e89007Xoi4Q9FR7Zqk4x",
        "user",
        15,
        json!({"time":{"created":t(2200)},"text":"\"Try again\"","files":[]}),
    );
    m(
        "msg_112f84e89008Xoi4Q9FR7Zqk4x",
        "assistant",
        17,
        json!({"time":{"created":t(2300),"completed":t(2665)},"agent":"build","model":{"id":"exo-free","providerID":"opencode"},
        "content":[],"finish":"error","error":{"type":"provider.invalid-request","message":"Model exo-free has been deprecated.","status":410,"response":{"body":"gone"}}}),
    );
    m(
        "msg_112f84e89009Xoi4Q9FR7Zqk4x",
        "idle",
        18,
        json!({"time":{"created":t(5200)},"outcome":"failed"}),
    );
    // Unsettled: a turn still streaming and a shell still running.
    m(
        "msg_112f84e8900aXoi4Q9FR7Zqk4x",
        "assistant",
        20,
        json!({"time":{"created":t(8000),"streamed":t(8500)},"agent":"build","model":{"id":"m1","providerID":"fake"},"content":[{"type":"text","text":"Working on"}]}),
    );
    m(
        "msg_112f84e8900bXoi4Q9FR7Zqk4x",
        "shell",
        21,
        json!({"shellID":"sh_1","command":"sleep 100","status":"running","time":{"created":t(8600)}}),
    );

    // A subagent call and its child session.
    let (p, c) = (ids.parent, ids.child);
    session(
        p,
        project,
        None,
        dir,
        Some("Look around"),
        None,
        t(10000),
        t(12000),
        Some((t(12000), "succeeded")),
    );
    session(
        c,
        project,
        Some(p),
        dir,
        Some("Look around (@general subagent)"),
        Some("general"),
        t(10500),
        t(11500),
        Some((t(11500), "succeeded")),
    );
    v2.message(
        p,
        "msg_112f8b000001Xoi4Q9FR7Zqk4x",
        "user",
        4,
        &json!({"time":{"created":t(10001)},"text":"\"Delegate a look around\"","files":[]}),
    );
    v2.message(p, "msg_112f8b000002Xoi4Q9FR7Zqk4x", "assistant", 6, &json!({"time":{"created":t(10100),"completed":t(11900)},"agent":"build","model":{"id":"m1","providerID":"fake"},
        "content":[{"type":"tool","id":"call_00492530","name":"subagent","executed":false,"state":{"status":"completed",
          "input":{"agent":"general","description":"Look around","prompt":"List the files and summarise them."},
          "content":[{"type":"text","text":format!("<subagent sessionID=\"{c}\" state=\"completed\">\nHello from the child\n</subagent>")}],
          "metadata":{"sessionID":c,"status":"completed","truncated":false}},"time":{"created":t(10200),"ran":t(10300),"completed":t(11800)}}],
        "finish":"tool-calls"}));
    v2.message(
        p,
        "msg_112f8b000003Xoi4Q9FR7Zqk4x",
        "idle",
        8,
        &json!({"time":{"created":t(12000)},"outcome":"succeeded"}),
    );
    v2.message(c, "msg_112f8c000001Xoi4Q9FR7Zqk4x", "user", 4, &json!({"time":{"created":t(10566)},"text":"You are a subagent spawned by another session.\nList the files and summarise them."}));
    v2.message(c, "msg_112f8c000002Xoi4Q9FR7Zqk4x", "assistant", 5, &json!({"time":{"created":t(10600),"completed":t(11400)},"agent":"general","model":{"id":"m1","providerID":"fake"},
        "content":[{"type":"text","text":"Hello from the child"}],"finish":"stop"}));
    v2.message(
        c,
        "msg_112f8c000003Xoi4Q9FR7Zqk4x",
        "idle",
        6,
        &json!({"time":{"created":t(11500)},"outcome":"succeeded"}),
    );

    // Sessions found by directory, not by project ID.
    let one_turn = |id: &str, msg: &str, created: i64| {
        v2.message(
            id,
            msg,
            "user",
            4,
            &json!({"time":{"created":created + 1},"text":"\"hello\"","files":[]}),
        );
    };
    session(
        ids.global,
        "global",
        None,
        &src_dir,
        Some("In global"),
        None,
        t(20000),
        t(20100),
        None,
    );
    one_turn(ids.global, "msg_112f8d000001Xoi4Q9FR7Zqk4x", t(20000));
    session(
        ids.directory,
        &dir_project,
        None,
        &notes_dir,
        Some("Before git init"),
        None,
        t(21000),
        t(21100),
        None,
    );
    one_turn(ids.directory, "msg_112f8e000001Xoi4Q9FR7Zqk4x", t(21000));
    session(
        ids.elsewhere,
        "global",
        None,
        "/somewhere/else",
        Some("Not ours"),
        None,
        t(22000),
        t(22100),
        None,
    );
    one_turn(ids.elsewhere, "msg_112f8f000001Xoi4Q9FR7Zqk4x", t(22000));
    ids
}

/// The store a [`TestEnv`](super::TestEnv) points OpenCode at.
pub fn db_path(env: &super::TestEnv) -> std::path::PathBuf {
    env.data_home.join("opencode/opencode.db")
}

/// A repository whose store is a fresh 2.x file holding [`Native`]'s sessions.
pub fn native_env() -> (super::TestEnv, Native) {
    let env = super::TestEnv::new();
    let root = env.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let ids = native_store(&db_path(&env), &env.repo.path, root.trim());
    (env, ids)
}

/// A real OpenCode 2.x binary named by `OPENCODE_2X_BIN`, for the opt-in checks marked
/// `#[ignore]`: no 2.x binary is installable here, so they run only with
/// `OPENCODE_2X_BIN=… cargo test -- --ignored real_2x`.
pub struct Real2x(std::ffi::OsString);

impl Real2x {
    pub fn from_env() -> Real2x {
        Real2x(
            std::env::var_os("OPENCODE_2X_BIN")
                .expect("OPENCODE_2X_BIN must name an OpenCode 2.x binary for this check"),
        )
    }

    /// Runs the binary in `env`'s repository with `env`'s home and data directories; its
    /// stdout, after asserting that it succeeded.
    pub fn run(&self, env: &super::TestEnv, args: &[&str]) -> Vec<u8> {
        let out = std::process::Command::new(&self.0)
            .args(args)
            .current_dir(&env.repo.path)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &env.home)
            .env("XDG_DATA_HOME", &env.data_home)
            .env("XDG_CONFIG_HOME", env.home.join(".config"))
            .env("XDG_STATE_HOME", env.home.join(".state"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `session list --format json`, parsed.
    pub fn session_list(&self, env: &super::TestEnv) -> Value {
        let listed = self.run(
            env,
            &["session", "list", "--standalone", "--format", "json"],
        );
        serde_json::from_slice(&listed).unwrap()
    }
}
