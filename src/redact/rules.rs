//! What a secret looks like, as data the scanner consults: the kinds (whose names appear in
//! `[REDACTED:<kind>]`), the vendor token shapes, the key names whose value is a secret, and
//! the test of whether an assigned value is a literal rather than a placeholder or code.
//!
//! A new vendor token is a new row of [`TOKEN_SHAPES`]; the scanner needs no change. Shapes that
//! span several words (JWTs, SendGrid and Telegram tokens, PEM blocks, `Bearer` credentials,
//! Slack webhook URLs, SAS signatures) are matched in `scan.rs`.

use super::scan::contains;
use std::fmt;
use std::ops::RangeInclusive;

/// The longest assignment value or credential considered; longer runs are left alone.
pub(super) const MAX_VALUE: usize = 4096;

/// What a redacted string was; its name is part of the replacement text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretKind {
    AwsAccessKey,
    AwsSecretKey,
    GithubToken,
    GitlabToken,
    SlackToken,
    OpenaiKey,
    AnthropicKey,
    GoogleApiKey,
    StripeKey,
    GoogleOauthSecret,
    SlackWebhook,
    AzureStorageKey,
    AzureSasSignature,
    SendgridKey,
    HuggingfaceToken,
    TelegramBotToken,
    ShopifyToken,
    PypiToken,
    AgeSecretKey,
    Jwt,
    PrivateKey,
    UrlPassword,
    BearerToken,
    BasicAuth,
    /// Another `Authorization` header credential.
    Authorization,
    /// The value of an assignment whose key looks secret (`password = …`).
    Secret,
}

impl SecretKind {
    /// The name used in `[REDACTED:<name>]`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKey => "aws-access-key",
            SecretKind::AwsSecretKey => "aws-secret-key",
            SecretKind::GithubToken => "github-token",
            SecretKind::GitlabToken => "gitlab-token",
            SecretKind::SlackToken => "slack-token",
            SecretKind::OpenaiKey => "openai-key",
            SecretKind::AnthropicKey => "anthropic-key",
            SecretKind::GoogleApiKey => "google-api-key",
            SecretKind::StripeKey => "stripe-key",
            SecretKind::GoogleOauthSecret => "google-oauth-secret",
            SecretKind::SlackWebhook => "slack-webhook",
            SecretKind::AzureStorageKey => "azure-storage-key",
            SecretKind::AzureSasSignature => "azure-sas-signature",
            SecretKind::SendgridKey => "sendgrid-key",
            SecretKind::HuggingfaceToken => "huggingface-token",
            SecretKind::TelegramBotToken => "telegram-bot-token",
            SecretKind::ShopifyToken => "shopify-token",
            SecretKind::PypiToken => "pypi-token",
            SecretKind::AgeSecretKey => "age-secret-key",
            SecretKind::Jwt => "jwt",
            SecretKind::PrivateKey => "private-key",
            SecretKind::UrlPassword => "url-password",
            SecretKind::BearerToken => "bearer-token",
            SecretKind::BasicAuth => "basic-auth",
            SecretKind::Authorization => "authorization",
            SecretKind::Secret => "secret",
        }
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a secret-looking key says about its value.
#[derive(Debug, Clone, Copy)]
pub(super) enum KeyClass {
    Secret(SecretKind),
    Authorization,
    /// Docker's `"auth"`: base64 of `user:password`, and only that (`auth: true` stays).
    BasicCredential,
}

/// A vendor token shape: one of `prefixes`, then a body of `len` chars of `body`.
struct TokenShape {
    kind: SecretKind,
    /// The token starts with one of these; `?` stands for any one char (no word has a `?`).
    prefixes: &'static [&'static [u8]],
    /// How many chars follow the prefix.
    len: RangeInclusive<usize>,
    body: Body,
}

/// What the chars after a token's prefix may be. A token is a whole word, so every char is
/// already one of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, Copy)]
enum Body {
    /// Any word chars.
    Word,
    /// Word chars with at least one digit and one letter (rules out `sk-some-hyphenated-name`).
    Mixed,
    /// `[A-Za-z0-9]`.
    Alnum,
    /// `[A-Za-z0-9_]`.
    AlnumUnderscore,
    /// `[A-Z0-9]`.
    UpperAlnum,
    /// `[0-9a-fA-F]`.
    Hex,
    /// `[A-Za-z]` with both cases (rules out `hf_` identifiers, which are lowercase).
    MixedCaseAlpha,
}

/// No upper bound on a body's length.
const ANY: usize = usize::MAX;

/// The vendor token shapes, tried in order; the first that matches names the kind. Order
/// matters only where prefixes overlap: `sk-ant-` must come before `sk-`.
const TOKEN_SHAPES: &[TokenShape] = {
    use Body::*;
    use SecretKind::*;
    &[
        TokenShape {
            kind: AwsAccessKey,
            prefixes: &[b"AKIA", b"ASIA"],
            len: 16..=16,
            body: UpperAlnum,
        },
        TokenShape {
            kind: GoogleApiKey,
            prefixes: &[b"AIza"],
            len: 35..=35,
            body: Word,
        },
        // Any fourth char is accepted, not only the `_` of real tokens.
        TokenShape {
            kind: GithubToken,
            prefixes: &[b"ghp?", b"gho?", b"ghu?", b"ghs?", b"ghr?"],
            len: 30..=ANY,
            body: Alnum,
        },
        TokenShape {
            kind: GithubToken,
            prefixes: &[b"github_pat_"],
            len: 40..=ANY,
            body: AlnumUnderscore,
        },
        TokenShape {
            kind: GitlabToken,
            prefixes: &[b"glpat-"],
            len: 20..=ANY,
            body: Word,
        },
        TokenShape {
            kind: SlackToken,
            prefixes: &[b"xoxa-", b"xoxb-", b"xoxp-", b"xoxr-", b"xoxs-"],
            len: 10..=ANY,
            body: Word,
        },
        TokenShape {
            kind: AnthropicKey,
            prefixes: &[b"sk-ant-"],
            len: 20..=ANY,
            body: Word,
        },
        TokenShape {
            kind: StripeKey,
            prefixes: &[b"sk_live_", b"sk_test_", b"rk_live_", b"rk_test_"],
            len: 16..=ANY,
            body: Alnum,
        },
        TokenShape {
            kind: OpenaiKey,
            prefixes: &[b"sk-"],
            len: 20..=ANY,
            body: Mixed,
        },
        TokenShape {
            kind: GoogleOauthSecret,
            prefixes: &[b"GOCSPX-"],
            len: 28..=28,
            body: Word,
        },
        TokenShape {
            kind: HuggingfaceToken,
            prefixes: &[b"hf_"],
            len: 34..=34,
            body: MixedCaseAlpha,
        },
        TokenShape {
            kind: ShopifyToken,
            prefixes: &[b"shpat_", b"shpca_", b"shppa_", b"shpss_"],
            len: 32..=32,
            body: Hex,
        },
        // The macaroon's first bytes encode the location: `pypi.org`, `test.pypi.org`.
        TokenShape {
            kind: PypiToken,
            prefixes: &[b"pypi-AgEIcHlwaS5vcmc", b"pypi-AgENdGVzdC5weXBpLm9yZw"],
            len: 50..=ANY,
            body: Word,
        },
        TokenShape {
            kind: AgeSecretKey,
            prefixes: &[b"AGE-SECRET-KEY-1"],
            len: 58..=58,
            body: UpperAlnum,
        },
    ]
};

/// For each byte, the shapes with a prefix that starts with it (bit `i` stands for
/// `TOKEN_SHAPES[i]`), and the length of the shortest token. Most words are rejected by these
/// two checks alone.
const SHAPES_BY_FIRST_BYTE: [u16; 256] = TOKEN_FILTER.0;
const SHORTEST_TOKEN: usize = TOKEN_FILTER.1;
const TOKEN_FILTER: ([u16; 256], usize) = {
    assert!(TOKEN_SHAPES.len() <= 16, "more shapes than a u16 has bits");
    let (mut by_first, mut shortest) = ([0u16; 256], usize::MAX);
    let mut i = 0;
    while i < TOKEN_SHAPES.len() {
        let shape = &TOKEN_SHAPES[i];
        let mut j = 0;
        while j < shape.prefixes.len() {
            let prefix = shape.prefixes[j];
            assert!(prefix[0] != b'?', "a token prefix must not start with `?`");
            by_first[prefix[0] as usize] |= 1 << i;
            if prefix.len() + *shape.len.start() < shortest {
                shortest = prefix.len() + *shape.len.start();
            }
            j += 1;
        }
        i += 1;
    }
    (by_first, shortest)
};

/// A word (all of `[A-Za-z0-9_-]`) with a vendor token shape. The scanner calls this for every
/// word, so it is only the two quick checks; the few candidates go on to [`first_shape`].
pub(super) fn classify_token(w: &[u8]) -> Option<SecretKind> {
    // First byte first: on random text (base64) the length is the less predictable branch.
    let candidates = SHAPES_BY_FIRST_BYTE[*w.first()? as usize];
    if candidates == 0 || w.len() < SHORTEST_TOKEN {
        return None;
    }
    first_shape(candidates, w)
}

/// The first of the `candidates` shapes (bit `i` for `TOKEN_SHAPES[i]`) that `w` has.
///
/// Not inlined: inlined, it made the scanner's per-word path bigger and every word slower
/// (6% more instructions on the base64 text of `cargo bench --bench redact`).
#[inline(never)]
fn first_shape(mut candidates: u16, w: &[u8]) -> Option<SecretKind> {
    while candidates != 0 {
        let shape = &TOKEN_SHAPES[candidates.trailing_zeros() as usize];
        if shape.matches(w) {
            return Some(shape.kind);
        }
        candidates &= candidates - 1;
    }
    None
}

impl TokenShape {
    fn matches(&self, w: &[u8]) -> bool {
        self.prefixes.iter().any(|prefix| {
            w.len() >= prefix.len()
                && self.len.contains(&(w.len() - prefix.len()))
                && w.iter().zip(*prefix).all(|(c, p)| *p == b'?' || c == p)
                && self.body.admits(&w[prefix.len()..])
        })
    }
}

impl Body {
    fn admits(self, body: &[u8]) -> bool {
        match self {
            Body::Word => true,
            Body::Mixed => {
                body.iter().any(u8::is_ascii_digit) && body.iter().any(u8::is_ascii_alphabetic)
            }
            Body::Alnum => body.iter().all(u8::is_ascii_alphanumeric),
            Body::AlnumUnderscore => body.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_'),
            Body::UpperAlnum => body
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
            Body::Hex => body.iter().all(u8::is_ascii_hexdigit),
            Body::MixedCaseAlpha => {
                body.iter().all(u8::is_ascii_alphabetic)
                    && body.iter().any(u8::is_ascii_uppercase)
                    && body.iter().any(u8::is_ascii_lowercase)
            }
        }
    }
}

/// Key names whose value is a secret, compared lowercased without `_`, `-` and `.`, as suffixes.
const SECRET_KEYS: [&[u8]; 10] = [
    b"apikey",
    b"accesskey",
    b"accountkey",
    b"privatekey",
    b"secretkey",
    b"secret",
    b"token",
    b"password",
    b"passwd",
    b"passphrase",
];

/// The last chars of [`SECRET_KEYS`] and of `authorization`. A key whose last char (before
/// normalising) is not one of them is rejected at once, which is where most keys go.
const KEY_LAST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    table[b'n' as usize] = true; // authorization
    let mut i = 0;
    while i < SECRET_KEYS.len() {
        table[SECRET_KEYS[i][SECRET_KEYS[i].len() - 1] as usize] = true;
        i += 1;
    }
    table
};

pub(super) fn classify_key(key: &[u8]) -> Option<KeyClass> {
    if key.eq_ignore_ascii_case(b"auth") {
        return Some(KeyClass::BasicCredential);
    }
    let last = key.last()?.to_ascii_lowercase();
    if !KEY_LAST_BYTES[last as usize] {
        return None;
    }
    let mut norm = [0u8; 64];
    let mut n = 0;
    for &c in &key[key.len().saturating_sub(64)..] {
        if !matches!(c, b'_' | b'-' | b'.') {
            norm[n] = c.to_ascii_lowercase();
            n += 1;
        }
    }
    let norm = &norm[..n];
    if norm.ends_with(b"authorization") {
        return Some(KeyClass::Authorization);
    }
    if !SECRET_KEYS.iter().any(|s| norm.ends_with(s)) {
        return None;
    }
    let aws = norm.ends_with(b"secretaccesskey")
        || (norm.ends_with(b"secretkey") && contains(norm, b"aws"));
    // `AccountKey=` of an Azure Storage connection string; other `*_account_key`s are generic.
    let azure = norm == b"accountkey";
    Some(KeyClass::Secret(if aws {
        SecretKind::AwsSecretKey
    } else if azure {
        SecretKind::AzureStorageKey
    } else {
        SecretKind::Secret
    }))
}

/// Whether an assigned value is a literal secret rather than a placeholder, a reference or code.
pub(super) fn plausible(v: &[u8], bare: bool) -> bool {
    if v.len() < 8 || v.len() > MAX_VALUE || v.iter().all(|&c| c == v[0]) {
        return false;
    }
    let reference = [&b"$"[..], b"%", b"{{", b"<", b"[REDACTED"];
    if reference.iter().any(|r| v.starts_with(r)) {
        return false;
    }
    if !bare {
        return true;
    }
    let digit = v.iter().any(u8::is_ascii_digit);
    let symbol = v
        .iter()
        .any(|&c| c.is_ascii_punctuation() && !matches!(c, b'_' | b'.' | b'-'));
    (digit || symbol) && !v.iter().all(u8::is_ascii_digit) && !dotted_path(v)
}

/// `self.token2`, `config.api_key_v2`: an identifier path.
fn dotted_path(v: &[u8]) -> bool {
    v.contains(&b'.')
        && v.split(|&c| c == b'.').all(|seg| {
            seg.first()
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
                && seg.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        })
}
