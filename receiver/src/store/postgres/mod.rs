//! The PostgreSQL backend, for sites that outgrow one machine (issue 13),
//! and the only code besides `sqlite/` that names a database driver. So far
//! it connects (`connect.rs`) and brings the schema up to date
//! (`migrate.rs`, `migrations/`); the `Store` methods follow, stage by stage
//! (docs/design/postgres.md §6), and until they are all there nothing opens
//! this backend: `database.url` is refused before any command runs.

pub mod connect;
pub mod migrate;
#[cfg(test)]
mod scratch;
#[cfg(test)]
mod tests;

use anyhow::Result;

pub use connect::{Connection, Target};

/// Connects to `target` and brings its schema up to date: what every
/// read-write open of the store will do first.
pub fn open_migrated(target: &Target) -> Result<Connection> {
    let mut conn = target.connect()?;
    migrate::migrate(&mut conn, target.describe())?;
    Ok(conn)
}
