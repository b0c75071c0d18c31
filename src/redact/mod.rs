//! Secret redaction: secret-shaped strings become `[REDACTED:<kind>]` before anything is
//! written into a git object.
//!
//! One forward pass over the bytes with hand-written matchers, so the cost is linear in the
//! input and nothing can backtrack. The pass looks at three things:
//! - *words* (runs of `[A-Za-z0-9_-]`) with a known token shape (`ghp_…`, `AKIA…`, `sk-…`,
//!   `eyJ….….…`, `-----BEGIN … PRIVATE KEY-----`); a word must match as a whole, so IDs such as
//!   `ses_…`, git hashes and UUIDs never qualify;
//! - `key = value`, `key: value`, `key := value`, `key => value` where the key ends in a
//!   secret-like name (`api_key`, `token`, `password`, …) or is `Authorization`: only the value
//!   goes, and bare values that look like code (`get_token()`, `self.token`, `$TOKEN`) stay;
//! - `scheme://user:password@host`, where only the password goes.
//!
//! `data:…;base64,` payloads (attachments) are skipped unread.

use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// The longest assignment value or credential considered; longer runs are left alone.
const MAX_VALUE: usize = 4096;
/// How far a PEM `-----END` may be from its `-----BEGIN` header.
const MAX_PEM: usize = 64 * 1024;

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

/// How many secrets of each kind were replaced; displays as `2 github-token, 1 jwt`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactions {
    counts: BTreeMap<SecretKind, usize>,
}

impl Redactions {
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    pub fn count(&self, kind: SecretKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// Kinds with their counts, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (SecretKind, usize)> + '_ {
        self.counts.iter().map(|(kind, n)| (*kind, *n))
    }

    fn add(&mut self, kind: SecretKind) {
        *self.counts.entry(kind).or_default() += 1;
    }
}

impl fmt::Display for Redactions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, n)) in self.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{n} {kind}")?;
        }
        Ok(())
    }
}

/// Replaces secret-shaped strings. Holds no state: build one and share it.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    _private: (),
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// `text` with every secret replaced; borrowed (no copy) when there was none.
    pub fn redact_str<'t>(&self, text: &'t str) -> Cow<'t, str> {
        self.redact_str_counted(text, &mut Redactions::default())
    }

    /// Like [`Redactor::redact_str`], adding what was replaced to `tally`.
    pub fn redact_str_counted<'t>(&self, text: &'t str, tally: &mut Redactions) -> Cow<'t, str> {
        Scan::redact(text, None, tally)
    }

    /// Redacts every string value in `value` (object keys are kept) and returns how many
    /// secrets were replaced. A string under a secret-like key (`"apiKey": "…"`) is treated as
    /// that key's assigned value.
    pub fn redact_value(&self, value: &mut Value) -> usize {
        let mut tally = Redactions::default();
        self.redact_value_counted(value, &mut tally);
        tally.total()
    }

    /// Like [`Redactor::redact_value`], adding what was replaced to `tally`.
    pub fn redact_value_counted(&self, value: &mut Value, tally: &mut Redactions) {
        match value {
            Value::String(s) => replace_string(s, None, tally),
            Value::Array(items) => {
                for item in items {
                    self.redact_value_counted(item, tally);
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    match (item, classify_key(key.as_bytes())) {
                        (Value::String(s), class @ Some(_)) => replace_string(s, class, tally),
                        (item, _) => self.redact_value_counted(item, tally),
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

fn replace_string(s: &mut String, class: Option<KeyClass>, tally: &mut Redactions) {
    let redacted = match Scan::redact(s, class, tally) {
        Cow::Owned(new) => Some(new),
        Cow::Borrowed(_) => None,
    };
    if let Some(new) = redacted {
        *s = new;
    }
}

/// What a secret-looking key says about its value.
#[derive(Debug, Clone, Copy)]
enum KeyClass {
    Secret(SecretKind),
    Authorization,
}

/// One pass over one string.
struct Scan<'t, 'r> {
    text: &'t str,
    b: &'t [u8],
    out: Option<String>,
    copied: usize,
    tally: &'r mut Redactions,
    /// `(searched_from, first "-----END " at or after it)`: each region is searched once.
    pem_end: Option<(usize, Option<usize>)>,
}

impl<'t> Scan<'t, '_> {
    fn redact(text: &'t str, class: Option<KeyClass>, tally: &mut Redactions) -> Cow<'t, str> {
        let mut scan = Scan {
            text,
            b: text.as_bytes(),
            out: None,
            copied: 0,
            tally,
            pem_end: None,
        };
        let start = class.and_then(|c| scan.keyed(c)).unwrap_or(0);
        scan.run(start);
        match scan.out {
            None => Cow::Borrowed(text),
            Some(mut out) => {
                out.push_str(&text[scan.copied..]);
                Cow::Owned(out)
            }
        }
    }

    fn emit(&mut self, start: usize, end: usize, kind: SecretKind) {
        debug_assert!(self.copied <= start && start < end);
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(self.text.len()));
        out.push_str(&self.text[self.copied..start]);
        out.push_str("[REDACTED:");
        out.push_str(kind.as_str());
        out.push(']');
        self.copied = end;
        self.tally.add(kind);
    }

    fn run(&mut self, mut i: usize) {
        let b = self.b;
        while i < b.len() {
            let c = b[i];
            if is_word(c) {
                let end = word_end(b, i);
                i = self.word(i, end);
            } else if c == b':' || c == b'=' {
                i = self.operator(i);
            } else {
                i += 1;
            }
        }
    }

    /// Checks the word `b[s..e]`; returns where to go on.
    fn word(&mut self, s: usize, e: usize) -> usize {
        if let Some(end) = self.token(s, e) {
            return end;
        }
        // JSON-escaped text glues `\n`, `\t`, `\r` to the next word: `…\nghp_…`.
        let escaped = s > 0 && self.b[s - 1] == b'\\' && matches!(self.b[s], b'n' | b't' | b'r');
        if escaped && s + 1 < e {
            if let Some(end) = self.token(s + 1, e) {
                return end;
            }
        }
        e
    }

    fn token(&mut self, s: usize, e: usize) -> Option<usize> {
        let w = &self.b[s..e];
        match w[0] {
            b'e' if w.starts_with(b"eyJ") => {
                let end = jwt_end(self.b, s, e)?;
                self.emit(s, end, SecretKind::Jwt);
                Some(end)
            }
            b'-' if w.ends_with(b"-----BEGIN") => self.pem(e - 10, e),
            b'B' | b'b' if w == b"Bearer" || w == b"bearer" => self.bearer(e),
            _ => {
                let kind = classify_token(w)?;
                self.emit(s, e, kind);
                Some(e)
            }
        }
    }

    /// `b[i]` is `:` or `=`.
    fn operator(&mut self, i: usize) -> usize {
        let b = self.b;
        let next = b.get(i + 1).copied();
        let op_end = if b[i] == b':' {
            if b[i + 1..].starts_with(b"//") {
                return self.url(i);
            }
            match next {
                Some(b':') => return i + 2,
                Some(b'=') => i + 2,
                _ => i + 1,
            }
        } else {
            let compound = i > 0
                && matches!(
                    b[i - 1],
                    b'!' | b'<' | b'>' | b'=' | b'+' | b'*' | b'/' | b'%' | b'|' | b'&' | b'^'
                );
            if next == Some(b'=') || compound {
                return i + 1;
            }
            if next == Some(b'>') {
                i + 2
            } else {
                i + 1
            }
        };
        let Some(key) = key_before(b, i) else {
            return op_end;
        };
        match classify_key(key) {
            Some(class) => self.assignment(op_end, class).unwrap_or(op_end),
            None if b[i] == b':' && key.eq_ignore_ascii_case(b"data") => {
                data_url_end(b, i + 1).unwrap_or(op_end)
            }
            None => op_end,
        }
    }

    /// The value after a secret-like key's operator, at or after `v`.
    fn assignment(&mut self, v: usize, class: KeyClass) -> Option<usize> {
        let b = self.b;
        let mut v = v;
        let skip_from = v;
        while v < b.len() && v - skip_from < 16 && matches!(b[v], b' ' | b'\t') {
            v += 1;
        }
        let kind = match class {
            KeyClass::Secret(kind) => kind,
            KeyClass::Authorization => match self.auth_credential(v) {
                Some(resume) => return resume,
                None => SecretKind::Authorization,
            },
        };
        let (quote, vs) = match b.get(v) {
            Some(&q @ (b'"' | b'\'' | b'`')) => (Some(q), v + 1),
            Some(b'\\') if matches!(b.get(v + 1), Some(b'"' | b'\'')) => (Some(b[v + 1]), v + 2),
            _ => (None, v),
        };
        let mut ve = vs;
        if let Some(q) = quote {
            while ve < b.len()
                && ve - vs <= MAX_VALUE
                && b[ve] != q
                && b[ve] != b'\\'
                && !b[ve].is_ascii_whitespace()
            {
                ve += 1;
            }
            let closed =
                b.get(ve) == Some(&q) || (b.get(ve) == Some(&b'\\') && b.get(ve + 1) == Some(&q));
            if !closed {
                return None;
            }
        } else {
            while ve < b.len() && ve - vs <= MAX_VALUE && is_bare(b[ve]) {
                ve += 1;
            }
            if ve - vs > MAX_VALUE {
                return None;
            }
            for _ in 0..2 {
                if b.get(ve) == Some(&b'=') {
                    ve += 1; // base64 padding
                }
            }
            if matches!(b.get(ve), Some(b'(' | b'[')) {
                return None; // a call or an index: code, not a literal
            }
        }
        let value = &b[vs..ve];
        let kind = match specific_kind(value) {
            Some(specific) => specific,
            None if plausible(value, quote.is_none()) => kind,
            None => return None,
        };
        self.emit(vs, ve, kind);
        Some(ve)
    }

    /// A whole JSON string under a secret-like key.
    fn keyed(&mut self, class: KeyClass) -> Option<usize> {
        let b = self.b;
        let kind = match class {
            KeyClass::Secret(kind) => kind,
            KeyClass::Authorization => match self.auth_credential(0) {
                Some(resume) => return resume,
                None => SecretKind::Authorization,
            },
        };
        if b.iter().any(u8::is_ascii_whitespace) {
            return None;
        }
        let kind = match specific_kind(b) {
            Some(specific) => specific,
            None if plausible(b, false) => kind,
            None => return None,
        };
        self.emit(0, b.len(), kind);
        Some(b.len())
    }

    /// `Scheme credential` after `Authorization:`. `None` when there is no scheme word;
    /// `Some(None)` when the credential is missing or not a literal.
    fn auth_credential(&mut self, v: usize) -> Option<Option<usize>> {
        let b = self.b;
        let s = if matches!(b.get(v), Some(b'"' | b'\'')) {
            v + 1
        } else {
            v
        };
        let mut j = s;
        while j < b.len() && j - s <= 16 && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        if !(2..=16).contains(&(j - s)) || b.get(j) != Some(&b' ') {
            return None;
        }
        let scheme = &b[s..j];
        let mut c = j;
        while c < b.len() && c - j < 4 && b[c] == b' ' {
            c += 1;
        }
        let Some(ce) = credential_end(b, c, 8) else {
            return Some(None);
        };
        let kind = specific_kind(&b[c..ce]).unwrap_or(if scheme.eq_ignore_ascii_case(b"bearer") {
            SecretKind::BearerToken
        } else if scheme.eq_ignore_ascii_case(b"basic") {
            SecretKind::BasicAuth
        } else {
            SecretKind::Authorization
        });
        self.emit(c, ce, kind);
        Some(Some(ce))
    }

    /// `Bearer <token>` outside an `Authorization` header: the token needs 16+ chars and a digit.
    fn bearer(&mut self, e: usize) -> Option<usize> {
        let b = self.b;
        if b.get(e) != Some(&b' ') {
            return None;
        }
        let ce = credential_end(b, e + 1, 16)?;
        let cred = &b[e + 1..ce];
        if !cred.iter().any(u8::is_ascii_digit) {
            return None;
        }
        self.emit(
            e + 1,
            ce,
            specific_kind(cred).unwrap_or(SecretKind::BearerToken),
        );
        Some(ce)
    }

    /// `b[begin..e]` is `-----BEGIN`: a private key block, through its `-----END … -----` line,
    /// or (when truncated) through the key material that follows the header.
    fn pem(&mut self, begin: usize, e: usize) -> Option<usize> {
        let b = self.b;
        if b.get(e) != Some(&b' ') {
            return None;
        }
        let label_end = pem_label_end(b, e + 1);
        if !b[label_end..].starts_with(b"-----") || !contains(&b[e + 1..label_end], b"PRIVATE KEY")
        {
            return None;
        }
        let body = label_end + 5;
        if let Some(end) = self.next_pem_end(body).filter(|end| end - body <= MAX_PEM) {
            if !has_base64_run(&b[body..end], 32) {
                return None; // header and footer quoted in code, with no key between
            }
            let close = pem_label_end(b, end + 9);
            let stop = if b[close..].starts_with(b"-----") {
                close + 5
            } else {
                close
            };
            self.emit(begin, stop, SecretKind::PrivateKey);
            return Some(stop);
        }
        let (mut j, mut last, mut chars) = (body, body, 0);
        while j < b.len() {
            match b[j] {
                c if is_base64(c) => {
                    j += 1;
                    chars += 1;
                    last = j;
                }
                b'\r' | b'\n' => j += 1,
                b'\\' if matches!(b.get(j + 1), Some(b'n' | b'r')) => j += 2,
                _ => break,
            }
        }
        if chars < 64 {
            return None;
        }
        self.emit(begin, last, SecretKind::PrivateKey);
        Some(last)
    }

    fn next_pem_end(&mut self, from: usize) -> Option<usize> {
        if let Some((searched, found)) = self.pem_end {
            if searched <= from {
                match found {
                    None => return None,
                    Some(at) if at >= from => return Some(at),
                    Some(_) => {}
                }
            }
        }
        let found = self.text[from..].find("-----END ").map(|k| from + k);
        self.pem_end = Some((from, found));
        found
    }

    /// `b[i..]` starts with `://`: the password of `user:password@host`.
    fn url(&mut self, i: usize) -> usize {
        let b = self.b;
        let a = i + 3;
        if i == 0 || !b[i - 1].is_ascii_alphanumeric() {
            return a;
        }
        let (mut j, mut at) = (a, None);
        while j < b.len() && j - a < 512 {
            match b[j] {
                b'@' => at = Some(j),
                b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b'<' | b'>' | b'\\' | b'[' | b']'
                | b'{' | b'}' => break,
                c if c.is_ascii_whitespace() => break,
                _ => {}
            }
            j += 1;
        }
        let Some(at) = at else { return a };
        let Some(colon) = b[a..at].iter().position(|&c| c == b':').map(|k| a + k) else {
            return a;
        };
        // `https://<token>:x-oauth-basic@host` puts the secret in the user part.
        if let Some(kind) = specific_kind(&b[a..colon]) {
            self.emit(a, colon, kind);
        }
        let password = &b[colon + 1..at];
        if password.is_empty() || password.starts_with(b"$") {
            return colon + 1;
        }
        self.emit(colon + 1, at, SecretKind::UrlPassword);
        at
    }
}

/// A `[bool; 256]` lookup table from a byte predicate, built at compile time.
macro_rules! byte_table {
    (|$c:ident| $cond:expr) => {{
        let mut table = [false; 256];
        let mut i = 0;
        while i < 256 {
            let $c = i as u8;
            table[i] = $cond;
            i += 1;
        }
        table
    }};
}

const WORD: [bool; 256] = byte_table!(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
const KEY: [bool; 256] =
    byte_table!(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
const BASE64: [bool; 256] =
    byte_table!(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='));
/// RFC 6750 `b64token`.
const CREDENTIAL: [bool; 256] =
    byte_table!(|c| c.is_ascii_alphanumeric()
        || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'='));
/// An unquoted value: up to whitespace, quotes, separators, brackets, `=`, `:` or `\`.
const BARE: [bool; 256] = byte_table!(|c| {
    !c.is_ascii_whitespace()
        && !c.is_ascii_control()
        && !matches!(
            c,
            b'"' | b'\''
                | b'`'
                | b','
                | b';'
                | b'('
                | b')'
                | b'{'
                | b'}'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'='
                | b':'
                | b'\\'
        )
});

fn is_word(c: u8) -> bool {
    WORD[c as usize]
}

fn is_base64(c: u8) -> bool {
    BASE64[c as usize]
}

fn is_bare(c: u8) -> bool {
    BARE[c as usize]
}

fn word_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_word(b[i]) {
        i += 1;
    }
    i
}

/// The end of a credential of at least `min` chars starting at `c` (trailing dots excluded).
fn credential_end(b: &[u8], c: usize, min: usize) -> Option<usize> {
    let mut ce = c;
    while ce < b.len() && ce - c <= MAX_VALUE && CREDENTIAL[b[ce] as usize] {
        ce += 1;
    }
    while ce > c && b[ce - 1] == b'.' {
        ce -= 1;
    }
    (ce - c >= min && ce - c <= MAX_VALUE).then_some(ce)
}

/// A word (all of `[A-Za-z0-9_-]`) with a vendor token shape.
fn classify_token(w: &[u8]) -> Option<SecretKind> {
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

/// `v` as a whole is a vendor token or a JWT.
fn specific_kind(v: &[u8]) -> Option<SecretKind> {
    let end = word_end(v, 0);
    if end == v.len() && end > 0 {
        classify_token(v)
    } else if v.starts_with(b"eyJ") && jwt_end(v, 0, end) == Some(v.len()) {
        Some(SecretKind::Jwt)
    } else {
        None
    }
}

/// `b[s..e]` is a word starting with `eyJ`: the end of `header.payload.signature`.
fn jwt_end(b: &[u8], s: usize, e: usize) -> Option<usize> {
    if e - s < 10 || b.get(e) != Some(&b'.') {
        return None;
    }
    let p = word_end(b, e + 1);
    if p - (e + 1) < 2 || b.get(p) != Some(&b'.') {
        return None;
    }
    let q = word_end(b, p + 1);
    (q - (p + 1) >= 16).then_some(q)
}

/// The key that ends right before the operator at `i`, past spaces and a closing quote.
fn key_before(b: &[u8], i: usize) -> Option<&[u8]> {
    let mut j = i;
    while j > 0 && i - j < 8 && matches!(b[j - 1], b' ' | b'\t') {
        j -= 1;
    }
    if j > 0 && matches!(b[j - 1], b'"' | b'\'') {
        j -= 1;
        if j > 0 && b[j - 1] == b'\\' {
            j -= 1;
        }
    }
    let end = j;
    while j > 0 && end - j < 64 && KEY[b[j - 1] as usize] {
        j -= 1;
    }
    (j < end).then(|| &b[j..end])
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

fn classify_key(key: &[u8]) -> Option<KeyClass> {
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
fn plausible(v: &[u8], bare: bool) -> bool {
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

/// After `data:` at `p`: the end of a `mediatype;base64,<payload>`.
fn data_url_end(b: &[u8], p: usize) -> Option<usize> {
    let mut j = p;
    while j < b.len() && j - p < 128 && (b[j].is_ascii_alphanumeric() || b"/+.-_;=".contains(&b[j]))
    {
        j += 1;
    }
    if b.get(j) != Some(&b',') || !b[p..j].ends_with(b";base64") {
        return None;
    }
    j += 1;
    while j < b.len() && is_base64(b[j]) {
        j += 1;
    }
    Some(j)
}

fn pem_label_end(b: &[u8], start: usize) -> usize {
    let mut j = start;
    while j < b.len()
        && j - start < 64
        && (b[j].is_ascii_uppercase() || b[j].is_ascii_digit() || b[j] == b' ')
    {
        j += 1;
    }
    j
}

fn has_base64_run(body: &[u8], min: usize) -> bool {
    let mut run = 0;
    for &c in body {
        if is_base64(c) {
            run += 1;
            if run >= min {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const URLSAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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
        ];
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
        ] {
            kept(text);
        }
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
        assert_eq!(tally.to_string(), "1 aws-access-key, 1 github-token, 1 openai-key, 1 private-key, 1 bearer-token, 1 secret");
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
            "\\n",
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
}
