//! The one place that chooses a backend. Everything else opens the database
//! through these functions and holds a `Box<dyn Store>` (or a bake
//! `Source`), so adding a backend changes this file, not the callers.

use std::path::Path;

use anyhow::Result;
use kiln_bake::source::Source;

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

/// Opens the database at `path`.
pub fn open(path: &Path, mode: Mode) -> Result<Box<dyn Store>> {
    Ok(match mode {
        Mode::ReadWrite => Box::new(SqliteStore::open(path)?),
        Mode::ReadOnly => Box::new(SqliteStore::open_read_only(path)?),
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
