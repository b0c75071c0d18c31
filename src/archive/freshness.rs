//! Which of two copies of a session the archive branch keeps: the one rule behind every write
//! of a session into it, whether the copy comes from the store (`push-sessions`, the
//! post-commit hook) or from a remote's archive (the union merge of `--remote` and pre-push).
//!
//! A copy replaces the one the archive holds only when it is newer: it changed later, or it
//! changed at the same instant and its content digest is greater. Nothing is ever replaced
//! by an older copy, and two clones meeting the same two copies keep the same one, so their
//! archives converge instead of trading copies back and forth.

use anyhow::{Context, Result};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use std::cmp::Ordering;

/// How the copy `candidate` stands to the copy the archive `held`, given when each last
/// changed (ms; see [`crate::store::ChangeStamp::changed`]): `Greater` when the candidate is
/// newer and replaces the held one, `Equal` when both hold the same content, `Less` when the
/// held copy stays.
///
/// `digests` gives the [`ContentDigest`]s of (candidate, held). It is called only when both
/// changed at the same instant: times are at hand, content has to be read.
pub fn compare(
    candidate: i64,
    held: i64,
    digests: impl FnOnce() -> Result<(ContentDigest, ContentDigest)>,
) -> Result<Ordering> {
    match candidate.cmp(&held) {
        Ordering::Equal => {
            let (candidate, held) = digests()?;
            Ok(candidate.cmp(&held))
        }
        newer_or_older => Ok(newer_or_older),
    }
}

/// A digest of what a session holds, wherever it lives: the export document without the
/// fields that say where the session ran (the project ID, `directory` and `path` of the
/// session, the `path` of its messages: restore rewrites them for the checkout it restores
/// to), and the extra record (todos, diffs, v2 rows). Key order and number spelling do not
/// count.
///
/// Both copies must be in the same form: the archive holds redacted text unless written with
/// `--no-redact`, so a store's copy is digested as the archive would hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContentDigest([u8; 32]);

impl ContentDigest {
    /// Stands for a copy whose files cannot be read; sorts before every digest, so such a
    /// copy never wins a tie.
    pub const UNREADABLE: ContentDigest = ContentDigest([0; 32]);

    /// The digest of an export document and its extra record (without `sessionID`).
    pub fn of(doc: &Value, extra: &Map<String, Value>) -> ContentDigest {
        let mut doc = doc.clone();
        if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
            for key in ["projectID", "directory", "path"] {
                info.remove(key);
            }
        }
        let messages = doc.get_mut("messages").and_then(Value::as_array_mut);
        for message in messages.into_iter().flatten() {
            if let Some(info) = message.get_mut("info").and_then(Value::as_object_mut) {
                info.remove("path");
            }
        }
        let mut hasher = Sha256::new();
        hasher.update(crate::json::canonical(&doc));
        hasher.update(b"\n");
        hasher.update(crate::json::canonical(&Value::Object(extra.clone())));
        ContentDigest(hasher.finalize().into())
    }

    /// The digest of a session as an archive holds it: the bytes of its `session.json` and,
    /// when it has one, its `extra.json`; `what` names the session in errors.
    pub fn of_files(session: &[u8], extra: Option<&[u8]>, what: &str) -> Result<ContentDigest> {
        let doc: Value = crate::json::parse_slice(session)
            .with_context(|| format!("malformed session.json of {what}"))?;
        let mut extra = match extra {
            Some(bytes) => match crate::json::parse_slice(bytes) {
                Ok(Value::Object(map)) => map,
                _ => anyhow::bail!("malformed extra.json of {what}"),
            },
            None => Map::new(),
        };
        extra.remove("sessionID");
        Ok(ContentDigest::of(&doc, &extra))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(directory: &str, text: &str) -> Value {
        json!({
            "info": {"id": "ses_1", "projectID": directory, "directory": directory, "path": "sub",
                     "title": "t", "time": {"created": 1, "updated": 5}},
            "messages": [{"info": {"id": "m", "path": {"cwd": directory, "root": directory}},
                          "parts": [{"id": "p", "type": "text", "text": text}]}]
        })
    }

    fn digest(doc: &Value) -> ContentDigest {
        ContentDigest::of(doc, &Map::new())
    }

    #[test]
    fn the_later_change_wins_without_reading_content() {
        let unread = || -> Result<(ContentDigest, ContentDigest)> { panic!("content was read") };
        assert_eq!(compare(6, 5, unread).unwrap(), Ordering::Greater);
        assert_eq!(compare(4, 5, unread).unwrap(), Ordering::Less);
    }

    #[test]
    fn a_tie_goes_to_the_same_copy_from_either_side() {
        let (a, b) = (digest(&doc("/a", "one")), digest(&doc("/a", "two")));
        assert_ne!(a, b);
        let a_over_b = compare(5, 5, || Ok((a, b))).unwrap();
        let b_over_a = compare(5, 5, || Ok((b, a))).unwrap();
        assert_eq!(a_over_b, b_over_a.reverse());
        assert_ne!(a_over_b, Ordering::Equal);
        assert_eq!(compare(5, 5, || Ok((a, a))).unwrap(), Ordering::Equal);
    }

    #[test]
    fn where_a_session_lives_is_not_content() {
        assert_eq!(digest(&doc("/a", "one")), digest(&doc("/b", "one")));
        let extra = Map::from_iter([("todos".to_owned(), json!([{"content": "x"}]))]);
        assert_ne!(
            ContentDigest::of(&doc("/a", "one"), &extra),
            digest(&doc("/a", "one"))
        );
    }

    #[test]
    fn archived_files_digest_like_the_store_copy() {
        let doc = doc("/a", "one");
        let extra = Map::from_iter([("todos".to_owned(), json!([{"content": "x", "n": 1.0}]))]);
        let session_json = crate::json::pretty_line(&doc);
        let extra_json = crate::archive::documents::extra_json("ses_1", extra.clone()).unwrap();
        let archived = ContentDigest::of_files(&session_json, Some(&extra_json), "ses_1").unwrap();
        assert_eq!(archived, ContentDigest::of(&doc, &extra));
        assert!(ContentDigest::of_files(b"{", None, "ses_1").is_err());
    }
}
