//! The scanner: one forward pass over a string that finds token-shaped words, secret-like
//! assignments, `Authorization` and `Bearer` credentials, private key blocks and URL passwords,
//! and copies the text with each one replaced. What counts as a secret is in `rules.rs`.

use super::rules::{classify_key, classify_token, plausible, KeyClass, SecretKind, MAX_VALUE};
use super::Redactions;
use std::borrow::Cow;

/// How far a PEM `-----END` may be from its `-----BEGIN` header.
const MAX_PEM: usize = 64 * 1024;

/// One pass over one string.
pub(super) struct Scan<'t, 'r> {
    text: &'t str,
    b: &'t [u8],
    out: Option<String>,
    copied: usize,
    tally: &'r mut Redactions,
    /// `(searched_from, first "-----END " at or after it)`: each region is searched once.
    pem_end: Option<(usize, Option<usize>)>,
}

impl<'t> Scan<'t, '_> {
    pub(super) fn redact(
        text: &'t str,
        class: Option<KeyClass>,
        tally: &mut Redactions,
    ) -> Cow<'t, str> {
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

pub(super) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
