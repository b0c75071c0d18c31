//! Reading many sessions' parts at once, raw, for `search`.
//!
//! Searching thousands of sessions through [`Store::messages`] would run two queries and parse
//! every part of every session. Here the messages and parts of all the sessions asked for come
//! from one query each, and a part's data is handed over as the bytes SQLite holds, so that
//! the caller can skip a part its pattern cannot be in before parsing it. Only the SQLite
//! 1.x tables are read this way; other sessions go through [`Store::messages`].

use super::{Generation, Session, Store, StoreKind};
use anyhow::{Context, Result};

/// Parts larger than this are first peeked at: see [`Store::scan_parts`].
pub const PEEK_OVER: usize = 16 << 10;
/// How much of a large part [`Store::scan_parts`] shows its `wanted` first.
pub const PEEK: usize = 256;

/// A message of a 1.x SQLite session: where it stands in its session and who wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageKey {
    pub session_id: String,
    pub id: String,
    pub time_created: i64,
    /// `data.role`: `user` or `assistant`, as OpenCode wrote it.
    pub role: Option<String>,
}

/// The top-level `role` of a message's JSON `data`, when it is a string; `None` for a
/// malformed row, unless it starts as OpenCode writes a user message (a role is all that
/// is read of a message: its parts are what is searched).
fn role_of(data: &[u8]) -> Option<String> {
    /// The other fields are skipped, not built.
    #[derive(serde::Deserialize)]
    struct Role {
        role: Option<String>,
    }
    // `{"role":"user",...}`, as OpenCode writes a user message, needs no parsing.
    if let Some(rest) = data.strip_prefix(br#"{"role":""#) {
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[end] == b'"' {
            return std::str::from_utf8(&rest[..end]).ok().map(str::to_owned);
        }
    }
    serde_json::from_slice::<Role>(data).ok()?.role
}

/// A part as stored: its session, message and the JSON text of its data.
pub struct RawPart<'a> {
    pub session_id: &'a str,
    pub message_id: &'a str,
    pub data: &'a [u8],
}

impl Store {
    /// Whether `session` is read by [`Store::scan_messages`] and [`Store::scan_parts`].
    pub fn is_scannable(&self, session: &Session) -> bool {
        session.kind == StoreKind::Sqlite && session.generation == Generation::V1
    }

    /// The messages of `sessions` (each [`Store::is_scannable`]), in no particular order.
    pub fn scan_messages(&self, sessions: &[&str]) -> Result<Vec<MessageKey>> {
        let Some(db) = &self.sqlite else {
            return Ok(Vec::new());
        };
        let conn = db.connection();
        let what = || {
            format!(
                "failed to read messages from {}",
                self.location.db.display()
            )
        };
        // The role is read here rather than with SQLite's json_extract, which builds its
        // binary form of every message's JSON first (a third of this query's time).
        let mut stmt = conn
            .prepare(
                "SELECT session_id, id, time_created, data FROM message \
                 WHERE session_id IN (SELECT value FROM json_each(?1))",
            )
            .with_context(what)?;
        let ids = serde_json::to_string(sessions)?;
        let rows = stmt
            .query_map([ids], |r| {
                Ok(MessageKey {
                    session_id: r.get(0)?,
                    id: r.get(1)?,
                    time_created: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                    role: r.get_ref(3)?.as_bytes().ok().and_then(role_of),
                })
            })
            .with_context(what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .with_context(what)
    }

    /// Hands every part of `sessions` (each [`Store::is_scannable`]) to `visit`, in no
    /// particular order, as the bytes SQLite holds: one query, and nothing parsed here. A part
    /// larger than [`PEEK_OVER`] bytes is read whole only if `wanted` says yes to its first
    /// [`PEEK`] bytes (an attachment's hundreds of KB of base64 need not be read to be
    /// skipped).
    pub fn scan_parts(
        &self,
        sessions: &[&str],
        wanted: &dyn Fn(&[u8]) -> bool,
        visit: &mut dyn FnMut(RawPart<'_>) -> Result<()>,
    ) -> Result<()> {
        let Some(db) = &self.sqlite else {
            return Ok(());
        };
        let conn = db.connection();
        let what = || format!("failed to read parts from {}", self.location.db.display());
        let mut stmt = conn
            .prepare(
                "SELECT session_id, message_id, \
                 CASE WHEN octet_length(data) > ?2 THEN NULL ELSE data END, rowid FROM part \
                 WHERE session_id IN (SELECT value FROM json_each(?1))",
            )
            .with_context(what)?;
        let ids = serde_json::to_string(sessions)?;
        let mut rows = stmt
            .query(rusqlite::params![ids, PEEK_OVER as i64])
            .with_context(what)?;
        // One handle for every large part, moved from row to row (opening one costs a
        // statement).
        let mut blob: Option<rusqlite::blob::Blob<'_>> = None;
        let mut large = Vec::new();
        while let Some(row) = rows.next().with_context(what)? {
            let (session_id, message_id) = (row.get_ref(0)?, row.get_ref(1)?);
            let data: &[u8] = match row.get_ref(2)?.as_bytes_or_null().with_context(what)? {
                Some(data) => data,
                None => {
                    let rowid: i64 = row.get(3)?;
                    let handle = match blob.as_mut() {
                        Some(handle) => {
                            handle.reopen(rowid).with_context(what)?;
                            handle
                        }
                        None => blob.insert(
                            conn.blob_open(rusqlite::MAIN_DB, "part", "data", rowid, true)
                                .with_context(what)?,
                        ),
                    };
                    // NULL data (no large part) reads as an empty blob.
                    large.clear();
                    large.resize(PEEK.min(handle.len()), 0);
                    handle.read_at_exact(&mut large, 0).with_context(what)?;
                    if !wanted(&large) {
                        continue;
                    }
                    large.resize(handle.len(), 0);
                    handle.read_at_exact(&mut large, 0).with_context(what)?;
                    &large
                }
            };
            let part = RawPart {
                session_id: session_id.as_str().with_context(what)?,
                message_id: message_id.as_str().with_context(what)?,
                data,
            };
            visit(part)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `json_extract(data, '$.role')` gave as text, and `None` where it gave no text.
    #[test]
    fn the_role_is_the_top_level_string() {
        let role = |data: &str| role_of(data.as_bytes());
        assert_eq!(
            role(r#"{"role":"user","time":{"created":1}}"#).as_deref(),
            Some("user")
        );
        assert_eq!(
            role(r#"{"parentID":"m","path":{"role":"x"},"role":"assistant"}"#).as_deref(),
            Some("assistant")
        );
        assert_eq!(role(r#"{ "role" : "user" }"#).as_deref(), Some("user"));
        assert_eq!(role(r#"{"role":"us\u0065r"}"#).as_deref(), Some("user"));
        // Skipped fields may hold what a String would refuse (a lone surrogate).
        assert_eq!(
            role(r#"{"text":"\ud800","role":"user"}"#).as_deref(),
            Some("user")
        );
        // A row cut short after its role keeps the role (only its parts are searched).
        assert_eq!(role(r#"{"role":"user","ti"#).as_deref(), Some("user"));
        for none in [
            r#"{"role":1}"#,
            r#"{"time":{}}"#,
            r#"{"a":1,"role":"x""#,
            "[]",
            "",
        ] {
            assert_eq!(role(none), None, "{none}");
        }
    }
}
