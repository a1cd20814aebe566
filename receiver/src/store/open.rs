//! The one place that chooses a backend. Everything else opens the database
//! through these functions and holds a `Box<dyn Store>` (or a bake
//! `Source`), so adding a backend changes this file, not the callers.
//!
//! PostgreSQL is chosen by `open_at` for a `database.url`; not all of the
//! `Store` exists there yet (see `postgres/boundary.rs`), so the receiver
//! and the moderation commands still call `open` with the SQLite path and
//! refuse a URL. Bake's read-only `Source` is complete on both
//! (`kiln bake --from postgres://…`).

use std::path::Path;

use anyhow::Result;
use kiln_bake::source::Source;

use super::postgres::{PgSource, PgStore, Target};
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
    /// `database.url` when it is set, else `database.path`.
    pub fn new(path: &'a Path, url: &'a str, password: &'a str) -> Location<'a> {
        if url.is_empty() {
            Location::Sqlite(path)
        } else {
            Location::Postgres { url, password }
        }
    }

    /// The database for messages: the file's path, or PostgreSQL's
    /// `user@host:port/dbname`, never a password.
    pub fn describe(&self) -> String {
        match *self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres { url, password } => match Target::parse(url, password) {
                Ok(target) => format!("PostgreSQL database {}", target.describe()),
                Err(_) => "a PostgreSQL database (its URL does not parse)".to_owned(),
            },
        }
    }
}

/// An SQLite file.
impl<'a> From<&'a Path> for Location<'a> {
    fn from(path: &'a Path) -> Location<'a> {
        Location::Sqlite(path)
    }
}

/// Whether `s` names a PostgreSQL database (`postgres://…` or
/// `postgresql://…`) rather than a file.
pub fn is_postgres_url(s: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        s.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    })
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

/// Bake's view of the database at `location` (or an SQLite file's path),
/// read-only. With `gravatar` (`privacy.gravatar`), comments carry Gravatar
/// hashes too.
pub fn open_source<'a>(
    location: impl Into<Location<'a>>,
    gravatar: bool,
) -> Result<Box<dyn Source + Send>> {
    Ok(match location.into() {
        Location::Sqlite(path) => Box::new(SqliteSource::open(path, gravatar)?),
        Location::Postgres { url, password } => {
            Box::new(PgSource::open(&Target::parse(url, password)?, gravatar)?)
        }
    })
}

/// Whether `head`, the first bytes of a file, is a kiln database rather than
/// an export file (`kiln bake --from` takes either).
pub fn is_database(head: &[u8]) -> bool {
    sqlite::is_database(head)
}
