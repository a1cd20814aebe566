//! The one place that chooses a backend. Everything else opens the database
//! through these functions and holds a `Box<dyn Store>` (or a bake
//! `Source`), so adding a backend changes this file, not the callers.
//!
//! PostgreSQL is chosen by `open_at` for a `database.url`; only part of the
//! `Store` exists there so far (see `postgres/boundary.rs`), so the
//! commands still call `open` with the SQLite path and refuse a URL.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use kiln_bake::source::Source;

use super::memory::InProcess;
use super::postgres::{PgCoordination, PgStore, Target};
use super::sqlite::{self, SqliteSource, SqliteStore};
use super::{Coordination, Store};

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

/// What the receivers on the database at `location` share beyond its rows:
/// limits, publishing. Opens no connection: the first call does, from a
/// thread that may block.
pub fn coordination(location: Location) -> Result<Arc<dyn Coordination>> {
    Ok(match location {
        Location::Sqlite(path) => Arc::new(InProcess::new(path.to_owned())),
        Location::Postgres { url, password } => {
            Arc::new(PgCoordination::new(Target::parse(url, password)?))
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
