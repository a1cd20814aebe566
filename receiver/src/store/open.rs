//! The one place that chooses a backend. Everything else opens the database
//! through these functions and holds a `Box<dyn Store>` (or a bake
//! `Source`), so adding a backend changes this file, not the callers.
//!
//! PostgreSQL is chosen by `open_at` for a `database.url`; only part of the
//! `Store` exists there so far (see `postgres/boundary.rs`), so the
//! commands still refuse a URL, except `kiln store copy`, `kiln store
//! migrate`, `kiln import` and `kiln bake --from postgres://…`, whose
//! read-only `Source` is complete on both.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use kiln_bake::source::Source;

use super::memory::InProcess;
use super::postgres::listen::{self, Listening};
use super::postgres::{PgCoordination, PgSource, PgStore, Target};
use super::sqlite::{self, SqliteSource, SqliteStore};
use super::{Coordination, SharedStore, Store};

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
            Some(url) if is_url(url) => Location::Postgres { url, password: "" },
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

    /// A database named on the command line: a `postgres://` (or
    /// `postgresql://`) URL, else an SQLite file. `password` is for a URL
    /// that carries none.
    pub fn named(name: &'a str, password: &'a str) -> Location<'a> {
        if is_url(name) {
            Location::Postgres {
                url: name,
                password,
            }
        } else {
            Location::Sqlite(Path::new(name))
        }
    }

    /// The database for messages: the file's path, or `user@host:port/dbname`
    /// for PostgreSQL, never with a password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres { url, password } => match Target::parse(url, password) {
                Ok(target) => target.describe().to_owned(),
                Err(_) => "an unreadable PostgreSQL URL".to_owned(),
            },
        }
    }

    /// Whether `self` and `other` are the same database: the same file, or
    /// the same server, port and database name.
    pub fn same_as(&self, other: &Location) -> bool {
        fn server(location: &Location) -> Option<String> {
            let described = location.describe();
            // `user@host:port/dbname`: the user does not change the database.
            Some(described.split_once('@')?.1.to_owned())
        }
        match (self, other) {
            (Location::Sqlite(a), Location::Sqlite(b)) => {
                match (a.canonicalize(), b.canonicalize()) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => a == b,
                }
            }
            (Location::Postgres { .. }, Location::Postgres { .. }) => {
                server(self).is_some() && server(self) == server(other)
            }
            _ => false,
        }
    }
}

/// An SQLite file.
impl<'a> From<&'a Path> for Location<'a> {
    fn from(path: &'a Path) -> Location<'a> {
        Location::Sqlite(path)
    }
}

/// Whether `name` is a PostgreSQL URL rather than a file name.
pub fn is_url(name: &str) -> bool {
    let lower = name.get(..13).unwrap_or(name).to_ascii_lowercase();
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

/// The receiver's store on the database at `location` (see `shared.rs`),
/// starting from `first`, the read-write connection the caller opened (and
/// gave `mail_events`). PostgreSQL: a pool of up to `max_connections`, more
/// opened like `first`. SQLite: group commit, `first` the one writer, and
/// up to `read_connections` read-only connections beside it.
pub fn shared(
    location: Location,
    first: Box<dyn Store>,
    mail_events: bool,
    max_connections: usize,
    read_connections: usize,
) -> Result<SharedStore> {
    match location {
        Location::Sqlite(path) => {
            let path = path.to_owned();
            SharedStore::group_commit(first, read_connections, move || {
                open_at(Location::Sqlite(&path), Mode::ReadOnly)
            })
        }
        Location::Postgres { url, password } => {
            let (url, password) = (url.to_owned(), password.to_owned());
            Ok(SharedStore::pool(first, max_connections, move || {
                let location = Location::Postgres {
                    url: &url,
                    password: &password,
                };
                let mut store = open_at(location, Mode::ReadWrite)?;
                store.set_mail_events(mail_events);
                Ok(store)
            }))
        }
    }
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

/// While this lives, mail queued by any process on the database wakes this
/// process's outbox at once (see `wake_on_queued_mail`).
pub struct OutboxWake {
    /// The listening thread; none on SQLite.
    _listening: Option<Listening>,
}

/// Calls `wake` whenever some process queues mail in the database at
/// `location`, for as long as the returned `OutboxWake` lives. On
/// PostgreSQL a thread with its own connection listens for the
/// notification every queueing transaction sends, reconnecting if it must;
/// it connects in the background, so this is safe to call anywhere,
/// including on the async runtime. On SQLite there is nothing to listen to:
/// mail queued by this process wakes its outbox directly, and mail queued
/// by a `kiln` command waits for the outbox's next poll.
pub fn wake_on_queued_mail(
    location: Location,
    wake: impl Fn() + Send + 'static,
) -> Result<OutboxWake> {
    let listening = match location {
        Location::Sqlite(_) => None,
        Location::Postgres { url, password } => Some(listen::spawn(
            Target::parse(url, password)?,
            listen::OUTBOX_CHANNEL,
            Box::new(wake),
        )?),
    };
    Ok(OutboxWake {
        _listening: listening,
    })
}

/// Bake's view of one site's threads in the database at `location` (or an
/// SQLite file's path), read-only. With `gravatar` (`privacy.gravatar`),
/// comments carry Gravatar hashes too.
pub fn open_source<'a>(
    location: impl Into<Location<'a>>,
    gravatar: bool,
    site: &str,
) -> Result<Box<dyn Source + Send>> {
    Ok(match location.into() {
        Location::Sqlite(path) => Box::new(SqliteSource::open(path, gravatar, site)?),
        Location::Postgres { url, password } => Box::new(PgSource::open(
            &Target::parse(url, password)?,
            gravatar,
            site,
        )?),
    })
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
