//! What a secret looks like, as data the scanner consults: the kinds (whose names appear in
//! `[REDACTED:<kind>]`), the vendor token shapes, the key names whose value is a secret, and
//! the test of whether an assigned value is a literal rather than a placeholder or code.

use super::scan::contains;
use std::fmt;

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
}

/// A word (all of `[A-Za-z0-9_-]`) with a vendor token shape.
pub(super) fn classify_token(w: &[u8]) -> Option<SecretKind> {
    use SecretKind::*;
    let tail = |prefix: &[u8], min: usize, ok: fn(&u8) -> bool| {
        w.strip_prefix(prefix)
            .is_some_and(|t| t.len() >= min && t.iter().all(ok))
    };
    let upper_alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    match *w.first()? {
        b'A' if w.len() == 20
            && (tail(b"AKIA", 16, upper_alnum) || tail(b"ASIA", 16, upper_alnum)) =>
        {
            Some(AwsAccessKey)
        }
        b'A' if w.len() == 39 && w.starts_with(b"AIza") => Some(GoogleApiKey),
        b'g' if w.len() >= 34
            && w.starts_with(b"gh")
            && matches!(w[2], b'p' | b'o' | b'u' | b's' | b'r')
            && tail(&w[..4], 30, u8::is_ascii_alphanumeric) =>
        {
            Some(GithubToken)
        }
        b'g' if tail(b"github_pat_", 40, |c| {
            c.is_ascii_alphanumeric() || *c == b'_'
        }) =>
        {
            Some(GithubToken)
        }
        b'g' if tail(b"glpat-", 20, |_| true) => Some(GitlabToken),
        b'x' if w.len() >= 15
            && w.starts_with(b"xox")
            && matches!(w[3], b'a' | b'b' | b'p' | b'r' | b's')
            && w[4] == b'-' =>
        {
            Some(SlackToken)
        }
        b's' if tail(b"sk-ant-", 20, |_| true) => Some(AnthropicKey),
        b's' | b'r'
            if w.len() >= 24
                && (w[1..].starts_with(b"k_live_") || w[1..].starts_with(b"k_test_"))
                && w[8..].iter().all(u8::is_ascii_alphanumeric) =>
        {
            Some(StripeKey)
        }
        b's' if w.len() >= 23
            && w.starts_with(b"sk-")
            && w[3..].iter().any(u8::is_ascii_digit)
            && w[3..].iter().any(u8::is_ascii_alphabetic) =>
        {
            Some(OpenaiKey)
        }
        _ => None,
    }
}

/// Key names whose value is a secret, compared lowercased without `_`, `-` and `.`, as suffixes.
const SECRET_KEYS: [&[u8]; 9] = [
    b"apikey",
    b"accesskey",
    b"privatekey",
    b"secretkey",
    b"secret",
    b"token",
    b"password",
    b"passwd",
    b"passphrase",
];

pub(super) fn classify_key(key: &[u8]) -> Option<KeyClass> {
    // Every name above ends in one of these; most keys are rejected here.
    let last = key.last()?.to_ascii_lowercase();
    if !matches!(last, b'y' | b't' | b'n' | b'd' | b'e') {
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
    Some(KeyClass::Secret(if aws {
        SecretKind::AwsSecretKey
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
