//! `cargo bench --bench redact`: how fast the secret redaction (applied to every text before it
//! becomes a git object) scans realistic session text, in MiB/s, best of five over 10 MiB each.
//!
//! Kept apart from `perf` because it measures one function, not a command, and runs in seconds.

use git_opencode::redact::Redactor;
use serde_json::json;
use std::hint::black_box;
use std::time::Instant;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const CORPUS_BYTES: usize = 10 << 20;

fn main() {
    // `cargo test --benches` / `--all-targets` runs this without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("redact: benchmarks only run under `cargo bench --bench redact`");
        return;
    }
    let mut tokens = Tokens(0x9e37_79b9_7f4a_7c15);
    let session = session_text(&mut tokens);
    let b64 = tokens.make("", 4000, BASE64);
    let prose =
        "The quick brown fox jumps over the lazy dog; tokens: 12, a=b, see https://example.com/x.\n";

    println!("| text (10 MiB each) | redaction throughput |");
    println!("|---|---|");
    let with_data_url = format!("{session}data:image/png;base64,{b64}\n");
    for (name, block) in [
        ("session text (prose, code, JSON)", session.as_str()),
        ("same with data: attachments", with_data_url.as_str()),
        ("raw base64 (no data: prefix)", b64.as_str()),
        ("prose", prose),
    ] {
        let text = corpus(block, &mut tokens);
        println!("| {name} | {:.0} MiB/s |", throughput(&text));
    }

    // The JSON walk the archive uses: every string of an export document.
    let part = json!({"id": tokens.make("prt_", 26, ALNUM), "type": "text", "text": session});
    let mut doc = json!({ "messages": vec![part; CORPUS_BYTES / session.len()] });
    let start = Instant::now();
    let found = Redactor::new().redact_value(&mut doc);
    let mib_per_s = mib(CORPUS_BYTES) / start.elapsed().as_secs_f64();
    println!(
        "| export document, strings walked in place ({found} secrets) | {mib_per_s:.0} MiB/s |"
    );
}

/// Best of five runs over `text`, in MiB/s.
fn throughput(text: &str) -> f64 {
    let redactor = Redactor::new();
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            black_box(redactor.redact_str(black_box(text)));
            start.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min);
    mib(text.len()) / best
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// `block` repeated to 10 MiB, with a GitHub token every 20 blocks so redaction has work to do.
fn corpus(block: &str, tokens: &mut Tokens) -> String {
    let mut text = String::with_capacity(CORPUS_BYTES + block.len() + 64);
    for n in 1.. {
        if text.len() >= CORPUS_BYTES {
            break;
        }
        text.push_str(block);
        if n % 20 == 0 {
            text.push_str(&format!(
                "GITHUB_TOKEN={}\n",
                tokens.make("ghp_", 36, ALNUM)
            ));
        }
    }
    text
}

/// A block of what sessions hold: markdown prose, a code fence, a tool part as JSON, a table.
fn session_text(tokens: &mut Tokens) -> String {
    format!(
        "## Fix the login flow\n\nThe session token expires too early; see `src/auth.rs`.\n\
         ```rust\nfn refresh(token: &str) -> Result<Session, Error> {{\n    let url = format!(\"https://api.example.com/v1/refresh?id={{}}\", token);\n    client.post(url).header(\"Content-Type\", \"application/json\").send()?\n}}\n```\n\
         {{\"id\":\"{}\",\"sessionID\":\"{}\",\"type\":\"tool\",\"state\":{{\"status\":\"completed\",\"input\":{{\"command\":\"git log -3\"}},\"output\":\"commit {}\\nAuthor: Dev <dev@example.com>\\n\"}}}}\n\
         | name | value |\n|---|---|\n| timeout | 30 |\n| retries | 3 |\n",
        tokens.make("prt_", 26, ALNUM),
        tokens.make("ses_", 26, ALNUM),
        tokens.make("", 40, b"0123456789abcdef"),
    )
}

/// Made-up token text from a fixed-seed generator (no real secret in the source).
struct Tokens(u64);

impl Tokens {
    fn make(&mut self, prefix: &str, len: usize, alphabet: &[u8]) -> String {
        let body = (0..len).map(|_| {
            // SplitMix64 step.
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            alphabet[((z ^ (z >> 31)) % alphabet.len() as u64) as usize] as char
        });
        prefix.chars().chain(body).collect()
    }
}
