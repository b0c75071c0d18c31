//! The fast paths of `pack` (issue 16) give the very bytes of the plain ones: rows written
//! straight from their stored text, and entries compressed on any number of threads.

use crate::common::fixtures::{parts_store, rich_store, Fixture};
use crate::common::{run, TestEnv};
use git_opencode::store::{Store, StoreLocation};

fn open_store(fixture: &dyn Fixture) -> Store {
    let data_dir = fixture.home().data_dir();
    Store::open(StoreLocation {
        db: data_dir.join("opencode.db"),
        data_dir,
    })
    .unwrap()
}

/// Every session the real OpenCode wrote (tools, a 75 KB bash output, a subagent, file
/// attachments, reasoning, a subtask, a compaction) takes the direct path, and it gives the
/// bytes of the parsed document printed.
#[test]
fn sessions_opencode_wrote_are_written_from_their_stored_text_byte_equal() {
    for fixture in [rich_store() as &dyn Fixture, parts_store()] {
        let store = open_store(fixture);
        let sessions = store.sessions().unwrap();
        for (label, id) in fixture.labels() {
            let session = sessions.iter().find(|s| s.id == id).unwrap();
            let direct = store
                .export_text_direct(session)
                .unwrap()
                .unwrap_or_else(|| panic!("{label} was not written from its stored text"));
            let parsed = git_opencode::json::pretty_line(&store.export_document(session).unwrap());
            assert!(
                direct == parsed,
                "{label}: direct and parsed differ\n{}\n---\n{}",
                String::from_utf8_lossy(&direct),
                String::from_utf8_lossy(&parsed)
            );
        }
    }
}

/// `pack` with `threads` workers (`GIT_OPENCODE_THREADS`), and `extra` arguments.
fn pack_with(env: &TestEnv, threads: &str, extra: &[&str]) -> Vec<u8> {
    let zip = env.root.join(format!("t{threads}{}.zip", extra.join("")));
    let mut args = vec!["pack", "-q", "-o", zip.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut cmd = env.cmd(&args);
    cmd.env("GIT_OPENCODE_THREADS", threads);
    run(cmd).success();
    std::fs::read(zip).unwrap()
}

/// The zip does not depend on how many threads compressed it, redacted or not.
#[test]
fn pack_is_byte_identical_whatever_the_thread_count() {
    let env = rich_store().copy_env();
    for extra in [&[][..], &["--redact"][..]] {
        let one = pack_with(&env, "1", extra);
        for threads in ["2", "3", "16"] {
            assert!(
                pack_with(&env, threads, extra) == one,
                "pack {extra:?} with {threads} threads differs from one thread"
            );
        }
    }
}

/// `push-sessions` renders and writes sessions on `GIT_OPENCODE_THREADS` workers: the
/// archive tree is the same with one thread and with several, redacted (the default) or not.
#[test]
fn push_sessions_writes_the_same_tree_whatever_the_thread_count() {
    let fixture = rich_store();
    for extra in [&[][..], &["--no-redact"][..]] {
        let mut trees = Vec::new();
        for threads in ["1", "3"] {
            let env = fixture.copy_env();
            let mut args = vec!["push-sessions", "-q"];
            args.extend_from_slice(extra);
            let mut cmd = env.cmd(&args);
            cmd.env("GIT_OPENCODE_THREADS", threads);
            run(cmd).success();
            let tree = env.git(&["rev-parse", "refs/heads/opencode/sessions^{tree}"]);
            let files = env.git(&[
                "ls-tree",
                "-r",
                "--name-only",
                "refs/heads/opencode/sessions",
            ]);
            assert_eq!(
                files
                    .lines()
                    .filter(|f| f.ends_with("/transcript.md"))
                    .count(),
                fixture.sessions().len(),
                "every session is archived with {threads} threads"
            );
            env.git(&["fsck", "--strict"]);
            trees.push(tree);
        }
        assert_eq!(
            trees[0], trees[1],
            "push-sessions {extra:?}: 1 vs 3 threads"
        );
    }
}

/// Rows OpenCode did not write in `JSON.stringify`'s form (a `\u0075` escape here) cannot be
/// written straight from their text: the workers hand them back and the reading thread
/// parses them. The zip and the archive tree are the very bytes the canonical rows give.
#[test]
fn rows_in_another_form_are_parsed_and_give_the_same_pack_and_tree() {
    let fixture = rich_store();
    let canonical = fixture.copy_env();
    let respelled = fixture.copy_env();
    let db = respelled.opencode.as_ref().unwrap().db_path();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let messages = conn
        .execute(
            r#"UPDATE message SET data = replace(data, '"role":"user"', '"role":"\u0075ser"')"#,
            [],
        )
        .unwrap();
    let parts = conn
        .execute(
            r#"UPDATE part SET data = replace(data, '"type":"text"', '"type":"\u0074ext"')"#,
            [],
        )
        .unwrap();
    drop(conn);
    assert!(
        messages > 0 && parts > 0,
        "{messages} messages, {parts} parts respelled"
    );

    for threads in ["1", "2"] {
        assert!(
            pack_with(&respelled, threads, &[]) == pack_with(&canonical, threads, &[]),
            "pack with {threads} threads differs once rows are respelled"
        );
    }
    // Redacted (the default), and as stored: there the canonical rows' session.json is the
    // text the worker wrote out of them, the respelled rows' the parsed document printed.
    for mode in [&[][..], &["--no-redact"][..]] {
        let tree = |env: &TestEnv| {
            run(env.cmd(&[&["push-sessions", "-q"], mode].concat())).success();
            env.git(&["fsck", "--strict"]);
            env.git(&["rev-parse", "refs/heads/opencode/sessions^{tree}"])
        };
        assert_eq!(tree(&respelled), tree(&canonical), "push-sessions {mode:?}");
    }
}

/// The blobs `push-sessions`' workers make ([`BlobMaker`]) are the objects git makes of the
/// same bytes, and an [`ObjectWriter`] puts them where git reads them: loose, or in a pack.
#[test]
fn ready_blobs_are_the_objects_git_would_write() {
    use git_opencode::git::{BlobMaker, Repo};
    let file_data: [&[u8]; 4] = [b"", b"hello\n", &[b'x'; 300_000], "漢字\n".as_bytes()];
    for expected_objects in [0, 1000] {
        let env = TestEnv::new();
        let repo = Repo::reopen(&env.repo.path.join(".git")).unwrap();
        let mut writer = repo.object_writer(expected_objects).unwrap();
        let mut maker = BlobMaker::new(writer.blob_format());
        let file = env.root.join("blob");
        let mut written = Vec::new();
        for data in file_data {
            let blob = maker.make(data).unwrap();
            let id = writer.write_blob("test", &blob).unwrap();
            assert_eq!(id, writer.write_blob("test", &blob).unwrap());
            std::fs::write(&file, data).unwrap();
            let expected = env.git(&["hash-object", file.to_str().unwrap()]);
            assert_eq!(id.to_string(), expected.trim());
            written.push((id, data));
        }
        writer.finish().unwrap();
        let packs = env.git(&["count-objects", "-v"]);
        let packed = if expected_objects == 0 { 0 } else { 1 };
        assert!(packs.contains(&format!("packs: {packed}\n")), "{packs}");
        for (id, data) in written {
            let size = env.git(&["cat-file", "-s", &id.to_string()]);
            assert_eq!(size.trim(), data.len().to_string());
            let out = crate::common::git::git_command(&env.repo.path)
                .args(["cat-file", "blob", &id.to_string()])
                .output()
                .unwrap();
            assert!(out.stdout == data, "{id}");
        }
        env.git(&["fsck", "--strict"]);
    }
}

/// A tree may name an object that another process packed after the repository was opened
/// (as a `git fetch` does before the archive is merged): the writer looks for new packs
/// before calling it missing.
#[test]
fn a_tree_may_name_an_object_packed_since_the_repository_was_opened() {
    use git_opencode::git::{Edit, Repo};
    use std::io::Write;
    let env = TestEnv::new();
    let repo = Repo::reopen(&env.repo.path.join(".git")).unwrap();
    // Reads the object store as it is now.
    repo.write_tree(None, vec![Edit::Blob("a".into(), b"a\n".to_vec())])
        .unwrap();
    let file = env.root.join("later");
    std::fs::write(&file, "packed later\n").unwrap();
    let id = env.git(&["hash-object", "-w", file.to_str().unwrap()]);
    let mut pack = crate::common::git::git_command(&env.repo.path)
        .args(["pack-objects", ".git/objects/pack/pack"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    pack.stdin.take().unwrap().write_all(id.as_bytes()).unwrap();
    assert!(pack.wait().unwrap().success());
    env.git(&["prune-packed"]);
    let id = id.trim().parse().unwrap();
    let tree = repo
        .write_tree(None, vec![Edit::BlobId("later".into(), id)])
        .unwrap();
    let listed = env.git(&["ls-tree", &tree.to_string()]);
    assert!(listed.contains(&format!("blob {id}\tlater")), "{listed}");
    env.git(&["fsck", "--strict"]);
}
