//! Which SQLite schemas restore can write: tables and columns read by name, a store from a
//! newer OpenCode refused (a schema migration newer than the last one known, or a required
//! column, NOT NULL without default, that this code does not know).

use crate::error::UserError;
use crate::store::{open_read_only, REQUIRED_COLUMNS};
use anyhow::{bail, Context, Result};
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::Path;

/// The newest schema migration of OpenCode 1.18.34, the newest version this code knows.
pub const LAST_KNOWN_MIGRATION: &str = "20260622202450_simplify_session_input";

/// The columns of OpenCode 1.18.34 in the tables restore writes.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "project",
        &[
            "id",
            "worktree",
            "vcs",
            "name",
            "icon_url",
            "icon_url_override",
            "icon_color",
            "time_created",
            "time_updated",
            "time_initialized",
            "sandboxes",
            "commands",
        ],
    ),
    (
        "project_directory",
        &[
            "project_id",
            "directory",
            "type",
            "strategy",
            "time_created",
        ],
    ),
    (
        "session",
        &[
            "id",
            "project_id",
            "workspace_id",
            "parent_id",
            "slug",
            "directory",
            "path",
            "title",
            "version",
            "share_url",
            "summary_additions",
            "summary_deletions",
            "summary_files",
            "summary_diffs",
            "metadata",
            "cost",
            "tokens_input",
            "tokens_output",
            "tokens_reasoning",
            "tokens_cache_read",
            "tokens_cache_write",
            "revert",
            "permission",
            "agent",
            "model",
            "time_created",
            "time_updated",
            "time_compacting",
            "time_archived",
        ],
    ),
    (
        "message",
        &["id", "session_id", "time_created", "time_updated", "data"],
    ),
    (
        "part",
        &[
            "id",
            "message_id",
            "session_id",
            "time_created",
            "time_updated",
            "data",
        ],
    ),
    (
        "todo",
        &[
            "session_id",
            "content",
            "status",
            "priority",
            "position",
            "time_created",
            "time_updated",
        ],
    ),
    (
        "session_message",
        &[
            "id",
            "session_id",
            "type",
            "seq",
            "time_created",
            "time_updated",
            "data",
        ],
    ),
    (
        "session_input",
        &[
            "id",
            "session_id",
            "prompt",
            "delivery",
            "admitted_seq",
            "promoted_seq",
            "time_created",
        ],
    ),
    (
        "session_context_epoch",
        &["session_id", "baseline", "snapshot", "baseline_seq"],
    ),
    ("event_sequence", &["aggregate_id", "seq", "owner_id"]),
];

/// Whether `db` is an OpenCode 2.x store: told by the schema (`session_v2` present), never
/// by a version (opencode-2x.md §7.4).
pub fn is_v2(db: &Path) -> Result<bool> {
    let conn = open_read_only(db)
        .with_context(|| format!("failed to open OpenCode database {}", db.display()))?;
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session_v2')",
        [],
        |r| r.get(0),
    )
    .with_context(|| format!("failed to read OpenCode database {}", db.display()))
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    required: bool,
}

/// The tables and columns of a store, checked to be a schema this code can write.
#[derive(Debug, Clone)]
pub struct Schema {
    tables: HashMap<String, Vec<Column>>,
}

impl Schema {
    /// Reads and checks the schema of `db` without writing anything.
    pub fn check(db: &Path) -> Result<Schema> {
        let conn = open_read_only(db)
            .with_context(|| format!("failed to open OpenCode database {}", db.display()))?;
        Schema::read(&conn, db)
    }

    /// Reads the schema through an open connection (inside the writing transaction).
    pub(super) fn read(conn: &Connection, db: &Path) -> Result<Schema> {
        let fail = |e: rusqlite::Error| {
            anyhow::Error::new(e)
                .context(format!("failed to read OpenCode database {}", db.display()))
        };
        let mut tables: HashMap<String, Vec<Column>> = HashMap::new();
        {
            let mut stmt = conn
                .prepare(
                    "SELECT m.name, p.name, p.\"notnull\", p.dflt_value IS NOT NULL, p.pk \
                     FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'",
                )
                .map_err(fail)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, bool>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .map_err(fail)?;
            for row in rows {
                let (table, name, notnull, has_default, pk) = row.map_err(fail)?;
                tables.entry(table).or_default().push(Column {
                    name,
                    required: notnull && !has_default && pk == 0,
                });
            }
        }
        let schema = Schema { tables };
        if !schema.has("session") {
            bail!(UserError::new(format!(
                "{} is not an OpenCode database (it has no session table)",
                db.display()
            ))
            .hint("run opencode once so it creates its database, or point --store at OpenCode's data directory"));
        }
        if schema.has("migration") {
            let newest: Option<String> = conn
                .query_row("SELECT max(id) FROM migration", [], |r| r.get(0))
                .map_err(fail)?;
            if let Some(newest) = newest.filter(|n| n.as_str() > LAST_KNOWN_MIGRATION) {
                bail!(UserError::new(format!(
                    "{} was written by a newer OpenCode than git-opencode knows (schema migration {newest})",
                    db.display()
                ))
                .hint("upgrade git-opencode; nothing was changed"));
            }
        }
        // Columns restore cannot do without: the same the read side needs.
        for (table, needed) in REQUIRED_COLUMNS {
            let Some(cols) = schema.tables.get(*table) else {
                bail!("OpenCode database {} has no {table} table", db.display());
            };
            if let Some(missing) = needed
                .iter()
                .find(|c| !cols.iter().any(|col| col.name == **c))
            {
                bail!(UserError::new(format!(
                    "OpenCode database {} has an unknown schema: table {table} has no column {missing}",
                    db.display()
                ))
                .hint("this store was written by an OpenCode version git-opencode does not know; upgrade git-opencode"));
            }
        }
        for (table, known) in KNOWN {
            for col in schema.tables.get(*table).into_iter().flatten() {
                if col.required && !known.contains(&col.name.as_str()) {
                    bail!(UserError::new(format!(
                        "OpenCode database {} has a newer schema: table {table} requires column {}, which git-opencode does not know",
                        db.display(),
                        col.name
                    ))
                    .hint("upgrade git-opencode; nothing was changed"));
                }
            }
        }
        Ok(schema)
    }

    pub(super) fn has(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    pub(super) fn has_column(&self, table: &str, column: &str) -> bool {
        self.tables
            .get(table)
            .is_some_and(|cols| cols.iter().any(|c| c.name == column))
    }

    /// How many tables the store has (a schema change shows in it).
    pub(super) fn table_count(&self) -> usize {
        self.tables.len()
    }

    /// OpenCode 1.2.x (drizzle migrations, no `migration` table): project IDs by the old rule.
    pub fn is_legacy(&self) -> bool {
        !self.has("migration")
    }
}
