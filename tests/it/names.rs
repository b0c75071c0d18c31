//! What a name on the command line means: a ref or a file (`verify`/`restore <ZIP|REF>`),
//! which ref names an archive may take (`--ref`), and where `pack -o` may write.

use crate::common::fixtures::{rich_store, Fixture};
use crate::common::git::git_in;
use crate::common::{file_names, file_sha256, Scrub, TestEnv};
use std::os::unix::fs::{symlink, FileTypeExt};
use std::path::Path;

const ARCHIVE: &str = "refs/heads/opencode/sessions";

/// A name git resolves as a ref is that ref, even where a file of that name exists relative
/// to the current directory: the loose ref file itself in a bare repository or inside
/// `.git`, or a file in the work tree named like the short ref. `./name` means the file.
#[test]
fn a_ref_wins_over_a_file_of_the_same_name() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    env.run(&["push-sessions", "-q"]).success();
    let tip = env.git(&["rev-parse", ARCHIVE]);

    // Inside `.git`: gix wrote the archive ref as a loose file there.
    let git_dir = env.repo.path.join(".git");
    assert!(git_dir.join(ARCHIVE).is_file());
    let out = env.run_in(&git_dir, &["verify", ARCHIVE]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    archive: refs/heads/opencode/sessions (5 sessions; stored in git)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (5 sessions of this repository)
    complete: all 5 archived sessions match the store
    [EOF]
    [exit status: 0]
    ");
    let out = env
        .run_in(&git_dir, &["restore", "--dry-run", ARCHIVE])
        .success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    unchanged    [SESSION:plain]  Mock title
    unchanged    [SESSION:attachment]  Attachment 📎
    unchanged    [SESSION:task_child]  delegate 委任 (@general subagent)
    unchanged    [SESSION:task_parent]  Task parent 🤝
    unchanged    [SESSION:tools]  Tools ✍️ session
    note: this archive was redacted: secret-shaped strings are placeholders
    dry run: 0 to add, 0 to update, 5 unchanged, 0 to keep (newer locally) into $TEST_ENV/opencode/data/opencode/opencode.db (project a76aebe1bac55953ccb1f217d023da9cd3a522a0, $TEST_ENV/repo); nothing was changed
    [EOF]
    [exit status: 0]
    ");

    // A bare repository, where the current directory is the git dir.
    let bare = env.root.join("bare.git");
    git_in(
        &env.root,
        &[
            "clone",
            "-q",
            "--bare",
            env.repo.path.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    git_in(&bare, &["remote", "remove", "origin"]);
    // Out of packed-refs into a loose file, as a push or update there would leave it.
    git_in(&bare, &["update-ref", "-d", ARCHIVE]);
    git_in(&bare, &["update-ref", ARCHIVE, tip.trim()]);
    assert!(bare.join(ARCHIVE).is_file());
    let out = env.run_in(&bare, &["verify", ARCHIVE]).success();
    insta::assert_snapshot!(scrub.apply(&out), @"
    archive: refs/heads/opencode/sessions (5 sessions; stored in git)
    store:   $TEST_ENV/opencode/data/opencode/opencode.db (5 sessions of this repository)
    complete: all 5 archived sessions match the store
    [EOF]
    [exit status: 0]
    ");

    // A work-tree file named like the short ref: the ref, unless spelled as a path.
    std::fs::create_dir_all(env.repo.path.join("opencode")).unwrap();
    std::fs::write(env.repo.path.join("opencode/sessions"), "not a zip").unwrap();
    env.run(&["verify", "opencode/sessions"]).success();
    let out = env.run(&["verify", "./opencode/sessions"]).failure();
    insta::assert_snapshot!(out, @"
    [stderr]
    error: ./opencode/sessions is not a readable zip: invalid Zip archive: Could not find EOCD
    hint: the file may be truncated or corrupted; write it again with `git opencode pack`
    [EOF]
    [exit status: 1]
    ");
}

/// A zip that does not exist is "no such file", not a failed lookup of a notes ref made
/// from its path.
#[test]
fn a_missing_zip_is_no_such_file() {
    let env = TestEnv::new();
    let absolute = env.root.join("gone/x.zip");
    let mut errors = String::new();
    for args in [
        ["verify", absolute.to_str().unwrap()],
        ["restore", absolute.to_str().unwrap()],
        ["verify", "x.zip"],
        ["restore", "x.zip"],
    ] {
        errors.push_str(&format!("{}\n", env.run(&args).failure()));
    }
    insta::assert_snapshot!(errors, @"
    [stderr]
    error: no such file: $TEST_ENV/gone/x.zip
    hint: pass a zip written by `git opencode pack`, or a ref such as refs/heads/opencode/sessions
    [EOF]
    [exit status: 1]
    [stderr]
    error: no such file: $TEST_ENV/gone/x.zip
    hint: pass a zip written by `git opencode pack`, or a ref such as refs/heads/opencode/sessions
    [EOF]
    [exit status: 1]
    [stderr]
    error: no such file: x.zip
    hint: pass a zip written by `git opencode pack`, or a ref such as refs/heads/opencode/sessions
    [EOF]
    [exit status: 1]
    [stderr]
    error: no such file: x.zip
    hint: pass a zip written by `git opencode pack`, or a ref such as refs/heads/opencode/sessions
    [EOF]
    [exit status: 1]
    ");
}

/// Archive and notes ref names that git refuses as branch names, or that would shadow git's
/// own refs, are refused before anything is written; what git allows still works.
#[test]
fn ref_names_git_would_confuse_are_refused() {
    let env = TestEnv::new();
    let refs_before = env.git(&["for-each-ref"]);
    let mut errors = String::new();
    for name in [
        "HEAD",
        "@",
        "ORIG_HEAD",
        "FETCH_HEAD",
        "AUTO_MERGE",
        "refs/heads/HEAD",
        "refs/tags/MERGE_HEAD",
        "-dash",
        "refs/heads/-dash",
        "refs/stash",
        "refs/bisect/archive",
        "refs/worktree/archive",
        "refs/replace/archive",
    ] {
        let flag = format!("--ref={name}");
        errors.push_str(&format!(
            "{}\n",
            env.run(&["push-sessions", &flag]).failure()
        ));
    }
    // A short notes ref is read as git notes reads it (`HEAD` is refs/notes/HEAD, allowed).
    let notes = env.run(&["push-sessions", "--notes", "--notes-ref", "refs/stash"]);
    errors.push_str(&format!("{}\n", notes.failure()));
    env.git(&["config", "opencode.ref", "ORIG_HEAD"]);
    errors.push_str(&format!("{}\n", env.run(&["push-sessions"]).failure()));
    insta::assert_snapshot!(errors, @"
    [stderr]
    error: invalid ref name 'HEAD': it would shadow git's own HEAD
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name '@': '@' is git's shorthand for HEAD
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'ORIG_HEAD': it would shadow git's own ORIG_HEAD
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'FETCH_HEAD': it would shadow git's own FETCH_HEAD
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'AUTO_MERGE': it would shadow git's own AUTO_MERGE
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'refs/heads/HEAD': it would shadow git's own HEAD
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'refs/tags/MERGE_HEAD': it would shadow git's own MERGE_HEAD
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name '-dash': a branch name cannot start with '-'
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'refs/heads/-dash': a branch name cannot start with '-'
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'refs/stash': it is git stash's ref
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'refs/bisect/archive': git bisect keeps its refs there
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'refs/worktree/archive': refs there are private to one worktree
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'refs/replace/archive': refs there replace objects for every git command
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'refs/stash': it is git stash's ref
    [EOF]
    [exit status: 1]
    [stderr]
    error: invalid ref name 'ORIG_HEAD': it would shadow git's own ORIG_HEAD
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(
        env.git(&["for-each-ref"]),
        refs_before,
        "no ref was written"
    );
}

/// `export -o DIR` treats each `<DIR>/<id>.json` as `pack -o` treats its file: a symbolic
/// link is followed (the link stays a link), and one into OpenCode's store is refused before
/// any session is written.
#[test]
fn export_output_files_that_are_links() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    let db = env.data_home.join("opencode/opencode.db");
    let db_sum = file_sha256(&db);
    let out = env.new_dir("out");
    let to_db = out.join(format!("{}.json", store.tools));
    symlink(&db, &to_db).unwrap();
    let export = || env.run(&["export", "-q", "-o", out.to_str().unwrap()]);

    insta::assert_snapshot!(scrub.apply(export().failure()), @"
    [stderr]
    error: cannot write $TEST_ENV/out/[SESSION:tools].json: that is $TEST_ENV/opencode/data/opencode/opencode.db, which is inside OpenCode's store directory $TEST_ENV/opencode/data/opencode
    hint: only `git opencode restore` writes there; pass -o with a path outside it
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(file_sha256(&db), db_sum, "the store is untouched");
    assert_eq!(
        file_names(&out),
        [format!("{}.json", store.tools)],
        "nothing written"
    );

    std::fs::remove_file(&to_db).unwrap();
    let kept = env.new_dir("kept").join("plain.json");
    std::fs::write(&kept, "old").unwrap();
    let link = out.join(format!("{}.json", store.plain));
    symlink(&kept, &link).unwrap();
    export().success();
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    let plain = env.run(&["export", &store.plain]).success();
    assert_eq!(std::fs::read(&kept).unwrap(), plain.stdout_bytes());
    assert_eq!(file_names(&out).len(), store.sessions().len());
}

/// `pack -o` never writes into OpenCode's store directory, follows a symbolic link to the
/// file it names, and writes a FIFO or a device in place instead of renaming over it.
#[test]
fn pack_output_targets() {
    let store = rich_store();
    let env = store.copy_env();
    let scrub = Scrub::of(store);
    let data_dir = env.data_home.join("opencode");
    let db = data_dir.join("opencode.db");
    let db_sum = file_sha256(&db);
    let store_files = file_names(&data_dir);
    let pack = |target: &Path| env.run(&["pack", "-q", "-o", target.to_str().unwrap()]);

    let reference = env.root.join("reference.zip");
    pack(&reference).success();
    let reference = std::fs::read(&reference).unwrap();

    // Into the store's directory: the database itself, a new file, a symlink to either.
    let mut refused = String::new();
    let to_db = env.root.join("to-db.zip");
    symlink(&db, &to_db).unwrap();
    for target in [db.clone(), data_dir.join("sessions.zip"), to_db.clone()] {
        refused.push_str(&format!("{}\n", pack(&target).failure()));
    }
    // A directory, a dangling symlink, a missing directory.
    std::fs::create_dir(env.root.join("dir")).unwrap();
    symlink(env.root.join("nowhere.zip"), env.root.join("dangling.zip")).unwrap();
    for target in ["dir", "dangling.zip", "missing/x.zip"] {
        refused.push_str(&format!("{}\n", pack(&env.root.join(target)).failure()));
    }
    insta::assert_snapshot!(scrub.apply(refused), @"
    [stderr]
    error: cannot write $TEST_ENV/opencode/data/opencode/opencode.db: it is inside OpenCode's store directory $TEST_ENV/opencode/data/opencode
    hint: only `git opencode restore` writes there; pass -o with a path outside it
    [EOF]
    [exit status: 1]
    [stderr]
    error: cannot write $TEST_ENV/opencode/data/opencode/sessions.zip: it is inside OpenCode's store directory $TEST_ENV/opencode/data/opencode
    hint: only `git opencode restore` writes there; pass -o with a path outside it
    [EOF]
    [exit status: 1]
    [stderr]
    error: cannot write $TEST_ENV/to-db.zip: that is $TEST_ENV/opencode/data/opencode/opencode.db, which is inside OpenCode's store directory $TEST_ENV/opencode/data/opencode
    hint: only `git opencode restore` writes there; pass -o with a path outside it
    [EOF]
    [exit status: 1]
    [stderr]
    error: cannot write $TEST_ENV/dir: it is a directory
    hint: pass -o <FILE> with a file name
    [EOF]
    [exit status: 1]
    [stderr]
    error: cannot write $TEST_ENV/dangling.zip: it is a symbolic link to $TEST_ENV/nowhere.zip, which cannot be resolved: No such file or directory (os error 2)
    hint: pass -o with the file itself
    [EOF]
    [exit status: 1]
    [stderr]
    error: cannot write $TEST_ENV/missing/x.zip: directory $TEST_ENV/missing does not exist
    hint: create it first, or pass another -o <FILE>
    [EOF]
    [exit status: 1]
    ");
    assert_eq!(file_sha256(&db), db_sum, "the store is untouched");
    assert_eq!(file_names(&data_dir), store_files);
    assert!(std::fs::symlink_metadata(&to_db).unwrap().is_symlink());
    assert!(!env.root.join("nowhere.zip").exists());
    assert!(!env.root.join("missing").exists());

    // A symlink to a file elsewhere: the file gets the zip, the link stays a link.
    let real = env.new_dir("backups").join("sessions.zip");
    std::fs::write(&real, "old").unwrap();
    let link = env.root.join("latest.zip");
    symlink(&real, &link).unwrap();
    pack(&link).success();
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), reference);

    // Devices are written in place and stay devices.
    pack(Path::new("/dev/null")).success();
    let out = pack(Path::new("/dev/full")).failure();
    insta::assert_snapshot!(out, @"
    [stderr]
    error: failed to write /dev/full: No space left on device (os error 28)
    [EOF]
    [exit status: 1]
    ");
    for device in ["/dev/null", "/dev/full"] {
        let kind = std::fs::metadata(device).unwrap().file_type();
        assert!(kind.is_char_device(), "{device} is still a device");
    }

    // A named pipe: its reader gets exactly the zip a file would hold.
    let fifo = env.root.join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = pack(&fifo);
    if !out.status().success() {
        // Unblocks the reader, so a failure shows instead of a hang.
        let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
    }
    let received = reader.join().unwrap();
    out.success();
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(received, reference);
}

/// A SHA-256 repository is named as not supported yet.
#[test]
fn a_sha256_repository_is_not_supported_yet() {
    let env = TestEnv::new();
    let repo = env.root.join("sha256");
    git_in(
        &env.root,
        &[
            "init",
            "-q",
            "--object-format=sha256",
            repo.to_str().unwrap(),
        ],
    );
    insta::assert_snapshot!(env.run_in(&repo, &["list"]).failure(), @"
    [stderr]
    error: the git repository at $TEST_ENV/sha256 uses SHA-256 object names, which git-opencode does not support yet
    hint: git-opencode works in SHA-1 repositories (git's default object format)
    [EOF]
    [exit status: 1]
    ");
}

/// Temporary object files a killed run left behind (gix names them `.tmpXXXXXX`, which
/// `git gc` never removes; a pack being written is `pack/tmp_pack_XXXXXX`, which it removes
/// after two weeks) are removed by the next push once they are an hour old; a fresh one may
/// belong to a writer still at work and stays, as do other files.
#[test]
fn stale_temporary_objects_are_removed() {
    let env = rich_store().copy_env();
    let objects = env.repo.path.join(".git/objects");
    let packs = objects.join("pack");
    std::fs::create_dir_all(&packs).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 60 * 60);
    let plant = |name: &str, modified| {
        let file = std::fs::File::create(objects.join(name)).unwrap();
        file.set_modified(modified).unwrap();
    };
    plant(".tmpAb3dE6", old);
    plant(".tmpZZZZZZ", std::time::SystemTime::now());
    plant(".tmp-not-gix", old);
    plant("pack/tmp_pack_Xy12Ab", old);
    plant("pack/tmp_idx_Xy12Ab", old);
    plant("pack/tmp_pack_new123", std::time::SystemTime::now());
    plant("pack/tmp_pack_other", old);
    env.run(&["push-sessions", "-q"]).success();
    let left = |dir: &std::path::Path| -> Vec<String> {
        file_names(dir)
            .into_iter()
            .filter(|n| n.contains("tmp"))
            .collect()
    };
    assert_eq!(left(&objects), [".tmp-not-gix", ".tmpZZZZZZ"]);
    assert_eq!(left(&packs), ["tmp_pack_new123", "tmp_pack_other"]);
    // The archive is whole: a temp file removed mid-run would have failed the run instead.
    env.git(&["fsck", "--strict"]);
}
