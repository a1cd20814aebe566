//! The PostgreSQL backend, for sites that outgrow one machine (issue 13),
//! and the only code besides `sqlite/` that names a database driver. So far
//! it connects (`connect.rs`); the schema and the `Store` methods follow,
//! stage by stage (docs/design/postgres.md §6), and until they are all there
//! nothing opens this backend: `database.url` is refused before any command
//! runs.

pub mod connect;
#[cfg(test)]
mod scratch;
#[cfg(test)]
mod tests;
