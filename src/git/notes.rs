//! The layout of a notes tree: one blob per annotated object, named by its hex ID, flat or
//! fanned out into directories (`ab/cdef…`) as git does once a notes tree grows.

use super::{Oid, Repo};
use anyhow::Result;

impl Repo {
    /// Where the note on `object` (full hex ID) lives in notes tree `tree`, and its text;
    /// the flat path and `None` when there is no note yet.
    pub fn find_note(&self, tree: Oid, object: &str) -> Result<(String, Option<String>)> {
        for split in [0, 2, 4] {
            let mut path = String::new();
            for i in (0..split).step_by(2) {
                path.push_str(&object[i..i + 2]);
                path.push('/');
            }
            path.push_str(&object[split..]);
            if let Some(bytes) = self.read_blob_at(tree, &path)? {
                return Ok((path, Some(String::from_utf8_lossy(&bytes).into_owned())));
            }
        }
        Ok((object.to_owned(), None))
    }
}

/// The annotated object's hex ID of the note at `path` in a notes tree, whatever its fan-out.
pub fn annotated_object(path: &str) -> String {
    path.replace('/', "")
}
