//! `[database]`: where comments, the outbox and the receiver's own keys live.
//! `path` names an SQLite file (the embedded default); `url` names a
//! PostgreSQL database instead, for sites that outgrow one machine. The
//! password is a secret, so `Debug` is written by hand (as in `mail.rs`) and
//! shows neither `password` nor a password inside `url`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// `database.path`'s default, also how validation tells a path someone set
/// from the default one.
const DEFAULT_PATH: &str = "kiln.sqlite3";

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    /// The SQLite file. Relative paths are relative to the current directory.
    /// Default: `kiln.sqlite3`. Not used when `url` is set.
    pub path: PathBuf,
    /// A PostgreSQL database instead of the SQLite file, as
    /// `postgres://user@host:port/dbname` (or `postgresql://…`; a Unix
    /// socket directory goes in `?host=/run/postgresql`). Default: empty
    /// (SQLite at `path`). Set it with `KILN_DATABASE_URL` to keep it out of
    /// files.
    pub url: String,
    /// The PostgreSQL password, when `url` does not carry one. Default:
    /// empty. Set it from the environment (`KILN_DATABASE_PASSWORD`) rather
    /// than in a file you commit; it is never logged.
    pub password: String,
    /// How many connections one receiver keeps to PostgreSQL at most: the
    /// requests it serves at once that need the database. Default: 8. Not
    /// used with SQLite, which has one writing connection (see
    /// `read_connections`).
    pub max_connections: u32,
    /// SQLite only: how many read-only connections the receiver keeps
    /// beside its one writing connection, so the reads of `/api/comments`,
    /// `/api/counts`, the export and the admin page never wait for a write.
    /// Default: 0, meaning one per CPU core, at least 2.
    pub read_connections: u32,
}

/// `database.max_connections`' bounds: PostgreSQL allows 100 connections
/// by default, shared by every replica.
const MAX_CONNECTIONS: std::ops::RangeInclusive<u32> = 1..=1000;

/// `database.read_connections`' bounds (0: one per core).
const READ_CONNECTIONS: std::ops::RangeInclusive<u32> = 0..=256;

impl Default for Database {
    fn default() -> Self {
        Database {
            path: PathBuf::from(DEFAULT_PATH),
            url: String::new(),
            password: String::new(),
            max_connections: 8,
            read_connections: 0,
        }
    }
}

/// Written by hand so that no password reaches a log line.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .field("url", &redact_url(&self.url))
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "(set)"
                },
            )
            .field("max_connections", &self.max_connections)
            .field("read_connections", &self.read_connections)
            .finish()
    }
}

impl Database {
    /// Whether the database is PostgreSQL (`url` is set) rather than SQLite.
    pub fn is_postgres(&self) -> bool {
        !self.url.is_empty()
    }

    /// `--db PATH`: the SQLite file at `path`, whatever the file or the
    /// environment said about PostgreSQL.
    pub fn use_sqlite(&mut self, path: PathBuf) {
        self.path = path;
        self.url.clear();
        self.password.clear();
    }

    /// `--db URL`: PostgreSQL at `url`, whatever the file said about an
    /// SQLite path. A password from the environment still applies.
    pub fn use_postgres(&mut self, url: &str) {
        self.url = url.to_owned();
        self.path = PathBuf::from(DEFAULT_PATH);
    }

    /// Where the database is, for logs: the SQLite path, or the URL without
    /// its password.
    pub fn describe(&self) -> String {
        if self.is_postgres() {
            redact_url(&self.url)
        } else {
            self.path.display().to_string()
        }
    }

    /// SQLite's read-only connections: `read_connections`, or when it is 0
    /// one per CPU core, at least 2.
    pub fn readers(&self) -> usize {
        match self.read_connections {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            n => n as usize,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !MAX_CONNECTIONS.contains(&self.max_connections) {
            bail!(
                "`database.max_connections` = {} is out of range; use {} to {} connections per receiver (PostgreSQL allows 100 in all by default)",
                self.max_connections,
                MAX_CONNECTIONS.start(),
                MAX_CONNECTIONS.end()
            );
        }
        if !READ_CONNECTIONS.contains(&self.read_connections) {
            bail!(
                "`database.read_connections` = {} is out of range; use 1 to {} read-only SQLite connections, or 0 for one per CPU core",
                self.read_connections,
                READ_CONNECTIONS.end()
            );
        }
        if !self.is_postgres() {
            if self.path.as_os_str().is_empty() {
                bail!("`database.path` is empty; name an SQLite file such as kiln.sqlite3, or set `database.url` for PostgreSQL");
            }
            if !self.password.is_empty() {
                bail!("`database.password` is set but `database.url` is empty; the password is only for PostgreSQL, so set `database.url` too or remove the password");
            }
            return Ok(());
        }
        // The default path cannot be told from one written out, so only a
        // path other than the default counts as a second choice.
        if self.path.as_path() != std::path::Path::new(DEFAULT_PATH) {
            bail!("both `database.url` (PostgreSQL) and `database.path` (SQLite) are set; keep the one you mean");
        }
        let lower = self.url.to_ascii_lowercase();
        if !(lower.starts_with("postgres://") || lower.starts_with("postgresql://")) {
            bail!(
                "`database.url` = {:?} must start with postgres:// or postgresql://; for SQLite set `database.path` instead",
                redact_url(&self.url)
            );
        }
        if !self.password.is_empty() && password_span(&self.url).is_some() {
            bail!("the PostgreSQL password is given twice, in `database.url` and in `database.password`; keep one (preferably KILN_DATABASE_PASSWORD)");
        }
        Ok(())
    }
}

/// Where a password sits in a URL: after `user:` in the userinfo, or as a
/// `password=` query parameter (both are accepted by PostgreSQL's clients).
fn password_span(url: &str) -> Option<(usize, usize)> {
    let (scheme, rest) = url.split_once("://")?;
    let base = scheme.len() + 3;
    // The authority ends at the first '/', '?' or '#'; a password containing
    // one of them must be percent-encoded, so this cannot cut one short.
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if let Some(at) = rest[..authority_len].rfind('@') {
        if let Some(colon) = rest[..at].find(':') {
            return Some((base + colon + 1, base + at));
        }
    }
    let query = url.find('?')? + 1;
    let mut start = query;
    for param in url[query..].split(['&', '#']) {
        if let Some(value) = param.strip_prefix("password=") {
            let from = start + "password=".len();
            return Some((from, from + value.len()));
        }
        start += param.len() + 1;
    }
    None
}

/// `url` with any password in it replaced, for messages and logs.
fn redact_url(url: &str) -> String {
    match password_span(url) {
        Some((from, to)) => format!("{}***{}", &url[..from], &url[to..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{validation_error as error, Config};
    use super::redact_url;

    #[test]
    fn a_url_selects_postgres_and_the_path_keeps_meaning_sqlite() {
        let sqlite = Config::parse("[database]\npath = \"comments.db\"").unwrap();
        sqlite.validate().unwrap();
        assert!(!sqlite.database.is_postgres());
        let pg = Config::parse("[database]\nurl = \"postgresql://kiln@db.example/kiln\"").unwrap();
        pg.validate().unwrap();
        assert!(pg.database.is_postgres());
    }

    #[test]
    fn errors_name_the_keys() {
        let err = error("[database]\npath = \"c.db\"\nurl = \"postgres://kiln@db/kiln\"");
        assert!(
            err.contains("`database.url`") && err.contains("`database.path`"),
            "{err}"
        );
        let err = error("[database]\nurl = \"mysql://kiln:hunter2@db/kiln\"");
        assert!(err.contains("`database.url`"), "{err}");
        assert!(!err.contains("hunter2"), "the password leaked: {err}");
        let err = error("[database]\npassword = \"hunter2\"");
        assert!(err.contains("`database.password`"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = error("[database]\nurl = \"postgres://kiln:a@db/kiln\"\npassword = \"b\"");
        assert!(
            err.contains("`database.url`") && err.contains("`database.password`"),
            "{err}"
        );
        let err = error("[database]\npath = \"\"");
        assert!(err.contains("`database.path`"), "{err}");
        for bad in ["0", "1001"] {
            let err = error(&format!("[database]\nmax_connections = {bad}"));
            assert!(err.contains("`database.max_connections`"), "{err}");
        }
    }

    #[test]
    fn sqlite_readers_follow_the_cores_unless_set() {
        let auto = Config::parse("[database]\npath = \"c.db\"").unwrap();
        auto.validate().unwrap();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(auto.database.readers(), cores.max(2));
        let set = Config::parse("[database]\nread_connections = 5").unwrap();
        set.validate().unwrap();
        assert_eq!(set.database.readers(), 5);
        let err = error("[database]\nread_connections = 1000");
        assert!(err.contains("`database.read_connections`"), "{err}");
    }

    #[test]
    fn debug_shows_no_password() {
        let config = Config::parse(
            "[database]\nurl = \"postgres://kiln:hunter2@db.example:5432/kiln?sslmode=disable\"",
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("postgres://kiln:***@db.example:5432/kiln?sslmode=disable"),
            "{shown}"
        );
        let config =
            Config::parse("[database]\nurl = \"postgres://kiln@db/kiln\"\npassword = \"s3cret\"")
                .unwrap();
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("(set)"),
            "{shown}"
        );
    }

    #[test]
    fn redaction_touches_only_the_password() {
        assert_eq!(redact_url("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redact_url("postgres://u:p@h/d"), "postgres://u:***@h/d");
        // An '@' in the query is not the end of the userinfo.
        assert_eq!(
            redact_url("postgres://u:p%40q@h/d?x=a@b"),
            "postgres://u:***@h/d?x=a@b"
        );
        assert_eq!(
            redact_url("postgres://u@/d?host=/run/pg"),
            "postgres://u@/d?host=/run/pg"
        );
        assert_eq!(
            redact_url("postgres://u@h/d?sslmode=disable&password=p&x=1"),
            "postgres://u@h/d?sslmode=disable&password=***&x=1"
        );
    }

    #[test]
    fn the_environment_reaches_url_and_password() {
        let mut table = toml::Table::new();
        super::super::apply_env(
            &mut table,
            [
                (
                    "KILN_DATABASE_URL".to_owned(),
                    "postgres://kiln@db/kiln".to_owned(),
                ),
                ("KILN_DATABASE_PASSWORD".to_owned(), "s3cret".to_owned()),
            ]
            .into_iter(),
        )
        .unwrap();
        let config: Config = table.try_into().unwrap();
        assert_eq!(config.database.url, "postgres://kiln@db/kiln");
        assert_eq!(config.database.password, "s3cret");
        config.validate().unwrap();
    }
}
