//! A 1.x session's export rows as SQLite holds them, and its export document written from
//! them (see [`crate::json_pretty`]).
//!
//! Reading and writing are apart so that they can run on different threads: a store is one
//! SQLite read transaction, read on one thread, while the writing (most of the CPU a session
//! costs) can go to the workers of [`crate::parallel`].

use super::sqlite::SessionColumns;
use crate::json_pretty::{indent, nested, object_with};
use std::collections::HashMap;
use std::ops::Range;

/// The text of one session's export rows, copied out of SQLite; no row is parsed yet.
pub struct ExportRows {
    /// The session's row, made into its `info` document by [`ExportRows::render`].
    session: SessionColumns,
    /// Every row's text end to end: one buffer per session, not one per string.
    text: Vec<u8>,
    /// Per part, ordered by message and ID: its id, message_id, session_id and data.
    parts: Vec<[Range<usize>; 4]>,
    /// Per message, in the session's order: its id, session_id and data.
    messages: Vec<[Range<usize>; 3]>,
}

impl ExportRows {
    pub(super) fn new(session: SessionColumns) -> Self {
        ExportRows {
            session,
            text: Vec::new(),
            parts: Vec::new(),
            messages: Vec::new(),
        }
    }

    /// A part's columns: id, message_id, session_id, data. Parts must come ordered by
    /// message ID.
    pub(super) fn push_part(&mut self, columns: [&[u8]; 4]) {
        let ranges = columns.map(|c| self.keep(c));
        self.parts.push(ranges);
    }

    /// A message's columns: id, session_id, data; in the order the document lists them.
    pub(super) fn push_message(&mut self, columns: [&[u8]; 3]) {
        let ranges = columns.map(|c| self.keep(c));
        self.messages.push(ranges);
    }

    /// About how many bytes the rows take in memory.
    pub fn size(&self) -> u64 {
        let ranges = (self.parts.len() * 4 + self.messages.len() * 3) * size_of::<Range<usize>>();
        (self.text.len() + ranges) as u64
    }

    fn keep(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.text.len();
        self.text.extend_from_slice(bytes);
        start..self.text.len()
    }

    fn str(&self, range: &Range<usize>) -> Option<&str> {
        std::str::from_utf8(&self.text[range.clone()]).ok()
    }

    /// The export document exactly as `crate::json::pretty_line` prints the parsed rows;
    /// `None` when a row is not UTF-8 or not in `JSON.stringify`'s canonical form, or the
    /// session row is damaged (the caller then parses the rows, and reports the damaged ones).
    pub fn render(&self) -> Option<Vec<u8>> {
        let info = self.session.info().ok()?;
        // Indented, the rows take about twice their compact size (OpenCode's: 2.2 times).
        let mut out = Vec::with_capacity(self.text.len() * 5 / 2 + 1024);
        out.extend_from_slice(b"{\n  \"info\": ");
        nested(&mut out, &info, 1);
        // Each message's parts: a run of consecutive parts (they come ordered by message).
        let mut parts_of: HashMap<&[u8], Range<usize>> = HashMap::new();
        let mut start = 0;
        for i in 1..=self.parts.len() {
            let message = |k: usize| &self.text[self.parts[k][1].clone()];
            if i == self.parts.len() || message(i) != message(start) {
                parts_of.insert(message(start), start..i);
                start = i;
            }
        }
        out.extend_from_slice(b",\n  \"messages\": [");
        let mut keys = Vec::new();
        for (n, [id, session, data]) in self.messages.iter().enumerate() {
            out.extend_from_slice(if n > 0 { b",\n" } else { b"\n" });
            indent(&mut out, 2);
            out.extend_from_slice(b"{\n      \"info\": ");
            let id_bytes = &self.text[id.clone()];
            let (id, session, data) = (self.str(id)?, self.str(session)?, self.str(data)?);
            let extra = [("id", id), ("sessionID", session)];
            object_with(&mut out, data, 3, &extra, &mut keys).ok()?;
            out.extend_from_slice(b",\n      \"parts\": ");
            match parts_of.get(id_bytes) {
                Some(range) => {
                    out.push(b'[');
                    for (k, [part_id, message, part_session, data]) in
                        self.parts[range.clone()].iter().enumerate()
                    {
                        out.extend_from_slice(if k > 0 { b",\n" } else { b"\n" });
                        indent(&mut out, 4);
                        let extra = [
                            ("id", self.str(part_id)?),
                            ("sessionID", self.str(part_session)?),
                            ("messageID", self.str(message)?),
                        ];
                        object_with(&mut out, self.str(data)?, 4, &extra, &mut keys).ok()?;
                    }
                    out.push(b'\n');
                    indent(&mut out, 3);
                    out.push(b']');
                }
                None => out.extend_from_slice(b"[]"),
            }
            out.push(b'\n');
            indent(&mut out, 2);
            out.push(b'}');
        }
        let any = !self.messages.is_empty();
        out.extend_from_slice(if any { b"\n  ]\n}\n" } else { b"]\n}\n" });
        Some(out)
    }
}
