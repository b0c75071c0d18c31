//! Benchmark stores: a store written by the real OpenCode 1.18.34, multiplied.
//!
//! The template is [`common::fixtures::rich_store`]: five sessions (tools with a long bash
//! output, a task parent and its subagent child, an attachment, a plain chat) with their
//! messages, parts, todos and events. A store of N sessions is a copy of that database plus
//! groups of the five sessions copied with SQL in one transaction, each group:
//! - shifted [`GROUP_STEP_MS`] further into the past, with fresh IDs in OpenCode's format
//!   (`ses_` descending, `msg_`/`prt_`/`evt_` ascending: 12 hex of `ms * 4096 + counter`,
//!   then 14 base62) whose time part is the template ID's shifted by the same amount, so IDs
//!   stay unique and keep OpenCode's order;
//! - with every ID inside the JSON data (parentID, task metadata, events) remapped, so
//!   subagent children keep their `parent_id`;
//! - with the 1x1 PNG attachment replaced by a `data:` URL of realistic size (tens to
//!   hundreds of KB of incompressible bytes, like a screenshot).
//!
//! A second template, [`small_base`], is five small tool-heavy sessions (many short tool
//! calls and text parts, no attachment), also written by the real OpenCode 1.18.34 and
//! multiplied the same way: the day-to-day store of issue 16.
//!
//! Stores are cached under `target/perf/stores/` and only rebuilt when [`GENERATOR`] changes.

use crate::common;
use rusqlite::types::Value as Sql;
use rusqlite::Connection;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bump when the generated content changes, to invalidate cached stores.
pub const GENERATOR: &str = "perf-store-v2";
/// How far apart in time consecutive copies of the template are (6 hours).
pub const GROUP_STEP_MS: i64 = 6 * 3600 * 1000;
/// Attachment sizes (raw bytes before base64) the groups cycle through, in KiB.
pub const ATTACHMENT_KIB: &[usize] = &[8, 24, 48, 96, 16, 64, 32, 88];

/// Tables copied per session, with the column naming the session they belong to.
const TABLES: &[(&str, &str)] = &[
    ("session", "id"),
    ("message", "session_id"),
    ("part", "session_id"),
    ("todo", "session_id"),
    ("session_share", "session_id"),
    ("session_message", "session_id"),
    ("session_input", "session_id"),
    ("session_context_epoch", "session_id"),
    ("event_sequence", "aggregate_id"),
    ("event", "aggregate_id"),
];

/// The cached base: the real OpenCode fixture's repository and a consistent copy of its DB.
pub struct Base {
    pub dir: PathBuf,
    pub repo: PathBuf,
    pub db: PathBuf,
    /// Names the cached stores built from this base (`s1000`, `small1000`).
    pub prefix: &'static str,
    /// Whether copies keep OpenCode's event log (`event`, `event_sequence`).
    pub events: bool,
}

/// `<target>/perf`.
pub fn perf_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent")
        .join("perf")
}

/// The base store, generated with the real OpenCode on first use (~20 s) and cached.
pub fn base() -> Base {
    cached_base("base", "s", true, || {
        let fixture = common::fixtures::rich_store();
        (fixture.repo.path.clone(), fixture.home.open_db())
    })
}

/// The small-sessions base: five tool-heavy sessions of short tool calls and text parts,
/// written by the real OpenCode on first use (~40 s) and cached. Its stores leave out the
/// event log: 1.18.34 logs ~110 KB of events per such session, which `pack` never reads but
/// `zip -1` of the file would compress (4x the session data), and stores of day-to-day use
/// like issue 16's (13 KB per session) hold no such log.
pub fn small_base() -> Base {
    cached_base("small-base", "small", false, small_template)
}

/// The base in `perf/<name>`, made by `make` (a repository and an open store) when missing.
fn cached_base(
    name: &str,
    prefix: &'static str,
    events: bool,
    make: impl FnOnce() -> (PathBuf, Connection),
) -> Base {
    let dir = perf_dir().join(name);
    let base = Base {
        repo: dir.join("repo"),
        db: dir.join("opencode.db"),
        dir,
        prefix,
        events,
    };
    let marker = base.dir.join(".done");
    let stamp = format!("{} {GENERATOR}", common::opencode::CURRENT);
    if fs::read_to_string(&marker).ok().as_deref() == Some(stamp.as_str()) {
        return base;
    }
    eprintln!(
        "perf: generating the {name} template store with the real OpenCode {}…",
        common::opencode::CURRENT
    );
    let _ = fs::remove_dir_all(&base.dir);
    fs::create_dir_all(&base.dir).unwrap();
    let (repo, src) = make();
    common::fixtures::copy_dir_all(&repo, &base.repo);
    // VACUUM INTO: one consistent file with the -wal's pages in it; the fixture is untouched.
    src.execute("VACUUM INTO ?1", [base.db.to_str().unwrap()])
        .unwrap();
    drop(src);
    fs::write(&marker, stamp).unwrap();
    base
}

/// Runs the real OpenCode for [`small_base`]: five sessions, each two turns of short tool
/// calls (write, read, edit, bash, todowrite) and short text answers.
fn small_template() -> (PathBuf, Connection) {
    use common::fake_llm::{script, FakeLlm, Step};
    let root = common::fixtures::fixture_dir("small");
    let repo = common::git::Repo::init(&root.join("repo"));
    repo.write("src/main.rs", "fn main() {\n    println!(\"hello\");\n}\n");
    repo.commit_all("add sources");
    let llm = FakeLlm::start();
    let home = common::opencode::OpencodeHome::at(
        common::opencode::CURRENT,
        &root.join("opencode"),
        llm.port(),
    );
    for i in 0..5 {
        let file = format!("src/mod{i}.rs");
        let first = [
            Step::write(&file, &format!("pub fn f{i}() -> u32 {{\n    {i}\n}}\n")),
            Step::read(&file),
            Step::edit(&file, &format!("    {i}\n"), &format!("    {i} + 1\n")),
            Step::bash(&format!("wc -l {file}"), "count lines"),
            Step::bash("git status --short", "show changes"),
            Step::todowrite(&[
                ("add the module", "completed", "high"),
                ("wire it into main", "in_progress", "medium"),
                ("run the tests", "pending", "low"),
            ]),
            Step::bash("ls src", "list sources"),
            Step::reply(&format!(
                "Added `{file}` with `f{i}`, which now returns {i} + 1. Next I will wire it \
                 into `main` and run the tests."
            )),
        ];
        let title = format!("Small {i}");
        let prompt = format!("Add module {i}\n{}", script(&first));
        let id = home
            .run(&repo.path, &prompt, &["--title", &title])
            .session_id;
        let second = [
            Step::read("src/main.rs"),
            Step::edit(
                "src/main.rs",
                "fn main() {\n",
                &format!("mod mod{i};\n\nfn main() {{\n"),
            ),
            Step::bash("grep -c mod src/main.rs", "check the module line"),
            Step::bash(&format!("head -n 3 {file}"), "show the module"),
            Step::todowrite(&[
                ("add the module", "completed", "high"),
                ("wire it into main", "completed", "medium"),
                ("run the tests", "completed", "low"),
            ]),
            Step::reply("Wired the module into `main`; everything is in place."),
        ];
        let prompt = format!("Now wire it in\n{}", script(&second));
        home.continue_session(&repo.path, &id, &prompt, &[]);
    }
    home.stop_llm_and_wait(llm);
    repo.commit_all("agent work");
    (repo.path.clone(), home.open_db())
}

/// The cached store of `sessions` sessions (a multiple of 5), building it from the next
/// smaller cached one (or the base) when missing.
pub fn store(base: &Base, sessions: usize, smaller: Option<(usize, &Path)>) -> PathBuf {
    let dir = perf_dir()
        .join("stores")
        .join(format!("{}{sessions}", base.prefix));
    let db = dir.join("opencode.db");
    let marker = dir.join(".done");
    let stamp = format!("{GENERATOR}{}", if base.events { "" } else { " no-events" });
    if fs::read_to_string(&marker).ok().as_deref() == Some(stamp.as_str()) && db.is_file() {
        return db;
    }
    let start = Instant::now();
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let (from_sessions, from_db) = smaller.unwrap_or((0, &base.db));
    fs::copy(from_db, &db).unwrap();
    let conn = Connection::open(&db).unwrap();
    let template = Template::read(&Connection::open(&base.db).unwrap(), base.events);
    let per_group = template.sessions.len();
    let first_group = from_sessions.max(per_group) / per_group;
    let groups = sessions / per_group;
    eprintln!("perf: generating a store of {sessions} sessions (groups {first_group}..{groups})…");
    conn.execute_batch("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN")
        .unwrap();
    if !base.events {
        conn.execute_batch("DELETE FROM event; DELETE FROM event_sequence")
            .unwrap();
    }
    let payloads: Vec<String> = ATTACHMENT_KIB
        .iter()
        .enumerate()
        .map(|(i, kib)| base64(&random_bytes(kib * 1024, 0x5eed + i as u64)))
        .collect();
    for group in first_group..groups {
        let payload = &payloads[group % payloads.len()];
        template.copy(&conn, group as u64, group as i64 * GROUP_STEP_MS, payload);
    }
    conn.execute_batch("COMMIT; PRAGMA journal_mode=WAL; PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    if !base.events {
        // The rows deleted from the base copy leave free pages: give them back.
        conn.execute_batch("VACUUM").unwrap();
    }
    drop(conn);
    let size = fs::metadata(&db).unwrap().len();
    eprintln!(
        "perf: store of {sessions} sessions: {:.1} MB, generated in {:.1?}",
        size as f64 / 1e6,
        start.elapsed()
    );
    fs::write(&marker, stamp).unwrap();
    db
}

/// A copy of the store `from` as OpenCode 2.x holds the same sessions when it wrote them
/// itself: `from` upgraded the way 2.x upgrades a 1.18 file on its first start (the tests'
/// [`common::upgrade2`]: the 2.0.25 schema, each session through the V1→V2 import into
/// `session_v2` and `session_message`), then the legacy rows deleted and the file vacuumed,
/// so that, as in a store 2.x started with, every session is in 2.x's tables only. No 2.x
/// binary can be installed here; the sessions are still those the real 1.18.34 wrote.
pub fn native_2x(from: &Path, name: &str) -> PathBuf {
    let dir = perf_dir().join("stores").join(name);
    let db = dir.join("opencode.db");
    let marker = dir.join(".done");
    let source = fs::metadata(from).unwrap();
    let stamp = format!("{GENERATOR} 2x of {} bytes", source.len());
    if fs::read_to_string(&marker).ok().as_deref() == Some(stamp.as_str()) && db.is_file() {
        return db;
    }
    let start = Instant::now();
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::copy(from, &db).unwrap();
    eprintln!("perf: upgrading a copy of {} to 2.x…", from.display());
    let report = common::upgrade2::upgrade_to_2x(&db);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF; BEGIN;
         DELETE FROM part; DELETE FROM message; DELETE FROM todo;
         DELETE FROM session_share; DELETE FROM session;
         COMMIT; VACUUM; PRAGMA journal_mode=WAL; PRAGMA wal_checkpoint(TRUNCATE)",
    )
    .unwrap();
    drop(conn);
    eprintln!(
        "perf: 2.x store of {} sessions: {:.1} MB, made in {:.1?}",
        report.sessions.len(),
        fs::metadata(&db).unwrap().len() as f64 / 1e6,
        start.elapsed()
    );
    fs::write(&marker, stamp).unwrap();
    db
}

/// The template rows, by table.
struct Template {
    sessions: Vec<String>,
    tables: Vec<TableRows>,
    /// Every ID in the template that a copy renames.
    ids: Vec<String>,
    /// The template attachment's base64 payload (the small template has none).
    png: Option<String>,
}

struct TableRows {
    insert: String,
    columns: Vec<String>,
    rows: Vec<Vec<Sql>>,
}

impl Template {
    fn read(conn: &Connection, events: bool) -> Template {
        let sessions: Vec<String> = query_strings(conn, "SELECT id FROM session ORDER BY id");
        let tables_present: Vec<String> =
            query_strings(conn, "SELECT name FROM sqlite_master WHERE type = 'table'");
        let mut tables = Vec::new();
        for (table, key) in TABLES {
            let event_log = table.starts_with("event");
            if !tables_present.iter().any(|t| t == table) || (event_log && !events) {
                continue;
            }
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
                .unwrap();
            let columns: Vec<String> = stmt.column_names().map(String::from).collect();
            let key_index = columns.iter().position(|c| c == key).unwrap();
            let n = columns.len();
            let rows: Vec<Vec<Sql>> = stmt
                .query_map([], |r| (0..n).map(|i| r.get::<_, Sql>(i)).collect())
                .unwrap()
                .map(Result::unwrap)
                .filter(|row: &Vec<Sql>| {
                    matches!(&row[key_index], Sql::Text(s) if sessions.contains(s))
                })
                .collect();
            let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
            let marks = vec!["?"; n].join(", ");
            let insert = format!(
                "INSERT INTO \"{table}\" ({}) VALUES ({marks})",
                names.join(", ")
            );
            tables.push(TableRows {
                insert,
                columns,
                rows,
            });
        }
        let mut ids = sessions.clone();
        for sql in [
            "SELECT id FROM message",
            "SELECT id FROM part",
            "SELECT id FROM event",
        ] {
            if let Ok(mut stmt) = conn.prepare(sql) {
                ids.extend(
                    stmt.query_map([], |r| r.get::<_, String>(0))
                        .unwrap()
                        .map(Result::unwrap),
                );
            }
        }
        let png = query_strings(
            conn,
            "SELECT data FROM part WHERE data LIKE '%data:image/png;base64,%'",
        )
        .first()
        .map(|data| {
            let start = data.find("base64,").unwrap() + "base64,".len();
            let end = start + data[start..].find('"').unwrap();
            data[start..end].to_owned()
        });
        Template {
            sessions,
            tables,
            ids,
            png,
        }
    }

    /// Inserts one copy of every template row, `offset_ms` earlier, with fresh IDs.
    fn copy(&self, conn: &Connection, group: u64, offset_ms: i64, payload: &str) {
        let mut rng = Rng::new(group.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xbe7c);
        let map: HashMap<&str, String> = self
            .ids
            .iter()
            .map(|id| (id.as_str(), shift_id(id, offset_ms, &mut rng)))
            .collect();
        for table in &self.tables {
            let mut stmt = conn.prepare_cached(&table.insert).unwrap();
            for row in &table.rows {
                let values: Vec<Sql> = row
                    .iter()
                    .zip(&table.columns)
                    .map(|(value, column)| match value {
                        Sql::Text(text) => {
                            let mut text = remap_ids(text, &map);
                            if let Some(png) = self.png.as_deref() {
                                if text.contains(png) {
                                    text = text.replace(png, payload);
                                }
                            }
                            if column == "title" {
                                text = format!("{text} #{group}");
                            }
                            Sql::Text(text)
                        }
                        Sql::Integer(t) if column.starts_with("time_") => {
                            Sql::Integer(t - offset_ms)
                        }
                        other => other.clone(),
                    })
                    .collect();
                stmt.execute(rusqlite::params_from_iter(values)).unwrap();
            }
        }
    }
}

fn query_strings(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Appends a turn to `session` as OpenCode continuing it would: a copy of its last user
/// message and everything after it (messages and parts, fresh ascending IDs, now), and a
/// newer `time_updated`. Returns the bytes of message and part data added.
pub fn continue_session(db: &Path, session: &str, now_ms: i64, seed: u64) -> usize {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA busy_timeout=5000; BEGIN IMMEDIATE")
        .unwrap();
    let last_user: (String, i64) = conn
        .query_row(
            "SELECT id, time_created FROM message WHERE session_id = ?1 \
             AND json_extract(data, '$.role') = 'user' ORDER BY time_created DESC, id DESC LIMIT 1",
            [session],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let max_time: i64 = conn
        .query_row(
            "SELECT max(time_created) FROM message WHERE session_id = ?1",
            [session],
            |r| r.get(0),
        )
        .unwrap();
    // Shift forward so the copied turn starts after everything in the session.
    let offset_ms = last_user.1 - now_ms.max(max_time + 1);
    let mut rng = Rng::new(seed);
    let messages: Vec<(String, Vec<Sql>)> = rows(
        &conn,
        "SELECT id, * FROM message WHERE session_id = ?1 AND (time_created > ?2 OR (time_created = ?2 AND id >= ?3)) ORDER BY time_created, id",
        rusqlite::params![session, last_user.1, last_user.0],
    );
    let message_ids: Vec<&str> = messages.iter().map(|(id, _)| id.as_str()).collect();
    let mut parts = Vec::new();
    for id in &message_ids {
        parts.extend(rows(
            &conn,
            "SELECT id, * FROM part WHERE message_id = ?1 ORDER BY id",
            rusqlite::params![id],
        ));
    }
    let mut map: HashMap<&str, String> = HashMap::new();
    for (id, _) in messages.iter().chain(&parts) {
        map.insert(id.as_str(), shift_id(id, offset_ms, &mut rng));
    }
    let mut added = 0;
    for (table, list) in [("message", &messages), ("part", &parts)] {
        for (_, row) in list {
            let columns = column_names(&conn, table);
            let values: Vec<Sql> = row
                .iter()
                .zip(&columns)
                .map(|(value, column)| match value {
                    Sql::Text(text) => {
                        let text = remap_ids(text, &map);
                        if column == "data" {
                            added += text.len();
                        }
                        Sql::Text(text)
                    }
                    Sql::Integer(t) if column.starts_with("time_") => Sql::Integer(t - offset_ms),
                    other => other.clone(),
                })
                .collect();
            let marks = vec!["?"; values.len()].join(", ");
            conn.execute(
                &format!("INSERT INTO {table} VALUES ({marks})"),
                rusqlite::params_from_iter(values),
            )
            .unwrap();
        }
    }
    conn.execute(
        "UPDATE session SET time_updated = ?2 WHERE id = ?1",
        rusqlite::params![session, now_ms.max(max_time + 1) + 1000],
    )
    .unwrap();
    conn.execute_batch("COMMIT").unwrap();
    added
}

/// Rows of `sql`, each as (first column as text, the remaining columns).
fn rows(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Vec<(String, Vec<Sql>)> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map(params, |r| {
        let id: String = r.get(0)?;
        let rest = (1..n)
            .map(|i| r.get::<_, Sql>(i))
            .collect::<Result<_, _>>()?;
        Ok((id, rest))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn column_names(conn: &Connection, table: &str) -> Vec<String> {
    let stmt = conn
        .prepare(&format!("SELECT * FROM {table} LIMIT 0"))
        .unwrap();
    stmt.column_names().map(String::from).collect()
}

/// The ID prefixes OpenCode uses for the rows a copy renames; `ses_` IDs are descending.
const PREFIXES: &[(&str, bool)] = &[
    ("ses", true),
    ("msg", false),
    ("prt", false),
    ("evt", false),
];
const ID_LEN: usize = 4 + 12 + 14;

/// `id` with its time part moved `offset_ms` into the past and a fresh random part.
pub fn shift_id(id: &str, offset_ms: i64, rng: &mut Rng) -> String {
    let (prefix, rest) = id.split_at(4);
    let descending = PREFIXES
        .iter()
        .find(|(p, _)| prefix.starts_with(p))
        .unwrap_or_else(|| panic!("unknown ID prefix in {id}"))
        .1;
    let mask = (1u64 << 48) - 1;
    let raw = u64::from_str_radix(&rest[..12], 16).unwrap();
    let value = if descending { !raw & mask } else { raw };
    let shifted = (value as i64 - offset_ms * 4096) as u64 & mask;
    let encoded = if descending { !shifted & mask } else { shifted };
    format!("{prefix}{encoded:012x}{}", rng.base62(14))
}

/// `text` with every template ID (a known prefix, `_`, 26 characters) replaced by `map`'s.
fn remap_ids(text: &str, map: &HashMap<&str, String>) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find('_') {
        let underscore = from + found;
        from = underscore + 1;
        if underscore < 3 || underscore + 27 > bytes.len() {
            continue;
        }
        let start = underscore - 3;
        let Some(candidate) = text.get(start..start + ID_LEN) else {
            continue;
        };
        if let Some(new) = map.get(candidate) {
            out.push_str(&text[copied..start]);
            out.push_str(new);
            copied = start + ID_LEN;
            from = copied;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// xorshift64*: deterministic, so the same store is generated every time.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn base62(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..n)
            .map(|_| ALPHABET[(self.next() % 62) as usize] as char)
            .collect()
    }
}

fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(n);
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
