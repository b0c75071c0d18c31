//! `cargo bench --bench perf`: git-opencode against the naive ways, on stores that start
//! from one written by the real OpenCode 1.18.34 and are multiplied to 100, 1,000 and
//! 10,000 sessions (the last is the ~1 GB store, 1.3 GB). Prints one table with every figure.
//!
//! Generated stores are cached under `target/perf/` (the first run takes about a minute
//! more; all of it needs ~4 GB of disk). Knobs: `PERF_EXPORT_SAMPLE=<n>` runs the `opencode export` loop over n sessions
//! instead of all 100 and scales per session; `PERF_SKIP_10K=1` leaves out the 10,000-session
//! store; `PERF_PACK_ONLY=1` measures only `pack` against `zip -1`; `PERF_BIN=<path>`
//! measures another build of git-opencode.
//!
//! Beside them, a store of 1,000 small tool-heavy sessions (many short tool calls and text
//! parts, no attachment; ~13 MB), also multiplied from sessions the real OpenCode wrote: the
//! day-to-day store, where reading rows and not deflating attachments dominates.

#[path = "../it/common/mod.rs"]
mod common;
mod gen;
mod measure;

use measure::{bytes, mib, run, secs, Cmd, Sample, Table};
use serde_json::Value;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test: `cargo bench` builds it with the release profile; `PERF_BIN`
/// names another (an older build, to compare in the same conditions).
fn bin() -> String {
    std::env::var("PERF_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_git-opencode").to_owned())
}

fn main() {
    // `cargo test --benches` / `--all-targets` runs this without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("perf: benchmarks only run under `cargo bench --bench perf`");
        return;
    }
    let started = Instant::now();
    let load_start = load_average();
    check_ids();
    let skip_10k = std::env::var_os("PERF_SKIP_10K").is_some_and(|v| v != "0");
    let pack_only = std::env::var_os("PERF_PACK_ONLY").is_some_and(|v| v != "0");
    let base = gen::base();
    let s100 = gen::store(&base, 100, None);
    let s1000 = gen::store(&base, 1000, Some((100, &s100)));
    let s10000 = (!skip_10k).then(|| gen::store(&base, 10_000, Some((1000, &s1000))));
    let small_base = gen::small_base();
    let small1000 = gen::store(&small_base, 1000, None);
    let small2x = gen::native_2x(&small1000, "small1000-2x");
    let runs = gen::perf_dir().join("runs");
    let _ = fs::remove_dir_all(&runs);
    fs::create_dir_all(&runs).unwrap();

    let mut table = Table::default();
    let w100 = Work::new(&runs, "s100", &base, &s100);
    let pack100 = pack_vs_zip(&mut table, &w100, "100", 5, 1.0);
    if !pack_only {
        export_loop(&mut table, &w100, pack100);
    }

    let w1000 = Work::new(&runs, "s1000", &base, &s1000);
    pack_vs_zip(&mut table, &w1000, "1,000", 3, 1.0);
    let wsmall = Work::new(&runs, "small1000", &small_base, &small1000);
    pack_vs_zip(&mut table, &wsmall, "1,000 small", 7, 0.7);
    let wsmall2x = Work::new(&runs, "small1000-2x", &small_base, &small2x);
    pack_vs_zip(&mut table, &wsmall2x, "1,000 small (2.x)", 7, 0.7);
    let w10000 = s10000
        .as_ref()
        .map(|db| Work::new(&runs, "s10000", &base, db));
    if let Some(w) = &w10000 {
        let size = fs::metadata(&w.db).unwrap().len();
        let label = format!("10,000 ({:.2} GB)", size as f64 / 1e9);
        pack_vs_zip(&mut table, w, &label, 2, 1.0);
    }

    if pack_only {
        println!("\n{}", table.render());
        return;
    }
    let growth = push_sessions(&mut table, &w1000, "1,000", None);
    push_first_run(&mut table, &wsmall, "1,000 small");
    push_first_run(&mut table, &wsmall2x, "1,000 small (2.x)");
    if let Some(w) = &w10000 {
        push_sessions(&mut table, w, "10,000", Some(("1,000", growth)));
    }
    search_vs_git_grep(&mut table, &w1000, "1,000", 5);
    if let Some(w) = &w10000 {
        search_vs_git_grep(&mut table, w, "10,000", 3);
    }
    commit_hook(&mut table, &w1000, "1,000", 10);

    table.notes.push(format!(
        "Release build; warm page cache; times are medians. {}. Stores: the sessions of one \
         store written by OpenCode 1.18.34 (tools with a 75 KB bash output, a task parent and \
         its subagent child, an attachment, a plain chat; messages, parts, todos, events) \
         copied with fresh IDs and {}-hour steps into the past; attachments are data: URLs of \
         {}–{} KiB.",
        measure::rss_method(),
        gen::GROUP_STEP_MS / 3_600_000,
        gen::ATTACHMENT_KIB.iter().min().unwrap(),
        gen::ATTACHMENT_KIB.iter().max().unwrap(),
    ));
    table.notes.push(
        "The \"1,000 small\" store: five small tool-heavy sessions written by OpenCode 1.18.34 \
         (two turns of short write/read/edit/bash/todowrite calls and text answers each, ~47 \
         parts, no attachment) copied the same way, without the event log. \"(2.x)\": the \
         same store upgraded as OpenCode 2.x upgrades a 1.18 file (the 2.0.25 schema, the \
         V1→V2 import), its legacy rows then deleted: every session in `session_v2` and \
         `session_message` only, as in a store 2.x started with (no 2.x binary here)."
            .to_owned(),
    );
    table.notes.push(format!(
        "Machine: {} cores, {:.0} GiB RAM; load average {load_start} at the start, {} at the \
         end. Whole run: {}.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem_total_gib(),
        load_average(),
        secs(started.elapsed())
    ));
    println!("\n{}", table.render());
}

/// A private copy of the template repository and of one cached store.
struct Work {
    root: PathBuf,
    repo: PathBuf,
    db: PathBuf,
    env: Vec<(OsString, OsString)>,
}

impl Work {
    fn new(runs: &Path, name: &str, base: &gen::Base, store: &Path) -> Work {
        let root = runs.join(name);
        let repo = root.join("repo");
        let data = root.join("data");
        let db = data.join("opencode").join("opencode.db");
        fs::create_dir_all(db.parent().unwrap()).unwrap();
        fs::create_dir_all(root.join("home")).unwrap();
        common::fixtures::copy_dir_all(&base.repo, &repo);
        fs::copy(store, &db).unwrap();
        let bin = bin();
        let bin_dir = Path::new(&bin).parent().unwrap();
        let mut path = OsString::from(bin_dir);
        if let Some(p) = std::env::var_os("PATH") {
            path.push(":");
            path.push(p);
        }
        let mut env: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), path),
            ("HOME".into(), root.join("home").into()),
            ("XDG_DATA_HOME".into(), data.into()),
        ];
        env.extend(
            common::git::GIT_ENV
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        );
        let work = Work {
            root,
            repo,
            db,
            env,
        };
        work.git(&["config", "opencode.store", work.db.to_str().unwrap()]);
        work
    }

    fn ours(&self, args: &[&str]) -> Cmd {
        Cmd::new(bin(), &self.repo, &self.env).args(args)
    }

    fn git(&self, args: &[&str]) -> String {
        let (_, out) = run(&Cmd::new("git", &self.repo, &self.env).args(args), false);
        String::from_utf8(out).unwrap()
    }

    /// The database file and its `-wal`, when there is one.
    fn db_files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.db.clone()];
        let wal = PathBuf::from(format!("{}-wal", self.db.display()));
        if wal.is_file() {
            files.push(wal);
        }
        files
    }
}

/// "5.3× more" or "31× less".
fn times_more_or_less(ours: u64, theirs: u64) -> String {
    let (ours, theirs) = (ours.max(1) as f64, theirs.max(1) as f64);
    if ours >= theirs {
        format!("{:.1}× more", ours / theirs)
    } else {
        format!("{:.0}× less", theirs / ours)
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// `pack` against `zip -1` of the raw database files, which it should take at most `target`
/// times the time of; returns pack's sample.
fn pack_vs_zip(table: &mut Table, w: &Work, sessions: &str, reps: usize, target: f64) -> Sample {
    // Both commands write a new zip where the last run's was removed, through the same
    // shell: overwriting in place would have `pack` alone pay for replacing a file (ext4
    // flushes a file renamed over another, and `pack` renames its finished zip into place),
    // while `zip` would update the old archive instead of writing one.
    let pack_zip = w.root.join("pack.zip");
    let pack = Cmd::new("sh", &w.repo, &w.env)
        .args(["-c", "rm -f \"$0\" && exec \"$1\" pack -q -o \"$0\""])
        .arg(&pack_zip)
        .arg(bin());
    let raw_zip = w.root.join("raw.zip");
    let zip = Cmd::new("sh", &w.root, &w.env)
        .args(["-c", "rm -f \"$0\" && exec zip -q -1 \"$0\" \"$@\""])
        .arg(&raw_zip)
        .args(w.db_files());
    // Alternate so both see the same cache state.
    let mut pack_walls = Vec::new();
    let mut zip_walls = Vec::new();
    for _ in 0..reps {
        pack_walls.push(run(&pack, false).0.wall);
        zip_walls.push(run(&zip, false).0.wall);
    }
    let pack_rss = run(&pack, true).0.rss_kib;
    let zip_rss = run(&zip, true).0.rss_kib;
    let p = measure::median(&mut pack_walls);
    let z = measure::median(&mut zip_walls);
    let db_size: u64 = w
        .db_files()
        .iter()
        .map(|f| fs::metadata(f).unwrap().len())
        .sum();
    let r = ratio(p, z);
    table.row(
        "`pack` vs `zip -1 opencode.db*` (time)",
        sessions,
        format!(
            "{} → {}",
            secs(p),
            bytes(fs::metadata(&pack_zip).unwrap().len())
        ),
        format!(
            "{} of {} → {}",
            secs(z),
            bytes(db_size),
            bytes(fs::metadata(&raw_zip).unwrap().len())
        ),
        format!("{r:.2}× the time"),
        &format!("≤ {target}×"),
        Some(r <= target),
    );
    let (pr, zr) = (pack_rss.unwrap_or(0), zip_rss.unwrap_or(0));
    let big = sessions.starts_with("10,000");
    table.row(
        "`pack` vs `zip -1` (peak RSS)",
        sessions,
        mib(pr),
        mib(zr),
        times_more_or_less(pr, zr),
        if big { "< 150 MiB" } else { "" },
        big.then_some(pr < 150 * 1024),
    );
    Sample {
        wall: p,
        rss_kib: pack_rss,
    }
}

/// The naive approach: `opencode export <id> > file` for every session, then `zip`.
fn export_loop(table: &mut Table, w: &Work, pack: Sample) {
    let (_, listed) = run(&w.ours(&["list", "--json"]), false);
    let list: Vec<Value> = serde_json::from_slice(&listed).unwrap();
    let ids: Vec<String> = list
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let sample = std::env::var("PERF_EXPORT_SAMPLE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(ids.len())
        .clamp(1, ids.len());
    // OpenCode writes to the store it opens: give it its own copy and home.
    let oc =
        common::opencode::OpencodeHome::at(common::opencode::CURRENT, &w.root.join("opencode"), 0);
    fs::create_dir_all(oc.data_dir()).unwrap();
    fs::copy(&w.db, oc.db_path()).unwrap();
    let env: Vec<(OsString, OsString)> = oc.env();
    let out_dir = w.root.join("exports");
    fs::create_dir_all(&out_dir).unwrap();
    eprintln!(
        "perf: opencode export loop over {sample} of {} sessions…",
        ids.len()
    );
    let mut total = Duration::ZERO;
    let mut peak = 0;
    for id in &ids[..sample] {
        let cmd = Cmd::new(&oc.bin, &w.repo, &env)
            .args(["export", id])
            .stdout_to(&out_dir.join(format!("{id}.json")));
        let (s, _) = run(&cmd, true);
        total += s.wall;
        peak = peak.max(s.rss_kib.unwrap_or(0));
    }
    let zip = Cmd::new("zip", &w.root, &w.env).args(["-q", "-r", "exports.zip", "exports"]);
    let (z, _) = run(&zip, false);
    let per_session = total / sample as u32;
    let scaled = (total + z.wall).mul_f64(ids.len() as f64 / sample as f64);
    let how = if sample == ids.len() {
        format!("{} ({} per session)", secs(scaled), secs(per_session))
    } else {
        format!(
            "{} (measured over {sample}, scaled: {} per session)",
            secs(scaled),
            secs(per_session)
        )
    };
    let r = ratio(scaled, pack.wall);
    table.row(
        "`pack` vs `opencode export` loop + `zip` (time)",
        &ids.len().to_string(),
        secs(pack.wall),
        how,
        format!("{r:.0}× faster"),
        "≥ 200× faster",
        Some(r >= 200.0),
    );
    table.row(
        "`pack` vs `opencode export` (peak RSS)",
        &ids.len().to_string(),
        mib(pack.rss_kib.unwrap_or(0)),
        mib(peak),
        times_more_or_less(pack.rss_kib.unwrap_or(0), peak),
        "",
        None,
    );
}

/// Loose and packed object files of a repository with their sizes.
fn object_files(repo: &Path) -> HashMap<PathBuf, u64> {
    let mut files = HashMap::new();
    let objects = repo.join(".git").join("objects");
    for dir in fs::read_dir(&objects).unwrap().flatten() {
        let name = dir.file_name();
        let name = name.to_string_lossy();
        if name.len() == 2 || name == "pack" {
            for f in fs::read_dir(dir.path()).unwrap().flatten() {
                files.insert(f.path(), f.metadata().unwrap().len());
            }
        }
    }
    files
}

/// `size` + `size-pack` of `git count-objects -v`, in KiB.
fn count_objects_kib(w: &Work) -> u64 {
    w.git(&["count-objects", "-v"])
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(": ")?;
            (k == "size" || k == "size-pack").then(|| v.trim().parse::<u64>().ok())?
        })
        .sum()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The most recently updated sessions with a long tool output (copies of the template's
/// "Tools" session): the ones a user would continue.
fn recent_tool_sessions(db: &Path, n: usize) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT id FROM session WHERE parent_id IS NULL AND title LIKE 'Tools%' \
             ORDER BY time_updated DESC LIMIT ?1",
        )
        .unwrap();
    stmt.query_map([n as i64], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Sum of the archived files of `session` (`git ls-tree -l`).
fn archived_size(w: &Work, session: &str) -> u64 {
    w.git(&["ls-tree", "-r", "-l", "refs/heads/opencode/sessions"])
        .lines()
        .filter(|l| l.contains(session))
        .filter_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
        .sum()
}

/// `push-sessions` archiving every session of `w` (there must be no archive yet): its time
/// and its peak RSS, which must stay bounded however many sessions there are.
fn push_first_run(table: &mut Table, w: &Work, sessions: &str) {
    let (first, _) = run(&w.ours(&["push-sessions", "-q"]), true);
    let rss = first.rss_kib.unwrap_or(0);
    table.row(
        "`push-sessions`, first run (archive everything)",
        sessions,
        format!("{}, {} RSS", secs(first.wall), mib(rss)),
        format!("archive {} KiB on disk", count_objects_kib(w)),
        String::new(),
        "< 150 MiB RSS",
        Some(rss < 150 * 1024),
    );
}

/// First, unchanged and one-changed-session runs; returns the growth per commit (bytes of new
/// objects), which at a larger size is compared with `smaller` (label, growth).
fn push_sessions(table: &mut Table, w: &Work, sessions: &str, smaller: Option<(&str, u64)>) -> u64 {
    let push = w.ours(&["push-sessions", "-q"]);
    push_first_run(table, w, sessions);
    let nothing = measure::measure(&push, 7, true);
    let small = sessions == "1,000";
    table.row(
        "`push-sessions`, nothing changed",
        sessions,
        format!(
            "{}, {} RSS",
            secs(nothing.wall),
            mib(nothing.rss_kib.unwrap_or(0))
        ),
        String::new(),
        String::new(),
        if small { "< 50 ms" } else { "" },
        small.then_some(nothing.wall < Duration::from_millis(50)),
    );
    let targets = recent_tool_sessions(&w.db, 3);
    let mut walls = Vec::new();
    let mut growth = Vec::new();
    let mut disk = Vec::new();
    let mut manifests = Vec::new();
    let mut session_size = 0;
    for (i, session) in targets.iter().enumerate() {
        gen::continue_session(&w.db, session, now_ms(), 7 + i as u64);
        let before = object_files(&w.repo);
        let kib_before = count_objects_kib(w);
        let (s, _) = run(&push, false);
        walls.push(s.wall);
        let after = object_files(&w.repo);
        growth.push(
            after
                .iter()
                .filter(|(p, _)| !before.contains_key(*p))
                .map(|(_, n)| *n)
                .sum::<u64>(),
        );
        disk.push(count_objects_kib(w) - kib_before);
        // The session's month index: the one listing that grows with the archive (per month).
        let files = w.git(&[
            "ls-tree",
            "-r",
            "--name-only",
            "refs/heads/opencode/sessions",
        ]);
        let month_dir = files
            .lines()
            .find(|f| f.ends_with(&format!("/{session}/session.json")))
            .and_then(|f| f.rsplitn(3, '/').nth(2))
            .expect("the changed session is archived")
            .to_owned();
        let manifest = w.git(&[
            "rev-parse",
            &format!("refs/heads/opencode/sessions:{month_dir}/index.json"),
        ]);
        let manifest = manifest.trim();
        let object = w
            .repo
            .join(".git/objects")
            .join(&manifest[..2])
            .join(&manifest[2..]);
        manifests.push(after.get(&object).copied().unwrap_or(0));
        session_size = archived_size(w, session);
    }
    let middle = |v: &mut Vec<u64>| {
        v.sort();
        v[(v.len() - 1) / 2]
    };
    let (g, d, m) = (
        middle(&mut growth),
        middle(&mut disk),
        middle(&mut manifests),
    );
    table.row(
        "`push-sessions`, one session changed",
        sessions,
        secs(measure::median(&mut walls)),
        String::new(),
        String::new(),
        "",
        None,
    );
    // What `git push` of that commit sends: a thin pack, the manifest as a delta.
    let old = w.git(&["rev-parse", "refs/heads/opencode/sessions"]);
    gen::continue_session(&w.db, &targets[0], now_ms(), 99);
    run(&push, false);
    let new = w.git(&["rev-parse", "refs/heads/opencode/sessions"]);
    let thin = Cmd::new("sh", &w.repo, &w.env)
        .args([
            "-c",
            "printf '%s\\n^%s\\n' \"$0\" \"$1\" | git pack-objects --revs --thin --stdout -q | wc -c",
        ])
        .args([new.trim(), old.trim()]);
    let thin: u64 = String::from_utf8(run(&thin, false).1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (what, target, ok) = match smaller {
        None => (
            "archive growth per commit, one session changed".to_owned(),
            "",
            None,
        ),
        Some((label, before)) => (
            format!("archive growth per commit, one session changed (vs {label})"),
            "≈ 1× (∝ session)",
            Some((g as f64) < before as f64 * 1.5),
        ),
    };
    table.row(
        &what,
        sessions,
        format!(
            "{} new objects ({d} KiB on disk), month index {}",
            bytes(g),
            bytes(m)
        ),
        match smaller {
            None => format!("changed session's files: {}", bytes(session_size)),
            Some((label, before)) => format!("{} at {label} sessions", bytes(before)),
        },
        match smaller {
            None => format!("{:.2}× the session", g as f64 / session_size.max(1) as f64),
            Some((_, before)) => format!("{:.1}×", g as f64 / before.max(1) as f64),
        },
        target,
        ok,
    );
    table.row(
        "the same commit as a thin pack (what `git push` sends)",
        sessions,
        bytes(thin),
        String::new(),
        String::new(),
        "",
        None,
    );
    g
}

/// The pattern `search` looks for: the tools sessions' bash output (a fifth of the
/// sessions, two lines each), in Unicode.
const SEARCH_PATTERN: &str = "bash says 🐚 こんにちは";

/// `search` against `git grep -F` over the archive's transcripts (what a user without
/// git-opencode would run), after `push-sessions` archived every session: from the store with
/// the archive beside it (each session read once, from the store), and from the archive alone
/// (a clone with no OpenCode store). Both find the same sessions.
fn search_vs_git_grep(table: &mut Table, w: &Work, sessions: &str, reps: usize) {
    let grep = Cmd::new("git", &w.repo, &w.env).args([
        "grep",
        "-F",
        SEARCH_PATTERN,
        "refs/heads/opencode/sessions",
        "--",
        "sessions/*/transcript.md",
    ]);
    let no_store = w.root.join("no-store");
    fs::create_dir_all(&no_store).unwrap();
    let ours = w.ours(&["search", SEARCH_PATTERN]);
    let archive_only = w.ours(&[
        "--store",
        no_store.to_str().unwrap(),
        "search",
        SEARCH_PATTERN,
    ]);
    // The same sessions, each once: git grep's paths name them.
    let (_, grepped) = run(&grep, false);
    let mut theirs: Vec<String> = String::from_utf8(grepped)
        .unwrap()
        .lines()
        .filter_map(|l| l.split('/').nth(5).map(str::to_owned))
        .collect();
    theirs.sort();
    theirs.dedup();
    for cmd in [&ours, &archive_only] {
        let (_, found) = run(&cmd.clone().arg("-l"), false);
        let mut found: Vec<String> = String::from_utf8(found)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let listed = found.len();
        found.sort();
        found.dedup();
        assert_eq!(listed, found.len(), "search listed a session twice");
        assert_eq!(found, theirs, "search and git grep found other sessions");
    }
    let (mut ours_walls, mut archive_walls, mut grep_walls) = (Vec::new(), Vec::new(), Vec::new());
    // Alternate so that all three see the same cache state.
    for _ in 0..reps {
        ours_walls.push(run(&ours, false).0.wall);
        archive_walls.push(run(&archive_only, false).0.wall);
        grep_walls.push(run(&grep, false).0.wall);
    }
    let g = measure::median(&mut grep_walls);
    for (what, walls) in [
        (
            "`search` (store and archive) vs `git grep -F` of the transcripts",
            &mut ours_walls,
        ),
        (
            "`search` (archive alone, no store) vs `git grep -F`",
            &mut archive_walls,
        ),
    ] {
        let t = measure::median(walls);
        let r = ratio(t, g);
        table.row(
            what,
            sessions,
            format!("{} ({} sessions match)", secs(t), theirs.len()),
            secs(g),
            format!("{r:.2}× the time"),
            "≤ 2×",
            Some(r <= 2.0),
        );
    }
}

/// `git commit` without and with the post-commit hook.
fn commit_hook(table: &mut Table, w: &Work, sessions: &str, commits: usize) {
    let mut counter = 0;
    let mut commit = |w: &Work| {
        counter += 1;
        fs::write(w.repo.join("perf.txt"), format!("commit {counter}\n")).unwrap();
        w.git(&["add", "perf.txt"]);
        let msg = format!("perf commit {counter}");
        run(
            &Cmd::new("git", &w.repo, &w.env).args(["commit", "-q", "-m", &msg]),
            false,
        )
        .0
        .wall
    };
    let mut without: Vec<Duration> = (0..commits).map(|_| commit(w)).collect();
    run(&w.ours(&["hook", "install", "--post-commit"]), false);
    let tip = || w.git(&["rev-parse", "refs/heads/opencode/sessions"]);
    let mut with: Vec<Duration> = (0..commits).map(|_| commit(w)).collect();
    let last_run = fs::read_to_string(w.repo.join(".git/git-opencode/hook-last-run.json"))
        .expect("the post-commit hook ran");
    assert!(last_run.contains("\"ok\":true"), "hook failed: {last_run}");
    let targets = recent_tool_sessions(&w.db, commits);
    let mut changed = Vec::new();
    for (i, session) in targets.iter().enumerate() {
        gen::continue_session(&w.db, session, now_ms(), 100 + i as u64);
        let old = tip();
        changed.push(commit(w));
        assert_ne!(old, tip(), "the hook did not archive the changed session");
    }
    let p50_without = measure::median(&mut without);
    let p50_with = measure::median(&mut with);
    let p50_changed = measure::median(&mut changed);
    let overhead = p50_with.saturating_sub(p50_without);
    table.row(
        "`git commit` with post-commit hook, nothing changed (p50)",
        sessions,
        format!("{} (+{})", secs(p50_with), secs(overhead)),
        format!("{} without the hook", secs(p50_without)),
        format!("+{}", secs(overhead)),
        "< +100 ms",
        Some(overhead < Duration::from_millis(100)),
    );
    let overhead = p50_changed.saturating_sub(p50_without);
    table.row(
        "`git commit` with post-commit hook, one session changed (p50)",
        sessions,
        format!("{} (+{})", secs(p50_changed), secs(overhead)),
        format!("{} without the hook", secs(p50_without)),
        format!("+{}", secs(overhead)),
        "",
        None,
    );
}

/// The 1-minute load average (other work on the machine skews the figures).
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn mem_total_gib() -> f64 {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1048576.0)
}

/// The generated IDs keep OpenCode's format and order.
fn check_ids() {
    let mut rng = gen::Rng::new(1);
    let ses = "ses_de8edc192ffeg9cxShAzVh6lwH";
    let prt = "prt_217125e7f001SuqfOduuruTsr1";
    let older_ses = gen::shift_id(ses, 1000, &mut rng);
    let older_prt = gen::shift_id(prt, 1000, &mut rng);
    assert_eq!(older_ses.len(), ses.len());
    assert!(
        older_ses.as_str() > ses,
        "ses_ IDs descend: older sorts later"
    );
    assert!(
        older_prt.as_str() < prt,
        "prt_ IDs ascend: older sorts earlier"
    );
}
