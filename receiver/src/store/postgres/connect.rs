//! Reaching a PostgreSQL database: `database.url` (and `database.password`)
//! turned into a connection, and its failures into one line a person can
//! act on. The line names the server as `user@host:port/dbname`, never the
//! URL itself, and is scrubbed of the password in case a driver ever echoes
//! it: start-up errors end up in logs and in CI output.
//!
//! The `postgres` crate is the synchronous face of `tokio-postgres`: it runs
//! a small runtime of its own inside each call. That is why the store is
//! only used from threads that may block (tokio's blocking pool, the CLI,
//! the publisher's thread), and why `Connection`'s `Drop` takes care not to
//! close a client on an async worker thread, where the driver would panic
//! (and, during unwinding or shutdown, abort the process).

use std::fmt;
use std::time::Duration;

use ::postgres::config::Host;
use ::postgres::{Client, Config, NoTls};
use anyhow::{anyhow, Result};

use super::tls::{self, Tls};

/// How long a connection attempt may take, so a host that drops packets
/// fails start-up in bounded time instead of hanging it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A database to connect to, parsed and checked once.
#[derive(Clone)]
pub struct Target {
    config: Config,
    /// `user@host:port/dbname`, for messages.
    described: String,
    /// The password, only to scrub it from messages.
    password: Option<String>,
    /// What the URL asks of TLS (`sslmode`, `sslrootcert`).
    tls: Tls,
}

/// Shows only what `describe` shows: a `Config` holds the password.
impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Target").field(&self.described).finish()
    }
}

impl Target {
    /// Parses `database.url`; a non-empty `password` (`database.password`,
    /// normally from KILN_DATABASE_PASSWORD) is used instead of none in the
    /// URL. Configuration validation has already refused both at once.
    pub fn parse(url: &str, password: &str) -> Result<Target> {
        let (driver_url, tls) = tls::split(url)?;
        let mut config: Config = driver_url.parse().map_err(|e: ::postgres::Error| {
            // The parser's messages name the bad option, not its value; the
            // scrub below is for the day one does not.
            let raw = url_password(url);
            let decoded = raw.map(percent_decode);
            anyhow!(
                "`database.url` is not a PostgreSQL URL: {}",
                scrub(&scrub(&e.to_string(), decoded.as_deref()), raw)
            )
        })?;
        if !password.is_empty() {
            config.password(password);
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name(concat!("kiln/", env!("CARGO_PKG_VERSION")));
        let described = describe(&config);
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        Ok(Target {
            config,
            described,
            password,
            tls,
        })
    }

    /// The same target in another database of the same server (tests make
    /// one database per test).
    #[cfg(any(test, feature = "testing"))]
    pub fn with_dbname(&self, dbname: &str) -> Target {
        let mut config = self.config.clone();
        config.dbname(dbname);
        Target {
            described: describe(&config),
            config,
            password: self.password.clone(),
            tls: self.tls.clone(),
        }
    }

    /// The same target, with every transaction read-only: for the publisher's
    /// watch and `kiln export`, which must never write.
    pub fn read_only(&self) -> Target {
        let mut config = self.config.clone();
        // Added to whatever options the URL set, not instead of them.
        let options = match config.get_options() {
            Some(set) => format!("{set} -c default_transaction_read_only=on"),
            None => "-c default_transaction_read_only=on".to_owned(),
        };
        config.options(&options);
        Target {
            config,
            described: self.described.clone(),
            password: self.password.clone(),
            tls: self.tls.clone(),
        }
    }

    /// The same target for a connection that sits idle for long and must
    /// notice soon when the server is gone (the publisher's leader): TCP
    /// keepalives after 30 s of silence instead of the system's two hours.
    pub fn watchful(&self) -> Target {
        let mut config = self.config.clone();
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        Target {
            config,
            described: self.described.clone(),
            password: self.password.clone(),
            tls: self.tls.clone(),
        }
    }

    /// `user@host:port/dbname`, without the password.
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// Opens a connection, or says in one line why it could not: refused,
    /// unreachable, bad credentials, no such database.
    pub fn connect(&self) -> Result<Connection> {
        let connected = match self.tls.connector()? {
            Some(tls) => self.config.connect(tls),
            None => self.config.connect(NoTls),
        };
        match connected {
            Ok(client) => Ok(Connection {
                client: Some(client),
            }),
            Err(err) => {
                let why = scrub(&one_line(&err), self.password.as_deref());
                Err(anyhow!(
                    "cannot connect to PostgreSQL at {} (database.url): {why}{}",
                    self.described,
                    tls_hint(&why)
                ))
            }
        }
    }
}

/// A client whose `Drop` never panics. Everything else is the client's own
/// API, through `Deref`.
pub struct Connection {
    /// `None` only while being dropped.
    client: Option<Client>,
}

impl std::ops::Deref for Connection {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a Connection holds its client until it is dropped")
    }
}

impl std::ops::DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a Connection holds its client until it is dropped")
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        // Closing a client blocks on the driver's own runtime, which panics
        // inside another runtime's thread. From within tokio (a pool
        // dropping a connection, the receiver shutting down), close it on a
        // plain thread instead; elsewhere, close it here.
        if tokio::runtime::Handle::try_current().is_ok() {
            let closing = std::thread::Builder::new()
                .name("kiln-pg-close".into())
                .spawn(move || drop(client));
            // Without a thread the client is leaked rather than dropped
            // here: its socket closes when the process ends.
            if let Err(returned) = closing {
                tracing::warn!(error = %returned, "cannot start a thread to close a PostgreSQL connection");
            }
        } else {
            drop(client);
        }
    }
}

/// What to do about a certificate kiln would not trust, for the end of a
/// connection error; empty for any other error.
fn tls_hint(why: &str) -> &'static str {
    if why.contains("certificate") {
        "; name the server's CA with sslrootcert=PATH in database.url (sslmode=verify-full checks the host name too, verify-ca only the CA)"
    } else {
        ""
    }
}

/// `user@host:port/dbname` from a parsed URL.
fn describe(config: &Config) -> String {
    let user = config.get_user().unwrap_or("(no user)");
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(dir)) => dir.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let dbname = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{dbname}")
}

/// The driver's error as one line. Its own message is often just "db error"
/// or "error connecting to server", with the reason in the source chain:
/// the server's message (e.g. `password authentication failed for user
/// "kiln"`) or the operating system's (e.g. "Connection refused").
pub(super) fn one_line(err: &::postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return db.message().to_owned();
    }
    let mut parts = vec![err.to_string()];
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        // Wrappers often repeat their cause's message in their own.
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ").replace('\n', " ")
}

/// `text` with every occurrence of `password` replaced.
fn scrub(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() => text.replace(p, "***"),
        _ => text.to_owned(),
    }
}

/// The password in a URL's userinfo as written, for scrubbing a parse error
/// (the URL did not parse, so the driver cannot be asked for it).
fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (userinfo, _) = authority.rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, password)| password)
}

/// `%XX` escapes decoded, as the driver reads a URL's userinfo.
pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
