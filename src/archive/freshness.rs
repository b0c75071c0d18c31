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

/// A digest of what a session holds, wherever it ran: the one answer to "same content?" for
/// the archive's tie-break, restore and verify. It covers the session's title and
/// `time.updated`, every message and part, and, where asked, the extra record (todos,
/// diffs, v2 rows). Key order and number spelling do not count, nor does where the session
/// ran: restore rewrites that for the checkout it restores to (the project ID, `directory`
/// and `path` of the session, the `path` of its messages, and the checkout in the files
/// patch parts name, which are read relative to the checkout). The rest of `info` does not
/// count either: restore writes it through the target store's own columns (defaults filled
/// in, the local `workspaceID` dropped), so a restored copy and its original are the same
/// content.
///
/// Both copies must be in the same form: the archive holds redacted text unless written with
/// `--no-redact`, so a store's copy is digested as the archive would hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContentDigest([u8; 32]);

impl ContentDigest {
    /// Stands for a copy whose files cannot be read; sorts before every digest, so such a
    /// copy never wins a tie.
    pub const UNREADABLE: ContentDigest = ContentDigest([0; 32]);

    /// The digest of an export document and, when given, its extra record (without
    /// `sessionID`).
    ///
    /// The archive passes the extra record: it holds one per session, so a copy with other
    /// todos or v2 rows is other content. Restore and verify pass `None`: they compare v2
    /// rows by ID and merge todos row by row, and restore never writes share records back, so
    /// a restored copy's extra record differs from the archived one by design.
    ///
    /// Hashed as it is walked, without copying the document: a session can be hundreds of MB.
    pub fn of(doc: &Value, extra: Option<&Map<String, Value>>) -> ContentDigest {
        let info = &doc["info"];
        let root = super::checkout::session_root(info);
        let mut hasher = Hasher::default();
        hasher.value(info.get("title").unwrap_or(&Value::Null));
        let updated = info.get("time").and_then(|t| t.get("updated"));
        hasher.value(updated.unwrap_or(&Value::Null));
        for message in doc["messages"].as_array().into_iter().flatten() {
            // Each message and the extra record start with a mark no JSON value starts with.
            hasher.mark(b"m\n");
            // A 2.x message is flat (no `info`, no parts): the whole message is its content.
            let mut message_info = message
                .get("info")
                .cloned()
                .unwrap_or_else(|| message.clone());
            if let Some(obj) = message_info.as_object_mut() {
                obj.remove("path");
            }
            hasher.value(&message_info);
            for part in message["parts"].as_array().into_iter().flatten() {
                if part.get("type").and_then(Value::as_str) == Some("patch") {
                    let mut part = part.clone();
                    super::checkout::move_patch_files(&mut part, &root, "");
                    hasher.value(&part);
                } else {
                    hasher.value(part);
                }
            }
        }
        if let Some(extra) = extra {
            hasher.mark(b"x\n");
            // Entry by entry in key order: the record is not copied into one value.
            let mut keys: Vec<&String> = extra.keys().collect();
            keys.sort();
            for key in keys {
                hasher.value(&Value::String(key.clone()));
                hasher.value(&extra[key]);
            }
        }
        ContentDigest(hasher.0.finalize().into())
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
        Ok(ContentDigest::of(&doc, Some(&extra)))
    }
}

/// SHA-256 of canonical JSON values, each ended by a newline (which canonical JSON never
/// holds), written into the hash as they are produced.
#[derive(Default)]
struct Hasher(Sha256);

impl Hasher {
    fn value(&mut self, value: &Value) {
        crate::json::write_canonical(&mut self.0, value).expect("hashing cannot fail");
        self.0.update(b"\n");
    }

    fn mark(&mut self, mark: &[u8]) {
        self.0.update(mark);
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
        ContentDigest::of(doc, Some(&Map::new()))
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
            ContentDigest::of(&doc("/a", "one"), Some(&extra)),
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
        assert_eq!(archived, ContentDigest::of(&doc, Some(&extra)));
        assert!(ContentDigest::of_files(b"{", None, "ses_1").is_err());
    }
}
