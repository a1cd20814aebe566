//! Reading an Isso database for `kiln import isso`. Isso keeps its comments
//! in an SQLite file of its own schema; reading it is SQL, and only the store
//! names rusqlite, so the rows are read here, read-only, and handed to the
//! import module as plain values. What they mean is decided there.

use std::path::Path;

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, OpenFlags};

/// One row of Isso's `threads` table.
#[derive(Debug, Clone, PartialEq)]
pub struct IssoThread {
    pub id: i64,
    pub uri: String,
    pub title: Option<String>,
}

/// One row of Isso's `comments` table, with the columns kiln uses.
#[derive(Debug, Clone, PartialEq)]
pub struct IssoComment {
    pub tid: i64,
    pub id: i64,
    pub parent: Option<i64>,
    /// Unix seconds, with a fraction.
    pub created: f64,
    /// 1 public, 2 pending, 4 deleted but kept for its replies.
    pub mode: i64,
    pub remote_addr: Option<String>,
    pub text: Option<String>,
    pub author: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
}

/// Everything kiln reads from an Isso database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssoDump {
    pub threads: Vec<IssoThread>,
    /// In id order.
    pub comments: Vec<IssoComment>,
}

/// Reads the threads and comments of the Isso database at `path` without
/// writing to it.
pub fn read(path: &Path) -> Result<IssoDump> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot open the Isso database {}", path.display()))?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .with_context(|| format!("{} is not an SQLite database", path.display()))?;
    for needed in ["threads", "comments"] {
        if !tables.iter().any(|t| t == needed) {
            bail!(
                "{} is not an Isso database: it has no `{needed}` table",
                path.display()
            );
        }
    }
    let has_uri = conn.prepare("SELECT uri FROM threads LIMIT 0").is_ok();
    if !has_uri {
        bail!(
            "{} is not an Isso database: its `threads` table has no `uri` column",
            path.display()
        );
    }
    let context = || format!("cannot read the Isso database {}", path.display());
    let threads = conn
        .prepare("SELECT id, uri, title FROM threads ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(IssoThread {
                    id: r.get(0)?,
                    uri: r.get(1)?,
                    title: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .with_context(context)?;
    let comments = conn
        .prepare(
            "SELECT tid, id, parent, created, mode, remote_addr, text, author, email, website
             FROM comments ORDER BY id",
        )
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(IssoComment {
                    tid: r.get(0)?,
                    id: r.get(1)?,
                    parent: r.get(2)?,
                    created: r.get(3)?,
                    mode: r.get(4)?,
                    remote_addr: r.get(5)?,
                    text: r.get(6)?,
                    author: r.get(7)?,
                    email: r.get(8)?,
                    website: r.get(9)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .with_context(context)?;
    Ok(IssoDump { threads, comments })
}

/// Makes an Isso-shaped database at `path` from an SQL script, for tests that
/// read one: the project's fixtures are SQL text, not binary files.
#[cfg(any(test, feature = "testing"))]
pub fn create_from_sql(path: &Path, sql: &str) -> Result<()> {
    let conn = Connection::open(path)?;
    conn.execute_batch(sql)
        .with_context(|| format!("cannot build {}", path.display()))?;
    Ok(())
}
