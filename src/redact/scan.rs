//! The scanner: one forward pass over a string that finds token-shaped words, secret-like
//! assignments, `Authorization` and `Bearer` credentials, private key blocks and URL passwords,
//! and copies the text with each one replaced. What counts as a secret is in `rules.rs`.

use super::base64;
use super::rules::{classify_key, classify_token, plausible, KeyClass, SecretKind, MAX_VALUE};
use super::Redactions;
use std::borrow::Cow;
use std::ops::Range;

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
        let out = self.replace(start, end);
        out.push_str("[REDACTED:");
        out.push_str(kind.as_str());
        out.push(']');
        self.tally.add(kind);
    }

    /// Copies the text before `start`, skips it to `end`; the caller writes the replacement.
    fn replace(&mut self, start: usize, end: usize) -> &mut String {
        debug_assert!(self.copied <= start && start < end);
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(self.text.len()));
        out.push_str(&self.text[self.copied..start]);
        self.copied = end;
        out
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
            // Checked for `.` or `:` first: digits and `e` start many words. No vendor shape
            // starts with these bytes, so nothing is lost by not trying `classify_token`.
            b'e' | b'S' | b'0'..=b'9' if matches!(self.b.get(e), Some(b'.' | b':')) => {
                let (end, kind) = compound_token(self.b, s, e)?;
                self.emit(s, end, kind);
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
                self.data_url(i + 1).unwrap_or(op_end)
            }
            None if b[i] == b'=' && key.eq_ignore_ascii_case(b"sig") => {
                self.sas_signature(op_end).unwrap_or(op_end)
            }
            None => op_end,
        }
    }

    /// After `data:` at `p`: a `mediatype;base64,<payload>` URL. A text payload is decoded,
    /// redacted and encoded again (an attached `.env` is text in base64); any other is skipped
    /// unread, so images are never touched. Returns where the URL ends.
    fn data_url(&mut self, p: usize) -> Option<usize> {
        let (media_type, payload) = data_url_parts(self.b, p)?;
        if !text_like(&self.b[media_type]) {
            return Some(payload.end);
        }
        let Some(text) = base64::decode(&self.b[payload.clone()])
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|text| !text.contains('\0'))
        else {
            return Some(payload.end); // binary after all (`application/octet-stream`)
        };
        if let Cow::Owned(redacted) = Scan::redact(&text, None, self.tally) {
            let encoded = base64::encode(redacted.as_bytes());
            self.replace(payload.start, payload.end).push_str(&encoded);
        }
        Some(payload.end)
    }

    /// The value of `sig=` at `v`: an Azure SAS signature (an HMAC-SHA256 in URL-encoded
    /// base64). Short or non-base64 values (`?sig=abc`, `sig=true`) are not one.
    fn sas_signature(&mut self, v: usize) -> Option<usize> {
        let b = self.b;
        let (mut j, mut chars) = (v, 0);
        while j < b.len() && j - v <= 256 {
            match b[j] {
                c if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' => {
                    j += 1;
                    chars += 1;
                }
                b'%' => match b.get(j + 1..j + 3) {
                    Some(b"2B" | b"2b" | b"2F" | b"2f") => {
                        j += 3;
                        chars += 1;
                    }
                    Some(b"3D" | b"3d") => j += 3,
                    _ => return None,
                },
                b'=' => j += 1,
                _ => break,
            }
        }
        let sig = &b[v..j];
        let mixed = sig.iter().any(u8::is_ascii_digit) && sig.iter().any(u8::is_ascii_alphabetic);
        if !(40..=128).contains(&chars) || !mixed {
            return None;
        }
        self.emit(v, j, SecretKind::AzureSasSignature);
        Some(j)
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
            KeyClass::BasicCredential => SecretKind::BasicAuth,
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
            None if literal(value, quote.is_none(), class) => kind,
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
            KeyClass::BasicCredential => SecretKind::BasicAuth,
        };
        if b.iter().any(u8::is_ascii_whitespace) {
            return None;
        }
        let kind = match specific_kind(b) {
            Some(specific) => specific,
            None if literal(b, false, class) => kind,
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
        if let Some(end) = self.slack_webhook(a) {
            return end;
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

    /// After `https://` at `a`: `hooks.slack.com/services/T…/B…/<secret>` (or `/workflows/`,
    /// `/triggers/`). The path after the kind is the credential; the host stays readable.
    fn slack_webhook(&mut self, a: usize) -> Option<usize> {
        let b = self.b;
        let rest = b[a..].strip_prefix(b"hooks.slack.com/")?;
        let kind = [&b"services/"[..], b"workflows/", b"triggers/"]
            .into_iter()
            .find(|k| rest.starts_with(k))?;
        let s = a + b"hooks.slack.com/".len() + kind.len();
        let mut e = s;
        while e < b.len() && e - s <= 256 && (is_word(b[e]) || b[e] == b'/') {
            e += 1;
        }
        while e > s && b[e - 1] == b'/' {
            e -= 1;
        }
        let segments = b[s..e].split(|&c| c == b'/').filter(|seg| !seg.is_empty());
        if e - s < 20 || segments.count() < 2 {
            return None;
        }
        self.emit(s, e, SecretKind::SlackWebhook);
        Some(e)
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
    } else if end > 0 {
        compound_token(v, 0, end).and_then(|(e, kind)| (e == v.len()).then_some(kind))
    } else {
        None
    }
}

/// Whether an assigned value is a literal of what its key holds.
fn literal(v: &[u8], bare: bool, class: KeyClass) -> bool {
    match class {
        KeyClass::BasicCredential => basic_credential(v),
        _ => plausible(v, bare),
    }
}

/// Base64 of `user:password`, as Docker's `config.json` keeps a registry login.
fn basic_credential(v: &[u8]) -> bool {
    v.len() >= 8
        && v.len() <= MAX_VALUE
        && base64::decode(v).is_some_and(|raw| {
            raw.iter().all(|c| c.is_ascii_graphic())
                && raw
                    .iter()
                    .position(|&c| c == b':')
                    .is_some_and(|k| k > 0 && k + 1 < raw.len())
        })
}

/// `b[s..e]` is a word followed by `.` or `:`: the end and kind of a token that spans words.
fn compound_token(b: &[u8], s: usize, e: usize) -> Option<(usize, SecretKind)> {
    let w = &b[s..e];
    if w.starts_with(b"eyJ") {
        jwt_end(b, s, e).map(|end| (end, SecretKind::Jwt))
    } else if w == b"SG" {
        sendgrid_end(b, e).map(|end| (end, SecretKind::SendgridKey))
    } else if w[0].is_ascii_digit() {
        telegram_end(b, s, e).map(|end| (end, SecretKind::TelegramBotToken))
    } else {
        None
    }
}

/// `b[..e]` ends with the word `SG`: the end of `SG.<22 chars>.<43 chars>`.
fn sendgrid_end(b: &[u8], e: usize) -> Option<usize> {
    if b.get(e) != Some(&b'.') {
        return None;
    }
    let id = word_end(b, e + 1);
    if id - (e + 1) != 22 || b.get(id) != Some(&b'.') {
        return None;
    }
    let secret = word_end(b, id + 1);
    (secret - (id + 1) == 43).then_some(secret)
}

/// `b[s..e]` is a word of digits: the end of a Telegram bot token `<bot id>:<35 chars>`, whose
/// secret starts with `A`. Times (`12:30`) and ports never have 35 chars after the colon.
fn telegram_end(b: &[u8], s: usize, e: usize) -> Option<usize> {
    if !(5..=16).contains(&(e - s))
        || b.get(e) != Some(&b':')
        || !b[s..e].iter().all(u8::is_ascii_digit)
        || b.get(e + 1) != Some(&b'A')
    {
        return None;
    }
    let end = word_end(b, e + 1);
    let secret = &b[e + 1..end];
    let mixed = secret.iter().any(u8::is_ascii_lowercase) && secret.iter().any(u8::is_ascii_digit);
    (secret.len() == 35 && mixed).then_some(end)
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

/// After `data:` at `p` of a `mediatype;base64,<payload>` URL: where the media type (without
/// parameters) and the payload are.
fn data_url_parts(b: &[u8], p: usize) -> Option<(Range<usize>, Range<usize>)> {
    let mut j = p;
    while j < b.len() && j - p < 128 && (b[j].is_ascii_alphanumeric() || b"/+.-_;=".contains(&b[j]))
    {
        j += 1;
    }
    if b.get(j) != Some(&b',') || !b[p..j].ends_with(b";base64") {
        return None;
    }
    let media_end = b[p..j].iter().position(|&c| c == b';').map_or(j, |k| p + k);
    let start = j + 1;
    let mut end = start;
    while end < b.len() && is_base64(b[end]) {
        end += 1;
    }
    Some((p..media_end, start..end))
}

/// Whether a `data:` URL of this media type holds text: `text/*`, none (RFC 2397's default is
/// `text/plain`), structured text (`application/json`, `…+xml`, scripts), or
/// `application/octet-stream`, the type of a file of unknown extension such as `.env`
/// (decoded only if it turns out to be UTF-8). Images, audio, video, PDFs stay unread.
fn text_like(media_type: &[u8]) -> bool {
    let t = media_type.to_ascii_lowercase();
    if t.is_empty() || t.starts_with(b"text/") {
        return true;
    }
    let Some(sub) = t.strip_prefix(b"application/") else {
        return false;
    };
    let structured = [&b"+json"[..], b"+xml", b"+yaml"];
    const TEXT: &[&[u8]] = &[
        b"json",
        b"xml",
        b"yaml",
        b"x-yaml",
        b"toml",
        b"x-toml",
        b"javascript",
        b"ecmascript",
        b"x-javascript",
        b"typescript",
        b"x-typescript",
        b"x-sh",
        b"x-shellscript",
        b"x-python",
        b"x-ruby",
        b"x-perl",
        b"x-php",
        b"x-httpd-php",
        b"sql",
        b"graphql",
        b"x-www-form-urlencoded",
        b"x-ndjson",
        b"octet-stream",
    ];
    TEXT.contains(&sub) || structured.iter().any(|s| sub.ends_with(s))
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
