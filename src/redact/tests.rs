//! Unit tests of the redaction: each secret shape in context, the lookalikes that must stay,
//! JSON documents, idempotence, multibyte text and inputs that would make a slow scanner crawl.
//!
//! Every token here is made up by `fake` at run time, so the source holds no real secret.

use super::*;
use serde_json::json;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const URLSAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const BECH32_UPPER: &[u8] = b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A made-up token: `prefix` plus `len` pseudo-random chars (no real secret in the source).
fn fake(prefix: &str, len: usize, alphabet: &[u8]) -> String {
    let mut state = (prefix.len() * 7919 + len) as u64 | 1;
    let mut s = String::from(prefix);
    for _ in 0..len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        s.push(alphabet[(state % alphabet.len() as u64) as usize] as char);
    }
    s
}

fn redact(text: &str) -> String {
    Redactor::new().redact_str(text).into_owned()
}

#[track_caller]
fn kept(text: &str) {
    let out = Redactor::new().redact_str(text);
    assert!(
        matches!(out, Cow::Borrowed(_)),
        "redacted {text:?} to {out:?}"
    );
}

fn pem(label: &str, lines: usize, newline: &str) -> String {
    let mut s = format!("-----BEGIN {label}-----{newline}");
    for i in 0..lines {
        s.push_str(&fake(&"M".repeat(i + 1), 63, ALNUM));
        s.push_str(newline);
    }
    s + &format!("-----END {label}-----")
}

fn jwt() -> String {
    let header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
    let payload = "eyJzdWIiOiIxMjM0NTY3ODkwIiwiaWF0IjoxNTE2MjM5MDIyfQ";
    format!("{header}.{payload}.{}", fake("", 43, URLSAFE))
}

/// `SG.<22>.<43>`.
fn sendgrid() -> String {
    format!("SG.{}.{}", fake("", 22, URLSAFE), fake("", 43, URLSAFE))
}

/// `<bot id>:<35 chars starting with A>`.
fn telegram() -> String {
    format!("123456789:AA{}", fake("", 33, URLSAFE))
}

fn vendor_tokens() -> Vec<(String, &'static str)> {
    let mut tokens = vec![
        (fake("AKIA", 16, UPPER), "aws-access-key"),
        (fake("ASIA", 16, UPPER), "aws-access-key"),
        (fake("github_pat_", 82, b"abcXYZ019_"), "github-token"),
        (fake("glpat-", 20, URLSAFE), "gitlab-token"),
        (fake("sk-", 48, ALNUM), "openai-key"),
        (fake("sk-proj-", 120, URLSAFE), "openai-key"),
        (fake("sk-ant-api03-", 93, URLSAFE), "anthropic-key"),
        (fake("AIza", 35, URLSAFE), "google-api-key"),
        (fake("sk_live_", 24, ALNUM), "stripe-key"),
        (fake("rk_live_", 99, ALNUM), "stripe-key"),
        (jwt(), "jwt"),
        (fake("GOCSPX-", 28, URLSAFE), "google-oauth-secret"),
        (sendgrid(), "sendgrid-key"),
        (fake("hf_", 34, LETTERS), "huggingface-token"),
        (telegram(), "telegram-bot-token"),
        (fake("pypi-AgEIcHlwaS5vcmc", 150, URLSAFE), "pypi-token"),
        (
            fake("pypi-AgENdGVzdC5weXBpLm9yZw", 120, URLSAFE),
            "pypi-token",
        ),
        (fake("AGE-SECRET-KEY-1", 58, BECH32_UPPER), "age-secret-key"),
    ];
    for p in ["shpat_", "shpca_", "shppa_", "shpss_"] {
        tokens.push((fake(p, 32, HEX), "shopify-token"));
    }
    for p in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        tokens.push((fake(p, 36, ALNUM), "github-token"));
    }
    for p in ["xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-"] {
        tokens.push((fake(p, 50, URLSAFE), "slack-token"));
    }
    tokens
}

#[test]
fn vendor_tokens_are_replaced_whole_in_any_context() {
    let contexts = [
        "{}",
        "key {} end.",
        "\"{}\"",
        "x={}\n",
        "(`{}`)",
        "line\\n{}\\nmore",
        "日本 {} ü",
    ];
    for (token, kind) in vendor_tokens() {
        for context in contexts {
            let text = context.replace("{}", &token);
            let want = context.replace("{}", &format!("[REDACTED:{kind}]"));
            assert_eq!(redact(&text), want, "{text}");
        }
    }
}

#[test]
fn token_lookalikes_are_kept() {
    let hex40 = fake("", 40, b"0123456789abcdef");
    for text in [
        "AKIA1234",
        &fake("AKIA", 17, UPPER),
        &fake("akia", 16, UPPER),
        &fake("XAKIA", 16, UPPER),
        &fake("AGPA", 16, UPPER),
        "ghp_short",
        &fake("ghx_", 36, ALNUM),
        &fake("ghp_", 20, ALNUM),
        "glpat-short",
        "xoxo-1234567890abcdef",
        "xoxb-123",
        "pip install sk-learn",
        "sk-some-very-long-hyphenated-name",
        &fake("task-", 40, ALNUM),
        &fake("AIza", 20, ALNUM),
        &fake("pk_live_", 24, ALNUM),
        &fake("sk_live_", 8, ALNUM),
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "eyJ.abc.def",
        &fake("ses_", 26, ALNUM),
        &fake("msg_", 26, ALNUM),
        &fake("prt_", 26, ALNUM),
        &hex40,
        &format!("commit {hex40}\nAuthor: A <a@example.com>"),
        "123e4567-e89b-12d3-a456-426614174000",
        "the token is stored in the keychain; ask for a new token.",
        // Hugging Face: identifiers, wrong lengths, one case only.
        "model = self.hf_model; hf_hub_download(repo_id)",
        &fake("hf_", 34, b"abcdefghijklmnopqrstuvwxyz"),
        &fake("hf_", 33, LETTERS),
        &fake("hf_", 35, LETTERS),
        "hf_transformers_tokenizer_from_pretrained_name",
        // Google OAuth, Shopify, PyPI, age, SendGrid: near misses.
        "GOCSPX-short",
        &fake("GOCSPX-", 27, URLSAFE),
        &fake("shpat_", 32, b"ghijklmnopqrstuvwxyz"),
        &fake("shpat_", 31, HEX),
        &fake("shpxx_", 32, HEX),
        &fake("pypi-", 150, URLSAFE),
        "pip install pypi-simple-index-mirror-client-for-all-the-packages",
        &fake("AGE-SECRET-KEY-1", 20, BECH32_UPPER),
        &fake("age1", 58, b"qpzry9x8gf2tvdw0s3jn54khce6mua7l"),
        "SG.short.thing",
        &format!("SG.{}.{}", fake("", 22, URLSAFE), fake("", 42, URLSAFE)),
        "see docs/SG.md and SG.2024",
        // Telegram: times, ports, ratios, all-caps after the colon, short bot IDs.
        "at 12:30:45 on 2024-01-01T12:00:00Z, localhost:8080, 16:9",
        "1700000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &format!("1234:AA{}", fake("", 33, URLSAFE)),
        &format!("123456789:AA{}", fake("", 30, URLSAFE)),
        &format!("123456789:BB{}", fake("", 33, URLSAFE)),
    ] {
        kept(text);
    }
}

#[test]
fn slack_webhooks_lose_their_path() {
    let hook = format!(
        "T{}/B{}/{}",
        fake("", 10, UPPER),
        fake("", 10, UPPER),
        fake("", 24, ALNUM)
    );
    for (text, want) in [
        (
            format!("curl -X POST https://hooks.slack.com/services/{hook} -d @m.json"),
            "curl -X POST https://hooks.slack.com/services/[REDACTED:slack-webhook] -d @m.json",
        ),
        (
            format!("{{\"url\": \"https://hooks.slack.com/workflows/{hook}\"}}"),
            "{\"url\": \"https://hooks.slack.com/workflows/[REDACTED:slack-webhook]\"}",
        ),
        (
            format!("SLACK_WEBHOOK_URL=https://hooks.slack.com/services/{hook}/\n"),
            "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/[REDACTED:slack-webhook]/\n",
        ),
    ] {
        assert_eq!(redact(&text), want);
    }
    for text in [
        "https://hooks.slack.com/services/",
        "https://hooks.slack.com/services/T0123",
        "https://hooks.slack.com/services/T0123456789ABCDEFGHIJ",
        "https://api.slack.com/messaging/webhooks",
        "https://hooks.slack.com/",
    ] {
        kept(text);
    }
}

#[test]
fn azure_storage_keys_and_sas_signatures_lose_only_the_secret() {
    let key = fake("", 86, BASE64) + "==";
    let connection = format!(
        "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey={key};EndpointSuffix=core.windows.net"
    );
    assert_eq!(
        redact(&connection),
        "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=[REDACTED:azure-storage-key];EndpointSuffix=core.windows.net"
    );
    let sig = fake("", 40, ALNUM) + "%2Bab%2F%3D";
    let sas = format!(
        "https://acct1.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&sig={sig}&spr=https"
    );
    assert_eq!(
        redact(&sas),
        "https://acct1.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&sig=[REDACTED:azure-sas-signature]&spr=https"
    );
    let raw_sig = format!("sig={}=", fake("", 43, BASE64));
    assert_eq!(redact(&raw_sig), "sig=[REDACTED:azure-sas-signature]");
    for text in [
        "https://example.com/verify?sig=abc123&id=4",
        "sig=true",
        "sig=deadbeefdeadbeef",
        "https://x/?sig=%ZZ%2Bthisisnotbase64butlongenoughtomatchtheminimumlength",
        &format!("sig={}", fake("", 50, LETTERS)),
        "AccountKey=<your-account-key>",
        "AccountKey=$AZURE_STORAGE_KEY",
        "account_key: String,",
    ] {
        kept(text);
    }
}

#[test]
fn docker_auth_values_are_replaced_only_when_they_hold_a_login() {
    let login = super::base64::encode(b"robot$ci:s3cr3t-pa55");
    let config = format!("{{\"auths\": {{\"registry.example.com\": {{\"auth\": \"{login}\"}}}}}}");
    assert_eq!(
        redact(&config),
        "{\"auths\": {\"registry.example.com\": {\"auth\": \"[REDACTED:basic-auth]\"}}}"
    );
    let mut doc = json!({"auths": {"ghcr.io": {"auth": login}}});
    assert_eq!(Redactor::new().redact_value(&mut doc), 1);
    assert_eq!(doc["auths"]["ghcr.io"]["auth"], "[REDACTED:basic-auth]");
    for text in [
        "auth: true",
        "\"auth\": \"oauth2\"",
        "const auth = require('./auth');",
        "auth = Zm9vYmFyYmF6", // base64 of `foobarbaz`: no `user:`
        "\"auth\": \"bearer-token-from-env\"",
    ] {
        kept(text);
    }
    let mut doc = json!({"auth": "Zm9vYmFyYmF6", "Auth": {"type": "basic"}});
    assert_eq!(Redactor::new().redact_value(&mut doc), 0);
}

#[test]
fn text_attachments_in_data_urls_are_redacted_inside() {
    let openai = fake("sk-proj-", 60, URLSAFE);
    let env = format!("# local\nOPENAI_API_KEY={openai}\nDEBUG=1\n");
    let encoded = super::base64::encode(env.as_bytes());
    let want_env = "# local\nOPENAI_API_KEY=[REDACTED:openai-key]\nDEBUG=1\n";
    for media_type in [
        "text/plain",
        "text/plain;charset=utf-8",
        "",
        "application/json",
        "application/x-sh",
        "application/octet-stream",
        "TEXT/X-SHELLSCRIPT",
    ] {
        let url = format!("data:{media_type};base64,{encoded}");
        let mut tally = Redactions::default();
        let out = Redactor::new().redact_str_counted(&url, &mut tally);
        let payload = out
            .strip_prefix(&format!("data:{media_type};base64,"))
            .unwrap_or_else(|| panic!("{out}"));
        let decoded = super::base64::decode(payload.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            want_env,
            "{media_type}"
        );
        assert_eq!(tally.to_string(), "1 openai-key");
        kept(&out);
    }
    // As OpenCode stores an attached file: the whole URL is one JSON string.
    let mut part = json!({"type": "file", "mime": "text/plain", "filename": ".env",
        "url": format!("data:text/plain;base64,{encoded}")});
    assert_eq!(Redactor::new().redact_value(&mut part), 1);
    assert!(!part.to_string().contains(&encoded));
    // Text without a secret, binary behind a text type, and images are left byte for byte.
    kept(&format!(
        "data:text/plain;base64,{}",
        super::base64::encode(b"hello\n")
    ));
    let mut binary = vec![0u8, 159, 146, 150];
    binary.extend_from_slice(env.as_bytes());
    kept(&format!(
        "data:application/octet-stream;base64,{}",
        super::base64::encode(&binary)
    ));
    kept(&format!("data:image/png;base64,{encoded}"));
    kept(&format!("data:application/pdf;base64,{encoded}"));
}

#[test]
fn attachments_in_data_urls_are_not_read() {
    let planted = format!(
        "iVBORw0KGgo+{}+AAAA/{}==",
        fake("AKIA", 16, UPPER),
        fake("ghp_", 36, ALNUM)
    );
    kept(&format!("data:image/png;base64,{planted}"));
    kept(&format!("<img src=\"data:image/png;base64,{planted}\">"));
    let after = format!(
        "data:text/plain;base64,{planted} {}",
        fake("ghp_", 36, ALNUM)
    );
    assert!(redact(&after).ends_with(" [REDACTED:github-token]"));
}

#[test]
fn private_key_blocks_are_replaced_across_lines() {
    for label in [
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "EC PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ] {
        let text = format!("cat ~/.ssh/id\n{}\nafter", pem(label, 5, "\n"));
        assert_eq!(
            redact(&text),
            "cat ~/.ssh/id\n[REDACTED:private-key]\nafter",
            "{label}"
        );
        let crlf = format!("{}\r\n", pem(label, 5, "\r\n"));
        assert_eq!(redact(&crlf), "[REDACTED:private-key]\r\n");
    }
    // As a service-account file's JSON text, with escaped newlines.
    let escaped = format!(
        r#"{{"private_key": "{}\n", "client_email": "x@y"}}"#,
        pem("PRIVATE KEY", 3, r"\n")
    );
    assert_eq!(
        redact(&escaped),
        r#"{"private_key": "[REDACTED:private-key]\n", "client_email": "x@y"}"#
    );
    // Truncated output (`head -3 id_rsa`) still has key material.
    let truncated = pem("RSA PRIVATE KEY", 3, "\n");
    let truncated = truncated.trim_end_matches("-----END RSA PRIVATE KEY-----");
    assert_eq!(
        redact(&format!("{truncated}...")),
        "[REDACTED:private-key]\n..."
    );
}

#[test]
fn pem_lookalikes_are_kept() {
    kept(&pem("PUBLIC KEY", 5, "\n"));
    kept(&pem("CERTIFICATE", 5, "\n"));
    kept("if pem.starts_with(\"-----BEGIN RSA PRIVATE KEY-----\") {");
    kept("const BEGIN: &str = \"-----BEGIN PRIVATE KEY-----\";\nconst END: &str = \"-----END PRIVATE KEY-----\";");
    kept("-----BEGIN PRIVATE KEY-----\n(snip)\n");
    kept("-----\n-----BEGIN\n");
}

#[test]
fn url_passwords_keep_the_rest_of_the_url() {
    for (text, want) in [
        (
            "https://user:hunter2@example.com/path",
            "https://user:[REDACTED:url-password]@example.com/path",
        ),
        (
            "postgres://app:s3cr%40t@db:5432/app?ssl=1",
            "postgres://app:[REDACTED:url-password]@db:5432/app?ssl=1",
        ),
        (
            "git clone https://u:p@ss@host/r.git",
            "git clone https://u:[REDACTED:url-password]@host/r.git",
        ),
        (
            "(redis://:pw12@localhost)",
            "(redis://:[REDACTED:url-password]@localhost)",
        ),
    ] {
        assert_eq!(redact(text), want);
    }
    let token_as_user = format!(
        "https://{}:x-oauth-basic@github.com/o/r",
        fake("ghp_", 36, ALNUM)
    );
    assert_eq!(
        redact(&token_as_user),
        "https://[REDACTED:github-token]:[REDACTED:url-password]@github.com/o/r"
    );
    for text in [
        "https://user@example.com/x",
        "ssh://git@github.com/o/r.git",
        "https://example.com:8080/a@b",
        "https://user:${PASSWORD}@host",
        "https://user:$PASSWORD@host",
        "git@github.com:o/r.git",
        "mailto:a@b.c",
    ] {
        kept(text);
    }
}

#[test]
fn authorization_headers_lose_the_credential() {
    let gh = fake("ghp_", 36, ALNUM);
    for (text, want) in [
        (
            "curl -H 'Authorization: Bearer abcdef123456' https://x".to_string(),
            "curl -H 'Authorization: Bearer [REDACTED:bearer-token]' https://x".to_string(),
        ),
        (
            "Authorization: Basic dXNlcjpwYXNzd29yZA==".into(),
            "Authorization: Basic [REDACTED:basic-auth]".into(),
        ),
        (
            format!("\"Authorization\": \"token {gh}\""),
            "\"Authorization\": \"token [REDACTED:github-token]\"".into(),
        ),
        (
            format!("authorization: Bearer {}.", jwt()),
            "authorization: Bearer [REDACTED:jwt].".into(),
        ),
        (
            "Proxy-Authorization: Negotiate YIIabc123def".into(),
            "Proxy-Authorization: Negotiate [REDACTED:authorization]".into(),
        ),
        (
            "Authorization: abcdef123456".into(),
            "Authorization: [REDACTED:authorization]".into(),
        ),
        (
            "sent Bearer 0123abcdefghijklmnop to it".into(),
            "sent Bearer [REDACTED:bearer-token] to it".into(),
        ),
    ] {
        assert_eq!(redact(&text), want);
    }
    for text in [
        "curl -H \"Authorization: Bearer $TOKEN\" https://x",
        "headers: { Authorization: `Bearer ${token}` }",
        "set the Authorization: Bearer header",
        "Bearer authentication is simple",
        "bearer tokens expire",
    ] {
        kept(text);
    }
}

#[test]
fn secret_assignments_lose_only_the_value() {
    let aws_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let openai = fake("sk-proj-", 60, URLSAFE);
    for (text, want) in [
        (
            "API_KEY=abc123def456".to_string(),
            "API_KEY=[REDACTED:secret]".to_string(),
        ),
        (
            format!("export OPENAI_API_KEY={openai}\n"),
            "export OPENAI_API_KEY=[REDACTED:openai-key]\n".into(),
        ),
        (
            "{\"password\": \"hunter2hunter2\"}".into(),
            "{\"password\": \"[REDACTED:secret]\"}".into(),
        ),
        (
            "password = 'correct-horse-9'".into(),
            "password = '[REDACTED:secret]'".into(),
        ),
        (
            "client_secret: 9f8e7d6c5b4a\n".into(),
            "client_secret: [REDACTED:secret]\n".into(),
        ),
        (
            "token := \"abcd1234efgh\"".into(),
            "token := \"[REDACTED:secret]\"".into(),
        ),
        (
            "'db_password' => 'abc12345xyz',".into(),
            "'db_password' => '[REDACTED:secret]',".into(),
        ),
        (
            "{\\\"apiKey\\\":\\\"abc123def456\\\"}".into(),
            "{\\\"apiKey\\\":\\\"[REDACTED:secret]\\\"}".into(),
        ),
        (
            format!("aws_secret_access_key = {aws_secret}"),
            "aws_secret_access_key = [REDACTED:aws-secret-key]".into(),
        ),
        (
            format!("\"SecretAccessKey\": \"{aws_secret}\""),
            "\"SecretAccessKey\": \"[REDACTED:aws-secret-key]\"".into(),
        ),
        (
            "run --password=s3cr3tpass now".into(),
            "run --password=[REDACTED:secret] now".into(),
        ),
        (
            "PASSWD=Tr0ub4dor&3".into(),
            "PASSWD=[REDACTED:secret]".into(),
        ),
        (
            "private_key: abcdef0123456789".into(),
            "private_key: [REDACTED:secret]".into(),
        ),
        (
            "x_access_key=Zm9vYmFyYmF6cXV4==".into(),
            "x_access_key=[REDACTED:secret]".into(),
        ),
        (
            "SECRET_KEY = \"django-insecure-abc\"".into(),
            "SECRET_KEY = \"[REDACTED:secret]\"".into(),
        ),
        (
            "spring.datasource.password=Pa55word!".into(),
            "spring.datasource.password=[REDACTED:secret]".into(),
        ),
        (
            "api_key=abc123def456\\nNEXT=1".into(),
            "api_key=[REDACTED:secret]\\nNEXT=1".into(),
        ),
        (
            format!("access_key = \"{}\"", fake("AKIA", 16, UPPER)),
            "access_key = \"[REDACTED:aws-access-key]\"".into(),
        ),
    ] {
        assert_eq!(redact(&text), want, "{text}");
    }
}

#[test]
fn code_and_prose_around_secret_words_are_kept() {
    for text in [
        "Use a token: it expires after an hour.",
        "password: required",
        "max_tokens: 4096, tokens = 12345678",
        "let token = get_token();",
        "let token = self.next_token2;",
        "token: String,",
        "password: &'a str",
        "api_key = os.environ[\"API_KEY\"]",
        "const token = process.env.GITHUB_TOKEN;",
        "password: ${{ secrets.DB_PASSWORD }}",
        "if password == \"abc12345\":",
        "if password != \"abc12345\":",
        "token: \"short\"",
        "password = \"********\"",
        "\"password\": {\"type\": \"string\"}",
        "token = <your-token-here>",
        "secret = \"${SECRET}\"",
        "\"token\": \"The token to use for the request\"",
        "password_hash = abc12345xyz",
        "tokenizer = abc1234567",
        "secrets: inherit",
        "token::parse(x)",
        "token = 1234567890123",
        "secret = {{ vault_secret }}",
    ] {
        kept(text);
    }
}

#[test]
fn json_documents_are_redacted_in_every_string_value() {
    let openai = fake("sk-", 48, ALNUM);
    let gh = fake("ghp_", 36, ALNUM);
    let aws = fake("AKIA", 16, UPPER);
    let keyed = fake("", 32, ALNUM);
    let session = fake("ses_", 26, ALNUM);
    let hash = fake("", 40, b"0123456789abcdef");
    let uuid = "123e4567-e89b-12d3-a456-426614174000";
    let image = format!("data:image/png;base64,iVBORw0KGgo+{aws}+AAAA==");
    let mut doc = json!({
        "info": {"id": session, "title": "fix login", "projectID": hash},
        "messages": [{
            "info": {"id": fake("msg_", 26, ALNUM), "sessionID": session, "role": "user"},
            "parts": [
                {"id": fake("prt_", 26, ALNUM), "type": "text", "text": format!("my key is {openai}, use it")},
                {"id": fake("prt_", 27, ALNUM), "type": "tool", "tool": "bash", "state": {
                    "status": "completed",
                    "input": {"command": format!("curl -H 'Authorization: Bearer {gh}' https://api.github.com/user")},
                    "output": format!("AWS_ACCESS_KEY_ID={aws}\n{}\n", pem("OPENSSH PRIVATE KEY", 4, "\n")),
                    "metadata": {"commit": hash, "uuid": uuid}
                }},
                {"id": fake("prt_", 28, ALNUM), "type": "file", "mime": "image/png", "url": image},
                {"type": "tool", "tool": "webfetch", "state": {"input": {
                    "apiKey": keyed,
                    "headers": {"Authorization": "Bearer abcdefgh12345678"},
                    "max_tokens": 4096,
                    "token": "short"
                }}}
            ]
        }]
    });
    let before = doc.clone();
    let mut tally = Redactions::default();
    Redactor::new().redact_value_counted(&mut doc, &mut tally);
    assert_eq!(tally.total(), 6, "{tally}");
    assert_eq!(
        tally.to_string(),
        "1 aws-access-key, 1 github-token, 1 openai-key, 1 private-key, 1 bearer-token, 1 secret"
    );
    let text = doc.to_string();
    for secret in [&openai, &gh, &keyed, "abcdefgh12345678", "-----BEGIN"] {
        assert!(!text.contains(secret), "{secret} left in {text}");
    }
    assert_eq!(doc["info"], before["info"]);
    assert_eq!(doc["messages"][0]["info"], before["messages"][0]["info"]);
    let parts = &doc["messages"][0]["parts"];
    assert_eq!(parts[0]["text"], "my key is [REDACTED:openai-key], use it");
    assert_eq!(
        parts[1]["state"]["metadata"],
        before["messages"][0]["parts"][1]["state"]["metadata"]
    );
    assert_eq!(parts[2], before["messages"][0]["parts"][2]);
    assert_eq!(parts[3]["state"]["input"]["apiKey"], "[REDACTED:secret]");
    assert_eq!(
        parts[3]["state"]["input"]["headers"]["Authorization"],
        "Bearer [REDACTED:bearer-token]"
    );
    assert_eq!(parts[3]["state"]["input"]["token"], "short");
    let again = doc.clone();
    assert_eq!(Redactor::new().redact_value(&mut doc), 0);
    assert_eq!(doc, again);
}

#[test]
fn redacting_twice_changes_nothing_more() {
    let mut corpus = String::new();
    for (token, _) in vendor_tokens() {
        corpus += &format!("a {token} b\nAPI_TOKEN={token}\n\"secret\": \"{token}\"\n");
    }
    corpus += &pem("RSA PRIVATE KEY", 4, "\n");
    corpus += "\nhttps://u:pw@h/ Authorization: Bearer abcdef123456\npassword = 'abc123456'\nsecret=xyz12345==\n";
    corpus += "Authorization: abcdef123456\nBearer 0123abcdefghijklmnop\n";
    let once = redact(&corpus);
    assert!(
        !once.contains("abc123456") && !once.contains("-----BEGIN"),
        "{once}"
    );
    kept(&once);
}

#[test]
fn multibyte_text_next_to_every_trigger_is_safe() {
    let text = "ü=ü пароль: ü password=ünïcødé123 token: 日本語テキスト12345 https://ü:ü@ü \
                -----BEGIN ü eyJü.ü.ü Bearer ü Authorization: Bearer ü data:ü;base64,ü ü\\nü";
    let out = redact(text);
    assert!(out.contains("password=[REDACTED:secret]"), "{out}");
    assert!(out.contains("https://ü:[REDACTED:url-password]@ü"), "{out}");
    for (i, _) in text.char_indices() {
        let _ = redact(&text[i..]);
    }
}

#[test]
fn pathological_inputs_stay_linear() {
    // Quadratic scanning would take minutes on these in a debug build.
    for unit in [
        "token=",
        "token=\"",
        "password: x",
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nMIIE",
        "a://",
        "a://b:c",
        "eyJaaaaaaaaaaaa.",
        "Authorization: Bearer ",
        "data:",
        "data:text/plain;base64,",
        "\\n",
        "sig=",
        "sig=%2B",
        "SG.",
        "123456:A",
        "auth=",
        "https://hooks.slack.com/services/",
    ] {
        let text = unit.repeat(200_000 / unit.len());
        let _ = redact(&text);
    }
    let text = format!(
        "{}{}",
        "-----BEGIN PRIVATE KEY-----\nabc\n".repeat(5000),
        pem("PRIVATE KEY", 2, "\n")
    );
    assert!(redact(&text).ends_with("[REDACTED:private-key]"));
}
