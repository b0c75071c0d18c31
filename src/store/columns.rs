//! A row as its columns by name, with the typed reads both generations' session rows need
//! (`sqlite.rs`'s `session`, `gen2.rs`'s `session_v2`).

use super::sqlite::sql_to_json;
use anyhow::{Context, Result};
use rusqlite::Row;
use serde_json::{Map, Value};

/// Every column of one row, by name, in the table's order; text stays text.
pub(super) struct Columns(pub Map<String, Value>);

impl Columns {
    /// The columns `names` of `row` (in their order).
    pub fn read(row: &Row<'_>, names: &[String]) -> Result<Columns> {
        let mut map = Map::new();
        for (i, name) in names.iter().enumerate() {
            map.insert(name.clone(), sql_to_json(row.get_ref(i)?));
        }
        Ok(Columns(map))
    }

    /// Whether the row has column `name` at all (NULL or not).
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Column `name`; `Null` when NULL or absent.
    pub fn get(&self, name: &str) -> &Value {
        self.0.get(name).unwrap_or(&Value::Null)
    }

    pub fn text(&self, name: &str) -> String {
        self.opt_text(name).unwrap_or_default()
    }

    pub fn opt_text(&self, name: &str) -> Option<String> {
        self.get(name).as_str().map(String::from)
    }

    pub fn int(&self, name: &str) -> i64 {
        self.get(name).as_i64().unwrap_or(0)
    }

    /// Column `name` unless NULL or absent.
    pub fn present(&self, name: &str) -> Option<Value> {
        Some(self.get(name).clone()).filter(|v| !v.is_null())
    }

    /// Column `name`, 0 when NULL or absent.
    pub fn number_or_zero(&self, name: &str) -> Value {
        self.present(name).unwrap_or_else(|| Value::from(0))
    }

    /// A JSON-text column (drizzle's `mode: "json"`), parsed as `JSON.parse` would; NULL
    /// stays `Null`.
    pub fn json(&self, name: &str) -> Result<Value> {
        match self.get(name) {
            Value::String(text) => {
                crate::json::parse(text).with_context(|| format!("malformed JSON in column {name}"))
            }
            other => Ok(other.clone()),
        }
    }
}
