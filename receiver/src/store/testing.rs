//! How tests look into kiln's database without naming its driver. End-to-end
//! tests check what the receiver stored (a status, a removed address, the
//! outbox emptying) with a little SQL; going through `TestDb` keeps that SQL
//! in one backend-neutral form (`$1` parameters, plain values back), so the
//! same tests run against every backend the store supports: an SQLite file,
//! or a database of its own on the PostgreSQL server that
//! `KILN_TEST_DATABASE_URL` names (`postgres/scratch.rs`).
//!
//! Compiled only for tests and the `testing` feature; it panics on errors,
//! as a test helper should.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{open_at, Location, Mode, Store};

/// A PostgreSQL database of a test's own on the server
/// `KILN_TEST_DATABASE_URL` names, dropped with it; the store's tests and
/// the end-to-end tests make theirs the same way.
pub use super::postgres::scratch::{scratch_db, ScratchDb};

/// A parameter for a peek's `$N` placeholders.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Int(i64),
    Text(&'a str),
}

impl From<i64> for Param<'_> {
    fn from(n: i64) -> Self {
        Param::Int(n)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(s: &'a str) -> Self {
        Param::Text(s)
    }
}

/// One column of a row a peek read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    /// The integer; panics on anything else, naming what it was.
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(n) => *n,
            other => panic!("expected an integer, the database gave {other:?}"),
        }
    }

    /// The text; panics on anything else, naming what it was.
    pub fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            other => panic!("expected text, the database gave {other:?}"),
        }
    }

    /// The text, or `None` for NULL.
    pub fn opt_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            other => Some(other.text()),
        }
    }

    /// The integer, or `None` for NULL.
    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Value::Null => None,
            other => Some(other.int()),
        }
    }
}

/// The database a test's receiver or CLI uses.
#[derive(Clone)]
pub struct TestDb {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(PathBuf),
    /// Dropped (with the database) when the last clone goes.
    Postgres(Arc<ScratchDb>),
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TestDb")
            .field(&self.location().describe())
            .finish()
    }
}

impl TestDb {
    /// The SQLite database file at `path` (it may not exist yet).
    pub fn sqlite(path: impl Into<PathBuf>) -> TestDb {
        TestDb {
            backend: Backend::Sqlite(path.into()),
        }
    }

    /// A new, empty PostgreSQL database, dropped with the last clone of this;
    /// `None` when no test server is configured (see `postgres/scratch.rs`:
    /// then a test says it did not run, or fails under KILN_REQUIRE_TOOLS).
    pub fn postgres() -> Option<TestDb> {
        Some(TestDb {
            backend: Backend::Postgres(Arc::new(scratch_db()?)),
        })
    }

    /// Another new, empty database on the same backend, beside this one.
    pub fn another(&self) -> TestDb {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        match &self.backend {
            Backend::Sqlite(path) => {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                TestDb::sqlite(path.with_file_name(format!("another-{n}.sqlite3")))
            }
            Backend::Postgres(_) => {
                TestDb::postgres().expect("the server this database is on went away")
            }
        }
    }

    /// Where the database is, for `store::open_at` and `store::open_source`.
    pub fn location(&self) -> Location<'_> {
        match &self.backend {
            Backend::Sqlite(path) => Location::Sqlite(path),
            Backend::Postgres(db) => Location::Postgres {
                url: &db.url,
                password: "",
            },
        }
    }

    /// `sqlite` or `postgres`, for messages.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Opens the database as the receiver does (`ReadWrite` creates and
    /// migrates it).
    pub fn open(&self, mode: Mode) -> Box<dyn Store> {
        open_at(self.location(), mode).unwrap_or_else(|e| panic!("cannot open {self:?}: {e:#}"))
    }

    /// Every row `sql` returns. Parameters are written `$1`, `$2`, ….
    pub fn rows(&self, sql: &str, params: &[Param]) -> Vec<Vec<Value>> {
        match &self.backend {
            Backend::Sqlite(path) => crate::store::sqlite::peek::rows(path, sql, params),
            Backend::Postgres(db) => crate::store::postgres::peek::rows(&db.target, sql, params),
        }
    }

    /// The first row `sql` returns, if any.
    pub fn row(&self, sql: &str, params: &[Param]) -> Option<Vec<Value>> {
        self.rows(sql, params).into_iter().next()
    }

    /// The first column of the one row `sql` must return.
    fn one(&self, sql: &str, params: &[Param]) -> Value {
        let row = self
            .row(sql, params)
            .unwrap_or_else(|| panic!("no row for {sql}"));
        row.into_iter()
            .next()
            .unwrap_or_else(|| panic!("no column in {sql}"))
    }

    pub fn query_i64(&self, sql: &str, params: &[Param]) -> i64 {
        self.one(sql, params).int()
    }

    pub fn query_text(&self, sql: &str, params: &[Param]) -> String {
        self.one(sql, params).text()
    }

    /// The text in the one row, `None` when it is NULL.
    pub fn query_opt_text(&self, sql: &str, params: &[Param]) -> Option<String> {
        self.one(sql, params).opt_text()
    }

    /// Runs a statement that changes rows (a test's setup, such as a row as
    /// an older version stored it); returns how many it changed.
    pub fn execute(&self, sql: &str, params: &[Param]) -> usize {
        match &self.backend {
            Backend::Sqlite(path) => crate::store::sqlite::peek::execute(path, sql, params),
            Backend::Postgres(db) => crate::store::postgres::peek::execute(&db.target, sql, params),
        }
    }

    /// How many rows `table` holds.
    pub fn count_rows(&self, table: &str) -> i64 {
        self.query_i64(&format!("SELECT count(*) FROM {table}"), &[])
    }
}
