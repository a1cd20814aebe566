//! The PostgreSQL backend, for sites that outgrow one machine (issue 13),
//! and the only code besides `sqlite/` that names a database driver. It
//! connects (`connect.rs`, with TLS as the URL asks in `tls.rs`), brings the schema up to date (`migrate.rs`,
//! `migrations/`), and holds the first of the `Store` methods: the keys, the
//! admin password and sessions (`admin.rs`), the outbox and subscriptions
//! (`mail.rs`) and the abuse lookups (`abuse.rs`); `boundary.rs` answers the
//! rest with "not on PostgreSQL yet". `listen.rs` wakes the outbox when
//! another receiver queues mail, and `copy.rs` moves whole tables for `kiln
//! store copy`, not through the comment methods. The rest follow stage by
//! stage (docs/design/postgres.md §6). Until they are all there only `kiln
//! store copy` and `kiln store migrate` open this backend; every other
//! command refuses `database.url`.

mod abuse;
mod admin;
mod boundary;
pub mod connect;
mod copy;
pub mod listen;
mod mail;
pub mod migrate;
#[cfg(any(test, feature = "testing"))]
pub(crate) mod peek;
#[cfg(any(test, feature = "testing"))]
pub mod scratch;
#[cfg(test)]
mod tests;
mod tls;

use anyhow::Result;

pub use connect::{Connection, Target};

/// A connection to kiln's PostgreSQL database, as a `Store`.
pub struct PgStore {
    conn: Connection,
    /// Whether inserts and approvals queue mail (`Store::set_mail_events`);
    /// read once the comment methods arrive.
    mail_events: bool,
}

impl PgStore {
    /// Connects and brings the schema up to date.
    pub fn open(target: &Target) -> Result<PgStore> {
        Ok(PgStore {
            conn: open_migrated(target)?,
            mail_events: false,
        })
    }

    /// Connects with every transaction read-only, to a schema this kiln can
    /// use; never migrates.
    pub fn open_read_only(target: &Target) -> Result<PgStore> {
        let mut conn = target.read_only().connect()?;
        migrate::check(&mut conn, target.describe())?;
        Ok(PgStore {
            conn,
            mail_events: false,
        })
    }
}

/// Connects to `target` and brings its schema up to date.
pub fn open_migrated(target: &Target) -> Result<Connection> {
    let mut conn = target.connect()?;
    migrate::migrate(&mut conn, target.describe())?;
    Ok(conn)
}
