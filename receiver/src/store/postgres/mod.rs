//! The PostgreSQL backend, for sites that outgrow one machine (issue 13),
//! and the only code besides `sqlite/` that names a database driver. It
//! connects (`connect.rs`, with TLS as the URL asks in `tls.rs`), brings
//! the schema up to date (`migrate.rs`, `migrations/`), and holds the
//! `Store` methods: the keys, the admin password and sessions (`admin.rs`),
//! comments and their moderation (`comments.rs`, `review.rs`), imports
//! (`imported.rs`), the mail
//! those changes queue (`queue.rs`), the outbox and subscriptions
//! (`mail.rs`), the abuse lookups (`abuse.rs`), one person's data
//! (`privacy.rs`), and bake's read-only view (`source.rs`); `boundary.rs`
//! implements the trait over them. `listen.rs` wakes the outbox when
//! another receiver queues mail, and `copy.rs` moves whole tables for `kiln
//! store copy`, not through the comment methods. Every command reaches it
//! through `database.url` or `--db postgres://…`.
//!
//! SQLite serializes every write; PostgreSQL runs them side by side, so the
//! methods here lock what they depend on, always in one order: comments (by
//! id) → threads (by id) → the change sequence → subscribers and outbox.
//! A deadlock or serialization failure the server still reports makes the
//! whole method run again, a few times (`PgStore::transaction`). A failed
//! connection is remembered (`PgStore::guard`), so the pool drops it; found
//! at a method's first statement it is `ConnectionLost`, which the pool runs
//! again on a fresh connection.
//!
//! Each connection prepares a statement once and keeps it (`Statements`):
//! a statement costs a round trip to prepare and one to run, and the
//! server then plans it without parsing it again. The SQL names its
//! columns (never `SELECT *`), so a column added by a newer migration does
//! not change what a kept statement returns; should one become stale
//! anyway, the cache is emptied and the method runs again.

mod abuse;
mod admin;
pub(super) mod backup;
mod boundary;
mod comments;
pub mod connect;
mod coordination;
mod copy;
pub(super) mod imported;
mod lead;
mod limits;
pub mod listen;
mod mail;
pub mod migrate;
#[cfg(any(test, feature = "testing"))]
pub(crate) mod peek;
mod privacy;
mod queue;
mod reactions;
mod review;
#[cfg(any(test, feature = "testing"))]
pub mod scratch;
mod source;
#[cfg(test)]
mod tests;
mod tls;

use std::collections::{BTreeMap, HashMap};

use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{GenericClient, Row, Statement, Transaction};
use anyhow::{anyhow, Result};

use super::{ConnectionLost, Refusal, Status, StoredComment};

pub use connect::{Connection, Target};
pub use coordination::PgCoordination;
pub use source::PgSource;

type Refused<T> = std::result::Result<T, Refusal>;

/// How many times a method runs again after the server aborted it to break
/// a deadlock or a serialization conflict.
const RETRIES: u32 = 3;

/// A connection to kiln's PostgreSQL database, as a `Store`.
pub struct PgStore {
    conn: Connection,
    /// Whether inserts and approvals queue mail (`Store::set_mail_events`).
    mail_events: bool,
    /// How many times a method ran again after a conflict, for tests that
    /// show a pattern of concurrent writes never conflicts.
    retried: u64,
    statements: Statements,
    /// Whether a method met a connection-class failure (`guard`): the
    /// connection is gone even if the driver has not marked it closed yet.
    broken: bool,
}

impl PgStore {
    /// Connects and brings the schema up to date.
    pub fn open(target: &Target) -> Result<PgStore> {
        Ok(PgStore::on(open_migrated(target)?))
    }

    /// Connects with every transaction read-only, to a schema this kiln can
    /// use; never migrates.
    pub fn open_read_only(target: &Target) -> Result<PgStore> {
        let mut conn = target.read_only().connect()?;
        migrate::check(&mut conn, target.describe())?;
        Ok(PgStore::on(conn))
    }

    fn on(conn: Connection) -> PgStore {
        PgStore {
            conn,
            mail_events: false,
            retried: 0,
            statements: Statements::default(),
            broken: false,
        }
    }

    /// How many times a method of this store ran again after a conflict.
    #[cfg(test)]
    pub(crate) fn retried(&self) -> u64 {
        self.retried
    }

    /// Runs one `Store` method (`boundary.rs` calls every one through
    /// this) and remembers when it failed because the connection did, so
    /// that `is_broken` keeps the pool from handing it out again.
    pub(super) fn guard<T>(&mut self, method: impl FnOnce(&mut PgStore) -> Result<T>) -> Result<T> {
        method(self).map_err(|err| self.failed(err, false))
    }

    /// Notes `err` if it is a connection-class failure. When it happened at
    /// the method's first statement (`first`), nothing of the method was
    /// done, and it becomes `ConnectionLost`, which the pool runs again on
    /// a fresh connection; later in a method it may have committed, so it
    /// stays as it is.
    fn failed(&mut self, err: anyhow::Error, first: bool) -> anyhow::Error {
        let err = if first { at_first_statement(err) } else { err };
        if err.chain().any(|cause| cause.is::<ConnectionLost>()) || is_connection_failure(&err) {
            self.broken = true;
        }
        err
    }

    /// Runs `work` in one transaction and commits it when `keep` approves of
    /// the outcome (anything else rolls back). When the server aborts it to
    /// break a deadlock or a serialization conflict, all of `work` runs
    /// again, up to `RETRIES` times: every method is one transaction with no
    /// effect outside the database, so running it again is safe. For the
    /// same reason a connection found gone at `BEGIN`, the method's first
    /// statement, is `ConnectionLost` (see `failed`).
    fn transaction<T>(
        &mut self,
        keep: fn(&T) -> bool,
        mut work: impl FnMut(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut retries = 0;
        let mut refreshed = false;
        loop {
            let mut begun = false;
            let attempt = (|| {
                let mut tx = Tx {
                    tx: self.conn.transaction()?,
                    statements: &mut self.statements,
                };
                begun = true;
                let outcome = work(&mut tx)?;
                if keep(&outcome) {
                    tx.tx.commit()?;
                }
                Ok(outcome)
            })();
            match attempt {
                Err(err) if is_connection_failure(&err) => return Err(self.failed(err, !begun)),
                Err(err) if retries < RETRIES && is_conflict(&err) => {
                    retries += 1;
                    self.retried += 1;
                    tracing::debug!(error = %err, retries, "PostgreSQL broke a conflict; running the method again");
                }
                Err(err) if !refreshed && is_stale(&err) => {
                    refreshed = true;
                    self.statements.0.clear();
                }
                other => return other,
            }
        }
    }

    /// Runs one statement outside a transaction, preparing it on first use;
    /// again, prepared anew, if the kept statement went stale. For methods
    /// that are this one statement, so that a connection found gone here is
    /// `ConnectionLost` (see `failed`).
    fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let ran = (|| {
            let statement = self.statements.get(&mut *self.conn, sql)?;
            match self.conn.query(&statement, params) {
                Err(err) if is_stale_code(&err) => {
                    self.statements.0.clear();
                    let statement = self.statements.get(&mut *self.conn, sql)?;
                    Ok(self.conn.query(&statement, params)?)
                }
                other => Ok(other?),
            }
        })();
        ran.map_err(|err| self.failed(err, true))
    }

    /// `query` of a statement that returns exactly one row.
    fn query_one(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        let mut rows = self.query(sql, params)?;
        match rows.len() {
            1 => Ok(rows.remove(0)),
            n => Err(anyhow!("expected one row, the database gave {n}")),
        }
    }

    /// `query` of a statement that returns at most one row.
    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>> {
        let mut rows = self.query(sql, params)?;
        match rows.len() {
            0 | 1 => Ok(rows.pop()),
            n => Err(anyhow!("expected at most one row, the database gave {n}")),
        }
    }

    /// `transaction` that commits whatever `work` returns.
    fn write<T>(&mut self, work: impl FnMut(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        self.transaction(|_| true, work)
    }

    /// `transaction` that commits only when nothing was refused.
    fn change<T>(
        &mut self,
        work: impl FnMut(&mut Tx<'_>) -> Result<Refused<T>>,
    ) -> Result<Refused<T>> {
        self.transaction(Result::is_ok, work)
    }

    /// The random id made with the schema, which bake uses to know that the
    /// change sequences it remembers belong to this database.
    pub fn instance_id(&mut self) -> Result<String> {
        Ok(self
            .query_one("SELECT value FROM meta WHERE key = 'instance'", &[])?
            .try_get(0)?)
    }
}

/// Connects to `target` and brings its schema up to date.
pub fn open_migrated(target: &Target) -> Result<Connection> {
    let mut conn = target.connect()?;
    migrate::migrate(&mut conn, target.describe())?;
    Ok(conn)
}

/// Whether `err` is the server aborting a transaction to break a deadlock
/// (40P01) or a serialization conflict (40001): the cases where running
/// the same transaction again can succeed.
fn is_conflict(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<::postgres::Error>()
            .and_then(::postgres::Error::code)
            .is_some_and(|code| {
                *code == SqlState::T_R_DEADLOCK_DETECTED
                    || *code == SqlState::T_R_SERIALIZATION_FAILURE
            })
    })
}

/// Whether `err` says the connection itself failed, rather than a
/// statement: the driver found it closed, the socket failed (an I/O
/// error), or the server says so (SQLSTATE class 08, or 57P01/57P02/57P03:
/// terminated by an administrator, a crash, or a server not accepting
/// connections). Nothing can succeed on that connection any more.
fn is_connection_failure(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        if cause.is::<std::io::Error>() {
            return true;
        }
        let Some(err) = cause.downcast_ref::<::postgres::Error>() else {
            return false;
        };
        err.is_closed()
            || err.code().is_some_and(|code| {
                code.code().starts_with("08")
                    || *code == SqlState::ADMIN_SHUTDOWN
                    || *code == SqlState::CRASH_SHUTDOWN
                    || *code == SqlState::CANNOT_CONNECT_NOW
            })
    })
}

/// `err`, met at a method's first statement, as `ConnectionLost` when the
/// connection failed: nothing of the method was done.
fn at_first_statement(err: anyhow::Error) -> anyhow::Error {
    if is_connection_failure(&err) {
        ConnectionLost(format!("{err:#}")).into()
    } else {
        err
    }
}

/// Whether `err` says a kept statement no longer fits the schema (0A000,
/// "cached plan must not change result type") or is gone (26000): then the
/// cache is emptied and the method runs again, once.
fn is_stale(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<::postgres::Error>()
            .is_some_and(is_stale_code)
    })
}

fn is_stale_code(err: &::postgres::Error) -> bool {
    err.code().is_some_and(|code| {
        *code == SqlState::FEATURE_NOT_SUPPORTED || *code == SqlState::INVALID_SQL_STATEMENT_NAME
    })
}

/// A connection's prepared statements, by their SQL.
#[derive(Default)]
struct Statements(HashMap<&'static str, Statement>);

impl Statements {
    /// The statement for `sql`, prepared on `client` the first time.
    fn get(&mut self, client: &mut impl GenericClient, sql: &'static str) -> Result<Statement> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        self.0.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// One of the store's transactions, running its statements prepared once
/// per connection. (A statement prepared in a transaction that then rolls
/// back stays prepared: statements belong to the session.)
pub(super) struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut Statements,
}

impl Tx<'_> {
    fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let statement = self.statements.get(&mut self.tx, sql)?;
        Ok(self.tx.query(&statement, params)?)
    }

    fn query_one(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        let statement = self.statements.get(&mut self.tx, sql)?;
        Ok(self.tx.query_one(&statement, params)?)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>> {
        let statement = self.statements.get(&mut self.tx, sql)?;
        Ok(self.tx.query_opt(&statement, params)?)
    }

    /// Runs a statement; how many rows it changed.
    fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let statement = self.statements.get(&mut self.tx, sql)?;
        Ok(self.tx.execute(&statement, params)?)
    }
}

/// `SELECT_COMMENT` followed by the rest of a statement, as one literal.
macro_rules! select_comment {
    ($rest:literal) => {
        concat!(
            "SELECT c.id, t.key, c.parent_id, c.status, c.author, c.email,
                    c.website, c.text, c.page_url, c.remote_addr, c.created_at, t.title,
                    t.site
             FROM comments c JOIN threads t ON t.id = c.thread_id ",
            $rest
        )
    };
}
pub(super) use select_comment;

/// The columns `comment` reads, in its order.
const SELECT_COMMENT: &str = select_comment!("");

/// A row of `SELECT_COMMENT`.
fn comment(row: &Row) -> Result<StoredComment> {
    Ok(StoredComment {
        id: row.try_get(0)?,
        thread: row.try_get(1)?,
        parent: row.try_get(2)?,
        status: status(row.try_get(3)?)?,
        author: row.try_get(4)?,
        email: row.try_get(5)?,
        website: row.try_get(6)?,
        text: row.try_get(7)?,
        page_url: row.try_get(8)?,
        remote_addr: row.try_get(9)?,
        created_at: row.try_get(10)?,
        page_title: row.try_get(11)?,
        site: row.try_get(12)?,
    })
}

/// A stored status name as a `Status`.
fn status(name: &str) -> Result<Status> {
    Status::from_name(name)
        .ok_or_else(|| anyhow!("the database holds an unknown comment status {name:?}"))
}

/// A count or sequence number, which PostgreSQL hands out as a signed
/// `bigint`, as the unsigned number callers use.
fn unsigned(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| anyhow!("the database holds a negative count ({n})"))
}

/// The threads a transaction changed what they show, and by how many
/// published comments. They are marked changed together at the end
/// (`touch`), so that a transaction takes every thread lock before the one
/// change-sequence lock: taking a second thread's lock while holding the
/// sequence could deadlock with another transaction doing the same.
#[derive(Default)]
struct Touched(BTreeMap<i64, i64>);

impl Touched {
    /// Notes that thread `id` changed, showing `delta` more comments.
    fn thread(&mut self, id: i64, delta: i64) {
        *self.0.entry(id).or_default() += delta;
    }

    /// Marks the noted threads changed, so bake re-renders them: locks their
    /// rows in id order (`FOR NO KEY UPDATE`: a new comment's foreign key
    /// holds a key-share lock on its thread, which `FOR UPDATE` would wait
    /// for, so two posts to one thread would wait for each other), then bumps the change sequence once (its row lock,
    /// held until commit, makes sequence numbers follow commit order, which
    /// the publisher relies on) and stamps the threads with it and their new
    /// counts, and tells listeners (`kiln_changed`) when the transaction commits.
    fn touch(self, tx: &mut Tx<'_>) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let (ids, deltas): (Vec<i64>, Vec<i64>) = self.0.into_iter().unzip();
        tx.query(
            "SELECT id FROM threads WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
            &[&ids],
        )?;
        tx.query_one(
            "WITH seq AS (UPDATE change_seq SET value = value + 1 RETURNING value),
                  stamped AS (
                      UPDATE threads t
                      SET changed_seq = (SELECT value FROM seq),
                          published_count = t.published_count + d.delta
                      FROM unnest($1::int8[], $2::int8[]) AS d (id, delta)
                      WHERE t.id = d.id)
             SELECT pg_notify('kiln_changed', value::text) FROM seq",
            &[&ids, &deltas],
        )?;
        Ok(())
    }
}
