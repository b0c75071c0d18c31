//! Secrets in a session written by the real OpenCode: the vendor tokens the redaction knows,
//! a `.env` attached as a `data:text/plain;base64,…` URL, and what each way out of the store
//! (archive branch, `pack --redact`, Markdown export) lets through.

use crate::common::fake_llm::{script, Step};
use crate::common::fixtures::{rich_store, Fixture};
use crate::common::git::git_command;
use crate::common::opencode::{OpencodeHome, CURRENT};
use crate::common::serve::Server;
use crate::common::{ours, zip_entries};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `text` of `len` chars: `fill` repeated (tokens are obviously fake, yet well-formed).
fn filled(prefix: &str, fill: &str, len: usize) -> String {
    let body: String = fill.chars().cycle().take(len).collect();
    format!("{prefix}{body}")
}

/// One fake secret of every format the redaction learned for this issue, in its real shape.
fn planted() -> Vec<(&'static str, String)> {
    vec![
        (
            "slack webhook",
            format!(
                "https://hooks.slack.com/services/T0FAKE0001/B0FAKE0001/{}",
                filled("", "Fake0Hook", 24)
            ),
        ),
        ("google oauth", filled("GOCSPX-", "Fake0Oauth-Secret_", 28)),
        (
            "azure key",
            filled("", "Fake0Azure+Storage/Key9", 86) + "==",
        ),
        ("azure sas", filled("", "Fake0Sas9Sig", 43) + "%3D"),
        (
            "sendgrid",
            format!(
                "SG.{}.{}",
                filled("", "Fake0Sg", 22),
                filled("", "Fake0SendGrid", 43)
            ),
        ),
        ("hugging face", filled("hf_", "FakeHuggingFace", 34)),
        ("telegram", filled("987654321:AA", "Fake0Telegram", 33)),
        ("shopify", filled("shpat_", "fa4e0000", 32)),
        ("pypi", filled("pypi-AgEIcHlwaS5vcmc", "Fake0PyPI", 120)),
        ("age", filled("AGE-SECRET-KEY-1", "FAKE0QQQ", 58)),
        ("docker auth", b64_encode(b"fake-robot:Fake0Docker-Pa55")),
    ]
}

/// The text of a chat message that mentions each secret in its usual context.
fn mentions(secrets: &[(&str, String)]) -> String {
    let get = |name: &str| &secrets.iter().find(|(n, _)| *n == name).unwrap().1;
    format!(
        "notify {slack}\nGOOGLE_CLIENT_SECRET: {google}\n\
         AZURE=DefaultEndpointsProtocol=https;AccountName=fake0;AccountKey={azure};EndpointSuffix=core.windows.net\n\
         blob https://fake0.blob.core.windows.net/c/a.txt?sv=2022-11-02&sp=r&sig={sas}&spr=https\n\
         mail with {sendgrid}, model with {hf}, bot {telegram}, shop {shopify}\n\
         upload with {pypi}\nage key {age}\n~/.docker/config.json: {{\"auths\": {{\"ghcr.io\": {{\"auth\": \"{docker}\"}}}}}}",
        slack = get("slack webhook"),
        google = get("google oauth"),
        azure = get("azure key"),
        sas = get("azure sas"),
        sendgrid = get("sendgrid"),
        hf = get("hugging face"),
        telegram = get("telegram"),
        shopify = get("shopify"),
        pypi = get("pypi"),
        age = get("age"),
        docker = get("docker auth"),
    )
}

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..4 {
            out.push(if k <= n {
                B64[(v >> (18 - 6 * k) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn b64_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let (mut n, mut out) = (0, Vec::new());
    for c in text.bytes().take_while(|&c| c != b'=') {
        let v = B64.iter().position(|&b| b == c).expect("base64") as u32;
        bits = bits << 6 | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// Every object of the repository, as `git cat-file --batch-all-objects --batch` prints them.
fn all_objects(dir: &Path) -> String {
    let out = git_command(dir)
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of every `data:text/plain;base64,` URL in `text` (a session document), decoded.
fn decoded_text_attachments(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Some(payload) = s.strip_prefix("data:text/plain;base64,") {
                    found.push(String::from_utf8(b64_decode(payload)).unwrap());
                }
            }
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    found
}

/// Issue 11, items 13–15: a session with a secret of every new format in a prompt and a tool
/// output, and a `.env` attached as a `data:` URL (through OpenCode's server, as its TUI and SDK
/// send pasted files), reaches no git object of the archive branch, no byte of a
/// `pack --redact` zip and no Markdown transcript; a plain pack keeps it all (a full-fidelity
/// backup), and the redacted pack is deterministic and restores into a real OpenCode.
#[test]
fn new_secret_formats_and_text_attachments_stay_out_of_archives_and_transcripts() {
    let mut env = rich_store().copy_env();
    let llm = env.start_llm();
    let oc = env.opencode.as_ref().unwrap();
    let secrets = planted();
    let hf = &secrets
        .iter()
        .find(|(n, _)| *n == "hugging face")
        .unwrap()
        .1;
    let run = oc.run(
        &env.repo.path,
        &format!(
            "{}\n{}",
            mentions(&secrets),
            script(&[
                Step::bash(&format!("echo HF={hf} | cut -d= -f2"), "echo the token"),
                Step::reply("ok")
            ])
        ),
        &["--title", "Secrets"],
    );
    let id = run.session_id;

    // The `.env` goes in as OpenCode's TUI sends a pasted file: a `file` part with a data URL.
    let env_secret = filled("sk-proj-", "Fake0OpenAI_Key", 60);
    let dotenv = format!("# local settings\nOPENAI_API_KEY={env_secret}\nDEBUG=1\n");
    let payload = b64_encode(dotenv.as_bytes());
    let server = Server::start(oc, &env.repo.path);
    let body = json!({
        "model": {"providerID": "mock", "modelID": "mock-1"},
        "parts": [
            {"type": "text", "text": format!("see the attached file\n{}", script(&[Step::reply("seen")]))},
            {"type": "file", "mime": "text/plain", "filename": ".env",
             "url": format!("data:text/plain;base64,{payload}")}
        ]
    });
    let response = server.request(
        "POST",
        &format!("/session/{id}/message"),
        &body.to_string(),
        Duration::from_secs(120),
    );
    assert!(
        matches!(&response, Ok(r) if r.is_ok()),
        "POST /session/{id}/message: {response:?}\n{}",
        server.output()
    );
    drop(server);
    drop(llm);
    let exported: Value = serde_json::from_slice(&oc.export(&env.repo.path, &id)).unwrap();
    let exported_text = exported.to_string();
    assert!(
        exported_text.contains(&format!("data:text/plain;base64,{payload}")),
        "OpenCode did not store the attachment as a data URL"
    );
    for (name, secret) in &secrets {
        assert!(
            exported_text.contains(secret.as_str()),
            "{name} not planted"
        );
    }

    // Archive branch: no object holds a secret, and the attachment decodes redacted.
    ours(oc, &env.repo.path, &["push-sessions"]).success();
    let objects = all_objects(&env.repo.path);
    for (name, secret) in &secrets {
        assert!(
            !objects.contains(secret.as_str()),
            "{name} reached a git object"
        );
    }
    assert!(!objects.contains(&payload), "the .env reached a git object");
    assert!(!objects.contains(&env_secret));
    let path = env
        .git(&["ls-tree", "-r", "--name-only", "opencode/sessions"])
        .lines()
        .find(|p| p.contains(&id) && p.ends_with("/session.json"))
        .unwrap()
        .to_owned();
    let archived: Value =
        serde_json::from_str(&env.git(&["show", &format!("opencode/sessions:{path}")])).unwrap();
    let attachments = decoded_text_attachments(&archived);
    assert!(!attachments.is_empty(), "the attachment is not archived");
    for text in &attachments {
        assert_eq!(
            text,
            "# local settings\nOPENAI_API_KEY=[REDACTED:openai-key]\nDEBUG=1\n"
        );
    }
    let grep = env.git(&[
        "grep",
        "-c",
        "REDACTED:huggingface-token",
        "opencode/sessions",
    ]);
    assert!(grep.contains("transcript.md"), "{grep}");

    // An archive an older version wrote holds these secrets verbatim (its rules did not know
    // them): this version renders the session again although it has not changed since. Which
    // of two same-time copies wins a tie depends on their digests, so several older copies
    // (differing in a field of no meaning) are tried: each must be rendered again.
    let exported_json = ours(oc, &env.repo.path, &["export", &id]).success();
    let manifest = env.git(&["show", "opencode/sessions:manifest.json"]);
    let ours_version = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(manifest.contains(&ours_version), "{manifest}");
    let older = env.root.join("manifest.json");
    std::fs::write(
        &older,
        manifest.replace(&ours_version, "\"version\": \"0.1.0\""),
    )
    .unwrap();
    let index = env.root.join("older-index");
    let in_older_index = |args: &[&str]| {
        let out = git_command(&env.repo.path)
            .env("GIT_INDEX_FILE", &index)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    for variant in 0..4 {
        let mut copy: Value = exported_json.json();
        copy["info"]["renderedBy"] = json!(format!("0.1.0 #{variant}"));
        let verbatim = env.root.join("verbatim.json");
        std::fs::write(&verbatim, serde_json::to_vec_pretty(&copy).unwrap()).unwrap();
        let tip = env.git(&["rev-parse", "opencode/sessions"]);
        in_older_index(&["read-tree", tip.trim()]);
        for (file, at) in [(&verbatim, path.as_str()), (&older, "manifest.json")] {
            let blob = env.git(&["hash-object", "-w", file.to_str().unwrap()]);
            let entry = format!("100644,{},{at}", blob.trim());
            in_older_index(&["update-index", "--cacheinfo", &entry]);
        }
        let tree = in_older_index(&["write-tree"]);
        let commit = env.git(&["commit-tree", "-p", tip.trim(), "-m", "by 0.1.0", &tree]);
        env.git(&["update-ref", "refs/heads/opencode/sessions", commit.trim()]);
        ours(oc, &env.repo.path, &["push-sessions"]).success();
        let rendered = env.git(&["show", &format!("opencode/sessions:{path}")]);
        for (name, secret) in &secrets {
            assert!(
                !rendered.contains(secret.as_str()),
                "{name} stayed in the archive an older version wrote (copy #{variant})"
            );
        }
    }

    // `pack --redact`: nothing in the zip's bytes or its entries; deterministic; marked.
    let packed = |name: &str, extra: &[&str]| {
        let zip = env.root.join(name);
        let mut args = vec!["pack", "-o", zip.to_str().unwrap()];
        args.extend_from_slice(extra);
        ours(oc, &env.repo.path, &args).success();
        zip
    };
    let redacted = packed("redacted.zip", &["--redact"]);
    let entries = zip_entries(&redacted);
    let raw = std::fs::read(&redacted).unwrap();
    let mut contents = String::from_utf8_lossy(&raw).into_owned();
    for (_, data) in &entries {
        contents.push_str(&String::from_utf8_lossy(data));
    }
    for (name, secret) in &secrets {
        assert!(!contents.contains(secret.as_str()), "{name} is in the pack");
    }
    assert!(!contents.contains(&payload) && !contents.contains(&env_secret));
    let manifest: Value = serde_json::from_slice(
        &entries
            .iter()
            .find(|(n, _)| n == "manifest.json")
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(manifest["redacted"], true);
    let again = packed("redacted-again.zip", &["--redact"]);
    assert_eq!(
        std::fs::read(&again).unwrap(),
        raw,
        "pack --redact is not deterministic"
    );

    // A plain pack is a full-fidelity backup: the secrets are there, so the checks above see.
    let full = packed("full.zip", &[]);
    let full_entries = zip_entries(&full);
    let doc = &full_entries
        .iter()
        .find(|(n, _)| n == &format!("sessions/{id}.json"))
        .unwrap()
        .1;
    let doc = String::from_utf8_lossy(doc);
    for (name, secret) in &secrets {
        assert!(
            doc.contains(secret.as_str()),
            "{name} missing from the full pack"
        );
    }
    let full_manifest: Value = serde_json::from_slice(&full_entries.last().unwrap().1).unwrap();
    assert_eq!(full_manifest.get("redacted"), None);

    // The redacted pack restores into an empty store, where the real OpenCode reads it.
    let llm = crate::common::fake_llm::FakeLlm::start();
    let fresh = OpencodeHome::new(CURRENT, &llm);
    // OpenCode creates and migrates its database on first use; restore needs one.
    assert_eq!(fresh.session_list_json(&env.repo.path), json!([]));
    let out = ours(
        &fresh,
        &env.repo.path,
        &["restore", redacted.to_str().unwrap()],
    )
    .success();
    assert!(
        out.raw_stdout()
            .contains("this archive was redacted: secret-shaped strings are placeholders"),
        "{out}"
    );
    let back = String::from_utf8(fresh.export(&env.repo.path, &id)).unwrap();
    assert!(back.contains("[REDACTED:sendgrid-key]"), "{back}");
    assert!(!back.contains(hf.as_str()));

    // Markdown export is redacted by default; `--no-redact` keeps the text as it is.
    let md = ours(oc, &env.repo.path, &["export", "--format", "markdown", &id]).success();
    for (name, secret) in &secrets {
        assert!(
            !md.raw_stdout().contains(secret.as_str()),
            "{name} in the transcript"
        );
    }
    assert!(md.raw_stdout().contains("[REDACTED:slack-webhook]"));
    let raw_md = ours(
        oc,
        &env.repo.path,
        &["export", "--format", "markdown", "--no-redact", &id],
    )
    .success();
    assert!(raw_md.raw_stdout().contains(hf.as_str()));
    let json = ours(oc, &env.repo.path, &["export", &id]).success();
    assert!(
        json.raw_stdout().contains(hf.as_str()),
        "JSON export is verbatim"
    );
}

/// `--no-redact` is about transcripts: with the (verbatim) JSON format it is refused.
#[test]
fn export_refuses_no_redact_for_json() {
    let env = rich_store().copy_env();
    let tools = &rich_store().tools;
    insta::assert_snapshot!(env.run(&["export", "--no-redact", tools]).failure(), @"
    [stderr]
    error: --no-redact applies to Markdown transcripts; JSON is always exported verbatim
    hint: drop --no-redact, or add --format markdown
    [EOF]
    [exit status: 1]
    ");
}
