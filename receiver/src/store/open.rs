//! The one place that chooses a backend. Everything else opens the database
//! through these functions and holds a `Box<dyn Store>` (or a bake
//! `Source`), so adding a backend changes this file, not the callers.
//!
//! PostgreSQL is chosen by `open_at` for a `database.url`; only part of the
//! `Store` exists there so far (see `postgres/boundary.rs`), so the
//! commands still call `open` with the SQLite path and refuse a URL.

use std::path::Path;

use anyhow::Result;
use kiln_bake::source::Source;

use super::postgres::{PgStore, Target};
use super::sqlite::{self, SqliteSource, SqliteStore};
use super::Store;

/// How a caller means to use the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create it if needed and bring its schema up to date: the receiver and
    /// the moderation commands.
    ReadWrite,
    /// An existing database at the current schema, never written: the
    /// publisher's change watch, `kiln export`.
    ReadOnly,
}

/// Where kiln's database is: `[database]` without its other keys, so that
/// the store depends on nothing else in the crate.
#[derive(Debug, Clone, Copy)]
pub enum Location<'a> {
    /// An SQLite file (`database.path`).
    Sqlite(&'a Path),
    /// A PostgreSQL database (`database.url`), and `database.password` for a
    /// URL that carries none (empty when there is none).
    Postgres { url: &'a str, password: &'a str },
}

impl<'a> Location<'a> {
    /// What `--db` names: a `postgres://` or `postgresql://` URL, or else
    /// the path of an SQLite file.
    pub fn from_arg(arg: &'a std::ffi::OsStr) -> Location<'a> {
        match arg.to_str() {
            Some(url) if is_postgres_url(url) => Location::Postgres { url, password: "" },
            _ => Location::Sqlite(Path::new(arg)),
        }
    }

    /// `database.url` when it is set, else `database.path`.
    pub fn new(path: &'a Path, url: &'a str, password: &'a str) -> Location<'a> {
        if url.is_empty() {
            Location::Sqlite(path)
        } else {
            Location::Postgres { url, password }
        }
    }
}

/// Whether `text` is a PostgreSQL URL rather than a file name.
fn is_postgres_url(text: &str) -> bool {
    let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Opens the SQLite database at `path`.
pub fn open(path: &Path, mode: Mode) -> Result<Box<dyn Store>> {
    open_at(Location::Sqlite(path), mode)
}

/// Opens the database at `location`, whichever backend holds it.
pub fn open_at(location: Location, mode: Mode) -> Result<Box<dyn Store>> {
    Ok(match (location, mode) {
        (Location::Sqlite(path), Mode::ReadWrite) => Box::new(SqliteStore::open(path)?),
        (Location::Sqlite(path), Mode::ReadOnly) => Box::new(SqliteStore::open_read_only(path)?),
        (Location::Postgres { url, password }, mode) => {
            let target = Target::parse(url, password)?;
            Box::new(match mode {
                Mode::ReadWrite => PgStore::open(&target)?,
                Mode::ReadOnly => PgStore::open_read_only(&target)?,
            })
        }
    })
}

/// Bake's view of the database at `path`, read-only. With `gravatar`
/// (`privacy.gravatar`), comments carry Gravatar hashes too.
pub fn open_source(path: &Path, gravatar: bool) -> Result<Box<dyn Source + Send>> {
    Ok(Box::new(SqliteSource::open(path, gravatar)?))
}

/// Whether `head`, the first bytes of a file, is a kiln database rather than
/// an export file (`kiln bake --from` takes either).
pub fn is_database(head: &[u8]) -> bool {
    sqlite::is_database(head)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::path::Path;

    use super::Location;

    #[test]
    fn db_arguments_name_a_url_or_a_file() {
        for url in [
            "postgres://kiln@db.example/kiln",
            "postgresql://kiln@/kiln?host=/run/postgresql",
            "POSTGRES://kiln@db/kiln",
        ] {
            assert!(
                matches!(Location::from_arg(OsStr::new(url)), Location::Postgres { url: u, password: "" } if u == url),
                "{url}"
            );
        }
        for path in ["kiln.sqlite3", "./postgres://x", "data/postgres.db", ""] {
            assert!(
                matches!(Location::from_arg(OsStr::new(path)), Location::Sqlite(p) if p == Path::new(path)),
                "{path}"
            );
        }
    }
}
