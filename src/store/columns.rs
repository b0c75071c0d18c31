//! A row as its columns by name, with the typed reads both generations' session rows need
//! (`sqlite.rs`'s `session`, `gen2.rs`'s `session_v2`).

use super::sqlite::sql_to_json;
use anyhow::{Context, Result};
use rusqlite::{Row, Statement};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Every column of one row, by name, in the table's order; text stays text. The names are
/// shared by every row one statement read (see [`column_names`]): a row costs its values
/// only, which matters on the thread that reads the store.
#[derive(Clone)]
pub(super) struct Columns {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl Columns {
    /// The columns `names` of `row` (in their order).
    pub fn read(row: &Row<'_>, names: &Arc<[String]>) -> Result<Columns> {
        let mut values = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            values.push(sql_to_json(row.get_ref(i)?));
        }
        Ok(Columns {
            names: Arc::clone(names),
            values,
        })
    }

    /// The columns of a row given as an object (a `session_v2` row kept in an archive).
    pub fn from_map(map: Map<String, Value>) -> Columns {
        let (names, values): (Vec<String>, Vec<Value>) = map.into_iter().unzip();
        Columns {
            names: names.into(),
            values,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Whether the row has column `name` at all (NULL or not).
    pub fn has(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Column `name`; `Null` when NULL or absent.
    pub fn get(&self, name: &str) -> &Value {
        self.position(name)
            .map_or(&Value::Null, |i| &self.values[i])
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

/// The row as an object, column by column in order.
impl serde::Serialize for Columns {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.names.iter().zip(&self.values))
    }
}

/// The column names of `stmt`, as `cached` has them when they are the same (no allocation).
pub(super) fn column_names(
    stmt: &Statement<'_>,
    cached: &mut Option<Arc<[String]>>,
) -> Arc<[String]> {
    let same = cached.as_ref().is_some_and(|names| {
        names.len() == stmt.column_count()
            && (names.iter().zip(stmt.column_names())).all(|(a, b)| a == b)
    });
    if !same {
        *cached = Some(stmt.column_names().map(String::from).collect());
    }
    Arc::clone(cached.as_ref().expect("just set"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// The names are shared while the statement's columns stay the same, and read again
    /// when they change (another table, or the schema changed under a cached statement).
    #[test]
    fn cached_column_names_are_reused_only_while_they_match() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE a (x, y); INSERT INTO a VALUES (1, 'one');
             CREATE TABLE b (x, z); INSERT INTO b VALUES (2, 'two');",
        )
        .unwrap();
        let mut cached = None;
        let first = column_names(&conn.prepare("SELECT * FROM a").unwrap(), &mut cached);
        let again = column_names(&conn.prepare("SELECT * FROM a").unwrap(), &mut cached);
        assert!(Arc::ptr_eq(&first, &again));
        let mut stmt = conn.prepare("SELECT * FROM b").unwrap();
        let other = column_names(&stmt, &mut cached);
        assert_eq!(&*other, ["x", "z"]);
        let mut rows = stmt.query([]).unwrap();
        let columns = Columns::read(rows.next().unwrap().unwrap(), &other).unwrap();
        assert_eq!(columns.get("z"), &Value::from("two"));
        assert_eq!(columns.int("x"), 2);
        assert!(!columns.has("y"));
        assert_eq!(
            serde_json::to_value(&columns).unwrap(),
            serde_json::json!({"x": 2, "z": "two"})
        );
    }
}
