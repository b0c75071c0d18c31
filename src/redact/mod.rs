//! Secret redaction: secret-shaped strings become `[REDACTED:<kind>]` before anything is
//! written into a git object.
//!
//! One forward pass over the bytes finds three things:
//! - *words* (runs of `[A-Za-z0-9_-]`) with a known token shape (`ghp_…`, `AKIA…`, `sk-…`,
//!   `hf_…`, `AGE-SECRET-KEY-1…`), or a few words joined by `.` or `:` (`eyJ….….…`,
//!   `SG.….…`, Telegram's `<digits>:A…`), or `-----BEGIN … PRIVATE KEY-----`; a word must
//!   match as a whole, so IDs such as `ses_…`, git hashes and UUIDs never qualify;
//! - `key = value`, `key: value`, `key := value`, `key => value` where the key ends in a
//!   secret-like name (`api_key`, `token`, `password`, …) or is `Authorization`: only the value
//!   goes, and bare values that look like code (`get_token()`, `self.token`, `$TOKEN`) stay;
//! - `scheme://user:password@host`, where only the password goes; Slack webhook URLs, where
//!   the path after `hooks.slack.com/services/` goes; Azure SAS `sig=` values.
//!
//! `data:…;base64,` payloads (attachments) of a text type (an attached `.env`) are decoded,
//! redacted and encoded again; any other (images) is skipped unread.
//!
//! `rules.rs` says what a secret looks like (the kinds, the vendor token shapes, the secret-like
//! key names, what counts as a literal value); `scan.rs` is the pass that finds them in context.
//! The matchers are hand-written rather than regexes because most decisions depend on what
//! surrounds a match (the key before an `=`, the scheme before a credential, a call after a
//! value). Each look-ahead and look-behind is bounded or searched once, so the cost stays
//! linear in the input (`pathological_inputs_stay_linear` holds it to that).

mod base64;
mod rules;
mod scan;

use rules::{classify_key, KeyClass};
use scan::Scan;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

pub use rules::SecretKind;

/// How every placeholder begins: `[REDACTED:<kind>]`.
pub const PLACEHOLDER_PREFIX: &str = "[REDACTED:";

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

    /// The string `text` as [`Redactor::redact_value`] leaves it when it is the value of the
    /// object key `key` (`None`: an array item or a bare string).
    pub fn redact_field<'t>(&self, key: Option<&str>, text: &'t str) -> Cow<'t, str> {
        let class = key.and_then(|k| classify_key(k.as_bytes()));
        Scan::redact(text, class, &mut Redactions::default())
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

#[cfg(test)]
mod tests;
