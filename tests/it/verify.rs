//! Acceptance of `git opencode verify`: a complete archive passes (exit 0); a new OpenCode
//! turn makes its session "changed", a new session is "extra", a deleted one "missing"
//! (exit 1); a tampered zip entry is named as failing its checksum.

use crate::common::archive::{another_machine, build_archive_branch, pack};
use crate::common::fake_llm::{script, FakeLlm, Step};
use crate::common::fixtures::{rich_store, Fixture};
use crate::common::{file_sha256, ours, zip_entries};
use std::io::Write;

/// Acceptance 5.
#[test]
fn verify_reports_complete_changed_extra_and_tampered() {
    let store = rich_store();
    let env = store.copy_env();
    let zip = pack(&env, "sessions.zip");
    let zip_arg = zip.to_str().unwrap();

    let out = env.run(&["verify", zip_arg]).success();
    let out = out.stdout();
    assert!(out.contains("checksums of 7 entries ok"), "{out}");
    assert!(
        out.contains("complete: all 5 archived sessions match the store"),
        "{out}"
    );
    let report = env.run(&["verify", "--json", zip_arg]).success();
    assert_eq!(report.json()["complete"], true);
    assert_eq!(report.json()["checksums"]["ok"], true);
    assert_eq!(report.json()["matching"], 5);

    // The same archive restored elsewhere (re-homed) still verifies as complete.
    let llm = FakeLlm::start();
    let (oc, clone) = another_machine(&env, &llm, "other/clone");
    ours(&oc, &clone.path, &["restore", "-q", zip_arg]).success();
    let out = ours(&oc, &clone.path, &["verify", zip_arg]).success();
    assert!(out.stdout().contains("complete"), "{out}");

    // A new turn in one session, and a new session.
    oc.continue_session(
        &clone.path,
        &store.plain,
        &format!("and one more\n{}", script(&[Step::reply("more 🆕")])),
        &[],
    );
    let new = oc.run(&clone.path, &script(&[Step::reply("brand new")]), &[]);
    drop(llm);
    let out = ours(&oc, &clone.path, &["verify", zip_arg]).failure();
    assert!(
        out.error().contains("1 changed, 0 missing, 1 extra"),
        "{out}"
    );
    let changed = out
        .stdout()
        .lines()
        .find(|l| l.starts_with("changed"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        changed.contains(&store.plain) && changed.contains("newer in the store"),
        "{out}"
    );
    assert!(
        out.stdout()
            .lines()
            .any(|l| l.starts_with("extra") && l.contains(&new.session_id)),
        "{out}"
    );
    let report = ours(&oc, &clone.path, &["verify", "--json", zip_arg]).failure();
    let json = report.json();
    assert_eq!(json["complete"], false);
    assert_eq!(json["changed"][0]["id"], store.plain.as_str());
    assert_eq!(json["changed"][0]["newer"], "store");
    assert_eq!(json["extra"][0]["id"], new.session_id.as_str());
    assert_eq!(json["matching"], 4);

    // A tampered entry: the zip itself is valid (CRCs match), the manifest's SHA-256 is not.
    let name = format!("sessions/{}.json", store.tools);
    let tampered = env.root.join("tampered.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&tampered).unwrap());
    for (entry, data) in zip_entries(&zip) {
        let data = if entry == name {
            String::from_utf8(data)
                .unwrap()
                .replacen("Tools", "Tampered", 1)
                .into_bytes()
        } else {
            data
        };
        writer
            .start_file(entry.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(&data).unwrap();
    }
    writer.finish().unwrap();
    let out = env.run(&["verify", tampered.to_str().unwrap()]).failure();
    assert!(
        out.error().contains(&name) && out.error().contains("checksum mismatch"),
        "{out}"
    );
    assert!(
        out.stdout()
            .contains(&format!("bad      {name}: checksum mismatch")),
        "{out}"
    );
    let report = env.run(&["verify", "--json", tampered.to_str().unwrap()]);
    assert_eq!(
        report.failure().json()["checksums"]["failures"][0]["entry"],
        name.as_str()
    );

    // restore refuses it and writes nothing.
    let db = oc.db_path();
    let before = file_sha256(&db);
    let out = ours(&oc, &clone.path, &["restore", tampered.to_str().unwrap()]).failure();
    assert!(
        out.error().contains(&name) && out.error().contains("checksum mismatch"),
        "{out}"
    );
    assert_eq!(file_sha256(&db), before);
}

/// Without an argument verify reads the archive branch; a session missing from the store is
/// reported; without the branch it says what to pass instead.
#[test]
fn verify_defaults_to_the_archive_branch() {
    let store = rich_store();
    let env = store.copy_env();
    let out = env.run(&["verify"]).failure();
    assert!(
        out.error()
            .contains("no archive branch refs/heads/opencode/sessions"),
        "{out}"
    );
    assert!(out.stderr().contains("hint: pass a pack zip"), "{out}");

    let zip = pack(&env, "sessions.zip");
    build_archive_branch(&env.repo, &zip);
    let out = env.run(&["verify"]).success();
    assert!(
        out.stdout()
            .contains("archive: refs/heads/opencode/sessions (5 sessions; stored in git)"),
        "{out}"
    );
    assert!(out.stdout().contains("complete"), "{out}");

    let db = env.opencode.as_ref().unwrap().db_path();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    conn.execute("DELETE FROM session WHERE id = ?1", [&store.attachment])
        .unwrap();
    drop(conn);
    let out = env.run(&["verify", "--json"]).failure();
    let report = out.json();
    assert_eq!(report["missing"][0]["id"], store.attachment.as_str());
    assert_eq!(report["kind"], "git");
    assert!(
        out.error().contains("0 changed, 1 missing, 0 extra"),
        "{out}"
    );

    // restore from the branch brings it back; then verify passes again.
    let restored = env.run(&["restore", "refs/heads/opencode/sessions"]);
    let restored = restored.success();
    assert!(
        restored
            .stdout()
            .contains("1 added, 0 updated, 4 unchanged"),
        "{restored}"
    );
    env.run(&["verify", "-q"]).success();
}
